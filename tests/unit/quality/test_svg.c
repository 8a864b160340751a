/*
 * Tests of the SVG chart writer: one <svg> element per chart, one shape per
 * bar or cell, text escaped, no URL, sizes scaled to the data.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keel/svg.h"

static void capture_begin(FILE **fp, size_t *len, char **buf)
{
    *buf = NULL;
    *fp = open_memstream(buf, len);
    assert_non_null(*fp);
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_svg_escape_handles_the_five_xml_characters(void **state)
{
    (void)state;
    FILE *fp;
    char *buf;
    size_t len;
    capture_begin(&fp, &len, &buf);
    kl_svg_escape(fp, "a<b>&\"c'");
    fclose(fp);
    assert_string_equal(buf, "a&lt;b&gt;&amp;&quot;c&#39;");
    free(buf);
}

static void test_svg_histogram_draws_one_bar_per_nonempty_bin(void **state)
{
    (void)state;
    const size_t counts[] = {1, 0, 4, 2};
    FILE *fp;
    char *buf;
    size_t len;
    capture_begin(&fp, &len, &buf);
    kl_svg_histogram(fp, counts, 4, 0, 8, 400, 116);
    fclose(fp);
    assert_int_equal(count(buf, "<svg"), 1);
    assert_int_equal(count(buf, "</svg>"), 1);
    assert_int_equal(count(buf, "<rect"), 3);
    /* the tallest bar (4) fills the plot height, 116 - 16 = 100; the 2 is half of it */
    assert_non_null(strstr(buf, "height=\"100.00\""));
    assert_non_null(strstr(buf, "height=\"50.00\""));
    assert_null(strstr(buf, "http"));
    free(buf);
}

static void test_svg_bars_escape_labels(void **state)
{
    (void)state;
    const char *labels[] = {"<script>", "b"};
    const double v[] = {3, NAN};
    FILE *fp;
    char *buf;
    size_t len;
    capture_begin(&fp, &len, &buf);
    kl_svg_bars(fp, labels, v, 2, 300);
    fclose(fp);
    assert_null(strstr(buf, "<script>"));
    assert_non_null(strstr(buf, "&lt;script&gt;"));
    assert_int_equal(count(buf, "<rect"), 2);
    assert_null(strstr(buf, "nan"));
    free(buf);
}

static void test_svg_heatmap_has_one_cell_per_pair_and_grey_for_nan(void **state)
{
    (void)state;
    const char *labels[] = {"a", "b", "c"};
    const double v[] = {1, -1, NAN, -1, 1, 0, NAN, 0, 1};
    FILE *fp;
    char *buf;
    size_t len;
    capture_begin(&fp, &len, &buf);
    kl_svg_heatmap(fp, labels, v, 3, 20);
    fclose(fp);
    assert_int_equal(count(buf, "<rect"), 9);
    assert_int_equal(count(buf, "rgb(255,0,0)"), 3);     /* +1: full red */
    assert_int_equal(count(buf, "rgb(0,0,255)"), 2);     /* -1: full blue */
    assert_int_equal(count(buf, "rgb(220,220,220)"), 2); /* NaN */
    assert_int_equal(count(buf, "rgb(255,255,255)"), 2); /* 0: white */
    free(buf);
}

static void test_svg_line_scales_points_into_the_box(void **state)
{
    (void)state;
    const double x[] = {0, 1, 2}, y[] = {0, 10, 5};
    FILE *fp;
    char *buf;
    size_t len;
    capture_begin(&fp, &len, &buf);
    kl_svg_line(fp, x, y, 3, 104, 104);
    fclose(fp);
    /* x 0..2 -> 2..102, y 0..10 -> 102..2 (SVG's y grows downwards) */
    assert_non_null(strstr(buf, "points=\"2.00,102.00 52.00,2.00 102.00,52.00 \""));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svg_escape_handles_the_five_xml_characters),
        cmocka_unit_test(test_svg_histogram_draws_one_bar_per_nonempty_bin),
        cmocka_unit_test(test_svg_bars_escape_labels),
        cmocka_unit_test(test_svg_heatmap_has_one_cell_per_pair_and_grey_for_nan),
        cmocka_unit_test(test_svg_line_scales_points_into_the_box),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
