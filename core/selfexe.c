#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "caps.h"
#include "selfexe.h"

int selfexe_sealed(struct err *err)
{
        _cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int fd = memfd_create("hawser", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        struct stat st;
        off_t off = 0;

        if (self < 0 || fd < 0 || fstat(self, &st) < 0)
                return err_errno(err, "copying the hawser binary");
        while (off < st.st_size) {
                ssize_t n = sendfile(fd, self, NULL, (size_t)(st.st_size - off));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? err_errno(err, "copying the hawser binary")
                                     : err_set(err, -EIO, "copying the hawser binary: short copy");
                off += n;
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
                return err_errno(err, "sealing the copy of the hawser binary");
        return TAKE_FD(fd);
}

bool selfexe_needed(const struct jv *hc)
{
        _cleanup_strv_ char **add = jv_to_strv(jv_get(hc, "CapAdd"));
        _cleanup_strv_ char **drop = jv_to_strv(jv_get(hc, "CapDrop"));
        struct err e = {0};
        uint64_t caps = 0;

        if (jv_get_bool(hc, "Privileged") || caps_resolve(caps_default(), add, drop, &caps, &e) < 0)
                return true;
        return caps & (1ULL << CAP_SYS_PTRACE);
}

void selfexe_reexec(const struct cli *cli, char *const argv[])
{
        struct err e = {0};
        int fd = selfexe_sealed(&e);

        if (fd < 0)
                return;
        /* What it runs by path (the DNS server) is still the binary on disk. */
        setenv("HAWSER_BINARY", cli->self, 1);
        fexecve(fd, argv, environ);
        close(fd);
}
