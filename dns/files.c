#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "dns/files.h"

static const char hosts_v4[] = "127.0.0.1\tlocalhost\n";
static const char hosts_v6[] = "::1\tlocalhost ip6-localhost ip6-loopback\n"
                               "fe00::0\tip6-localnet\n"
                               "ff00::0\tip6-mcastprefix\n"
                               "ff02::1\tip6-allnodes\n"
                               "ff02::2\tip6-allrouters\n";

static bool has_ctl(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

bool dns_files_token_ok(const char *s)
{
        if (!s || !*s || has_ctl(s))
                return false;
        return !strchr(s, ' ');
}

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool dns_files_domain_ok(const char *s)
{
        size_t n = strlen(s);
        bool letter = false;

        if (!strcmp(s, "."))
                return true;
        if (n == 0 || n >= 255)
                return false;
        for (const char *l = s; *l;) {
                const char *e = strchr(l, '.');
                size_t len = e ? (size_t)(e - l) : strlen(l);
                if (len == 0 || !is_alnum(l[0]) || !is_alnum(l[len - 1]))
                        return false;
                for (size_t i = 0; i < len; i++) {
                        if (!is_alnum(l[i]) && l[i] != '-')
                                return false;
                        letter |= (l[i] | 0x20) >= 'a' && (l[i] | 0x20) <= 'z';
                }
                if (!e)
                        break;
                l = e + 1; /* a final dot ends the loop here */
        }
        return letter;
}

static int finish(FILE *f, char **buf, char **ret, struct err *err, const char *what)
{
        if (fclose(f) != 0) {
                free(*buf);
                return err_set(err, -ENOMEM, "rendering %s", what);
        }
        *ret = *buf;
        return 0;
}

int dns_hosts_render(const struct dns_hosts_spec *spec, char **ret, struct err *err)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return err_set(err, -ENOMEM, "rendering /etc/hosts");
        fputs(hosts_v4, f);
        if (spec->ipv6)
                fputs(hosts_v6, f);
        for (size_t i = 0; i < spec->n_extra; i++)
                if (!has_ctl(spec->extra[i].ip) && !has_ctl(spec->extra[i].names))
                        fprintf(f, "%s\t%s\n", spec->extra[i].ip, spec->extra[i].names);
        if (spec->own_ip && spec->own_names && !has_ctl(spec->own_ip) && !has_ctl(spec->own_names))
                fprintf(f, "%s\t%s\n", spec->own_ip, spec->own_names);
        return finish(f, &buf, ret, err, "/etc/hosts");
}

int dns_hostname_render(const char *hostname, char **ret, struct err *err)
{
        char *s = NULL;

        if (!dns_files_token_ok(hostname))
                return err_set(err, -EINVAL, "invalid hostname format: %s", hostname);
        if (asprintf(&s, "%s\n", hostname) < 0)
                return err_set(err, -ENOMEM, "rendering /etc/hostname");
        *ret = s;
        return 0;
}

static bool is_loopback_ns(const char *ip)
{
        return !strncmp(ip, "127.", 4) || !strcmp(ip, "::1");
}

static void put_list(FILE *f, const char *key, char **v)
{
        fputs(key, f);
        for (; *v; v++)
                if (dns_files_token_ok(*v))
                        fprintf(f, " %s", *v);
        fputc('\n', f);
}

/* Copies the host's lines, filtering nameservers and dropping what an override replaces. */
static int copy_host_lines(FILE *f, const char *host_text, bool own_netns, bool keep_ns,
                           bool keep_search, bool keep_options)
{
        _cleanup_free_ char *copy = strdup(host_text ? host_text : "");
        char *save = NULL;
        int kept = 0;

        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char word[32] = "", arg[128] = "";
                sscanf(l, "%31s %127s", word, arg);
                if (!strcmp(word, "nameserver")) {
                        if (!keep_ns || (own_netns && is_loopback_ns(arg)))
                                continue;
                        kept++;
                } else if ((!strcmp(word, "search") || !strcmp(word, "domain")) && !keep_search) {
                        continue;
                } else if (!strcmp(word, "options") && !keep_options) {
                        continue;
                }
                fprintf(f, "%s\n", l);
        }
        return kept;
}

int dns_resolv_render(const char *host_text, bool own_netns, char **dns, char **search,
                      char **options, char **ret, struct err *err)
{
        bool has_dns = dns && *dns, has_search = search && *search, has_opt = options && *options;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        int kept;

        if (!f)
                return err_set(err, -ENOMEM, "rendering /etc/resolv.conf");
        kept = copy_host_lines(f, host_text, own_netns, !has_dns, !has_search, !has_opt);
        if (has_dns) {
                for (char **d = dns; *d; d++)
                        if (dns_files_token_ok(*d))
                                fprintf(f, "nameserver %s\n", *d);
        } else if (kept == 0) {
                fputs("nameserver 8.8.8.8\nnameserver 8.8.4.4\n", f);
        }
        /* "--dns-search ." means no search domains at all. */
        if (has_search && !(search[0][0] == '.' && !search[0][1] && !search[1]))
                put_list(f, "search", search);
        if (has_opt)
                put_list(f, "options", options);
        return finish(f, &buf, ret, err, "/etc/resolv.conf");
}

struct jv *dns_files_upstreams(const char *resolv_path)
{
        _cleanup_free_ char *text = NULL;
        struct jv *v = jv_new_array();
        struct err e = {0};
        char *save = NULL;

        if (fs_read_file(resolv_path, &text, NULL, &e) < 0)
                return v;
        for (char *l = strtok_r(text, "\n", &save); l && jv_len(v) < 3;
             l = strtok_r(NULL, "\n", &save)) {
                char ip[64];
                if (sscanf(l, "nameserver %63s", ip) == 1)
                        jv_append(v, jv_new_string(ip));
        }
        return v;
}
