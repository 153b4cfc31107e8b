/* The embedded DNS of a network ("embeddedDNS": true): hawser's DNS server (dns/server.c)
 * on the bridge's gateway, port 53, in the runtime's network namespace, answering the names
 * of the network's attachments (CNI_ARGS K8S_POD_NAME, the "aliases" capability) from
 * <dataDir>/dns.json. Every ADD, DEL and GC rewrites that file from the attachment records;
 * the server sees a change at its next query, and exits a few seconds after the network's
 * last name is gone. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/util.h"
#include "dns/files.h"
#include "dns/server.h"
#include "internal.h"

/* Seconds a server with no names left waits before it exits. */
#define CNI_DNS_IDLE_SEC 5
/* How long an ADD waits for a new server to listen. */
#define CNI_DNS_READY_MS 3000

/* A name as a DNS label sequence: what the server can answer. */
static bool name_ok(const char *s)
{
        return s && *s && strlen(s) < 254 && strcmp(s, ".") && dns_files_domain_ok(s);
}

/* Appends name unless it is not a DNS name or names has it already. */
static void add_name(struct jv *names, const char *name)
{
        for (size_t k = 0; name && k < jv_len(names); k++)
                if (!strcasecmp(jv_str(jv_at(names, k)), name))
                        return;
        if (name_ok(name))
                jv_append(names, jv_new_string(name));
}

struct jv *cni_dns_names(const struct cni_req *q, const struct cni_conf *c)
{
        const struct jv *aliases = jv_path(c->doc, "runtimeConfig.aliases");
        const struct jv *mine = c->name ? jv_get(aliases, c->name) : NULL;
        struct jv *names = jv_new_array();
        char short_id[13];

        add_name(names, q->pod_name);
        for (size_t i = 0; mine && jv_type(mine) == JV_ARRAY && i < jv_len(mine); i++)
                add_name(names, jv_str(jv_at(mine, i)));
        /* The short container id, as Docker names every container: it also makes the
         * attachment a member of the network, whose queries get the bare names. */
        snprintf(short_id, sizeof(short_id), "%s", q->cid ? q->cid : "");
        add_name(names, short_id);
        return names;
}

/* The records of every attachment of the network that has names. */
static struct jv *records(const struct cni_conf *c)
{
        _cleanup_free_ char *dir = util_printf("%s/attachments", c->data_dir);
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
        struct jv *recs = jv_new_array();
        struct dirent *de;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *path =
                        de->d_name[0] != '.' ? cni_record_path(c, de->d_name) : NULL;
                _cleanup_jv_ struct jv *rec = NULL;
                const struct jv *names;
                struct jv *r;

                if (!path || jv_load(path, &rec, &(struct err){0}) < 0)
                        continue;
                names = jv_get(rec, "names");
                if (!jv_get_str(rec, "ip") || !names || !jv_len(names))
                        continue;
                r = jv_new_object();
                jv_set_str(r, "ip", jv_get_str(rec, "ip"));
                if (jv_get_str(rec, "ip6"))
                        jv_set_str(r, "ip6", jv_get_str(rec, "ip6"));
                jv_set(r, "names", jv_copy(names));
                jv_append(recs, r);
        }
        return recs;
}

/* Under the records' lock: whether the records list no names. Empty, the lock stays held
 * until the server's exit releases it. */
static bool still_empty(const struct cni_conf *c, const char *path)
{
        _cleanup_free_ char *lock = util_printf("%s/dns.json.lock", c->data_dir);
        _cleanup_jv_ struct jv *doc = NULL;
        int fd = lock ? open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;

        bool empty;

        if (fd < 0 || flock(fd, LOCK_EX) < 0)
                return true;
        empty = jv_load(path, &doc, &(struct err){0}) < 0 || !jv_len(jv_get(doc, "records"));
        if (!empty)
                close(fd); /* serving on: the lock goes back */
        return empty;
}

/* The server, in the grandchild of an ADD: holds the lock while it runs; tells the ADD on
 * ready that it listens ("1", from dns_server_run) or why it could not ("E" + message). */
static _Noreturn void serve(const struct cni_conf *c, const char *lock, const char *path, int ready)
{
        int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600), null = open("/dev/null", O_RDWR);
        struct err err = {0};
        char pid[24];
        int len, r;

        if (fd < 0 || null < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
                _exit(0); /* another server runs */
        len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
                _exit(1);
        /* Nothing of the runtime's: its pipes would wait for this server's end. */
        if (dup2(fd, 3) < 0 || dup2(ready, 4) < 0)
                _exit(1);
        for (int i = 0; i < 3; i++)
                dup2(null, i);
        close_range(5, ~0U, 0);
        for (int ready_fd = 4;; ready_fd = -1) {
                r = dns_server_run(&(struct dns_server_config){.listen_addr = c->gateway,
                                                               .port = 53,
                                                               .records_path = path,
                                                               .idle_exit_sec = CNI_DNS_IDLE_SEC,
                                                               .stop_fd = -1,
                                                               .ready_fd = ready_fd},
                                   &err);
                /* Idle: gone only if no ADD wrote names meanwhile. An ADD holds the records'
                 * lock while it counts on this server (cni_dns_sync): taken here, it decides,
                 * and it is held until the exit releases it. */
                if (r != DNS_SERVER_IDLE || still_empty(c, path))
                        break;
        }
        if (r < 0) {
                char msg[sizeof(err.msg) + 1];
                len = snprintf(msg, sizeof(msg), "E%s", err.msg);
                (void)fs_write_all(4, msg, (size_t)len);
        }
        _exit(r < 0);
}

/* Starts the network's server unless its lock shows one running, and waits until it
 * listens. */
static int ensure_server(const struct cni_conf *c, const char *path, struct err *err)
{
        _cleanup_free_ char *lock = util_printf("%s/dns.lock", c->data_dir);
        _cleanup_close_ int fd = lock ? open(lock, O_RDONLY | O_CREAT | O_CLOEXEC, 0600) : -1;
        _cleanup_close_ int rd = -1;
        char buf[sizeof(err->msg) + 1] = "";
        char gw[INET_ADDRSTRLEN];
        int p[2];
        ssize_t n;
        pid_t pid;

        if (fd < 0)
                return err_errno(err, "opening %s", lock ? lock : "the DNS lock");
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return 0; /* a server holds it */
        flock(fd, LOCK_UN);
        if (pipe2(p, O_CLOEXEC) < 0)
                return err_errno(err, "pipe");
        rd = p[0];
        pid = fork();
        if (pid < 0) {
                close(p[1]);
                return err_errno(err, "fork");
        }
        if (pid == 0) {
                setsid();
                if (fork() != 0)
                        _exit(0);
                serve(c, lock, path, p[1]);
        }
        close(p[1]);
        waitpid(pid, NULL, 0);
        inet_ntop(AF_INET, &c->gateway, gw, sizeof(gw));
        if (poll(&(struct pollfd){.fd = rd, .events = POLLIN}, 1, CNI_DNS_READY_MS) <= 0)
                return err_set(err, -ETIMEDOUT, "the DNS server of %s did not listen on %s:53",
                               c->name, gw);
        n = read(rd, buf, sizeof(buf) - 1);
        if (n > 0 && buf[0] == '1')
                return 0;
        if (n > 1 && buf[0] == 'E')
                return err_set(err, -EADDRINUSE, "the DNS server of %s on %s:53: %s", c->name, gw,
                               buf + 1);
        /* No word: it found another server holding the lock (a concurrent start). */
        return flock(fd, LOCK_EX | LOCK_NB) < 0
                       ? 0
                       : err_set(err, -ESRCH, "the DNS server of %s did not start", c->name);
}

int cni_dns_sync(const struct cni_conf *c, bool start, struct err *err)
{
        _cleanup_free_ char *path = NULL, *lock = NULL;
        _cleanup_jv_ struct jv *doc = NULL;
        _cleanup_close_ int fd = -1;
        struct jv *recs;
        char gw[INET_ADDRSTRLEN];
        int r;

        if (!c->dns_server || !c->has_ipam)
                return 0;
        path = util_printf("%s/dns.json", c->data_dir);
        lock = util_printf("%s/dns.json.lock", c->data_dir);
        if (!path || !lock || fs_mkdir_p(c->data_dir, 0700, err) < 0)
                return err_set(err, -ENOMEM, "the DNS records of %s", c->name);
        /* One rewrite at a time, each from every record written before it. */
        fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || flock(fd, LOCK_EX) < 0)
                return err_errno(err, "locking %s", lock);
        doc = jv_new_object();
        recs = records(c);
        jv_set_str(doc, "domain", c->dns_domain);
        jv_set_str(doc, "gateway", inet_ntop(AF_INET, &c->gateway, gw, sizeof(gw)));
        jv_set(doc, "upstreams", dns_files_upstreams("/etc/resolv.conf"));
        jv_set(doc, "records", recs);
        r = jv_save(path, doc, err);
        if (r >= 0 && start && jv_len(recs))
                r = ensure_server(c, path, err);
        return r < 0 ? err_wrap(err, "embedded DNS of network %s", c->name) : 0;
}
