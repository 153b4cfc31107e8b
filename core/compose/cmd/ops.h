#pragma once
/* What the commands on existing containers (ops.c), those that show the project (info.c) and
 * those that run, copy, build and pull (oneoff.c) share. */
#include <stdbool.h>

#include "../../opt.h"
#include "internal.h"

/* Parses subcommand name's flags, argv[0] being name, into target: the positional arguments
 * end up in argv[1..n] (NULL after them) and n is returned; a bad flag or --help is recorded
 * as `compose NAME`'s usage error. */
int ops_parse(struct project *p, const char *name, const struct opt_def *defs, int argc,
              char **argv, bool stop_at_positional, void *target, struct err *err);
/* Records "\"hawser compose NAME\" requires ..." (what, e.g. "at least 1 argument"). */
int ops_usage(struct project *p, const char *name, const char *what, struct err *err);
/* With a model, each name must be one of its services: -ENOENT "no such service: X" (v2's);
 * without one, names only filter containers by their label. */
int ops_check_services(const struct project *p, char *const *names, struct err *err);
/* Whether Docker's list without --all shows c: running, paused or restarting. */
bool ops_listed(const struct container *c);
/* One progress line on stderr as v2's plain writer prints an event (fmt.Println of the
 * event's id, text and status: " ID TEXT STATUS"); nothing with --progress quiet. */
void ops_event(const struct project *p, const char *id, const char *text, const char *status);
/* v2's getSpecifiedContainer: the container of service with the lowest number (index > 0:
 * that number), one-off ones too with oneoff, stopped ones too with stopped. -ENOENT with v2's
 * "service \"web\" is not running" (" container #N" with index). *ret is owned by the
 * caller. */
int ops_specified(const struct project *p, const char *service, long long index, bool oneoff,
                  bool stopped, struct container **ret, struct err *err);
/* The project's services in dependency order: the model's, or without one the services the
 * containers m belong to, ordered by their depends_on labels. A malloc'd strv. */
char **ops_service_order(const struct project *p, const struct members *m);
