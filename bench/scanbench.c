/*
 * scanbench.c — the engine's own throughput, without the command around it.
 *
 *     scanbench FILE [RUNS]
 *
 * Compiles the built-in rules once, then scans FILE (read into memory) on
 * one thread RUNS times (default 5) with ql_scan and a callback that only
 * counts, and prints the best time.  `qinglang scan` adds rule compilation
 * (about 0.1 s, Hyperscan's compiler), file mapping and formatting the
 * findings as JSON; bench/run.sh reports both figures.
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
    size_t found = 0;
    for (int r = 0; r < runs; r++) {
        found = 0;
        double t0 = now();
        if (ql_scan(s, buf, (size_t)n, &o, count, &found) != QL_OK) {
            fprintf(stderr, "scanbench: scan failed\n");
            return 2;
        }
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    printf("%.4f %.1f %zu\n", best, n / 1e6 / best, found);
    ql_scanner_destroy(s);
    ql_rules_destroy(rules);
    free(buf);
    return 0;
}
