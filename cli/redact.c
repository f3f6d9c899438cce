/*
 * redact.c — the `qinglang redact` command.
 *
 *     qinglang redact [OPTIONS] [PATH|-]...
 *
 * Streams each input through ql_redact_* (constant memory, whatever the
 * size) and writes the result: to standard output for one input, to a
 * file or a mirrored directory tree with -o, or over the input with
 * --in-place.  Every output file is written to a temporary file in the
 * target's directory, fsync'ed and renamed over the target, and the
 * directory is fsync'ed: a crash leaves the old file or the new one,
 * never a mix.  Keys come from --key-file or QINGLANG_KEY, never from the
 * command line.  Exit codes as for scan: 0 nothing redacted, 1 something
 * redacted, 2 an error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define EXIT_CLEAN 0
#define EXIT_FOUND 1
#define EXIT_ERROR 2
#define CHUNK      (256u << 10)

static void redact_usage(FILE *out)
{
    fputs("usage: qinglang redact [OPTIONS] [PATH|-]...\n"
          "\n"
          "  -o, --output PATH        output file (one input) or directory (a directory or several inputs)\n"
          "  --in-place               replace each input with its redacted version (atomically)\n"
          "  --policy FILE            operators per type and category (docs/redact.md)\n"
          "  --operator OP            default operator: mask, tag, hash, fpe, drop, keep (default mask)\n"
          "  --type NAME=OP           operator for a type or category (repeatable), e.g. cn_mobile_phone=fpe\n"
          "  --key-file FILE          key for hash and fpe (or the environment variable QINGLANG_KEY)\n"
          "  --decrypt                restore values encrypted with fpe (same policy and key)\n"
          "  --dry-run                list what would change; write nothing\n"
          "  --stats                  print counts per type and operator to stderr\n"
          "  --encoding, --rules, --no-builtin, --exclude, --today, --min-confidence  as for scan\n"
          "\n"
          "exit status: 0 nothing redacted, 1 something redacted, 2 error\n", out);
}

/* ----------------------------------------------------------------- keys */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A key as given: hex text (64 characters for 32 bytes) is decoded, any
 * other content is used as it is; a trailing newline is not part of it. */
static size_t key_bytes(uint8_t *data, size_t n)
{
    while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
        n--;
    int hex = n >= 32 && n % 2 == 0;
    for (size_t i = 0; i < n && hex; i++)
        hex = hexval(data[i]) >= 0;
    if (!hex)
        return n;
    for (size_t i = 0; i < n / 2; i++)
        data[i] = (uint8_t)(hexval(data[2 * i]) << 4 | hexval(data[2 * i + 1]));
    return n / 2;
}

/* --------------------------------------------------------------- output */

typedef struct sink {
    FILE *out;
    int   failed;
    int   discard;
} sink;

static int sink_write(const uint8_t *data, size_t n, void *user)
{
    sink *k = user;
    if (k->discard)
        return 0;
    if (fwrite(data, 1, n, k->out) != n) {
        k->failed = 1;
        return -1;
    }
    return 0;
}

typedef struct counts {
    const char *types[64];
    size_t      n[64];
    size_t      ntypes, total;
} counts;

typedef struct run {
    ql_redactor *redactor;
    const char  *path;
    int          dry_run, decrypt;
    counts      *counts;
} run;

static int on_redacted(const ql_finding *f, void *user)
{
    run *r = user;
    counts *c = r->counts;
    c->total++;
    size_t i = 0;
    while (i < c->ntypes && strcmp(c->types[i], f->type) != 0)
        i++;
    if (i == c->ntypes && i < 64)
        c->types[c->ntypes++] = f->type;
    if (i < 64)
        c->n[i]++;
    if (r->dry_run) {
        char text[512];
        size_t n;
        ql_operator op = QL_OP_KEEP;
        /* The replacement shown is computed again, so numbered tags in a
         * dry run count from where the real run would. */
        if (!r->decrypt && ql_redactor_replace(r->redactor, f, text, sizeof text, &n, &op) == QL_OK) {
            /* FPE of an ID or card recomputes its check character so the
             * output still passes it: say so. */
            int check = op == QL_OP_FPE &&
                        (strcmp(f->type, "cn_resident_id") == 0 || strcmp(f->type, "bank_card") == 0 ||
                         strcmp(f->type, "hk_id") == 0 || strcmp(f->type, "tw_id") == 0);
            printf("%s:%llu:%llu: %s %s%s: %s -> %s\n", r->path, (unsigned long long)f->line,
                   (unsigned long long)f->column, f->type, ql_operator_name(op),
                   check ? " (check digit recomputed)" : "", f->masked, text);
        }
        else if (r->decrypt)
            printf("%s:%llu:%llu: %s decrypt\n", r->path, (unsigned long long)f->line,
                   (unsigned long long)f->column, f->type);
    }
    return 0;
}

static int open_input(const char *path)
{
    if (strcmp(path, "-") == 0)
        return 0;
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* Streams one input into `out` (NULL: count only). */
static int redact_fd(int fd, const char *shown, FILE *out, ql_scanner *scanner, run *r,
                     const ql_scan_options *opts)
{
    sink k = {out, 0, out == NULL};
    ql_redact_stream *rs;
    ql_status st = ql_redact_open(scanner, r->redactor, opts, r->decrypt, sink_write, &k,
                                  on_redacted, r, &rs);
    if (st != QL_OK) {
        fprintf(stderr, "%s: %s: %s\n", progname, shown, ql_status_message(st));
        return -1;
    }
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        die_oom();
    for (;;) {
        ssize_t got = read(fd, buf, CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fprintf(stderr, "%s: %s: %s\n", progname, shown, strerror(errno));
            st = QL_EIO;
            break;
        }
        if (got == 0) {
            st = ql_redact_finish(rs);
            break;
        }
        st = ql_redact_write(rs, buf, (size_t)got);
        if (st != QL_OK)
            break;
    }
    free(buf);
    ql_redact_close(rs);
    if (st != QL_OK && st != QL_EIO) {
        fprintf(stderr, "%s: %s: %s\n", progname, shown,
                k.failed ? strerror(errno) : ql_status_message(st));
        return -1;
    }
    return st == QL_OK ? 0 : -1;
}

/* Writes `target` atomically: a temporary file next to it, fsync, rename,
 * fsync of the directory.  `mode` is the new file's permission bits. */
static int redact_to_file(int fd, const char *shown, const char *target, mode_t mode,
                          ql_scanner *scanner, run *r, const ql_scan_options *opts)
{
    size_t tl = strlen(target) + 32;
    char *tmp = malloc(tl), *dircopy = xstrdup(target);
    if (!tmp)
        die_oom();
    const char *dir = dirname(dircopy);
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    snprintf(tmp, tl, "%s/.%s.qinglang-XXXXXX", dir, base);
    int tfd = mkstemp(tmp);
    if (tfd < 0) {
        fprintf(stderr, "%s: %s: cannot create a temporary file: %s\n", progname, target, strerror(errno));
        free(tmp);
        free(dircopy);
        return -1;
    }
    fchmod(tfd, mode);
    FILE *out = fdopen(tfd, "wb");
    int rc = out ? redact_fd(fd, shown, out, scanner, r, opts) : -1;
    if (out && fflush(out) != 0)
        rc = -1;
    if (rc == 0 && fsync(tfd) != 0)
        rc = -1;
    if (out)
        fclose(out);
    else
        close(tfd);
    if (rc == 0 && rename(tmp, target) != 0) {
        fprintf(stderr, "%s: %s: %s\n", progname, target, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        unlink(tmp);
    } else {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    free(tmp);
    free(dircopy);
    return rc;
}

static int mkdirs(const char *path)
{
    char *p = xstrdup(path);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *q = '/';
    }
    int rc = mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

/* ----------------------------------------------------------------- main */

int cmd_redact(int argc, char **argv)
{
    const char **paths = xcalloc((size_t)argc + 1, sizeof *paths);
    const char **globs = xcalloc((size_t)argc + 1, sizeof *globs);
    const char **rule_files = xcalloc((size_t)argc + 1, sizeof *rule_files);
    const char **type_ops = xcalloc((size_t)argc + 1, sizeof *type_ops);
    size_t npaths = 0, nglobs = 0, ntypes = 0;
    rule_args ra = {rule_files, 0, 1};
    const char *output = NULL, *policy_file = NULL, *key_file = NULL, *default_op = NULL;
    int in_place = 0, dry_run = 0, decrypt = 0, stats = 0, rc = EXIT_ERROR;
    ql_scan_options opts;
    ql_scan_options_init(&opts);
    ql_policy *policy = NULL;
    ql_rules *rules = NULL;
    ql_scanner *scanner = NULL;
    ql_redactor *redactor = NULL;
    uint8_t *key = NULL;
    size_t key_len = 0;
    counts cnt;
    memset(&cnt, 0, sizeof cnt);
    file_list files = {0};

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
#define VALUE()                                                                  \
    (i + 1 < argc ? argv[++i]                                                    \
                  : (fprintf(stderr, "%s: option %s needs a value\n", progname, a), \
                     (const char *)NULL))
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (!(output = VALUE()))
                goto out;
        } else if (strcmp(a, "--in-place") == 0) {
            in_place = 1;
        } else if (strcmp(a, "--policy") == 0) {
            if (!(policy_file = VALUE()))
                goto out;
        } else if (strcmp(a, "--operator") == 0) {
            if (!(default_op = VALUE()))
                goto out;
        } else if (strcmp(a, "--type") == 0) {
            if (!(type_ops[ntypes++] = VALUE()))
                goto out;
        } else if (strcmp(a, "--key-file") == 0) {
            if (!(key_file = VALUE()))
                goto out;
        } else if (strncmp(a, "--key", 5) == 0 && (a[5] == '\0' || a[5] == '=')) {
            fprintf(stderr, "%s: keys are not taken on the command line (they end up in "
                            "shell history and ps); use --key-file FILE or QINGLANG_KEY\n", progname);
            goto out;
        } else if (strcmp(a, "--decrypt") == 0) {
            decrypt = 1;
        } else if (strcmp(a, "--dry-run") == 0) {
            dry_run = 1;
        } else if (strcmp(a, "--stats") == 0) {
            stats = 1;
        } else if (strcmp(a, "--rules") == 0) {
            if (!(rule_files[ra.count++] = VALUE()))
                goto out;
        } else if (strcmp(a, "--no-builtin") == 0) {
            ra.builtin = 0;
        } else if (strcmp(a, "--exclude") == 0) {
            if (!(globs[nglobs++] = VALUE()))
                goto out;
        } else if (strcmp(a, "--encoding") == 0) {
            const char *v = VALUE();
            if (!v)
                goto out;
            if (parse_encoding(v, &opts.encoding) != 0)
                goto out;
        } else if (strcmp(a, "--today") == 0) {
            const char *v = VALUE();
            if (!v || parse_date(v, &opts.today) != 0) {
                fprintf(stderr, "%s: --today needs a date as YYYY-MM-DD\n", progname);
                goto out;
            }
        } else if (strcmp(a, "--min-confidence") == 0) {
            const char *v = VALUE();
            char *end = NULL;
            double x = v ? strtod(v, &end) : -1;
            if (!v || *end || !(x >= 0 && x <= 1)) {
                fprintf(stderr, "%s: --min-confidence needs a number from 0 to 1\n", progname);
                goto out;
            }
            opts.min_confidence = x;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            redact_usage(stdout);
            rc = EXIT_CLEAN;
            goto out;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "%s: unknown option '%s'\n", progname, a);
            redact_usage(stderr);
            goto out;
        } else {
            paths[npaths++] = a;
        }
#undef VALUE
    }
    if (npaths == 0)
        paths[npaths++] = "-";
    if (in_place && output) {
        fprintf(stderr, "%s: --in-place and -o exclude each other\n", progname);
        goto out;
    }

    /* The policy: a file, then the command line's overrides. */
    if (policy_file) {
        uint8_t *text;
        size_t n;
        if (read_file(policy_file, &text, &n) != 0) {
            fprintf(stderr, "%s: %s: %s\n", progname, policy_file, strerror(errno));
            goto out;
        }
        char err[512];
        ql_status st = ql_policy_parse(policy_file, text, n, &policy, err, sizeof err);
        free(text);
        if (st != QL_OK) {
            fprintf(stderr, "%s\n", st == QL_ERULE ? err : ql_status_message(st));
            goto out;
        }
    } else if (ql_policy_create(&policy) != QL_OK) {
        die_oom();
    } else if (decrypt && !default_op) {
        /* What --decrypt undoes is fpe: without a policy, every type. */
        ql_policy_set(policy, "*", QL_OP_FPE);
    }
    if (default_op) {
        int op = ql_operator_from_name(default_op);
        if (op < 0) {
            fprintf(stderr, "%s: unknown operator '%s' (keep, mask, tag, hash, fpe, drop)\n", progname, default_op);
            goto out;
        }
        ql_policy_set(policy, "*", (ql_operator)op);
    }
    for (size_t i = 0; i < ntypes; i++) {
        const char *eq = strchr(type_ops[i], '=');
        int op = eq ? ql_operator_from_name(eq + 1) : -1;
        if (!eq || eq == type_ops[i] || op < 0) {
            fprintf(stderr, "%s: --type takes NAME=OPERATOR, e.g. cn_mobile_phone=fpe\n", progname);
            goto out;
        }
        char *name = strndup(type_ops[i], (size_t)(eq - type_ops[i]));
        if (!name)
            die_oom();
        ql_policy_set(policy, name, (ql_operator)op);
        free(name);
    }

    /* The key, only when an operator needs one. */
    if (ql_policy_needs_key(policy) || decrypt) {
        const char *env = getenv("QINGLANG_KEY");
        if (key_file) {
            if (read_file(key_file, &key, &key_len) != 0) {
                fprintf(stderr, "%s: %s: %s\n", progname, key_file, strerror(errno));
                goto out;
            }
        } else if (env && *env) {
            key_len = strlen(env);
            key = malloc(key_len + 1);
            if (!key)
                die_oom();
            memcpy(key, env, key_len);
        }
        if (key)
            key_len = key_bytes(key, key_len);
        if (key_len < 16) {
            fprintf(stderr, "%s: the hash and fpe operators need a key of at least 16 bytes: "
                            "give --key-file FILE or set QINGLANG_KEY (hex or text)\n", progname);
            goto out;
        }
    }
    ql_status st = ql_redactor_create(policy, key, key_len, &redactor);
    if (st != QL_OK) {
        fprintf(stderr, "%s: %s\n", progname, ql_status_message(st));
        goto out;
    }
    if (!(rules = build_rules(&ra)))
        goto out;
    if (ql_scanner_create(rules, NULL, &scanner) != QL_OK)
        die_oom();

    /* Where each input goes. */
    struct stat st0;
    int to_dir = 0;
    if (npaths > 1 || (stat(paths[0], &st0) == 0 && S_ISDIR(st0.st_mode)))
        to_dir = 1;
    if (to_dir && !output && !in_place && !dry_run) {
        fprintf(stderr, "%s: several inputs or a directory need -o DIR or --in-place\n", progname);
        goto out;
    }
    for (size_t i = 0; i < npaths; i++) {
        struct stat sb;
        if (strcmp(paths[i], "-") == 0)
            add_file(&files, "-", NULL);
        else if (stat(paths[i], &sb) == 0 && S_ISDIR(sb.st_mode))
            walk(&files, paths[i], globs, nglobs, 0);
        else if (!excluded(paths[i], globs, nglobs))
            add_file(&files, paths[i], paths[i]);
    }

    run r = {redactor, NULL, dry_run, decrypt, &cnt};
    int errors = 0;
    for (size_t i = 0; i < files.count; i++) {
        cli_file *f = &files.items[i];
        const char *src = f->open_path ? f->open_path : "-";
        r.path = f->path;
        if (in_place && !f->open_path) {
            fprintf(stderr, "%s: --in-place cannot rewrite standard input\n", progname);
            errors++;
            continue;
        }
        int fd = open_input(src);
        if (fd < 0) {
            fprintf(stderr, "%s: %s: %s\n", progname, f->path, strerror(errno));
            errors++;
            continue;
        }
        struct stat sb;
        mode_t mode = 0644;
        if (fstat(fd, &sb) == 0)
            mode = sb.st_mode & 07777;
        int res;
        if (dry_run) {
            res = redact_fd(fd, f->path, NULL, scanner, &r, &opts);
        } else if (in_place) {
            res = redact_to_file(fd, f->path, f->open_path, mode, scanner, &r, &opts);
        } else if (output && to_dir) {
            /* Mirror the tree: the path below the input directory. */
            const char *rel = f->path;
            for (size_t k = 0; k < npaths; k++) {
                size_t l = strlen(paths[k]);
                while (l > 1 && paths[k][l - 1] == '/')
                    l--;      /* tree/ and tree name the same directory */
                if (strncmp(f->path, paths[k], l) == 0 && f->path[l] == '/') {
                    rel = f->path + l + 1;
                    break;
                }
            }
            while (*rel == '/')
                rel++;
            size_t tl = strlen(output) + strlen(rel) + 2;
            char *target = malloc(tl);
            if (!target)
                die_oom();
            snprintf(target, tl, "%s/%s", output, rel);
            char *dcopy = xstrdup(target);
            res = mkdirs(dirname(dcopy));
            free(dcopy);
            if (res == 0)
                res = redact_to_file(fd, f->path, target, mode, scanner, &r, &opts);
            else
                fprintf(stderr, "%s: %s: %s\n", progname, target, strerror(errno));
            free(target);
        } else if (output) {
            /* A new file gets the permissions the umask allows. */
            mode_t mask = umask(0);
            umask(mask);
            res = redact_to_file(fd, f->path, output, 0666 & ~mask, scanner, &r, &opts);
        } else {
            res = redact_fd(fd, f->path, stdout, scanner, &r, &opts);
            if (fflush(stdout) != 0)
                res = -1;
        }
        if (fd > 0)
            close(fd);
        if (res != 0)
            errors++;
    }
    if (stats) {
        fprintf(stderr, "qinglang: %zu file%s, %zu value%s %s\n", files.count,
                files.count == 1 ? "" : "s", cnt.total, cnt.total == 1 ? "" : "s",
                decrypt ? "decrypted" : "redacted");
        for (size_t i = 0; i < cnt.ntypes; i++)
            fprintf(stderr, "  %-24s %zu\n", cnt.types[i], cnt.n[i]);
    }
    rc = errors ? EXIT_ERROR : cnt.total ? EXIT_FOUND : EXIT_CLEAN;
out:
    for (size_t i = 0; i < files.count; i++) {
        free(files.items[i].path);
        free(files.items[i].open_path);
        free(files.items[i].error);
    }
    free(files.items);
    if (key) {
        memset(key, 0, key_len);
        free(key);
    }
    ql_scanner_destroy(scanner);
    ql_rules_destroy(rules);
    ql_redactor_destroy(redactor);
    ql_policy_destroy(policy);
    free(paths);
    free(globs);
    free(rule_files);
    free(type_ops);
    return rc;
}
