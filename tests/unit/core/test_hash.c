/* SHA-256 against the FIPS 180-2 test vectors (appendix B), checked with Python's hashlib. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keel/hash.h"

static void digest_hex(const void *data, size_t n, char hex[KL_SHA256_HEX_LEN + 1])
{
    uint8_t d[KL_SHA256_LEN];
    assert_int_equal(kl_sha256(data, n, d), 0);
    kl_hex(d, sizeof d, hex);
}

static void test_sha256_abc_matches_fips_vector(void **state)
{
    (void)state;
    char hex[KL_SHA256_HEX_LEN + 1];
    digest_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_sha256_empty_message_matches_known_digest(void **state)
{
    (void)state;
    char hex[KL_SHA256_HEX_LEN + 1];
    digest_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sha256_448_bit_message_matches_fips_vector(void **state)
{
    (void)state;
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(strlen(m), 56);
    char hex[KL_SHA256_HEX_LEN + 1];
    digest_hex(m, strlen(m), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_million_a_streamed_in_uneven_pieces(void **state)
{
    (void)state;
    static char buf[1000];
    memset(buf, 'a', sizeof buf);
    kl_sha256_ctx h;
    assert_int_equal(kl_sha256_init(&h), 0);
    /* Pieces of 0..999 bytes, so blocks straddle update boundaries in every way. */
    size_t left = 1000000, k = 0;
    while (left > 0) {
        size_t piece = (k * 37) % 1000;
        if (piece > left)
            piece = left;
        kl_sha256_update(&h, buf, piece);
        left -= piece;
        k++;
    }
    uint8_t d[KL_SHA256_LEN];
    kl_sha256_final(&h, d);
    assert_null(h.ctx);
    char hex[KL_SHA256_HEX_LEN + 1];
    kl_hex(d, sizeof d, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_sha256_streaming_equals_one_shot(void **state)
{
    (void)state;
    uint8_t msg[300];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 131 + 7);
    uint8_t one[KL_SHA256_LEN], two[KL_SHA256_LEN];
    assert_int_equal(kl_sha256(msg, sizeof msg, one), 0);
    for (size_t cut = 0; cut <= sizeof msg; cut += 13) {
        kl_sha256_ctx h;
        assert_int_equal(kl_sha256_init(&h), 0);
        kl_sha256_update(&h, msg, cut);
        kl_sha256_update(&h, msg + cut, sizeof msg - cut);
        kl_sha256_final(&h, two);
        assert_memory_equal(one, two, KL_SHA256_LEN);
    }
}

static void test_hex_is_lowercase_and_nul_terminated(void **state)
{
    (void)state;
    const uint8_t b[] = {0x00, 0x0f, 0xa5, 0xff};
    char out[9];
    memset(out, 'x', sizeof out);
    kl_hex(b, sizeof b, out);
    assert_string_equal(out, "000fa5ff");
    kl_hex(b, 0, out);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_abc_matches_fips_vector),
        cmocka_unit_test(test_sha256_empty_message_matches_known_digest),
        cmocka_unit_test(test_sha256_448_bit_message_matches_fips_vector),
        cmocka_unit_test(test_sha256_million_a_streamed_in_uneven_pieces),
        cmocka_unit_test(test_sha256_streaming_equals_one_shot),
        cmocka_unit_test(test_hex_is_lowercase_and_nul_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
