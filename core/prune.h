#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/json.h"

/* The --filter of the prune commands (container, image, network, system prune), as Docker's
 * daemon reads it: until=TIME (created before it: a duration before now, Unix seconds or an
 * RFC 3339 time), label=KEY[=VALUE], label!=KEY[=VALUE]; image prune adds dangling=BOOL. */
struct prune_filter {
        int64_t until; /* 0: none */
        char **labels, **not_labels;
        int dangling; /* -1: not given */
};

/* Parses the --filter arguments; accepted is a space-separated list of the keys the command
 * takes (" until label label! "). Docker's messages: "invalid filter 'KEY'", "failed to parse
 * value as time or duration: ...". */
int prune_filter_parse(char *const *args, const char *accepted, struct prune_filter *f,
                       struct err *err);
/* Whether an object with labels (an object, may be NULL) created at created_ns (0: unknown,
 * never "before" anything) passes the filter. */
bool prune_filter_match(const struct prune_filter *f, const struct jv *labels, int64_t created_ns);
void prune_filter_free(struct prune_filter *f);
/* Docker's confirmation prompt on stderr (answer on stdin); true to go on. */
bool prune_confirm(const char *warning);
/* "KEY" or "KEY=VALUE" against a Labels object (may be NULL). */
bool prune_label_matches(const struct jv *labels, const char *want);

struct cli;
/* The part every prune command shares: its flags (-f, --filter, and -a when warning_all is
 * given), the filters (accepted keys as for prune_filter_parse; dangling=false sets *all),
 * Docker's question without -f (warning, or warning_all with -a). 1: go on with *f (freed by
 * the caller with prune_filter_free); 0: the user said no; < 0: an error in err. */
int prune_begin(struct cli *cli, const char *cmd, int argc, char **argv, const char *accepted,
                const char *warning, const char *warning_all, bool *all, struct prune_filter *f,
                struct err *err);
/* Docker's last line: "Total reclaimed space: 1.2MB". */
void prune_print_total(long long bytes);
