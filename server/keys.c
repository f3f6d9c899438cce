/*
 * keys.c — API keys: `qinglang keys add|list|revoke` and the keys file.
 *
 * A key is shown once, when it is made; the file keeps only its SHA-256,
 * so a copy of the file (a backup, a leaked config directory) does not
 * let anyone call the service.  Keys are 256 random bits, so an unsalted
 * hash is enough: there is nothing to guess.  One line per key:
 *
 *     NAME <TAB> CREATED (Unix seconds) <TAB> SHA-256 hex
 *
 * The file is replaced atomically (temporary file, fsync, rename, fsync of
 * the directory) with mode 0600, so a crash leaves the old list or the new
 * one and the server never reads half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "server.h"

int srv_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > SRV_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static void hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void srv_key_hash(const char *key, size_t length, char out[65])
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, length, digest);
    hex(digest, sizeof digest, out);
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int srv_keys_load(const char *path, srv_key **keys, size_t *count,
                  char *error, size_t error_size)
{
    int rc = -1;
    uint8_t *text = NULL;
    size_t length = 0, n = 0, lineno = 0;
    srv_key *list = NULL;

    *keys = NULL;
    *count = 0;
    if (srv_read_file(path, (size_t)SRV_KEYS_MAX * 160, &text, &length) != 0) {
        if (errno == ENOENT) {
            rc = 0;
            goto out;
        }
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        goto out;
    }
    list = calloc(SRV_KEYS_MAX, sizeof *list);
    if (!list) {
        snprintf(error, error_size, "%s: out of memory", path);
        goto out;
    }
    size_t pos = 0;
    while (pos < length) {
        size_t end = pos;
        while (end < length && text[end] != '\n')
            end++;
        lineno++;
        char line[256];
        size_t len = end - pos;
        if (len >= sizeof line) {
            snprintf(error, error_size, "%s:%zu: line too long", path, lineno);
            goto out;
        }
        memcpy(line, text + pos, len);
        line[len] = '\0';
        pos = end + 1;
        if (len == 0 || line[0] == '#')
            continue;
        char *save = NULL;
        char *name = strtok_r(line, "\t", &save);
        char *created = strtok_r(NULL, "\t", &save);
        char *hash = strtok_r(NULL, "\t", &save);
        if (!name || !created || !hash || !srv_name_valid(name) || !is_hex64(hash)) {
            snprintf(error, error_size, "%s:%zu: expected NAME<TAB>CREATED<TAB>SHA256", path, lineno);
            goto out;
        }
        if (n == SRV_KEYS_MAX) {
            snprintf(error, error_size, "%s: more than %d keys", path, SRV_KEYS_MAX);
            goto out;
        }
        memcpy(list[n].name, name, strlen(name) + 1);
        memcpy(list[n].hash, hash, 65);
        list[n].created = strtoll(created, NULL, 10);
        n++;
    }
    *keys = list;
    *count = n;
    list = NULL;
    rc = 0;
out:
    free(list);
    free(text);
    return rc;
}

/* Writes the list to a temporary file beside `path` and renames it over. */
static int keys_save(const char *path, const srv_key *keys, size_t count)
{
    int rc = -1, fd = -1, dfd = -1;
    FILE *f = NULL;
    char tmp[4096], dir[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof tmp ||
        snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkstemp(tmp);
    if (fd < 0)
        goto out;
    if (fchmod(fd, 0600) != 0)
        goto out;
    f = fdopen(fd, "w");
    if (!f)
        goto out;
    fd = -1;
    fputs("# qinglang API keys: NAME<TAB>CREATED<TAB>SHA-256 of the key\n", f);
    for (size_t i = 0; i < count; i++)
        fprintf(f, "%s\t%lld\t%s\n", keys[i].name, keys[i].created, keys[i].hash);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        goto out;
    if (fclose(f) != 0) {
        f = NULL;
        goto out;
    }
    f = NULL;
    if (rename(tmp, path) != 0)
        goto out;
    tmp[0] = '\0';
    /* The rename is durable only once the directory is. */
    dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0)
        fsync(dfd);
    rc = 0;
out:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (rc != 0 && tmp[0]) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
    }
    return rc;
}

static int keys_usage(void)
{
    fputs("usage: qinglang keys add NAME --keys FILE\n"
          "       qinglang keys list --keys FILE\n"
          "       qinglang keys revoke NAME --keys FILE\n", stderr);
    return 2;
}

int ql_keys_main(int argc, char **argv)
{
    int rc = 2;
    const char *action = NULL, *name = NULL, *file = NULL;
    srv_key *keys = NULL;
    size_t count = 0;
    char error[SRV_ERROR_SIZE];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (!action)
            action = argv[i];
        else if (!name)
            name = argv[i];
        else
            return keys_usage();
    }
    if (!action || !file)
        return keys_usage();
    int needs_name = strcmp(action, "add") == 0 || strcmp(action, "revoke") == 0;
    if (needs_name != (name != NULL) || (!needs_name && strcmp(action, "list") != 0))
        return keys_usage();
    if (name && !srv_name_valid(name)) {
        fprintf(stderr, "qinglang: key name '%s': use 1 to %d of A-Z a-z 0-9 _ . -\n",
                name, SRV_NAME_MAX);
        goto out;
    }
    if (srv_keys_load(file, &keys, &count, error, sizeof error) != 0) {
        fprintf(stderr, "qinglang: %s\n", error);
        goto out;
    }
    if (!keys) {
        keys = calloc(SRV_KEYS_MAX, sizeof *keys);
        if (!keys) {
            fputs("qinglang: out of memory\n", stderr);
            goto out;
        }
    }
    size_t found = count;
    for (size_t i = 0; name && i < count; i++)
        if (strcmp(keys[i].name, name) == 0)
            found = i;

    if (strcmp(action, "list") == 0) {
        for (size_t i = 0; i < count; i++) {
            char when[32] = "";
            time_t t = (time_t)keys[i].created;
            struct tm tm;
            if (gmtime_r(&t, &tm))
                strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            printf("%s\t%s\n", keys[i].name, when);
        }
        rc = 0;
    } else if (strcmp(action, "add") == 0) {
        if (found != count) {
            fprintf(stderr, "qinglang: a key named '%s' exists; revoke it first\n", name);
            goto out;
        }
        if (count == SRV_KEYS_MAX) {
            fprintf(stderr, "qinglang: %s holds %d keys already\n", file, SRV_KEYS_MAX);
            goto out;
        }
        uint8_t secret[32];
        char key[4 + 65];
        if (RAND_bytes(secret, sizeof secret) != 1) {
            fputs("qinglang: no randomness from the system\n", stderr);
            goto out;
        }
        memcpy(key, "qlk_", 4);
        hex(secret, sizeof secret, key + 4);
        OPENSSL_cleanse(secret, sizeof secret);
        memcpy(keys[count].name, name, strlen(name) + 1);
        srv_key_hash(key, strlen(key), keys[count].hash);
        keys[count].created = (long long)time(NULL);
        if (keys_save(file, keys, count + 1) != 0) {
            fprintf(stderr, "qinglang: %s: %s\n", file, strerror(errno));
            OPENSSL_cleanse(key, sizeof key);
            goto out;
        }
        printf("%s\n", key);
        OPENSSL_cleanse(key, sizeof key);
        rc = 0;
    } else {
        if (found == count) {
            fprintf(stderr, "qinglang: no key named '%s'\n", name);
            goto out;
        }
        memmove(&keys[found], &keys[found + 1], (count - found - 1) * sizeof *keys);
        if (keys_save(file, keys, count - 1) != 0) {
            fprintf(stderr, "qinglang: %s: %s\n", file, strerror(errno));
            goto out;
        }
        rc = 0;
    }
out:
    free(keys);
    return rc;
}
