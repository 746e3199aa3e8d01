/* Unit tests for the CloudWatch Logs filter pattern language
 * (services/logs/filter.c): every form the guide documents, each with
 * messages it must match and messages it must not, and the patterns AWS
 * rejects with their messages.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html */
#include "services/logs/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static logs_pattern_t *compile_ok(const char *text)
{
    logs_pattern_t *p = NULL;
    char err[256] = "";
    int rc = logs_pattern_compile(text, strlen(text), &p, err, sizeof err);
    if (rc != 0)
        fail_msg("pattern %s did not compile: %s", text, err);
    return p;
}

static void expect(const char *pattern, const char *msg, bool want)
{
    logs_pattern_t *p = compile_ok(pattern);
    bool got = logs_pattern_match(p, msg, strlen(msg));
    logs_pattern_free(p);
    if (got != want)
        fail_msg("pattern %s on message %s: expected %s", pattern, msg, want ? "a match" : "no match");
}

static void expect_error(const char *pattern, const char *want_msg)
{
    logs_pattern_t *p = NULL;
    char err[256] = "";
    int rc = logs_pattern_compile(pattern, strlen(pattern), &p, err, sizeof err);
    assert_int_equal(rc, KYOKA_EINVAL);
    assert_null(p);
    if (want_msg)
        assert_string_equal(err, want_msg);
}

/* ==== terms ==== */

static void test_empty_matches_everything(void **state)
{
    (void)state;
    expect("", "anything", true);
    expect("   ", "anything", true);
    expect("", "", true);
    assert_true(logs_pattern_matches_all(NULL));
    logs_pattern_t *p = compile_ok(" ");
    assert_true(logs_pattern_matches_all(p));
    logs_pattern_free(p);
}

static void test_single_term(void **state)
{
    (void)state;
    /* The guide's example: ERROR matches both, as a substring. */
    expect("ERROR", "[ERROR] A fatal exception has occurred", true);
    expect("ERROR", "Exiting with ERRORCODE: -1", true);
    expect("ERROR", "all good", false);
    /* Case-sensitive. */
    expect("ERROR", "error: lower case", false);
    expect("error", "ERROR", false);
}

static void test_all_terms(void **state)
{
    (void)state;
    expect("ERROR Exception", "[ERROR] Caught IllegalArgumentException", true);
    expect("ERROR Exception", "[ERROR] Unhandled Exception", true);
    expect("ERROR Exception", "[ERROR] only this", false);
    expect("ERROR Exception", "Exception only", false);
    expect("Failed to process the request", "[WARN] Failed to process the request", true);
    expect("Failed to process the request", "[ERROR] Unable to continue: Failed to process the request", true);
    expect("Failed to process the request", "Failed to process", false);
    /* Terms need not be in order or adjacent. */
    expect("request Failed", "Failed to process the request", true);
}

static void test_quoted_phrase(void **state)
{
    (void)state;
    expect("\"out of memory\"", "fatal: out of memory now", true);
    expect("\"out of memory\"", "memory out of", false);
    expect("\"[ERROR]\"", "2024 [ERROR] x", true);
    expect("\"[ERROR]\"", "2024 ERROR x", false);
    expect("\"say \\\"hi\\\"\"", "they say \"hi\" here", true);
    expect("\"a b\" c", "a b c", true);
    expect("\"a b\" c", "a  b c", false);
}

static void test_exclusion(void **state)
{
    (void)state;
    /* The guide: ERROR -WARN matches "ERROR message" only. */
    expect("ERROR -WARN", "ERROR WARN message", false);
    expect("ERROR -WARN", "ERROR message", true);
    expect("ERROR -WARN", "WARN message", false);
    /* "ERROR" - "Exiting", as the guide writes it. */
    expect("\"ERROR\" - \"Exiting\"", "Exiting with ERRORCODE: -1", false);
    expect("\"ERROR\" - \"Exiting\"", "[ERROR] A fatal exception", true);
    expect("-DEBUG", "INFO started", true);
    expect("-DEBUG", "DEBUG verbose", false);
    expect("-\"health check\"", "GET /health-check", true);
    expect("-\"health check\"", "a health check", false);
}

static void test_alternatives(void **state)
{
    (void)state;
    /* The guide: ?ERROR ?WARN matches all three examples. */
    expect("?ERROR ?WARN", "ERROR WARN message", true);
    expect("?ERROR ?WARN", "ERROR message", true);
    expect("?ERROR ?WARN", "WARN message", true);
    expect("?ERROR ?WARN", "INFO message", false);
    /* Mixed with required and excluded terms. */
    expect("?ERROR ?WARN disk", "WARN disk full", true);
    expect("?ERROR ?WARN disk", "WARN memory", false);
    expect("?ERROR ?WARN -retry", "ERROR will retry", false);
    expect("?\"out of\" ?crash", "went out of bounds", true);
}

static void test_term_errors(void **state)
{
    (void)state;
    expect_error("\"\"", "Invalid filter pattern: Invalid character(s) in term '\"\"'");
    expect_error("abc?", "Invalid filter pattern: Invalid character(s) in term 'abc?'");
    expect_error("a=b", "Invalid filter pattern: Invalid character(s) in term 'a=b'");
    expect_error("\"unterminated", NULL);
    expect_error("-", NULL);
    /* Unquoted punctuation that is no syntax is accepted. */
    expect("user@example.com", "login user@example.com ok", true);
    expect("/var/log", "open /var/log/x", true);
}

/* ==== JSON ==== */

static const char *doc =
    "{\"eventType\":\"UpdateTrail\",\"sourceIPAddress\":\"111.111.111.111\","
    "\"arrayKey\":[\"value\",\"another value\"],"
    "\"objectList\":[{\"name\":\"a\",\"id\":1},{\"name\":\"b\",\"id\":2}],"
    "\"SomeObject\":null,\"ThisFlag\":true,\"OtherFlag\":false,\"latency\":512,\"ratio\":0.25,"
    "\"code\":\"404\",\"user\":{\"id\":1,\"email\":\"John.Stiles@example.com\"},"
    "\"coordinates\":[[0,1,2],[4,5,6]],\"actions\":[\"GET\",\"PUT\",\"DELETE\"]}";

static void test_json_equality(void **state)
{
    (void)state;
    expect("{ $.eventType = \"UpdateTrail\" }", doc, true);
    expect("{ $.eventType = UpdateTrail }", doc, true);
    expect("{ $.eventType = \"updatetrail\" }", doc, false);
    expect("{ $.eventType != \"UpdateTrail\" }", doc, false);
    expect("{ $.eventType != \"DeleteTrail\" }", doc, true);
    expect("{$.eventType=\"UpdateTrail\"}", doc, true);
    /* A missing member never compares, not even with !=. */
    expect("{ $.missing != \"x\" }", doc, false);
    expect("{ $.missing = \"x\" }", doc, false);
}

static void test_json_wildcards(void **state)
{
    (void)state;
    expect("{ $.sourceIPAddress != 123.123.* }", doc, true);
    expect("{ $.sourceIPAddress = 111.111.* }", doc, true);
    expect("{ $.eventType = *Trail }", doc, true);
    expect("{ $.eventType = Update* }", doc, true);
    expect("{ $.eventType = *date* }", doc, true);
    expect("{ $.eventType = *Event }", doc, false);
    /* An inner star is literal: "Ev*ent will only match the actual string". */
    expect("{ $.eventType = Upd*Trail }", doc, false);
    expect("{ $.eventType = \"Upd*Trail\" }", "{\"eventType\":\"Upd*Trail\"}", true);
    /* "= *" is "has any value". */
    expect("{ $.latency = * }", doc, true);
    expect("{ $.nothing = * }", doc, false);
}

static void test_json_numbers(void **state)
{
    (void)state;
    expect("{ $.latency >= 500 }", doc, true);
    expect("{ $.latency > 512 }", doc, false);
    expect("{ $.latency < 1000 }", doc, true);
    expect("{ $.latency <= 512 }", doc, true);
    expect("{ $.latency = 512 }", doc, true);
    expect("{ $.latency = 512.0 }", doc, true);
    expect("{ $.latency != 500 }", doc, true);
    expect("{ $.latency > +100 }", doc, true);
    expect("{ $.latency < 10e3 }", doc, true);
    expect("{ $.ratio < 10e-1 }", doc, true);
    expect("{ $.ratio > -1 }", doc, true);
    /* A number in a string compares equal as a number, never by < or >. */
    expect("{ $.code = 404 }", doc, true);
    expect("{ $.code > 400 }", doc, false);
    /* Relational operators on strings do not match. */
    expect("{ $.eventType > 1 }", doc, false);
}

static void test_json_selectors(void **state)
{
    (void)state;
    expect("{ $.arrayKey[0] = \"value\" }", doc, true);
    expect("{ $.arrayKey[1] = \"another value\" }", doc, true);
    expect("{ $.arrayKey[2] = \"value\" }", doc, false);
    expect("{ $.objectList[1].id = 2 }", doc, true);
    expect("{ $.objectList[0].id = 2 }", doc, false);
    expect("{ $.coordinates[1][2] = 6 }", doc, true);
    expect("{ $.user.email = \"John.Stiles@example.com\" }", doc, true);
    /* A selector on an array or object does not compare. */
    expect("{ $.arrayKey = \"value\" }", doc, false);
    expect("{ $.arrayKey != 1 }", doc, false);
    expect("{ $.user = 1 }", doc, false);
    /* Indexing something that is not an array is false. */
    expect("{ $.eventType[0] = U }", doc, false);
}

static void test_json_keywords(void **state)
{
    (void)state;
    expect("{ $.SomeObject IS NULL }", doc, true);
    expect("{ $.eventType IS NULL }", doc, false);
    expect("{ $.missing IS NULL }", doc, false);
    expect("{ $.SomeOtherObject NOT EXISTS }", doc, true);
    expect("{ $.SomeObject NOT EXISTS }", doc, false);
    expect("{ $.ThisFlag IS TRUE }", doc, true);
    expect("{ $.ThisFlag IS FALSE }", doc, false);
    expect("{ $.OtherFlag IS FALSE }", doc, true);
    expect("{ $.OtherFlag IS TRUE }", doc, false);
    expect("{ $.eventType IS TRUE }", doc, false);
}

static void test_json_compound(void **state)
{
    (void)state;
    const char *d2 = "{\"user\":{\"id\":1,\"email\":\"John.Stiles@example.com\"},"
                     "\"users\":[{\"id\":2,\"email\":\"John.Doe@example.com\"},{\"id\":3,\"email\":\"Jane.Doe@example.com\"}],"
                     "\"actions\":[\"GET\",\"PUT\",\"DELETE\"],\"coordinates\":[[0,1,2],[4,5,6],[7,8,9]]}";
    /* The guide's four compound examples, with its verdicts. */
    expect("{ ($.user.id = 1) && ($.users[0].email = \"John.Doe@example.com\") }", d2, true);
    expect("{ ($.user.id = 2 && $.users[0].email = \"nonmatch\") || $.actions[2] = \"GET\" }", d2, false);
    expect("{ $.user.email = \"John.Stiles@example.com\" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }",
           d2, true);
    expect("{ ($.user.email = \"John.Stiles@example.com\" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }",
           d2, false);
    /* The brief's own example. */
    expect("{ $.level = \"ERROR\" && $.ms > 100 }", "{\"level\":\"ERROR\",\"ms\":150}", true);
    expect("{ $.level = \"ERROR\" && $.ms > 100 }", "{\"level\":\"ERROR\",\"ms\":50}", false);
    expect("{ $.level = \"ERROR\" && $.ms > 100 }", "{\"level\":\"INFO\",\"ms\":150}", false);
    expect("{ $.a = 1 || $.b = 2 }", "{\"b\":2}", true);
    expect("{ ((($.a = 1))) }", "{\"a\":1}", true);
}

static void test_json_non_json_messages(void **state)
{
    (void)state;
    expect("{ $.level = \"ERROR\" }", "level=ERROR plain text", false);
    expect("{ $.level = \"ERROR\" }", "[\"ERROR\"]", false);
    expect("{ $.level = \"ERROR\" }", "{\"level\":\"ERROR\"", false);
    expect("{ $.x NOT EXISTS }", "not json", false);
    expect("{ $.level = \"ERROR\" }", "  {\"level\":\"ERROR\"}  ", true);
}

static void test_json_errors(void **state)
{
    (void)state;
    expect_error("{ $.a = 1", "If a filter pattern starts with '{' it must end with '}'");
    expect_error("{ }", "Invalid filter pattern");
    expect_error("{ a = 1 }", "Invalid filter pattern");
    expect_error("{ $.a }", "Invalid filter pattern");
    expect_error("{ $.a = }", "Invalid filter pattern");
    expect_error("{ $.a > abc }", "Invalid filter pattern");
    expect_error("{ $.a = 1 && }", "Invalid filter pattern");
    expect_error("{ ($.a = 1 }", "Invalid filter pattern");
    expect_error("{ $.a[x] = 1 }", "Invalid filter pattern");
    expect_error("{ $. = 1 }", "Invalid filter pattern");
    expect_error("{ $.a IS MAYBE }", "Invalid filter pattern");
    expect_error("{ $.a = 1 } trailing", "If a filter pattern starts with '{' it must end with '}'");
    char deep[200];
    size_t n = 0;
    n += (size_t)snprintf(deep + n, sizeof deep - n, "{ ");
    for (int i = 0; i < 40; i++)
        deep[n++] = '(';
    deep[n] = '\0';
    expect_error(deep, NULL);
}

/* ==== space-delimited ==== */

static const char *apache1 = "127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 1534";
static const char *apache2 = "127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] \"GET /index.html HTTP/1.0\" 404 5324";

static void test_fields_basic(void **state)
{
    (void)state;
    expect("[ip, user, username, timestamp, request, status_code, bytes]", apache1, true);
    /* Field counts must agree without an ellipsis. */
    expect("[ip, user, username, timestamp, request, status_code]", apache1, false);
    expect("[ip, user, username, timestamp, request, status_code, bytes, extra]", apache1, false);
    expect("[ip, user, username, timestamp, request, status_code = 200, bytes]", apache1, true);
    expect("[ip, user, username, timestamp, request, status_code = 200, bytes]", apache2, false);
    expect("[ip, user, username, timestamp, request, status_code = 4*, bytes]", apache2, true);
    expect("[ip, user, username, timestamp, request, status_code = 4*, bytes]", apache1, false);
    expect("[ip, user, username, timestamp, request, status_code, bytes > 1000]", apache1, true);
    expect("[ip, user, username, timestamp, request, status_code, bytes > 2000]", apache1, false);
    expect("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", apache2, true);
    expect("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", apache1, false);
    /* Bracketed and quoted runs are one field, without their delimiters. */
    expect("[ip, user, username, timestamp = 10/Oct/2000*, request = \"GET /index.html HTTP/1.0\", status, bytes]",
           apache2, true);
    expect("[ip = 127.0.0.1, ...]", apache1, true);
    /* An empty slot is one unnamed field. */
    expect("[ip, , , timestamp, request, status_code, bytes]", apache1, true);
    expect("[ip, user, username, timestamp, request, status_code,]", apache1, true);
    expect("[ip != 127.0.0.1, ...]", apache1, false);
}

static void test_fields_ellipsis(void **state)
{
    (void)state;
    expect("[..., status_code, bytes]", apache1, true);
    expect("[ip, user, ..., status_code, bytes]", apache1, true);
    expect("[ip, user, ...]", apache1, true);
    expect("[..., status_code = 404, bytes]", apache2, true);
    expect("[..., status_code = 404, bytes]", apache1, false);
    expect("[..., request=*.html*, status_code=4*,]", apache2, true);
    expect("[..., request=*.html*, status_code=4*,]", apache1, false);
    /* An ellipsis may stand for no field at all. */
    expect("[a, ..., b]", "x y", true);
    expect("[a, ..., b, c]", "x y", false);
    /* Two ellipses: any alignment that satisfies the conditions. */
    expect("[..., w = ERROR, ...]", "a b ERROR c", true);
    expect("[..., w = ERROR, ...]", "a b WARN c", false);
}

static void test_fields_compound(void **state)
{
    (void)state;
    expect("[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]", apache2, true);
    expect("[ip, user, username, timestamp, request, status_code = 4* && status_code != 404, bytes]", apache2,
           false);
    expect("[ip, user, username, timestamp, request, status_code, bytes = 1* || bytes = 5*]", apache2, true);
    expect("[ip, user, username, timestamp, request, status_code, bytes = 1* || bytes = 9*]", apache2, false);
    /* The guide's OR example. */
    expect("[w1=ERROR, w2]", "ERROR message", true);
    expect("[w1=ERROR, w2]", "WARN message", false);
    expect("[w1=ERROR || w1=WARN, w2]", "WARN message", true);
    expect("[w1=ERROR || w1=WARN, w2]", "INFO message", false);
    /* A condition may read a field declared before it. */
    expect("[a, b = x && a = y]", "y x", true);
    expect("[a, b = x && a = y]", "z x", false);
    /* Numbers: a field that is not a number never compares by < >. */
    expect("[a, b > 10]", "x abc", false);
    expect("[a, b = 10]", "x 10.0", true);
}

static void test_fields_errors(void **state)
{
    (void)state;
    expect_error("[a, b", "If a filter pattern starts with '[' it must end with ']'");
    expect_error("[]", "Invalid filter pattern");
    expect_error("[a b]", "Invalid filter pattern");
    expect_error("[a, b c]", "Invalid filter pattern");
    expect_error("[a, b = ]", "Invalid filter pattern");
    expect_error("[a, b > x]", "Invalid filter pattern");
    expect_error("[a, c = 1 && zz = 2]", "Invalid filter pattern"); /* zz is no field */
    expect_error("[..., ..., ..., ..., a]", "Invalid filter pattern");
}

/* ==== regular expressions ==== */

static void test_regex(void **state)
{
    (void)state;
    /* The guide's examples. */
    expect("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST", true);
    expect("%AUTHORIZED%", "[SUCCESS 200] AUTHORIZED REQUEST", true);
    expect("%AUTHORIZED%", "[SUCCESS 200] authorized", false);
    expect("%^[hc]at%", "hat trick", true);
    expect("%^[hc]at%", "a cat", false);
    expect("%[hc]at$%", "a cat", true);
    expect("%[hc]at$%", "cats", false);
    expect("%colou?r%", "color", true);
    expect("%colou?r%", "colour", true);
    expect("%colou?r%", "colouur", false);
    expect("%a{3,5}%", "baaab", true);
    expect("%^a{3,5}$%", "aaaaaa", false);
    expect("%^a{3,5}$%", "aaaa", true);
    expect("%^a{3}$%", "aaa", true);
    expect("%^a{2,}$%", "aaaaaaa", true);
    expect("%^a{2,}$%", "a", false);
    expect("%[Ee]rror|[Ff]ail%", "disk failure", true);
    expect("%[Ee]rror|[Ff]ail%", "an Error", true);
    expect("%[Ee]rror|[Ff]ail%", "all fine", false);
    expect("%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%", "from 10.0.12.255 port", true);
    expect("%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%", "from 10.0.12 port", false);
    expect("%ab+c%", "xabbbcx", true);
    expect("%ab+c%", "xacx", false);
    expect("%ab*c%", "xacx", true);
    expect("%a.c%", "abc", true);
    expect("%[^0-9]x%", "5x", false);
    expect("%[^0-9]x%", "ax", true);
    expect("%\\w+@\\w+%", "mail bob@example now", true);
    /* Long messages take the heap path. */
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[4000] = 'Z';
    expect("%aZa+$%", big, true);
    expect("%^a+$%", big, false);
    /* As values in JSON and space-delimited patterns. */
    expect("{ $.msg = %^time[sd]? out% }", "{\"msg\":\"timed out\"}", true);
    expect("{ $.msg = %^time[sd]? out% }", "{\"msg\":\"it timed out\"}", false);
    expect("{ $.msg != %err% }", "{\"msg\":\"fine\"}", true);
    expect("{ $.code = %^4[0-9]{2}$% }", "{\"code\":404}", true);
    expect("[ip, status = %^5[0-9]{2}$%]", "1.2.3.4 503", true);
    expect("[ip, status = %^5[0-9]{2}$%]", "1.2.3.4 404", false);
}

static void test_regex_errors(void **state)
{
    (void)state;
    expect_error("%%", "Invalid filter pattern");
    expect_error("%abc", "Invalid filter pattern");
    expect_error("%(ab)+%", "Invalid filter pattern"); /* no groups */
    expect_error("%a!%", "Invalid filter pattern");    /* "!" is not supported */
    expect_error("%a|%", "Invalid filter pattern");
    expect_error("%a**%", "Invalid filter pattern");
    expect_error("%a{5,2}%", "Invalid filter pattern");
    expect_error("%[a-%", "Invalid filter pattern");
    expect_error("%caf\xc3\xa9%", "Invalid filter pattern"); /* multibyte */
    expect_error("{ $.a > %1% }", "Invalid filter pattern");
    /* At most two regexes in a JSON or space-delimited pattern. */
    expect_error("{ $.a = %x% || $.b = %y% || $.c = %z% }", "Invalid filter pattern");
    logs_pattern_free(compile_ok("{ $.a = %x% || $.b = %y% }"));
}

/* ==== the fast path ==== */

static void test_many_matches(void **state)
{
    (void)state;
    /* One compiled pattern, many messages: the bench's shape. */
    logs_pattern_t *p = compile_ok("ERROR");
    char msg[128];
    int hits = 0;
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(msg, sizeof msg, "2024-01-01T00:00:00Z req-%d %s something happened", i,
                         i % 10 == 0 ? "ERROR" : "INFO");
        hits += logs_pattern_match(p, msg, (size_t)n);
    }
    assert_int_equal(hits, 10000);
    logs_pattern_free(p);
    /* Messages are views: no NUL needed, none read past len. */
    p = compile_ok("abc");
    assert_true(logs_pattern_match(p, "xxabcyy", 5));
    assert_false(logs_pattern_match(p, "xxabcyy", 4));
    logs_pattern_free(p);
    assert_true(logs_pattern_match(NULL, "x", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_matches_everything),
        cmocka_unit_test(test_single_term),
        cmocka_unit_test(test_all_terms),
        cmocka_unit_test(test_quoted_phrase),
        cmocka_unit_test(test_exclusion),
        cmocka_unit_test(test_alternatives),
        cmocka_unit_test(test_term_errors),
        cmocka_unit_test(test_json_equality),
        cmocka_unit_test(test_json_wildcards),
        cmocka_unit_test(test_json_numbers),
        cmocka_unit_test(test_json_selectors),
        cmocka_unit_test(test_json_keywords),
        cmocka_unit_test(test_json_compound),
        cmocka_unit_test(test_json_non_json_messages),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_fields_basic),
        cmocka_unit_test(test_fields_ellipsis),
        cmocka_unit_test(test_fields_compound),
        cmocka_unit_test(test_fields_errors),
        cmocka_unit_test(test_regex),
        cmocka_unit_test(test_regex_errors),
        cmocka_unit_test(test_many_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
