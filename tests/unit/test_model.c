/*
 * test_model.c — the moderation model (lib/modmodel.c) through the API.
 *
 * Training is deterministic (the same data, the same bytes); a small model
 * trained here flags its category and passes ordinary text, with the hit's
 * exact span (the window's first to last character, noise around it left
 * out); the same result whatever the chunking (every two-piece cut and
 * byte by byte, invalid UTF-8 and cut characters included); a long
 * message is read in windows; damaged model files (every truncation,
 * every header byte changed) are refused without a crash; the built-in
 * model loads; allocation failures in training fail cleanly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qinglang.h"

static const char *const HARM[] = {
    "今晚百家乐开局，首充送一百，加我微信",
    "真人百家乐上线，充值返水，稳赚不赔",
    "百家乐代理招募，流水日结，私聊",
    "新开盘口，百家乐龙虎斗，首充翻倍",
    "百家乐技巧群，带你回本，加群领彩金",
};
static const char *const BENIGN[] = {
    "今天天气很好，我们去公园散步吧",
    "明天早上八点开会，请准时参加",
    "这家餐厅的红烧肉很好吃，推荐",
    "孩子的作业写完了吗，早点睡觉",
    "周末一起去图书馆看书怎么样",
    "公司年会定在下个月十五号举行",
};

static uint8_t *g_model;
static size_t g_model_len;

static ql_status train(const ql_allocator *a, const uint8_t **out, size_t *len,
                       ql_model_trainer **tp)
{
    ql_model_trainer *t = NULL;
    ql_status st = ql_model_trainer_create(12, a, &t);
    for (size_t i = 0; st == QL_OK && i < sizeof HARM / sizeof *HARM; i++)
        st = ql_model_trainer_add(t, "harmful.gambling", (const uint8_t *)HARM[i], strlen(HARM[i]));
    for (size_t i = 0; st == QL_OK && i < sizeof BENIGN / sizeof *BENIGN; i++)
        st = ql_model_trainer_add(t, NULL, (const uint8_t *)BENIGN[i], strlen(BENIGN[i]));
    if (st == QL_OK)
        st = ql_model_trainer_train(t, 20, 1.0, out, len);
    *tp = t;
    return st;
}

static int setup(void **state)
{
    (void)state;
    const uint8_t *m;
    ql_model_trainer *t;
    if (train(NULL, &m, &g_model_len, &t) != QL_OK)
        return -1;
    g_model = malloc(g_model_len);
    memcpy(g_model, m, g_model_len);
    ql_model_trainer_destroy(t);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_model);
    return 0;
}

/* A moderator with an empty lexicon (no word hits) and the test model. */
static ql_moderator *moderator(ql_lexicon **lx, ql_model **model)
{
    ql_lexicon_compiler *c;
    assert_int_equal(ql_lexicon_compiler_create(NULL, &c), QL_OK);
    assert_int_equal(ql_lexicon_compiler_add(c, "empty.txt", (const uint8_t *)"", 0), QL_OK);
    assert_int_equal(ql_lexicon_compile(c, lx), QL_OK);
    ql_lexicon_compiler_destroy(c);
    assert_int_equal(ql_model_load(g_model, g_model_len, NULL, model), QL_OK);
    ql_moderator *m;
    assert_int_equal(ql_moderator_create(*lx, NULL, NULL, &m), QL_OK);
    assert_int_equal(ql_moderator_set_model(m, *model, NAN), QL_OK);
    return m;
}

static void test_deterministic(void **state)
{
    (void)state;
    const uint8_t *m;
    size_t len;
    ql_model_trainer *t;
    assert_int_equal(train(NULL, &m, &len, &t), QL_OK);
    assert_int_equal(len, g_model_len);
    assert_memory_equal(m, g_model, len);
    ql_model_trainer_destroy(t);
    /* 2^12 features of 8 classes, a header and the class names */
    assert_int_equal(len, 72 + 7 + 17 + 4096 * 8);
}

static void test_decisions_and_span(void **state)
{
    (void)state;
    ql_lexicon *lx;
    ql_model *model;
    ql_moderator *m = moderator(&lx, &model);
    assert_int_equal(ql_model_class_count(model), 2);
    assert_string_equal(ql_model_class_name(model, 0), "benign");
    assert_string_equal(ql_model_class_name(model, 1), "harmful.gambling");
    assert_null(ql_model_class_name(model, 2));
    assert_true(ql_model_threshold(model) == 1.0);

    /* noise before and after the words is not in the span */
    const char *text = "——百家乐首充送彩金，私聊！！";
    const ql_moderation *r;
    assert_int_equal(ql_moderate(m, (const uint8_t *)text, strlen(text), &r), QL_OK);
    assert_int_equal(r->decision, QL_DECISION_REVIEW);
    assert_int_equal(r->hit_count, 1);
    assert_int_equal(r->hits[0].kind, QL_HIT_MODEL);
    assert_string_equal(ql_hit_kind_name(r->hits[0].kind), "model");
    assert_string_equal(r->hits[0].category, "harmful.gambling");
    assert_string_equal(r->hits[0].rule_id, "model");
    assert_int_equal(r->hits[0].start, 6);                       /* 百 */
    assert_int_equal(r->hits[0].end, strlen(text) - 6);          /* 聊 */
    assert_true(r->hits[0].confidence > 0.73 && r->hits[0].confidence <= 1);
    assert_int_equal(r->score_count, 1);
    assert_string_equal(r->scores[0].category, "harmful.gambling");
    assert_int_equal(r->scores[0].decision, QL_DECISION_REVIEW);

    const char *plain = "明天早上去公园散步，天气很好";
    assert_int_equal(ql_moderate(m, (const uint8_t *)plain, strlen(plain), &r), QL_OK);
    assert_int_equal(r->decision, QL_DECISION_PASS);
    assert_int_equal(r->hit_count, 0);
    assert_int_equal(r->score_count, 0);

    /* no text, only noise: nothing to read */
    assert_int_equal(ql_moderate(m, (const uint8_t *)"!!! ", 4, &r), QL_OK);
    assert_int_equal(r->decision, QL_DECISION_PASS);

    /* a threshold no window reaches; then no model */
    assert_int_equal(ql_moderator_set_model(m, model, 50.0), QL_OK);
    assert_int_equal(ql_moderate(m, (const uint8_t *)text, strlen(text), &r), QL_OK);
    assert_int_equal(r->decision, QL_DECISION_PASS);
    assert_int_equal(ql_moderator_set_model(m, NULL, NAN), QL_OK);
    assert_int_equal(ql_moderate(m, (const uint8_t *)text, strlen(text), &r), QL_OK);
    assert_int_equal(r->hit_count, 0);
    /* not while a message is open */
    assert_int_equal(ql_moderate_begin(m), QL_OK);
    assert_int_equal(ql_moderator_set_model(m, model, NAN), QL_ESTATE);
    assert_int_equal(ql_moderate_finish(m, &r), QL_OK);
    assert_int_equal(ql_moderator_set_model(m, model, INFINITY), QL_EINVAL);

    ql_moderator_destroy(m);
    ql_model_destroy(model);
    ql_lexicon_destroy(lx);
}

typedef struct result {
    ql_decision decision;
    size_t hits;
    uint64_t start, end;
    double confidence;
} result;

static result run(ql_moderator *m, const uint8_t *p, size_t n, const size_t *cuts, size_t ncuts)
{
    const ql_moderation *r;
    assert_int_equal(ql_moderate_begin(m), QL_OK);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : n;
        assert_int_equal(ql_moderate_write(m, p + at, to - at), QL_OK);
        at = to;
    }
    assert_int_equal(ql_moderate_finish(m, &r), QL_OK);
    result x = {r->decision, r->hit_count, 0, 0, 0};
    if (r->hit_count) {
        x.start = r->hits[0].start;
        x.end = r->hits[0].end;
        x.confidence = r->hits[0].confidence;
    }
    return x;
}

static void same(result a, result b)
{
    assert_int_equal(a.decision, b.decision);
    assert_int_equal(a.hits, b.hits);
    assert_int_equal(a.start, b.start);
    assert_int_equal(a.end, b.end);
    assert_true(a.confidence == b.confidence);
}

static void test_chunking(void **state)
{
    (void)state;
    ql_lexicon *lx;
    ql_model *model;
    ql_moderator *m = moderator(&lx, &model);
    static const char *const texts[] = {
        "百家乐首充送彩金，私聊 wx123abc 😀 ok ok",
        "百\xE5\xAE家乐\xF0\x9F首充送\xC3彩金\xE4\xBD",        /* cut and stray bytes */
        "百\xE2\x80\x8B家\xE2\x80\x8B乐 充值返水 \xF0\x9F\x98\x80 Bai Jia Le",
        "今天天气很好，我们去公园散步吧",
    };
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        const uint8_t *p = (const uint8_t *)texts[t];
        size_t n = strlen(texts[t]);
        result whole = run(m, p, n, NULL, 0);
        for (size_t c = 1; c < n; c++)
            same(run(m, p, n, &c, 1), whole);
        size_t *all = malloc(n * sizeof *all);
        for (size_t c = 1; c < n; c++)
            all[c - 1] = c;
        same(run(m, p, n, all, n - 1), whole);
        free(all);
        if (t == 0)
            assert_int_equal(whole.decision, QL_DECISION_REVIEW);
        if (t == 3)
            assert_int_equal(whole.decision, QL_DECISION_PASS);
    }
    ql_moderator_destroy(m);
    ql_model_destroy(model);
    ql_lexicon_destroy(lx);
}

/* A long ordinary text with harmful sentences in the middle: their
 * window is found, not the whole text, and the span lies around them.
 * (A window is 64 characters: one short sentence in long ordinary text
 * is diluted by it — docs/moderate.md "Model", left to the lexicons.) */
static void test_windows(void **state)
{
    (void)state;
    ql_lexicon *lx;
    ql_model *model;
    ql_moderator *m = moderator(&lx, &model);
    char text[4096] = "";
    for (int i = 0; i < 6; i++)
        strcat(text, BENIGN[i % 6]);
    size_t at = strlen(text);
    for (int i = 0; i < 3; i++)
        strcat(text, HARM[i]);
    size_t to = strlen(text);
    for (int i = 0; i < 6; i++)
        strcat(text, BENIGN[(i + 2) % 6]);
    const ql_moderation *r;
    assert_int_equal(ql_moderate(m, (const uint8_t *)text, strlen(text), &r), QL_OK);
    assert_int_equal(r->decision, QL_DECISION_REVIEW);
    assert_int_equal(r->hit_count, 1);
    /* 64 characters (and the punctuation between), around the harmful part */
    assert_true(r->hits[0].start > 0 && r->hits[0].start < to && r->hits[0].end > at);
    assert_true(r->hits[0].end - r->hits[0].start <= 64 * 6);
    /* ordinary text only, longer than a window: pass */
    text[0] = 0;
    for (int i = 0; i < 24; i++)
        strcat(text, BENIGN[i % 6]);
    assert_int_equal(ql_moderate(m, (const uint8_t *)text, strlen(text), &r), QL_OK);
    assert_int_equal(r->decision, QL_DECISION_PASS);
    ql_moderator_destroy(m);
    ql_model_destroy(model);
    ql_lexicon_destroy(lx);
}

static void test_damaged_files(void **state)
{
    (void)state;
    ql_model *model = NULL;
    for (size_t n = 0; n < g_model_len; n += n < 200 ? 1 : 997) {
        assert_int_equal(ql_model_load(g_model, n, NULL, &model), QL_ERULE);
        assert_null(model);
    }
    uint8_t *copy = malloc(g_model_len + 1);
    memcpy(copy, g_model, g_model_len);
    copy[g_model_len] = 0;
    assert_int_equal(ql_model_load(copy, g_model_len + 1, NULL, &model), QL_ERULE);
    /* every byte of the header and the names changed: refused or a
     * model that works */
    for (size_t i = 0; i < 96; i++) {
        for (unsigned v = 0; v < 256; v += 17) {
            memcpy(copy, g_model, g_model_len);
            copy[i] = (uint8_t)(copy[i] ^ (v | 1));
            ql_status st = ql_model_load(copy, g_model_len, NULL, &model);
            assert_true(st == QL_OK || st == QL_ERULE);
            if (st == QL_OK) {
                assert_true(ql_model_class_count(model) >= 2);
                ql_model_destroy(model);
                model = NULL;
            }
        }
    }
    free(copy);
    assert_int_equal(ql_model_load(NULL, 0, NULL, &model), QL_ERULE);
    assert_int_equal(ql_model_load(NULL, 5, NULL, &model), QL_EINVAL);
}

static void test_builtin(void **state)
{
    (void)state;
    ql_model *model;
    assert_int_equal(ql_model_load_builtin(NULL, &model), QL_OK);
    assert_int_equal(ql_model_class_count(model), 8);
    assert_string_equal(ql_model_class_name(model, 0), "benign");
    assert_true(ql_model_threshold(model) > 0);
    ql_model_destroy(model);
}

static void test_bad_training(void **state)
{
    (void)state;
    ql_model_trainer *t;
    assert_int_equal(ql_model_trainer_create(11, NULL, &t), QL_EINVAL);
    assert_int_equal(ql_model_trainer_create(23, NULL, &t), QL_EINVAL);
    assert_int_equal(ql_model_trainer_create(12, NULL, &t), QL_OK);
    const uint8_t *out;
    size_t len, line;
    /* nothing to learn from yet */
    assert_int_equal(ql_model_trainer_train(t, 3, 1.0, &out, &len), QL_ESTATE);
    assert_int_equal(ql_model_trainer_add(t, "Bad Name", (const uint8_t *)"x", 1), QL_EINVAL);
    const char tsv[] = "# comment\nbenign\t今天天气很好\n\nc1\t百家乐\r\nc2\tx\nc3\tx\nc4\tx\n"
                       "c5\tx\nc6\tx\nc7\tx\n";
    assert_int_equal(ql_model_trainer_add_tsv(t, (const uint8_t *)tsv, strlen(tsv), &line), QL_OK);
    assert_int_equal(line, 0);
    /* an eighth category is too many; the whole file is refused */
    const char more[] = "benign\tok\nc8\tx\n";
    assert_int_equal(ql_model_trainer_add_tsv(t, (const uint8_t *)more, strlen(more), &line), QL_ERULE);
    assert_int_equal(line, 2);
    const char notab[] = "benign\tok\nno tab here\n";
    assert_int_equal(ql_model_trainer_add_tsv(t, (const uint8_t *)notab, strlen(notab), &line), QL_ERULE);
    assert_int_equal(line, 2);
    assert_int_equal(ql_model_trainer_train(t, 0, 1.0, &out, &len), QL_EINVAL);
    assert_int_equal(ql_model_trainer_train(t, 2, NAN, &out, &len), QL_EINVAL);
    assert_int_equal(ql_model_trainer_train(t, 2, 1.0, &out, &len), QL_OK);
    ql_model *model;
    assert_int_equal(ql_model_load(out, len, NULL, &model), QL_OK);
    assert_int_equal(ql_model_class_count(model), 8);
    assert_string_equal(ql_model_class_name(model, 7), "c7");
    ql_model_destroy(model);
    ql_model_trainer_destroy(t);
}

static size_t g_fail_at, g_count;
static void *f_malloc(size_t n, void *u)
{
    (void)u;
    return g_count++ == g_fail_at ? NULL : malloc(n);
}
static void *f_realloc(void *p, size_t n, void *u)
{
    (void)u;
    return g_count++ == g_fail_at ? NULL : realloc(p, n);
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
    int succeeded = 0;
    for (g_fail_at = 0; g_fail_at < 500 && !succeeded; g_fail_at++) {
        g_count = 0;
        const uint8_t *m;
        size_t len;
        ql_model_trainer *t = NULL;
        ql_status st = train(&a, &m, &len, &t);
        if (st == QL_OK) {
            assert_int_equal(len, g_model_len);
            assert_memory_equal(m, g_model, len);
            ql_model *model = NULL;
            st = ql_model_load(m, len, &a, &model);
            ql_model_destroy(model);
            succeeded = st == QL_OK;
        }
        if (!succeeded)
            assert_true(st == QL_ENOMEM || st == QL_ELIMIT);
        ql_model_trainer_destroy(t);
    }
    assert_true(succeeded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_decisions_and_span),
        cmocka_unit_test(test_chunking),
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_damaged_files),
        cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_bad_training),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
