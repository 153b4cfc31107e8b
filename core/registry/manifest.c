/* Manifests (Docker schema2 and OCI), manifest lists and OCI indexes, and containerd's
 * platform matcher (platforms.Only): the exact platform first, then the compatible ones in
 * order (amd64 also runs 386; arm64 also runs arm/v8..v5; arm/vN also runs older vN). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "../base/cleanup.h"
#include "../base/util.h"
#include "internal.h"

void reg_manifest_free(struct reg_manifest *m)
{
        free(m->config.media_type);
        util_strv_free(m->config.urls);
        for (size_t i = 0; i < m->n; i++) {
                free(m->layers[i].media_type);
                util_strv_free(m->layers[i].urls);
        }
        free(m->layers);
        *m = (struct reg_manifest){0};
}

static void set(char *dst, size_t len, const char *s)
{
        size_t n = s ? strnlen(s, len - 1) : 0;

        memcpy(dst, s ? s : "", n);
        dst[n] = '\0';
}

void reg_platform_host(struct reg_platform *ret)
{
        struct utsname u;
        const char *m = uname(&u) == 0 ? u.machine : "x86_64";

        *ret = (struct reg_platform){0};
        set(ret->os, sizeof(ret->os), "linux");
        if (!strcmp(m, "x86_64")) {
                set(ret->arch, sizeof(ret->arch), "amd64");
        } else if (!strcmp(m, "aarch64") || !strcmp(m, "arm64")) {
                set(ret->arch, sizeof(ret->arch), "arm64");
                set(ret->variant, sizeof(ret->variant), "v8");
        } else if (!strncmp(m, "armv7", 5)) {
                set(ret->arch, sizeof(ret->arch), "arm");
                set(ret->variant, sizeof(ret->variant), "v7");
        } else if (!strncmp(m, "armv6", 5)) {
                set(ret->arch, sizeof(ret->arch), "arm");
                set(ret->variant, sizeof(ret->variant), "v6");
        } else if (!strcmp(m, "i686") || !strcmp(m, "i386")) {
                set(ret->arch, sizeof(ret->arch), "386");
        } else {
                set(ret->arch, sizeof(ret->arch), m);
        }
}

/* containerd's normalisation: aarch64 = arm64, x86_64/x86-64 = amd64, arm64 v8 is the
 * default variant, arm defaults to v7. */
static void normalise(struct reg_platform *p)
{
        if (!strcmp(p->arch, "aarch64"))
                set(p->arch, sizeof(p->arch), "arm64");
        if (!strcmp(p->arch, "x86_64") || !strcmp(p->arch, "x86-64"))
                set(p->arch, sizeof(p->arch), "amd64");
        if (!strcmp(p->arch, "i386"))
                set(p->arch, sizeof(p->arch), "386");
        if (!strcmp(p->arch, "arm64") && !p->variant[0])
                set(p->variant, sizeof(p->variant), "v8");
        if (!strcmp(p->arch, "arm") && !p->variant[0])
                set(p->variant, sizeof(p->variant), "v7");
        if (!strcmp(p->arch, "amd64") && !strcmp(p->variant, "v1"))
                p->variant[0] = '\0';
}

int reg_platform_parse(const char *s, struct reg_platform *ret, struct err *err)
{
        _cleanup_free_ char *copy = strdup(s);
        char *os, *arch, *variant, *extra, *save = NULL;

        if (!copy)
                return err_set(err, -ENOMEM, "parsing platform %s", s);
        *ret = (struct reg_platform){0};
        for (char *p = copy; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p - 'A' + 'a');
        os = strtok_r(copy, "/", &save);
        arch = strtok_r(NULL, "/", &save);
        variant = strtok_r(NULL, "/", &save);
        extra = strtok_r(NULL, "/", &save);
        if (!os || extra || strlen(os) >= sizeof(ret->os) ||
            (arch && strlen(arch) >= sizeof(ret->arch)) ||
            (variant && strlen(variant) >= sizeof(ret->variant)))
                return err_set(err, -EINVAL,
                               "\"%s\": unknown operating system or architecture: "
                               "invalid argument",
                               s);
        if (strcmp(os, "linux"))
                return err_set(err, -EINVAL,
                               "\"%s\": unknown operating system or architecture: "
                               "invalid argument",
                               s);
        reg_platform_host(ret);
        if (arch) {
                set(ret->arch, sizeof(ret->arch), arch);
                set(ret->variant, sizeof(ret->variant), variant);
        }
        normalise(ret);
        return 0;
}

void reg_platform_str(const struct reg_platform *p, char *out, size_t len)
{
        snprintf(out, len, "%s/%s%s%s", p->os, p->arch, p->variant[0] ? "/" : "", p->variant);
}

bool reg_is_index(const char *media_type)
{
        return media_type &&
               (!strcmp(media_type, MT_DOCKER_LIST) || !strcmp(media_type, MT_OCI_INDEX));
}

/* How good a candidate is for want: 0 = exact, higher = a fallback, -1 = not usable. */
static int rank(const struct reg_platform *want, const struct reg_platform *have)
{
        int wv = atoi(want->variant[0] == 'v' ? want->variant + 1 : "0");
        int hv = atoi(have->variant[0] == 'v' ? have->variant + 1 : "0");

        if (strcmp(want->os, have->os))
                return -1;
        if (!strcmp(want->arch, have->arch)) {
                if (!strcmp(want->variant, have->variant))
                        return 0;
                /* amd64/vN runs v(N-1)..v1 (v1 is no variant); arm/vN runs older vN. */
                if (!strcmp(want->arch, "amd64") && hv <= wv)
                        return 1 + (wv - hv);
                if (!strcmp(want->arch, "arm") && hv && hv < wv)
                        return 1 + (wv - hv);
                if (!strcmp(want->arch, "arm64") && !strncmp(have->variant, "v8", 2) &&
                    !strncmp(want->variant, "v8", 2) && strcmp(have->variant, want->variant) < 0)
                        return 1;
                return -1;
        }
        if (!strcmp(want->arch, "amd64") && !strcmp(have->arch, "386"))
                return 20;
        if (!strcmp(want->arch, "arm64") && !strcmp(have->arch, "arm") && hv >= 5 && hv <= 8)
                return 30 + (8 - hv);
        return -1;
}

int reg_index_pick(const char *body, const struct reg_platform *want, char ret_digest[72],
                   struct err *err)
{
        _cleanup_jv_ struct jv *doc = NULL;
        const struct jv *list;
        int best = -1;
        char w[96];

        if (jv_parse(body, &doc, err) < 0)
                return err_wrap(err, "reading the manifest list");
        list = jv_get(doc, "manifests");
        for (size_t i = 0; i < jv_len(list); i++) {
                const struct jv *m = jv_at(list, i), *p = jv_get(m, "platform");
                const char *d = jv_get_str(m, "digest");
                struct reg_platform have = {0};
                int k;
                if (!p || !d || strlen(d) != 71 || strncmp(d, "sha256:", 7))
                        continue;
                set(have.os, sizeof(have.os), jv_get_str(p, "os"));
                set(have.arch, sizeof(have.arch), jv_get_str(p, "architecture"));
                set(have.variant, sizeof(have.variant), jv_get_str(p, "variant"));
                normalise(&have);
                k = rank(want, &have);
                if (k >= 0 && (best < 0 || k < best)) {
                        best = k;
                        memcpy(ret_digest, d, 72);
                }
        }
        if (best >= 0)
                return 0;
        reg_platform_str(want, w, sizeof(w));
        return err_set(err, -ENOENT, "no matching manifest for %s in the manifest list entries", w);
}

static int parse_desc(const struct jv *j, struct reg_desc *d, struct err *err)
{
        const char *digest = jv_get_str(j, "digest"), *mt = jv_get_str(j, "mediaType");

        if (!digest || strncmp(digest, "sha256:", 7) || strlen(digest) != 71 ||
            strspn(digest + 7, "0123456789abcdef") != 64)
                return err_set(err, -EINVAL, "unsupported digest %s in the manifest",
                               digest ? digest : "(none)");
        memcpy(d->digest, digest, 72);
        d->size = jv_get_int(j, "size", -1);
        d->media_type = strdup(mt ? mt : "");
        d->urls = jv_to_strv(jv_get(j, "urls"));
        d->foreign = mt && strstr(mt, "nondistributable") ? true
                     : mt && strstr(mt, "foreign")        ? true
                                                          : false;
        return d->media_type ? 0 : err_set(err, -ENOMEM, "reading the manifest");
}

int reg_manifest_parse(const char *body, const char *media_type, struct reg_manifest *ret,
                       struct err *err)
{
        _cleanup_jv_ struct jv *doc = NULL;
        struct reg_manifest m = {0};
        const struct jv *layers;
        const char *mt;
        int r;

        if (jv_parse(body, &doc, err) < 0)
                return err_wrap(err, "reading the manifest");
        mt = jv_get_str(doc, "mediaType");
        if (!mt)
                mt = media_type;
        if (jv_get_int(doc, "schemaVersion", 0) == 1 ||
            (mt && !strncmp(mt, "application/vnd.docker.distribution.manifest.v1", 47)))
                return err_set(err, -EINVAL,
                               "schema 1 manifests are not supported: the image "
                               "must be pushed again by a current client");
        if (mt && strcmp(mt, MT_DOCKER_MANIFEST) && strcmp(mt, MT_OCI_MANIFEST) &&
            strcmp(mt, "application/json"))
                return err_set(err, -EINVAL, "unsupported manifest media type %s", mt);
        r = parse_desc(jv_get(doc, "config"), &m.config, err);
        layers = jv_get(doc, "layers");
        m.layers = calloc(jv_len(layers) + 1, sizeof(*m.layers));
        if (r >= 0 && !m.layers)
                r = err_set(err, -ENOMEM, "reading the manifest");
        for (size_t i = 0; r >= 0 && i < jv_len(layers); i++) {
                r = parse_desc(jv_at(layers, i), &m.layers[i], err);
                m.n = i + 1;
        }
        if (r < 0) {
                reg_manifest_free(&m);
                return r;
        }
        *ret = m;
        return 0;
}
