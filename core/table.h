#pragma once
#include <stdio.h>

/* Column alignment exactly as Go's text/tabwriter configured the way the Docker CLI does
 * (minwidth 10, tabwidth 1, padding 3, pad with ' ', no flags). */
struct table;

/* An empty table; NULL on allocation failure. */
struct table *table_new(void);
/* The same with another minimum cell width (`top` uses 20, as docker/cli does). */
struct table *table_new_min(size_t minwidth);
/* Adds text: '\t' ends a cell, '\n' ends a line (a final '\n' is optional); the text after
 * the last tab of a line is its trailing cell, printed unpadded. -ENOMEM. */
int table_add_row(struct table *t, const char *tab_separated_line);
/* Writes all lines, each ending in '\n'; cell widths count UTF-8 runes. The table stays
 * usable. -EIO when writing fails, -ENOMEM. */
int table_print(struct table *t, FILE *out);
/* Frees t; NULL is fine. */
void table_free(struct table *t);
void table_freep(struct table **t);
#define _cleanup_table_ __attribute__((cleanup(table_freep)))
