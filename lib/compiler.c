/*
 * compiler.c — rule files in, one immutable rule set out.
 *
 * A rule file is YAML (docs/rules.md): a top-level `rules:` list of
 * mappings.  The compiler reads each with libyaml's document API, which
 * keeps every node's line and column, so any error names its place.  Each
 * rule's regexes and keywords become expressions of ONE Vectorscan block
 * database (byte mode, no start-of-match: both cost more than half the
 * speed, see docs/engine.md).  Vectorscan reports where a match ends; the
 * start is then found by the validator, by the fixed width of the
 * expression, or by a PCRE2 pattern `(?:R)\z` run backwards from that end.
 *
 * A file either adds all its rules or none: errors are collected (every
 * one of them, not just the first) and the rules parsed from that text are
 * dropped, so a compiler survives a hostile rule file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "internal.h"
#include "builtin.h"

#define QL__MAX_DIAGNOSTICS 1000u
#define QL__MAX_RULE_TEXT   (64u << 20)

typedef struct pending_expr {
    uint32_t rule;
    char    *pattern;        /* Vectorscan/PCRE2 syntax */
    unsigned flags;          /* HS_FLAG_* */
    int      literal;
    unsigned line, column;
    char    *file;
} pending_expr;

struct ql_compiler {
    ql_allocator allocator;
    ql__vec rules;          /* ql__rule */
    ql__vec exprs;          /* pending_expr */
    ql__vec diags;          /* ql_diagnostic, strings owned */
    int     builtin_added;
};

/* --------------------------------------------------------- diagnostics */

static void diag(ql_compiler *c, const char *file, unsigned line,
                 unsigned column, const char *fmt, const char *arg)
{
    if (c->diags.count >= QL__MAX_DIAGNOSTICS)
        return;
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg ? arg : "");
    ql_diagnostic d;
    d.file = ql__strdup(&c->allocator, file ? file : "<rules>");
    d.line = line;
    d.column = column;
    d.message = ql__strdup(&c->allocator, msg);
    if (!d.file || !d.message || ql__vec_push(&c->allocator, &c->diags, &d) != QL_OK) {
        ql__free(&c->allocator, (void *)d.file);
        ql__free(&c->allocator, (void *)d.message);
    }
}

size_t ql_compiler_diagnostic_count(const ql_compiler *compiler)
{
    return compiler ? compiler->diags.count : 0;
}

const ql_diagnostic *ql_compiler_diagnostic(const ql_compiler *compiler, size_t index)
{
    if (!compiler || index >= compiler->diags.count)
        return NULL;
    return &QL__VEC_AT(&compiler->diags, ql_diagnostic, index);
}

/* ------------------------------------------------------------ lifecycle */

ql_status ql_compiler_create(const ql_allocator *allocator, ql_compiler **out)
{
    if (!out)
        return QL_EINVAL;
    *out = NULL;
    ql_compiler *c = ql__calloc(allocator, 1, sizeof *c);
    if (!c)
        return QL_ENOMEM;
    if (allocator)
        c->allocator = *allocator;
    ql__vec_init(&c->rules, sizeof(ql__rule), QL__MAX_RULES);
    ql__vec_init(&c->exprs, sizeof(pending_expr), QL__MAX_RULES * 4);
    ql__vec_init(&c->diags, sizeof(ql_diagnostic), QL__MAX_DIAGNOSTICS);
    *out = c;
    return QL_OK;
}

static void wordlist_free(const ql_allocator *a, ql__wordlist *w)
{
    for (size_t i = 0; i < w->count; i++)
        ql__free(a, w->words[i]);
    ql__free(a, w->words);
    ql__free(a, w->lengths);
    memset(w, 0, sizeof *w);
}

static void rule_free(const ql_allocator *a, ql__rule *r)
{
    ql__free(a, r->id);
    ql__free(a, r->type);
    ql__free(a, r->category);
    ql__free(a, r->description);
    ql__free(a, r->source);
    wordlist_free(a, &r->context);
    wordlist_free(a, &r->negative);
    wordlist_free(a, &r->allow);
    pcre2_code_free(r->value_re);
    r->value_re = NULL;
}

static void pending_free(const ql_allocator *a, pending_expr *e)
{
    ql__free(a, e->pattern);
    ql__free(a, e->file);
}

/* Drops rules and expressions added after the given counts (a failed file). */
static void truncate_to(ql_compiler *c, size_t rules, size_t exprs)
{
    while (c->rules.count > rules)
        rule_free(&c->allocator, &QL__VEC_AT(&c->rules, ql__rule, --c->rules.count));
    while (c->exprs.count > exprs)
        pending_free(&c->allocator, &QL__VEC_AT(&c->exprs, pending_expr, --c->exprs.count));
}

void ql_compiler_destroy(ql_compiler *c)
{
    if (!c)
        return;
    truncate_to(c, 0, 0);
    for (size_t i = 0; i < c->diags.count; i++) {
        ql_diagnostic *d = &QL__VEC_AT(&c->diags, ql_diagnostic, i);
        ql__free(&c->allocator, (void *)d->file);
        ql__free(&c->allocator, (void *)d->message);
    }
    ql__vec_free(&c->allocator, &c->rules);
    ql__vec_free(&c->allocator, &c->exprs);
    ql__vec_free(&c->allocator, &c->diags);
    ql_allocator a = c->allocator;
    ql__free(&a, c);
}

/* ------------------------------------------------------------- parsing */

typedef struct parse_ctx {
    ql_compiler   *c;
    const char    *file;
    yaml_document_t *doc;
    int            errors;
    int            oom;
} parse_ctx;

static void perr(parse_ctx *p, const yaml_node_t *n, const char *fmt, const char *arg)
{
    p->errors++;
    diag(p->c, p->file, n ? (unsigned)n->start_mark.line + 1 : 0,
         n ? (unsigned)n->start_mark.column + 1 : 0, fmt, arg);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static char *dup_scalar(parse_ctx *p, const yaml_node_t *n, const char *what)
{
    const char *s = scalar(n);
    if (!s) {
        perr(p, n, "%s must be a string", what);
        return NULL;
    }
    char *d = ql__strndup(&p->c->allocator, s, n->data.scalar.length);
    if (!d)
        p->oom = 1;
    return d;
}

static int parse_number(parse_ctx *p, const yaml_node_t *n, const char *what,
                        double lo, double hi, double *out)
{
    const char *s = scalar(n);
    char *end = NULL;
    double v = s ? strtod(s, &end) : NAN;
    if (!s || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        char buf[96];
        snprintf(buf, sizeof buf, "%s must be a number from %g to %g", what, lo, hi);
        perr(p, n, "%s", buf);
        return 0;
    }
    *out = v;
    return 1;
}

/* A string or a list of strings, into a word list. */
static int parse_words(parse_ctx *p, yaml_node_t *n, const char *what, ql__wordlist *w)
{
    const ql_allocator *a = &p->c->allocator;
    yaml_node_item_t *begin = NULL, *end = NULL;
    size_t count = 1;
    if (n->type == YAML_SEQUENCE_NODE) {
        begin = n->data.sequence.items.start;
        end = n->data.sequence.items.top;
        count = (size_t)(end - begin);
    } else if (n->type != YAML_SCALAR_NODE) {
        perr(p, n, "%s must be a string or a list of strings", what);
        return 0;
    }
    if (count > QL__MAX_WORDS) {
        perr(p, n, "%s: too many entries (the limit is 4096)", what);
        return 0;
    }
    w->words = ql__calloc(a, count ? count : 1, sizeof *w->words);
    w->lengths = ql__calloc(a, count ? count : 1, sizeof *w->lengths);
    if (!w->words || !w->lengths) {
        p->oom = 1;
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = begin ? yaml_document_get_node(p->doc, begin[i]) : n;
        const char *s = scalar(item);
        if (!s || item->data.scalar.length == 0) {
            perr(p, item, "%s: every entry must be a non-empty string", what);
            return 0;
        }
        w->words[w->count] = ql__strndup(a, s, item->data.scalar.length);
        if (!w->words[w->count]) {
            p->oom = 1;
            return 0;
        }
        w->lengths[w->count] = item->data.scalar.length;
        w->count++;
    }
    return 1;
}

static int add_expr(parse_ctx *p, uint32_t rule, const yaml_node_t *n,
                    const char *pattern, size_t length, unsigned flags, int literal)
{
    pending_expr e;
    memset(&e, 0, sizeof e);
    e.rule = rule;
    e.flags = flags;
    e.literal = literal;
    e.line = (unsigned)n->start_mark.line + 1;
    e.column = (unsigned)n->start_mark.column + 1;
    if (literal) {
        /* Escape every byte that is not a plain letter, digit or
         * non-ASCII, so the keyword is matched as it is written. */
        char *q = ql__malloc(&p->c->allocator, length * 4 + 1);
        if (!q) {
            p->oom = 1;
            return 0;
        }
        size_t k = 0;
        for (size_t i = 0; i < length; i++) {
            unsigned char ch = (unsigned char)pattern[i];
            if ((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
                (ch >= 'a' && ch <= 'z') || ch >= 0x80) {
                q[k++] = (char)ch;
            } else {
                snprintf(q + k, 5, "\\x%02x", ch);
                k += 4;
            }
        }
        q[k] = '\0';
        e.pattern = q;
    } else {
        e.pattern = ql__strndup(&p->c->allocator, pattern, length);
    }
    e.file = ql__strdup(&p->c->allocator, p->file);
    if (!e.pattern || !e.file || ql__vec_push(&p->c->allocator, &p->c->exprs, &e) != QL_OK) {
        pending_free(&p->c->allocator, &e);
        p->oom = 1;
        return 0;
    }
    return 1;
}

/* Rejects syntax that would make results depend on where a window starts. */
static int regex_portable(parse_ctx *p, const yaml_node_t *n, const char *re, size_t len)
{
    int in_class = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = re[i];
        if (ch == '\\') {
            if (i + 1 < len && (re[i + 1] == 'A' || re[i + 1] == 'z' || re[i + 1] == 'Z')) {
                perr(p, n, "regex: anchors (\\A, \\z, \\Z) are not supported; use a boundary: setting", NULL);
                return 0;
            }
            i++;
            continue;
        }
        if (ch == '[')
            in_class = 1;
        else if (ch == ']')
            in_class = 0;
        else if (!in_class && (ch == '^' || ch == '$')) {
            perr(p, n, "regex: anchors (^ and $) are not supported; use a boundary: setting", NULL);
            return 0;
        }
    }
    return 1;
}

static const char *const rule_keys[] = {
    "id", "type", "category", "severity", "description", "regex", "keywords",
    "validator", "boundary", "confidence", "min_confidence", "context",
    "negative_context", "allow", "mask", "flags", "prefilter", "value", "span", NULL
};

static int known_key(const char *k, const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++)
        if (strcmp(k, keys[i]) == 0)
            return 1;
    return 0;
}

static int dotted_name_ok(const char *s, int allow_dots)
{
    if (!*s)
        return 0;
    for (const char *q = s; *q; q++) {
        char ch = *q;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              (ch == '.' && allow_dots) || (ch == '-' && allow_dots) ||
              (ch >= 'A' && ch <= 'Z' && allow_dots)))
            return 0;
    }
    return 1;
}

static void parse_words_block(parse_ctx *p, yaml_node_t *n, const char *what,
                              ql__wordlist *w, double *amount, const char *amount_key,
                              unsigned *window)
{
    if (n->type != YAML_MAPPING_NODE) {
        parse_words(p, n, what, w);
        return;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
        const char *ks = scalar(k);
        if (ks && strcmp(ks, "words") == 0)
            parse_words(p, v, what, w);
        else if (ks && strcmp(ks, amount_key) == 0)
            parse_number(p, v, amount_key, 0.0, 1.0, amount);
        else if (ks && window && strcmp(ks, "window") == 0) {
            double bytes;
            if (parse_number(p, v, "window", 1, QL__MAX_CONTEXT, &bytes))
                *window = (unsigned)bytes;
        } else
            perr(p, k, "unknown key '%s' (words, window or the amount)", ks);
    }
}

static void parse_rule(parse_ctx *p, yaml_node_t *n)
{
    const ql_allocator *a = &p->c->allocator;
    if (n->type != YAML_MAPPING_NODE) {
        perr(p, n, "a rule must be a mapping of keys to values", NULL);
        return;
    }
    ql__rule r;
    memset(&r, 0, sizeof r);
    r.severity = QL_SEVERITY_MEDIUM;
    r.confidence = 0.8;
    r.min_confidence = 0.5;
    r.context_boost = 0.2;
    r.negative_penalty = 0.4;
    r.boundary = QL__BOUNDARY_NONE;
    r.mask_style = QL__MASK_CHARS;
    r.mask_head = -1;
    r.mask_tail = -1;
    r.context_window = QL__CONTEXT_BEFORE;
    int errors_before = p->errors;
    uint32_t index = (uint32_t)p->c->rules.count;
    size_t exprs_before = p->c->exprs.count;
    yaml_node_t *regex = NULL, *keywords = NULL, *flags_node = NULL, *value_node = NULL;
    yaml_node_t *prefilter_node = NULL;
    unsigned flags = 0;
    int have_mask_style = 0;

    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
        const char *ks = scalar(k);
        if (!ks || !known_key(ks, rule_keys)) {
            perr(p, k, "unknown rule key '%s'", ks);
            continue;
        }
        /* A key given twice would silently keep the last value. */
        int repeated = 0;
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < pr && !repeated; q++) {
            const char *qk = scalar(yaml_document_get_node(p->doc, q->key));
            repeated = qk && strcmp(qk, ks) == 0;
        }
        if (repeated) {
            perr(p, k, "duplicate key '%s' in a rule", ks);
            continue;
        }
        if (strcmp(ks, "id") == 0) {
            r.id = dup_scalar(p, v, "id");
            if (r.id && !dotted_name_ok(r.id, 1))
                perr(p, v, "id '%s' may hold only letters, digits, '_', '-' and '.'", r.id);
        } else if (strcmp(ks, "type") == 0) {
            r.type = dup_scalar(p, v, "type");
            if (r.type && !dotted_name_ok(r.type, 0))
                perr(p, v, "type '%s' must be snake_case (a-z, 0-9, _)", r.type);
        } else if (strcmp(ks, "category") == 0) {
            r.category = dup_scalar(p, v, "category");
        } else if (strcmp(ks, "description") == 0) {
            r.description = dup_scalar(p, v, "description");
        } else if (strcmp(ks, "severity") == 0) {
            const char *s = scalar(v);
            int found = 0;
            for (int i = QL_SEVERITY_INFO; s && i <= QL_SEVERITY_CRITICAL; i++)
                if (strcmp(s, ql_severity_name((ql_severity)i)) == 0) {
                    r.severity = (ql_severity)i;
                    found = 1;
                }
            if (!found)
                perr(p, v, "severity '%s' is not one of info, low, medium, high, critical", s);
        } else if (strcmp(ks, "regex") == 0) {
            regex = v;
        } else if (strcmp(ks, "keywords") == 0) {
            keywords = v;
        } else if (strcmp(ks, "flags") == 0) {
            flags_node = v;
        } else if (strcmp(ks, "validator") == 0) {
            const char *s = scalar(v);
            r.validator = s ? ql__validator_lookup(s) : QL__V_COUNT;
            if (r.validator == QL__V_COUNT)
                perr(p, v, "unknown validator '%s' (see docs/rules.md)", s);
        } else if (strcmp(ks, "boundary") == 0) {
            static const char *const names[] = {"none", "digit", "alnum", "word", "token", "nonspace"};
            const char *s = scalar(v);
            int found = 0;
            for (int i = 0; s && i < 6; i++)
                if (strcmp(s, names[i]) == 0) {
                    r.boundary = (ql__boundary)i;
                    found = 1;
                }
            if (!found)
                perr(p, v, "boundary '%s' is not one of none, digit, alnum, word, token, nonspace", s);
        } else if (strcmp(ks, "confidence") == 0) {
            parse_number(p, v, "confidence", 0.0, 1.0, &r.confidence);
        } else if (strcmp(ks, "min_confidence") == 0) {
            parse_number(p, v, "min_confidence", 0.0, 1.0, &r.min_confidence);
        } else if (strcmp(ks, "context") == 0) {
            parse_words_block(p, v, "context", &r.context, &r.context_boost, "boost",
                              &r.context_window);
        } else if (strcmp(ks, "negative_context") == 0) {
            parse_words_block(p, v, "negative_context", &r.negative, &r.negative_penalty, "penalty",
                              NULL);
        } else if (strcmp(ks, "allow") == 0) {
            parse_words(p, v, "allow", &r.allow);
        } else if (strcmp(ks, "value") == 0) {
            value_node = v;
        } else if (strcmp(ks, "span") == 0) {
            const char *sp = scalar(v);
            if (sp && strcmp(sp, "whole") == 0)
                r.span_whole = 1;
            else if (!sp || strcmp(sp, "value") != 0)
                perr(p, v, "span '%s' is not one of value, whole", sp);
        } else if (strcmp(ks, "prefilter") == 0) {
            const char *pf = scalar(v);
            if (pf && strcmp(pf, "numeric") == 0)
                r.prefilter = QL__PREFILTER_NUMERIC;
            else if (pf && strcmp(pf, "hexcolon") == 0)
                r.prefilter = QL__PREFILTER_HEXCOLON;
            else if (!pf || strcmp(pf, "matcher") != 0)
                perr(p, v, "prefilter '%s' is not one of matcher, numeric, hexcolon", pf);
            prefilter_node = v;
        } else if (strcmp(ks, "mask") == 0) {
            if (v->type != YAML_MAPPING_NODE) {
                perr(p, v, "mask must be a mapping (style, head, tail)", NULL);
                continue;
            }
            for (yaml_node_pair_t *mp = v->data.mapping.pairs.start; mp < v->data.mapping.pairs.top; mp++) {
                yaml_node_t *mk = yaml_document_get_node(p->doc, mp->key);
                yaml_node_t *mv = yaml_document_get_node(p->doc, mp->value);
                const char *mks = scalar(mk);
                double num;
                if (mks && strcmp(mks, "style") == 0) {
                    int ok = 0;
                    const char *s = scalar(mv);
                    r.mask_style = s ? ql__mask_style_lookup(s, &ok) : QL__MASK_CHARS;
                    if (!ok)
                        perr(p, mv, "unknown mask style '%s'", s);
                    have_mask_style = 1;
                } else if (mks && strcmp(mks, "head") == 0) {
                    if (parse_number(p, mv, "head", 0, 64, &num))
                        r.mask_head = (int)num;
                } else if (mks && strcmp(mks, "tail") == 0) {
                    if (parse_number(p, mv, "tail", 0, 64, &num))
                        r.mask_tail = (int)num;
                } else {
                    perr(p, mk, "unknown mask key '%s' (style, head, tail)", mks);
                }
            }
        }
    }

    if (r.prefilter == QL__PREFILTER_HEXCOLON && r.validator != QL__V_IPV6)
        perr(p, prefilter_node, "prefilter hexcolon is only for the ipv6 validator%s", "");
    if (!r.id)
        perr(p, n, "rule has no id", NULL);
    if (!r.type)
        perr(p, n, "rule has no type", NULL);
    if (!r.category && !p->oom)
        r.category = ql__strdup(a, "custom");
    if (!r.description && !p->oom)
        r.description = ql__strdup(a, "");
    r.source = ql__strdup(a, p->file);
    if (!r.category || !r.description || !r.source)
        p->oom = 1;
    if (!regex && !keywords)
        perr(p, n, "rule needs a regex or keywords", NULL);
    for (size_t i = 0; r.id && i < p->c->rules.count; i++)
        if (strcmp(QL__VEC_AT(&p->c->rules, ql__rule, i).id, r.id) == 0)
            perr(p, n, "duplicate rule id '%s'", r.id);

    if (flags_node) {
        ql__wordlist fl;
        memset(&fl, 0, sizeof fl);
        if (parse_words(p, flags_node, "flags", &fl)) {
            for (size_t i = 0; i < fl.count; i++) {
                if (strcmp(fl.words[i], "caseless") == 0)
                    flags |= HS_FLAG_CASELESS;
                else if (strcmp(fl.words[i], "dotall") == 0)
                    flags |= HS_FLAG_DOTALL;
                else
                    perr(p, flags_node, "unknown flag '%s' (caseless, dotall)", fl.words[i]);
            }
        }
        wordlist_free(a, &fl);
    }

    /* Defaults for masking come from the built-in table for known types. */
    if (r.type) {
        ql__mask_style st;
        int h, t;
        if (ql__mask_defaults(r.type, &st, &h, &t)) {
            if (!have_mask_style)
                r.mask_style = st;
            if (r.mask_head < 0)
                r.mask_head = h;
            if (r.mask_tail < 0)
                r.mask_tail = t;
        }
    }
    if (r.mask_head < 0)
        r.mask_head = 2;
    if (r.mask_tail < 0)
        r.mask_tail = 2;

    if (value_node && !p->oom) {
        const char *vs = scalar(value_node);
        if (!vs) {
            perr(p, value_node, "value must be a regular expression string", NULL);
        } else {
            int errcode;
            PCRE2_SIZE erroff;
            uint32_t options = PCRE2_ANCHORED | PCRE2_DUPNAMES;
            if (flags & HS_FLAG_CASELESS)
                options |= PCRE2_CASELESS;
            if (flags & HS_FLAG_DOTALL)
                options |= PCRE2_DOTALL;
            r.value_re = pcre2_compile((PCRE2_SPTR)vs, value_node->data.scalar.length, options,
                                       &errcode, &erroff, NULL);
            if (!r.value_re) {
                PCRE2_UCHAR buf[256];
                pcre2_get_error_message(errcode, buf, sizeof buf);
                p->errors++;
                diag(p->c, p->file, (unsigned)value_node->start_mark.line + 1,
                     (unsigned)(value_node->start_mark.column + 1 + erroff),
                     "value: %s", (const char *)buf);
            } else {
                pcre2_jit_compile(r.value_re, PCRE2_JIT_COMPLETE);
                int g = pcre2_substring_number_from_name(r.value_re, (PCRE2_SPTR) "value");
                r.value_group = g > 0 ? g : 0;
            }
        }
    } else if (r.span_whole) {
        perr(p, n, "span: whole needs a value: pattern", NULL);
    }

    if (regex) {
        ql__wordlist rl;
        memset(&rl, 0, sizeof rl);
        if (parse_words(p, regex, "regex", &rl)) {
            for (size_t i = 0; i < rl.count; i++) {
                if (!regex_portable(p, regex, rl.words[i], rl.lengths[i]))
                    continue;
                add_expr(p, index, regex, rl.words[i], rl.lengths[i], flags, 0);
            }
        }
        wordlist_free(a, &rl);
    }
    if (keywords) {
        ql__wordlist kl;
        memset(&kl, 0, sizeof kl);
        if (parse_words(p, keywords, "keywords", &kl))
            for (size_t i = 0; i < kl.count; i++)
                add_expr(p, index, keywords, kl.words[i], kl.lengths[i], flags, 1);
        wordlist_free(a, &kl);
    }

    if (p->errors != errors_before || p->oom ||
        ql__vec_push(a, &p->c->rules, &r) != QL_OK) {
        if (!p->oom && p->errors == errors_before)
            p->oom = 1;
        rule_free(a, &r);
        truncate_to(p->c, p->c->rules.count, exprs_before);
    }
}

ql_status ql_compiler_add_rules(ql_compiler *c, const char *name,
                                const uint8_t *text, size_t length)
{
    if (!c || (!text && length))
        return QL_EINVAL;
    if (length > QL__MAX_RULE_TEXT) {
        diag(c, name, 0, 0, "rule file is larger than 64 MiB%s", "");
        return QL_ELIMIT;
    }
    if (!ql__utf8_valid(text, length, 0)) {
        unsigned line = 1, column = 1;
        size_t bad = ql__utf8_first_invalid(text, length);
        for (size_t i = 0; i < bad; i++) {
            if (text[i] == '\n') {
                line++;
                column = 1;
            } else if ((text[i] & 0xC0) != 0x80) {
                column++;
            }
        }
        diag(c, name, line, column, "rule file is not valid UTF-8 (byte 0x%s)", NULL);
        char hex[8];
        snprintf(hex, sizeof hex, "%02X", bad < length ? text[bad] : 0);
        ql_diagnostic *d = &QL__VEC_AT(&c->diags, ql_diagnostic, c->diags.count - 1);
        char msg[96];
        snprintf(msg, sizeof msg, "rule file is not valid UTF-8 (byte 0x%s)", hex);
        ql__free(&c->allocator, (void *)d->message);
        d->message = ql__strdup(&c->allocator, msg);
        return QL_ERULE;
    }
    /* libyaml takes time quadratic in the nesting of flow collections
     * ([[[[...); no rule file needs more than a few levels. */
    {
        unsigned depth = 0, line = 1, column = 1;
        char quote = 0;
        int comment = 0;
        for (size_t i = 0; i < length; i++) {
            uint8_t ch = text[i];
            if (ch == '\n') {
                line++;
                column = 1;
                comment = 0;
                continue;
            }
            if ((ch & 0xC0) != 0x80)
                column++;
            if (comment)
                continue;
            if (quote) {
                if (ch == (uint8_t)quote)
                    quote = 0;
                continue;
            }
            if (ch == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t'))
                comment = 1;
            else if (ch == '\'' || ch == '"')
                quote = (char)ch;
            else if (ch == '[' || ch == '{')
                depth++;
            else if ((ch == ']' || ch == '}') && depth)
                depth--;
            if (depth > 32) {
                diag(c, name, line, column - 1, "YAML: collections nested deeper than 32 levels%s", "");
                return QL_ERULE;
            }
        }
    }
    size_t rules_before = c->rules.count, exprs_before = c->exprs.count;
    parse_ctx p;
    memset(&p, 0, sizeof p);
    p.c = c;
    p.file = name ? name : "<rules>";

    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return QL_ENOMEM;
    yaml_parser_set_input_string(&parser, text, length);
    if (!yaml_parser_load(&parser, &doc)) {
        diag(c, p.file, (unsigned)parser.problem_mark.line + 1,
             (unsigned)parser.problem_mark.column + 1, "YAML: %s",
             parser.problem ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        return QL_ERULE;
    }
    p.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    yaml_node_t *list = NULL;
    if (!root) {
        diag(c, p.file, 1, 1, "empty rule file: expected 'rules:' with a list of rules%s", "");
        p.errors++;
    } else if (root->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
            yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
            const char *ks = scalar(k);
            if (ks && strcmp(ks, "rules") == 0)
                list = yaml_document_get_node(&doc, pr->value);
            else if (!ks || strcmp(ks, "version") != 0)
                perr(&p, k, "unknown top-level key '%s' (expected rules)", ks);
        }
        if (!list)
            perr(&p, root, "no 'rules:' list in the file", NULL);
    } else {
        perr(&p, root, "expected a mapping with a 'rules:' list", NULL);
    }
    if (list && list->type != YAML_SEQUENCE_NODE) {
        perr(&p, list, "'rules' must be a list", NULL);
        list = NULL;
    }
    if (list) {
        for (yaml_node_item_t *it = list->data.sequence.items.start;
             it < list->data.sequence.items.top && !p.oom; it++)
            parse_rule(&p, yaml_document_get_node(&doc, *it));
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);

    if (p.errors || p.oom) {
        truncate_to(c, rules_before, exprs_before);
        return p.oom ? QL_ENOMEM : QL_ERULE;
    }
    return QL_OK;
}

ql_status ql_compiler_add_builtin(ql_compiler *c)
{
    if (!c)
        return QL_EINVAL;
    if (c->builtin_added)
        return QL_OK;
    for (size_t i = 0; i < ql__builtin_pack_count; i++) {
        char name[128];
        snprintf(name, sizeof name, "builtin:%s", ql__builtin_packs[i].name);
        ql_status st = ql_compiler_add_rules(c, name, ql__builtin_packs[i].data,
                                             ql__builtin_packs[i].size);
        if (st != QL_OK)
            return st;
    }
    c->builtin_added = 1;
    return QL_OK;
}

/* ------------------------------------------------------------ compiling */

void ql_rules_destroy(ql_rules *r)
{
    if (!r)
        return;
    ql_allocator a = r->allocator;
    for (size_t i = 0; i < r->rule_count; i++)
        rule_free(&a, &r->rules[i]);
    for (size_t i = 0; i < r->expr_count; i++)
        pcre2_code_free(r->exprs[i].start_re);
    ql__free(&a, r->rules);
    ql__free(&a, r->exprs);
    hs_free_database(r->db);
    ql__numeric_index_free(r);
    ql__free(&a, r->gb2);
    ql__free(&a, r->gb4);
    ql__free(&a, r);
}

/* Validators that find their own span also bound it themselves. */
static uint32_t validator_span(ql__validator_id v)
{
    switch (v) {
    case QL__V_PRIVATE_KEY: return QL__MAX_SPAN;
    case QL__V_CN_MOBILE:   return 32;
    case QL__V_BANK_CARD:   return 40;
    case QL__V_EMAIL:       return 320;
    case QL__V_IPV6:        return 64;
    case QL__V_IPV4:        return 24;
    case QL__V_HK_ID:       return 16;
    case QL__V_CN_PLATE:    return 32;
    default:                return 0;
    }
}

ql_status ql_compiler_compile(ql_compiler *c, ql_rules **out)
{
    if (!c || !out)
        return QL_EINVAL;
    *out = NULL;
    const ql_allocator *a = &c->allocator;
    ql_status st = QL_OK;
    size_t n = c->exprs.count;
    const char **patterns = NULL;
    unsigned *flags = NULL, *ids = NULL;

    ql_rules *r = ql__calloc(a, 1, sizeof *r);
    if (!r)
        return QL_ENOMEM;
    r->allocator = c->allocator;
    r->rules = ql__calloc(a, c->rules.count ? c->rules.count : 1, sizeof *r->rules);
    r->exprs = ql__calloc(a, n ? n : 1, sizeof *r->exprs);
    patterns = ql__calloc(a, n + 1, sizeof *patterns);
    flags = ql__calloc(a, n + 1, sizeof *flags);
    ids = ql__calloc(a, n + 1, sizeof *ids);
    if (!r->rules || !r->exprs || !patterns || !flags || !ids) {
        st = QL_ENOMEM;
        goto out;
    }

    uint32_t max_span = 64;
    size_t nhs = 0;
    /* Set now so that a failure below frees the PCRE2 codes made so far. */
    r->expr_count = n;
    for (size_t i = 0; i < n; i++) {
        pending_expr *pe = &QL__VEC_AT(&c->exprs, pending_expr, i);
        const ql__rule *rule = &QL__VEC_AT(&c->rules, ql__rule, pe->rule);
        ql__expr *e = &r->exprs[i];
        e->rule = pe->rule;
        e->literal = pe->literal;
        e->numeric = rule->prefilter != QL__PREFILTER_MATCHER;
        hs_expr_info_t *info = NULL;
        hs_compile_error_t *err = NULL;
        int spanning = ql__self_spanning(rule->validator);
        if (hs_expression_info(pe->pattern, pe->flags, &info, &err) != HS_SUCCESS) {
            /* A prefiltered rule whose validator finds the span uses its
             * regex only in PCRE2, to confirm the span: Vectorscan's
             * dialect does not bind it (back-references are fine). */
            hs_free_compile_error(err);
            err = NULL;
            if (!(e->numeric && spanning)) {
                hs_expression_info(pe->pattern, pe->flags, &info, &err);
                diag(c, pe->file, pe->line, pe->column, "regex: %s", err ? err->message : "invalid");
                hs_free_compile_error(err);
                st = QL_EREGEX;
                continue;
            }
            e->min_width = 1;
            e->max_width = QL__MAX_SPAN;
        } else {
            if (info->min_width == 0) {
                diag(c, pe->file, pe->line, pe->column, "regex: matches the empty string%s", "");
                st = QL_EREGEX;
            }
            e->min_width = info->min_width;
            e->max_width = info->max_width > QL__MAX_SPAN ? QL__MAX_SPAN : info->max_width;
            free(info);
        }
        e->fixed = e->min_width == e->max_width;

        int errcode;
        PCRE2_SIZE erroff;
        /* The value group (if any) names the reported part of a match. */
        int has_value = strstr(pe->pattern, "(?<value>") != NULL;
        if (e->numeric && !spanning &&
            (!e->fixed || e->max_width > QL__NUMERIC_MAX_WIDTH)) {
            diag(c, pe->file, pe->line, pe->column,
                 "a prefilter needs fixed-width regexes (at most 64 bytes) or a span-finding validator%s", "");
            st = QL_ERULE;
            continue;
        }
        if (!e->fixed || has_value || e->numeric) {
            size_t plen = strlen(pe->pattern);
            char *wrapped = ql__malloc(a, plen + 16);
            if (!wrapped) {
                st = QL_ENOMEM;
                goto out;
            }
            snprintf(wrapped, plen + 16, "(?:%s)\\z", pe->pattern);
            uint32_t options = PCRE2_DUPNAMES;
            if (pe->flags & HS_FLAG_CASELESS)
                options |= PCRE2_CASELESS;
            if (pe->flags & HS_FLAG_DOTALL)
                options |= PCRE2_DOTALL;
            e->start_re = pcre2_compile((PCRE2_SPTR)wrapped, PCRE2_ZERO_TERMINATED,
                                        options, &errcode, &erroff, NULL);
            ql__free(a, wrapped);
            if (!e->start_re) {
                PCRE2_UCHAR buf[256];
                pcre2_get_error_message(errcode, buf, sizeof buf);
                diag(c, pe->file, pe->line, pe->column + (unsigned)(erroff > 3 ? erroff - 3 : 0),
                     "regex: %s", (const char *)buf);
                st = QL_EREGEX;
                continue;
            }
            pcre2_jit_compile(e->start_re, PCRE2_JIT_COMPLETE);
            if (has_value) {
                int g = pcre2_substring_number_from_name(e->start_re, (PCRE2_SPTR) "value");
                e->value_group = g > 0 ? g : 0;
            }
        }
        uint32_t span = e->max_width;
        uint32_t vs = validator_span(rule->validator);
        if (vs > span)
            span = vs;
        if (span > max_span)
            max_span = span;
        if (!e->numeric) {
            patterns[nhs] = pe->pattern;
            flags[nhs] = pe->flags;
            ids[nhs] = (unsigned)i;
            nhs++;
        }
    }
    if (st != QL_OK)
        goto out;
    hs_compile_error_t *err = NULL;
    if (nhs && hs_compile_multi(patterns, flags, ids, (unsigned)nhs, HS_MODE_BLOCK, NULL,
                                &r->db, &err) != HS_SUCCESS) {
        unsigned bad = err && err->expression >= 0 ? ids[err->expression] : (unsigned)n;
        if (bad < n) {
            pending_expr *pe = &QL__VEC_AT(&c->exprs, pending_expr, bad);
            diag(c, pe->file, pe->line, pe->column, "regex: %s", err->message);
        } else {
            diag(c, NULL, 0, 0, "matcher: %s", err ? err->message : "compile failed");
        }
        hs_free_compile_error(err);
        st = QL_EREGEX;
        goto out;
    }

    /* Rules move from the compiler to the rule set: the compiler keeps
     * nothing it would free twice. */
    if (c->rules.count)
        memcpy(r->rules, c->rules.items, c->rules.count * sizeof(ql__rule));
    r->rule_count = c->rules.count;
    for (size_t i = 0; i < n; i++) {
        ql__rule *ru = &r->rules[r->exprs[i].rule];
        if (ru->expr_count++ == 0)
            ru->first_expr = (uint32_t)i;
    }
    c->rules.count = 0;
    r->expr_count = n;
    r->max_span = max_span;
    uint32_t context = QL__CONTEXT_BEFORE;
    for (size_t i = 0; i < r->rule_count; i++)
        if (r->rules[i].context_window > context)
            context = r->rules[i].context_window;
    r->margin = 3 * max_span + context + 16;
    st = ql__numeric_index_build(r);
    if (st == QL_OK)
        st = ql__gb18030_tables(r);
    if (st != QL_OK)
        goto out;
    truncate_to(c, 0, 0);
    c->builtin_added = 0;

out:
    ql__free(a, patterns);
    ql__free(a, flags);
    ql__free(a, ids);
    if (st != QL_OK) {
        if (r && r->rule_count == 0 && r->rules)
            r->rule_count = 0;
        ql_rules_destroy(r);
        return st;
    }
    *out = r;
    return QL_OK;
}

size_t ql_rules_count(const ql_rules *rules)
{
    return rules ? rules->rule_count : 0;
}

ql_status ql_rules_info(const ql_rules *rules, size_t index, ql_rule_info *out)
{
    if (!rules || !out || index >= rules->rule_count)
        return QL_EINVAL;
    const ql__rule *r = &rules->rules[index];
    out->id = r->id;
    out->type = r->type;
    out->category = r->category;
    out->severity = r->severity;
    out->description = r->description;
    out->source = r->source;
    return QL_OK;
}
