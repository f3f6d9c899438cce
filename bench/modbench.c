/*
 * modbench — the moderation engine alone, for bench/moderate.sh.
 *
 *   modbench LEXICON CORPUS [RUNS]
 *
 * Compiles LEXICON (a YAML lexicon or a plain word list) and moderates
 * CORPUS line by line (each line one message, as `qinglang scan
 * --moderate` does), best of RUNS (default 3) wall-clock passes, on one
 * thread, without the PII engine; with MODBENCH_MODEL set, the built-in
 * model reads every message too.  Prints one line of key=value pairs:
 * compile time, MB/s (10^6 bytes), hits and messages not passed.
 */
#include <qinglang.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: modbench LEXICON CORPUS [RUNS]\n");
        return 2;
    }
    int runs = argc == 4 ? (int)strtol(argv[3], NULL, 10) : 3;
    if (runs < 1)
        runs = 1;
    size_t llen, clen;
    uint8_t *lex = slurp(argv[1], &llen), *corpus = slurp(argv[2], &clen);
    if (!lex || !corpus) {
        fprintf(stderr, "modbench: cannot read input\n");
        return 2;
    }
    double t0 = now();
    ql_lexicon_compiler *c;
    ql_lexicon *lx;
    if (ql_lexicon_compiler_create(NULL, &c) != QL_OK ||
        ql_lexicon_compiler_add(c, argv[1], lex, llen) != QL_OK ||
        ql_lexicon_compile(c, &lx) != QL_OK) {
        fprintf(stderr, "modbench: lexicon does not compile\n");
        return 2;
    }
    double compile = now() - t0;
    ql_moderator *m;
    if (ql_moderator_create(lx, NULL, NULL, &m) != QL_OK)
        return 2;
    ql_model *model = NULL;
    if (getenv("MODBENCH_MODEL") &&
        (ql_model_load_builtin(NULL, &model) != QL_OK ||
         ql_moderator_set_model(m, model, NAN) != QL_OK)) {
        fprintf(stderr, "modbench: the built-in model does not load\n");
        return 2;
    }
    int whole = getenv("MODBENCH_WHOLE") != NULL;
    double best = 1e30;
    size_t hits = 0, flagged = 0, messages = 0;
    for (int r = 0; r < runs; r++) {
        hits = flagged = messages = 0;
        double t = now();
        size_t pos = 0;
        while (pos < clen) {
            const uint8_t *nl = whole ? NULL : memchr(corpus + pos, '\n', clen - pos);
            size_t end = nl ? (size_t)(nl - corpus) : clen;
            const ql_moderation *res;
            if (ql_moderate(m, corpus + pos, end - pos, &res) != QL_OK) {
                fprintf(stderr, "modbench: moderation failed\n");
                return 2;
            }
            hits += res->hit_count;
            flagged += res->decision != QL_DECISION_PASS;
            messages++;
            pos = end + 1;
        }
        double el = now() - t;
        if (el < best)
            best = el;
    }
    printf("words=%zu forms=%zu compile_s=%.3f mb_s=%.1f hits=%zu flagged=%zu messages=%zu\n",
           ql_lexicon_word_count(lx), ql_lexicon_form_count(lx), compile,
           (double)clen / best / 1e6, hits, flagged, messages);
    ql_moderator_destroy(m);
    ql_model_destroy(model);
    ql_lexicon_destroy(lx);
    ql_lexicon_compiler_destroy(c);
    free(lex);
    free(corpus);
    return 0;
}
