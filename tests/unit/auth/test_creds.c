/*
 * The credential store: deep copies, replacement in place, removal, the
 * reset that keeps only root keys, and growth past the first table size.
 */
#include "test_auth.h"

#include <stdio.h>

static auth_cred_t cred(char *akid, char *secret, auth_principal_type_t type)
{
    return (auth_cred_t){
        .access_key_id = akid,
        .secret_access_key = secret,
        .account_id = "000000000000",
        .principal_arn = "arn:aws:iam::000000000000:user/alice",
        .user_id = "AIDAEXAMPLE",
        .type = type,
        .active = true,
    };
}

static void test_put_copies(void **state)
{
    (void)state;
    auth_store_t *s = auth_store_create();
    char akid[] = "AKIAALICE", secret[] = "secret1", session[] = "alice-session";
    auth_cred_t c = cred(akid, secret, AUTH_PRINCIPAL_USER);
    c.session_name = session;
    int owner;
    c.owner = &owner;
    c.expires_ms = 42;
    auth_cred_t *stored = auth_store_put(s, &c);
    assert_non_null(stored);
    assert_ptr_not_equal(stored->access_key_id, akid);
    /* The caller's buffers can change or die: the store kept its own. */
    secret[0] = 'X';
    session[0] = 'X';
    auth_cred_t *got = auth_store_lookup(s, STRV_LIT("AKIAALICE"));
    assert_ptr_equal(got, stored);
    assert_string_equal(got->secret_access_key, "secret1");
    assert_string_equal(got->session_name, "alice-session");
    assert_string_equal(got->principal_arn, "arn:aws:iam::000000000000:user/alice");
    assert_null(got->session_token);
    assert_null(got->source_arn);
    assert_ptr_equal(got->owner, &owner);
    assert_int_equal(got->expires_ms, 42);
    assert_int_equal(got->type, AUTH_PRINCIPAL_USER);
    assert_null(auth_store_lookup(s, STRV_LIT("AKIAALIC")));
    assert_null(auth_store_lookup(s, STRV_LIT("AKIAALICE2")));
    assert_null(auth_store_lookup(s, STRV_NULL));
    auth_store_free(s);
}

static void test_replace_in_place(void **state)
{
    (void)state;
    auth_store_t *s = auth_store_create();
    auth_cred_t c = cred("AKIABOB", "old", AUTH_PRINCIPAL_USER);
    auth_cred_t *first = auth_store_put(s, &c);
    c.secret_access_key = "new";
    c.active = false;
    auth_cred_t *second = auth_store_put(s, &c);
    /* Holders of the old pointer see the new contents, never freed memory. */
    assert_ptr_equal(first, second);
    assert_string_equal(first->secret_access_key, "new");
    assert_false(first->active);
    /* Putting the stored credential itself is a no-op, not a use after free. */
    auth_cred_t *third = auth_store_put(s, first);
    assert_ptr_equal(third, first);
    assert_string_equal(third->secret_access_key, "new");
    auth_store_free(s);
}

static void test_remove(void **state)
{
    (void)state;
    auth_store_t *s = auth_store_create();
    auth_cred_t root = cred("test", "test", AUTH_PRINCIPAL_ROOT);
    auth_cred_t user = cred("AKIAUSER", "u", AUTH_PRINCIPAL_USER);
    auth_cred_t role = cred("ASIAROLE", "r", AUTH_PRINCIPAL_ASSUMED_ROLE);
    role.session_token = "tok";
    auth_store_put(s, &root);
    auth_store_put(s, &user);
    auth_store_put(s, &role);
    auth_store_remove(s, STRV_LIT("AKIAUSER"));
    assert_null(auth_store_lookup(s, STRV_LIT("AKIAUSER")));
    auth_store_remove(s, STRV_LIT("AKIAUSER")); /* twice is fine */
    auth_store_remove(s, STRV_LIT("nobody"));
    assert_non_null(auth_store_lookup(s, STRV_LIT("ASIAROLE")));
    auth_store_put(s, &user);
    auth_store_remove_non_root(s);
    assert_non_null(auth_store_lookup(s, STRV_LIT("test")));
    assert_null(auth_store_lookup(s, STRV_LIT("AKIAUSER")));
    assert_null(auth_store_lookup(s, STRV_LIT("ASIAROLE")));
    auth_store_free(s);
    auth_store_free(NULL);
    auth_store_remove(NULL, STRV_LIT("x"));
    auth_store_remove_non_root(NULL);
}

static void test_many(void **state)
{
    (void)state;
    auth_store_t *s = auth_store_create();
    char akid[32], secret[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(akid, sizeof akid, "AKIA%08d", i);
        snprintf(secret, sizeof secret, "secret-%d", i);
        auth_cred_t c = cred(akid, secret, i % 3 ? AUTH_PRINCIPAL_USER : AUTH_PRINCIPAL_ROOT);
        auth_store_put(s, &c);
    }
    for (int i = 0; i < 2000; i += 2) {
        snprintf(akid, sizeof akid, "AKIA%08d", i);
        auth_store_remove(s, strv_from(akid));
    }
    for (int i = 0; i < 2000; i++) {
        snprintf(akid, sizeof akid, "AKIA%08d", i);
        snprintf(secret, sizeof secret, "secret-%d", i);
        auth_cred_t *c = auth_store_lookup(s, strv_from(akid));
        if (i % 2 == 0) {
            assert_null(c);
        } else {
            assert_non_null(c);
            assert_string_equal(c->secret_access_key, secret);
        }
    }
    auth_store_remove_non_root(s);
    for (int i = 1; i < 2000; i += 2) {
        snprintf(akid, sizeof akid, "AKIA%08d", i);
        auth_cred_t *c = auth_store_lookup(s, strv_from(akid));
        if (i % 3 == 0)
            assert_non_null(c);
        else
            assert_null(c);
    }
    auth_store_free(s);
}

int run_creds_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_copies),
        cmocka_unit_test(test_replace_in_place),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests_name("creds", tests, NULL, NULL);
}
