/*
 * Field parsers: numbers, booleans and date/time forms, shared by the CSV
 * reader (its hot loop), type inference and the writer.
 *
 * Numbers. kl__parse_number must give exactly what glibc's strtod gives for
 * the same text, yet run at hundreds of MB/s. It reads the digits into a
 * uint64 (exact while there are at most 19 significant ones) and a decimal
 * exponent, then takes the first of three paths that applies:
 *   1. Clinger: mantissa <= 2^53 and |exponent| <= 22. Both the mantissa and
 *      10^|e| are exact doubles, so one IEEE multiply or divide is correctly
 *      rounded. This covers nearly all real data ("5.1", "1019.6", "-0.25").
 *   2. Eisel-Lemire: multiply the normalised mantissa by a 128-bit truncation
 *      of 5^e and read the rounded result off the top bits; when the bits are
 *      too close to a rounding boundary to decide, go to path 3. The table of
 *      5^e (e in -342..308) is computed at first use from exact big-integer
 *      arithmetic below, not copied from anywhere.
 *   3. strtod_l in the "C" locale on a canonical copy of the number built on
 *      the stack: at most 800 significant digits, then a single '1' when any
 *      dropped digit was non-zero, then "e<exponent>". That copy rounds
 *      exactly like the full text, because every rounding boundary of a
 *      double (a midpoint between neighbours, the overflow and underflow
 *      thresholds) is a dyadic rational with at most 767 significant decimal
 *      digits: no boundary can fall strictly between the truncated value and
 *      the true one, and the sticky '1' keeps the copy strictly above the
 *      truncation exactly when the true value is. This is why a field of any
 *      length is parsed without allocating, and why the copy has no decimal
 *      point (its meaning cannot depend on a locale).
 * Path 1 is exact by IEEE arithmetic. Path 2 is proved correct for 19-digit
 * mantissas (Lemire, "Number parsing at a gigabyte per second", 2021) and is
 * tested here against strtod on millions of inputs; it still hands subnormal
 * results, and the products the paper's first version flagged as too close
 * to call, to path 3 rather than relying on finer reasoning. Fields with
 * more than 19 significant digits go to path 3 directly.
 *
 * Dates. kl__time_forms reports every form a text is a valid value of, with
 * ranges checked (month days, leap years), so inference can intersect the
 * forms over a column. Values are microseconds since 1970-01-01T00:00:00Z,
 * computed with Howard Hinnant's days_from_civil (proleptic Gregorian).
 *
 * All parsers take (pointer, length), never read outside it and never
 * allocate. The only shared state (the locale object and the power-of-five
 * table) is built once under pthread_once and read-only afterwards.
 */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "data/parse.h"

#include "core/common.h"

/* ---- one-time state: the "C" locale and the power-of-five table ---- */

#define POW5_MIN (-342)
#define POW5_MAX 308

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static locale_t g_c_locale;
/* For q in POW5_MIN..POW5_MAX: high then low 64 bits of 5^q normalised to [2^127, 2^128). */
static uint64_t g_pow5[2 * (POW5_MAX - POW5_MIN + 1)];

/*
 * Just enough unsigned big-integer arithmetic (little-endian 32-bit limbs) to
 * build the table: the largest number involved is 2^1718 (for 5^-342).
 */
#define BIG_LIMBS 56

typedef struct {
    uint32_t v[BIG_LIMBS];
} big;

static void big_mul_small(big *a, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < BIG_LIMBS; i++) {
        uint64_t t = (uint64_t)a->v[i] * m + carry;
        a->v[i] = (uint32_t)t;
        carry = t >> 32;
    }
    KL_ASSERT(carry == 0);
}

static int big_bitlen(const big *a)
{
    for (int i = BIG_LIMBS - 1; i >= 0; i--)
        if (a->v[i])
            return i * 32 + 32 - __builtin_clz(a->v[i]);
    return 0;
}

static int big_bit(const big *a, int pos)
{
    if (pos < 0 || pos >= BIG_LIMBS * 32)
        return 0;
    return (a->v[pos / 32] >> (pos % 32)) & 1;
}

/* The 64 bits a[pos .. pos+64) (bits below 0 read as zero). */
static uint64_t big_bits64(const big *a, int pos)
{
    uint64_t r = 0;
    for (int i = 63; i >= 0; i--)
        r = (r << 1) | (uint64_t)big_bit(a, pos + i);
    return r;
}

static void big_set_bit(big *a, int pos)
{
    KL_ASSERT(pos >= 0 && pos < BIG_LIMBS * 32);
    a->v[pos / 32] |= 1u << (pos % 32);
}

static int big_cmp(const big *a, const big *b, int limbs)
{
    for (int i = limbs - 1; i >= 0; i--)
        if (a->v[i] != b->v[i])
            return a->v[i] < b->v[i] ? -1 : 1;
    return 0;
}

static void big_sub(big *a, const big *b, int limbs)
{
    uint64_t borrow = 0;
    for (int i = 0; i < limbs; i++) {
        uint64_t t = (uint64_t)a->v[i] - b->v[i] - borrow;
        a->v[i] = (uint32_t)t;
        borrow = (t >> 63) & 1;
    }
}

static void big_shl1(big *a, int limbs)
{
    for (int i = limbs - 1; i > 0; i--)
        a->v[i] = (a->v[i] << 1) | (a->v[i - 1] >> 31);
    a->v[0] <<= 1;
}

static void big_add1(big *a)
{
    for (int i = 0; i < BIG_LIMBS; i++)
        if (++a->v[i] != 0)
            return;
}

/* Store the top 128 bits of a (shifted up when shorter) as table entry q. */
static void pow5_store(int q, const big *a)
{
    int len = big_bitlen(a);
    uint64_t *e = &g_pow5[2 * (q - POW5_MIN)];
    e[0] = big_bits64(a, len - 64);
    e[1] = big_bits64(a, len - 128);
}

/*
 * The table Eisel-Lemire needs. For q >= 0 the entry is 5^q truncated to its
 * top 128 bits. For q < 0 it is floor(2^b / 5^-q) + 1, truncated to 128 bits,
 * with b chosen so the quotient has 128 bits (q >= -27, where the entry is
 * exact enough to decide every case) or 5^-q's own length + 129 bits (an
 * approximation from above whose error the algorithm tolerates).
 */
static void pow5_table_build(void)
{
    big p;
    memset(&p, 0, sizeof p);
    p.v[0] = 1;
    for (int q = 0; q <= POW5_MAX; q++) {
        pow5_store(q, &p);
        big_mul_small(&p, 5);
    }
    memset(&p, 0, sizeof p);
    p.v[0] = 1;
    for (int k = 1; k <= -POW5_MIN; k++) {
        big_mul_small(&p, 5);
        int z = big_bitlen(&p); /* 2^(z-1) < 5^k < 2^z */
        int b = k <= 27 ? z + 127 : 2 * z + 128;
        int limbs = (z + 1) / 32 + 2; /* the remainder stays below 2 * 5^k */
        big r, quo;
        memset(&r, 0, sizeof r);
        memset(&quo, 0, sizeof quo);
        /* Quotient bits above b - z are zero; the remainder there is 2^(b-i) < 5^k. */
        big_set_bit(&r, z);
        for (int i = b - z; i >= 0; i--) {
            if (i != b - z)
                big_shl1(&r, limbs);
            if (big_cmp(&r, &p, limbs) >= 0) {
                big_sub(&r, &p, limbs);
                big_set_bit(&quo, i);
            }
        }
        big_add1(&quo);
        pow5_store(-k, &quo);
    }
}

static void parse_init(void)
{
    g_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    pow5_table_build();
}

/* ---- numbers ---- */

#define TWO53 9007199254740992ull
#define MAX_SIG_DIGITS 19
#define SLOW_DIGITS 800
#define EXP_SATURATE 100000000000000000ll /* 1e17: far beyond any field length */

static const double g_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline int is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

static inline char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

static int ascii_ieq(const char *p, size_t n, const char *word)
{
    for (size_t i = 0; i < n; i++)
        if (word[i] == '\0' || ascii_lower(p[i]) != word[i])
            return 0;
    return word[n] == '\0';
}

static double make_double(int neg, uint64_t mantissa, uint64_t biased_exp)
{
    uint64_t bits = ((uint64_t)neg << 63) | (biased_exp << 52) | mantissa;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/*
 * Eisel-Lemire: w * 10^q for w != 0, q in range. Returns 1 and *out, or 0
 * when the result is subnormal or the truncated product cannot decide the
 * rounding (the caller then uses strtod).
 */
static int eisel_lemire(uint64_t w, int64_t q, int neg, double *out)
{
    if (q < POW5_MIN) { /* w * 10^q < 2^64 * 1e-343, below half the least subnormal */
        *out = neg ? -0.0 : 0.0;
        return 1;
    }
    if (q > POW5_MAX) {
        *out = neg ? -INFINITY : INFINITY;
        return 1;
    }
    pthread_once(&g_once, parse_init);
    int lz = __builtin_clzll(w);
    w <<= lz;
    const uint64_t *e = &g_pow5[2 * (q - POW5_MIN)];
    unsigned __int128 first = (unsigned __int128)w * e[0];
    uint64_t hi = (uint64_t)(first >> 64), lo = (uint64_t)first;
    const uint64_t precision_mask = UINT64_MAX >> 55; /* 52 mantissa bits + 3 */
    if ((hi & precision_mask) == precision_mask) {
        unsigned __int128 second = (unsigned __int128)w * e[1];
        uint64_t second_hi = (uint64_t)(second >> 64);
        lo += second_hi;
        if (second_hi > lo)
            hi++;
    }
    if (lo == UINT64_MAX && (q < -27 || q > 55))
        return 0;
    int upperbit = (int)(hi >> 63);
    int shift = upperbit + 64 - 52 - 3;
    uint64_t mantissa = hi >> shift;
    /* floor(q * log2(10)) + 63 for every q of the table; gcc's >> on negatives is arithmetic */
    int64_t pow2 = ((q * (152170 + 65536)) >> 16) + 63;
    int64_t power2 = pow2 + upperbit - lz + 1023;
    if (power2 <= 0)
        return 0;
    /* An exact tie needs w * 5^q to fit the product exactly, so only -4 <= q <= 23: to even. */
    if (lo <= 1 && q >= -4 && q <= 23 && (mantissa & 3) == 1 && (mantissa << shift) == hi)
        mantissa &= ~(uint64_t)1;
    mantissa += mantissa & 1;
    mantissa >>= 1;
    if (mantissa >= (2ull << 52)) {
        mantissa = 1ull << 52;
        power2++;
    }
    mantissa &= ~(1ull << 52);
    if (power2 >= 0x7FF) {
        *out = neg ? -INFINITY : INFINITY;
        return 1;
    }
    *out = make_double(neg, mantissa, (uint64_t)power2);
    return 1;
}

/*
 * Path 3: p..end is a number already validated by kl__parse_number (no sign,
 * no spaces, not inf). Builds the canonical copy described at the top of
 * this file and reads it with strtod_l.
 */
static double number_slow(const char *p, const char *end, int neg)
{
    char buf[SLOW_DIGITS + 40];
    size_t nb = 0;
    int64_t e10 = 0;
    size_t nd = 0;
    int sticky = 0;
    if (neg)
        buf[nb++] = '-';
    int frac = 0;
    for (; p < end; p++) {
        char c = *p;
        if (c == '.') {
            frac = 1;
            continue;
        }
        if (!is_digit(c))
            break;
        if (nd == 0 && c == '0') { /* leading zero: only moves the point */
            if (frac)
                e10--;
            continue;
        }
        if (nd < SLOW_DIGITS) {
            buf[nb++] = c;
            nd++;
            if (frac)
                e10--;
        } else {
            if (c != '0')
                sticky = 1;
            if (!frac)
                e10++;
        }
    }
    if (p < end) { /* exponent */
        p++;
        int eneg = 0;
        if (*p == '+' || *p == '-')
            eneg = *p++ == '-';
        int64_t ex = 0;
        for (; p < end; p++)
            if (ex < EXP_SATURATE)
                ex = ex * 10 + (*p - '0');
        e10 += eneg ? -ex : ex;
    }
    if (nd == 0)
        return neg ? -0.0 : 0.0;
    if (sticky) {
        buf[nb++] = '1';
        e10--;
    }
    /* Beyond +-99999 the value is inf or 0 either way, even with 801 digits. */
    if (e10 > 99999)
        e10 = 99999;
    if (e10 < -99999)
        e10 = -99999;
    int k = snprintf(buf + nb, sizeof buf - nb, "e%lld", (long long)e10);
    KL_ASSERT(k > 0 && (size_t)k < sizeof buf - nb);
    pthread_once(&g_once, parse_init);
    /* The copy has no decimal point, so plain strtod is equivalent if newlocale failed. */
    if (g_c_locale)
        return strtod_l(buf, NULL, g_c_locale);
    return strtod(buf, NULL);
}

/* Zeros before the first non-zero digit of p..end (digits and at most one '.'). */
static size_t leading_zeros(const char *p, const char *end)
{
    size_t n = 0;
    for (; p < end && (*p == '0' || *p == '.'); p++)
        n += *p == '0';
    return n;
}

static int parse_inf(const char *p, const char *end, int neg, double *out, int *is_int)
{
    size_t n = (size_t)(end - p);
    if (!ascii_ieq(p, n, "inf") && !ascii_ieq(p, n, "infinity"))
        return 0;
    *out = neg ? -INFINITY : INFINITY;
    *is_int = 0;
    return 1;
}

int kl__parse_number(const char *s, size_t n, double *out, int *is_int)
{
    const char *p = s, *end = s + n;
    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    if (p == end)
        return 0;
    int neg = 0;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
        if (p == end)
            return 0;
    }
    if (!is_digit(*p) && *p != '.')
        return parse_inf(p, end, neg, out, is_int);

    /*
     * All digits, integer and fraction, go into one uint64 (leading zeros add
     * nothing to it), and the exponent is lowered by the fraction's length.
     */
    const char *num = p;
    uint64_t mant = 0;
    int syntax_int = 1;
    while (p < end && is_digit(*p)) {
        mant = mant * 10 + (uint64_t)(*p - '0');
        p++;
    }
    size_t ndigits = (size_t)(p - num);
    int64_t e10 = 0;
    if (p < end && *p == '.') {
        p++;
        syntax_int = 0;
        const char *frac = p;
        while (p < end && is_digit(*p)) {
            mant = mant * 10 + (uint64_t)(*p - '0');
            p++;
        }
        ndigits += (size_t)(p - frac);
        e10 = -(int64_t)(p - frac);
    }
    if (ndigits == 0)
        return 0;
    const char *num_end = p;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        syntax_int = 0;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p == end || !is_digit(*p))
            return 0;
        int64_t ex = 0;
        while (p < end && is_digit(*p)) {
            if (ex < EXP_SATURATE)
                ex = ex * 10 + (*p - '0');
            p++;
        }
        e10 += eneg ? -ex : ex;
    }
    if (p != end)
        return 0;

    /* More than 19 digits may have wrapped the uint64, unless most are leading zeros. */
    if (ndigits > MAX_SIG_DIGITS && ndigits - leading_zeros(num, num_end) > MAX_SIG_DIGITS) {
        *is_int = 0; /* with integer syntax it is >= 1e19 > 2^53 */
        *out = number_slow(num, end, neg);
        return 1;
    }
    *is_int = syntax_int && mant <= TWO53;
    if (mant == 0) {
        *out = neg ? -0.0 : 0.0;
        return 1;
    }
    if (mant <= TWO53 && e10 >= -22 && e10 <= 22) {
        double d = (double)mant;
        d = e10 < 0 ? d / g_pow10[-e10] : d * g_pow10[e10];
        *out = neg ? -d : d;
        return 1;
    }
    if (eisel_lemire(mant, e10, neg, out))
        return 1;
    *out = number_slow(num, end, neg);
    return 1;
}

/* ---- booleans ---- */

int kl__parse_bool(const char *s, size_t n, uint8_t *out)
{
    static const struct {
        const char *word;
        uint8_t value;
    } words[] = {
        {"true", 1},  {"TRUE", 1},  {"True", 1},  {"yes", 1}, {"YES", 1}, {"Yes", 1},
        {"false", 0}, {"FALSE", 0}, {"False", 0}, {"no", 0},  {"NO", 0},  {"No", 0},
    };
    if (n < 2 || n > 5)
        return 0;
    for (size_t i = 0; i < KL_ARRAY_LEN(words); i++) {
        if (strlen(words[i].word) == n && memcmp(words[i].word, s, n) == 0) {
            *out = words[i].value;
            return 1;
        }
    }
    return 0;
}

/* ---- writing doubles ---- */

size_t kl__format_double(double v, char *buf, size_t n)
{
    KL_ASSERT(n >= 32);
    if (isnan(v)) {
        buf[0] = '\0';
        return 0;
    }
    if (isinf(v)) {
        int k = snprintf(buf, n, "%s", v < 0 ? "-inf" : "inf");
        return (size_t)k;
    }
    pthread_once(&g_once, parse_init);
    /* printf and strtod follow LC_NUMERIC; pin this thread to "C" while we use them. */
    locale_t old = g_c_locale ? uselocale(g_c_locale) : (locale_t)0;
    int k = 0;
    for (int prec = 15; prec <= 17; prec++) {
        k = snprintf(buf, n, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v)
            break;
    }
    if (old)
        uselocale(old);
    return (size_t)k;
}

/* ---- dates and times ---- */

#define US_PER_SEC 1000000ll
#define US_PER_DAY 86400000000ll

/*
 * Howard Hinnant's days_from_civil: shift the year to start on March 1 so
 * the leap day is the last day of the year, then count 400-year eras
 * (146097 days each), years of the era, and days of the year from a
 * month-length formula (153 days per 5 months from March).
 */
int64_t kl__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void kl__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int valid_date(unsigned y, unsigned m, unsigned d)
{
    static const unsigned char month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
        return 0;
    return d <= month_days[m - 1] + (unsigned)(m == 2 && is_leap(y));
}

/* A read position in a field. */
typedef struct {
    const char *p, *end;
} cursor;

/* Reads min..max digits (greedily); a following digit is left for the caller to reject. */
static int take_digits(cursor *c, int min, int max, unsigned *out)
{
    unsigned v = 0;
    int k = 0;
    while (k < max && c->p < c->end && is_digit(*c->p)) {
        v = v * 10 + (unsigned)(*c->p - '0');
        c->p++;
        k++;
    }
    *out = v;
    return k >= min;
}

static int take_char(cursor *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* YYYY-MM-DD, two-digit month and day. */
static int take_iso_date(cursor *c, unsigned *y, unsigned *m, unsigned *d)
{
    return take_digits(c, 4, 4, y) && take_char(c, '-') && take_digits(c, 2, 2, m) &&
           take_char(c, '-') && take_digits(c, 2, 2, d);
}

/*
 * HH:MM[:SS[.fraction]] as microseconds of the day. The fraction has 1 to 9
 * digits; digits past the sixth are dropped (toward the start of the second).
 */
static int take_time_of_day(cursor *c, int hour_min_digits, int64_t *us)
{
    unsigned h, mi, sec = 0, frac = 0;
    if (!take_digits(c, hour_min_digits, 2, &h) || !take_char(c, ':') || !take_digits(c, 2, 2, &mi))
        return 0;
    if (take_char(c, ':')) {
        if (!take_digits(c, 2, 2, &sec))
            return 0;
        if (take_char(c, '.')) {
            int k = 0;
            while (c->p < c->end && is_digit(*c->p)) {
                if (k < 6)
                    frac = frac * 10 + (unsigned)(*c->p - '0');
                k++;
                c->p++;
            }
            if (k == 0 || k > 9)
                return 0;
            for (; k < 6; k++)
                frac *= 10;
        }
    }
    if (h > 23 || mi > 59 || sec > 59)
        return 0;
    *us = ((int64_t)h * 3600 + mi * 60 + sec) * US_PER_SEC + frac;
    return 1;
}

/* Z, +HH:MM, -HH:MM, +HHMM or -HHMM, or nothing; *minutes east of UTC. */
static int take_utc_offset(cursor *c, int64_t *minutes)
{
    *minutes = 0;
    if (c->p == c->end || take_char(c, 'Z'))
        return 1;
    int sign = take_char(c, '+') ? 1 : take_char(c, '-') ? -1 : 0;
    unsigned h, mi;
    if (!sign || !take_digits(c, 2, 2, &h))
        return 0;
    take_char(c, ':');
    if (!take_digits(c, 2, 2, &mi) || h > 23 || mi > 59)
        return 0;
    *minutes = sign * (int64_t)(h * 60 + mi);
    return 1;
}

/* D{1,2} sep M{1,2} sep YYYY (or month first), one separator of / . - used twice. */
static int take_dmy(cursor *c, int month_first, unsigned *y, unsigned *m, unsigned *d)
{
    unsigned a, b;
    if (!take_digits(c, 1, 2, &a) || c->p == c->end)
        return 0;
    char sep = *c->p;
    if (sep != '/' && sep != '.' && sep != '-')
        return 0;
    c->p++;
    if (!take_digits(c, 1, 2, &b) || !take_char(c, sep) || !take_digits(c, 4, 4, y))
        return 0;
    *d = month_first ? b : a;
    *m = month_first ? a : b;
    return 1;
}

/* Earliest and latest instants a form can hold: 0001-01-01 and the end of 9999-12-31. */
#define TIME_MIN_US (-62135596800ll * US_PER_SEC)
#define TIME_MAX_US (253402300800ll * US_PER_SEC - 1)

int kl__time_parse(const char *s, size_t n, unsigned form, int64_t *us)
{
    cursor c = {s, s + n};
    while (c.p < c.end && *c.p == ' ')
        c.p++;
    while (c.end > c.p && c.end[-1] == ' ')
        c.end--;
    unsigned y = 0, m = 0, d = 1, q;
    int64_t tod = 0, offset_min = 0;
    switch (form) {
    case KL__TF_DATE_ISO:
        if (!take_iso_date(&c, &y, &m, &d))
            return 0;
        break;
    case KL__TF_DATETIME_ISO:
        if (!take_iso_date(&c, &y, &m, &d) || !(take_char(&c, 'T') || take_char(&c, ' ')) ||
            !take_time_of_day(&c, 2, &tod) || !take_utc_offset(&c, &offset_min))
            return 0;
        break;
    case KL__TF_YEAR_MONTH:
        if (!take_digits(&c, 4, 4, &y) || !take_char(&c, '-') || !take_digits(&c, 2, 2, &m))
            return 0;
        break;
    case KL__TF_QUARTER:
        if (!take_digits(&c, 4, 4, &y))
            return 0;
        take_char(&c, '-');
        if (!(take_char(&c, 'Q') || take_char(&c, 'q')) || !take_digits(&c, 1, 1, &q) || q < 1 ||
            q > 4)
            return 0;
        m = 3 * (q - 1) + 1;
        break;
    case KL__TF_DATE_YMD_SLASH:
        if (!take_digits(&c, 4, 4, &y) || !take_char(&c, '/') || !take_digits(&c, 1, 2, &m) ||
            !take_char(&c, '/') || !take_digits(&c, 1, 2, &d))
            return 0;
        break;
    case KL__TF_DATE_DMY:
    case KL__TF_DATE_MDY:
        if (!take_dmy(&c, form == KL__TF_DATE_MDY, &y, &m, &d))
            return 0;
        break;
    case KL__TF_DATETIME_DMY:
    case KL__TF_DATETIME_MDY:
        if (!take_dmy(&c, form == KL__TF_DATETIME_MDY, &y, &m, &d) || !take_char(&c, ' ') ||
            !take_time_of_day(&c, 1, &tod))
            return 0;
        break;
    case KL__TF_DATE_COMPACT:
        if (!take_digits(&c, 4, 4, &y) || !take_digits(&c, 2, 2, &m) || !take_digits(&c, 2, 2, &d))
            return 0;
        break;
    default:
        return 0;
    }
    if (c.p != c.end || !valid_date(y, m, d))
        return 0;
    int64_t v = kl__days_from_civil(y, m, d) * US_PER_DAY + tod - offset_min * 60 * US_PER_SEC;
    /* An offset can carry a value out of the years every form can write. */
    if (v < TIME_MIN_US || v > TIME_MAX_US)
        return 0;
    *us = v;
    return 1;
}

/*
 * The forms inference may choose, grouped by what follows a leading run of
 * four digits (the year of YYYY-first forms). DATE_COMPACT is left out: it
 * would claim integer columns.
 */
#define TF_YEAR_DASH (KL__TF_DATE_ISO | KL__TF_DATETIME_ISO | KL__TF_YEAR_MONTH | KL__TF_QUARTER)
#define TF_DAY_FIRST (KL__TF_DATE_DMY | KL__TF_DATE_MDY | KL__TF_DATETIME_DMY | KL__TF_DATETIME_MDY)

unsigned kl__time_forms(const char *s, size_t n)
{
    /* Every form starts with a digit (after spaces) and has at least 6 characters. */
    size_t i = 0;
    while (i < n && s[i] == ' ')
        i++;
    if (n - i < 6 || !is_digit(s[i]))
        return 0;
    const char *p = s + i;
    unsigned candidates;
    if (is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3])) {
        candidates = p[4] == '-'                  ? TF_YEAR_DASH
                     : p[4] == '/'                ? KL__TF_DATE_YMD_SLASH
                     : p[4] == 'Q' || p[4] == 'q' ? KL__TF_QUARTER
                                                  : 0;
    } else {
        candidates = TF_DAY_FIRST;
    }
    unsigned forms = 0;
    int64_t us;
    while (candidates) {
        unsigned form = candidates & -candidates;
        candidates &= candidates - 1;
        if (kl__time_parse(s, n, form, &us))
            forms |= form;
    }
    return forms;
}

static const struct {
    unsigned form;
    const char *format;
} g_time_formats[] = {
    {KL__TF_DATE_ISO, "%Y-%m-%d"},
    {KL__TF_DATETIME_ISO, "%Y-%m-%dT%H:%M:%S"},
    {KL__TF_YEAR_MONTH, "%Y-%m"},
    {KL__TF_QUARTER, "%YQ%q"},
    {KL__TF_DATE_YMD_SLASH, "%Y/%m/%d"},
    {KL__TF_DATE_DMY, "%d/%m/%Y"},
    {KL__TF_DATE_MDY, "%m/%d/%Y"},
    {KL__TF_DATETIME_DMY, "%d/%m/%Y %H:%M:%S"},
    {KL__TF_DATETIME_MDY, "%m/%d/%Y %H:%M:%S"},
    {KL__TF_DATE_COMPACT, "%Y%m%d"},
};

const char *kl__time_form_format(unsigned form)
{
    for (size_t i = 0; i < KL_ARRAY_LEN(g_time_formats); i++)
        if (g_time_formats[i].form == form)
            return g_time_formats[i].format;
    return NULL;
}

unsigned kl__time_form_from_format(const char *format)
{
    if (!format)
        return 0;
    for (size_t i = 0; i < KL_ARRAY_LEN(g_time_formats); i++)
        if (strcmp(g_time_formats[i].format, format) == 0)
            return g_time_formats[i].form;
    return 0;
}

int kl__time_form_has_time(unsigned form)
{
    return form == KL__TF_DATETIME_ISO || form == KL__TF_DATETIME_DMY ||
           form == KL__TF_DATETIME_MDY;
}

/* Writes v as exactly width digits (zero-padded) at p; returns p + width. */
static char *put_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* HH:MM:SS, then .f to .ffffff (trailing zeros dropped) when the microseconds are not zero. */
static char *put_time_of_day(char *p, int64_t tod)
{
    unsigned sec = (unsigned)(tod / US_PER_SEC), frac = (unsigned)(tod % US_PER_SEC);
    p = put_digits(p, sec / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sec / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sec % 60, 2);
    if (frac) {
        int width = 6;
        while (frac % 10 == 0) {
            frac /= 10;
            width--;
        }
        *p++ = '.';
        p = put_digits(p, frac, width);
    }
    return p;
}

/*
 * Date-only forms cannot hold a time of day, YEAR_MONTH and QUARTER only
 * first days; for such values (and years outside 1..9999) this returns 0
 * rather than write something that reads back differently. DATETIME_ISO is
 * written in UTC without an offset ("2020-03-04T05:06:07" or with a
 * fraction), which kl__time_parse reads back as UTC.
 */
size_t kl__time_format(int64_t us, unsigned form, char *buf, size_t n)
{
    if (us < TIME_MIN_US || us > TIME_MAX_US)
        return 0;
    int64_t days = us / US_PER_DAY, tod = us % US_PER_DAY;
    if (tod < 0) {
        tod += US_PER_DAY;
        days--;
    }
    int64_t y64;
    unsigned m, d;
    kl__civil_from_days(days, &y64, &m, &d);
    unsigned y = (unsigned)y64;
    if (tod != 0 && !kl__time_form_has_time(form))
        return 0;
    char tmp[48], *p = tmp;
    switch (form) {
    case KL__TF_DATE_ISO:
    case KL__TF_DATETIME_ISO:
        p = put_digits(p, y, 4);
        *p++ = '-';
        p = put_digits(p, m, 2);
        *p++ = '-';
        p = put_digits(p, d, 2);
        if (form == KL__TF_DATETIME_ISO) {
            *p++ = 'T';
            p = put_time_of_day(p, tod);
        }
        break;
    case KL__TF_YEAR_MONTH:
        if (d != 1)
            return 0;
        p = put_digits(p, y, 4);
        *p++ = '-';
        p = put_digits(p, m, 2);
        break;
    case KL__TF_QUARTER:
        if (d != 1 || (m - 1) % 3 != 0)
            return 0;
        p = put_digits(p, y, 4);
        *p++ = 'Q';
        p = put_digits(p, (m - 1) / 3 + 1, 1);
        break;
    case KL__TF_DATE_YMD_SLASH:
        p = put_digits(p, y, 4);
        *p++ = '/';
        p = put_digits(p, m, 2);
        *p++ = '/';
        p = put_digits(p, d, 2);
        break;
    case KL__TF_DATE_DMY:
    case KL__TF_DATE_MDY:
    case KL__TF_DATETIME_DMY:
    case KL__TF_DATETIME_MDY: {
        int month_first = form == KL__TF_DATE_MDY || form == KL__TF_DATETIME_MDY;
        p = put_digits(p, month_first ? m : d, 2);
        *p++ = '/';
        p = put_digits(p, month_first ? d : m, 2);
        *p++ = '/';
        p = put_digits(p, y, 4);
        if (kl__time_form_has_time(form)) {
            *p++ = ' ';
            p = put_time_of_day(p, tod);
        }
        break;
    }
    case KL__TF_DATE_COMPACT:
        p = put_digits(p, y, 4);
        p = put_digits(p, m, 2);
        p = put_digits(p, d, 2);
        break;
    default:
        return 0;
    }
    size_t len = (size_t)(p - tmp);
    if (len + 1 > n)
        return 0;
    memcpy(buf, tmp, len);
    buf[len] = '\0';
    return len;
}
