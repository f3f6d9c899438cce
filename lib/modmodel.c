/*
 * modmodel.c — the moderation model: a linear classifier of wording
 * behind the lexicons (docs/moderate.md "Model").
 *
 * The lexicons catch words; harmful messages written by others often
 * name none ("初二的妹妹想要皮肤吗，放学后来找哥哥").  The model reads the
 * same folded view as the lexicons (lib/moderate.c: width, case,
 * traditional -> simplified, look-alikes; noise skipped, repeats
 * collapsed) as a sequence of units — a Chinese or other character, or a
 * whole Latin word (numbers by their length) — and scores each unit and
 * each pair of neighbouring units by hashed weights, one int8 per class,
 * eight classes to a 64-bit entry.  A message is read in windows of 64
 * units; a window's score is the sum of its units' weights, and the
 * message's is its best window's: the category that beats "benign" by the
 * most, in log-odds.  One load per unit and per pair, a few additions: it
 * costs about what the lexicon matcher does (docs/bench.md).
 *
 * Training (ql_model_trainer, `qinglang model train`, and the build from
 * data/moderate/) is multinomial logistic regression over whole messages
 * with AdaGrad and a fixed shuffle; the weights are then scaled to int8.
 * The feature hashing follows Vowpal Wabbit's; no Debian package offers a
 * small C classifier with a streaming, chunk-invariant reader, so this is
 * written here (docs/moderate.md says why).
 */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "moderate.h"
#include "modmodel.h"

#define MM_MAGIC   "QLMM"
#define MM_VERSION 1u
#define MM_HEADER  (4 + 4 * 5 + 8 * 2 + 4 * QL__MM_CLASSES)
#define MM_TAG_PAIR 0x5bd1e9955bd1e995ull

/* The built-in model (generated at build time; empty in the tool that
 * generates it). */
extern const unsigned char ql__model_builtin[];
extern const size_t        ql__model_builtin_len;

static inline uint64_t mix64(uint64_t x)
{
    /* splitmix64's finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* ------------------------------------------------------------ reading */

static void evaluate(ql__mm *s, uint64_t start, uint64_t end)
{
    const ql_model *m = s->model;
    int64_t best = INT64_MIN;
    unsigned bc = 0;
    for (unsigned c = 1; c < m->classes; c++) {
        int64_t v = (int64_t)s->sum[c] - s->sum[0] + m->bias[c];
        if (v > best) {
            best = v;
            bc = c;
        }
    }
    if (best > s->best) {
        s->best = best;
        s->best_class = bc;
        s->best_start = start;
        s->best_end = end;
    }
}

/* Adds a unit's weights (its own and its pair's) to the window. */
static void score(ql__mm *s, uint32_t fu, uint32_t fp, int pair, uint64_t start, uint64_t end)
{
    const int8_t *wu = s->model->w + (size_t)fu * QL__MM_CLASSES;
    const int8_t *wp = s->model->w + (size_t)(pair ? fp : fu) * QL__MM_CLASSES;
    const int mul = pair;     /* no pair: its weights count zero times */
    unsigned slot = (unsigned)(s->n & (QL__MM_WINDOW - 1));
    int16_t *r = s->ring[slot];
    /* one pass, in registers (a per-unit array would be stored and
     * loaded again: a store-forwarding stall) */
    if (s->n >= QL__MM_WINDOW) {
        for (unsigned k = 0; k < QL__MM_CLASSES; k++) {
            int16_t v = (int16_t)(wu[k] + mul * wp[k]);
            s->sum[k] += v - r[k];
            r[k] = v;
        }
    } else {
        for (unsigned k = 0; k < QL__MM_CLASSES; k++) {
            int16_t v = (int16_t)(wu[k] + mul * wp[k]);
            s->sum[k] += v;
            r[k] = v;
        }
    }
    s->ring_start[slot] = start;
    s->n++;
    s->last_end = end;
    if (s->n >= QL__MM_WINDOW)
        evaluate(s, s->ring_start[s->n & (QL__MM_WINDOW - 1)], end);
}

static void unit(ql__mm *s, uint32_t id, uint64_t start, uint64_t end)
{
    const unsigned shift = 64 - s->bits;
    uint32_t fu = (uint32_t)(mix64(id) >> shift);
    int pair = s->prev != 0;
    uint32_t fp = pair ? (uint32_t)(mix64(((uint64_t)s->prev << 32 | id) ^ MM_TAG_PAIR) >> shift) : 0;
    s->prev = id;
    if (s->train) {
        if (ql__vec_push(s->train_alloc, s->train, &fu) != QL_OK ||
            (pair && ql__vec_push(s->train_alloc, s->train, &fp) != QL_OK))
            s->error = 1;
        return;
    }
    score(s, fu, fp, pair, start, end);
}

/* The Latin word read so far is a unit: letters by their hash, numbers
 * and mixed words (phone numbers, ids) by their length. */
static void word_end(ql__mm *s)
{
    unsigned len = s->wlen < 16 ? s->wlen : 16;
    uint32_t id = s->wdig == s->wlen ? 0x40000000u | len
                : s->wdig ? 0x40000100u | len
                : 0x80000000u | (uint32_t)(s->wh >> 33);
    s->wlen = 0;
    s->wdig = 0;
    if (id != s->prev)
        unit(s, id, s->wstart, s->wend);
}

static inline void mm_cp(ql__mm *s, uint32_t cp, uint64_t start, uint64_t end)
{
    uint32_t e = cp < 0x10000 ? s->fold[cp] : ql__fold_entry(cp);
    unsigned cls = FOLD_CLASS(e);
    uint32_t f = FOLD_CP(e);
    if (cls & C_NOISE) {
        if (s->wlen)
            word_end(s);
        return;
    }
    if (cls & C_WORD) {
        if (!s->wlen) {
            s->wstart = start;
            s->wh = 0xcbf29ce484222325ull;
        }
        s->wh = (s->wh ^ f) * 0x100000001b3ull;
        s->wlen++;
        s->wdig += (cls & C_DIGIT) != 0;
        s->wend = end;
        return;
    }
    if (s->wlen)
        word_end(s);
    if (f != s->prev)      /* repeats collapse: 傻傻傻 is 傻 */
        unit(s, f, start, end);
}

void ql__mm_begin(ql__mm *s, const ql_model *model)
{
    ql__vec *train = s->train;
    const ql_allocator *ta = s->train_alloc;
    unsigned bits = s->bits;
    memset(s, 0, offsetof(ql__mm, ring));
    s->model = model;
    s->train = train;
    s->train_alloc = ta;
    s->bits = model ? model->bits : bits;
    s->best = INT64_MIN;
    if (model || train)
        s->fold = ql__fold_table();
}

void ql__mm_write(ql__mm *s, const uint8_t *p, size_t n, uint64_t base)
{
    if (!s->model && !s->train)
        return;
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        if (s->need == 0) {
            if (b < 0x80) {
                mm_cp(s, b, base + i, base + i + 1);
                i++;
                continue;
            }
            if ((b & 0xF0) == 0xE0 && i + 2 < n && (p[i + 1] & 0xC0) == 0x80 &&
                (p[i + 2] & 0xC0) == 0x80) {
                /* the common case, what the byte-wise way below gives */
                uint32_t cp = ((uint32_t)(b & 0x0F) << 12) | ((uint32_t)(p[i + 1] & 0x3F) << 6) |
                              (p[i + 2] & 0x3F);
                mm_cp(s, cp, base + i, base + i + 3);
                i += 3;
                continue;
            }
            if (b >= 0xC2 && b <= 0xDF) {
                s->need = 1;
                s->cp = b & 0x1F;
            } else if (b >= 0xE0 && b <= 0xEF) {
                s->need = 2;
                s->cp = b & 0x0F;
            } else if (b >= 0xF0 && b <= 0xF4) {
                s->need = 3;
                s->cp = b & 0x07;
            } else {
                mm_cp(s, 0xFFFD, base + i, base + i + 1);   /* not UTF-8: noise */
                i++;
                continue;
            }
            s->cp_start = base + i;
            i++;
            continue;
        }
        if ((b & 0xC0) != 0x80) {
            /* a cut sequence is noise; this byte starts again */
            mm_cp(s, 0xFFFD, s->cp_start, base + i);
            s->need = 0;
            continue;
        }
        s->cp = (s->cp << 6) | (b & 0x3F);
        i++;
        if (--s->need == 0) {
            uint32_t cp = s->cp;
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                cp = 0xFFFD;
            mm_cp(s, cp, s->cp_start, base + i);
        }
    }
}

void ql__mm_finish(ql__mm *s)
{
    if (!s->model && !s->train)
        return;
    if (s->need) {
        mm_cp(s, 0xFFFD, s->cp_start, s->cp_start + 1);
        s->need = 0;
    }
    if (s->wlen)
        word_end(s);
    if (s->model && s->n > 0 && s->n < QL__MM_WINDOW)
        evaluate(s, s->ring_start[0], s->last_end);
}

double ql__mm_margin(const ql__mm *s)
{
    if (!s->model || s->best == INT64_MIN)
        return -INFINITY;
    return (double)s->best * s->model->scale;
}

/* ------------------------------------------------------------ the file */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void putd(uint8_t *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static double getd(const uint8_t *p)
{
    uint64_t v = (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
    double d;
    memcpy(&d, &v, 8);
    return d;
}

static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Reads a model; `copy` 0 keeps pointing into `data` (the built-in). */
static ql_status model_read(const uint8_t *d, size_t len, int copy, const ql_allocator *allocator,
                            ql_model **out)
{
    if ((!d && len) || !out)
        return QL_EINVAL;
    *out = NULL;
    if (len < MM_HEADER || memcmp(d, MM_MAGIC, 4) != 0 || get32(d + 4) != MM_VERSION)
        return QL_ERULE;
    unsigned bits = get32(d + 8), classes = get32(d + 12), window = get32(d + 16);
    if (bits < 12 || bits > 22 || classes < 2 || classes > QL__MM_CLASSES ||
        window != QL__MM_WINDOW || get32(d + 20) != 0)
        return QL_ERULE;
    double scale = getd(d + 24), threshold = getd(d + 32);
    if (!(scale > 0 && scale < 1e6) || !(threshold > -1e6 && threshold < 1e6))
        return QL_ERULE;
    ql_allocator a = {0};
    if (allocator)
        a = *allocator;
    ql_model *m = ql__calloc(&a, 1, sizeof *m);
    if (!m)
        return QL_ENOMEM;
    m->allocator = a;
    m->bits = bits;
    m->classes = classes;
    m->scale = scale;
    m->threshold = threshold;
    for (unsigned c = 0; c < QL__MM_CLASSES; c++) {
        uint32_t v = get32(d + 40 + 4 * c);
        m->bias[c] = (int32_t)v;
        if (m->bias[c] < -(1 << 24) || m->bias[c] > (1 << 24))
            goto bad;
    }
    size_t pos = MM_HEADER;
    for (unsigned c = 0; c < classes; c++) {
        if (pos >= len)
            goto bad;
        size_t n = d[pos++];
        if (n > len - pos || !valid_name((const char *)d + pos, n))
            goto bad;
        m->names[c] = ql__strndup(&a, (const char *)d + pos, n);
        if (!m->names[c]) {
            ql_model_destroy(m);
            return QL_ENOMEM;
        }
        pos += n;
    }
    size_t wlen = ((size_t)1 << bits) * QL__MM_CLASSES;
    if (len - pos != wlen)
        goto bad;
    if (copy) {
        m->weights = ql__malloc(&a, wlen);
        if (!m->weights) {
            ql_model_destroy(m);
            return QL_ENOMEM;
        }
        memcpy(m->weights, d + pos, wlen);
        m->w = m->weights;
    } else {
        m->w = (const int8_t *)(d + pos);
    }
    *out = m;
    return QL_OK;
bad:
    ql_model_destroy(m);
    return QL_ERULE;
}

ql_status ql_model_load(const uint8_t *data, size_t length, const ql_allocator *allocator,
                        ql_model **out)
{
    return model_read(data, length, 1, allocator, out);
}

ql_status ql_model_load_builtin(const ql_allocator *allocator, ql_model **out)
{
    if (!out)
        return QL_EINVAL;
    *out = NULL;
    if (ql__model_builtin_len == 0)
        return QL_ESTATE;      /* the generator itself: none yet */
    return model_read(ql__model_builtin, ql__model_builtin_len, 0, allocator, out);
}

void ql_model_destroy(ql_model *m)
{
    if (!m)
        return;
    const ql_allocator a = m->allocator;
    for (unsigned c = 0; c < QL__MM_CLASSES; c++)
        ql__free(&a, m->names[c]);
    ql__free(&a, m->weights);
    ql__free(&a, m);
}

size_t ql_model_class_count(const ql_model *m)
{
    return m ? m->classes : 0;
}

const char *ql_model_class_name(const ql_model *m, size_t i)
{
    return m && i < m->classes ? m->names[i] : NULL;
}

double ql_model_threshold(const ql_model *m)
{
    return m ? m->threshold : NAN;
}

/* ------------------------------------------------------------ training */

typedef struct example {
    size_t   off, len;      /* into feats */
    unsigned label;
} example;

struct ql_model_trainer {
    ql_allocator a;
    unsigned     bits, classes;
    char        *names[QL__MM_CLASSES];
    ql__vec      feats;     /* uint32_t */
    ql__vec      examples;
    uint8_t     *out;
    size_t       out_len;
};

ql_status ql_model_trainer_create(unsigned bits, const ql_allocator *allocator,
                                  ql_model_trainer **out)
{
    if (!out)
        return QL_EINVAL;
    *out = NULL;
    if (bits < 12 || bits > 22)
        return QL_EINVAL;
    ql_allocator a = {0};
    if (allocator)
        a = *allocator;
    ql_model_trainer *t = ql__calloc(&a, 1, sizeof *t);
    if (!t)
        return QL_ENOMEM;
    t->a = a;
    t->bits = bits;
    t->classes = 1;
    t->names[0] = ql__strdup(&a, "benign");
    if (!t->names[0]) {
        ql__free(&a, t);
        return QL_ENOMEM;
    }
    ql__vec_init(&t->feats, sizeof(uint32_t), (size_t)1 << 30);
    ql__vec_init(&t->examples, sizeof(example), (size_t)1 << 26);
    *out = t;
    return QL_OK;
}

void ql_model_trainer_destroy(ql_model_trainer *t)
{
    if (!t)
        return;
    const ql_allocator a = t->a;
    for (unsigned c = 0; c < QL__MM_CLASSES; c++)
        ql__free(&a, t->names[c]);
    ql__vec_free(&a, &t->feats);
    ql__vec_free(&a, &t->examples);
    ql__free(&a, t->out);
    ql__free(&a, t);
}

ql_status ql_model_trainer_add(ql_model_trainer *t, const char *category, const uint8_t *text,
                               size_t length)
{
    if (!t || (!text && length))
        return QL_EINVAL;
    unsigned label = 0;
    if (category && *category && strcmp(category, "benign") != 0) {
        if (!valid_name(category, strlen(category)))
            return QL_EINVAL;
        for (label = 1; label < t->classes; label++)
            if (strcmp(t->names[label], category) == 0)
                break;
        if (label == t->classes) {
            if (t->classes == QL__MM_CLASSES)
                return QL_ELIMIT;
            t->names[label] = ql__strdup(&t->a, category);
            if (!t->names[label])
                return QL_ENOMEM;
            t->classes++;
        }
    }
    /* The features, read as a moderator reads. */
    example ex;
    ex.off = t->feats.count;
    ex.label = label;
    ql__mm s;
    memset(&s, 0, sizeof s);
    s.train = &t->feats;
    s.train_alloc = &t->a;
    s.bits = t->bits;
    ql__mm_begin(&s, NULL);
    ql__mm_write(&s, text, length, 0);
    ql__mm_finish(&s);
    ex.len = t->feats.count - ex.off;
    ql_status st = s.error ? QL_ENOMEM : ql__vec_push(&t->a, &t->examples, &ex);
    if (st != QL_OK)
        t->feats.count = ex.off;
    return st;
}

ql_status ql_model_trainer_add_tsv(ql_model_trainer *t, const uint8_t *data, size_t length,
                                   size_t *line)
{
    if (!t || (!data && length))
        return QL_EINVAL;
    if (line)
        *line = 0;
    size_t feats0 = t->feats.count, ex0 = t->examples.count, no = 0;
    unsigned classes0 = t->classes;
    ql_status st = QL_OK;
    for (size_t i = 0; i < length && st == QL_OK;) {
        const uint8_t *nl = memchr(data + i, '\n', length - i);
        size_t end = nl ? (size_t)(nl - data) : length, e = end;
        no++;
        if (e > i && data[e - 1] == '\r')
            e--;
        if (e > i && data[i] != '#') {
            const uint8_t *tab = memchr(data + i, '\t', e - i);
            char cat[64];
            size_t cl = tab ? (size_t)(tab - (data + i)) : 0;
            if (!tab || cl == 0 || cl >= sizeof cat) {
                st = QL_ERULE;
                break;
            }
            memcpy(cat, data + i, cl);
            cat[cl] = 0;
            st = ql_model_trainer_add(t, cat, tab + 1, (size_t)(data + e - (tab + 1)));
            if (st == QL_EINVAL || st == QL_ELIMIT)
                st = QL_ERULE;
        }
        i = end + 1;
    }
    if (st != QL_OK) {
        if (line)
            *line = no;
        t->feats.count = feats0;
        t->examples.count = ex0;
        while (t->classes > classes0) {
            t->classes--;
            ql__free(&t->a, t->names[t->classes]);
            t->names[t->classes] = NULL;
        }
    }
    return st;
}

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

ql_status ql_model_trainer_train(ql_model_trainer *t, unsigned epochs, double threshold,
                                 const uint8_t **out, size_t *out_length)
{
    if (!t || !out || !out_length || epochs == 0 || epochs > 1000 || !(fabs(threshold) < 1e6))
        return QL_EINVAL;
    *out = NULL;
    *out_length = 0;
    if (t->classes < 2 || t->examples.count == 0)
        return QL_ESTATE;
    const unsigned K = t->classes;
    const size_t B = (size_t)1 << t->bits, nex = t->examples.count;
    float *w = ql__calloc(&t->a, B * QL__MM_CLASSES, sizeof *w);
    float *g = ql__calloc(&t->a, B * QL__MM_CLASSES, sizeof *g);
    size_t *order = ql__malloc(&t->a, nex * sizeof *order);
    if (!w || !g || !order) {
        ql__free(&t->a, w);
        ql__free(&t->a, g);
        ql__free(&t->a, order);
        return QL_ENOMEM;
    }
    double bias[QL__MM_CLASSES] = {0}, gb[QL__MM_CLASSES] = {0};
    const double lr = 0.2, eps = 1e-8;
    const example *ex = t->examples.items;
    const uint32_t *feats = t->feats.items;
    for (size_t i = 0; i < nex; i++)
        order[i] = i;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (unsigned ep = 0; ep < epochs; ep++) {
        for (size_t i = nex - 1; i > 0; i--) {
            size_t j = (size_t)(xorshift(&seed) % (i + 1));
            size_t tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        for (size_t oi = 0; oi < nex; oi++) {
            const example *e = &ex[order[oi]];
            const uint32_t *f = feats + e->off;
            double sc[QL__MM_CLASSES], mx = -INFINITY, z = 0;
            for (unsigned k = 0; k < K; k++)
                sc[k] = bias[k];
            for (size_t j = 0; j < e->len; j++)
                for (unsigned k = 0; k < K; k++)
                    sc[k] += w[(size_t)f[j] * QL__MM_CLASSES + k];
            for (unsigned k = 0; k < K; k++)
                if (sc[k] > mx)
                    mx = sc[k];
            for (unsigned k = 0; k < K; k++)
                z += (sc[k] = exp(sc[k] - mx));
            for (unsigned k = 0; k < K; k++)
                sc[k] = sc[k] / z - (k == e->label ? 1.0 : 0.0);   /* the gradient */
            for (size_t j = 0; j < e->len; j++) {
                float *wj = w + (size_t)f[j] * QL__MM_CLASSES, *gj = g + (size_t)f[j] * QL__MM_CLASSES;
                for (unsigned k = 0; k < K; k++) {
                    float d = (float)sc[k];
                    gj[k] += d * d;
                    wj[k] -= (float)(lr * d / sqrt(gj[k] + eps));
                }
            }
            for (unsigned k = 0; k < K; k++) {
                gb[k] += sc[k] * sc[k];
                bias[k] -= lr * sc[k] / sqrt(gb[k] + eps);
            }
        }
    }
    float maxabs = 0;
    for (size_t i = 0; i < B * QL__MM_CLASSES; i++)
        if (fabsf(w[i]) > maxabs)
            maxabs = fabsf(w[i]);
    double scale = maxabs > 0 ? maxabs / 127.0 : 1.0;
    size_t names = 0;
    for (unsigned k = 0; k < K; k++)
        names += 1 + strlen(t->names[k]);
    size_t len = MM_HEADER + names + B * QL__MM_CLASSES;
    uint8_t *o = ql__calloc(&t->a, len, 1);
    if (!o) {
        ql__free(&t->a, w);
        ql__free(&t->a, g);
        ql__free(&t->a, order);
        return QL_ENOMEM;
    }
    memcpy(o, MM_MAGIC, 4);
    put32(o + 4, MM_VERSION);
    put32(o + 8, t->bits);
    put32(o + 12, K);
    put32(o + 16, QL__MM_WINDOW);
    put32(o + 20, 0);
    putd(o + 24, scale);
    putd(o + 32, threshold);
    for (unsigned k = 0; k < QL__MM_CLASSES; k++)
        put32(o + 40 + 4 * k, k < K ? (uint32_t)(int32_t)lround((bias[k] - bias[0]) / scale) : 0);
    size_t pos = MM_HEADER;
    for (unsigned k = 0; k < K; k++) {
        size_t n = strlen(t->names[k]);
        o[pos++] = (uint8_t)n;
        memcpy(o + pos, t->names[k], n);
        pos += n;
    }
    for (size_t i = 0; i < B * QL__MM_CLASSES; i++) {
        long q = lround(w[i] / scale);
        o[pos + i] = (uint8_t)(int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
    }
    ql__free(&t->a, w);
    ql__free(&t->a, g);
    ql__free(&t->a, order);
    ql__free(&t->a, t->out);
    t->out = o;
    t->out_len = len;
    *out = o;
    *out_length = len;
    return QL_OK;
}
