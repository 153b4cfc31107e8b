#pragma once
#include <stddef.h>

#include "base/err.h"

/* gzip files (the json-file log's --log-opt compress), through libarchive, loaded on first
 * use as in layer.c. */

/* Writes the gzip of everything read from in_fd to out_fd. -ENOTSUP without libarchive,
 * -EIO with its message. */
int gzip_file(int in_fd, int out_fd, struct err *err);
/* Reads the whole decompressed content of the gzip file fd (malloc'd, NUL-terminated). */
int gzip_read_all(int fd, char **ret, size_t *ret_len, struct err *err);
