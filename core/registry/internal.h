#pragma once
/* Inside the registry client only (core/registry/): the HTTP session with its auth state,
 * the credential and configuration files, manifests. Everyone else uses core/registry.h. */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "../base/err.h"
#include "../base/json.h"
#include "../imgconfig.h"

/* ---- config.c: /etc/hawser/registries.json, certs.d, ~/.docker/config.json ---- */

/* What the registries file says (Docker's daemon.json keys). */
struct reg_conf {
        char **insecure; /* "host[:port]" or CIDR */
        char **mirrors;  /* "https://mirror" (Docker Hub only, as Docker) */
        int max_downloads;
        int max_attempts;
};
/* Reads $HAWSER_REGISTRIES_CONF or /etc/hawser/registries.json; a missing file gives the
 * defaults. */
int reg_conf_load(struct reg_conf *ret, struct err *err);
void reg_conf_free(struct reg_conf *c);
/* Whether host ("name[:port]") is insecure: listed (as a name or in a CIDR) or on loopback
 * (127.0.0.0/8, ::1, localhost), as Docker treats it. */
bool reg_conf_insecure(const struct reg_conf *c, const char *host);

/* Credentials for one registry: none (both NULL), user + password, or an identity token
 * (user "<token>"). */
struct reg_creds {
        char *user, *secret;
};
void reg_creds_free(struct reg_creds *c);
/* The key Docker files host's credentials under ("https://index.docker.io/v1/" for
 * docker.io). */
const char *reg_creds_key(const char *host);
/* Credentials for host from $DOCKER_CONFIG/config.json (or ~/.docker/config.json): the
 * credHelpers entry, then credsStore, then auths. None found is success with empty creds. */
int reg_creds_get(const char *host, struct reg_creds *ret, struct err *err);
/* Stores (login) or removes (logout: user NULL) host's credentials where Docker would: the
 * helper when one is configured, else auths in config.json. ret_removed (logout) says
 * whether there was anything to remove. */
int reg_creds_store(const char *host, const char *user, const char *secret, bool *ret_removed,
                    struct err *err);

/* ---- http.c: one registry, one repository, over libcurl (loaded on first use) ---- */

struct reg_session {
        char *host;          /* "docker.io", "localhost:5000" */
        char *origin;        /* "https://registry-1.docker.io", "http://127.0.0.1:5000" */
        char *repo;          /* "library/busybox" */
        const char *actions; /* "pull" or "pull,push" */
        bool insecure;       /* TLS errors tolerated, plain HTTP tried after HTTPS */
        char *ca_blob;       /* system CAs plus the .crt files of certs.d/<host>, or NULL */
        size_t ca_len;
        char *cert, *key; /* certs.d client certificate */
        struct reg_creds creds;
        pthread_mutex_t lock; /* guards the token below (layers download in threads) */
        char *token;
        time_t token_expiry;
        bool basic;   /* the registry asked for Basic auth */
        bool settled; /* a request went through: the scheme is decided */
        int max_attempts;
};

/* What a response said. */
struct reg_response {
        long status;
        char *content_type, *digest, *location, *range;
        long long length; /* Content-Length, -1 unknown */
        char *body;       /* error responses and small documents (up to REG_SMALL_MAX) */
        size_t body_len;
};
#define REG_SMALL_MAX (8 << 20)
void reg_response_free(struct reg_response *r);

/* Receives a successful response's body; returns 0 to go on, -errno to abort. */
typedef int (*reg_sink_fn)(void *ud, const void *buf, size_t n);

struct reg_request {
        const char *method; /* "GET", "HEAD", "PUT", "POST", "PATCH" */
        const char *url;    /* absolute, or a path below origin ("/v2/...") */
        const char *const *headers;
        const void *body; /* or body_fd */
        size_t body_len;
        int body_fd; /* -1: none; else body_len bytes from body_off */
        long long body_off;
        reg_sink_fn sink; /* NULL: 2xx bodies are kept in response.body too */
        void *ud;
        long long resume; /* Range: bytes=resume- when > 0 */
};

/* Opens a session for ref's registry and repository: configuration, certificates and
 * credentials read, nothing sent yet. */
int reg_session_open(const struct image_ref *ref, const char *actions, struct reg_session *ret,
                     struct err *err);
void reg_session_close(struct reg_session *s);
/* Sends one request; answers 401 by following the registry's challenge (Basic, or a Bearer
 * token for the repository's scope, reused until it expires) and sending it again. A
 * transport failure is -EIO (-ETIMEDOUT, -ECONNREFUSED) with curl's reason; any HTTP status
 * is success, in ret. */
int reg_send(struct reg_session *s, const struct reg_request *req, struct reg_response *ret,
             struct err *err);
/* The registry's error text from an error response ("manifest unknown: manifest unknown",
 * as Docker joins code and message), or the HTTP status line. */
void reg_error_text(const struct reg_response *r, char *out, size_t len);

/* ---- manifest.c ---- */

#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"
#define MT_OCI_CONFIG      "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LAYER    "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_OCI_LAYER       "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP  "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD  "application/vnd.oci.image.layer.v1.tar+zstd"

struct reg_desc {
        char *media_type;
        char digest[72]; /* "sha256:<hex>" */
        long long size;
        bool foreign; /* non-distributable: fetched from urls, or skipped when none works */
        char **urls;
};

struct reg_manifest {
        struct reg_desc config;
        struct reg_desc *layers;
        size_t n;
};
void reg_manifest_free(struct reg_manifest *m);

struct reg_platform {
        char os[32], arch[32], variant[16];
};
/* The platform pulls default to: this machine's (linux/amd64, arm64/v8, ...). */
void reg_platform_host(struct reg_platform *ret);
/* Parses "os/arch[/variant]"; -EINVAL with Docker's message. */
int reg_platform_parse(const char *s, struct reg_platform *ret, struct err *err);
/* "linux/amd64" or "linux/arm64/v8". */
void reg_platform_str(const struct reg_platform *p, char *out, size_t len);

/* Whether media_type is a manifest list or OCI index. */
bool reg_is_index(const char *media_type);
/* Picks the best entry of an index for want (containerd's matcher: exact first, then the
 * compatible variants and architectures in their order). -ENOENT when none fits, with
 * Docker's "no matching manifest for linux/arm64/v8 in the manifest list entries". */
int reg_index_pick(const char *body, const struct reg_platform *want, char ret_digest[72],
                   struct err *err);
/* Parses an image manifest (Docker schema2 or OCI). -EINVAL for anything else. */
int reg_manifest_parse(const char *body, const char *media_type, struct reg_manifest *ret,
                       struct err *err);
