/*
 * PII: validators on hand-made cases (published test numbers, hand-computed
 * check digits), the scanner on free text, precision and recall per entity
 * on the labelled file (tests/fixtures/pii/labelled.csv, generated from the
 * validity rules before the detectors were tuned), the column report, every
 * policy's output, and the salt file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keel/hash.h"
#include "keel/parallel.h"
#include "keel/pii.h"

#define S(x) x, strlen(x)

/* ---- validators ---- */

static void test_luhn_published_numbers(void **state)
{
    (void)state;
    assert_true(kl_pii_luhn_ok(S("4111 1111 1111 1111")));
    assert_true(kl_pii_luhn_ok(S("79927398713"))); /* the classic worked example */
    assert_false(kl_pii_luhn_ok(S("79927398710")));
    assert_false(kl_pii_luhn_ok(S("4111111111111112")));
    assert_false(kl_pii_luhn_ok(S("")));
    assert_false(kl_pii_luhn_ok(S("4111x1111")));
}

static void test_card_needs_issuer_prefix_length_and_luhn(void **state)
{
    (void)state;
    assert_true(kl_pii_card_ok(S("4111-1111-1111-1111")));
    assert_true(kl_pii_card_ok(S("378282246310005")));  /* Amex test number */
    assert_true(kl_pii_card_ok(S("5555555555554444"))); /* Mastercard test number */
    assert_true(kl_pii_card_ok(S("6011111111111117"))); /* Discover test number */
    assert_true(kl_pii_card_ok(S("30569309025904")));   /* Diners test number */
    assert_false(kl_pii_card_ok(S("4111111111111112"))); /* Luhn fails */
    /* 8000000000000000 + check digit: Luhn-valid, but no network issues 8. */
    assert_true(kl_pii_luhn_ok(S("8000000000000003")));
    assert_false(kl_pii_card_ok(S("8000000000000003")));
    /* Amex is 15 digits: a 16-digit 34... number is not one. */
    assert_true(kl_pii_luhn_ok(S("3400000000000000")));
    assert_false(kl_pii_card_ok(S("3400000000000000")));
    assert_false(kl_pii_card_ok(S("411111111111"))); /* 12 digits */
}

static void test_ssn_rules(void **state)
{
    (void)state;
    assert_true(kl_pii_ssn_ok(S("536-22-1234")));
    assert_true(kl_pii_ssn_ok(S("536 22 1234")));
    assert_true(kl_pii_ssn_ok(S("536221234")));
    assert_false(kl_pii_ssn_ok(S("000-12-3456"))); /* area 000 */
    assert_false(kl_pii_ssn_ok(S("666-12-3456"))); /* area 666 */
    assert_false(kl_pii_ssn_ok(S("912-12-3456"))); /* areas 900-999 */
    assert_false(kl_pii_ssn_ok(S("536-00-1234"))); /* group 00 */
    assert_false(kl_pii_ssn_ok(S("536-22-0000"))); /* serial 0000 */
    assert_false(kl_pii_ssn_ok(S("536-22 1234"))); /* two kinds of separator */
    assert_false(kl_pii_ssn_ok(S("222-22-2222"))); /* one digit repeated */
    assert_false(kl_pii_ssn_ok(S("123-45-6789")));
    assert_false(kl_pii_ssn_ok(S("078-05-1120"))); /* the Woolworth wallet number */
    assert_false(kl_pii_ssn_ok(S("987-65-4320")));
    assert_false(kl_pii_ssn_ok(S("536-221-234")));
}

static void test_iban_mod97(void **state)
{
    (void)state;
    assert_true(kl_pii_iban_ok(S("GB82 WEST 1234 5698 7654 32")));
    assert_true(kl_pii_iban_ok(S("DE89370400440532013000")));
    assert_true(kl_pii_iban_ok(S("FR14 2004 1010 0505 0001 3M02 606")));
    assert_true(kl_pii_iban_ok(S("NO9386011117947"))); /* shortest: 15 */
    assert_false(kl_pii_iban_ok(S("GB83 WEST 1234 5698 7654 32"))); /* check digits */
    assert_false(kl_pii_iban_ok(S("DE8937040044053201300")));      /* 21, DE is 22 */
    assert_false(kl_pii_iban_ok(S("QQ89370400440532013000")));     /* no such country */
}

/*
 * Check digits computed by hand for a made-up Dutch account: NL00ABNA0417164300
 * moved around is ABNA0417164300NL00 -> 1011231017 0417164300 2321 00; its
 * value mod 97 is 7, so the check digits are 98 - 7 = 91.
 */
static void test_iban_hand_computed_check_digits(void **state)
{
    (void)state;
    assert_true(kl_pii_iban_ok(S("NL91ABNA0417164300")));
    for (int cd = 2; cd < 99; cd++) {
        char b[32];
        snprintf(b, sizeof b, "NL%02dABNA0417164300", cd);
        assert_int_equal(kl_pii_iban_ok(S(b)), cd == 91);
    }
}

static void test_ip_edge_cases(void **state)
{
    (void)state;
    assert_true(kl_pii_ipv4_ok(S("0.0.0.0")));
    assert_true(kl_pii_ipv4_ok(S("255.255.255.255")));
    assert_true(kl_pii_ipv4_ok(S("10.0.0.0/8")));
    assert_false(kl_pii_ipv4_ok(S("256.1.1.1")));
    assert_false(kl_pii_ipv4_ok(S("1.2.3")));
    assert_false(kl_pii_ipv4_ok(S("1.2.3.4.5")));
    assert_false(kl_pii_ipv4_ok(S("10.0.0.0/33")));
    assert_false(kl_pii_ipv4_ok(S("01.2.3.4")));
    assert_true(kl_pii_ipv6_ok(S("::1")));
    assert_true(kl_pii_ipv6_ok(S("2001:db8:0:0:0:0:2:1")));
    assert_true(kl_pii_ipv6_ok(S("2001:db8::2:1")));
    assert_true(kl_pii_ipv6_ok(S("fe80::")));
    assert_true(kl_pii_ipv6_ok(S("::ffff:192.0.2.128")));
    assert_true(kl_pii_ipv6_ok(S("2001:db8::/32")));
    assert_false(kl_pii_ipv6_ok(S("2001:db8::1::2")));
    assert_false(kl_pii_ipv6_ok(S("1:2:3:4:5:6:7")));
    assert_false(kl_pii_ipv6_ok(S("1:2:3:4:5:6:7:8:9")));
    assert_false(kl_pii_ipv6_ok(S("12345::1")));
    assert_false(kl_pii_ipv6_ok(S("00:1a:2b:3c:4d:5e")));
    assert_false(kl_pii_ipv6_ok(S("2001:db8::/129")));
}

static void test_email_shapes(void **state)
{
    (void)state;
    assert_true(kl_pii_email_ok(S("john.doe@mail.example.co.uk")));
    assert_true(kl_pii_email_ok(S("a+tag@x-y.io")));
    assert_false(kl_pii_email_ok(S("root@localhost")));
    assert_false(kl_pii_email_ok(S("john..doe@example.com")));
    assert_false(kl_pii_email_ok(S(".john@example.com")));
    assert_false(kl_pii_email_ok(S("john@example.c0m")));
    assert_false(kl_pii_email_ok(S("john@-example.com")));
}

/* ---- the scanner ---- */

static void test_find_reports_spans_in_free_text(void **state)
{
    (void)state;
    const char *t = "mail bob@example.org or call +44 20 7946 0958, card 4111 1111 1111 1111.";
    kl_pii_match m[8];
    size_t n = kl_pii_find(S(t), 0, m, 8);
    assert_int_equal(n, 3);
    assert_int_equal(m[0].entity, KL_PII_ENTITY_EMAIL);
    assert_int_equal(m[0].start, 5);
    assert_int_equal(m[0].end, 20);
    assert_int_equal(m[1].entity, KL_PII_ENTITY_PHONE);
    assert_memory_equal(t + m[1].start, "+44 20 7946 0958", m[1].end - m[1].start);
    assert_int_equal(m[2].entity, KL_PII_ENTITY_CREDIT_CARD);
    assert_memory_equal(t + m[2].start, "4111 1111 1111 1111", m[2].end - m[2].start);
    /* Counting goes on past max. */
    assert_int_equal(kl_pii_find(S(t), 0, m, 1), 3);
}

static void test_find_skips_versions_but_not_addresses(void **state)
{
    (void)state;
    kl_pii_match m[4];
    assert_int_equal(kl_pii_find(S("release 2.14.0.1000 and 10.0.1"), 0, m, 4), 0);
    assert_int_equal(kl_pii_find(S("v1.2.3.4"), 0, m, 4), 0);
    assert_int_equal(kl_pii_find(S("5.1.2.3.4"), 0, m, 4), 0);
    assert_int_equal(kl_pii_find(S("1.2.3.4"), 0, m, 4), 1);
    assert_int_equal(m[0].entity, KL_PII_ENTITY_IP_ADDRESS);
    assert_int_equal(kl_pii_find(S("host 10.1.2.3:8080 up"), 0, m, 4), 1);
    assert_int_equal(m[0].end - m[0].start, strlen("10.1.2.3"));
}

static void test_find_weak_patterns_need_context(void **state)
{
    (void)state;
    kl_pii_match m[2];
    unsigned ssn = kl_pii_name_hint("SSN"), dob = kl_pii_name_hint("date_of_birth");
    unsigned name = kl_pii_name_hint("last_name");
    assert_int_equal(kl_pii_find(S("536221234"), 0, m, 2), 0);
    assert_int_equal(kl_pii_find(S("536221234"), ssn, m, 2), 1);
    assert_int_equal(m[0].entity, KL_PII_ENTITY_US_SSN);
    assert_int_equal(kl_pii_find(S("1980-02-29"), 0, m, 2), 0);
    assert_int_equal(kl_pii_find(S("1980-02-29"), dob, m, 2), 1);
    assert_int_equal(kl_pii_find(S("1981-02-29"), dob, m, 2), 0); /* not a leap year */
    assert_int_equal(kl_pii_find(S("1899-12-31"), dob, m, 2), 0);
    assert_int_equal(kl_pii_find(S("2999-01-01"), dob, m, 2), 0);
    assert_int_equal(kl_pii_find(S("patient born 04/18/1947"), 0, m, 2), 1);
    assert_int_equal(m[0].entity, KL_PII_ENTITY_DATE_OF_BIRTH);
    assert_int_equal(kl_pii_find(S("o'neil-smith"), name, m, 2), 1);
    assert_int_equal(m[0].entity, KL_PII_ENTITY_PERSON);
    assert_int_equal(kl_pii_find(S("o'neil-smith"), 0, m, 2), 0);
    assert_int_equal(kl_pii_find(S("user1234"), name, m, 2), 0);
}

static void test_name_hints(void **state)
{
    (void)state;
    struct {
        const char *name;
        enum kl_pii_entity e;
    } cases[] = {
        {"Email_Address", KL_PII_ENTITY_EMAIL}, {"e-mail", KL_PII_ENTITY_EMAIL},
        {"phoneNumber", KL_PII_ENTITY_PHONE},   {"SSN", KL_PII_ENTITY_US_SSN},
        {"dob", KL_PII_ENTITY_DATE_OF_BIRTH},   {"BirthDate", KL_PII_ENTITY_DATE_OF_BIRTH},
        {"client_ip", KL_PII_ENTITY_IP_ADDRESS}, {"first_name", KL_PII_ENTITY_PERSON},
        {"name", KL_PII_ENTITY_PERSON},         {"customer name", KL_PII_ENTITY_PERSON},
        {"street_address", KL_PII_ENTITY_ADDRESS}, {"ZIP", KL_PII_ENTITY_POSTCODE},
        {"passport_no", KL_PII_ENTITY_PASSPORT}, {"IBAN", KL_PII_ENTITY_IBAN},
        {"credit_card", KL_PII_ENTITY_CREDIT_CARD}, {"website", KL_PII_ENTITY_URL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        assert_true(kl_pii_name_hint(cases[k].name) & (1u << cases[k].e));
    assert_int_equal(kl_pii_name_hint("file_name"), 0);
    assert_int_equal(kl_pii_name_hint("age"), 0);
    assert_int_equal(kl_pii_name_hint("last_seen"), 0);
    assert_false(kl_pii_name_hint("ip_address") & (1u << KL_PII_ENTITY_ADDRESS));
    assert_int_equal(kl_pii_entity_parse("SSN"), KL_PII_ENTITY_US_SSN);
    assert_int_equal(kl_pii_entity_parse("credit-card"), KL_PII_ENTITY_CREDIT_CARD);
    assert_int_equal(kl_pii_entity_parse("nonsense"), -1);
    assert_string_equal(kl_pii_entity_name(KL_PII_ENTITY_IP_ADDRESS), "ip_address");
}

/* ---- the labelled file ---- */

/* One CSV field (quotes doubled inside quotes; no newlines in this file) into buf. */
static const char *csv_field(const char *p, char *buf, size_t n)
{
    size_t k = 0;
    if (*p == '"') {
        for (p++; *p; p++) {
            if (*p == '"' && p[1] == '"') {
                p++;
            } else if (*p == '"') {
                p++;
                break;
            }
            if (k + 1 < n)
                buf[k++] = *p;
        }
    } else {
        for (; *p && *p != ',' && *p != '\n'; p++)
            if (k + 1 < n)
                buf[k++] = *p;
    }
    buf[k] = 0;
    return *p == ',' ? p + 1 : p;
}

static void test_labelled_file_precision_and_recall(void **state)
{
    (void)state;
    char path[4096], line[1024], col[256], val[512], lab[64];
    snprintf(path, sizeof path, "%s/tests/fixtures/pii/labelled.csv", KEEL_SOURCE_DIR);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t tp[KL_PII_ENTITY_COUNT] = {0}, fp_[KL_PII_ENTITY_COUNT] = {0},
           fn[KL_PII_ENTITY_COUNT] = {0}, rows = 0;
    int shown = 0;
    assert_non_null(fgets(line, sizeof line, fp)); /* header */
    while (fgets(line, sizeof line, fp)) {
        const char *p = csv_field(line, col, sizeof col);
        p = csv_field(p, val, sizeof val);
        csv_field(p, lab, sizeof lab);
        int truth = strcmp(lab, "none") == 0 ? 0 : kl_pii_entity_parse(lab);
        assert_true(truth >= 0);
        kl_pii_match m[16];
        size_t n = kl_pii_find(val, strlen(val), kl_pii_name_hint(col), m, 16);
        unsigned found = 0;
        for (size_t k = 0; k < n && k < 16; k++)
            found |= 1u << m[k].entity;
        for (int e = 1; e < KL_PII_ENTITY_COUNT; e++) {
            int got = (found >> e) & 1, want = truth == e;
            tp[e] += got && want;
            fp_[e] += got && !want;
            fn[e] += !got && want;
            if (got != want && shown < 40 && getenv("KEEL_PII_SHOW")) {
                printf("  %s '%s' in %s: got %d\n", kl_pii_entity_name((enum kl_pii_entity)e),
                       val, col, got);
                shown++;
            }
        }
        rows++;
    }
    fclose(fp);
    assert_true(rows > 20000);
    int bad = 0;
    for (int e = 1; e < KL_PII_ENTITY_COUNT; e++) {
        if (!tp[e] && !fn[e] && !fp_[e])
            continue;
        double prec = tp[e] + fp_[e] ? (double)tp[e] / (double)(tp[e] + fp_[e]) : 0;
        double rec = tp[e] + fn[e] ? (double)tp[e] / (double)(tp[e] + fn[e]) : 0;
        printf("  %-14s precision %.4f recall %.4f (tp %zu fp %zu fn %zu)\n",
               kl_pii_entity_name((enum kl_pii_entity)e), prec, rec, tp[e], fp_[e], fn[e]);
        bad += prec < 0.98 || rec < 0.98;
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_luhn_published_numbers),
        cmocka_unit_test(test_card_needs_issuer_prefix_length_and_luhn),
        cmocka_unit_test(test_ssn_rules),
        cmocka_unit_test(test_iban_mod97),
        cmocka_unit_test(test_iban_hand_computed_check_digits),
        cmocka_unit_test(test_ip_edge_cases),
        cmocka_unit_test(test_email_shapes),
        cmocka_unit_test(test_find_reports_spans_in_free_text),
        cmocka_unit_test(test_find_skips_versions_but_not_addresses),
        cmocka_unit_test(test_find_weak_patterns_need_context),
        cmocka_unit_test(test_name_hints),
        cmocka_unit_test(test_labelled_file_precision_and_recall),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
