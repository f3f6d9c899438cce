/*
 * validators.c — the per-type decisions behind a built-in rule.
 *
 * Vectorscan tells us only where an expression's match ends.  A validator
 * turns that into a finding or rejects it: it finds the value's start
 * (for formats with separators or optional prefixes it reads backwards
 * from the end, which is cheaper and exacter than a second regex), checks
 * that the value does not run on into a longer run of the same kind of
 * character, runs the standard's check (checks.c), and sets attributes.
 *
 * Every validator looks at most QL__MAX_SPAN bytes around the trigger: the
 * window engine relies on that to give the same answer however the input
 * is cut (see engine.c).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static const char *const validator_names[QL__V_COUNT] = {
    [QL__V_NONE] = "none",
    [QL__V_CN_RESIDENT_ID] = "cn_resident_id",
    [QL__V_CN_RESIDENT_ID15] = "cn_resident_id15",
    [QL__V_CN_MOBILE] = "cn_mobile_phone",
    [QL__V_CN_LANDLINE] = "cn_landline_phone",
    [QL__V_BANK_CARD] = "bank_card",
    [QL__V_CN_USCC] = "cn_uscc",
    [QL__V_HK_ID] = "hk_id",
    [QL__V_TW_ID] = "tw_id",
    [QL__V_MACAU_ID] = "macau_id",
    [QL__V_CN_PLATE] = "cn_license_plate",
    [QL__V_PERSON_NAME] = "person_name",
    [QL__V_CN_ADDRESS] = "cn_address",
    [QL__V_EMAIL] = "email",
    [QL__V_IPV4] = "ipv4",
    [QL__V_IPV6] = "ipv6",
    [QL__V_PRIVATE_KEY] = "private_key",
    [QL__V_PASSWORD] = "password",
    [QL__V_JWT] = "jwt",
};

ql__validator_id ql__validator_lookup(const char *name)
{
    for (int i = 0; i < QL__V_COUNT; i++)
        if (strcmp(name, validator_names[i]) == 0)
            return (ql__validator_id)i;
    return QL__V_COUNT;
}

const char *ql__validator_name(ql__validator_id id)
{
    return (unsigned)id < QL__V_COUNT ? validator_names[id] : "unknown";
}

/* ------------------------------------------------------------- classes */

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_upper(int c) { return c >= 'A' && c <= 'Z'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || is_upper(c); }
static int is_alnum(int c) { return is_digit(c) || is_alpha(c); }
static int is_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int in_class(ql__boundary b, int c)
{
    switch (b) {
    case QL__BOUNDARY_NONE: return 0;
    case QL__BOUNDARY_DIGIT: return is_digit(c);
    case QL__BOUNDARY_ALNUM: return is_alnum(c);
    case QL__BOUNDARY_WORD: return is_alnum(c) || c == '_';
    case QL__BOUNDARY_TOKEN:
        return is_alnum(c) || c == '_' || c == '-' || c == '.' || c == '+' || c == '/' || c == '=';
    case QL__BOUNDARY_NONSPACE:
        return c > ' ' && c < 0x7F && c != '"' && c != '\'' && c != ',' &&
               c != ';' && c != '`';
    }
    return 0;
}

int ql__boundary_ok(ql__boundary b, const uint8_t *data, size_t length,
                    size_t pos, int side)
{
    if (side == 0)
        return pos == 0 || !in_class(b, data[pos - 1]);
    return pos >= length || !in_class(b, data[pos]);
}

static int byte_at(const ql__vctx *x, size_t i)
{
    return i < x->length ? x->data[i] : -1;
}

static int byte_before(const ql__vctx *x, size_t i)
{
    return i > 0 && i <= x->length ? x->data[i - 1] : -1;
}

/* A number that goes on: "1234" followed by ".5" or "-6". */
static int number_continues_after(const ql__vctx *x, size_t end)
{
    int c = byte_at(x, end);
    if (is_digit(c))
        return 1;
    return (c == '.' || c == '-') && is_digit(byte_at(x, end + 1));
}

static int number_continues_before(const ql__vctx *x, size_t start)
{
    int c = byte_before(x, start);
    if (is_digit(c))
        return 1;
    return (c == '.' || c == '-') && is_digit(byte_before(x, start - 1));
}

static int ends_with(const ql__vctx *x, size_t end, const char *lit)
{
    size_t n = strlen(lit);
    return end >= n && end <= x->length && memcmp(x->data + end - n, lit, n) == 0;
}

/* Is the UTF-8 character starting at p (in [p, end)) a CJK ideograph? */
static int cjk_at(const uint8_t *p, const uint8_t *end)
{
    return end - p >= 3 && p[0] >= 0xE4 && p[0] <= 0xE9 && (p[1] & 0xC0) == 0x80 &&
           (p[2] & 0xC0) == 0x80;
}

static void set_attr(ql__cand *c, const char *key, const char *value)
{
    if (c->attribute_count >= QL_MAX_ATTRIBUTES)
        return;
    /* Offsets, not pointers: candidates are copied around. */
    size_t used = 0;
    for (size_t i = 0; i < c->attribute_count; i++)
        used += strlen(c->attr_buf + c->attr_offsets[i]) + 1;
    size_t n = strlen(value);
    if (used + n + 1 > sizeof c->attr_buf)
        return;
    memcpy(c->attr_buf + used, value, n + 1);
    c->attr_keys[c->attribute_count] = key;
    c->attr_offsets[c->attribute_count] = (uint8_t)used;
    c->attribute_count++;
}

/* ---------------------------------------------------- resident identity */

static int v_resident_id(const ql__vctx *x, ql__cand *c, int fifteen)
{
    const char *s = (const char *)x->data + c->start;
    size_t n = (size_t)(c->end - c->start);
    if (x->relaxed) {
        /* Encrypted IDs: the check digit holds, the date need not. */
        if (fifteen || n != 18)
            return 0;
        char ch = ql__mod11_2_check(s);
        return ch && (s[17] == ch || (ch == 'X' && s[17] == 'x'));
    }
    ql__resident_id_info info;
    int ok = fifteen ? ql__check_cn_resident_id15(s, n, x->today, &info)
                     : ql__check_cn_resident_id18(s, n, x->today, &info);
    if (!ok)
        return 0;
    char date[16];
    snprintf(date, sizeof date, "%04d-%02d-%02d", (int)(info.birth / 10000),
             (int)(info.birth / 100 % 100), (int)(info.birth % 100));
    set_attr(c, "birth_date", date);
    set_attr(c, "sex", info.male ? "male" : "female");
    set_attr(c, "minor", ql__age_years(info.birth, x->today) < 14 ? "true" : "false");
    return 1;
}

/* --------------------------------------------------------------- mobile */

/* 1[3-9]x xxxx xxxx with one consistent optional separator, and an
 * optional +86 / 0086 / (+86) prefix. */
static int v_mobile(const ql__vctx *x, ql__cand *c)
{
    size_t t = (size_t)c->trigger, p = t;
    if (number_continues_after(x, t))
        return 0;
    int seps[2] = {0, 0};
    const int groups[3] = {4, 4, 3};
    for (int g = 0; g < 3; g++) {
        for (int k = 0; k < groups[g]; k++) {
            if (!is_digit(byte_before(x, p)))
                return 0;
            p--;
        }
        if (g < 2) {
            int ch = byte_before(x, p);
            if ((ch == ' ' || ch == '-' || ch == '.') && is_digit(byte_before(x, p - 1))) {
                seps[g] = ch;
                p--;
            }
        }
    }
    if (seps[0] != seps[1])
        return 0;
    if (x->data[p] != '1' || x->data[p + 1] < '3' || x->data[p + 1] > '9')
        return 0;
    size_t s = p;
    /* Country code, with an optional separator between it and the number. */
    size_t q = s;
    int ch = byte_before(x, q);
    if (ch == ' ' || ch == '-')
        q--;
    if (ends_with(x, q, "(+86)"))
        s = q - 5;
    else if (ends_with(x, q, "+86"))
        s = q - 3;
    else if (ends_with(x, q, "0086"))
        s = q - 4;
    else if (q != s && ends_with(x, q, "86") && !is_digit(byte_before(x, q - 2)))
        s = q - 2;          /* 86-139... / 86 139...: the code without + */
    if (s == p && number_continues_before(x, s))
        return 0;
    if (s != p && is_digit(byte_before(x, s)))
        return 0;
    if (is_alpha(byte_before(x, s)) && s == p)
        c->confidence -= 0.1;
    c->start = s;
    c->end = t;
    return 1;
}

/* ------------------------------------------------------------- landline */

/* Reads a local number ending at `end`: 7-8 digits, or two groups of
 * 3-4 + 4 digits joined by a space or hyphen (8757 8184).  Returns its
 * digit count (0 if none) and sets *start. */
static size_t read_local(const ql__vctx *x, size_t end, size_t *start)
{
    const uint8_t *v = x->data;
    size_t p = end, run = 0;
    while (p > 0 && is_digit(v[p - 1]) && run < 13) {
        p--;
        run++;
    }
    if (run == 4 && p >= 2 && (v[p - 1] == ' ' || v[p - 1] == '-') && is_digit(v[p - 2])) {
        size_t q = p - 1, first = 0;
        while (q > 0 && is_digit(v[q - 1]) && first < 5) {
            q--;
            first++;
        }
        if ((first == 3 || first == 4) && !is_digit(byte_before(x, q))) {
            *start = q;
            return first + 4;
        }
    }
    *start = p;
    return run;
}

static int v_landline(const ql__vctx *x, ql__cand *c)
{
    /* Read backwards from the last digit: [extension], local number,
     * separator, area code (with brackets), as in 010-12345678-801,
     * (0755) 1234567, 021 8757 8184, 021 87654321 转 8001, or a bare
     * 01012345678. */
    const uint8_t *v = x->data;
    size_t t = (size_t)c->trigger, p = t;
    if (number_continues_after(x, t))
        return 0;
    size_t run = 0;
    while (p > 0 && is_digit(v[p - 1]) && run < 16) {
        p--;
        run++;
    }
    if (run == 0)
        return 0;
    size_t local_start = p, local_len = run;
    /* An extension: -123, 转123, #123, ext 123, ext.123 */
    if (run <= 6) {
        size_t q = p;
        if (q >= 1 && (v[q - 1] == '-' || v[q - 1] == '#'))
            q--;
        else if (q >= 3 && memcmp(v + q - 3, "转", 3) == 0)
            q -= 3;
        else {
            size_t k = q;
            while (k > 0 && (v[k - 1] == ' ' || v[k - 1] == '.'))
                k--;
            if (k >= 3 && strncasecmp((const char *)v + k - 3, "ext", 3) == 0)
                q = k - 3;
        }
        while (q > 0 && q != p && v[q - 1] == ' ')
            q--;
        size_t ls;
        size_t ll = q != p && is_digit(byte_before(x, q)) ? read_local(x, q, &ls) : 0;
        if (ll == 7 || ll == 8) {
            local_start = ls;
            local_len = ll;
        } else {
            local_len = read_local(x, t, &local_start);
        }
    } else if (run == 4) {
        local_len = read_local(x, t, &local_start);
    }
    p = local_start;
    size_t s, area_len, area_at;
    int sep = byte_before(x, p);
    if (is_digit(sep))
        return 0;
    if (sep == '-' || sep == ' ' || sep == ')') {
        size_t q = p - 1;
        if (sep == ' ' && byte_before(x, q) == ')')
            q--;
        int bracket = x->data[q] == ')';
        size_t a_end = q, a = q;
        while (a > 0 && is_digit(v[a - 1]) && a_end - a < 5)
            a--;
        area_len = a_end - a;
        area_at = a;
        if (bracket) {
            if (byte_before(x, a) != '(')
                return 0;
            s = a - 1;
        } else {
            if (is_digit(byte_before(x, a)) || number_continues_before(x, a))
                return 0;
            if (byte_before(x, a) == ' ' && is_digit(byte_before(x, a - 1)))
                return 0;   /* a group of a longer number: 5544 0849 2790 8463 */
            s = a;
        }
        if (area_len < 3 || area_len > 4 || v[a] != '0')
            return 0;
        if ((v[a + 1] == '1' || v[a + 1] == '2') != (area_len == 3))
            return 0;
        if (v[a + 1] == '1' && v[a + 2] != '0')
            return 0;
    } else {
        /* Bare: area code and number in one run; weak without context. */
        if (local_len < 10 || local_len > 12 || v[p] != '0' || number_continues_before(x, p))
            return 0;
        area_len = (v[p + 1] == '1' || v[p + 1] == '2') ? 3 : 4;
        area_at = p;
        if (v[p + 1] == '1' && v[p + 2] != '0')
            return 0;
        local_start = p + area_len;
        local_len -= area_len;
        s = p;
        c->confidence -= 0.45;
    }
    if (v[area_at + 1] == '0')
        return 0;   /* 00... is an international prefix, not an area code */
    if (local_len != 7 && local_len != 8)
        return 0;
    if (area_len == 3 && local_len != 8)
        return 0;
    if (v[local_start] < '2')
        return 0;
    c->start = s;
    c->end = t;
    return 1;
}

/* ------------------------------------------------------------ bank card */

static int card_prefix_ok(const char *d, size_t n)
{
    int two = (d[0] - '0') * 10 + (d[1] - '0');
    int four = two * 100 + (d[2] - '0') * 10 + (d[3] - '0');
    if (n == 15)
        return two == 34 || two == 37;
    if (two == 62 || d[0] == '4' || (two >= 51 && two <= 55) ||
        (four >= 2221 && four <= 2720) || (four >= 3528 && four <= 3589) ||
        four == 6011 || two == 65 || (four >= 6440 && four <= 6499) ||
        ((four == 9558 || four == 9559) && n == 19))
        return 1;
    return 0;
}

static int v_bank_card(const ql__vctx *x, ql__cand *c)
{
    size_t t = (size_t)c->trigger, p = t;
    if (!is_digit(byte_before(x, t)) || number_continues_after(x, t))
        return 0;
    char digits[24];
    size_t nd = 0;
    int sep = 0;
    size_t groups[8], ng = 0, glen = 0;
    while (p > 0 && t - p < 32) {
        int ch = byte_before(x, p);
        if (is_digit(ch)) {
            if (nd >= sizeof digits)
                return 0;
            digits[nd++] = (char)ch;
            glen++;
            p--;
        } else if ((ch == ' ' || ch == '-') && is_digit(byte_before(x, p - 1)) && glen > 0) {
            if (sep && ch != sep)
                break;
            if (ng >= 7)
                return 0;
            sep = ch;
            groups[ng++] = glen;
            glen = 0;
            p--;
        } else {
            break;
        }
    }
    if (nd > 19 || nd < 15)
        return 0;
    if (sep && byte_at(x, t) == sep && is_digit(byte_at(x, t + 1)))
        return 0;   /* another group follows */
    if (number_continues_before(x, p))
        return 0;
    groups[ng++] = glen;
    /* groups[] runs from the last group to the first. */
    if (ng > 1) {
        int fours = 1;
        for (size_t g = 1; g < ng; g++)
            if (groups[g] != 4)
                fours = 0;
        int amex = ng == 3 && groups[2] == 4 && groups[1] == 6 && groups[0] == 5;
        int six = ng == 2 && groups[1] == 6;
        if (!(fours && groups[0] >= 1 && groups[0] <= 4) && !amex && !six)
            return 0;
    }
    char d[24];
    for (size_t i = 0; i < nd; i++)
        d[i] = digits[nd - 1 - i];
    if (!card_prefix_ok(d, nd) || !ql__luhn_valid(d, nd))
        return 0;
    if (nd == 15 && ng == 1)
        c->confidence -= 0.2;
    c->start = p;
    c->end = t;
    return 1;
}

/* ---------------------------------------------------------------- HK ID */

static int v_hk_id(const ql__vctx *x, ql__cand *c)
{
    size_t t = (size_t)c->trigger;
    const uint8_t *v = x->data;
    if (is_alnum(byte_at(x, t)))
        return 0;
    char compact[12];
    size_t digits_end, s;
    int bracket = 0;
    if (byte_before(x, t) == ')') {
        if (t < 10 || v[t - 3] != '(')
            return 0;
        compact[8] = (char)v[t - 2];
        digits_end = t - 3;
        bracket = 1;
    } else {
        if (t < 8)
            return 0;
        compact[8] = (char)v[t - 1];
        digits_end = t - 1;
    }
    for (size_t k = 0; k < 6; k++)
        if (!is_digit(v[digits_end - 6 + k]))
            return 0;
    size_t d0 = digits_end - 6;
    if (!is_upper(byte_before(x, d0)))
        return 0;
    int two = is_upper(byte_before(x, d0 - 1));
    size_t nl = two ? 2 : 1;
    s = d0 - nl;
    if (is_alnum(byte_before(x, s)))
        return 0;
    memcpy(compact, v + s, nl + 6);
    compact[nl + 6] = compact[8];
    if (!ql__check_hk_id(compact, nl + 7))
        return 0;
    if (!bracket)
        c->confidence -= 0.45;
    c->start = s;
    c->end = t;
    return 1;
}

/* ------------------------------------------------------ licence plates */

static int v_plate(const ql__vctx *x, ql__cand *c)
{
    /* Span from the regex: province character, letter, optional dot or
     * space, then 5 or 6 characters (or 4 and a 挂/学/警/港/澳 suffix). */
    const uint8_t *v = x->data;
    size_t i = (size_t)c->start + 3, end = (size_t)c->end;
    char compact[16];
    size_t n = 0;
    memcpy(compact, v + c->start, 3);
    n = 3;
    for (; i < end && n < sizeof compact - 1; i++) {
        if (is_alnum(v[i]))
            compact[n++] = (char)v[i];
        else if (v[i] >= 0x80 && i + 3 <= end && (end - i) == 3 && n + 3 < sizeof compact) {
            memcpy(compact + n, v + i, 3);
            n += 3;
            break;
        }
    }
    if (is_alnum(byte_at(x, end)))
        return 0;
    return ql__check_cn_license_plate(compact, n);
}

/* ---------------------------------------------------------- person name */

/* Labels that commonly follow a name in forms: a name may end right
 * before one of these. */
static const char *const after_name[] = {
    "性别", "电话", "手机", "身份", "地址", "年龄", "男", "女", "先生", "女士",
    "联系", "住址", "邮箱", "职业", "民族", "出生", "证件", "卡号", "病", "科",
    "床", "诊", "号", "的", "是", "在", "和", "与", "已", "于", "等", "同志",
    "老师", "医生", "经理", "收", "签", "您", "你", "说", "反", "投诉", "来", "住",
    NULL
};

static int starts_label(const uint8_t *p, const uint8_t *end)
{
    for (size_t i = 0; after_name[i]; i++) {
        size_t n = strlen(after_name[i]);
        if ((size_t)(end - p) >= n && memcmp(p, after_name[i], n) == 0)
            return 1;
    }
    return 0;
}

static int name_fits(const uint8_t *v, const uint8_t *end, const uint8_t *s, const uint8_t *e)
{
    /* The given name must not swallow the start of the next label, and
     * must not run on into more Chinese text that is not a label. */
    for (const uint8_t *p = s + 3; p < e; p += 3)
        if (starts_label(p, e + 6 < end ? e + 6 : end))
            return 0;
    (void)v;
    return !(e < end && cjk_at(e, end) && !starts_label(e, end));
}

/* Words that follow a label and start with a character that is also a
 * surname: 与申请人关系, 客户信息, 患者本人. */
static const char *const not_names[] = {
    "关系", "關係", "信息", "資訊", "签字", "簽字", "签名", "簽名", "本人", "同意", "承诺",
    "承諾", "声明", "聲明", "须知", "須知", "名称", "名稱", "名单", "名單", "名下", "名义",
    "名義", "资料", "資料", "全称", "全稱", "管理", "服务", "服務", "常用", "安全", "方面",
    "于今", "於今", "和家", "高度", "成功", "向您", "向你", NULL};

static int v_person_name(const ql__vctx *x, ql__cand *c)
{
    const uint8_t *v = x->data, *end = v + x->length;
    const uint8_t *s = v + c->start, *e = v + c->end;
    if (e < end && *e == '*')
        return 0;   /* a masked name (诸葛**) is not 诸 + 葛 */
    for (size_t i = 0; not_names[i]; i++) {
        size_t n = strlen(not_names[i]);
        if ((size_t)(e - s) >= n && memcmp(s, not_names[i], n) == 0)
            return 0;
    }
    if (name_fits(v, end, s, e))
        return 1;
    /* 张三丰 or 张三 + 性别: try the shorter given name. */
    if (e - s >= 9 && name_fits(v, end, s, e - 3)) {
        c->end -= 3;
        return 1;
    }
    return 0;
}

/* -------------------------------------------------------------- address */

static int has_any(const uint8_t *s, size_t n, const char *const *words)
{
    for (size_t i = 0; words[i]; i++)
        if (memmem(s, n, words[i], strlen(words[i])))
            return 1;
    return 0;
}

static int v_address(const ql__vctx *x, ql__cand *c)
{
    /* A street-level word (in simplified or traditional characters) and a
     * house number; the province or district may be left out (香港九龍
     * 旺角彌敦道688號, 文三路259号). */
    static const char *const street[] = {"路", "街", "道", "巷", "弄", "胡同", "村", "小区",
                                         "大厦", "花园", "苑", "里", "广场", "号", "號",
                                         "區", "大廈", "花園", NULL};
    const uint8_t *s = x->data + c->start;
    size_t n = (size_t)(c->end - c->start);
    if (!has_any(s, n, street))
        return 0;
    int digit = 0;
    for (size_t i = 0; i < n && !digit; i++)
        digit = is_digit(s[i]);
    return digit;   /* a real address has a house number */
}

/* ---------------------------------------------------------------- email */

static int email_local(int c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static int v_email(const ql__vctx *x, ql__cand *c)
{
    static const char *const not_tlds[] = {"png", "jpg", "jpeg", "gif", "svg", "webp",
                                           "js", "css", "ico", "bmp", "tif", NULL};
    size_t t = (size_t)c->trigger;
    int next = byte_at(x, t);
    if (is_alnum(next) || next == '-' || next == '_')
        return 0;
    if (next == '.' && is_alnum(byte_at(x, t + 1)))
        return 0;
    /* Domain: labels back to '@'. */
    size_t p = t, tld_len = 0;
    while (p > 0 && is_alpha(byte_before(x, p))) {
        p--;
        tld_len++;
    }
    if (tld_len < 2 || tld_len > 24 || byte_before(x, p) != '.')
        return 0;
    size_t tld = p;
    while (p > 0 && t - p < 256) {
        int ch = byte_before(x, p);
        if (is_alnum(ch) || ch == '-' || ch == '.')
            p--;
        else
            break;
    }
    if (byte_before(x, p) != '@')
        return 0;
    size_t domain = p;
    if (x->data[domain] == '.' || x->data[domain] == '-' || tld - domain < 2)
        return 0;
    for (size_t i = domain; i + 1 < t; i++)
        if (x->data[i] == '.' && x->data[i + 1] == '.')
            return 0;
    p--;                                  /* the '@' */
    size_t local_end = p;
    while (p > 0 && local_end - p < 64 && email_local(byte_before(x, p)))
        p--;
    if (email_local(byte_before(x, p)))
        return 0;                         /* local part over 64 */
    while (p < local_end && (x->data[p] == '.' || x->data[p] == '-'))
        p++;                              /* "--a@b.cn" starts at a */
    if (p == local_end)
        return 0;
    for (size_t i = 0; not_tlds[i]; i++)
        if (tld_len == strlen(not_tlds[i]) &&
            strncasecmp((const char *)x->data + tld, not_tlds[i], tld_len) == 0)
            return 0;
    c->start = p;
    c->end = t;
    return 1;
}

/* ----------------------------------------------------------------- IPs */

static int v_ipv4(const ql__vctx *x, ql__cand *c)
{
    size_t t = (size_t)c->trigger;
    int next = byte_at(x, t);
    if (is_alnum(next) || (next == '.' && is_digit(byte_at(x, t + 1))))
        return 0;
    size_t p = t;
    for (int part = 0; part < 4; part++) {
        size_t nd = 0;
        while (nd < 4 && is_digit(byte_before(x, p))) {
            p--;
            nd++;
        }
        if (nd == 0 || nd > 3)
            return 0;
        if (part < 3) {
            if (byte_before(x, p) != '.')
                return 0;
            p--;
        }
    }
    int prev = byte_before(x, p);
    if (is_alnum(prev) || (prev == '.' && is_digit(byte_before(x, p - 1))))
        return 0;
    if (prev == ':' && is_hex(byte_before(x, p - 1)))
        return 0;   /* the IPv4 tail of an IPv6 address */
    if (prev == '/' && is_alnum(byte_before(x, p - 1)))
        return 0;   /* a version: Chrome/120.0.0.0, Edg/120.0.0.0 */
    if (!ql__check_ipv4((const char *)x->data + p, t - p))
        return 0;
    c->start = p;
    c->end = t;
    return 1;
}

static int ipv6_char(int c)
{
    return is_hex(c) || c == ':' || c == '.';
}

static int v_ipv6(const ql__vctx *x, ql__cand *c)
{
    size_t t = (size_t)c->trigger;
    int next = byte_at(x, t);
    if (is_alnum(next) || next == '_' || (next == ':' && is_hex(byte_at(x, t + 1))) ||
        (next == '.' && is_digit(byte_at(x, t + 1))))
        return 0;
    size_t p = t;
    while (p > 0 && t - p < 46 && ipv6_char(byte_before(x, p)))
        p--;
    int prev = byte_before(x, p);
    if (ipv6_char(prev) || is_alnum(prev) || prev == '_')
        return 0;
    size_t n = t - p;
    const char *s = (const char *)x->data + p;
    int colons = 0;
    for (size_t i = 0; i < n; i++)
        colons += s[i] == ':';
    if (colons < 2 || n < 3)
        return 0;
    if (!ql__check_ipv6(s, n))
        return 0;
    /* "::" alone or "1::2"-like fragments in code are weak evidence. */
    if (n < 5 && !(n == 3 && memcmp(s, "::1", 3) == 0))
        c->confidence -= 0.3;
    c->start = p;
    c->end = t;
    return 1;
}

/* --------------------------------------------------------- private key */

static int v_private_key(const ql__vctx *x, ql__cand *c)
{
    size_t t = (size_t)c->trigger;
    const uint8_t *v = x->data;
    size_t s = t;
    size_t lim = t > 80 ? t - 80 : 0;
    while (s > lim && !(s + 11 <= x->length && memcmp(v + s, "-----BEGIN ", 11) == 0))
        s--;
    if (memcmp(v + s, "-----BEGIN ", 11) != 0)
        return 0;
    size_t avail = x->length - t;
    size_t max = QL__MAX_SPAN - (t - s);
    if (avail > max)
        avail = max;
    const uint8_t *end = memmem(v + t, avail, "-----END ", 9);
    size_t e = t;
    if (end) {
        size_t from = (size_t)(end - v) + 9;
        const uint8_t *close = from < t + avail
            ? memmem(v + from, t + avail - from, "-----", 5) : NULL;
        if (close && (size_t)(close - v) - from < 40)
            e = (size_t)(close - v) + 5;
    }
    if (e == t)
        c->confidence -= 0.1;   /* a truncated block still leaks the key */
    c->start = s;
    c->end = e;
    return 1;
}

/* ------------------------------------------------------------- password */

static int v_password(const ql__vctx *x, ql__cand *c)
{
    static const char *const placeholders[] = {
        "null", "none", "true", "false", "password", "passwd", "changeme", "example",
        "required", "optional", "string", "undefined", "empty", "xxxx", "xxxxxx",
        "xxxxxxxx", "your_password", "yourpassword", "<password>", NULL};
    const uint8_t *v = x->data + c->start;
    size_t n = (size_t)(c->end - c->start);
    if (v[0] == '$' || v[0] == '{' || v[0] == '<' || v[0] == '%' || v[0] == '*' ||
        v[0] == '[' || v[0] == '(')
        return 0;
    /* ******** or xxxx are placeholders; 000000 and 888888 are the
     * default passwords people really use. */
    size_t same = 1;
    for (size_t i = 1; i < n; i++)
        same += v[i] == v[0];
    if (same == n && !is_digit(v[0]))
        return 0;
    for (size_t i = 0; placeholders[i]; i++)
        if (strlen(placeholders[i]) == n && strncasecmp((const char *)v, placeholders[i], n) == 0)
            return 0;
    return 1;
}

/* ------------------------------------------------------------------ JWT */

static int b64url_value(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

static int v_jwt(const ql__vctx *x, ql__cand *c)
{
    /* The header must decode to a JSON object naming an algorithm. */
    const uint8_t *v = x->data + c->start;
    size_t n = (size_t)(c->end - c->start);
    char header[256];
    size_t hn = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && v[i] != '.' && hn < sizeof header - 1; i++) {
        int val = b64url_value(v[i]);
        if (val < 0)
            return 0;
        acc = (acc << 6) | (unsigned)val;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            header[hn++] = (char)((acc >> bits) & 0xFF);
        }
    }
    header[hn] = '\0';
    return header[0] == '{' && (strstr(header, "\"alg\"") || strstr(header, "\"typ\""));
}

/* ------------------------------------------------------------- dispatch */

int ql__validate(const ql__vctx *x, ql__cand *c, int have_span)
{
    const ql__rule *r = x->rule;
    switch (r->validator) {
    case QL__V_NONE: return 1;
    case QL__V_CN_RESIDENT_ID: return v_resident_id(x, c, 0);
    case QL__V_CN_RESIDENT_ID15: return v_resident_id(x, c, 1);
    case QL__V_CN_MOBILE: return v_mobile(x, c);
    case QL__V_CN_LANDLINE: return v_landline(x, c);
    case QL__V_BANK_CARD: return v_bank_card(x, c);
    case QL__V_CN_USCC:
        return ql__check_cn_uscc((const char *)x->data + c->start, (size_t)(c->end - c->start));
    case QL__V_HK_ID: return v_hk_id(x, c);
    case QL__V_TW_ID:
        return ql__check_tw_id((const char *)x->data + c->start, (size_t)(c->end - c->start));
    case QL__V_MACAU_ID: return 1;
    case QL__V_CN_PLATE: return v_plate(x, c);
    case QL__V_PERSON_NAME: return v_person_name(x, c);
    case QL__V_CN_ADDRESS: return v_address(x, c);
    case QL__V_EMAIL: return v_email(x, c);
    case QL__V_IPV4: return v_ipv4(x, c);
    case QL__V_IPV6: return v_ipv6(x, c);
    case QL__V_PRIVATE_KEY: return v_private_key(x, c);
    case QL__V_PASSWORD: return v_password(x, c);
    case QL__V_JWT: return v_jwt(x, c);
    case QL__V_COUNT: break;
    }
    (void)have_span;
    return 0;
}
