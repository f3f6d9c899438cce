/*
 * checks.c — the check algorithms the identifier standards define
 * themselves: GB 11643 (ISO 7064 MOD 11-2) for resident IDs, GB 32100 and
 * GB 11714 for organisation codes, Luhn for card numbers, the HKID and
 * Taiwan ID weighted sums, RFC 4291 text forms for IPv6, calendar dates and
 * the GA 36 licence plate layout.  They live apart from the validators so
 * that each algorithm can be checked against the standard's own published
 * examples (tests/unit/test_checks.c) without any scanning machinery.
 *
 * Every function is pure: it reads only [s, s+n), allocates nothing and
 * keeps no state, so the engine can call it from any thread on any span.
 * Fixed-length forms check n before reading a byte, and the variable ones
 * (IP addresses) test the index against n before each read, so a short
 * span is never read past its end.
 */
#include "checks.h"

#include <string.h>

/* Byte classes.  Written out rather than taken from <ctype.h> because the
 * standards mean ASCII exactly, whatever the locale says. */
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }

static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Value of n decimal digits at s; the caller has checked they are digits. */
static int digits_value(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* ---- dates ------------------------------------------------------------ */

static int is_leap(int y)
{
    /* Gregorian rule: every 4th year, except centuries not divisible by
     * 400 — so 2000 was a leap year and 1900 was not. */
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int ql__date_valid(int year, int month, int day)
{
    static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30,
                                            31, 31, 30, 31, 30, 31};
    if (year < 1800 || year > 9999 || month < 1 || month > 12 || day < 1)
        return 0;
    int last = mdays[month - 1] + (month == 2 && is_leap(year));
    return day <= last;
}

int ql__age_years(ql__ymd birth, ql__ymd today)
{
    /* A birthday counts once its month and day are reached; comparing
     * mmdd does that without any calendar arithmetic.  Someone born on
     * 29 February is therefore a year older on 1 March in common years. */
    int age = (int)(today / 10000) - (int)(birth / 10000);
    if (today % 10000 < birth % 10000)
        age--;
    return age;
}

/* ---- GB/T 2260 province codes ---------------------------------------- */

int ql__cn_province_valid(int code)
{
    /* The province-level rows of GB/T 2260 (11 Beijing .. 65 Xinjiang,
     * 71 Taiwan, 81 Hong Kong, 82 Macau), plus 83, which GB 11643 numbers
     * for Taiwan residents' residence permits use (HK and Macau permits
     * use 81 and 82). */
    return (code >= 11 && code <= 15) || (code >= 21 && code <= 23) ||
           (code >= 31 && code <= 37) || (code >= 41 && code <= 46) ||
           (code >= 50 && code <= 54) || (code >= 61 && code <= 65) ||
           code == 71 || code == 81 || code == 82 || code == 83;
}

/* ---- GB 11643 citizen identity number -------------------------------- */

char ql__mod11_2_check(const char *digits17)
{
    /* ISO 7064 MOD 11-2 as GB 11643-1999 states it: weight i is
     * 2^(17-i) mod 11, the check value is (12 - sum mod 11) mod 11, and
     * 10 is written X.  The table maps sum mod 11 straight to the char. */
    static const unsigned char w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6,
                                        3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        unsigned char c = (unsigned char)digits17[i];
        if (!is_digit(c))
            return '\0';
        sum += (c - '0') * w[i];
    }
    return check[sum % 11];
}

/* Shared by both forms: the birth date must be a real date, not before
 * 1900 (nobody alive was born earlier, so such a span is not a live ID)
 * and not after the scan date. */
static int birth_ok(int y, int m, int d, ql__ymd today)
{
    if (y < 1900 || !ql__date_valid(y, m, d))
        return 0;
    return (ql__ymd)(y * 10000 + m * 100 + d) <= today;
}

int ql__check_cn_resident_id18(const char *s, size_t n, ql__ymd today,
                               ql__resident_id_info *info)
{
    if (n != 18 || !all_digits(s, 17))
        return 0;
    unsigned char last = (unsigned char)s[17];
    if (last == 'x')
        last = 'X'; /* people type it lower-case; the standard means X */
    if (!is_digit(last) && last != 'X')
        return 0;
    if (!ql__cn_province_valid(digits_value(s, 2)))
        return 0;
    int y = digits_value(s + 6, 4), m = digits_value(s + 10, 2),
        d = digits_value(s + 12, 2);
    if (!birth_ok(y, m, d, today))
        return 0;
    if (ql__mod11_2_check(s) != (char)last)
        return 0;
    if (info) {
        info->birth = (ql__ymd)(y * 10000 + m * 100 + d);
        info->male = (s[16] - '0') % 2; /* odd sequence digit = male */
    }
    return 1;
}

int ql__check_cn_resident_id15(const char *s, size_t n, ql__ymd today,
                               ql__resident_id_info *info)
{
    /* GB 11643-1989 numbers were issued before 2000 and carry no century;
     * the 18-digit upgrade rule inserts "19", so that is how it is read. */
    if (n != 15 || !all_digits(s, 15))
        return 0;
    if (!ql__cn_province_valid(digits_value(s, 2)))
        return 0;
    int y = 1900 + digits_value(s + 6, 2), m = digits_value(s + 8, 2),
        d = digits_value(s + 10, 2);
    if (!birth_ok(y, m, d, today))
        return 0;
    if (info) {
        info->birth = (ql__ymd)(y * 10000 + m * 100 + d);
        info->male = (s[14] - '0') % 2;
    }
    return 1;
}

/* ---- Luhn ------------------------------------------------------------- */

int ql__luhn_valid(const char *digits, size_t n)
{
    /* A lone digit would be its own check digit and say nothing. */
    if (n < 2)
        return 0;
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)digits[n - 1 - i];
        if (!is_digit(c))
            return 0;
        int v = c - '0';
        if (i % 2 == 1) { /* every second digit from the right, doubled */
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

/* ---- GB 11714 organisation code and GB 32100 credit code -------------- */

/* GB 11714 Appendix A: 0-9 are themselves, A-Z are 10-35. */
static int gb11714_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (is_upper(c))
        return c - 'A' + 10;
    return -1;
}

int ql__check_gb11714_code(const char *s, size_t n)
{
    static const unsigned char w[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    if (n != 9)
        return 0;
    int sum = 0;
    for (int i = 0; i < 8; i++) {
        int v = gb11714_value((unsigned char)s[i]);
        if (v < 0)
            return 0;
        sum += v * w[i];
    }
    /* C9 = 11 - MOD(sum, 11); 10 is written X and 11 is written 0. */
    int c9 = 11 - sum % 11;
    char want = c9 == 10 ? 'X' : c9 == 11 ? '0' : (char)('0' + c9);
    return s[8] == want;
}

/* GB 32100 Table 1: the 31 code characters (no I, O, S, V, Z) and their
 * values are their positions in this string. */
static const char uscc_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static int uscc_value(unsigned char c)
{
    /* The length excludes the terminator, so a NUL byte is not found. */
    const char *p = memchr(uscc_chars, c, sizeof uscc_chars - 1);
    return p ? (int)(p - uscc_chars) : -1;
}

int ql__check_cn_uscc(const char *s, size_t n)
{
    /* Weights W_i = 3^(i-1) mod 31, as GB 32100 tabulates them. */
    static const unsigned char w[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                        29, 25, 13, 8,  24, 10, 30, 28};
    if (n != 18)
        return 0;
    int v[18];
    for (int i = 0; i < 18; i++) {
        v[i] = uscc_value((unsigned char)s[i]);
        if (v[i] < 0)
            return 0;
    }
    /* Registration authority: 1-9, A (military), N (agriculture), Y. */
    if (!((s[0] >= '1' && s[0] <= '9') || s[0] == 'A' || s[0] == 'N' ||
          s[0] == 'Y'))
        return 0;
    /* Organisation type: GB 32100 allows letters here, but every type it
     * (and its amendments) assigns is a digit 1-9. */
    if (!(s[1] >= '1' && s[1] <= '9'))
        return 0;
    /* The registering authority's region: a province's code, or 100000
     * for bodies registered by the central government (e.g. ministries,
     * 11100000000013338W). */
    if (!all_digits(s + 2, 6) ||
        !(ql__cn_province_valid(digits_value(s + 2, 2)) || memcmp(s + 2, "100000", 6) == 0))
        return 0;
    /* Characters 9-17 are the registrant's GB 11714 code, check included. */
    if (!ql__check_gb11714_code(s + 8, 9))
        return 0;
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += v[i] * w[i];
    /* C18 = 31 - MOD(sum, 31), where 31 stands for 0. */
    return v[17] == (31 - sum % 31) % 31;
}

/* ---- Hong Kong, Taiwan, Macau ---------------------------------------- */

int ql__check_hk_id(const char *s, size_t n)
{
    /* Nine positions weighted 9..1: one or two letters (A=10 .. Z=35),
     * six digits, the check.  A one-letter number is padded on the left
     * with a space worth 36.  Sources that use 58 for the space, or ASCII
     * codes (space as ']' = 91, A = 65), give the same results because
     * 36, 58 and 91 are all 3 mod 11 and 65 is 10 mod 11. */
    if (n != 8 && n != 9)
        return 0;
    size_t nl = n - 7; /* number of prefix letters */
    int sum = nl == 1 ? 36 * 9 : 0;
    int weight = nl == 1 ? 8 : 9;
    for (size_t i = 0; i < nl; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_upper(c))
            return 0;
        sum += (c - 'A' + 10) * weight--;
    }
    for (size_t i = nl; i < nl + 6; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_digit(c))
            return 0;
        sum += (c - '0') * weight--;
    }
    unsigned char c = (unsigned char)s[n - 1];
    int check;
    if (is_digit(c))
        check = c - '0';
    else if (c == 'A')
        check = 10;
    else
        return 0;
    return (sum + check) % 11 == 0; /* the check has weight 1 */
}

int ql__check_tw_id(const char *s, size_t n)
{
    /* The published letter table is not alphabetical: I (34), O (35),
     * W (32) and Z (33) sit out of order, shifting the letters after them. */
    static const unsigned char letter[26] = {
        10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21,
        22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33};
    /* Weights for the letter's two digits, then the nine digits. */
    static const unsigned char w[9] = {8, 7, 6, 5, 4, 3, 2, 1, 1};
    if (n != 10 || !is_upper((unsigned char)s[0]) || !all_digits(s + 1, 9))
        return 0;
    /* 1/2: citizens (male/female); 8/9: the 2021 resident certificate. */
    if (s[1] != '1' && s[1] != '2' && s[1] != '8' && s[1] != '9')
        return 0;
    int code = letter[s[0] - 'A'];
    int sum = code / 10 * 1 + code % 10 * 9;
    for (int i = 0; i < 9; i++)
        sum += (s[1 + i] - '0') * w[i];
    return sum % 10 == 0;
}

int ql__check_macau_id(const char *s, size_t n)
{
    if (n != 8 || !all_digits(s, 8))
        return 0;
    return s[0] == '1' || s[0] == '5' || s[0] == '7';
}

/* ---- IP addresses ----------------------------------------------------- */

int ql__check_ipv4(const char *s, size_t n)
{
    size_t i = 0;
    for (int octet = 0; octet < 4; octet++) {
        if (octet > 0) {
            if (i >= n || s[i] != '.')
                return 0;
            i++;
        }
        size_t start = i;
        int v = 0;
        while (i < n && i - start < 3 && is_digit((unsigned char)s[i]))
            v = v * 10 + (s[i++] - '0');
        size_t len = i - start;
        if (len == 0 || v > 255)
            return 0;
        /* "01" could be read as octal by some parsers; RFC 6943 3.1.1. */
        if (len > 1 && s[start] == '0')
            return 0;
    }
    return i == n; /* a fourth digit in an octet also lands here */
}

int ql__check_ipv6(const char *s, size_t n)
{
    /* Longest form: six groups and a dotted quad, 45 bytes. */
    if (n < 2 || n > 45)
        return 0;
    size_t i = 0;
    int groups = 0, compressed = 0;
    if (s[0] == ':') {
        if (s[1] != ':')
            return 0; /* a lone leading colon */
        compressed = 1;
        i = 2;
    }
    while (i < n) {
        size_t start = i;
        while (i < n && is_hex((unsigned char)s[i]))
            i++;
        if (i < n && s[i] == '.') {
            /* The dotted quad is the last 32 bits: it runs to the end. */
            if (!ql__check_ipv4(s + start, n - start))
                return 0;
            groups += 2;
            i = n;
            break;
        }
        if (i == start || i - start > 4)
            return 0;
        groups++;
        if (i == n)
            break;
        if (s[i] != ':')
            return 0;
        i++;
        if (i < n && s[i] == ':') {
            if (compressed)
                return 0; /* "::" may appear only once */
            compressed = 1;
            i++;
        } else if (i == n) {
            return 0; /* a lone trailing colon */
        }
        if (groups > 8)
            return 0;
    }
    /* "::" stands for at least one group of zeros (RFC 4291 2.2). */
    return compressed ? groups <= 7 : groups == 8;
}

/* ---- licence plates --------------------------------------------------- */

/* Letters a plate may use: GA 36 leaves out I and O, which read as 1 and 0. */
static int plate_letter(unsigned char c) { return is_upper(c) && c != 'I' && c != 'O'; }
static int plate_alnum(unsigned char c) { return plate_letter(c) || is_digit(c); }

/* The 31 province-level abbreviations, each 3 bytes of UTF-8. */
static const char plate_provinces[] =
    "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/* The use characters that end a plate in place of its fifth character:
 * trailer, coach, police, and the Guangdong cross-boundary plates. */
static const char plate_suffixes[] = "挂学警港澳";

static int in_utf8_set(const char *set, size_t setlen, const char *c3)
{
    for (size_t k = 0; k + 3 <= setlen; k += 3)
        if (memcmp(set + k, c3, 3) == 0)
            return 1;
    return 0;
}

int ql__check_cn_license_plate(const char *s, size_t n)
{
    /* Province (3 bytes) + authority letter, then 5 (regular), 4 + a use
     * character (3 bytes) or 6 (new energy) characters. */
    if (n != 9 && n != 10 && n != 11)
        return 0;
    if (!in_utf8_set(plate_provinces, sizeof plate_provinces - 1, s))
        return 0;
    if (!plate_letter((unsigned char)s[3]))
        return 0;
    const unsigned char *r = (const unsigned char *)s + 4;
    if (n == 9) {
        for (int i = 0; i < 5; i++)
            if (!plate_alnum(r[i]))
                return 0;
        return 1;
    }
    if (n == 11) {
        for (int i = 0; i < 4; i++)
            if (!plate_alnum(r[i]))
                return 0;
        return in_utf8_set(plate_suffixes, sizeof plate_suffixes - 1, s + 8);
    }
    /* New energy (GA 36-2018): small vehicles put D (battery electric) or
     * F (other) first, then a letter or digit and four digits; large
     * vehicles have five digits and then D or F. */
    if (r[0] == 'D' || r[0] == 'F') {
        if (plate_alnum(r[1]) && all_digits((const char *)r + 2, 4))
            return 1;
    }
    return all_digits((const char *)r, 5) && (r[5] == 'D' || r[5] == 'F');
}
