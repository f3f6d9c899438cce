/*
 * qinglang.h — the public API of the qinglang content-security engine.
 *
 * This header is the contract: what it does not declare is not API.
 *
 * The life of a scan:
 *
 *     ql_compiler  --(add built-ins, add rule files)-->  ql_rules  (immutable,
 *                                                                  shared by threads)
 *     ql_scanner   (per thread scratch)  --scan a buffer-->  findings via callback
 *     ql_stream    (per flow state)      --write chunks--->  findings via callback
 *
 * Conventions (SQLite's and Hyperscan's): every call returns a ql_status;
 * constructors hand the object back through an out-parameter; destroy(NULL)
 * is a harmless no-op; input is borrowed as (pointer, length) and never
 * kept past the call; there is no global state and no global init.
 *
 * Thread safety: a ql_rules may be used by any number of threads at once.
 * A ql_compiler, ql_scanner or ql_stream belongs to one thread at a time.
 */
#ifndef QINGLANG_H
#define QINGLANG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QL_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- status */

/* One table, one enum, one message per code (libuv's X-macro). */
#define QL_STATUS_MAP(X)                                                     \
    X(OK,           0, "success")                                            \
    X(ENOMEM,       1, "out of memory")                                      \
    X(EINVAL,       2, "invalid argument")                                   \
    X(ERULE,        3, "invalid rule")                                       \
    X(EREGEX,       4, "regular expression not supported or invalid")        \
    X(EIO,          5, "input/output error")                                 \
    X(ELIMIT,       6, "a size limit was exceeded")                          \
    X(EENCODING,    7, "unsupported or undecodable encoding")                \
    X(ESTATE,       8, "call not valid in the object's current state")       \
    X(EABORTED,     9, "stopped by the callback")                            \
    X(EINTERNAL,   10, "internal error (matcher failure)")                    \
    X(EKEY,        11, "no key, or a key too short, for hash or fpe")         \
    X(ECRYPTO,     12, "cryptographic library failure")                       \
    X(EWRITE,      13, "the output callback failed")                         \
    X(EVERIFY,     14, "evidence does not verify (altered, or another key)")

typedef enum ql_status {
#define QL__STATUS_ENUM(name, code, msg) QL_##name = code,
    QL_STATUS_MAP(QL__STATUS_ENUM)
#undef QL__STATUS_ENUM
} ql_status;

/* A static English message for a status; never NULL. */
const char *ql_status_message(ql_status status);

/* ------------------------------------------------------------ allocator */

/* Replaceable allocator, used by every object created with it.  Tests use
 * it to fail each allocation in turn.  NULL members mean the C library's. */
typedef struct ql_allocator {
    void *(*malloc_fn)(size_t size, void *user);
    void *(*realloc_fn)(void *ptr, size_t size, void *user);
    void  (*free_fn)(void *ptr, void *user);
    void  *user;
} ql_allocator;

/* ------------------------------------------------------------ severity */

typedef enum ql_severity {
    QL_SEVERITY_INFO = 0,
    QL_SEVERITY_LOW,
    QL_SEVERITY_MEDIUM,
    QL_SEVERITY_HIGH,
    QL_SEVERITY_CRITICAL
} ql_severity;

/* "info", "low", "medium", "high", "critical". */
const char *ql_severity_name(ql_severity severity);

/* ------------------------------------------------------------- compiler */

typedef struct ql_compiler ql_compiler;
typedef struct ql_rules    ql_rules;

/* Where and why a rule file was rejected.  `file` is the name given to
 * ql_compiler_add_rules (or the built-in pack's name); line and column are
 * 1-based (0 when unknown).  Valid until the compiler is destroyed. */
typedef struct ql_diagnostic {
    const char *file;
    unsigned    line;
    unsigned    column;
    const char *message;
} ql_diagnostic;

/* Creates a compiler.  `allocator` may be NULL. */
ql_status ql_compiler_create(const ql_allocator *allocator, ql_compiler **out);
void      ql_compiler_destroy(ql_compiler *compiler);

/* Adds every built-in rule pack (rules/ in the source tree). */
ql_status ql_compiler_add_builtin(ql_compiler *compiler);

/* Adds the rules in one YAML document (or a plain list of keywords, see
 * docs/rules.md).  `name` is used in diagnostics.  On QL_ERULE or
 * QL_EREGEX every problem found is recorded (see ql_compiler_diagnostics)
 * and the compiler remains usable: nothing from the failing text is kept. */
ql_status ql_compiler_add_rules(ql_compiler *compiler, const char *name,
                                const uint8_t *text, size_t length);

/* Diagnostics recorded so far. */
size_t               ql_compiler_diagnostic_count(const ql_compiler *compiler);
const ql_diagnostic *ql_compiler_diagnostic(const ql_compiler *compiler,
                                            size_t index);

/* Compiles everything added into an immutable rule set.  The compiler may
 * be destroyed afterwards; the rules live on. */
ql_status ql_compiler_compile(ql_compiler *compiler, ql_rules **out);

void ql_rules_destroy(ql_rules *rules);

/* Introspection, for `qinglang rules list`. */
typedef struct ql_rule_info {
    const char *id;          /* e.g. "builtin.cn_resident_id" */
    const char *type;        /* e.g. "cn_resident_id" */
    const char *category;    /* e.g. "pii.identity" */
    ql_severity severity;
    const char *description;
    const char *source;      /* file the rule came from */
} ql_rule_info;

size_t ql_rules_count(const ql_rules *rules);
ql_status ql_rules_info(const ql_rules *rules, size_t index, ql_rule_info *out);

/* ------------------------------------------------------------- findings */

typedef struct ql_attribute {
    const char *key;     /* e.g. "birth_date" */
    const char *value;   /* e.g. "1990-03-07", "male", "true" */
} ql_attribute;

#define QL_MAX_ATTRIBUTES 4

typedef struct ql_finding {
    const char  *rule_id;
    const char  *type;
    const char  *category;
    ql_severity  severity;
    double       confidence;        /* 0..1 */
    uint64_t     start, end;        /* [start, end) in bytes of the input as given */
    uint64_t     line;              /* 1-based */
    uint64_t     column;            /* 1-based, in characters */
    const uint8_t *value;           /* the value as UTF-8, after decoding and */
    size_t       value_length;      /*  full-width folding; valid in the callback only */
    const char  *masked;            /* the value masked for display (UTF-8, NUL-terminated) */
    size_t       attribute_count;
    ql_attribute attributes[QL_MAX_ATTRIBUTES];
} ql_finding;

/* Called once per finding.  Return 0 to go on, non-zero to stop the scan
 * (which then returns QL_EABORTED).  Findings come in order of `start`
 * within one call of ql_scan, and within each batch of a stream. */
typedef int (*ql_finding_cb)(const ql_finding *finding, void *user);

/* ------------------------------------------------------------- scanning */

typedef enum ql_encoding {
    QL_ENCODING_AUTO = 0,   /* BOM, else UTF-8 if valid, else GB18030 */
    QL_ENCODING_UTF8,
    QL_ENCODING_GB18030,    /* also GBK and GB2312, its subsets */
    QL_ENCODING_UTF16LE,
    QL_ENCODING_UTF16BE
} ql_encoding;

typedef struct ql_scan_options {
    ql_encoding encoding;
    /* The date used for "not in the future" and for `minor`, as yyyymmdd;
     * 0 means today (UTC) at the time of the call. */
    int32_t     today;
    /* Report findings at or above this confidence; a negative value keeps
     * each rule's own threshold. */
    double      min_confidence;
    /* How many bytes a window owns (ql_scan, ql_scan_range) and how many
     * new bytes a stream gathers before it scans; 0 means the defaults
     * (16 MiB, 512 KiB).  Results never depend on it; small values cost
     * speed and are for tests. */
    size_t      window;
} ql_scan_options;

/* Fills `options` with the defaults (auto encoding, today, rule thresholds). */
void ql_scan_options_init(ql_scan_options *options);

typedef struct ql_scanner ql_scanner;

/* A scanner holds the scratch one thread needs to scan with `rules`.  The
 * rules must outlive it. */
ql_status ql_scanner_create(const ql_rules *rules, const ql_allocator *allocator,
                            ql_scanner **out);
void      ql_scanner_destroy(ql_scanner *scanner);

/* Scans `data` whole.  `options` may be NULL (defaults).  Inputs of any
 * size are accepted; memory use grows only when the input needs decoding
 * (GB18030, UTF-16), by about twice the input. */
ql_status ql_scan(ql_scanner *scanner, const uint8_t *data, size_t length,
                  const ql_scan_options *options, ql_finding_cb callback,
                  void *user);

/* Scans the whole `data` but reports only findings that belong to the
 * byte range [from, to), the pieces a caller cuts one large buffer into to
 * scan it on several threads: every finding of ql_scan belongs to exactly
 * one piece, whatever the cuts.  The input must be UTF-8 (the encoding
 * option is ignored).  `line` and `column` are NOT filled in (0): the
 * caller computes them with ql_locate when it merges the pieces. */
ql_status ql_scan_range(ql_scanner *scanner, const uint8_t *data, size_t length,
                        uint64_t from, uint64_t to,
                        const ql_scan_options *options, ql_finding_cb callback,
                        void *user);

/* Guesses the encoding of a buffer as ql_scan's AUTO does: a BOM, else
 * valid UTF-8 in the first 64 KiB, else GB18030 if it decodes as such,
 * else UTF-8 (binary is scanned as bytes).  *bom_length (may be NULL)
 * receives the size of a byte-order mark, 0 if none. */
ql_encoding ql_detect_encoding(const uint8_t *data, size_t length, size_t *bom_length);

/* A cursor for turning byte offsets into line and column, advanced over
 * ascending offsets so a whole file costs one pass. */
typedef struct ql_position {
    uint64_t offset;   /* where the cursor stands */
    uint64_t line;     /* 1-based line at offset */
    uint64_t column;   /* 1-based column (characters) at offset */
} ql_position;

/* Sets the cursor to the start of a text. */
void ql_position_init(ql_position *cursor);

/* Moves the cursor forward over UTF-8 `data` to `offset` (>= cursor's own
 * offset, <= length). */
void ql_locate(ql_position *cursor, const uint8_t *data, size_t length,
               uint64_t offset);

/* --------------------------------------------------------------- stream */

typedef struct ql_stream ql_stream;

/* A stream scans input that arrives in chunks.  Findings are reported with
 * offsets from the start of the stream, whatever the chunking: the same
 * input cut anywhere gives the same findings as ql_scan over the whole.
 * Findings are reported with some delay (a stream holds back a bounded
 * window, at most about 1 MiB, to see a finding's surroundings);
 * ql_stream_finish reports the rest.  With AUTO the stream decides the
 * encoding as ql_scan does, from the first 64 KiB, so nothing is reported
 * before that much has arrived or the stream is finished.  The scanner
 * must not be used for anything else while the stream is open. */
ql_status ql_stream_open(ql_scanner *scanner, const ql_scan_options *options,
                         ql_finding_cb callback, void *user, ql_stream **out);
ql_status ql_stream_write(ql_stream *stream, const uint8_t *data, size_t length);
ql_status ql_stream_finish(ql_stream *stream);
void      ql_stream_close(ql_stream *stream);

/* ------------------------------------------------------------ redaction */

/* What happens to a finding's bytes (docs/redact.md). */
typedef enum ql_operator {
    QL_OP_KEEP = 0,   /* leave the value as it is */
    QL_OP_MASK,       /* display mask: 110101********123X, 138****8000 */
    QL_OP_TAG,        /* a label: [身份证号] or <cn_resident_id>, optionally numbered */
    QL_OP_HASH,       /* keyed HMAC pseudonym: <cn_mobile_phone:3f2a9c1b7e4d5a60> */
    QL_OP_FPE,        /* NIST SP 800-38G FF1, same format, reversible with the key */
    QL_OP_DROP        /* remove the value */
} ql_operator;

/* "keep", "mask", "tag", "hash", "fpe", "drop"; -1 for an unknown name. */
int ql_operator_from_name(const char *name);
const char *ql_operator_name(ql_operator op);

/* A redaction policy: an operator per type and per category, a default,
 * and the operators' options.  Immutable once made; share freely. */
typedef struct ql_policy ql_policy;

/* A policy that masks every type. */
ql_status ql_policy_create(ql_policy **out);
/* Parses a policy file (YAML, docs/redact.md).  On QL_ERULE, `error`
 * (may be NULL) receives "NAME:LINE:COLUMN: message". */
ql_status ql_policy_parse(const char *name, const uint8_t *text, size_t length,
                          ql_policy **out, char *error, size_t error_size);
/* Sets the operator for a type ("cn_mobile_phone"), a category
 * ("pii.contact") or a category prefix ending in ".*" ("secret.*");
 * "*" sets the default.  Before sharing the policy only. */
ql_status ql_policy_set(ql_policy *policy, const char *selector, ql_operator op);
void      ql_policy_destroy(ql_policy *policy);
/* Does any operator of the policy need a key (hash, fpe)? */
int       ql_policy_needs_key(const ql_policy *policy);

/* A redactor applies a policy with a key; per thread (it numbers tags and
 * holds cipher contexts).  The key is the caller's secret (at least 16
 * bytes); hash and FPE keys are derived from it with HMAC-SHA-256 (or
 * HMAC-SM3 and SM4 when the policy asks for the national algorithms). */
typedef struct ql_redactor ql_redactor;
ql_status ql_redactor_create(const ql_policy *policy, const uint8_t *key, size_t key_length,
                             ql_redactor **out);
void      ql_redactor_destroy(ql_redactor *redactor);

/* The replacement for one finding, as UTF-8, into out (NUL-terminated,
 * at most `size`).  *applied says which operator ran (FPE falls back to
 * HASH for types it cannot encrypt, e.g. names).  QL_ELIMIT if out is too
 * small. */
ql_status ql_redactor_replace(ql_redactor *redactor, const ql_finding *finding,
                              char *out, size_t size, size_t *length, ql_operator *applied);

/* Redaction of a byte stream: input in chunks (any encoding ql_scan
 * reads), output through `write` in the same encoding, everything that is
 * not a finding byte for byte.  Memory stays bounded (about twice a
 * stream's window).  `on_finding` (may be NULL) sees each finding that is
 * replaced.  With `decrypt`, FPE values written by the same policy and key
 * are restored instead (and nothing else changes). */
typedef int (*ql_write_cb)(const uint8_t *data, size_t length, void *user);
typedef struct ql_redact_stream ql_redact_stream;
ql_status ql_redact_open(ql_scanner *scanner, ql_redactor *redactor,
                         const ql_scan_options *options, int decrypt,
                         ql_write_cb write, void *write_user,
                         ql_finding_cb on_finding, void *finding_user,
                         ql_redact_stream **out);
ql_status ql_redact_write(ql_redact_stream *stream, const uint8_t *data, size_t length);
ql_status ql_redact_finish(ql_redact_stream *stream);
void      ql_redact_close(ql_redact_stream *stream);

/* ------------------------------------------------------------- evidence */

/* An append-only, signed transparency log of evidence (docs/evidence.md):
 * each entry is a canonical JSON record (what was found where, when, with
 * the SHA-256 of the content and, optionally, the content encrypted with
 * AES-256-GCM under the operator's key); an RFC 9162 Merkle tree (SHA-256)
 * is kept over the entries; every commit signs a tree head (size, root,
 * time) with Ed25519.  Inclusion and consistency proofs let anyone check,
 * offline, that an entry is in the log and that the log only grew.
 *
 * Storage is a SQLite file (WAL, synchronous=FULL): an append returns only
 * once its entries are durable.  Several processes may open one log; their
 * appends are serialised by the database.  A ql_evidence_log belongs to
 * one thread at a time.  Errors that concern a file or the database leave
 * a sentence in `error` (or ql_evidence_log_error) naming it. */

typedef struct ql_evidence_log ql_evidence_log;

#define QL_EVIDENCE_HASH_SIZE      32
#define QL_EVIDENCE_SIGNATURE_SIZE 64
/* The longest proof of a tree of up to 2^64 leaves. */
#define QL_EVIDENCE_MAX_PROOF      130
/* The longest reporter or note a record may hold, in bytes. */
#define QL_EVIDENCE_MAX_REPORT_FIELD 65536

typedef enum ql_evidence_kind {
    QL_EVIDENCE_FINDING_REPORT = 0,   /* "finding_report": what a scan found */
    QL_EVIDENCE_ABUSE_REPORT,         /* "abuse_report": a report received about content */
    QL_EVIDENCE_SCAN_RECEIPT          /* "scan_receipt": that a scan took place */
} ql_evidence_kind;

/* The kind's name in entries; -1 for an unknown name. */
const char *ql_evidence_kind_name(ql_evidence_kind kind);
int         ql_evidence_kind_from_name(const char *name);

/* A finding as recorded: its type, rule, byte span and masked value (never
 * the raw value).  Strings are UTF-8; NULL rule_id or masked are left out. */
typedef struct ql_evidence_finding {
    const char *type;
    const char *rule_id;
    uint64_t    start, end;
    const char *masked;
} ql_evidence_finding;

/* What an entry records.  Every pointer is borrowed for the call; NULL
 * strings are left out of the entry.  `content` (may be empty) is hashed
 * always, and also stored encrypted when the log was opened with a content
 * key and `store_content` is set.  `time_ms` is milliseconds since the Unix
 * epoch (UTC); 0 means the system clock at the call, recorded as it reads.
 * `reporter` (the reporter's contact) and `note` (their free text), UTF-8,
 * at most QL_EVIDENCE_MAX_REPORT_FIELD bytes each, only for
 * QL_EVIDENCE_ABUSE_REPORT (QL_EINVAL otherwise): personal
 * data, never written in clear.  The entry holds an HMAC-SHA-256
 * commitment to each, and, when the log has a content key, each encrypted
 * under it (docs/evidence.md, "Reports"). */
typedef struct ql_evidence_record {
    ql_evidence_kind kind;
    uint64_t         time_ms;
    const char      *source_path;
    const char      *source_url;
    const char      *tenant;
    const char      *ruleset_version;
    const ql_evidence_finding *findings;
    size_t           finding_count;
    const uint8_t   *content;
    size_t           content_length;
    int              store_content;
    const char      *reporter;
    const char      *note;
} ql_evidence_record;

/* A signed tree head: the log's state after a commit.  The signature is
 * Ed25519 over the 63 bytes "qinglang-sth-v1" || size (u64 big-endian) ||
 * time_ms (u64 big-endian) || root. */
typedef struct ql_evidence_tree_head {
    uint64_t size;
    uint64_t time_ms;
    uint8_t  root[QL_EVIDENCE_HASH_SIZE];
    uint8_t  signature[QL_EVIDENCE_SIGNATURE_SIZE];
} ql_evidence_tree_head;

/* An inclusion or consistency proof: RFC 9162's list of node hashes. */
typedef struct ql_evidence_proof {
    size_t  length;
    uint8_t hashes[QL_EVIDENCE_MAX_PROOF][QL_EVIDENCE_HASH_SIZE];
} ql_evidence_proof;

/* What an append hands back per entry. */
typedef struct ql_evidence_receipt {
    uint64_t              index;        /* 0-based position in the log */
    uint8_t               leaf_hash[QL_EVIDENCE_HASH_SIZE];
    ql_evidence_tree_head head;         /* the head signed by the commit */
    ql_evidence_proof     proof;        /* inclusion in `head` (if asked for) */
} ql_evidence_receipt;

/* One stored entry, as ql_evidence_get returns it.  `entry` is the
 * canonical JSON (the Merkle leaf), `stored_content` the encrypted
 * content as held (nonce || ciphertext || tag; NULL if none), `content`
 * the plaintext when the log has the content key and was asked to decrypt
 * (NULL otherwise).  `reporter` and `note` (NUL-terminated) are a
 * report's decrypted values, likewise only when asked to decrypt and
 * checked against their commitments (NULL otherwise).  Release with
 * ql_evidence_entry_free, which also wipes them. */
typedef struct ql_evidence_entry {
    uint64_t index;
    uint8_t  leaf_hash[QL_EVIDENCE_HASH_SIZE];
    uint8_t *entry;
    size_t   entry_length;
    uint8_t *stored_content;
    size_t   stored_content_length;
    uint8_t *content;
    size_t   content_length;
    char    *reporter;
    char    *note;
} ql_evidence_entry;

/* A problem found by a verification: the entry it concerns (-1 when it is
 * not about one entry, e.g. the public key) and a sentence. */
typedef struct ql_evidence_problem {
    int64_t     entry;
    const char *message;
} ql_evidence_problem;

/* Called once per problem; return non-zero to stop looking for more. */
typedef int (*ql_evidence_problem_cb)(const ql_evidence_problem *problem, void *user);

/* Keys.  The signing key is an Ed25519 private key (PKCS#8 PEM), the content
 * key 32 random bytes written as 64 hex digits.  Key files are created with
 * mode 0600 and never overwritten; loading one that others can read or
 * write fails with QL_EKEY.  `public_path` receives the public key (PEM). */
ql_status ql_evidence_keygen(const char *private_path, const char *public_path,
                             char *error, size_t error_size);
ql_status ql_evidence_content_keygen(const char *path, char *error, size_t error_size);
/* Reads a content key file (same checks as opening a log with it), for
 * ql_evidence_verify_package. */
ql_status ql_evidence_read_content_key(const char *path, uint8_t key[32],
                                       char *error, size_t error_size);

typedef struct ql_evidence_options {
    /* The signing key file: needed by ql_evidence_log_create and to
     * append; NULL opens the log for reading and verifying only. */
    const char *signing_key_file;
    /* The content key file: needed to store content and to decrypt it;
     * NULL stores hashes only. */
    const char *content_key_file;
    /* A trusted public key file (PEM).  Verification then checks the
     * signatures with it, and reports a log whose stored key differs.
     * NULL trusts the key the log was created with. */
    const char *public_key_file;
    /* Memory for the log's own allocations; NULL is the C library's. */
    const ql_allocator *allocator;
} ql_evidence_options;

/* Creates a new, empty log at `path` (which must not exist), records the
 * signing key's public half and signs the empty tree head.  The options
 * must name a signing key. */
ql_status ql_evidence_log_create(const char *path, const ql_evidence_options *options,
                                 char *error, size_t error_size);

/* Opens an existing log.  `options` may be NULL (read-only, no keys).  A
 * signing key that is not the log's is refused (QL_EKEY). */
ql_status ql_evidence_log_open(const char *path, const ql_evidence_options *options,
                               ql_evidence_log **out, char *error, size_t error_size);
void      ql_evidence_log_close(ql_evidence_log *log);

/* The sentence that explains the log's last failure ("" if none). */
const char *ql_evidence_log_error(const ql_evidence_log *log);

/* The public key the log was created with, as PEM text (NUL-terminated,
 * owned by the log). */
const char *ql_evidence_public_key(const ql_evidence_log *log);

/* Appends `count` records in one transaction (group commit: one fsync and
 * one signature for all), and returns when it is durable.  receipts (may be
 * NULL) receives one receipt per record; with `with_proofs` each holds its
 * inclusion proof in the new head.  On failure nothing is appended. */
ql_status ql_evidence_append(ql_evidence_log *log, const ql_evidence_record *records,
                             size_t count, int with_proofs, ql_evidence_receipt *receipts);

/* The number of entries (the size of the latest signed tree head). */
ql_status ql_evidence_size(ql_evidence_log *log, uint64_t *size);

/* Entry `index`; with `decrypt` (needs the content key) also the plaintext,
 * checked against the entry's content_sha256, and a report's reporter and
 * note, checked against their commitments.  QL_EINVAL when `decrypt` finds
 * nothing held encrypted in the entry. */
ql_status ql_evidence_get(ql_evidence_log *log, uint64_t index, int decrypt,
                          ql_evidence_entry *out);
void      ql_evidence_entry_free(ql_evidence_log *log, ql_evidence_entry *entry);

/* The signed tree head of exactly `size` entries (every commit signs one),
 * or the latest when `size` is UINT64_MAX.  QL_EINVAL if there is none. */
ql_status ql_evidence_tree_head_get(ql_evidence_log *log, uint64_t size,
                                    ql_evidence_tree_head *out);

/* The root of the tree of the first `size` entries (any size up to the
 * log's), from O(log size) stored nodes. */
ql_status ql_evidence_root(ql_evidence_log *log, uint64_t size,
                           uint8_t root[QL_EVIDENCE_HASH_SIZE]);

/* RFC 9162 proofs, from O(log size) stored nodes: that entry `index` is in
 * the tree of `size` entries; that the tree of size1 entries is a prefix of
 * the tree of size2 (0 <= size1 <= size2 <= the log's size). */
ql_status ql_evidence_inclusion_proof(ql_evidence_log *log, uint64_t index, uint64_t size,
                                      ql_evidence_proof *out);
ql_status ql_evidence_consistency_proof(ql_evidence_log *log, uint64_t size1, uint64_t size2,
                                        ql_evidence_proof *out);

/* Re-reads the whole log: every entry is canonical JSON whose content
 * hashes match what is held, every stored node is recomputed from the
 * entries, every signed tree head's root is recomputed and its signature
 * checked.  Each problem goes to `callback` (may be NULL), which names the
 * entry.  QL_OK when none, QL_EVERIFY otherwise. */
ql_status ql_evidence_verify(ql_evidence_log *log, ql_evidence_problem_cb callback, void *user);

/* Writes entry `index`'s evidence package: one JSON document holding the
 * entry, its encrypted content if held, the receipt (the signed head of
 * `size` entries, UINT64_MAX for the latest, and the inclusion proof) and
 * the public key, checkable offline by ql_evidence_verify_package.
 * QL_EWRITE if `write` fails. */
ql_status ql_evidence_export(ql_evidence_log *log, uint64_t index, uint64_t size,
                             ql_write_cb write, void *user);

/* Checks a package offline: the entry is canonical JSON, its leaf hash and
 * inclusion proof give the head's root, the head's signature verifies with
 * the package's public key, which must equal `public_key_pem` when that is
 * given (NULL: trust the package's), the encrypted content matches its
 * hash, and, with a content key (32 bytes; NULL skips), the decrypted
 * content matches content_sha256.  QL_OK, QL_EVERIFY (problems to the
 * callback), or QL_EINVAL for a document that is not a package. */
ql_status ql_evidence_verify_package(const uint8_t *package, size_t length,
                                     const char *public_key_pem,
                                     const uint8_t *content_key, size_t content_key_length,
                                     ql_evidence_problem_cb callback, void *user);

/* RFC 9162 primitives, for clients that check receipts themselves.
 * Leaf hash = SHA-256(0x00 || entry); node hash = SHA-256(0x01 || left || right). */
void ql_evidence_leaf_hash(const uint8_t *entry, size_t length,
                           uint8_t out[QL_EVIDENCE_HASH_SIZE]);
void ql_evidence_node_hash(const uint8_t left[QL_EVIDENCE_HASH_SIZE],
                           const uint8_t right[QL_EVIDENCE_HASH_SIZE],
                           uint8_t out[QL_EVIDENCE_HASH_SIZE]);
/* QL_OK if the proof verifies, QL_EVERIFY if not (RFC 9162 2.1.3.2, 2.1.4.2). */
ql_status ql_evidence_verify_inclusion(uint64_t index, uint64_t size,
                                       const uint8_t leaf_hash[QL_EVIDENCE_HASH_SIZE],
                                       const ql_evidence_proof *proof,
                                       const uint8_t root[QL_EVIDENCE_HASH_SIZE]);
ql_status ql_evidence_verify_consistency(uint64_t size1, uint64_t size2,
                                         const uint8_t root1[QL_EVIDENCE_HASH_SIZE],
                                         const uint8_t root2[QL_EVIDENCE_HASH_SIZE],
                                         const ql_evidence_proof *proof);
/* Checks a tree head's signature with a public key (PEM): QL_OK or QL_EVERIFY. */
ql_status ql_evidence_verify_tree_head(const ql_evidence_tree_head *head,
                                       const char *public_key_pem);

/* ----------------------------------------------------------- moderation */

/* Harmful content: lexicons matched over a normalised view of the text
 * (case, width, traditional -> simplified, look-alikes, leet, noise
 * between characters, repeats, pinyin), co-occurrence rules, doxxing (the
 * PII engine's identifiers with exposure words) and a pass / review /
 * block decision per message.  docs/moderate.md. */

typedef enum ql_decision {
    QL_DECISION_PASS = 0,
    QL_DECISION_REVIEW,
    QL_DECISION_BLOCK
} ql_decision;

/* "pass", "review", "block". */
const char *ql_decision_name(ql_decision decision);

typedef struct ql_lexicon_compiler ql_lexicon_compiler;
typedef struct ql_lexicon          ql_lexicon;

ql_status ql_lexicon_compiler_create(const ql_allocator *allocator,
                                     ql_lexicon_compiler **out);
void      ql_lexicon_compiler_destroy(ql_lexicon_compiler *compiler);

/* Adds the built-in lexicons (rules/lexicons/ in the source tree). */
ql_status ql_lexicon_compiler_add_builtin(ql_lexicon_compiler *compiler);

/* Adds one lexicon file: YAML (version/rules/thresholds, docs/moderate.md)
 * or a plain word list, one word a line ('#' comments; a line may add
 * "<TAB>category" and "<TAB>severity").  On QL_ERULE the problems are
 * recorded as diagnostics and nothing of the text is kept. */
ql_status ql_lexicon_compiler_add(ql_lexicon_compiler *compiler, const char *name,
                                  const uint8_t *text, size_t length);

/* Category and severity of plain word lists' lines that do not name them
 * (default: custom.lexicon, medium). */
ql_status ql_lexicon_compiler_list_defaults(ql_lexicon_compiler *compiler,
                                            const char *category, ql_severity severity);

/* Decision thresholds on a category's score (0..1); NULL category sets the
 * default (review 0.5, block 0.8). */
ql_status ql_lexicon_compiler_threshold(ql_lexicon_compiler *compiler, const char *category,
                                        double review, double block);

size_t               ql_lexicon_compiler_diagnostic_count(const ql_lexicon_compiler *compiler);
const ql_diagnostic *ql_lexicon_compiler_diagnostic(const ql_lexicon_compiler *compiler,
                                                    size_t index);

/* Compiles everything added into an immutable lexicon, shareable by
 * threads.  The compiler may be destroyed afterwards. */
ql_status ql_lexicon_compile(ql_lexicon_compiler *compiler, ql_lexicon **out);
void      ql_lexicon_destroy(ql_lexicon *lexicon);

/* Words and phrases as written; forms matched (with generated pinyin);
 * rules. */
size_t ql_lexicon_word_count(const ql_lexicon *lexicon);
size_t ql_lexicon_form_count(const ql_lexicon *lexicon);
size_t ql_lexicon_rule_count(const ql_lexicon *lexicon);

typedef enum ql_hit_kind {
    QL_HIT_WORD = 0,           /* a lexicon word (or its pinyin) */
    QL_HIT_COOCCURRENCE,       /* all words of a co-occurrence rule, near */
    QL_HIT_DOXXING,            /* an exposure word with identifiers */
    QL_HIT_SELF_DISCLOSURE,    /* a self-disclosure phrase with identifiers */
    QL_HIT_IDENTIFIER,         /* an identifier a doxxing hit exposes */
    QL_HIT_MODEL               /* the model's reading of a stretch of text */
} ql_hit_kind;

/* "word", "cooccurrence", "doxxing", "self_disclosure", "identifier",
 * "model". */
const char *ql_hit_kind_name(ql_hit_kind kind);

typedef struct ql_hit {
    ql_hit_kind kind;
    const char *rule_id;
    const char *category;      /* harmful.gambling, ... */
    ql_severity severity;      /* INFO for `signal` words */
    double      confidence;    /* 0..1: lower for pinyin, initials, noise */
    const char *word;          /* the lexicon word ("A+B" for co-occurrence;
                                  the PII type for identifiers) */
    const char *form;          /* "text", "pinyin", "initials", "pii" */
    uint64_t    start, end;    /* [start, end) bytes of the input as given */
    const char *masked;        /* identifiers: the masked value; else NULL */
} ql_hit;

typedef struct ql_category_score {
    const char *category;
    double      score;         /* 1 - prod(1 - weight * confidence) */
    ql_decision decision;
} ql_category_score;

/* One message's result; valid until the moderator's next message. */
typedef struct ql_moderation {
    ql_decision               decision;      /* the worst category's */
    const ql_category_score  *scores;        /* categories scoring > 0 */
    size_t                    score_count;
    const ql_hit             *hits;          /* by start, longest first */
    size_t                    hit_count;
    uint64_t                  length;        /* bytes moderated */
} ql_moderation;

typedef struct ql_moderator ql_moderator;

/* A moderator holds one thread's state.  `pii_rules` (may be NULL: no
 * doxxing) are the rules whose findings count as identifiers.  The
 * lexicon and rules must outlive it. */
ql_status ql_moderator_create(const ql_lexicon *lexicon, const ql_rules *pii_rules,
                              const ql_allocator *allocator, ql_moderator **out);
void      ql_moderator_destroy(ql_moderator *moderator);

/* One message, UTF-8, whole. */
ql_status ql_moderate(ql_moderator *moderator, const uint8_t *data, size_t length,
                      const ql_moderation **out);

/* One message in chunks cut anywhere: the same result as whole. */
ql_status ql_moderate_begin(ql_moderator *moderator);
ql_status ql_moderate_write(ql_moderator *moderator, const uint8_t *data, size_t length);
ql_status ql_moderate_finish(ql_moderator *moderator, const ql_moderation **out);

/* The model: a linear classifier of wording over the same folded view,
 * for harmful messages that name no lexicon word (docs/moderate.md
 * "Model").  It reads the message in windows of 64 characters (Latin
 * words count as one) and reports the window whose strongest category
 * beats "benign" by the most; above the threshold (log-odds, in nats) the
 * message is at least `review`, with a QL_HIT_MODEL hit.  Never `block`:
 * a model's guess is sent to a person. */
typedef struct ql_model ql_model;

/* The built-in model, trained at build time from data/moderate/. */
ql_status ql_model_load_builtin(const ql_allocator *allocator, ql_model **out);
/* A model file written by ql_model_trainer (`qinglang model train`);
 * QL_ERULE if the bytes are not one. */
ql_status ql_model_load(const uint8_t *data, size_t length, const ql_allocator *allocator,
                        ql_model **out);
void      ql_model_destroy(ql_model *model);
/* Class 0 is "benign"; the others are categories. */
size_t      ql_model_class_count(const ql_model *model);
const char *ql_model_class_name(const ql_model *model, size_t index);
double      ql_model_threshold(const ql_model *model);

/* Uses `model` (NULL: none, the default) from the next message on, with
 * `threshold` (log-odds; a NaN: the model's own).  The model must outlive
 * the moderator's use of it. */
ql_status ql_moderator_set_model(ql_moderator *moderator, const ql_model *model,
                                 double threshold);

/* Training: messages with their category ("benign" or NULL for class 0);
 * then multinomial logistic regression (AdaGrad, a fixed shuffle: the
 * same data gives the same bytes).  `bits`: 2^bits hashed features
 * (12..22).  At most 7 categories. */
typedef struct ql_model_trainer ql_model_trainer;
ql_status ql_model_trainer_create(unsigned bits, const ql_allocator *allocator,
                                  ql_model_trainer **out);
void      ql_model_trainer_destroy(ql_model_trainer *trainer);
ql_status ql_model_trainer_add(ql_model_trainer *trainer, const char *category,
                               const uint8_t *text, size_t length);
/* Messages from training data: one "category<TAB>text" a line ('#'
 * starts a comment line, empty lines are skipped).  On QL_ERULE `*line`
 * is the first bad line's number and nothing of the data is kept. */
ql_status ql_model_trainer_add_tsv(ql_model_trainer *trainer, const uint8_t *data,
                                   size_t length, size_t *line);
/* Trains and serialises; the bytes stay the trainer's. */
ql_status ql_model_trainer_train(ql_model_trainer *trainer, unsigned epochs, double threshold,
                                 const uint8_t **out, size_t *out_length);

/* -------------------------------------------------------------- helpers */

/* Writes a display mask of `value` for `type` into `out` (NUL-terminated,
 * truncated to `size`), as findings' `masked` field does: 110101********123X,
 * 138****8000, 6222 **** **** 1234, z***@qq.com, 张*.  Returns the length
 * it needed (excluding the NUL). */
size_t ql_mask(const char *type, const uint8_t *value, size_t length,
               char *out, size_t size);

const char *ql_version(void);

#ifdef __cplusplus
}
#endif
#endif
