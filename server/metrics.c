/*
 * metrics.c — Prometheus counters and the request latency histogram.
 *
 * Label sets are kept in fixed tables: a label value comes from a closed
 * list (the endpoint paths, the status codes, the tenants in the keys file,
 * the rule types), but the tables are capped anyway so that memory cannot
 * grow with traffic; series past the cap are counted in
 * qinglang_metrics_series_dropped_total.  One mutex guards everything: a
 * request touches it a handful of times, far cheaper than its scan.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "server.h"

#define SERIES_MAX 4096
#define LABEL_MAX  (SRV_NAME_MAX + 1)

typedef struct request_series {
    char path[32];
    unsigned status;
    char tenant[LABEL_MAX];
    uint64_t count;
} request_series;

typedef struct finding_series {
    char type[LABEL_MAX];
    char tenant[LABEL_MAX];
    uint64_t count;
} finding_series;

static const double bucket_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                       0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define BUCKETS (sizeof bucket_bounds / sizeof bucket_bounds[0])

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static request_series *requests;
static size_t request_count;
static finding_series *findings;
static size_t finding_count;
static uint64_t buckets[BUCKETS];
static uint64_t duration_count;
static double duration_sum;
static uint64_t bytes_scanned;
static uint64_t dropped;

static void copy_label(char *out, size_t size, const char *in)
{
    snprintf(out, size, "%s", in ? in : "");
}

void srv_metrics_request(const char *path, unsigned status, const char *tenant, double seconds)
{
    pthread_mutex_lock(&lock);
    size_t i;
    for (i = 0; i < request_count; i++)
        if (requests[i].status == status && strcmp(requests[i].path, path) == 0 &&
            strcmp(requests[i].tenant, tenant) == 0)
            break;
    if (i == request_count) {
        if (!requests)
            requests = calloc(SERIES_MAX, sizeof *requests);
        if (!requests || request_count == SERIES_MAX) {
            dropped++;
            i = SERIES_MAX;
        } else {
            copy_label(requests[i].path, sizeof requests[i].path, path);
            copy_label(requests[i].tenant, sizeof requests[i].tenant, tenant);
            requests[i].status = status;
            request_count++;
        }
    }
    if (i < SERIES_MAX)
        requests[i].count++;
    for (size_t b = 0; b < BUCKETS; b++)
        if (seconds <= bucket_bounds[b])
            buckets[b]++;
    duration_count++;
    duration_sum += seconds;
    pthread_mutex_unlock(&lock);
}

void srv_metrics_scanned(uint64_t bytes)
{
    pthread_mutex_lock(&lock);
    bytes_scanned += bytes;
    pthread_mutex_unlock(&lock);
}

void srv_metrics_finding(const char *type, const char *tenant)
{
    pthread_mutex_lock(&lock);
    size_t i;
    for (i = 0; i < finding_count; i++)
        if (strcmp(findings[i].type, type) == 0 && strcmp(findings[i].tenant, tenant) == 0)
            break;
    if (i == finding_count) {
        if (!findings)
            findings = calloc(SERIES_MAX, sizeof *findings);
        if (!findings || finding_count == SERIES_MAX) {
            dropped++;
            i = SERIES_MAX;
        } else {
            copy_label(findings[i].type, sizeof findings[i].type, type);
            copy_label(findings[i].tenant, sizeof findings[i].tenant, tenant);
            finding_count++;
        }
    }
    if (i < SERIES_MAX)
        findings[i].count++;
    pthread_mutex_unlock(&lock);
}

/* A growable text buffer with a hard cap (the tables are capped, so the
 * text is too: about 200 bytes a series). */
typedef struct text {
    char *data;
    size_t length, cap;
    int failed;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    if (t->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->data + t->length, t->cap - t->length, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->length) {
            t->length += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2;
        char *d = cap <= (64u << 20) ? realloc(t->data, cap) : NULL;
        if (!d) {
            t->failed = 1;
            return;
        }
        t->data = d;
        t->cap = cap;
    }
}

char *srv_metrics_render(size_t *length)
{
    text t = {malloc(65536), 0, 65536, 0};
    if (!t.data)
        return NULL;
    t.data[0] = '\0';
    pthread_mutex_lock(&lock);
    put(&t, "# HELP qinglang_requests_total Requests answered, by endpoint, status and tenant.\n"
            "# TYPE qinglang_requests_total counter\n");
    for (size_t i = 0; i < request_count; i++)
        put(&t, "qinglang_requests_total{path=\"%s\",status=\"%u\",tenant=\"%s\"} %llu\n",
            requests[i].path, requests[i].status, requests[i].tenant,
            (unsigned long long)requests[i].count);
    put(&t, "# HELP qinglang_request_duration_seconds Time from the request's arrival to its answer.\n"
            "# TYPE qinglang_request_duration_seconds histogram\n");
    for (size_t b = 0; b < BUCKETS; b++)
        put(&t, "qinglang_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_bounds[b],
            (unsigned long long)buckets[b]);
    put(&t, "qinglang_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
            "qinglang_request_duration_seconds_sum %.6f\n"
            "qinglang_request_duration_seconds_count %llu\n",
        (unsigned long long)duration_count, duration_sum, (unsigned long long)duration_count);
    put(&t, "# HELP qinglang_bytes_scanned_total Bytes of text scanned or redacted.\n"
            "# TYPE qinglang_bytes_scanned_total counter\n"
            "qinglang_bytes_scanned_total %llu\n", (unsigned long long)bytes_scanned);
    put(&t, "# HELP qinglang_findings_total Findings reported, by type and tenant.\n"
            "# TYPE qinglang_findings_total counter\n");
    for (size_t i = 0; i < finding_count; i++)
        put(&t, "qinglang_findings_total{type=\"%s\",tenant=\"%s\"} %llu\n", findings[i].type,
            findings[i].tenant, (unsigned long long)findings[i].count);
    put(&t, "# HELP qinglang_metrics_series_dropped_total Label sets past the table cap.\n"
            "# TYPE qinglang_metrics_series_dropped_total counter\n"
            "qinglang_metrics_series_dropped_total %llu\n", (unsigned long long)dropped);
    pthread_mutex_unlock(&lock);
    char *gateway = srv_gateway_metrics_render();
    if (gateway)
        put(&t, "%s", gateway);
    free(gateway);
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    *length = t.length;
    return t.data;
}

void srv_metrics_free(void)
{
    pthread_mutex_lock(&lock);
    free(requests);
    free(findings);
    requests = NULL;
    findings = NULL;
    request_count = finding_count = 0;
    pthread_mutex_unlock(&lock);
}
