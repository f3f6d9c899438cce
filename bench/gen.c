/*
 * gen.c — bench-gen: writes the benchmark corpus for `make bench`.
 *
 *     bench-gen OUT_FILE [SIZE_MB]        (default 64; MB here is MiB)
 *
 * The corpus imitates what qinglang is pointed at in practice: mostly
 * Chinese prose (documents, chat exports), application logs, and
 * digit-heavy records (order numbers, timestamps, amounts, versions,
 * hashes) that look like identifiers but are not.  About every 2 KB on
 * average one entity of a built-in type (docs/types.md) is planted, with a
 * valid check digit computed here and, where the type needs one, its
 * context word.  The noise is made so that it never passes a check by
 * accident (an 18-digit order number that happens to satisfy GB 11643 is
 * changed), so "planted" is the ground truth a scan should find.
 *
 * Every byte comes from one splitmix64 stream with a fixed seed and integer
 * arithmetic only: the same SIZE_MB gives the same file on every machine.
 * The file is written to OUT_FILE.tmp and renamed when complete, so a
 * reader never sees half a corpus.  One summary line goes to stdout:
 * bytes written, the share of each kind of content, and the number of
 * entities planted per type (as key=value pairs that bench/run.sh reads).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(a) ((a)[rnd((uint32_t)COUNT(a))])

/* ---------------------------------------------------------------- PRNG -- */

static uint64_t rng_state = 0x51A9C0DEB3E7C4A1ULL;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) by multiply-shift; n > 0. */
static uint32_t rnd(uint32_t n)
{
    return (uint32_t)(((rng_next() >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi]. */
static int rnd_range(int lo, int hi)
{
    return lo + (int)rnd((uint32_t)(hi - lo + 1));
}

/* 1 with probability pct/100. */
static int chance(unsigned pct)
{
    return rnd(100) < pct;
}

/* ------------------------------------------------------------- buffers -- */

/* A growable line buffer.  Lines are at most a few KB (a PEM block or a
 * long paragraph); the cap stops a bug from eating the machine. */
#define LINE_MAX_BYTES (4u << 20)

typedef struct buf {
    char  *p;
    size_t len, cap;
} buf;

static void die(const char *what)
{
    fprintf(stderr, "bench-gen: %s\n", what);
    exit(2);
}

static void put(buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        if (cap > LINE_MAX_BYTES)
            die("internal error: line too long");
        char *np = realloc(b->p, cap);
        if (!np)
            die("out of memory");
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putch(buf *b, char c)
{
    put(b, &c, 1);
}

static void putf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        die("internal error: formatted field too long");
    put(b, tmp, (size_t)n);
}

/* n random characters from `alphabet`. */
static void put_rand(buf *b, const char *alphabet, int n)
{
    uint32_t k = (uint32_t)strlen(alphabet);
    for (int i = 0; i < n; i++)
        putch(b, alphabet[rnd(k)]);
}

/* One character of `chars` (PICK would also pick the terminating NUL). */
static char pick_char(const char *chars)
{
    return chars[rnd((uint32_t)strlen(chars))];
}

static void put_digits(buf *b, int n)
{
    put_rand(b, "0123456789", n);
}

/* n random characters from `alphabet` (which must contain letters), never
 * more than 5 digits in a row: hashes, UUIDs and key bodies then never hold
 * a phone-, ID- or card-like digit run by chance. */
static void put_rand_short_runs(buf *b, const char *alphabet, int n)
{
    uint32_t k = (uint32_t)strlen(alphabet);
    int run = 0;
    for (int i = 0; i < n; i++) {
        char c = alphabet[rnd(k)];
        while (c >= '0' && c <= '9' && run >= 5)
            c = alphabet[rnd(k)];
        run = (c >= '0' && c <= '9') ? run + 1 : 0;
        putch(b, c);
    }
}

/* The body of a key, token or PEM line: random characters with short digit
 * runs that, read case-insensitively, hold no other type's prefix or label
 * by chance ("…SMRNnFb2bSueE" would be a medical record number after MRN). */
static void put_token(buf *b, const char *alphabet, int n)
{
    static const char *const avoid[] = {"akia", "asia", "abia", "acca", "ltai", "akid",
                                        "eyj",  "ghp",  "gho",  "ghu",  "ghs",  "ghr",
                                        "glpat", "xox", "mrn",  "hkid"};
    for (;;) {
        size_t at = b->len;
        put_rand_short_runs(b, alphabet, n);
        int bad = 0;
        for (size_t i = 0; i < COUNT(avoid) && !bad; i++) {
            size_t k = strlen(avoid[i]);
            for (size_t j = at; j + k <= b->len && !bad; j++)
                bad = strncasecmp(b->p + j, avoid[i], k) == 0;
        }
        if (!bad)
            return;
        b->len = at;
    }
}

static const char HEX[] = "0123456789abcdef";
static const char ALNUM[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Appends `s` with every printable ASCII character turned into its
 * full-width form (U+FF01..U+FF5E), as some Chinese input methods type it. */
static void put_fullwidth(buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c > 0x20 && c < 0x7F) {
            unsigned cp = 0xFF01u + (c - 0x21u);
            char u[3] = {(char)(0xE0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3F)),
                         (char)(0x80 | (cp & 0x3F))};
            put(b, u, 3);
        } else {
            putch(b, (char)c);
        }
    }
}

/* ------------------------------------------------------ check algorithms -- */

static int days_in_month(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

/* GB 11643 ISO 7064 MOD 11-2 check character of 17 digits. */
static char mod11_2(const char *d17)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int s = 0;
    for (int i = 0; i < 17; i++)
        s += (d17[i] - '0') * w[i];
    return "10X98765432"[s % 11];
}

static int province_valid(int p)
{
    return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) ||
           (p >= 41 && p <= 46) || (p >= 50 && p <= 54) || (p >= 61 && p <= 65) ||
           p == 71 || p == 81 || p == 82 || p == 83;
}

static int digits_value(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Would this 18-digit string pass a resident-ID check (province, a real
 * birth date from 1900 on, MOD 11-2)?  Used to keep the noise clean. */
static int looks_like_resident_id(const char *s)
{
    if (!province_valid(digits_value(s, 2)))
        return 0;
    int y = digits_value(s + 6, 4), m = digits_value(s + 10, 2), d = digits_value(s + 12, 2);
    if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return 0;
    return mod11_2(s) == s[17];
}

/* Luhn check digit for `n` payload digits. */
static char luhn_check_digit(const char *d, int n)
{
    int s = 0;
    for (int i = n - 1, dbl = 1; i >= 0; i--, dbl = !dbl) {
        int v = d[i] - '0';
        if (dbl) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        s += v;
    }
    return (char)('0' + (10 - s % 10) % 10);
}

static int luhn_valid(const char *d, int n)
{
    return luhn_check_digit(d, n - 1) == d[n - 1];
}

/* Would a card detector take these n digits?  15-19 digits passing Luhn,
 * whatever the prefix: looser than docs/types.md's issuer list, so that
 * noise stays clear of any reading of it. */
static int card_like(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n >= 15 && n <= 19 && luhn_valid(s, n);
}

/* 1 if no maximal run of ASCII digits in s[0..n) reads as another type: a
 * mobile number (11 digits, 1[3-9]), a card (card_like) or a resident ID
 * (18 digits).  A letter next to a digit run ends it for the engine
 * ("Y13501027553Y" holds a mobile number), so runs inside planted values
 * and noise are checked one by one. */
static int digit_runs_clean(const char *s, int n)
{
    for (int i = 0; i < n;) {
        if (s[i] < '0' || s[i] > '9') {
            i++;
            continue;
        }
        int j = i;
        while (j < n && s[j] >= '0' && s[j] <= '9')
            j++;
        int len = j - i;
        if (len == 11 && s[i] == '1' && s[i + 1] >= '3')
            return 0;
        if (card_like(s + i, len))
            return 0;
        if (len == 18 && looks_like_resident_id(s + i))
            return 0;
        i = j;
    }
    return 1;
}

/* ------------------------------------------------------------- corpus -- */

enum { K_PROSE, K_LOG, K_NOISE, K_COUNT };
static const char *const kind_names[K_COUNT] = {"prose", "logs", "noise"};
/* Target share of bytes per kind, in permille. */
static const int kind_target[K_COUNT] = {600, 250, 150};

enum {
    T_RESIDENT_ID, T_MOBILE, T_LANDLINE, T_BANK_CARD, T_USCC, T_PASSPORT,
    T_HK_MACAU_PERMIT, T_TAIWAN_PERMIT, T_HOME_RETURN, T_HK_ID, T_MACAU_ID,
    T_TW_ID, T_PLATE, T_PERSON_NAME, T_ADDRESS, T_MEDICAL, T_EMAIL, T_IPV4,
    T_IPV6, T_URL_CRED, T_AWS_KEY_ID, T_AWS_SECRET, T_GITHUB, T_GITLAB,
    T_SLACK, T_ALIBABA, T_TENCENT, T_PRIVATE_KEY, T_JWT, T_PASSWORD, T_COUNT
};

typedef struct etype {
    const char *name;   /* type id from docs/types.md */
    int         weight; /* relative frequency among planted entities */
    int         needs_context;
} etype;

static const etype types[T_COUNT] = {
    [T_RESIDENT_ID]     = {"cn_resident_id", 10, 0},
    [T_MOBILE]          = {"cn_mobile_phone", 12, 0},
    [T_LANDLINE]        = {"cn_landline_phone", 5, 0},
    [T_BANK_CARD]       = {"bank_card", 6, 0},
    [T_USCC]            = {"cn_uscc", 4, 0},
    [T_PASSPORT]        = {"cn_passport", 3, 1},
    [T_HK_MACAU_PERMIT] = {"cn_hk_macau_permit", 2, 1},
    [T_TAIWAN_PERMIT]   = {"cn_taiwan_permit", 2, 1},
    [T_HOME_RETURN]     = {"cn_home_return_permit", 2, 1},
    [T_HK_ID]           = {"hk_id", 3, 0},
    [T_MACAU_ID]        = {"macau_id", 2, 0},
    [T_TW_ID]           = {"tw_id", 3, 0},
    [T_PLATE]           = {"cn_license_plate", 4, 0},
    [T_PERSON_NAME]     = {"person_name", 6, 1},
    [T_ADDRESS]         = {"cn_address", 5, 0},
    [T_MEDICAL]         = {"medical_record_no", 3, 1},
    [T_EMAIL]           = {"email", 8, 0},
    [T_IPV4]            = {"ipv4", 8, 0},
    [T_IPV6]            = {"ipv6", 3, 0},
    [T_URL_CRED]        = {"url_with_credentials", 2, 0},
    [T_AWS_KEY_ID]      = {"aws_access_key_id", 2, 0},
    [T_AWS_SECRET]      = {"aws_secret_access_key", 2, 1},
    [T_GITHUB]          = {"github_token", 2, 0},
    [T_GITLAB]          = {"gitlab_token", 2, 0},
    [T_SLACK]           = {"slack_token", 2, 0},
    [T_ALIBABA]         = {"alibaba_access_key_id", 2, 0},
    [T_TENCENT]         = {"tencent_secret_id", 2, 0},
    [T_PRIVATE_KEY]     = {"private_key", 1, 0},
    [T_JWT]             = {"jwt", 2, 0},
    [T_PASSWORD]        = {"password_assignment", 4, 1},
};

static uint64_t total_written;          /* bytes already in the file */
static uint64_t kind_bytes[K_COUNT];
static uint64_t next_entity_at;         /* plant when the output passes this */
static uint64_t planted[T_COUNT];
static uint64_t lines_written;

/* Gap to the next entity: uniform 256..3840 bytes, mean 2048. */
static uint64_t entity_gap(void)
{
    return (uint64_t)rnd_range(256, 3840);
}

static int entity_due(const buf *b)
{
    return total_written + b->len >= next_entity_at;
}

/* ------------------------------------------------------ entity values -- */

static const char *const id_areas[] = {
    "110101", "110105", "110108", "120101", "120104", "130102", "130602", "140105",
    "150102", "210102", "210202", "220102", "230102", "310101", "310104", "310115",
    "320102", "320506", "330102", "330106", "340104", "350102", "350203", "360102",
    "370102", "370202", "410105", "420106", "430104", "440103", "440305", "440106",
    "450103", "460105", "500103", "510104", "520102", "530102", "540102", "610113",
    "620102", "630102", "640104", "650102",
};

static int looks_like_uscc(const char *s);

/* 18-character resident ID (1950..2012 births), or the 15-digit old form. */
static void val_resident_id(buf *b, int old_form)
{
    char s[64]; /* room for any int, so GCC sees no truncation */
    int y = old_form ? rnd_range(1940, 1984) : rnd_range(1950, 2012);
    int m = rnd_range(1, 12), d = rnd_range(1, days_in_month(y, m));
    const char *area = PICK(id_areas);
    if (old_form) {
        do
            snprintf(s, sizeof s, "%s%02d%02d%02d%03d", area, y % 100, m, d, rnd_range(1, 999));
        while (!digit_runs_clean(s, 15));
        puts_(b, s);
        return;
    }
    do {
        snprintf(s, sizeof s, "%s%04d%02d%02d%03d", area, y, m, d, rnd_range(1, 999));
        s[17] = mod11_2(s);
        s[18] = '\0';
    } while (card_like(s, s[17] == 'X' ? 17 : 18) || looks_like_uscc(s));
    if (chance(4))
        put_fullwidth(b, s, 18);
    else
        puts_(b, s);
}

static const char *const mobile_prefixes[] = {
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145", "147",
    "150", "151", "152", "153", "155", "156", "157", "158", "159", "166", "171", "173",
    "175", "176", "177", "178", "180", "181", "182", "183", "184", "185", "186", "187",
    "188", "189", "191", "195", "198", "199",
};

static void val_mobile(buf *b)
{
    char n[12];
    memcpy(n, PICK(mobile_prefixes), 3);
    for (int i = 3; i < 11; i++)
        n[i] = (char)('0' + rnd(10));
    n[11] = '\0';
    int r = rnd_range(0, 99);
    if (r < 4) {
        put_fullwidth(b, n, 11);
        return;
    }
    if (r < 14)
        puts_(b, "+86 ");
    else if (r < 19)
        puts_(b, "+86-");
    else if (r < 23)
        puts_(b, "(+86)");
    else if (r < 27) {
        /* "0086" + 11 digits is a 15-digit run: keep it off Luhn. */
        char run[16];
        memcpy(run, "0086", 4);
        memcpy(run + 4, n, 12);
        while (card_like(run, 15)) {
            run[14] = (char)('0' + (run[14] - '0' + 1) % 10);
            n[10] = run[14];
        }
        puts_(b, "0086");
    }
    if (chance(15)) {
        char sep = pick_char(" -.");
        putf(b, "%.3s%c%.4s%c%.4s", n, sep, n + 3, sep, n + 7);
    } else {
        puts_(b, n);
    }
}

static void val_landline(buf *b)
{
    static const char *const area3[] = {"010", "020", "021", "022", "023",
                                        "024", "025", "027", "028", "029"};
    static const char *const area4[] = {"0755", "0571", "0512", "0731", "0591", "0532",
                                        "0351", "0871", "0898", "0931", "0411", "0451",
                                        "0769", "0757"};
    int big = chance(60);
    const char *area = big ? PICK(area3) : PICK(area4);
    int len = big ? 8 : (chance(70) ? 8 : 7);
    char num[9];
    num[0] = (char)('2' + rnd(7));
    for (int i = 1; i < len; i++)
        num[i] = (char)('0' + rnd(10));
    num[len] = '\0';
    switch (rnd(4)) {
    case 0: putf(b, "(%s)%s", area, num); break;
    case 1:
        if (len == 8) {
            putf(b, "%s %.4s %.4s", area, num, num + 4);
            break;
        }
        /* fall through */
    default: putf(b, "%s-%s", area, num); break;
    }
    if (chance(15)) {
        static const char *const ext[] = {"-", "转", " ext ", "转"};
        puts_(b, PICK(ext));
        putf(b, "%d", rnd_range(100, 8999));
    }
}

/* A card number with a valid Luhn digit: UnionPay 62 (16 or 19 digits),
 * Visa 4 or Mastercard 51-55 (16). */
static void make_card(char d[20])
{
    static const char *const unionpay[] = {"6222", "6228", "6217", "6212", "6214",
                                           "6225", "6226", "6230", "6216", "6259"};
    int n, r = rnd_range(0, 99);
    if (r < 55) {
        memcpy(d, PICK(unionpay), 4);
        n = chance(40) ? 19 : 16;
    } else if (r < 80) {
        d[0] = '4';
        for (int i = 1; i < 4; i++)
            d[i] = (char)('0' + rnd(10));
        n = 16;
    } else {
        d[0] = '5';
        d[1] = (char)('1' + rnd(5));
        d[2] = (char)('0' + rnd(10));
        d[3] = (char)('0' + rnd(10));
        n = 16;
    }
    for (int i = 4; i < n - 1; i++)
        d[i] = (char)('0' + rnd(10));
    d[n - 1] = luhn_check_digit(d, n - 1);
    d[n] = '\0';
}

static void val_bank_card(buf *b)
{
    char d[20];
    make_card(d);
    int g = rnd_range(0, 99);
    if (g < 50) {
        puts_(b, d);
        return;
    }
    /* Grouped: a later group starting with 0 would read as a landline
     * ("0825 2463 0789"), so such numbers are redrawn. */
    while (d[4] == '0' || d[8] == '0' || d[12] == '0' || (d[16] && d[16] == '0'))
        make_card(d);
    int n = (int)strlen(d);
    char sep = g < 85 ? ' ' : '-';
    for (int i = 0; i < n; i += 4) {
        if (i)
            putch(b, sep);
        put(b, d + i, (size_t)(n - i < 4 ? n - i : 4));
    }
}

static const char USCC_ALPHABET[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static int uscc_value(char c)
{
    const char *p = strchr(USCC_ALPHABET, c);
    return p ? (int)(p - USCC_ALPHABET) : -1;
}

/* GB 32100 code: authority + type, a 6-digit area, a GB 11714
 * organisation code with its MOD 11 check, then the MOD 31 check. */
static void make_uscc(char s[19])
{
    static const char *const heads[] = {"91", "91", "91", "91", "92", "93", "12", "11",
                                        "52", "53", "31", "Y1"};
    static const int w11714[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    static const int w32100[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20,
                                   29, 25, 13, 8, 24, 10, 30, 28};
    memcpy(s, PICK(heads), 2);
    memcpy(s + 2, PICK(id_areas), 6);
    int sum = 0;
    for (int i = 0; i < 8; i++) {
        char c = chance(85) ? (char)('0' + rnd(10)) : USCC_ALPHABET[10 + rnd(21)];
        s[8 + i] = c;
        int v = c <= '9' ? c - '0' : c - 'A' + 10; /* GB 11714 values: A=10..Z=35 */
        sum += v * w11714[i];
    }
    int c9 = 11 - sum % 11;
    s[16] = c9 == 10 ? 'X' : (char)('0' + c9 % 11);
    sum = 0;
    for (int i = 0; i < 17; i++)
        sum += uscc_value(s[i]) * w32100[i];
    s[17] = USCC_ALPHABET[(31 - sum % 31) % 31];
    s[18] = '\0';
}

/* Would this 18-character string pass the GB 11714 and GB 32100 checks
 * (ignoring the first two characters' rules, so looser than the engine)?
 * An all-digit order number can, about once in 700. */
static int looks_like_uscc(const char *s)
{
    static const int w11714[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++)
        if (uscc_value(s[i]) < 0)
            return 0;
    for (int i = 0; i < 8; i++) {
        char c = s[8 + i];
        sum += (c <= '9' ? c - '0' : c - 'A' + 10) * w11714[i];
    }
    int c9 = 11 - sum % 11;
    if (s[16] != (c9 == 10 ? 'X' : (char)('0' + c9 % 11)))
        return 0;
    sum = 0;
    for (int i = 0, w = 1; i < 17; i++, w = w * 3 % 31)
        sum += uscc_value(s[i]) * w;
    return s[17] == USCC_ALPHABET[(31 - sum % 31) % 31];
}

static void val_uscc(buf *b)
{
    char s[19];
    /* An all-digit code that another detector would also take is redrawn. */
    do
        make_uscc(s);
    while (!digit_runs_clean(s, 18));
    puts_(b, s);
}

static const char LETTER_NO_IO[] = "ABCDEFGHJKLMNPQRSTUVWXYZ";

static void val_passport(buf *b)
{
    int r = rnd_range(0, 99);
    if (r < 60) {
        putch(b, 'E');
        put_digits(b, 8);
    } else if (r < 85) {
        putch(b, 'E');
        putch(b, pick_char(LETTER_NO_IO));
        put_digits(b, 7);
    } else {
        putch(b, 'G');
        put_digits(b, 8);
    }
}

static void val_hk_macau_permit(buf *b)
{
    putch(b, 'C');
    if (chance(60)) {
        put_digits(b, 8);
    } else {
        putch(b, pick_char(LETTER_NO_IO));
        put_digits(b, 7);
    }
}

static void val_taiwan_permit(buf *b)
{
    putch(b, 'L');
    put_digits(b, 8);
}

static void val_home_return(buf *b)
{
    putch(b, chance(70) ? 'H' : 'M');
    put_digits(b, chance(80) ? 8 : 10);
}

/* HKID with its MOD 11 check; bracketed, or compact (then with context). */
static void val_hk_id(buf *b, int compact)
{
    char s[10];
    int n = 0, sum, two = chance(10);
    if (two) {
        s[n++] = (char)('A' + rnd(26));
        s[n++] = (char)('A' + rnd(26));
        sum = (s[0] - 'A' + 10) * 9 + (s[1] - 'A' + 10) * 8;
    } else {
        s[n++] = (char)('A' + rnd(26));
        sum = 36 * 9 + (s[0] - 'A' + 10) * 8;
    }
    for (int i = 0; i < 6; i++) {
        int d = (int)rnd(10);
        s[n++] = (char)('0' + d);
        sum += d * (7 - i);
    }
    int c = (11 - sum % 11) % 11;
    char check = c == 10 ? 'A' : (char)('0' + c);
    put(b, s, (size_t)n);
    if (compact)
        putch(b, check);
    else
        putf(b, "(%c)", check);
}

static void val_macau_id(buf *b)
{
    putch(b, pick_char("157"));
    put_digits(b, 6);
    putf(b, "(%d)", (int)rnd(10));
}

/* Taiwan ID: area letter, 1/2, 7 digits, check digit. */
static void val_tw_id(buf *b)
{
    static const int letter_value[26] = {10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21,
                                         22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33};
    char s[11];
    int li = (int)rnd(26);
    int v = letter_value[li];
    s[0] = (char)('A' + li);
    s[1] = (char)('1' + rnd(2));
    for (int i = 2; i < 9; i++)
        s[i] = (char)('0' + rnd(10));
    int sum = v / 10 + (v % 10) * 9;
    for (int i = 1; i < 9; i++)
        sum += (s[i] - '0') * (9 - i);
    s[9] = (char)('0' + (10 - sum % 10) % 10);
    s[10] = '\0';
    puts_(b, s);
}

static void val_plate(buf *b)
{
    static const char *const provinces[] = {
        "京", "津", "沪", "渝", "冀", "豫", "云", "辽", "黑", "湘", "皖", "鲁", "新", "苏", "浙", "赣",
        "鄂", "桂", "甘", "晋", "蒙", "陕", "吉", "闽", "贵", "粤", "青", "藏", "川", "宁", "琼",
    };
    puts_(b, PICK(provinces));
    putch(b, pick_char(LETTER_NO_IO));
    int r = rnd_range(0, 99);
    if (r < 20)
        puts_(b, "·");
    else if (r < 25)
        putch(b, ' ');
    if (chance(20)) { /* new energy: D/F first or last of 6 */
        if (chance(70)) {
            putch(b, pick_char("DF"));
            put_rand(b, "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", 1);
            put_digits(b, 4);
        } else {
            put_digits(b, 5);
            putch(b, pick_char("DF"));
        }
    } else {
        int letters = chance(40) ? 1 : 0;
        int pos = rnd_range(0, 4);
        for (int i = 0; i < 5; i++) {
            if (letters && i == pos)
                putch(b, pick_char(LETTER_NO_IO));
            else
                putch(b, (char)('0' + rnd(10)));
        }
    }
}

static const char *const surnames[] = {
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "杜", "叶", "程", "魏", "苏", "吕", "丁", "任",
    "卢", "姚", "沈", "钟", "姜", "崔", "谭", "陆", "范", "汪", "廖", "石", "金", "贾", "夏", "方",
    "欧阳", "司马", "诸葛", "上官",
};
static const char *const given_chars[] = {
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "萍", "红", "玲", "芬", "燕", "彬", "斌",
    "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "婷", "欣", "怡", "晨", "思", "雨", "佳",
    "子", "梓", "涵", "博", "文", "瑞", "嘉", "诗", "语", "轩", "鑫", "海", "建", "国", "志", "春",
};

static void val_person_name(buf *b)
{
    puts_(b, PICK(surnames));
    puts_(b, PICK(given_chars));
    if (chance(65))
        puts_(b, PICK(given_chars));
}

static void val_address(buf *b)
{
    static const char *const regions[] = {
        "浙江省杭州市西湖区", "广东省深圳市南山区", "北京市朝阳区", "上海市浦东新区",
        "江苏省南京市鼓楼区", "四川省成都市武侯区", "湖北省武汉市洪山区", "北京市海淀区",
        "广东省广州市天河区", "山东省青岛市市南区", "福建省厦门市思明区", "天津市河西区",
        "重庆市渝中区", "陕西省西安市雁塔区", "湖南省长沙市岳麓区", "河南省郑州市金水区",
    };
    static const char *const roads[] = {
        "文三路", "科技园南路", "建国路", "世纪大道", "中山北路", "人民南路", "珞喻路",
        "学院路", "天河北路", "香港中路", "湖滨南路", "友谊路", "解放碑步行街", "科技路",
        "麓山南路", "花园路",
    };
    puts_(b, PICK(regions));
    puts_(b, PICK(roads));
    putf(b, "%d号", rnd_range(1, 999));
    int r = rnd_range(0, 99);
    if (r < 40)
    {
        putf(b, "%d栋", rnd_range(1, 30));
        putf(b, "%d单元", rnd_range(1, 6));
        putf(b, "%d室", rnd_range(101, 2806));
    }
    else if (r < 70)
    {
        putf(b, "%d号楼", rnd_range(1, 20));
        putf(b, "%d室", rnd_range(101, 1806));
    }
}

static void val_medical(buf *b)
{
    switch (rnd(4)) {
    case 0: puts_(b, "ZY"); put_digits(b, rnd_range(8, 10)); break;
    case 1: puts_(b, "MZ"); put_digits(b, 8); break;
    case 2: putch(b, (char)('1' + rnd(9))); put_digits(b, rnd_range(6, 9)); break;
    default: puts_(b, "BL"); put_digits(b, 6); putch(b, pick_char(LETTER_NO_IO)); break;
    }
}

static void val_email(buf *b)
{
    static const char *const users[] = {
        "zhangwei", "li.na", "wangfang", "liu_yang", "chen.jie", "yangli", "huang.lei",
        "zhao.min", "wu.qiang", "zhou.xin", "xu_jing", "sunhao", "ma.lin", "hr", "service",
        "support", "finance", "dev-ops", "zhang.san", "lisi",
    };
    static const char *const domains[] = {
        "qq.com", "163.com", "126.com", "sina.com", "gmail.com", "outlook.com",
        "foxmail.com", "aliyun.com", "example.com.cn", "corp.example.cn", "mail.example.org",
        "sohu.com",
    };
    if (chance(20)) {
        putch(b, (char)('1' + rnd(9)));
        put_digits(b, rnd_range(4, 8));
        puts_(b, "@qq.com");
        return;
    }
    puts_(b, PICK(users));
    if (chance(40))
        putf(b, "%d", rnd_range(1, 2024));
    putch(b, '@');
    puts_(b, PICK(domains));
}

static void val_ipv4(buf *b)
{
    int o[4];
    switch (rnd(4)) {
    case 0: o[0] = 10; o[1] = (int)rnd(256); o[2] = (int)rnd(256); break;
    case 1: o[0] = 192; o[1] = 168; o[2] = (int)rnd(256); break;
    case 2: o[0] = 172; o[1] = rnd_range(16, 31); o[2] = (int)rnd(256); break;
    default: o[0] = rnd_range(1, 223); o[1] = (int)rnd(256); o[2] = (int)rnd(256); break;
    }
    o[3] = rnd_range(1, 254);
    putf(b, "%d.%d.%d.%d", o[0], o[1], o[2], o[3]);
}

static void val_ipv6(buf *b)
{
    static const unsigned firsts[] = {0x2001, 0x2408, 0x240e, 0x2409, 0xfe80, 0x2400};
    unsigned g[8];
    g[0] = PICK(firsts);
    for (int i = 1; i < 8; i++)
        g[i] = chance(30) ? rnd(0x100) : rnd(0x10000);
    int zs = -1, zl = 0;
    if (chance(60)) { /* a run of zero groups written as "::" */
        zs = rnd_range(1, 6);
        zl = rnd_range(2, 7 - zs + 1);
        if (zs + zl > 8)
            zl = 8 - zs;
        for (int i = zs; i < zs + zl; i++)
            g[i] = 0;
    }
    for (int i = 0; i < 8; i++) {
        if (i == zs) {
            puts_(b, "::");
            i += zl - 1;
            continue;
        }
        if (i && i != zs + zl)
            putch(b, ':');
        putf(b, "%x", g[i]);
    }
}

static void val_url_cred(buf *b)
{
    static const char *const schemes[] = {"https", "http", "mysql", "postgres", "redis",
                                          "mongodb", "ftp", "amqp"};
    static const char *const userv[] = {"admin", "root", "deploy", "app_user", "svc_backup",
                                        "readonly", "ci"};
    static const char *const hosts[] = {
        "db.internal.example.com", "redis.prod.example.cn", "git.example.org",
        "mq-01.example.net", "files.example.com", "pg-master.corp.example.cn",
    };
    puts_(b, PICK(schemes));
    puts_(b, "://");
    puts_(b, PICK(userv));
    putch(b, ':');
    put_token(b, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", rnd_range(7, 14));
    /* Ending the password with a symbol keeps "password@host" from also
     * reading as an e-mail address, so each URL is one planted entity. */
    putch(b, pick_char("!*$"));
    putf(b, "@%s", PICK(hosts));
    if (chance(50))
        putf(b, ":%d", PICK(((const int[]){3306, 5432, 6379, 27017, 21, 5672, 8443})));
    if (chance(60))
        puts_(b, "/app");
}

static void val_aws_key_id(buf *b)
{
    puts_(b, chance(80) ? "AKIA" : "ASIA");
    put_token(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
}

static void val_aws_secret(buf *b)
{
    put_token(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
                        40);
}

static void val_github(buf *b)
{
    if (chance(15)) {
        puts_(b, "github_pat_");
        put_token(b, ALNUM, 22);
        putch(b, '_');
        put_token(b, ALNUM, 59);
        return;
    }
    static const char *const pre[] = {"ghp_", "ghp_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"};
    puts_(b, PICK(pre));
    put_token(b, ALNUM, 36);
}

static void val_gitlab(buf *b)
{
    puts_(b, "glpat-");
    put_token(b, ALNUM, 19);
    put_rand(b, ALNUM, 1); /* never end on '-' or '_' */
}

static void val_slack(buf *b)
{
    if (chance(60)) {
        /* Digit groups start with 2-9: no group reads as a mobile number. */
        putf(b, "xoxb-%d", rnd_range(2, 9));
        put_digits(b, rnd_range(10, 12));
        putf(b, "-%d", rnd_range(2, 9));
        put_digits(b, 12);
        putch(b, '-');
        put_token(b, ALNUM, 24);
    } else {
        puts_(b, chance(50) ? "xoxp" : "xoxa");
        putf(b, "-%d", rnd_range(2, 9));
        put_digits(b, 10);
        putf(b, "-%d", rnd_range(2, 9));
        put_digits(b, 11);
        putf(b, "-%d", rnd_range(2, 9));
        put_digits(b, 12);
        putch(b, '-');
        put_token(b, HEX, 32);
    }
}

static void val_alibaba(buf *b)
{
    puts_(b, "LTAI");
    put_token(b, ALNUM, chance(60) ? 20 : rnd_range(12, 19));
}

static void val_tencent(buf *b)
{
    puts_(b, "AKID");
    put_token(b, ALNUM, 32);
}

static void val_private_key(buf *b)
{
    static const char *const kinds[] = {"RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY",
                                        "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"};
    const char *k = PICK(kinds);
    int lines = rnd_range(5, 26);
    putf(b, "-----BEGIN %s-----\n", k);
    for (int i = 0; i < lines; i++) {
        put_token(b, B64, 64);
        putch(b, '\n');
    }
    put_token(b, B64, rnd_range(8, 60));
    puts_(b, "==\n");
    putf(b, "-----END %s-----", k);
}

static void put_base64url(buf *b, const char *s, size_t n)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16 |
                     (uint32_t)(unsigned char)s[i + 1] << 8 | (unsigned char)s[i + 2];
        char o[4] = {B64URL[v >> 18], B64URL[(v >> 12) & 63], B64URL[(v >> 6) & 63],
                     B64URL[v & 63]};
        put(b, o, 4);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
        char o[2] = {B64URL[v >> 18], B64URL[(v >> 12) & 63]};
        put(b, o, 2);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16 | (uint32_t)(unsigned char)s[i + 1] << 8;
        char o[3] = {B64URL[v >> 18], B64URL[(v >> 12) & 63], B64URL[(v >> 6) & 63]};
        put(b, o, 3);
    }
}

static void val_jwt(buf *b)
{
    static const char *const headers[] = {
        "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
        "{\"typ\":\"JWT\",\"alg\":\"HS512\"}",
    };
    static const char *const roles[] = {"admin", "user", "viewer", "ops"};
    int h = (int)rnd(COUNT(headers));
    char payload[160];
    long iat = 1710460800L + (long)rnd(86400 * 30);
    int uid = rnd_range(10000, 999999);
    const char *role = PICK(roles);
    int n = snprintf(payload, sizeof payload,
                     "{\"sub\":\"u%d\",\"role\":\"%s\",\"iat\":%ld,\"exp\":%ld}",
                     uid, role, iat, iat + 7200);
    put_base64url(b, headers[h], strlen(headers[h]));
    putch(b, '.');
    put_base64url(b, payload, (size_t)n);
    putch(b, '.');
    put_token(b, B64URL, h == 1 ? 342 : (h == 2 ? 86 : 43));
}

static void val_password(buf *b)
{
    put_token(b, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", rnd_range(6, 12));
    putch(b, pick_char("!#%^&*_-"));
    put_digits(b, rnd_range(1, 3));
}

/* ------------------------------------------------------ context words -- */

/* What comes right before a value.  Prose forms are Chinese phrases; kv
 * forms are log fields.  For the types that need context every form holds
 * a context word of docs/types.md; for the others context is optional and
 * used about two times in three. */
typedef struct ctx_forms {
    const char *const *zh;
    size_t             nzh;
    const char *const *kv;
    size_t             nkv;
} ctx_forms;

#define FORMS(zh, kv) {zh, COUNT(zh), kv, COUNT(kv)}

static const char *const zh_id[] = {"身份证号：", "身份证号码为", "公民身份号码", "居民身份证 ", "证件号码（身份证）："};
static const char *const kv_id[] = {"id_card=", "idCardNo=", "身份证号=", "cert_no="};
static const char *const zh_id15[] = {"身份证号：", "旧版身份证", "身份证号码 "};
static const char *const kv_id15[] = {"身份证=", "ID: ", "ID="};
static const char *const zh_mobile[] = {"手机：", "手机号码", "联系电话：", "请拨打", "电话 "};
static const char *const kv_mobile[] = {"mobile=", "phone=", "tel=", "手机号="};
static const char *const zh_land[] = {"座机：", "办公电话", "固定电话：", "传真 ", "总机"};
static const char *const kv_land[] = {"tel=", "landline=", "office_phone=", "fax="};
static const char *const zh_card[] = {"银行卡号：", "卡号", "收款账号：", "信用卡 "};
static const char *const kv_card[] = {"card_no=", "pan=", "bankCard=", "account="};
static const char *const zh_uscc[] = {"统一社会信用代码：", "信用代码", "社会信用代码 "};
static const char *const kv_uscc[] = {"uscc=", "credit_code=", "taxpayer_id="};
static const char *const zh_pass[] = {"护照号码：", "护照号", "护照（号码）", "passport "};
static const char *const kv_pass[] = {"passport=", "passport_no=", "护照号="};
static const char *const zh_hkm[] = {"港澳通行证：", "往来港澳通行证号码", "通行证号 "};
static const char *const kv_hkm[] = {"港澳通行证=", "通行证号="};
static const char *const zh_twp[] = {"台湾通行证：", "往来台湾通行证号码", "台湾通行证 "};
static const char *const kv_twp[] = {"台湾通行证=", "通行证号="};
static const char *const zh_hrp[] = {"回乡证号码：", "回乡证", "来往内地通行证 "};
static const char *const kv_hrp[] = {"回乡证=", "来往内地通行证="};
static const char *const zh_hkid[] = {"香港身份证：", "香港身份证号码", "HKID "};
static const char *const kv_hkid[] = {"HKID=", "香港身份证="};
static const char *const zh_mo[] = {"澳门身份证：", "澳门居民身份证 "};
static const char *const kv_mo[] = {"macau_id=", "澳门身份证="};
static const char *const zh_tw[] = {"台湾身份证字号：", "身份证字号 "};
static const char *const kv_tw[] = {"tw_id=", "台湾身份证="};
static const char *const zh_plate[] = {"车牌号：", "车牌", "车辆号牌 "};
static const char *const kv_plate[] = {"plate=", "车牌号=", "vehicle="};
static const char *const zh_name[] = {"收件人：", "联系人：", "姓名：", "收货人：", "寄件人 ",
                                     "客户：", "患者：", "持卡人："};
/* Labels of person_name, cn_address and medical_record_no take a colon
 * (docs/types.md), in logs too. */
static const char *const kv_name[] = {"姓名:", "收件人：", "联系人:", "持卡人: "};
static const char *const zh_addr[] = {"收货地址：", "地址：", "住址：", "家庭住址："};
static const char *const kv_addr[] = {"地址:", "收货地址：", "家庭住址："};
static const char *const zh_med[] = {"病历号：", "住院号：", "就诊卡号", "门诊号：", "MRN："};
static const char *const kv_med[] = {"MRN:", "住院号:", "病历号：", "门诊号: "};
static const char *const zh_email[] = {"邮箱：", "电子邮件", "请发送至", "E-mail: "};
static const char *const kv_email[] = {"email=", "user=", "mail_to=", "contact="};
/* No 地址 outside cn_address: "地址：" is that type's label. */
static const char *const zh_ip[] = {"IP：", "来源IP ", "服务器IP为", "登录IP为"};
static const char *const kv_ip[] = {"client_ip=", "remote_addr=", "ip=", "host="};
static const char *const zh_url[] = {"连接串：", "数据库连接 ", "仓库链接："};
static const char *const kv_url[] = {"dsn=", "url=", "DATABASE_URL=", "endpoint="};
static const char *const zh_akid[] = {"AccessKeyId：", "aws_access_key_id = ", "访问密钥ID "};
static const char *const kv_akid[] = {"aws_access_key_id=", "AWS_ACCESS_KEY_ID=", "key_id="};
static const char *const zh_asec[] = {"aws_secret_access_key = ", "SecretAccessKey: "};
static const char *const kv_asec[] = {"aws_secret_access_key=", "secret_access_key: ",
                                      "SecretAccessKey="};
static const char *const zh_token[] = {"令牌：", "token ", "访问令牌为"};
static const char *const kv_token[] = {"token=", "GITHUB_TOKEN=", "auth=", "Authorization: token "};
static const char *const kv_gl[] = {"token=", "GITLAB_TOKEN=", "private_token="};
static const char *const kv_slack[] = {"token=", "SLACK_BOT_TOKEN=", "webhook_token="};
static const char *const zh_ali[] = {"AccessKey ID：", "阿里云AccessKey ", "ak="};
static const char *const kv_ali[] = {"access_key_id=", "ALIBABA_CLOUD_ACCESS_KEY_ID=", "ak="};
static const char *const zh_tc[] = {"SecretId：", "腾讯云SecretId ", "secret_id="};
static const char *const kv_tc[] = {"secret_id=", "TENCENTCLOUD_SECRET_ID=", "sid="};
static const char *const zh_pem[] = {"私钥内容如下：", "证书私钥："};
static const char *const kv_pem[] = {"key_material=", "tls.key="};
static const char *const zh_jwt[] = {"令牌：", "Bearer ", "JWT "};
static const char *const kv_jwt[] = {"Authorization: Bearer ", "jwt=", "id_token="};
static const char *const zh_pw[] = {"密码：", "登录密码：", "口令：", "初始密码: "};
static const char *const kv_pw[] = {"password=", "passwd: ", "pwd=", "db_password=",
                                    "PASSWORD=", "password: "};

static const ctx_forms contexts[T_COUNT] = {
    [T_RESIDENT_ID] = FORMS(zh_id, kv_id),
    [T_MOBILE] = FORMS(zh_mobile, kv_mobile),
    [T_LANDLINE] = FORMS(zh_land, kv_land),
    [T_BANK_CARD] = FORMS(zh_card, kv_card),
    [T_USCC] = FORMS(zh_uscc, kv_uscc),
    [T_PASSPORT] = FORMS(zh_pass, kv_pass),
    [T_HK_MACAU_PERMIT] = FORMS(zh_hkm, kv_hkm),
    [T_TAIWAN_PERMIT] = FORMS(zh_twp, kv_twp),
    [T_HOME_RETURN] = FORMS(zh_hrp, kv_hrp),
    [T_HK_ID] = FORMS(zh_hkid, kv_hkid),
    [T_MACAU_ID] = FORMS(zh_mo, kv_mo),
    [T_TW_ID] = FORMS(zh_tw, kv_tw),
    [T_PLATE] = FORMS(zh_plate, kv_plate),
    [T_PERSON_NAME] = FORMS(zh_name, kv_name),
    [T_ADDRESS] = FORMS(zh_addr, kv_addr),
    [T_MEDICAL] = FORMS(zh_med, kv_med),
    [T_EMAIL] = FORMS(zh_email, kv_email),
    [T_IPV4] = FORMS(zh_ip, kv_ip),
    [T_IPV6] = FORMS(zh_ip, kv_ip),
    [T_URL_CRED] = FORMS(zh_url, kv_url),
    [T_AWS_KEY_ID] = FORMS(zh_akid, kv_akid),
    [T_AWS_SECRET] = FORMS(zh_asec, kv_asec),
    [T_GITHUB] = FORMS(zh_token, kv_token),
    [T_GITLAB] = FORMS(zh_token, kv_gl),
    [T_SLACK] = FORMS(zh_token, kv_slack),
    [T_ALIBABA] = FORMS(zh_ali, kv_ali),
    [T_TENCENT] = FORMS(zh_tc, kv_tc),
    [T_PRIVATE_KEY] = FORMS(zh_pem, kv_pem),
    [T_JWT] = FORMS(zh_jwt, kv_jwt),
    [T_PASSWORD] = FORMS(zh_pw, kv_pw),
};

/* Neutral lead-ins: no context word of any type. */
static const char *const zh_neutral[] = {"原始记录中有一条", "附件第三行写着", "系统导出的字段为",
                                         "表格中的内容是", "备注栏填写了", "对方提供的是"};
static const char *const kv_neutral[] = {"value=", "field_7=", "data=", "raw=", "v="};

static const char *const zh_leads[] = {"经核实，", "根据登记信息，", "据工作人员介绍，", "",
                                       "", "另外，", "系统显示，"};
static const char *const zh_tails[] = {"。", "，请尽快处理。", "，已完成登记。", "；相关材料已归档。",
                                       "，信息无误。", "，稍后会再次确认。", "！", "（已脱敏前的原始记录）。"};

enum { STYLE_PROSE, STYLE_KV };

static int pick_type(void)
{
    static int total;
    if (!total)
        for (int i = 0; i < T_COUNT; i++)
            total += types[i].weight;
    int r = (int)rnd((uint32_t)total);
    for (int i = 0; i < T_COUNT; i++) {
        if (r < types[i].weight)
            return i;
        r -= types[i].weight;
    }
    return 0;
}

/* Writes one entity of a random type, with context, into `b`. */
static void plant(buf *b, int style)
{
    int t = pick_type();
    const ctx_forms *cf = &contexts[t];
    int old_id = t == T_RESIDENT_ID && chance(5); /* 15-digit form needs context */
    int hk_compact = t == T_HK_ID && chance(15);  /* compact HKID needs context */
    int need = types[t].needs_context || old_id || hk_compact || t == T_PRIVATE_KEY;
    /* Without context an address starts from its province name. */
    int with_ctx = need || chance(65);

    if (style == STYLE_PROSE) {
        puts_(b, PICK(zh_leads));
        if (old_id)
            puts_(b, PICK(zh_id15));
        else if (with_ctx)
            puts_(b, cf->zh[rnd((uint32_t)cf->nzh)]);
        else if (t != T_ADDRESS)
            puts_(b, PICK(zh_neutral));
    } else {
        putch(b, ' ');
        if (old_id)
            puts_(b, PICK(kv_id15));
        else if (with_ctx)
            puts_(b, cf->kv[rnd((uint32_t)cf->nkv)]);
        else
            puts_(b, PICK(kv_neutral));
    }
    if (t == T_PRIVATE_KEY)
        putch(b, '\n');

    switch (t) {
    case T_RESIDENT_ID: val_resident_id(b, old_id); break;
    case T_MOBILE: val_mobile(b); break;
    case T_LANDLINE: val_landline(b); break;
    case T_BANK_CARD: val_bank_card(b); break;
    case T_USCC: val_uscc(b); break;
    case T_PASSPORT: val_passport(b); break;
    case T_HK_MACAU_PERMIT: val_hk_macau_permit(b); break;
    case T_TAIWAN_PERMIT: val_taiwan_permit(b); break;
    case T_HOME_RETURN: val_home_return(b); break;
    case T_HK_ID: val_hk_id(b, hk_compact); break;
    case T_MACAU_ID: val_macau_id(b); break;
    case T_TW_ID: val_tw_id(b); break;
    case T_PLATE: val_plate(b); break;
    case T_PERSON_NAME: val_person_name(b); break;
    case T_ADDRESS: val_address(b); break;
    case T_MEDICAL: val_medical(b); break;
    case T_EMAIL: val_email(b); break;
    case T_IPV4: val_ipv4(b); break;
    case T_IPV6: val_ipv6(b); break;
    case T_URL_CRED: val_url_cred(b); break;
    case T_AWS_KEY_ID: val_aws_key_id(b); break;
    case T_AWS_SECRET: val_aws_secret(b); break;
    case T_GITHUB: val_github(b); break;
    case T_GITLAB: val_gitlab(b); break;
    case T_SLACK: val_slack(b); break;
    case T_ALIBABA: val_alibaba(b); break;
    case T_TENCENT: val_tencent(b); break;
    case T_PRIVATE_KEY: val_private_key(b); putch(b, '\n'); break;
    case T_JWT: val_jwt(b); break;
    case T_PASSWORD: val_password(b); break;
    default: break;
    }
    if (style == STYLE_PROSE) {
        puts_(b, PICK(zh_tails));
    } else {
        putch(b, ' ');
    }
    planted[t]++;
    next_entity_at += entity_gap();
}

/* Plants every entity that falls due while the line is being built. */
static void plant_due(buf *b, int style)
{
    while (entity_due(b))
        plant(b, style);
}

/* --------------------------------------------------------------- prose -- */

static const char *const subjects[] = {
    "我们", "团队", "项目组", "平台", "系统", "公司", "研发部门", "运营人员", "用户", "工程师",
    "管理层", "合作伙伴", "学生们", "老师", "医生", "社区", "有关部门", "企业", "市场", "消费者",
    "读者", "作者", "记者", "专家", "志愿者", "年轻人", "家长", "游客", "居民", "设计师",
    "产品经理", "测试人员", "供应商", "评审小组", "委员会", "大家", "他", "她", "他们", "这位同事",
    "编辑部", "财务组", "法务同事", "实习生", "校方", "图书馆", "博物馆", "研究所", "新团队", "老员工",
    "农户", "店主", "司机", "快递员", "厨师", "运动员", "教练", "摄影师", "演员", "主持人",
};
static const char *const verbs[] = {
    "提出", "讨论", "完成", "推进", "优化", "发布", "分析", "总结", "关注", "支持",
    "改善", "建立", "开展", "加强", "提升", "探索", "实现", "解决", "评估", "记录",
    "整理", "调整", "确认", "审核", "介绍", "参与", "组织", "准备", "梳理", "落实",
    "回顾", "更新", "修复", "规划", "比较", "收集", "研究", "设计", "推广", "简化",
};
static const char *const objects[] = {
    "方案", "计划", "数据", "报告", "问题", "需求", "流程", "质量", "服务", "体验",
    "功能", "性能", "安全", "规范", "标准", "制度", "模型", "接口", "文档", "课程",
    "活动", "项目", "产品", "技术", "环境", "资源", "成本", "效率", "风险", "目标",
    "策略", "经验", "意见", "建议", "反馈", "成果", "架构", "工具", "合同", "预算",
    "培训", "进度", "指标", "案例", "市场调研", "用户调研", "版本说明", "测试用例", "工作总结", "会议纪要",
    "年度规划", "技术路线", "服务条款", "隐私政策", "应急预案", "合作模式", "运营数据", "设计稿", "知识库", "操作手册",
    "展览", "讲座", "比赛", "演出", "菜单", "课表", "作业", "论文", "教材", "书单",
    "天气预报", "交通状况", "旅行路线", "健康习惯", "阅读计划", "垃圾分类", "节能措施", "志愿服务", "社区活动", "家庭教育",
    "产业链", "供应链", "品牌形象", "售后服务", "招聘计划", "绩效考核", "办公环境", "协作方式", "沟通机制", "评价体系",
};
static const char *const outcomes[] = {
    "效果十分明显", "大家都很满意", "后续还要继续观察", "这一点已经得到验证", "整体进展比较顺利",
    "效率提高了不少", "成本也有所下降", "反馈总体积极", "仍有改进空间", "相关工作将持续推进",
};
static const char *const adjectives[] = {
    "新的", "重要的", "完整的", "详细的", "稳定的", "高效的", "可靠的", "长期的", "基本的", "具体的",
    "整体的", "核心的", "明确的", "有效的", "合理的", "全面的", "初步的", "关键的", "简洁的", "灵活的",
    "复杂的", "清晰的", "统一的", "现有的", "下一阶段的", "",
};
/* Adverbs that go with an ongoing action, and ones that go with a
 * completed one (the verb then takes 了). */
static const char *const adverbs_ongoing[] = {
    "正在", "逐步", "持续", "积极", "认真", "进一步", "充分", "及时", "共同", "主动", "不断", "",
};
static const char *const adverbs_done[] = {"已经", "再次", "顺利", "基本", "", ""};
static const char *const times[] = {
    "今天上午", "上周", "本月初", "近年来", "在过去的一年里", "随着时间推移", "目前", "此前", "会议期间",
    "第二季度", "去年年底", "最近", "春节前后", "下个月", "开学以后", "周末", "昨天晚上", "前不久",
};
static const char *const connectives[] = {
    "同时", "此外", "因此", "但是", "而且", "然而", "另外", "总之", "首先", "其次", "最后", "与此同时",
};
static const char *const opinions[] = {
    "这件事情值得认真对待", "细节决定成败", "沟通比什么都重要", "我们还有很长的路要走",
    "先把基础打牢", "每一步都要有记录", "慢一点反而更快", "用户的感受最重要",
    "不能只看眼前的数字", "问题要在源头解决", "好的习惯需要坚持", "合作才能走得更远",
    "质量永远放在第一位", "简单的事情重复做", "数据不会说谎", "经验需要不断总结",
    "凡事预则立，不预则废", "今天的努力是明天的基础",
};
static const char *const places[] = {
    "在会议上", "在讨论中", "在报告里", "在邮件中", "在现场", "在群聊里", "在培训课上", "在文章中",
    "在采访中", "在分享会上", "在年终总结里", "在交流时",
};
static const char *const notes[] = {
    "（见附件）", "（初稿）", "（以下简称“方案”）", "（第二版）", "（仅供内部参考）", "（待确认）",
};

/* Subject, adverb and verb, with 了 when the adverb says the action is
 * done: "团队已经完成了" / "团队正在推进". */
static void put_clause(buf *b)
{
    puts_(b, PICK(subjects));
    if (chance(50)) {
        puts_(b, PICK(adverbs_ongoing));
        puts_(b, PICK(verbs));
    } else {
        puts_(b, PICK(adverbs_done));
        puts_(b, PICK(verbs));
        puts_(b, "了");
    }
}

static void prose_sentence(buf *b)
{
    switch (rnd(11)) {
    case 0:
    case 1:
        puts_(b, PICK(times));
        puts_(b, "，");
        /* fall through */
    case 2:
        put_clause(b);
        puts_(b, PICK(adjectives));
        puts_(b, PICK(objects));
        if (chance(30))
            puts_(b, PICK(notes));
        puts_(b, chance(90) ? "。" : "！");
        break;
    case 3:
        puts_(b, PICK(subjects));
        puts_(b, PICK(places));
        puts_(b, "表示：“");
        puts_(b, PICK(opinions));
        puts_(b, "，");
        puts_(b, PICK(subjects));
        puts_(b, "会");
        puts_(b, PICK(verbs));
        puts_(b, PICK(objects));
        puts_(b, "。”");
        break;
    case 4:
        puts_(b, PICK(connectives));
        puts_(b, "，");
        put_clause(b);
        puts_(b, PICK(objects));
        puts_(b, "，并");
        puts_(b, PICK(verbs));
        puts_(b, "了");
        puts_(b, PICK(adjectives));
        puts_(b, PICK(objects));
        puts_(b, "。");
        break;
    case 5:
        puts_(b, "关于");
        puts_(b, PICK(objects));
        puts_(b, "的问题，");
        put_clause(b);
        puts_(b, PICK(objects));
        puts_(b, "；");
        puts_(b, PICK(subjects));
        puts_(b, "也");
        puts_(b, PICK(verbs));
        puts_(b, "了");
        puts_(b, PICK(objects));
        puts_(b, "。");
        break;
    case 6:
        puts_(b, PICK(subjects));
        puts_(b, "是否已经");
        puts_(b, PICK(verbs));
        puts_(b, "了");
        puts_(b, PICK(adjectives));
        puts_(b, PICK(objects));
        puts_(b, "？");
        break;
    case 7:
        puts_(b, "主要内容包括：");
        puts_(b, PICK(objects));
        puts_(b, "、");
        puts_(b, PICK(objects));
        puts_(b, "和");
        puts_(b, PICK(objects));
        puts_(b, "；其中");
        puts_(b, PICK(objects));
        puts_(b, "最为");
        puts_(b, PICK(((const char *const[]){"关键", "重要", "复杂", "紧迫", "基础"})));
        puts_(b, "。");
        break;
    case 8:
        puts_(b, "只有把");
        puts_(b, PICK(objects));
        puts_(b, "做好，");
        puts_(b, PICK(subjects));
        puts_(b, "才能");
        puts_(b, PICK(verbs));
        puts_(b, PICK(adjectives));
        puts_(b, PICK(objects));
        puts_(b, "，");
        puts_(b, PICK(outcomes));
        puts_(b, "。");
        break;
    case 9:
        puts_(b, "如果");
        puts_(b, PICK(objects));
        puts_(b, "不够");
        puts_(b, PICK(((const char *const[]){"清楚", "稳定", "完善", "透明", "及时"})));
        puts_(b, "，");
        puts_(b, PICK(subjects));
        puts_(b, "就很难");
        puts_(b, PICK(verbs));
        puts_(b, PICK(objects));
        puts_(b, "；因此，");
        puts_(b, PICK(outcomes));
        puts_(b, "。");
        break;
    default:
        puts_(b, "“");
        puts_(b, PICK(opinions));
        puts_(b, "，”");
        puts_(b, PICK(subjects));
        puts_(b, "说，“");
        puts_(b, PICK(connectives));
        puts_(b, "，");
        puts_(b, PICK(verbs));
        puts_(b, PICK(objects));
        puts_(b, "才是");
        puts_(b, PICK(adjectives));
        puts_(b, "方向。”");
        break;
    }
}

static void prose_line(buf *b)
{
    int r = rnd_range(0, 999), n;
    if (r < 30) { /* a heading */
        putf(b, "## 第%d章 ", rnd_range(1, 12));
        puts_(b, PICK(objects));
        puts_(b, "与");
        puts_(b, PICK(objects));
        putch(b, '\n');
        return;
    }
    if (r < 42)
        n = rnd_range(30, 90); /* a long paragraph of several KB */
    else
        n = rnd_range(1, 5);
    for (int i = 0; i < n; i++) {
        prose_sentence(b);
        plant_due(b, STYLE_PROSE);
    }
    putch(b, '\n');
    if (chance(10))
        putch(b, '\n');
}

/* ---------------------------------------------------------------- logs -- */

/* Log clock, milliseconds from 2024-03-15 00:00:00; it only moves forward. */
static uint64_t log_ms = 8ull * 3600 * 1000;

typedef struct civil {
    int y, mo, d, h, mi, s, ms;
} civil;

static civil clock_now(void)
{
    /* Days from 1970-01-01 to 2024-03-15 is 19797. */
    int64_t days = 19797 + (int64_t)(log_ms / 86400000u);
    uint64_t in_day = log_ms % 86400000u;
    /* civil_from_days (H. Hinnant). */
    int64_t z = days + 719468;
    int64_t era = z / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    civil c;
    c.d = (int)(doy - (153 * mp + 2) / 5 + 1);
    c.mo = (int)(mp < 10 ? mp + 3 : mp - 9);
    c.y = (int)(yoe + era * 400 + (c.mo <= 2));
    c.h = (int)(in_day / 3600000u);
    c.mi = (int)(in_day / 60000u % 60);
    c.s = (int)(in_day / 1000u % 60);
    c.ms = (int)(in_day % 1000u);
    return c;
}

/* A version-4 UUID.  The third group is "4", a letter, two more: with
 * all-digit groups in a row a UUID would hold a mobile number
 * ("b154-4195-8479"), a landline ("d029-4784-8365") or a card by chance. */
static void put_uuid(buf *b)
{
    put_rand_short_runs(b, HEX, 8);
    putch(b, '-');
    put_rand_short_runs(b, HEX, 4);
    puts_(b, "-4");
    putch(b, pick_char("abcdef"));
    put_rand_short_runs(b, HEX, 2);
    putch(b, '-');
    putch(b, pick_char("89ab"));
    put_rand_short_runs(b, HEX, 3);
    putch(b, '-');
    put_rand_short_runs(b, HEX, 12);
}

static const char *const levels[] = {"INFO", "INFO", "INFO", "INFO", "DEBUG", "DEBUG", "WARN", "ERROR"};
static const char *const methods[] = {"GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"};
static const char *const paths[] = {
    "/api/v1/orders", "/api/v1/users/profile", "/api/v2/payments/notify", "/api/v1/cart/items",
    "/api/v1/search", "/health", "/api/v1/auth/login", "/api/v1/auth/refresh",
    "/api/v2/products", "/api/v1/coupons/apply", "/api/v1/messages", "/static/js/app.js",
    "/api/v1/logistics/track", "/api/v1/reports/export", "/metrics", "/api/v1/inventory",
};
static const char *const loggers[] = {
    "c.e.order.OrderController", "c.e.pay.PaymentService", "c.e.user.UserService",
    "c.e.gateway.AccessFilter", "o.s.web.servlet.DispatcherServlet", "c.e.mq.OrderConsumer",
    "c.e.cache.RedisClient", "c.e.search.SearchHandler", "c.e.job.SettlementJob",
};
static const char *const zh_msgs[] = {
    "订单创建成功", "库存不足，已进入重试队列", "支付回调验签通过", "用户登录成功", "缓存未命中，回源查询",
    "消息消费完成", "物流轨迹已更新", "优惠券核销失败：已过期", "请求参数校验失败", "下游服务响应超时",
    "对账任务开始执行", "导出任务已提交", "会话已过期，请重新登录", "限流触发，稍后重试",
};
static const char *const en_msgs[] = {
    "request completed", "cache miss, loading from db", "connection pool exhausted, waiting",
    "retrying upstream call", "message acknowledged", "slow query detected",
    "token refreshed", "scheduled job finished", "circuit breaker half-open",
    "validation failed for field amount",
};

static void log_time(buf *b, int iso)
{
    civil c = clock_now();
    if (iso)
        putf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+08:00", c.y, c.mo, c.d, c.h, c.mi, c.s, c.ms);
    else
        putf(b, "%04d-%02d-%02d %02d:%02d:%02d.%03d", c.y, c.mo, c.d, c.h, c.mi, c.s, c.ms);
}

/* Note on style here and below: a function call's arguments are evaluated
 * in an unspecified order (GCC and Clang differ), so every random choice
 * is made in its own statement and the output is the same whichever
 * compiler built the generator. */
static void log_line(buf *b)
{
    static const int access_status[] = {200, 200, 200, 200, 201, 204, 302, 400, 401, 404, 500, 502};
    static const int json_status[] = {200, 200, 200, 404, 500};
    static const char *const services[] = {"order-svc", "user-svc", "pay-gw", "search", "notify"};
    static const char *const zh_services[] = {"订单服务", "支付网关", "用户中心", "消息推送", "结算任务"};
    static const char *const frames[] = {"handle", "process", "doFilter", "invoke", "call", "run"};
    static const char *const files[] = {"OrderController", "PaymentService", "AccessFilter",
                                        "Thread", "Method"};
    log_ms += rnd(1500);
    int r = rnd_range(0, 999);
    if (r < 420) { /* Spring-style access log */
        log_time(b, 0);
        putf(b, " %-5s", PICK(levels));
        putf(b, " [http-nio-8080-exec-%d] ", rnd_range(1, 200));
        puts_(b, PICK(loggers));
        puts_(b, " - ");
        puts_(b, PICK(methods));
        putch(b, ' ');
        puts_(b, PICK(paths));
        if (chance(40))
            putf(b, "/%d", rnd_range(1, 99999999));
        putf(b, " %d", PICK(access_status));
        putf(b, " took %dms traceId=", rnd_range(1, 3000));
        put_uuid(b);
        plant_due(b, STYLE_KV);
        putch(b, '\n');
    } else if (r < 700) { /* JSON log */
        puts_(b, "{\"ts\":\"");
        log_time(b, 1);
        putf(b, "\",\"level\":\"%s\"", PICK(levels));
        putf(b, ",\"service\":\"%s\",\"msg\":\"", PICK(services));
        puts_(b, chance(50) ? PICK(en_msgs) : PICK(zh_msgs));
        plant_due(b, STYLE_KV);
        putf(b, "\",\"method\":\"%s\"", PICK(methods));
        putf(b, ",\"path\":\"%s\"", PICK(paths));
        putf(b, ",\"status\":%d", PICK(json_status));
        putf(b, ",\"duration_ms\":%d", rnd_range(0, 2500));
        putf(b, ".%d,\"request_id\":\"", rnd_range(0, 9));
        put_uuid(b);
        puts_(b, "\"");
        if (chance(2)) { /* a large payload dump: several KB on one line */
            puts_(b, ",\"items\":[");
            int n = rnd_range(40, 120);
            for (int i = 0; i < n; i++) {
                putf(b, "%s{\"sku\":\"SKU-%06d\"", i ? "," : "", rnd_range(1, 999999));
                putf(b, ",\"qty\":%d", rnd_range(1, 9));
                putf(b, ",\"price\":%d", rnd_range(1, 9999));
                putf(b, ".%02d,\"trace\":\"", rnd_range(0, 99));
                put_uuid(b);
                puts_(b, "\"}");
            }
            puts_(b, "]");
        }
        puts_(b, "}\n");
    } else if (r < 900) { /* Chinese application log */
        log_time(b, 0);
        putf(b, " [%s] ", PICK(levels));
        puts_(b, PICK(zh_services));
        puts_(b, ": ");
        puts_(b, PICK(zh_msgs));
        if (chance(50))
            putf(b, "，订单 20240315%06d", rnd_range(0, 999999));
        putf(b, "（耗时 %d", rnd_range(0, 9));
        putf(b, ".%03d 秒", rnd_range(0, 999));
        putf(b, "，第 %d 次）", rnd_range(1, 5));
        plant_due(b, STYLE_KV);
        putch(b, '\n');
    } else { /* an exception with its stack trace */
        log_time(b, 0);
        puts_(b, " ERROR [main] ");
        puts_(b, PICK(loggers));
        puts_(b, " - ");
        puts_(b, PICK(en_msgs));
        puts_(b, "\njava.lang.IllegalStateException: ");
        puts_(b, PICK(en_msgs));
        plant_due(b, STYLE_KV);
        putch(b, '\n');
        int n = rnd_range(4, 14);
        for (int i = 0; i < n; i++) {
            putf(b, "\tat %s.", PICK(loggers));
            putf(b, "%s(", PICK(frames));
            putf(b, "%s.java:", PICK(files));
            putf(b, "%d)\n", rnd_range(12, 980));
        }
    }
}

/* --------------------------------------------------------- digit noise -- */

/* An 18-22 digit order number that passes no check by accident: an 18-digit
 * one is neither a resident ID nor a credit code, an 18-19 digit one does
 * not pass Luhn. */
static void put_order_no(buf *b)
{
    char s[23];
    int n = rnd_range(18, 22);
    if (chance(60)) {
        civil c = clock_now();
        snprintf(s, sizeof s, "%04d%02d%02d", c.y, c.mo, c.d);
        for (int i = 8; i < n; i++)
            s[i] = (char)('0' + rnd(10));
    } else {
        s[0] = (char)('1' + rnd(9));
        for (int i = 1; i < n; i++)
            s[i] = (char)('0' + rnd(10));
    }
    s[n] = '\0';
    for (;;) {
        int bad = !digit_runs_clean(s, n) || (n == 18 && looks_like_uscc(s));
        if (!bad)
            break;
        s[n - 1] = (char)('0' + (s[n - 1] - '0' + 1) % 10);
    }
    put(b, s, (size_t)n);
}

static void put_amount(buf *b)
{
    int yuan = rnd_range(0, 99) < 70 ? rnd_range(1, 9999) : rnd_range(10000, 9999999);
    int cents = rnd_range(0, 99);
    char digits[16];
    int n = snprintf(digits, sizeof digits, "%d", yuan);
    puts_(b, chance(70) ? "¥" : "");
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            putch(b, ',');
        putch(b, digits[i]);
    }
    putf(b, ".%02d", cents);
}

static void put_version(buf *b)
{
    puts_(b, chance(50) ? "v" : "");
    putf(b, "%d", rnd_range(0, 12));
    putf(b, ".%d", rnd_range(0, 30));
    putf(b, ".%d", rnd_range(0, 200));
    if (chance(10))
        putf(b, "-rc.%d", rnd_range(1, 5));
}

static void put_hash(buf *b)
{
    put_rand_short_runs(b, HEX, PICK(((const int[]){32, 40, 64})));
}

static void put_compact_ts(buf *b)
{
    civil c = clock_now();
    putf(b, "%04d%02d%02d%02d%02d%02d", c.y, c.mo, c.d, c.h, c.mi, c.s);
}

static void noise_line(buf *b)
{
    log_ms += rnd(800);
    int r = rnd_range(0, 999);
    if (r < 350) { /* CSV export row */
        put_order_no(b);
        putch(b, ',');
        log_time(b, 0);
        puts_(b, ",\"");
        put_amount(b);
        putf(b, "\",%s,", PICK(((const char *const[]){"已支付", "待发货", "已完成", "已退款", "PAID", "CLOSED"})));
        put_version(b);
        putch(b, ',');
        put_hash(b);
        plant_due(b, STYLE_KV);
        putch(b, '\n');
    } else if (r < 650) { /* settlement record in Chinese */
        puts_(b, "流水号 ");
        put_order_no(b);
        puts_(b, "，交易时间 ");
        put_compact_ts(b);
        puts_(b, "，交易额 ");
        put_amount(b);
        puts_(b, " 元，手续费 ");
        putf(b, "%d", rnd_range(0, 99));
        putf(b, ".%02d", rnd_range(0, 99));
        puts_(b, " 元，批次 ");
        put_version(b);
        puts_(b, "，校验 ");
        put_hash(b);
        plant_due(b, STYLE_KV);
        putch(b, '\n');
    } else if (r < 900) { /* metrics dump */
        putf(b, "ts=%llu", (unsigned long long)(1710460800000ull + log_ms));
        putf(b, " cpu=%d", rnd_range(0, 99));
        putf(b, ".%d", rnd_range(0, 9));
        putf(b, " mem=%dMB", rnd_range(128, 16384));
        putf(b, " seq=%d", rnd_range(1000000, 99999999));
        putf(b, " qps=%d", rnd_range(0, 50000));
        putf(b, " p99=%d", rnd_range(0, 3));
        putf(b, ".%03ds build=", rnd_range(0, 999));
        put_version(b);
        puts_(b, " commit=");
        put_rand_short_runs(b, HEX, 40);
        puts_(b, " order=");
        put_order_no(b);
        plant_due(b, STYLE_KV);
        putch(b, '\n');
    } else { /* a batch line: many order numbers, several KB */
        puts_(b, "batch=");
        put_compact_ts(b);
        puts_(b, " orders=");
        int n = rnd_range(30, 250);
        for (int i = 0; i < n; i++) {
            if (i)
                putch(b, ';');
            put_order_no(b);
            putch(b, ':');
            put_amount(b);
        }
        plant_due(b, STYLE_KV);
        putch(b, '\n');
    }
}

/* ---------------------------------------------------------------- main -- */

static void permille(char *out, size_t n, uint64_t part, uint64_t whole)
{
    uint64_t pm = whole ? (part * 1000 + whole / 2) / whole : 0;
    snprintf(out, n, "%llu.%llu%%", (unsigned long long)(pm / 10), (unsigned long long)(pm % 10));
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench-gen OUT_FILE [SIZE_MB]   (default 64 MiB)\n");
        return 2;
    }
    long mb = 64;
    if (argc == 3) {
        char *end;
        errno = 0;
        mb = strtol(argv[2], &end, 10);
        if (errno || *end || end == argv[2] || mb < 1 || mb > 16384) {
            fprintf(stderr, "bench-gen: SIZE_MB must be 1..16384, not '%s'\n", argv[2]);
            return 2;
        }
    }
    uint64_t target = (uint64_t)mb << 20;

    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]) >= sizeof tmp) {
        fprintf(stderr, "bench-gen: path too long\n");
        return 2;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "bench-gen: %s: %s\n", tmp, strerror(errno));
        return 2;
    }
    static char iobuf[1 << 20];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);

    buf b = {0};
    next_entity_at = entity_gap();
    int kind = K_PROSE, run = 0;
    while (total_written < target) {
        if (run == 0) {
            /* Next kind: the one furthest below its share, for a run of lines. */
            int64_t best = INT64_MIN;
            for (int k = 0; k < K_COUNT; k++) {
                int64_t deficit = (int64_t)((total_written + 4096) * (uint64_t)kind_target[k] / 1000) -
                                  (int64_t)kind_bytes[k];
                if (deficit > best) {
                    best = deficit;
                    kind = k;
                }
            }
            run = kind == K_PROSE ? rnd_range(1, 6) : (kind == K_LOG ? rnd_range(2, 15) : rnd_range(1, 8));
        }
        run--;
        b.len = 0;
        switch (kind) {
        case K_PROSE: prose_line(&b); break;
        case K_LOG: log_line(&b); break;
        default: noise_line(&b); break;
        }
        if (fwrite(b.p, 1, b.len, f) != b.len) {
            fprintf(stderr, "bench-gen: %s: write failed: %s\n", tmp, strerror(errno));
            fclose(f);
            return 2;
        }
        total_written += b.len;
        kind_bytes[kind] += b.len;
        for (size_t i = 0; i < b.len; i++)
            lines_written += b.p[i] == '\n';
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "bench-gen: %s: %s\n", tmp, strerror(errno));
        return 2;
    }
    if (rename(tmp, argv[1]) != 0) {
        fprintf(stderr, "bench-gen: rename to %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    free(b.p);

    uint64_t entities = 0;
    for (int t = 0; t < T_COUNT; t++)
        entities += planted[t];
    printf("bytes=%llu lines=%llu", (unsigned long long)total_written,
           (unsigned long long)lines_written);
    for (int k = 0; k < K_COUNT; k++) {
        char pct[32];
        permille(pct, sizeof pct, kind_bytes[k], total_written);
        printf(" %s=%s", kind_names[k], pct);
    }
    printf(" entities=%llu", (unsigned long long)entities);
    for (int t = 0; t < T_COUNT; t++)
        printf(" %s=%llu", types[t].name, (unsigned long long)planted[t]);
    printf("\n");
    return 0;
}
