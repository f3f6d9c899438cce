/*
 * checks.h — the standards' own check algorithms, as pure functions.
 *
 * Every function here looks only at the bytes it is given (ASCII, already
 * normalised from full-width by the caller), allocates nothing, keeps no
 * state and is safe from any thread.  They answer one question each: "does
 * this exact string pass the check its standard defines?"  Finding where an
 * identifier starts and ends in a text, boundaries and context are the
 * validators' job (validators.c); these functions never look outside the
 * span they are given.
 *
 * Return convention: 1 = valid, 0 = invalid.  Lengths are exact: a function
 * documented for 18 bytes returns 0 for any other length.
 */
#ifndef QL_CHECKS_H
#define QL_CHECKS_H

#include <stddef.h>
#include <stdint.h>

/* A calendar date as yyyymmdd, e.g. 20261125. */
typedef int32_t ql__ymd;

/* 1 if y-m-d is a real Gregorian date (leap years included), years 1800..9999. */
int ql__date_valid(int year, int month, int day);

/* Age in whole years on `today` of a person born on `birth` (both yyyymmdd).
 * Negative when birth is after today.  A birthday counts once its month and
 * day are reached, so someone born on 29 February turns a year older on
 * 1 March in common years. */
int ql__age_years(ql__ymd birth, ql__ymd today);

/* 1 if the two-digit code (11..82) is a province-level division code used
 * in GB/T 2260 as the first two digits of a resident ID (11-15, 21-23,
 * 31-37, 41-46, 50-54, 61-65, 71, 81, 82; 83 for the Taiwan residence
 * permit series is accepted too since 2018 permits start with 83). */
int ql__cn_province_valid(int code);

/* Information GB 11643 encodes in a resident identity number. */
typedef struct ql__resident_id_info {
    ql__ymd birth;  /* yyyymmdd */
    int     male;   /* 1 male, 0 female (odd / even sequence digit) */
} ql__resident_id_info;

/* GB 11643-1999 18-character citizen identity number: 17 digits then a
 * check character (0-9, X or x), ISO 7064 MOD 11-2.  Also checks the
 * province code and that the birth date is a real date, not after `today`
 * and not before 1900-01-01.  The 1900 floor is this scanner's, not the
 * standard's: it rejects the standard's own Appendix A example
 * 440524188001010014 (born 1880) on purpose, as no living person's ID.
 * `info` may be NULL; it is written only when the result is 1. */
int ql__check_cn_resident_id18(const char *s, size_t n, ql__ymd today,
                               ql__resident_id_info *info);

/* The old 15-digit form (GB 11643-1989): 6-digit area (valid province),
 * yymmdd birth date read as 19yymmdd, 3-digit sequence; no check digit.
 * Same date rules as the 18-character form; `info` as there. */
int ql__check_cn_resident_id15(const char *s, size_t n, ql__ymd today,
                               ql__resident_id_info *info);

/* ISO 7064 MOD 11-2 check character for 17 digits: '0'..'9' or 'X'.
 * Reads exactly 17 bytes; returns '\0' if any of them is not a digit. */
char ql__mod11_2_check(const char *digits17);

/* Luhn (ISO/IEC 7812-1) over n ASCII digits; 0 if any byte is not a digit,
 * and 0 for n < 2 (a check digit alone is not a number). */
int ql__luhn_valid(const char *digits, size_t n);

/* GB 32100-2015 unified social credit code, 18 characters from
 * 0-9 A-H J-N P-R T U W-Y (no I O S V Z): first char (registration
 * authority) in 1-9 A N Y, second (organisation type) a digit 1-9 (the
 * standard's character class allows letters there, but every type its
 * table assigns is a digit), 6-digit administrative code whose first
 * two digits are a valid province (ql__cn_province_valid), a 9-character
 * organisation code that passes GB 11714 (ql__check_gb11714_code), and the
 * final MOD 31 check character.  Upper case only. */
int ql__check_cn_uscc(const char *s, size_t n);

/* GB 11714-1997 organisation code: 8 characters from 0-9 A-Z, then a
 * check character 0-9 or X (weights 3 7 9 10 5 8 4 2, MOD 11). */
int ql__check_gb11714_code(const char *s, size_t n);

/* Hong Kong identity card number as compact ASCII without brackets:
 * one or two upper-case letters, six digits, a check character 0-9 or A
 * (e.g. "A1234563").  MOD 11 with the letter values HKID uses
 * (space = 36 for the one-letter form, A=10 .. Z=35), weights 9..1.
 * Sources giving the space as 58, or using ASCII codes (']' = 91 for the
 * space, 'A' = 65), agree: 36, 58 and 91 are all 3 mod 11 and 65 is
 * 10 mod 11.  Sources using A=1 agree for one letter but are wrong for
 * two (e.g. AB987654 has check 3, not 2). */
int ql__check_hk_id(const char *s, size_t n);

/* Taiwan national identification number: a letter A-Z (area), then
 * 1/2 (sex; 8/9 accepted for the new resident certificate), 8 digits;
 * weighted check with the standard letter-to-number table (A=10, B=11,
 * ... I=34, O=35, W=32, Z=33 ...), sum % 10 == 0. */
int ql__check_tw_id(const char *s, size_t n);

/* Macau resident identity card: 1, 5 or 7 followed by 6 digits and a
 * check digit, written as 7 digits + check (8 digits, no brackets). No
 * published check algorithm exists, so this checks the structure only. */
int ql__check_macau_id(const char *s, size_t n);

/* IPv4 dotted quad, exactly: four decimal octets 0..255 without leading
 * zeros ("01" rejected), e.g. "192.168.1.1". */
int ql__check_ipv4(const char *s, size_t n);

/* IPv6 textual form per RFC 4291 section 2.2 (including "::" compression
 * and an embedded IPv4 tail, itself as ql__check_ipv4), no zone id, no
 * brackets.  Rejects forms with more than one "::", groups longer than 4
 * hex digits, or wrong group counts ("::" stands for at least one group,
 * so eight groups plus "::" is rejected). */
int ql__check_ipv6(const char *s, size_t n);

/* Chinese mainland licence plate, compact (no separator, no dot), as UTF-8:
 * a province abbreviation character (京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼),
 * an upper-case letter (A-Z without I and O), then either
 *  - 5 characters, any mix of A-Z (without I, O) and digits, or 4 of them
 *    followed by one of 挂/学/警/港/澳 in place of the fifth; or
 *  - for new-energy plates (GA 36-2018), 6 characters: small vehicles
 *    D or F, then a letter or digit, then 4 digits ("DA1234", "D12345");
 *    large vehicles 5 digits then D or F ("12345D").
 * So n is 9, 10 or 11 bytes.  Returns 1 for a plausible plate. */
int ql__check_cn_license_plate(const char *s, size_t n);

#endif
