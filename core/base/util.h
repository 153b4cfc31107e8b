#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* asprintf that returns NULL on failure instead of leaving the pointer undefined. */
char *util_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
size_t util_strv_len(char *const *v);
/* The out-of-memory policy of the jv and strv helpers (crun's OOM()): a message on stderr,
 * then abort. Allocations elsewhere are checked and fail with -ENOMEM. */
void util_oom(void) __attribute__((noreturn));
/* Appends a strdup of s; *v may be NULL. Aborts when out of memory (util_oom); returns 0. */
int util_strv_push(char ***v, const char *s);
/* The strings of v joined by sep ("" for an empty or NULL v); NULL when out of memory. */
char *util_strv_join(char *const *v, const char *sep);
/* Deep copy of a NULL-terminated vector. */
char **util_strv_dup(char *const *v);
void util_strv_free(char **v);
bool util_strv_contains(char *const *v, const char *s);
/* A growing byte buffer, always NUL-terminated once written to; running out of memory
 * aborts (util_oom), as the jv constructors do. */
struct util_buf {
        char *s;
        size_t len, cap;
};
void util_buf_add(struct util_buf *b, const char *s, size_t n);
void util_buf_addc(struct util_buf *b, char c);
/* The text so far ("" when nothing was added). */
const char *util_buf_str(struct util_buf *b);
void util_buf_free(struct util_buf *b);
/* Sorts a NULL-terminated vector (may be NULL) in strcmp order. */
void util_strv_sort(char **v);
/* Sets KEY=VALUE (or a bare KEY) in an environment vector, replacing the entry with the same
 * key in place; -ENOMEM on failure. */
int util_env_set(char ***v, const char *kv);
/* fvbommel/sortorder.NaturalLess, the order the Docker CLI sorts names and ports in. */
bool util_natural_less(const char *a, const char *b);
/* Whether the environment vector has KEY=... */
bool util_env_has(char *const *v, const char *key);
/* Docker's -e: KEY=VALUE is set; a bare KEY takes our environment's value, or without one
 * unsets KEY (hiding an image value too). -ENOMEM. */
int util_env_put_user(char ***v, const char *kv);
/* Docker's --env-file: each line as -e (blank lines and '#' comments skipped, leading blanks
 * and a CR dropped); "invalid environment variable: =x" for a line starting with '='. */
int util_env_file_load(const char *path, char ***v, struct err *err);
/* 64 random lowercase hex digits (getrandom). */
int util_random_hex(char out[65], struct err *err);
/* Nanoseconds since the epoch (CLOCK_REALTIME). */
int64_t util_now_ns(void);
/* RFC 3339 with nanoseconds in UTC, as Docker prints it ("2026-11-27T19:22:32.123456789Z"). */
void util_format_time(int64_t ns, char out[40]);
/* Parses util_format_time's format (fraction optional); -EINVAL otherwise. */
int util_parse_time(const char *s, int64_t *ret_ns);
/* "3 seconds", "About a minute", "2 hours" as Docker's units.HumanDuration. */
void util_human_duration(int64_t ns, char *out, size_t len);
/* Go's time.ParseDuration: "30s", "1m30s", "1.5h", "500ms", "-2s", "0"; a number needs a
 * unit (ns, us, µs, ms, s, m, h). -EINVAL otherwise. */
int util_parse_go_duration(const char *s, int64_t *ret_ns);
/* Docker's time filters (--since, --until, until=): a Go duration before now, Unix seconds
 * (with a fraction), or an RFC 3339 time (the date alone, or without a zone, is UTC here).
 * ns since the epoch; -EINVAL otherwise. */
int util_parse_docker_time(const char *s, int64_t *ret_ns);
/* Go's strconv.ParseBool: 1 for 1 t T TRUE true True, 0 for 0 f F FALSE false False, else
 * -EINVAL. */
int util_parse_go_bool(const char *s);
/* Docker's units.RAMInBytes: "512", "512k", "1.5g", "64MB" (1024-based; b, k, m, g, t, p);
 * -EINVAL otherwise. */
int util_parse_ram_bytes(const char *s, long long *ret);
/* Go's Duration.String(): "1m30s", "500ms", "1.5s", "0s". */
void util_format_go_duration(int64_t ns, char *out, size_t len);
/* units.HumanSizeWithPrecision: that many significant digits (`images`, `history`: 3). */
void util_human_size_prec(long long bytes, int precision, char *out, size_t len);
/* "4.3MB" as Docker's units.HumanSize (decimal, 4 significant digits). */
void util_human_size(long long bytes, char *out, size_t len);
/* "1.977MiB" as Docker's units.BytesSize (binary, 4 significant digits: `stats`). */
void util_bytes_size(long long bytes, char *out, size_t len);
/* Strict decimal parse of a whole string into [min,max]. */
int util_parse_ll(const char *s, long long min, long long max, long long *ret);
/* Parses a signal name ("TERM", "SIGTERM", "term") or number; -EINVAL if unknown. */
int util_parse_signal(const char *s);
/* Whether s matches Docker's restricted name pattern, [a-zA-Z0-9][a-zA-Z0-9_.-]* (names of
 * containers, volumes and networks, link aliases); the empty string does not. */
bool util_name_ok(const char *s);
/* Whether s is a MAC address as Docker takes it: six pairs of hex digits joined by ':'. */
bool util_mac_ok(const char *s);
/* Parses such an address; -EINVAL otherwise. */
int util_mac_parse(const char *s, uint8_t mac[6]);
/* Test hook for crash-consistency tests: the process kills itself with SIGKILL at the named
 * point when $HAWSER_TEST_KILL_AT names it. Nothing happens otherwise. */
void util_test_kill_point(const char *point);
/* Test hook for race tests: at the named point, when $HAWSER_TEST_GATE is "POINT:DIR", the
 * process creates DIR/reached and waits (30 s at most) until DIR/open exists. */
void util_test_gate(const char *point);
/* strerror(e) as Go prints it, lower case ("no such file or directory"), in buf. */
const char *util_go_strerror(int e, char buf[64]);

/* Loads a library on first use: dlopen(soname) and dlsym of names[i] into *slots[i]. The
 * table counts as loaded (*loaded set) only once every symbol resolved, so a later call never
 * finds a NULL slot. -ENOTSUP naming the library or the missing symbol. */
int util_dl_table(const char *soname, const char *const *names, void **const *slots, size_t n,
                  bool *loaded, struct err *err);

/* The process start time in clock ticks from /proc/PID/stat (0 if gone or a zombie). */
long long util_pid_start(pid_t pid);
/* The parent of pid (0 if gone or a zombie). */
pid_t util_pid_parent(pid_t pid);
/* Whether pid still runs the process started at start_ticks (guards against pid reuse). */
bool util_pid_alive(pid_t pid, long long start_ticks);

/* Owner tags: "PID.STARTTIME" of the calling process, put into the names of scratch files and
 * directories so that whoever finds one can tell whether its maker still runs. */
#define UTIL_OWNER_TAG_MAX 48
void util_owner_tag(char out[UTIL_OWNER_TAG_MAX]);
/* Whether the process a tag (possibly followed by "-...") names has ended; false for text
 * that is not a tag. */
bool util_owner_gone(const char *tag);
