/*
 * main.c — the `qinglang` command: scan, rules check, rules list.
 *
 * `scan` collects the files to read (walking directories), cuts large UTF-8
 * files into ranges, and lets N worker threads take jobs (a whole file or a
 * range of one) from a shared list; each worker has its own ql_scanner over
 * the one shared ql_rules.  The main thread prints files in the order they
 * were given, as soon as each is complete, so output is the same whatever
 * the thread count.  Files are memory-mapped; standard input is read whole.
 *
 * Exit codes: 0 nothing found, 1 findings, 2 an error (see docs/scan.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define EXIT_CLEAN    0
#define EXIT_FOUND    1
#define EXIT_ERROR    2
#define RANGE_MIN     (32u << 20)   /* files above this are split across threads */
#define MAX_STDIN     ((uint64_t)64 << 30)

const char *progname = "qinglang";

_Noreturn void die_oom(void)
{
    fprintf(stderr, "%s: out of memory\n", progname);
    exit(EXIT_ERROR);
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die_oom();
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        die_oom();
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        die_oom();
    return p;
}

static void usage(FILE *out)
{
    fputs("usage: qinglang scan [OPTIONS] [PATH|-]...\n"
          "       qinglang redact [OPTIONS] [PATH|-]... (see qinglang redact --help)\n"
          "       qinglang rules check FILE...\n"
          "       qinglang rules list [--rules FILE]... [--no-builtin] [--format text|json]\n"
          "       qinglang model train|info ... (see qinglang model --help)\n"
          "       qinglang version\n"
          "\n"
          "scan options:\n"
          "  --format text|json|jsonl|sarif   output format (default text)\n"
          "  -j, --threads N                  worker threads (default: all cores)\n"
          "  --exclude GLOB                   skip matching paths (repeatable)\n"
          "  --rules FILE                     add a rule file (repeatable)\n"
          "  --no-builtin                     do not load the built-in rules\n"
          "  --encoding auto|utf-8|gb18030|utf-16le|utf-16be\n"
          "  --min-confidence X               report findings with confidence >= X\n"
          "  --today YYYY-MM-DD               scan date for birth-date checks\n"
          "  --reveal                         print raw values (masked by default)\n"
          "  --stats                          print throughput and counts to stderr\n"
          "  --color auto|always|never\n"
          "  --moderate                       harmful content: one decision per file or line\n"
          "                                   (qinglang scan --moderate --help)\n"
          "\n"
          "exit status: 0 nothing found, 1 findings, 2 error\n", out);
}

/* ------------------------------------------------------------ rule set */


int read_file(const char *path, uint8_t **data, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 65536, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        die_oom();
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            if (cap > ((size_t)64 << 20)) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return -1;
            }
            cap *= 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb)
                die_oom();
            buf = nb;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        errno = EIO;
        return -1;
    }
    *data = buf;
    *length = n;
    return 0;
}

static void print_diagnostics(const ql_compiler *c)
{
    size_t n = ql_compiler_diagnostic_count(c);
    for (size_t i = 0; i < n; i++) {
        const ql_diagnostic *d = ql_compiler_diagnostic(c, i);
        fprintf(stderr, "%s:%u:%u: error: %s\n", d->file, d->line, d->column, d->message);
    }
}

/* Adds the rule files; returns 0 on success, prints why not otherwise. */
static int add_rule_files(ql_compiler *c, const rule_args *ra)
{
    int failed = 0;
    for (size_t i = 0; i < ra->count; i++) {
        uint8_t *text;
        size_t n;
        if (read_file(ra->files[i], &text, &n) != 0) {
            fprintf(stderr, "%s: %s: %s\n", progname, ra->files[i], strerror(errno));
            failed = 1;
            continue;
        }
        ql_status st = ql_compiler_add_rules(c, ra->files[i], text, n);
        free(text);
        if (st != QL_OK && st != QL_ERULE && st != QL_EREGEX && st != QL_ELIMIT) {
            fprintf(stderr, "%s: %s: %s\n", progname, ra->files[i], ql_status_message(st));
            failed = 1;
        }
    }
    return failed || ql_compiler_diagnostic_count(c) ? -1 : 0;
}

ql_rules *build_rules(const rule_args *ra)
{
    ql_compiler *c;
    ql_rules *rules = NULL;
    if (ql_compiler_create(NULL, &c) != QL_OK)
        die_oom();
    ql_status st = ra->builtin ? ql_compiler_add_builtin(c) : QL_OK;
    if (st != QL_OK) {
        print_diagnostics(c);
        fprintf(stderr, "%s: built-in rules: %s\n", progname, ql_status_message(st));
        goto out;
    }
    if (add_rule_files(c, ra) != 0) {
        print_diagnostics(c);
        goto out;
    }
    st = ql_compiler_compile(c, &rules);
    if (st != QL_OK) {
        print_diagnostics(c);
        fprintf(stderr, "%s: compiling rules: %s\n", progname, ql_status_message(st));
        rules = NULL;
    } else if (ql_rules_count(rules) == 0) {
        fprintf(stderr, "%s: no rules to scan with\n", progname);
        ql_rules_destroy(rules);
        rules = NULL;
    }
out:
    ql_compiler_destroy(c);
    return rules;
}

/* ------------------------------------------------------------- inputs */


cli_file *add_file(file_list *l, const char *path, const char *open_path)
{
    if (l->count == l->alloc) {
        l->alloc = l->alloc ? l->alloc * 2 : 64;
        cli_file *n = realloc(l->items, l->alloc * sizeof *n);
        if (!n)
            die_oom();
        l->items = n;
    }
    cli_file *f = &l->items[l->count++];
    memset(f, 0, sizeof *f);
    f->path = xstrdup(path);
    f->open_path = open_path ? xstrdup(open_path) : NULL;
    return f;
}

int excluded(const char *path, const char *const *globs, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < n; i++)
        if (fnmatch(globs[i], base, 0) == 0 || fnmatch(globs[i], path, 0) == 0)
            return 1;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walks a directory in name order (so output is reproducible). */
void walk(file_list *l, const char *dir, const char *const *globs, size_t nglobs, int depth)
{
    if (depth > 64) {
        fprintf(stderr, "%s: %s: directory tree too deep, not descending\n", progname, dir);
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        cli_file *f = add_file(l, dir, NULL);
        f->error = xstrdup(strerror(errno));
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                die_oom();
            names = nn;
        }
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(len);
        if (!path)
            die_oom();
        snprintf(path, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
        struct stat st;
        if (!excluded(path, globs, nglobs) && lstat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                walk(l, path, globs, nglobs, depth + 1);
            else if (S_ISREG(st.st_mode))
                add_file(l, path, path);
        }
        free(path);
        free(names[i]);
    }
    free(names);
}

/* ------------------------------------------------------------ scanning */

typedef struct job {
    cli_file *file;
    uint64_t from, to;   /* a range, or the whole file when to == 0 */
} job;

typedef struct shared {
    const ql_rules *rules;
    cli_options *opt;
    job *jobs;
    size_t njobs, next_job;
    int utf16;                 /* --encoding utf-16: NULs are not binary */
    pthread_mutex_t lock;
    pthread_cond_t file_done;
    uint64_t bytes_done;
    int failed;
} shared;

typedef struct collect {
    cli_file *file;
    pthread_mutex_t *lock;
    int reveal;
    cli_finding *items;
    size_t count, alloc;
} collect;

static int on_finding(const ql_finding *f, void *user)
{
    collect *c = user;
    if (c->count == c->alloc) {
        c->alloc = c->alloc ? c->alloc * 2 : 16;
        cli_finding *n = realloc(c->items, c->alloc * sizeof *n);
        if (!n)
            die_oom();
        c->items = n;
    }
    cli_finding *o = &c->items[c->count++];
    memset(o, 0, sizeof *o);
    o->rule_id = f->rule_id;
    o->type = f->type;
    o->category = f->category;
    o->severity = f->severity;
    o->confidence = f->confidence;
    o->start = f->start;
    o->end = f->end;
    o->line = f->line;
    o->column = f->column;
    o->masked = xstrdup(f->masked);
    if (c->reveal) {
        o->value = xstrndup((const char *)f->value, f->value_length);
        o->value_length = f->value_length;
    }
    o->attribute_count = f->attribute_count;
    for (size_t i = 0; i < f->attribute_count; i++) {
        o->attr_keys[i] = xstrdup(f->attributes[i].key);
        o->attr_values[i] = xstrdup(f->attributes[i].value);
    }
    return 0;
}

static int load_file(cli_file *f)
{
    if (!f->open_path) {
        /* Standard input, read whole. */
        size_t cap = 1 << 16, n = 0;
        uint8_t *buf = malloc(cap);
        if (!buf)
            die_oom();
        for (;;) {
            ssize_t got = read(0, buf + n, cap - n);
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                f->error = xstrdup(strerror(errno));
                free(buf);
                return -1;
            }
            if (got == 0)
                break;
            n += (size_t)got;
            if (n == cap) {
                if ((uint64_t)cap * 2 > MAX_STDIN) {
                    f->error = xstrdup("standard input larger than 64 GiB");
                    free(buf);
                    return -1;
                }
                cap *= 2;
                uint8_t *nb = realloc(buf, cap);
                if (!nb)
                    die_oom();
                buf = nb;
            }
        }
        f->data = buf;
        f->size = n;
        return 0;
    }
    int fd = open(f->open_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        f->error = xstrdup(strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        f->error = xstrdup(strerror(errno));
        close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        f->error = xstrdup("is a directory");
        close(fd);
        return -1;
    }
    f->size = (uint64_t)st.st_size;
    if (f->size == 0) {
        close(fd);
        f->data = NULL;
        return 0;
    }
    void *p = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        f->error = xstrdup(strerror(errno));
        return -1;
    }
    madvise(p, (size_t)f->size, MADV_SEQUENTIAL);
    f->data = p;
    f->mapped = 1;
    return 0;
}

static void unload_file(cli_file *f)
{
    if (f->mapped)
        munmap((void *)f->data, (size_t)f->size);
    else
        free((void *)f->data);
    f->data = NULL;
}

/* A file whose first 8 KiB hold a NUL and no UTF-16 BOM is binary. */
static int is_binary(const cli_file *f)
{
    size_t n = f->size < 8192 ? (size_t)f->size : 8192;
    if (n >= 2 && ((f->data[0] == 0xFF && f->data[1] == 0xFE) ||
                   (f->data[0] == 0xFE && f->data[1] == 0xFF)))
        return 0;
    return memchr(f->data, 0, n) != NULL;
}

static void merge(shared *sh, cli_file *f, collect *c)
{
    pthread_mutex_lock(&sh->lock);
    if (c->count) {
        if (f->count + c->count > f->alloc) {
            f->alloc = f->count + c->count;
            cli_finding *n = realloc(f->findings, f->alloc * sizeof *n);
            if (!n)
                die_oom();
            f->findings = n;
        }
        memcpy(f->findings + f->count, c->items, c->count * sizeof *c->items);
        f->count += c->count;
    }
    free(c->items);
    if (--f->jobs_left == 0) {
        f->done = 1;
        pthread_cond_broadcast(&sh->file_done);
    }
    pthread_mutex_unlock(&sh->lock);
}

static void *worker(void *arg)
{
    shared *sh = arg;
    ql_scanner *scanner;
    if (ql_scanner_create(sh->rules, NULL, &scanner) != QL_OK)
        die_oom();
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        if (sh->next_job >= sh->njobs) {
            pthread_mutex_unlock(&sh->lock);
            break;
        }
        job j = sh->jobs[sh->next_job++];
        pthread_mutex_unlock(&sh->lock);

        cli_file *f = j.file;
        collect c = {f, &sh->lock, sh->opt->reveal, NULL, 0, 0};
        ql_status st = QL_OK;
        int lazy = !j.to && !f->data && f->open_path && !f->error;
        if (lazy) {
            /* Small files are mapped here and unmapped right after, so a
             * tree of any number of files never holds more maps than
             * there are threads. */
            if (load_file(f) == 0 && f->size && !sh->utf16 && is_binary(f))
                f->skipped = 1;
        }
        if (f->error || f->skipped) {
            /* nothing to scan */
        } else if (j.to) {
            st = ql_scan_range(scanner, f->data, (size_t)f->size, j.from, j.to,
                               &sh->opt->scan, on_finding, &c);
        } else if (f->size) {
            st = ql_scan(scanner, f->data, (size_t)f->size, &sh->opt->scan, on_finding, &c);
        }
        if (lazy && f->data)
            unload_file(f);
        if (st != QL_OK) {
            pthread_mutex_lock(&sh->lock);
            if (!f->error)
                f->error = xstrdup(ql_status_message(st));
            pthread_mutex_unlock(&sh->lock);
        }
        pthread_mutex_lock(&sh->lock);
        sh->bytes_done += j.to ? j.to - j.from : f->size;
        pthread_mutex_unlock(&sh->lock);
        merge(sh, f, &c);
    }
    ql_scanner_destroy(scanner);
    return NULL;
}

static int cmp_finding(const void *a, const void *b)
{
    const cli_finding *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->rule_id, y->rule_id);
}

static void free_findings(cli_file *f)
{
    for (size_t i = 0; i < f->count; i++) {
        cli_finding *x = &f->findings[i];
        free(x->masked);
        free(x->value);
        for (size_t k = 0; k < x->attribute_count; k++) {
            free(x->attr_keys[k]);
            free(x->attr_values[k]);
        }
    }
    free(f->findings);
    f->findings = NULL;
    f->count = 0;
}

typedef struct type_count {
    const char *type;
    size_t count;
} type_count;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --encoding's names, shared by scan and redact; prints why on failure. */
int parse_encoding(const char *name, ql_encoding *out)
{
    static const struct {
        const char *name;
        ql_encoding encoding;
    } names[] = {
        {"auto", QL_ENCODING_AUTO},        {"utf-8", QL_ENCODING_UTF8},
        {"utf8", QL_ENCODING_UTF8},        {"gb18030", QL_ENCODING_GB18030},
        {"gbk", QL_ENCODING_GB18030},      {"gb2312", QL_ENCODING_GB18030},
        {"utf-16le", QL_ENCODING_UTF16LE}, {"utf-16be", QL_ENCODING_UTF16BE},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].encoding;
            return 0;
        }
    fprintf(stderr, "%s: unknown encoding '%s' (auto, utf-8, gb18030, utf-16le, utf-16be)\n",
            progname, name);
    return -1;
}

int parse_date(const char *s, int32_t *out)
{
    int y, m, d;
    char tail;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 ||
        y < 1900 || y > 9999)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > days[m - 1] + (m == 2 && leap))
        return -1;
    *out = y * 10000 + m * 100 + d;
    return 0;
}

static int scan_main(int argc, char **argv, const char **paths, const char **globs,
                     const char **rule_files)
{
    cli_options opt;
    memset(&opt, 0, sizeof opt);
    ql_scan_options_init(&opt.scan);
    opt.out = stdout;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    opt.threads = ncpu > 0 ? (int)ncpu : 1;
    const char *color = "auto";
    size_t npaths = 0, nglobs = 0;
    rule_args ra = {rule_files, 0, 1};

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
#define NEEDS_VALUE()                                                              \
    do {                                                                           \
        if (i + 1 >= argc) {                                                       \
            fprintf(stderr, "%s: option %s needs a value\n", progname, a);         \
            return EXIT_ERROR;                                                     \
        }                                                                          \
        val = argv[++i];                                                           \
    } while (0)
        if (strncmp(a, "-j", 2) == 0 && a[2] >= '0' && a[2] <= '9') {
            char *end;
            long n = strtol(a + 2, &end, 10);
            if (*end || n < 1 || n > 256) {
                fprintf(stderr, "%s: -j needs a number from 1 to 256\n", progname);
                return EXIT_ERROR;
            }
            opt.threads = (int)n;
        } else if (strcmp(a, "--format") == 0) {
            NEEDS_VALUE();
            if (strcmp(val, "text") == 0) opt.format = FORMAT_TEXT;
            else if (strcmp(val, "json") == 0) opt.format = FORMAT_JSON;
            else if (strcmp(val, "jsonl") == 0) opt.format = FORMAT_JSONL;
            else if (strcmp(val, "sarif") == 0) opt.format = FORMAT_SARIF;
            else {
                fprintf(stderr, "%s: unknown format '%s' (text, json, jsonl, sarif)\n", progname, val);
                return EXIT_ERROR;
            }
        } else if (strcmp(a, "-j") == 0 || strcmp(a, "--threads") == 0) {
            NEEDS_VALUE();
            char *end;
            long n = strtol(val, &end, 10);
            if (*end || n < 1 || n > 256) {
                fprintf(stderr, "%s: -j needs a number from 1 to 256\n", progname);
                return EXIT_ERROR;
            }
            opt.threads = (int)n;
        } else if (strcmp(a, "--exclude") == 0) {
            NEEDS_VALUE();
            globs[nglobs++] = val;
        } else if (strcmp(a, "--rules") == 0) {
            NEEDS_VALUE();
            rule_files[ra.count++] = val;
        } else if (strcmp(a, "--no-builtin") == 0) {
            ra.builtin = 0;
        } else if (strcmp(a, "--encoding") == 0) {
            NEEDS_VALUE();
            if (parse_encoding(val, &opt.scan.encoding) != 0)
                return EXIT_ERROR;
        } else if (strcmp(a, "--min-confidence") == 0) {
            NEEDS_VALUE();
            char *end;
            double x = strtod(val, &end);
            if (*end || !(x >= 0 && x <= 1)) {
                fprintf(stderr, "%s: --min-confidence needs a number from 0 to 1\n", progname);
                return EXIT_ERROR;
            }
            opt.scan.min_confidence = x;
        } else if (strcmp(a, "--today") == 0) {
            NEEDS_VALUE();
            if (parse_date(val, &opt.scan.today) != 0) {
                fprintf(stderr, "%s: --today needs a date as YYYY-MM-DD\n", progname);
                return EXIT_ERROR;
            }
        } else if (strcmp(a, "--reveal") == 0) {
            opt.reveal = 1;
        } else if (strcmp(a, "--stats") == 0) {
            opt.stats = 1;
        } else if (strcmp(a, "--color") == 0) {
            NEEDS_VALUE();
            color = val;
            if (strcmp(val, "auto") && strcmp(val, "always") && strcmp(val, "never")) {
                fprintf(stderr, "%s: --color takes auto, always or never\n", progname);
                return EXIT_ERROR;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return EXIT_CLEAN;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "%s: unknown option '%s'\n", progname, a);
            usage(stderr);
            return EXIT_ERROR;
        } else {
            paths[npaths++] = a;
        }
#undef NEEDS_VALUE
    }
    opt.color = strcmp(color, "always") == 0 || (strcmp(color, "auto") == 0 && isatty(1));
    opt.progress = isatty(2);
    if (npaths == 0) {
        if (isatty(0)) {
            fprintf(stderr, "%s: no input (give paths, or '-' for standard input)\n", progname);
            usage(stderr);
            return EXIT_ERROR;
        }
        paths[npaths++] = "-";
    }

    ql_rules *rules = build_rules(&ra);
    if (!rules)
        return EXIT_ERROR;

    file_list files = {0};
    for (size_t i = 0; i < npaths; i++) {
        struct stat st;
        if (strcmp(paths[i], "-") == 0) {
            add_file(&files, "-", NULL);
        } else if (stat(paths[i], &st) != 0) {
            cli_file *f = add_file(&files, paths[i], paths[i]);
            f->error = xstrdup(strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            walk(&files, paths[i], globs, nglobs, 0);
        } else if (!excluded(paths[i], globs, nglobs)) {
            add_file(&files, paths[i], paths[i]);
        }
    }

    /* Cut jobs.  Files large enough to split across threads (and standard
     * input) are loaded here; the others by the worker that scans them. */
    size_t njobs = 0, cap = files.count + 16;
    job *jobs = xcalloc(cap, sizeof *jobs);
    uint64_t total = 0;
    /* A NUL means binary, except in text the user says is UTF-16. */
    int utf16 = opt.scan.encoding == QL_ENCODING_UTF16LE ||
                opt.scan.encoding == QL_ENCODING_UTF16BE;
    for (size_t i = 0; i < files.count; i++) {
        cli_file *f = &files.items[i];
        struct stat fst;
        int big = f->open_path && stat(f->open_path, &fst) == 0 && S_ISREG(fst.st_mode) &&
                  (uint64_t)fst.st_size > RANGE_MIN && opt.threads > 1;
        if (!f->error && (!f->open_path || big) && load_file(f) == 0 && f->size && !utf16 &&
            is_binary(f))
            f->skipped = 1;
        if (!f->error && f->open_path && !big && stat(f->open_path, &fst) == 0)
            total += (uint64_t)fst.st_size;
        int split = 0;
        if (!f->error && !f->skipped && f->size > RANGE_MIN && opt.threads > 1) {
            size_t bom = 0;
            ql_encoding enc = opt.scan.encoding == QL_ENCODING_AUTO
                ? ql_detect_encoding(f->data, (size_t)f->size, &bom) : opt.scan.encoding;
            split = enc == QL_ENCODING_UTF8 && bom == 0;
        }
        uint64_t pieces = 1;
        if (split) {
            pieces = (uint64_t)opt.threads * 4;
            while (pieces > 1 && f->size / pieces < (8u << 20))
                pieces--;
        }
        if (njobs + pieces > cap) {
            cap = (njobs + pieces) * 2;
            job *nj = realloc(jobs, cap * sizeof *nj);
            if (!nj)
                die_oom();
            jobs = nj;
        }
        f->jobs_left = (int)pieces;
        f->needs_locate = pieces > 1;
        for (uint64_t p = 0; p < pieces; p++) {
            job *j = &jobs[njobs++];
            j->file = f;
            if (pieces > 1) {
                j->from = f->size * p / pieces;
                j->to = f->size * (p + 1) / pieces;
            } else {
                j->from = j->to = 0;
            }
        }
        if (!f->error && f->data)
            total += f->size;
    }

    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.rules = rules;
    sh.opt = &opt;
    sh.jobs = jobs;
    sh.njobs = njobs;
    sh.utf16 = utf16;
    pthread_mutex_init(&sh.lock, NULL);
    pthread_cond_init(&sh.file_done, NULL);

    double t0 = now_seconds();
    int nthreads = opt.threads < (int)njobs ? opt.threads : (int)njobs;
    if (nthreads < 1)
        nthreads = 1;
    pthread_t *tids = xcalloc((size_t)nthreads, sizeof *tids);
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&tids[i], NULL, worker, &sh) != 0) {
            fprintf(stderr, "%s: cannot start a thread\n", progname);
            return EXIT_ERROR;
        }

    output_begin(&opt);
    size_t findings_total = 0, nerrors = 0;
    const char **errors = xcalloc(files.count + 1, sizeof *errors);
    type_count *counts = NULL;
    size_t ncounts = 0;
    int show_progress = opt.progress && total > ((uint64_t)256 << 20);
    double last_progress = 0;
    for (size_t i = 0; i < files.count; i++) {
        cli_file *f = &files.items[i];
        pthread_mutex_lock(&sh.lock);
        while (!f->done) {
            if (show_progress) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 250000000;
                if (ts.tv_nsec >= 1000000000) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&sh.file_done, &sh.lock, &ts);
                double t = now_seconds();
                if (t - last_progress > 0.5) {
                    fprintf(stderr, "\r%s: %.0f / %.0f MB scanned", progname,
                            sh.bytes_done / 1e6, total / 1e6);
                    last_progress = t;
                }
            } else {
                pthread_cond_wait(&sh.file_done, &sh.lock);
            }
        }
        pthread_mutex_unlock(&sh.lock);
        if (f->skipped)
            fprintf(stderr, "%s: %s: binary file, skipped\n", progname, f->path);
        if (f->error) {
            fprintf(stderr, "%s: %s: %s\n", progname, f->path, f->error);
            size_t len = strlen(f->path) + strlen(f->error) + 3;
            char *msg = malloc(len);
            if (!msg)
                die_oom();
            snprintf(msg, len, "%s: %s", f->path, f->error);
            errors[nerrors++] = msg;
        }
        if (f->count) {
            qsort(f->findings, f->count, sizeof *f->findings, cmp_finding);
            if (f->needs_locate) {
                ql_position cur;
                ql_position_init(&cur);
                for (size_t k = 0; k < f->count; k++) {
                    ql_locate(&cur, f->data, (size_t)f->size, f->findings[k].start);
                    f->findings[k].line = cur.line;
                    f->findings[k].column = cur.column;
                }
            }
        }
        if (opt.format != FORMAT_SARIF)
            output_file(&opt, f->path, f->findings, f->count);
        findings_total += f->count;
        for (size_t k = 0; k < f->count; k++) {
            size_t c = 0;
            while (c < ncounts && strcmp(counts[c].type, f->findings[k].type) != 0)
                c++;
            if (c == ncounts) {
                type_count *nc = realloc(counts, (ncounts + 1) * sizeof *nc);
                if (!nc)
                    die_oom();
                counts = nc;
                counts[ncounts].type = f->findings[k].type;
                counts[ncounts++].count = 0;
            }
            counts[c].count++;
        }
        if (f->data)
            unload_file(f);
        if (opt.format != FORMAT_SARIF)
            free_findings(f);
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(tids[i], NULL);
    double elapsed = now_seconds() - t0;
    if (show_progress)
        fputs("\r\033[K", stderr);
    if (opt.format == FORMAT_SARIF)
        output_sarif(&opt, rules, files.items, files.count);
    output_end(&opt, errors, nerrors);
    fflush(opt.out);

    if (opt.stats) {
        fprintf(stderr, "qinglang: %zu files, %.1f MB in %.3f s: %.1f MB/s with %d thread%s; %zu finding%s\n",
                files.count, total / 1e6, elapsed, elapsed > 0 ? total / 1e6 / elapsed : 0.0,
                nthreads, nthreads == 1 ? "" : "s", findings_total, findings_total == 1 ? "" : "s");
        for (size_t c = 0; c < ncounts; c++)
            fprintf(stderr, "  %-24s %zu\n", counts[c].type, counts[c].count);
    }

    int write_failed = ferror(opt.out);
    for (size_t i = 0; i < files.count; i++) {
        free_findings(&files.items[i]);
        free(files.items[i].path);
        free(files.items[i].open_path);
        free(files.items[i].error);
    }
    for (size_t i = 0; i < nerrors; i++)
        free((void *)errors[i]);
    free(errors);
    free(counts);
    free(files.items);
    free(jobs);
    free(tids);
    pthread_mutex_destroy(&sh.lock);
    pthread_cond_destroy(&sh.file_done);
    ql_rules_destroy(rules);
    if (write_failed) {
        fprintf(stderr, "%s: error writing output\n", progname);
        return EXIT_ERROR;
    }
    if (nerrors)
        return EXIT_ERROR;
    return findings_total ? EXIT_FOUND : EXIT_CLEAN;
}

/* The argument arrays live here so that every early return frees them. */
static int cmd_scan(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--moderate") == 0)
            return moderate_main(argc, argv);
    const char **paths = xcalloc((size_t)argc + 1, sizeof *paths);
    const char **globs = xcalloc((size_t)argc + 1, sizeof *globs);
    const char **rule_files = xcalloc((size_t)argc + 1, sizeof *rule_files);
    int rc = scan_main(argc, argv, paths, globs, rule_files);
    free(paths);
    free(globs);
    free(rule_files);
    return rc;
}

/* --------------------------------------------------------------- rules */

static int cmd_rules(int argc, char **argv)
{
    if (argc < 1) {
        usage(stderr);
        return EXIT_ERROR;
    }
    if (strcmp(argv[0], "check") == 0) {
        if (argc < 2) {
            fprintf(stderr, "%s: rules check needs a FILE\n", progname);
            return EXIT_ERROR;
        }
        int bad = 0;
        for (int i = 1; i < argc; i++) {
            ql_compiler *c;
            if (ql_compiler_create(NULL, &c) != QL_OK)
                die_oom();
            rule_args ra = {(const char **)&argv[i], 1, 0};
            int failed = add_rule_files(c, &ra);
            ql_rules *rules = NULL;
            if (!failed && ql_compiler_compile(c, &rules) != QL_OK)
                failed = 1;
            print_diagnostics(c);
            if (!failed)
                printf("%s: %zu rule%s OK\n", argv[i], ql_rules_count(rules),
                       ql_rules_count(rules) == 1 ? "" : "s");
            bad |= failed;
            ql_rules_destroy(rules);
            ql_compiler_destroy(c);
        }
        return bad ? EXIT_ERROR : EXIT_CLEAN;
    }
    if (strcmp(argv[0], "list") == 0) {
        const char **files = xcalloc((size_t)argc, sizeof *files);
        rule_args ra = {files, 0, 1};
        int json = 0;
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
                files[ra.count++] = argv[++i];
            else if (strcmp(argv[i], "--no-builtin") == 0)
                ra.builtin = 0;
            else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
                json = strcmp(argv[++i], "json") == 0;
            else {
                fprintf(stderr, "%s: rules list: unknown argument '%s'\n", progname, argv[i]);
                free(files);
                return EXIT_ERROR;
            }
        }
        ql_rules *rules = build_rules(&ra);
        free(files);
        if (!rules)
            return EXIT_ERROR;
        size_t n = ql_rules_count(rules);
        if (json)
            fputc('[', stdout);
        for (size_t i = 0; i < n; i++) {
            ql_rule_info info;
            ql_rules_info(rules, i, &info);
            if (json) {
                fputs(i ? ",{\"id\":" : "{\"id\":", stdout);
                cli_json_string(stdout, info.id, strlen(info.id));
                fputs(",\"type\":", stdout);
                cli_json_string(stdout, info.type, strlen(info.type));
                fputs(",\"category\":", stdout);
                cli_json_string(stdout, info.category, strlen(info.category));
                printf(",\"severity\":\"%s\",\"description\":", ql_severity_name(info.severity));
                cli_json_string(stdout, info.description, strlen(info.description));
                fputs("}", stdout);
            } else {
                printf("%-28s %-22s %-20s %-8s %s\n", info.id, info.type, info.category,
                       ql_severity_name(info.severity), info.description);
            }
        }
        if (json)
            fputs("]\n", stdout);
        ql_rules_destroy(rules);
        return EXIT_CLEAN;
    }
    fprintf(stderr, "%s: unknown rules command '%s' (check, list)\n", progname, argv[0]);
    return EXIT_ERROR;
}

/* The HTTP service (server/), linked into the command. */
int ql_serve_main(int argc, char **argv);
int ql_keys_main(int argc, char **argv);

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_ERROR;
    }
    if (strcmp(argv[1], "scan") == 0)
        return cmd_scan(argc - 2, argv + 2);
    if (strcmp(argv[1], "rules") == 0)
        return cmd_rules(argc - 2, argv + 2);
    if (strcmp(argv[1], "redact") == 0)
        return cmd_redact(argc - 2, argv + 2);
    if (strcmp(argv[1], "evidence") == 0)
        return cmd_evidence(argc - 2, argv + 2);
    if (strcmp(argv[1], "serve") == 0)
        return ql_serve_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "keys") == 0)
        return ql_keys_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "model") == 0)
        return cmd_model(argc - 2, argv + 2);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("qinglang %s\n", ql_version());
        return EXIT_CLEAN;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return EXIT_CLEAN;
    }
    fprintf(stderr, "%s: unknown command '%s'\n", progname, argv[1]);
    usage(stderr);
    return EXIT_ERROR;
}
