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

#include <jansson.h>

#include "keel/hash.h"
#include "keel/parallel.h"
#include "keel/pii.h"
#include "keel/spec.h"

#define S(x) x, strlen(x)

/* cmocka 1.1 has no assert_double_equal. */
#define assert_close(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-12)

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
    assert_true(kl_pii_card_ok(S("378282246310005")));   /* Amex test number */
    assert_true(kl_pii_card_ok(S("5555555555554444")));  /* Mastercard test number */
    assert_true(kl_pii_card_ok(S("6011111111111117")));  /* Discover test number */
    assert_true(kl_pii_card_ok(S("30569309025904")));    /* Diners test number */
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
    assert_true(kl_pii_iban_ok(S("NO9386011117947")));              /* shortest: 15 */
    assert_false(kl_pii_iban_ok(S("GB83 WEST 1234 5698 7654 32"))); /* check digits */
    assert_false(kl_pii_iban_ok(S("DE8937040044053201300")));       /* 21, DE is 22 */
    assert_false(kl_pii_iban_ok(S("QQ89370400440532013000")));      /* no such country */
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
    assert_true(kl_pii_ipv6_ok(S("1:2:3:4:5:6:192.0.2.128")));
    assert_false(kl_pii_ipv6_ok(S("1:2:3:4:5:6::192.0.2.128"))); /* nine groups' worth */
    assert_false(kl_pii_ipv6_ok(S("1:2:3:4:5:192.0.2.128")));
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

/*
 * Sentences written by hand (several after Presidio's recogniser tests), with
 * the entities a reader finds in them. None comes from the labelled file's
 * generator.
 */
static void test_find_on_hand_written_sentences(void **state)
{
    (void)state;
#define B(e) (1u << KL_PII_ENTITY_##e)
    static const struct {
        const char *text;
        unsigned want;
    } cases[] = {
        {"my email address is info@presidio.site", B(EMAIL)},
        {"My credit card number is 4012888888881881 and it expires soon", B(CREDIT_CARD)},
        {"card: 4012-8888-8888-1881.", B(CREDIT_CARD)},
        {"my card 4012888888881882 was declined", 0}, /* Luhn fails */
        {"order #4012888888881881-7 shipped", 0},     /* part of a longer id */
        {"call (425) 882 9090 or +1-425-882-8080", B(PHONE)},
        {"office: 425.882.8080", B(PHONE)},
        {"bureau : 01 42 68 53 00", B(PHONE)},
        {"Tel. +49 (0)30 1234567", B(PHONE)},
        {"ticket 2023-0042-1187 closed", 0},
        {"SSN 432-12-4567 on file", B(US_SSN)},
        {"the sample card 078-05-1120 is void", 0},
        {"IBAN IL150120690000003111111, thanks", B(IBAN)},
        {"IBAN IL150120690000003111112, thanks", 0},
        {"login from 192.168.0.1 at 10:32:01", B(IP_ADDRESS)},
        {"ping 2001:0db8:85a3:0000:0000:8a2e:0370:7334 now", B(IP_ADDRESS)},
        {"python 3.11.2 and numpy 1.26.4", 0},
        {"see https://www.example.com/a?b=c, or www.example.org.", B(URL)},
        {"example.com is a domain, not a URL here", 0},
        {"she was born on 12/31/1985 in Lyon", B(DATE_OF_BIRTH)},
        {"the meeting is on 12/31/1985 in Lyon", 0},
        {"date of birth: 1985-12-31", B(DATE_OF_BIRTH)},
        {"her ssn is 432124567", B(US_SSN)},
        {"invoice 432124567 paid", 0},
        {"mobile 4258828080, office closed", B(PHONE)},
        {"account 4258828080 closed", 0},
        {"write to a.b@c.io, call 212-555-0147, IP 8.8.8.8", B(EMAIL) | B(PHONE) | B(IP_ADDRESS)},
    };
#undef B
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        kl_pii_match m[8];
        size_t n = kl_pii_find(S(cases[k].text), 0, m, 8);
        unsigned got = 0;
        for (size_t q = 0; q < n && q < 8; q++)
            got |= 1u << m[q].entity;
        if (got != cases[k].want)
            printf("  '%s': got %#x, want %#x\n", cases[k].text, got, cases[k].want);
        assert_int_equal(got, cases[k].want);
    }
}

static void test_name_hints(void **state)
{
    (void)state;
    struct {
        const char *name;
        enum kl_pii_entity e;
    } cases[] = {
        {"Email_Address", KL_PII_ENTITY_EMAIL},
        {"e-mail", KL_PII_ENTITY_EMAIL},
        {"phoneNumber", KL_PII_ENTITY_PHONE},
        {"SSN", KL_PII_ENTITY_US_SSN},
        {"dob", KL_PII_ENTITY_DATE_OF_BIRTH},
        {"BirthDate", KL_PII_ENTITY_DATE_OF_BIRTH},
        {"client_ip", KL_PII_ENTITY_IP_ADDRESS},
        {"first_name", KL_PII_ENTITY_PERSON},
        {"name", KL_PII_ENTITY_PERSON},
        {"customer name", KL_PII_ENTITY_PERSON},
        {"street_address", KL_PII_ENTITY_ADDRESS},
        {"ZIP", KL_PII_ENTITY_POSTCODE},
        {"passport_no", KL_PII_ENTITY_PASSPORT},
        {"IBAN", KL_PII_ENTITY_IBAN},
        {"credit_card", KL_PII_ENTITY_CREDIT_CARD},
        {"website", KL_PII_ENTITY_URL},
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
                printf("  %s '%s' in %s: got %d\n", kl_pii_entity_name((enum kl_pii_entity)e), val,
                       col, got);
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

/*
 * Random strings over the bytes the matchers care about, each in a buffer of
 * exactly its length (no NUL after it, so ASan catches any read past the
 * end): matches must lie inside the string, in order, without overlap, with
 * scores in [KL_PII_MIN_SCORE, 1], whatever the hint.
 */
static void test_find_invariants_on_random_strings(void **state)
{
    (void)state;
    static const char alphabet[] = "0123456789012345678901234567890123456789"
                                   ".-:/@ +()_,abcdefxyzABDEGTW\xc3\xa9";
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int iter = 0; iter < 100000; iter++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = (size_t)(x % 48);
        char *s = malloc(n ? n : 1);
        assert_non_null(s);
        for (size_t k = 0; k < n; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s[k] = alphabet[x % (sizeof alphabet - 1)];
        }
        unsigned hint = (unsigned)(x >> 40) & ((1u << KL_PII_ENTITY_COUNT) - 2);
        kl_pii_match m[16];
        size_t c = kl_pii_find(s, n, hint, m, 16);
        size_t prev = 0;
        for (size_t k = 0; k < c && k < 16; k++) {
            assert_true(m[k].entity > KL_PII_ENTITY_NONE && m[k].entity < KL_PII_ENTITY_COUNT);
            assert_true(m[k].start >= prev && m[k].start < m[k].end && m[k].end <= n);
            assert_true(m[k].score >= KL_PII_MIN_SCORE && m[k].score <= 1.0);
            prev = m[k].end;
        }
        free(s);
    }
}

/* ---- column report ---- */

#define DAY_US INT64_C(86400000000)

/* A small frame with one column per case; cells chosen so the report can be worked out by hand. */
static kl_frame *sample_frame(void)
{
    const char *email[] = {"a@example.com", "b.c@mail.example.org", "nobody", "d@x.io",
                           "E@EXAMPLE.DE"};
    const char *notes[] = {"write to bob@example.org today", "fine", "all good", NULL, "ok"};
    const char *ssn[] = {"536221234", "536221234", "412345678", NULL, "536221234"};
    const char *name[] = {"Ana Lima", "José Díaz", "o'neil", "Li", "Bo"};
    double card[] = {4111111111111111.0, 5555555555554444.0, NAN, NAN, NAN};
    double age[] = {30, 41, 52, 63, 74};
    int64_t dob[] = {3652 * DAY_US, -43678 * DAY_US, KL_TIME_MISSING, KL_TIME_MISSING,
                     KL_TIME_MISSING};
    kl_err err = {0};
    kl_frame *f = kl_frame_new(5);
    assert_non_null(f);
    assert_int_equal(kl_frame_add_text(f, "email", email, &err), 0);
    assert_int_equal(kl_frame_add_text(f, "notes", notes, &err), 0);
    assert_int_equal(kl_frame_add_categorical(f, "SSN", ssn, &err), 0);
    assert_int_equal(kl_frame_add_text(f, "full_name", name, &err), 0);
    assert_int_equal(kl_frame_add_numeric(f, "payment_ref", KL_TYPE_INT, card, &err), 0);
    assert_int_equal(kl_frame_add_numeric(f, "age", KL_TYPE_INT, age, &err), 0);
    assert_int_equal(kl_frame_add_time(f, "dob", KL_TYPE_DATE, dob, NULL, &err), 0);
    return f;
}

static void test_scan_confidence_follows_the_formula(void **state)
{
    (void)state;
    kl_frame *f = sample_frame();
    kl_pii_report r;
    kl_err err = {0};
    assert_int_equal(kl_pii_scan(f, NULL, &r, &err), 0);
    assert_int_equal(r.n_columns, 7);
    /* email: 4 of 5 validated (score 1), name hint: 0.8 + 0.2 * 0.5 * 0.8. */
    assert_int_equal(r.columns[0].entity, KL_PII_ENTITY_EMAIL);
    assert_close(r.columns[0].share, 0.8);
    assert_close(r.columns[0].confidence, 0.88);
    assert_true(r.columns[0].flagged);
    assert_int_equal(r.columns[0].stats[KL_PII_ENTITY_EMAIL].whole, 4);
    /* notes: one email inside a sentence among 4 present cells, no hint: 0.25, not flagged. */
    assert_int_equal(r.columns[1].entity, KL_PII_ENTITY_EMAIL);
    assert_close(r.columns[1].confidence, 0.25);
    assert_int_equal(r.columns[1].stats[KL_PII_ENTITY_EMAIL].whole, 0);
    assert_false(r.columns[1].flagged);
    /* SSN: 4 bare nine-digit values, weak score 0.6 with the hint: 0.6 + 0.4 * 0.5. */
    assert_int_equal(r.columns[2].entity, KL_PII_ENTITY_US_SSN);
    assert_close(r.columns[2].confidence, 0.8);
    /* full_name: 5 name-shaped values, 0.6 + 0.4 * 0.5. */
    assert_int_equal(r.columns[3].entity, KL_PII_ENTITY_PERSON);
    assert_close(r.columns[3].confidence, 0.8);
    /* payment_ref: both present integers are valid card numbers, no hint. */
    assert_int_equal(r.columns[4].present, 2);
    assert_int_equal(r.columns[4].entity, KL_PII_ENTITY_CREDIT_CARD);
    assert_close(r.columns[4].confidence, 1.0);
    assert_int_equal(r.columns[5].entity, KL_PII_ENTITY_NONE);
    assert_false(r.columns[5].flagged);
    /* dob: 1980-01-01 is plausible, 1850-06-01 is not: 0.425 + 0.575 * 0.5 * 0.5. */
    assert_int_equal(r.columns[6].entity, KL_PII_ENTITY_DATE_OF_BIRTH);
    assert_close(r.columns[6].confidence, 0.425 + 0.575 * 0.25);
    kl_pii_report_release(&r);
    kl_frame_free(f);
}

static void test_scan_does_not_depend_on_thread_count(void **state)
{
    (void)state;
    size_t n = 40000;
    const char **v = calloc(n, sizeof *v);
    char *buf = malloc(n * 48);
    assert_non_null(v);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) {
        char *s = buf + i * 48;
        switch (i % 4) {
        case 0:
            snprintf(s, 48, "user%zu@example.com", i);
            break;
        case 1:
            snprintf(s, 48, "call 212-555-%04zu", i % 10000);
            break;
        case 2:
            snprintf(s, 48, "10.0.%zu.%zu", (i / 256) % 256, i % 256);
            break;
        default:
            snprintf(s, 48, "nothing %zu here", i);
            break;
        }
        v[i] = s;
    }
    kl_err err = {0};
    kl_frame *f = kl_frame_new(n);
    assert_int_equal(kl_frame_add_text(f, "contact", v, &err), 0);
    assert_int_equal(kl_frame_add_text(f, "other", v, &err), 0);
    kl_pii_report a, b;
    kl_threads_set(1);
    assert_int_equal(kl_pii_scan(f, NULL, &a, &err), 0);
    kl_threads_set(2);
    assert_int_equal(kl_pii_scan(f, NULL, &b, &err), 0);
    kl_threads_set(0);
    for (size_t j = 0; j < 2; j++) {
        assert_memory_equal(a.columns[j].stats, b.columns[j].stats, sizeof a.columns[j].stats);
        assert_int_equal(a.columns[j].stats[KL_PII_ENTITY_EMAIL].matched, n / 4);
        assert_int_equal(a.columns[j].stats[KL_PII_ENTITY_PHONE].matched, n / 4);
        assert_int_equal(a.columns[j].stats[KL_PII_ENTITY_IP_ADDRESS].matched, n / 4);
    }
    kl_pii_report_release(&a);
    kl_pii_report_release(&b);
    kl_frame_free(f);
    free(v);
    free(buf);
}

/* ---- policies ---- */

static uint8_t salt0[KL_PII_SALT_LEN], salt1[KL_PII_SALT_LEN];

static int setup_salts(void **state)
{
    (void)state;
    for (int k = 0; k < KL_PII_SALT_LEN; k++) {
        salt0[k] = (uint8_t)k;
        salt1[k] = (uint8_t)(k + 1);
    }
    return 0;
}

static kl_frame *apply_ok(const kl_frame *f, const kl_spec_pii_rule *cols, size_t nc,
                          const kl_spec_pii_rule *ents, size_t ne, kl_pii_policy fallback,
                          const uint8_t *salt, kl_pii_log *log)
{
    kl_pii_policies p = {fallback, cols, nc, ents, ne};
    kl_frame *out = NULL;
    kl_err err = {0};
    int rc = kl_pii_apply(f, NULL, &p, salt, &out, log, &err);
    if (rc < 0)
        printf("apply: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(out);
    return out;
}

static const char *text_at(const kl_frame *f, const char *col, size_t i)
{
    long j = kl_frame_col_index(f, col);
    assert_true(j >= 0);
    static char buf[256];
    return kl_frame_cell_str(f, i, (size_t)j, buf, sizeof buf) ? buf : NULL;
}

static void test_redact_replaces_flagged_cells_with_a_token(void **state)
{
    (void)state;
    kl_frame *f = sample_frame();
    kl_spec_pii_rule ents[] = {{"email", {KL_PII_ACTION_REDACT, 0}}};
    kl_pii_log log;
    kl_frame *o = apply_ok(f, NULL, 0, ents, 1, (kl_pii_policy){0}, NULL, &log);
    assert_string_equal(text_at(o, "email", 0), "[REDACTED:email]");
    /* A flagged column is transformed whole, the cell without an email too. */
    assert_string_equal(text_at(o, "email", 2), "[REDACTED:email]");
    /* Inside free text only the email goes. */
    assert_string_equal(text_at(o, "notes", 0), "write to [REDACTED:email] today");
    assert_string_equal(text_at(o, "notes", 1), "fine");
    assert_null(text_at(o, "notes", 3));
    /* Other columns are untouched. */
    assert_string_equal(text_at(o, "full_name", 1), "José Díaz");
    assert_int_equal(log.n, 2);
    assert_string_equal(log.entries[0].column, "email");
    assert_string_equal(log.entries[0].rule, "entity");
    assert_int_equal(log.entries[0].whole, 1);
    assert_int_equal(log.entries[0].cells, 5);
    assert_string_equal(log.entries[1].column, "notes");
    assert_int_equal(log.entries[1].whole, 0);
    assert_int_equal(log.entries[1].spans, 1);
    kl_pii_log_release(&log);
    kl_frame_free(o);
    kl_frame_free(f);
}

static void test_mask_keeps_the_last_n_characters(void **state)
{
    (void)state;
    kl_frame *f = sample_frame();
    kl_spec_pii_rule cols[] = {{"payment_ref", {KL_PII_ACTION_MASK, 4}},
                               {"full_name", {KL_PII_ACTION_MASK, 2}},
                               {"age", {KL_PII_ACTION_MASK, 9}}};
    kl_frame *o = apply_ok(f, cols, 3, NULL, 0, (kl_pii_policy){0}, NULL, NULL);
    assert_string_equal(text_at(o, "payment_ref", 0), "************1111");
    assert_null(text_at(o, "payment_ref", 2));
    /* Characters, not bytes: "José Díaz" is 9 characters in 11 bytes. */
    assert_string_equal(text_at(o, "full_name", 1), "*******az");
    assert_string_equal(text_at(o, "full_name", 3), "Li");
    /* keep_last at least the length leaves the value as it is. */
    assert_string_equal(text_at(o, "age", 0), "30");
    assert_int_equal(kl_frame_col_kind(o, (size_t)kl_frame_col_index(o, "payment_ref")),
                     KL_COL_KIND_TEXT);
    kl_frame_free(o);
    kl_frame_free(f);
}

static void test_hash_is_salted_sha256_and_stable(void **state)
{
    (void)state;
    const char *v[] = {"bob@example.org", "bob@example.org"};
    kl_err err = {0};
    kl_frame *f = kl_frame_new(2);
    assert_int_equal(kl_frame_add_text(f, "email", v, &err), 0);
    kl_spec_pii_rule ents[] = {{"email", {KL_PII_ACTION_HASH, 0}}};
    kl_frame *a = apply_ok(f, NULL, 0, ents, 1, (kl_pii_policy){0}, salt0, NULL);
    kl_frame *b = apply_ok(f, NULL, 0, ents, 1, (kl_pii_policy){0}, salt1, NULL);
    /* Python: hashlib.sha256(b"bob@example.org" + bytes(range(32))).hexdigest() */
    assert_string_equal(text_at(a, "email", 0),
                        "f8368fa5e2511ce3159630daea35a4122a7acfdfc8fbbb72f2a3217fa2b64d23");
    assert_string_equal(text_at(a, "email", 1),
                        "f8368fa5e2511ce3159630daea35a4122a7acfdfc8fbbb72f2a3217fa2b64d23");
    /* bytes(range(1, 33)) */
    assert_string_equal(text_at(b, "email", 0),
                        "bb21c44ce5328991aa0afb7b45c041fb7c0626dabfa0b5ab9318339ba67195dc");
    /* Without a salt, hashing is refused. */
    kl_pii_policies p = {{0}, NULL, 0, ents, 1};
    kl_frame *o = (kl_frame *)1;
    assert_int_equal(kl_pii_apply(f, NULL, &p, NULL, &o, NULL, &err), KL_EINVAL);
    assert_null(o);
    kl_frame_free(a);
    kl_frame_free(b);
    kl_frame_free(f);
}

static void test_drop_removes_the_column_and_logs_it(void **state)
{
    (void)state;
    kl_frame *f = sample_frame();
    kl_spec_pii_rule ents[] = {{"ssn", {KL_PII_ACTION_DROP, 0}}};
    kl_pii_log log;
    kl_frame *o = apply_ok(f, NULL, 0, ents, 1, (kl_pii_policy){0}, NULL, &log);
    assert_int_equal(kl_frame_col_count(o), 6);
    assert_int_equal(kl_frame_col_index(o, "SSN"), -1);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.entries[0].entity, KL_PII_ENTITY_US_SSN);
    assert_int_equal(log.entries[0].policy.action, KL_PII_ACTION_DROP);
    assert_int_equal(log.entries[0].cells, 4);
    kl_pii_log_release(&log);
    kl_frame_free(o);
    kl_frame_free(f);
}

static void test_default_policy_covers_every_flagged_column(void **state)
{
    (void)state;
    kl_frame *f = sample_frame();
    kl_spec_pii_rule cols[] = {{"full_name", {KL_PII_ACTION_KEEP, 0}}};
    kl_pii_log log;
    kl_frame *o =
        apply_ok(f, cols, 1, NULL, 0, (kl_pii_policy){KL_PII_ACTION_REDACT, 0}, NULL, &log);
    assert_string_equal(text_at(o, "email", 0), "[REDACTED:email]");
    assert_string_equal(text_at(o, "SSN", 0), "[REDACTED:us_ssn]");
    assert_string_equal(text_at(o, "payment_ref", 0), "[REDACTED:credit_card]");
    assert_string_equal(text_at(o, "dob", 0), "[REDACTED:date_of_birth]");
    assert_string_equal(text_at(o, "full_name", 0), "Ana Lima"); /* its column rule wins */
    assert_string_equal(text_at(o, "age", 0), "30");
    assert_int_equal(kl_frame_col_kind(o, (size_t)kl_frame_col_index(o, "SSN")),
                     KL_COL_KIND_CATEGORICAL);
    for (size_t k = 0; k < log.n; k++)
        if (strcmp(log.entries[k].column, "email") == 0)
            assert_string_equal(log.entries[k].rule, "default");
    kl_pii_log_release(&log);
    kl_frame_free(o);
    kl_frame_free(f);
}

static void test_fail_policy_names_column_and_entity(void **state)
{
    (void)state;
    kl_frame *f = sample_frame();
    kl_spec_pii_rule ents[] = {{"credit_card", {KL_PII_ACTION_FAIL, 0}}};
    kl_pii_policies p = {{0}, NULL, 0, ents, 1};
    kl_frame *o = NULL;
    kl_pii_log log;
    kl_err err = {0};
    assert_int_equal(kl_pii_apply(f, NULL, &p, NULL, &o, &log, &err), KL_ECHECK);
    assert_null(o);
    assert_int_equal(log.n, 0);
    assert_string_equal(err.msg,
                        "column 'payment_ref' holds PII (credit_card, confidence 1.00) and its "
                        "policy is fail");
    assert_string_equal(err.ctx, "payment_ref");
    /* A match inside free text fails too, naming the row, never the value. */
    kl_spec_pii_rule e2[] = {{"email", {KL_PII_ACTION_FAIL, 0}}};
    kl_spec_pii_rule c2[] = {{"email", {KL_PII_ACTION_KEEP, 0}}};
    kl_pii_policies p2 = {{0}, c2, 1, e2, 1};
    assert_int_equal(kl_pii_apply(f, NULL, &p2, NULL, &o, NULL, &err), KL_ECHECK);
    assert_string_equal(err.msg,
                        "column 'notes' holds PII (email in row 1) and its policy is fail");
    kl_frame_free(f);
}

static void test_column_rule_applies_without_detection(void **state)
{
    (void)state;
    kl_frame *f = sample_frame();
    kl_spec_pii_rule cols[] = {{"age", {KL_PII_ACTION_REDACT, 0}}};
    kl_pii_log log;
    kl_frame *o = apply_ok(f, cols, 1, NULL, 0, (kl_pii_policy){0}, NULL, &log);
    assert_string_equal(text_at(o, "age", 4), "[REDACTED]");
    assert_string_equal(text_at(o, "email", 0), "a@example.com");
    assert_int_equal(log.n, 1);
    assert_int_equal(log.entries[0].entity, KL_PII_ENTITY_NONE);
    assert_string_equal(log.entries[0].rule, "column");
    kl_pii_log_release(&log);
    kl_frame_free(o);
    kl_frame_free(f);
}

static void test_every_match_in_a_long_cell_is_transformed(void **state)
{
    (void)state;
    char *cell = malloc(200 * 32 + 1);
    assert_non_null(cell);
    size_t len = 0;
    for (int k = 0; k < 200; k++)
        len += (size_t)snprintf(cell + len, 32, "u%03d@example.com; ", k);
    /* One cell in three: the column is not flagged, so the matches are replaced in place. */
    const char *v[] = {cell, "none here", "nor here"};
    kl_err err = {0};
    kl_frame *f = kl_frame_new(3);
    assert_int_equal(kl_frame_add_text(f, "mailing_list", v, &err), 0);
    kl_spec_pii_rule ents[] = {{"email", {KL_PII_ACTION_REDACT, 0}}};
    kl_pii_log log;
    kl_frame *o = apply_ok(f, NULL, 0, ents, 1, (kl_pii_policy){0}, NULL, &log);
    long j = kl_frame_col_index(o, "mailing_list");
    const char *out = kl_frame_col_text(o, (size_t)j)[0];
    assert_null(strchr(out, '@'));
    size_t n = 0;
    for (const char *p = out; (p = strstr(p, "[REDACTED:email]")); p++)
        n++;
    assert_int_equal(n, 200);
    kl_pii_report r;
    assert_int_equal(kl_pii_scan(f, NULL, &r, &err), 0);
    assert_int_equal(r.columns[0].stats[KL_PII_ENTITY_EMAIL].matched, 1);
    kl_pii_report_release(&r);
    kl_pii_log_release(&log);
    kl_frame_free(o);
    kl_frame_free(f);
    free(cell);
}

static void test_rule_for_a_missing_column_is_an_error(void **state)
{
    (void)state;
    kl_frame *f = sample_frame();
    kl_spec_pii_rule cols[] = {{"emial", {KL_PII_ACTION_REDACT, 0}}};
    kl_pii_policies p = {{0}, cols, 1, NULL, 0};
    kl_frame *o = NULL;
    kl_err err = {0};
    assert_int_equal(kl_pii_apply(f, NULL, &p, NULL, &o, NULL, &err), KL_ENOTFOUND);
    assert_null(o);
    assert_string_equal(err.msg, "a PII rule names column 'emial', which the data lacks; did you "
                                 "mean 'email'?");
    kl_frame_free(f);
}

/* ---- the one call `keel data add` makes ---- */

static kl_spec *spec_in(const char *dir, const char *pii_yaml)
{
    char path[512];
    snprintf(path, sizeof path, "%s/keel.yaml", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp,
            "project:\n  name: t\nobjective:\n  task: regression\n  target: age\n"
            "constraints:\n  pii:\n%s",
            pii_yaml);
    fclose(fp);
    kl_spec *s = NULL;
    kl_err err = {0};
    if (kl_spec_load_file(path, &s, &err) < 0)
        printf("spec: %s (%s)\n", err.msg, err.ctx);
    assert_non_null(s);
    unlink(path);
    return s;
}

static void remove_salt(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/.keel/secrets/pii_salt", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/.keel/secrets", dir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/.keel", dir);
    rmdir(p);
}

static void test_protect_hashes_with_the_project_salt(void **state)
{
    (void)state;
    char dir[] = "/tmp/keel-pii-XXXXXX", path[512];
    assert_non_null(mkdtemp(dir));
    kl_spec *s = spec_in(dir, "    entities:\n      email: hash\n      ssn: drop\n");
    kl_frame *f = sample_frame(), *o = NULL;
    kl_pii_log log;
    kl_err err = {0};
    assert_int_equal(kl_pii_protect(f, s, dir, &o, &log, &err), 0);
    uint8_t salt[KL_PII_SALT_LEN];
    snprintf(path, sizeof path, "%s/.keel/secrets/pii_salt", dir);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(salt, 1, sizeof salt, fp), sizeof salt);
    fclose(fp);
    /* Expected: SHA-256 of the value and the salt in one buffer, in one call. */
    char buf[64 + KL_PII_SALT_LEN], hex[KL_SHA256_HEX_LEN + 1];
    uint8_t d[KL_SHA256_LEN];
    size_t len = strlen("a@example.com");
    memcpy(buf, "a@example.com", len);
    memcpy(buf + len, salt, sizeof salt);
    assert_int_equal(kl_sha256(buf, len + sizeof salt, d), 0);
    kl_hex(d, sizeof d, hex);
    assert_string_equal(text_at(o, "email", 0), hex);
    assert_int_equal(kl_frame_col_index(o, "SSN"), -1);
    /* The email inside the notes is hashed in place too. */
    const char *note = text_at(o, "notes", 0);
    assert_int_equal(strncmp(note, "write to ", 9), 0);
    assert_int_equal(strlen(note), strlen("write to  today") + KL_SHA256_HEX_LEN);
    json_t *j = kl_pii_log_json(&log);
    char *txt = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(txt, "[{\"column\":\"email\",\"entity\":\"email\",\"action\":\"hash\","
                             "\"rule\":\"entity\",\"whole\":true,\"cells\":5},"
                             "{\"column\":\"notes\",\"entity\":\"email\",\"action\":\"hash\","
                             "\"rule\":\"entity\",\"whole\":false,\"cells\":1,\"spans\":1},"
                             "{\"column\":\"SSN\",\"entity\":\"us_ssn\",\"action\":\"drop\","
                             "\"rule\":\"entity\",\"whole\":true,\"cells\":4}]");
    free(txt);
    json_decref(j);
    kl_pii_log_release(&log);
    kl_frame_free(o);
    kl_frame_free(f);
    kl_spec_free(s);
    remove_salt(dir);
    assert_int_equal(rmdir(dir), 0);
}

static void test_protect_with_keep_only_copies_and_makes_no_salt(void **state)
{
    (void)state;
    char dir[] = "/tmp/keel-pii-XXXXXX", path[512];
    assert_non_null(mkdtemp(dir));
    kl_spec *s = spec_in(dir, "    default: keep\n");
    kl_frame *f = sample_frame(), *o = NULL;
    kl_pii_log log;
    kl_err err = {0};
    assert_int_equal(kl_pii_protect(f, s, dir, &o, &log, &err), 0);
    uint8_t a[32], b[32];
    assert_int_equal(kl_frame_hash(f, a), 0);
    assert_int_equal(kl_frame_hash(o, b), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(log.n, 0);
    snprintf(path, sizeof path, "%s/.keel", dir);
    assert_int_equal(access(path, F_OK), -1);
    kl_pii_log_release(&log);
    kl_frame_free(o);
    kl_frame_free(f);
    kl_spec_free(s);
    assert_int_equal(rmdir(dir), 0);
}

/* ---- the salt file ---- */

static void test_salt_created_private_and_reused(void **state)
{
    (void)state;
    char dir[] = "/tmp/keel-pii-XXXXXX", path[512], sdir[256];
    assert_non_null(mkdtemp(dir));
    uint8_t a[KL_PII_SALT_LEN], b[KL_PII_SALT_LEN], zero[KL_PII_SALT_LEN] = {0};
    kl_err err = {0};
    assert_int_equal(kl_pii_salt_load(dir, a, &err), 0);
    snprintf(sdir, sizeof sdir, "%s/.keel/secrets", dir);
    snprintf(path, sizeof path, "%s/pii_salt", sdir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, KL_PII_SALT_LEN);
    assert_int_equal(stat(sdir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_memory_not_equal(a, zero, sizeof a);
    assert_int_equal(kl_pii_salt_load(dir, b, &err), 0);
    assert_memory_equal(a, b, sizeof a);
    /* Readable by others: refused, not used. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(kl_pii_salt_load(dir, b, &err), KL_EIO);
    assert_non_null(strstr(err.msg, "0600"));
    /* Cut short: refused. */
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(truncate(path, 16), 0);
    assert_int_equal(kl_pii_salt_load(dir, b, &err), KL_ECORRUPT);
    unlink(path);
    rmdir(sdir);
    snprintf(sdir, sizeof sdir, "%s/.keel", dir);
    rmdir(sdir);
    rmdir(dir);
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
        cmocka_unit_test(test_find_on_hand_written_sentences),
        cmocka_unit_test(test_name_hints),
        cmocka_unit_test(test_find_invariants_on_random_strings),
        cmocka_unit_test(test_labelled_file_precision_and_recall),
        cmocka_unit_test(test_scan_confidence_follows_the_formula),
        cmocka_unit_test(test_scan_does_not_depend_on_thread_count),
        cmocka_unit_test(test_redact_replaces_flagged_cells_with_a_token),
        cmocka_unit_test(test_mask_keeps_the_last_n_characters),
        cmocka_unit_test(test_hash_is_salted_sha256_and_stable),
        cmocka_unit_test(test_drop_removes_the_column_and_logs_it),
        cmocka_unit_test(test_default_policy_covers_every_flagged_column),
        cmocka_unit_test(test_fail_policy_names_column_and_entity),
        cmocka_unit_test(test_column_rule_applies_without_detection),
        cmocka_unit_test(test_every_match_in_a_long_cell_is_transformed),
        cmocka_unit_test(test_rule_for_a_missing_column_is_an_error),
        cmocka_unit_test(test_protect_hashes_with_the_project_salt),
        cmocka_unit_test(test_protect_with_keep_only_copies_and_makes_no_salt),
        cmocka_unit_test(test_salt_created_private_and_reused),
    };
    return cmocka_run_group_tests(tests, setup_salts, NULL);
}
