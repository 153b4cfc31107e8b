#pragma once
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* Docker-style (pflag) option parsing into a caller's struct, driven by a table. */
enum opt_type {
        OPT_BOOL, /* --rm, --rm=false, combinable short flags (-itd) */
        OPT_STR,  /* last one wins; stored as a borrowed argv pointer */
        OPT_LIST, /* repeatable; appended to a char ** vector (vector and strings malloc'd) */
        OPT_INT,  /* long long */
};

struct opt_def {
        const char *name; /* long name without "--" */
        char short_name;  /* 0 when none */
        enum opt_type type;
        size_t offset; /* offsetof the field in the target struct */
};

#define OPT_END                                                                                    \
        {                                                                                          \
                NULL, 0, OPT_BOOL, 0                                                               \
        }

/* Parses argv[0..argc) (the arguments after the command name) into target. Positional
 * arguments are moved, in order, to argv[0..n) and n is returned. With stop_at_positional,
 * everything from the first non-option on is positional (for `run IMAGE CMD...`). -EINVAL with Docker's wording
 * ("unknown flag: --x", "flag needs an argument: 'e' in -e") on bad input. */
int opt_parse(const struct opt_def *defs, int argc, char **argv, bool stop_at_positional,
              void *target, struct err *err);
/* After opt_parse failed with -ECANCELED ("--help" among the flags): that command's table
 * (NULL when no --help was seen). */
const struct opt_def *opt_help_defs(void);
/* Docker's "Options:" block for a table (names and value kinds). */
void opt_format_help(const struct opt_def *defs, FILE *f);
/* Frees the vectors OPT_LIST fields hold. */
void opt_free_lists(const struct opt_def *defs, void *target);
/* Parses "true"/"false"/"1"/"0" as pflag does; -EINVAL otherwise. */
int opt_parse_bool(const char *s, bool *ret);
