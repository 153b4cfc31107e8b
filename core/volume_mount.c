/* The local driver's mounts, as Docker's volume/local: a volume created with the driver
 * options type, device and o is mounted at its data directory while containers use it and
 * unmounted when the last of them stops. A tmpfs volume is so one filesystem for the
 * containers that run at once and empty again afterwards; a type=none o=bind volume shows
 * its device directory. A volume without options is a plain directory: nothing to do. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "container.h"
#include "mountspec.h"
#include "volume.h"

/* Docker's message, the kernel's reason in Go's lower case. */
static int mount_failed(struct err *err, int code, const char *data, const char *device,
                        unsigned long flags, const char *mdata)
{
        char why[128], fl[32] = "", dt[ERR_MSG_MAX / 4] = "";

        snprintf(why, sizeof(why), "%s", strerror(code));
        why[0] = (char)tolower((unsigned char)why[0]);
        if (flags)
                snprintf(fl, sizeof(fl), ", flags: 0x%lx", flags);
        if (*mdata)
                snprintf(dt, sizeof(dt), ", data: %s", mdata);
        return err_set(err, -code,
                       "error while mounting volume '%s': failed to mount local volume: mount "
                       "%s:%s%s%s: %s",
                       data, device, data, fl, dt, why);
}

int volume_mount(const struct cli *cli, const char *name, struct err *err)
{
        _cleanup_jv_ struct jv *doc = NULL;
        _cleanup_free_ char *mdata = NULL;
        const struct jv *o;
        const char *data, *type, *device;
        unsigned long flags = 0, prop = 0;
        int r = volume_inspect(cli, name, &doc, err);

        if (r < 0)
                return r;
        o = jv_get(doc, "Options");
        type = jv_get_str(o, "type");
        device = jv_get_str(o, "device");
        data = jv_get_str(doc, "Mountpoint");
        if (!type || !device || !data || fs_is_mount_point(data))
                return 0;
        r = mountspec_mount_options(jv_get_str(o, "o"), &flags, &prop, &mdata, err);
        if (r < 0)
                return r;
        if (mount(device, data, type, flags, *mdata ? mdata : NULL) < 0)
                return mount_failed(err, errno, data, device, flags, mdata);
        /* A bind takes ro (and the other flags) only from a remount, as moby/sys/mount. */
        if ((flags & MS_BIND) && (flags & ~(MS_BIND | MS_REC)) &&
            mount(NULL, data, NULL, (flags & ~MS_REC) | MS_REMOUNT, NULL) < 0) {
                r = mount_failed(err, errno, data, device, flags, mdata);
                umount2(data, MNT_DETACH);
                return r;
        }
        if (prop && mount(NULL, data, NULL, prop, NULL) < 0) {
                r = mount_failed(err, errno, data, device, prop, "");
                umount2(data, MNT_DETACH);
                return r;
        }
        return 0;
}

void volume_unmount_unused(const struct cli *cli, const char *name, const char *except_id)
{
        _cleanup_free_ char *data = NULL;
        _cleanup_strv_ char **users = NULL;
        struct err e = {0};

        if (volume_path(cli, name, &data, &e) < 0 || !fs_is_mount_point(data) ||
            volume_users(cli, name, &users, &e) < 0)
                return;
        for (char **id = users; *id; id++) {
                struct container *c = NULL;
                bool live;
                if (except_id && !strcmp(*id, except_id))
                        continue;
                if (container_load(cli, *id, &c, &e) < 0)
                        continue;
                live = container_is_live(c);
                container_free(c);
                if (live)
                        return;
        }
        umount2(data, MNT_DETACH);
}
