/*
 * PII at value level: hand-written matchers and validators over (pointer,
 * length), used on single cells and on free text alike.
 *
 * kl_pii_find walks the string once. At each word start it tries only the
 * matchers the first byte allows (a digit: card, SSN, phone, IPv4/IPv6,
 * date; a letter: email, URL, IBAN, IPv6; '+' and '(': phone; ':': IPv6),
 * keeps the longest match, and otherwise jumps past the word. Matchers are
 * anchored and never backtrack over more than a few digit groups, so the
 * cost is linear in the input and nothing is allocated: this is the hot
 * loop of a scan, run on every cell of every text column. A regex engine
 * would need one pass per pattern and POSIX regexec is an order of
 * magnitude slower than this loop on the same input.
 *
 * Invariants: a match starts at a word boundary and ends at one (a digit
 * match is not followed by "-5" or ".5", so 1.2.3.4.5 and 2.14.0.1000 are
 * not IPv4 addresses); matches never overlap; every reported score is at
 * least KL_PII_MIN_SCORE. Scores and rules are listed in docs/PII.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "keel/pii.h"
#include "quality/pii_internal.h"
#include "core/common.h"

#define BIT(e) (1u << (e))

/* ---- character classes ---- */

static inline int is_digit(unsigned c)
{
    return c - '0' < 10u;
}
static inline int is_alpha(unsigned c)
{
    return ((c | 32u) - 'a') < 26u;
}
static inline int is_alnum(unsigned c)
{
    return is_digit(c) || is_alpha(c);
}
static inline int is_hex(unsigned c)
{
    return is_digit(c) || ((c | 32u) - 'a') < 6u;
}
/* Bytes that continue a word: letters, digits, '_' and any non-ASCII byte. */
static inline int is_word(unsigned c)
{
    return is_alnum(c) || c == '_' || c >= 0x80;
}

typedef const unsigned char uchar;

/* c is one of the bytes of set (a short literal; cheaper than a strchr call). */
static inline int in_set(const char *set, unsigned c)
{
    for (; *set; set++)
        if ((unsigned char)*set == c)
            return 1;
    return 0;
}

/* A match may end at e: the string ends or a non-word byte follows. */
static int end_ok(uchar *s, size_t n, size_t e)
{
    return e >= n || !is_word(s[e]);
}

/*
 * A number may end at e: also not continued by ".5", "-5" or "/5" (a longer
 * dotted or dashed number the match would be a piece of).
 */
static int num_end_ok(uchar *s, size_t n, size_t e)
{
    if (!end_ok(s, n, e))
        return 0;
    if (e + 1 < n && (s[e] == '.' || s[e] == '-' || s[e] == '/') && is_alnum(s[e + 1]))
        return 0;
    return 1;
}

/* A number may start at i: not inside a word, nor after "5." "5-" or "5/". */
static int num_start_ok(uchar *s, size_t i)
{
    if (i == 0)
        return 1;
    if (is_word(s[i - 1]))
        return 0;
    if (i >= 2 && (s[i - 1] == '.' || s[i - 1] == '-' || s[i - 1] == '/') && is_digit(s[i - 2]))
        return 0;
    return 1;
}

/* ---- validators ---- */

int kl_pii_luhn_ok(const char *str, size_t n)
{
    uchar *s = (uchar *)str;
    unsigned sum = 0, k = 0;
    for (size_t i = n; i-- > 0;) {
        unsigned c = s[i];
        if (c == ' ' || c == '-')
            continue;
        if (!is_digit(c))
            return 0;
        unsigned d = c - '0';
        if (k++ & 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return k > 0 && sum % 10 == 0;
}

/* Issuer prefixes (IIN ranges) and the lengths each network issues. */
struct iin {
    unsigned lo, hi; /* prefix range, inclusive, over `digits` leading digits */
    unsigned char digits, min_len, max_len;
};

static const struct iin iins[] = {
    {4, 4, 1, 13, 19},       /* Visa (13, 16, 19) */
    {51, 55, 2, 16, 16},     /* Mastercard */
    {2221, 2720, 4, 16, 16}, /* Mastercard 2-series */
    {34, 34, 2, 15, 15},     /* American Express */
    {37, 37, 2, 15, 15},     /* American Express */
    {6011, 6011, 4, 16, 19}, /* Discover */
    {644, 649, 3, 16, 19},   /* Discover */
    {65, 65, 2, 16, 19},     /* Discover */
    {300, 305, 3, 14, 19},   /* Diners Club */
    {36, 36, 2, 14, 19},     /* Diners Club */
    {38, 39, 2, 14, 19},     /* Diners Club */
    {3528, 3589, 4, 16, 19}, /* JCB */
    {62, 62, 2, 16, 19},     /* UnionPay */
    {2200, 2204, 4, 16, 19}, /* Mir */
    {5018, 5018, 4, 13, 19}, /* Maestro */
    {5020, 5020, 4, 13, 19}, /* Maestro */
    {5038, 5038, 4, 13, 19}, /* Maestro */
    {5893, 5893, 4, 13, 19}, /* Maestro */
    {6304, 6304, 4, 13, 19}, /* Maestro */
    {6759, 6759, 4, 13, 19}, /* Maestro */
    {6761, 6763, 4, 13, 19}, /* Maestro */
};

/* d[0..len) are digit values. */
static int card_digits_ok(const unsigned char *d, size_t len)
{
    if (len < 13 || len > 19)
        return 0;
    int known = 0;
    for (size_t k = 0; k < KL_ARRAY_LEN(iins) && !known; k++) {
        unsigned p = 0;
        for (unsigned m = 0; m < iins[k].digits; m++)
            p = p * 10 + d[m];
        known =
            p >= iins[k].lo && p <= iins[k].hi && len >= iins[k].min_len && len <= iins[k].max_len;
    }
    if (!known)
        return 0;
    unsigned sum = 0;
    for (size_t k = 0; k < len; k++) {
        unsigned v = d[len - 1 - k];
        if (k & 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

int kl_pii_card_ok(const char *str, size_t n)
{
    uchar *s = (uchar *)str;
    unsigned char d[19];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ' || s[i] == '-')
            continue;
        if (!is_digit(s[i]) || len == sizeof d)
            return 0;
        d[len++] = (unsigned char)(s[i] - '0');
    }
    return card_digits_ok(d, len);
}

/* SSA rules on the nine digits (values 0..9). */
static int ssn_digits_ok(const unsigned char *d)
{
    unsigned area = d[0] * 100u + d[1] * 10u + d[2];
    unsigned group = d[3] * 10u + d[4];
    unsigned serial = d[5] * 1000u + d[6] * 100u + d[7] * 10u + d[8];
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
        return 0;
    int same = 1;
    for (int k = 1; k < 9; k++)
        same &= d[k] == d[0];
    if (same)
        return 0;
    static const char *const banned[] = {"123456789", "078051120", "219099999"};
    char t[10];
    for (int k = 0; k < 9; k++)
        t[k] = (char)('0' + d[k]);
    t[9] = 0;
    for (size_t k = 0; k < KL_ARRAY_LEN(banned); k++)
        if (memcmp(t, banned[k], 9) == 0)
            return 0;
    return memcmp(t, "98765432", 8) != 0;
}

int kl_pii_ssn_ok(const char *str, size_t n)
{
    uchar *s = (uchar *)str;
    unsigned char d[9];
    if (n == 9) {
        for (int k = 0; k < 9; k++) {
            if (!is_digit(s[k]))
                return 0;
            d[k] = (unsigned char)(s[k] - '0');
        }
        return ssn_digits_ok(d);
    }
    if (n != 11 || (s[3] != '-' && s[3] != ' ' && s[3] != '.') || s[6] != s[3])
        return 0;
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 3 || i == 6)
            continue;
        if (!is_digit(s[i]))
            return 0;
        d[k++] = (unsigned char)(s[i] - '0');
    }
    return ssn_digits_ok(d);
}

/* IBAN lengths by country (SWIFT IBAN registry). */
static const char iban_lengths[][3] = {
    "AD\x18", "AE\x17", "AL\x1c", "AT\x14", "AZ\x1c", "BA\x14", "BE\x10", "BG\x16", "BH\x16",
    "BR\x1d", "BY\x1c", "CH\x15", "CR\x16", "CY\x1c", "CZ\x18", "DE\x16", "DK\x12", "DO\x1c",
    "EE\x14", "EG\x1d", "ES\x18", "FI\x12", "FO\x12", "FR\x1b", "GB\x16", "GE\x16", "GI\x17",
    "GL\x12", "GR\x1b", "GT\x1c", "HR\x15", "HU\x1c", "IE\x16", "IL\x17", "IQ\x17", "IS\x1a",
    "IT\x1b", "JO\x1e", "KW\x1e", "KZ\x14", "LB\x1c", "LC\x20", "LI\x15", "LT\x14", "LU\x14",
    "LV\x15", "MC\x1b", "MD\x18", "ME\x16", "MK\x13", "MR\x1b", "MT\x1f", "MU\x1e", "NL\x12",
    "NO\x0f", "PK\x18", "PL\x1c", "PS\x1d", "PT\x19", "QA\x1d", "RO\x18", "RS\x16", "SA\x18",
    "SC\x1f", "SE\x18", "SI\x13", "SK\x18", "SM\x1b", "ST\x19", "SV\x1c", "TL\x17", "TN\x18",
    "TR\x1a", "UA\x1d", "VA\x16", "VG\x18", "XK\x14",
};

static unsigned iban_length(unsigned a, unsigned b)
{
    a &= ~32u;
    b &= ~32u;
    for (size_t k = 0; k < KL_ARRAY_LEN(iban_lengths); k++)
        if ((unsigned char)iban_lengths[k][0] == a && (unsigned char)iban_lengths[k][1] == b)
            return (unsigned char)iban_lengths[k][2];
    return 0;
}

static unsigned mod97_push(unsigned r, unsigned c)
{
    if (is_digit(c))
        return (r * 10 + (c - '0')) % 97;
    return (r * 100 + ((c | 32u) - 'a' + 10)) % 97;
}

/* c[0..len) are the IBAN's characters without separators. */
static int iban_chars_ok(const unsigned char *c, size_t len)
{
    if (len < 15 || !is_alpha(c[0]) || !is_alpha(c[1]) || !is_digit(c[2]) || !is_digit(c[3]))
        return 0;
    if (iban_length(c[0], c[1]) != len)
        return 0;
    unsigned r = 0;
    for (size_t k = 4; k < len; k++) {
        if (!is_alnum(c[k]))
            return 0;
        r = mod97_push(r, c[k]);
    }
    for (size_t k = 0; k < 4; k++)
        r = mod97_push(r, c[k]);
    return r == 1;
}

int kl_pii_iban_ok(const char *str, size_t n)
{
    uchar *s = (uchar *)str;
    unsigned char c[40];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ' || s[i] == '-')
            continue;
        if (len == sizeof c)
            return 0;
        c[len++] = s[i];
    }
    return iban_chars_ok(c, len);
}

/* ---- IP addresses ---- */

/* Dotted quad at i; returns its end or 0. Octets 0-255 without leading zeros. */
static size_t ipv4_at(uchar *s, size_t n, size_t i)
{
    for (int part = 0; part < 4; part++) {
        if (part) {
            if (i >= n || s[i] != '.')
                return 0;
            i++;
        }
        size_t b = i;
        unsigned v = 0;
        while (i < n && is_digit(s[i]) && i - b < 3)
            v = v * 10 + (s[i++] - '0');
        if (i == b || v > 255 || (i - b > 1 && s[b] == '0') || (i < n && is_digit(s[i])))
            return 0;
    }
    return i;
}

/* "/N" with N <= max after e; returns the new end (e when there is none). */
static size_t prefix_len_at(uchar *s, size_t n, size_t e, unsigned max)
{
    if (e + 1 < n && s[e] == '/' && is_digit(s[e + 1])) {
        size_t i = e + 1;
        unsigned v = 0;
        while (i < n && is_digit(s[i]) && i - e <= 3)
            v = v * 10 + (s[i++] - '0');
        if (v <= max && (i >= n || !is_digit(s[i])))
            return i;
    }
    return e;
}

/* IPv6 at i; returns its end or 0; *bare is set for "::" alone. */
static size_t ipv6_at(uchar *s, size_t n, size_t i, int *bare)
{
    int groups = 0, dbl = 0;
    *bare = 0;
    if (i + 1 < n && s[i] == ':' && s[i + 1] == ':') {
        dbl = 1;
        i += 2;
        if (i >= n || !is_hex(s[i])) {
            *bare = 1;
            return i;
        }
    } else if (i >= n || !is_hex(s[i])) {
        return 0;
    }
    for (;;) {
        size_t b = i;
        while (i < n && is_hex(s[i]) && i - b < 5)
            i++;
        if (i == b || i - b > 4)
            return 0;
        if (i < n && s[i] == '.') {
            /* The last 32 bits as a dotted quad. */
            size_t e = ipv4_at(s, n, b);
            if (!e || (dbl ? groups > 5 : groups != 6))
                return 0;
            return e;
        }
        groups++;
        if (i + 1 < n && s[i] == ':' && s[i + 1] == ':') {
            if (dbl)
                return 0;
            dbl = 1;
            i += 2;
            if (i >= n || !is_hex(s[i]))
                break;
            continue;
        }
        if (i + 1 < n && s[i] == ':' && is_hex(s[i + 1])) {
            i++;
            continue;
        }
        break;
    }
    if (i < n && s[i] == ':')
        return 0;
    if (dbl ? groups > 7 : groups != 8)
        return 0;
    return i;
}

int kl_pii_ipv4_ok(const char *str, size_t n)
{
    uchar *s = (uchar *)str;
    size_t e = ipv4_at(s, n, 0);
    return e && prefix_len_at(s, n, e, 32) == n;
}

int kl_pii_ipv6_ok(const char *str, size_t n)
{
    uchar *s = (uchar *)str;
    int bare;
    size_t e = ipv6_at(s, n, 0, &bare);
    return e && prefix_len_at(s, n, e, 128) == n;
}

/* ---- email ---- */

/* The RFC 5322 symbols allowed in an email's local part, and '.'. */
static const unsigned char local_symbol[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
    ['+'] = 1, ['/'] = 1, ['='] = 1, ['?'] = 1, ['^'] = 1, ['_'] = 1,  ['`'] = 1,
    ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1, ['-'] = 1, ['.'] = 1,
};

static int is_local(unsigned c)
{
    return is_alnum(c) || local_symbol[c & 0xff];
}

/* Domain at i: labels of letters, digits and inner '-', at least two, an alphabetic TLD. */
static size_t domain_at(uchar *s, size_t n, size_t i, int need_dot)
{
    int labels = 0;
    size_t last = i, e = i;
    for (;;) {
        size_t b = e;
        while (e < n && (is_alnum(s[e]) || s[e] == '-'))
            e++;
        if (e == b || s[b] == '-' || s[e - 1] == '-' || e - b > 63)
            return 0;
        labels++;
        last = b;
        if (e + 1 < n && s[e] == '.' && is_alnum(s[e + 1])) {
            e++;
            continue;
        }
        break;
    }
    if (need_dot) {
        if (labels < 2 || e - last < 2)
            return 0;
        for (size_t k = last; k < e; k++)
            if (!is_alpha(s[k]))
                return 0;
    }
    return e;
}

/* Returns the end of local@domain at i, 0 if none; *run_end is the end of the local run. */
static size_t email_at(uchar *s, size_t n, size_t i, size_t *run_end)
{
    size_t e = i;
    while (e < n && is_local(s[e]))
        e++;
    *run_end = 0;
    if (e >= n || s[e] != '@' || e == i)
        return 0;
    *run_end = e + 1;
    if (s[i] == '.' || s[e - 1] == '.')
        return 0;
    for (size_t k = i + 1; k < e; k++)
        if (s[k] == '.' && s[k - 1] == '.')
            return 0;
    size_t d = domain_at(s, n, e + 1, 1);
    if (!d || (d < n && (is_word(s[d]) || s[d] == '@')))
        return 0;
    return d;
}

int kl_pii_email_ok(const char *str, size_t n)
{
    size_t run;
    return n > 0 && email_at((uchar *)str, n, 0, &run) == n;
}

/* ---- URL ---- */

static int prefix_ci(uchar *s, size_t n, size_t i, const char *p)
{
    size_t k = 0;
    for (; p[k]; k++)
        if (i + k >= n || (s[i + k] | 32u) != (unsigned char)p[k])
            return 0;
    return 1;
}

static size_t url_at(uchar *s, size_t n, size_t i, double *score)
{
    static const char *const schemes[] = {"https://", "http://", "ftp://", "ftps://"};
    size_t h = 0;
    for (size_t k = 0; k < KL_ARRAY_LEN(schemes) && !h; k++)
        if (prefix_ci(s, n, i, schemes[k]))
            h = i + strlen(schemes[k]);
    *score = 1.0;
    if (h) {
        if (!domain_at(s, n, h, 0))
            return 0;
    } else if (prefix_ci(s, n, i, "www.")) {
        h = i + 4;
        if (!domain_at(s, n, h, 1))
            return 0;
        *score = 0.9;
    } else {
        return 0;
    }
    size_t e = h;
    while (e < n && s[e] > ' ' && s[e] != '"' && s[e] != '<' && s[e] != '>' && s[e] != '\'' &&
           s[e] != 0x7f)
        e++;
    while (e > h && in_set(".,;:!?)", s[e - 1]))
        e--;
    return e;
}

/* ---- digit groups: the shape shared by cards, SSNs, phones and dates ---- */

#define MAX_GROUPS 8

struct groups {
    int n;                         /* groups read */
    int len[MAX_GROUPS];           /* digits per group */
    size_t end[MAX_GROUPS];        /* end of each group */
    unsigned char sep[MAX_GROUPS]; /* separator after group k (0 for the last) */
    int digits;                    /* total */
};

/* Digit groups from i, separated by single characters of seps. */
static void groups_at(uchar *s, size_t n, size_t i, const char *seps, struct groups *g)
{
    g->n = 0;
    g->digits = 0;
    while (g->n < MAX_GROUPS) {
        size_t b = i;
        while (i < n && is_digit(s[i]) && i - b < 20)
            i++;
        if (i == b)
            break;
        g->len[g->n] = (int)(i - b);
        g->end[g->n] = i;
        g->sep[g->n] = 0;
        g->digits += (int)(i - b);
        g->n++;
        if (i + 1 < n && is_digit(s[i + 1]) && in_set(seps, s[i])) {
            g->sep[g->n - 1] = s[i];
            i++;
            continue;
        }
        break;
    }
}

static int same_seps(const struct groups *g, int k)
{
    for (int m = 1; m + 1 < k; m++)
        if (g->sep[m] != g->sep[0])
            return 0;
    return 1;
}

/* Credit card: 13-19 digits in groups split by single spaces or dashes. */
static size_t card_at(uchar *s, size_t n, size_t i)
{
    struct groups g;
    groups_at(s, n, i, " -", &g);
    for (int k = g.n; k >= 1; k--) {
        unsigned char d[19];
        size_t len = 0, p = i;
        if (!num_end_ok(s, n, g.end[k - 1]))
            continue;
        int total = 0;
        for (int m = 0; m < k; m++)
            total += g.len[m];
        if (total < 13 || total > 19)
            continue;
        for (; p < g.end[k - 1]; p++)
            if (is_digit(s[p]))
                d[len++] = (unsigned char)(s[p] - '0');
        if (card_digits_ok(d, len))
            return g.end[k - 1];
    }
    return 0;
}

/* US SSN: ddd-dd-dddd with one kind of separator, or 9 bare digits when the context says so. */
static size_t ssn_at(uchar *s, size_t n, size_t i, int bare_ok, double *score)
{
    struct groups g;
    groups_at(s, n, i, "- .", &g);
    size_t e;
    if (g.n >= 3 && g.len[0] == 3 && g.len[1] == 2 && g.len[2] == 4 && g.sep[0] == g.sep[1]) {
        e = g.end[2];
        *score = 0.85;
    } else if (bare_ok && g.len[0] == 9) {
        e = g.end[0];
        *score = 0.6;
    } else {
        return 0;
    }
    if (!num_end_ok(s, n, e) || !kl_pii_ssn_ok((const char *)s + i, e - i))
        return 0;
    return e;
}

/* ---- phone numbers ---- */

/* ITU-T E.164 country codes in use, and national number lengths where known. */
struct cc {
    unsigned short code;
    unsigned char min, max;
};

static const struct cc ccs[] = {
    {1, 10, 10},  {7, 10, 10}, {20, 9, 10},  {27, 9, 9},   {30, 10, 10}, {31, 9, 9},   {32, 8, 9},
    {33, 9, 9},   {34, 9, 9},  {36, 8, 9},   {39, 6, 11},  {40, 9, 9},   {41, 9, 9},   {43, 4, 13},
    {44, 9, 10},  {45, 8, 8},  {46, 7, 9},   {47, 8, 8},   {48, 9, 9},   {49, 6, 13},  {51, 8, 9},
    {52, 10, 10}, {53, 8, 8},  {54, 10, 10}, {55, 10, 11}, {56, 9, 9},   {57, 10, 10}, {58, 10, 10},
    {60, 8, 10},  {61, 9, 9},  {62, 8, 12},  {63, 10, 10}, {64, 8, 10},  {65, 8, 8},   {66, 8, 9},
    {81, 9, 10},  {82, 8, 10}, {84, 9, 10},  {86, 10, 11}, {90, 10, 10}, {91, 10, 10}, {92, 9, 10},
    {93, 9, 9},   {94, 9, 9},  {95, 7, 10},  {98, 10, 10},
};

/* Three-digit codes in use, as [first, last] ranges. */
static const unsigned short cc3[][2] = {
    {211, 213}, {216, 216}, {218, 218}, {220, 258}, {260, 269}, {290, 291}, {297, 299},
    {350, 359}, {370, 378}, {380, 383}, {385, 387}, {389, 389}, {420, 421}, {423, 423},
    {500, 509}, {590, 599}, {670, 670}, {672, 683}, {685, 692}, {850, 850}, {852, 853},
    {855, 856}, {880, 880}, {886, 886}, {960, 968}, {970, 977}, {992, 996}, {998, 998},
};

/* National length range for the country code at the start of d[0..len); 0 if none. */
static int cc_lookup(const unsigned char *d, int len, int *cc_len, int *min, int *max)
{
    if (len < 3)
        return 0;
    unsigned one = d[0], two = one * 10 + d[1], three = two * 10 + d[2];
    for (size_t k = 0; k < KL_ARRAY_LEN(ccs); k++) {
        if (ccs[k].code == one || ccs[k].code == two) {
            *cc_len = ccs[k].code < 10 ? 1 : 2;
            *min = ccs[k].min;
            *max = ccs[k].max;
            return 1;
        }
    }
    for (size_t k = 0; k < KL_ARRAY_LEN(cc3); k++) {
        if (three >= cc3[k][0] && three <= cc3[k][1]) {
            *cc_len = 3;
            *min = 4;
            *max = 12;
            return 1;
        }
    }
    return 0;
}

/* "+CC ..." with single separators, a group in parentheses, and an optional "(0)". */
static size_t phone_intl_at(uchar *s, size_t n, size_t i)
{
    if (s[i] != '+')
        return 0;
    unsigned char d[17];
    int len = 0;
    size_t p = i + 1, end = 0;
    int trunk = 0;
    while (p < n) {
        if (is_digit(s[p])) {
            if (len == 16)
                return 0;
            d[len++] = (unsigned char)(s[p++] - '0');
            end = p;
            continue;
        }
        size_t q = p;
        if (s[q] == ' ' || s[q] == '-' || s[q] == '.')
            q++;
        if (q < n && s[q] == '(') {
            /* "(0)" is the trunk prefix written by habit; "(20)" an area code. */
            size_t r = q + 1;
            while (r < n && is_digit(s[r]))
                r++;
            if (r == q + 1 || r >= n || s[r] != ')' || r - q > 5)
                break;
            if (r == q + 2 && s[q + 1] == '0' && !trunk) {
                trunk = 1;
            } else {
                for (size_t k = q + 1; k < r && len < 16; k++)
                    d[len++] = (unsigned char)(s[k] - '0');
            }
            p = r + 1;
            end = p;
            if (p < n && (s[p] == ' ' || s[p] == '-') && p + 1 < n && is_digit(s[p + 1]))
                p++;
            continue;
        }
        if (q > p && q < n && is_digit(s[q])) {
            p = q;
            continue;
        }
        break;
    }
    if (!end || !num_end_ok(s, n, end) || len < 8 || len > 15)
        return 0;
    int cc_len, min, max;
    if (!cc_lookup(d, len, &cc_len, &min, &max))
        return 0;
    int national = len - cc_len;
    if (national < min || national > max)
        return 0;
    return end;
}

/* North American plan: [1 ](NXX) NXX-XXXX (or . or space), NXX-NXX-XXXX, NXX.NXX.XXXX, NXX NXX
 * XXXX. */
static size_t phone_us_at(uchar *s, size_t n, size_t i)
{
    size_t p = i;
    if (p + 1 < n && s[p] == '1' && (s[p + 1] == '-' || s[p + 1] == ' ' || s[p + 1] == '.'))
        p += 2;
    int paren = p < n && s[p] == '(';
    if (paren)
        p++;
    if (p + 3 > n || !is_digit(s[p]) || s[p] < '2' || !is_digit(s[p + 1]) || !is_digit(s[p + 2]))
        return 0;
    p += 3;
    unsigned char sep;
    if (paren) {
        if (p >= n || s[p] != ')')
            return 0;
        p++;
        if (p < n && s[p] == ' ')
            p++;
        /* After "(NXX) " the exchange and line may be split by '-', '.' or ' '. */
        size_t q = p + 3;
        sep = q < n && (s[q] == '.' || s[q] == ' ') ? s[q] : '-';
    } else {
        if (p >= n || (s[p] != '-' && s[p] != '.' && s[p] != ' '))
            return 0;
        sep = s[p++];
    }
    if (p + 3 > n || !is_digit(s[p]) || s[p] < '2' || !is_digit(s[p + 1]) || !is_digit(s[p + 2]))
        return 0;
    p += 3;
    if (p >= n || s[p] != sep)
        return 0;
    p++;
    for (int k = 0; k < 4; k++, p++)
        if (p >= n || !is_digit(s[p]))
            return 0;
    if (!num_end_ok(s, n, p))
        return 0;
    return p;
}

/*
 * National numbers with a trunk 0: France 0X XX XX XX XX (spaces, dots or
 * dashes), the UK 0XX XXXX XXXX / 0XXXX XXXXXX (spaces), Germany 0AAA
 * SUBSCRIBER (space, '/' or '-'; area 3-5 digits with the 0, 9-12 digits).
 */
static size_t phone_national_at(uchar *s, size_t n, size_t i)
{
    if (s[i] != '0' || i + 1 >= n || s[i + 1] < '1' || s[i + 1] > '9')
        return 0;
    struct groups g;
    groups_at(s, n, i, " .-/", &g);
    for (int k = g.n; k >= 2; k--) {
        size_t e = g.end[k - 1];
        if (!num_end_ok(s, n, e))
            continue;
        int total = 0;
        for (int m = 0; m < k; m++)
            total += g.len[m];
        int fr = k == 5 && same_seps(&g, k) && g.sep[0] != '/';
        for (int m = 0; fr && m < 5; m++)
            fr = g.len[m] == 2;
        int uk = (k == 2 || k == 3) && total >= 10 && total <= 11 && g.len[0] >= 3 &&
                 g.len[0] <= 5 && g.sep[0] == ' ' && same_seps(&g, k);
        for (int m = 1; uk && m < k; m++)
            uk = g.len[m] >= 3;
        int de = k == 2 && total >= 9 && total <= 12 && g.len[0] >= 3 && g.len[0] <= 5 &&
                 g.len[1] >= 3 && g.sep[0] != '.';
        if (fr || uk || de)
            return e;
    }
    return 0;
}

/* With a phone context: 10-15 bare digits (a US number, or a national/international one). */
static size_t phone_bare_at(uchar *s, size_t n, size_t i)
{
    size_t p = i + (s[i] == '+');
    size_t b = p;
    while (p < n && is_digit(s[p]))
        p++;
    size_t len = p - b;
    if (len < 10 || len > 15 || !num_end_ok(s, n, p))
        return 0;
    if (s[i] == '+' || len > 11) {
        unsigned char d[15];
        int cc_len, min, max;
        for (size_t k = 0; k < len; k++)
            d[k] = (unsigned char)(s[b + k] - '0');
        if (!cc_lookup(d, (int)len, &cc_len, &min, &max))
            return 0;
        int national = (int)len - cc_len;
        return national >= min && national <= max ? p : 0;
    }
    if (len == 10 && s[b] >= '2' && s[b + 3] >= '2')
        return p;
    if (len == 11 && s[b] == '1' && s[b + 1] >= '2' && s[b + 4] >= '2')
        return p;
    if (s[b] == '0' && s[b + 1] != '0')
        return p;
    return 0;
}

/* ---- IBAN ---- */

/* Country, check digits, then BBAN characters in groups of four split by single spaces or dashes.
 */
static size_t iban_at(uchar *s, size_t n, size_t i)
{
    if (i + 4 > n || !is_alpha(s[i + 1]) || !is_digit(s[i + 2]) || !is_digit(s[i + 3]))
        return 0;
    unsigned want = iban_length(s[i], s[i + 1]);
    if (!want)
        return 0;
    unsigned char c[40];
    size_t len = 0, p = i;
    while (p < n && len < want) {
        if (is_alnum(s[p])) {
            c[len++] = s[p++];
            continue;
        }
        if ((s[p] == ' ' || s[p] == '-') && len > 0 && len % 4 == 0 && p + 1 < n &&
            is_alnum(s[p + 1])) {
            p++;
            continue;
        }
        break;
    }
    if (len != want || !end_ok(s, n, p))
        return 0;
    return iban_chars_ok(c, len) ? p : 0;
}

/*
 * End of what looks like an IBAN that failed its checks (a known country,
 * two digits, then groups holding a digit or capitals), so that no card or
 * phone number is found inside it; 0 when it does not look like one.
 */
static size_t iban_shape_end(uchar *s, size_t n, size_t i)
{
    if (i + 4 > n || !is_alpha(s[i + 1]) || !is_digit(s[i + 2]) || !is_digit(s[i + 3]) ||
        !iban_length(s[i], s[i + 1]))
        return 0;
    size_t p = i, last = i;
    for (;;) {
        size_t b = p;
        int digit = 0, lower = 0;
        while (p < n && is_alnum(s[p])) {
            digit |= is_digit(s[p]);
            lower |= s[p] >= 'a';
            p++;
        }
        if (p == b || (b > i && !digit && lower))
            break;
        last = p;
        if (p + 1 < n && (s[p] == ' ' || s[p] == '-') && is_alnum(s[p + 1]))
            p++;
        else
            break;
    }
    return last;
}

/* ---- dates of birth ---- */

static long days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

static int days_in_month(long y, unsigned m)
{
    static const unsigned char dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

/*
 * A plausible birth date: a real calendar day, in 1900 or later, and not
 * after today (UTC).
 */
static int birth_date_ok(long y, unsigned m, unsigned d)
{
    if (y < 1900 || m < 1 || m > 12 || d < 1 || (int)d > days_in_month(y, m))
        return 0;
    long today = (long)(time(NULL) / 86400);
    return days_from_civil(y, m, d) <= today;
}

int kl__pii_birth_days_ok(int64_t days)
{
    long today = (long)(time(NULL) / 86400);
    return days >= days_from_civil(1900, 1, 1) && days <= today;
}

static unsigned digits_value(uchar *s, size_t b, size_t e)
{
    unsigned v = 0;
    for (size_t k = b; k < e; k++)
        v = v * 10 + (s[k] - '0');
    return v;
}

/* yyyy-mm-dd, yyyy/mm/dd, dd.mm.yyyy, mm/dd/yyyy or dd/mm/yyyy (either reading), with an optional
 * time. */
static size_t date_at(uchar *s, size_t n, size_t i)
{
    struct groups g;
    groups_at(s, n, i, "-/.", &g);
    if (g.n < 3 || g.sep[0] != g.sep[1])
        return 0;
    size_t b1 = i, e1 = g.end[0], b2 = e1 + 1, e2 = g.end[1], b3 = e2 + 1, e3 = g.end[2];
    int ok = 0;
    if (g.len[0] == 4 && g.len[1] <= 2 && g.len[2] <= 2) {
        ok = birth_date_ok(digits_value(s, b1, e1), digits_value(s, b2, e2),
                           digits_value(s, b3, e3));
    } else if (g.len[0] <= 2 && g.len[1] <= 2 && g.len[2] == 4) {
        long y = digits_value(s, b3, e3);
        unsigned a = digits_value(s, b1, e1), b = digits_value(s, b2, e2);
        ok = birth_date_ok(y, a, b) || birth_date_ok(y, b, a);
    }
    if (!ok)
        return 0;
    size_t e = e3;
    /* A time of day after the date ("T12:00:00", " 00:00:00") belongs to it. */
    if (e + 3 < n && (s[e] == 'T' || s[e] == ' ') && is_digit(s[e + 1]) && is_digit(s[e + 2]) &&
        s[e + 3] == ':') {
        e++;
        while (e < n && (is_digit(s[e]) || s[e] == ':' || s[e] == '.' || s[e] == 'Z' ||
                         s[e] == '+' || s[e] == '-'))
            e++;
    }
    return num_end_ok(s, n, e) ? e : 0;
}

/*
 * Context words (Presidio's context enhancement, on the 5 words before a
 * match): one of words, ignoring case, among the 5 words before i. Then a
 * weak pattern (a date, nine bare digits) is taken as the entity the words
 * name, as it is in a column with such a name.
 */
static const char *const dob_words[] = {"dob", "born", "birth", "birthday", "birthdate", NULL};
static const char *const ssn_words[] = {"ssn", "ssns", "social", "security", "ssid", NULL};
static const char *const phone_words[] = {"phone",     "telephone", "tel", "cell", "mobile",
                                          "cellphone", "call",      "fax", NULL};

static int context_before(uchar *s, size_t i, const char *const *words)
{
    size_t p = i;
    for (int w = 0; w < 5; w++) {
        while (p > 0 && !is_alpha(s[p - 1]))
            p--;
        if (p == 0)
            return 0;
        size_t e = p;
        while (p > 0 && is_alpha(s[p - 1]))
            p--;
        for (size_t k = 0; words[k]; k++) {
            size_t len = strlen(words[k]);
            if (len == e - p && prefix_ci(s, e, p, words[k]))
                return 1;
        }
    }
    return 0;
}

/* ---- shapes that count only when the column's name names the entity ---- */

static int person_shape(uchar *s, size_t b, size_t e)
{
    if (e - b < 2 || e - b > 80)
        return 0;
    int tokens = 0, letters = 0;
    for (size_t k = b; k < e; k++) {
        unsigned c = s[k];
        if (c == ' ') {
            if (!letters)
                return 0;
            letters = 0;
            continue;
        }
        if (is_alpha(c) || c >= 0x80) {
            if (!letters)
                tokens++;
            letters++;
            continue;
        }
        if (c != '\'' && c != '-' && c != '.' && c != ',')
            return 0;
    }
    return letters > 0 && tokens <= 5;
}

static int count_classes(uchar *s, size_t b, size_t e, int *digits, int *letters, int *spaces)
{
    *digits = *letters = *spaces = 0;
    for (size_t k = b; k < e; k++) {
        *digits += is_digit(s[k]);
        *letters += is_alpha(s[k]) || s[k] >= 0x80;
        *spaces += s[k] == ' ';
    }
    return 1;
}

static enum kl_pii_entity context_shape(uchar *s, size_t b, size_t e, unsigned hint)
{
    int dg, lt, sp;
    count_classes(s, b, e, &dg, &lt, &sp);
    size_t len = e - b;
    if ((hint & BIT(KL_PII_ENTITY_PERSON)) && person_shape(s, b, e))
        return KL_PII_ENTITY_PERSON;
    if ((hint & BIT(KL_PII_ENTITY_PASSPORT)) && len >= 6 && len <= 12 && dg &&
        (size_t)(dg + lt) == len)
        return KL_PII_ENTITY_PASSPORT;
    if ((hint & BIT(KL_PII_ENTITY_POSTCODE)) && len >= 3 && len <= 10 && dg) {
        int ok = 1;
        for (size_t k = b; k < e && ok; k++)
            ok = is_alnum(s[k]) || s[k] == ' ' || s[k] == '-';
        if (ok)
            return KL_PII_ENTITY_POSTCODE;
    }
    if ((hint & BIT(KL_PII_ENTITY_ADDRESS)) && len >= 5 && len <= 160 && dg && lt && sp)
        return KL_PII_ENTITY_ADDRESS;
    return KL_PII_ENTITY_NONE;
}

/* ---- the scanner ---- */

struct cand {
    size_t end;
    double score;
    enum kl_pii_entity entity;
};

static void consider(struct cand *b, size_t end, double score, enum kl_pii_entity e)
{
    if (end && (end > b->end || (end == b->end && score > b->score))) {
        b->end = end;
        b->score = score;
        b->entity = e;
    }
}

#define CONTEXT_ONLY                                                                               \
    (BIT(KL_PII_ENTITY_PERSON) | BIT(KL_PII_ENTITY_ADDRESS) | BIT(KL_PII_ENTITY_POSTCODE) |        \
     BIT(KL_PII_ENTITY_PASSPORT))

static int is_space(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t kl_pii_find(const char *str, size_t n, unsigned hint, kl_pii_match *out, size_t max)
{
    uchar *s = (uchar *)str;
    size_t count = 0;
    if (hint & CONTEXT_ONLY) {
        size_t b = 0, e = n;
        while (b < e && is_space(s[b]))
            b++;
        while (e > b && is_space(s[e - 1]))
            e--;
        enum kl_pii_entity ent = b < e ? context_shape(s, b, e, hint) : KL_PII_ENTITY_NONE;
        if (ent != KL_PII_ENTITY_NONE) {
            if (max)
                out[0] = (kl_pii_match){ent, b, e, 0.6};
            return 1;
        }
    }
    int bare_ssn = (hint & BIT(KL_PII_ENTITY_US_SSN)) != 0;
    int bare_phone = (hint & BIT(KL_PII_ENTITY_PHONE)) != 0;
    int dob = (hint & BIT(KL_PII_ENTITY_DATE_OF_BIRTH)) != 0;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (i > 0 && is_word(s[i - 1]) && is_word(c)) {
            i++;
            continue;
        }
        struct cand b = {0, 0, KL_PII_ENTITY_NONE};
        size_t skip = 0, e;
        double sc;
        int bare;
        /*
         * Most words are plain words: look at the alphanumeric run and the
         * byte after it first, and call only the matchers that could start
         * with such a run (an email needs '@' or a local-part symbol next,
         * an IPv6 address a ':' after at most four hex digits, ...).
         */
        size_t we = i;
        while (we < n && is_alnum(s[we]))
            we++;
        size_t run = we - i;
        unsigned nx = we < n ? s[we] : 0;
        int colon6 = nx == ':' && run <= 4;
        if (run && (nx == '@' || local_symbol[nx])) {
            e = email_at(s, n, i, &skip);
            consider(&b, e, 1.0, KL_PII_ENTITY_EMAIL);
        }
        if (is_digit(c)) {
            int sep = nx == ' ' || nx == '-' || nx == '.' || nx == '/';
            if (num_start_ok(s, i) && (sep || (run >= 9 && !is_word(nx)))) {
                consider(&b, card_at(s, n, i), 1.0, KL_PII_ENTITY_CREDIT_CARD);
                e = ssn_at(s, n, i, bare_ssn || (run == 9 && context_before(s, i, ssn_words)), &sc);
                consider(&b, e, sc, KL_PII_ENTITY_US_SSN);
                if (nx != '.' || run == 3) {
                    consider(&b, phone_us_at(s, n, i), 0.75, KL_PII_ENTITY_PHONE);
                }
                consider(&b, phone_national_at(s, n, i), 0.75, KL_PII_ENTITY_PHONE);
                if (bare_phone || (run >= 10 && context_before(s, i, phone_words)))
                    consider(&b, phone_bare_at(s, n, i), 0.6, KL_PII_ENTITY_PHONE);
                if (nx == '.') {
                    e = ipv4_at(s, n, i);
                    if (e) {
                        e = prefix_len_at(s, n, e, 32);
                        if (end_ok(s, n, e) &&
                            !(e + 1 < n && (s[e] == '.' || s[e] == '-') && is_alnum(s[e + 1])))
                            consider(&b, e, 1.0, KL_PII_ENTITY_IP_ADDRESS);
                    }
                }
                if (nx == '-' || nx == '/' || nx == '.') {
                    e = date_at(s, n, i);
                    if (e && (dob || context_before(s, i, dob_words)))
                        consider(&b, e, KL__PII_DOB_SCORE, KL_PII_ENTITY_DATE_OF_BIRTH);
                }
            }
        } else if (is_alpha(c)) {
            unsigned l = c | 32u;
            if ((l == 'h' || l == 'f' || l == 'w') && run <= 5 && (nx == ':' || nx == '.')) {
                e = url_at(s, n, i, &sc);
                consider(&b, e, sc, KL_PII_ENTITY_URL);
            }
            if (run >= 4 && is_digit(s[i + 2]) && is_digit(s[i + 3])) {
                e = iban_at(s, n, i);
                consider(&b, e, 1.0, KL_PII_ENTITY_IBAN);
                if (!e && !skip)
                    skip = iban_shape_end(s, n, i);
            }
        } else if (c == '+') {
            if (num_start_ok(s, i)) {
                consider(&b, phone_intl_at(s, n, i), 0.9, KL_PII_ENTITY_PHONE);
                if (bare_phone || context_before(s, i, phone_words))
                    consider(&b, phone_bare_at(s, n, i), 0.6, KL_PII_ENTITY_PHONE);
            }
        } else if (c == '(') {
            if (num_start_ok(s, i))
                consider(&b, phone_us_at(s, n, i), 0.75, KL_PII_ENTITY_PHONE);
        }
        if ((is_hex(c) && colon6) || (c == ':' && i + 1 < n && s[i + 1] == ':')) {
            /* Not from inside a longer colon run, so "a::b::1" is not read as "b::1". */
            if (i == 0 || (!is_word(s[i - 1]) && s[i - 1] != ':' && s[i - 1] != '.')) {
                e = ipv6_at(s, n, i, &bare);
                if (e) {
                    e = prefix_len_at(s, n, e, 128);
                    if (!bare && end_ok(s, n, e) &&
                        !(e + 1 < n && s[e] == '.' && is_alnum(s[e + 1])))
                        consider(&b, e, 1.0, KL_PII_ENTITY_IP_ADDRESS);
                }
            }
        }
        if (b.end) {
            if (count < max)
                out[count] = (kl_pii_match){b.entity, i, b.end, b.score};
            count++;
            i = b.end;
            continue;
        }
        if (skip) {
            i = skip;
            continue;
        }
        if (is_word(c))
            while (i < n && is_word(s[i]))
                i++;
        else
            i++;
    }
    return count;
}
