/*
 * util.c — the small pieces every module needs: the replaceable allocator,
 * capped growable arrays, status and severity names, and the line/column
 * cursor.
 *
 * Every allocation in the library goes through ql__malloc and friends so a
 * caller's allocator (and the tests' failing one) sees all of them.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "internal.h"

void *ql__malloc(const ql_allocator *a, size_t size)
{
    if (size == 0)
        size = 1;
    if (a && a->malloc_fn)
        return a->malloc_fn(size, a->user);
    return malloc(size);
}

void *ql__calloc(const ql_allocator *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = ql__malloc(a, count * size);
    if (p)
        memset(p, 0, (count * size) != 0 ? count * size : 1);
    return p;
}

void *ql__realloc(const ql_allocator *a, void *ptr, size_t size)
{
    if (size == 0)
        size = 1;
    if (a && a->realloc_fn)
        return a->realloc_fn(ptr, size, a->user);
    return realloc(ptr, size);
}

void ql__free(const ql_allocator *a, void *ptr)
{
    if (!ptr)
        return;
    if (a && a->free_fn)
        a->free_fn(ptr, a->user);
    else
        free(ptr);
}

char *ql__strndup(const ql_allocator *a, const char *s, size_t n)
{
    char *p = ql__malloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ql__strdup(const ql_allocator *a, const char *s)
{
    return ql__strndup(a, s, strlen(s));
}

void ql__vec_init(ql__vec *v, size_t item_size, size_t cap)
{
    memset(v, 0, sizeof *v);
    v->item_size = item_size;
    v->cap = cap;
}

ql_status ql__vec_reserve(const ql_allocator *a, ql__vec *v, size_t count)
{
    if (count <= v->alloc)
        return QL_OK;
    if (count > v->cap)
        return QL_ELIMIT;
    size_t n = v->alloc ? v->alloc : 16;
    while (n < count)
        n = n > SIZE_MAX / 2 ? count : n * 2;
    if (n > v->cap)
        n = v->cap;
    if (n > SIZE_MAX / v->item_size)
        return QL_ENOMEM;
    void *p = ql__realloc(a, v->items, n * v->item_size);
    if (!p)
        return QL_ENOMEM;
    v->items = p;
    v->alloc = n;
    return QL_OK;
}

ql_status ql__vec_push(const ql_allocator *a, ql__vec *v, const void *item)
{
    if (v->count == v->alloc) {
        ql_status st = ql__vec_reserve(a, v, v->count + 1);
        if (st != QL_OK)
            return st;
    }
    memcpy((char *)v->items + v->count * v->item_size, item, v->item_size);
    v->count++;
    return QL_OK;
}

void ql__vec_free(const ql_allocator *a, ql__vec *v)
{
    ql__free(a, v->items);
    v->items = NULL;
    v->count = v->alloc = 0;
}

const char *ql_status_message(ql_status status)
{
    switch (status) {
#define QL__STATUS_CASE(name, code, msg) case QL_##name: return msg;
    QL_STATUS_MAP(QL__STATUS_CASE)
#undef QL__STATUS_CASE
    }
    return "unknown status";
}

const char *ql_severity_name(ql_severity severity)
{
    static const char *const names[] = {"info", "low", "medium", "high", "critical"};
    if ((unsigned)severity < sizeof names / sizeof names[0])
        return names[severity];
    return "unknown";
}

const char *ql_version(void)
{
    return QL_VERSION_STRING;
}

void ql_position_init(ql_position *cursor)
{
    cursor->offset = 0;
    cursor->line = 1;
    cursor->column = 1;
}

/* Bits set in a 16-bit mask, without the libgcc call __builtin_popcount
 * becomes on baseline x86-64 (no POPCNT instruction). */
static unsigned popcount16(unsigned v)
{
    v = v - ((v >> 1) & 0x5555u);
    v = (v & 0x3333u) + ((v >> 2) & 0x3333u);
    v = (v + (v >> 4)) & 0x0F0Fu;
    return (v + (v >> 8)) & 0x1Fu;
}

/* Newlines in p[0..n), and where the last one is (NULL if none).  SSE2
 * counts sixteen bytes at a time: a file with findings every line or
 * two would otherwise pay a memchr call per line. */
static size_t count_newlines(const uint8_t *p, size_t n, const uint8_t **last)
{
    size_t count = 0, i = 0;
    *last = NULL;
#ifdef __SSE2__
    const __m128i nl = _mm_set1_epi8('\n');
    for (; i + 16 <= n; i += 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), nl));
        if (m) {
            count += popcount16(m);
            *last = p + i + 31 - __builtin_clz(m);
        }
    }
#endif
    for (; i < n; i++)
        if (p[i] == '\n') {
            count++;
            *last = p + i;
        }
    return count;
}

/* Characters (UTF-8 lead bytes and ASCII) in p[0..n). */
static size_t count_chars(const uint8_t *p, size_t n)
{
    size_t count = 0, i = 0;
#ifdef __SSE2__
    const __m128i cont = _mm_set1_epi8((char)0xBF);   /* continuation bytes are <= 0xBF signed */
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + i));
        count += popcount16((unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(x, cont)));
    }
#endif
    for (; i < n; i++)
        count += (p[i] & 0xC0) != 0x80;
    return count;
}

void ql_locate(ql_position *cursor, const uint8_t *data, size_t length,
               uint64_t offset)
{
    if (offset > length)
        offset = length;
    if (offset <= cursor->offset)
        return;
    const uint8_t *p = data + cursor->offset;
    size_t n = (size_t)(offset - cursor->offset);
    const uint8_t *last_nl;
    size_t lines = count_newlines(p, n, &last_nl);
    if (lines) {
        cursor->line += lines;
        cursor->column = 1 + count_chars(last_nl + 1, (size_t)(p + n - (last_nl + 1)));
    } else {
        cursor->column += count_chars(p, n);
    }
    cursor->offset = offset;
}
