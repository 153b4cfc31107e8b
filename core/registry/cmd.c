/* The registry commands: pull, login, logout (parsing and printing only). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/util.h"
#include "../opt.h"
#include "../registry.h"
#include "internal.h"

struct pull_opts {
        bool all_tags, quiet;
        char *platform;
};

static const struct opt_def pull_defs[] = {
        {"all-tags", 'a', OPT_BOOL, offsetof(struct pull_opts, all_tags)},
        {"quiet", 'q', OPT_BOOL, offsetof(struct pull_opts, quiet)},
        {"platform", 0, OPT_STR, offsetof(struct pull_opts, platform)},
        OPT_END,
};

/* Every tag of ref's repository (tags/list), sorted as the registry returns them. */
static int list_tags(const struct image_ref *ref, char ***ret, struct err *err)
{
        _cleanup_(reg_session_close) struct reg_session s = {0};
        _cleanup_free_ char *path = util_printf("/v2/%s/tags/list", ref->path);
        _cleanup_jv_ struct jv *doc = NULL;
        struct reg_response resp = {0};
        struct reg_request req = {.method = "GET", .body_fd = -1};
        char why[256];
        int r = path ? reg_session_open(ref, "pull", &s, err) : -ENOMEM;

        if (r < 0)
                return r == -ENOMEM ? err_set(err, r, "listing tags") : r;
        req.url = path;
        r = reg_send(&s, &req, &resp, err);
        if (r >= 0 && resp.status != 200) {
                reg_error_text(&resp, why, sizeof(why));
                r = err_set(err, resp.status == 404 ? -ENOENT : -EIO, "listing the tags of %s: %s",
                            ref->name, why);
        }
        if (r >= 0 && jv_parse(resp.body ? resp.body : "", &doc, err) < 0)
                r = err_wrap(err, "listing the tags of %s", ref->name);
        reg_response_free(&resp);
        if (r < 0)
                return r;
        *ret = jv_to_strv(jv_get(doc, "tags"));
        return *ret ? 0 : err_set(err, -ENOMEM, "listing tags");
}

int registry_cmd_pull(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct pull_opts o = {0};
        struct registry_pull_opts po = {.out = stdout};
        _cleanup_(image_ref_free) struct image_ref ref = {0};
        _cleanup_strv_ char **tags = NULL;
        char id[65];
        int n = opt_parse(pull_defs, argc - 1, argv + 1, false, &o, err), r;

        /* A helper or a server that goes away is an error to report, not a signal. */
        signal(SIGPIPE, SIG_IGN);

        if (n < 0)
                return cli_usage_error(cli, "pull", err, "%s", err->msg);
        if (n != 1)
                return cli_usage_error(cli, "pull", err,
                                       "\"hawser pull\" requires exactly 1 argument.");
        po.platform = o.platform;
        po.quiet = o.quiet;
        r = imgconfig_parse_ref(argv[1], &ref, err);
        if (r < 0)
                return r;
        if (!o.all_tags) {
                r = registry_pull(cli, argv[1], &po, id, err);
                if (r >= 0 && ref.digest)
                        printf("%s/%s@%s\n", ref.domain, ref.path, ref.digest);
                else if (r >= 0)
                        printf("%s/%s:%s\n", ref.domain, ref.path, ref.tag ? ref.tag : "latest");
                return r;
        }
        if (ref.tag || ref.digest)
                return err_set(err, -EINVAL, "tag can't be used with --all-tags/-a");
        r = list_tags(&ref, &tags, err);
        for (char **t = tags; r >= 0 && t && *t; t++) {
                _cleanup_free_ char *one = util_printf("%s:%s", ref.name, *t);
                r = one ? registry_pull(cli, one, &po, id, err) : err_set(err, -ENOMEM, "pulling");
        }
        if (r >= 0)
                printf("%s/%s\n", ref.domain, ref.path);
        return r;
}

struct push_opts {
        bool all_tags, quiet;
};

static const struct opt_def push_defs[] = {
        {"all-tags", 'a', OPT_BOOL, offsetof(struct push_opts, all_tags)},
        {"quiet", 'q', OPT_BOOL, offsetof(struct push_opts, quiet)},
        OPT_END,
};

int registry_cmd_push(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct push_opts o = {0};
        int n = opt_parse(push_defs, argc - 1, argv + 1, false, &o, err), r;

        /* A helper or a server that goes away is an error to report, not a signal. */
        signal(SIGPIPE, SIG_IGN);

        if (n < 0)
                return cli_usage_error(cli, "push", err, "%s", err->msg);
        if (n != 1)
                return cli_usage_error(cli, "push", err,
                                       "\"hawser push\" requires exactly 1 argument.");
        r = registry_push(cli, argv[1],
                          &(struct registry_push_opts){
                                  .quiet = o.quiet, .all_tags = o.all_tags, .out = stdout},
                          err);
        if (r >= 0 && o.quiet)
                printf("%s\n", argv[1]);
        return r;
}

/* ---- login / logout ---- */

struct login_opts {
        char *user, *password;
        bool password_stdin;
};

static const struct opt_def login_defs[] = {
        {"username", 'u', OPT_STR, offsetof(struct login_opts, user)},
        {"password", 'p', OPT_STR, offsetof(struct login_opts, password)},
        {"password-stdin", 0, OPT_BOOL, offsetof(struct login_opts, password_stdin)},
        OPT_END,
};

/* The registry a login or logout names: "docker.io" when none (Docker Hub). */
static int server_ref(const char *arg, struct image_ref *ret, struct err *err)
{
        const char *s = arg ? arg : "docker.io";
        size_t n;

        if (!strncmp(s, "https://", 8))
                s += 8;
        else if (!strncmp(s, "http://", 7))
                s += 7;
        n = strcspn(s, "/");
        *ret = (struct image_ref){0};
        ret->domain = strndup(s, n);
        ret->path = strdup("");
        ret->name = strdup(ret->domain ? ret->domain : "");
        if (ret->domain && (!strcmp(ret->domain, "index.docker.io") ||
                            !strcmp(ret->domain, "registry-1.docker.io"))) {
                free(ret->domain);
                ret->domain = strdup("docker.io");
        }
        if (!ret->domain || !ret->path || !ret->name)
                return err_set(err, -ENOMEM, "reading the server name");
        return 0;
}

/* A line from stdin, without its newline; no echo when it is a terminal and hide is set. */
static char *read_line(const char *prompt, bool hide)
{
        struct termios old, quiet;
        bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        if (prompt) {
                fputs(prompt, stdout);
                fflush(stdout);
        }
        if (tty && hide) {
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t)ECHO;
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        }
        n = getline(&line, &cap, stdin);
        if (tty && hide) {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
                fputc('\n', stdout);
        }
        if (n < 0) {
                free(line);
                return NULL;
        }
        line[strcspn(line, "\r\n")] = '\0';
        return line;
}

/* GET /v2/ with the credentials: a 200 after the challenge means they work. */
static int check_login(const struct image_ref *ref, const char *user, const char *password,
                       struct err *err)
{
        _cleanup_(reg_session_close) struct reg_session s = {0};
        struct reg_response resp = {0};
        struct reg_request req = {.method = "GET", .url = "/v2/", .body_fd = -1};
        char why[256];
        int r = reg_session_open(ref, "pull", &s, err);

        if (r < 0)
                return r;
        reg_creds_free(&s.creds);
        s.creds.user = strdup(user);
        s.creds.secret = strdup(password);
        if (!s.creds.user || !s.creds.secret)
                return err_set(err, -ENOMEM, "logging in");
        r = reg_send(&s, &req, &resp, err);
        if (r == -EACCES)
                return err_set(err, -EACCES, "Get \"%s/v2/\": %s", s.origin,
                               strstr(err->msg, "\": ") ? strstr(err->msg, "\": ") + 3 : err->msg);
        if (r >= 0 && resp.status != 200) {
                reg_error_text(&resp, why, sizeof(why));
                r = err_set(err, -EACCES, "Get \"%s/v2/\": %s", s.origin,
                            resp.status == 401 ? "unauthorized: authentication required" : why);
        }
        reg_response_free(&resp);
        return r;
}

int registry_cmd_login(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct login_opts o = {0};
        _cleanup_(image_ref_free) struct image_ref ref = {0};
        _cleanup_free_ char *user = NULL, *password = NULL;
        int n = opt_parse(login_defs, argc - 1, argv + 1, false, &o, err), r;

        /* A helper or a server that goes away is an error to report, not a signal. */
        signal(SIGPIPE, SIG_IGN);

        if (n < 0)
                return cli_usage_error(cli, "login", err, "%s", err->msg);
        if (n > 1)
                return cli_usage_error(cli, "login", err,
                                       "\"hawser login\" requires at most 1 argument.");
        if (o.password && o.password_stdin)
                return err_set(err, -EINVAL,
                               "--password and --password-stdin are mutually "
                               "exclusive");
        if (o.password_stdin && !o.user)
                return err_set(err, -EINVAL, "Must provide --username with --password-stdin");
        r = server_ref(n == 1 ? argv[1] : NULL, &ref, err);
        if (r < 0)
                return r;
        if (o.password)
                fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use "
                                "--password-stdin.\n");
        user = o.user ? strdup(o.user) : read_line("Username: ", false);
        if (o.password)
                password = strdup(o.password);
        else if (o.password_stdin)
                password = read_line(NULL, false);
        else
                password = read_line("Password: ", true);
        if (!user || !*user)
                return err_set(err, -EINVAL, "Username is required");
        if (!password || !*password)
                return err_set(err, -EINVAL, "Password is required");
        r = check_login(&ref, user, password, err);
        if (r >= 0)
                r = reg_creds_store(ref.domain, user, password, NULL, err);
        explicit_bzero(password, strlen(password));
        if (r < 0)
                return r;
        printf("Login Succeeded\n");
        return 0;
}

int registry_cmd_logout(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        _cleanup_(image_ref_free) struct image_ref ref = {0};
        bool removed = false;
        int n = opt_parse(defs, argc - 1, argv + 1, false, NULL, err), r;

        /* A helper or a server that goes away is an error to report, not a signal. */
        signal(SIGPIPE, SIG_IGN);

        if (n < 0)
                return cli_usage_error(cli, "logout", err, "%s", err->msg);
        if (n > 1)
                return cli_usage_error(cli, "logout", err,
                                       "\"hawser logout\" requires at most 1 argument.");
        r = server_ref(n == 1 ? argv[1] : NULL, &ref, err);
        if (r >= 0)
                r = reg_creds_store(ref.domain, NULL, NULL, &removed, err);
        if (r < 0)
                return r;
        if (!removed) {
                printf("Not logged in to %s\n", reg_creds_key(ref.domain));
                return 0;
        }
        printf("Removing login credentials for %s\n", reg_creds_key(ref.domain));
        return 0;
}
