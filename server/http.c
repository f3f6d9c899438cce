/*
 * http.c — `qinglang serve`: the HTTP endpoints over libmicrohttpd.
 *
 * libmicrohttpd runs a pool of threads, each with its own epoll loop; a
 * request's body is gathered (capped at max_body) and handled on the
 * thread that read it.  Scanning needs per-thread scratch, so each thread
 * keeps its scanners in thread-local storage, made the first time the
 * thread scans with a rule set and thrown away when a reload brings a new
 * generation (docs/serve.md).
 *
 * Every client error is an answer, never a dropped connection: a JSON
 * body {"error": {"code", "message"}} with 400, 401, 403, 404, 405, 413,
 * 415 or 429.  Values found in requests never reach the access log or the
 * metrics: those hold the endpoint, the tenant's name, counts and times.
 *
 * jansson's json_string() must not be called here: the command defines
 * its own json_string() (cli/output.c), which wins at link time.  Use
 * json_stringn(), a distinct symbol.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "gateway.h"
#include "server.h"

/* ------------------------------------------------------------ state */

typedef struct bucket {
    char   name[SRV_NAME_MAX + 1];
    double tokens;
    double last;
} bucket;

static struct {
    const char     *config_path;
    pthread_mutex_t gen_lock;
    srv_generation *gen;
    uint64_t        next_id;
    pthread_mutex_t reload_lock;
    FILE           *log;
    pthread_mutex_t bucket_lock;
    bucket         *buckets;       /* SRV_KEYS_MAX + 1 entries */
    size_t          bucket_count;
} srv = {
    .gen_lock = PTHREAD_MUTEX_INITIALIZER,
    .reload_lock = PTHREAD_MUTEX_INITIALIZER,
    .bucket_lock = PTHREAD_MUTEX_INITIALIZER,
};

static srv_generation *current_generation(void)
{
    pthread_mutex_lock(&srv.gen_lock);
    srv_generation *gen = srv.gen;
    if (gen)
        srv_generation_ref(gen);
    pthread_mutex_unlock(&srv.gen_lock);
    return gen;
}

static double now_seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void iso_time(char *out, size_t size)
{
    struct timespec ts;
    struct tm tm;
    char base[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%.20s.%03dZ", base, (int)(ts.tv_nsec / 1000000));
}

/* One JSON object, one line, one write: lines from several threads never
 * interleave. */
static void log_json(json_t *line)
{
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    if (text) {
        flockfile(srv.log);
        fputs(text, srv.log);
        fputc('\n', srv.log);
        fflush(srv.log);
        funlockfile(srv.log);
        free(text);
    }
    json_decref(line);
}

/* ------------------------------------------------------------ scanners */

typedef struct scanner_cache {
    srv_generation *gen;
    size_t          count;
    ql_moderator  **moderators;   /* per rule set, for POST /v1/moderate */
    ql_moderator   *plain;        /* without PII rules (no doxxing): the gateway's */
    ql_scanner     *scanners[];
} scanner_cache;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_destroy(void *p)
{
    scanner_cache *c = p;
    if (!c)
        return;
    for (size_t i = 0; i < c->count; i++) {
        ql_scanner_destroy(c->scanners[i]);
        if (c->moderators)
            ql_moderator_destroy(c->moderators[i]);
    }
    free(c->moderators);
    ql_moderator_destroy(c->plain);
    srv_generation_release(c->gen);
    free(c);
}

static void cache_init(void)
{
    pthread_key_create(&cache_key, cache_destroy);
}

/* This thread's scanner for one of the generation's rule sets.  The cache
 * holds a reference on its generation, so the rules outlive the scanners
 * and a freed generation's address cannot be mistaken for a new one. */
static ql_scanner *thread_scanner(srv_generation *gen, size_t ruleset)
{
    pthread_once(&cache_once, cache_init);
    scanner_cache *c = pthread_getspecific(cache_key);
    if (c && c->gen != gen) {
        pthread_setspecific(cache_key, NULL);
        cache_destroy(c);
        c = NULL;
    }
    if (!c) {
        c = calloc(1, sizeof *c + gen->ruleset_count * sizeof c->scanners[0]);
        if (!c)
            return NULL;
        srv_generation_ref(gen);
        c->gen = gen;
        c->count = gen->ruleset_count;
        pthread_setspecific(cache_key, c);
    }
    if (!c->scanners[ruleset] &&
        ql_scanner_create(gen->rulesets[ruleset], NULL, &c->scanners[ruleset]) != QL_OK)
        c->scanners[ruleset] = NULL;
    return c->scanners[ruleset];
}

/* This thread's moderator for the generation's lexicon, with the tenant's
 * rule set for doxxing identifiers, or (`doxxing` 0) without: the gateway
 * finds identifiers in answers itself. */
static ql_moderator *thread_moderator(srv_generation *gen, size_t ruleset, int doxxing)
{
    if (!thread_scanner(gen, ruleset))
        return NULL;
    scanner_cache *c = pthread_getspecific(cache_key);
    if (!doxxing) {
        if (!c->plain && ql_moderator_create(gen->lexicon, NULL, NULL, &c->plain) != QL_OK)
            c->plain = NULL;
        return c->plain;
    }
    if (!c->moderators && !(c->moderators = calloc(c->count, sizeof *c->moderators)))
        return NULL;
    /* POST /v1/moderate uses the model; the gateway's answer check
     * (above, without doxxing) does not: it blocks, and a model only
     * sends to review (docs/gateway.md).  The cache is the generation's,
     * so the model is set once, with the moderator. */
    if (!c->moderators[ruleset] &&
        ql_moderator_create(gen->lexicon, gen->rulesets[ruleset], NULL,
                            &c->moderators[ruleset]) == QL_OK &&
        ql_moderator_set_model(c->moderators[ruleset], gen->model, NAN) != QL_OK) {
        ql_moderator_destroy(c->moderators[ruleset]);
        c->moderators[ruleset] = NULL;
    }
    return c->moderators[ruleset];
}

/* For the gateway (server/gateway.c), which runs its own daemon over the
 * same generations, scanners, keys and access log. */
srv_generation *srv_current_generation(void)
{
    return current_generation();
}

ql_scanner *srv_thread_scanner(srv_generation *gen, size_t ruleset)
{
    return thread_scanner(gen, ruleset);
}

ql_moderator *srv_thread_moderator(srv_generation *gen, size_t ruleset, int doxxing)
{
    return thread_moderator(gen, ruleset, doxxing);
}

void srv_access_log(const char *line, size_t length)
{
    flockfile(srv.log);
    fwrite(line, 1, length, srv.log);
    fflush(srv.log);
    funlockfile(srv.log);
}

/* ------------------------------------------------------------ requests */

typedef struct request {
    double      start;
    const char *route;            /* a fixed string: never the raw URL */
    char        tenant[SRV_NAME_MAX + 1];
    char       *body;
    size_t      length, cap;
    uint64_t    declared;         /* Content-Length, for the log */
    int         too_large;
    int         responded;
    size_t      findings;
    char        index[24];        /* /v1/evidence/{index}: the segment ("" if too long) */
} request;

typedef struct reply {
    unsigned status;
    json_t  *json;                /* owned */
    char    *raw;                 /* owned: the body as text, instead of json */
    size_t   raw_length;
    char     retry_after[16];
} reply;

static const char *const routes[] = {
    "/", "/healthz", "/readyz", "/metrics", "/v1/scan", "/v1/scan/batch",
    "/v1/redact", "/v1/rules", "/v1/admin/reload", "/v1/reports", "/v1/evidence/sth",
    "/v1/evidence/proof", "/v1/evidence/consistency", "/v1/moderate",
};
#define EVIDENCE_PREFIX "/v1/evidence/"
#define EVIDENCE_ENTRY  "/v1/evidence/{index}"


/* The web console: server/console/index.html, embedded at build time by
 * scripts/embed-console.cmake. */
extern const unsigned char srv_console_html[];
extern const size_t srv_console_html_length;

#define CONSOLE_POLICY \
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; " \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const char *route_of(const char *url)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(url, routes[i]) == 0)
            return routes[i];
    if (strncmp(url, EVIDENCE_PREFIX, strlen(EVIDENCE_PREFIX)) == 0 &&
        url[strlen(EVIDENCE_PREFIX)] && !strchr(url + strlen(EVIDENCE_PREFIX), '/'))
        return EVIDENCE_ENTRY;
    return "other";
}

static const char *method_of(const char *method)
{
    static const char *const known[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(method, known[i]) == 0)
            return known[i];
    return "OTHER";
}

static void fail(reply *r, unsigned status, const char *code, const char *message)
{
    json_decref(r->json);
    r->status = status;
    r->json = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, request *rq, const char *method,
                                  unsigned status, const char *type, char *body, size_t length,
                                  const char *retry_after)
{
    struct MHD_Response *resp = NULL;
    enum MHD_Result ret = MHD_NO;
    double seconds = now_seconds(CLOCK_MONOTONIC) - rq->start;

    rq->responded = 1;
    if (!body) {
        status = 500;
        type = "application/json";
        body = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
        length = body ? strlen(body) : 0;
    }
    resp = MHD_create_response_from_buffer(length, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        goto out;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (strncmp(type, "text/html", 9) == 0) {
        /* The console (GET /): its own origin and inline code only, never
         * framed, never sniffed, no referrer to leak. */
        MHD_add_response_header(resp, "Content-Security-Policy", CONSOLE_POLICY);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    }
    if (retry_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (status == 405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, POST");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
out:
    /* Counted before the client can read the answer, so a client that
     * reads /metrics next sees its own request. */
    srv_metrics_request(rq->route, status, rq->tenant[0] ? rq->tenant : "-", seconds);
    char when[40], line[512];
    iso_time(when, sizeof when);
    /* Every field is a fixed string, a validated key name or a number:
     * nothing to escape. */
    int n = snprintf(line, sizeof line,
                     "{\"time\":\"%s\",\"tenant\":\"%s\",\"method\":\"%s\",\"path\":\"%s\","
                     "\"status\":%u,\"bytes\":%llu,\"response_bytes\":%zu,\"findings\":%zu,"
                     "\"latency_ms\":%.3f}\n",
                     when, rq->tenant[0] ? rq->tenant : "-", method_of(method), rq->route, status,
                     (unsigned long long)(rq->too_large ? rq->declared : rq->length), length,
                     rq->findings, round(seconds * 1e6) / 1e3);
    if (n > 0 && (size_t)n < sizeof line) {
        flockfile(srv.log);
        fwrite(line, 1, (size_t)n, srv.log);
        fflush(srv.log);
        funlockfile(srv.log);
    }
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, request *rq, const char *method,
                                 reply *r)
{
    char *body;
    size_t blen;
    if (r->raw) {
        body = r->raw;
        blen = r->raw_length;
        r->raw = NULL;
        json_decref(r->json);
        r->json = NULL;
    } else {
        body = r->json ? json_dumps(r->json, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
        blen = body ? strlen(body) : 0;
    }
    enum MHD_Result ret = send_reply(conn, rq, method, r->status, "application/json; charset=utf-8",
                                     body, blen,
                                     r->retry_after[0] ? r->retry_after : NULL);
    json_decref(r->json);
    r->json = NULL;
    return ret;
}

/* ------------------------------------------------------------ checks */

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int utf8_valid(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!len || c < 0xC2 || c > 0xF4 || i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
        if (len == 3) {
            unsigned cp = (unsigned)(c & 0x0F) << 12 | (unsigned)(p[i + 1] & 0x3F) << 6;
            if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        }
        if (len == 4) {
            unsigned cp = (unsigned)(c & 0x07) << 18 | (unsigned)(p[i + 1] & 0x3F) << 12;
            if (cp < 0x10000 || cp > 0x10FFFF)
                return 0;
        }
        i += len;
    }
    return 1;
}

static int base64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64 with padding; the output is at most 3/4 of the input.
 * 0, or -1 for anything else. */
static int base64_decode(const char *in, size_t n, uint8_t **out, size_t *length)
{
    if (n % 4 != 0)
        return -1;
    uint8_t *buf = malloc(n / 4 * 3 + 1);
    size_t o = 0;
    if (!buf)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            uint8_t c = (uint8_t)in[i + k];
            if (c == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = base64_value(c)) < 0) {
                free(buf);
                return -1;
            }
        }
        uint32_t triple = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        buf[o++] = (uint8_t)(triple >> 16);
        if (pad < 2)
            buf[o++] = (uint8_t)(triple >> 8);
        if (pad < 1)
            buf[o++] = (uint8_t)triple;
    }
    *out = buf;
    *length = o;
    return 0;
}

static char *base64_encode(const uint8_t *in, size_t n)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int encoding_from_name(const char *name, ql_encoding *out)
{
    static const struct { const char *name; ql_encoding encoding; } names[] = {
        {"auto", QL_ENCODING_AUTO},       {"utf-8", QL_ENCODING_UTF8},
        {"utf8", QL_ENCODING_UTF8},       {"gb18030", QL_ENCODING_GB18030},
        {"gbk", QL_ENCODING_GB18030},     {"gb2312", QL_ENCODING_GB18030},
        {"utf-16le", QL_ENCODING_UTF16LE}, {"utf-16be", QL_ENCODING_UTF16BE},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].encoding;
            return 0;
        }
    return -1;
}

/* The input of a scan or redaction: "text" (UTF-8) or "base64" with an
 * optional "encoding".  *data points into the request or is *owned. */
static int request_input(json_t *obj, const uint8_t **data, size_t *length, uint8_t **owned,
                         ql_encoding *encoding, int *is_base64, reply *r)
{
    json_t *text = json_object_get(obj, "text"), *b64 = json_object_get(obj, "base64");
    json_t *enc = json_object_get(obj, "encoding");
    *owned = NULL;
    *is_base64 = 0;
    if (text && b64) {
        fail(r, 400, "invalid_field", "give either text or base64, not both");
        return -1;
    }
    if (text) {
        if (!json_is_string(text)) {
            fail(r, 400, "invalid_field", "text must be a string");
            return -1;
        }
        *data = (const uint8_t *)json_string_value(text);
        *length = json_string_length(text);
        *encoding = QL_ENCODING_UTF8;
        return 0;
    }
    if (!b64) {
        fail(r, 400, "missing_field", "the request needs text or base64");
        return -1;
    }
    if (!json_is_string(b64) ||
        base64_decode(json_string_value(b64), json_string_length(b64), owned, length) != 0) {
        fail(r, 400, "invalid_base64", "base64 must be standard base64 with padding");
        return -1;
    }
    *encoding = QL_ENCODING_AUTO;
    if (enc && (!json_is_string(enc) || encoding_from_name(json_string_value(enc), encoding) != 0)) {
        free(*owned);
        *owned = NULL;
        fail(r, 400, "invalid_encoding", "encoding: auto, utf-8, gb18030, gbk, utf-16le or utf-16be");
        return -1;
    }
    *data = *owned;
    *is_base64 = 1;
    return 0;
}

/* ------------------------------------------------------------ findings */

typedef struct tbuf {
    char  *data;
    size_t length, cap;
    int    failed;
} tbuf;

static void tb_put(tbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->length + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 2048;
        while (cap < b->length + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->length, s, n);
    b->length += n;
    b->data[b->length] = '\0';
}

static void tb_lit(tbuf *b, const char *s) { tb_put(b, s, strlen(s)); }

/* A JSON string: quotes, backslashes and control characters escaped,
 * UTF-8 as is (what json_dumps without JSON_ENSURE_ASCII writes). */
static void tb_str(tbuf *b, const char *s)
{
    static const char hexd[] = "0123456789abcdef";
    const char *run = s;
    tb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        tb_put(b, run, (size_t)(s - run));
        char e[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
        if (c == '"' || c == '\\') { e[1] = (char)c; tb_put(b, e, 2); }
        else if (c == '\n') tb_put(b, "\\n", 2);
        else if (c == '\t') tb_put(b, "\\t", 2);
        else if (c == '\r') tb_put(b, "\\r", 2);
        else tb_put(b, e, 6);
        run = s + 1;
    }
    tb_put(b, run, (size_t)(s - run));
    tb_put(b, "\"", 1);
}

static void finding_text(tbuf *b, const ql_finding *f)
{
    char num[160];
    tb_lit(b, "{\"type\":");
    tb_str(b, f->type);
    tb_lit(b, ",\"category\":");
    tb_str(b, f->category);
    tb_lit(b, ",\"severity\":");
    tb_str(b, ql_severity_name(f->severity));
    /* jansson writes reals with a ".0" when they have no fraction; keep
     * the same text so responses did not change with this writer. */
    char conf[40];
    int cl = snprintf(conf, sizeof conf, "%.6g", round(f->confidence * 100) / 100);
    if (cl > 0 && (size_t)cl + 2 < sizeof conf && !strpbrk(conf, ".eE"))
        memcpy(conf + cl, ".0", 3);
    int n = snprintf(num, sizeof num, ",\"confidence\":%s,\"start\":%llu,\"end\":%llu,\"line\":%llu,\"column\":%llu,\"rule\":",
                     conf, (unsigned long long)f->start, (unsigned long long)f->end,
                     (unsigned long long)f->line, (unsigned long long)f->column);
    tb_put(b, num, (size_t)n);
    tb_str(b, f->rule_id);
    tb_lit(b, ",\"masked\":");
    tb_str(b, f->masked ? f->masked : "");
    tb_lit(b, ",\"attributes\":{");
    for (size_t i = 0; i < f->attribute_count; i++) {
        const char *v = f->attributes[i].value;
        if (i)
            tb_put(b, ",", 1);
        tb_str(b, f->attributes[i].key);
        tb_put(b, ":", 1);
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
            tb_lit(b, v);
        else
            tb_str(b, v);
    }
    tb_lit(b, "}}");
}

typedef struct ev_findings {
    ql_evidence_finding *items;   /* masked values owned (strdup) */
    size_t               count, cap;
} ev_findings;

static void ev_findings_free(ev_findings *e)
{
    for (size_t i = 0; i < e->count; i++)
        free((char *)e->items[i].masked);
    free(e->items);
    memset(e, 0, sizeof *e);
}

typedef struct collect {
    tbuf             *text;       /* set: findings written as text here */
    ev_findings      *evidence;   /* set: findings also kept for an evidence entry */
    json_t           *array;
    const srv_tenant *tenant;
    size_t            count;
    int               failed;
} collect;

static json_t *finding_json(const ql_finding *f)
{
    json_t *attrs = json_object();
    for (size_t i = 0; attrs && i < f->attribute_count; i++) {
        const char *v = f->attributes[i].value;
        json_t *jv = strcmp(v, "true") == 0 ? json_true()
                   : strcmp(v, "false") == 0 ? json_false() : json_stringn(v, strlen(v));
        json_object_set_new(attrs, f->attributes[i].key, jv);
    }
    return json_pack("{s:s,s:s,s:s,s:f,s:I,s:I,s:I,s:I,s:s,s:s,s:o}", "type", f->type,
                     "category", f->category, "severity", ql_severity_name(f->severity),
                     "confidence", round(f->confidence * 100) / 100, "start", (json_int_t)f->start,
                     "end", (json_int_t)f->end, "line", (json_int_t)f->line, "column",
                     (json_int_t)f->column, "rule", f->rule_id, "masked",
                     f->masked ? f->masked : "", "attributes", attrs);
}

static int on_finding(const ql_finding *f, void *user)
{
    collect *c = user;
    if (!srv_tenant_enabled(c->tenant, f->type))
        return 0;
    if (c->evidence) {
        /* Type and rule id belong to the rule set, which the request's
         * generation keeps alive; the masked value is copied. */
        ev_findings *e = c->evidence;
        if (e->count == e->cap) {
            size_t cap = e->cap ? 2 * e->cap : 8;
            ql_evidence_finding *grown = realloc(e->items, cap * sizeof *grown);
            if (!grown) {
                c->failed = 1;
                return 1;
            }
            e->items = grown;
            e->cap = cap;
        }
        ql_evidence_finding *ef = &e->items[e->count];
        ef->type = f->type;
        ef->rule_id = f->rule_id;
        ef->start = f->start;
        ef->end = f->end;
        if (!(ef->masked = strdup(f->masked ? f->masked : ""))) {
            c->failed = 1;
            return 1;
        }
        e->count++;
    }
    if (c->text) {
        if (c->count)
            tb_put(c->text, ",", 1);
        finding_text(c->text, f);
        if (c->text->failed) {
            c->failed = 1;
            return 1;
        }
        c->count++;
        srv_metrics_finding(f->type, c->tenant->name);
        return 0;
    }
    json_t *j = finding_json(f);
    if (!j || json_array_append_new(c->array, j) != 0) {
        c->failed = 1;
        return 1;
    }
    c->count++;
    srv_metrics_finding(f->type, c->tenant->name);
    return 0;
}

/* Scans one input into a findings array; 0 or -1 with the reply set. */
static int scan_one(srv_generation *gen, const srv_tenant *tenant, const uint8_t *data,
                    size_t length, ql_encoding encoding, collect *c, reply *r)
{
    ql_scanner *scanner = thread_scanner(gen, tenant->ruleset);
    ql_scan_options opts;
    if (!scanner) {
        fail(r, 500, "internal", "could not create a scanner");
        return -1;
    }
    ql_scan_options_init(&opts);
    opts.encoding = encoding;
    c->tenant = tenant;
    c->array = c->text ? NULL : json_array();
    ql_status st = c->array || c->text ? ql_scan(scanner, data, length, &opts, on_finding, c) : QL_ENOMEM;
    srv_metrics_scanned(length);
    if (st != QL_OK || c->failed) {
        fail(r, st == QL_EENCODING ? 400 : 500, st == QL_EENCODING ? "invalid_encoding" : "internal",
             c->failed ? "out of memory" : ql_status_message(st));
        json_decref(c->array);
        c->array = NULL;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ evidence */

/* Receipts, heads and proofs in the canonical form `qinglang evidence`
 * prints (cli/evidence.c): keys sorted, hashes as lower-case hex. */
static void tb_hex(tbuf *b, const uint8_t *data, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    tb_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char two[2] = {digits[data[i] >> 4], digits[data[i] & 15]};
        tb_put(b, two, 2);
    }
    tb_put(b, "\"", 1);
}

static void tb_head(tbuf *b, const ql_evidence_tree_head *head)
{
    char num[96];
    tb_lit(b, "{\"root\":");
    tb_hex(b, head->root, sizeof head->root);
    tb_lit(b, ",\"signature\":");
    tb_hex(b, head->signature, sizeof head->signature);
    snprintf(num, sizeof num, ",\"size\":%llu,\"time_ms\":%llu}", (unsigned long long)head->size,
             (unsigned long long)head->time_ms);
    tb_lit(b, num);
}

static void tb_proof(tbuf *b, const ql_evidence_proof *proof)
{
    tb_put(b, "[", 1);
    for (size_t i = 0; i < proof->length; i++) {
        if (i)
            tb_put(b, ",", 1);
        tb_hex(b, proof->hashes[i], QL_EVIDENCE_HASH_SIZE);
    }
    tb_put(b, "]", 1);
}

/* {"inclusion_proof":[...],"index":N,"leaf_hash":"...","tree_head":{...}} */
static void tb_receipt(tbuf *b, uint64_t index, const uint8_t *leaf_hash,
                       const ql_evidence_tree_head *head, const ql_evidence_proof *proof)
{
    char num[48];
    tb_lit(b, "{\"inclusion_proof\":");
    tb_proof(b, proof);
    snprintf(num, sizeof num, ",\"index\":%llu,\"leaf_hash\":", (unsigned long long)index);
    tb_lit(b, num);
    tb_hex(b, leaf_hash, QL_EVIDENCE_HASH_SIZE);
    tb_lit(b, ",\"tree_head\":");
    tb_head(b, head);
    tb_put(b, "}", 1);
}

static int no_evidence(const srv_generation *gen, reply *r)
{
    if (gen->evidence)
        return 0;
    fail(r, 404, "no_evidence_log", "this server has no evidence log (config: evidence)");
    return 1;
}

static const char *ruleset_version(char *out, size_t size)
{
    snprintf(out, size, "serve-%s", ql_version());
    return out;
}

/* Appends one record and writes its receipt (with the inclusion proof)
 * to `b`; 0, or -1 with the reply set.  The receipt is written only once
 * the entry is durable. */
static int evidence_append(srv_generation *gen, const ql_evidence_record *record, tbuf *b, reply *r)
{
    srv_evidence *ev = gen->evidence;
    ql_evidence_receipt *receipt = calloc(1, sizeof *receipt);
    char why[SRV_ERROR_SIZE];
    if (!receipt) {
        fail(r, 500, "internal", "out of memory");
        return -1;
    }
    pthread_mutex_lock(&ev->lock);
    ql_status st = ql_evidence_append(ev->log, record, 1, 1, receipt);
    if (st != QL_OK) {
        const char *e = ql_evidence_log_error(ev->log);
        snprintf(why, sizeof why, "evidence log: %.400s", e && *e ? e : ql_status_message(st));
    }
    pthread_mutex_unlock(&ev->lock);
    if (st != QL_OK) {
        char when[40];
        iso_time(when, sizeof when);
        log_json(json_pack("{s:s,s:s,s:s}", "time", when, "event", "evidence", "message", why));
        fail(r, 500, "internal", "the evidence log could not record the entry");
        free(receipt);
        return -1;
    }
    tb_receipt(b, receipt->index, receipt->leaf_hash, &receipt->head, &receipt->proof);
    free(receipt);
    return 0;
}

/* An optional string field; 0, or -1 with the reply set. */
static int optional_string(json_t *body, const char *name, const char **out, reply *r)
{
    json_t *v = json_object_get(body, name);
    char msg[64];
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(msg, sizeof msg, "%s must be a string (without NUL)", name);
        fail(r, 400, "invalid_field", msg);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* ------------------------------------------------------------ endpoints */

/* `,"receipt":{...}` for a scan or moderation of `data`: that it took
 * place, recorded with the content's hash (never the content) and the
 * masked findings.  0, or -1 with `r` filled in. */
static int scan_receipt(srv_generation *gen, const request *rq, const ql_evidence_finding *findings,
                        size_t count, const uint8_t *data, size_t length, tbuf *text, reply *r)
{
    char version[64];
    ql_evidence_record rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = QL_EVIDENCE_SCAN_RECEIPT;
    rec.tenant = rq->tenant;    /* the key's name, also for keys on the defaults */
    rec.ruleset_version = ruleset_version(version, sizeof version);
    rec.findings = findings;
    rec.finding_count = count;
    rec.content = data;
    rec.content_length = length;
    tb_lit(text, ",\"receipt\":");
    return evidence_append(gen, &rec, text, r);
}

static void handle_scan(srv_generation *gen, const srv_tenant *tenant, json_t *body,
                        request *rq, reply *r)
{
    const uint8_t *data;
    size_t length;
    uint8_t *owned = NULL;
    ql_encoding encoding;
    int is_base64;
    collect c = {0};
    tbuf text = {0};
    ev_findings ev = {0};
    json_t *want = json_object_get(body, "receipt");
    if (want && !json_is_boolean(want)) {
        fail(r, 400, "invalid_field", "receipt must be true or false");
        return;
    }
    if (json_is_true(want) && no_evidence(gen, r))
        return;
    if (request_input(body, &data, &length, &owned, &encoding, &is_base64, r) != 0)
        return;
    c.text = &text;
    c.evidence = json_is_true(want) ? &ev : NULL;
    tb_lit(&text, "{\"findings\":[");
    if (scan_one(gen, tenant, data, length, encoding, &c, r) == 0) {
        tb_lit(&text, "]");
        rq->findings = c.count;
        r->status = 200;
        if (c.evidence && scan_receipt(gen, rq, ev.items, ev.count, data, length, &text, r) != 0)
            goto out;
        tb_lit(&text, "}");
        if (text.failed) {
            fail(r, 500, "internal", "out of memory");
        } else {
            r->raw = text.data;
            r->raw_length = text.length;
            text.data = NULL;
        }
    }
out:
    ev_findings_free(&ev);
    free(text.data);
    free(owned);
}

/* POST /v1/moderate: {"text": "..."} (or base64 of UTF-8) -> the decision,
 * the scores by category and the hits with their byte spans; identifiers
 * masked.  With "receipt": true the decision is recorded in the evidence
 * log (the content's hash and the hits, never the content). */
static void handle_moderate(srv_generation *gen, const srv_tenant *tenant, json_t *body,
                            request *rq, reply *r)
{
    const uint8_t *data;
    size_t length;
    uint8_t *owned = NULL;
    ql_encoding encoding;
    int is_base64;
    tbuf text = {0};
    ql_evidence_finding *ev = NULL;
    json_t *want = json_object_get(body, "receipt");
    if (want && !json_is_boolean(want)) {
        fail(r, 400, "invalid_field", "receipt must be true or false");
        return;
    }
    if (json_is_true(want) && no_evidence(gen, r))
        return;
    if (request_input(body, &data, &length, &owned, &encoding, &is_base64, r) != 0)
        return;
    if (encoding != QL_ENCODING_UTF8 && encoding != QL_ENCODING_AUTO) {
        fail(r, 415, "unsupported_encoding", "moderation reads UTF-8 text only");
        goto out;
    }
    ql_moderator *m = thread_moderator(gen, tenant->ruleset, 1);
    const ql_moderation *res;
    ql_status st = m ? ql_moderate(m, data, length, &res) : QL_ENOMEM;
    if (st != QL_OK) {
        fail(r, 500, "internal", ql_status_message(st));
        goto out;
    }
    char num[64];
    tb_lit(&text, "{\"decision\":\"");
    tb_lit(&text, ql_decision_name(res->decision));
    tb_lit(&text, "\",\"scores\":{");
    for (size_t i = 0; i < res->score_count; i++) {
        if (i)
            tb_lit(&text, ",");
        tb_str(&text, res->scores[i].category);
        snprintf(num, sizeof num, ":%.4g", res->scores[i].score);
        tb_lit(&text, num);
    }
    tb_lit(&text, "},\"hits\":[");
    if (json_is_true(want) && res->hit_count &&
        !(ev = calloc(res->hit_count, sizeof *ev))) {
        fail(r, 500, "internal", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < res->hit_count; i++) {
        const ql_hit *h = &res->hits[i];
        tb_lit(&text, i ? ",{\"kind\":\"" : "{\"kind\":\"");
        tb_lit(&text, ql_hit_kind_name(h->kind));
        tb_lit(&text, "\",\"category\":");
        tb_str(&text, h->category);
        tb_lit(&text, ",\"rule\":");
        tb_str(&text, h->rule_id);
        snprintf(num, sizeof num, ",\"severity\":\"%s\",\"confidence\":%.4g,\"word\":",
                 h->severity == QL_SEVERITY_INFO ? "signal" : ql_severity_name(h->severity),
                 h->confidence);
        tb_lit(&text, num);
        tb_str(&text, h->word);
        tb_lit(&text, ",\"form\":");
        tb_str(&text, h->form);
        snprintf(num, sizeof num, ",\"start\":%llu,\"end\":%llu",
                 (unsigned long long)h->start, (unsigned long long)h->end);
        tb_lit(&text, num);
        if (h->masked) {
            tb_lit(&text, ",\"masked\":");
            tb_str(&text, h->masked);
        }
        tb_lit(&text, "}");
        if (ev) {
            ev[i].rule_id = h->rule_id;
            ev[i].type = h->category;
            ev[i].start = h->start;
            ev[i].end = h->end;
            ev[i].masked = h->masked ? h->masked : h->word;
        }
    }
    tb_lit(&text, "]");
    rq->findings = res->hit_count;
    if (json_is_true(want) && scan_receipt(gen, rq, ev, res->hit_count, data, length, &text, r) != 0)
        goto out;
    tb_lit(&text, "}");
    if (text.failed) {
        fail(r, 500, "internal", "out of memory");
    } else {
        r->status = 200;
        r->raw = text.data;
        r->raw_length = text.length;
        text.data = NULL;
    }
out:
    free(ev);
    free(text.data);
    free(owned);
}

static void handle_report(srv_generation *gen, const srv_tenant *tenant, json_t *body,
                          request *rq, reply *r)
{
    const char *url, *reporter, *note, *content;
    json_t *jcontent = json_object_get(body, "content");
    collect c = {0};
    ev_findings ev = {0};
    tbuf text = {0};
    char version[64];
    ql_evidence_record rec;
    if (no_evidence(gen, r))
        return;
    if (!jcontent) {
        fail(r, 400, "missing_field", "the report needs content: the reported text");
        return;
    }
    if (!json_is_string(jcontent)) {
        fail(r, 400, "invalid_field", "content must be a string");
        return;
    }
    if (optional_string(body, "url", &url, r) != 0 || optional_string(body, "reporter", &reporter, r) != 0 ||
        optional_string(body, "note", &note, r) != 0)
        return;
    if ((reporter && strlen(reporter) > QL_EVIDENCE_MAX_REPORT_FIELD) ||
        (note && strlen(note) > QL_EVIDENCE_MAX_REPORT_FIELD)) {
        fail(r, 400, "invalid_field", "reporter and note take at most 65536 bytes each");
        return;
    }
    content = json_string_value(jcontent);
    c.text = NULL;
    c.evidence = &ev;
    if (scan_one(gen, tenant, (const uint8_t *)content, json_string_length(jcontent),
                 QL_ENCODING_UTF8, &c, r) != 0)
        goto out;
    rq->findings = c.count;
    memset(&rec, 0, sizeof rec);
    rec.kind = QL_EVIDENCE_ABUSE_REPORT;
    rec.source_url = url;
    rec.tenant = rq->tenant;    /* the key's name, also for keys on the defaults */
    rec.ruleset_version = ruleset_version(version, sizeof version);
    rec.findings = ev.items;
    rec.finding_count = ev.count;
    rec.content = (const uint8_t *)content;
    rec.content_length = json_string_length(jcontent);
    rec.store_content = 1;      /* encrypted, when the log has a content key */
    rec.reporter = reporter;    /* personal data: a commitment, encrypted with a content key */
    rec.note = note;
    if (evidence_append(gen, &rec, &text, r) != 0)
        goto out;
    if (text.failed) {
        fail(r, 500, "internal", "out of memory");
        goto out;
    }
    r->status = 201;
    r->raw = text.data;
    r->raw_length = text.length;
    text.data = NULL;
out:
    json_decref(c.array);
    ev_findings_free(&ev);
    free(text.data);
}

/* A query argument as a number: 1 found, 0 absent, -1 not a number. */
static int query_u64(struct MHD_Connection *conn, const char *name, uint64_t *out)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    char *end = NULL;
    if (!v)
        return 0;
    if (!*v || strlen(v) > 20 || *v < '0' || *v > '9')
        return -1;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end)
        return -1;
    *out = n;
    return 1;
}

static int parse_index(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (!*s || strlen(s) > 20 || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = n;
    return 0;
}

static int is_admin(const srv_generation *gen, const char *name);

/* GET /v1/evidence/...: entries, signed tree heads and proofs.  The log
 * is held for the whole request (one thread at a time). */
static void handle_evidence(srv_generation *gen, const char *name, struct MHD_Connection *conn,
                            request *rq, reply *r)
{
    srv_evidence *ev = gen->evidence;
    const char *route = rq->route;
    ql_evidence_proof *proof = NULL;
    ql_evidence_entry entry;
    ql_evidence_tree_head head, head2;
    uint64_t size = 0, index = 0, first = 0, second = 0;
    int have_entry = 0, q1 = 0, q2 = 0;
    tbuf text = {0};
    ql_status st;

    if (no_evidence(gen, r))
        return;
    /* Numbers first: a bad query is 400 whatever the log holds. */
    if (strcmp(route, EVIDENCE_ENTRY) == 0) {
        if (parse_index(rq->index, &index) != 0) {
            fail(r, 400, "invalid_query", "the entry's index is a number: /v1/evidence/0");
            return;
        }
    } else if (strcmp(route, "/v1/evidence/proof") == 0) {
        if ((q1 = query_u64(conn, "index", &index)) != 1 || (q2 = query_u64(conn, "size", &second)) < 0) {
            fail(r, 400, "invalid_query", "proof?index=N[&size=M]: numbers");
            return;
        }
    } else if (strcmp(route, "/v1/evidence/consistency") == 0) {
        if ((q1 = query_u64(conn, "first", &first)) != 1 || (q2 = query_u64(conn, "second", &second)) < 0) {
            fail(r, 400, "invalid_query", "consistency?first=N[&second=M]: numbers");
            return;
        }
    } else if ((q2 = query_u64(conn, "size", &second)) < 0) {
        fail(r, 400, "invalid_query", "sth[?size=N]: a number");
        return;
    }
    if (!(proof = calloc(1, sizeof *proof))) {
        fail(r, 500, "internal", "out of memory");
        return;
    }
    pthread_mutex_lock(&ev->lock);
    st = ql_evidence_size(ev->log, &size);
    if (st != QL_OK)
        goto failed;
    if (strcmp(route, EVIDENCE_ENTRY) == 0) {
        if (index >= size) {
            fail(r, 404, "not_found", "no entry with that index");
            goto out;
        }
        if ((st = ql_evidence_get(ev->log, index, 0, &entry)) != QL_OK)
            goto failed;
        have_entry = 1;
        /* An entry names its tenant: only that tenant and the admins may
         * read it. */
        json_t *parsed = json_loadb((const char *)entry.entry, entry.entry_length, 0, NULL);
        const char *owner = json_string_value(json_object_get(json_object_get(parsed, "source"), "tenant"));
        int allowed = is_admin(gen, name) || (owner && strcmp(owner, name) == 0);
        json_decref(parsed);
        if (!allowed) {
            fail(r, 403, "forbidden", "the entry belongs to another tenant");
            goto out;
        }
        char num[48];
        tb_lit(&text, "{\"entry\":");
        tb_put(&text, (const char *)entry.entry, entry.entry_length);
        snprintf(num, sizeof num, ",\"index\":%llu,\"leaf_hash\":", (unsigned long long)index);
        tb_lit(&text, num);
        tb_hex(&text, entry.leaf_hash, QL_EVIDENCE_HASH_SIZE);
        tb_put(&text, "}", 1);
    } else if (strcmp(route, "/v1/evidence/sth") == 0) {
        if (q2 && second > size) {
            fail(r, 404, "not_found", "the log is not that large yet");
            goto out;
        }
        if ((st = ql_evidence_tree_head_get(ev->log, q2 ? second : UINT64_MAX, &head)) != QL_OK) {
            fail(r, 404, "not_found", "no signed tree head of that size");
            goto out;
        }
        tb_head(&text, &head);
    } else if (strcmp(route, "/v1/evidence/proof") == 0) {
        if (q2 != 1)
            second = size;
        if (second > size || index >= size) {
            fail(r, 404, "not_found", index >= size ? "no entry with that index" : "the log is not that large yet");
            goto out;
        }
        if (index >= second) {
            fail(r, 400, "invalid_query", "index must be below size");
            goto out;
        }
        if (ql_evidence_tree_head_get(ev->log, second, &head) != QL_OK) {
            fail(r, 404, "not_found", "no signed tree head of that size");
            goto out;
        }
        if ((st = ql_evidence_get(ev->log, index, 0, &entry)) != QL_OK)
            goto failed;
        have_entry = 1;
        if ((st = ql_evidence_inclusion_proof(ev->log, index, head.size, proof)) != QL_OK)
            goto failed;
        tb_receipt(&text, index, entry.leaf_hash, &head, proof);
    } else {
        if (q2 != 1)
            second = size;
        if (first > size || second > size) {
            fail(r, 404, "not_found", "the log is not that large yet");
            goto out;
        }
        if (first > second) {
            fail(r, 400, "invalid_query", "first must not be larger than second");
            goto out;
        }
        if (ql_evidence_tree_head_get(ev->log, first, &head) != QL_OK ||
            ql_evidence_tree_head_get(ev->log, second, &head2) != QL_OK) {
            fail(r, 404, "not_found", "no signed tree head of that size");
            goto out;
        }
        if ((st = ql_evidence_consistency_proof(ev->log, first, second, proof)) != QL_OK)
            goto failed;
        tb_lit(&text, "{\"consistency_proof\":");
        tb_proof(&text, proof);
        tb_lit(&text, ",\"tree_head_1\":");
        tb_head(&text, &head);
        tb_lit(&text, ",\"tree_head_2\":");
        tb_head(&text, &head2);
        tb_put(&text, "}", 1);
    }
    if (text.failed) {
        fail(r, 500, "internal", "out of memory");
        goto out;
    }
    r->status = 200;
    r->raw = text.data;
    r->raw_length = text.length;
    text.data = NULL;
    goto out;
failed:
    {
        const char *e = ql_evidence_log_error(ev->log);
        char when[40];
        iso_time(when, sizeof when);
        log_json(json_pack("{s:s,s:s,s:s}", "time", when, "event", "evidence", "message",
                           e && *e ? e : ql_status_message(st)));
        fail(r, 500, "internal", "the evidence log could not answer");
    }
out:
    if (have_entry)
        ql_evidence_entry_free(ev->log, &entry);
    pthread_mutex_unlock(&ev->lock);
    free(proof);
    free(text.data);
}

static void handle_batch(srv_generation *gen, const srv_tenant *tenant, json_t *body,
                         request *rq, reply *r)
{
    json_t *texts = json_object_get(body, "texts"), *item, *results;
    size_t i;
    char msg[96];
    if (!texts) {
        fail(r, 400, "missing_field", "the request needs texts: a list of strings");
        return;
    }
    if (!json_is_array(texts)) {
        fail(r, 400, "invalid_field", "texts must be a list of strings");
        return;
    }
    if (json_array_size(texts) > gen->max_batch) {
        snprintf(msg, sizeof msg, "at most %zu texts in one batch", gen->max_batch);
        fail(r, 400, "batch_too_large", msg);
        return;
    }
    json_array_foreach(texts, i, item) {
        if (!json_is_string(item)) {
            fail(r, 400, "invalid_field", "texts must be a list of strings");
            return;
        }
    }
    if (!(results = json_array())) {
        fail(r, 500, "internal", "out of memory");
        return;
    }
    json_array_foreach(texts, i, item) {
        collect c = {0};
        if (scan_one(gen, tenant, (const uint8_t *)json_string_value(item), json_string_length(item),
                     QL_ENCODING_UTF8, &c, r) != 0) {
            json_decref(results);
            return;
        }
        rq->findings += c.count;
        json_array_append_new(results, json_pack("{s:o}", "findings", c.array));
    }
    r->status = 200;
    r->json = json_pack("{s:o}", "results", results);
}

typedef struct sink {
    uint8_t *data;
    size_t   length, cap, max;
} sink;

static int sink_write(const uint8_t *data, size_t length, void *user)
{
    sink *s = user;
    if (length > s->max - s->length)
        return 1;
    if (s->length + length > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->length + length)
            cap *= 2;
        uint8_t *d = realloc(s->data, cap);
        if (!d)
            return 1;
        s->data = d;
        s->cap = cap;
    }
    memcpy(s->data + s->length, data, length);
    s->length += length;
    return 0;
}

static void handle_redact(srv_generation *gen, const srv_tenant *tenant, json_t *body,
                          request *rq, reply *r)
{
    const uint8_t *data;
    size_t length;
    uint8_t *owned = NULL;
    ql_encoding encoding;
    int is_base64, op = -1;
    ql_policy *policy = NULL;
    ql_redactor *redactor = NULL;
    ql_redact_stream *stream = NULL;
    collect c = {0};
    sink out = {0};
    char error[SRV_ERROR_SIZE];
    json_t *jop = json_object_get(body, "operator"), *types = json_object_get(body, "types");

    if (request_input(body, &data, &length, &owned, &encoding, &is_base64, r) != 0)
        goto out;
    if (jop && (!json_is_string(jop) || (op = ql_operator_from_name(json_string_value(jop))) < 0)) {
        fail(r, 400, "invalid_operator", "operator: mask, tag, hash, fpe, drop or keep");
        goto out;
    }
    if (types && !json_is_object(types)) {
        fail(r, 400, "invalid_field", "types must be an object {type: operator}");
        goto out;
    }
    if (srv_tenant_policy(gen, tenant, op, types, &policy, error, sizeof error) != 0) {
        fail(r, 400, "invalid_policy", error);
        goto out;
    }
    /* The key is the tenant's, from its key file; a request can choose
     * an operator but never supply or see a key. */
    if (ql_policy_needs_key(policy) && !tenant->key) {
        fail(r, 400, "no_key", "hash and fpe need a key, and this tenant has none configured");
        goto out;
    }
    if (ql_redactor_create(policy, tenant->key, tenant->key_length, &redactor) != QL_OK) {
        fail(r, 500, "internal", "could not create the redactor");
        goto out;
    }
    ql_scanner *scanner = thread_scanner(gen, tenant->ruleset);
    ql_scan_options opts;
    ql_scan_options_init(&opts);
    opts.encoding = encoding;
    c.tenant = tenant;
    c.array = json_array();
    out.max = length * 4 + 65536;
    ql_status st = scanner && c.array ? ql_redact_open(scanner, redactor, &opts, 0, sink_write, &out,
                                                       on_finding, &c, &stream)
                                      : QL_ENOMEM;
    if (st == QL_OK)
        st = ql_redact_write(stream, data, length);
    if (st == QL_OK)
        st = ql_redact_finish(stream);
    srv_metrics_scanned(length);
    if (st != QL_OK || c.failed) {
        fail(r, 500, "internal", c.failed ? "out of memory" : ql_status_message(st));
        goto out;
    }
    json_t *result = NULL;
    if (is_base64) {
        char *b = base64_encode(out.data, out.length);
        result = b ? json_stringn(b, strlen(b)) : NULL;
        free(b);
    } else {
        result = json_stringn((const char *)(out.data ? (const char *)out.data : ""), out.length);
    }
    if (!result) {
        fail(r, 500, "internal", "the redacted text could not be encoded");
        goto out;
    }
    rq->findings = c.count;
    r->status = 200;
    r->json = json_pack("{s:o,s:o}", is_base64 ? "base64" : "text", result, "findings", c.array);
    c.array = NULL;
out:
    ql_redact_close(stream);
    ql_redactor_destroy(redactor);
    ql_policy_destroy(policy);
    json_decref(c.array);
    free(out.data);
    free(owned);
}

static void handle_rules(srv_generation *gen, const srv_tenant *tenant, reply *r)
{
    const ql_rules *rules = gen->rulesets[tenant->ruleset];
    json_t *list = json_array();
    for (size_t i = 0; list && i < ql_rules_count(rules); i++) {
        ql_rule_info info;
        if (ql_rules_info(rules, i, &info) != QL_OK || !srv_tenant_enabled(tenant, info.type))
            continue;
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", info.id, "type",
                                              info.type, "category", info.category, "severity",
                                              ql_severity_name(info.severity), "description",
                                              info.description ? info.description : ""));
    }
    r->status = list ? 200 : 500;
    r->json = json_pack("{s:o}", "rules", list);
}

/* Builds and swaps in a new generation; the old one lives on until its
 * last request finishes.  Serialised: two reloads never race. */
static int reload(reply *r)
{
    srv_build_error err;
    pthread_mutex_lock(&srv.reload_lock);
    uint64_t id = ++srv.next_id;
    srv_generation *gen = srv_generation_build(srv.config_path, id, NULL, &err);
    char when[40];
    iso_time(when, sizeof when);
    if (!gen) {
        json_t *diags = err.diagnostics ? err.diagnostics : json_array();
        log_json(json_pack("{s:s,s:s,s:b,s:s,s:O}", "time", when, "event", "reload", "ok", 0,
                           "message", err.message, "diagnostics", diags));
        if (r) {
            r->status = 500;
            r->json = json_pack("{s:{s:s,s:s,s:O}}", "error", "code", "reload_failed", "message",
                                err.message, "diagnostics", diags);
        }
        json_decref(diags);
        pthread_mutex_unlock(&srv.reload_lock);
        return -1;
    }
    pthread_mutex_lock(&srv.gen_lock);
    srv_generation *old = srv.gen;
    srv.gen = gen;
    pthread_mutex_unlock(&srv.gen_lock);
    srv_generation_release(old);
    size_t count = ql_rules_count(gen->rulesets[0]);
    log_json(json_pack("{s:s,s:s,s:b,s:I,s:I}", "time", when, "event", "reload", "ok", 1,
                       "generation", (json_int_t)id, "rules", (json_int_t)count));
    if (r) {
        r->status = 200;
        r->json = json_pack("{s:b,s:I,s:I}", "reloaded", 1, "generation", (json_int_t)id, "rules",
                            (json_int_t)count);
    }
    pthread_mutex_unlock(&srv.reload_lock);
    return 0;
}

/* ------------------------------------------------------------ auth, rate */

/* The key's name, or NULL.  Every stored hash is compared, in constant
 * time, so the answer's timing says nothing about which keys exist. */
static const char *authenticate(const srv_generation *gen, struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *found = NULL;
    char hash[65];
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    size_t n = strlen(h);
    if (n == 0 || n > 256)
        return NULL;
    srv_key_hash(h, n, hash);
    for (size_t i = 0; i < gen->key_count; i++)
        if (CRYPTO_memcmp(hash, gen->keys[i].hash, 64) == 0)
            found = gen->keys[i].name;
    return found;
}

const char *srv_authenticate(const srv_generation *gen, struct MHD_Connection *conn)
{
    return authenticate(gen, conn);
}

static int is_admin(const srv_generation *gen, const char *name)
{
    for (size_t i = 0; i < gen->admin_count; i++)
        if (strcmp(gen->admins[i], name) == 0)
            return 1;
    return 0;
}

/* Token bucket per tenant: `rate` tokens a second up to `burst`.  0 if the
 * request may go, else the seconds until a token is there. */
static unsigned rate_check(const srv_tenant *t)
{
    unsigned wait = 0;
    if (t->rate <= 0)
        return 0;
    double burst = t->burst >= 1 ? t->burst : (t->rate >= 1 ? t->rate : 1);
    double now = now_seconds(CLOCK_MONOTONIC);
    pthread_mutex_lock(&srv.bucket_lock);
    size_t i;
    for (i = 0; i < srv.bucket_count; i++)
        if (strcmp(srv.buckets[i].name, t->name) == 0)
            break;
    if (i == srv.bucket_count && i <= SRV_KEYS_MAX) {
        snprintf(srv.buckets[i].name, sizeof srv.buckets[i].name, "%s", t->name);
        srv.buckets[i].tokens = burst;
        srv.buckets[i].last = now;
        srv.bucket_count++;
    }
    if (i < srv.bucket_count) {
        bucket *b = &srv.buckets[i];
        b->tokens += (now - b->last) * t->rate;
        if (b->tokens > burst)
            b->tokens = burst;
        b->last = now;
        if (b->tokens >= 1)
            b->tokens -= 1;
        else
            wait = (unsigned)ceil((1 - b->tokens) / t->rate);
    }
    pthread_mutex_unlock(&srv.bucket_lock);
    return wait ? wait : 0;
}

unsigned srv_rate_check(const srv_tenant *tenant)
{
    return rate_check(tenant);
}

static int json_content_type(struct MHD_Connection *conn)
{
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || strncasecmp(ct, "application/json", 16) != 0)
        return 0;
    return ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ';
}

/* ------------------------------------------------------------ dispatch */

static enum MHD_Result dispatch(struct MHD_Connection *conn, request *rq, const char *method)
{
    reply r = {0};
    srv_generation *gen = current_generation();
    json_t *body = NULL;
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    const char *route = rq->route;
    enum MHD_Result ret;

    if (strcmp(route, "/healthz") == 0 || strcmp(route, "/readyz") == 0) {
        if (!get) {
            fail(&r, 405, "method_not_allowed", "use GET");
            goto send;
        }
        int ready = route[1] == 'h' || gen;
        const char *text = ready ? "ok\n" : "not ready\n";
        srv_generation_release(gen);
        return send_reply(conn, rq, method, ready ? 200 : 503, "text/plain; charset=utf-8",
                          strdup(text), strlen(text), NULL);
    }
    if (strcmp(route, "/") == 0) {
        /* The console needs no key: it asks for one and sends it with
         * each API call. */
        if (!get) {
            fail(&r, 405, "method_not_allowed", "use GET");
            goto send;
        }
        char *page = malloc(srv_console_html_length);
        if (page)
            memcpy(page, srv_console_html, srv_console_html_length);
        srv_generation_release(gen);
        return send_reply(conn, rq, method, 200, "text/html; charset=utf-8", page,
                          srv_console_html_length, NULL);
    }
    if (strcmp(route, "other") == 0) {
        fail(&r, 404, "not_found", "no such endpoint");
        goto send;
    }
    int is_evidence = strncmp(route, EVIDENCE_PREFIX, strlen(EVIDENCE_PREFIX)) == 0;
    int wants_post = route[1] == 'v' && strcmp(route, "/v1/rules") != 0 && !is_evidence;
    if ((wants_post && !post) || (!wants_post && !get)) {
        fail(&r, 405, "method_not_allowed", wants_post ? "use POST" : "use GET");
        goto send;
    }
    if (!gen) {
        fail(&r, 503, "not_ready", "the rules are not loaded");
        goto send;
    }
    const char *name = authenticate(gen, conn);
    if (!name) {
        fail(&r, 401, "unauthorized", "give a valid API key: Authorization: Bearer KEY");
        goto send;
    }
    snprintf(rq->tenant, sizeof rq->tenant, "%s", name);
    const srv_tenant *tenant = srv_tenant_find(gen, name);

    if (strcmp(route, "/metrics") == 0 || strcmp(route, "/v1/admin/reload") == 0) {
        if (!is_admin(gen, name)) {
            fail(&r, 403, "forbidden", "this endpoint needs an admin key");
            goto send;
        }
        if (route[1] == 'm') {
            size_t length = 0;
            char *text = srv_metrics_render(&length);
            srv_generation_release(gen);
            return send_reply(conn, rq, method, 200, "text/plain; version=0.0.4; charset=utf-8",
                              text, length, NULL);
        }
        /* The old generation must not be held by this request while it
         * is replaced: drop it first. */
        srv_generation_release(gen);
        gen = NULL;
        reload(&r);
        goto send;
    }
    unsigned wait = rate_check(tenant);
    if (wait) {
        fail(&r, 429, "rate_limited", "too many requests for this tenant; retry later");
        snprintf(r.retry_after, sizeof r.retry_after, "%u", wait);
        goto send;
    }
    if (get) {
        if (is_evidence)
            handle_evidence(gen, name, conn, rq, &r);
        else
            handle_rules(gen, tenant, &r);
        goto send;
    }
    if (rq->too_large) {
        fail(&r, 413, "body_too_large", "the request body is larger than max_body");
        goto send;
    }
    if (!json_content_type(conn)) {
        fail(&r, 415, "unsupported_media_type", "send Content-Type: application/json");
        goto send;
    }
    if (rq->length == 0) {
        fail(&r, 400, "empty_body", "the request body is empty");
        goto send;
    }
    if (!utf8_valid((const uint8_t *)rq->body, rq->length)) {
        fail(&r, 400, "invalid_utf8", "the request body is not valid UTF-8");
        goto send;
    }
    json_error_t jerr;
    body = json_loadb(rq->body, rq->length, JSON_ALLOW_NUL, &jerr);
    if (!body) {
        char msg[256];
        snprintf(msg, sizeof msg, "malformed JSON at line %d, column %d", jerr.line, jerr.column);
        fail(&r, 400, "malformed_json", msg);
        goto send;
    }
    if (!json_is_object(body)) {
        fail(&r, 400, "invalid_field", "the body must be a JSON object");
        goto send;
    }
    if (strcmp(route, "/v1/scan") == 0)
        handle_scan(gen, tenant, body, rq, &r);
    else if (strcmp(route, "/v1/scan/batch") == 0)
        handle_batch(gen, tenant, body, rq, &r);
    else if (strcmp(route, "/v1/reports") == 0)
        handle_report(gen, tenant, body, rq, &r);
    else if (strcmp(route, "/v1/moderate") == 0)
        handle_moderate(gen, tenant, body, rq, &r);
    else
        handle_redact(gen, tenant, body, rq, &r);
send:
    if (!r.json && !r.status)
        fail(&r, 500, "internal", "no answer");
    ret = send_json(conn, rq, method, &r);
    json_decref(body);
    srv_generation_release(gen);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    request *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        rq->start = now_seconds(CLOCK_MONOTONIC);
        rq->route = route_of(url);
        if (strcmp(rq->route, EVIDENCE_ENTRY) == 0) {
            const char *seg = url + strlen(EVIDENCE_PREFIX);
            if (strlen(seg) < sizeof rq->index)
                snprintf(rq->index, sizeof rq->index, "%s", seg);
        }
        *con_cls = rq;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            srv_generation *gen = current_generation();
            size_t max = gen ? gen->max_body : 0;
            srv_generation_release(gen);
            rq->declared = strtoull(cl, NULL, 10);
            /* Answered before the body is read: the client (curl, with
             * Expect: 100-continue) does not send it at all. */
            if (gen && rq->declared > max) {
                reply r = {0};
                rq->too_large = 1;
                fail(&r, 413, "body_too_large", "the request body is larger than max_body");
                return send_json(conn, rq, method, &r);
            }
        }
        return MHD_YES;
    }
    if (rq->responded) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        srv_generation *gen = current_generation();
        size_t max = gen ? gen->max_body : 0;
        srv_generation_release(gen);
        if (!rq->too_large && *upload_size <= max - (rq->length < max ? rq->length : max)) {
            if (rq->length + *upload_size > rq->cap) {
                size_t cap = rq->cap ? rq->cap : 4096;
                while (cap < rq->length + *upload_size)
                    cap *= 2;
                char *b = realloc(rq->body, cap);
                if (!b)
                    return MHD_NO;
                rq->body = b;
                rq->cap = cap;
            }
            memcpy(rq->body + rq->length, upload, *upload_size);
            rq->length += *upload_size;
        } else {
            /* Read and dropped, so the client still gets its 413. */
            rq->too_large = 1;
            rq->declared += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch(conn, rq, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    char when[40];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    iso_time(when, sizeof when);
    log_json(json_pack("{s:s,s:s,s:s}", "time", when, "event", "http", "message", msg));
}

/* ------------------------------------------------------------ main */

static int listen_socket(const char *listen_addr, char *shown, size_t shown_size)
{
    char host[64];
    const char *colon = strrchr(listen_addr, ':');
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof sa;
    int fd = -1, one = 1;
    char *end = NULL;
    if (!colon || (size_t)(colon - listen_addr) >= sizeof host)
        goto bad;
    memcpy(host, listen_addr, (size_t)(colon - listen_addr));
    host[colon - listen_addr] = '\0';
    long port = strtol(colon + 1, &end, 10);
    if (!end || *end || end == colon + 1 || port < 0 || port > 65535)
        goto bad;
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa.sin_addr) != 1)
        goto bad;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        fprintf(stderr, "qinglang: listen on %s: %s\n", listen_addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
    snprintf(shown, shown_size, "%s:%u", host, (unsigned)ntohs(sa.sin_port));
    return fd;
bad:
    fprintf(stderr, "qinglang: --listen %s: expected IPv4-ADDRESS:PORT\n", listen_addr);
    return -1;
}

int ql_serve_main(int argc, char **argv)
{
    int rc = 2, fd = -1;
    const char *listen_override = NULL;
    struct MHD_Daemon *daemon = NULL;
    srv_startup startup = {0};
    srv_build_error err;
    sigset_t signals;

    srv.log = stderr;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            srv.config_path = argv[++i];
        else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen_override = argv[++i];
        else {
            fputs("usage: qinglang serve --config FILE [--listen ADDRESS:PORT]\n", stderr);
            return 2;
        }
    }
    if (!srv.config_path) {
        fputs("usage: qinglang serve --config FILE [--listen ADDRESS:PORT]\n", stderr);
        return 2;
    }
    srv.next_id = 1;
    srv.gen = srv_generation_build(srv.config_path, srv.next_id, &startup, &err);
    if (!srv.gen) {
        fprintf(stderr, "qinglang: %s\n", err.message);
        size_t i;
        json_t *d;
        json_array_foreach(err.diagnostics, i, d)
            fprintf(stderr, "%s:%d:%d: %s\n", json_string_value(json_object_get(d, "file")),
                    (int)json_integer_value(json_object_get(d, "line")),
                    (int)json_integer_value(json_object_get(d, "column")),
                    json_string_value(json_object_get(d, "message")));
        json_decref(err.diagnostics);
        goto out;
    }
    if (startup.access_log && !(srv.log = fopen(startup.access_log, "a"))) {
        fprintf(stderr, "qinglang: %s: %s\n", startup.access_log, strerror(errno));
        srv.log = stderr;
        goto out;
    }
    if (!(srv.buckets = calloc(SRV_KEYS_MAX + 1, sizeof *srv.buckets))) {
        fputs("qinglang: out of memory\n", stderr);
        goto out;
    }
    char shown[96];
    if ((fd = listen_socket(listen_override ? listen_override : startup.listen, shown, sizeof shown)) < 0)
        goto out;

    /* Signals are taken by sigwait below, in this thread only: the
     * server's threads inherit the mask, so a SIGHUP never interrupts a
     * request and the reload runs in ordinary code. */
    sigemptyset(&signals);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    unsigned threads = startup.threads;
    if (!threads) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (unsigned)cores : 1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
        flags |= MHD_USE_EPOLL;
    else if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
        flags |= MHD_USE_POLL;
    daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                              MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                              MHD_OPTION_THREAD_POOL_SIZE, threads,
                              MHD_OPTION_CONNECTION_TIMEOUT, startup.timeout,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                              MHD_OPTION_END);
    if (!daemon) {
        fputs("qinglang: could not start the HTTP server\n", stderr);
        goto out;
    }
    fd = -1;   /* the daemon owns it now */
    fprintf(stderr, "listening on %s\n", shown);
    fflush(stderr);
    if (srv_gateway_start(srv.gen) != 0)
        goto out;

    for (;;) {
        int sig = 0;
        if (sigwait(&signals, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(NULL);
            continue;
        }
        break;
    }
    rc = 0;
out:
    srv_gateway_stop();
    if (daemon)
        MHD_stop_daemon(daemon);
    if (fd >= 0)
        close(fd);
    srv_generation_release(srv.gen);
    srv.gen = NULL;
    if (srv.log && srv.log != stderr)
        fclose(srv.log);
    free(startup.access_log);
    free(srv.buckets);
    srv_metrics_free();
    return rc;
}
