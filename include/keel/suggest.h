/*
 * "Did you mean ...?": the nearest name to a misspelt one, for unknown
 * commands, options and keel.yaml keys.
 */
#ifndef KEEL_SUGGEST_H
#define KEEL_SUGGEST_H

#include <stddef.h>

/*
 * Optimal string alignment distance (Levenshtein plus adjacent
 * transpositions) between a and b, case-sensitive. Strings longer than 255
 * bytes are compared on their first 255 bytes.
 */
size_t kl_edit_distance(const char *a, const char *b);

/*
 * The candidate nearest to word, or NULL when none is close enough: the
 * distance must be at most max(2, strlen(word) / 3) and smaller than
 * strlen(word) (so "x" never suggests "y"). Ties go to the earlier candidate.
 * A candidate that starts with word (a prefix, "comp" for "compare") counts
 * as distance 1. Returns a pointer into candidates.
 */
const char *kl_suggest(const char *word, const char *const *candidates, size_t n);

#endif
