/*
 * cli.h — what the command's files share.  The command is a client of
 * include/qinglang.h only.
 */
#ifndef QL_CLI_H
#define QL_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "qinglang.h"

enum { FORMAT_TEXT, FORMAT_JSON, FORMAT_JSONL, FORMAT_SARIF };

/* A finding copied out of the callback, owning its strings. */
typedef struct cli_finding {
    const char *rule_id, *type, *category;   /* owned by the rule set */
    ql_severity severity;
    double confidence;
    uint64_t start, end, line, column;
    char *masked;
    char *value;                             /* only with --reveal */
    size_t value_length;
    size_t attribute_count;
    char *attr_keys[QL_MAX_ATTRIBUTES];
    char *attr_values[QL_MAX_ATTRIBUTES];
} cli_finding;

typedef struct cli_file {
    char        *path;          /* as shown */
    char        *open_path;     /* as opened; NULL for stdin */
    uint64_t     size;
    const uint8_t *data;        /* mapped or read while being scanned */
    int          mapped;
    int          utf8;          /* split into ranges needs UTF-8 */
    int          jobs_left;
    int          done;
    int          skipped;       /* binary, empty ... */
    char        *error;
    cli_finding *findings;
    size_t       count, alloc;
    int          needs_locate;  /* scanned in ranges: line/column after */
} cli_file;

typedef struct cli_options {
    int format;
    int threads;
    int reveal;
    int stats;
    int color;
    int progress;
    ql_scan_options scan;
    FILE *out;
    size_t emitted;
} cli_options;

typedef struct rule_args {
    const char **files;
    size_t count;
    int builtin;
} rule_args;

typedef struct file_list {
    cli_file *items;
    size_t count, alloc;
} file_list;

extern const char *progname;
_Noreturn void die_oom(void);
void     *xcalloc(size_t n, size_t size);
char     *xstrdup(const char *s);
int       read_file(const char *path, uint8_t **data, size_t *length);
ql_rules *build_rules(const rule_args *ra);
cli_file *add_file(file_list *l, const char *path, const char *open_path);
int       excluded(const char *path, const char *const *globs, size_t n);
void      walk(file_list *l, const char *dir, const char *const *globs, size_t nglobs, int depth);
int       parse_date(const char *s, int32_t *out);
int       parse_encoding(const char *name, ql_encoding *out);
int       cmd_redact(int argc, char **argv);
int       cmd_evidence(int argc, char **argv);
int       moderate_main(int argc, char **argv);
int       cmd_model(int argc, char **argv);
ql_model *cli_load_model(const char *path);
ql_lexicon *build_lexicon(const char *const *files, size_t count, int builtin,
                          const char *list_category, ql_severity list_severity);

void cli_json_string(FILE *out, const char *s, size_t n);
void output_begin(cli_options *o);
void output_file(cli_options *o, const char *path, const cli_finding *f, size_t n);
void output_sarif(cli_options *o, const ql_rules *rules, const cli_file *files, size_t nfiles);
void output_end(cli_options *o, const char *const *errors, size_t nerrors);

#endif
