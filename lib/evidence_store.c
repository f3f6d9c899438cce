/*
 * evidence_store.c — the evidence log's storage in one SQLite file.
 *
 * Four tables: `entries` (the canonical JSON of each entry and its
 * encrypted content, by index), `nodes` (the hash of every complete
 * subtree, leaves included, keyed by level and index so that a proof reads
 * O(log n) rows by primary key), `heads` (one signed tree head per
 * commit) and `meta` (format version, public key).  The journal is WAL and
 * synchronous=FULL, so COMMIT returns only after the log file is synced:
 * an entry is acknowledged only when a crash can no longer lose it.
 * Writers take the write lock at BEGIN (IMMEDIATE), so concurrent
 * processes append one after the other, each seeing the other's entries.
 *
 * This is the only file that speaks SQL; evidence.c sees the small
 * interface of evidence.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evidence.h"

/* Node keys pack (level, index) into one integer primary key: rowid
 * tables are SQLite's fastest point lookups. */
#define NODE_KEY(level, index) ((sqlite3_int64)(((uint64_t)(level) << 56) | (index)))
#define NODE_INDEX_MAX         ((uint64_t)1 << 56)

/* How long a writer waits for another process's transaction to finish. */
#define BUSY_TIMEOUT_MS 30000

enum {
    ST_PUT_ENTRY, ST_GET_ENTRY, ST_PUT_NODE, ST_GET_NODE, ST_COUNT_NODES, ST_COUNT_ENTRIES,
    ST_PUT_HEAD, ST_GET_HEAD, ST_LAST_HEAD, ST_PUT_META, ST_GET_META,
    ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_COUNT
};

static const char *const statement_sql[ST_COUNT] = {
    [ST_PUT_ENTRY]     = "INSERT INTO entries(id, entry, content) VALUES (?1, ?2, ?3)",
    [ST_GET_ENTRY]     = "SELECT entry, content FROM entries WHERE id = ?1",
    [ST_PUT_NODE]      = "INSERT INTO nodes(id, hash) VALUES (?1, ?2)",
    [ST_GET_NODE]      = "SELECT hash FROM nodes WHERE id = ?1",
    [ST_COUNT_NODES]   = "SELECT count(*) FROM nodes",
    [ST_COUNT_ENTRIES] = "SELECT count(*) FROM entries",
    [ST_PUT_HEAD]      = "INSERT INTO heads(size, time_ms, root, signature) VALUES (?1, ?2, ?3, ?4)",
    [ST_GET_HEAD]      = "SELECT size, time_ms, root, signature FROM heads WHERE size = ?1",
    [ST_LAST_HEAD]     = "SELECT size, time_ms, root, signature FROM heads ORDER BY size DESC LIMIT 1",
    [ST_PUT_META]      = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
    [ST_GET_META]      = "SELECT value FROM meta WHERE key = ?1",
    [ST_BEGIN]         = "BEGIN IMMEDIATE",
    [ST_COMMIT]        = "COMMIT",
    [ST_ROLLBACK]      = "ROLLBACK",
};

static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE entries(id INTEGER PRIMARY KEY, entry BLOB NOT NULL, content BLOB);"
    "CREATE TABLE nodes(id INTEGER PRIMARY KEY, hash BLOB NOT NULL);"
    "CREATE TABLE heads(size INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    " root BLOB NOT NULL, signature BLOB NOT NULL);";

typedef struct sqlite_store {
    ql__evidence_store base;
    sqlite3      *db;
    sqlite3_stmt *statements[ST_COUNT];
} sqlite_store;

static ql_status fail(sqlite_store *s, const char *what)
{
    snprintf(s->base.error, sizeof s->base.error, "%s: %s", what,
             s->db ? sqlite3_errmsg(s->db) : "no database");
    return QL_EIO;
}

/* A cached statement, reset and ready to bind. */
static sqlite3_stmt *statement(sqlite_store *s, int which)
{
    sqlite3_stmt *st = s->statements[which];
    if (!st) {
        if (sqlite3_prepare_v3(s->db, statement_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                               &st, NULL) != SQLITE_OK)
            return NULL;
        s->statements[which] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static ql_status run_simple(sqlite_store *s, int which, const char *what)
{
    sqlite3_stmt *st = statement(s, which);
    if (!st)
        return fail(s, what);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? QL_OK : fail(s, what);
}

static ql_status store_begin(ql__evidence_store *base)
{
    return run_simple((sqlite_store *)base, ST_BEGIN, "cannot start a transaction");
}

static ql_status store_commit(ql__evidence_store *base)
{
    return run_simple((sqlite_store *)base, ST_COMMIT, "cannot commit");
}

static void store_rollback(ql__evidence_store *base)
{
    sqlite_store *s = (sqlite_store *)base;
    if (!sqlite3_get_autocommit(s->db))
        (void)run_simple(s, ST_ROLLBACK, "cannot roll back");
}

static ql_status store_put_entry(ql__evidence_store *base, uint64_t index,
                                 const uint8_t *entry, size_t entry_length,
                                 const uint8_t *content, size_t content_length, int has_content)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st = statement(s, ST_PUT_ENTRY);
    if (!st || index > INT64_MAX || entry_length > INT32_MAX || content_length > INT32_MAX)
        return st ? QL_ELIMIT : fail(s, "cannot store an entry");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
    sqlite3_bind_blob(st, 2, entry, (int)entry_length, SQLITE_STATIC);
    if (has_content)
        sqlite3_bind_blob(st, 3, content ? (const void *)content : "", (int)content_length,
                          SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? QL_OK : fail(s, "cannot store an entry");
}

static ql_status copy_blob(sqlite3_stmt *st, int column, uint8_t **out, size_t *length)
{
    int n = sqlite3_column_bytes(st, column);
    const void *p = sqlite3_column_blob(st, column);
    uint8_t *copy = malloc((size_t)n + 1);
    if (!copy)
        return QL_ENOMEM;
    if (n)
        memcpy(copy, p, (size_t)n);
    copy[n] = '\0';
    *out = copy;
    *length = (size_t)n;
    return QL_OK;
}

static ql_status store_get_entry(ql__evidence_store *base, uint64_t index,
                                 uint8_t **entry, size_t *entry_length,
                                 uint8_t **content, size_t *content_length)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st = statement(s, ST_GET_ENTRY);
    ql_status status = QL_OK;
    *entry = *content = NULL;
    *entry_length = *content_length = 0;
    if (!st)
        return fail(s, "cannot read an entry");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        snprintf(s->base.error, sizeof s->base.error, "entry %llu is missing",
                 (unsigned long long)index);
        status = QL_EVERIFY;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        status = fail(s, "cannot read an entry");
        goto out;
    }
    status = copy_blob(st, 0, entry, entry_length);
    if (status == QL_OK && sqlite3_column_type(st, 1) != SQLITE_NULL)
        status = copy_blob(st, 1, content, content_length);
out:
    sqlite3_reset(st);
    if (status != QL_OK) {
        free(*entry);
        free(*content);
        *entry = *content = NULL;
    }
    return status;
}

static ql_status store_put_node(ql__evidence_store *base, unsigned level, uint64_t index,
                                const uint8_t hash[32])
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st = statement(s, ST_PUT_NODE);
    if (!st)
        return fail(s, "cannot store a node");
    if (level > 63 || index >= NODE_INDEX_MAX)
        return QL_ELIMIT;
    sqlite3_bind_int64(st, 1, NODE_KEY(level, index));
    sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? QL_OK : fail(s, "cannot store a node");
}

static ql_status store_get_node(ql__evidence_store *base, unsigned level, uint64_t index,
                                uint8_t hash[32])
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st = statement(s, ST_GET_NODE);
    ql_status status = QL_OK;
    if (!st)
        return fail(s, "cannot read a node");
    if (level > 63 || index >= NODE_INDEX_MAX)
        return QL_ELIMIT;
    sqlite3_bind_int64(st, 1, NODE_KEY(level, index));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
        memcpy(hash, sqlite3_column_blob(st, 0), 32);
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        snprintf(s->base.error, sizeof s->base.error,
                 "the node at level %u, index %llu is %s", level, (unsigned long long)index,
                 rc == SQLITE_ROW ? "not 32 bytes" : "missing");
        status = QL_EVERIFY;
    } else {
        status = fail(s, "cannot read a node");
    }
    sqlite3_reset(st);
    return status;
}

static ql_status count_rows(sqlite_store *s, int which, uint64_t *count)
{
    sqlite3_stmt *st = statement(s, which);
    if (!st)
        return fail(s, "cannot count rows");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *count = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? QL_OK : fail(s, "cannot count rows");
}

static ql_status store_count_nodes(ql__evidence_store *base, uint64_t *count)
{
    return count_rows((sqlite_store *)base, ST_COUNT_NODES, count);
}

static ql_status store_count_entries(ql__evidence_store *base, uint64_t *count)
{
    return count_rows((sqlite_store *)base, ST_COUNT_ENTRIES, count);
}

static ql_status store_put_head(ql__evidence_store *base, const ql__evidence_head *head)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st = statement(s, ST_PUT_HEAD);
    if (!st)
        return fail(s, "cannot store a tree head");
    if (head->size > INT64_MAX || head->time_ms > INT64_MAX)
        return QL_ELIMIT;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)head->size);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)head->time_ms);
    sqlite3_bind_blob(st, 3, head->root, sizeof head->root, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, head->signature, sizeof head->signature, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? QL_OK : fail(s, "cannot store a tree head");
}

/* Copies a head row.  Blobs of the wrong size are copied as far as they
 * go (zero-filled): the signature check then fails and says so. */
static void read_head(sqlite3_stmt *st, ql__evidence_head *head)
{
    memset(head, 0, sizeof *head);
    head->size = (uint64_t)sqlite3_column_int64(st, 0);
    head->time_ms = (uint64_t)sqlite3_column_int64(st, 1);
    int n = sqlite3_column_bytes(st, 2);
    if (n > 0)
        memcpy(head->root, sqlite3_column_blob(st, 2),
               (size_t)n < sizeof head->root ? (size_t)n : sizeof head->root);
    n = sqlite3_column_bytes(st, 3);
    if (n > 0)
        memcpy(head->signature, sqlite3_column_blob(st, 3),
               (size_t)n < sizeof head->signature ? (size_t)n : sizeof head->signature);
}

static ql_status store_get_head(ql__evidence_store *base, uint64_t size, ql__evidence_head *head)
{
    sqlite_store *s = (sqlite_store *)base;
    int last = size == UINT64_MAX;
    sqlite3_stmt *st = statement(s, last ? ST_LAST_HEAD : ST_GET_HEAD);
    ql_status status = QL_OK;
    if (!st)
        return fail(s, "cannot read a tree head");
    if (!last && size > INT64_MAX)
        return QL_EINVAL;
    if (!last)
        sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_head(st, head);
    } else if (rc == SQLITE_DONE) {
        if (last)
            snprintf(s->base.error, sizeof s->base.error, "the log has no signed tree head");
        else
            snprintf(s->base.error, sizeof s->base.error,
                     "no signed tree head of size %llu (heads exist only for sizes a commit left)",
                     (unsigned long long)size);
        status = QL_EINVAL;
    } else {
        status = fail(s, "cannot read a tree head");
    }
    sqlite3_reset(st);
    return status;
}

static ql_status store_put_meta(ql__evidence_store *base, const char *key,
                                const uint8_t *value, size_t length)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st = statement(s, ST_PUT_META);
    if (!st)
        return fail(s, "cannot store metadata");
    if (length > INT32_MAX)
        return QL_ELIMIT;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, value ? (const void *)value : "", (int)length, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? QL_OK : fail(s, "cannot store metadata");
}

static ql_status store_get_meta(ql__evidence_store *base, const char *key,
                                uint8_t **value, size_t *length)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st = statement(s, ST_GET_META);
    ql_status status;
    if (!st)
        return fail(s, "cannot read metadata");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        status = copy_blob(st, 0, value, length);
    } else if (rc == SQLITE_DONE) {
        snprintf(s->base.error, sizeof s->base.error, "the log has no '%s' (not an evidence log?)",
                 key);
        status = QL_EINVAL;
    } else {
        status = fail(s, "cannot read metadata");
    }
    sqlite3_reset(st);
    return status;
}

static ql_status store_scan_entries(ql__evidence_store *base, ql__entry_row_cb cb, void *user)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st = NULL;
    ql_status status = QL_OK;
    if (sqlite3_prepare_v2(s->db, "SELECT id, entry, content FROM entries ORDER BY id", -1,
                           &st, NULL) != SQLITE_OK)
        return fail(s, "cannot read the entries");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int has_content = sqlite3_column_type(st, 2) != SQLITE_NULL;
        const uint8_t *entry = sqlite3_column_blob(st, 1);
        size_t entry_length = (size_t)sqlite3_column_bytes(st, 1);
        const uint8_t *content = sqlite3_column_blob(st, 2);
        size_t content_length = (size_t)sqlite3_column_bytes(st, 2);
        if (cb((uint64_t)sqlite3_column_int64(st, 0), entry ? entry : (const uint8_t *)"",
               entry_length, content, content_length, has_content, user)) {
            status = QL_EABORTED;
            goto out;
        }
    }
    if (rc != SQLITE_DONE)
        status = fail(s, "cannot read the entries");
out:
    sqlite3_finalize(st);
    return status;
}

static ql_status store_scan_heads(ql__evidence_store *base, ql__head_row_cb cb, void *user)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st = NULL;
    ql_status status = QL_OK;
    if (sqlite3_prepare_v2(s->db, "SELECT size, time_ms, root, signature FROM heads ORDER BY size",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(s, "cannot read the tree heads");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ql__evidence_head head;
        read_head(st, &head);
        if (cb(&head, user)) {
            status = QL_EABORTED;
            goto out;
        }
    }
    if (rc != SQLITE_DONE)
        status = fail(s, "cannot read the tree heads");
out:
    sqlite3_finalize(st);
    return status;
}

static void store_close(ql__evidence_store *base)
{
    sqlite_store *s = (sqlite_store *)base;
    if (!s)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->statements[i]);
    sqlite3_close(s->db);
    free(s);
}

static const ql__evidence_store_ops sqlite_ops = {
    store_begin, store_commit, store_rollback,
    store_put_entry, store_get_entry, store_put_node, store_get_node,
    store_count_nodes, store_count_entries,
    store_put_head, store_get_head, store_put_meta, store_get_meta,
    store_scan_entries, store_scan_heads, store_close,
};

ql_status ql__evidence_sqlite_open(const char *path, int create, ql__evidence_store **out,
                                   char *error, size_t error_size)
{
    ql_status status = QL_OK;
    sqlite_store *s = NULL;
    char *message = NULL;
    *out = NULL;
    if (create) {
        /* SQLite would happily open an existing file; a new log must not
         * silently reuse (or overwrite) one. */
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(error, error_size, "%s: %s", path, strerror(errno));
            return QL_EIO;
        }
        close(fd);
    } else if (access(path, F_OK) != 0) {
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        return QL_EIO;
    }
    s = calloc(1, sizeof *s);
    if (!s)
        return QL_ENOMEM;
    s->base.ops = &sqlite_ops;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK) {
        snprintf(error, error_size, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
        status = QL_EIO;
        goto out;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* WAL keeps readers (proofs, verification) going while a writer
     * appends; FULL syncs the WAL at every commit, which is what makes an
     * acknowledged entry durable.  The larger page cache keeps the upper
     * levels of the node table in memory for proofs on big logs. */
    static const char pragmas[] =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=FULL;"
        "PRAGMA cache_size=-16384;";
    if (sqlite3_exec(s->db, pragmas, NULL, NULL, &message) != SQLITE_OK) {
        snprintf(error, error_size, "%s: %s", path, message ? message : "cannot set up");
        status = QL_EIO;
        goto out;
    }
    if (create && sqlite3_exec(s->db, schema_sql, NULL, NULL, &message) != SQLITE_OK) {
        snprintf(error, error_size, "%s: %s", path, message ? message : "cannot create tables");
        status = QL_EIO;
        goto out;
    }
    /* Checking the journal mode took effect: a file system without shared
     * memory would leave it in another mode with other guarantees. */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *mode = sqlite3_column_text(st, 0);
        if (!mode || strcmp((const char *)mode, "wal") != 0) {
            snprintf(error, error_size, "%s: cannot use the WAL journal (mode is %s)", path,
                     mode ? (const char *)mode : "unknown");
            status = QL_EIO;
        }
    } else {
        snprintf(error, error_size, "%s: %s", path, sqlite3_errmsg(s->db));
        status = QL_EIO;
    }
    sqlite3_finalize(st);
out:
    sqlite3_free(message);
    if (status != QL_OK) {
        store_close(&s->base);
        if (create)
            unlink(path);
        return status;
    }
    *out = &s->base;
    return QL_OK;
}
