#pragma once
#include <stddef.h>

#include "base/json.h"

/* The shape a container's state document (state.json) must have before anything reads or
 * writes it by key: an object with Id (the directory's id), Name, State (an object with a
 * known Status), Config and HostConfig objects, and, where present, Hawser and
 * NetworkSettings objects and a Mounts array. Pure; leaf (it uses only core/base). */

/* 0 if doc has that shape; -EINVAL with the first problem in why (why_len bytes). */
int statedoc_check(const struct jv *doc, const char *id, char *why, size_t why_len);
/* The document a container whose state cannot be read is shown with: dead, its Error saying
 * why, its name and creation time (RFC 3339) if known (may be NULL). Caller owns it; NULL on
 * allocation failure. */
struct jv *statedoc_unreadable(const char *id, const char *name, const char *created,
                               const char *why);
