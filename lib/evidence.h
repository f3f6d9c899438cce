/*
 * evidence.h — what the evidence log's two files share: the storage
 * interface (lib/evidence_store.c implements it over SQLite) and one hook
 * the unit tests use.  Nothing here is API.
 *
 * The storage interface is deliberately small, so that another database
 * (PostgreSQL is planned for the service) needs only these calls: a
 * transaction, four kinds of rows (entries, tree nodes, signed tree heads,
 * metadata), point reads and in-order scans.  The log logic in evidence.c
 * never sees SQL.
 */
#ifndef QL_EVIDENCE_H
#define QL_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "qinglang.h"

typedef struct ql__evidence_store ql__evidence_store;

/* A signed tree head as stored (the public ql_evidence_tree_head). */
typedef ql_evidence_tree_head ql__evidence_head;

/* Called for each row of an in-order scan; non-zero stops the scan, which
 * then returns QL_EABORTED. */
typedef int (*ql__entry_row_cb)(uint64_t index, const uint8_t *entry, size_t entry_length,
                                const uint8_t *content, size_t content_length, int has_content,
                                void *user);
typedef int (*ql__head_row_cb)(const ql__evidence_head *head, void *user);

typedef struct ql__evidence_store_ops {
    /* Starts a write transaction that excludes other writers at once (so a
     * writer reads the current size inside it). */
    ql_status (*begin)(ql__evidence_store *store);
    /* Commits; when it returns QL_OK the transaction is durable. */
    ql_status (*commit)(ql__evidence_store *store);
    void      (*rollback)(ql__evidence_store *store);

    ql_status (*put_entry)(ql__evidence_store *store, uint64_t index,
                           const uint8_t *entry, size_t entry_length,
                           const uint8_t *content, size_t content_length, int has_content);
    /* *entry and *content are allocated with the C library's malloc
     * (content NULL when none is held); the caller frees them. */
    ql_status (*get_entry)(ql__evidence_store *store, uint64_t index,
                           uint8_t **entry, size_t *entry_length,
                           uint8_t **content, size_t *content_length);
    ql_status (*put_node)(ql__evidence_store *store, unsigned level, uint64_t index,
                          const uint8_t hash[32]);
    /* QL_EVERIFY when the node is missing or not 32 bytes. */
    ql_status (*get_node)(ql__evidence_store *store, unsigned level, uint64_t index,
                          uint8_t hash[32]);
    ql_status (*count_nodes)(ql__evidence_store *store, uint64_t *count);
    ql_status (*count_entries)(ql__evidence_store *store, uint64_t *count);
    ql_status (*put_head)(ql__evidence_store *store, const ql__evidence_head *head);
    /* The head of exactly `size` entries, or the largest one when size is
     * UINT64_MAX.  QL_EINVAL when there is none. */
    ql_status (*get_head)(ql__evidence_store *store, uint64_t size, ql__evidence_head *head);
    ql_status (*put_meta)(ql__evidence_store *store, const char *key,
                          const uint8_t *value, size_t length);
    /* *value is malloc'ed and NUL-terminated; QL_EINVAL when absent. */
    ql_status (*get_meta)(ql__evidence_store *store, const char *key,
                          uint8_t **value, size_t *length);
    ql_status (*scan_entries)(ql__evidence_store *store, ql__entry_row_cb cb, void *user);
    ql_status (*scan_heads)(ql__evidence_store *store, ql__head_row_cb cb, void *user);
    void      (*close)(ql__evidence_store *store);
} ql__evidence_store_ops;

struct ql__evidence_store {
    const ql__evidence_store_ops *ops;
    char error[256];   /* the last failure's detail, for ql_evidence_log_error */
};

/* Opens (or, with `create`, creates) a SQLite log file.  WAL journal,
 * synchronous=FULL: a commit that returned is on disk. */
ql_status ql__evidence_sqlite_open(const char *path, int create, ql__evidence_store **out,
                                   char *error, size_t error_size);

/* Test hook: appends raw leaves (any bytes, not entry JSON) in one
 * transaction, as the RFC 6962 test vectors need. */
ql_status ql__evidence_append_raw(ql_evidence_log *log, const uint8_t *const *leaves,
                                  const size_t *lengths, size_t count,
                                  ql_evidence_tree_head *head);

/* Test hook: where nonces and salts come from (OpenSSL's RAND_bytes unless
 * a test sets it, to get entries byte for byte); 0 on success. */
extern int (*ql__evidence_random)(uint8_t *out, size_t n);

#endif
