/*
 * mask.c — display masks for findings.
 *
 * Raw values never reach default output; what people see is a mask in the
 * conventions Chinese systems use for display (GB/T 37964, JR/T 0171):
 * 110101********123X, 138****8000, 6222 **** **** 1234, z***@qq.com, 张*.
 * Separators (space, hyphen, dot, brackets) are kept so a reader can still
 * see the value's shape; each masked character becomes one '*'.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static size_t utf8_len(uint8_t b)
{
    if (b < 0x80) return 1;
    if ((b & 0xE0) == 0xC0) return 2;
    if ((b & 0xF0) == 0xE0) return 3;
    if ((b & 0xF8) == 0xF0) return 4;
    return 1;
}

static int is_separator(uint8_t b)
{
    return b == ' ' || b == '-' || b == '.' || b == '(' || b == ')' || b == '+' ||
           b == '\t' || b == '_' || b == '/' || b == ':';
}

typedef struct outbuf {
    char  *p;
    size_t size, used;
} outbuf;

static void put(outbuf *o, const void *s, size_t n)
{
    if (o->size && o->used < o->size - 1) {
        size_t room = o->size - 1 - o->used;
        memcpy(o->p + o->used, s, n < room ? n : room);
    }
    o->used += n;
}

static size_t finish(outbuf *o)
{
    if (o->size)
        o->p[o->used < o->size - 1 ? o->used : o->size - 1] = '\0';
    return o->used;
}

/* Keep `head` and `tail` significant characters, mask the rest; when
 * `mask_from`/`mask_to` are set (>= 0), mask exactly those significant
 * indices instead. */
static void mask_chars(outbuf *o, const uint8_t *v, size_t n, int head, int tail,
                       long mask_from, long mask_to)
{
    long total = 0;
    for (size_t i = 0; i < n; i += utf8_len(v[i]))
        if (!is_separator(v[i]))
            total++;
    if (mask_from < 0) {
        if (head + tail >= total) {
            /* Too short to keep both ends: keep at most a third. */
            head = (int)(total / 3);
            tail = 0;
        }
        mask_from = head;
        mask_to = total - tail;
    }
    long k = 0;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_len(v[i]);
        if (i + l > n)
            l = n - i;
        if (is_separator(v[i])) {
            put(o, v + i, l);
        } else {
            if (k >= mask_from && k < mask_to)
                put(o, "*", 1);
            else
                put(o, v + i, l);
            k++;
        }
        i += l;
    }
}

static const char *const compound_surnames[] = {
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
    "宇文", "司徒", "夏侯", "令狐", "端木", "独孤", "南宫", "西门", "轩辕", NULL};

size_t ql__mask(ql__mask_style style, int head, int tail, const uint8_t *v,
                size_t n, char *out, size_t size)
{
    outbuf o = {out, size, 0};
    switch (style) {
    case QL__MASK_MOBILE: {
        long digits = 0;
        for (size_t i = 0; i < n; i++)
            digits += v[i] >= '0' && v[i] <= '9';
        /* The middle four of the national number's eleven digits. */
        mask_chars(&o, v, n, 0, 0, digits - 8, digits - 4);
        break;
    }
    case QL__MASK_EMAIL: {
        const uint8_t *at = memchr(v, '@', n);
        if (!at) {
            mask_chars(&o, v, n, 1, 0, -1, -1);
            break;
        }
        put(&o, v, utf8_len(v[0]) <= (size_t)(at - v) ? utf8_len(v[0]) : 0);
        put(&o, "***", 3);
        put(&o, at, n - (size_t)(at - v));
        break;
    }
    case QL__MASK_NAME: {
        size_t keep = utf8_len(v[0]);
        for (size_t i = 0; compound_surnames[i]; i++)
            if (n > 6 && memcmp(v, compound_surnames[i], 6) == 0)
                keep = 6;
        if (keep > n)
            keep = n;
        put(&o, v, keep);
        for (size_t i = keep; i < n; i += utf8_len(v[i]))
            put(&o, "*", 1);
        break;
    }
    case QL__MASK_ADDRESS: {
        /* Keep up to the first district-level division (区, 县, 旗; a
         * city, 市, when there is none); everything after it is masked. */
        static const char *const district[] = {"区", "县", "旗", "區", "縣", NULL};
        size_t keep = 0;
        for (size_t i = 0; i + 3 <= n && !keep; i += utf8_len(v[i]))
            for (size_t m = 0; district[m] && !keep; m++)
                if (memcmp(v + i, district[m], 3) == 0)
                    keep = i + 3;
        for (size_t i = 0; i + 3 <= n && !keep; i += utf8_len(v[i]))
            if (memcmp(v + i, "市", 3) == 0)
                keep = i + 3;
        put(&o, v, keep);
        for (size_t i = keep; i < n; i += utf8_len(v[i]))
            put(&o, "*", 1);
        break;
    }
    case QL__MASK_FULL:
        put(&o, "********", 8);
        break;
    case QL__MASK_PEM: {
        /* "[RSA PRIVATE KEY, 1718 bytes masked]": not the BEGIN line
         * itself, which a later scan would report again. */
        const uint8_t *kind = n > 11 && memcmp(v, "-----BEGIN ", 11) == 0 ? v + 11 : NULL;
        const uint8_t *dash = kind ? memchr(kind, '-', n - 11) : NULL;
        char tailbuf[96];
        int k;
        if (kind && dash && dash - kind < 48)
            k = snprintf(tailbuf, sizeof tailbuf, "[%.*s, %zu bytes masked]", (int)(dash - kind),
                         (const char *)kind, n);
        else
            k = snprintf(tailbuf, sizeof tailbuf, "[PRIVATE KEY, %zu bytes masked]", n);
        put(&o, tailbuf, (size_t)k);
        break;
    }
    case QL__MASK_CHARS:
    default:
        mask_chars(&o, v, n, head, tail, -1, -1);
        break;
    }
    return finish(&o);
}

static const struct {
    const char *type;
    ql__mask_style style;
    int head, tail;
} defaults[] = {
    {"cn_resident_id", QL__MASK_CHARS, 6, 4},
    {"cn_mobile_phone", QL__MASK_MOBILE, 0, 0},
    {"cn_landline_phone", QL__MASK_CHARS, 3, 4},
    {"bank_card", QL__MASK_CHARS, 4, 4},
    {"cn_uscc", QL__MASK_CHARS, 8, 4},
    {"cn_passport", QL__MASK_CHARS, 1, 3},
    {"cn_hk_macau_permit", QL__MASK_CHARS, 1, 3},
    {"cn_taiwan_permit", QL__MASK_CHARS, 1, 3},
    {"cn_home_return_permit", QL__MASK_CHARS, 1, 3},
    {"hk_id", QL__MASK_CHARS, 1, 1},
    {"macau_id", QL__MASK_CHARS, 1, 1},
    {"tw_id", QL__MASK_CHARS, 1, 3},
    {"cn_license_plate", QL__MASK_CHARS, 2, 1},
    {"person_name", QL__MASK_NAME, 1, 0},
    {"cn_address", QL__MASK_ADDRESS, 0, 0},
    {"medical_record_no", QL__MASK_CHARS, 2, 2},
    {"email", QL__MASK_EMAIL, 1, 0},
    {"ipv4", QL__MASK_CHARS, 3, 1},
    {"ipv6", QL__MASK_CHARS, 0, 0},
    {"url_with_credentials", QL__MASK_CHARS, 8, 0},
    {"aws_access_key_id", QL__MASK_CHARS, 4, 0},
    {"aws_secret_access_key", QL__MASK_CHARS, 2, 0},
    {"github_token", QL__MASK_CHARS, 4, 0},
    {"gitlab_token", QL__MASK_CHARS, 6, 0},
    {"slack_token", QL__MASK_CHARS, 5, 0},
    {"alibaba_access_key_id", QL__MASK_CHARS, 4, 0},
    {"tencent_secret_id", QL__MASK_CHARS, 4, 0},
    {"private_key", QL__MASK_PEM, 0, 0},
    {"jwt", QL__MASK_CHARS, 6, 0},
    {"password_assignment", QL__MASK_FULL, 0, 0},
};

int ql__mask_defaults(const char *type, ql__mask_style *style, int *head, int *tail)
{
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (strcmp(type, defaults[i].type) == 0) {
            *style = defaults[i].style;
            *head = defaults[i].head;
            *tail = defaults[i].tail;
            return 1;
        }
    return 0;
}

ql__mask_style ql__mask_style_lookup(const char *name, int *ok)
{
    static const char *const names[] = {"chars", "mobile", "email", "name",
                                        "address", "full", "pem"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0) {
            *ok = 1;
            return (ql__mask_style)i;
        }
    *ok = 0;
    return QL__MASK_CHARS;
}

size_t ql_mask(const char *type, const uint8_t *value, size_t length, char *out,
               size_t size)
{
    ql__mask_style style = QL__MASK_CHARS;
    int head = 2, tail = 2;
    if (type)
        ql__mask_defaults(type, &style, &head, &tail);
    if (!value || length == 0) {
        if (size)
            out[0] = '\0';
        return 0;
    }
    return ql__mask(style, head, tail, value, length, out, size);
}
