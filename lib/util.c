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

void ql_locate(ql_position *cursor, const uint8_t *data, size_t length,
               uint64_t offset)
{
    if (offset > length)
        offset = length;
    if (offset <= cursor->offset)
        return;
    const uint8_t *p = data + cursor->offset;
    const uint8_t *end = data + offset;
    /* Jump to the last newline in the stretch with memrchr-like speed by
     * counting newlines with memchr, then count characters after it. */
    const uint8_t *last_nl = NULL;
    for (const uint8_t *q = p; q < end;) {
        const uint8_t *nl = memchr(q, '\n', (size_t)(end - q));
        if (!nl)
            break;
        cursor->line++;
        last_nl = nl;
        q = nl + 1;
    }
    if (last_nl) {
        cursor->column = 1;
        p = last_nl + 1;
    }
    for (; p < end; p++)
        if ((*p & 0xC0) != 0x80)
            cursor->column++;
    cursor->offset = offset;
}
