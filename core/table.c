#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "table.h"

/* docker/cli's formatter: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0). */
#define TABLE_MINWIDTH 10
#define TABLE_PADDING  3

struct cell {
        char *text;
        size_t width;
};

struct line {
        struct cell *cells;
        size_t n;
};

struct table {
        size_t minwidth;
        struct line *lines;
        size_t n;
};

struct writer {
        const struct table *t;
        FILE *out;
        size_t *widths;
        size_t nwidths;
};

/* Length of the UTF-8 sequence at s, or 1 for an invalid byte, as Go's utf8.RuneCount. */
static size_t rune_len(const unsigned char *s, size_t avail)
{
        unsigned char c = s[0], lo = 0x80, hi = 0xbf;
        size_t size;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                size = 2;
        else if (c >= 0xe0 && c <= 0xef)
                size = 3;
        else if (c >= 0xf0 && c <= 0xf4)
                size = 4;
        else
                return 1;
        if (c == 0xe0)
                lo = 0xa0;
        else if (c == 0xed)
                hi = 0x9f;
        else if (c == 0xf0)
                lo = 0x90;
        else if (c == 0xf4)
                hi = 0x8f;
        if (size > avail || s[1] < lo || s[1] > hi)
                return 1;
        for (size_t i = 2; i < size; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 1;
        return size;
}

static size_t rune_count(const char *s, size_t len)
{
        size_t n = 0;

        for (size_t i = 0; i < len; n++)
                i += rune_len((const unsigned char *)s + i, len - i);
        return n;
}

static void line_clear(struct line *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->cells[i].text);
        free(l->cells);
        *l = (struct line){0};
}

struct table *table_new(void)
{
        return table_new_min(TABLE_MINWIDTH);
}

struct table *table_new_min(size_t minwidth)
{
        struct table *t = calloc(1, sizeof(struct table));

        if (t)
                t->minwidth = minwidth;
        return t;
}

void table_free(struct table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n; i++)
                line_clear(&t->lines[i]);
        free(t->lines);
        free(t);
}

void table_freep(struct table **t)
{
        table_free(*t);
}

static int line_add_cell(struct line *l, const char *s, size_t len)
{
        _cleanup_free_ char *text = strndup(s, len);
        struct cell *cells;

        if (!text)
                return -ENOMEM;
        cells = realloc(l->cells, (l->n + 1) * sizeof(*cells));
        if (!cells)
                return -ENOMEM;
        l->cells = cells;
        cells[l->n++] = (struct cell){TAKE_PTR(text), rune_count(s, len)};
        return 0;
}

/* Moves *l into the table; *l is empty afterwards either way. */
static int table_take_line(struct table *t, struct line *l)
{
        struct line *lines = realloc(t->lines, (t->n + 1) * sizeof(*lines));

        if (!lines) {
                line_clear(l);
                return -ENOMEM;
        }
        t->lines = lines;
        lines[t->n++] = *l;
        *l = (struct line){0};
        return 0;
}

int table_add_row(struct table *t, const char *s)
{
        struct line l = {0};
        const char *cell = s;
        int r = 0;

        for (const char *p = s; r >= 0; p++) {
                if (*p != '\t' && *p != '\n' && *p != '\0')
                        continue;
                /* A final '\n' already ended the last line. */
                if (*p == '\0' && p > s && p[-1] == '\n')
                        break;
                r = line_add_cell(&l, cell, (size_t)(p - cell));
                cell = p + 1;
                if (r >= 0 && *p != '\t')
                        r = table_take_line(t, &l);
                if (*p == '\0')
                        break;
        }
        line_clear(&l);
        return r;
}

static void write_lines(struct writer *w, size_t line0, size_t line1)
{
        for (size_t i = line0; i < line1; i++) {
                const struct line *l = &w->t->lines[i];
                for (size_t j = 0; j < l->n; j++) {
                        fputs(l->cells[j].text, w->out);
                        if (j < w->nwidths)
                                fprintf(w->out, "%*s", (int)(w->widths[j] - l->cells[j].width), "");
                }
                fputc('\n', w->out);
        }
}

/* tabwriter's format(): a column block is a run of consecutive lines that have a
 * tab-terminated cell in this column; its width is the widest cell plus padding, at
 * least minwidth. Columns further right are formatted recursively within the block. */
static void format(struct writer *w, size_t line0, size_t line1)
{
        size_t column = w->nwidths;

        for (size_t cur = line0; cur < line1; cur++) {
                size_t width = w->t->minwidth;

                if (column + 1 >= w->t->lines[cur].n)
                        continue;
                write_lines(w, line0, cur);
                line0 = cur;
                for (; cur < line1; cur++) {
                        const struct line *l = &w->t->lines[cur];
                        if (column + 1 >= l->n)
                                break;
                        if (l->cells[column].width + TABLE_PADDING > width)
                                width = l->cells[column].width + TABLE_PADDING;
                }
                w->widths[w->nwidths++] = width;
                format(w, line0, cur);
                w->nwidths--;
                line0 = cur;
        }
        write_lines(w, line0, line1);
}

int table_print(struct table *t, FILE *out)
{
        _cleanup_free_ size_t *widths = NULL;
        struct writer w = {.t = t, .out = out};
        size_t max = 0;

        for (size_t i = 0; i < t->n; i++)
                if (t->lines[i].n > max)
                        max = t->lines[i].n;
        widths = calloc(max + 1, sizeof(*widths));
        if (!widths)
                return -ENOMEM;
        w.widths = widths;
        format(&w, 0, t->n);
        if (fflush(out) != 0 || ferror(out))
                return -EIO;
        return 0;
}
