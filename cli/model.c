/*
 * model.c — `qinglang model`: train a moderation model on your own data,
 * or describe one (docs/moderate.md "Model").
 *
 *     qinglang model train [--bits N] [--epochs N] [--threshold X] -o OUT DATA.tsv...
 *     qinglang model info [FILE]
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define EXIT_OK    0
#define EXIT_ERROR 2

static void model_usage(FILE *out)
{
    fputs("usage: qinglang model train [OPTIONS] -o OUT DATA.tsv...\n"
          "       qinglang model info [FILE]\n"
          "\n"
          "train: a model from messages, one \"category<TAB>text\" a line (category\n"
          "'benign' for ordinary text, at most 7 others), for\n"
          "`qinglang scan --moderate --model OUT`.  The same data gives the same file.\n"
          "  -o, --output FILE     the model file (written atomically)\n"
          "  --bits N              2^N hashed features, 12..22 (default 17: 1 MiB)\n"
          "  --epochs N            passes over the data (default 6)\n"
          "  --threshold X         log-odds over 'benign' for review (default 1.5)\n"
          "info: classes, size and threshold of FILE (default the built-in model).\n"
          "\n"
          "exit status: 0 done, 2 error\n",
          out);
}

/* A temporary file beside `path`, fsync, rename over, fsync of the
 * directory: a reader sees the old file or the new one, never half. */
static int write_atomic(const char *path, const uint8_t *data, size_t len)
{
    char tmp[4096], dir[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof tmp ||
        snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -1;
    int rc = fchmod(fd, 0644);
    for (size_t off = 0; rc == 0 && off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = -1;
        else
            off += (size_t)w;
    }
    if (rc == 0)
        rc = fsync(fd);
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0)
        rc = rename(tmp, path);
    if (rc != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

static int number(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int model_train(int argc, char **argv)
{
    double bits = 17, epochs = 6, threshold = 1.5;
    const char *out = NULL;
    const char **inputs = xcalloc((size_t)argc + 1, sizeof *inputs);
    size_t n = 0;
    int rc = EXIT_ERROR;
    ql_model_trainer *t = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && has) {
            out = argv[++i];
        } else if (strcmp(a, "--bits") == 0 && has) {
            if (number(argv[++i], 12, 22, &bits) != 0 || bits != (unsigned)bits) {
                fprintf(stderr, "%s: --bits takes a whole number from 12 to 22\n", progname);
                goto done;
            }
        } else if (strcmp(a, "--epochs") == 0 && has) {
            if (number(argv[++i], 1, 1000, &epochs) != 0 || epochs != (unsigned)epochs) {
                fprintf(stderr, "%s: --epochs takes a whole number from 1 to 1000\n", progname);
                goto done;
            }
        } else if (strcmp(a, "--threshold") == 0 && has) {
            if (number(argv[++i], -100, 100, &threshold) != 0) {
                fprintf(stderr, "%s: --threshold takes a number from -100 to 100\n", progname);
                goto done;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            model_usage(stdout);
            rc = EXIT_OK;
            goto done;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "%s: unknown option or missing value '%s'\n", progname, a);
            model_usage(stderr);
            goto done;
        } else {
            inputs[n++] = a;
        }
    }
    if (!out || n == 0) {
        fprintf(stderr, "%s: model train needs -o OUT and training data\n", progname);
        model_usage(stderr);
        goto done;
    }
    if (ql_model_trainer_create((unsigned)bits, NULL, &t) != QL_OK)
        die_oom();
    for (size_t i = 0; i < n; i++) {
        uint8_t *data;
        size_t len, line;
        if (read_file(inputs[i], &data, &len) != 0) {
            fprintf(stderr, "%s: %s: %s\n", progname, inputs[i], strerror(errno));
            goto done;
        }
        ql_status st = ql_model_trainer_add_tsv(t, data, len, &line);
        free(data);
        if (st == QL_ERULE) {
            fprintf(stderr, "%s:%zu: not \"category<TAB>text\" (a category is a-z 0-9 . _ -, "
                    "at most 7 besides benign)\n", inputs[i], line);
            goto done;
        } else if (st != QL_OK) {
            fprintf(stderr, "%s: %s: %s\n", progname, inputs[i], ql_status_message(st));
            goto done;
        }
    }
    const uint8_t *m;
    size_t mlen;
    ql_status st = ql_model_trainer_train(t, (unsigned)epochs, threshold, &m, &mlen);
    if (st == QL_ESTATE) {
        fprintf(stderr, "%s: model train needs benign lines and at least one category\n", progname);
        goto done;
    } else if (st != QL_OK) {
        fprintf(stderr, "%s: model train: %s\n", progname, ql_status_message(st));
        goto done;
    }
    if (write_atomic(out, m, mlen) != 0) {
        fprintf(stderr, "%s: %s: %s\n", progname, out, strerror(errno));
        goto done;
    }
    rc = EXIT_OK;
done:
    ql_model_trainer_destroy(t);
    free(inputs);
    return rc;
}

static int model_info(int argc, char **argv)
{
    if (argc > 1) {
        model_usage(stderr);
        return EXIT_ERROR;
    }
    ql_model *m = cli_load_model(argc ? argv[0] : NULL);
    if (!m)
        return EXIT_ERROR;
    printf("threshold %g\nclasses %zu\n", ql_model_threshold(m), ql_model_class_count(m));
    for (size_t i = 0; i < ql_model_class_count(m); i++)
        printf("  %s\n", ql_model_class_name(m, i));
    ql_model_destroy(m);
    return EXIT_OK;
}

int cmd_model(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
        model_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? EXIT_ERROR : EXIT_OK;
    }
    if (strcmp(argv[0], "train") == 0)
        return model_train(argc - 1, argv + 1);
    if (strcmp(argv[0], "info") == 0)
        return model_info(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown model command '%s' (train, info)\n", progname, argv[0]);
    return EXIT_ERROR;
}
