#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "cleanup.h"
#include "fs.h"
#include "util.h"

#define NSEC_PER_SEC  1000000000LL
#define NSEC_PER_MIN  (60 * NSEC_PER_SEC)
#define NSEC_PER_HOUR (60 * NSEC_PER_MIN)

/* Docker fixes the real-time range to glibc's user-visible one, not the kernel's 32. */
#define UTIL_SIGRTMIN 34
#define UTIL_SIGRTMAX 64

char *util_printf(const char *fmt, ...)
{
        va_list ap;
        char *s = NULL;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

size_t util_strv_len(char *const *v)
{
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

void util_oom(void)
{
        static const char msg[] = "hawser: out of memory\n";

        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        abort();
}

int util_strv_push(char ***v, const char *s)
{
        size_t n = util_strv_len(*v);
        _cleanup_free_ char *copy = strdup(s);
        char **nv;

        if (!copy)
                util_oom();
        nv = realloc(*v, (n + 2) * sizeof(*nv));
        if (!nv)
                util_oom();
        nv[n] = TAKE_PTR(copy);
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

char *util_strv_join(char *const *v, const char *sep)
{
        size_t len = 1;
        char *out;

        for (char *const *p = v; p && *p; p++)
                len += strlen(*p) + strlen(sep);
        out = calloc(1, len);
        for (char *const *p = v; out && p && *p; p++) {
                if (p != v)
                        strcat(out, sep);
                strcat(out, *p);
        }
        return out;
}

char **util_strv_dup(char *const *v)
{
        size_t n = util_strv_len(v);
        _cleanup_strv_ char **out = calloc(n + 1, sizeof(*out));

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                out[i] = strdup(v[i]);
                if (!out[i])
                        return NULL;
        }
        return TAKE_PTR(out);
}

void util_strv_free(char **v)
{
        strv_freep(&v);
}

void util_buf_add(struct util_buf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 64;
                char *p;
                while (cap < b->len + n + 1)
                        cap *= 2;
                p = realloc(b->s, cap);
                if (!p)
                        util_oom();
                b->s = p;
                b->cap = cap;
        }
        if (n)
                memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

void util_buf_addc(struct util_buf *b, char c)
{
        util_buf_add(b, &c, 1);
}

const char *util_buf_str(struct util_buf *b)
{
        return b->s ? b->s : "";
}

void util_buf_free(struct util_buf *b)
{
        free(b->s);
        *b = (struct util_buf){0};
}

static int strv_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

void util_strv_sort(char **v)
{
        if (v)
                qsort(v, util_strv_len(v), sizeof(*v), strv_cmp);
}

bool util_strv_contains(char *const *v, const char *s)
{
        for (; v && *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

int util_random_hex(char out[65], struct err *err)
{
        unsigned char buf[32];
        size_t got = 0;

        while (got < sizeof(buf)) {
                ssize_t n = getrandom(buf + got, sizeof(buf) - got, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return err_errno(err, "reading random bytes");
                }
                got += (size_t)n;
        }
        for (size_t i = 0; i < sizeof(buf); i++)
                snprintf(out + 2 * i, 3, "%02x", buf[i]);
        return 0;
}

int64_t util_now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

void util_format_time(int64_t ns, char out[40])
{
        int64_t sec = ns / NSEC_PER_SEC, frac = ns % NSEC_PER_SEC;
        time_t t;
        struct tm tm;
        char digits[10], buf[96];
        size_t len;
        int n = 9;

        if (frac < 0) {
                frac += NSEC_PER_SEC;
                sec--;
        }
        t = (time_t)sec;
        gmtime_r(&t, &tm);
        snprintf(digits, sizeof(digits), "%09lld", (long long)frac);
        while (n > 0 && digits[n - 1] == '0')
                n--;
        digits[n] = '\0';
        /* The wide buffer only quiets -Wformat-truncation: int64 ns keeps years in 1677..2262. */
        snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d%s%sZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, n > 0 ? "." : "",
                 digits);
        len = strnlen(buf, 39);
        memcpy(out, buf, len);
        out[len] = '\0';
}

/* Reads exactly n digits; -1 if any is missing. */
static int read_digits(const char **s, int n)
{
        int v = 0;

        for (int i = 0; i < n; i++, (*s)++) {
                if (!isdigit((unsigned char)**s))
                        return -1;
                v = v * 10 + (**s - '0');
        }
        return v;
}

static int expect_char(const char **s, char c)
{
        if (**s != c)
                return -EINVAL;
        (*s)++;
        return 0;
}

/* Parses "Z" or "+hh:mm"/"-hh:mm" into seconds east of UTC. */
static int parse_zone(const char *s, long *ret_off)
{
        int sign, hh, mm;

        if (strcmp(s, "Z") == 0) {
                *ret_off = 0;
                return 0;
        }
        if (*s != '+' && *s != '-')
                return -EINVAL;
        sign = *s++ == '-' ? -1 : 1;
        hh = read_digits(&s, 2);
        if (hh < 0 || hh > 23 || expect_char(&s, ':') < 0)
                return -EINVAL;
        mm = read_digits(&s, 2);
        if (mm < 0 || mm > 59 || *s)
                return -EINVAL;
        *ret_off = sign * (hh * 3600L + mm * 60L);
        return 0;
}

static int parse_fraction(const char **s, long long *ret_frac)
{
        long long frac = 0;
        int n = 0;

        if (**s != '.') {
                *ret_frac = 0;
                return 0;
        }
        (*s)++;
        for (; isdigit((unsigned char)**s); (*s)++, n++)
                if (n < 9)
                        frac = frac * 10 + (**s - '0');
        if (n == 0)
                return -EINVAL;
        for (; n < 9; n++)
                frac *= 10;
        *ret_frac = frac;
        return 0;
}

int util_parse_time(const char *s, int64_t *ret_ns)
{
        struct tm tm = {0}, check;
        long long frac, ns;
        long off;
        time_t t;

        tm.tm_year = read_digits(&s, 4) - 1900;
        if (tm.tm_year < -1900 || expect_char(&s, '-') < 0)
                return -EINVAL;
        tm.tm_mon = read_digits(&s, 2) - 1;
        if (tm.tm_mon < 0 || tm.tm_mon > 11 || expect_char(&s, '-') < 0)
                return -EINVAL;
        tm.tm_mday = read_digits(&s, 2);
        if (tm.tm_mday < 1 || expect_char(&s, 'T') < 0)
                return -EINVAL;
        tm.tm_hour = read_digits(&s, 2);
        if (tm.tm_hour < 0 || tm.tm_hour > 23 || expect_char(&s, ':') < 0)
                return -EINVAL;
        tm.tm_min = read_digits(&s, 2);
        if (tm.tm_min < 0 || tm.tm_min > 59 || expect_char(&s, ':') < 0)
                return -EINVAL;
        tm.tm_sec = read_digits(&s, 2);
        if (tm.tm_sec < 0 || tm.tm_sec > 59)
                return -EINVAL;
        if (parse_fraction(&s, &frac) < 0 || parse_zone(s, &off) < 0)
                return -EINVAL;
        check = tm;
        t = timegm(&tm);
        /* timegm normalises Feb 30 into March; a changed field means the date was invalid. */
        if (tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon)
                return -EINVAL;
        t -= off;
        if (__builtin_mul_overflow((long long)t, NSEC_PER_SEC, &ns) ||
            __builtin_add_overflow(ns, frac, &ns))
                return -ERANGE;
        *ret_ns = ns;
        return 0;
}

/* Go's Duration.Round(time.Hour): halves round away from zero. */
static int64_t round_hours(int64_t ns)
{
        int64_t h = ns / NSEC_PER_HOUR, r = ns % NSEC_PER_HOUR;

        return r + r >= NSEC_PER_HOUR ? h + 1 : h;
}

/* Docker's Unix time, SECONDS[.FRACTION], read exactly: through a double, a time of today
 * would be off by up to ~250 ns. */
static int parse_unix_time(const char *s, int64_t *ret)
{
        long long secs = 0, frac = 0;
        int digits = 0;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (secs > (INT64_MAX / 1000000000 - 9) / 10)
                        return -EINVAL;
                secs = secs * 10 + (*s - '0');
        }
        if (*s == '.' && (s[1] < '0' || s[1] > '9'))
                return -EINVAL;
        for (s += *s == '.'; *s >= '0' && *s <= '9'; s++, digits++)
                if (digits < 9)
                        frac = frac * 10 + (*s - '0');
        if (*s)
                return -EINVAL;
        for (; digits < 9; digits++)
                frac *= 10;
        *ret = secs * 1000000000LL + frac;
        return 0;
}

int util_parse_docker_time(const char *s, int64_t *ret)
{
        char buf[64];
        int64_t d;

        /* Go's rule: "0" is a time (the epoch), not a duration; a negative one is ahead. */
        if (strcmp(s, "0") && util_parse_go_duration(s, &d) == 0) {
                *ret = util_now_ns() - d;
                return 0;
        }
        if (parse_unix_time(s, ret) == 0)
                return 0;
        if (util_parse_time(s, ret) == 0)
                return 0;
        if (strlen(s) >= sizeof(buf) - 12)
                return -EINVAL;
        if (strlen(s) == 10)
                snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
        else
                snprintf(buf, sizeof(buf), "%sZ", s);
        return util_parse_time(buf, ret);
}

int util_parse_go_bool(const char *s)
{
        static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                if (!strcmp(s, yes[i]))
                        return 1;
                if (!strcmp(s, no[i]))
                        return 0;
        }
        return -EINVAL;
}

int util_parse_go_duration(const char *s, int64_t *ret_ns)
{
        static const struct {
                const char *unit;
                double ns;
        } units[] = {{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
                     {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
        double total = 0;
        bool neg = *s == '-';

        if (*s == '-' || *s == '+')
                s++;
        if (!strcmp(s, "0"))
                return *ret_ns = 0, 0;
        if (!*s)
                return -EINVAL;
        while (*s) {
                char *end;
                double v;
                size_t i;

                /* Digits and a point only: strtod would take "inf", "0x1p3" or a sign. */
                if (!isdigit((unsigned char)*s) && *s != '.')
                        return -EINVAL;
                v = strtod(s, &end);
                if (end == s || strspn(s, "0123456789.") != (size_t)(end - s))
                        return -EINVAL;
                /* Two-letter units come first, so "ms" is not read as "m". */
                for (i = 0; i < ARRAY_SIZE(units); i++)
                        if (!strncmp(end, units[i].unit, strlen(units[i].unit)))
                                break;
                if (i == ARRAY_SIZE(units))
                        return -EINVAL;
                total += v * units[i].ns;
                if (total > 9.2e18)
                        return -EINVAL;
                s = end + strlen(units[i].unit);
        }
        *ret_ns = neg ? -(int64_t)total : (int64_t)total;
        return 0;
}

/* "1.500" -> "1.5", "2.000" -> "2". */
static void trim_fraction(char *s)
{
        char *dot = strchr(s, '.'), *e;

        if (!dot)
                return;
        e = dot + strlen(dot) - 1;
        while (e > dot && *e == '0')
                *e-- = '\0';
        if (e == dot)
                *e = '\0';
}

void util_format_go_duration(int64_t ns, char *out, size_t len)
{
        const char *sign = ns < 0 ? "-" : "";
        uint64_t u = ns < 0 ? (uint64_t)-ns : (uint64_t)ns;
        char frac[32];

        if (u == 0) {
                snprintf(out, len, "0s");
                return;
        }
        if (u < 1000) {
                snprintf(out, len, "%s%lluns", sign, (unsigned long long)u);
                return;
        }
        if (u < 1000000000ULL) {
                bool micro = u < 1000000;
                snprintf(frac, sizeof(frac), micro ? "%llu.%03llu" : "%llu.%06llu",
                         (unsigned long long)(u / (micro ? 1000 : 1000000)),
                         (unsigned long long)(u % (micro ? 1000 : 1000000)));
                trim_fraction(frac);
                snprintf(out, len, "%s%s%s", sign, frac, micro ? "\xc2\xb5s" : "ms");
                return;
        }
        snprintf(frac, sizeof(frac), "%llu.%09llu", (unsigned long long)(u / 1000000000ULL % 60),
                 (unsigned long long)(u % 1000000000ULL));
        trim_fraction(frac);
        if (u < 60000000000ULL)
                snprintf(out, len, "%s%ss", sign, frac);
        else if (u < 3600000000000ULL)
                snprintf(out, len, "%s%llum%ss", sign, (unsigned long long)(u / 60000000000ULL),
                         frac);
        else
                snprintf(out, len, "%s%lluh%llum%ss", sign,
                         (unsigned long long)(u / 3600000000000ULL),
                         (unsigned long long)(u / 60000000000ULL % 60), frac);
}

void util_human_duration(int64_t ns, char *out, size_t len)
{
        int64_t seconds = ns / NSEC_PER_SEC, minutes = ns / NSEC_PER_MIN, hours;

        if (seconds < 1) {
                snprintf(out, len, "Less than a second");
                return;
        }
        if (seconds == 1) {
                snprintf(out, len, "1 second");
                return;
        }
        if (seconds < 60) {
                snprintf(out, len, "%lld seconds", (long long)seconds);
                return;
        }
        if (minutes == 1) {
                snprintf(out, len, "About a minute");
                return;
        }
        if (minutes < 60) {
                snprintf(out, len, "%lld minutes", (long long)minutes);
                return;
        }
        hours = round_hours(ns);
        if (hours == 1)
                snprintf(out, len, "About an hour");
        else if (hours < 48)
                snprintf(out, len, "%lld hours", (long long)hours);
        else if (hours < 24 * 7 * 2)
                snprintf(out, len, "%lld days", (long long)(hours / 24));
        else if (hours < 24 * 30 * 2)
                snprintf(out, len, "%lld weeks", (long long)(hours / 24 / 7));
        else if (hours < 24 * 365 * 2)
                snprintf(out, len, "%lld months", (long long)(hours / 24 / 30));
        else
                snprintf(out, len, "%lld years", (long long)(ns / NSEC_PER_HOUR / 24 / 365));
}

void util_human_size_prec(long long bytes, int precision, char *out, size_t len)
{
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
        double size = (double)bytes;
        size_t i = 0;

        while (size >= 1000.0 && i < ARRAY_SIZE(units) - 1) {
                size /= 1000.0;
                i++;
        }
        snprintf(out, len, "%.*g%s", precision, size, units[i]);
}

void util_bytes_size(long long bytes, char *out, size_t len)
{
        static const char *const units[] = {"B",   "KiB", "MiB", "GiB", "TiB",
                                            "PiB", "EiB", "ZiB", "YiB"};
        double size = (double)bytes;
        size_t i = 0;

        while (size >= 1024.0 && i < ARRAY_SIZE(units) - 1) {
                size /= 1024.0;
                i++;
        }
        snprintf(out, len, "%.4g%s", size, units[i]);
}

void util_human_size(long long bytes, char *out, size_t len)
{
        util_human_size_prec(bytes, 4, out, len);
}

int util_parse_ll(const char *s, long long min, long long max, long long *ret)
{
        char *end = NULL;
        long long v;

        if (!s || (!isdigit((unsigned char)s[0]) && s[0] != '-' && s[0] != '+'))
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (end == s || *end || !isdigit((unsigned char)end[-1]))
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

static const struct {
        const char *name;
        int num;
} signal_names[] = {
        {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},       {"CHLD", SIGCHLD},
        {"CLD", SIGCHLD},  {"CONT", SIGCONT}, {"FPE", SIGFPE},       {"HUP", SIGHUP},
        {"ILL", SIGILL},   {"INT", SIGINT},   {"IO", SIGIO},         {"IOT", SIGIOT},
        {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},     {"PROF", SIGPROF},
        {"PWR", SIGPWR},   {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
        {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP},
        {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
        {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},
        {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

/* "RTMIN", "RTMIN+n", "RTMAX", "RTMAX-n" (already upper-cased, prefix stripped). */
static int parse_rt_signal(const char *s)
{
        long long n = 0;
        int base, sign;

        if (strncmp(s, "RTMIN", 5) == 0) {
                base = UTIL_SIGRTMIN;
                sign = 1;
        } else if (strncmp(s, "RTMAX", 5) == 0) {
                base = UTIL_SIGRTMAX;
                sign = -1;
        } else {
                return -EINVAL;
        }
        s += 5;
        if (*s) {
                if (*s != (sign > 0 ? '+' : '-') || !isdigit((unsigned char)s[1]))
                        return -EINVAL;
                if (util_parse_ll(s + 1, 0, UTIL_SIGRTMAX - UTIL_SIGRTMIN, &n) < 0)
                        return -EINVAL;
        }
        return base + sign * (int)n;
}

void util_test_kill_point(const char *point)
{
        const char *want = getenv("HAWSER_TEST_KILL_AT");

        if (want && !strcmp(want, point))
                raise(SIGKILL);
}

void util_test_gate(const char *point)
{
        const char *want = getenv("HAWSER_TEST_GATE"), *colon = want ? strchr(want, ':') : NULL;
        char path[PATH_MAX];
        int fd;

        if (!colon || strlen(point) != (size_t)(colon - want) ||
            strncmp(want, point, strlen(point)))
                return;
        snprintf(path, sizeof(path), "%s/reached", colon + 1);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
                close(fd);
        snprintf(path, sizeof(path), "%s/open", colon + 1);
        for (int i = 0; i < 3000 && access(path, F_OK) < 0; i++)
                nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
}

int util_mac_parse(const char *s, uint8_t mac[6])
{
        if (strlen(s) != 17)
                return -EINVAL;
        for (int i = 0; i < 6; i++) {
                const char *p = s + 3 * i;
                if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
                    (i < 5 && p[2] != ':'))
                        return -EINVAL;
                mac[i] = (uint8_t)strtoul((char[3]){p[0], p[1], '\0'}, NULL, 16);
        }
        return 0;
}

bool util_mac_ok(const char *s)
{
        uint8_t mac[6];

        return util_mac_parse(s, mac) == 0;
}

bool util_name_ok(const char *s)
{
        if (!isalnum((unsigned char)s[0]))
                return false;
        for (s++; *s; s++)
                if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
                        return false;
        return true;
}

const char *util_go_strerror(int e, char buf[64])
{
        snprintf(buf, 64, "%s", strerror(e));
        buf[0] = (char)tolower((unsigned char)buf[0]);
        return buf;
}

int util_parse_signal(const char *s)
{
        char up[16];
        const char *name;
        long long n;
        size_t i;

        if (!s || !*s)
                return -EINVAL;
        if (isdigit((unsigned char)s[0]))
                return util_parse_ll(s, 1, UTIL_SIGRTMAX, &n) < 0 ? -EINVAL : (int)n;
        if (strlen(s) >= sizeof(up))
                return -EINVAL;
        for (i = 0; s[i]; i++)
                up[i] = (char)toupper((unsigned char)s[i]);
        up[i] = '\0';
        name = strncmp(up, "SIG", 3) == 0 ? up + 3 : up;
        for (i = 0; i < ARRAY_SIZE(signal_names); i++)
                if (strcmp(name, signal_names[i].name) == 0)
                        return signal_names[i].num;
        return parse_rt_signal(name);
}

int util_env_set(char ***v, const char *kv)
{
        size_t klen = strcspn(kv, "=");

        for (char **p = *v; p && *p; p++) {
                char *n;
                if (strncmp(*p, kv, klen) || ((*p)[klen] != '=' && (*p)[klen] != '\0'))
                        continue;
                n = strdup(kv);
                if (!n)
                        return -ENOMEM;
                free(*p);
                *p = n;
                return 0;
        }
        return util_strv_push(v, kv);
}

static void env_remove(char **v, const char *key)
{
        size_t klen = strlen(key), j = 0;

        for (size_t i = 0; v && v[i]; i++) {
                if (!strncmp(v[i], key, klen) && (v[i][klen] == '=' || v[i][klen] == '\0')) {
                        free(v[i]);
                        continue;
                }
                v[j++] = v[i];
        }
        if (v)
                v[j] = NULL;
}

int util_env_put_user(char ***v, const char *kv)
{
        _cleanup_free_ char *full = NULL;
        const char *val;

        if (strchr(kv, '='))
                return util_env_set(v, kv);
        val = getenv(kv);
        if (!val) {
                env_remove(*v, kv);
                return 0;
        }
        full = util_printf("%s=%s", kv, val);
        return full ? util_env_set(v, full) : -ENOMEM;
}

int util_env_file_load(const char *path, char ***v, struct err *err)
{
        _cleanup_free_ char *text = NULL;
        char *save = NULL;

        if (fs_read_file(path, &text, NULL, err) < 0)
                return err_wrap(err, "reading env file");
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                while (*l == ' ' || *l == '\t')
                        l++;
                l[strcspn(l, "\r")] = '\0';
                if (!*l || *l == '#')
                        continue;
                if (*l == '=')
                        return err_set(err, -EINVAL, "invalid environment variable: %s", l);
                if (util_env_put_user(v, l) < 0)
                        return err_set(err, -ENOMEM, "reading %s", path);
        }
        return 0;
}

bool util_env_has(char *const *v, const char *key)
{
        size_t n = strlen(key);

        for (; v && *v; v++)
                if (!strncmp(*v, key, n) && (*v)[n] == '=')
                        return true;
        return false;
}

bool util_natural_less(const char *a, const char *b)
{
        size_t i = 0, j = 0, la = strlen(a), lb = strlen(b);

        while (i < la && j < lb) {
                bool da = a[i] >= '0' && a[i] <= '9', db = b[j] >= '0' && b[j] <= '9';
                size_t za, zb, ea, eb;

                if (da != db)
                        return da;
                if (!da) {
                        if (a[i] != b[j])
                                return (unsigned char)a[i] < (unsigned char)b[j];
                        i++, j++;
                        continue;
                }
                for (; i < la && a[i] == '0'; i++)
                        ;
                for (; j < lb && b[j] == '0'; j++)
                        ;
                za = i, zb = j;
                for (; i < la && a[i] >= '0' && a[i] <= '9'; i++)
                        ;
                for (; j < lb && b[j] >= '0' && b[j] <= '9'; j++)
                        ;
                ea = i - za, eb = j - zb;
                if (ea != eb)
                        return ea < eb;
                if (memcmp(a + za, b + zb, ea) != 0)
                        return memcmp(a + za, b + zb, ea) < 0;
                if (za != zb)
                        return za < zb;
        }
        return la < lb;
}

int util_dl_table(const char *soname, const char *const *names, void **const *slots, size_t n,
                  bool *loaded, struct err *err)
{
        /* Layers of a pull extract in threads: the first use may come from several at once. */
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        void *handle;
        int r = 0;

        if (__atomic_load_n(loaded, __ATOMIC_ACQUIRE))
                return 0;
        pthread_mutex_lock(&lock);
        handle = *loaded ? NULL : dlopen(soname, RTLD_NOW | RTLD_LOCAL);
        if (!*loaded && !handle)
                r = err_set(err, -ENOTSUP, "loading %s: %s", soname, dlerror());
        for (size_t i = 0; r >= 0 && !*loaded && i < n; i++)
                if (!(*slots[i] = dlsym(handle, names[i])))
                        r = err_set(err, -ENOTSUP, "%s lacks %s", soname, names[i]);
        if (r >= 0)
                __atomic_store_n(loaded, true, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&lock);
        return r;
}

/* Reads /proc/PID/stat into buf; returns the ')' that ends the command name (the fields
 * follow: ") S 1 ..."), or NULL when the process is gone or a zombie. The name may hold
 * spaces and parentheses: its end is the last ')'. */
static const char *read_stat(pid_t pid, char *buf, size_t len)
{
        char path[64];
        _cleanup_close_ int fd = -1;
        ssize_t n;
        char *p;

        if (pid <= 0)
                return NULL;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        n = fd < 0 ? -1 : fs_read_all(fd, buf, len - 1);
        if (n <= 0)
                return NULL;
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
                return NULL;
        return p;
}

long long util_pid_start(pid_t pid)
{
        char buf[1024];
        const char *p = read_stat(pid, buf, sizeof(buf));

        /* Field 22 (starttime) is the 20th after the name. */
        for (int i = 0; i < 20 && p; i++)
                p = strchr(p + 1, ' ');
        return p ? strtoll(p + 1, NULL, 10) : 0;
}

pid_t util_pid_parent(pid_t pid)
{
        char buf[1024];
        const char *p = read_stat(pid, buf, sizeof(buf));
        int ppid = 0;

        /* Fields after the name: state, then ppid. */
        return p && sscanf(p + 1, " %*c %d", &ppid) == 1 ? (pid_t)ppid : 0;
}

bool util_pid_alive(pid_t pid, long long start_ticks)
{
        long long now;

        if (pid <= 0)
                return false;
        now = util_pid_start(pid);
        return now != 0 && (start_ticks == 0 || now == start_ticks);
}

void util_owner_tag(char out[UTIL_OWNER_TAG_MAX])
{
        pid_t pid = getpid();

        snprintf(out, UTIL_OWNER_TAG_MAX, "%d.%lld", (int)pid, util_pid_start(pid));
}

bool util_owner_gone(const char *tag)
{
        int pid = 0;
        long long start = 0;
        char end = 0;

        if (sscanf(tag, "%d.%lld%c", &pid, &start, &end) < 2 || pid <= 0 || start <= 0 ||
            (end && end != '-'))
                return false;
        return !util_pid_alive(pid, start);
}

int util_parse_ram_bytes(const char *s, long long *ret)
{
        static const char units[] = "kmgtp";
        const char *p = s, *u;
        double num, mult = 1;
        char *end;

        if (!isdigit((unsigned char)*p))
                return -EINVAL;
        while (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1])))
                p++;
        num = strtod(s, &end);
        if (end != p)
                return -EINVAL;
        if (*p == ' ')
                p++;
        if (*p && (u = strchr(units, tolower((unsigned char)*p)))) {
                for (long i = 0; i <= u - units; i++)
                        mult *= 1024;
                p++;
        }
        if (*p == 'i' || *p == 'I')
                p++;
        if (*p == 'b' || *p == 'B')
                p++;
        if (*p || num * mult >= 9.2e18)
                return -EINVAL;
        *ret = (long long)(num * mult);
        return 0;
}
