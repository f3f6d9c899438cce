/*
 * gateway.c — the LLM gateway: an OpenAI-compatible proxy in `qinglang
 * serve` (docs/gateway.md).
 *
 * A request to POST /v1/chat/completions, /v1/completions or /v1/embeddings
 * is read whole, authenticated with the service's API keys (the key's name
 * is the tenant), and inspected: every text a caller sends (messages of
 * every role, content parts, tool-call arguments, prompts, embedding
 * inputs) is scanned with the tenant's rules; each finding is replaced by a
 * placeholder, blocks the request, or passes, per the tenant's policy.
 * User, tool and function messages are also scored for prompt injection
 * with the rules of rules/gateway/ (and the text of base64 and hex blocks
 * in them).  The request then goes to the tenant's upstream with libcurl;
 * the answer's placeholders are restored for the caller, and the answer is
 * checked for personal data and secrets the caller did not send.
 *
 * Threads: the gateway runs its own libmicrohttpd daemon, one thread per
 * connection.  A streamed answer is produced by a content-reader callback
 * that drives its own upstream transfer (a curl multi handle with one easy
 * handle) and blocks in curl_multi_poll while the upstream is silent: it
 * blocks only its own connection's thread, never spins, and needs no
 * hand-over between threads.  Upstream connections are kept alive in a
 * curl share (connection cache) used by every thread.
 *
 * The placeholder map lives in the request and dies with it: nothing of a
 * request is ever seen by another.  Values never reach the access log, the
 * metrics or the evidence log (masked there); the upstream key never
 * leaves the upstream's Authorization header.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "gateway.h"

/* The injection rules of rules/gateway/, embedded in the library as their
 * own table (not among the packs `qinglang scan` loads). */
#include "../lib/builtin.h"

#define UPSTREAM_BODY_MAX  ((size_t)64 << 20)   /* a non-streamed answer */
#define STREAM_PENDING_MAX ((size_t)8 << 20)    /* unparsed SSE bytes */
#define CHOICES_MAX        16
#define TOOL_CALLS_MAX     32
#define HOLD_TOKEN_MAX     256   /* bytes of a token held back for the outbound check */
#define TAIL_MAX           96    /* bytes of context kept for the outbound check */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ config */

static int resolve(const char *config_path, const char *path, char *out, size_t size)
{
    char dir[PATH_MAX];
    const char *slash;
    if (path[0] == '/' || !(slash = strrchr(config_path, '/')))
        return snprintf(out, size, "%s", path) < (int)size ? 0 : -1;
    if ((size_t)(slash - config_path) >= sizeof dir)
        return -1;
    memcpy(dir, config_path, (size_t)(slash - config_path));
    dir[slash - config_path] = '\0';
    return snprintf(out, size, "%s/%s", dir, path) < (int)size ? 0 : -1;
}

static void tenant_free(gw_tenant *t)
{
    free(t->upstream);
    if (t->upstream_key) {
        OPENSSL_cleanse(t->upstream_key, strlen(t->upstream_key));
        free(t->upstream_key);
    }
    json_decref(t->inbound);
    json_decref(t->outbound);
    memset(t, 0, sizeof *t);
}

static int copy_tenant(gw_tenant *out, const gw_tenant *in)
{
    *out = *in;
    out->upstream = in->upstream ? strdup(in->upstream) : NULL;
    out->upstream_key = in->upstream_key ? strdup(in->upstream_key) : NULL;
    out->inbound = json_incref(in->inbound);
    out->outbound = json_incref(in->outbound);
    return (in->upstream && !out->upstream) || (in->upstream_key && !out->upstream_key) ? -1 : 0;
}

static int action_from(const char *name, const char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(name, names[i]) == 0)
            return (int)i;
    return -1;
}

static const char *const inbound_names[] = {"replace", "block", "pass"};
static const char *const outbound_names[] = {"mask", "block", "pass"};
static const char *const injection_names[] = {"block", "flag", "off"};
static const char *const moderation_names[] = {"block", "flag", "off"};

/* A {selector: action} map whose actions are all in `names`. */
static int action_map(json_t *section, const char *key, const char *const *names, size_t count,
                      json_t **out, const char *prefix, char *error, size_t size)
{
    json_t *v = json_object_get(section, key);
    const char *sel;
    json_t *a;
    if (!v)
        return 0;
    if (!json_is_object(v)) {
        snprintf(error, size, "%s.%s: expected {type or category: action}", prefix, key);
        return -1;
    }
    json_object_foreach(v, sel, a) {
        if (!json_is_string(a) || action_from(json_string_value(a), names, count) < 0) {
            snprintf(error, size, "%s.%s.%s: expected %s, %s or %s", prefix, key, sel, names[0],
                     names[1], names[2]);
            return -1;
        }
    }
    json_decref(*out);
    *out = json_incref(v);
    return 0;
}

static int read_secret(const char *path, char **out, char *error, size_t size)
{
    struct stat st;
    uint8_t *data = NULL;
    size_t n = 0;
    if (stat(path, &st) != 0 || srv_read_file(path, 4096, &data, &n) != 0) {
        snprintf(error, size, "%.300s: %.100s", path, strerror(errno));
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(error, size, "%.300s: others may read or write it (chmod 600)", path);
        OPENSSL_cleanse(data, n);
        free(data);
        return -1;
    }
    while (n && (data[n - 1] == '\n' || data[n - 1] == '\r' || data[n - 1] == ' '))
        n--;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, data, n);
        s[n] = '\0';
    }
    OPENSSL_cleanse(data, n);
    free(data);
    if (!s) {
        snprintf(error, size, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
            snprintf(error, size, "%.300s: the key must be printable ASCII without spaces", path);
            OPENSSL_cleanse(s, n);
            free(s);
            return -1;
        }
    *out = s;
    return 0;
}

static int num(json_t *section, const char *key, double min, double max, double *out,
               const char *prefix, char *error, size_t size)
{
    json_t *v = json_object_get(section, key);
    if (!v)
        return 0;
    if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max) {
        snprintf(error, size, "%s.%s: expected a number from %g to %g", prefix, key, min, max);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* Applies one section (the gateway's own or a tenant's) over `t`. */
static int tenant_parse(const char *config_path, json_t *section, gw_tenant *t, const char *prefix,
                        char *error, size_t size)
{
    json_t *v;
    double d;
    if (!json_is_object(section)) {
        snprintf(error, size, "%s: expected a mapping", prefix);
        return -1;
    }
    if ((v = json_object_get(section, "upstream"))) {
        const char *u = json_string_value(v);
        if (!u || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)) {
            snprintf(error, size, "%s.upstream: expected an http:// or https:// base URL", prefix);
            return -1;
        }
        size_t n = strlen(u);
        while (n && u[n - 1] == '/')
            n--;
        free(t->upstream);
        if (!(t->upstream = strndup(u, n))) {
            snprintf(error, size, "out of memory");
            return -1;
        }
    }
    if ((v = json_object_get(section, "upstream_key_file"))) {
        char path[PATH_MAX];
        char *key = NULL;
        if (!json_is_string(v) || resolve(config_path, json_string_value(v), path, sizeof path) != 0) {
            snprintf(error, size, "%s.upstream_key_file: expected a file name", prefix);
            return -1;
        }
        if (read_secret(path, &key, error, size) != 0)
            return -1;
        free(t->upstream_key);
        t->upstream_key = key;
    }
    if ((v = json_object_get(section, "upstream_key_env"))) {
        const char *val = json_is_string(v) ? getenv(json_string_value(v)) : NULL;
        if (!val || !*val) {
            snprintf(error, size, "%s.upstream_key_env: %s", prefix,
                     json_is_string(v) ? "the variable is not set" : "expected a variable name");
            return -1;
        }
        free(t->upstream_key);
        if (!(t->upstream_key = strdup(val))) {
            snprintf(error, size, "out of memory");
            return -1;
        }
    }
    if (action_map(section, "inbound", inbound_names, 3, &t->inbound, prefix, error, size) != 0 ||
        action_map(section, "outbound", outbound_names, 3, &t->outbound, prefix, error, size) != 0)
        return -1;
    static const char *const keys[4] = {"inbound_default", "outbound_default", "injection_action",
                                        "moderation"};
    const char *const *names[4] = {inbound_names, outbound_names, injection_names, moderation_names};
    int *targets[4] = {&t->inbound_default, &t->outbound_default, &t->injection_action,
                       &t->moderation};
    for (size_t i = 0; i < 4; i++) {
        if (!(v = json_object_get(section, keys[i])))
            continue;
        int a = json_is_string(v) ? action_from(json_string_value(v), names[i], 3) : -1;
        if (a < 0) {
            snprintf(error, size, "%s.%s: expected %s, %s or %s", prefix, keys[i], names[i][0],
                     names[i][1], names[i][2]);
            return -1;
        }
        *targets[i] = a;
    }
    if (num(section, "injection_threshold", 0, 100, &t->injection_threshold, prefix, error, size) != 0)
        return -1;
    d = t->blocked_status;
    if (num(section, "blocked_status", 400, 599, &d, prefix, error, size) != 0)
        return -1;
    t->blocked_status = (unsigned)d;
    d = (double)t->timeout_ms / 1000;
    if (num(section, "timeout", 0.05, 3600, &d, prefix, error, size) != 0)
        return -1;
    t->timeout_ms = (long)(d * 1000);
    d = (double)t->connect_timeout_ms / 1000;
    if (num(section, "connect_timeout", 0.05, 600, &d, prefix, error, size) != 0)
        return -1;
    t->connect_timeout_ms = (long)(d * 1000);
    if ((v = json_object_get(section, "evidence"))) {
        if (!json_is_boolean(v)) {
            snprintf(error, size, "%s.evidence: expected true or false", prefix);
            return -1;
        }
        t->evidence = json_is_true(v);
    }
    return 0;
}

/* The injection rules are built in and never change while the process
 * runs, and compiling them takes seconds (Vectorscan expands their
 * bounded gaps): they are compiled once, at the first build of a
 * generation with a gateway, and kept until the gateway stops.  Each
 * thread makes its own scanner for them. */
static pthread_mutex_t injection_lock = PTHREAD_MUTEX_INITIALIZER;
static ql_rules *injection_rules;
static pthread_key_t injection_key;
static pthread_once_t injection_once = PTHREAD_ONCE_INIT;

static void injection_scanner_free(void *p)
{
    ql_scanner_destroy(p);
}

static void injection_key_init(void)
{
    pthread_key_create(&injection_key, injection_scanner_free);
}

static ql_scanner *injection_scanner(void)
{
    pthread_once(&injection_once, injection_key_init);
    ql_scanner *sc = pthread_getspecific(injection_key);
    if (!sc && injection_rules && ql_scanner_create(injection_rules, NULL, &sc) == QL_OK)
        pthread_setspecific(injection_key, sc);
    return sc;
}

static ql_rules *compile_injection_rules(char *error, size_t size);

static int injection_rules_load(char *error, size_t size)
{
    pthread_mutex_lock(&injection_lock);
    if (!injection_rules)
        injection_rules = compile_injection_rules(error, size);
    int ok = injection_rules != NULL;
    pthread_mutex_unlock(&injection_lock);
    return ok ? 0 : -1;
}

static ql_rules *compile_injection_rules(char *error, size_t size)
{
    ql_compiler *c = NULL;
    ql_rules *rules = NULL;
    if (ql_compiler_create(NULL, &c) != QL_OK) {
        snprintf(error, size, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < ql__gateway_pack_count; i++) {
        ql_status st = ql_compiler_add_rules(c, ql__gateway_packs[i].name, ql__gateway_packs[i].data,
                                             ql__gateway_packs[i].size);
        if (st != QL_OK) {
            const ql_diagnostic *d = ql_compiler_diagnostic_count(c) ? ql_compiler_diagnostic(c, 0) : NULL;
            snprintf(error, size, "gateway rules %.100s:%u:%u: %.200s", ql__gateway_packs[i].name,
                     d ? d->line : 0, d ? d->column : 0, d ? d->message : ql_status_message(st));
            goto out;
        }
    }
    if (ql_compiler_compile(c, &rules) != QL_OK) {
        snprintf(error, size, "gateway rules: could not compile");
        rules = NULL;
    }
out:
    ql_compiler_destroy(c);
    return rules;
}

srv_gateway *srv_gateway_build(const char *config_path, json_t *section, srv_generation *gen,
                               char *error, size_t size)
{
    srv_gateway *gw = calloc(1, sizeof *gw);
    json_t *v;
    double d;
    if (!gw) {
        snprintf(error, size, "out of memory");
        return NULL;
    }
    if (!json_is_object(section)) {
        snprintf(error, size, "gateway: expected a mapping");
        goto fail;
    }
    snprintf(gw->listen, sizeof gw->listen, "127.0.0.1:8081");
    if ((v = json_object_get(section, "listen")) &&
        (!json_is_string(v) ||
         snprintf(gw->listen, sizeof gw->listen, "%s", json_string_value(v)) >= (int)sizeof gw->listen)) {
        snprintf(error, size, "gateway.listen: expected ADDRESS:PORT");
        goto fail;
    }
    d = 1024;
    if (num(section, "max_connections", 1, 65536, &d, "gateway", error, size) != 0)
        goto fail;
    gw->max_connections = (unsigned)d;

    gw_tenant *t = &gw->defaults;
    t->inbound_default = GW_REPLACE;
    t->outbound_default = GW_OUT_MASK;
    t->injection_threshold = 0.7;
    t->injection_action = GW_INJ_BLOCK;
    t->blocked_status = 400;
    t->timeout_ms = 120000;
    t->connect_timeout_ms = 10000;
    if (tenant_parse(config_path, section, t, "gateway", error, size) != 0)
        goto fail;

    json_t *tenants = json_object_get(section, "tenants");
    if (tenants) {
        const char *name;
        json_t *ts;
        if (!json_is_object(tenants) ||
            !(gw->tenants = calloc(json_object_size(tenants) + 1, sizeof *gw->tenants))) {
            snprintf(error, size, "gateway.tenants: expected a mapping of tenant names");
            goto fail;
        }
        json_object_foreach(tenants, name, ts) {
            char prefix[SRV_NAME_MAX + 32];
            gw_tenant *tt = &gw->tenants[gw->tenant_count];
            if (!srv_name_valid(name)) {
                snprintf(error, size, "gateway.tenants: '%s' is not a valid name", name);
                goto fail;
            }
            if (copy_tenant(tt, &gw->defaults) != 0) {
                tenant_free(tt);
                snprintf(error, size, "out of memory");
                goto fail;
            }
            gw->tenant_count++;
            snprintf(tt->name, sizeof tt->name, "%s", name);
            snprintf(prefix, sizeof prefix, "gateway.tenants.%s", name);
            if (tenant_parse(config_path, ts, tt, prefix, error, size) != 0)
                goto fail;
        }
    }

    (void)gen;
    if (injection_rules_load(error, size) != 0)
        goto fail;
    return gw;
fail:
    srv_gateway_free(gw);
    return NULL;
}

void srv_gateway_free(srv_gateway *gw)
{
    if (!gw)
        return;
    tenant_free(&gw->defaults);
    for (size_t i = 0; i < gw->tenant_count; i++)
        tenant_free(&gw->tenants[i]);
    free(gw->tenants);
    free(gw);
}

static const gw_tenant *gw_tenant_find(const srv_gateway *gw, const char *name)
{
    for (size_t i = 0; i < gw->tenant_count; i++)
        if (strcmp(gw->tenants[i].name, name) == 0)
            return &gw->tenants[i];
    return &gw->defaults;
}

/* The action for a finding: its type, else its category, else the longest
 * matching "prefix.*", else "*", else the default. */
static int action_for(json_t *map, const char *type, const char *category, const char *const *names,
                      int dflt)
{
    json_t *v;
    const char *sel;
    size_t best = 0;
    const char *best_action = NULL;
    if (!map)
        return dflt;
    if ((v = json_object_get(map, type)) || (v = json_object_get(map, category)))
        return action_from(json_string_value(v), names, 3);
    json_object_foreach(map, sel, v) {
        size_t n = strlen(sel);
        if (n >= 2 && sel[n - 1] == '*' && sel[n - 2] == '.' && strncmp(category, sel, n - 1) == 0 &&
            n > best) {
            best = n;
            best_action = json_string_value(v);
        }
    }
    if (!best_action && (v = json_object_get(map, "*")))
        best_action = json_string_value(v);
    return best_action ? action_from(best_action, names, 3) : dflt;
}

/* ------------------------------------------------------------ metrics */

static const char *const block_reasons[] = {"sensitive_data", "prompt_injection", "output",
                                            "moderation"};
enum { BLOCK_PII, BLOCK_INJECTION, BLOCK_OUTPUT, BLOCK_MODERATION, BLOCK_REASONS };
static const char *const upstream_errors[] = {"timeout", "unreachable", "status_5xx", "malformed",
                                              "truncated"};
enum { UP_TIMEOUT, UP_UNREACHABLE, UP_5XX, UP_MALFORMED, UP_TRUNCATED, UP_ERRORS };
static const double latency_bounds[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                        0.005,   0.01,   0.025,   0.1};
#define LATENCY_BUCKETS (sizeof latency_bounds / sizeof latency_bounds[0])

#define REQUEST_SERIES 64
static struct {
    pthread_mutex_t lock;
    struct {
        const char *endpoint;
        unsigned status;
        uint64_t count;
    } requests[REQUEST_SERIES];
    size_t request_count;
    uint64_t blocks[BLOCK_REASONS];
    uint64_t upstream[UP_ERRORS];
    uint64_t replaced, restored, masked;
    uint64_t latency[LATENCY_BUCKETS], latency_count;
    double latency_sum;
    int used;
} metrics = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void metric_request(const char *endpoint, unsigned status, double added, size_t replaced,
                           size_t restored, size_t masked)
{
    pthread_mutex_lock(&metrics.lock);
    metrics.used = 1;
    size_t i;
    for (i = 0; i < metrics.request_count; i++)
        if (metrics.requests[i].endpoint == endpoint && metrics.requests[i].status == status)
            break;
    if (i == metrics.request_count && i < REQUEST_SERIES) {
        metrics.requests[i].endpoint = endpoint;
        metrics.requests[i].status = status;
        metrics.request_count++;
    }
    if (i < REQUEST_SERIES)
        metrics.requests[i].count++;
    metrics.replaced += replaced;
    metrics.restored += restored;
    metrics.masked += masked;
    if (added >= 0) {
        for (size_t b = 0; b < LATENCY_BUCKETS; b++)
            if (added <= latency_bounds[b])
                metrics.latency[b]++;
        metrics.latency_count++;
        metrics.latency_sum += added;
    }
    pthread_mutex_unlock(&metrics.lock);
}

static void metric_count(uint64_t *counter)
{
    pthread_mutex_lock(&metrics.lock);
    metrics.used = 1;
    (*counter)++;
    pthread_mutex_unlock(&metrics.lock);
}

char *srv_gateway_metrics_render(void)
{
    gw_buf b;
    char line[1024];
    gw_buf_init(&b, (size_t)1 << 20);
    pthread_mutex_lock(&metrics.lock);
    if (!metrics.used) {
        pthread_mutex_unlock(&metrics.lock);
        return NULL;
    }
#define LINE(...)                                                   \
    do {                                                            \
        int n_ = snprintf(line, sizeof line, __VA_ARGS__);          \
        if (n_ > 0)                                                 \
            gw_buf_put(&b, line, (size_t)n_ < sizeof line ? (size_t)n_ : sizeof line - 1); \
    } while (0)
    LINE("# HELP qinglang_gateway_requests_total Gateway requests answered, by endpoint and status.\n"
         "# TYPE qinglang_gateway_requests_total counter\n");
    for (size_t i = 0; i < metrics.request_count; i++)
        LINE("qinglang_gateway_requests_total{endpoint=\"%s\",status=\"%u\"} %llu\n",
             metrics.requests[i].endpoint, metrics.requests[i].status,
             (unsigned long long)metrics.requests[i].count);
    LINE("# HELP qinglang_gateway_blocks_total Gateway requests or answers blocked, by reason.\n"
         "# TYPE qinglang_gateway_blocks_total counter\n");
    for (size_t i = 0; i < BLOCK_REASONS; i++)
        LINE("qinglang_gateway_blocks_total{reason=\"%s\"} %llu\n", block_reasons[i],
             (unsigned long long)metrics.blocks[i]);
    LINE("# HELP qinglang_gateway_upstream_errors_total Upstream failures, by kind.\n"
         "# TYPE qinglang_gateway_upstream_errors_total counter\n");
    for (size_t i = 0; i < UP_ERRORS; i++)
        LINE("qinglang_gateway_upstream_errors_total{kind=\"%s\"} %llu\n", upstream_errors[i],
             (unsigned long long)metrics.upstream[i]);
    LINE("# HELP qinglang_gateway_placeholders_total Placeholders put into prompts and restored in answers.\n"
         "# TYPE qinglang_gateway_placeholders_total counter\n"
         "qinglang_gateway_placeholders_total{direction=\"replaced\"} %llu\n"
         "qinglang_gateway_placeholders_total{direction=\"restored\"} %llu\n",
         (unsigned long long)metrics.replaced, (unsigned long long)metrics.restored);
    LINE("# HELP qinglang_gateway_output_masked_total Values masked in answers (not sent by the caller).\n"
         "# TYPE qinglang_gateway_output_masked_total counter\n"
         "qinglang_gateway_output_masked_total %llu\n", (unsigned long long)metrics.masked);
    LINE("# HELP qinglang_gateway_added_latency_seconds Time spent in qinglang per request, upstream excluded.\n"
         "# TYPE qinglang_gateway_added_latency_seconds histogram\n");
    for (size_t i = 0; i < LATENCY_BUCKETS; i++)
        LINE("qinglang_gateway_added_latency_seconds_bucket{le=\"%g\"} %llu\n", latency_bounds[i],
             (unsigned long long)metrics.latency[i]);
    LINE("qinglang_gateway_added_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
         "qinglang_gateway_added_latency_seconds_sum %.6f\n"
         "qinglang_gateway_added_latency_seconds_count %llu\n",
         (unsigned long long)metrics.latency_count, metrics.latency_sum,
         (unsigned long long)metrics.latency_count);
#undef LINE
    pthread_mutex_unlock(&metrics.lock);
    if (b.failed) {
        gw_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* ------------------------------------------------------------ requests */

typedef struct hit {
    const char *rule;            /* owned by the rule set (the generation) */
    double      confidence;
} hit;

typedef struct evidence_item {
    const char *type, *rule;     /* owned by the rule set */
    uint64_t    start, end;
    char        masked[96];
} evidence_item;

typedef struct gw_stream gw_stream;

typedef struct gw_request {
    double          start;
    double          own;          /* seconds spent in qinglang so far */
    const char     *route;        /* a fixed string */
    const char     *method;
    char            tenant[SRV_NAME_MAX + 1];
    gw_buf          body;
    uint64_t        declared;
    int             too_large;
    int             responded;
    srv_generation *gen;
    const srv_tenant *st;
    const gw_tenant *gt;
    gw_map          map;
    hit            *hits;
    size_t          hit_count, hit_cap;
    double          score;
    char            mod_tail[512];  /* the end of the answer checked so far */
    size_t          mod_tail_len;
    char            blocked_type[SRV_NAME_MAX + 1];
    int             scan_failed;
    size_t          replaced, restored, masked;
    evidence_item  *evidence;
    size_t          evidence_count, evidence_cap;
    const char     *decision;     /* "pass", "flag", "block" */
    const char     *reason;       /* a block reason or NULL */
    unsigned        status;
    char            retry_after[16];
    size_t          response_bytes;
    gw_stream      *stream;
    int             refs;         /* the connection, and the stream's response */
} gw_request;

static void request_release(gw_request *rq);

/* ------------------------------------------------------------ answers */

static const char *error_type(unsigned status)
{
    if (status == 401)
        return "authentication_error";
    if (status == 403)
        return "permission_error";
    if (status == 404)
        return "not_found_error";
    if (status == 429)
        return "rate_limit_error";
    if (status == 502 || status == 504)
        return "upstream_error";
    if (status >= 500)
        return "api_error";
    return "invalid_request_error";
}

/* {"error":{"message","type","param":null,"code"}}, OpenAI's form. */
static char *error_body(unsigned status, const char *code, const char *message, size_t *length)
{
    json_t *j = json_pack("{s:{s:s,s:s,s:n,s:s}}", "error", "message", message, "type",
                          error_type(status), "param", "code", code);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    *length = s ? strlen(s) : 0;
    return s;
}

static void access_log(gw_request *rq)
{
    char line[640];
    struct timespec ts;
    struct tm tm;
    char base[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    /* Fixed strings, a validated key name and numbers: nothing to escape. */
    int n = snprintf(line, sizeof line,
                     "{\"time\":\"%s.%03dZ\",\"tenant\":\"%s\",\"method\":\"%s\",\"path\":\"%s\","
                     "\"status\":%u,\"bytes\":%llu,\"response_bytes\":%zu,\"gateway\":{"
                     "\"decision\":\"%s\",\"reason\":\"%s\",\"injection_score\":%.3f,"
                     "\"replaced\":%zu,\"restored\":%zu,\"masked\":%zu,\"added_ms\":%.3f},"
                     "\"latency_ms\":%.3f}\n",
                     base, (int)(ts.tv_nsec / 1000000), rq->tenant[0] ? rq->tenant : "-",
                     rq->method, rq->route, rq->status,
                     (unsigned long long)(rq->too_large ? rq->declared : rq->body.length),
                     rq->response_bytes, rq->decision ? rq->decision : "-",
                     rq->reason ? rq->reason : "-", rq->score, rq->replaced, rq->restored,
                     rq->masked, rq->own * 1e3, (now_seconds() - rq->start) * 1e3);
    if (n > 0 && (size_t)n < sizeof line)
        srv_access_log(line, (size_t)n);
}

/* Called once per request when its answer is complete (or abandoned). */
static void request_done(gw_request *rq)
{
    metric_request(rq->route, rq->status, rq->status < 300 ? rq->own : -1, rq->replaced,
                   rq->restored, rq->masked);
    access_log(rq);
}

static enum MHD_Result send_body(struct MHD_Connection *conn, gw_request *rq, unsigned status,
                                 char *body, size_t length)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    rq->responded = 1;
    if (!body) {
        status = 500;
        body = strdup("{\"error\":{\"message\":\"out of memory\",\"type\":\"api_error\","
                      "\"param\":null,\"code\":\"internal\"}}");
        length = body ? strlen(body) : 0;
    }
    rq->status = status;
    rq->response_bytes = length;
    resp = MHD_create_response_from_buffer(length, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        request_done(rq);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (rq->retry_after[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, rq->retry_after);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    request_done(rq);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, gw_request *rq, unsigned status,
                                  const char *code, const char *message)
{
    size_t length;
    char *body = error_body(status, code, message, &length);
    return send_body(conn, rq, status, body, length);
}

/* ------------------------------------------------------------ inspection */

typedef struct collected {
    const char *type, *category, *rule;
    uint64_t    start, end;
    char       *folded;
    size_t      folded_length;
    char        masked[96];
    double      confidence;
} collected;

typedef struct collector {
    collected *items;
    size_t     count, cap;
    const srv_tenant *tenant;   /* NULL: keep every type */
    int        failed;
} collector;

static int on_collect(const ql_finding *f, void *user)
{
    collector *c = user;
    if (c->tenant && !srv_tenant_enabled(c->tenant, f->type))
        return 0;
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        collected *n = realloc(c->items, cap * sizeof *n);
        if (!n) {
            c->failed = 1;
            return 1;
        }
        c->items = n;
        c->cap = cap;
    }
    collected *it = &c->items[c->count];
    it->type = f->type;
    it->category = f->category;
    it->rule = f->rule_id;
    it->start = f->start;
    it->end = f->end;
    it->confidence = f->confidence;
    snprintf(it->masked, sizeof it->masked, "%s", f->masked ? f->masked : "");
    it->folded = malloc(f->value_length + 1);
    if (!it->folded) {
        c->failed = 1;
        return 1;
    }
    memcpy(it->folded, f->value, f->value_length);
    it->folded[f->value_length] = '\0';
    it->folded_length = f->value_length;
    c->count++;
    return 0;
}

static void collector_free(collector *c)
{
    for (size_t i = 0; i < c->count; i++) {
        OPENSSL_cleanse(c->items[i].folded, c->items[i].folded_length);
        free(c->items[i].folded);
    }
    free(c->items);
    memset(c, 0, sizeof *c);
}

#define INJECTION_RULES ((size_t)-1)

static int scan_into(gw_request *rq, size_t ruleset, const char *text, size_t length,
                     const srv_tenant *tenant, collector *c)
{
    ql_scanner *sc = ruleset == INJECTION_RULES ? injection_scanner()
                                                : srv_thread_scanner(rq->gen, ruleset);
    ql_scan_options opts;
    if (!sc)
        return -1;
    ql_scan_options_init(&opts);
    opts.encoding = QL_ENCODING_UTF8;
    c->tenant = tenant;
    ql_status st = ql_scan(sc, (const uint8_t *)text, length, &opts, on_collect, c);
    return st == QL_OK && !c->failed ? 0 : -1;
}

static void add_hit(gw_request *rq, const char *rule, double confidence)
{
    for (size_t i = 0; i < rq->hit_count; i++)
        if (strcmp(rq->hits[i].rule, rule) == 0) {
            if (confidence > rq->hits[i].confidence)
                rq->hits[i].confidence = confidence;
            return;
        }
    if (rq->hit_count == rq->hit_cap) {
        size_t cap = rq->hit_cap ? rq->hit_cap * 2 : 8;
        hit *n = realloc(rq->hits, cap * sizeof *n);
        if (!n) {
            rq->scan_failed = 1;
            return;
        }
        rq->hits = n;
        rq->hit_cap = cap;
    }
    rq->hits[rq->hit_count].rule = rule;
    rq->hits[rq->hit_count].confidence = confidence;
    rq->hit_count++;
}

static void add_evidence(gw_request *rq, const char *type, const char *rule, uint64_t start,
                         uint64_t end, const char *masked)
{
    if (!rq->gt->evidence || !rq->gen->evidence || rq->evidence_count >= 1024)
        return;
    if (rq->evidence_count == rq->evidence_cap) {
        size_t cap = rq->evidence_cap ? rq->evidence_cap * 2 : 8;
        evidence_item *n = realloc(rq->evidence, cap * sizeof *n);
        if (!n)
            return;
        rq->evidence = n;
        rq->evidence_cap = cap;
    }
    evidence_item *e = &rq->evidence[rq->evidence_count++];
    e->type = type;
    e->rule = rule;
    e->start = start;
    e->end = end;
    snprintf(e->masked, sizeof e->masked, "%s", masked ? masked : "");
}

typedef struct decoded_ctx {
    gw_request *rq;
    int         found;
} decoded_ctx;

static void on_decoded(const char *text, size_t length, void *user)
{
    decoded_ctx *d = user;
    collector c = {0};
    if (scan_into(d->rq, INJECTION_RULES, text, length, NULL, &c) != 0)
        d->rq->scan_failed = 1;
    for (size_t i = 0; i < c.count; i++) {
        add_hit(d->rq, c.items[i].rule, c.items[i].confidence);
        d->found = 1;
    }
    collector_free(&c);
}

/* Scores one text a user, tool or retrieved document supplied. */
static void injection_scan(gw_request *rq, const char *text, size_t length)
{
    collector c = {0};
    if (rq->gt->injection_action == GW_INJ_OFF)
        return;
    if (scan_into(rq, INJECTION_RULES, text, length, NULL, &c) != 0)
        rq->scan_failed = 1;
    for (size_t i = 0; i < c.count; i++)
        add_hit(rq, c.items[i].rule, c.items[i].confidence);
    collector_free(&c);
    /* Words spaced out, spelt in leetspeak or broken by invisible
     * characters to slip past a filter are read as meant too. */
    gw_buf collapsed;
    gw_buf_init(&collapsed, length + 16);
    if (gw_normalize_evasions(text, length, &collapsed)) {
        collector cc = {0};
        if (scan_into(rq, INJECTION_RULES, collapsed.data, collapsed.length, NULL, &cc) != 0)
            rq->scan_failed = 1;
        for (size_t i = 0; i < cc.count; i++)
            add_hit(rq, cc.items[i].rule, cc.items[i].confidence);
        collector_free(&cc);
    }
    gw_buf_free(&collapsed);
    decoded_ctx d = {rq, 0};
    gw_decoded_blocks(text, length, on_decoded, &d);
    /* Instructions that were encoded to get past a filter weigh more than
     * the same words in the open. */
    if (d.found)
        add_hit(rq, "gateway.encoded_instructions", 0.6);
}

/* Replaces what the policy says in one text.  Returns a new JSON string,
 * or NULL when nothing changed (or on failure: rq->scan_failed). */
static json_t *redact_text(gw_request *rq, const char *text, size_t length, int score_injection)
{
    collector c = {0};
    gw_buf out;
    json_t *result = NULL;
    uint64_t last_end = 0;
    size_t changes = 0;

    if (score_injection)
        injection_scan(rq, text, length);
    if (scan_into(rq, rq->st->ruleset, text, length, rq->st, &c) != 0) {
        rq->scan_failed = 1;
        collector_free(&c);
        return NULL;
    }
    srv_metrics_scanned(length);
    if (c.count == 0) {
        collector_free(&c);
        return NULL;
    }
    gw_buf_init(&out, length * 4 + 4096);
    for (size_t i = 0; i < c.count; i++) {
        collected *f = &c.items[i];
        srv_metrics_finding(f->type, rq->tenant);
        gw_map_know(&rq->map, f->folded, f->folded_length);
        int action = action_for(rq->gt->inbound, f->type, f->category, inbound_names,
                                rq->gt->inbound_default);
        if (action == GW_PASS || f->start < last_end || f->end > length)
            continue;
        add_evidence(rq, f->type, f->rule, f->start, f->end, f->masked);
        if (action == GW_BLOCK) {
            if (!rq->blocked_type[0])
                snprintf(rq->blocked_type, sizeof rq->blocked_type, "%s", f->type);
            continue;
        }
        const gw_value *v = gw_map_add(&rq->map, f->type, f->folded, f->folded_length,
                                       text + f->start, (size_t)(f->end - f->start));
        if (!v) {
            rq->scan_failed = 1;
            break;
        }
        gw_buf_put(&out, text + last_end, (size_t)(f->start - last_end));
        gw_buf_put(&out, v->placeholder, v->placeholder_length);
        last_end = f->end;
        changes++;
    }
    if (changes) {
        gw_buf_put(&out, text + last_end, length - (size_t)last_end);
        if (out.failed)
            rq->scan_failed = 1;
        else
            result = json_stringn(out.data, out.length);
        rq->replaced += changes;
    }
    if (out.data)
        OPENSSL_cleanse(out.data, out.length);
    gw_buf_free(&out);
    collector_free(&c);
    return result;
}

/* Redacts obj[key] if it is a string. */
static void redact_member(gw_request *rq, json_t *obj, const char *key, int score_injection)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return;
    json_t *n = redact_text(rq, json_string_value(v), json_string_length(v), score_injection);
    if (n)
        json_object_set_new(obj, key, n);
}

/* Tool-call arguments are JSON text: its string values are redacted one
 * by one, so a value written with escapes is found too, and the arguments
 * stay valid JSON. */
static void redact_arguments(gw_request *rq, json_t *function);

static void redact_tree(gw_request *rq, json_t *v, int score_injection)
{
    size_t i;
    const char *key;
    json_t *item;
    if (json_is_array(v)) {
        json_array_foreach(v, i, item) {
            if (json_is_string(item)) {
                json_t *n = redact_text(rq, json_string_value(item), json_string_length(item),
                                        score_injection);
                if (n)
                    json_array_set_new(v, i, n);
            } else {
                redact_tree(rq, item, score_injection);
            }
        }
    } else if (json_is_object(v)) {
        json_object_foreach(v, key, item) {
            if (json_is_string(item))
                redact_member(rq, v, key, score_injection);
            else
                redact_tree(rq, item, score_injection);
        }
    }
}

static void redact_arguments(gw_request *rq, json_t *function)
{
    json_t *args = json_object_get(function, "arguments");
    if (!json_is_string(args))
        return;
    json_t *parsed = json_loadb(json_string_value(args), json_string_length(args), JSON_DECODE_ANY, NULL);
    if (!parsed || !(json_is_object(parsed) || json_is_array(parsed))) {
        json_decref(parsed);
        redact_member(rq, function, "arguments", 0);
        return;
    }
    size_t before = rq->replaced;
    redact_tree(rq, parsed, 0);
    if (rq->replaced != before) {
        char *s = json_dumps(parsed, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s)
            json_object_set_new(function, "arguments", json_stringn(s, strlen(s)));
        else
            rq->scan_failed = 1;
        free(s);
    }
    json_decref(parsed);
}

/* A message's content: a string, or an array of parts ({type:text,text}). */
static void redact_content(gw_request *rq, json_t *message, int score_injection)
{
    json_t *content = json_object_get(message, "content");
    size_t i;
    json_t *part;
    if (json_is_string(content)) {
        redact_member(rq, message, "content", score_injection);
    } else if (json_is_array(content)) {
        json_array_foreach(content, i, part) {
            if (json_is_object(part))
                redact_member(rq, part, "text", score_injection);
            else if (json_is_string(part)) {
                json_t *n = redact_text(rq, json_string_value(part), json_string_length(part),
                                        score_injection);
                if (n)
                    json_array_set_new(content, i, n);
            }
        }
    }
}

/* Inspects a request body in place.  0, or -1 with a message for a body
 * that is not what the endpoint takes. */
static int inspect(gw_request *rq, json_t *body, const char **problem)
{
    size_t i, k;
    json_t *m, *tc;
    if (rq->route[4] == 'c' && rq->route[8] == '/') {          /* /v1/chat/completions */
        json_t *messages = json_object_get(body, "messages");
        if (!json_is_array(messages)) {
            *problem = "'messages' must be an array";
            return -1;
        }
        json_array_foreach(messages, i, m) {
            if (!json_is_object(m)) {
                *problem = "each message must be an object";
                return -1;
            }
            const char *role = json_string_value(json_object_get(m, "role"));
            if (!role) {
                *problem = "each message needs a 'role'";
                return -1;
            }
            /* The system and developer prompts are the application's own;
             * what users, tools and retrieved documents supply is what an
             * attacker controls. */
            int untrusted = strcmp(role, "user") == 0 || strcmp(role, "tool") == 0 ||
                            strcmp(role, "function") == 0;
            redact_content(rq, m, untrusted);
            json_array_foreach(json_object_get(m, "tool_calls"), k, tc)
                redact_arguments(rq, json_object_get(tc, "function"));
            if (json_is_object(json_object_get(m, "function_call")))
                redact_arguments(rq, json_object_get(m, "function_call"));
        }
    } else if (rq->route[4] == 'c') {                            /* /v1/completions */
        json_t *prompt = json_object_get(body, "prompt");
        if (json_is_string(prompt))
            redact_member(rq, body, "prompt", 1);
        else if (json_is_array(prompt))
            redact_tree(rq, prompt, 1);
        else {
            *problem = "'prompt' must be a string or an array of strings";
            return -1;
        }
        redact_member(rq, body, "suffix", 1);
    } else {                                                     /* /v1/embeddings */
        json_t *input = json_object_get(body, "input");
        if (json_is_string(input))
            redact_member(rq, body, "input", 0);
        else if (json_is_array(input))
            redact_tree(rq, input, 0);
        else {
            *problem = "'input' must be a string or an array";
            return -1;
        }
    }
    /* The score: the chance that at least one rule that fired is right,
     * each rule counted once (its highest confidence). */
    double keep = 1;
    for (size_t h = 0; h < rq->hit_count; h++)
        keep *= 1 - (rq->hits[h].confidence < 1 ? rq->hits[h].confidence : 1);
    rq->score = 1 - keep;
    for (size_t h = 0; h < rq->hit_count; h++)
        add_evidence(rq, "prompt_injection", rq->hits[h].rule, 0, 0, NULL);
    return 0;
}

static void write_evidence(gw_request *rq)
{
    srv_evidence *ev = rq->gen->evidence;
    if (!rq->gt->evidence || !ev || (!rq->evidence_count && !rq->reason))
        return;
    ql_evidence_finding *items = calloc(rq->evidence_count + 1, sizeof *items);
    if (!items)
        return;
    for (size_t i = 0; i < rq->evidence_count; i++) {
        items[i].type = rq->evidence[i].type;
        items[i].rule_id = rq->evidence[i].rule;
        items[i].start = rq->evidence[i].start;
        items[i].end = rq->evidence[i].end;
        items[i].masked = rq->evidence[i].masked[0] ? rq->evidence[i].masked : NULL;
    }
    /* The decision rides in the source URL: the entry format has no field
     * for it (docs/gateway.md). */
    char url[256];
    snprintf(url, sizeof url, "gateway:%s?decision=%s&reason=%s&injection_score=%.3f&replaced=%zu",
             rq->route, rq->decision ? rq->decision : "pass", rq->reason ? rq->reason : "none",
             rq->score, rq->replaced);
    ql_evidence_record rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = QL_EVIDENCE_FINDING_REPORT;
    rec.source_url = url;
    rec.tenant = rq->tenant;
    rec.ruleset_version = "gateway-" QL_VERSION_STRING;
    rec.findings = items;
    rec.finding_count = rq->evidence_count;
    pthread_mutex_lock(&ev->lock);
    ql_evidence_append(ev->log, &rec, 1, 0, NULL);
    pthread_mutex_unlock(&ev->lock);
    free(items);
}

/* ------------------------------------------------------------ outbound */

static int ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Where to start a kept tail of text[0..length) at or after `from`: at a
 * character's start, and not inside a Latin word or number. */
static size_t cut_point(const char *text, size_t length, size_t from)
{
    while (from < length && ((unsigned char)text[from] & 0xC0) == 0x80)
        from++;
    if (from > 0 && from < length && ascii_alnum((unsigned char)text[from - 1]))
        while (from < length && ascii_alnum((unsigned char)text[from]))
            from++;
    return from;
}

/* The content check of an answer (harmful content, docs/moderate.md): the
 * generation's lexicon on restored answer text, what the caller will read.
 * A stream's pieces come one by one, so each is checked together with the
 * last 512 bytes checked before it: a word cut between two pieces is seen
 * whole, and what was seen before cannot block again (it would have).
 * Returns 0 pass, 1 review (the tenant's `moderation: flag` lets it
 * through, counted in the decision), 2 block. */
static int moderate_answer(gw_request *rq, const char *text, size_t length)
{
    if (rq->gt->moderation == GW_MOD_OFF || !rq->gen->lexicon)
        return 0;
    /* Without doxxing: identifiers in answers are the outbound check's. */
    ql_moderator *m = srv_thread_moderator(rq->gen, rq->st->ruleset, 0);
    if (!m)
        return 0;
    const ql_moderation *res;
    ql_status st;
    if (rq->mod_tail_len) {
        st = ql_moderate_begin(m);
        if (st == QL_OK)
            st = ql_moderate_write(m, (const uint8_t *)rq->mod_tail, rq->mod_tail_len);
        if (st == QL_OK)
            st = ql_moderate_write(m, (const uint8_t *)text, length);
        if (st == QL_OK)
            st = ql_moderate_finish(m, &res);
    } else {
        st = ql_moderate(m, (const uint8_t *)text, length, &res);
    }
    if (st != QL_OK)
        return 0;
    /* Keep the end of what was checked, cut at a character's start and
     * never inside a Latin word: a tail starting at "coon" of "tycoon"
     * would make a word boundary the text does not have. */
    size_t keep = sizeof rq->mod_tail;
    if (length >= keep) {
        size_t from = cut_point(text, length, length - keep);
        memcpy(rq->mod_tail, text + from, length - from);
        rq->mod_tail_len = length - from;
    } else {
        size_t total = rq->mod_tail_len + length, drop = total > keep ? total - keep : 0;
        if (drop) {
            /* the old tail and the new text as one, cut once */
            char joined[sizeof rq->mod_tail * 2];
            memcpy(joined, rq->mod_tail, rq->mod_tail_len);
            memcpy(joined + rq->mod_tail_len, text, length);
            size_t from = cut_point(joined, total, drop);
            memcpy(rq->mod_tail, joined + from, total - from);
            rq->mod_tail_len = total - from;
        } else {
            memcpy(rq->mod_tail + rq->mod_tail_len, text, length);
            rq->mod_tail_len += length;
        }
    }
    if (res->decision == QL_DECISION_BLOCK && rq->gt->moderation == GW_MOD_BLOCK)
        return 2;
    return res->decision == QL_DECISION_PASS ? 0 : 1;
}

static int outbound_active(const gw_tenant *gt)
{
    const char *sel;
    json_t *v;
    if (gt->outbound_default != GW_OUT_PASS)
        return 1;
    json_object_foreach(gt->outbound, sel, v)
        if (strcmp(json_string_value(v), "pass") != 0)
            return 1;
    return 0;
}

/* Checks text[from..length) of an answer as the model wrote it, before its
 * placeholders are restored (text[0..from) is context already sent), and
 * appends it to `out` with unsent values masked.  Checking before
 * restoring is cheaper (the caller's own values are still placeholders,
 * so they are neither found nor compared) and means the same.  0, 1 when
 * a value's policy blocks, -1 on failure. */
static int outbound_check(gw_request *rq, const char *text, size_t length, size_t from, gw_buf *out)
{
    collector c = {0};
    size_t at = from;
    int rc = 0;
    if (length > from && scan_into(rq, rq->st->ruleset, text, length, rq->st, &c) != 0) {
        collector_free(&c);
        return -1;
    }
    for (size_t i = 0; i < c.count; i++) {
        collected *f = &c.items[i];
        if (f->start < at || f->end > length || gw_map_known(&rq->map, f->folded, f->folded_length))
            continue;
        int action = action_for(rq->gt->outbound, f->type, f->category, outbound_names,
                                rq->gt->outbound_default);
        if (action == GW_OUT_PASS)
            continue;
        if (action == GW_OUT_BLOCK) {
            snprintf(rq->blocked_type, sizeof rq->blocked_type, "%s", f->type);
            rc = 1;
            break;
        }
        gw_buf_put(out, text + at, (size_t)(f->start - at));
        gw_buf_put(out, f->masked, strlen(f->masked));
        at = (size_t)f->end;
        rq->masked++;
    }
    collector_free(&c);
    if (rc == 0)
        gw_buf_put(out, text + at, length - at);
    return out->failed ? -1 : rc;
}

/* The content check on restored answer text (what the caller will read);
 * 1 when it blocks. */
static int moderate_restored(gw_request *rq, const char *text, size_t length)
{
    if (length == 0 || moderate_answer(rq, text, length) != 2)
        return 0;
    rq->reason = "moderation";
    return 1;
}

/* ------------------------------------------------------------ upstream */

static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *user)
{
    (void)h;
    (void)access;
    (void)user;
    pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *user)
{
    (void)h;
    (void)user;
    pthread_mutex_unlock(&share_locks[data]);
}

typedef struct upstream {
    CURL              *easy;
    CURLM             *multi;
    struct curl_slist *headers;
    char              *payload;
    gw_buf             in;
    long               status;
    int                event_stream;   /* Content-Type: text/event-stream */
    int                headers_done;
    int                done;
    CURLcode           result;
} upstream;

static size_t on_upstream_data(char *data, size_t size, size_t count, void *user)
{
    upstream *u = user;
    return gw_buf_put(&u->in, data, size * count) == 0 ? size * count : 0;
}

static size_t on_upstream_header(char *data, size_t size, size_t count, void *user)
{
    upstream *u = user;
    size_t n = size * count;
    if (n > 13 && strncasecmp(data, "content-type:", 13) == 0) {
        size_t i = 13;
        while (i < n && data[i] == ' ')
            i++;
        u->event_stream = n - i >= 17 && strncasecmp(data + i, "text/event-stream", 17) == 0;
    }
    if (n <= 2 && (data[0] == '\r' || data[0] == '\n')) {
        long status = 0;
        curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200) {
            u->status = status;
            u->headers_done = 1;
        }
    }
    return n;
}

static void upstream_free(upstream *u)
{
    if (u->multi && u->easy)
        curl_multi_remove_handle(u->multi, u->easy);
    if (u->easy)
        curl_easy_cleanup(u->easy);
    if (u->multi)
        curl_multi_cleanup(u->multi);
    curl_slist_free_all(u->headers);
    if (u->payload) {
        OPENSSL_cleanse(u->payload, strlen(u->payload));
        free(u->payload);
    }
    gw_buf_free(&u->in);
    memset(u, 0, sizeof *u);
}

/* Starts the transfer; the payload is owned from here. */
static int upstream_start(upstream *u, const gw_tenant *gt, const char *suffix, char *payload,
                          int streaming)
{
    char url[2048];
    memset(u, 0, sizeof *u);
    u->payload = payload;
    gw_buf_init(&u->in, streaming ? STREAM_PENDING_MAX : UPSTREAM_BODY_MAX);
    if (snprintf(url, sizeof url, "%s%s", gt->upstream, suffix) >= (int)sizeof url)
        return -1;
    if (!(u->easy = curl_easy_init()) || !(u->multi = curl_multi_init()))
        return -1;
    u->headers = curl_slist_append(u->headers, "Content-Type: application/json");
    u->headers = curl_slist_append(u->headers, streaming ? "Accept: text/event-stream"
                                                         : "Accept: application/json");
    u->headers = curl_slist_append(u->headers, "Expect:");
    if (gt->upstream_key) {
        char auth[4200];
        if (snprintf(auth, sizeof auth, "Authorization: Bearer %s", gt->upstream_key) >= (int)sizeof auth)
            return -1;
        u->headers = curl_slist_append(u->headers, auth);
        OPENSSL_cleanse(auth, sizeof auth);
    }
    if (!u->headers)
        return -1;
    curl_easy_setopt(u->easy, CURLOPT_URL, url);
    curl_easy_setopt(u->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(u->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(u->easy, CURLOPT_POSTFIELDS, u->payload);
    curl_easy_setopt(u->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(u->payload));
    curl_easy_setopt(u->easy, CURLOPT_HTTPHEADER, u->headers);
    curl_easy_setopt(u->easy, CURLOPT_WRITEFUNCTION, on_upstream_data);
    curl_easy_setopt(u->easy, CURLOPT_WRITEDATA, u);
    curl_easy_setopt(u->easy, CURLOPT_HEADERFUNCTION, on_upstream_header);
    curl_easy_setopt(u->easy, CURLOPT_HEADERDATA, u);
    curl_easy_setopt(u->easy, CURLOPT_TIMEOUT_MS, gt->timeout_ms);
    curl_easy_setopt(u->easy, CURLOPT_CONNECTTIMEOUT_MS, gt->connect_timeout_ms);
    curl_easy_setopt(u->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(u->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(u->easy, CURLOPT_SHARE, share);
    if (curl_multi_add_handle(u->multi, u->easy) != CURLM_OK)
        return -1;
    return 0;
}

static int upstream_perform(upstream *u)
{
    int running = 0, queued = 0;
    CURLMsg *msg;
    if (curl_multi_perform(u->multi, &running) != CURLM_OK) {
        u->done = 1;
        u->result = CURLE_FAILED_INIT;
        return 0;
    }
    while ((msg = curl_multi_info_read(u->multi, &queued)))
        if (msg->msg == CURLMSG_DONE) {
            u->done = 1;
            u->result = msg->data.result;
        }
    return running;
}

/* Moves the transfer on: returns as soon as anything happened (headers,
 * bytes, the end), else waits up to `wait_ms` for the upstream once.
 * Waiting after progress would hold back bytes already here until the
 * upstream's next packet: the first token's latency. */
static void upstream_step(upstream *u, int wait_ms)
{
    if (u->done)
        return;
    size_t before = u->in.length;
    int headers = u->headers_done;
    int running = upstream_perform(u);
    if (u->done || u->in.length != before || u->headers_done != headers || !running || wait_ms <= 0)
        return;
    curl_multi_poll(u->multi, NULL, 0, wait_ms, NULL);
    upstream_perform(u);
}

/* How a failed transfer is answered: status, code and message. */
static unsigned upstream_failure(gw_request *rq, const upstream *u, const char **code, const char **message)
{
    (void)rq;
    if (u->result == CURLE_OPERATION_TIMEDOUT) {
        metric_count(&metrics.upstream[UP_TIMEOUT]);
        *code = "upstream_timeout";
        *message = "the upstream model did not answer in time";
        return 504;
    }
    if (u->result == CURLE_WRITE_ERROR) {
        *code = "upstream_too_large";
        *message = "the upstream's answer is larger than the gateway accepts";
        return 502;
    }
    metric_count(&metrics.upstream[UP_UNREACHABLE]);
    *code = "upstream_unreachable";
    *message = "the upstream model could not be reached";
    return 502;
}

/* ------------------------------------------------------------ restoring answers */

static void restore_member(gw_request *rq, json_t *obj, const char *key, int check, int *blocked)
{
    json_t *v = json_object_get(obj, key);
    gw_buf restored, checked;
    if (!json_is_string(v))
        return;
    const char *text = json_string_value(v);
    size_t length = json_string_length(v);
    gw_buf_init(&checked, length + 65536);
    gw_buf_init(&restored, length * 8 + 65536);
    if (check && outbound_active(rq->gt)) {
        int r = outbound_check(rq, text, length, 0, &checked);
        if (r < 0)
            rq->scan_failed = 1;
        else if (r > 0)
            *blocked = 1;
        text = checked.data ? checked.data : "";
        length = checked.length;
    }
    if (gw_restore_all(&rq->map, text, length, &restored, &rq->restored) != 0) {
        rq->scan_failed = 1;
    } else {
        text = restored.data ? restored.data : "";
        length = restored.length;
        if (check && moderate_restored(rq, text, length))
            *blocked = 1;
        json_object_set_new(obj, key, json_stringn(text, length));
    }
    gw_buf_free(&restored);
    gw_buf_free(&checked);
}

/* Restores (and checks) every text of a non-streamed answer in place. */
static void restore_answer(gw_request *rq, json_t *answer, int *blocked)
{
    size_t i, k;
    json_t *choice, *tc;
    json_array_foreach(json_object_get(answer, "choices"), i, choice) {
        json_t *message = json_object_get(choice, "message");
        restore_member(rq, choice, "text", 1, blocked);
        if (!json_is_object(message))
            continue;
        restore_member(rq, message, "content", 1, blocked);
        restore_member(rq, message, "refusal", 1, blocked);
        json_array_foreach(json_object_get(message, "tool_calls"), k, tc)
            restore_member(rq, json_object_get(tc, "function"), "arguments", 1, blocked);
        if (json_is_object(json_object_get(message, "function_call")))
            restore_member(rq, json_object_get(message, "function_call"), "arguments", 1, blocked);
    }
}

/* ------------------------------------------------------------ streams */

typedef struct out_state {
    gw_buf hold;      /* restored text not yet checked (a token still growing) */
    gw_buf tail;      /* the last bytes sent, context for the next check */
} out_state;

typedef struct choice_state {
    int         used;
    gw_restorer content;
    out_state   out;
    gw_restorer tools[TOOL_CALLS_MAX];
    int         tool_used[TOOL_CALLS_MAX];
} choice_state;

struct gw_stream {
    gw_request  *rq;
    upstream     up;
    gw_buf       out;            /* SSE bytes for the caller */
    size_t       out_pos;
    choice_state choices[CHOICES_MAX];
    json_t      *last_meta;      /* id, object, created, model of the last chunk */
    int          saw_done;
    int          finished;
    int          check;          /* the outbound check is on */
    int          is_chat;
};

static int token_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_' ||
           c == '-' || c == '.' || c == '@' || c == '+' || c == '/' || c == '=';
}

/* The outbound check over a stream: text is released up to the start of a
 * trailing run of token bytes (a phone number or key may still be
 * growing), checked with the last bytes sent as context, and appended to
 * `out`.  1 when blocked. */
static int out_feed(gw_stream *s, out_state *o, const char *text, size_t length, int final, gw_buf *out)
{
    if (gw_buf_put(&o->hold, text, length) != 0)
        return -1;
    size_t cut = o->hold.length;
    if (!final) {
        int marked = 0;
        while (cut > 0 && token_byte((unsigned char)o->hold.data[cut - 1]) &&
               o->hold.length - cut < HOLD_TOKEN_MAX) {
            unsigned char c = (unsigned char)o->hold.data[cut - 1];
            marked |= (c >= '0' && c <= '9') || c == '@' || c == '_' || c == '-' || c == '+' ||
                      c == '/' || c == '=';
            cut--;
        }
        /* A run of letters alone ("Hello") goes out at once: holding every
         * English word until the next delta would delay the first token
         * by a whole inter-token gap.  Runs with digits or the punctuation
         * of addresses and keys are held until they end. */
        if (o->hold.length - cut >= HOLD_TOKEN_MAX ||
            (!marked && o->hold.length - cut < 20))
            cut = o->hold.length;
    }
    if (cut == 0)
        return 0;
    gw_buf ctx;
    gw_buf_init(&ctx, (size_t)64 << 20);
    gw_buf_put(&ctx, o->tail.data, o->tail.length);
    gw_buf_put(&ctx, o->hold.data, cut);
    if (ctx.failed) {
        gw_buf_free(&ctx);
        return -1;
    }
    int r = outbound_check(s->rq, ctx.data, ctx.length, o->tail.length, out);
    /* Keep the last TAIL_MAX bytes, starting on a character. */
    size_t keep = ctx.length > TAIL_MAX ? ctx.length - TAIL_MAX : 0;
    while (keep < ctx.length && ((unsigned char)ctx.data[keep] & 0xC0) == 0x80)
        keep++;
    o->tail.length = 0;
    gw_buf_put(&o->tail, ctx.data + keep, ctx.length - keep);
    gw_buf_consume(&o->hold, cut);
    gw_buf_free(&ctx);
    return r;
}

static void emit(gw_stream *s, const char *data, size_t length)
{
    gw_buf_put(&s->out, data, length);
}

static void emit_error(gw_stream *s, const char *code, const char *message)
{
    size_t length;
    char *body = error_body(502, code, message, &length);
    emit(s, "data: ", 6);
    if (body)
        emit(s, body, length);
    emit(s, "\n\n", 2);
    free(body);
    s->finished = 1;
}

static void emit_json(gw_stream *s, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    if (!text) {
        s->out.failed = 1;
        return;
    }
    emit(s, "data: ", 6);
    emit(s, text, strlen(text));
    emit(s, "\n\n", 2);
    free(text);
}

/* Feeds one text delta through the outbound check and the restorer (and
 * the content check of what is restored);
 * returns the text to send, as a new JSON string, or NULL on failure or
 * block (*blocked). */
static json_t *stream_text(gw_stream *s, gw_restorer *r, out_state *o, const char *text,
                           size_t length, int final, int *blocked)
{
    gw_buf restored, checked;
    json_t *result = NULL;
    gw_buf_init(&restored, (size_t)64 << 20);
    gw_buf_init(&checked, (size_t)64 << 20);
    if (o && s->check) {
        int b = out_feed(s, o, text, length, final, &checked);
        if (b != 0) {
            if (b > 0)
                *blocked = 1;
            goto out;
        }
        text = checked.data ? checked.data : "";
        length = checked.length;
    }
    if (gw_restorer_feed(r, &s->rq->map, text, length, final, &restored, &s->rq->restored) != 0)
        goto out;
    if (o && moderate_restored(s->rq, restored.data ? restored.data : "", restored.length)) {
        *blocked = 1;
        goto out;
    }
    result = json_stringn(restored.data ? restored.data : "", restored.length);
out:
    gw_buf_free(&restored);
    gw_buf_free(&checked);
    return result;
}

/* Whatever a choice still holds, as a delta to add to the chunk being
 * sent (on finish_reason, [DONE] or the end of the stream). */
static int flush_choice(gw_stream *s, size_t index, json_t *delta, int *blocked)
{
    choice_state *cs = &s->choices[index];
    if (!cs->used)
        return 0;
    int any = 0;
    if (cs->content.pending.length || cs->out.hold.length) {
        json_t *t = stream_text(s, &cs->content, &cs->out, "", 0, 1, blocked);
        if (!t)
            return -1;
        json_t *old = json_object_get(delta, s->is_chat ? "content" : "text");
        if (json_is_string(old) && json_string_length(old)) {
            gw_buf joined;
            gw_buf_init(&joined, (size_t)64 << 20);
            gw_buf_put(&joined, json_string_value(old), json_string_length(old));
            gw_buf_put(&joined, json_string_value(t), json_string_length(t));
            json_decref(t);
            t = json_stringn(joined.data ? joined.data : "", joined.length);
            gw_buf_free(&joined);
        }
        json_object_set_new(delta, s->is_chat ? "content" : "text", t);
        any = 1;
    }
    for (size_t k = 0; k < TOOL_CALLS_MAX; k++) {
        if (!cs->tool_used[k] || !cs->tools[k].pending.length)
            continue;
        json_t *t = stream_text(s, &cs->tools[k], NULL, "", 0, 1, blocked);
        if (!t)
            return -1;
        json_t *calls = json_object_get(delta, "tool_calls");
        if (!json_is_array(calls)) {
            calls = json_array();
            json_object_set_new(delta, "tool_calls", calls);
        }
        json_array_append_new(calls, json_pack("{s:I,s:{s:o}}", "index", (json_int_t)k, "function",
                                               "arguments", t));
        any = 1;
    }
    return any;
}

/* A synthetic chunk carrying what is still held back, before [DONE] or
 * the end of a stream that never said finish_reason. */
static int flush_all(gw_stream *s)
{
    int blocked = 0;
    for (size_t i = 0; i < CHOICES_MAX; i++) {
        if (!s->choices[i].used)
            continue;
        json_t *delta = json_object();
        int r = flush_choice(s, i, delta, &blocked);
        if (r > 0) {
            json_t *chunk = s->last_meta ? json_deep_copy(s->last_meta) : json_object();
            json_t *choice = s->is_chat
                                 ? json_pack("{s:I,s:o,s:n}", "index", (json_int_t)i, "delta",
                                             json_incref(delta), "finish_reason")
                                 : json_pack("{s:I,s:O,s:n}", "index", (json_int_t)i, "text",
                                             json_object_get(delta, "text"), "finish_reason");
            json_object_set_new(chunk, "choices", json_pack("[o]", choice));
            emit_json(s, chunk);
            json_decref(chunk);
        }
        json_decref(delta);
        if (r < 0 || blocked)
            return blocked ? 1 : -1;
    }
    return 0;
}

/* Processes one complete event.  Sets s->finished on an error. */
static void stream_event(gw_stream *s, const char *event, size_t length)
{
    gw_buf data, other;
    json_t *j = NULL;
    int blocked = 0;
    gw_buf_init(&data, STREAM_PENDING_MAX);
    gw_buf_init(&other, STREAM_PENDING_MAX);
    for (size_t i = 0; i < length;) {
        const char *nl = memchr(event + i, '\n', length - i);
        size_t end = nl ? (size_t)(nl - event) : length;
        size_t n = end - i;
        const char *line = event + i;
        if (n && line[n - 1] == '\r')
            n--;
        if (n >= 5 && memcmp(line, "data:", 5) == 0) {
            size_t skip = n > 5 && line[5] == ' ' ? 6 : 5;
            if (data.length)
                gw_buf_put(&data, "\n", 1);
            gw_buf_put(&data, line + skip, n - skip);
        } else if (n) {
            gw_buf_put(&other, line, n);
            gw_buf_put(&other, "\n", 1);
        }
        i = end + 1;
    }
    if (data.failed || other.failed) {
        emit_error(s, "upstream_too_large", "an upstream event is too large");
        goto out;
    }
    if (other.length)
        emit(s, other.data, other.length);
    if (!data.length) {
        if (other.length)
            emit(s, "\n", 1);
        goto out;
    }
    if (data.length == 6 && memcmp(data.data, "[DONE]", 6) == 0) {
        int r = flush_all(s);
        if (r != 0) {
            if (r > 0) {
                metric_count(&metrics.blocks[BLOCK_OUTPUT]);
                s->rq->reason = "output";
                emit_error(s, "output_blocked", "the answer contained data the policy does not let out");
            } else {
                emit_error(s, "internal", "the gateway could not process the answer");
            }
            goto out;
        }
        emit(s, "data: [DONE]\n\n", 14);
        s->saw_done = 1;
        goto out;
    }
    j = json_loadb(data.data, data.length, 0, NULL);
    if (!json_is_object(j)) {
        metric_count(&metrics.upstream[UP_MALFORMED]);
        emit_error(s, "upstream_malformed", "the upstream sent an event that is not JSON");
        goto out;
    }
    if (json_object_get(j, "error")) {
        emit_json(s, j);
        goto out;
    }
    json_t *meta = json_object();
    const char *mk[] = {"id", "object", "created", "model", "system_fingerprint"};
    for (size_t i = 0; meta && i < sizeof mk / sizeof mk[0]; i++)
        if (json_object_get(j, mk[i]))
            json_object_set(meta, mk[i], json_object_get(j, mk[i]));
    json_decref(s->last_meta);
    s->last_meta = meta;

    size_t ci;
    json_t *choice;
    json_array_foreach(json_object_get(j, "choices"), ci, choice) {
        json_int_t index = json_integer_value(json_object_get(choice, "index"));
        if (index < 0 || index >= CHOICES_MAX) {
            emit_error(s, "upstream_malformed", "too many choices in the upstream's stream");
            goto out;
        }
        choice_state *cs = &s->choices[index];
        if (!cs->used) {
            cs->used = 1;
            gw_restorer_init(&cs->content);
            gw_buf_init(&cs->out.hold, (size_t)64 << 20);
            gw_buf_init(&cs->out.tail, (size_t)64 << 20);
        }
        json_t *fr = json_object_get(choice, "finish_reason");
        int final = fr && !json_is_null(fr);
        json_t *holder = s->is_chat ? json_object_get(choice, "delta") : choice;
        const char *key = s->is_chat ? "content" : "text";
        if (!json_is_object(holder))
            continue;
        json_t *text = json_object_get(holder, key);
        if (json_is_string(text)) {
            json_t *t = stream_text(s, &cs->content, &cs->out, json_string_value(text),
                                    json_string_length(text), 0, &blocked);
            if (!t)
                goto fail;
            json_object_set_new(holder, key, t);
        }
        size_t k;
        json_t *tc;
        json_array_foreach(json_object_get(holder, "tool_calls"), k, tc) {
            json_int_t ti = json_integer_value(json_object_get(tc, "index"));
            json_t *fn = json_object_get(tc, "function");
            json_t *args = json_object_get(fn, "arguments");
            if (!json_is_string(args))
                continue;
            if (ti < 0 || ti >= TOOL_CALLS_MAX) {
                emit_error(s, "upstream_malformed", "too many tool calls in the upstream's stream");
                goto out;
            }
            if (!cs->tool_used[ti]) {
                cs->tool_used[ti] = 1;
                gw_restorer_init(&cs->tools[ti]);
            }
            json_t *t = stream_text(s, &cs->tools[ti], NULL, json_string_value(args),
                                    json_string_length(args), 0, &blocked);
            if (!t)
                goto fail;
            json_object_set_new(fn, "arguments", t);
        }
        if (final && flush_choice(s, (size_t)index, holder, &blocked) < 0)
            goto fail;
    }
    emit_json(s, j);
    goto out;
fail:
    if (blocked) {
        metric_count(&metrics.blocks[s->rq->reason && strcmp(s->rq->reason, "moderation") == 0
                                          ? BLOCK_MODERATION : BLOCK_OUTPUT]);
        if (!s->rq->reason)
            s->rq->reason = "output";
        s->rq->decision = "block";
        emit_error(s, "output_blocked", "the answer contained data the policy does not let out");
    } else {
        emit_error(s, "internal", "the gateway could not process the answer");
    }
out:
    json_decref(j);
    gw_buf_free(&data);
    gw_buf_free(&other);
}

/* Turns the upstream bytes gathered so far into caller bytes. */
static void stream_process(gw_stream *s)
{
    double t0 = now_seconds();
    size_t consumed = 0, body;
    upstream *u = &s->up;
    while (!s->finished) {
        size_t n = gw_sse_event(u->in.data + consumed, u->in.length - consumed, &body);
        if (!n)
            break;
        stream_event(s, u->in.data + consumed, body);
        consumed += n;
    }
    gw_buf_consume(&u->in, consumed);
    if (!s->finished && u->done) {
        if (u->result != CURLE_OK) {
            const char *code, *message;
            upstream_failure(s->rq, u, &code, &message);
            flush_all(s);
            emit_error(s, code, message);
        } else if (!s->saw_done) {
            /* The last event may lack its blank line; a stream that ends
             * without [DONE] was cut off. */
            if (u->in.length)
                stream_event(s, u->in.data, u->in.length);
            gw_buf_consume(&u->in, u->in.length);
            if (!s->finished && !s->saw_done) {
                metric_count(&metrics.upstream[UP_TRUNCATED]);
                if (flush_all(s) == 0)
                    emit_error(s, "upstream_truncated", "the upstream's stream ended before [DONE]");
                else
                    emit_error(s, "output_blocked", "the answer contained data the policy does not let out");
            }
        }
        s->finished = 1;
    }
    if (s->out.failed && !s->finished) {
        s->finished = 1;
    }
    s->rq->own += now_seconds() - t0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    gw_stream *s = cls;
    (void)pos;
    for (;;) {
        if (s->out_pos < s->out.length) {
            size_t n = s->out.length - s->out_pos;
            if (n > max)
                n = max;
            memcpy(buf, s->out.data + s->out_pos, n);
            s->out_pos += n;
            if (s->out_pos == s->out.length) {
                s->out.length = 0;
                s->out_pos = 0;
            }
            s->rq->response_bytes += n;
            return (ssize_t)n;
        }
        if (s->finished)
            return MHD_CONTENT_READER_END_OF_STREAM;
        stream_process(s);
        if (s->out_pos < s->out.length || s->finished)
            continue;
        upstream_step(&s->up, 1000);
    }
}

static void stream_free(void *cls)
{
    gw_stream *s = cls;
    upstream_free(&s->up);
    gw_buf_free(&s->out);
    for (size_t i = 0; i < CHOICES_MAX; i++) {
        choice_state *cs = &s->choices[i];
        if (!cs->used)
            continue;
        gw_restorer_free(&cs->content);
        gw_buf_free(&cs->out.hold);
        gw_buf_free(&cs->out.tail);
        for (size_t k = 0; k < TOOL_CALLS_MAX; k++)
            if (cs->tool_used[k])
                gw_restorer_free(&cs->tools[k]);
    }
    json_decref(s->last_meta);
    gw_request *rq = s->rq;
    rq->stream = NULL;
    request_done(rq);
    free(s);
    request_release(rq);
}

/* ------------------------------------------------------------ dispatch */

static const char *const routes[] = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings",
                                     "/v1/gateway/inspect"};

static const char *route_of(const char *url)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(url, routes[i]) == 0)
            return routes[i];
    return "other";
}

static json_t *decision_json(gw_request *rq)
{
    json_t *rules = json_array();
    json_t *types = json_object();
    for (size_t i = 0; i < rq->hit_count; i++)
        json_array_append_new(rules, json_pack("{s:s,s:f}", "rule", rq->hits[i].rule, "confidence",
                                               round(rq->hits[i].confidence * 1000) / 1000));
    for (size_t i = 0; i < rq->map.count; i++) {
        json_t *c = json_object_get(types, rq->map.values[i].type);
        json_object_set_new(types, rq->map.values[i].type,
                            json_integer(c ? json_integer_value(c) + 1 : 1));
    }
    return json_pack("{s:s,s:s?,s:{s:f,s:f,s:o},s:o,s:s?}", "decision", rq->decision, "reason",
                     rq->reason, "injection", "score", round(rq->score * 1000) / 1000, "threshold",
                     rq->gt->injection_threshold, "rules", rules, "replaced", types,
                     "blocked_type", rq->blocked_type[0] ? rq->blocked_type : NULL);
}

static enum MHD_Result dispatch(struct MHD_Connection *conn, gw_request *rq)
{
    json_t *body = NULL;
    json_error_t jerr;
    const char *problem = NULL;
    enum MHD_Result ret;
    char msg[256];
    double t0 = now_seconds();

    if (strcmp(rq->route, "other") == 0)
        return send_error(conn, rq, 404, "not_found", "no such endpoint on the gateway");
    if (strcmp(rq->method, "POST") != 0)
        return send_error(conn, rq, 405, "method_not_allowed", "use POST");
    rq->gen = srv_current_generation();
    if (!rq->gen || !rq->gen->gateway)
        return send_error(conn, rq, 503, "not_ready", "the gateway is not configured");
    const char *name = srv_authenticate(rq->gen, conn);
    if (!name)
        return send_error(conn, rq, 401, "invalid_api_key",
                          "give a valid API key: Authorization: Bearer KEY");
    snprintf(rq->tenant, sizeof rq->tenant, "%s", name);
    rq->st = srv_tenant_find(rq->gen, name);
    rq->gt = gw_tenant_find(rq->gen->gateway, name);
    unsigned wait = srv_rate_check(rq->st);
    if (wait) {
        snprintf(rq->retry_after, sizeof rq->retry_after, "%u", wait);
        return send_error(conn, rq, 429, "rate_limited", "too many requests for this tenant; retry later");
    }
    if (rq->too_large)
        return send_error(conn, rq, 413, "body_too_large", "the request body is larger than max_body");
    if (rq->body.length == 0)
        return send_error(conn, rq, 400, "empty_body", "the request body is empty");
    body = gw_json_loadb(rq->body.data, rq->body.length, &jerr);
    if (!body) {
        snprintf(msg, sizeof msg, "malformed JSON at line %d, column %d: %s", jerr.line, jerr.column,
                 strncmp(jerr.text, "Invalid UTF-8", 13) == 0 ? "invalid UTF-8" : "syntax error");
        return send_error(conn, rq, 400, "malformed_json", msg);
    }
    if (!json_is_object(body)) {
        ret = send_error(conn, rq, 400, "invalid_request", "the body must be a JSON object");
        goto out;
    }
    int inspect_only = rq->route[4] == 'g';
    if (inspect_only) {
        /* The dry run takes any of the three bodies. */
        rq->route = json_object_get(body, "messages") ? routes[0]
                  : json_object_get(body, "prompt") ? routes[1] : routes[2];
    }
    if (inspect(rq, body, &problem) != 0) {
        if (inspect_only)
            rq->route = routes[3];
        ret = send_error(conn, rq, 400, "invalid_request", problem);
        goto out;
    }
    if (inspect_only)
        rq->route = routes[3];
    if (rq->scan_failed) {
        ret = send_error(conn, rq, 500, "internal", "the gateway could not inspect the request");
        goto out;
    }
    rq->decision = "pass";
    if (rq->blocked_type[0]) {
        rq->decision = "block";
        rq->reason = "sensitive_data";
    } else if (rq->score >= rq->gt->injection_threshold && rq->hit_count) {
        rq->decision = rq->gt->injection_action == GW_INJ_BLOCK ? "block" : "flag";
        rq->reason = "prompt_injection";
    }
    write_evidence(rq);
    rq->own += now_seconds() - t0;
    if (inspect_only) {
        json_t *d = decision_json(rq);
        char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
        json_decref(d);
        ret = send_body(conn, rq, 200, text, text ? strlen(text) : 0);
        goto out;
    }
    if (strcmp(rq->decision, "block") == 0) {
        if (strcmp(rq->reason, "sensitive_data") == 0) {
            metric_count(&metrics.blocks[BLOCK_PII]);
            snprintf(msg, sizeof msg, "blocked by the gateway: the request contains %s, which the "
                     "policy does not let out", rq->blocked_type);
            ret = send_error(conn, rq, rq->gt->blocked_status, "sensitive_data_blocked", msg);
        } else {
            metric_count(&metrics.blocks[BLOCK_INJECTION]);
            snprintf(msg, sizeof msg, "blocked by the gateway: the request looks like a prompt "
                     "injection (score %.2f, threshold %.2f)", rq->score, rq->gt->injection_threshold);
            ret = send_error(conn, rq, rq->gt->blocked_status, "prompt_injection", msg);
        }
        goto out;
    }
    if (!rq->gt->upstream) {
        ret = send_error(conn, rq, 500, "no_upstream", "no upstream is configured for this tenant");
        goto out;
    }

    /* Forward. */
    t0 = now_seconds();
    int streaming = json_is_true(json_object_get(body, "stream")) && rq->route != routes[2];
    size_t payload_length = 0;
    char *payload = gw_json_dumps(body, &payload_length);
    gw_stream *s = NULL;
    upstream up_local;
    upstream *u = &up_local;
    memset(&up_local, 0, sizeof up_local);
    if (streaming) {
        if (!(s = calloc(1, sizeof *s))) {
            free(payload);
            ret = send_error(conn, rq, 500, "internal", "out of memory");
            goto out;
        }
        u = &s->up;
    }
    if (!payload || upstream_start(u, rq->gt, rq->route + 3, payload, streaming) != 0) {
        if (!payload)
            u->payload = NULL;
        upstream_free(u);
        free(s);
        ret = send_error(conn, rq, 500, "internal", "could not start the upstream request");
        goto out;
    }
    rq->own += now_seconds() - t0;
    while (!u->done && !(streaming && u->headers_done))
        upstream_step(u, 1000);
    t0 = now_seconds();
    if (!u->headers_done || (u->done && u->result != CURLE_OK)) {
        const char *code, *message;
        unsigned status = upstream_failure(rq, u, &code, &message);
        upstream_free(u);
        free(s);
        ret = send_error(conn, rq, status, code, message);
        goto out;
    }
    /* An upstream that answers a stream request with one JSON document
     * (or an error) is answered as a non-streamed request. */
    if (u->status != 200 || !streaming || !u->event_stream) {
        while (!u->done)
            upstream_step(u, 1000);
        if (u->result != CURLE_OK) {
            const char *code, *message;
            unsigned status = upstream_failure(rq, u, &code, &message);
            upstream_free(u);
            free(s);
            ret = send_error(conn, rq, status, code, message);
            goto out;
        }
        t0 = now_seconds();
        json_t *answer = gw_json_loadb(u->in.data ? u->in.data : "", u->in.length, NULL);
        long status = u->status;
        upstream_free(u);
        free(s);
        if (status >= 500 || (status != 200 && !json_is_object(answer))) {
            json_decref(answer);
            metric_count(&metrics.upstream[UP_5XX]);
            snprintf(msg, sizeof msg, "the upstream model failed (HTTP %ld)", status);
            ret = send_error(conn, rq, 502, "upstream_error", msg);
            goto out;
        }
        if (!json_is_object(answer)) {
            json_decref(answer);
            metric_count(&metrics.upstream[UP_MALFORMED]);
            ret = send_error(conn, rq, 502, "upstream_malformed", "the upstream's answer is not JSON");
            goto out;
        }
        int blocked = 0;
        restore_answer(rq, answer, &blocked);
        if (json_is_object(json_object_get(answer, "error"))) {
            /* An upstream 4xx: its message may quote placeholders. */
            restore_member(rq, json_object_get(answer, "error"), "message", 0, &blocked);
        }
        if (blocked) {
            json_decref(answer);
            int moderation = rq->reason && strcmp(rq->reason, "moderation") == 0;
            metric_count(&metrics.blocks[moderation ? BLOCK_MODERATION : BLOCK_OUTPUT]);
            rq->decision = "block";
            if (!moderation)
                rq->reason = "output";
            ret = send_error(conn, rq, rq->gt->blocked_status, "output_blocked",
                             "blocked by the gateway: the answer contained data the policy does "
                             "not let out");
            goto out;
        }
        size_t text_length = 0;
        char *text = gw_json_dumps(answer, &text_length);
        json_decref(answer);
        if (rq->scan_failed) {
            free(text);
            ret = send_error(conn, rq, 500, "internal", "the gateway could not check the answer");
            goto out;
        }
        rq->own += now_seconds() - t0;
        ret = send_body(conn, rq, (unsigned)status, text, text_length);
        goto out;
    }

    /* A stream: the response's reader drives the rest of the transfer. */
    s->rq = rq;
    s->is_chat = rq->route == routes[0];
    s->check = outbound_active(rq->gt);
    gw_buf_init(&s->out, (size_t)64 << 20);
    /* The stream holds a reference on the request: the response may
     * outlive the connection's own. */
    rq->refs++;
    rq->stream = s;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read,
                                                                  s, stream_free);
    if (!resp) {
        stream_free(s);
        ret = MHD_NO;
        goto out;
    }
    rq->responded = 1;
    rq->status = 200;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    rq->own += now_seconds() - t0;
    ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
out:
    json_decref(body);
    return ret;
}

/* ------------------------------------------------------------ daemon */

static struct MHD_Daemon *daemon_handle;

static void request_release(gw_request *rq)
{
    if (--rq->refs > 0)
        return;
    gw_map_free(&rq->map);
    free(rq->hits);
    free(rq->evidence);
    if (rq->body.data)
        OPENSSL_cleanse(rq->body.data, rq->body.length);
    gw_buf_free(&rq->body);
    srv_generation_release(rq->gen);
    free(rq);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    gw_request *rq = *con_cls;
    if (!rq) {
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        rq->start = now_seconds();
        rq->route = route_of(url);
        rq->method = strcmp(method, "POST") == 0 ? "POST" : strcmp(method, "GET") == 0 ? "GET" : "OTHER";
        rq->refs = 1;
        srv_generation *gen = srv_current_generation();
        gw_buf_init(&rq->body, gen ? gen->max_body : 0);
        srv_generation_release(gen);
        *con_cls = rq;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            rq->declared = strtoull(cl, NULL, 10);
            if (rq->declared > rq->body.max) {
                rq->too_large = 1;
                return send_error(conn, rq, 413, "body_too_large",
                                  "the request body is larger than max_body");
            }
        }
        return MHD_YES;
    }
    if (rq->responded) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!rq->too_large && gw_buf_put(&rq->body, upload, *upload_size) != 0) {
            rq->too_large = 1;
            rq->declared = rq->body.length;
        }
        if (rq->too_large)
            rq->declared += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch(conn, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)conn;
    (void)code;
    gw_request *rq = *con_cls;
    if (rq) {
        *con_cls = NULL;
        request_release(rq);
    }
}

static void gw_log(void *cls, const char *fmt, va_list ap)
{
    char msg[400], line[600];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (msg[i] == '"' || msg[i] == '\\' || (unsigned char)msg[i] < 0x20)
            msg[i] = ' ';
    int len = snprintf(line, sizeof line, "{\"event\":\"gateway_http\",\"message\":\"%s\"}\n", msg);
    if (len > 0 && (size_t)len < sizeof line)
        srv_access_log(line, (size_t)len);
}

static int listen_on(const char *addr, char *shown, size_t shown_size)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof sa;
    int fd, one = 1;
    char *end = NULL;
    if (!colon || (size_t)(colon - addr) >= sizeof host)
        goto bad;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
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
        fprintf(stderr, "qinglang: gateway.listen %s: %s\n", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
    snprintf(shown, shown_size, "%s:%u", host, (unsigned)ntohs(sa.sin_port));
    return fd;
bad:
    fprintf(stderr, "qinglang: gateway.listen %s: expected IPv4-ADDRESS:PORT\n", addr);
    return -1;
}

int srv_gateway_start(const srv_generation *gen)
{
    char shown[96];
    if (!gen->gateway)
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("qinglang: gateway: could not initialise libcurl\n", stderr);
        return -1;
    }
    for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&share_locks[i], NULL);
    if (!(share = curl_share_init())) {
        fputs("qinglang: gateway: out of memory\n", stderr);
        return -1;
    }
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    int fd = listen_on(gen->gateway->listen, shown, sizeof shown);
    if (fd < 0)
        return -1;
    daemon_handle = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                         MHD_USE_ERROR_LOG,
                                     0, NULL, NULL, on_request, NULL,
                                     MHD_OPTION_EXTERNAL_LOGGER, gw_log, NULL,
                                     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                                     MHD_OPTION_CONNECTION_LIMIT, gen->gateway->max_connections,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                     MHD_OPTION_END);
    if (!daemon_handle) {
        close(fd);
        fputs("qinglang: could not start the gateway's HTTP server\n", stderr);
        return -1;
    }
    fprintf(stderr, "gateway listening on %s\n", shown);
    fflush(stderr);
    return 0;
}

void srv_gateway_stop(void)
{
    if (daemon_handle)
        MHD_stop_daemon(daemon_handle);
    daemon_handle = NULL;
    /* The daemon's threads are gone, and their scanners with them. */
    pthread_mutex_lock(&injection_lock);
    ql_rules_destroy(injection_rules);
    injection_rules = NULL;
    pthread_mutex_unlock(&injection_lock);
    if (share) {
        curl_share_cleanup(share);
        share = NULL;
        for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_destroy(&share_locks[i]);
        curl_global_cleanup();
    }
}
