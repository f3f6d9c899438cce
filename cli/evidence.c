/*
 * evidence.c — the `qinglang evidence` command: the signed, append-only
 * evidence log of include/qinglang.h ("evidence") on the command line.
 *
 *     qinglang evidence keygen [--content] FILE
 *     qinglang evidence init [--log PATH] --key FILE
 *     qinglang evidence add [OPTIONS] [FILE|-]...
 *     qinglang evidence get|sth|prove|consistency|verify|export [OPTIONS] ...
 *     qinglang evidence verify-package [OPTIONS] FILE|-
 *
 * What it prints (receipts, tree heads, proofs) is one JSON object per
 * line, in the canonical form of docs/evidence.md, so a script can read it
 * and tests/evidence/verify.py can check it.  A receipt is printed only
 * after the library has committed its entry durably: a receipt on the
 * screen is an entry on disk, even if the process is killed the next
 * instant.  Exit status: 0 success, 1 something does not verify, 2 an
 * error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define EXIT_OK       0
#define EXIT_FAILED   1
#define EXIT_ERROR    2
#define MAX_CONTENT   ((size_t)64 << 20)   /* one entry's content */
#define MAX_BATCH     100000u
#define MAX_PROBLEMS  100                  /* printed by verify; the rest are counted */

static void evidence_usage(FILE *out)
{
    fputs("usage: qinglang evidence COMMAND [OPTIONS]\n"
          "\n"
          "  keygen FILE                 new Ed25519 signing key: FILE (mode 600) and FILE.pub\n"
          "  keygen --content FILE       new AES-256 content key (64 hex digits, mode 600)\n"
          "  init --key FILE             create the log, signed with FILE\n"
          "  add [OPTIONS] [FILE|-]...   append one entry per input; print its receipt\n"
          "      --kind finding_report|abuse_report|scan_receipt   (default finding_report)\n"
          "      --path P --url U --tenant T --ruleset-version V   source metadata\n"
          "      --scan                  record the built-in rules' findings in the content\n"
          "      --lines                 one entry per line of input\n"
          "      --batch N               commit N entries per transaction (group commit)\n"
          "      --content-key FILE      also keep the content, encrypted (AES-256-GCM)\n"
          "      --reporter R | --reporter-file F   abuse_report: the reporter's contact\n"
          "      --note N | --note-file F           abuse_report: the reporter's note\n"
          "                              (kept as a commitment, and encrypted with --content-key)\n"
          "      --no-proof              receipts without the inclusion proof\n"
          "  get INDEX [--content]       print the entry (or, with the content key, its content)\n"
          "  get INDEX --decrypt         with the content key: the entry with its report's\n"
          "                              reporter and note decrypted\n"
          "  sth [--size N]              print the latest (or size N's) signed tree head\n"
          "  prove [--size N] INDEX...|- print inclusion proofs (- reads indexes from stdin)\n"
          "  consistency SIZE1 [SIZE2]|- print a consistency proof between two signed heads\n"
          "  verify                      recompute the whole tree and check every signature\n"
          "  export INDEX [--size N] [-o FILE]   write an offline-checkable evidence package\n"
          "  verify-package FILE|-       check a package offline\n"
          "\n"
          "common options:\n"
          "  --log PATH                  the log (default $QINGLANG_EVIDENCE_LOG or evidence.db)\n"
          "  --key FILE                  signing key (default $QINGLANG_EVIDENCE_KEY)\n"
          "  --public-key FILE           trusted public key for verify, verify-package\n"
          "  --content-key FILE          content key (add, get --content, verify, verify-package)\n"
          "  --stats                     prove, consistency: time per proof on stderr\n"
          "\n"
          "exit status: 0 success, 1 does not verify, 2 error\n", out);
}

typedef struct evidence_args {
    const char *log_path;
    const char *key;
    const char *public_key;
    const char *content_key;
    const char *kind;
    const char *source_path;
    const char *url;
    const char *tenant;
    const char *ruleset_version;
    const char *reporter;
    const char *reporter_file;
    const char *note;
    const char *note_file;
    const char *output;
    uint64_t    size;          /* --size, UINT64_MAX when absent */
    size_t      batch;
    int         scan, lines, no_proof, no_content, content, decrypt, stats, content_keygen;
    char      **operands;
    int         noperands;
} evidence_args;

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* Parses every option of every subcommand; each subcommand then checks
 * that it got what it needs.  Returns -1 after printing why. */
static int parse_args(int argc, char **argv, evidence_args *a)
{
    memset(a, 0, sizeof *a);
    a->log_path = getenv("QINGLANG_EVIDENCE_LOG");
    if (!a->log_path || !*a->log_path)
        a->log_path = "evidence.db";
    a->key = getenv("QINGLANG_EVIDENCE_KEY");
    if (a->key && !*a->key)
        a->key = NULL;
    a->size = UINT64_MAX;
    a->batch = 1;
    a->operands = xcalloc((size_t)argc + 1, sizeof *a->operands);
    static const struct {
        const char *name;
        size_t offset;
    } strings[] = {
        {"--log", offsetof(evidence_args, log_path)},
        {"--key", offsetof(evidence_args, key)},
        {"--public-key", offsetof(evidence_args, public_key)},
        {"--content-key", offsetof(evidence_args, content_key)},
        {"--kind", offsetof(evidence_args, kind)},
        {"--path", offsetof(evidence_args, source_path)},
        {"--url", offsetof(evidence_args, url)},
        {"--tenant", offsetof(evidence_args, tenant)},
        {"--ruleset-version", offsetof(evidence_args, ruleset_version)},
        {"--reporter", offsetof(evidence_args, reporter)},
        {"--reporter-file", offsetof(evidence_args, reporter_file)},
        {"--note", offsetof(evidence_args, note)},
        {"--note-file", offsetof(evidence_args, note_file)},
        {"-o", offsetof(evidence_args, output)},
        {"--output", offsetof(evidence_args, output)},
    };
    static const struct {
        const char *name;
        size_t offset;
    } flags[] = {
        {"--scan", offsetof(evidence_args, scan)},
        {"--lines", offsetof(evidence_args, lines)},
        {"--no-proof", offsetof(evidence_args, no_proof)},
        {"--no-content", offsetof(evidence_args, no_content)},
        {"--content", offsetof(evidence_args, content)},
        {"--decrypt", offsetof(evidence_args, decrypt)},
        {"--stats", offsetof(evidence_args, stats)},
    };
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        int matched = 0;
        if (strcmp(arg, "-") == 0 || arg[0] != '-') {
            a->operands[a->noperands++] = argv[i];
            continue;
        }
        for (size_t k = 0; k < sizeof strings / sizeof *strings && !matched; k++)
            if (strcmp(arg, strings[k].name) == 0) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "%s: evidence: %s needs a value\n", progname, arg);
                    return -1;
                }
                *(const char **)((char *)a + strings[k].offset) = argv[++i];
                matched = 1;
            }
        for (size_t k = 0; k < sizeof flags / sizeof *flags && !matched; k++)
            if (strcmp(arg, flags[k].name) == 0) {
                *(int *)((char *)a + flags[k].offset) = 1;
                matched = 1;
            }
        if (matched)
            continue;
        if (strcmp(arg, "--size") == 0 || strcmp(arg, "--batch") == 0) {
            uint64_t v;
            if (i + 1 >= argc || parse_u64(argv[i + 1], &v) != 0) {
                fprintf(stderr, "%s: evidence: %s needs a number\n", progname, arg);
                return -1;
            }
            i++;
            if (arg[2] == 's') {
                a->size = v;
            } else if (v < 1 || v > MAX_BATCH) {
                fprintf(stderr, "%s: evidence: --batch takes 1 to %u\n", progname, MAX_BATCH);
                return -1;
            } else {
                a->batch = (size_t)v;
            }
        } else {
            fprintf(stderr, "%s: evidence: unknown option '%s'\n", progname, arg);
            return -1;
        }
    }
    return 0;
}

/* --------------------------------------------------------------- output */

static void put_hex(FILE *out, const uint8_t *data, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        fputc(digits[data[i] >> 4], out);
        fputc(digits[data[i] & 15], out);
    }
    fputc('"', out);
}

static void put_head(FILE *out, const ql_evidence_tree_head *head)
{
    fputs("{\"root\":", out);
    put_hex(out, head->root, sizeof head->root);
    fputs(",\"signature\":", out);
    put_hex(out, head->signature, sizeof head->signature);
    fprintf(out, ",\"size\":%llu,\"time_ms\":%llu}", (unsigned long long)head->size,
            (unsigned long long)head->time_ms);
}

static void put_proof(FILE *out, const ql_evidence_proof *proof)
{
    fputc('[', out);
    for (size_t i = 0; i < proof->length; i++) {
        if (i)
            fputc(',', out);
        put_hex(out, proof->hashes[i], QL_EVIDENCE_HASH_SIZE);
    }
    fputc(']', out);
}

/* {"inclusion_proof":[...],"index":N,"leaf_hash":"...","tree_head":{...}} */
static void put_receipt(FILE *out, uint64_t index, const uint8_t *leaf_hash,
                        const ql_evidence_tree_head *head, const ql_evidence_proof *proof)
{
    fputc('{', out);
    if (proof) {
        fputs("\"inclusion_proof\":", out);
        put_proof(out, proof);
        fputc(',', out);
    }
    fprintf(out, "\"index\":%llu,\"leaf_hash\":", (unsigned long long)index);
    put_hex(out, leaf_hash, QL_EVIDENCE_HASH_SIZE);
    fputs(",\"tree_head\":", out);
    put_head(out, head);
    fputs("}\n", out);
}

static int flush_or_fail(FILE *out)
{
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "%s: evidence: error writing output\n", progname);
        return -1;
    }
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------- opening */

static ql_evidence_log *open_log(const evidence_args *a, int sign)
{
    ql_evidence_options o;
    ql_evidence_log *log = NULL;
    char error[600];
    memset(&o, 0, sizeof o);
    if (sign && !a->key) {
        fprintf(stderr, "%s: evidence: appending needs the signing key (--key FILE or "
                        "QINGLANG_EVIDENCE_KEY)\n", progname);
        return NULL;
    }
    o.signing_key_file = sign ? a->key : NULL;
    o.content_key_file = a->content_key;
    o.public_key_file = a->public_key;
    error[0] = '\0';
    ql_status st = ql_evidence_log_open(a->log_path, &o, &log, error, sizeof error);
    if (st != QL_OK) {
        fprintf(stderr, "%s: evidence: %s\n", progname, error[0] ? error : ql_status_message(st));
        return NULL;
    }
    return log;
}

static int log_failure(ql_evidence_log *log, ql_status st)
{
    const char *why = ql_evidence_log_error(log);
    fprintf(stderr, "%s: evidence: %s\n", progname, why && *why ? why : ql_status_message(st));
    return st == QL_EVERIFY ? EXIT_FAILED : EXIT_ERROR;
}

/* --------------------------------------------------------------- keygen */

static int do_keygen(evidence_args *a)
{
    char error[600], *pub = NULL;
    ql_status st;
    if (a->noperands != 1) {
        fprintf(stderr, "%s: evidence keygen needs one FILE\n", progname);
        return EXIT_ERROR;
    }
    const char *path = a->operands[0];
    if (a->content) {
        st = ql_evidence_content_keygen(path, error, sizeof error);
    } else {
        size_t n = strlen(path) + 5;
        pub = xcalloc(n, 1);
        snprintf(pub, n, "%s.pub", path);
        st = ql_evidence_keygen(path, pub, error, sizeof error);
    }
    if (st != QL_OK)
        fprintf(stderr, "%s: evidence: %s\n", progname, error);
    else if (pub)
        fprintf(stderr, "%s: wrote %s (private, mode 600) and %s\n", progname, path, pub);
    else
        fprintf(stderr, "%s: wrote %s (mode 600)\n", progname, path);
    free(pub);
    return st == QL_OK ? EXIT_OK : EXIT_ERROR;
}

static int do_init(evidence_args *a)
{
    char error[600];
    ql_evidence_options o;
    if (!a->key) {
        fprintf(stderr, "%s: evidence init needs --key FILE (make one with evidence keygen)\n",
                progname);
        return EXIT_ERROR;
    }
    memset(&o, 0, sizeof o);
    o.signing_key_file = a->key;
    error[0] = '\0';
    ql_status st = ql_evidence_log_create(a->log_path, &o, error, sizeof error);
    if (st != QL_OK) {
        fprintf(stderr, "%s: evidence: %s\n", progname, error[0] ? error : ql_status_message(st));
        return EXIT_ERROR;
    }
    fprintf(stderr, "%s: created the evidence log %s\n", progname, a->log_path);
    return EXIT_OK;
}

/* ------------------------------------------------------------------ add */

/* One pending entry: its content and, with --scan, its findings. */
typedef struct pending {
    uint8_t             *content;
    size_t               length;
    char                *source_path;
    ql_evidence_finding *findings;
    size_t               finding_count, finding_alloc;
} pending;

typedef struct adder {
    evidence_args       *args;
    ql_evidence_log     *log;
    ql_rules            *rules;
    ql_scanner          *scanner;
    int                  kind;
    char                *reporter, *note;   /* the report's, for every entry */
    pending             *items;
    ql_evidence_record  *records;
    ql_evidence_receipt *receipts;
    size_t               count;
    uint64_t             appended;
    char                 ruleset_version[64];
} adder;

static int collect_finding(const ql_finding *f, void *user)
{
    pending *p = user;
    if (p->finding_count == p->finding_alloc) {
        p->finding_alloc = p->finding_alloc ? 2 * p->finding_alloc : 8;
        ql_evidence_finding *grown = realloc(p->findings, p->finding_alloc * sizeof *grown);
        if (!grown)
            die_oom();
        p->findings = grown;
    }
    ql_evidence_finding *e = &p->findings[p->finding_count++];
    e->type = f->type;          /* owned by the rule set, which outlives the entry */
    e->rule_id = f->rule_id;
    e->start = f->start;
    e->end = f->end;
    e->masked = xstrdup(f->masked);
    return 0;
}

static void pending_free(pending *p)
{
    free(p->content);
    free(p->source_path);
    for (size_t i = 0; i < p->finding_count; i++)
        free((char *)p->findings[i].masked);
    free(p->findings);
    memset(p, 0, sizeof *p);
}

/* Commits the pending entries and prints their receipts. */
static int flush_batch(adder *ad)
{
    if (ad->count == 0)
        return 0;
    for (size_t i = 0; i < ad->count; i++) {
        ql_evidence_record *r = &ad->records[i];
        pending *p = &ad->items[i];
        memset(r, 0, sizeof *r);
        r->kind = (ql_evidence_kind)ad->kind;
        r->source_path = p->source_path;
        r->source_url = ad->args->url;
        r->tenant = ad->args->tenant;
        r->ruleset_version = ad->args->ruleset_version ? ad->args->ruleset_version
                             : ad->args->scan             ? ad->ruleset_version
                                                          : NULL;
        r->findings = p->findings;
        r->finding_count = p->finding_count;
        r->content = p->content;
        r->content_length = p->length;
        r->store_content = !ad->args->no_content;
        r->reporter = ad->reporter;
        r->note = ad->note;
    }
    int with_proofs = !ad->args->no_proof;
    ql_status st = ql_evidence_append(ad->log, ad->records, ad->count, with_proofs, ad->receipts);
    for (size_t i = 0; i < ad->count; i++)
        pending_free(&ad->items[i]);
    size_t n = ad->count;
    ad->count = 0;
    if (st != QL_OK) {
        log_failure(ad->log, st);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const ql_evidence_receipt *r = &ad->receipts[i];
        put_receipt(stdout, r->index, r->leaf_hash, &r->head, with_proofs ? &r->proof : NULL);
    }
    ad->appended += n;
    return flush_or_fail(stdout);
}

/* Queues one entry (taking `content`), committing when the batch is full. */
static int queue_entry(adder *ad, uint8_t *content, size_t length, const char *source_path)
{
    pending *p = &ad->items[ad->count];
    memset(p, 0, sizeof *p);
    p->content = content;
    p->length = length;
    p->source_path = source_path ? xstrdup(source_path) : NULL;
    if (ad->scanner) {
        ql_status st = ql_scan(ad->scanner, content, length, NULL, collect_finding, p);
        if (st != QL_OK) {
            fprintf(stderr, "%s: evidence: scan: %s\n", progname, ql_status_message(st));
            pending_free(p);
            return -1;
        }
    }
    ad->count++;
    return ad->count == ad->args->batch ? flush_batch(ad) : 0;
}

/* Reads a whole stream (at most MAX_CONTENT bytes). */
static int read_all(FILE *f, uint8_t **out, size_t *length)
{
    size_t cap = 65536, n = 0, got;
    uint8_t *buf = malloc(cap);
    if (!buf)
        die_oom();
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            if (cap >= MAX_CONTENT) {
                free(buf);
                errno = EFBIG;
                return -1;
            }
            cap *= 2;
            uint8_t *grown = realloc(buf, cap);
            if (!grown)
                die_oom();
            buf = grown;
        }
    }
    if (ferror(f)) {
        free(buf);
        errno = EIO;
        return -1;
    }
    *out = buf;
    *length = n;
    return 0;
}

static int add_input(adder *ad, const char *name)
{
    int is_stdin = strcmp(name, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(name, "rb");
    const char *source = ad->args->source_path ? ad->args->source_path : is_stdin ? NULL : name;
    int rc = 0;
    if (!f) {
        fprintf(stderr, "%s: evidence: %s: %s\n", progname, name, strerror(errno));
        return -1;
    }
    if (!ad->args->lines) {
        uint8_t *data;
        size_t n;
        if (read_all(f, &data, &n) != 0) {
            fprintf(stderr, "%s: evidence: %s: %s\n", progname, name, strerror(errno));
            rc = -1;
        } else {
            rc = queue_entry(ad, data, n, source);
        }
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
            if (n > 0 && line[n - 1] == '\n')
                n--;
            if ((size_t)n > MAX_CONTENT) {
                fprintf(stderr, "%s: evidence: %s: a line longer than %zu bytes\n", progname,
                        name, MAX_CONTENT);
                rc = -1;
                break;
            }
            uint8_t *copy = malloc((size_t)n + 1);
            if (!copy)
                die_oom();
            memcpy(copy, line, (size_t)n);
            rc = queue_entry(ad, copy, (size_t)n, source);
        }
        if (rc == 0 && ferror(f)) {
            fprintf(stderr, "%s: evidence: %s: %s\n", progname, name, strerror(EIO));
            rc = -1;
        }
        free(line);
    }
    if (!is_stdin)
        fclose(f);
    return rc;
}

/* A report field from --NAME VALUE or --NAME-file FILE (its bytes, less
 * one trailing newline: a file from an editor or echo ends with one).
 * Returns -1 after saying why; the messages never quote the value. */
static int report_value(const char *name, const char *value, const char *file, char **out)
{
    uint8_t *data;
    size_t n;
    *out = NULL;
    if (value && file) {
        fprintf(stderr, "%s: evidence: --%s and --%s-file: give one of them\n", progname, name,
                name);
        return -1;
    }
    if (value) {
        *out = xstrdup(value);
        return 0;
    }
    if (!file)
        return 0;
    if (read_file(file, &data, &n) != 0) {
        fprintf(stderr, "%s: evidence: %s: %s\n", progname, file, strerror(errno));
        return -1;
    }
    if (n && data[n - 1] == '\n')
        n--;
    if (n && data[n - 1] == '\r')
        n--;
    if (memchr(data, 0, n)) {
        fprintf(stderr, "%s: evidence: %s: the %s holds a NUL byte\n", progname, file, name);
        explicit_bzero(data, n);
        free(data);
        return -1;
    }
    *out = xcalloc(n + 1, 1);
    memcpy(*out, data, n);
    explicit_bzero(data, n);
    free(data);
    return 0;
}

static void wipe_free(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
    free(s);
}

static int do_add(evidence_args *a)
{
    adder ad;
    int rc = EXIT_ERROR;
    memset(&ad, 0, sizeof ad);
    ad.args = a;
    ad.kind = a->kind ? ql_evidence_kind_from_name(a->kind) : QL_EVIDENCE_FINDING_REPORT;
    if (ad.kind < 0) {
        fprintf(stderr, "%s: evidence: --kind takes finding_report, abuse_report or "
                        "scan_receipt\n", progname);
        return EXIT_ERROR;
    }
    if ((a->reporter || a->reporter_file || a->note || a->note_file) &&
        ad.kind != QL_EVIDENCE_ABUSE_REPORT) {
        fprintf(stderr, "%s: evidence: --reporter and --note go with --kind abuse_report\n",
                progname);
        return EXIT_ERROR;
    }
    if (report_value("reporter", a->reporter, a->reporter_file, &ad.reporter) != 0 ||
        report_value("note", a->note, a->note_file, &ad.note) != 0) {
        wipe_free(ad.reporter);
        return EXIT_ERROR;
    }
    if (a->noperands == 0) {
        if (isatty(0)) {
            wipe_free(ad.reporter);
            wipe_free(ad.note);
            fprintf(stderr, "%s: evidence add: no input (give files, or '-' for standard "
                            "input)\n", progname);
            return EXIT_ERROR;
        }
        a->operands[a->noperands++] = "-";
    }
    ad.log = open_log(a, 1);
    if (!ad.log)
        goto out;
    if (a->scan) {
        rule_args ra = {NULL, 0, 1};
        ad.rules = build_rules(&ra);
        if (!ad.rules || ql_scanner_create(ad.rules, NULL, &ad.scanner) != QL_OK)
            goto out;
        snprintf(ad.ruleset_version, sizeof ad.ruleset_version, "builtin-%s", ql_version());
    }
    ad.items = xcalloc(a->batch, sizeof *ad.items);
    ad.records = xcalloc(a->batch, sizeof *ad.records);
    ad.receipts = xcalloc(a->batch, sizeof *ad.receipts);
    for (int i = 0; i < a->noperands; i++)
        if (add_input(&ad, a->operands[i]) != 0)
            goto out;
    if (flush_batch(&ad) != 0)
        goto out;
    rc = EXIT_OK;
out:
    for (size_t i = 0; i < ad.count; i++)
        pending_free(&ad.items[i]);
    free(ad.items);
    free(ad.records);
    free(ad.receipts);
    ql_scanner_destroy(ad.scanner);
    ql_rules_destroy(ad.rules);
    ql_evidence_log_close(ad.log);
    wipe_free(ad.reporter);
    wipe_free(ad.note);
    return rc;
}

/* ----------------------------------------------------- reading commands */

static int do_get(evidence_args *a)
{
    uint64_t index;
    ql_evidence_entry e;
    if (a->noperands != 1 || parse_u64(a->operands[0], &index) != 0) {
        fprintf(stderr, "%s: evidence get needs an INDEX\n", progname);
        return EXIT_ERROR;
    }
    ql_evidence_log *log = open_log(a, 0);
    if (!log)
        return EXIT_ERROR;
    if (a->content && a->decrypt) {
        fprintf(stderr, "%s: evidence get: --content or --decrypt, not both\n", progname);
        ql_evidence_log_close(log);
        return EXIT_ERROR;
    }
    ql_status st = ql_evidence_get(log, index, a->content || a->decrypt, &e);
    int rc = EXIT_OK;
    if (st == QL_OK && a->content && !e.content) {
        /* The entry held only its report encrypted. */
        fprintf(stderr, "%s: evidence: entry %llu holds no content (only its hash)\n", progname,
                (unsigned long long)index);
        ql_evidence_entry_free(log, &e);
        rc = EXIT_ERROR;
    } else if (st != QL_OK) {
        rc = log_failure(log, st);
    } else {
        if (a->content) {
            fwrite(e.content, 1, e.content_length, stdout);
        } else if (a->decrypt) {
            /* As GET /v1/evidence/N answers, with the decrypted values. */
            fputs("{\"entry\":", stdout);
            fwrite(e.entry, 1, e.entry_length, stdout);
            fprintf(stdout, ",\"index\":%llu,\"leaf_hash\":", (unsigned long long)index);
            put_hex(stdout, e.leaf_hash, QL_EVIDENCE_HASH_SIZE);
            if (e.note) {
                fputs(",\"note\":", stdout);
                cli_json_string(stdout, e.note, strlen(e.note));
            }
            if (e.reporter) {
                fputs(",\"reporter\":", stdout);
                cli_json_string(stdout, e.reporter, strlen(e.reporter));
            }
            fputs("}\n", stdout);
        } else {
            fwrite(e.entry, 1, e.entry_length, stdout);
            fputc('\n', stdout);
        }
        if (flush_or_fail(stdout) != 0)
            rc = EXIT_ERROR;
        ql_evidence_entry_free(log, &e);
    }
    ql_evidence_log_close(log);
    return rc;
}

static int do_sth(evidence_args *a)
{
    ql_evidence_tree_head head;
    ql_evidence_log *log = open_log(a, 0);
    if (!log)
        return EXIT_ERROR;
    ql_status st = ql_evidence_tree_head_get(log, a->size, &head);
    int rc = EXIT_OK;
    if (st != QL_OK) {
        rc = log_failure(log, st);
    } else {
        put_head(stdout, &head);
        fputc('\n', stdout);
        rc = flush_or_fail(stdout) ? EXIT_ERROR : EXIT_OK;
    }
    ql_evidence_log_close(log);
    return rc;
}

/* Operands, or whitespace-separated numbers from stdin after '-'. */
typedef struct number_source {
    evidence_args *args;
    int            next;
    int            from_stdin;
} number_source;

static int next_number(number_source *ns, uint64_t *out, int *bad)
{
    char word[32];
    *bad = 0;
    if (ns->from_stdin) {
        if (scanf("%31s", word) != 1)
            return 0;
        *bad = parse_u64(word, out) != 0;
        return 1;
    }
    if (ns->next >= ns->args->noperands)
        return 0;
    const char *s = ns->args->operands[ns->next++];
    if (strcmp(s, "-") == 0) {
        ns->from_stdin = 1;
        return next_number(ns, out, bad);
    }
    *bad = parse_u64(s, out) != 0;
    return 1;
}

static int do_prove(evidence_args *a)
{
    ql_evidence_tree_head head;
    ql_evidence_proof *proof = xcalloc(1, sizeof *proof);
    ql_evidence_log *log = open_log(a, 0);
    int rc = EXIT_OK;
    uint64_t count = 0, index;
    double proving = 0, started = now_seconds();
    if (!log) {
        free(proof);
        return EXIT_ERROR;
    }
    ql_status st = ql_evidence_tree_head_get(log, a->size, &head);
    if (st != QL_OK) {
        rc = log_failure(log, st);
        goto out;
    }
    number_source ns = {a, 0, 0};
    int bad;
    while (next_number(&ns, &index, &bad)) {
        ql_evidence_entry e;
        if (bad) {
            fprintf(stderr, "%s: evidence prove: an INDEX is a number\n", progname);
            rc = EXIT_ERROR;
            goto out;
        }
        st = ql_evidence_get(log, index, 0, &e);
        if (st == QL_OK) {
            double t = now_seconds();
            st = ql_evidence_inclusion_proof(log, index, head.size, proof);
            proving += now_seconds() - t;
        }
        if (st != QL_OK) {
            rc = log_failure(log, st);
            goto out;
        }
        /* A proof that does not verify is a broken log: never print it. */
        if (ql_evidence_verify_inclusion(index, head.size, e.leaf_hash, proof, head.root) != QL_OK) {
            fprintf(stderr, "%s: evidence: the proof for entry %llu does not verify: run verify\n",
                    progname, (unsigned long long)index);
            ql_evidence_entry_free(log, &e);
            rc = EXIT_FAILED;
            goto out;
        }
        put_receipt(stdout, index, e.leaf_hash, &head, proof);
        ql_evidence_entry_free(log, &e);
        count++;
    }
    if (count == 0) {
        fprintf(stderr, "%s: evidence prove needs an INDEX\n", progname);
        rc = EXIT_ERROR;
    }
    if (flush_or_fail(stdout) != 0)
        rc = EXIT_ERROR;
    if (a->stats && count)
        fprintf(stderr, "%s: %llu inclusion proofs in a tree of %llu entries: %.1f us each to "
                        "make, %.1f us each with reading the entry, verifying and printing\n",
                progname, (unsigned long long)count, (unsigned long long)head.size,
                proving / (double)count * 1e6, (now_seconds() - started) / (double)count * 1e6);
out:
    free(proof);
    ql_evidence_log_close(log);
    return rc;
}

static int do_consistency(evidence_args *a)
{
    ql_evidence_tree_head first, second;
    ql_evidence_proof *proof = xcalloc(1, sizeof *proof);
    ql_evidence_log *log = open_log(a, 0);
    int rc = EXIT_OK, bad;
    uint64_t count = 0, size1, size2;
    double proving = 0;
    if (!log) {
        free(proof);
        return EXIT_ERROR;
    }
    number_source ns = {a, 0, 0};
    int reading_pairs = a->noperands == 1 && strcmp(a->operands[0], "-") == 0;
    while (next_number(&ns, &size1, &bad)) {
        ql_status st;
        size2 = UINT64_MAX;
        if (!bad && (reading_pairs || ns.next < a->noperands) && !next_number(&ns, &size2, &bad))
            bad = 1;
        if (bad) {
            fprintf(stderr, "%s: evidence consistency needs SIZE1 [SIZE2] (numbers)\n", progname);
            rc = EXIT_ERROR;
            goto out;
        }
        st = ql_evidence_tree_head_get(log, size1, &first);
        if (st == QL_OK)
            st = ql_evidence_tree_head_get(log, size2, &second);
        if (st == QL_OK) {
            double t = now_seconds();
            st = ql_evidence_consistency_proof(log, first.size, second.size, proof);
            proving += now_seconds() - t;
        }
        if (st != QL_OK) {
            rc = log_failure(log, st);
            goto out;
        }
        if (ql_evidence_verify_consistency(first.size, second.size, first.root, second.root,
                                           proof) != QL_OK) {
            fprintf(stderr, "%s: evidence: the consistency proof %llu -> %llu does not verify: "
                            "run verify\n", progname, (unsigned long long)first.size,
                    (unsigned long long)second.size);
            rc = EXIT_FAILED;
            goto out;
        }
        fputs("{\"consistency_proof\":", stdout);
        put_proof(stdout, proof);
        fputs(",\"tree_head_1\":", stdout);
        put_head(stdout, &first);
        fputs(",\"tree_head_2\":", stdout);
        put_head(stdout, &second);
        fputs("}\n", stdout);
        count++;
    }
    if (count == 0) {
        fprintf(stderr, "%s: evidence consistency needs SIZE1 [SIZE2]\n", progname);
        rc = EXIT_ERROR;
    }
    if (flush_or_fail(stdout) != 0)
        rc = EXIT_ERROR;
    if (a->stats && count)
        fprintf(stderr, "%s: %llu consistency proofs: %.1f us each to make\n", progname,
                (unsigned long long)count, proving / (double)count * 1e6);
out:
    free(proof);
    ql_evidence_log_close(log);
    return rc;
}

typedef struct problem_printer {
    uint64_t count;
} problem_printer;

static int print_problem(const ql_evidence_problem *p, void *user)
{
    problem_printer *pp = user;
    if (pp->count++ < MAX_PROBLEMS)
        printf("FAIL: %s\n", p->message);
    return 0;
}

static int do_verify(evidence_args *a)
{
    problem_printer pp = {0};
    ql_evidence_tree_head head;
    ql_evidence_log *log = open_log(a, 0);
    if (!log)
        return EXIT_ERROR;
    double started = now_seconds();
    ql_status st = ql_evidence_verify(log, print_problem, &pp);
    int rc;
    if (st == QL_OK && ql_evidence_tree_head_get(log, UINT64_MAX, &head) == QL_OK) {
        printf("OK: %llu entries; every entry, tree node and signed tree head recomputed and "
               "checked (%.2f s)\n", (unsigned long long)head.size, now_seconds() - started);
        rc = EXIT_OK;
    } else if (st == QL_EVERIFY) {
        if (pp.count > MAX_PROBLEMS)
            printf("FAIL: ... and %llu more problems\n",
                   (unsigned long long)(pp.count - MAX_PROBLEMS));
        printf("the log does not verify: %llu problem%s\n", (unsigned long long)pp.count,
               pp.count == 1 ? "" : "s");
        rc = EXIT_FAILED;
    } else {
        rc = log_failure(log, st);
    }
    if (flush_or_fail(stdout) != 0)
        rc = EXIT_ERROR;
    ql_evidence_log_close(log);
    return rc;
}

static int write_to_file(const uint8_t *data, size_t n, void *user)
{
    return fwrite(data, 1, n, (FILE *)user) == n ? 0 : -1;
}

static int do_export(evidence_args *a)
{
    uint64_t index;
    if (a->noperands != 1 || parse_u64(a->operands[0], &index) != 0) {
        fprintf(stderr, "%s: evidence export needs an INDEX\n", progname);
        return EXIT_ERROR;
    }
    ql_evidence_log *log = open_log(a, 0);
    if (!log)
        return EXIT_ERROR;
    FILE *out = stdout;
    int rc = EXIT_OK;
    if (a->output && strcmp(a->output, "-") != 0) {
        /* A package is written once; an existing file is left alone. */
        out = fopen(a->output, "wxb");
        if (!out) {
            fprintf(stderr, "%s: evidence: %s: %s\n", progname, a->output, strerror(errno));
            ql_evidence_log_close(log);
            return EXIT_ERROR;
        }
    }
    ql_status st = ql_evidence_export(log, index, a->size, write_to_file, out);
    if (st != QL_OK)
        rc = log_failure(log, st);
    if (out != stdout) {
        if (fclose(out) != 0 && rc == EXIT_OK) {
            fprintf(stderr, "%s: evidence: %s: %s\n", progname, a->output, strerror(errno));
            rc = EXIT_ERROR;
        }
        if (rc != EXIT_OK)
            unlink(a->output);
    } else if (flush_or_fail(stdout) != 0) {
        rc = EXIT_ERROR;
    }
    ql_evidence_log_close(log);
    return rc;
}

static int do_verify_package(evidence_args *a)
{
    uint8_t *package = NULL, *pem = NULL, key[32];
    size_t length, pem_length;
    char error[600];
    problem_printer pp = {0};
    int rc = EXIT_ERROR;
    if (a->noperands != 1) {
        fprintf(stderr, "%s: evidence verify-package needs one FILE (or -)\n", progname);
        return EXIT_ERROR;
    }
    const char *name = a->operands[0];
    FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
    if (!f || read_all(f, &package, &length) != 0) {
        fprintf(stderr, "%s: evidence: %s: %s\n", progname, name, strerror(errno));
        if (f && f != stdin)
            fclose(f);
        return EXIT_ERROR;
    }
    if (f != stdin)
        fclose(f);
    if (a->public_key && read_file(a->public_key, &pem, &pem_length) != 0) {
        fprintf(stderr, "%s: evidence: %s: %s\n", progname, a->public_key, strerror(errno));
        goto out;
    }
    if (pem) {
        uint8_t *terminated = realloc(pem, pem_length + 1);
        if (!terminated)
            die_oom();
        pem = terminated;
        pem[pem_length] = '\0';
    }
    if (a->content_key &&
        ql_evidence_read_content_key(a->content_key, key, error, sizeof error) != QL_OK) {
        fprintf(stderr, "%s: evidence: %s\n", progname, error);
        goto out;
    }
    ql_status st = ql_evidence_verify_package(package, length, (const char *)pem,
                                              a->content_key ? key : NULL, 32, print_problem, &pp);
    if (st == QL_OK) {
        printf("OK: %s: the entry, its inclusion proof and the signed tree head verify%s\n", name,
               a->content_key ? ", and so does the decrypted content" : "");
        rc = EXIT_OK;
    } else if (st == QL_EVERIFY) {
        printf("the package does not verify: %llu problem%s\n", (unsigned long long)pp.count,
               pp.count == 1 ? "" : "s");
        rc = EXIT_FAILED;
    } else {
        fprintf(stderr, "%s: evidence: %s: %s\n", progname, name, ql_status_message(st));
    }
    if (flush_or_fail(stdout) != 0)
        rc = EXIT_ERROR;
out:
    memset(key, 0, sizeof key);
    free(package);
    free(pem);
    return rc;
}

int cmd_evidence(int argc, char **argv)
{
    evidence_args a;
    int rc = EXIT_ERROR;
    if (argc < 1 || strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0 ||
        strcmp(argv[0], "help") == 0) {
        evidence_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? EXIT_ERROR : EXIT_OK;
    }
    const char *command = argv[0];
    if (parse_args(argc - 1, argv + 1, &a) != 0) {
        free(a.operands);
        return EXIT_ERROR;
    }
    if (strcmp(command, "keygen") == 0)
        rc = do_keygen(&a);
    else if (strcmp(command, "init") == 0)
        rc = do_init(&a);
    else if (strcmp(command, "add") == 0)
        rc = do_add(&a);
    else if (strcmp(command, "get") == 0)
        rc = do_get(&a);
    else if (strcmp(command, "sth") == 0)
        rc = do_sth(&a);
    else if (strcmp(command, "prove") == 0)
        rc = do_prove(&a);
    else if (strcmp(command, "consistency") == 0)
        rc = do_consistency(&a);
    else if (strcmp(command, "verify") == 0)
        rc = do_verify(&a);
    else if (strcmp(command, "export") == 0)
        rc = do_export(&a);
    else if (strcmp(command, "verify-package") == 0)
        rc = do_verify_package(&a);
    else {
        fprintf(stderr, "%s: unknown evidence command '%s'\n", progname, command);
        evidence_usage(stderr);
    }
    free(a.operands);
    return rc;
}
