#pragma once
#include <stdbool.h>

#include "base/err.h"
#include "base/json.h"

/* A parsed Go text/template subset (the part `inspect -f`, `ps --format` and
 * `images --format` need). Data is a JSON value; functions: json, upper, lower,
 * title, join, split, index, len, print, println, printf, eq, ne, lt, le, gt, ge,
 * not, and, or, pad, truncate. Actions: {{pipeline}}, {{$v := pipeline}},
 * {{if}}/{{else if}}/{{else}}/{{end}}, {{with}}, {{range [$i,] [$v :=] ...}},
 * comments and {{- -}} trim markers. */
struct template;

/* Parses src; literal "\t" and "\n" in the text (not inside actions) become tab and
 * newline as the Docker CLI does for --format. -EINVAL with "template: ..." on a syntax
 * error, an unknown function or an unbalanced {{if}}/{{end}}; -ENOMEM. */
int template_parse(const char *src, struct template **ret, struct err *err);
/* Executes t with ctx as dot (borrowed; NULL acts as Go's nil data); *ret_out is malloc'd and
 * owned by the caller. -EINVAL with "template: ..." on an execution error (field of a
 * non-object, bad function argument); -ENOMEM. */
int template_render(const struct template *t, const struct jv *ctx, char **ret_out,
                    struct err *err);
/* A Go struct in a template's data (events.Message): an object whose members are its fields,
 * named as in Go. Unlike a map's missing key, an unknown field is an error ("can't evaluate
 * field X in type T"); {{.}} prints it as fmt's %v does ({v1 v2 ...}, fields in order); `json`
 * prints json when set (the struct's JSON tags: events.Message's .Status is "status", omitted
 * when empty), else the fields. */
struct template_struct {
        const char *type;         /* Go's name for it in messages: "*events.Message" */
        const struct jv *fields;  /* borrowed; found in the data by identity */
        const char *const *names; /* its fields in Go's order, NULL-terminated */
        const struct jv *json;    /* borrowed, may be NULL */
};
/* template_render with structs[0].fields as dot; structs[1..n) are structs found inside it. */
int template_render_structs(const struct template *t, const struct template_struct *structs,
                            size_t n, char **ret_out, struct err *err);
/* Frees t; NULL is fine. */
void template_free(struct template *t);
void template_freep(struct template **t);
#define _cleanup_template_ __attribute__((cleanup(template_freep)))

/* True when src starts with Docker's "table" keyword (followed by blank or end); then
 * *ret_rest (if not NULL) points past the keyword and any blanks after it. */
bool template_is_table(const char *src, const char **ret_rest);

/* `--format` output of a list command, as Docker's formatter writes it: with "table ...",
 * a header (the same template rendered over headers, an object of column titles) and the
 * rows aligned by the tabwriter; otherwise one rendered line per row. */
int template_print_rows(const char *format, const struct jv *headers, struct jv *const *rows,
                        size_t n, struct err *err);

/* Gets the document of one inspect argument; the caller frees *ret. */
typedef int (*template_doc_fn)(const char *ref, void *ud, struct jv **ret, struct err *err);
/* `inspect` output, as Docker writes it: the documents of refs[0..n) as one indented JSON
 * array, or with format one rendered line each. A ref that fails is skipped; the last
 * failure is returned (the others were printed by nothing: Docker prints the last). */
int template_print_docs(const char *format, char *const *refs, int n, template_doc_fn get, void *ud,
                        struct err *err);
