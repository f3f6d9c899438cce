/*
 * redact.c — policies, operators and streaming redaction.
 *
 * A policy maps each finding (by type, category or category prefix) to an
 * operator: keep, mask, tag, hash, fpe or drop.  A redactor applies it
 * with the user's key: HMAC-SHA-256 (or HMAC-SM3) pseudonyms, FF1
 * format-preserving encryption (AES or SM4, lib/ff1.c) that keeps a
 * value's shape and, for IDs and cards, recomputes the check digit so the
 * output still passes it.  The redact stream runs a ql_stream over the
 * input and writes everything that is not a finding byte for byte, in the
 * input's own encoding, keeping only the bytes that a finding could still
 * start in: memory stays bounded whatever the size of the input.
 */
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "internal.h"
#include "ff1.h"

/* --------------------------------------------------------------- policy */

static const char *const op_names[] = {"keep", "mask", "tag", "hash", "fpe", "drop"};

int ql_operator_from_name(const char *name)
{
    for (int i = 0; i < 6; i++)
        if (name && strcmp(name, op_names[i]) == 0)
            return i;
    return -1;
}

const char *ql_operator_name(ql_operator op)
{
    return (unsigned)op < 6 ? op_names[op] : "unknown";
}

typedef struct policy_entry {
    char       *selector;     /* type, category, or "prefix.*" */
    ql_operator op;
    int         numbered;     /* tag: <type_1> per distinct value */
    int         head, tail;   /* mask: characters kept, -1 = the type's default */
} policy_entry;

struct ql_policy {
    ql_operator   fallback;
    policy_entry *entries;
    size_t        count, alloc;
    int           numbered;        /* default for tags */
    int           tag_label;       /* 1: [身份证号], 0: <cn_resident_id> */
    int           sm;              /* national algorithms: HMAC-SM3, SM4 */
    int           check_digit;     /* FPE recomputes check digits */
    int           hash_hex;        /* hex characters of a hash pseudonym */
};

ql_status ql_policy_create(ql_policy **out)
{
    if (!out)
        return QL_EINVAL;
    ql_policy *p = calloc(1, sizeof *p);
    if (!p)
        return QL_ENOMEM;
    p->fallback = QL_OP_MASK;
    p->tag_label = 1;
    p->check_digit = 1;
    p->hash_hex = 16;
    *out = p;
    return QL_OK;
}

void ql_policy_destroy(ql_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->count; i++)
        free(p->entries[i].selector);
    free(p->entries);
    free(p);
}

static ql_status policy_add_mask(ql_policy *p, const char *selector, ql_operator op,
                                 int numbered, int head, int tail)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->entries[i].selector, selector) == 0) {
            p->entries[i].op = op;
            p->entries[i].numbered = numbered;
            p->entries[i].head = head;
            p->entries[i].tail = tail;
            return QL_OK;
        }
    if (p->count == p->alloc) {
        size_t n = p->alloc ? p->alloc * 2 : 16;
        policy_entry *e = realloc(p->entries, n * sizeof *e);
        if (!e)
            return QL_ENOMEM;
        p->entries = e;
        p->alloc = n;
    }
    char *copy = strdup(selector);
    if (!copy)
        return QL_ENOMEM;
    p->entries[p->count].selector = copy;
    p->entries[p->count].op = op;
    p->entries[p->count].numbered = numbered;
    p->entries[p->count].head = head;
    p->entries[p->count].tail = tail;
    p->count++;
    return QL_OK;
}

static ql_status policy_add(ql_policy *p, const char *selector, ql_operator op, int numbered)
{
    return policy_add_mask(p, selector, op, numbered, -1, -1);
}

ql_status ql_policy_set(ql_policy *p, const char *selector, ql_operator op)
{
    if (!p || !selector || (unsigned)op > QL_OP_DROP)
        return QL_EINVAL;
    if (strcmp(selector, "*") == 0) {
        p->fallback = op;
        return QL_OK;
    }
    return policy_add(p, selector, op, -1);
}

/* The entry for a finding: its type, then its category, then the longest
 * matching category prefix, then the default. */
static const policy_entry *policy_lookup(const ql_policy *p, const char *type,
                                         const char *category, ql_operator *op)
{
    const policy_entry *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < p->count; i++) {
        const policy_entry *e = &p->entries[i];
        if (strcmp(e->selector, type) == 0) {
            *op = e->op;
            return e;
        }
    }
    for (size_t i = 0; i < p->count; i++) {
        const policy_entry *e = &p->entries[i];
        size_t n = strlen(e->selector);
        if (strcmp(e->selector, category) == 0) {
            *op = e->op;
            return e;
        }
        if (n >= 2 && e->selector[n - 1] == '*' && e->selector[n - 2] == '.' &&
            strncmp(e->selector, category, n - 1) == 0 && n > best_len) {
            best = e;
            best_len = n;
        }
    }
    *op = best ? best->op : p->fallback;
    return best;
}

int ql_policy_needs_key(const ql_policy *p)
{
    if (!p)
        return 0;
    if (p->fallback == QL_OP_HASH || p->fallback == QL_OP_FPE)
        return 1;
    for (size_t i = 0; i < p->count; i++)
        if (p->entries[i].op == QL_OP_HASH || p->entries[i].op == QL_OP_FPE)
            return 1;
    return 0;
}

/* ---------------------------------------------------- policy from YAML */

typedef struct pparse {
    ql_policy   *p;
    yaml_document_t *doc;
    const char  *name;
    char        *error;
    size_t       error_size;
    int          failed;
} pparse;

static void pfail_at(pparse *pp, unsigned line, unsigned column, const char *fmt, const char *arg)
{
    if (pp->failed)
        return;
    pp->failed = 1;
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg ? arg : "");
    if (pp->error && pp->error_size)
        snprintf(pp->error, pp->error_size, "%s:%u:%u: %s", pp->name, line, column, msg);
}

static void pfail(pparse *pp, const yaml_node_t *n, const char *fmt, const char *arg)
{
    pfail_at(pp, n ? (unsigned)n->start_mark.line + 1 : 1,
             n ? (unsigned)n->start_mark.column + 1 : 1, fmt, arg);
}

static const char *pscalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int pbool(pparse *pp, yaml_node_t *n, int *out)
{
    const char *s = pscalar(n);
    if (s && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0))
        *out = 1;
    else if (s && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0))
        *out = 0;
    else {
        pfail(pp, n, "expected true or false%s", NULL);
        return 0;
    }
    return 1;
}

static int pop(pparse *pp, yaml_node_t *n, ql_operator *op)
{
    int v = ql_operator_from_name(pscalar(n));
    if (v < 0) {
        pfail(pp, n, "unknown operator '%s' (keep, mask, tag, hash, fpe, drop)", pscalar(n));
        return 0;
    }
    *op = (ql_operator)v;
    return 1;
}

/* `types:` or `categories:` mapping: selector -> operator, or
 * selector -> {operator: tag, numbered: true}. */
static void parse_selectors(pparse *pp, yaml_node_t *map)
{
    if (map->type != YAML_MAPPING_NODE) {
        pfail(pp, map, "expected a mapping of names to operators%s", NULL);
        return;
    }
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
         pr < map->data.mapping.pairs.top && !pp->failed; pr++) {
        yaml_node_t *k = yaml_document_get_node(pp->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(pp->doc, pr->value);
        const char *sel = pscalar(k);
        if (!sel || !*sel) {
            pfail(pp, k, "expected a type or category name%s", NULL);
            return;
        }
        ql_operator op = QL_OP_MASK;
        int numbered = -1, head = -1, tail = -1;
        if (v->type == YAML_MAPPING_NODE) {
            int have_op = 0;
            for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
                yaml_node_t *kk = yaml_document_get_node(pp->doc, q->key);
                yaml_node_t *vv = yaml_document_get_node(pp->doc, q->value);
                const char *ks = pscalar(kk);
                if (ks && strcmp(ks, "operator") == 0) {
                    have_op = pop(pp, vv, &op);
                } else if (ks && strcmp(ks, "numbered") == 0) {
                    pbool(pp, vv, &numbered);
                } else if (ks && (strcmp(ks, "head") == 0 || strcmp(ks, "tail") == 0)) {
                    const char *val = pscalar(vv);
                    char *end = NULL;
                    long x = val ? strtol(val, &end, 10) : -1;
                    if (!val || *end || x < 0 || x > 64)
                        pfail(pp, vv, "%s: a number of characters from 0 to 64", ks);
                    else if (ks[0] == 'h')
                        head = (int)x;
                    else
                        tail = (int)x;
                } else {
                    pfail(pp, kk, "unknown key '%s' (operator, numbered, head, tail)", ks);
                }
            }
            if (!have_op && !pp->failed)
                pfail(pp, v, "no operator for '%s'", sel);
        } else if (!pop(pp, v, &op)) {
            return;
        }
        if (!pp->failed && policy_add_mask(pp->p, sel, op, numbered, head, tail) != QL_OK)
            pfail(pp, k, "out of memory%s", NULL);
    }
}

ql_status ql_policy_parse(const char *name, const uint8_t *text, size_t length,
                          ql_policy **out, char *error, size_t error_size)
{
    if (!out || (!text && length))
        return QL_EINVAL;
    *out = NULL;
    ql_policy *p;
    ql_status st = ql_policy_create(&p);
    if (st != QL_OK)
        return st;
    pparse pp = {p, NULL, name ? name : "<policy>", error, error_size, 0};
    if (error && error_size)
        error[0] = '\0';
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!ql__utf8_valid(text, length, 0)) {
        pfail(&pp, NULL, "policy file is not valid UTF-8%s", NULL);
        ql_policy_destroy(p);
        return QL_ERULE;
    }
    if (!yaml_parser_initialize(&parser)) {
        ql_policy_destroy(p);
        return QL_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, text, length);
    if (!yaml_parser_load(&parser, &doc)) {
        pfail_at(&pp, (unsigned)parser.problem_mark.line + 1, (unsigned)parser.problem_mark.column + 1,
                 "YAML: %s", parser.problem ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        ql_policy_destroy(p);
        return QL_ERULE;
    }
    pp.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        pfail(&pp, root, "expected a mapping (default, types, categories, ...)%s", NULL);
    } else {
        for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
             pr < root->data.mapping.pairs.top && !pp.failed; pr++) {
            yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
            yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
            const char *ks = pscalar(k);
            if (!ks) {
                pfail(&pp, k, "expected a key%s", NULL);
            } else if (strcmp(ks, "default") == 0) {
                pop(&pp, v, &p->fallback);
            } else if (strcmp(ks, "types") == 0 || strcmp(ks, "categories") == 0) {
                parse_selectors(&pp, v);
            } else if (strcmp(ks, "keep") == 0) {
                if (v->type != YAML_SEQUENCE_NODE) {
                    pfail(&pp, v, "keep: expected a list of types or categories%s", NULL);
                    break;
                }
                for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                    yaml_node_t *item = yaml_document_get_node(&doc, *it);
                    if (!pscalar(item) || policy_add(p, pscalar(item), QL_OP_KEEP, -1) != QL_OK)
                        pfail(&pp, item, "keep: expected a name%s", NULL);
                }
            } else if (strcmp(ks, "tag") == 0 || strcmp(ks, "hash") == 0 ||
                       strcmp(ks, "fpe") == 0 || strcmp(ks, "algorithms") == 0) {
                if (v->type != YAML_MAPPING_NODE && strcmp(ks, "algorithms") != 0) {
                    pfail(&pp, v, "%s: expected a mapping of options", ks);
                    break;
                }
                if (strcmp(ks, "algorithms") == 0) {
                    const char *a = pscalar(v);
                    if (a && strcmp(a, "national") == 0)
                        p->sm = 1;
                    else if (!a || strcmp(a, "international") != 0)
                        pfail(&pp, v, "algorithms: international (SHA-256, AES) or national (SM3, SM4)%s", NULL);
                    continue;
                }
                for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
                    yaml_node_t *kk = yaml_document_get_node(&doc, q->key);
                    yaml_node_t *vv = yaml_document_get_node(&doc, q->value);
                    const char *o = pscalar(kk), *val = pscalar(vv);
                    if (strcmp(ks, "tag") == 0 && o && strcmp(o, "numbered") == 0) {
                        pbool(&pp, vv, &p->numbered);
                    } else if (strcmp(ks, "tag") == 0 && o && strcmp(o, "style") == 0) {
                        if (val && strcmp(val, "label") == 0)
                            p->tag_label = 1;
                        else if (val && strcmp(val, "type") == 0)
                            p->tag_label = 0;
                        else
                            pfail(&pp, vv, "tag style: label ([身份证号]) or type (<cn_resident_id>)%s", NULL);
                    } else if (strcmp(ks, "hash") == 0 && o && strcmp(o, "length") == 0) {
                        char *end = NULL;
                        long n = val ? strtol(val, &end, 10) : 0;
                        if (!val || *end || n < 8 || n > 64)
                            pfail(&pp, vv, "hash length: 8 to 64 hex characters%s", NULL);
                        else
                            p->hash_hex = (int)n;
                    } else if (strcmp(ks, "fpe") == 0 && o && strcmp(o, "check_digit") == 0) {
                        pbool(&pp, vv, &p->check_digit);
                    } else {
                        pfail(&pp, kk, "unknown option '%s'", o);
                    }
                }
            } else {
                pfail(&pp, k, "unknown key '%s' (default, types, categories, keep, tag, hash, fpe, algorithms)", ks);
            }
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (pp.failed) {
        ql_policy_destroy(p);
        return QL_ERULE;
    }
    *out = p;
    return QL_OK;
}

/* ------------------------------------------------------------- redactor */

#define QL__TAG_SLOTS_MAX (1u << 22)   /* distinct values numbered per run */

typedef struct tag_slot {
    uint64_t hash;      /* of type and value; 0 = empty */
    uint32_t number;
    uint32_t type_index;
} tag_slot;

struct ql_redactor {
    const ql_policy *policy;
    uint8_t  hash_key[32];
    uint8_t  fpe_key[32];
    int      have_key;
    ql__ff1 *ff1;
    tag_slot *slots;
    size_t    slot_count, slot_used;
    char    **types;           /* type names seen, for per-type counters */
    uint32_t *counters;
    size_t    type_count;
};

static int hmac(const ql_redactor *r, const uint8_t *key, size_t key_len, const void *a,
                size_t an, const void *b, size_t bn, uint8_t out[32])
{
    const EVP_MD *md = r && r->policy->sm ? EVP_sm3() : EVP_sha256();
    if (!md)
        return -1;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac)
        return -1;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)EVP_MD_get0_name(md), 0);
    params[1] = OSSL_PARAM_construct_end();
    size_t len = 0;
    int ok = ctx && EVP_MAC_init(ctx, key, key_len, params) &&
             EVP_MAC_update(ctx, a, an) && (bn == 0 || EVP_MAC_update(ctx, b, bn)) &&
             EVP_MAC_final(ctx, out, &len, 32) && len == 32;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok ? 0 : -1;
}

ql_status ql_redactor_create(const ql_policy *policy, const uint8_t *key, size_t key_length,
                             ql_redactor **out)
{
    if (!policy || !out || (!key && key_length))
        return QL_EINVAL;
    *out = NULL;
    if (ql_policy_needs_key(policy) && key_length < 16)
        return QL_EKEY;
    ql_redactor *r = calloc(1, sizeof *r);
    if (!r)
        return QL_ENOMEM;
    r->policy = policy;
    if (key_length >= 16) {
        /* Separate keys for separate uses, both derived from the one the
         * user keeps. */
        static const char hash_label[] = "qinglang/hash/v1";
        static const char fpe_label[] = "qinglang/fpe/v1";
        if (hmac(r, key, key_length, hash_label, sizeof hash_label - 1, NULL, 0, r->hash_key) ||
            hmac(r, key, key_length, fpe_label, sizeof fpe_label - 1, NULL, 0, r->fpe_key)) {
            free(r);
            return QL_ECRYPTO;
        }
        r->have_key = 1;
        r->ff1 = policy->sm ? ql__ff1_new(QL__FF1_SM4, r->fpe_key, 16)
                            : ql__ff1_new(QL__FF1_AES, r->fpe_key, 32);
        if (!r->ff1) {
            free(r);
            return QL_ECRYPTO;
        }
    }
    *out = r;
    return QL_OK;
}

void ql_redactor_destroy(ql_redactor *r)
{
    if (!r)
        return;
    ql__ff1_free(r->ff1);
    for (size_t i = 0; i < r->type_count; i++)
        free(r->types[i]);
    free(r->types);
    free(r->counters);
    free(r->slots);
    /* Keys are secrets: do not leave them in freed memory. */
    OPENSSL_cleanse(r->hash_key, sizeof r->hash_key);
    OPENSSL_cleanse(r->fpe_key, sizeof r->fpe_key);
    free(r);
}

/* ------------------------------------------------------------- operators */

static const struct {
    const char *type, *label;
} labels[] = {
    {"cn_resident_id", "身份证号"}, {"cn_mobile_phone", "手机号"},
    {"cn_landline_phone", "电话号码"}, {"bank_card", "银行卡号"},
    {"cn_uscc", "统一社会信用代码"}, {"cn_passport", "护照号"},
    {"cn_hk_macau_permit", "港澳通行证号"}, {"cn_taiwan_permit", "台湾通行证号"},
    {"cn_home_return_permit", "回乡证号"}, {"hk_id", "香港身份证号"},
    {"macau_id", "澳门身份证号"}, {"tw_id", "台湾身份证号"},
    {"cn_license_plate", "车牌号"}, {"person_name", "姓名"}, {"cn_address", "地址"},
    {"medical_record_no", "病历号"}, {"email", "邮箱"}, {"ipv4", "IP地址"},
    {"ipv6", "IP地址"}, {"url_with_credentials", "带口令的链接"},
    {"aws_access_key_id", "密钥"}, {"aws_secret_access_key", "密钥"},
    {"github_token", "令牌"}, {"gitlab_token", "令牌"}, {"slack_token", "令牌"},
    {"alibaba_access_key_id", "密钥"}, {"tencent_secret_id", "密钥"},
    {"private_key", "私钥"}, {"jwt", "令牌"}, {"password_assignment", "密码"},
};

static const char *label_for(const char *type)
{
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (strcmp(labels[i].type, type) == 0)
            return labels[i].label;
    return NULL;
}

static uint64_t fnv1a(const char *type, const uint8_t *v, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = type; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ 0xFF) * 1099511628211ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ v[i]) * 1099511628211ull;
    return h ? h : 1;
}

/* The number of a (type, value): the same value gets the same number in
 * one run.  Values are identified by a 64-bit hash (collisions across 4
 * million distinct values are negligible) so no value is kept. */
static int tag_number(ql_redactor *r, const char *type, const uint8_t *v, size_t n, uint32_t *out)
{
    size_t ti = 0;
    while (ti < r->type_count && strcmp(r->types[ti], type) != 0)
        ti++;
    if (ti == r->type_count) {
        char **t = realloc(r->types, (ti + 1) * sizeof *t);
        uint32_t *c = realloc(r->counters, (ti + 1) * sizeof *c);
        if (t)
            r->types = t;
        if (c)
            r->counters = c;
        if (!t || !c || !(r->types[ti] = strdup(type)))
            return -1;
        r->counters[ti] = 0;
        r->type_count++;
    }
    if (r->slot_used * 2 >= r->slot_count) {
        size_t nc = r->slot_count ? r->slot_count * 2 : 1024;
        if (nc > QL__TAG_SLOTS_MAX * 2)
            return -1;
        tag_slot *ns = calloc(nc, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < r->slot_count; i++) {
            if (!r->slots[i].hash)
                continue;
            size_t j = r->slots[i].hash & (nc - 1);
            while (ns[j].hash)
                j = (j + 1) & (nc - 1);
            ns[j] = r->slots[i];
        }
        free(r->slots);
        r->slots = ns;
        r->slot_count = nc;
    }
    uint64_t h = fnv1a(type, v, n);
    size_t j = h & (r->slot_count - 1);
    while (r->slots[j].hash && r->slots[j].hash != h)
        j = (j + 1) & (r->slot_count - 1);
    if (!r->slots[j].hash) {
        r->slots[j].hash = h;
        r->slots[j].type_index = (uint32_t)ti;
        r->slots[j].number = ++r->counters[ti];
        r->slot_used++;
    }
    *out = r->slots[j].number;
    return 0;
}

/* ------------------------------------------------------------------ FPE */

static int digitv(uint8_t c) { return c >= '0' && c <= '9'; }

/* How a type is encrypted: which significant characters stay (a prefix
 * that keeps the value recognisable and carries little information: a
 * mobile's network prefix, a card's issuer, an ID's region), the
 * alphabet, and the check character to recompute. */
typedef enum { CHECK_NONE, CHECK_MOD11_2, CHECK_LUHN, CHECK_HKID, CHECK_TWID } check_kind;

typedef struct fpe_shape {
    const char *type;
    unsigned    keep;        /* leading digits left as they are */
    int         digits_only; /* radix 10 over the digits; else radix 36 over [0-9A-Z] / [0-9a-z] */
    check_kind  check;       /* last digit/char is a check to recompute */
} fpe_shape;

static const fpe_shape shapes[] = {
    {"cn_resident_id", 6, 1, CHECK_MOD11_2},
    {"cn_mobile_phone", 3, 1, CHECK_NONE},
    {"cn_landline_phone", 5, 1, CHECK_NONE},
    {"bank_card", 6, 1, CHECK_LUHN},
    {"cn_passport", 0, 1, CHECK_NONE},
    {"cn_hk_macau_permit", 0, 1, CHECK_NONE},
    {"cn_taiwan_permit", 0, 1, CHECK_NONE},
    {"cn_home_return_permit", 0, 1, CHECK_NONE},
    {"hk_id", 0, 1, CHECK_HKID},
    {"macau_id", 1, 1, CHECK_NONE},
    {"tw_id", 1, 1, CHECK_TWID},
    {"medical_record_no", 0, 0, CHECK_NONE},
    {"email", 0, 0, CHECK_NONE},
};

static const fpe_shape *shape_for(const char *type)
{
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (strcmp(shapes[i].type, type) == 0)
            return &shapes[i];
    return NULL;
}

static int alnum_value(uint8_t c, int *lower)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'z') {
        *lower = 1;
        return c - 'a' + 10;
    }
    return -1;
}

/* Recomputes a check character in out (digits of the value in place). */
static void recompute_check(check_kind kind, char *s, size_t n)
{
    char tmp[32];
    size_t k = 0;
    switch (kind) {
    case CHECK_MOD11_2: {
        for (size_t i = 0; i < n && k < 18; i++)
            if (digitv((uint8_t)s[i]) || s[i] == 'X' || s[i] == 'x')
                tmp[k++] = s[i];
        if (k != 18)
            return;
        char c = ql__mod11_2_check(tmp);
        for (size_t i = n; i-- > 0;)
            if (digitv((uint8_t)s[i]) || s[i] == 'X' || s[i] == 'x') {
                s[i] = (s[i] == 'x' && c == 'X') ? 'x' : c;
                break;
            }
        return;
    }
    case CHECK_LUHN: {
        size_t idx[32];
        for (size_t i = 0; i < n && k < 32; i++)
            if (digitv((uint8_t)s[i]))
                idx[k++] = i;
        if (k < 2)
            return;
        int sum = 0;
        for (size_t j = 0; j + 1 < k; j++) {
            int d = s[idx[k - 2 - j]] - '0';
            if (j % 2 == 0) {
                d *= 2;
                if (d > 9)
                    d -= 9;
            }
            sum += d;
        }
        s[idx[k - 1]] = (char)('0' + (10 - sum % 10) % 10);
        return;
    }
    case CHECK_HKID: {
        /* Letters, six digits, check: try each check character. */
        char compact[12];
        size_t m = 0, last = 0;
        for (size_t i = 0; i < n && m < 10; i++)
            if ((s[i] >= 'A' && s[i] <= 'Z') || digitv((uint8_t)s[i])) {
                compact[m++] = s[i];
                last = i;
            }
        static const char checks[] = "0123456789A";
        for (int c = 0; c < 11; c++) {
            compact[m - 1] = checks[c];
            if (ql__check_hk_id(compact, m)) {
                s[last] = checks[c];
                return;
            }
        }
        return;
    }
    case CHECK_TWID: {
        if (n != 10)
            return;
        for (char c = '0'; c <= '9'; c++) {
            s[9] = c;
            if (ql__check_tw_id(s, 10))
                return;
        }
        return;
    }
    case CHECK_NONE:
        return;
    }
}

/* Encrypts (or decrypts) the value in place in buf[0..n).  Returns -1 if
 * the type has no FPE shape or too few characters to encrypt safely. */
static int fpe_apply(ql_redactor *r, const char *type, char *buf, size_t n, int encrypt)
{
    const fpe_shape *sh = shape_for(type);
    if (!sh || !r->ff1)
        return -1;
    size_t pos[256];
    uint8_t num[256];
    size_t k = 0, seen = 0, end = n;
    int lower = 0, upper = 0;
    unsigned keep = sh->keep;
    size_t digits = 0;
    for (size_t i = 0; i < n; i++)
        digits += digitv((uint8_t)buf[i]);
    if (strcmp(type, "cn_resident_id") == 0 && digits < 17)
        return -1;   /* the 15-digit form has no check digit to find it by again */
    if (strcmp(type, "cn_mobile_phone") == 0 && digits > 11)
        keep += (unsigned)(digits - 11);   /* +86 / 0086 stay as they are */
    if (strcmp(type, "email") == 0) {
        const char *at = memchr(buf, '@', n);
        if (!at)
            return -1;
        end = (size_t)(at - buf);     /* the local part only */
    }
    /* The check character (last significant one) is recomputed, not
     * encrypted. */
    size_t check_at = (size_t)-1;
    if (sh->check != CHECK_NONE && r->policy->check_digit) {
        for (size_t i = end; i-- > 0;)
            if (digitv((uint8_t)buf[i]) || buf[i] == 'X' || buf[i] == 'x' ||
                (sh->check == CHECK_HKID && buf[i] == 'A')) {
                check_at = i;
                break;
            }
    }
    for (size_t i = 0; i < end && k < 256; i++) {
        int v;
        if (sh->digits_only) {
            if (!digitv((uint8_t)buf[i]))
                continue;
            v = buf[i] - '0';
        } else {
            v = alnum_value((uint8_t)buf[i], &lower);
            if (v < 0)
                continue;
        }
        if (seen++ < keep || i == check_at)
            continue;
        pos[k] = i;
        num[k++] = (uint8_t)v;
        upper |= buf[i] >= 'A' && buf[i] <= 'Z';
    }
    /* Letters of one case stay in that case (base 36); mixed case needs
     * base 62 (0-9, A-Z, a-z) to come back exactly. */
    int mixed = !sh->digits_only && lower && upper;
    if (mixed)
        for (size_t j = 0; j < k; j++)
            if (buf[pos[j]] >= 'a' && buf[pos[j]] <= 'z')
                num[j] = (uint8_t)(num[j] + 26);
    unsigned radix = sh->digits_only ? 10 : mixed ? 62 : 36;
    if (k < ql__ff1_min_length(radix))
        return -1;
    if (ql__ff1_crypt(r->ff1, encrypt, radix, (const uint8_t *)type, strlen(type), num, num, k) != 0)
        return -1;
    for (size_t j = 0; j < k; j++) {
        unsigned v = num[j];
        char c;
        if (v < 10)
            c = (char)('0' + v);
        else if (mixed)
            c = v < 36 ? (char)('A' + (v - 10)) : (char)('a' + (v - 36));
        else
            c = (char)((lower ? 'a' : 'A') + (v - 10));
        buf[pos[j]] = c;
    }
    if (check_at != (size_t)-1)
        recompute_check(sh->check, buf, n);
    return 0;
}

/* ----------------------------------------------------------- replacement */

ql_status ql_redactor_replace(ql_redactor *r, const ql_finding *f, char *out, size_t size,
                              size_t *length, ql_operator *applied)
{
    if (!r || !f || !out || !length)
        return QL_EINVAL;
    ql_operator op;
    const policy_entry *e = policy_lookup(r->policy, f->type, f->category, &op);
    int numbered = e && e->numbered >= 0 ? e->numbered : r->policy->numbered;
    char buf[QL__MAX_SPAN + 64];
    size_t n = 0;
    if (op == QL_OP_FPE) {
        if (f->value_length >= sizeof buf)
            op = QL_OP_HASH;
        else {
            memcpy(buf, f->value, f->value_length);
            if (fpe_apply(r, f->type, buf, f->value_length, 1) == 0)
                n = f->value_length;
            else
                op = QL_OP_HASH;   /* names, addresses, secrets: no FPE shape */
        }
    }
    if ((op == QL_OP_HASH || op == QL_OP_FPE) && !r->have_key)
        return QL_EKEY;
    switch (op) {
    case QL_OP_KEEP:
        if (f->value_length >= sizeof buf)
            return QL_ELIMIT;
        memcpy(buf, f->value, f->value_length);
        n = f->value_length;
        break;
    case QL_OP_MASK:
        if (e && (e->head >= 0 || e->tail >= 0)) {
            /* The policy's own head and tail, over letters and digits;
             * separators stay where they are. */
            n = ql__mask(QL__MASK_CHARS, e->head >= 0 ? e->head : 0, e->tail >= 0 ? e->tail : 0,
                         f->value, f->value_length, buf, sizeof buf);
            if (n >= sizeof buf)
                n = sizeof buf - 1;
        } else {
            n = (size_t)snprintf(buf, sizeof buf, "%s", f->masked);
        }
        break;
    case QL_OP_TAG: {
        const char *label = r->policy->tag_label ? label_for(f->type) : NULL;
        uint32_t number = 0;
        if (numbered && tag_number(r, f->type, f->value, f->value_length, &number) != 0)
            return QL_ENOMEM;
        if (label && numbered)
            n = (size_t)snprintf(buf, sizeof buf, "[%s%u]", label, number);
        else if (label)
            n = (size_t)snprintf(buf, sizeof buf, "[%s]", label);
        else if (numbered)
            n = (size_t)snprintf(buf, sizeof buf, "<%s_%u>", f->type, number);
        else
            n = (size_t)snprintf(buf, sizeof buf, "<%s>", f->type);
        break;
    }
    case QL_OP_HASH: {
        uint8_t mac[32];
        if (hmac(r, r->hash_key, sizeof r->hash_key, f->type, strlen(f->type) + 1, f->value,
                 f->value_length, mac) != 0)
            return QL_ECRYPTO;
        n = (size_t)snprintf(buf, sizeof buf, "<%s:", f->type);
        for (int i = 0; i < r->policy->hash_hex / 2 + (r->policy->hash_hex & 1); i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%02x", mac[i]);
        n = (size_t)(n - (size_t)(r->policy->hash_hex & 1));
        buf[n++] = '>';
        buf[n] = '\0';
        break;
    }
    case QL_OP_FPE:
        break;
    case QL_OP_DROP:
        n = 0;
        break;
    }
    *applied = op;
    if (n + 1 > size)
        return QL_ELIMIT;
    memcpy(out, buf, n);
    out[n] = '\0';
    *length = n;
    return QL_OK;
}

/* Decrypts an FPE value (for --decrypt): same as encryption, reversed. */
static int redactor_restore(ql_redactor *r, const ql_finding *f, char *out, size_t size, size_t *length)
{
    ql_operator op;
    policy_lookup(r->policy, f->type, f->category, &op);
    if (op != QL_OP_FPE || f->value_length + 1 > size)
        return -1;
    memcpy(out, f->value, f->value_length);
    out[f->value_length] = '\0';
    if (fpe_apply(r, f->type, out, f->value_length, 0) != 0)
        return -1;
    *length = f->value_length;
    return 0;
}

/* -------------------------------------------------------- redact stream */

typedef struct pending {
    uint64_t start, end;      /* source offsets */
    char    *text;            /* replacement, in the output encoding */
    size_t   text_length;
} pending;

struct ql_redact_stream {
    ql_stream   *stream;
    ql_redactor *redactor;
    int          decrypt;
    ql_write_cb  write;
    void        *write_user;
    ql_finding_cb on_finding;
    void        *finding_user;
    ql__vec      source;       /* input bytes from `emitted` on */
    uint64_t     emitted;      /* source offset written so far */
    uint64_t     received;     /* source bytes received */
    pending     *pend;
    size_t       pend_count, pend_alloc;
    iconv_t      to_source;    /* UTF-8 -> the input's encoding, or (iconv_t)-1 */
    int          to_source_ready;
    ql_status    failed;
};

static ql_status out_write(ql_redact_stream *rs, const uint8_t *p, size_t n)
{
    if (n && rs->write(p, n, rs->write_user) != 0)
        return QL_EWRITE;
    return QL_OK;
}

/* Replacement text in the input's encoding (UTF-8 needs no work). */
static char *encode_for_source(ql_redact_stream *rs, const char *utf8, size_t n, size_t *out_n)
{
    ql_encoding enc = ql__stream_encoding(rs->stream);
    if (enc == QL_ENCODING_UTF8 || enc == QL_ENCODING_AUTO || n == 0) {
        char *copy = malloc(n + 1);
        if (copy) {
            memcpy(copy, utf8, n);
            *out_n = n;
        }
        return copy;
    }
    if (!rs->to_source_ready) {
        const char *name = enc == QL_ENCODING_GB18030 ? "GB18030"
                         : enc == QL_ENCODING_UTF16LE ? "UTF-16LE" : "UTF-16BE";
        rs->to_source = iconv_open(name, "UTF-8");
        rs->to_source_ready = 1;
    }
    if (rs->to_source == (iconv_t)-1)
        return NULL;
    size_t cap = n * 4 + 8;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    char *in = (char *)utf8, *o = buf;
    size_t il = n, ol = cap;
    iconv(rs->to_source, NULL, NULL, NULL, NULL);
    if (iconv(rs->to_source, &in, &il, &o, &ol) == (size_t)-1) {
        free(buf);
        return NULL;
    }
    *out_n = cap - ol;
    return buf;
}

/* The source text of a finding as UTF-8 (decoded if the input is not). */
static char *source_utf8(ql_redact_stream *rs, const ql_finding *f, size_t *out_n)
{
    const uint8_t *src = (const uint8_t *)rs->source.items + (f->start - rs->emitted);
    size_t n = (size_t)(f->end - f->start);
    ql_encoding enc = ql__stream_encoding(rs->stream);
    if (f->start < rs->emitted || f->end > rs->emitted + rs->source.count)
        return NULL;
    char *buf = malloc(n * 3 + 4);
    if (!buf)
        return NULL;
    if (enc == QL_ENCODING_UTF8 || enc == QL_ENCODING_AUTO) {
        memcpy(buf, src, n);
        *out_n = n;
        return buf;
    }
    const char *name = enc == QL_ENCODING_GB18030 ? "GB18030"
                     : enc == QL_ENCODING_UTF16LE ? "UTF-16LE" : "UTF-16BE";
    iconv_t cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1) {
        free(buf);
        return NULL;
    }
    char *in = (char *)src, *o = buf;
    size_t il = n, ol = n * 3 + 4;
    size_t rc = iconv(cd, &in, &il, &o, &ol);
    iconv_close(cd);
    if (rc == (size_t)-1) {
        free(buf);
        return NULL;
    }
    *out_n = n * 3 + 4 - ol;
    return buf;
}

/* FPE works on the folded value (１３８ -> 138); written back, each
 * character the input had in full width is full width again, so the
 * output keeps the input's form and --decrypt restores it exactly. */
static size_t rewiden(const char *orig, size_t on, const char *value, size_t vn, char *out,
                      size_t cap)
{
    size_t i = 0, j = 0, k = 0;
    while (i < on && j < vn && k + 4 < cap) {
        uint8_t ascii;
        if (ql__foldable((const uint8_t *)orig + i, on - i, &ascii)) {
            uint8_t c = (uint8_t)value[j++];
            if (c == ' ') {
                memcpy(out + k, "\xE3\x80\x80", 3);
            } else if (c > 0x20 && c < 0x7F) {
                unsigned cp = 0xFF01 + (c - 0x21);
                out[k] = (char)(0xE0 | cp >> 12);
                out[k + 1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[k + 2] = (char)(0x80 | (cp & 0x3F));
            } else {
                return 0;
            }
            k += 3;
            i += 3;
        } else {
            out[k++] = value[j++];
            i++;
        }
    }
    return i == on && j == vn ? k : 0;
}

static int on_stream_finding(const ql_finding *f, void *user)
{
    ql_redact_stream *rs = user;
    char text[QL__MAX_SPAN + 64];
    size_t n = 0;
    ql_operator applied = QL_OP_KEEP;
    if (rs->decrypt) {
        if (redactor_restore(rs->redactor, f, text, sizeof text, &n) != 0)
            return 0;          /* not an FPE value: leave it alone */
        applied = QL_OP_FPE;
    } else {
        ql_status st = ql_redactor_replace(rs->redactor, f, text, sizeof text, &n, &applied);
        if (st != QL_OK) {
            rs->failed = st;
            return 1;
        }
        if (applied == QL_OP_KEEP)
            return 0;
    }
    if (applied == QL_OP_FPE) {
        size_t on = 0;
        char *orig = source_utf8(rs, f, &on);
        if (orig && on != n) {
            char wide[3 * (QL__MAX_SPAN + 64)];
            size_t wn = rewiden(orig, on, text, n, wide, sizeof wide);
            if (wn && wn < sizeof text) {
                memcpy(text, wide, wn);
                n = wn;
            }
        }
        free(orig);
    }
    if (rs->pend_count == rs->pend_alloc) {
        size_t na = rs->pend_alloc ? rs->pend_alloc * 2 : 64;
        pending *np = realloc(rs->pend, na * sizeof *np);
        if (!np) {
            rs->failed = QL_ENOMEM;
            return 1;
        }
        rs->pend = np;
        rs->pend_alloc = na;
    }
    size_t en = 0;
    char *enc = encode_for_source(rs, text, n, &en);
    if (!enc) {
        rs->failed = QL_EENCODING;
        return 1;
    }
    pending *p = &rs->pend[rs->pend_count++];
    p->start = f->start;
    p->end = f->end;
    p->text = enc;
    p->text_length = en;
    if (rs->on_finding && rs->on_finding(f, rs->finding_user))
        return 1;
    return 0;
}

static int cmp_pending(const void *a, const void *b)
{
    const pending *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end > y->end ? -1 : x->end < y->end;   /* longer first */
}

/* Writes everything before `settled` (source offset): no finding can
 * start there any more. */
static ql_status flush(ql_redact_stream *rs, uint64_t settled)
{
    ql_status st = QL_OK;
    if (rs->pend_count > 1)
        qsort(rs->pend, rs->pend_count, sizeof *rs->pend, cmp_pending);
    size_t used = 0;
    const uint8_t *src = rs->source.items;
    uint64_t base = rs->emitted;   /* source offset of src[0] */
    uint64_t at = rs->emitted;
    for (; used < rs->pend_count; used++) {
        pending *p = &rs->pend[used];
        if (p->start >= settled)
            break;
        if (p->start < at) {
            /* Overlaps what was already replaced (an IP inside a URL). */
            free(p->text);
            continue;
        }
        if ((st = out_write(rs, src + (at - base), (size_t)(p->start - at))) != QL_OK)
            break;
        if ((st = out_write(rs, (const uint8_t *)p->text, p->text_length)) != QL_OK)
            break;
        at = p->end;
        free(p->text);
    }
    if (st != QL_OK)
        return st;
    if (used) {
        memmove(rs->pend, rs->pend + used, (rs->pend_count - used) * sizeof *rs->pend);
        rs->pend_count -= used;
    }
    if (settled > at) {
        uint64_t limit = rs->pend_count && rs->pend[0].start < settled ? rs->pend[0].start : settled;
        if (limit > at) {
            if ((st = out_write(rs, src + (at - base), (size_t)(limit - at))) != QL_OK)
                return st;
            at = limit;
        }
    }
    /* Drop the bytes written or replaced. */
    size_t drop = (size_t)(at - base);
    if (drop > rs->source.count)
        drop = rs->source.count;
    if (drop) {
        memmove(rs->source.items, src + drop, rs->source.count - drop);
        rs->source.count -= drop;
    }
    rs->emitted = at;
    return QL_OK;
}

ql_status ql_redact_open(ql_scanner *scanner, ql_redactor *redactor,
                         const ql_scan_options *options, int decrypt,
                         ql_write_cb write, void *write_user,
                         ql_finding_cb on_finding, void *finding_user,
                         ql_redact_stream **out)
{
    if (!scanner || !redactor || !write || !out)
        return QL_EINVAL;
    *out = NULL;
    ql_redact_stream *rs = calloc(1, sizeof *rs);
    if (!rs)
        return QL_ENOMEM;
    rs->redactor = redactor;
    rs->decrypt = decrypt;
    rs->write = write;
    rs->write_user = write_user;
    rs->on_finding = on_finding;
    rs->finding_user = finding_user;
    rs->to_source = (iconv_t)-1;
    ql__vec_init(&rs->source, 1, (size_t)256 << 20);
    ql_status st = ql_stream_open(scanner, options, on_stream_finding, rs, &rs->stream);
    if (st != QL_OK) {
        free(rs);
        return st;
    }
    if (decrypt)
        ql__stream_set_relaxed(rs->stream, 1);
    *out = rs;
    return QL_OK;
}

ql_status ql_redact_write(ql_redact_stream *rs, const uint8_t *data, size_t length)
{
    if (!rs || (!data && length))
        return QL_EINVAL;
    if (rs->failed)
        return rs->failed;
    ql_status st = ql__vec_reserve(NULL, &rs->source, rs->source.count + length);
    if (st != QL_OK)
        return rs->failed = st;
    if (length)
        memcpy((uint8_t *)rs->source.items + rs->source.count, data, length);
    rs->source.count += length;
    rs->received += length;
    st = ql_stream_write(rs->stream, data, length);
    if (st == QL_OK && rs->failed)
        st = rs->failed;
    if (st == QL_OK)
        st = flush(rs, ql__stream_settled(rs->stream));
    if (st != QL_OK)
        rs->failed = st;
    return st;
}

ql_status ql_redact_finish(ql_redact_stream *rs)
{
    if (!rs)
        return QL_EINVAL;
    if (rs->failed)
        return rs->failed;
    ql_status st = ql_stream_finish(rs->stream);
    if (st == QL_OK && rs->failed)
        st = rs->failed;
    if (st == QL_OK)
        st = flush(rs, rs->received);
    if (st == QL_OK && rs->emitted < rs->received)
        st = out_write(rs, rs->source.items, (size_t)(rs->received - rs->emitted));
    if (st != QL_OK)
        rs->failed = st;
    return st;
}

void ql_redact_close(ql_redact_stream *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->pend_count; i++)
        free(rs->pend[i].text);
    free(rs->pend);
    ql_stream_close(rs->stream);
    ql__vec_free(NULL, &rs->source);
    if (rs->to_source != (iconv_t)-1)
        iconv_close(rs->to_source);
    free(rs);
}
