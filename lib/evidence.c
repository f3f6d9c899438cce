/*
 * evidence.c — the evidence transparency log: canonical JSON entries, an
 * RFC 9162 Merkle tree over them, Ed25519-signed tree heads, inclusion and
 * consistency proofs, content encryption, verification and evidence
 * packages (docs/evidence.md says what each is and why).
 *
 * The tree is stored as the hash of every complete subtree (a node at
 * level L and index I covers entries [I * 2^L, (I + 1) * 2^L)).  Appending
 * entry n writes its leaf and the nodes it completes; the open log keeps
 * the right edge of the tree (one complete subtree per set bit of the
 * size) in memory, so an append reads nothing.  Any subtree of a tree of
 * any size up to the log's is either one stored node or splits, along the
 * tree's right edge only, into O(log n) of them: proofs and past roots
 * cost O(log n) point reads, whatever the log's size.
 *
 * Canonical JSON is written here by hand, and parsed by a small parser
 * that accepts only what the canonical form can hold (objects, arrays,
 * strings, non-negative integers), because entries are hashed as bytes and
 * a verifier must get the very same bytes back.
 *
 * Storage goes through the interface of evidence.h (SQLite today).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "internal.h"
#include "evidence.h"

#define HASH_SIZE          QL_EVIDENCE_HASH_SIZE
#define SIG_SIZE           QL_EVIDENCE_SIGNATURE_SIZE
/* The version new entries get.  Version 1 entries (before reports held a
 * reporter and a note) are still read and verified: they are the same
 * format without the `report` member. */
#define ENTRY_VERSION      2
#define ENTRY_VERSION_MIN  1
#define PACKAGE_FORMAT     "qinglang-evidence-package-v1"
#define STH_LABEL          "qinglang-sth-v1"
#define STH_LABEL_LENGTH   15
#define STH_MESSAGE_SIZE   (STH_LABEL_LENGTH + 8 + 8 + HASH_SIZE)
#define GCM_NONCE_SIZE     12
#define GCM_TAG_SIZE       16
#define GCM_AAD            "qinglang-evidence-content-v1"
#define KEY_ID_LABEL       "qinglang-content-key-id-v1"
/* A report's reporter and note (docs/evidence.md, "Reports"): the label of
 * their opening key, the additional data of their encryption (followed by
 * 0x00 and the field's name), their salt's size and their largest size. */
#define REPORT_OPENING     "qinglang-report-opening-v2"
#define REPORT_AAD         "qinglang-evidence-report-v2"
#define REPORT_SALT_SIZE   16
#define MAX_REPORT_FIELD   ((size_t)QL_EVIDENCE_MAX_REPORT_FIELD)
/* Canonical integers stay within what every JSON reader holds exactly. */
#define JSON_INT_MAX       ((UINT64_C(1) << 53) - 1)
/* Caps: an entry, a package, a parsed document's depth. */
#define MAX_ENTRY_SIZE     ((size_t)16 << 20)
#define MAX_DOCUMENT_SIZE  ((size_t)1 << 30)
#define MAX_JSON_DEPTH     32
/* Records per append call: one transaction holds them all. */
#define MAX_BATCH          1000000u

static const uint8_t empty_root[HASH_SIZE] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};

struct ql_evidence_log {
    const ql_allocator  *allocator;
    ql__evidence_store  *store;
    EVP_PKEY            *signing_key;        /* NULL: read-only */
    EVP_PKEY            *public_key;         /* the log's (stored) key */
    EVP_PKEY            *trusted_key;        /* given by the caller, or NULL */
    char                *public_key_pem;
    uint8_t              content_key[32];
    int                  has_content_key;
    char                 content_key_id[17];
    /* The right edge of the tree: frontier[L] is the complete subtree of
     * 2^L entries for each set bit L of `size`. */
    uint64_t             size;
    uint8_t              frontier[64][HASH_SIZE];
    char                 error[512];
};

static const char *const kind_names[] = {"finding_report", "abuse_report", "scan_receipt"};

const char *ql_evidence_kind_name(ql_evidence_kind kind)
{
    return (unsigned)kind < 3 ? kind_names[kind] : "unknown";
}

int ql_evidence_kind_from_name(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, kind_names[i]) == 0)
            return i;
    return -1;
}

static void set_error(char *error, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *error, size_t size, const char *format, ...)
{
    if (!error || size == 0)
        return;
    va_list ap;
    va_start(ap, format);
    vsnprintf(error, size, format, ap);
    va_end(ap);
}

#define LOG_ERROR(log, ...) set_error((log)->error, sizeof (log)->error, __VA_ARGS__)

/* Keeps the store's explanation of a failure as the log's. */
static ql_status store_failed(ql_evidence_log *log, ql_status status)
{
    if (status != QL_OK && log->store->error[0])
        LOG_ERROR(log, "%s", log->store->error);
    return status;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------- buffers */

/* A growable byte buffer with a cap.  Failures are sticky, so writers
 * append freely and check once at the end. */
typedef struct buffer {
    const ql_allocator *allocator;
    uint8_t *data;
    size_t   length, capacity, cap;
    ql_status status;
} buffer;

static void buffer_init(buffer *b, const ql_allocator *allocator, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->allocator = allocator;
    b->cap = cap;
}

static void buffer_free(buffer *b)
{
    ql__free(b->allocator, b->data);
    b->data = NULL;
    b->length = b->capacity = 0;
}

static void buffer_add(buffer *b, const void *data, size_t n)
{
    if (b->status != QL_OK)
        return;
    if (n > b->cap || b->length > b->cap - n) {
        b->status = QL_ELIMIT;
        return;
    }
    if (b->length + n + 1 > b->capacity) {
        size_t want = b->capacity ? b->capacity : 256;
        while (want < b->length + n + 1)
            want *= 2;
        uint8_t *grown = ql__realloc(b->allocator, b->data, want);
        if (!grown) {
            b->status = QL_ENOMEM;
            return;
        }
        b->data = grown;
        b->capacity = want;
    }
    if (n)
        memcpy(b->data + b->length, data, n);
    b->length += n;
    b->data[b->length] = '\0';
}

static void buffer_str(buffer *b, const char *s)
{
    buffer_add(b, s, strlen(s));
}

static void buffer_uint(buffer *b, uint64_t value)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)value);
    buffer_add(b, digits, (size_t)n);
}

static const char hex_digits[] = "0123456789abcdef";

static void hex_encode(const uint8_t *data, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[data[i] >> 4];
        out[2 * i + 1] = hex_digits[data[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Lower-case hex of exactly n bytes (what this file writes); 0 or -1. */
static int hex_decode(const char *text, size_t length, uint8_t *out, size_t n)
{
    if (length != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value((unsigned char)text[2 * i]), lo = hex_value((unsigned char)text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static void buffer_hex(buffer *b, const uint8_t *data, size_t n)
{
    char text[2 * 64 + 1];
    while (n) {
        size_t piece = n < 64 ? n : 64;
        hex_encode(data, piece, text);
        buffer_add(b, text, 2 * piece);
        data += piece;
        n -= piece;
    }
}

/* ------------------------------------------------------ canonical JSON */

/* Is s[0..n) valid UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF)? */
static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += len;
    }
    return 1;
}

/* A canonical string: quote, backslash and control characters escaped
 * (\b \f \n \r \t, else \u00xx in lower case), everything else as it is. */
static void json_string(buffer *b, const char *s, size_t n)
{
    buffer_add(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buffer_add(b, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex_digits[c >> 4];
            esc[5] = hex_digits[c & 15];
            len = 6;
        }
        buffer_add(b, esc, len);
    }
    buffer_add(b, s + run, n - run);
    buffer_add(b, "\"", 1);
}

static void json_cstring(buffer *b, const char *s)
{
    json_string(b, s, strlen(s));
}

/* `"key":` — keys are written in sorted order by the callers. */
static void json_key(buffer *b, const char *key, int first)
{
    if (!first)
        buffer_add(b, ",", 1);
    json_cstring(b, key);
    buffer_add(b, ":", 1);
}

static void json_hex(buffer *b, const uint8_t *data, size_t n)
{
    buffer_add(b, "\"", 1);
    buffer_hex(b, data, n);
    buffer_add(b, "\"", 1);
}

/* A parsed JSON value.  Only what canonical JSON can hold is accepted. */
typedef enum { JV_STRING, JV_INTEGER, JV_ARRAY, JV_OBJECT } jv_type;

typedef struct jv {
    jv_type    type;
    char      *key;            /* member name, when inside an object */
    size_t     key_length;
    char      *string;         /* JV_STRING: decoded UTF-8, NUL-terminated */
    size_t     string_length;
    uint64_t   integer;
    struct jv *items;          /* JV_ARRAY items, JV_OBJECT members */
    size_t     count;
} jv;

typedef struct parser {
    const ql_allocator *allocator;
    const uint8_t *p, *end;
    char error[160];
} parser;

static void jv_free(const ql_allocator *a, jv *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++)
        jv_free(a, &v->items[i]);
    ql__free(a, v->items);
    ql__free(a, v->key);
    ql__free(a, v->string);
    memset(v, 0, sizeof *v);
}

static void skip_space(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static ql_status parse_error(parser *ps, const char *what)
{
    if (!ps->error[0])
        snprintf(ps->error, sizeof ps->error, "%s", what);
    return QL_EINVAL;
}

static int hex4(const uint8_t *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | (uint32_t)h;
    }
    *out = v;
    return 0;
}

static void utf8_put(buffer *b, uint32_t cp)
{
    uint8_t out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        out[0] = (uint8_t)(0xf0 | cp >> 18);
        out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    buffer_add(b, out, n);
}

static ql_status parse_string(parser *ps, char **out, size_t *length)
{
    buffer b;
    buffer_init(&b, ps->allocator, MAX_DOCUMENT_SIZE);
    ps->p++;   /* the opening quote */
    const uint8_t *run = ps->p;
    for (;;) {
        if (ps->p >= ps->end) {
            buffer_free(&b);
            return parse_error(ps, "unterminated string");
        }
        uint8_t c = *ps->p;
        if (c == '"')
            break;
        if (c < 0x20) {
            buffer_free(&b);
            return parse_error(ps, "control character in a string");
        }
        if (c != '\\') {
            ps->p++;
            continue;
        }
        buffer_add(&b, run, (size_t)(ps->p - run));
        if (ps->end - ps->p < 2) {
            buffer_free(&b);
            return parse_error(ps, "unterminated escape");
        }
        uint8_t e = ps->p[1];
        ps->p += 2;
        switch (e) {
        case '"': buffer_add(&b, "\"", 1); break;
        case '\\': buffer_add(&b, "\\", 1); break;
        case '/': buffer_add(&b, "/", 1); break;
        case 'b': buffer_add(&b, "\b", 1); break;
        case 'f': buffer_add(&b, "\f", 1); break;
        case 'n': buffer_add(&b, "\n", 1); break;
        case 'r': buffer_add(&b, "\r", 1); break;
        case 't': buffer_add(&b, "\t", 1); break;
        case 'u': {
            uint32_t cp, low;
            if (ps->end - ps->p < 4 || hex4(ps->p, &cp) != 0) {
                buffer_free(&b);
                return parse_error(ps, "bad \\u escape");
            }
            ps->p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
                    hex4(ps->p + 2, &low) != 0 || low < 0xdc00 || low > 0xdfff) {
                    buffer_free(&b);
                    return parse_error(ps, "lone surrogate in a \\u escape");
                }
                ps->p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                buffer_free(&b);
                return parse_error(ps, "lone surrogate in a \\u escape");
            }
            utf8_put(&b, cp);
            break;
        }
        default:
            buffer_free(&b);
            return parse_error(ps, "unknown escape");
        }
        run = ps->p;
    }
    buffer_add(&b, run, (size_t)(ps->p - run));
    ps->p++;   /* the closing quote */
    if (b.status == QL_OK && !b.data)
        buffer_add(&b, "", 0);
    if (b.status != QL_OK) {
        buffer_free(&b);
        return b.status;
    }
    if (!utf8_valid(b.data, b.length)) {
        buffer_free(&b);
        return parse_error(ps, "a string is not valid UTF-8");
    }
    *out = (char *)b.data;
    *length = b.length;
    return QL_OK;
}

static int key_compare(const jv *a, const jv *b)
{
    size_t n = a->key_length < b->key_length ? a->key_length : b->key_length;
    int c = memcmp(a->key, b->key, n);
    if (c)
        return c;
    return a->key_length < b->key_length ? -1 : a->key_length > b->key_length;
}

static int member_order(const void *a, const void *b)
{
    return key_compare(a, b);
}

static ql_status push_item(parser *ps, jv *container, size_t *alloc, jv *item)
{
    if (container->count == *alloc) {
        size_t grown = *alloc ? *alloc * 2 : 4;
        jv *items = ql__realloc(ps->allocator, container->items, grown * sizeof *items);
        if (!items)
            return QL_ENOMEM;
        container->items = items;
        *alloc = grown;
    }
    container->items[container->count++] = *item;
    return QL_OK;
}

static ql_status parse_value(parser *ps, jv *out, int depth)
{
    ql_status status = QL_OK;
    memset(out, 0, sizeof *out);
    skip_space(ps);
    if (ps->p >= ps->end)
        return parse_error(ps, "unexpected end");
    if (depth > MAX_JSON_DEPTH)
        return parse_error(ps, "nested too deeply");
    uint8_t c = *ps->p;
    if (c == '"') {
        out->type = JV_STRING;
        return parse_string(ps, &out->string, &out->string_length);
    }
    if (c >= '0' && c <= '9') {
        out->type = JV_INTEGER;
        if (c == '0' && ps->end - ps->p > 1 && ps->p[1] >= '0' && ps->p[1] <= '9')
            return parse_error(ps, "an integer with a leading zero");
        uint64_t v = 0;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
            v = v * 10 + (uint64_t)(*ps->p - '0');
            if (v > JSON_INT_MAX)
                return parse_error(ps, "an integer above 2^53 - 1");
            ps->p++;
        }
        if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E'))
            return parse_error(ps, "a number that is not an integer");
        out->integer = v;
        return QL_OK;
    }
    if (c != '[' && c != '{')
        return parse_error(ps, "a value canonical JSON does not use (negative or fractional "
                               "numbers, true, false, null) or a syntax error");
    int object = c == '{';
    out->type = object ? JV_OBJECT : JV_ARRAY;
    size_t alloc = 0;
    ps->p++;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
        ps->p++;
        return QL_OK;
    }
    for (;;) {
        jv item;
        memset(&item, 0, sizeof item);
        if (object) {
            skip_space(ps);
            if (ps->p >= ps->end || *ps->p != '"') {
                status = parse_error(ps, "an object member without a string name");
                goto out;
            }
            status = parse_string(ps, &item.key, &item.key_length);
            if (status != QL_OK)
                goto out;
            skip_space(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                ql__free(ps->allocator, item.key);
                status = parse_error(ps, "':' expected");
                goto out;
            }
            ps->p++;
            char *key = item.key;
            size_t key_length = item.key_length;
            status = parse_value(ps, &item, depth + 1);
            item.key = key;
            item.key_length = key_length;
        } else {
            status = parse_value(ps, &item, depth + 1);
        }
        if (status == QL_OK)
            status = push_item(ps, out, &alloc, &item);
        if (status != QL_OK) {
            jv_free(ps->allocator, &item);
            goto out;
        }
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
            ps->p++;
            break;
        }
        status = parse_error(ps, object ? "',' or '}' expected" : "',' or ']' expected");
        goto out;
    }
    if (object && out->count > 1) {
        qsort(out->items, out->count, sizeof *out->items, member_order);
        for (size_t i = 1; i < out->count; i++)
            if (key_compare(&out->items[i - 1], &out->items[i]) == 0) {
                status = parse_error(ps, "a duplicate member name");
                goto out;
            }
    }
out:
    if (status != QL_OK)
        jv_free(ps->allocator, out);
    return status;
}

/* Parses a whole document; `error` receives why not. */
static ql_status json_parse(const ql_allocator *a, const uint8_t *text, size_t length, jv *out,
                            char *error, size_t error_size)
{
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.allocator = a;
    ps.p = text;
    ps.end = text + length;
    ql_status status = length > MAX_DOCUMENT_SIZE ? QL_ELIMIT : parse_value(&ps, out, 0);
    if (status == QL_OK) {
        skip_space(&ps);
        if (ps.p != ps.end) {
            jv_free(a, out);
            status = parse_error(&ps, "text after the value");
        }
    }
    if (status != QL_OK)
        set_error(error, error_size, "not canonical-subset JSON: %s at byte %zu",
                  ps.error[0] ? ps.error : ql_status_message(status),
                  (size_t)(ps.p - text));
    return status;
}

/* Writes a parsed value in canonical form (members are kept sorted by the
 * parser). */
static void json_write(buffer *b, const jv *v)
{
    switch (v->type) {
    case JV_STRING:
        json_string(b, v->string, v->string_length);
        break;
    case JV_INTEGER:
        buffer_uint(b, v->integer);
        break;
    case JV_ARRAY:
    case JV_OBJECT:
        buffer_add(b, v->type == JV_ARRAY ? "[" : "{", 1);
        for (size_t i = 0; i < v->count; i++) {
            if (i)
                buffer_add(b, ",", 1);
            if (v->type == JV_OBJECT) {
                json_string(b, v->items[i].key, v->items[i].key_length);
                buffer_add(b, ":", 1);
            }
            json_write(b, &v->items[i]);
        }
        buffer_add(b, v->type == JV_ARRAY ? "]" : "}", 1);
        break;
    }
}

static const jv *jv_get(const jv *object, const char *key)
{
    if (!object || object->type != JV_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < object->count; i++)
        if (object->items[i].key_length == n && memcmp(object->items[i].key, key, n) == 0)
            return &object->items[i];
    return NULL;
}

static const char *jv_string(const jv *object, const char *key)
{
    const jv *v = jv_get(object, key);
    return v && v->type == JV_STRING ? v->string : NULL;
}

static int jv_hex(const jv *object, const char *key, uint8_t *out, size_t n)
{
    const jv *v = jv_get(object, key);
    return v && v->type == JV_STRING ? hex_decode(v->string, v->string_length, out, n) : -1;
}

/* ---------------------------------------------------------- Merkle tree */

static void sha256(const void *a, size_t an, const void *b, size_t bn, const void *c, size_t cn,
                   uint8_t out[HASH_SIZE])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = HASH_SIZE;
    /* With no context the caller still gets a defined (and wrong) value;
     * OpenSSL allocates nothing else here, so only memory exhaustion gets
     * there, and every comparison then fails safe. */
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        (an && EVP_DigestUpdate(ctx, a, an) != 1) || (bn && EVP_DigestUpdate(ctx, b, bn) != 1) ||
        (cn && EVP_DigestUpdate(ctx, c, cn) != 1) || EVP_DigestFinal_ex(ctx, out, &n) != 1)
        memset(out, 0, HASH_SIZE);
    EVP_MD_CTX_free(ctx);
}

void ql_evidence_leaf_hash(const uint8_t *entry, size_t length, uint8_t out[HASH_SIZE])
{
    static const uint8_t prefix = 0x00;
    sha256(&prefix, 1, entry, length, NULL, 0, out);
}

void ql_evidence_node_hash(const uint8_t left[HASH_SIZE], const uint8_t right[HASH_SIZE],
                           uint8_t out[HASH_SIZE])
{
    static const uint8_t prefix = 0x01;
    uint8_t both[2 * HASH_SIZE];
    memcpy(both, left, HASH_SIZE);
    memcpy(both + HASH_SIZE, right, HASH_SIZE);
    sha256(&prefix, 1, both, sizeof both, NULL, 0, out);
}

/* The largest power of two smaller than n (n >= 2): RFC 9162's k. */
static uint64_t split_point(uint64_t n)
{
    return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

static int is_power_of_two(uint64_t n)
{
    return n && !(n & (n - 1));
}

/* MTH(D[begin:end]), end > begin: one stored node when the range is a
 * complete subtree, else its two halves.  Only ranges that end at a tree's
 * right edge split, so the reads stay O(log n). */
static ql_status subtree_hash(ql_evidence_log *log, uint64_t begin, uint64_t end,
                              uint8_t out[HASH_SIZE])
{
    uint64_t n = end - begin;
    if (is_power_of_two(n) && begin % n == 0) {
        unsigned level = (unsigned)__builtin_ctzll(n);
        return store_failed(log, log->store->ops->get_node(log->store, level, begin >> level, out));
    }
    uint64_t k = split_point(n);
    uint8_t left[HASH_SIZE], right[HASH_SIZE];
    ql_status status = subtree_hash(log, begin, begin + k, left);
    if (status == QL_OK)
        status = subtree_hash(log, begin + k, end, right);
    if (status == QL_OK)
        ql_evidence_node_hash(left, right, out);
    return status;
}

static ql_status root_of(ql_evidence_log *log, uint64_t size, uint8_t out[HASH_SIZE])
{
    if (size == 0) {
        memcpy(out, empty_root, HASH_SIZE);
        return QL_OK;
    }
    return subtree_hash(log, 0, size, out);
}

static ql_status proof_add(ql_evidence_log *log, ql_evidence_proof *proof, uint64_t begin,
                           uint64_t end)
{
    if (proof->length >= QL_EVIDENCE_MAX_PROOF)
        return QL_ELIMIT;
    return subtree_hash(log, begin, end, proof->hashes[proof->length++]);
}

/* RFC 9162 2.1.3.1: PATH(m, D[begin:end]), the siblings from the leaf up. */
static ql_status inclusion_path(ql_evidence_log *log, uint64_t m, uint64_t begin, uint64_t end,
                                ql_evidence_proof *proof)
{
    uint64_t n = end - begin;
    if (n == 1)
        return QL_OK;
    uint64_t k = split_point(n);
    ql_status status;
    if (m < begin + k) {
        status = inclusion_path(log, m, begin, begin + k, proof);
        return status == QL_OK ? proof_add(log, proof, begin + k, end) : status;
    }
    status = inclusion_path(log, m, begin + k, end, proof);
    return status == QL_OK ? proof_add(log, proof, begin, begin + k) : status;
}

/* RFC 9162 2.1.4.1: SUBPROOF(m, D[begin:end], b), m counted from 0. */
static ql_status consistency_subproof(ql_evidence_log *log, uint64_t m, uint64_t begin,
                                      uint64_t end, int whole, ql_evidence_proof *proof)
{
    if (m == end)
        return whole ? QL_OK : proof_add(log, proof, begin, end);
    uint64_t k = split_point(end - begin);
    ql_status status;
    if (m <= begin + k) {
        status = consistency_subproof(log, m, begin, begin + k, whole, proof);
        return status == QL_OK ? proof_add(log, proof, begin + k, end) : status;
    }
    status = consistency_subproof(log, m, begin + k, end, 0, proof);
    return status == QL_OK ? proof_add(log, proof, begin, begin + k) : status;
}

ql_status ql_evidence_verify_inclusion(uint64_t index, uint64_t size,
                                       const uint8_t leaf_hash[HASH_SIZE],
                                       const ql_evidence_proof *proof,
                                       const uint8_t root[HASH_SIZE])
{
    if (!leaf_hash || !proof || !root)
        return QL_EINVAL;
    if (index >= size || proof->length > QL_EVIDENCE_MAX_PROOF)
        return QL_EVERIFY;
    /* RFC 9162 2.1.3.2, step by step. */
    uint64_t fn = index, sn = size - 1;
    uint8_t r[HASH_SIZE];
    memcpy(r, leaf_hash, HASH_SIZE);
    for (size_t i = 0; i < proof->length; i++) {
        const uint8_t *p = proof->hashes[i];
        if (sn == 0)
            return QL_EVERIFY;
        if ((fn & 1) || fn == sn) {
            ql_evidence_node_hash(p, r, r);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            ql_evidence_node_hash(r, p, r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && CRYPTO_memcmp(r, root, HASH_SIZE) == 0 ? QL_OK : QL_EVERIFY;
}

ql_status ql_evidence_verify_consistency(uint64_t size1, uint64_t size2,
                                         const uint8_t root1[HASH_SIZE],
                                         const uint8_t root2[HASH_SIZE],
                                         const ql_evidence_proof *proof)
{
    if (!root1 || !root2 || !proof)
        return QL_EINVAL;
    if (size1 > size2 || proof->length > QL_EVIDENCE_MAX_PROOF)
        return QL_EVERIFY;
    /* An empty tree is a prefix of every tree; a tree is consistent with
     * itself.  Both have empty proofs. */
    if (size1 == 0)
        return proof->length == 0 ? QL_OK : QL_EVERIFY;
    if (size1 == size2)
        return proof->length == 0 && CRYPTO_memcmp(root1, root2, HASH_SIZE) == 0 ? QL_OK
                                                                                 : QL_EVERIFY;
    /* RFC 9162 2.1.4.2, step by step. */
    if (proof->length == 0)
        return QL_EVERIFY;
    const uint8_t *path[QL_EVIDENCE_MAX_PROOF + 1];
    size_t n = 0;
    if (is_power_of_two(size1))
        path[n++] = root1;
    for (size_t i = 0; i < proof->length; i++)
        path[n++] = proof->hashes[i];
    uint64_t fn = size1 - 1, sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[HASH_SIZE], sr[HASH_SIZE];
    memcpy(fr, path[0], HASH_SIZE);
    memcpy(sr, path[0], HASH_SIZE);
    for (size_t i = 1; i < n; i++) {
        const uint8_t *c = path[i];
        if (sn == 0)
            return QL_EVERIFY;
        if ((fn & 1) || fn == sn) {
            ql_evidence_node_hash(c, fr, fr);
            ql_evidence_node_hash(c, sr, sr);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            ql_evidence_node_hash(sr, c, sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return CRYPTO_memcmp(fr, root1, HASH_SIZE) == 0 && CRYPTO_memcmp(sr, root2, HASH_SIZE) == 0 &&
                   sn == 0
               ? QL_OK
               : QL_EVERIFY;
}

/* The root of the in-memory right edge. */
static void frontier_root(const uint8_t frontier[64][HASH_SIZE], uint64_t size,
                          uint8_t out[HASH_SIZE])
{
    int have = 0;
    if (size == 0) {
        memcpy(out, empty_root, HASH_SIZE);
        return;
    }
    for (unsigned level = 0; level < 64; level++) {
        if (!(size >> level & 1))
            continue;
        if (!have)
            memcpy(out, frontier[level], HASH_SIZE);
        else
            ql_evidence_node_hash(frontier[level], out, out);
        have = 1;
    }
}

/* Adds a leaf to a right edge; `on_node` sees every node it completes
 * (the leaf included), in the order they are made. */
typedef ql_status (*node_cb)(void *user, unsigned level, uint64_t index,
                             const uint8_t hash[HASH_SIZE]);

static ql_status frontier_append(uint8_t frontier[64][HASH_SIZE], uint64_t *size,
                                 const uint8_t leaf[HASH_SIZE], node_cb on_node, void *user)
{
    uint8_t node[HASH_SIZE];
    uint64_t index = *size;
    unsigned level = 0;
    memcpy(node, leaf, HASH_SIZE);
    ql_status status = on_node(user, 0, index, node);
    while (status == QL_OK && (index & 1)) {
        ql_evidence_node_hash(frontier[level], node, node);
        level++;
        index >>= 1;
        status = on_node(user, level, index, node);
    }
    if (status == QL_OK) {
        memcpy(frontier[level], node, HASH_SIZE);
        (*size)++;
    }
    return status;
}

static ql_status store_node(void *user, unsigned level, uint64_t index,
                            const uint8_t hash[HASH_SIZE])
{
    ql_evidence_log *log = user;
    return store_failed(log, log->store->ops->put_node(log->store, level, index, hash));
}

/* Reads the right edge of a tree of `size` entries from the store. */
static ql_status frontier_load(ql_evidence_log *log, uint64_t size)
{
    uint64_t start = 0;
    for (int level = 63; level >= 0; level--) {
        if (!(size >> level & 1))
            continue;
        ql_status status = log->store->ops->get_node(log->store, (unsigned)level,
                                                     start >> level, log->frontier[level]);
        if (status != QL_OK)
            return store_failed(log, status);
        start += UINT64_C(1) << level;
    }
    log->size = size;
    return QL_OK;
}

/* ---------------------------------------------------------------- keys */

/* Opens a key file for reading, refusing one that others may read or
 * write: a key anyone on the machine can copy signs (or decrypts) for
 * them too, and one anyone can replace signs for someone else. */
static ql_status open_key_file(const char *path, FILE **out, char *error, size_t error_size)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_error(error, error_size, "%s: %s", path, strerror(errno));
        return QL_EKEY;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_error(error, error_size, "%s: not a regular file", path);
        close(fd);
        return QL_EKEY;
    }
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        set_error(error, error_size,
                  "%s: the key file is %s by every user (mode %04o); refusing it "
                  "(chmod 600 it, and consider the key exposed)",
                  path, st.st_mode & S_IROTH ? "readable" : "writable",
                  (unsigned)(st.st_mode & 07777));
        close(fd);
        return QL_EKEY;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        set_error(error, error_size, "%s: %s", path, strerror(errno));
        close(fd);
        return QL_EKEY;
    }
    *out = f;
    return QL_OK;
}

static ql_status load_signing_key(const char *path, EVP_PKEY **out, char *error, size_t error_size)
{
    FILE *f;
    ql_status status = open_key_file(path, &f, error, error_size);
    if (status != QL_OK)
        return status;
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
        set_error(error, error_size, "%s: not an Ed25519 private key in PEM", path);
        EVP_PKEY_free(key);
        return QL_EKEY;
    }
    *out = key;
    return QL_OK;
}

static ql_status load_content_key(const char *path, uint8_t key[32], char *error, size_t error_size)
{
    FILE *f;
    char text[130];
    ql_status status = open_key_file(path, &f, error, error_size);
    if (status != QL_OK)
        return status;
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    if (hex_decode(text, n, key, 32) != 0) {
        set_error(error, error_size, "%s: a content key is 64 hex digits (32 bytes)", path);
        OPENSSL_cleanse(text, sizeof text);
        return QL_EKEY;
    }
    OPENSSL_cleanse(text, sizeof text);
    return QL_OK;
}

static int raw_public_key(EVP_PKEY *key, uint8_t out[32])
{
    size_t n = 32;
    return EVP_PKEY_get_raw_public_key(key, out, &n) == 1 && n == 32 ? 0 : -1;
}

static int same_public_key(EVP_PKEY *a, EVP_PKEY *b)
{
    uint8_t ra[32], rb[32];
    return raw_public_key(a, ra) == 0 && raw_public_key(b, rb) == 0 && memcmp(ra, rb, 32) == 0;
}

static char *public_key_pem(const ql_allocator *a, EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL, *data;
    if (bio && PEM_write_bio_PUBKEY(bio, key) == 1) {
        long n = BIO_get_mem_data(bio, &data);
        if (n > 0)
            pem = ql__strndup(a, data, (size_t)n);
    }
    BIO_free(bio);
    return pem;
}

static EVP_PKEY *parse_public_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (key && EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    return key;
}

/* Creates `path` for a secret (mode 0600, never over an existing file),
 * writes it and syncs it. */
static ql_status write_new_file(const char *path, mode_t mode, const void *data, size_t n,
                                char *error, size_t error_size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        set_error(error, error_size, "%s: %s%s", path, strerror(errno),
                  errno == EEXIST ? " (keys are never overwritten)" : "");
        return QL_EIO;
    }
    /* The umask may only have taken bits away; fchmod makes the mode
     * exactly what was asked for. */
    const uint8_t *p = data;
    size_t left = n;
    int failed = fchmod(fd, mode) != 0;
    while (!failed && left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            failed = 1;
        else {
            p += w;
            left -= (size_t)w;
        }
    }
    if (!failed && fsync(fd) != 0)
        failed = 1;
    if (close(fd) != 0)
        failed = 1;
    if (failed) {
        set_error(error, error_size, "%s: %s", path, strerror(errno));
        unlink(path);
        return QL_EIO;
    }
    return QL_OK;
}

ql_status ql_evidence_keygen(const char *private_path, const char *public_path, char *error,
                             size_t error_size)
{
    ql_status status = QL_OK;
    EVP_PKEY *key = NULL;
    BIO *bio = NULL;
    char *pem = NULL, *data;
    if (!private_path || !public_path)
        return QL_EINVAL;
    key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    bio = BIO_new(BIO_s_mem());
    if (!key || !bio || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
        set_error(error, error_size, "cannot generate an Ed25519 key");
        status = QL_ECRYPTO;
        goto out;
    }
    long n = BIO_get_mem_data(bio, &data);
    status = write_new_file(private_path, 0600, data, (size_t)n, error, error_size);
    if (status != QL_OK)
        goto out;
    pem = public_key_pem(NULL, key);
    if (!pem) {
        status = QL_ECRYPTO;
        goto out;
    }
    status = write_new_file(public_path, 0644, pem, strlen(pem), error, error_size);
    if (status != QL_OK)
        unlink(private_path);
out:
    if (bio) {
        /* The memory BIO held the private key. */
        long held = BIO_get_mem_data(bio, &data);
        if (held > 0)
            OPENSSL_cleanse(data, (size_t)held);
        BIO_free(bio);
    }
    ql__free(NULL, pem);
    EVP_PKEY_free(key);
    return status;
}

ql_status ql_evidence_read_content_key(const char *path, uint8_t key[32], char *error,
                                       size_t error_size)
{
    if (!path || !key)
        return QL_EINVAL;
    return load_content_key(path, key, error, error_size);
}

ql_status ql_evidence_content_keygen(const char *path, char *error, size_t error_size)
{
    uint8_t key[32];
    char text[66];
    if (!path)
        return QL_EINVAL;
    if (RAND_bytes(key, sizeof key) != 1) {
        set_error(error, error_size, "the random generator failed");
        return QL_ECRYPTO;
    }
    hex_encode(key, sizeof key, text);
    text[64] = '\n';
    ql_status status = write_new_file(path, 0600, text, 65, error, error_size);
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(text, sizeof text);
    return status;
}

/* ---------------------------------------------------------- tree heads */

static void sth_message(const ql_evidence_tree_head *head, uint8_t out[STH_MESSAGE_SIZE])
{
    memcpy(out, STH_LABEL, STH_LABEL_LENGTH);
    for (int i = 0; i < 8; i++) {
        out[STH_LABEL_LENGTH + i] = (uint8_t)(head->size >> (56 - 8 * i));
        out[STH_LABEL_LENGTH + 8 + i] = (uint8_t)(head->time_ms >> (56 - 8 * i));
    }
    memcpy(out + STH_LABEL_LENGTH + 16, head->root, HASH_SIZE);
}

static ql_status sign_head(EVP_PKEY *key, ql_evidence_tree_head *head)
{
    uint8_t message[STH_MESSAGE_SIZE];
    size_t n = SIG_SIZE;
    sth_message(head, message);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestSign(ctx, head->signature, &n, message, sizeof message) == 1 &&
             n == SIG_SIZE;
    EVP_MD_CTX_free(ctx);
    return ok ? QL_OK : QL_ECRYPTO;
}

static int head_signature_ok(EVP_PKEY *key, const ql_evidence_tree_head *head)
{
    uint8_t message[STH_MESSAGE_SIZE];
    sth_message(head, message);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestVerify(ctx, head->signature, SIG_SIZE, message, sizeof message) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

ql_status ql_evidence_verify_tree_head(const ql_evidence_tree_head *head, const char *public_key)
{
    if (!head || !public_key)
        return QL_EINVAL;
    EVP_PKEY *key = parse_public_key(public_key);
    if (!key)
        return QL_EKEY;
    int ok = head_signature_ok(key, head);
    EVP_PKEY_free(key);
    return ok ? QL_OK : QL_EVERIFY;
}

/* ----------------------------------------------------------- encryption */

static void key_id(const uint8_t key[32], char out[17])
{
    uint8_t digest[HASH_SIZE];
    sha256(KEY_ID_LABEL, strlen(KEY_ID_LABEL), key, 32, NULL, 0, digest);
    hex_encode(digest, 8, out);
}

static int random_bytes(uint8_t *out, size_t n)
{
    return n <= INT32_MAX && RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

int (*ql__evidence_random)(uint8_t *out, size_t n) = random_bytes;

/* HMAC-SHA-256 over a || b || c; -1 if OpenSSL fails. */
static int hmac_sha256(const uint8_t *key, size_t key_length, const void *a, size_t an,
                       const void *b, size_t bn, const void *c, size_t cn, uint8_t out[HASH_SIZE])
{
    static const uint8_t no_key = 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2];
    size_t length = 0;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    /* HMAC with the empty key is HMAC with a key of zero bytes (RFC 2104
     * pads keys with zeros); OpenSSL wants a pointer all the same. */
    int ok = ctx && EVP_MAC_init(ctx, key_length ? key : &no_key, key_length, params) == 1 &&
             (an == 0 || EVP_MAC_update(ctx, a, an) == 1) &&
             (bn == 0 || EVP_MAC_update(ctx, b, bn) == 1) &&
             (cn == 0 || EVP_MAC_update(ctx, c, cn) == 1) &&
             EVP_MAC_final(ctx, out, &length, HASH_SIZE) == 1 && length == HASH_SIZE;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok ? 0 : -1;
}

/* nonce || ciphertext || tag, the nonce fresh from the random generator:
 * with random 96-bit nonces one key stays safe for far more entries than
 * a log holds (NIST SP 800-38D's 2^32 invocations).  `aad` is the
 * additional data: what the blob is (content, or which report field), so
 * one cannot stand in for another. */
static ql_status encrypt_blob(const ql_allocator *a, const uint8_t key[32],
                              const uint8_t *aad, size_t aad_length,
                              const uint8_t *plain, size_t n, uint8_t **out, size_t *out_length)
{
    ql_status status = QL_ECRYPTO;
    EVP_CIPHER_CTX *ctx = NULL;
    int len;
    if (n > INT32_MAX - GCM_NONCE_SIZE - GCM_TAG_SIZE)
        return QL_ELIMIT;
    uint8_t *blob = ql__malloc(a, n + GCM_NONCE_SIZE + GCM_TAG_SIZE);
    if (!blob)
        return QL_ENOMEM;
    if (ql__evidence_random(blob, GCM_NONCE_SIZE) != 0)
        goto out;
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, blob) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_length) != 1 ||
        (n && EVP_EncryptUpdate(ctx, blob + GCM_NONCE_SIZE, &len, plain, (int)n) != 1) ||
        EVP_EncryptFinal_ex(ctx, blob + GCM_NONCE_SIZE + n, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_SIZE,
                            blob + GCM_NONCE_SIZE + n) != 1)
        goto out;
    status = QL_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    if (status != QL_OK) {
        ql__free(a, blob);
        return status;
    }
    *out = blob;
    *out_length = n + GCM_NONCE_SIZE + GCM_TAG_SIZE;
    return QL_OK;
}

/* QL_EVERIFY when the tag does not match (another key, or altered). */
static ql_status decrypt_blob(const ql_allocator *a, const uint8_t key[32],
                              const uint8_t *aad, size_t aad_length,
                              const uint8_t *blob, size_t n, uint8_t **out, size_t *out_length)
{
    ql_status status = QL_ECRYPTO;
    EVP_CIPHER_CTX *ctx = NULL;
    int len;
    if (n < GCM_NONCE_SIZE + GCM_TAG_SIZE || n > INT32_MAX)
        return QL_EVERIFY;
    size_t plain_length = n - GCM_NONCE_SIZE - GCM_TAG_SIZE;
    uint8_t *plain = ql__malloc(a, plain_length + 1);
    uint8_t tag[GCM_TAG_SIZE];
    if (!plain)
        return QL_ENOMEM;
    memcpy(tag, blob + n - GCM_TAG_SIZE, GCM_TAG_SIZE);
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, blob) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aad_length) != 1 ||
        (plain_length && EVP_DecryptUpdate(ctx, plain, &len, blob + GCM_NONCE_SIZE,
                                           (int)plain_length) != 1) ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_SIZE, tag) != 1)
        goto out;
    status = EVP_DecryptFinal_ex(ctx, plain + plain_length, &len) == 1 ? QL_OK : QL_EVERIFY;
out:
    EVP_CIPHER_CTX_free(ctx);
    if (status != QL_OK) {
        OPENSSL_cleanse(plain, plain_length);
        ql__free(a, plain);
        return status;
    }
    plain[plain_length] = '\0';
    *out = plain;
    *out_length = plain_length;
    return QL_OK;
}

static ql_status encrypt_content(const ql_allocator *a, const uint8_t key[32],
                                 const uint8_t *plain, size_t n, uint8_t **out, size_t *out_length)
{
    return encrypt_blob(a, key, (const uint8_t *)GCM_AAD, strlen(GCM_AAD), plain, n, out,
                        out_length);
}

static ql_status decrypt_content(const ql_allocator *a, const uint8_t key[32],
                                 const uint8_t *blob, size_t n, uint8_t **out, size_t *out_length)
{
    return decrypt_blob(a, key, (const uint8_t *)GCM_AAD, strlen(GCM_AAD), blob, n, out,
                        out_length);
}

/* -------------------------------------------------------------- reports */

/* An abuse report's reporter (their contact) and note (their free text) are
 * personal data: an entry never holds them in clear.  It holds, under
 * `report`, a random salt, and per field an HMAC-SHA-256 commitment keyed
 * with the report's opening key, HMAC-SHA-256(content key, or the empty
 * key without one; REPORT_OPENING || salt); with a content key also the
 * value encrypted under it.  Whoever holds a value and the opening key can
 * show that the entry recorded that value; without the content key the
 * opening key of a report cannot be computed, so log readers cannot test
 * guesses, and the operator can hand out one report's opening key without
 * exposing any other.  docs/evidence.md, "Reports", has the exact bytes. */

/* The report fields in the order entries hold them (sorted). */
static const char *const report_fields[2] = {"note", "reporter"};

static void buffer_base64(buffer *b, const uint8_t *data, size_t n);
static int base64_decode(const ql_allocator *a, const char *text, size_t n, uint8_t **out,
                         size_t *length);

static int report_opening_key(const uint8_t *content_key, const uint8_t salt[REPORT_SALT_SIZE],
                              uint8_t out[HASH_SIZE])
{
    return hmac_sha256(content_key, content_key ? 32 : 0, REPORT_OPENING, strlen(REPORT_OPENING),
                       salt, REPORT_SALT_SIZE, NULL, 0, out);
}

/* HMAC-SHA-256(opening key, field name || 0x00 || value). */
static int report_commitment(const uint8_t opening[HASH_SIZE], const char *field,
                             const char *value, size_t n, uint8_t out[HASH_SIZE])
{
    return hmac_sha256(opening, HASH_SIZE, field, strlen(field) + 1, value, n, NULL, 0, out);
}

/* The encryption's additional data: REPORT_AAD || 0x00 || field name. */
static size_t report_aad(const char *field, uint8_t out[64])
{
    size_t label = strlen(REPORT_AAD), name = strlen(field);
    memcpy(out, REPORT_AAD, label);
    out[label] = 0;
    memcpy(out + label + 1, field, name);
    return label + 1 + name;
}

/* Checks a `report` member's shape and, given a content key (`key`, whose
 * id is `key_id`), decrypts each value held encrypted and checks it
 * against its commitment; `values` (may be NULL) then receives the
 * plaintexts in report_fields order (NULL for a field not there).
 * QL_EINVAL for a malformed report, QL_EVERIFY for a value that does not
 * decrypt or match, `why` saying which; QL_ENOMEM. */
static ql_status check_report(const ql_allocator *a, const jv *report, const uint8_t *key,
                              const char *key_id, char *values[2], char *why, size_t why_size)
{
    ql_status status = QL_OK;
    uint8_t salt[REPORT_SALT_SIZE], opening[HASH_SIZE], want[HASH_SIZE], got[HASH_SIZE];
    const jv *fields[2];
    size_t present = 0;
    if (values)
        values[0] = values[1] = NULL;
    if (!report || report->type != JV_OBJECT ||
        jv_hex(report, "salt", salt, sizeof salt) != 0) {
        set_error(why, why_size, "its report has no valid salt");
        return QL_EINVAL;
    }
    const jv *id = jv_get(report, "key_id");
    int encrypted = id != NULL;
    if (id && id->type != JV_STRING) {
        set_error(why, why_size, "its report's key_id is not a string");
        return QL_EINVAL;
    }
    for (int i = 0; i < 2; i++) {
        const jv *f = fields[i] = jv_get(report, report_fields[i]);
        if (!f)
            continue;
        present++;
        const jv *cipher = jv_get(f, "ciphertext");
        if (f->type != JV_OBJECT || jv_hex(f, "hmac_sha256", want, HASH_SIZE) != 0 ||
            (cipher && cipher->type != JV_STRING) || (cipher != NULL) != encrypted ||
            f->count != (size_t)(encrypted ? 2 : 1)) {
            set_error(why, why_size, "its report's %s is malformed", report_fields[i]);
            return QL_EINVAL;
        }
    }
    if (present == 0 || report->count != present + 1 + (size_t)encrypted) {
        set_error(why, why_size, "its report has %s",
                  present ? "members the format does not have" : "neither reporter nor note");
        return QL_EINVAL;
    }
    if (!key || !encrypted)
        return QL_OK;
    if (!key_id || strcmp(id->string, key_id) != 0) {
        set_error(why, why_size, "its report was encrypted with another key (key id %s)",
                  id->string);
        return QL_EVERIFY;
    }
    if (report_opening_key(key, salt, opening) != 0)
        return QL_ECRYPTO;
    for (int i = 0; i < 2 && status == QL_OK; i++) {
        uint8_t aad[64], *blob = NULL, *plain = NULL;
        size_t aad_length = report_aad(report_fields[i], aad), blob_length = 0, plain_length = 0;
        const jv *cipher = jv_get(fields[i], "ciphertext");
        if (!fields[i])
            continue;
        jv_hex(fields[i], "hmac_sha256", want, HASH_SIZE);
        if (base64_decode(a, cipher->string, cipher->string_length, &blob, &blob_length) != 0) {
            set_error(why, why_size, "its report's %s is not base64", report_fields[i]);
            status = QL_EINVAL;
            break;
        }
        status = decrypt_blob(a, key, aad, aad_length, blob, blob_length, &plain, &plain_length);
        ql__free(a, blob);
        if (status == QL_EVERIFY)
            set_error(why, why_size, "its report's %s does not decrypt with this key (another "
                                     "key, or altered)", report_fields[i]);
        if (status != QL_OK)
            break;
        if (report_commitment(opening, report_fields[i], (const char *)plain, plain_length,
                              got) != 0) {
            status = QL_ECRYPTO;
        } else if (CRYPTO_memcmp(want, got, HASH_SIZE) != 0 ||
                   memchr(plain, 0, plain_length) != NULL) {
            set_error(why, why_size, "its report's decrypted %s does not match its commitment",
                      report_fields[i]);
            status = QL_EVERIFY;
        }
        if (status == QL_OK && values) {
            values[i] = (char *)plain;
        } else {
            OPENSSL_cleanse(plain, plain_length);
            ql__free(a, plain);
        }
    }
    OPENSSL_cleanse(opening, sizeof opening);
    if (status != QL_OK && values)
        for (int i = 0; i < 2; i++) {
            if (values[i])
                OPENSSL_cleanse(values[i], strlen(values[i]));
            ql__free(a, values[i]);
            values[i] = NULL;
        }
    return status;
}

/* ------------------------------------------------------------- opening */

static void log_free(ql_evidence_log *log)
{
    if (!log)
        return;
    if (log->store)
        log->store->ops->close(log->store);
    EVP_PKEY_free(log->signing_key);
    EVP_PKEY_free(log->public_key);
    EVP_PKEY_free(log->trusted_key);
    ql__free(log->allocator, log->public_key_pem);
    OPENSSL_cleanse(log->content_key, sizeof log->content_key);
    ql__free(log->allocator, log);
}

static ql_status load_trusted_key(const char *path, EVP_PKEY **out, char *error, size_t error_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_error(error, error_size, "%s: %s", path, strerror(errno));
        return QL_EKEY;
    }
    EVP_PKEY *key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
        set_error(error, error_size, "%s: not an Ed25519 public key in PEM", path);
        EVP_PKEY_free(key);
        return QL_EKEY;
    }
    *out = key;
    return QL_OK;
}

#define LOG_FORMAT "qinglang-evidence-log-v1"

ql_status ql_evidence_log_create(const char *path, const ql_evidence_options *options,
                                 char *error, size_t error_size)
{
    ql_status status;
    ql__evidence_store *store = NULL;
    EVP_PKEY *key = NULL;
    char *pem = NULL;
    int begun = 0;
    if (!path || !options || !options->signing_key_file) {
        set_error(error, error_size, "a new log needs a signing key");
        return QL_EINVAL;
    }
    status = load_signing_key(options->signing_key_file, &key, error, error_size);
    if (status != QL_OK)
        goto out;
    pem = public_key_pem(NULL, key);
    if (!pem) {
        status = QL_ECRYPTO;
        goto out;
    }
    status = ql__evidence_sqlite_open(path, 1, &store, error, error_size);
    if (status != QL_OK)
        goto out;
    ql_evidence_tree_head head;
    memset(&head, 0, sizeof head);
    head.time_ms = now_ms();
    memcpy(head.root, empty_root, HASH_SIZE);
    status = sign_head(key, &head);
    if (status == QL_OK)
        status = store->ops->begin(store);
    begun = status == QL_OK;
    if (status == QL_OK)
        status = store->ops->put_meta(store, "format", (const uint8_t *)LOG_FORMAT,
                                      strlen(LOG_FORMAT));
    if (status == QL_OK)
        status = store->ops->put_meta(store, "public_key", (const uint8_t *)pem, strlen(pem));
    if (status == QL_OK)
        status = store->ops->put_head(store, &head);
    if (status == QL_OK)
        status = store->ops->commit(store);
    if (status != QL_OK) {
        set_error(error, error_size, "%s: %s", path,
                  store->error[0] ? store->error : ql_status_message(status));
        if (begun)
            store->ops->rollback(store);
    }
out:
    if (store)
        store->ops->close(store);
    if (status != QL_OK && store)
        unlink(path);
    ql__free(NULL, pem);
    EVP_PKEY_free(key);
    return status;
}

ql_status ql_evidence_log_open(const char *path, const ql_evidence_options *options,
                               ql_evidence_log **out, char *error, size_t error_size)
{
    ql_evidence_options none;
    ql_status status;
    uint8_t *pem = NULL;
    size_t pem_length;
    if (!path || !out)
        return QL_EINVAL;
    *out = NULL;
    if (!options) {
        memset(&none, 0, sizeof none);
        options = &none;
    }
    ql_evidence_log *log = ql__calloc(options->allocator, 1, sizeof *log);
    if (!log)
        return QL_ENOMEM;
    log->allocator = options->allocator;
    status = ql__evidence_sqlite_open(path, 0, &log->store, error, error_size);
    if (status != QL_OK)
        goto out;
    uint8_t *format = NULL;
    size_t format_length;
    status = log->store->ops->get_meta(log->store, "format", &format, &format_length);
    if (status == QL_OK && (format_length != strlen(LOG_FORMAT) ||
                            memcmp(format, LOG_FORMAT, format_length) != 0))
        status = QL_EINVAL;
    free(format);
    if (status != QL_OK) {
        set_error(error, error_size, "%s: not a qinglang evidence log (or of another version)",
                  path);
        goto out;
    }
    status = log->store->ops->get_meta(log->store, "public_key", &pem, &pem_length);
    if (status == QL_OK) {
        log->public_key_pem = ql__strndup(log->allocator, (const char *)pem, pem_length);
        log->public_key = log->public_key_pem ? parse_public_key(log->public_key_pem) : NULL;
        if (!log->public_key_pem)
            status = QL_ENOMEM;
    }
    /* An unreadable stored key is left for verification to report. */
    if (status != QL_OK) {
        set_error(error, error_size, "%s: %s", path, log->store->error);
        goto out;
    }
    if (options->public_key_file) {
        status = load_trusted_key(options->public_key_file, &log->trusted_key, error, error_size);
        if (status != QL_OK)
            goto out;
    }
    if (options->signing_key_file) {
        status = load_signing_key(options->signing_key_file, &log->signing_key, error, error_size);
        if (status != QL_OK)
            goto out;
        if (!log->public_key || !same_public_key(log->signing_key, log->public_key) ||
            (log->trusted_key && !same_public_key(log->signing_key, log->trusted_key))) {
            set_error(error, error_size, "%s: the signing key %s is not this log's key", path,
                      options->signing_key_file);
            status = QL_EKEY;
            goto out;
        }
    }
    if (options->content_key_file) {
        status = load_content_key(options->content_key_file, log->content_key, error, error_size);
        if (status != QL_OK)
            goto out;
        log->has_content_key = 1;
        key_id(log->content_key, log->content_key_id);
    }
    /* The right edge is loaded by the first append (under the write lock,
     * where the size cannot change underneath it). */
    log->size = UINT64_MAX;
out:
    free(pem);
    if (status != QL_OK) {
        log_free(log);
        return status;
    }
    *out = log;
    return QL_OK;
}

void ql_evidence_log_close(ql_evidence_log *log)
{
    log_free(log);
}

const char *ql_evidence_log_error(const ql_evidence_log *log)
{
    return log ? log->error : "";
}

const char *ql_evidence_public_key(const ql_evidence_log *log)
{
    return log && log->public_key_pem ? log->public_key_pem : "";
}

static ql_status latest_head(ql_evidence_log *log, ql_evidence_tree_head *head)
{
    return store_failed(log, log->store->ops->get_head(log->store, UINT64_MAX, head));
}

ql_status ql_evidence_size(ql_evidence_log *log, uint64_t *size)
{
    ql_evidence_tree_head head;
    if (!log || !size)
        return QL_EINVAL;
    ql_status status = latest_head(log, &head);
    if (status == QL_OK)
        *size = head.size;
    return status;
}

ql_status ql_evidence_tree_head_get(ql_evidence_log *log, uint64_t size,
                                    ql_evidence_tree_head *out)
{
    if (!log || !out)
        return QL_EINVAL;
    return store_failed(log, log->store->ops->get_head(log->store, size, out));
}

/* ------------------------------------------------------------ appending */

static int text_ok(ql_evidence_log *log, const char *what, const char *s)
{
    if (!s || utf8_valid((const uint8_t *)s, strlen(s)))
        return 1;
    LOG_ERROR(log, "the %s is not valid UTF-8", what);
    return 0;
}

/* The `report` member of a record with a reporter or a note (see
 * "reports" above): the key id and the fields' ciphertexts only with a
 * content key; members in sorted order. */
static ql_status build_report(ql_evidence_log *log, const ql_evidence_record *r, buffer *b)
{
    const char *values[2] = {r->note, r->reporter};
    const uint8_t *key = log->has_content_key ? log->content_key : NULL;
    uint8_t salt[REPORT_SALT_SIZE], opening[HASH_SIZE], commitment[HASH_SIZE];
    ql_status status = QL_OK;
    int first = 1;
    if (ql__evidence_random(salt, sizeof salt) != 0 || report_opening_key(key, salt, opening) != 0)
        return QL_ECRYPTO;
    json_key(b, "report", 0);
    buffer_add(b, "{", 1);
    if (key) {
        json_key(b, "key_id", first);
        json_cstring(b, log->content_key_id);
        first = 0;
    }
    for (int i = 0; i < 2 && status == QL_OK; i++) {
        if (!values[i])
            continue;
        size_t n = strlen(values[i]);
        json_key(b, report_fields[i], first);
        first = 0;
        buffer_add(b, "{", 1);
        if (key) {
            uint8_t aad[64], *blob = NULL;
            size_t aad_length = report_aad(report_fields[i], aad), blob_length = 0;
            status = encrypt_blob(log->allocator, key, aad, aad_length, (const uint8_t *)values[i],
                                  n, &blob, &blob_length);
            if (status != QL_OK)
                break;
            buffer_str(b, "\"ciphertext\":\"");
            buffer_base64(b, blob, blob_length);
            buffer_str(b, "\",");
            ql__free(log->allocator, blob);
        }
        if (report_commitment(opening, report_fields[i], values[i], n, commitment) != 0) {
            status = QL_ECRYPTO;
            break;
        }
        buffer_str(b, "\"hmac_sha256\":");
        json_hex(b, commitment, HASH_SIZE);
        buffer_add(b, "}", 1);
    }
    json_key(b, "salt", 0);
    json_hex(b, salt, sizeof salt);
    buffer_add(b, "}", 1);
    OPENSSL_cleanse(opening, sizeof opening);
    return status;
}

/* A reporter or note: UTF-8 without NUL (it is a C string), bounded, and
 * only in an abuse report.  The messages never quote the value. */
static int report_field_ok(ql_evidence_log *log, const ql_evidence_record *r, const char *what,
                           const char *value)
{
    if (!value)
        return 1;
    if (r->kind != QL_EVIDENCE_ABUSE_REPORT) {
        LOG_ERROR(log, "a %s is recorded only in an abuse_report entry", what);
        return 0;
    }
    size_t n = strnlen(value, MAX_REPORT_FIELD + 1);
    if (n > MAX_REPORT_FIELD) {
        LOG_ERROR(log, "the %s is longer than %zu bytes", what, MAX_REPORT_FIELD);
        return 0;
    }
    return text_ok(log, what, value);
}

/* The canonical entry for a record (docs/evidence.md, "Entries"): members
 * written in sorted order, absent ones left out. */
static ql_status build_entry(ql_evidence_log *log, const ql_evidence_record *r, uint64_t time,
                             const uint8_t content_hash[HASH_SIZE],
                             const uint8_t *blob_hash, buffer *b)
{
    if ((unsigned)r->kind > QL_EVIDENCE_SCAN_RECEIPT) {
        LOG_ERROR(log, "unknown entry kind %d", (int)r->kind);
        return QL_EINVAL;
    }
    if (time > JSON_INT_MAX || r->content_length > JSON_INT_MAX) {
        LOG_ERROR(log, "a time or length beyond 2^53 - 1");
        return QL_EINVAL;
    }
    if (!text_ok(log, "source path", r->source_path) || !text_ok(log, "source URL", r->source_url) ||
        !text_ok(log, "tenant", r->tenant) || !text_ok(log, "ruleset version", r->ruleset_version) ||
        !report_field_ok(log, r, "reporter", r->reporter) || !report_field_ok(log, r, "note", r->note))
        return QL_EINVAL;
    if (r->finding_count && !r->findings)
        return QL_EINVAL;
    buffer_add(b, "{", 1);
    int first = 1;
    if (blob_hash) {
        json_key(b, "content", first);
        buffer_str(b, "{\"cipher\":\"aes-256-gcm\",\"ciphertext_sha256\":");
        json_hex(b, blob_hash, HASH_SIZE);
        buffer_str(b, ",\"key_id\":");
        json_cstring(b, log->content_key_id);
        buffer_add(b, "}", 1);
        first = 0;
    }
    json_key(b, "content_length", first);
    buffer_uint(b, r->content_length);
    json_key(b, "content_sha256", 0);
    json_hex(b, content_hash, HASH_SIZE);
    json_key(b, "findings", 0);
    buffer_add(b, "[", 1);
    for (size_t i = 0; i < r->finding_count; i++) {
        const ql_evidence_finding *f = &r->findings[i];
        if (!f->type || !text_ok(log, "finding type", f->type) ||
            !text_ok(log, "finding rule id", f->rule_id) ||
            !text_ok(log, "masked value", f->masked) || f->start > JSON_INT_MAX ||
            f->end > JSON_INT_MAX || f->start > f->end) {
            if (!log->error[0] || !f->type || f->start > f->end)
                LOG_ERROR(log, "finding %zu is incomplete or its span is invalid", i);
            return QL_EINVAL;
        }
        buffer_str(b, i ? ",{\"end\":" : "{\"end\":");
        buffer_uint(b, f->end);
        if (f->masked) {
            buffer_str(b, ",\"masked\":");
            json_cstring(b, f->masked);
        }
        if (f->rule_id) {
            buffer_str(b, ",\"rule_id\":");
            json_cstring(b, f->rule_id);
        }
        buffer_str(b, ",\"start\":");
        buffer_uint(b, f->start);
        buffer_str(b, ",\"type\":");
        json_cstring(b, f->type);
        buffer_add(b, "}", 1);
    }
    buffer_add(b, "]", 1);
    json_key(b, "kind", 0);
    json_cstring(b, kind_names[r->kind]);
    if (r->reporter || r->note) {
        ql_status status = build_report(log, r, b);
        if (status != QL_OK) {
            LOG_ERROR(log, "the report could not be encrypted (%s)", ql_status_message(status));
            return status;
        }
    }
    if (r->ruleset_version) {
        json_key(b, "ruleset_version", 0);
        json_cstring(b, r->ruleset_version);
    }
    json_key(b, "source", 0);
    buffer_add(b, "{", 1);
    int first_source = 1;
    if (r->source_path) {
        json_key(b, "path", first_source);
        json_cstring(b, r->source_path);
        first_source = 0;
    }
    if (r->tenant) {
        json_key(b, "tenant", first_source);
        json_cstring(b, r->tenant);
        first_source = 0;
    }
    if (r->source_url) {
        json_key(b, "url", first_source);
        json_cstring(b, r->source_url);
    }
    buffer_add(b, "}", 1);
    json_key(b, "time_ms", 0);
    buffer_uint(b, time);
    json_key(b, "version", 0);
    buffer_uint(b, ENTRY_VERSION);
    buffer_add(b, "}", 1);
    return b->status;
}

/* Produces entry i of a batch: its bytes in `entry`, and the content to
 * hold (*content allocated with the log's allocator, or NULL). */
typedef ql_status (*entry_source)(ql_evidence_log *log, void *user, size_t i, buffer *entry,
                                  uint8_t **content, size_t *content_length);

typedef struct record_batch {
    const ql_evidence_record *records;
    uint64_t now;
} record_batch;

static ql_status record_entry(ql_evidence_log *log, void *user, size_t i, buffer *entry,
                              uint8_t **content, size_t *content_length)
{
    record_batch *batch = user;
    const ql_evidence_record *r = &batch->records[i];
    uint8_t content_hash[HASH_SIZE], blob_hash[HASH_SIZE];
    int store = r->store_content && log->has_content_key;
    if (!r->content && r->content_length)
        return QL_EINVAL;
    sha256(r->content, r->content_length, NULL, 0, NULL, 0, content_hash);
    if (store) {
        ql_status status = encrypt_content(log->allocator, log->content_key, r->content,
                                           r->content_length, content, content_length);
        if (status != QL_OK)
            return status;
        sha256(*content, *content_length, NULL, 0, NULL, 0, blob_hash);
    }
    return build_entry(log, r, r->time_ms ? r->time_ms : batch->now, content_hash,
                       store ? blob_hash : NULL, entry);
}

typedef struct raw_batch {
    const uint8_t *const *leaves;
    const size_t *lengths;
} raw_batch;

static ql_status raw_entry(ql_evidence_log *log, void *user, size_t i, buffer *entry,
                           uint8_t **content, size_t *content_length)
{
    raw_batch *batch = user;
    (void)log;
    (void)content;
    (void)content_length;
    buffer_add(entry, batch->leaves[i], batch->lengths[i]);
    if (entry->status == QL_OK && !entry->data)
        buffer_add(entry, "", 0);
    return entry->status;
}

/* Makes log->frontier the right edge of the stored tree, checked against
 * the latest signed head: a log whose stored tree no longer matches what
 * it signed is not extended. */
static ql_status sync_frontier(ql_evidence_log *log, ql_evidence_tree_head *head)
{
    ql_status status = latest_head(log, head);
    if (status != QL_OK || head->size == log->size)
        return status;
    status = frontier_load(log, head->size);
    if (status != QL_OK) {
        log->size = UINT64_MAX;
        return status;
    }
    uint8_t root[HASH_SIZE];
    frontier_root(log->frontier, log->size, root);
    if (memcmp(root, head->root, HASH_SIZE) != 0) {
        log->size = UINT64_MAX;
        LOG_ERROR(log, "the stored tree does not match the latest signed tree head "
                       "(size %llu); run verify", (unsigned long long)head->size);
        return QL_EVERIFY;
    }
    return QL_OK;
}

static ql_status append_entries(ql_evidence_log *log, size_t count, entry_source source,
                                void *user, int with_proofs, ql_evidence_receipt *receipts,
                                ql_evidence_tree_head *head_out)
{
    ql_status status;
    ql_evidence_tree_head head;
    uint8_t saved[64][HASH_SIZE];
    uint64_t saved_size = 0;
    int begun = 0, saved_frontier = 0;
    buffer entry;
    buffer_init(&entry, log->allocator, MAX_ENTRY_SIZE);
    if (!log->signing_key) {
        LOG_ERROR(log, "the log was opened without its signing key: it cannot append");
        return QL_ESTATE;
    }
    if (count == 0 || count > MAX_BATCH)
        return count ? QL_ELIMIT : QL_EINVAL;
    log->error[0] = '\0';
    status = store_failed(log, log->store->ops->begin(log->store));
    if (status != QL_OK)
        goto out;
    begun = 1;
    status = sync_frontier(log, &head);
    if (status != QL_OK)
        goto out;
    memcpy(saved, log->frontier, sizeof saved);
    saved_size = log->size;
    saved_frontier = 1;
    for (size_t i = 0; i < count; i++) {
        uint8_t *content = NULL, leaf[HASH_SIZE];
        size_t content_length = 0;
        uint64_t index = log->size;
        entry.length = 0;
        status = source(log, user, i, &entry, &content, &content_length);
        if (status == QL_OK)
            ql_evidence_leaf_hash(entry.data, entry.length, leaf);
        if (status == QL_OK)
            status = store_failed(log, log->store->ops->put_entry(log->store, index, entry.data,
                                                                  entry.length, content,
                                                                  content_length,
                                                                  content != NULL));
        ql__free(log->allocator, content);
        if (status == QL_OK)
            status = frontier_append(log->frontier, &log->size, leaf, store_node, log);
        if (status != QL_OK)
            goto out;
        if (receipts) {
            receipts[i].index = index;
            memcpy(receipts[i].leaf_hash, leaf, HASH_SIZE);
            receipts[i].proof.length = 0;
        }
    }
    head.size = log->size;
    head.time_ms = now_ms();
    frontier_root(log->frontier, log->size, head.root);
    status = sign_head(log->signing_key, &head);
    if (status == QL_OK)
        status = store_failed(log, log->store->ops->put_head(log->store, &head));
    /* The proofs are read inside the transaction, which sees its own
     * nodes; they are handed out only if the commit succeeds. */
    for (size_t i = 0; status == QL_OK && receipts && with_proofs && i < count; i++)
        status = inclusion_path(log, receipts[i].index, 0, head.size, &receipts[i].proof);
    if (status == QL_OK)
        status = store_failed(log, log->store->ops->commit(log->store));
    if (status == QL_OK) {
        begun = 0;
        for (size_t i = 0; receipts && i < count; i++)
            receipts[i].head = head;
        if (head_out)
            *head_out = head;
    }
out:
    if (status != QL_OK) {
        if (begun)
            log->store->ops->rollback(log->store);
        if (saved_frontier) {
            memcpy(log->frontier, saved, sizeof saved);
            log->size = saved_size;
        }
        if (!log->error[0])
            LOG_ERROR(log, "%s", ql_status_message(status));
    }
    buffer_free(&entry);
    return status;
}

ql_status ql_evidence_append(ql_evidence_log *log, const ql_evidence_record *records,
                             size_t count, int with_proofs, ql_evidence_receipt *receipts)
{
    if (!log || !records)
        return QL_EINVAL;
    record_batch batch = {records, now_ms()};
    return append_entries(log, count, record_entry, &batch, with_proofs, receipts, NULL);
}

ql_status ql__evidence_append_raw(ql_evidence_log *log, const uint8_t *const *leaves,
                                  const size_t *lengths, size_t count,
                                  ql_evidence_tree_head *head)
{
    if (!log || !leaves || !lengths)
        return QL_EINVAL;
    raw_batch batch = {leaves, lengths};
    return append_entries(log, count, raw_entry, &batch, 0, NULL, head);
}

/* ------------------------------------------------------- reading, proofs */

static ql_status check_size(ql_evidence_log *log, uint64_t size)
{
    uint64_t current;
    ql_status status = ql_evidence_size(log, &current);
    if (status == QL_OK && size > current) {
        LOG_ERROR(log, "the log has %llu entries, not %llu", (unsigned long long)current,
                  (unsigned long long)size);
        status = QL_EINVAL;
    }
    return status;
}

ql_status ql_evidence_root(ql_evidence_log *log, uint64_t size, uint8_t root[HASH_SIZE])
{
    if (!log || !root)
        return QL_EINVAL;
    ql_status status = check_size(log, size);
    return status == QL_OK ? root_of(log, size, root) : status;
}

ql_status ql_evidence_inclusion_proof(ql_evidence_log *log, uint64_t index, uint64_t size,
                                      ql_evidence_proof *out)
{
    if (!log || !out)
        return QL_EINVAL;
    out->length = 0;
    ql_status status = check_size(log, size);
    if (status == QL_OK && index >= size) {
        LOG_ERROR(log, "entry %llu is not in a tree of %llu entries", (unsigned long long)index,
                  (unsigned long long)size);
        status = QL_EINVAL;
    }
    return status == QL_OK ? inclusion_path(log, index, 0, size, out) : status;
}

ql_status ql_evidence_consistency_proof(ql_evidence_log *log, uint64_t size1, uint64_t size2,
                                        ql_evidence_proof *out)
{
    if (!log || !out)
        return QL_EINVAL;
    out->length = 0;
    ql_status status = check_size(log, size2);
    if (status == QL_OK && size1 > size2) {
        LOG_ERROR(log, "a tree of %llu entries is not a prefix of one of %llu",
                  (unsigned long long)size1, (unsigned long long)size2);
        status = QL_EINVAL;
    }
    if (status != QL_OK || size1 == 0 || size1 == size2)
        return status;
    return consistency_subproof(log, size1, 0, size2, 1, out);
}

/* Checks the plaintext against the entry's content_sha256. */
static int content_matches(const jv *entry, const uint8_t *plain, size_t n)
{
    uint8_t want[HASH_SIZE], got[HASH_SIZE];
    const jv *length = jv_get(entry, "content_length");
    if (jv_hex(entry, "content_sha256", want, HASH_SIZE) != 0 || !length ||
        length->type != JV_INTEGER || length->integer != n)
        return 0;
    sha256(plain, n, NULL, 0, NULL, 0, got);
    return memcmp(want, got, HASH_SIZE) == 0;
}

ql_status ql_evidence_get(ql_evidence_log *log, uint64_t index, int decrypt,
                          ql_evidence_entry *out)
{
    ql_status status;
    uint8_t *entry = NULL, *blob = NULL;
    size_t entry_length, blob_length;
    jv parsed;
    memset(&parsed, 0, sizeof parsed);
    if (!log || !out)
        return QL_EINVAL;
    memset(out, 0, sizeof *out);
    status = check_size(log, index + 1);
    if (status == QL_OK && index == UINT64_MAX)
        status = QL_EINVAL;
    if (status == QL_OK)
        status = store_failed(log, log->store->ops->get_entry(log->store, index, &entry,
                                                              &entry_length, &blob, &blob_length));
    if (status != QL_OK)
        goto out;
    out->index = index;
    ql_evidence_leaf_hash(entry, entry_length, out->leaf_hash);
    out->entry = ql__malloc(log->allocator, entry_length + 1);
    out->stored_content = blob ? ql__malloc(log->allocator, blob_length + 1) : NULL;
    if (!out->entry || (blob && !out->stored_content)) {
        status = QL_ENOMEM;
        goto out;
    }
    memcpy(out->entry, entry, entry_length + 1);
    out->entry_length = entry_length;
    if (blob) {
        memcpy(out->stored_content, blob, blob_length + 1);
        out->stored_content_length = blob_length;
    }
    if (!decrypt)
        goto out;
    status = json_parse(log->allocator, entry, entry_length, &parsed, log->error,
                        sizeof log->error);
    if (status != QL_OK)
        goto out;
    const jv *report = jv_get(&parsed, "report");
    int report_encrypted = report && jv_get(report, "key_id");
    if (!blob && !report_encrypted) {
        LOG_ERROR(log, "entry %llu holds no content (only its hash)%s", (unsigned long long)index,
                  report ? " and its report only commitments" : "");
        status = QL_EINVAL;
        goto out;
    }
    if (!log->has_content_key) {
        LOG_ERROR(log, "decrypting content needs the content key");
        status = QL_EKEY;
        goto out;
    }
    if (report_encrypted) {
        char why[200], *values[2];
        status = check_report(log->allocator, report, log->content_key, log->content_key_id,
                              values, why, sizeof why);
        if (status == QL_OK) {
            out->note = values[0];
            out->reporter = values[1];
        } else if (status == QL_EINVAL || status == QL_EVERIFY) {
            LOG_ERROR(log, "entry %llu: %s", (unsigned long long)index, why);
            status = QL_EVERIFY;
        }
        if (status != QL_OK || !blob)
            goto out;
    }
    status = decrypt_content(log->allocator, log->content_key, blob, blob_length, &out->content,
                             &out->content_length);
    if (status == QL_EVERIFY)
        LOG_ERROR(log, "entry %llu: the content does not decrypt with this key (another key, "
                       "or altered)", (unsigned long long)index);
    if (status == QL_OK && !content_matches(&parsed, out->content, out->content_length)) {
        LOG_ERROR(log, "entry %llu: the decrypted content does not match content_sha256",
                  (unsigned long long)index);
        status = QL_EVERIFY;
    }
out:
    jv_free(log->allocator, &parsed);
    free(entry);
    free(blob);
    if (status != QL_OK)
        ql_evidence_entry_free(log, out);
    return status;
}

void ql_evidence_entry_free(ql_evidence_log *log, ql_evidence_entry *entry)
{
    if (!log || !entry)
        return;
    ql__free(log->allocator, entry->entry);
    ql__free(log->allocator, entry->stored_content);
    if (entry->content)
        OPENSSL_cleanse(entry->content, entry->content_length);
    ql__free(log->allocator, entry->content);
    if (entry->reporter)
        OPENSSL_cleanse(entry->reporter, strlen(entry->reporter));
    ql__free(log->allocator, entry->reporter);
    if (entry->note)
        OPENSSL_cleanse(entry->note, strlen(entry->note));
    ql__free(log->allocator, entry->note);
    memset(entry, 0, sizeof *entry);
}

/* --------------------------------------------------------- verification */

typedef struct verifier {
    ql_evidence_log       *log;
    EVP_PKEY              *key;           /* the key signatures are checked with */
    ql_evidence_problem_cb callback;
    void                  *user;
    uint64_t               problems;
    int                    stopped;
    ql_status              failure;       /* an error that is not a finding */
    /* The recomputed tree's right edge, and whether each of its subtrees
     * already had a problem reported (so one altered entry is reported
     * once, not again at every node above it). */
    uint8_t                frontier[64][HASH_SIZE];
    uint8_t                tainted[64];
    uint64_t               size;
    int                    entry_tainted, node_tainted;
    int                    gap;
    buffer                 canonical;
} verifier;

static void problem(verifier *v, int64_t entry, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(verifier *v, int64_t entry, const char *format, ...)
{
    char message[400];
    va_list ap;
    va_start(ap, format);
    vsnprintf(message, sizeof message, format, ap);
    va_end(ap);
    v->problems++;
    if (v->stopped || !v->callback)
        return;
    ql_evidence_problem p = {entry, message};
    if (v->callback(&p, v->user))
        v->stopped = 1;
}

static ql_status verify_node(void *user, unsigned level, uint64_t index,
                             const uint8_t hash[HASH_SIZE])
{
    verifier *v = user;
    uint8_t stored[HASH_SIZE];
    uint64_t first = index << level, last = first + (UINT64_C(1) << level) - 1;
    if (level == 0)
        v->node_tainted = v->entry_tainted;
    else
        v->node_tainted |= v->tainted[level - 1];
    ql_status status = v->log->store->ops->get_node(v->log->store, level, index, stored);
    if (status != QL_OK && status != QL_EVERIFY) {
        v->failure = store_failed(v->log, status);
        return status;
    }
    int bad = status == QL_EVERIFY || memcmp(stored, hash, HASH_SIZE) != 0;
    if (bad && !v->node_tainted) {
        if (level == 0)
            problem(v, (int64_t)first,
                    "entry %llu: its leaf hash is not the stored tree node's "
                    "(the entry or the node was altered)%s",
                    (unsigned long long)first, status == QL_EVERIFY ? "; the node is missing" : "");
        else
            problem(v, (int64_t)first,
                    "entries %llu..%llu: the stored hash of their subtree (level %u, index %llu) "
                    "is not the one recomputed from them%s",
                    (unsigned long long)first, (unsigned long long)last, level,
                    (unsigned long long)index, status == QL_EVERIFY ? " (it is missing)" : "");
    }
    if (bad)
        v->node_tainted = 1;
    return QL_OK;
}

/* Checks one entry's JSON and content; returns whether it had a problem. */
static int verify_entry_body(verifier *v, uint64_t index, const uint8_t *entry, size_t n,
                             const uint8_t *content, size_t content_length, int has_content)
{
    ql_evidence_log *log = v->log;
    char why[200];
    jv parsed;
    int bad = 0;
    ql_status status = json_parse(log->allocator, entry, n, &parsed, why, sizeof why);
    if (status == QL_ENOMEM || status == QL_ELIMIT) {
        v->failure = status;
        return 1;
    }
    if (status != QL_OK) {
        problem(v, (int64_t)index, "entry %llu: %s", (unsigned long long)index, why);
        return 1;
    }
    v->canonical.length = 0;
    json_write(&v->canonical, &parsed);
    uint8_t content_hash[HASH_SIZE];
    const jv *version = jv_get(&parsed, "version");
    const char *kind = jv_string(&parsed, "kind");
    const jv *held = jv_get(&parsed, "content");
    const jv *report = jv_get(&parsed, "report");
    /* A report under another content key is checked (decrypted) by whoever
     * holds that key, as held content is; its shape is checked always. */
    const char *report_key_id = jv_string(report, "key_id");
    const uint8_t *report_key = log->has_content_key && report_key_id &&
                                        strcmp(report_key_id, log->content_key_id) == 0
                                    ? log->content_key
                                    : NULL;
    if (v->canonical.status != QL_OK) {
        v->failure = v->canonical.status;
        bad = 1;
    } else if (v->canonical.length != n || memcmp(v->canonical.data, entry, n) != 0) {
        problem(v, (int64_t)index, "entry %llu: not in canonical form", (unsigned long long)index);
        bad = 1;
    } else if (!version || version->type != JV_INTEGER || version->integer < ENTRY_VERSION_MIN ||
               version->integer > ENTRY_VERSION || ql_evidence_kind_from_name(kind) < 0 ||
               jv_hex(&parsed, "content_sha256", content_hash, HASH_SIZE) != 0) {
        problem(v, (int64_t)index, "entry %llu: not a version %d to %d entry (version, kind, "
                "content_sha256)", (unsigned long long)index, ENTRY_VERSION_MIN, ENTRY_VERSION);
        bad = 1;
    } else if (report && (version->integer < 2 || ql_evidence_kind_from_name(kind) !=
                                                      QL_EVIDENCE_ABUSE_REPORT)) {
        problem(v, (int64_t)index, "entry %llu: a report in %s", (unsigned long long)index,
                version->integer < 2 ? "a version 1 entry" : "an entry that is no abuse_report");
        bad = 1;
    } else if (report && (status = check_report(log->allocator, report, report_key,
                                                log->content_key_id, NULL, why,
                                                sizeof why)) != QL_OK) {
        if (status == QL_ENOMEM || status == QL_ECRYPTO)
            v->failure = status;
        else
            problem(v, (int64_t)index, "entry %llu: %s", (unsigned long long)index, why);
        bad = 1;
    } else if (held && !has_content) {
        problem(v, (int64_t)index, "entry %llu: its encrypted content is missing",
                (unsigned long long)index);
        bad = 1;
    } else if (!held && has_content) {
        problem(v, (int64_t)index, "entry %llu: content is held that the entry does not describe",
                (unsigned long long)index);
        bad = 1;
    } else if (held) {
        uint8_t want[HASH_SIZE], got[HASH_SIZE];
        sha256(content, content_length, NULL, 0, NULL, 0, got);
        if (jv_hex(held, "ciphertext_sha256", want, HASH_SIZE) != 0 ||
            memcmp(want, got, HASH_SIZE) != 0) {
            problem(v, (int64_t)index,
                    "entry %llu: the encrypted content does not match its ciphertext_sha256",
                    (unsigned long long)index);
            bad = 1;
        } else if (log->has_content_key && jv_string(held, "key_id") &&
                   strcmp(jv_string(held, "key_id"), log->content_key_id) == 0) {
            uint8_t *plain = NULL;
            size_t plain_length = 0;
            status = decrypt_content(log->allocator, log->content_key, content, content_length,
                                     &plain, &plain_length);
            if (status == QL_ENOMEM) {
                v->failure = status;
                bad = 1;
            } else if (status != QL_OK || !content_matches(&parsed, plain, plain_length)) {
                problem(v, (int64_t)index,
                        "entry %llu: the decrypted content does not match content_sha256",
                        (unsigned long long)index);
                bad = 1;
            }
            if (plain)
                OPENSSL_cleanse(plain, plain_length);
            ql__free(log->allocator, plain);
        }
    }
    jv_free(log->allocator, &parsed);
    return bad;
}

static int verify_entry_row(uint64_t index, const uint8_t *entry, size_t n,
                            const uint8_t *content, size_t content_length, int has_content,
                            void *user)
{
    verifier *v = user;
    if (index != v->size) {
        /* Without every entry the tree cannot be recomputed past the gap. */
        if (index > v->size)
            problem(v, (int64_t)v->size, "entry %llu is missing", (unsigned long long)v->size);
        else
            problem(v, (int64_t)index, "entry %llu appears twice", (unsigned long long)index);
        v->gap = 1;
        return 1;
    }
    uint8_t leaf[HASH_SIZE];
    v->entry_tainted = verify_entry_body(v, index, entry, n, content, content_length, has_content);
    if (v->failure != QL_OK)
        return 1;
    ql_evidence_leaf_hash(entry, n, leaf);
    /* The new right-edge subtree sits at the level of the old size's
     * lowest zero bit; its taint is the last node's.  (Written only now:
     * verify_node reads the left siblings' taints below it.) */
    unsigned top = (unsigned)__builtin_ctzll(~v->size);
    if (frontier_append(v->frontier, &v->size, leaf, verify_node, v) != QL_OK)
        return 1;
    v->tainted[top] = (uint8_t)v->node_tainted;
    return v->stopped;
}

static int verify_head_row(const ql_evidence_tree_head *head, void *user)
{
    verifier *v = user;
    uint8_t root[HASH_SIZE];
    int64_t last = head->size ? (int64_t)(head->size - 1) : -1;
    char label[80];
    if (head->size)
        snprintf(label, sizeof label, "tree head of size %llu (entries up to %lld)",
                 (unsigned long long)head->size, (long long)last);
    else
        snprintf(label, sizeof label, "tree head of size 0 (the empty tree)");
    if (head->size > v->size) {
        problem(v, last, "tree head of size %llu: the log has only %llu entries",
                (unsigned long long)head->size, (unsigned long long)v->size);
        return v->stopped;
    }
    /* The stored nodes were just checked against the entries, so the root
     * they give is the recomputed one. */
    ql_status status = root_of(v->log, head->size, root);
    if (status != QL_OK && status != QL_EVERIFY) {
        v->failure = status;
        return 1;
    }
    if (status != QL_OK || memcmp(root, head->root, HASH_SIZE) != 0)
        problem(v, last, "%s: its root is not the tree's", label);
    if (!v->key || !head_signature_ok(v->key, head))
        problem(v, last, "%s: the signature does not verify", label);
    return v->stopped;
}

ql_status ql_evidence_verify(ql_evidence_log *log, ql_evidence_problem_cb callback, void *user)
{
    if (!log)
        return QL_EINVAL;
    verifier *v = ql__calloc(log->allocator, 1, sizeof *v);
    if (!v)
        return QL_ENOMEM;
    ql_status status;
    ql_evidence_tree_head head;
    uint64_t nodes = 0, entries = 0;
    v->log = log;
    v->callback = callback;
    v->user = user;
    buffer_init(&v->canonical, log->allocator, MAX_ENTRY_SIZE);
    log->error[0] = '\0';
    v->key = log->trusted_key ? log->trusted_key : log->public_key;
    if (!log->public_key)
        problem(v, -1, "the public key stored in the log is unreadable");
    else if (log->trusted_key && !same_public_key(log->trusted_key, log->public_key))
        problem(v, -1, "the public key stored in the log is not the trusted one");
    status = log->store->ops->scan_entries(log->store, verify_entry_row, v);
    if (status == QL_EABORTED)
        status = v->failure;
    if (status != QL_OK)
        goto out;
    if (!v->gap && !v->stopped) {
        status = store_failed(log, log->store->ops->count_nodes(log->store, &nodes));
        if (status != QL_OK)
            goto out;
        uint64_t expected = 2 * v->size - (uint64_t)__builtin_popcountll(v->size);
        if (nodes != expected)
            problem(v, -1, "the log holds %llu tree nodes where %llu entries make %llu",
                    (unsigned long long)nodes, (unsigned long long)v->size,
                    (unsigned long long)expected);
    }
    status = latest_head(log, &head);
    if (status == QL_EINVAL) {
        problem(v, -1, "the log has no signed tree head");
        status = QL_OK;
    } else if (status == QL_OK && head.size != v->size && !v->gap) {
        status = store_failed(log, log->store->ops->count_entries(log->store, &entries));
        problem(v, -1, "the latest signed tree head has %llu entries, the log %llu",
                (unsigned long long)head.size, (unsigned long long)entries);
    }
    if (status != QL_OK)
        goto out;
    if (!v->stopped) {
        status = log->store->ops->scan_heads(log->store, verify_head_row, v);
        if (status == QL_EABORTED)
            status = v->failure;
    }
out:
    if (status == QL_OK && v->problems)
        status = QL_EVERIFY;
    if (status != QL_OK && status != QL_EVERIFY && !log->error[0])
        LOG_ERROR(log, "%s", ql_status_message(status));
    buffer_free(&v->canonical);
    ql__free(log->allocator, v);
    return status;
}

/* ------------------------------------------------------------- packages */

static void buffer_base64(buffer *b, const uint8_t *data, size_t n)
{
    uint8_t out[4 * 768 / 3 + 1];
    while (n && b->status == QL_OK) {
        size_t piece = n < 768 ? n : 768;   /* a multiple of 3: no padding inside */
        int len = EVP_EncodeBlock(out, data, (int)piece);
        buffer_add(b, out, (size_t)len);
        data += piece;
        n -= piece;
    }
}

/* Standard base64 with padding, no line breaks; -1 if malformed. */
static int base64_decode(const ql_allocator *a, const char *text, size_t n, uint8_t **out,
                         size_t *length)
{
    if (n % 4 != 0 || n / 4 > (SIZE_MAX - 1) / 3)
        return -1;
    uint8_t *data = ql__malloc(a, n / 4 * 3 + 1);
    if (!data)
        return -1;
    size_t pad = n >= 1 && text[n - 1] == '=' ? (n >= 2 && text[n - 2] == '=' ? 2 : 1) : 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i += 4096) {
        size_t piece = n - i < 4096 ? n - i : 4096;
        int got = EVP_DecodeBlock(data + total, (const uint8_t *)text + i, (int)piece);
        if (got < 0) {
            ql__free(a, data);
            return -1;
        }
        total += (size_t)got;
    }
    *out = data;
    *length = total - pad;
    return 0;
}

static void json_head(buffer *b, const ql_evidence_tree_head *head)
{
    buffer_str(b, "{\"root\":");
    json_hex(b, head->root, HASH_SIZE);
    buffer_str(b, ",\"signature\":");
    json_hex(b, head->signature, SIG_SIZE);
    buffer_str(b, ",\"size\":");
    buffer_uint(b, head->size);
    buffer_str(b, ",\"time_ms\":");
    buffer_uint(b, head->time_ms);
    buffer_add(b, "}", 1);
}

ql_status ql_evidence_export(ql_evidence_log *log, uint64_t index, uint64_t size,
                             ql_write_cb write, void *user)
{
    ql_status status;
    ql_evidence_tree_head head;
    ql_evidence_proof *proof = NULL;
    uint8_t *entry = NULL, *blob = NULL, leaf[HASH_SIZE];
    size_t entry_length = 0, blob_length = 0;
    buffer b;
    buffer_init(&b, log ? log->allocator : NULL, MAX_DOCUMENT_SIZE);
    if (!log || !write)
        return QL_EINVAL;
    status = store_failed(log, log->store->ops->get_head(log->store, size, &head));
    if (status == QL_OK && index >= head.size) {
        LOG_ERROR(log, "entry %llu is not in the tree head of size %llu",
                  (unsigned long long)index, (unsigned long long)head.size);
        status = QL_EINVAL;
    }
    if (status == QL_OK)
        status = store_failed(log, log->store->ops->get_entry(log->store, index, &entry,
                                                              &entry_length, &blob, &blob_length));
    if (status != QL_OK)
        goto out;
    proof = ql__malloc(log->allocator, sizeof *proof);
    if (!proof) {
        status = QL_ENOMEM;
        goto out;
    }
    proof->length = 0;
    status = inclusion_path(log, index, 0, head.size, proof);
    if (status != QL_OK)
        goto out;
    ql_evidence_leaf_hash(entry, entry_length, leaf);
    buffer_add(&b, "{", 1);
    if (blob) {
        buffer_str(&b, "\"content\":\"");
        buffer_base64(&b, blob, blob_length);
        buffer_str(&b, "\",");
    }
    /* The entry goes in as the very bytes stored: they are canonical JSON,
     * and a verifier re-canonicalising the value gets them back. */
    buffer_str(&b, "\"entry\":");
    buffer_add(&b, entry, entry_length);
    buffer_str(&b, ",\"format\":\"" PACKAGE_FORMAT "\",\"public_key\":");
    json_cstring(&b, log->public_key_pem ? log->public_key_pem : "");
    buffer_str(&b, ",\"receipt\":{\"inclusion_proof\":[");
    for (size_t i = 0; i < proof->length; i++) {
        if (i)
            buffer_add(&b, ",", 1);
        json_hex(&b, proof->hashes[i], HASH_SIZE);
    }
    buffer_str(&b, "],\"index\":");
    buffer_uint(&b, index);
    buffer_str(&b, ",\"leaf_hash\":");
    json_hex(&b, leaf, HASH_SIZE);
    buffer_str(&b, ",\"tree_head\":");
    json_head(&b, &head);
    buffer_str(&b, "}}\n");
    status = b.status;
    if (status == QL_OK && write(b.data, b.length, user) != 0)
        status = QL_EWRITE;
out:
    buffer_free(&b);
    ql__free(log->allocator, proof);
    free(entry);
    free(blob);
    return status;
}

static int integer_member(const jv *object, const char *key, uint64_t *out)
{
    const jv *v = jv_get(object, key);
    if (!v || v->type != JV_INTEGER)
        return -1;
    *out = v->integer;
    return 0;
}

ql_status ql_evidence_verify_package(const uint8_t *package, size_t length,
                                     const char *public_key_pem,
                                     const uint8_t *content_key, size_t content_key_length,
                                     ql_evidence_problem_cb callback, void *user)
{
    ql_status status;
    jv doc;
    buffer canonical;
    EVP_PKEY *package_key = NULL, *trusted = NULL;
    uint8_t *blob = NULL, *plain = NULL;
    size_t blob_length = 0, plain_length = 0;
    ql_evidence_proof *proof = NULL;
    verifier v;
    char why[200];
    memset(&v, 0, sizeof v);
    v.callback = callback;
    v.user = user;
    buffer_init(&canonical, NULL, MAX_DOCUMENT_SIZE);
    if (!package || (content_key && content_key_length != 32))
        return QL_EINVAL;
    status = json_parse(NULL, package, length, &doc, why, sizeof why);
    if (status != QL_OK) {
        problem(&v, -1, "the package is %s", why);
        return status == QL_EINVAL ? QL_EVERIFY : status;
    }
    const char *format = jv_string(&doc, "format");
    const jv *entry = jv_get(&doc, "entry"), *receipt = jv_get(&doc, "receipt");
    const jv *head_json = jv_get(receipt, "tree_head"), *path = jv_get(receipt, "inclusion_proof");
    const char *key_pem = jv_string(&doc, "public_key");
    ql_evidence_tree_head head;
    uint64_t index = 0;
    memset(&head, 0, sizeof head);
    if (!format || strcmp(format, PACKAGE_FORMAT) != 0 || !entry || entry->type != JV_OBJECT ||
        !head_json || !path || path->type != JV_ARRAY || !key_pem ||
        integer_member(receipt, "index", &index) != 0 ||
        integer_member(head_json, "size", &head.size) != 0 ||
        integer_member(head_json, "time_ms", &head.time_ms) != 0 ||
        jv_hex(head_json, "root", head.root, HASH_SIZE) != 0 ||
        jv_hex(head_json, "signature", head.signature, SIG_SIZE) != 0 ||
        path->count > QL_EVIDENCE_MAX_PROOF) {
        problem(&v, -1, "not a %s document (a member is missing or malformed)", PACKAGE_FORMAT);
        status = QL_EVERIFY;
        goto out;
    }
    int64_t at = (int64_t)index;
    proof = ql__malloc(NULL, sizeof *proof);
    if (!proof) {
        status = QL_ENOMEM;
        goto out;
    }
    proof->length = path->count;
    for (size_t i = 0; i < path->count; i++)
        if (path->items[i].type != JV_STRING ||
            hex_decode(path->items[i].string, path->items[i].string_length, proof->hashes[i],
                       HASH_SIZE) != 0) {
            problem(&v, at, "entry %llu: inclusion proof hash %zu is malformed",
                    (unsigned long long)index, i);
            status = QL_EVERIFY;
            goto out;
        }
    /* The leaf is the canonical form of the entry as the package holds it. */
    json_write(&canonical, entry);
    if (canonical.status != QL_OK) {
        status = canonical.status;
        goto out;
    }
    uint8_t leaf[HASH_SIZE], claimed[HASH_SIZE];
    ql_evidence_leaf_hash(canonical.data, canonical.length, leaf);
    if (jv_hex(receipt, "leaf_hash", claimed, HASH_SIZE) != 0 ||
        memcmp(claimed, leaf, HASH_SIZE) != 0)
        problem(&v, at, "entry %llu: the receipt's leaf hash is not the entry's",
                (unsigned long long)index);
    if (ql_evidence_verify_inclusion(index, head.size, leaf, proof, head.root) != QL_OK)
        problem(&v, at, "entry %llu: the inclusion proof does not lead from the entry to the "
                        "tree head's root", (unsigned long long)index);
    package_key = parse_public_key(key_pem);
    if (public_key_pem) {
        trusted = parse_public_key(public_key_pem);
        if (!trusted) {
            status = QL_EKEY;
            goto out;
        }
        if (!package_key || !same_public_key(trusted, package_key))
            problem(&v, -1, "the package's public key is not the trusted one");
    }
    EVP_PKEY *key = trusted ? trusted : package_key;
    if (!key)
        problem(&v, -1, "the package's public key is not an Ed25519 public key");
    else if (!head_signature_ok(key, &head))
        problem(&v, at, "entry %llu: the tree head's signature does not verify",
                (unsigned long long)index);
    const jv *held = jv_get(entry, "content");
    const char *content_b64 = jv_string(&doc, "content");
    if (held && !content_b64) {
        /* The operator chose not to hand the content over: hashes only. */
    } else if (!held && content_b64) {
        problem(&v, at, "entry %llu: the package holds content the entry does not describe",
                (unsigned long long)index);
    } else if (held) {
        uint8_t want[HASH_SIZE], got[HASH_SIZE];
        size_t b64_length = jv_get(&doc, "content")->string_length;
        if (base64_decode(NULL, content_b64, b64_length, &blob, &blob_length) != 0) {
            problem(&v, at, "entry %llu: the content is not base64", (unsigned long long)index);
        } else {
            sha256(blob, blob_length, NULL, 0, NULL, 0, got);
            if (jv_hex(held, "ciphertext_sha256", want, HASH_SIZE) != 0 ||
                memcmp(want, got, HASH_SIZE) != 0) {
                problem(&v, at, "entry %llu: the encrypted content does not match its "
                                "ciphertext_sha256", (unsigned long long)index);
            } else if (content_key) {
                char id[17];
                const char *want_id = jv_string(held, "key_id");
                key_id(content_key, id);
                if (!want_id || strcmp(want_id, id) != 0)
                    problem(&v, at, "entry %llu: the content was encrypted with another key "
                                    "(key id %s, given %s)", (unsigned long long)index,
                            want_id ? want_id : "none", id);
                else if (decrypt_content(NULL, content_key, blob, blob_length, &plain,
                                         &plain_length) != QL_OK ||
                         !content_matches(entry, plain, plain_length))
                    problem(&v, at, "entry %llu: the decrypted content does not match "
                                    "content_sha256", (unsigned long long)index);
            }
        }
    }
    /* A report's shape always; with the content key also its values
     * against their commitments. */
    const jv *report = jv_get(entry, "report");
    if (report) {
        char report_why[200], id[17];
        if (content_key)
            key_id(content_key, id);
        ql_status checked = check_report(NULL, report, content_key, content_key ? id : NULL,
                                         NULL, report_why, sizeof report_why);
        if (checked == QL_ENOMEM || checked == QL_ECRYPTO) {
            status = checked;
            goto out;
        }
        if (checked != QL_OK)
            problem(&v, at, "entry %llu: %s", (unsigned long long)index, report_why);
    }
    status = QL_OK;
out:
    if (status == QL_OK && v.problems)
        status = QL_EVERIFY;
    if (plain)
        OPENSSL_cleanse(plain, plain_length);
    ql__free(NULL, plain);
    ql__free(NULL, blob);
    ql__free(NULL, proof);
    EVP_PKEY_free(package_key);
    EVP_PKEY_free(trusted);
    buffer_free(&canonical);
    jv_free(NULL, &doc);
    return status;
}
