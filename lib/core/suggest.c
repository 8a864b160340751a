/*
 * Nearest-name suggestions. The distance is the optimal string alignment
 * variant of Damerau-Levenshtein (a swapped pair of letters costs 1, as in
 * git's help.c), computed with three rolling rows on the stack, so it never
 * allocates. Names are short (commands, options, YAML keys), so the O(n*m)
 * table is cheap.
 */
#include <string.h>

#include "keel/suggest.h"
#include "core/common.h"

#define MAXLEN 255

size_t kl_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > MAXLEN)
        n = MAXLEN;
    if (m > MAXLEN)
        m = MAXLEN;
    size_t rows[3][MAXLEN + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

const char *kl_suggest(const char *word, const char *const *candidates, size_t n)
{
    size_t len = strlen(word);
    if (len == 0)
        return NULL;
    size_t limit = len / 3 > 2 ? len / 3 : 2;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        size_t d = kl_edit_distance(word, candidates[i]);
        if (d > 1 && strncmp(candidates[i], word, len) == 0)
            d = 1;
        if (d <= limit && d < len && d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}
