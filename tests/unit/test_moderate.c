/*
 * test_moderate.c — the moderation engine through the public API.
 *
 * Character folding; exact hits (kind, category, word, form, span) for
 * every evasion form and trap; the same hits whatever the chunking (every
 * two-piece cut of each case, byte-by-byte, and random cuts of the
 * held-out documents); co-occurrence windows; allow lists; doxxing and
 * self-disclosure decisions; lexicon diagnostics for hostile files; and
 * every allocation failing in turn.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qinglang.h"
#include "moderate.h"

static const char LEXICON[] =
    "version: 1\n"
    "thresholds:\n"
    "  harmful.porn: {review: 0.4, block: 0.7}\n"
    "rules:\n"
    "  - id: t.insult\n"
    "    category: harmful.cyber_violence\n"
    "    severity: high\n"
    "    pinyin: initials\n"
    "    words: [傻逼, 你妈死了, shit, ass, 操, 大傻逼]\n"
    "    allow: [操作, 体操, 早操]\n"
    "  - id: t.gamble\n"
    "    category: harmful.gambling\n"
    "    severity: medium\n"
    "    words: [赌博, 赌, 百家乐]\n"
    "    allow: [赌气, 打赌]\n"
    "  - id: t.combo\n"
    "    category: harmful.fraud\n"
    "    severity: high\n"
    "    all: [代练, [充值, 氪金], 返利]\n"
    "    within: 12\n"
    "  - id: t.inner\n"
    "    category: custom.inner\n"
    "    severity: high\n"
    "    all: [[臭, 烂], [臭虫, 垃圾]]\n"
    "    within: 10\n"
    "  - id: t.porn\n"
    "    category: harmful.porn\n"
    "    severity: medium\n"
    "    pinyin: none\n"
    "    words: [裸聊]\n"
    "  - id: t.dox.exposure\n"
    "    category: harmful.doxxing\n"
    "    severity: signal\n"
    "    role: exposure\n"
    "    words: [开盒, 人肉, 扒出, 曝光, 挂人, 冲他, 网暴]\n"
    "  - id: t.dox.self\n"
    "    category: harmful.doxxing\n"
    "    severity: signal\n"
    "    role: self\n"
    "    words: [我的电话是, 我的手机号]\n";

static ql_lexicon *g_lexicon;
static ql_rules *g_rules;

static ql_lexicon *compile(const char *text, ql_status *status)
{
    ql_lexicon_compiler *c;
    assert_int_equal(ql_lexicon_compiler_create(NULL, &c), QL_OK);
    ql_status st = ql_lexicon_compiler_add(c, "test.yaml", (const uint8_t *)text, strlen(text));
    ql_lexicon *lx = NULL;
    if (st == QL_OK)
        st = ql_lexicon_compile(c, &lx);
    if (status)
        *status = st;
    ql_lexicon_compiler_destroy(c);
    return lx;
}

static int setup(void **state)
{
    (void)state;
    g_lexicon = compile(LEXICON, NULL);
    ql_compiler *c;
    if (!g_lexicon || ql_compiler_create(NULL, &c) != QL_OK)
        return -1;
    if (ql_compiler_add_builtin(c) != QL_OK || ql_compiler_compile(c, &g_rules) != QL_OK)
        return -1;
    ql_compiler_destroy(c);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ql_lexicon_destroy(g_lexicon);
    ql_rules_destroy(g_rules);
    return 0;
}

/* A result as one string: "decision|kind category word form start-end;..." */
static void describe(const ql_moderation *r, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "%s|", ql_decision_name(r->decision));
    for (size_t i = 0; i < r->hit_count && used < size; i++) {
        const ql_hit *h = &r->hits[i];
        used += (size_t)snprintf(out + used, size - used, "%s %s %s %s %llu-%llu%s%s;",
                                 ql_hit_kind_name(h->kind), h->category, h->word, h->form,
                                 (unsigned long long)h->start, (unsigned long long)h->end,
                                 h->masked ? " " : "", h->masked ? h->masked : "");
    }
}

static void moderate_whole(ql_moderator *m, const char *text, size_t n, char *out, size_t size)
{
    const ql_moderation *r;
    assert_int_equal(ql_moderate(m, (const uint8_t *)text, n, &r), QL_OK);
    describe(r, out, size);
}

static void moderate_cuts(ql_moderator *m, const char *text, size_t n, const size_t *cuts,
                          size_t ncuts, char *out, size_t size)
{
    const ql_moderation *r;
    assert_int_equal(ql_moderate_begin(m), QL_OK);
    size_t pos = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        assert_int_equal(ql_moderate_write(m, (const uint8_t *)text + pos, end - pos), QL_OK);
        pos = end;
    }
    assert_int_equal(ql_moderate_finish(m, &r), QL_OK);
    describe(r, out, size);
}

typedef struct kase {
    const char *text;
    const char *expect;
} kase;

/* Offsets are bytes: a Chinese character is 3, U+200B is 3, an emoji 4. */
static const kase CASES[] = {
    {"你就是个傻逼", "block|word harmful.cyber_violence 傻逼 text 12-18;"},
    {"你就是个傻\xE2\x80\x8B逼吧", "block|word harmful.cyber_violence 傻逼 text 12-21;"},
    {"傻傻傻逼逼", "block|word harmful.cyber_violence 傻逼 text 0-15;"},
    {"你是个大傻逼", "block|word harmful.cyber_violence 大傻逼 text 9-18;"},
    {"你是SB吗", "review|word harmful.cyber_violence 傻逼 initials 6-8;"},
    {"shabi", "review|word harmful.cyber_violence 傻逼 pinyin 0-5;"},
    {"N.M.S.L", "review|word harmful.cyber_violence 你妈死了 initials 0-7;"},
    {"husband tmdb sbc sb_id 58 5.8", "pass|"},
    {"体操 早操 操作", "pass|"},
    {"我操", "block|word harmful.cyber_violence 操 text 3-6;"},
    {"賭博", "review|word harmful.gambling 赌博 text 0-6;"},
    {"打赌 赌气 赌", "review|word harmful.gambling 赌 text 14-17;"},
    {"the s h i t is", "block|word harmful.cyber_violence shit text 4-11;"},
    {"this is shit", "block|word harmful.cyber_violence shit text 8-12;"},
    {"grass class assistant", "pass|"},
    {"\xEF\xBD\x93\xEF\xBD\x88" "1" "\xEF\xBD\x94", "block|word harmful.cyber_violence shit text 0-10;"},
    {"\xD1\x95hit", "block|word harmful.cyber_violence shit text 0-5;"},
    {"\xF0\x9D\x90\xAC\xF0\x9D\x90\xA1\xF0\x9D\x90\xA2\xF0\x9D\x90\xAD",
     "block|word harmful.cyber_violence shit text 0-16;"},
    {"\xE2\x93\xA2\xE2\x93\x97\xE2\x93\x98\xE2\x93\xA3", "block|word harmful.cyber_violence shit text 0-12;"},
    {"a$$", "block|word harmful.cyber_violence ass text 0-3;"},
    {"sh\xCC\xB6it", "block|word harmful.cyber_violence shit text 0-6;"},
    {"傻\xF0\x9F\x98\x80逼", "block|word harmful.cyber_violence 傻逼 text 0-10;"},
    {"傻.。，逼", "block|word harmful.cyber_violence 傻逼 text 0-13;"},
    {"傻\xE2\x80\xAE逼", "block|word harmful.cyber_violence 傻逼 text 0-9;"},
    /* nine spaces: more than the gap allowed */
    {"傻         逼", "pass|"},
    {"傻        逼", "block|word harmful.cyber_violence 傻逼 text 0-14;"},
    {"代练 充值 还有返利", "block|cooccurrence harmful.fraud 代练+充值+返利 text 0-26;"},
    {"代练氪金返利", "block|cooccurrence harmful.fraud 代练+氪金+返利 text 0-18;"},
    /* 返利 comes 13 characters after 代练 began: outside `within: 12` */
    {"代练充值一二三四五六七返利", "pass|"},
    /* Hangul is no Chinese: the clause rule does not apply (found by
     * fuzz_moderate: the fast path took it for Chinese, chunks did not) */
    {"\xEC\x98\xAF傻\xE2,\x1F逼吧", "block|word harmful.cyber_violence 傻逼 text 3-12;"},
    /* one word stands for one part: 臭 inside 臭虫 is no occurrence of
     * the other part */
    {"臭虫报告", "pass|"},
    {"臭虫和烂菜", "block|cooccurrence custom.inner 烂+臭虫 text 0-12;"},
    {"臭的垃圾", "block|cooccurrence custom.inner 臭+垃圾 text 0-12;"},
    /* a right-to-left override shows the characters after it reversed:
     * they are read as shown, up to its end */
    {"\xE2\x80\xAE逼傻\xE2\x80\xAC", "block|word harmful.cyber_violence 傻逼 text 3-9;"},
    {"\xE2\x80\xAE博赌 ok", "review|word harmful.gambling 赌博 text 3-9;"},
    {"say \xE2\x80\xAEtihs\xE2\x80\xAC now", "block|word harmful.cyber_violence shit text 7-11;"},
    {"逼傻", "pass|"},
    {"\xE2\x80\xAE逼\xE2\x80\xAC傻", "pass|"},
    {"裸聊", "review|word harmful.porn 裸聊 text 0-6;"},
    {"开盒 电话13800138000 身份证11010519491231002X",
     "block|doxxing harmful.doxxing 开盒 text 0-6;"
     "identifier harmful.doxxing cn_mobile_phone pii 13-24 138****8000;"
     "identifier harmful.doxxing cn_resident_id pii 34-52 110105********002X;"},
    {"人肉他 电话13800138000",
     "review|doxxing harmful.doxxing 人肉 text 0-6;"
     "identifier harmful.doxxing cn_mobile_phone pii 16-27 138****8000;"},
    {"我的电话是13800138000",
     "pass|self_disclosure harmful.doxxing 我的电话是 text 0-15;"
     "identifier harmful.doxxing cn_mobile_phone pii 15-26 138****8000;"},
    {"客户电话13800138000 身份证11010519491231002X 已登记", "pass|"},
    {"\xFF\xFE傻\xC0逼\xE4\xB8", "block|word harmful.cyber_violence 傻逼 text 2-9;"},
    {"", "pass|"},
    /* a two-character word across a clause's end in running text: kept,
     * scored low; the same alone is evasion */
    {"我想赌；博物馆", "pass|word harmful.gambling 赌博 text 6-15;"},
    {"赌；博", "review|word harmful.gambling 赌博 text 0-9;"},
    {"Let's hit the road, it's shit", "block|word harmful.cyber_violence shit text 25-29;"},
    /* a four-byte sequence cut short, then an apostrophe: cut anywhere, the
     * three bytes are noise one by one (found by fuzz_moderate) */
    {"\xF0\x9D\x90'傻逼", "block|word harmful.cyber_violence 傻逼 text 4-10;"},
    /* initials as an acronym with its number, or dotted as a name: no
     * insult; at a sentence's end they are */
    {"SB 1047 法案", "pass|"},
    /* ... however long the message goes on after it (more runs than the ring) */
    {"SB 1047 is a bill about artificial intelligence safety that was vetoed by the governor "
     "of California last year, and people still talk about it", "pass|"},
    {"缩写是 S.B.，全称", "pass|"},
    /* a printf format, in Chinese or not */
    {"需要下载 %sB 的归档。", "pass|"},
    {"got %sB in %s", "pass|"},
    {"你就是 sb", "review|word harmful.cyber_violence 傻逼 initials 10-12;"},
    {"你真是sb.", "review|word harmful.cyber_violence 傻逼 initials 9-11;"},
    /* a numbered list: the glyph is no digit glued to the word */
    {"\xE2\x91\xA0sb", "review|word harmful.cyber_violence 傻逼 initials 3-5;"},
};

static void test_cases(void **state)
{
    (void)state;
    ql_moderator *m;
    assert_int_equal(ql_moderator_create(g_lexicon, g_rules, NULL, &m), QL_OK);
    char got[2048], cut[2048];
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        const char *t = CASES[i].text;
        size_t n = strlen(t);
        moderate_whole(m, t, n, got, sizeof got);
        if (strcmp(got, CASES[i].expect) != 0)
            fail_msg("case %zu '%s':\n want %s\n got  %s", i, t, CASES[i].expect, got);
        /* every two-piece cut, and byte by byte */
        for (size_t c = 0; c <= n; c++) {
            moderate_cuts(m, t, n, &c, 1, cut, sizeof cut);
            if (strcmp(cut, got) != 0)
                fail_msg("case %zu cut at %zu:\n whole %s\n cut   %s", i, c, got, cut);
        }
        size_t *all = calloc(n + 1, sizeof *all);
        for (size_t c = 0; c < n; c++)
            all[c] = c + 1;
        moderate_cuts(m, t, n, all, n ? n - 1 : 0, cut, sizeof cut);
        assert_string_equal(cut, got);
        free(all);
    }
    ql_moderator_destroy(m);
}

/* Long real documents with the built-in lexicons: random cuts give the
 * same result as whole. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    *n = fread(buf, 1, (size_t)len, f);
    fclose(f);
    return buf;
}

static void test_builtin_chunking(void **state)
{
    (void)state;
    ql_lexicon_compiler *c;
    assert_int_equal(ql_lexicon_compiler_create(NULL, &c), QL_OK);
    assert_int_equal(ql_lexicon_compiler_add_builtin(c), QL_OK);
    ql_lexicon *lx;
    assert_int_equal(ql_lexicon_compile(c, &lx), QL_OK);
    ql_lexicon_compiler_destroy(c);
    assert_true(ql_lexicon_word_count(lx) > 1000);
    ql_moderator *m;
    assert_int_equal(ql_moderator_create(lx, g_rules, NULL, &m), QL_OK);
    const char *src = getenv("QL_SOURCE_DIR");
    char path[4096];
    const char *files[] = {"tests/moderate/evasion.jsonl", "tests/moderate/benign/chat.txt",
                           "tests/moderate/benign/news.txt"};
    srand(20261125);
    size_t *bufsz = malloc(sizeof(size_t) * 4096);
    static char whole[1 << 20], cut[1 << 20];
    for (size_t fi = 0; fi < sizeof files / sizeof *files; fi++) {
        snprintf(path, sizeof path, "%s/%s", src ? src : ".", files[fi]);
        size_t n = 0;
        char *text = slurp(path, &n);
        assert_non_null(text);
        moderate_whole(m, text, n, whole, sizeof whole);
        for (int round = 0; round < 20; round++) {
            size_t ncuts = 0, pos = 0;
            while (ncuts < 4096) {
                pos += 1 + (size_t)rand() % (round < 10 ? 7 : 4000);
                if (pos >= n)
                    break;
                bufsz[ncuts++] = pos;
            }
            moderate_cuts(m, text, n, bufsz, ncuts, cut, sizeof cut);
            if (strcmp(whole, cut) != 0)
                fail_msg("%s: round %d differs", files[fi], round);
        }
        free(text);
    }
    free(bufsz);
    ql_moderator_destroy(m);
    ql_lexicon_destroy(lx);
}

static void test_fold(void **state)
{
    (void)state;
    static const struct { uint32_t cp, folded; int noise; } v[] = {
        {'A', 'a', 0}, {0xFF33 /* Ｓ */, 's', 0}, {0x0455 /* ѕ */, 's', 0},
        {0x0397 /* Η */, 'h', 0}, {0x03B7 /* η */, 'n', 0}, {0x043F /* п */, 'n', 0}, {0x1D41A /* 𝐚 */, 'a', 0},
        {0x24E2 /* ⓢ */, 's', 0}, {0x1F170 /* 🅰 */, 'a', 0}, {0x2460 /* ① */, 0x2460, 1}, {0xFF11 /* １ */, '1', 0},
        {0x8CED /* 賭 */, 0x8D4C /* 赌 */, 0}, {0x9EBC /* 麼 */, 0x4E48 /* 么 */, 0},
        {0x200B, 0x200B, 1}, {0x202E, 0x202E, 1}, {0x0301, 0x0301, 1}, {0xFFE5 /* ￥ */, 0xFFE5, 1},
        {0x1F600, 0x1F600, 1}, {0x3000, 0x3000, 1}, {'_', '_', 1}, {0x3164, 0x3164, 1},
        {0x00E9 /* é */, 'e', 0}, {0x4E00, 0x4E00, 0},
        {0xA731 /* ꜱ */, 's', 0}, {0x029C /* ʜ */, 'h', 0}, {0x1D1B /* ᴛ */, 't', 0},
        {0x0585 /* օ */, 'o', 0}, {0x04CF /* ӏ */, 'i', 0}, {0x03BC /* μ */, 0x03BC, 0},
        {0x13DF /* Ꮯ */, 'c', 0}, {0xABAF /* ꮯ */, 'c', 0}, {0x13A0 /* Ꭰ */, 'd', 0},
        {0xA4E2 /* ꓢ */, 's', 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        int noise = -1;
        uint32_t f = ql__moderate_fold(v[i].cp, &noise);
        if (f != v[i].folded || noise != v[i].noise)
            fail_msg("U+%04X: want U+%04X noise %d, got U+%04X noise %d", v[i].cp,
                     v[i].folded, v[i].noise, f, noise);
    }
}

static void test_lists_and_thresholds(void **state)
{
    (void)state;
    ql_lexicon_compiler *c;
    assert_int_equal(ql_lexicon_compiler_create(NULL, &c), QL_OK);
    assert_int_equal(ql_lexicon_compiler_list_defaults(c, "custom.spam", QL_SEVERITY_HIGH), QL_OK);
    const char *list = "# spam words\n加微信\r\n免费领取\tharmful.fraud\tlow\n\n  刷屏  \n";
    assert_int_equal(ql_lexicon_compiler_add(c, "spam.txt", (const uint8_t *)list, strlen(list)), QL_OK);
    assert_int_equal(ql_lexicon_compiler_threshold(c, "harmful.fraud", 0.2, 0.9), QL_OK);
    ql_lexicon *lx;
    assert_int_equal(ql_lexicon_compile(c, &lx), QL_OK);
    ql_lexicon_compiler_destroy(c);
    assert_int_equal(ql_lexicon_word_count(lx), 3);
    assert_int_equal(ql_lexicon_rule_count(lx), 2);
    ql_moderator *m;
    assert_int_equal(ql_moderator_create(lx, NULL, NULL, &m), QL_OK);
    char got[1024];
    moderate_whole(m, "快来免费领取", 18, got, sizeof got);
    assert_string_equal(got, "review|word harmful.fraud 免费领取 text 6-18;");
    moderate_whole(m, "加 微 信", 11, got, sizeof got);
    assert_string_equal(got, "block|word custom.spam 加微信 text 0-11;");
    moderate_whole(m, "刷屏", 6, got, sizeof got);
    assert_string_equal(got, "block|word custom.spam 刷屏 text 0-6;");
    ql_moderator_destroy(m);
    ql_lexicon_destroy(lx);

    /* a list of 4,097 categories: refused at the 4,097th, in a moment */
    size_t cap = 4097 * 32, used = 0;
    char *many = malloc(cap);
    assert_non_null(many);
    for (int i = 0; i < 4097; i++)
        used += (size_t)snprintf(many + used, cap - used, "w%d\tcustom.c%d\n", i, i);
    assert_int_equal(ql_lexicon_compiler_create(NULL, &c), QL_OK);
    assert_int_equal(ql_lexicon_compiler_add(c, "many.txt", (const uint8_t *)many, used), QL_ERULE);
    const ql_diagnostic *d = ql_lexicon_compiler_diagnostic(c, 0);
    assert_non_null(d);
    assert_int_equal(d->line, 4097);
    assert_non_null(strstr(d->message, "too many categories"));
    ql_lexicon_compiler_destroy(c);
    free(many);
}

/* mint-filter's Aho-Corasick misses a keyword that ends inside a longer
 * partial match: with "abcd" and "bc", "abcx" has "bc".  Every word ending
 * at a position is checked here, whatever else is partly matched. */
static void lx2_check(ql_moderator *m, const char *text, const char *want)
{
    char got[512];
    moderate_whole(m, text, strlen(text), got, sizeof got);
    if (strcmp(got, want) != 0)
        fail_msg("'%s':\n want %s\n got  %s", text, want, got);
}

static void test_overlapping_partial(void **state)
{
    (void)state;
    ql_status st;
    ql_lexicon *lx = compile("rules:\n  - id: t\n    category: c.x\n    severity: high\n"
                             "    words: [abcd, bc, 大傻瓜蛋, 傻瓜, bad dog, kill yourself, 714高炮, heroin]\n", &st);
    assert_non_null(lx);
    ql_moderator *m;
    assert_int_equal(ql_moderator_create(lx, NULL, NULL, &m), QL_OK);
    char got[512];
    /* Latin words are whole words: bc stands alone here */
    moderate_whole(m, "a bc x", 6, got, sizeof got);
    assert_string_equal(got, "block|word c.x bc text 2-4;");
    moderate_whole(m, "大傻瓜x", 10, got, sizeof got);
    assert_string_equal(got, "block|word c.x 傻瓜 text 3-9;");
    moderate_whole(m, "大傻瓜蛋", 12, got, sizeof got);
    assert_string_equal(got, "block|word c.x 大傻瓜蛋 text 0-12;");
    /* phrases whose words share a letter across the space match as written */
    moderate_whole(m, "you bad dog", 11, got, sizeof got);
    assert_string_equal(got, "block|word c.x bad dog text 4-11;");
    moderate_whole(m, "go kill yourself", 16, got, sizeof got);
    assert_string_equal(got, "block|word c.x kill yourself text 3-16;");
    /* a space the word does not have joins two words of the text */
    lx2_check(m, "He is the hero in this story", "pass|");
    lx2_check(m, "heroin sold here", "block|word c.x heroin text 0-6;");
    lx2_check(m, "h e r o i n", "block|word c.x heroin text 0-11;");
    lx2_check(m, "you bad dog", "block|word c.x bad dog text 4-11;");
    /* digits in a word: together, and not across a decimal point */
    moderate_whole(m, "714高炮", 9, got, sizeof got);
    assert_string_equal(got, "block|word c.x 714高炮 text 0-9;");
    moderate_whole(m, "7.14高炮", 10, got, sizeof got);
    assert_string_equal(got, "pass|");
    ql_moderator_destroy(m);
    ql_lexicon_destroy(lx);
}

static void test_diagnostics(void **state)
{
    (void)state;
    static const struct { const char *text; const char *message; unsigned line; } bad[] = {
        {"version: 1\nrules:\n  - id: x\n    category: harmful.porn\n    severity: awful\n    words: [a]\n",
         "severity must be low, medium, high, critical or signal", 5},
        {"rules:\n  - id: x\n    category: harmful.porn\n", "rule has neither words nor all", 2},
        {"rules:\n  - id: x\n    category: Bad Cat\n    words: [a]\n",
         "category 'Bad Cat' must be 1-64 of a-z 0-9 _ . -", 3},
        {"rules:\n  - id: x\n    category: a.b\n    all: [a]\n",
         "all must be a list of 2 to 8 words", 4},
        {"rules:\n  - id: x\n    category: a.b\n    words: [a]\n  - id: x\n    category: a.b\n    words: [b]\n",
         "duplicate rule id 'x'", 5},
        {"rules: [\n", "YAML:", 2},
        {"rules:\n  - id: x\n    category: a.b\n    words: [\"\\xFF\"]\n", "", 0},
        {"version: 1\nbogus: 1\nrules: []\n", "unknown top-level key 'bogus'", 2},
        {"thresholds:\n  a.b: {review: 0.9, block: 0.1}\nrules: []\n", "need review <= block", 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ql_lexicon_compiler *c;
        assert_int_equal(ql_lexicon_compiler_create(NULL, &c), QL_OK);
        ql_status st = ql_lexicon_compiler_add(c, "bad.yaml", (const uint8_t *)bad[i].text,
                                               strlen(bad[i].text));
        if (bad[i].line == 0) {
            /* a word that is not UTF-8 after YAML's own escapes: refused */
            assert_true(st == QL_ERULE || st == QL_OK);
            ql_lexicon_compiler_destroy(c);
            continue;
        }
        assert_int_equal(st, QL_ERULE);
        assert_true(ql_lexicon_compiler_diagnostic_count(c) >= 1);
        const ql_diagnostic *d = ql_lexicon_compiler_diagnostic(c, 0);
        if (!strstr(d->message, bad[i].message) || d->line != bad[i].line)
            fail_msg("case %zu: want '%s' at line %u, got '%s' at %u", i, bad[i].message,
                     bad[i].line, d->message, d->line);
        assert_string_equal(d->file, "bad.yaml");
        /* nothing of a failed file is kept: the compiler still works */
        ql_lexicon *lx;
        assert_int_equal(ql_lexicon_compile(c, &lx), QL_OK);
        assert_int_equal(ql_lexicon_word_count(lx), 0);
        ql_lexicon_destroy(lx);
        ql_lexicon_compiler_destroy(c);
    }
}

/* Every allocation failing in turn: an error, never a crash or a leak. */
static long g_fail_at = -1, g_count;

static void *f_malloc(size_t n, void *u)
{
    (void)u;
    if (g_count++ == g_fail_at)
        return NULL;
    return malloc(n);
}

static void *f_realloc(void *p, size_t n, void *u)
{
    (void)u;
    if (g_count++ == g_fail_at)
        return NULL;
    return realloc(p, n);
}

static void f_free(void *p, void *u)
{
    (void)u;
    free(p);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    ql_allocator a = {f_malloc, f_realloc, f_free, NULL};
    const char *text = "代练充值返利 你是SB 傻\xE2\x80\x8B逼 操作";
    int succeeded = 0;
    for (g_fail_at = 0; g_fail_at < 2000 && !succeeded; g_fail_at++) {
        g_count = 0;
        ql_lexicon_compiler *c = NULL;
        ql_lexicon *lx = NULL;
        ql_moderator *m = NULL;
        ql_status st = ql_lexicon_compiler_create(&a, &c);
        if (st == QL_OK)
            st = ql_lexicon_compiler_add(c, "t.yaml", (const uint8_t *)LEXICON, strlen(LEXICON));
        if (st == QL_OK)
            st = ql_lexicon_compile(c, &lx);
        ql_lexicon_compiler_destroy(c);
        if (st == QL_OK)
            st = ql_moderator_create(lx, NULL, &a, &m);
        const ql_moderation *r = NULL;
        if (st == QL_OK)
            st = ql_moderate(m, (const uint8_t *)text, strlen(text), &r);
        if (st == QL_OK) {
            assert_int_equal(r->decision, QL_DECISION_BLOCK);
            assert_int_equal(r->hit_count, 3);
            succeeded = 1;
        } else {
            assert_true(st == QL_ENOMEM || st == QL_ELIMIT);
        }
        ql_moderator_destroy(m);
        ql_lexicon_destroy(lx);
    }
    assert_true(succeeded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_builtin_chunking),
        cmocka_unit_test(test_lists_and_thresholds),
        cmocka_unit_test(test_overlapping_partial),
        cmocka_unit_test(test_diagnostics),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
