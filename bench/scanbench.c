/*
 * scanbench.c — the engine's own throughput, without the command around it.
 *
 *     scanbench FILE [RUNS] [redact]
 *
 * Compiles the built-in rules once, then scans FILE (read into memory) on
 * one thread RUNS times (default 5) with ql_scan and a callback that only
 * counts, and prints the best time.  With `redact`, it instead streams the
 * file through ql_redact_* with the default policy (mask everything) in
 * 256 KiB writes, output discarded.  `qinglang scan` adds rule compilation
 * (about 0.1 s, Hyperscan's compiler), file mapping and formatting the
 * findings as JSON; bench/run.sh reports all three figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "qinglang.h"

static int count(const ql_finding *f, void *user)
{
    (void)f;
    (*(size_t *)user)++;
    return 0;
}

static int discard(const uint8_t *data, size_t n, void *user)
{
    (void)data;
    *(size_t *)user += n;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: scanbench FILE [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
    int redact = argc > 3 && argv[3][0] == 'r';
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "scanbench: cannot read %s\n", argv[1]);
        return 2;
    }
    fclose(f);
    ql_compiler *c;
    ql_rules *rules;
    ql_scanner *s;
    if (ql_compiler_create(NULL, &c) != QL_OK || ql_compiler_add_builtin(c) != QL_OK ||
        ql_compiler_compile(c, &rules) != QL_OK || ql_scanner_create(rules, NULL, &s) != QL_OK) {
        fprintf(stderr, "scanbench: cannot build the rules\n");
        return 2;
    }
    ql_compiler_destroy(c);
    ql_scan_options o;
    ql_scan_options_init(&o);
    o.today = 20261125;
    double best = 1e30;
    size_t found = 0, written = 0;
    ql_policy *policy = NULL;
    ql_redactor *redactor = NULL;
    if (redact && (ql_policy_create(&policy) != QL_OK ||
                   ql_redactor_create(policy, NULL, 0, &redactor) != QL_OK)) {
        fprintf(stderr, "scanbench: cannot make a redactor\n");
        return 2;
    }
    for (int r = 0; r < runs; r++) {
        found = 0;
        written = 0;
        double t0 = now();
        ql_status st = QL_OK;
        if (redact) {
            ql_redact_stream *rs;
            st = ql_redact_open(s, redactor, &o, 0, discard, &written, count, &found, &rs);
            for (long at = 0; st == QL_OK && at < n; at += 256 << 10) {
                long len = n - at < (256 << 10) ? n - at : (256 << 10);
                st = ql_redact_write(rs, buf + at, (size_t)len);
            }
            if (st == QL_OK)
                st = ql_redact_finish(rs);
            ql_redact_close(rs);
        } else {
            st = ql_scan(s, buf, (size_t)n, &o, count, &found);
        }
        if (st != QL_OK) {
            fprintf(stderr, "scanbench: %s\n", ql_status_message(st));
            return 2;
        }
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    printf("%.4f %.1f %zu\n", best, n / 1e6 / best, found);
    ql_redactor_destroy(redactor);
    ql_policy_destroy(policy);
    ql_scanner_destroy(s);
    ql_rules_destroy(rules);
    free(buf);
    return 0;
}
