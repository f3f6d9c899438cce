/*
 * replay.c — runs a fuzz target over saved inputs, without libFuzzer.
 *
 * Linked with one fuzz/fuzz_NAME.c and the library, it calls
 * LLVMFuzzerTestOneInput once for every regular file named on the command
 * line or found (not recursively) in a directory named there, in sorted
 * order so that runs are reproducible.  This is how the seed corpora and
 * the saved crashes become ordinary regression tests (SQLite's fuzzcheck):
 * tests/cli/fuzz-replay.sh runs it in `make test` under ASan and UBSan.
 * A broken promise aborts inside the target; with -v each file's name is
 * printed before it runs, so the last name printed is the culprit.  A leak
 * is reported only at exit, when no name tells which input leaked; with -l
 * (under LeakSanitizer) the heap is checked after every input instead.
 *
 *     fuzz-replay-scan [-v] [-l] DIR|FILE...
 *
 * Exit status: 0 when every input ran, 1 when -l found a leak, 2 when an
 * input could not be read.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* The largest input the fuzzers are run with (-max_len). */
#define MAX_REPLAY_INPUT (1u << 20)

static int verbose;
static int leak_check;
static int leaked;

/* LeakSanitizer's interface, when the program is built with it (weak: a
 * build without sanitizers leaves it NULL). */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static int run_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        perror(path);
        return -1;
    }
    uint8_t *data = malloc(MAX_REPLAY_INPUT);
    if (!data) {
        fclose(file);
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    size_t size = fread(data, 1, MAX_REPLAY_INPUT, file);
    int failed = ferror(file) || !feof(file);
    fclose(file);
    if (failed) {
        fprintf(stderr, "%s: unreadable or larger than %u bytes\n", path, MAX_REPLAY_INPUT);
        free(data);
        return -1;
    }
    if (verbose)
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
    /* An exact-size copy, so that ASan catches a read past the input. */
    uint8_t *exact = malloc(size ? size : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    memcpy(exact, data, size);
    free(data);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    if (leak_check && __lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check()) {
        fprintf(stderr, "replay: %s leaks (report above)\n", path);
        leaked = 1;
    }
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in `dir`; returns the number run, -1 on error. */
static long run_directory(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    char **names = NULL;
    size_t count = 0, capacity = 0;
    long result = 0;
    struct dirent *entry;
    while ((entry = readdir(d))) {
        if (entry->d_name[0] == '.')
            continue;
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            char **grown = realloc(names, capacity * sizeof *names);
            if (!grown) {
                result = -1;
                goto out;
            }
            names = grown;
        }
        size_t length = strlen(dir) + strlen(entry->d_name) + 2;
        names[count] = malloc(length);
        if (!names[count]) {
            result = -1;
            goto out;
        }
        snprintf(names[count], length, "%s/%s", dir, entry->d_name);
        count++;
    }
    qsort(names, count, sizeof *names, compare_names);
    for (size_t i = 0; i < count; i++) {
        struct stat st;
        if (stat(names[i], &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (run_file(names[i]) != 0) {
            result = -1;
            goto out;
        }
        result++;
    }
out:
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return result;
}

int main(int argc, char **argv)
{
    long total = 0;
    int status = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            verbose = 1;
            continue;
        }
        if (strcmp(argv[i], "-l") == 0) {
            leak_check = 1;
            continue;
        }
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            status = 2;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            long n = run_directory(argv[i]);
            if (n < 0)
                status = 2;
            else
                total += n;
        } else if (run_file(argv[i]) == 0) {
            total++;
        } else {
            status = 2;
        }
    }
    fprintf(stderr, "replay: %ld inputs\n", total);
    return status ? status : leaked;
}
