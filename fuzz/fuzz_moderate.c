/*
 * fuzz_moderate.c — lexicon files and moderated text.
 *
 * Input surface: a user's lexicon (`qinglang scan --moderate --lexicon
 * FILE`, the service's `moderation.lexicons`) and the messages moderated
 * with it.  The input is split at its first NUL byte: before it, a lexicon
 * (YAML or a word list) given to a fresh compiler; after it, a message.
 * When the lexicon is refused, every diagnostic must carry a file name and
 * a message, and the compiler must keep nothing of it (a known good word
 * list added afterwards compiles to exactly its one word).  When accepted,
 * the message is moderated whole and in chunks cut at three places: the
 * results must agree byte for byte, every hit must lie inside the message,
 * and the decision must be the worst category's.  Without a NUL the whole
 * input is a message for a fixed lexicon.  The built-in model reads every
 * message too (its hit, if any, is part of what must agree).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qinglang.h"
#include "fuzz.h"

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_moderate: broken promise: %s\n", what);
    abort();
}

static const char fixed[] =
    "version: 1\n"
    "rules:\n"
    "  - id: f.insult\n"
    "    category: harmful.cyber_violence\n"
    "    severity: high\n"
    "    pinyin: initials\n"
    "    words: [傻逼, 你妈死了, shit, ass, 操]\n"
    "    allow: [操作, 体操]\n"
    "  - id: f.combo\n"
    "    category: harmful.fraud\n"
    "    severity: medium\n"
    "    all: [代练, [充值, 氪金], 返利]\n"
    "    within: 20\n";

/* A result as text, to compare whole and chunked. */
static size_t describe(const ql_moderation *r, uint64_t length, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "%s|", ql_decision_name(r->decision));
    ql_decision worst = QL_DECISION_PASS;
    for (size_t i = 0; i < r->score_count; i++) {
        if (!(r->scores[i].score > 0 && r->scores[i].score <= 1))
            broken("a score outside (0, 1]");
        if (r->scores[i].decision > worst)
            worst = r->scores[i].decision;
    }
    if (worst != r->decision)
        broken("the decision is not the worst category's");
    for (size_t i = 0; i < r->hit_count && used < size; i++) {
        const ql_hit *h = &r->hits[i];
        if (h->start >= h->end || h->end > length)
            broken("a hit outside the message");
        if (!h->category || !h->rule_id || !h->word || !h->form)
            broken("a hit without category, rule, word or form");
        used += (size_t)snprintf(out + used, size - used, "%d %s %s %llu-%llu %.4f;", (int)h->kind,
                                 h->category, h->word, (unsigned long long)h->start,
                                 (unsigned long long)h->end, h->confidence);
    }
    return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    const uint8_t *lex = nul ? data : (const uint8_t *)fixed;
    size_t lex_len = nul ? (size_t)(nul - data) : sizeof fixed - 1;
    const uint8_t *msg = nul ? nul + 1 : data;
    size_t msg_len = nul ? size - (size_t)(nul - data) - 1 : size;

    ql_lexicon_compiler *c;
    if (ql_lexicon_compiler_create(NULL, &c) != QL_OK)
        return 0;
    ql_status st = ql_lexicon_compiler_add(c, "fuzz.lexicon", lex, lex_len);
    if (st != QL_OK) {
        if (st != QL_ERULE && st != QL_ENOMEM)
            broken("add failed with an unexpected status");
        size_t n = ql_lexicon_compiler_diagnostic_count(c);
        if (st == QL_ERULE && n == 0)
            broken("a refused lexicon without a diagnostic");
        for (size_t i = 0; i < n; i++) {
            const ql_diagnostic *d = ql_lexicon_compiler_diagnostic(c, i);
            if (!d || !d->file || !d->message || !d->message[0])
                broken("a diagnostic without file or message");
        }
        static const char good[] = "好词\n";
        if (ql_lexicon_compiler_add(c, "good.txt", (const uint8_t *)good, sizeof good - 1) != QL_OK)
            broken("the compiler is not usable after a refused file");
        ql_lexicon *lx;
        if (ql_lexicon_compile(c, &lx) != QL_OK || ql_lexicon_word_count(lx) != 1)
            broken("a refused file left something behind");
        ql_lexicon_destroy(lx);
        ql_lexicon_compiler_destroy(c);
        return 0;
    }
    ql_lexicon *lx;
    st = ql_lexicon_compile(c, &lx);
    ql_lexicon_compiler_destroy(c);
    if (st != QL_OK)
        return 0;
    ql_moderator *m;
    if (ql_moderator_create(lx, NULL, NULL, &m) != QL_OK) {
        ql_lexicon_destroy(lx);
        return 0;
    }
    static ql_model *model;
    if (!model && ql_model_load_builtin(NULL, &model) != QL_OK)
        broken("the built-in model does not load");
    if (ql_moderator_set_model(m, model, 0.0) != QL_OK)
        broken("set_model failed");
    static char whole[1 << 16], cut[1 << 16];
    const ql_moderation *r;
    if (ql_moderate(m, msg, msg_len, &r) == QL_OK) {
        describe(r, msg_len, whole, sizeof whole);
        size_t cuts[3] = {msg_len / 3, msg_len / 2, msg_len - msg_len / 5};
        if (ql_moderate_begin(m) != QL_OK)
            broken("begin failed");
        size_t pos = 0;
        for (int i = 0; i <= 3; i++) {
            size_t end = i < 3 ? cuts[i] : msg_len;
            if (end < pos)
                end = pos;
            if (ql_moderate_write(m, msg + pos, end - pos) != QL_OK)
                broken("a chunk failed where the whole did not");
            pos = end;
        }
        if (ql_moderate_finish(m, &r) != QL_OK)
            broken("finish failed where the whole did not");
        describe(r, msg_len, cut, sizeof cut);
        if (strcmp(whole, cut) != 0)
            broken("chunks and whole differ");
    }
    ql_moderator_destroy(m);
    ql_lexicon_destroy(lx);
    return 0;
}
