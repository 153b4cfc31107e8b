#pragma once
/* The Dockerfile builder (core/build/): `build`, `image build`, `builder build`, `builder
 * prune`. Each step makes an image (a layer when it changes files, an empty history entry
 * when it only changes the config), cached by the parent, the step and what it reads. */
#include <stdbool.h>

#include "base/err.h"
#include "cli.h"

struct build_opts {
        char **tags;       /* -t NAME[:TAG] */
        char *file;        /* -f: a path, or "-" (stdin); NULL: CONTEXT/Dockerfile */
        char **build_args; /* K=V, or K (the value from the environment) */
        char *target;      /* --target STAGE */
        bool no_cache, pull, quiet, rm, force_rm;
        char *iidfile;
        char **labels; /* K=V */
        char *network; /* RUN steps' network: bridge (default), none, host, NAME */
        char **add_hosts;
        char *platform;
        char **secrets; /* id=ID,src=PATH */
        char *output;   /* type=local|tar,dest=PATH */
        char *progress;
};

/* Builds context (a directory, "-" or a local tar) as o says; *ret_id the final image. */
int build_run(struct cli *cli, const struct build_opts *o, const char *context, char ret_id[65],
              struct err *err);

/* --output type=local,dest=DIR | type=tar,dest=FILE|-: the image's filesystem. */
int build_export(struct cli *cli, const char *id, const char *spec, struct err *err);

/* Commands (see cli.h for the contract). */
int build_cmd_build(struct cli *cli, int argc, char **argv, struct err *err);
/* `builder build|prune`. */
int build_cmd_builder(struct cli *cli, int argc, char **argv, struct err *err);
