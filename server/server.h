/*
 * server.h — what the HTTP service's files share.  The service is a client
 * of include/qinglang.h only; the command reaches it through
 * ql_serve_main() and ql_keys_main().
 *
 * A "generation" is everything a reload replaces at once: the compiled rule
 * sets, the tenants' policies and keys, the API key hashes and the limits.
 * Requests take a reference on the current generation and finish on it even
 * if a reload swaps in a new one meanwhile (docs/serve.md).
 */
#ifndef QL_SERVER_H
#define QL_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "qinglang.h"

/* Entry points for cli/main.c: argv[0] is the subcommand's name. */
int ql_serve_main(int argc, char **argv);
int ql_keys_main(int argc, char **argv);

/* ------------------------------------------------------------ limits */

#define SRV_NAME_MAX        64            /* tenant and key names */
#define SRV_CONFIG_MAX      (1u << 20)    /* config, policy and key files */
#define SRV_KEYS_MAX        4096          /* API keys in one keys file */
#define SRV_DIAG_MAX        32            /* diagnostics kept per reload */
#define SRV_ERROR_SIZE      512

/* ------------------------------------------------------------ yaml → json */

/* Reads a YAML file (at most SRV_CONFIG_MAX bytes) into a jansson value.
 * Plain scalars that look like integers, reals, booleans or null become
 * those; everything else becomes a string.  NULL with `error` filled in. */
json_t *srv_yaml_load(const char *path, char *error, size_t error_size);

/* Reads a whole small file (capped at `max`); 0 or -1 with errno set. */
int srv_read_file(const char *path, size_t max, uint8_t **data, size_t *length);

/* ------------------------------------------------------------ API keys */

typedef struct srv_key {
    char name[SRV_NAME_MAX + 1];
    char hash[65];                 /* SHA-256 of the key, lower-case hex */
    long long created;             /* Unix seconds */
} srv_key;

/* Loads a keys file; a missing file is an empty list.  0 or -1 with
 * `error` filled in.  *keys is malloc'ed (free it). */
int srv_keys_load(const char *path, srv_key **keys, size_t *count,
                  char *error, size_t error_size);
/* SHA-256 of `key` as hex into out[65]. */
void srv_key_hash(const char *key, size_t length, char out[65]);
/* 1 if `name` is a valid tenant or key name: [A-Za-z0-9_.-], 1..64. */
int srv_name_valid(const char *name);

/* ------------------------------------------------------------ generation */

typedef struct srv_tenant {
    char     name[SRV_NAME_MAX + 1];
    char    *policy_name;         /* policy file, for diagnostics */
    uint8_t *policy_text;         /* NULL: start from "mask everything" */
    size_t   policy_length;
    int      default_op;          /* -1: the policy's own default */
    json_t  *types;               /* {type-or-category: operator}, owned */
    char   **enabled;             /* NULL: every type of its rule set */
    size_t   enabled_count;
    size_t   ruleset;             /* index into generation->rulesets */
    uint8_t *key;                 /* redaction key; NULL if none */
    size_t   key_length;
    double   rate, burst;         /* requests per second; 0: unlimited */
} srv_tenant;

/* The evidence log (docs/serve.md, "Evidence"), opened when the config
 * has an `evidence:` section.  A ql_evidence_log belongs to one thread at
 * a time, so every use, reads included, holds `lock`. */
typedef struct srv_evidence {
    pthread_mutex_t  lock;
    ql_evidence_log *log;
    int              has_content_key;
} srv_evidence;

/* Opens the log at `log_path` (created, signed with `key_file`, when it
 * does not exist yet); `content_key_file` may be NULL.  NULL with `error`
 * filled in. */
srv_evidence *srv_evidence_open(const char *log_path, const char *key_file,
                                const char *content_key_file, char *error, size_t error_size);
void srv_evidence_close(srv_evidence *ev);

typedef struct srv_generation {
    atomic_int   refs;
    uint64_t     id;
    ql_rules   **rulesets;        /* [0]: built-ins + global rule files */
    size_t       ruleset_count;
    srv_tenant  *tenants;
    size_t       tenant_count;
    srv_tenant   fallback;        /* for keys without a tenant section */
    srv_key     *keys;
    size_t       key_count;
    char       **admins;
    size_t       admin_count;
    size_t       max_body;
    size_t       max_batch;
    srv_evidence *evidence;       /* NULL: no `evidence:` section */
    struct srv_gateway *gateway;  /* NULL: no `gateway:` section (server/gateway.h) */
    ql_lexicon  *lexicon;         /* moderation (POST /v1/moderate): built-ins + `moderation:` */
    ql_model    *model;           /* moderation.model: built-in, a file, or NULL (false) */
} srv_generation;

/* A reload's outcome when it fails: a sentence and the rule compiler's
 * diagnostics, ready to log and return. */
typedef struct srv_build_error {
    char   message[SRV_ERROR_SIZE];
    json_t *diagnostics;          /* array of {file,line,column,message}; owned */
} srv_build_error;

/* Startup settings that a reload does not change. */
typedef struct srv_startup {
    char     listen[128];
    unsigned threads;
    unsigned timeout;             /* seconds */
    char    *access_log;          /* NULL: stderr */
} srv_startup;

/* Builds a generation from the config file.  `startup` (may be NULL)
 * receives the settings read only at start.  NULL on failure, with `err`
 * filled in (err->diagnostics must be released by the caller). */
srv_generation *srv_generation_build(const char *config_path, uint64_t id,
                                     srv_startup *startup, srv_build_error *err);
void srv_generation_ref(srv_generation *gen);
void srv_generation_release(srv_generation *gen);

/* The tenant for a key name: its section, or the fallback. */
const srv_tenant *srv_tenant_find(const srv_generation *gen, const char *name);
/* Is the type enabled for the tenant? */
int srv_tenant_enabled(const srv_tenant *tenant, const char *type);
/* A policy for one redaction request: the tenant's policy, then the
 * request's operators (`default_op` -1 for none, `types` may be NULL),
 * then KEEP for every type the tenant has not enabled.  0 or -1 with
 * `error` filled in. */
int srv_tenant_policy(const srv_generation *gen, const srv_tenant *tenant,
                      int default_op, json_t *types, ql_policy **out,
                      char *error, size_t error_size);

/* ------------------------------------------------------------ metrics */

void srv_metrics_request(const char *path, unsigned status, const char *tenant,
                         double seconds);
void srv_metrics_scanned(uint64_t bytes);
void srv_metrics_finding(const char *type, const char *tenant);
/* The exposition text (malloc'ed, NUL-terminated); NULL on OOM. */
char *srv_metrics_render(size_t *length);
void srv_metrics_free(void);

/* This thread's moderator for the generation's lexicon and a rule set
 * (POST /v1/moderate), or without PII rules when `doxxing` is 0 (the
 * gateway's answer check); NULL when out of memory. */
ql_moderator *srv_thread_moderator(srv_generation *gen, size_t ruleset, int doxxing);

#endif
