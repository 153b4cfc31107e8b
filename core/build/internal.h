#pragma once
/* Inside the Dockerfile builder only (core/build/): the parser, the word expander, the
 * .dockerignore matcher, and the engine's parts. Everyone else uses core/build.h. */
#include <stdbool.h>
#include <stddef.h>

#include "../base/err.h"

/* ---- parse.c: the Dockerfile parser (BuildKit's frontend/dockerfile/parser rules) ---- */

/* One heredoc of an instruction (`RUN <<EOF` ... `EOF`): BuildKit syntax. */
struct df_heredoc {
        char *name;    /* the delimiter word, "EOF" */
        char *content; /* the lines between, each ending in '\n' (tabs stripped for <<-) */
        bool expand;   /* unquoted delimiter: variables in content are expanded */
        bool chomp;    /* <<- */
};

/* One instruction, as written (no variable expansion yet). */
struct df_instr {
        char *cmd;      /* lower case: "from", "run", "copy", ... */
        char *original; /* the whole instruction as one line (continuations joined) */
        char *rest;     /* everything after the instruction word and its --flags, trimmed */
        char **flags;   /* "--from=build", "--chown=1:1", ... in order (NULL-terminated) */
        char **args;    /* the arguments: the JSON array's strings when json, else the
                           whitespace-separated words of rest (quotes kept as written) */
        bool json;      /* exec (JSON array) form */
        struct df_heredoc *heredocs;
        size_t n_heredocs;
        int line;                 /* 1-based line where the instruction starts */
        struct df_instr *onbuild; /* ONBUILD's trigger, parsed as an instruction */
};

struct dockerfile {
        struct df_instr *v;
        size_t n;
        char escape;  /* '\\' or '`' (# escape=) */
        char *syntax; /* # syntax= value, or NULL (accepted, ignored) */
};

/* Parses text. name is used in messages ("Dockerfile:7: unknown instruction: RUNN").
 * -EINVAL with Docker's message for: an unknown instruction, ONBUILD ONBUILD ("Chaining
 * ONBUILD via `ONBUILD ONBUILD` isn't allowed"), ONBUILD FROM / ONBUILD MAINTAINER ("FROM
 * isn't allowed as an ONBUILD trigger"), an instruction without its arguments where
 * Docker requires them ("COPY requires at least two arguments"...: see parse.c), an
 * unterminated heredoc, a file with no instruction ("file with no instructions"). */
int dockerfile_parse(const char *text, const char *name, struct dockerfile *ret, struct err *err);
void dockerfile_free(struct dockerfile *d);

/* ---- shell.c: word expansion (BuildKit's shell.Lex: ProcessWord / ProcessWords) ---- */

/* Looks a variable up: its value, or NULL when unset. */
typedef const char *(*df_lookup_fn)(void *ud, const char *name);

/* Expands one word as Docker does for ENV, LABEL, WORKDIR, USER, ...: quotes removed
 * ('...' literal, "..." with expansion), escape char (escape) handled, $v ${v} ${v:-w}
 * ${v-w} ${v:+w} ${v+w} expanded (nested), unset variables empty. *ret malloc'd.
 * -EINVAL with BuildKit's message on a bad substitution or an unterminated quote. */
int df_expand_word(const char *word, char escape, df_lookup_fn lookup, void *ud, char **ret,
                   struct err *err);
/* Expands and splits into words (for COPY/ADD/EXPOSE/VOLUME's shell form): whitespace
 * outside quotes separates words; each word expanded as above. *ret NULL-terminated. */
int df_expand_words(const char *text, char escape, df_lookup_fn lookup, void *ud, char ***ret,
                    struct err *err);

/* ---- ignore.c: .dockerignore (moby/patternmatcher rules) ---- */

struct df_ignore;
/* Parses a .dockerignore's text: lines trimmed, '#' comments and blank lines skipped,
 * patterns cleaned (filepath.Clean, a leading '/' dropped), '!' exceptions. -EINVAL for
 * a bad pattern ("syntax error in pattern"). */
int df_ignore_parse(const char *text, struct df_ignore **ret, struct err *err);
void df_ignore_free(struct df_ignore *ig);
/* Whether the context path rel ("a/b.txt", no leading "./" or "/") is excluded: the last
 * pattern that matches it or one of its parent directories decides ('!' includes). A
 * pattern matching a directory excludes everything under it. `**` matches any number of
 * path components; '*', '?', '[...]' as Go's filepath.Match (not across '/'). */
bool df_ignore_match(const struct df_ignore *ig, const char *rel);
/* Whether some '!' exception could re-include a path below dir (the walker must then
 * descend into an excluded directory instead of skipping it). */
bool df_ignore_may_include_below(const struct df_ignore *ig, const char *dir);

/* ---- view.c: an image's merged filesystem, read from its layer directories ---- */

struct cli;
struct stat;

struct view {
        char **layers; /* layer diff directories, topmost first; empty for scratch */
};
/* The view of image_id ("" or NULL: scratch, an empty view). */
int view_open(const struct cli *cli, const char *image_id, struct view *ret, struct err *err);
void view_close(struct view *v);
/* Resolves path (absolute in the image) component by component, following symlinks inside
 * the image root (the last component too when follow_last): *ret_rel the resolved path
 * without leading '/' ("" for the root), *ret_host the host path of the winning layer's
 * entry (NULL when it does not exist), *ret_st its lstat (st_mode 0 when it does not
 * exist). Any ret may be NULL. -ELOOP after 40 symlinks. */
int view_resolve(const struct view *v, const char *path, bool follow_last, char **ret_rel,
                 char **ret_host, struct stat *ret_st, struct err *err);
/* The content of a regular file at path (*ret NULL when there is none). */
int view_read_file(const struct view *v, const char *path, char **ret, struct err *err);
/* The names in directory rel (symlink-free, "" for the root) of the merged view. */
int view_list(const struct view *v, const char *rel, char ***ret, struct err *err);
