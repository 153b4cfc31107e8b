#pragma once
/* The registry client: pull (and run's pull of a missing image), push, login, logout over
 * the OCI distribution API / Docker Registry API v2 (core/registry/). */
#include <stdbool.h>
#include <stdio.h>

#include "base/err.h"
#include "cli.h"

struct registry_pull_opts {
        const char *platform; /* "os/arch[/variant]", NULL: this machine's */
        bool quiet;           /* only the final reference (pull -q) */
        bool all_tags;        /* every tag of the repository (pull -a) */
        FILE *out;            /* progress lines: stdout for pull, stderr for run/create */
};

/* Pulls ref (Docker's reference grammar, tag or digest) into the image store, printing
 * Docker's progress lines to o->out, and writes the image id. Layers download in parallel
 * and are decompressed, hashed and extracted while they download; each blob is verified
 * against its digest and each layer against the config's diff_ids. Nothing of a failed
 * pull stays behind. */
int registry_pull(const struct cli *cli, const char *ref, const struct registry_pull_opts *o,
                  char ret_id[65], struct err *err);

struct registry_push_opts {
        bool quiet, all_tags;
        FILE *out;
};

/* Pushes NAME[:TAG] (or every tag of NAME with all_tags) to its registry with Docker's
 * progress lines; records the pushed manifest's digest as a RepoDigest. */
int registry_push(const struct cli *cli, const char *name, const struct registry_push_opts *o,
                  struct err *err);

/* Downloads url (http or https, redirects followed) into fd: ADD of a URL. */
int registry_fetch_url(const char *url, int fd, struct err *err);

/* Commands (see cli.h for the contract). */
int registry_cmd_pull(struct cli *cli, int argc, char **argv, struct err *err);
int registry_cmd_push(struct cli *cli, int argc, char **argv, struct err *err);
int registry_cmd_login(struct cli *cli, int argc, char **argv, struct err *err);
int registry_cmd_logout(struct cli *cli, int argc, char **argv, struct err *err);
