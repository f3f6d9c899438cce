/*
 * gateway.h — what the LLM gateway's files share (docs/gateway.md).
 *
 * The gateway is an OpenAI-compatible proxy inside `qinglang serve`: it
 * listens on its own address (the config's `gateway.listen`), replaces
 * personal data and secrets in prompts by per-request placeholders
 * (<cn_mobile_phone_1>), scores prompts for injection, forwards them to the
 * tenant's upstream with libcurl and restores the placeholders in the
 * answer, also when the answer streams in as server-sent events.
 *
 * gateway.c       the HTTP side: config, routing, upstream calls, streams
 * gateway_text.c  the text side: placeholder maps, the streaming restorer,
 *                 encoded-payload detection, the SSE event splitter
 */
#ifndef QL_GATEWAY_H
#define QL_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "server.h"

/* ------------------------------------------------------------ config */

/* What happens to a type found in a prompt. */
enum { GW_REPLACE = 0, GW_BLOCK, GW_PASS };
/* What happens to a type found in an answer that the caller did not send. */
enum { GW_OUT_MASK = 0, GW_OUT_BLOCK, GW_OUT_PASS };
/* What an injection score at or above the threshold does. */
enum { GW_INJ_BLOCK = 0, GW_INJ_FLAG, GW_INJ_OFF };

typedef struct gw_tenant {
    char     name[SRV_NAME_MAX + 1];   /* "" for the gateway's defaults */
    char    *upstream;                 /* base URL, no trailing slash */
    char    *upstream_key;             /* secret: never logged; NULL: none */
    json_t  *inbound;                  /* {selector: "replace"|"block"|"pass"}, owned */
    int      inbound_default;
    json_t  *outbound;                 /* {selector: "mask"|"block"|"pass"}, owned */
    int      outbound_default;
    double   injection_threshold;
    int      injection_action;
    unsigned blocked_status;
    long     timeout_ms, connect_timeout_ms;
    int      evidence;                 /* append decisions to the evidence log */
    int      moderation;               /* answers' harmful content: GW_MOD_* */
} gw_tenant;

/* What a harmful answer (moderation decision block) does. */
enum { GW_MOD_BLOCK = 0, GW_MOD_FLAG = 1, GW_MOD_OFF = 2 };

typedef struct srv_gateway {
    char       listen[128];           /* read at start only */
    unsigned   max_connections;       /* read at start only */
    gw_tenant  defaults;
    gw_tenant *tenants;
    size_t     tenant_count;
} srv_gateway;

/* Builds the gateway's part of a generation from the config's `gateway:`
 * section and reads the upstream keys; compiles rules/gateway/ the first
 * time (once per process).  NULL with `error` filled in. */
srv_gateway *srv_gateway_build(const char *config_path, json_t *section, srv_generation *gen,
                               char *error, size_t error_size);
void srv_gateway_free(srv_gateway *gw);

/* Starts the gateway's HTTP daemon on gen->gateway->listen (prints
 * "gateway listening on ADDRESS:PORT" on stderr); 0 or -1. */
int  srv_gateway_start(const srv_generation *gen);
void srv_gateway_stop(void);

/* The gateway's Prometheus text, appended by srv_metrics_render (malloc'ed;
 * NULL when empty or out of memory). */
char *srv_gateway_metrics_render(void);

/* ------------------------------------------------------------ from http.c */

srv_generation *srv_current_generation(void);
ql_scanner     *srv_thread_scanner(srv_generation *gen, size_t ruleset);
const char     *srv_authenticate(const srv_generation *gen, struct MHD_Connection *conn);
/* The tenant's token bucket (shared with the service's endpoints): 0 if a
 * request may go, else the seconds until it may. */
unsigned        srv_rate_check(const srv_tenant *tenant);
/* Writes one line (with its newline) to the access log, atomically. */
void            srv_access_log(const char *line, size_t length);

/* ------------------------------------------------------------ buffers */

/* A growable byte buffer with a hard cap. */
typedef struct gw_buf {
    char  *data;
    size_t length, cap, max;
    int    failed;               /* an append hit the cap or OOM */
} gw_buf;

void gw_buf_init(gw_buf *b, size_t max);
int  gw_buf_put(gw_buf *b, const void *data, size_t length);
void gw_buf_consume(gw_buf *b, size_t length);   /* drops the first bytes */
void gw_buf_free(gw_buf *b);

/* ------------------------------------------------------------ placeholders */

/* One value replaced in a request: <type_number> stands for `original`
 * (the bytes as the caller sent them).  `folded` is the engine's value
 * (full-width digits folded), what makes two spellings one placeholder. */
typedef struct gw_value {
    char    *type;
    unsigned number;
    char    *placeholder;
    size_t   placeholder_length;
    char    *original;
    size_t   original_length;
    char    *folded;
    size_t   folded_length;
} gw_value;

/* The placeholders of one request; never shared between requests. */
typedef struct gw_map {
    gw_value *values;
    size_t    count, cap;
    /* Every value the caller sent (replaced or passed), by folded form:
     * an answer's finding among them is not "personal data the caller did
     * not send". */
    char    **known;
    size_t   *known_length;
    size_t    known_count, known_cap;
} gw_map;

/* The placeholder for (type, folded value): the existing one, or a new one
 * numbered after the type's last.  NULL on OOM. */
const gw_value *gw_map_add(gw_map *map, const char *type, const char *folded, size_t folded_length,
                           const char *original, size_t original_length);
int  gw_map_know(gw_map *map, const char *folded, size_t length);
int  gw_map_known(const gw_map *map, const char *folded, size_t length);
void gw_map_free(gw_map *map);

/* Restores every placeholder of `map` in `text` (a complete text) into
 * `out`; *restored counts them.  0, or -1 when `out` fails. */
int gw_restore_all(const gw_map *map, const char *text, size_t length, gw_buf *out,
                   size_t *restored);

/* The streaming restorer of one text (a choice's content, a tool call's
 * arguments): it emits everything it can at once and holds back only a
 * suffix that is a proper prefix of one of the map's placeholders. */
typedef struct gw_restorer {
    gw_buf pending;
} gw_restorer;

void gw_restorer_init(gw_restorer *r);
/* Feeds text; appends what can be emitted to `out`.  With `final`, holds
 * nothing back.  0 or -1. */
int  gw_restorer_feed(gw_restorer *r, const gw_map *map, const char *text, size_t length,
                      int final, gw_buf *out, size_t *restored);
void gw_restorer_free(gw_restorer *r);

/* ------------------------------------------------------------ encoded payloads */

/* Calls `found` with the decoded bytes of every base64 block (at least 20
 * characters) and hex block (at least 32 digits) of `text` that decodes to
 * mostly printable UTF-8 text: where instructions hide from a plain scan.
 * Returns how many were found. */
size_t gw_decoded_blocks(const char *text, size_t length,
                         void (*found)(const char *decoded, size_t length, void *user), void *user);

/* Writes `text` with spaced-out words closed up ("I G N O R E  A L L" ->
 * "IGNORE ALL", "忽 略 之 前" -> "忽略之前": four or more single letters or
 * ideographs, each followed by spaces) into `out`; 1 if anything changed. */
int gw_collapse_spacing(const char *text, size_t length, gw_buf *out);

/* The text as an evasion meant it to be read: invisible characters
 * (zero-width spaces and joiners, U+2060, U+FEFF, soft hyphens) removed,
 * leetspeak in words that mix letters and digits undone ("1gn0re" ->
 * "ignore"), spaced-out words closed up.  Into `out`; 1 if anything
 * changed. */
int gw_normalize_evasions(const char *text, size_t length, gw_buf *out);

/* ------------------------------------------------------------ JSON */

/* json_loadb(data, length, 0, error), faster on documents with long
 * strings (prompts): those are decoded by a tight loop, not by jansson's
 * character-at-a-time reader.  Same result, same errors. */
json_t *gw_json_loadb(const char *data, size_t length, json_error_t *error);

/* json_dumps(v, JSON_COMPACT), faster with long strings; *length receives
 * the length.  The tree is left as it was.  NULL on OOM. */
char *gw_json_dumps(json_t *v, size_t *length);

/* ------------------------------------------------------------ SSE */

/* The length of the first complete event in `data` (through its blank
 * line), or 0 if there is none yet.  *body_length receives the event's
 * length without the blank line. */
size_t gw_sse_event(const char *data, size_t length, size_t *body_length);

#endif
