/*
 * Tests for lib/data/parse.c. Numbers are checked bit for bit against glibc's
 * strtod (the reference the parser promises to equal) on the repo's real CSV
 * files, on random 17-digit decimals over the whole double range and on
 * crafted hard cases (exact midpoints between doubles, built here with exact
 * decimal arithmetic). Dates are checked against hand-computed epoch values,
 * published ones (0001-01-01, the end of 9999) and a naive day-counting loop.
 */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/parse.h"

/* About 3 s under ASan+UBSan at full size; scale down there if it ever grows slow. */
#define RANDOM_STRINGS 1000000

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t double_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static double bits_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* strtod on s (NUL-terminated); 1 when it consumed all of it. */
static int ref_strtod(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return *s != '\0' && *end == '\0';
}

/* s must parse, to exactly strtod's bits; returns the value. */
static double expect_same_as_strtod(const char *s)
{
    double ref, got = 0;
    int is_int = -1;
    if (!ref_strtod(s, &ref))
        fail_msg("strtod does not consume '%.80s'", s);
    if (!kl__parse_number(s, strlen(s), &got, &is_int))
        fail_msg("not parsed: '%.80s'", s);
    if (double_bits(ref) != double_bits(got))
        fail_msg("'%.120s': strtod %a, parsed %a", s, ref, got);
    return got;
}

/* ---- numbers: syntax ---- */

static void test_number_simple_values(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        double v;
        int is_int;
    } cases[] = {
        {"0", 0.0, 1},
        {"-0", -0.0, 1},
        {"+5", 5.0, 1},
        {"007", 7.0, 1},
        {"5.1", 5.1, 0},
        {".5", 0.5, 0},
        {"5.", 5.0, 0},
        {"-.25", -0.25, 0},
        {"1e3", 1000.0, 0},
        {"1E+3", 1000.0, 0},
        {"2.5e-3", 0.0025, 0},
        {"  42  ", 42.0, 1},
        {"inf", INFINITY, 0},
        {"-Infinity", -INFINITY, 0},
        {"+INF", INFINITY, 0},
        {"9007199254740992", 9007199254740992.0, 1},
        {"-9007199254740992", -9007199254740992.0, 1},
        {"9007199254740993", 9007199254740992.0, 0},
        {"12345678901234567890123", 12345678901234567890123.0, 0},
        {"1.0", 1.0, 0},
        {"000000000000000000000000005", 5.0, 1},
        {"-000000000000000000000000000", -0.0, 1},
        {"0.00000000000000000000000000", 0.0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got;
        int is_int = -1;
        if (!kl__parse_number(cases[i].s, strlen(cases[i].s), &got, &is_int))
            fail_msg("not parsed: '%s'", cases[i].s);
        if (double_bits(got) != double_bits(cases[i].v))
            fail_msg("'%s': got %a, want %a", cases[i].s, got, cases[i].v);
        if (is_int != cases[i].is_int)
            fail_msg("'%s': is_int %d, want %d", cases[i].s, is_int, cases[i].is_int);
    }
}

static void test_number_rejects_non_numbers(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",      " ",         ".",   "e5",   "1e",    "1e+",  "0x10",  "nan",   "NaN",
        "-nan",  "1,5",       "--1", "+-1",  "1 2",   "- 1",  "1. 5",  "1e 5",  "in",
        "infin", "infinityy", "+",   "-",    "1.2.3", "1ee5", "abc",   "1a",    "\t1",
        "1\t",   "0b1",       "e",   "1e5.", ".e1",   "-.",   "1_000", "1'000", "١",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v = 123;
        int is_int = 7;
        if (kl__parse_number(bad[i], strlen(bad[i]), &v, &is_int))
            fail_msg("'%s' was parsed as %g", bad[i], v);
    }
}

static void test_number_reads_only_its_length(void **state)
{
    (void)state;
    /* The field is "12" inside a longer buffer with no NUL after it. */
    const char buf[] = {'1', '2', '5', 'x'};
    double v;
    int is_int;
    assert_int_equal(kl__parse_number(buf, 2, &v, &is_int), 1);
    assert_true(v == 12.0 && is_int == 1);
    assert_int_equal(kl__parse_number(buf, 3, &v, &is_int), 1);
    assert_true(v == 125.0);
    assert_int_equal(kl__parse_number(buf, 4, &v, &is_int), 0);
}

/* ---- numbers: against strtod ---- */

/*
 * Whether s uses only syntax both strtod and kl__parse_number accept: strtod
 * also takes leading tabs and newlines, hexadecimal and nan.
 */
static int strtod_syntax_is_ours(const char *s)
{
    if (strpbrk(s, "\t\n\v\f\r"))
        return 0;
    for (const char *p = s; *p; p++) {
        if ((p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) ||
            ((p[0] | 32) == 'n' && (p[1] | 32) == 'a' && (p[2] | 32) == 'n'))
            return 0;
    }
    return 1;
}

/* Every field of every CSV file in data/: if parsed, it equals strtod; if strtod reads it, so do
 * we. */
static void test_number_matches_strtod_on_repo_csv_files(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data", KEEL_SOURCE_DIR);
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t numbers = 0, files = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".csv") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        files++;
        char line[1 << 16];
        while (fgets(line, sizeof line, f)) {
            size_t n = strcspn(line, "\r\n");
            line[n] = '\0';
            char *field = line;
            for (;;) {
                char *comma = strchr(field, ',');
                if (comma)
                    *comma = '\0';
                double ref, got;
                int is_int;
                int ours = kl__parse_number(field, strlen(field), &got, &is_int);
                int theirs = ref_strtod(field, &ref) && strtod_syntax_is_ours(field);
                if (ours != theirs)
                    fail_msg("%s: '%s': parsed %d, strtod %d", de->d_name, field, ours, theirs);
                if (ours) {
                    if (double_bits(ref) != double_bits(got))
                        fail_msg("%s: '%s': strtod %a, parsed %a", de->d_name, field, ref, got);
                    numbers++;
                }
                if (!comma)
                    break;
                field = comma + 1;
            }
        }
        fclose(f);
    }
    closedir(d);
    assert_true(files >= 10);
    assert_true(numbers > 100000);
}

/* Writes count random significant digits (the first non-zero) into d. */
static void random_digits(uint64_t *rng, char *d, int count)
{
    for (int i = 0; i < count; i++)
        d[i] = (char)('0' + splitmix64(rng) % 10);
    if (d[0] == '0')
        d[0] = (char)('1' + splitmix64(rng) % 9);
    d[count] = '\0';
}

/*
 * Random 17-digit decimals with decimal exponents from -345 to 310 (zero,
 * subnormals, normals, overflow), written in several forms: scientific,
 * plain with leading zeros, integer with trailing zeros, and a point in the
 * middle. Also shorter mantissas (1-19 digits) to cover every path.
 */
static void test_number_matches_strtod_on_random_decimals(void **state)
{
    (void)state;
    uint64_t rng = 20261127;
    char digits[32], s[800];
    long zero = 0, subnormal = 0, overflow = 0;
    for (long i = 0; i < RANDOM_STRINGS + RANDOM_STRINGS / 4; i++) {
        int nd = i < RANDOM_STRINGS ? 17 : 1 + (int)(splitmix64(&rng) % 19);
        random_digits(&rng, digits, nd);
        int exp10 = -345 + (int)(splitmix64(&rng) % 656); /* value = 0.DIGITS * 10^exp10 */
        const char *sign = (splitmix64(&rng) & 1) ? "-" : "";
        int form = (int)(i % 5);
        if (form == 0 || exp10 < -300 || exp10 > 300) {
            snprintf(s, sizeof s, "%s%c.%se%d", sign, digits[0], digits + 1, exp10 - 1);
        } else if (form == 1 && exp10 <= 0) { /* 0.000DIGITS */
            int k = snprintf(s, sizeof s, "%s0.", sign);
            for (int z = 0; z < -exp10; z++)
                s[k++] = '0';
            snprintf(s + k, sizeof s - (size_t)k, "%s", digits);
        } else if (form == 2 && exp10 >= nd) { /* DIGITS000 */
            int k = snprintf(s, sizeof s, "%s%s", sign, digits);
            for (int z = 0; z < exp10 - nd; z++)
                s[k++] = '0';
            s[k] = '\0';
        } else if (form == 3 && exp10 > 0 && exp10 < nd) { /* DIG.ITS */
            snprintf(s, sizeof s, "%s%.*s.%s", sign, exp10, digits, digits + exp10);
        } else {
            snprintf(s, sizeof s, "%s%se%d", sign, digits, exp10 - nd);
        }
        double v = fabs(expect_same_as_strtod(s));
        zero += v == 0;
        subnormal += v > 0 && v < DBL_MIN;
        overflow += isinf(v);
    }
    /* the range really was covered */
    assert_true(zero > 1000 && subnormal > 10000 && overflow > 1000);
}

/*
 * Random doubles (bit patterns) printed with 17 digits and with 16 (often the
 * wrong neighbour), and the midpoint between each and its successor (exact in
 * x86's 64-bit long double) printed with 16 to 19 digits: decimals within a
 * hair of a tie, the inputs where a fast path would most likely go wrong.
 */
static void test_number_matches_strtod_near_doubles(void **state)
{
    (void)state;
    uint64_t rng = 42;
    char s[64];
    for (long i = 0; i < RANDOM_STRINGS / 4; i++) {
        double v = bits_double(splitmix64(&rng));
        if (!isfinite(v))
            continue;
        snprintf(s, sizeof s, "%.17g", v);
        expect_same_as_strtod(s);
        snprintf(s, sizeof s, "%.16e", v);
        expect_same_as_strtod(s);
        snprintf(s, sizeof s, "%.15e", v);
        expect_same_as_strtod(s);
        if (i % 4 == 0 && fabs(v) < DBL_MAX) {
            long double mid = ((long double)v + (long double)nextafter(v, 2 * v)) / 2;
            for (int prec = 15; prec <= 18; prec++) {
                snprintf(s, sizeof s, "%.*Le", prec, mid);
                expect_same_as_strtod(s);
            }
        }
    }
}

static void test_number_hard_cases_match_strtod(void **state)
{
    (void)state;
    static const char *hard[] = {
        "9007199254740993",
        "9007199254740995",
        "9007199254740993.0000000000000000001",
        "2.2250738585072011e-308",
        "2.2250738585072012e-308",
        "2.2250738585072014e-308",
        "2.225073858507201136057409796709131975934819546351645648e-308",
        "1e23",
        "8.98846567431158e307",
        "8."
        "988465674311579538646525953945123668089884894711532863671504057886633790275048156635423866"
        "120376801056005693993569667882939488440720831124642371531973706218888394671243274263815110"
        "98006230470597265414760425028844190753411712314e307",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "1e308",
        "1e309",
        "-1e400",
        "4.9406564584124654e-324",
        "2.4703282292062327e-324",
        "2.4703282292062328e-324",
        "2.47032822920623272e-324",
        "1e-324",
        "3e-324",
        "1e-400",
        "0.000000000000000000000000000000000000000000001e-300",
        "123456789012345678901234567890e-330",
        "7.2057594037927933e16",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "1844674407370955161600000",
        "0.1",
        "0.3",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "4503599627370496.5",
        "4503599627370497.5",
        "2.0000000000000001110223024625156540423631668090820312500000000000000000000000000001",
        "1e-5",
        "1e22",
        "1e-22",
        "123456789e-22",
        "9007199254740992e22",
        "5e-324",
        "1000000000000000000000000000000000000000000000000000000000000000000000000000001e-78",
        "0e999999999999999999999",
        "1e-999999999999999999999",
        "1e999999999999999999999",
        "0.0000000000000000000000000000000000000000000000000000000000000000000000001e73",
        "00000000000000000000000000000000000009007199254740993",
        "000000000000000000000.0000000000000000000012345678901234567",
        "0.000000000000000000000000000000000000000000000000000000000001234567890123456789e60",
        "1.000000000000000000000000000000000000000000000000000000000000000000",
    };
    for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++)
        expect_same_as_strtod(hard[i]);
}

/* Decimal big integer (base 1e9, little-endian limbs), enough to print exact midpoints. */
typedef struct {
    uint32_t limb[200];
    int n;
} dec_big;

static void dec_set(dec_big *b, uint64_t v)
{
    b->n = 0;
    do {
        b->limb[b->n++] = (uint32_t)(v % 1000000000u);
        v /= 1000000000u;
    } while (v);
}

static void dec_mul(dec_big *b, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->limb[i] * m + carry;
        b->limb[i] = (uint32_t)(t % 1000000000u);
        carry = t / 1000000000u;
    }
    while (carry) {
        assert_true(b->n < 200);
        b->limb[b->n++] = (uint32_t)(carry % 1000000000u);
        carry /= 1000000000u;
    }
}

static int dec_print(const dec_big *b, char *out, size_t size)
{
    int k = snprintf(out, size, "%u", b->limb[b->n - 1]);
    for (int i = b->n - 2; i >= 0; i--)
        k += snprintf(out + k, size - (size_t)k, "%09u", b->limb[i]);
    return k;
}

/*
 * The exact decimal of the midpoint above the positive double v, as DIGITS and
 * a power of ten: midpoint = DIGITS * 10^*e10.
 */
static int exact_midpoint(double v, char *out, size_t size, int *e10)
{
    int e2;
    double fr = frexp(v, &e2); /* v = fr * 2^e2, fr in [0.5, 1) */
    uint64_t m = (uint64_t)ldexp(fr, 53);
    e2 -= 53;
    if (e2 < -1074) { /* subnormal: v = m' * 2^-1074 */
        m >>= (-1074 - e2);
        e2 = -1074;
    }
    /* midpoint = (2m + 1) * 2^(e2 - 1) */
    dec_big b;
    dec_set(&b, 2 * m + 1);
    int p = e2 - 1;
    if (p >= 0) {
        for (int i = 0; i < p; i++)
            dec_mul(&b, 2);
        *e10 = 0;
    } else {
        for (int i = 0; i < -p; i++)
            dec_mul(&b, 5);
        *e10 = p;
    }
    return dec_print(&b, out, size);
}

/*
 * Exact midpoints between neighbouring doubles (ties, which strtod rounds to
 * even), and the same digits nudged by a far-away non-zero digit, including
 * beyond 800 digits and inside 3000-character fields.
 */
static void test_number_exact_midpoints_match_strtod(void **state)
{
    (void)state;
    double probes[] = {
        4.9406564584124654e-324,
        0.0 /* replaced by the largest subnormal */,
        DBL_MIN,
        1.0,
        9007199254740992.0,
        DBL_MAX,
        1e23,
        0.1,
        2.2250738585072009e-308,
        1e-300,
        1e300,
    };
    probes[1] = nextafter(DBL_MIN, 0);
    uint64_t rng = 7;
    enum { N_RANDOM = 60 };
    static char digits[4000], s[8000];
    for (size_t i = 0; i < sizeof probes / sizeof probes[0] + N_RANDOM; i++) {
        double v;
        if (i < sizeof probes / sizeof probes[0]) {
            v = probes[i];
        } else {
            do
                v = bits_double(splitmix64(&rng) >> 1);
            while (!isfinite(v) || v == DBL_MAX);
        }
        int e10;
        int nd = exact_midpoint(v, digits, sizeof digits, &e10);
        /* the tie itself */
        snprintf(s, sizeof s, "%se%d", digits, e10);
        expect_same_as_strtod(s);
        snprintf(s, sizeof s, "-%se%d", digits, e10);
        expect_same_as_strtod(s);
        /* as 0.DIGITS e(e10 + nd) */
        snprintf(s, sizeof s, "0.%se%d", digits, e10 + nd);
        expect_same_as_strtod(s);
        /* a hair above the tie: DIGITS 000...0001, the 1 far beyond 800 digits */
        for (int zeros = 1; zeros <= 2500; zeros += 830) {
            int k = snprintf(s, sizeof s, "%s", digits);
            for (int z = 0; z < zeros; z++)
                s[k++] = '0';
            k += snprintf(s + k, sizeof s - (size_t)k, "1e%d", e10 - zeros - 1);
            expect_same_as_strtod(s);
            /* and a hair below: the last digit lowered, then 999... */
            k = snprintf(s, sizeof s, "%s", digits);
            for (int j = nd - 1; j >= 0; j--) { /* DIGITS - 1, borrowing */
                if (s[j] != '0') {
                    s[j]--;
                    break;
                }
                s[j] = '9';
            }
            for (int z = 0; z < zeros; z++)
                s[k++] = '9';
            snprintf(s + k, sizeof s - (size_t)k, "e%d", e10 - zeros);
            expect_same_as_strtod(s);
        }
    }
}

/* Long fields: 800-digit mantissas and a point far inside, each compared with strtod. */
static void test_number_long_fields_match_strtod(void **state)
{
    (void)state;
    uint64_t rng = 99;
    static char s[5000];
    for (int i = 0; i < 200; i++) {
        int nd = 780 + (int)(splitmix64(&rng) % 40);
        int k = 0;
        if (i & 1)
            s[k++] = '-';
        for (int j = 0; j < nd; j++)
            s[k++] = (char)('0' + splitmix64(&rng) % 10);
        int point = (int)(splitmix64(&rng) % (unsigned)nd);
        memmove(s + k - nd + point + 1, s + k - nd + point, (size_t)(nd - point));
        s[k - nd + point] = '.';
        k++;
        snprintf(s + k, sizeof s - (size_t)k, "e%d", -1100 + (int)(splitmix64(&rng) % 1500));
        expect_same_as_strtod(s);
    }
}

/* ---- booleans ---- */

static void test_bool_accepts_three_cases_only(void **state)
{
    (void)state;
    static const char *yes[] = {"true", "TRUE", "True", "yes", "YES", "Yes"};
    static const char *no[] = {"false", "FALSE", "False", "no", "NO", "No"};
    static const char *bad[] = {"tRUE", "TrUe", "t",  "f",     "1",     "0",     "",
                                "y",    "n",    "nO", "truee", " true", "true ", "yES"};
    uint8_t v;
    for (size_t i = 0; i < 6; i++) {
        v = 9;
        assert_int_equal(kl__parse_bool(yes[i], strlen(yes[i]), &v), 1);
        assert_int_equal(v, 1);
        assert_int_equal(kl__parse_bool(no[i], strlen(no[i]), &v), 1);
        assert_int_equal(v, 0);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (kl__parse_bool(bad[i], strlen(bad[i]), &v))
            fail_msg("'%s' was parsed as a boolean", bad[i]);
    /* length, not NUL, ends the field */
    assert_int_equal(kl__parse_bool("yesterday", 3, &v), 1);
    assert_int_equal(v, 1);
}

/* ---- writing doubles ---- */

static void test_format_double_examples(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(kl__format_double(3.0, buf, sizeof buf), 1);
    assert_string_equal(buf, "3");
    assert_int_equal(kl__format_double(-2.5, buf, sizeof buf), 4);
    assert_string_equal(buf, "-2.5");
    kl__format_double(0.1, buf, sizeof buf);
    assert_string_equal(buf, "0.1");
    kl__format_double(1e20, buf, sizeof buf);
    assert_string_equal(buf, "1e+20");
    kl__format_double(0.1 + 0.2, buf, sizeof buf); /* needs 17 digits */
    assert_string_equal(buf, "0.30000000000000004");
    kl__format_double(1.0 / 3.0, buf, sizeof buf); /* 16 digits suffice */
    assert_string_equal(buf, "0.3333333333333333");
    kl__format_double(-0.0, buf, sizeof buf);
    assert_string_equal(buf, "-0");
    assert_int_equal(kl__format_double(INFINITY, buf, sizeof buf), 3);
    assert_string_equal(buf, "inf");
    assert_int_equal(kl__format_double(-INFINITY, buf, sizeof buf), 4);
    assert_string_equal(buf, "-inf");
    assert_int_equal(kl__format_double(NAN, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
}

/* Random bit patterns: reads back exactly, and no shorter %g precision would have. */
static void test_format_double_round_trips_and_is_shortest(void **state)
{
    (void)state;
    uint64_t rng = 5;
    char buf[64], shorter[64];
    for (long i = 0; i < RANDOM_STRINGS / 10; i++) {
        double v = bits_double(splitmix64(&rng));
        if (isnan(v))
            continue;
        size_t n = kl__format_double(v, buf, sizeof buf);
        assert_int_equal(n, strlen(buf));
        double back = strtod(buf, NULL);
        if (double_bits(back) != double_bits(v))
            fail_msg("%a written as '%s' reads back as %a", v, buf, back);
        for (int prec = 15; prec <= 16; prec++) {
            snprintf(shorter, sizeof shorter, "%.*g", prec, v);
            if (strtod(shorter, NULL) == v) {
                assert_string_equal(buf, shorter);
                break;
            }
        }
        /* and the parser reads it back too */
        double parsed;
        int is_int;
        assert_int_equal(kl__parse_number(buf, n, &parsed, &is_int), 1);
        assert_true(double_bits(parsed) == double_bits(v));
    }
}

/* ---- dates and times ---- */

#define SEC 1000000ll
#define DAY (86400 * SEC)

static int64_t parse_or_fail(const char *s, unsigned form)
{
    int64_t us = 0;
    if (!kl__time_parse(s, strlen(s), form, &us))
        fail_msg("'%s' not parsed in form %u", s, form);
    return us;
}

static void test_time_hand_computed_epoch_values(void **state)
{
    (void)state;
    assert_int_equal(parse_or_fail("1970-01-01", KL__TF_DATE_ISO), 0);
    /* 30 years of 365 days, 7 leap days (1972..1996), Jan + Feb 2000 = 31 + 29 */
    assert_int_equal(parse_or_fail("2000-03-01", KL__TF_DATE_ISO), 951868800ll * SEC);
    assert_int_equal(11017ll * 86400, 951868800ll);
    /* 21 years, 5 leap days (1952..1968) before 1970 */
    assert_int_equal(parse_or_fail("1949-01", KL__TF_YEAR_MONTH), -(21 * 365 + 5) * DAY);
    /* 1970..1973 (one leap day), then Jan + Feb + Mar 1974 */
    assert_int_equal(parse_or_fail("1974Q2", KL__TF_QUARTER), (4 * 365 + 1 + 90) * DAY);
    assert_int_equal(parse_or_fail("1974-q2", KL__TF_QUARTER), (4 * 365 + 1 + 90) * DAY);
    assert_int_equal(parse_or_fail("1974Q1", KL__TF_QUARTER), (4 * 365 + 1) * DAY);
    assert_int_equal(parse_or_fail("1974Q4", KL__TF_QUARTER), (4 * 365 + 1 + 273) * DAY);
    /* published: 0001-01-01 and the last second of 9999 in Unix time */
    assert_int_equal(parse_or_fail("0001-01-01", KL__TF_DATE_ISO), -62135596800ll * SEC);
    assert_int_equal(parse_or_fail("9999-12-31T23:59:59", KL__TF_DATETIME_ISO),
                     253402300799ll * SEC);
    /* 2020-03-04: 18262 days to 2020-01-01 (1577836800 s), + 31 + 29 + 3 */
    int64_t day = (18262 + 63) * DAY;
    assert_int_equal(parse_or_fail("2020-03-04", KL__TF_DATE_ISO), day);
    assert_int_equal(parse_or_fail("20200304", KL__TF_DATE_COMPACT), day);
    assert_int_equal(parse_or_fail("2020/3/4", KL__TF_DATE_YMD_SLASH), day);
    assert_int_equal(parse_or_fail("04/03/2020", KL__TF_DATE_DMY), day);
    assert_int_equal(parse_or_fail("4.3.2020", KL__TF_DATE_DMY), day);
    assert_int_equal(parse_or_fail("03-04-2020", KL__TF_DATE_MDY), day);
    int64_t tod = (5 * 3600 + 6 * 60 + 7) * SEC;
    assert_int_equal(parse_or_fail("2020-03-04T05:06:07", KL__TF_DATETIME_ISO), day + tod);
    assert_int_equal(parse_or_fail("2020-03-04 05:06:07Z", KL__TF_DATETIME_ISO), day + tod);
    assert_int_equal(parse_or_fail("2020-03-04T05:06", KL__TF_DATETIME_ISO), day + tod - 7 * SEC);
    assert_int_equal(parse_or_fail("2020-03-04T05:06:07.5", KL__TF_DATETIME_ISO),
                     day + tod + 500000);
    /* digits past microseconds are dropped, not rounded */
    assert_int_equal(parse_or_fail("2020-03-04T05:06:07.123456999", KL__TF_DATETIME_ISO),
                     day + tod + 123456);
    /* local time 05:06:07 at +05:30 is 23:36:07 UTC the day before */
    assert_int_equal(parse_or_fail("2020-03-04T05:06:07+05:30", KL__TF_DATETIME_ISO),
                     day + tod - (5 * 3600 + 30 * 60) * SEC);
    assert_int_equal(parse_or_fail("2020-03-04T05:06:07-0100", KL__TF_DATETIME_ISO),
                     day + tod + 3600 * SEC);
    assert_int_equal(parse_or_fail("04/03/2020 05:06:07", KL__TF_DATETIME_DMY), day + tod);
    assert_int_equal(parse_or_fail("3/4/2020 5:06", KL__TF_DATETIME_MDY), day + tod - 7 * SEC);
    /* before the epoch, a time of day still counts forward from midnight */
    assert_int_equal(parse_or_fail("1969-12-31T23:59:59.75", KL__TF_DATETIME_ISO), -250000);
    assert_int_equal(parse_or_fail("  1970-01-02  ", KL__TF_DATE_ISO), DAY);
}

static void test_time_leap_days(void **state)
{
    (void)state;
    int64_t us;
    assert_true(kl__time_parse("2020-02-29", 10, KL__TF_DATE_ISO, &us));
    assert_true(kl__time_parse("2000-02-29", 10, KL__TF_DATE_ISO, &us));
    assert_int_equal(us, parse_or_fail("2000-03-01", KL__TF_DATE_ISO) - DAY);
    assert_false(kl__time_parse("2019-02-29", 10, KL__TF_DATE_ISO, &us));
    assert_false(kl__time_parse("1900-02-29", 10, KL__TF_DATE_ISO, &us));
    assert_int_equal(kl__time_forms("29/02/2019", 10), 0);
    assert_int_equal(kl__time_forms("29/02/2020", 10), KL__TF_DATE_DMY);
    assert_int_equal(kl__time_forms("02/29/1900", 10), 0);
}

static void test_time_forms_lists_every_valid_form(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        unsigned forms;
    } cases[] = {
        {"03/04/2020", KL__TF_DATE_DMY | KL__TF_DATE_MDY},
        {"3.4.2020", KL__TF_DATE_DMY | KL__TF_DATE_MDY},
        {"13/04/2020", KL__TF_DATE_DMY},
        {"1/12/2020", KL__TF_DATE_DMY | KL__TF_DATE_MDY},
        {"12/1/2020", KL__TF_DATE_DMY | KL__TF_DATE_MDY},
        {"1/1/2020 0:00", KL__TF_DATETIME_DMY | KL__TF_DATETIME_MDY},
        {"04/13/2020", KL__TF_DATE_MDY},
        {"12/12/2020 23:59", KL__TF_DATETIME_DMY | KL__TF_DATETIME_MDY},
        {"13/12/2020 23:59:01", KL__TF_DATETIME_DMY},
        {"2020-03-04", KL__TF_DATE_ISO},
        {"2020-03-04T05:06", KL__TF_DATETIME_ISO},
        {"2020-03-04 05:06:07.250+01:00", KL__TF_DATETIME_ISO},
        {"1949-01", KL__TF_YEAR_MONTH},
        {"1974Q1", KL__TF_QUARTER},
        {"1974-Q3", KL__TF_QUARTER},
        {"2020/03/04", KL__TF_DATE_YMD_SLASH},
        {"20200304", 0}, /* DATE_COMPACT is never inferred */
        {"2020", 0},
        {"1958", 0},
        {"12.5", 0},
        {"abc", 0},
        {"", 0},
        {"2020-3-04", 0},
        {"2020-03-4", 0},
        {"2020-13-01", 0},
        {"2020-00-10", 0},
        {"2020-04-31", 0},
        {"2020-04-00", 0},
        {"0000-01-01", 0},
        {"1949-13", 0},
        {"1949-1", 0},
        {"1974Q5", 0},
        {"1974Q0", 0},
        {"1974 Q1", 0},
        {"03/04-2020", 0},
        {"03/04/20", 0},
        {"003/04/2020", 0},
        {"03/04/02020", 0},
        {"2020-03-04T24:00", 0},
        {"2020-03-04T23:60", 0},
        {"2020-03-04T23:59:60", 0},
        {"2020-03-04T5:06", 0},
        {"2020-03-04T05:06:07.", 0},
        {"2020-03-04T05:06:07.1234567891", 0},
        {"2020-03-04T05:06.5", 0},
        {"2020-03-04T05:06:07+24:00", 0},
        {"2020-03-04T05:06:07+05", 0},
        {"2020-03-04T05:06:07z", 0},
        {"2020-03-04t05:06", 0},
        {"2020-03-04 ", KL__TF_DATE_ISO},
        {"0001-01-01T00:30+01:00", 0}, /* before year 1 in UTC */
        {"13/04/2020 5:06", KL__TF_DATETIME_DMY},
        {"13/04/2020 05:06+01:00", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned got = kl__time_forms(cases[i].s, strlen(cases[i].s));
        if (got != cases[i].forms)
            fail_msg("'%s': forms %#x, want %#x", cases[i].s, got, cases[i].forms);
    }
    int64_t us;
    assert_false(kl__time_parse("2020-02-30", 8, KL__TF_DATE_COMPACT, &us));
    assert_false(kl__time_parse("20201301", 8, KL__TF_DATE_COMPACT, &us));
    assert_false(kl__time_parse("2020-03-04", 10, 0, &us));
    assert_false(kl__time_parse("2020-03-04", 10, KL__TF_DATE_ISO | KL__TF_DATE_DMY, &us));
    /* the length ends the field */
    assert_int_equal(kl__time_forms("1949-01-15", 7), KL__TF_YEAR_MONTH);
}

/* Naive day counting: walk every day from 1600-01-01 to 2400-12-31. */
static void test_days_from_civil_matches_day_counting(void **state)
{
    (void)state;
    static const unsigned month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t day = 0; /* days from 1970-01-01 back to 1600-01-01, counted year by year */
    for (int64_t y = 1600; y < 1970; y++)
        day -= (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 366 : 365;
    for (int64_t y = 1600; y <= 2400; y++) {
        int leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        for (unsigned m = 1; m <= 12; m++) {
            unsigned days = month_days[m - 1] + (m == 2 && leap);
            for (unsigned d = 1; d <= days; d++, day++) {
                if (kl__days_from_civil(y, m, d) != day)
                    fail_msg("%04lld-%02u-%02u: %lld, counted %lld", (long long)y, m, d,
                             (long long)kl__days_from_civil(y, m, d), (long long)day);
                int64_t yy;
                unsigned mm, dd;
                kl__civil_from_days(day, &yy, &mm, &dd);
                if (yy != y || mm != m || dd != d)
                    fail_msg("day %lld: %lld-%u-%u, want %lld-%u-%u", (long long)day, (long long)yy,
                             mm, dd, (long long)y, m, d);
            }
        }
    }
    assert_int_equal(kl__days_from_civil(1970, 1, 1), 0);
    /* Before year 1 (proleptic, astronomical year numbers): 0000-03-01 is day -719468, the
     * origin of Hinnant's eras, and year 0 is a leap year (31 + 29 days before March). */
    assert_int_equal(kl__days_from_civil(0, 3, 1), -719468);
    assert_int_equal(kl__days_from_civil(0, 1, 1), -719468 - 60);
    assert_int_equal(kl__days_from_civil(-1, 12, 31), -719468 - 61);
    int64_t y;
    unsigned m, d;
    kl__civil_from_days(-719468 - 61, &y, &m, &d);
    assert_true(y == -1 && m == 12 && d == 31);
}

static void test_time_format_examples(void **state)
{
    (void)state;
    char buf[64];
    int64_t day = (18262 + 63) * DAY; /* 2020-03-04 */
    int64_t t = day + (5 * 3600 + 6 * 60 + 7) * SEC;
    static const struct {
        unsigned form;
        int64_t us;
        const char *text;
    } cases[] = {
        {KL__TF_DATE_ISO, 0, "1970-01-01"},
        {KL__TF_DATE_ISO, (18262 + 63) * DAY, "2020-03-04"},
        {KL__TF_DATETIME_ISO, (18262 + 63) * DAY + (5 * 3600 + 6 * 60 + 7) * SEC,
         "2020-03-04T05:06:07"},
        {KL__TF_DATETIME_ISO, -250000, "1969-12-31T23:59:59.75"},
        {KL__TF_DATETIME_ISO, 1, "1970-01-01T00:00:00.000001"},
        {KL__TF_YEAR_MONTH, -(21 * 365 + 5) * DAY, "1949-01"},
        {KL__TF_QUARTER, (4 * 365 + 1 + 90) * DAY, "1974Q2"},
        {KL__TF_DATE_YMD_SLASH, (18262 + 63) * DAY, "2020/03/04"},
        {KL__TF_DATE_DMY, (18262 + 63) * DAY, "04/03/2020"},
        {KL__TF_DATE_MDY, (18262 + 63) * DAY, "03/04/2020"},
        {KL__TF_DATETIME_DMY, (18262 + 63) * DAY + (5 * 3600 + 6 * 60 + 7) * SEC,
         "04/03/2020 05:06:07"},
        {KL__TF_DATETIME_MDY, (18262 + 63) * DAY + 500000, "03/04/2020 00:00:00.5"},
        {KL__TF_DATE_COMPACT, (18262 + 63) * DAY, "20200304"},
        {KL__TF_DATE_ISO, -62135596800ll * SEC, "0001-01-01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = kl__time_format(cases[i].us, cases[i].form, buf, sizeof buf);
        if (n != strlen(cases[i].text) || strcmp(buf, cases[i].text) != 0)
            fail_msg("form %u: wrote '%s' (%zu), want '%s'", cases[i].form, buf, n, cases[i].text);
    }
    /* values a form cannot hold are refused, not written differently */
    assert_int_equal(kl__time_format(t, KL__TF_DATE_ISO, buf, sizeof buf), 0);
    assert_int_equal(kl__time_format(day, KL__TF_YEAR_MONTH, buf, sizeof buf), 0);
    assert_int_equal(kl__time_format(day - 3 * DAY, KL__TF_QUARTER, buf, sizeof buf), 0);
    assert_int_equal(kl__time_format(-62135596800ll * SEC - 1, KL__TF_DATETIME_ISO, buf, 64), 0);
    assert_int_equal(kl__time_format(253402300800ll * SEC, KL__TF_DATETIME_ISO, buf, 64), 0);
    assert_int_equal(kl__time_format(day, 0, buf, sizeof buf), 0);
    /* too small a buffer: "2020-03-04" needs 11 bytes with its NUL */
    assert_int_equal(kl__time_format(day, KL__TF_DATE_ISO, buf, 10), 0);
    assert_int_equal(kl__time_format(day, KL__TF_DATE_ISO, buf, 11), 10);
}

static void test_time_form_format_names_round_trip(void **state)
{
    (void)state;
    static const struct {
        unsigned form;
        const char *format;
        int has_time;
    } cases[] = {
        {KL__TF_DATE_ISO, "%Y-%m-%d", 0},
        {KL__TF_DATETIME_ISO, "%Y-%m-%dT%H:%M:%S", 1},
        {KL__TF_YEAR_MONTH, "%Y-%m", 0},
        {KL__TF_QUARTER, "%YQ%q", 0},
        {KL__TF_DATE_YMD_SLASH, "%Y/%m/%d", 0},
        {KL__TF_DATE_DMY, "%d/%m/%Y", 0},
        {KL__TF_DATE_MDY, "%m/%d/%Y", 0},
        {KL__TF_DATETIME_DMY, "%d/%m/%Y %H:%M:%S", 1},
        {KL__TF_DATETIME_MDY, "%m/%d/%Y %H:%M:%S", 1},
        {KL__TF_DATE_COMPACT, "%Y%m%d", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_string_equal(kl__time_form_format(cases[i].form), cases[i].format);
        assert_int_equal(kl__time_form_from_format(cases[i].format), cases[i].form);
        assert_int_equal(kl__time_form_has_time(cases[i].form), cases[i].has_time);
    }
    assert_null(kl__time_form_format(0));
    assert_null(kl__time_form_format(KL__TF_DATE_DMY | KL__TF_DATE_MDY));
    assert_int_equal(kl__time_form_from_format("%d.%m.%Y"), 0);
    assert_int_equal(kl__time_form_from_format(NULL), 0);
}

/* Random instants in 0001..9999, reduced to what each form holds: format then parse is identity. */
static void test_time_format_then_parse_round_trips(void **state)
{
    (void)state;
    static const unsigned forms[] = {
        KL__TF_DATE_ISO,       KL__TF_DATETIME_ISO, KL__TF_YEAR_MONTH, KL__TF_QUARTER,
        KL__TF_DATE_YMD_SLASH, KL__TF_DATE_DMY,     KL__TF_DATE_MDY,   KL__TF_DATETIME_DMY,
        KL__TF_DATETIME_MDY,   KL__TF_DATE_COMPACT,
    };
    const int64_t lo = -62135596800ll * SEC, span = 253402300800ll * SEC - lo;
    uint64_t rng = 11;
    char buf[64];
    for (int i = 0; i < 200000; i++) {
        unsigned form = forms[i % (sizeof forms / sizeof forms[0])];
        int64_t us = lo + (int64_t)(splitmix64(&rng) % (uint64_t)span);
        if (i % 3 == 0) /* whole seconds too, so the no-fraction branch is covered */
            us -= ((us - lo) % SEC);
        int64_t days = (us - lo) / DAY + kl__days_from_civil(1, 1, 1);
        if (!kl__time_form_has_time(form))
            us = days * DAY;
        if (form == KL__TF_YEAR_MONTH || form == KL__TF_QUARTER) {
            int64_t y;
            unsigned m, d;
            kl__civil_from_days(days, &y, &m, &d);
            if (form == KL__TF_QUARTER)
                m = (m - 1) / 3 * 3 + 1;
            us = kl__days_from_civil(y, m, 1) * DAY;
        }
        size_t n = kl__time_format(us, form, buf, sizeof buf);
        if (n == 0)
            fail_msg("form %u: %lld not written", form, (long long)us);
        int64_t back;
        if (!kl__time_parse(buf, n, form, &back) || back != us)
            fail_msg("form %u: %lld written as '%s' reads back as %lld", form, (long long)us, buf,
                     (long long)back);
        if (form != KL__TF_DATE_COMPACT && !(kl__time_forms(buf, n) & form))
            fail_msg("'%s' not recognised as form %u", buf, form);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_simple_values),
        cmocka_unit_test(test_number_rejects_non_numbers),
        cmocka_unit_test(test_number_reads_only_its_length),
        cmocka_unit_test(test_number_matches_strtod_on_repo_csv_files),
        cmocka_unit_test(test_number_matches_strtod_on_random_decimals),
        cmocka_unit_test(test_number_matches_strtod_near_doubles),
        cmocka_unit_test(test_number_hard_cases_match_strtod),
        cmocka_unit_test(test_number_exact_midpoints_match_strtod),
        cmocka_unit_test(test_number_long_fields_match_strtod),
        cmocka_unit_test(test_bool_accepts_three_cases_only),
        cmocka_unit_test(test_format_double_examples),
        cmocka_unit_test(test_format_double_round_trips_and_is_shortest),
        cmocka_unit_test(test_time_hand_computed_epoch_values),
        cmocka_unit_test(test_time_leap_days),
        cmocka_unit_test(test_time_forms_lists_every_valid_form),
        cmocka_unit_test(test_days_from_civil_matches_day_counting),
        cmocka_unit_test(test_time_format_examples),
        cmocka_unit_test(test_time_form_format_names_round_trip),
        cmocka_unit_test(test_time_format_then_parse_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
