/*
 * modmodel.h — the moderation model's reading state, kept inside a
 * moderator (lib/moderate.c) and by the trainer (lib/modmodel.c).
 */
#ifndef QL_MODMODEL_H
#define QL_MODMODEL_H

#include <stdint.h>
#include <stddef.h>

#include "internal.h"

#define QL__MM_WINDOW  64u    /* units a window holds (a power of two) */
#define QL__MM_CLASSES 8u     /* weights per feature: benign + 7 categories */

struct ql_model {
    ql_allocator allocator;
    unsigned     bits;                    /* 2^bits features */
    unsigned     classes;                 /* <= QL__MM_CLASSES */
    char        *names[QL__MM_CLASSES];
    double       scale;                   /* weight = int8 * scale */
    double       threshold;               /* log-odds */
    int32_t      bias[QL__MM_CLASSES];    /* class c's bias - benign's, / scale */
    int8_t      *weights;                 /* [2^bits][QL__MM_CLASSES] */
    const int8_t *w;                      /* weights, or the built-in bytes */
};

/* One message being read: UTF-8 decoding (byte by byte when a chunk cuts
 * a character: the same units whatever the cuts), the Latin word being
 * read, and a ring of the last window's units with their sum. */
typedef struct ql__mm {
    const ql_model *model;      /* NULL: off */
    ql__vec        *train;      /* trainer: features go here, no scoring */
    const ql_allocator *train_alloc;
    const uint32_t *fold;
    unsigned        bits;
    int             error;
    /* UTF-8 */
    uint32_t        cp;
    unsigned        need;
    uint64_t        cp_start;
    /* the Latin word */
    uint64_t        wh;
    unsigned        wlen, wdig;
    uint64_t        wstart, wend;
    /* units */
    uint32_t        prev;       /* last unit (0: none) */
    uint64_t        last_end;
    uint64_t        n;          /* units so far (scored) */
    int32_t         sum[QL__MM_CLASSES];
    int16_t         ring[QL__MM_WINDOW][QL__MM_CLASSES];
    uint64_t        ring_start[QL__MM_WINDOW];
    /* the best window */
    int64_t         best;       /* INT64_MIN: none */
    unsigned        best_class;
    uint64_t        best_start, best_end;
} ql__mm;

void ql__mm_begin(ql__mm *s, const ql_model *model);
void ql__mm_write(ql__mm *s, const uint8_t *p, size_t n, uint64_t base);
void ql__mm_finish(ql__mm *s);
/* The best window's log-odds (nats). */
double ql__mm_margin(const ql__mm *s);

#endif
