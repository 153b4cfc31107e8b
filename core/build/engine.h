#pragma once
/* The build engine's shared state (build.c, copy.c, context.c). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "../base/err.h"
#include "../base/json.h"
#include "../build.h"
#include "../cli.h"
#include "internal.h"

struct stage {
        char *name;   /* AS name, lower case, or NULL */
        size_t index; /* position among the FROMs */
        size_t first; /* index of its FROM in the Dockerfile */
        size_t end;   /* one past its last instruction */
        bool needed;  /* the target depends on it */
        bool built;
        char image[65]; /* current image id; "" = scratch with nothing yet */
        struct jv *doc; /* current image config document */
        char **args;    /* ARGs declared in the stage, "K=V" */
        char **scratch; /* values handed out by the variable lookup */
        bool cmd_set;   /* a CMD came in this stage (ENTRYPOINT then keeps it) */
};

struct build {
        struct cli *cli;
        const struct build_opts *o;
        char *context; /* the context directory */
        char *tmp_ctx; /* a context extracted from a tar (removed at the end) */
        struct df_ignore *ignore;
        struct dockerfile df;
        char **meta_args; /* ARGs before the first FROM, "K=V" */
        char **used_args; /* --build-arg names some ARG took */
        struct stage *stages;
        size_t n_stages;
        bool missed;       /* a step missed the cache: every later one misses (rule 4) */
        int step, n_steps; /* "Step N/M" */
        char *container;   /* the RUN container being used, removed at the end */
        char *iid;
};

void build_say(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int build_expand(struct build *b, struct stage *st, const char *word, char **ret, struct err *err);
int build_expand_words(struct build *b, struct stage *st, const char *text, char ***ret,
                       struct err *err);
int kv_set(char ***v, const char *name, const char *value);
/* Moves the stage to image id (its config loaded). */
int stage_set_image(struct build *b, struct stage *st, const char *id, struct err *err);
/* A child image of the stage's current one (config taken; the staged layer diff_id, or
 * none), and the stage moved to it. */
int stage_commit(struct build *b, struct stage *st, struct jv *config, const char *diff_id,
                 char *stage, const char *created_by, struct err *err);
/* Cache: a step's key, a lookup that moves the stage on a hit (1), a store. */
void build_key(const struct stage *st, const char *step, const char *extra, char out[65]);
int build_cache_get(struct build *b, struct stage *st, const char *key, struct err *err);
void build_cache_put(struct build *b, const char *key, const char *id);
/* The stage an argument of FROM or COPY --from names (name or index), or NULL. */
struct stage *build_find_stage(struct build *b, const char *ref, size_t before);

/* copy.c: COPY and ADD (the step's key computed from what it selects; the layer written
 * on a miss). */
int build_copy(struct build *b, struct stage *st, const struct df_instr *in, bool add,
               struct err *err);

/* A staged layer holding directory path of the stage's image (the empty tar when the image
 * has it); *ret_stage NULL when the store holds that layer already. */
int build_dir_layer(struct build *b, struct stage *st, const char *path, char **ret_stage,
                    char ret_diff[65], struct err *err);

/* context.c: the context (a directory, "-", or a tar) and the Dockerfile. */
int context_open(struct build *b, const char *context, char **ret_dockerfile, struct err *err);
void context_close(struct build *b);

/* Small helpers. */
char *path_clean(const char *p);          /* lexical clean, absolute stays absolute */
const char *upper_word(const char *word); /* "run" -> "RUN" (static buffer) */
