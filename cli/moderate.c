/*
 * moderate.c — `qinglang scan --moderate`: one decision per input file or
 * per input line (--lines), from the moderation lexicons and, for
 * doxxing, the PII rules.  docs/moderate.md.
 *
 * Input is read in 1 MiB chunks and fed to the moderator as it comes, so a
 * file or a line of any size costs constant memory besides its hits.
 */
#include <errno.h>
#include <math.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define EXIT_CLEAN    0
#define EXIT_FOUND    1
#define EXIT_ERROR    2
#define CHUNK         (1u << 20)

typedef struct mod_options {
    int format;           /* FORMAT_TEXT, FORMAT_JSON, FORMAT_JSONL */
    int lines;            /* one decision per line */
    int reveal;           /* identifiers' raw values */
    int stats;
    FILE *out;
    size_t emitted;       /* results written (JSON array commas) */
    size_t inputs, flagged, blocked;
    uint64_t bytes;
} mod_options;

/* The built-in model (path NULL), or a model file (`qinglang model
 * train`); NULL after saying why on stderr.  Also `qinglang model info`. */
ql_model *cli_load_model(const char *path)
{
    ql_model *model = NULL;
    if (!path) {
        ql_status st = ql_model_load_builtin(NULL, &model);
        if (st != QL_OK)
            fprintf(stderr, "%s: the built-in model: %s\n", progname, ql_status_message(st));
        return model;
    }
    uint8_t *data;
    size_t len;
    if (read_file(path, &data, &len) != 0) {
        fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
        return NULL;
    }
    ql_status st = ql_model_load(data, len, NULL, &model);
    free(data);
    if (st == QL_ERULE)
        fprintf(stderr, "%s: %s: not a qinglang model file (or a damaged one)\n", progname, path);
    else if (st != QL_OK)
        fprintf(stderr, "%s: %s: %s\n", progname, path, ql_status_message(st));
    return model;
}

static void mod_usage(FILE *out)
{
    fputs("usage: qinglang scan --moderate [OPTIONS] [PATH|-]...\n"
          "\n"
          "One decision (pass, review, block) per file, or per line with --lines.\n"
          "\n"
          "  --lines                      one decision per input line\n"
          "  --format text|json|jsonl     output format (default text)\n"
          "  --lexicon FILE               add a lexicon: YAML, or one word a line (repeatable)\n"
          "  --no-builtin-lexicons        do not load the built-in lexicons\n"
          "  --list-category CAT          category of plain word lists' words (custom.lexicon)\n"
          "  --list-severity SEV          their severity: low|medium|high|critical (medium)\n"
          "  --rules FILE                 PII rules for doxxing (repeatable)\n"
          "  --no-builtin                 do not load the built-in PII rules\n"
          "  --no-doxxing                 no PII scan: lexicons only\n"
          "  --model FILE                 the model to use (`qinglang model train`; default built-in)\n"
          "  --no-model                   lexicons only: no model\n"
          "  --model-threshold X          the model's log-odds for review (default the model's)\n"
          "  --exclude GLOB               skip matching paths (repeatable)\n"
          "  --reveal                     print identifiers' raw values (masked by default)\n"
          "  --stats                      print counts and throughput to stderr\n"
          "\n"
          "exit status: 0 every input passed, 1 some input is review or block, 2 error\n",
          out);
}

/* Writes `n` bytes of `s` for the text format: control and invisible
 * characters (zero-width, bidi) shown as \u{XXXX} so a terminal shows
 * what was matched and cannot be steered by it. */
static void text_visible(FILE *out, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t b = s[i];
        uint32_t cp = b;
        size_t l = 1;
        int valid = b < 0x80;
        if (b >= 0xC2 && b <= 0xF4) {
            l = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
            cp = b & (l == 2 ? 0x1F : l == 3 ? 0x0F : 0x07);
            valid = i + l <= n;
            for (size_t k = 1; valid && k < l; k++) {
                if ((s[i + k] & 0xC0) != 0x80)
                    valid = 0;
                else
                    cp = (cp << 6) | (s[i + k] & 0x3F);
            }
            if (valid && ((l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                          (cp >= 0xD800 && cp <= 0xDFFF)))
                valid = 0;
        }
        if (!valid) {
            /* not UTF-8: each byte shown as its value, never sent as is */
            fprintf(out, "\\x%02X", b);
            i++;
            continue;
        }
        int invisible = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) ||
                        (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
                        (cp >= 0x2060 && cp <= 0x2069) || cp == 0xFEFF || cp == 0x00AD;
        if (invisible)
            fprintf(out, "\\u{%04X}", cp);
        else
            fwrite(s + i, 1, l, out);
        i += l;
    }
}

/* The bytes of a hit's span, kept while the message is in memory.  A
 * message arrives in chunks; spans are short, so the last 64 KiB are kept. */
typedef struct tail {
    uint8_t *buf;
    size_t   len, cap;
    uint64_t base;        /* message offset of buf[0] */
} tail;

static void tail_add(tail *t, const uint8_t *p, size_t n)
{
    const size_t keep = 65536;
    if (t->len + n > t->cap) {
        if (t->len + n <= keep * 2 || t->cap < keep * 2) {
            size_t nc = t->cap ? t->cap : 4096;
            while (nc < t->len + n && nc < keep * 2 + CHUNK)
                nc *= 2;
            if (nc >= t->len + n) {
                uint8_t *nb = realloc(t->buf, nc);
                if (!nb)
                    die_oom();
                t->buf = nb;
                t->cap = nc;
            }
        }
        if (t->len + n > t->cap) {
            /* Keep the last `keep` bytes and the new ones. */
            size_t drop = t->len > keep ? t->len - keep : 0;
            memmove(t->buf, t->buf + drop, t->len - drop);
            t->len -= drop;
            t->base += drop;
            if (t->len + n > t->cap) {
                uint8_t *nb = realloc(t->buf, t->len + n);
                if (!nb)
                    die_oom();
                t->buf = nb;
                t->cap = t->len + n;
            }
        }
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
}

static void put_result(mod_options *o, const char *path, uint64_t line, uint64_t base,
                       const ql_moderation *r, const tail *t)
{
    FILE *out = o->out;
    o->inputs++;
    if (r->decision != QL_DECISION_PASS)
        o->flagged++;
    if (r->decision == QL_DECISION_BLOCK)
        o->blocked++;
    if (o->format == FORMAT_TEXT) {
        fputs(path, out);
        if (line)
            fprintf(out, ":%llu", (unsigned long long)line);
        fprintf(out, ": %s", ql_decision_name(r->decision));
        for (size_t i = 0; i < r->score_count; i++)
            fprintf(out, " %s=%.2f", r->scores[i].category, r->scores[i].score);
        fputc('\n', out);
        for (size_t i = 0; i < r->hit_count; i++) {
            const ql_hit *h = &r->hits[i];
            fprintf(out, "    %s %s %s [%llu,%llu)", ql_hit_kind_name(h->kind), h->category,
                    h->word, (unsigned long long)(base + h->start),
                    (unsigned long long)(base + h->end));
            if (h->masked && !o->reveal) {
                fputc(' ', out);
                fputs(h->masked, out);
            } else if ((h->kind == QL_HIT_COOCCURRENCE || h->kind == QL_HIT_MODEL) && !o->reveal) {
                /* its span may hold anything between the words (a model's
                 * window, anything): personal data too */
            } else if (h->start >= t->base && h->end <= t->base + t->len) {
                fputs(" \"", out);
                text_visible(out, t->buf + (h->start - t->base), (size_t)(h->end - h->start));
                fputc('"', out);
            }
            if (strcmp(h->form, "text") && strcmp(h->form, "pii") && h->kind != QL_HIT_MODEL)
                fprintf(out, " (%s)", h->form);
            fputc('\n', out);
        }
        return;
    }
    if (o->format == FORMAT_JSON)
        fputs(o->emitted ? ",\n  " : "\n  ", out);
    o->emitted++;
    fputs("{\"path\":", out);
    cli_json_string(out, path, strlen(path));
    if (line)
        fprintf(out, ",\"line\":%llu", (unsigned long long)line);
    fprintf(out, ",\"decision\":\"%s\",\"scores\":{", ql_decision_name(r->decision));
    for (size_t i = 0; i < r->score_count; i++) {
        if (i)
            fputc(',', out);
        cli_json_string(out, r->scores[i].category, strlen(r->scores[i].category));
        fprintf(out, ":%.4g", r->scores[i].score);
    }
    fputs("},\"hits\":[", out);
    for (size_t i = 0; i < r->hit_count; i++) {
        const ql_hit *h = &r->hits[i];
        if (i)
            fputc(',', out);
        fprintf(out, "{\"kind\":\"%s\",\"category\":", ql_hit_kind_name(h->kind));
        cli_json_string(out, h->category, strlen(h->category));
        fputs(",\"rule\":", out);
        cli_json_string(out, h->rule_id, strlen(h->rule_id));
        fprintf(out, ",\"severity\":\"%s\",\"confidence\":%.4g,\"word\":",
                h->severity == QL_SEVERITY_INFO ? "signal" : ql_severity_name(h->severity),
                h->confidence);
        cli_json_string(out, h->word, strlen(h->word));
        fprintf(out, ",\"form\":\"%s\",\"start\":%llu,\"end\":%llu", h->form,
                (unsigned long long)(base + h->start), (unsigned long long)(base + h->end));
        int have = h->start >= t->base && h->end <= t->base + t->len;
        if (h->masked) {
            fputs(",\"masked\":", out);
            cli_json_string(out, h->masked, strlen(h->masked));
            if (o->reveal && have) {
                fputs(",\"value\":", out);
                cli_json_string(out, (const char *)t->buf + (h->start - t->base),
                                (size_t)(h->end - h->start));
            }
        } else if (have && ((h->kind != QL_HIT_COOCCURRENCE && h->kind != QL_HIT_MODEL) ||
                            o->reveal)) {
            fputs(",\"text\":", out);
            cli_json_string(out, (const char *)t->buf + (h->start - t->base),
                            (size_t)(h->end - h->start));
        }
        fputc('}', out);
    }
    fputs("]}", out);
    if (o->format == FORMAT_JSONL)
        fputc('\n', out);
}

static void put_error(mod_options *o, const char *path, const char *msg)
{
    fprintf(stderr, "%s: %s: %s\n", progname, path, msg);
    if (o->format == FORMAT_TEXT)
        return;
    if (o->format == FORMAT_JSON)
        fputs(o->emitted ? ",\n  " : "\n  ", o->out);
    o->emitted++;
    fputs("{\"path\":", o->out);
    cli_json_string(o->out, path, strlen(path));
    fputs(",\"error\":", o->out);
    cli_json_string(o->out, msg, strlen(msg));
    fputc('}', o->out);
    if (o->format == FORMAT_JSONL)
        fputc('\n', o->out);
}

/* Moderates one input; returns 0, or -1 after reporting an error. */
static int moderate_input(mod_options *o, ql_moderator *m, const char *path, FILE *in)
{
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        die_oom();
    tail t = {0};
    uint64_t line = 1, offset = 0, line_start = 0;
    int started = 0, rc = 0;
    ql_status st = QL_OK;
    const ql_moderation *r;
    size_t got;
    while ((got = fread(buf, 1, CHUNK, in)) > 0) {
        o->bytes += got;
        size_t pos = 0;
        while (pos < got) {
            if (!started) {
                if ((st = ql_moderate_begin(m)) != QL_OK)
                    goto fail;
                started = 1;
                t.len = 0;
                t.base = 0;
            }
            size_t end = got;
            const uint8_t *nl = o->lines ? memchr(buf + pos, '\n', got - pos) : NULL;
            if (nl)
                end = (size_t)(nl - buf);
            size_t seg = end - pos;
            /* A line's CR belongs to the line ending. */
            if (nl && seg && buf[end - 1] == '\r')
                seg--;
            if ((st = ql_moderate_write(m, buf + pos, seg)) != QL_OK)
                goto fail;
            tail_add(&t, buf + pos, seg);
            if (nl && seg < end - pos) {
                /* The CR stays out of the message but counts in offsets. */
            }
            if (nl) {
                if ((st = ql_moderate_finish(m, &r)) != QL_OK)
                    goto fail;
                put_result(o, path, line, line_start, r, &t);
                started = 0;
                line++;
                offset += end - pos + 1;
                line_start = offset;
                pos = end + 1;
            } else {
                offset += end - pos;
                pos = end;
            }
        }
    }
    if (ferror(in)) {
        put_error(o, path, strerror(errno ? errno : EIO));
        rc = -1;
        goto out;
    }
    /* The last line (without a newline), or the whole file. */
    if (!o->lines || started) {
        if (!started && (st = ql_moderate_begin(m)) != QL_OK)
            goto fail;
        if ((st = ql_moderate_finish(m, &r)) != QL_OK)
            goto fail;
        put_result(o, path, o->lines ? line : 0, o->lines ? line_start : 0, r, &t);
    }
out:
    free(buf);
    free(t.buf);
    return rc;
fail:
    put_error(o, path, ql_status_message(st));
    rc = -1;
    goto out;
}

static void print_lexicon_diagnostics(const ql_lexicon_compiler *c)
{
    size_t n = ql_lexicon_compiler_diagnostic_count(c);
    for (size_t i = 0; i < n; i++) {
        const ql_diagnostic *d = ql_lexicon_compiler_diagnostic(c, i);
        if (d->line)
            fprintf(stderr, "%s:%u:%u: %s\n", d->file, d->line, d->column, d->message);
        else
            fprintf(stderr, "%s: %s\n", d->file, d->message);
    }
}

ql_lexicon *build_lexicon(const char *const *files, size_t count, int builtin,
                          const char *list_category, ql_severity list_severity)
{
    ql_lexicon_compiler *c;
    if (ql_lexicon_compiler_create(NULL, &c) != QL_OK)
        die_oom();
    int failed = 0;
    if (ql_lexicon_compiler_list_defaults(c, list_category, list_severity) != QL_OK) {
        fprintf(stderr, "%s: bad list category '%s'\n", progname, list_category);
        failed = 1;
    }
    if (!failed && builtin && ql_lexicon_compiler_add_builtin(c) != QL_OK) {
        print_lexicon_diagnostics(c);
        fprintf(stderr, "%s: the built-in lexicons do not compile\n", progname);
        failed = 1;
    }
    for (size_t i = 0; !failed && i < count; i++) {
        uint8_t *data;
        size_t len;
        if (read_file(files[i], &data, &len) != 0) {
            fprintf(stderr, "%s: %s: %s\n", progname, files[i], strerror(errno));
            failed = 1;
            break;
        }
        ql_status st = ql_lexicon_compiler_add(c, files[i], data, len);
        free(data);
        if (st != QL_OK) {
            print_lexicon_diagnostics(c);
            fprintf(stderr, "%s: %s: %s\n", progname, files[i], ql_status_message(st));
            failed = 1;
        }
    }
    ql_lexicon *lx = NULL;
    if (!failed) {
        ql_status st = ql_lexicon_compile(c, &lx);
        if (st != QL_OK) {
            fprintf(stderr, "%s: lexicon: %s\n", progname, ql_status_message(st));
            lx = NULL;
        } else {
            /* Words that can never match are worth a warning. */
            print_lexicon_diagnostics(c);
        }
    }
    ql_lexicon_compiler_destroy(c);
    return lx;
}

static int severity_arg(const char *s, ql_severity *out)
{
    static const char *const names[] = {"info", "low", "medium", "high", "critical"};
    for (int i = 1; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (ql_severity)i;
            return 0;
        }
    return -1;
}

int moderate_main(int argc, char **argv)
{
    mod_options o;
    memset(&o, 0, sizeof o);
    o.out = stdout;
    const char **paths = xcalloc((size_t)argc + 1, sizeof *paths);
    const char **globs = xcalloc((size_t)argc + 1, sizeof *globs);
    const char **lexicons = xcalloc((size_t)argc + 1, sizeof *lexicons);
    const char **rule_files = xcalloc((size_t)argc + 1, sizeof *rule_files);
    size_t npaths = 0, nglobs = 0, nlex = 0;
    rule_args ra = {rule_files, 0, 1};
    int builtin_lex = 1, doxxing = 1, rc = EXIT_ERROR, use_model = 1;
    const char *model_path = NULL;
    double model_threshold = NAN;
    ql_model *model = NULL;
    const char *list_category = "custom.lexicon";
    ql_severity list_severity = QL_SEVERITY_MEDIUM;
    ql_lexicon *lx = NULL;
    ql_rules *rules = NULL;
    ql_moderator *m = NULL;
    file_list files = {0};

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
#define VALUE()                                                                    \
    do {                                                                           \
        if (i + 1 >= argc) {                                                       \
            fprintf(stderr, "%s: option %s needs a value\n", progname, a);         \
            goto done;                                                             \
        }                                                                          \
        val = argv[++i];                                                           \
    } while (0)
        if (strcmp(a, "--moderate") == 0) {
            continue;
        } else if (strcmp(a, "--lines") == 0) {
            o.lines = 1;
        } else if (strcmp(a, "--format") == 0) {
            VALUE();
            if (strcmp(val, "text") == 0) o.format = FORMAT_TEXT;
            else if (strcmp(val, "json") == 0) o.format = FORMAT_JSON;
            else if (strcmp(val, "jsonl") == 0) o.format = FORMAT_JSONL;
            else {
                fprintf(stderr, "%s: --moderate formats are text, json and jsonl\n", progname);
                goto done;
            }
        } else if (strcmp(a, "--lexicon") == 0) {
            VALUE();
            lexicons[nlex++] = val;
        } else if (strcmp(a, "--no-builtin-lexicons") == 0) {
            builtin_lex = 0;
        } else if (strcmp(a, "--list-category") == 0) {
            VALUE();
            list_category = val;
        } else if (strcmp(a, "--list-severity") == 0) {
            VALUE();
            if (severity_arg(val, &list_severity) != 0) {
                fprintf(stderr, "%s: --list-severity takes low, medium, high or critical\n", progname);
                goto done;
            }
        } else if (strcmp(a, "--rules") == 0) {
            VALUE();
            rule_files[ra.count++] = val;
        } else if (strcmp(a, "--no-builtin") == 0) {
            ra.builtin = 0;
        } else if (strcmp(a, "--no-doxxing") == 0) {
            doxxing = 0;
        } else if (strcmp(a, "--model") == 0) {
            VALUE();
            model_path = val;
            use_model = 1;
        } else if (strcmp(a, "--no-model") == 0) {
            use_model = 0;
        } else if (strcmp(a, "--model-threshold") == 0) {
            VALUE();
            char *end;
            model_threshold = strtod(val, &end);
            if (end == val || *end || !(fabs(model_threshold) < 1e6)) {
                fprintf(stderr, "%s: --model-threshold takes a number (log-odds)\n", progname);
                goto done;
            }
        } else if (strcmp(a, "--exclude") == 0) {
            VALUE();
            globs[nglobs++] = val;
        } else if (strcmp(a, "--reveal") == 0) {
            o.reveal = 1;
        } else if (strcmp(a, "--stats") == 0) {
            o.stats = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            mod_usage(stdout);
            rc = EXIT_CLEAN;
            goto done;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "%s: unknown option '%s' with --moderate\n", progname, a);
            mod_usage(stderr);
            goto done;
        } else {
            paths[npaths++] = a;
        }
#undef VALUE
    }
    if (npaths == 0) {
        if (isatty(0)) {
            fprintf(stderr, "%s: no input (give paths, or '-' for standard input)\n", progname);
            goto done;
        }
        paths[npaths++] = "-";
    }
    if (!(lx = build_lexicon(lexicons, nlex, builtin_lex, list_category, list_severity)))
        goto done;
    if (doxxing && !(rules = build_rules(&ra)))
        goto done;
    if (ql_moderator_create(lx, rules, NULL, &m) != QL_OK)
        die_oom();
    if (use_model && !(model = cli_load_model(model_path)))
        goto done;
    if (ql_moderator_set_model(m, model, model_threshold) != QL_OK)
        goto done;

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
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (o.format == FORMAT_JSON)
        fputc('[', o.out);
    int errors = 0;
    for (size_t i = 0; i < files.count; i++) {
        cli_file *f = &files.items[i];
        if (f->error) {
            put_error(&o, f->path, f->error);
            errors++;
            continue;
        }
        FILE *in = f->open_path ? fopen(f->open_path, "rb") : stdin;
        if (!in) {
            put_error(&o, f->path, strerror(errno));
            errors++;
            continue;
        }
        if (moderate_input(&o, m, f->path, in) != 0)
            errors++;
        if (in != stdin)
            fclose(in);
    }
    if (o.format == FORMAT_JSON)
        fputs(o.emitted ? "\n]\n" : "]\n", o.out);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (o.stats) {
        double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        fprintf(stderr, "%s: %zu inputs, %zu review or block (%zu block), %llu bytes in %.3f s "
                        "(%.1f MB/s), lexicon of %zu words (%zu forms)\n",
                progname, o.inputs, o.flagged, o.blocked, (unsigned long long)o.bytes, s,
                s > 0 ? (double)o.bytes / s / 1e6 : 0.0, ql_lexicon_word_count(lx),
                ql_lexicon_form_count(lx));
    }
    if (fflush(o.out) != 0 || ferror(o.out)) {
        fprintf(stderr, "%s: cannot write output: %s\n", progname, strerror(errno));
        errors++;
    }
    rc = errors ? EXIT_ERROR : o.flagged ? EXIT_FOUND : EXIT_CLEAN;
done:
    for (size_t i = 0; i < files.count; i++) {
        free(files.items[i].path);
        free(files.items[i].open_path);
        free(files.items[i].error);
    }
    free(files.items);
    ql_moderator_destroy(m);
    ql_model_destroy(model);
    ql_rules_destroy(rules);
    ql_lexicon_destroy(lx);
    free(paths);
    free(globs);
    free(lexicons);
    free(rule_files);
    return rc;
}
