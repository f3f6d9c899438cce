/*
 * test_checks.c — the standards' check algorithms (lib/checks.c) held to
 * the standards' own published examples, and to near misses of them.
 *
 * A vector marked "published" was found in the named source and is used
 * as printed there; one marked "generated" was computed for this file
 * (by the algorithm as the standard states it, independently of
 * checks.c) to reach a case no published example covers — a leap day, a
 * check character of X, A or 0, a province code of 00.  Where a generated
 * near miss is meant to fail for one reason only, the test also asserts
 * that the check character is right, so it cannot pass by failing for
 * another.  docs/checks.md lists the sources.
 *
 * Every call goes through exact(): the bytes are copied into a heap
 * block of exactly n bytes with no terminator, so under AddressSanitizer
 * a function that reads outside [s, s+n) fails the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "checks.h"

/* The scan date for every test: fixed, so "not in the future" is too. */
#define TODAY ((ql__ymd)20261125)

/* ---- calling with an exact-size buffer -------------------------------- */

static char *exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

static int rid18(const char *s, ql__resident_id_info *info)
{
    size_t n = strlen(s);
    char *p = exact(s, n);
    int r = ql__check_cn_resident_id18(p, n, TODAY, info);
    free(p);
    return r;
}

static int rid15(const char *s, ql__resident_id_info *info)
{
    size_t n = strlen(s);
    char *p = exact(s, n);
    int r = ql__check_cn_resident_id15(p, n, TODAY, info);
    free(p);
    return r;
}

static char mod11(const char *s17)
{
    char *p = exact(s17, 17);
    char r = ql__mod11_2_check(p);
    free(p);
    return r;
}

/* For the checks that take (s, n) and nothing else. */
typedef int (*span_check)(const char *, size_t);

static int call(span_check f, const char *s)
{
    size_t n = strlen(s);
    char *p = exact(s, n);
    int r = f(p, n);
    free(p);
    return r;
}

/* Every proper prefix of a fixed-length value, at its exact size: none
 * may pass (the lengths are exact) and none may be read past (ASan). */
static void no_prefix_passes(span_check f, const char *valid)
{
    size_t n = strlen(valid);
    for (size_t k = 0; k < n; k++) {
        char *p = exact(valid, k);
        int r = f(p, k);
        free(p);
        assert_int_equal(r, 0);
    }
}

/* For variable-length forms, where a prefix may itself be valid
 * ("1.2.3.4" of "1.2.3.45"): only that no prefix is read past. */
static void no_overread(span_check f, const char *s)
{
    size_t n = strlen(s);
    for (size_t k = 0; k <= n; k++) {
        char *p = exact(s, k);
        (void)f(p, k);
        free(p);
    }
}

/* ---- dates -------------------------------------------------------------- */

static void test_date_valid(void **state)
{
    (void)state;
    assert_int_equal(ql__date_valid(2000, 2, 29), 1); /* divisible by 400 */
    assert_int_equal(ql__date_valid(1900, 2, 29), 0); /* century, not /400 */
    assert_int_equal(ql__date_valid(2024, 2, 29), 1);
    assert_int_equal(ql__date_valid(2023, 2, 29), 0);
    assert_int_equal(ql__date_valid(1999, 2, 28), 1);
    assert_int_equal(ql__date_valid(1999, 2, 30), 0);
    assert_int_equal(ql__date_valid(1999, 4, 31), 0);
    assert_int_equal(ql__date_valid(1999, 4, 30), 1);
    assert_int_equal(ql__date_valid(1999, 12, 31), 1);
    assert_int_equal(ql__date_valid(1999, 13, 1), 0);
    assert_int_equal(ql__date_valid(1999, 0, 1), 0);
    assert_int_equal(ql__date_valid(1999, 1, 0), 0);
    assert_int_equal(ql__date_valid(1999, 1, 32), 0);
    assert_int_equal(ql__date_valid(1800, 1, 1), 1); /* range is 1800..9999 */
    assert_int_equal(ql__date_valid(1799, 12, 31), 0);
    assert_int_equal(ql__date_valid(9999, 12, 31), 1);
    assert_int_equal(ql__date_valid(10000, 1, 1), 0);
}

static void test_age_years(void **state)
{
    (void)state;
    assert_int_equal(ql__age_years(19491231, TODAY), 76);
    assert_int_equal(ql__age_years(20081125, TODAY), 18); /* birthday today */
    assert_int_equal(ql__age_years(20081126, TODAY), 17); /* tomorrow */
    assert_int_equal(ql__age_years(TODAY, TODAY), 0);
    assert_int_equal(ql__age_years(20261126, TODAY), -1); /* not born yet */
    assert_int_equal(ql__age_years(20301125, TODAY), -4);
    /* Born on a leap day: one year old on 1 March of a common year. */
    assert_int_equal(ql__age_years(20000229, 20010228), 0);
    assert_int_equal(ql__age_years(20000229, 20010301), 1);
    assert_int_equal(ql__age_years(20000229, 20040229), 4);
}

static void test_province(void **state)
{
    (void)state;
    static const int good[] = {11, 15, 21, 23, 31, 37, 41, 46, 50,
                               54, 61, 65, 71, 81, 82, 83};
    static const int bad[] = {0, 10, 16, 20, 24, 30, 38, 40, 47, 49,
                              55, 60, 66, 70, 72, 80, 84, 99, -11, 110};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(ql__cn_province_valid(good[i]), 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ql__cn_province_valid(bad[i]), 0);
}

/* ---- GB 11643 ------------------------------------------------------------ */

static void test_mod11_2_check(void **state)
{
    (void)state;
    /* Published: GB 11643-1999 Appendix A / B (as quoted on CSDN). */
    assert_int_equal(mod11("11010519491231002"), 'X');
    assert_int_equal(mod11("44052418800101001"), '4');
    /* Published: python-stdnum stdnum/cn/ric.py doctest. */
    assert_int_equal(mod11("36042619910101007"), '1');

    /* The whole residue table.  Position 8 (index 7) has weight 1, so a
     * lone digit d there makes the sum d; a 5 at index 6 (weight 2) makes
     * it 10.  Residue r must give "10X98765432"[r]. */
    static const char table[] = "10X98765432";
    char body[18] = "00000000000000000";
    for (int d = 0; d <= 9; d++) {
        body[7] = (char)('0' + d);
        assert_int_equal(mod11(body), table[d]);
    }
    memcpy(body, "00000050000000000", 17);
    assert_int_equal(mod11(body), table[10]);

    /* Not a digit: no check character. */
    assert_int_equal(mod11("1101051949123100a"), '\0');
    assert_int_equal(mod11("X1010519491231002"), '\0');
}

static void test_resident_id18_published(void **state)
{
    (void)state;
    ql__resident_id_info info = {0, -1};

    /* Published: GB 11643-1999 Appendix A (Beijing, Chaoyang). */
    assert_int_equal(rid18("11010519491231002X", &info), 1);
    assert_int_equal(info.birth, 19491231);
    assert_int_equal(info.male, 0); /* sequence 002: even, female */

    /* Published: python-stdnum tests/test_cn_ric.doctest. */
    info.birth = 0;
    assert_int_equal(rid18("360426199101010071", &info), 1);
    assert_int_equal(info.birth, 19910101);
    assert_int_equal(info.male, 1); /* sequence 007: odd, male */
    assert_int_equal(rid18("412723199010050012", NULL), 1);
    assert_int_equal(rid18("120110198012010073", NULL), 1);
    /* ... printed there with a lower-case x, which must be accepted. */
    assert_int_equal(rid18("44011320141005001x", &info), 1);
    assert_int_equal(info.birth, 20141005);
    assert_int_equal(info.male, 1);
    assert_int_equal(rid18("44011320141005001X", NULL), 1);

    /* Published: Edditoria/validid src/test/testData.coffee. */
    assert_int_equal(rid18("11010120170210193X", NULL), 1);
    assert_int_equal(rid18("120103198806018241", &info), 1);
    assert_int_equal(info.male, 0);
    assert_int_equal(rid18("310101200001013948", NULL), 1);

    /* Published: GB 11643-1999 Appendix A's second example has the right
     * check character but a birth year of 1880, before the 1900 floor in
     * checks.h (no living person), so the scanner does not take it. */
    assert_int_equal(mod11("44052418800101001"), '4');
    assert_int_equal(rid18("440524188001010014", NULL), 0);
}

static void test_resident_id18_near_misses(void **state)
{
    (void)state;
    ql__resident_id_info info = {12345678, 7};

    /* One digit changed (sequence 002 -> 003), check left alone. */
    assert_int_equal(rid18("11010519491231003X", NULL), 0);
    /* Two digits transposed (the day 31 -> 13). */
    assert_int_equal(rid18("11010519491213002X", NULL), 0);
    /* Wrong check character; published invalid in python-stdnum. */
    assert_int_equal(rid18("110105194912310021", NULL), 0);
    assert_int_equal(rid18("36042619910102009X", NULL), 0);
    /* Published invalid in validid (checksum). */
    assert_int_equal(rid18("110102197810272321", NULL), 0);
    /* Wrong length by one either way. */
    assert_int_equal(rid18("11010519491231002", NULL), 0);
    assert_int_equal(rid18("11010519491231002X0", NULL), 0);
    /* Non-digit bytes, and X anywhere but last. */
    assert_int_equal(rid18("1101051949123100 X", NULL), 0);
    assert_int_equal(rid18("X1010519491231002X", NULL), 0);
    assert_int_equal(rid18("11010519491231002Y", NULL), 0);
    assert_int_equal(rid18("110105-9491231002X", NULL), 0);
    /* Month 13: published invalid in python-stdnum (its check is right). */
    assert_int_equal(mod11("36042619911301007"), '9');
    assert_int_equal(rid18("360426199113010079", NULL), 0);
    /* A failed check leaves info alone. */
    assert_int_equal(rid18("11010519491231003X", &info), 0);
    assert_int_equal(info.birth, 12345678);
    assert_int_equal(info.male, 7);
}

static void test_resident_id18_dates_and_provinces(void **state)
{
    (void)state;
    ql__resident_id_info info = {0, -1};
    /* All generated, each with a correct check character, so each passes
     * or fails on its date or province alone. */
    assert_int_equal(mod11("11010520000229001"), '3');
    assert_int_equal(rid18("110105200002290013", &info), 1); /* 2000-02-29 */
    assert_int_equal(info.birth, 20000229);
    assert_int_equal(info.male, 1);
    assert_int_equal(mod11("11010519000229001"), '7');
    assert_int_equal(rid18("110105190002290017", NULL), 0); /* 1900-02-29 */
    assert_int_equal(mod11("11010519990230001"), '5');
    assert_int_equal(rid18("110105199902300015", NULL), 0); /* 1999-02-30 */
    /* Born today is fine; born tomorrow is not. */
    assert_int_equal(rid18("110105202611250016", &info), 1);
    assert_int_equal(info.birth, 20261125);
    assert_int_equal(mod11("11010520261126001"), '1');
    assert_int_equal(rid18("110105202611260011", NULL), 0);
    /* Province 00 and 99 (published: python-stdnum's 990426... too). */
    assert_int_equal(mod11("00010519491231002"), '4');
    assert_int_equal(rid18("000105194912310024", NULL), 0);
    assert_int_equal(mod11("99010519491231002"), '3');
    assert_int_equal(rid18("990105194912310023", NULL), 0);
    assert_int_equal(rid18("990426199112010074", NULL), 0);
    /* Residence permits for Taiwan (83), Hong Kong (81) and Macau (82)
     * residents, and 71. */
    assert_int_equal(rid18("830000199001010012", NULL), 1);
    assert_int_equal(rid18("810000199001010027", NULL), 1);
    assert_int_equal(rid18("710000199001010031", NULL), 1);
}

static void test_resident_id15(void **state)
{
    (void)state;
    ql__resident_id_info info = {0, -1};
    /* Generated: the GB 11643 Appendix A number with its century and
     * check removed, which is what the 15 -> 18 upgrade reverses. */
    assert_int_equal(rid15("110105491231002", &info), 1);
    assert_int_equal(info.birth, 19491231);
    assert_int_equal(info.male, 0);
    assert_int_equal(rid15("360426910101007", &info), 1);
    assert_int_equal(info.birth, 19910101);
    assert_int_equal(info.male, 1);
    /* yymmdd is 19yymmdd: 00-02-29 is 1900-02-29, which did not exist. */
    assert_int_equal(rid15("110105000229001", NULL), 0);
    assert_int_equal(rid15("110105960229001", NULL), 1); /* 1996 leap */
    assert_int_equal(rid15("110105990230001", NULL), 0);
    assert_int_equal(rid15("000105491231002", NULL), 0); /* province 00 */
    assert_int_equal(rid15("990105491231002", NULL), 0); /* province 99 */
    assert_int_equal(rid15("11010549123100", NULL), 0);   /* 14 digits */
    assert_int_equal(rid15("1101054912310021", NULL), 0); /* 16 digits */
    assert_int_equal(rid15("11010549123100X", NULL), 0);  /* no check char */
}

static void test_resident_id_bounds(void **state)
{
    (void)state;
    const char *v = "11010519491231002X";
    for (size_t k = 0; k < 18; k++) {
        char *p = exact(v, k);
        int r18 = ql__check_cn_resident_id18(p, k, TODAY, NULL);
        int r15 = ql__check_cn_resident_id15(p, k, TODAY, NULL);
        free(p);
        assert_int_equal(r18, 0);
        assert_int_equal(r15, 0); /* at 15 bytes: month "49" */
    }
    /* The span decides, not a terminator: the first 18 bytes of a longer
     * run are checked as they are. */
    char *p = exact("11010519491231002X99", 20);
    int r = ql__check_cn_resident_id18(p, 18, TODAY, NULL);
    free(p);
    assert_int_equal(r, 1);
}

/* ---- Luhn ---------------------------------------------------------------- */

static void test_luhn(void **state)
{
    (void)state;
    /* Published: the usual worked example (Wikipedia's "Luhn algorithm",
     * seen in a copy in the Nemotron-CC-Math crawl). */
    assert_int_equal(call(ql__luhn_valid, "79927398713"), 1);
    assert_int_equal(call(ql__luhn_valid, "79927398710"), 0);
    /* Published: Stripe's test card numbers (docs.stripe.com/testing, as
     * reproduced in public gists). */
    assert_int_equal(call(ql__luhn_valid, "4242424242424242"), 1);
    assert_int_equal(call(ql__luhn_valid, "5555555555554444"), 1);
    assert_int_equal(call(ql__luhn_valid, "378282246310005"), 1);
    assert_int_equal(call(ql__luhn_valid, "6200000000000005"), 1);
    assert_int_equal(call(ql__luhn_valid, "6205500000000000004"), 1);
    /* ... and the one it publishes as an invalid number. */
    assert_int_equal(call(ql__luhn_valid, "4242424242424241"), 0);
    /* Transposed digits (42 -> 24) change the sum. */
    assert_int_equal(call(ql__luhn_valid, "2442424242424242"), 0);
    /* Non-digit bytes. */
    assert_int_equal(call(ql__luhn_valid, "4242 4242 4242 4242"), 0);
    assert_int_equal(call(ql__luhn_valid, "424242424242424a"), 0);
    /* Too short to hold a check digit. */
    assert_int_equal(call(ql__luhn_valid, "0"), 0);
    assert_int_equal(call(ql__luhn_valid, ""), 0);
    assert_int_equal(call(ql__luhn_valid, "00"), 1);
    assert_int_equal(call(ql__luhn_valid, "18"), 1); /* 1*2 + 8 = 10 */
}

/* ---- GB 11714 / GB 32100 -------------------------------------------------- */

static void test_gb11714(void **state)
{
    (void)state;
    /* Published: the organisation codes inside the published USCCs below
     * (GB 32100's worked example; python-stdnum). */
    assert_int_equal(call(ql__check_gb11714_code, "M000100Y4"), 1);
    assert_int_equal(call(ql__check_gb11714_code, "600037341"), 1);
    assert_int_equal(call(ql__check_gb11714_code, "401359081"), 1);
    /* Generated: check values 10 (X) and 11 (0), and letters GB 32100
     * does not use but GB 11714 does (Z, and the PDY self-defined range). */
    assert_int_equal(call(ql__check_gb11714_code, "PDY00001X"), 1);
    assert_int_equal(call(ql__check_gb11714_code, "000000019"), 1);
    assert_int_equal(call(ql__check_gb11714_code, "000000107"), 1);
    assert_int_equal(call(ql__check_gb11714_code, "1234567Z9"), 1);
    assert_int_equal(call(ql__check_gb11714_code, "ABCDEFGH5"), 1);
    /* Sum of 0 -> 11 - 0 = 11 -> '0'. */
    assert_int_equal(call(ql__check_gb11714_code, "000000000"), 1);
    /* Near misses. */
    assert_int_equal(call(ql__check_gb11714_code, "M000100Y5"), 0);
    assert_int_equal(call(ql__check_gb11714_code, "M001000Y4"), 0);
    assert_int_equal(call(ql__check_gb11714_code, "PDY00001x"), 0);
    assert_int_equal(call(ql__check_gb11714_code, "m000100Y4"), 0);
    assert_int_equal(call(ql__check_gb11714_code, "M000100Y"), 0);
    assert_int_equal(call(ql__check_gb11714_code, "M000100Y41"), 0);
    assert_int_equal(call(ql__check_gb11714_code, "M000-00Y4"), 0);
    no_prefix_passes(ql__check_gb11714_code, "M000100Y4");
}

static void test_uscc_published(void **state)
{
    (void)state;
    /* Published: GB 32100-2015's worked example, which shows that
     * 91350100M000100Y4Z fails and that the check character is 3. */
    assert_int_equal(call(ql__check_cn_uscc, "91350100M000100Y43"), 1);
    assert_int_equal(call(ql__check_cn_uscc, "91350100M000100Y4Z"), 0);
    /* Published: python-stdnum stdnum/cn/uscc.py and
     * tests/test_cn_uscc.doctest ("found online"). */
    static const char *const stdnum[] = {
        "91110000600037341L", "121200004013590816", "91110000710926094P",
        "9115220107837757XE", "9115220107837941X1", "91310115MA1K3BTP2B",
        "91340603MA2UJXXCXF", "91620105L015101280", "92340602MA2PEL8AXA",
        "92340621MA2PBKRXXG", "913505007821784439", "9144060573144633XL",
    };
    for (size_t i = 0; i < sizeof stdnum / sizeof stdnum[0]; i++)
        assert_int_equal(call(ql__check_cn_uscc, stdnum[i]), 1);
    /* ... and those it publishes as invalid. */
    assert_int_equal(call(ql__check_cn_uscc, "91110000600037341N"), 0);
    assert_int_equal(call(ql__check_cn_uscc, "A1110000600037341L"), 0);
    assert_int_equal(call(ql__check_cn_uscc, "9111000060003IOZSV"), 0);
}

static void test_uscc_near_misses(void **state)
{
    (void)state;
    /* One character changed, two transposed, lower case, length. */
    assert_int_equal(call(ql__check_cn_uscc, "91350100M000100Y44"), 0);
    assert_int_equal(call(ql__check_cn_uscc, "91350100M001000Y43"), 0);
    assert_int_equal(call(ql__check_cn_uscc, "91350100m000100y43"), 0);
    assert_int_equal(call(ql__check_cn_uscc, "91350100M000100Y4"), 0);
    assert_int_equal(call(ql__check_cn_uscc, "91350100M000100Y433"), 0);
    /* Generated, each with a correct MOD 31 check character, so each
     * fails on one rule alone:
     * - the embedded GB 11714 check (Y4 -> Y5); */
    assert_int_equal(call(ql__check_gb11714_code, "M000100Y5"), 0);
    assert_int_equal(call(ql__check_cn_uscc, "91350100M000100Y56"), 0);
    /* - province 99 and 00; */
    assert_int_equal(call(ql__check_cn_uscc, "91990100M000100Y4U"), 0);
    assert_int_equal(call(ql__check_cn_uscc, "91000000M000100Y45"), 0);
    /* - registration authority 0, organisation type A. */
    assert_int_equal(call(ql__check_cn_uscc, "01350100M000100Y4C"), 0);
    assert_int_equal(call(ql__check_cn_uscc, "9A350100M000100Y47"), 0);
    /* The letter authorities N and Y are accepted (generated). */
    assert_int_equal(call(ql__check_cn_uscc, "N2350100M000100Y4J"), 1);
    assert_int_equal(call(ql__check_cn_uscc, "Y1350100M000100Y4D"), 1);
    no_prefix_passes(ql__check_cn_uscc, "91350100M000100Y43");
}

/* ---- Hong Kong, Taiwan, Macau ---------------------------------------------- */

static void test_hk_id(void **state)
{
    (void)state;
    /* Published: A123456(3), the example nearly every description uses
     * (hk.comp.pc 1998; Business::HK::IdentityCard t/hkid.t; mrszeto.net,
     * which weights the space as 58 and still gets 3). */
    assert_int_equal(call(ql__check_hk_id, "A1234563"), 1);
    /* Published: E364912(5) (computerterminal.blogspot.hk, space = 36),
     * D288754(2) (a check-digit teaching slide), C668668(9) (cnblogs). */
    assert_int_equal(call(ql__check_hk_id, "E3649125"), 1);
    assert_int_equal(call(ql__check_hk_id, "D2887542"), 1);
    assert_int_equal(call(ql__check_hk_id, "C6686689"), 1);
    /* Published: check A and check 0 (Business::HK::IdentityCard). */
    assert_int_equal(call(ql__check_hk_id, "A123458A"), 1);
    assert_int_equal(call(ql__check_hk_id, "A1234660"), 1);
    /* Published two-letter forms: AB123456(9) (hong.ddns.net), AB987654(3)
     * (computerterminal.blogspot.hk), WX123456(9) (validid), CA182361(1)
     * (a PHP HKID checker's example). */
    assert_int_equal(call(ql__check_hk_id, "AB1234569"), 1);
    assert_int_equal(call(ql__check_hk_id, "AB9876543"), 1);
    assert_int_equal(call(ql__check_hk_id, "WX1234569"), 1);
    assert_int_equal(call(ql__check_hk_id, "CA1823611"), 1);
    /* Published valid in validid: G123456(A), A555555(0). */
    assert_int_equal(call(ql__check_hk_id, "G123456A"), 1);
    assert_int_equal(call(ql__check_hk_id, "A5555550"), 1);

    /* Two-letter numbers computed with A=1 instead of A=10 come out one
     * off; both of these were published that way and later corrected
     * (validid's AB9876542, Business::HK::IdentityCard 0.001's UH456123(6)). */
    assert_int_equal(call(ql__check_hk_id, "AB9876542"), 0);
    assert_int_equal(call(ql__check_hk_id, "UH4561236"), 0);
    assert_int_equal(call(ql__check_hk_id, "UH4561237"), 1);
    /* The specimen card's C668668(E): E is not a check character. */
    assert_int_equal(call(ql__check_hk_id, "C668668E"), 0);

    /* Generated: two-letter checks A and 0. */
    assert_int_equal(call(ql__check_hk_id, "XY100004A"), 1);
    assert_int_equal(call(ql__check_hk_id, "XY1000090"), 1);
    /* Near misses: published invalid A123456(9), a digit changed, digits
     * transposed, lower case, brackets, length, a letter as a digit. */
    assert_int_equal(call(ql__check_hk_id, "A1234569"), 0);
    assert_int_equal(call(ql__check_hk_id, "A1234573"), 0);
    assert_int_equal(call(ql__check_hk_id, "A1243563"), 0);
    assert_int_equal(call(ql__check_hk_id, "a1234563"), 0);
    assert_int_equal(call(ql__check_hk_id, "G123456a"), 0);
    assert_int_equal(call(ql__check_hk_id, "A123456(3)"), 0);
    assert_int_equal(call(ql__check_hk_id, "A123456"), 0);
    assert_int_equal(call(ql__check_hk_id, "ABC1234563"), 0);
    assert_int_equal(call(ql__check_hk_id, "AB12345A9"), 0);
    assert_int_equal(call(ql__check_hk_id, "11234563"), 0);
    no_prefix_passes(ql__check_hk_id, "AB1234569");
}

static void test_tw_id(void **state)
{
    (void)state;
    /* Published: A123456789 (myfakeinfo.com's worked example, total 130;
     * forumosa), M115187864 and Z256783650 (validid). */
    assert_int_equal(call(ql__check_tw_id, "A123456789"), 1);
    assert_int_equal(call(ql__check_tw_id, "M115187864"), 1);
    assert_int_equal(call(ql__check_tw_id, "Z256783650"), 1);
    /* Generated: female, and the out-of-order letters I, O and W. */
    assert_int_equal(call(ql__check_tw_id, "B222222228"), 1);
    assert_int_equal(call(ql__check_tw_id, "I198765437"), 1);
    assert_int_equal(call(ql__check_tw_id, "O298765430"), 1);
    assert_int_equal(call(ql__check_tw_id, "W111111113"), 1);
    /* Generated: the 2021 resident certificate's 8 and 9. */
    assert_int_equal(call(ql__check_tw_id, "F800000019"), 1);
    assert_int_equal(call(ql__check_tw_id, "F900000011"), 1);
    /* Near misses. */
    assert_int_equal(call(ql__check_tw_id, "A123456788"), 0); /* check */
    assert_int_equal(call(ql__check_tw_id, "A123546789"), 0); /* transposed */
    assert_int_equal(call(ql__check_tw_id, "B123456789"), 0); /* letter */
    /* Second digit 3, 0, 7: generated with a correct check digit, so
     * only the second digit is wrong. */
    assert_int_equal(call(ql__check_tw_id, "A323456783"), 0);
    assert_int_equal(call(ql__check_tw_id, "A023456787"), 0);
    assert_int_equal(call(ql__check_tw_id, "A723456781"), 0);
    assert_int_equal(call(ql__check_tw_id, "a123456789"), 0);
    assert_int_equal(call(ql__check_tw_id, "A12345678"), 0);
    assert_int_equal(call(ql__check_tw_id, "A1234567890"), 0);
    assert_int_equal(call(ql__check_tw_id, "AXXXXXXXX9"), 0);
    assert_int_equal(call(ql__check_tw_id, "0123456789"), 0);
    no_prefix_passes(ql__check_tw_id, "A123456789");
}

static void test_macau_id(void **state)
{
    (void)state;
    /* Generated: structure only, no published algorithm to check. */
    assert_int_equal(call(ql__check_macau_id, "12345678"), 1);
    assert_int_equal(call(ql__check_macau_id, "52345678"), 1);
    assert_int_equal(call(ql__check_macau_id, "70000000"), 1);
    assert_int_equal(call(ql__check_macau_id, "22345678"), 0);
    assert_int_equal(call(ql__check_macau_id, "1234567"), 0);
    assert_int_equal(call(ql__check_macau_id, "123456789"), 0);
    assert_int_equal(call(ql__check_macau_id, "1234567A"), 0);
    assert_int_equal(call(ql__check_macau_id, "1234567(8)"), 0);
    no_prefix_passes(ql__check_macau_id, "12345678");
}

/* ---- IP addresses ------------------------------------------------------------ */

static void test_ipv4(void **state)
{
    (void)state;
    /* Published: RFC 5737 documentation addresses, and the dotted quads
     * of RFC 4291 section 2.2. */
    assert_int_equal(call(ql__check_ipv4, "192.0.2.1"), 1);
    assert_int_equal(call(ql__check_ipv4, "198.51.100.0"), 1);
    assert_int_equal(call(ql__check_ipv4, "203.0.113.255"), 1);
    assert_int_equal(call(ql__check_ipv4, "13.1.68.3"), 1);
    assert_int_equal(call(ql__check_ipv4, "129.144.52.38"), 1);
    assert_int_equal(call(ql__check_ipv4, "0.0.0.0"), 1);
    assert_int_equal(call(ql__check_ipv4, "255.255.255.255"), 1);
    assert_int_equal(call(ql__check_ipv4, "256.1.1.1"), 0);
    assert_int_equal(call(ql__check_ipv4, "1.1.1.300"), 0);
    assert_int_equal(call(ql__check_ipv4, "01.2.3.4"), 0);
    assert_int_equal(call(ql__check_ipv4, "1.2.3.00"), 0);
    assert_int_equal(call(ql__check_ipv4, "1234.1.1.1"), 0);
    assert_int_equal(call(ql__check_ipv4, "1.2.3"), 0);
    assert_int_equal(call(ql__check_ipv4, "1.2.3.4.5"), 0);
    assert_int_equal(call(ql__check_ipv4, "1..2.3"), 0);
    assert_int_equal(call(ql__check_ipv4, ".1.2.3.4"), 0);
    assert_int_equal(call(ql__check_ipv4, "1.2.3.4."), 0);
    assert_int_equal(call(ql__check_ipv4, "1.2.3.-4"), 0);
    assert_int_equal(call(ql__check_ipv4, "1.2.3.4 "), 0);
    assert_int_equal(call(ql__check_ipv4, ""), 0);
    no_overread(ql__check_ipv4, "192.168.100.200");
    /* The span decides: the first 7 bytes of "1.2.3.45" are an address. */
    char *p = exact("1.2.3.45", 8);
    int r = ql__check_ipv4(p, 7);
    free(p);
    assert_int_equal(r, 1);
}

static void test_ipv6(void **state)
{
    (void)state;
    /* Published: every example in RFC 4291 section 2.2. */
    static const char *const rfc4291[] = {
        "ABCD:EF01:2345:6789:ABCD:EF01:2345:6789",
        "2001:DB8:0:0:8:800:200C:417A",
        "FF01:0:0:0:0:0:0:101",
        "0:0:0:0:0:0:0:1",
        "0:0:0:0:0:0:0:0",
        "2001:DB8::8:800:200C:417A",
        "FF01::101",
        "::1",
        "::",
        "0:0:0:0:0:0:13.1.68.3",
        "0:0:0:0:0:FFFF:129.144.52.38",
        "::13.1.68.3",
        "::FFFF:129.144.52.38",
    };
    for (size_t i = 0; i < sizeof rfc4291 / sizeof rfc4291[0]; i++)
        assert_int_equal(call(ql__check_ipv6, rfc4291[i]), 1);
    /* Generated: lower case, trailing "::", the longest form, 7 groups
     * around "::". */
    assert_int_equal(call(ql__check_ipv6, "fe80::1"), 1);
    assert_int_equal(call(ql__check_ipv6, "2001:db8::"), 1);
    assert_int_equal(call(ql__check_ipv6, "1:2:3:4:5:6::8"), 1);
    assert_int_equal(call(ql__check_ipv6, "1:2:3:4:5:6:1.2.3.4"), 1);
    assert_int_equal(call(ql__check_ipv6,
                          "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"), 1);
    /* Invalid forms. */
    assert_int_equal(call(ql__check_ipv6, "1::2::3"), 0);   /* two "::" */
    assert_int_equal(call(ql__check_ipv6, ":::"), 0);
    assert_int_equal(call(ql__check_ipv6, "12345::"), 0);   /* 5 hex */
    assert_int_equal(call(ql__check_ipv6, "1:2:3:4:5:6:7"), 0);
    assert_int_equal(call(ql__check_ipv6, "1:2:3:4:5:6:7:8:9"), 0);
    assert_int_equal(call(ql__check_ipv6, "1::2:3:4:5:6:7:8"), 0);
    assert_int_equal(call(ql__check_ipv6, "1:2:3:4:5:6:7:1.2.3.4"), 0);
    assert_int_equal(call(ql__check_ipv6, ":1:2:3:4:5:6:7"), 0);
    assert_int_equal(call(ql__check_ipv6, ":12:3"), 0);
    assert_int_equal(call(ql__check_ipv6, "1:2:3:4:5:6:7:"), 0);
    assert_int_equal(call(ql__check_ipv6, "::1.2.3.04"), 0);
    assert_int_equal(call(ql__check_ipv6, "::1.2.3.4:1"), 0);
    assert_int_equal(call(ql__check_ipv6, "1.2.3.4"), 0);
    assert_int_equal(call(ql__check_ipv6, "::g"), 0);
    assert_int_equal(call(ql__check_ipv6, "fe80::1%eth0"), 0); /* zone id */
    assert_int_equal(call(ql__check_ipv6, "[::1]"), 0);
    assert_int_equal(call(ql__check_ipv6, ":"), 0);
    assert_int_equal(call(ql__check_ipv6, ""), 0);
    no_overread(ql__check_ipv6, "2001:DB8:0:0:8:800:200C:417A");
    no_overread(ql__check_ipv6, "::FFFF:129.144.52.38");
}

/* ---- licence plates ------------------------------------------------------------ */

static void test_license_plate(void **state)
{
    (void)state;
    /* Generated from GA 36's layout. */
    assert_int_equal(call(ql__check_cn_license_plate, "京A12345"), 1);
    assert_int_equal(call(ql__check_cn_license_plate, "粤BAB123"), 1);
    assert_int_equal(call(ql__check_cn_license_plate, "琼Z9999Z"), 1);
    /* Use characters in place of the fifth character. */
    assert_int_equal(call(ql__check_cn_license_plate, "京A0006警"), 1);
    assert_int_equal(call(ql__check_cn_license_plate, "粤B1234挂"), 1);
    assert_int_equal(call(ql__check_cn_license_plate, "粤Z1234港"), 1);
    assert_int_equal(call(ql__check_cn_license_plate, "粤Z1234澳"), 1);
    assert_int_equal(call(ql__check_cn_license_plate, "苏A1234学"), 1);
    assert_int_equal(call(ql__check_cn_license_plate, "京A1234使"), 0);
    /* New energy: small D/F + letter or digit + 4 digits; large 5 digits
     * + D/F (GA 36-2018 as the Ministry of Public Security announced it). */
    assert_int_equal(call(ql__check_cn_license_plate, "京AD12345"), 1);
    assert_int_equal(call(ql__check_cn_license_plate, "沪AF12345"), 1);
    assert_int_equal(call(ql__check_cn_license_plate, "粤BDA1234"), 1);
    assert_int_equal(call(ql__check_cn_license_plate, "粤B12345D"), 1);
    assert_int_equal(call(ql__check_cn_license_plate, "粤B12345F"), 1);
    assert_int_equal(call(ql__check_cn_license_plate, "京AA12345"), 0);
    assert_int_equal(call(ql__check_cn_license_plate, "京AD1A345"), 0);
    assert_int_equal(call(ql__check_cn_license_plate, "京A1234AD"), 0);
    assert_int_equal(call(ql__check_cn_license_plate, "京ADI2345"), 0);
    /* No I or O anywhere; upper case only; a real province character. */
    assert_int_equal(call(ql__check_cn_license_plate, "京I12345"), 0);
    assert_int_equal(call(ql__check_cn_license_plate, "京A1O345"), 0);
    assert_int_equal(call(ql__check_cn_license_plate, "京a12345"), 0);
    assert_int_equal(call(ql__check_cn_license_plate, "港A12345"), 0);
    assert_int_equal(call(ql__check_cn_license_plate, "AA12345"), 0);
    /* Separators are the validator's business; lengths are exact. */
    assert_int_equal(call(ql__check_cn_license_plate, "京A·12345"), 0);
    assert_int_equal(call(ql__check_cn_license_plate, "京A 12345"), 0);
    assert_int_equal(call(ql__check_cn_license_plate, "京A1234"), 0);
    assert_int_equal(call(ql__check_cn_license_plate, "京A1234567"), 0);
    /* Half a UTF-8 character where the province should be. */
    assert_int_equal(call(ql__check_cn_license_plate, "\xe4\xba" "A123456"), 0);
    no_overread(ql__check_cn_license_plate, "京A0006警");
    no_overread(ql__check_cn_license_plate, "粤B12345D");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_valid),
        cmocka_unit_test(test_age_years),
        cmocka_unit_test(test_province),
        cmocka_unit_test(test_mod11_2_check),
        cmocka_unit_test(test_resident_id18_published),
        cmocka_unit_test(test_resident_id18_near_misses),
        cmocka_unit_test(test_resident_id18_dates_and_provinces),
        cmocka_unit_test(test_resident_id15),
        cmocka_unit_test(test_resident_id_bounds),
        cmocka_unit_test(test_luhn),
        cmocka_unit_test(test_gb11714),
        cmocka_unit_test(test_uscc_published),
        cmocka_unit_test(test_uscc_near_misses),
        cmocka_unit_test(test_hk_id),
        cmocka_unit_test(test_tw_id),
        cmocka_unit_test(test_macau_id),
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_license_plate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
