/* Unit tests for the event-pattern language (src/pattern): every operator
 * with the examples of AWS's guide and event-ruler's README, each with
 * events that must match and events that must not; the reasons AWS gives
 * for bad patterns; add/remove; and the Lambda FilterCriteria body forms.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html */
#include "pattern/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void test_differential(void **state);
void test_differential_arrays(void **state);

/* The event of event-ruler's README ("Ruler by Example"). */
static const char *EC2_EVENT =
    "{\"version\":\"0\",\"id\":\"ddddd4-aaaa-7777-4444-345dd43cc333\","
    "\"detail-type\":\"EC2 Instance State-change Notification\",\"source\":\"aws.ec2\","
    "\"account\":\"012345679012\",\"time\":\"2017-10-02T16:24:49Z\",\"region\":\"us-east-1\","
    "\"resources\":[\"arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000\"],"
    "\"detail\":{\"c-count\":5,\"d-count\":3,\"x-limit\":301.8,\"source-ip\":\"10.0.0.33\","
    "\"instance-id\":\"i-000000aaaaaa00000\",\"state\":\"running\"}}";

static bool match_text(const char *pattern, const char *event)
{
    pattern_set_t *s = pattern_set_new();
    char err[256] = "";
    int rc = pattern_set_add(s, pattern, strlen(pattern), 7, err, sizeof err);
    if (rc != 0)
        fail_msg("pattern %s rejected: %s", pattern, err);
    json_error_t jerr;
    json_t *ev = json_loads(event, 0, &jerr);
    if (!ev)
        fail_msg("test event is not JSON: %s (%s)", event, jerr.text);
    uint32_t ids[4];
    size_t n = pattern_set_match(s, ev, ids, 4);
    if (n > 1 || (n == 1 && ids[0] != 7))
        fail_msg("bad ids from %s", pattern);
    bool one = pattern_matches(pattern, ev);
    if (one != (n == 1))
        fail_msg("pattern_matches disagrees with the set for %s", pattern);
    json_decref(ev);
    pattern_set_free(s);
    return n == 1;
}

#define YES(p, e)                                                                                           \
    do {                                                                                                    \
        if (!match_text((p), (e)))                                                                          \
            fail_msg("expected %s to match %s", (p), (e));                                                  \
    } while (0)
#define NO(p, e)                                                                                            \
    do {                                                                                                    \
        if (match_text((p), (e)))                                                                           \
            fail_msg("expected %s not to match %s", (p), (e));                                              \
    } while (0)

static void expect_error(const char *pattern, int want_rc, const char *want)
{
    char err[512] = "";
    int rc = pattern_validate(pattern, strlen(pattern), err, sizeof err);
    if (rc != want_rc)
        fail_msg("pattern %s: rc %d (%s), expected %d", pattern, rc, err, want_rc);
    if (want && strcmp(err, want) != 0)
        fail_msg("pattern %s: reason \"%s\", expected \"%s\"", pattern, err, want);
    /* A rejected pattern leaves the set as it was. */
    pattern_set_t *s = pattern_set_new();
    assert_int_equal(pattern_set_add(s, pattern, strlen(pattern), 1, NULL, 0), want_rc);
    assert_int_equal(pattern_set_count(s), 0);
    pattern_set_free(s);
}

static void test_exact(void **state)
{
    (void)state;
    const char *p = "{\"detail-type\":[\"EC2 Instance State-change Notification\"],"
                    "\"resources\":[\"arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000\"],"
                    "\"detail\":{\"state\":[\"initializing\",\"running\"]}}";
    YES(p, EC2_EVENT);
    NO(p, "{\"detail-type\":\"EC2 Instance State-change Notification\",\"detail\":{\"state\":\"running\"}}");
    NO("{\"detail\":{\"state\":[\"initializing\",\"stopped\"]}}", EC2_EVENT);
    /* Case matters; types matter ("5" is not 5). */
    NO("{\"source\":[\"AWS.EC2\"]}", EC2_EVENT);
    NO("{\"detail\":{\"c-count\":[\"5\"]}}", EC2_EVENT);
    YES("{\"detail\":{\"c-count\":[5]}}", EC2_EVENT);
    /* Numbers compare as numbers. */
    YES("{\"detail\":{\"c-count\":[5.0]}}", EC2_EVENT);
    YES("{\"detail\":{\"x-limit\":[3.018e2]}}", EC2_EVENT);
    YES("{\"a\":[5]}", "{\"a\":5.0000000001}"); /* beyond six decimals */
    NO("{\"a\":[5]}", "{\"a\":5.00001}");
    /* Literals and empty strings. */
    YES("{\"a\":[true]}", "{\"a\":true}");
    NO("{\"a\":[true]}", "{\"a\":\"true\"}");
    YES("{\"a\":[false]}", "{\"a\":false}");
    YES("{\"a\":[null]}", "{\"a\":null}");
    NO("{\"a\":[null]}", "{\"b\":1}");
    YES("{\"LastName\":[\"\"]}", "{\"LastName\":\"\"}");
    NO("{\"LastName\":[\"\"]}", "{\"LastName\":\"x\"}");
    /* A nested pattern needs the same nesting; an object is not a value. */
    NO("{\"detail\":[\"x\"]}", "{\"detail\":{\"a\":\"x\"}}");
    /* Dots in keys and nesting name the same path (README caveat). */
    YES("{\"detail.state\":[\"running\"]}", EC2_EVENT);
    YES("{\"detail\":{\"state\":[\"running\"]}}", "{\"detail.state\":\"running\"}");
    /* The empty pattern matches every event. */
    YES("{}", EC2_EVENT);
    /* A key named twice: the last one counts. */
    YES("{\"source\":[\"nope\"],\"source\":[\"aws.ec2\"]}", EC2_EVENT);
}

static void test_arrays_in_events(void **state)
{
    (void)state;
    /* The intersection of the event's array and the pattern's is not empty. */
    YES("{\"resources\":[\"b\",\"z\"]}", "{\"resources\":[\"a\",\"b\",\"c\"]}");
    NO("{\"resources\":[\"x\",\"z\"]}", "{\"resources\":[\"a\",\"b\",\"c\"]}");
    YES("{\"n\":[{\"numeric\":[\">\",10]}]}", "{\"n\":[1,2,30]}");
    /* Objects in arrays: the array is crushed out of the path. */
    const char *ev = "{\"employees\":[{\"firstName\":\"John\",\"lastName\":\"Doe\"},"
                     "{\"firstName\":\"Anna\",\"lastName\":\"Smith\"},"
                     "{\"firstName\":\"Peter\",\"lastName\":\"Jones\"}]}";
    YES("{\"employees\":{\"firstName\":[\"Anna\"]}}", ev);
    YES("{\"employees\":{\"firstName\":[\"Anna\"],\"lastName\":[\"Smith\"]}}", ev);
    /* Two fields from different elements of one array never match together. */
    NO("{\"employees\":{\"firstName\":[\"Anna\"],\"lastName\":[\"Jones\"]}}", ev);
    /* Multi-level arrays. */
    const char *ev2 = "{\"employees\":[[{\"firstName\":\"John\",\"lastName\":\"Doe\"},"
                      "{\"firstName\":\"Anna\",\"lastName\":\"Smith\"}],"
                      "[{\"firstName\":\"Peter\",\"lastName\":\"Jones\"}]]}";
    YES("{\"employees\":{\"firstName\":[\"Peter\"]}}", ev2);
    YES("{\"employees\":{\"firstName\":[\"Peter\"],\"lastName\":[\"Jones\"]}}", ev2);
    NO("{\"employees\":{\"firstName\":[\"Anna\"],\"lastName\":[\"Jones\"]}}", ev2);
    /* Fields outside the array combine with any element. */
    YES("{\"dept\":[\"x\"],\"employees\":{\"lastName\":[\"Jones\"]}}",
        "{\"dept\":\"x\",\"employees\":[{\"lastName\":\"Doe\"},{\"lastName\":\"Jones\"}]}");
    /* Sub-arrays in two different elements. */
    YES("{\"a\":{\"b\":{\"c\":[1]},\"d\":[2]}}", "{\"a\":[{\"b\":[{\"c\":1}],\"d\":2},{\"d\":3}]}");
    NO("{\"a\":{\"b\":{\"c\":[1]},\"d\":[3]}}", "{\"a\":[{\"b\":[{\"c\":1}],\"d\":2},{\"d\":3}]}");
}

static void test_prefix_suffix(void **state)
{
    (void)state;
    YES("{\"time\":[{\"prefix\":\"2017-10-02\"}]}", EC2_EVENT);
    NO("{\"time\":[{\"prefix\":\"2017-10-03\"}]}", EC2_EVENT);
    NO("{\"detail\":{\"c-count\":[{\"prefix\":\"5\"}]}}", EC2_EVENT); /* strings only */
    YES("{\"a\":[{\"prefix\":\"\"}]}", "{\"a\":\"anything\"}");
    const char *ci = "{\"detail\":{\"service\":[{\"prefix\":{\"equals-ignore-case\":\"EventB\"}}]}}";
    YES(ci, "{\"detail\":{\"service\":\"EventBridge\"}}");
    YES(ci, "{\"detail\":{\"service\":\"EVENTBRIDGE\"}}");
    YES(ci, "{\"detail\":{\"service\":\"eventb\"}}");
    NO(ci, "{\"detail\":{\"service\":\"Event\"}}");
    NO(ci, "{\"detail\":{\"service\":\"xeventb\"}}");
    YES("{\"FileName\":[{\"suffix\":\".png\"}]}", "{\"FileName\":\"image.png\"}");
    NO("{\"FileName\":[{\"suffix\":\".png\"}]}", "{\"FileName\":\"image.PNG\"}");
    NO("{\"FileName\":[{\"suffix\":\".png\"}]}", "{\"FileName\":\"png\"}");
    const char *sci = "{\"detail\":{\"FileName\":[{\"suffix\":{\"equals-ignore-case\":\".png\"}}]}}";
    YES(sci, "{\"detail\":{\"FileName\":\"IMAGE.PNG\"}}");
    YES(sci, "{\"detail\":{\"FileName\":\"a.Png\"}}");
    NO(sci, "{\"detail\":{\"FileName\":\"a.jpg\"}}");
    /* Several prefixes of different lengths on one field. */
    const char *many = "{\"r\":[{\"prefix\":\"us-\"},{\"prefix\":\"eu-west\"},{\"suffix\":\"-1\"}]}";
    YES(many, "{\"r\":\"us-east-2\"}");
    YES(many, "{\"r\":\"eu-west-3\"}");
    YES(many, "{\"r\":\"ap-south-1\"}");
    NO(many, "{\"r\":\"eu-central-2\"}");
}

static void test_equals_ignore_case(void **state)
{
    (void)state;
    YES("{\"Name\":[{\"equals-ignore-case\":\"alice\"}]}", "{\"Name\":\"Alice\"}");
    YES("{\"Name\":[{\"equals-ignore-case\":\"alice\"}]}", "{\"Name\":\"ALICE\"}");
    NO("{\"Name\":[{\"equals-ignore-case\":\"alice\"}]}", "{\"Name\":\"Alicia\"}");
    YES("{\"source\":[{\"equals-ignore-case\":\"AWS.ec2\"}]}", EC2_EVENT);
}

static void test_wildcard(void **state)
{
    (void)state;
    const char *p = "{\"source\":[{\"wildcard\":\"Simple*Service\"}]}";
    YES(p, "{\"source\":\"SimpleQueueService\"}");
    YES(p, "{\"source\":\"SimpleService\"}");
    NO(p, "{\"source\":\"SimpleQueueServices\"}");
    NO(p, "{\"source\":\"ASimpleService\"}");
    const char *path = "{\"FilePath\":[{\"wildcard\":\"dir/*/*.png\"}]}";
    YES(path, "{\"FilePath\":\"dir/a/b.png\"}");
    YES(path, "{\"FilePath\":\"dir/a/b/c.png\"}");
    NO(path, "{\"FilePath\":\"dir/b.png\"}");
    YES("{\"a\":[{\"wildcard\":\"*\"}]}", "{\"a\":\"\"}");
    NO("{\"a\":[{\"wildcard\":\"*\"}]}", "{\"a\":1}");
    YES("{\"a\":[{\"wildcard\":\"*ab*ab\"}]}", "{\"a\":\"xabab\"}");
    NO("{\"a\":[{\"wildcard\":\"*ab*ab\"}]}", "{\"a\":\"xab\"}");
    /* Escapes: \* is a star, \\ a backslash. */
    YES("{\"a\":[{\"wildcard\":\"a\\\\*b\"}]}", "{\"a\":\"a*b\"}");
    NO("{\"a\":[{\"wildcard\":\"a\\\\*b\"}]}", "{\"a\":\"axb\"}");
    YES("{\"a\":[{\"wildcard\":\"a\\\\\\\\*\"}]}", "{\"a\":\"a\\\\bc\"}");
    /* An escaped star next to a wildcard is not two wildcards. */
    YES("{\"a\":[{\"wildcard\":\"\\\\**\"}]}", "{\"a\":\"*xyz\"}");
}

static void test_anything_but(void **state)
{
    (void)state;
    const char *s = "{\"detail\":{\"state\":[{\"anything-but\":\"initializing\"}]}}";
    YES(s, "{\"detail\":{\"state\":\"running\"}}");
    NO(s, "{\"detail\":{\"state\":\"initializing\"}}");
    NO(s, "{\"detail\":{}}"); /* needs the field */
    YES(s, "{\"detail\":{\"state\":5}}");
    const char *n = "{\"detail\":{\"x-limit\":[{\"anything-but\":123}]}}";
    YES(n, "{\"detail\":{\"x-limit\":124}}");
    NO(n, "{\"detail\":{\"x-limit\":123}}");
    NO(n, "{\"detail\":{\"x-limit\":123.0}}");
    const char *ls = "{\"detail\":{\"state\":[{\"anything-but\":[\"stopped\",\"overloaded\"]}]}}";
    YES(ls, "{\"detail\":{\"state\":\"running\"}}");
    NO(ls, "{\"detail\":{\"state\":\"stopped\"}}");
    NO(ls, "{\"detail\":{\"state\":\"overloaded\"}}");
    const char *ln = "{\"detail\":{\"x-limit\":[{\"anything-but\":[100,200,300]}]}}";
    YES(ln, EC2_EVENT);
    NO(ln, "{\"detail\":{\"x-limit\":200}}");
    const char *pre = "{\"detail\":{\"state\":[{\"anything-but\":{\"prefix\":\"init\"}}]}}";
    YES(pre, EC2_EVENT);
    NO(pre, "{\"detail\":{\"state\":\"initializing\"}}");
    const char *prel = "{\"r\":[{\"anything-but\":{\"prefix\":[\"us-\",\"eu-\"]}}]}";
    YES(prel, "{\"r\":\"ap-south-1\"}");
    NO(prel, "{\"r\":\"eu-west-1\"}");
    const char *suf = "{\"FileName\":[{\"anything-but\":{\"suffix\":\".png\"}}]}";
    YES(suf, "{\"FileName\":\"a.jpg\"}");
    NO(suf, "{\"FileName\":\"a.png\"}");
    const char *ci = "{\"state\":[{\"anything-but\":{\"equals-ignore-case\":\"initializing\"}}]}";
    YES(ci, "{\"state\":\"running\"}");
    NO(ci, "{\"state\":\"INITIALIZING\"}");
    const char *cil = "{\"state\":[{\"anything-but\":{\"equals-ignore-case\":[\"a\",\"B\"]}}]}";
    NO(cil, "{\"state\":\"b\"}");
    YES(cil, "{\"state\":\"c\"}");
    const char *w = "{\"FilePath\":[{\"anything-but\":{\"wildcard\":\"*/lib/*\"}}]}";
    YES(w, "{\"FilePath\":\"/usr/bin/x\"}");
    NO(w, "{\"FilePath\":\"/usr/lib/x\"}");
    /* An array matches when any element is not excluded. */
    YES(s, "{\"detail\":{\"state\":[\"initializing\",\"running\"]}}");
    NO(s, "{\"detail\":{\"state\":[\"initializing\"]}}");
    /* The complex example of the guide. */
    const char *cx = "{\"time\":[{\"prefix\":\"2017-10-02\"}],\"detail\":{\"state\":[{\"anything-but\":\"initializing\"}],"
                     "\"c-count\":[{\"numeric\":[\">\",0,\"<=\",5]}],\"d-count\":[{\"numeric\":[\"<\",10]}],"
                     "\"x-limit\":[{\"anything-but\":[100,200,300]}],\"source-ip\":[{\"cidr\":\"10.0.0.0/8\"}]}}";
    YES(cx, EC2_EVENT);
}

static void test_numeric(void **state)
{
    (void)state;
    const char *p = "{\"detail\":{\"c-count\":[{\"numeric\":[\">\",0,\"<=\",5]}],\"d-count\":[{\"numeric\":[\"<\",10]}],"
                    "\"x-limit\":[{\"numeric\":[\"=\",3.018e2]}]}}";
    YES(p, EC2_EVENT);
    const char *r = "{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]}";
    YES(r, "{\"c\":5}");
    YES(r, "{\"c\":0.000001}");
    NO(r, "{\"c\":0}");
    NO(r, "{\"c\":5.000001}");
    NO(r, "{\"c\":\"3\"}");
    NO(r, "{\"c\":null}");
    YES("{\"c\":[{\"numeric\":[\">=\",-1e9]}]}", "{\"c\":-1000000000}");
    NO("{\"c\":[{\"numeric\":[\">\",-1e9]}]}", "{\"c\":-1000000000}");
    YES("{\"c\":[{\"numeric\":[\"<\",0]}]}", "{\"c\":-0.5}");
    YES("{\"c\":[{\"numeric\":[\">=\",1,\"<\",2]},{\"numeric\":[\">\",10]}]}", "{\"c\":11}");
    NO("{\"c\":[{\"numeric\":[\">=\",1,\"<\",2]},{\"numeric\":[\">\",10]}]}", "{\"c\":2}");
    YES("{\"c\":[{\"numeric\":[\"=\",0]}]}", "{\"c\":-0.0}");
}

static void test_cidr(void **state)
{
    (void)state;
    const char *p = "{\"detail\":{\"sourceIPAddress\":[{\"cidr\":\"10.0.0.0/24\"}]}}";
    YES(p, "{\"detail\":{\"sourceIPAddress\":\"10.0.0.255\"}}");
    YES(p, "{\"detail\":{\"sourceIPAddress\":\"10.0.0.0\"}}");
    NO(p, "{\"detail\":{\"sourceIPAddress\":\"10.0.1.0\"}}");
    NO(p, "{\"detail\":{\"sourceIPAddress\":\"not an ip\"}}");
    NO(p, "{\"detail\":{\"sourceIPAddress\":\"::ffff:10.0.0.1\"}}");
    YES("{\"ip\":[{\"cidr\":\"10.0.0.0/8\"}]}", "{\"ip\":\"10.200.3.4\"}");
    YES("{\"ip\":[{\"cidr\":\"192.168.1.7/32\"}]}", "{\"ip\":\"192.168.1.7\"}");
    NO("{\"ip\":[{\"cidr\":\"192.168.1.7/32\"}]}", "{\"ip\":\"192.168.1.8\"}");
    YES("{\"ip\":[{\"cidr\":\"0.0.0.0/0\"}]}", "{\"ip\":\"8.8.8.8\"}");
    YES("{\"ip\":[{\"cidr\":\"10.1.2.3/20\"}]}", "{\"ip\":\"10.1.15.255\"}"); /* host bits ignored */
    const char *v6 = "{\"ip\":[{\"cidr\":\"2001:db8::/32\"}]}";
    YES(v6, "{\"ip\":\"2001:db8::1\"}");
    YES(v6, "{\"ip\":\"2001:0db8:ffff::\"}");
    NO(v6, "{\"ip\":\"2001:db9::1\"}");
    NO(v6, "{\"ip\":\"10.0.0.1\"}");
    YES("{\"ip\":[{\"cidr\":\"2001:db8::/127\"}]}", "{\"ip\":\"2001:db8::1\"}");
    NO("{\"ip\":[{\"cidr\":\"2001:db8::/127\"}]}", "{\"ip\":\"2001:db8::2\"}");
}

static void test_exists(void **state)
{
    (void)state;
    const char *t = "{\"detail\":{\"state\":[{\"exists\":true}]}}";
    YES(t, "{\"source\":\"aws.ec2\",\"detail\":{\"instance-id\":\"i-abcd1111\",\"state\":\"pending\"}}");
    NO(t, "{\"detail-type\":[\"x\"],\"detail\":{\"c-count\":{\"c1\":100}}}");
    YES(t, "{\"detail\":{\"state\":null}}");
    NO(t, "{\"detail\":{\"state\":{\"x\":1}}}"); /* only leaves exist */
    const char *f = "{\"detail\":{\"c-count\":[{\"exists\":false}]}}";
    YES(f, "{\"detail\":{\"state\":[\"initializing\",\"running\"]}}");
    /* c-count is not a leaf here, so it does not "exist" (guide's example). */
    YES(f, "{\"detail\":{\"state\":[\"initializing\",\"running\"],\"c-count\":{\"c1\":100}}}");
    NO(f, "{\"detail\":{\"c-count\":5}}");
    YES(f, "{}");
    YES(f, "{\"detail\":5}");
    /* Empty arrays hold no value. */
    YES("{\"a\":[{\"exists\":false}]}", "{\"a\":[]}");
    NO("{\"a\":[{\"exists\":true}]}", "{\"a\":[]}");
    YES("{\"a\":[{\"exists\":true}]}", "{\"a\":[1]}");
    /* On fields inside arrays of objects. */
    YES("{\"list\":{\"id\":[{\"exists\":true}]}}", "{\"list\":[{\"x\":1},{\"id\":2}]}");
    NO("{\"list\":{\"id\":[{\"exists\":true}]}}", "{\"list\":[{\"x\":1},{\"y\":2}]}");
    NO("{\"list\":{\"id\":[{\"exists\":false}]}}", "{\"list\":[{\"x\":1},{\"id\":2}]}");
    /* exists combined with values as OR. */
    const char *orx = "{\"a\":[\"x\",{\"exists\":false}]}";
    YES(orx, "{\"a\":\"x\"}");
    YES(orx, "{\"b\":1}");
    NO(orx, "{\"a\":\"y\"}");
    /* With other fields. */
    YES("{\"s\":[\"x\"],\"a\":[{\"exists\":false}],\"b\":[{\"exists\":true}]}", "{\"s\":\"x\",\"b\":0}");
    NO("{\"s\":[\"x\"],\"a\":[{\"exists\":false}],\"b\":[{\"exists\":true}]}", "{\"s\":\"x\",\"a\":0,\"b\":0}");
}

static void test_or(void **state)
{
    (void)state;
    const char *p = "{\"source\":[\"aws.cloudwatch\"],\"$or\":[{\"metricName\":[\"CPUUtilization\",\"ReadLatency\"]},"
                    "{\"namespace\":[\"AWS/EC2\",\"AWS/ES\"]}]}";
    YES(p, "{\"source\":\"aws.cloudwatch\",\"metricName\":\"ReadLatency\"}");
    YES(p, "{\"source\":\"aws.cloudwatch\",\"namespace\":\"AWS/ES\"}");
    NO(p, "{\"source\":\"aws.cloudwatch\",\"namespace\":\"AWS/S3\"}");
    NO(p, "{\"source\":\"aws.ec2\",\"namespace\":\"AWS/ES\"}");
    /* Parallel $or at two levels. */
    const char *par = "{\"$or\":[{\"metricName\":[\"CPUUtilization\"]},{\"namespace\":[\"AWS/EC2\"]}],"
                      "\"detail\":{\"$or\":[{\"source\":[\"aws.cloudwatch\"]},{\"detail-type\":[\"Alarm\"]}]}}";
    YES(par, "{\"namespace\":\"AWS/EC2\",\"detail\":{\"detail-type\":\"Alarm\"}}");
    YES(par, "{\"metricName\":\"CPUUtilization\",\"detail\":{\"source\":\"aws.cloudwatch\"}}");
    NO(par, "{\"namespace\":\"AWS/EC2\"}");
    NO(par, "{\"detail\":{\"detail-type\":\"Alarm\"}}");
    /* $or with an AND inside, and nested $or. */
    const char *nest = "{\"source\":[\"aws.cloudwatch\"],\"$or\":[{\"metricName\":[\"CPUUtilization\"]},"
                       "{\"metricType\":[\"MetricType\"],\"namespace\":[\"AWS/EC2\"],"
                       "\"$or\":[{\"metricId\":[1234]},{\"spaceId\":[1000]}]},{\"scope\":[\"Service\"]}]}";
    YES(nest, "{\"source\":\"aws.cloudwatch\",\"scope\":\"Service\"}");
    YES(nest, "{\"source\":\"aws.cloudwatch\",\"metricType\":\"MetricType\",\"namespace\":\"AWS/EC2\",\"spaceId\":1000}");
    NO(nest, "{\"source\":\"aws.cloudwatch\",\"metricType\":\"MetricType\",\"namespace\":\"AWS/EC2\"}");
    NO(nest, "{\"source\":\"aws.cloudwatch\",\"metricType\":\"MetricType\",\"spaceId\":1000}");
    /* Not the OR primitive: an object, or operator names inside. */
    YES("{\"$or\":{\"a\":[1]}}", "{\"$or\":{\"a\":1}}");
    NO("{\"$or\":{\"a\":[1]}}", "{\"a\":1}");
    YES("{\"$or\":[{\"numeric\":[\">\",1]},{\"prefix\":\"ab\"}]}", "{\"$or\":\"abc\"}");
    YES("{\"$or\":[{\"numeric\":[\">\",1]},{\"prefix\":\"ab\"}]}", "{\"$or\":5}");
}

static void test_lambda_body(void **state)
{
    (void)state;
    /* SQS FilterCriteria: a plain-text body is a string leaf at "body". */
    const char *text = "{\"body\":\"ERROR: disk full\",\"attributes\":{\"ApproximateReceiveCount\":\"1\"}}";
    YES("{\"body\":[{\"prefix\":\"ERROR\"}]}", text);
    YES("{\"body\":[{\"wildcard\":\"*disk*\"}]}", text);
    NO("{\"body\":[{\"prefix\":\"WARN\"}]}", text);
    NO("{\"body\":{\"level\":[\"ERROR\"]}}", text);
    /* A JSON body, parsed by the caller. */
    const char *js = "{\"body\":{\"RecordNumber\":1234,\"RequestCode\":\"AAAA\"}}";
    YES("{\"body\":{\"RequestCode\":[\"AAAA\"]}}", js);
    YES("{\"body\":{\"RecordNumber\":[{\"numeric\":[\">\",1000]}]}}", js);
    /* DynamoDB stream record. */
    const char *ddb = "{\"eventName\":\"INSERT\",\"dynamodb\":{\"NewImage\":{\"id\":{\"BOOL\":true}}}}";
    YES("{\"eventName\":[\"INSERT\"],\"dynamodb\":{\"NewImage\":{\"id\":{\"BOOL\":[true]}}}}", ddb);
    NO("{\"eventName\":[\"MODIFY\"]}", ddb);
    /* Raw text events. */
    pattern_set_t *s = pattern_set_new();
    assert_int_equal(pattern_set_add(s, "{\"a\":[1]}", strlen("{\"a\":[1]}"), 3, NULL, 0), 0);
    uint32_t id = 0;
    assert_int_equal(pattern_set_match_text(s, "{\"a\":1}", 7, &id, 1), 1);
    assert_int_equal(id, 3);
    assert_int_equal(pattern_set_match_text(s, "not json", 8, &id, 1), 0);
    pattern_set_free(s);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("[1]", KYOKA_EPARSE, "Filter is not an object");
    expect_error("\"x\"", KYOKA_EPARSE, "Filter is not an object");
    expect_error("{\"a\":", KYOKA_EPARSE, NULL);
    expect_error("{ \"detail\": { \"pipeline\": { \"slug\": \"some-pipeline\" } } }", KYOKA_EINVAL,
                 "\"slug\" must be an object or an array");
    expect_error("{\"a\":5}", KYOKA_EINVAL, "\"a\" must be an object or an array");
    expect_error("{\"a\":[]}", KYOKA_EINVAL, "Empty arrays are not allowed");
    expect_error("{\"a\":{\"b\":[]}}", KYOKA_EINVAL, "Empty arrays are not allowed");
    expect_error("{\"a\":[[1]]}", KYOKA_EINVAL, "Match value must be String, number, true, false, or null");
    expect_error("{\"a\":[{\"prefix\":\"x\",\"suffix\":\"y\"}]}", KYOKA_EINVAL,
                 "Only one key allowed in match expression");
    expect_error("{\"a\":[{}]}", KYOKA_EINVAL, "Only one key allowed in match expression");
    expect_error("{\"a\":[{\"contains\":\"x\"}]}", KYOKA_EINVAL, "Unrecognized match type contains");
    expect_error("{\"a\":[{\"prefix\":5}]}", KYOKA_EINVAL, "prefix match pattern must be a string");
    expect_error("{\"a\":[{\"suffix\":[\"x\"]}]}", KYOKA_EINVAL, "suffix match pattern must be a string");
    expect_error("{\"a\":[{\"prefix\":{\"equals-ignore-case\":5}}]}", KYOKA_EINVAL,
                 "equals-ignore-case match pattern must be a string");
    expect_error("{\"a\":[{\"equals-ignore-case\":[\"x\"]}]}", KYOKA_EINVAL,
                 "equals-ignore-case match pattern must be a string");
    expect_error("{\"a\":[{\"exists\":\"yes\"}]}", KYOKA_EINVAL, "exists match pattern must be either true or false.");
    expect_error("{\"a\":[{\"numeric\":5}]}", KYOKA_EINVAL, "Value of numeric must be an array.");
    expect_error("{\"a\":[{\"numeric\":[]}]}", KYOKA_EINVAL, "Invalid member in numeric match: ]");
    expect_error("{\"a\":[{\"numeric\":[5]}]}", KYOKA_EINVAL, "Invalid member in numeric match: 5");
    expect_error("{\"a\":[{\"numeric\":[\"!\",5]}]}", KYOKA_EINVAL, "Unrecognized numeric range operator: !");
    expect_error("{\"a\":[{\"numeric\":[\">\"]}]}", KYOKA_EINVAL, "Value of > must be numeric");
    expect_error("{\"a\":[{\"numeric\":[\"=\",\"5\"]}]}", KYOKA_EINVAL, "Value of equals must be numeric");
    expect_error("{\"a\":[{\"numeric\":[\"=\",1,\"<\",2]}]}", KYOKA_EINVAL, "Too many elements in numeric expression");
    expect_error("{\"a\":[{\"numeric\":[\">\",1,\">\",2]}]}", KYOKA_EINVAL, "Bad numeric range operator: >");
    expect_error("{\"a\":[{\"numeric\":[\">\",1,5,2]}]}", KYOKA_EINVAL, "Bad value in numeric range: 5");
    expect_error("{\"a\":[{\"numeric\":[\">\",1,\"<\",\"x\"]}]}", KYOKA_EINVAL, "Value of < must be numeric");
    expect_error("{\"a\":[{\"numeric\":[\">\",5,\"<\",2]}]}", KYOKA_EINVAL, "Bottom must be less than top");
    expect_error("{\"a\":[{\"numeric\":[\">\",1,\"<\",5,\"<\"]}]}", KYOKA_EINVAL,
                 "Too many terms in numeric range expression");
    expect_error("{\"a\":[{\"cidr\":5}]}", KYOKA_EINVAL, "prefix match pattern must be a string");
    expect_error("{\"a\":[{\"cidr\":\"10.0.0.0\"}]}", KYOKA_EINVAL, "Malformed CIDR, one '/' required");
    expect_error("{\"a\":[{\"cidr\":\"10.0.0.0/8/8\"}]}", KYOKA_EINVAL, "Malformed CIDR, one '/' required");
    expect_error("{\"a\":[{\"cidr\":\"10.0.0.0/x\"}]}", KYOKA_EINVAL, "Malformed CIDR, mask bits must be an integer");
    expect_error("{\"a\":[{\"cidr\":\"10.0.0.300/24\"}]}", KYOKA_EINVAL, "Nonstandard IP address: 10.0.0.300");
    expect_error("{\"a\":[{\"cidr\":\"10.0.0.0/33\"}]}", KYOKA_EINVAL, "Nonstandard IP address: 10.0.0.0");
    expect_error("{\"a\":[{\"wildcard\":5}]}", KYOKA_EINVAL, "wildcard match pattern must be a string");
    expect_error("{\"a\":[{\"wildcard\":\"a**b\"}]}", KYOKA_EINVAL, "Consecutive wildcard characters at pos 2");
    expect_error("{\"a\":[{\"wildcard\":\"a\\\\b\"}]}", KYOKA_EINVAL, "Invalid escape character at pos 1");
    expect_error("{\"a\":[{\"anything-but\":{\"contains\":\"x\"}}]}", KYOKA_EINVAL,
                 "Unsupported anything-but pattern: contains");
    expect_error("{\"a\":[{\"anything-but\":{\"prefix\":\"\"}}]}", KYOKA_EINVAL, "Null prefix/suffix not allowed");
    expect_error("{\"a\":[{\"anything-but\":{\"prefix\":5}}]}", KYOKA_EINVAL,
                 "prefix/suffix match pattern must be a string");
    expect_error("{\"a\":[{\"anything-but\":{\"prefix\":{\"x\":1}}}]}", KYOKA_EINVAL,
                 "Value of anything-but must be an array or single string/number value.");
    expect_error("{\"a\":[{\"anything-but\":[true]}]}", KYOKA_EINVAL,
                 "Inside anything but list, start|null|boolean is not supported.");
    expect_error("{\"a\":[{\"anything-but\":[{\"prefix\":\"x\"}]}]}", KYOKA_EINVAL,
                 "Inside anything but list, start|null|boolean is not supported.");
    expect_error("{\"a\":[{\"anything-but\":null}]}", KYOKA_EINVAL,
                 "Value of anything-but must be an array or single string/number value.");
    expect_error("{\"a\":[{\"anything-but\":{\"equals-ignore-case\":[1]}}]}", KYOKA_EINVAL,
                 "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.");
    expect_error("{\"a\":[{\"anything-but\":{\"wildcard\":\"a**\"}}]}", KYOKA_EINVAL,
                 "Consecutive wildcard characters at pos 2");
    /* Errors inside $or branches. */
    expect_error("{\"$or\":[{\"a\":[1]},{\"b\":[]}]}", KYOKA_EINVAL, "Empty arrays are not allowed");
    /* Limits. */
    char big[PATTERN_MAX_BYTES + 64];
    int n = snprintf(big, sizeof big, "{\"a\":[\"");
    memset(big + n, 'x', PATTERN_MAX_BYTES);
    snprintf(big + n + PATTERN_MAX_BYTES, sizeof big - (size_t)n - PATTERN_MAX_BYTES, "\"]}");
    expect_error(big, KYOKA_ELIMIT, NULL);
    /* Eleven parallel two-way $or: 2048 combinations. */
    char orp[2048];
    size_t o = 0;
    o += (size_t)snprintf(orp + o, sizeof orp - o, "{");
    for (int i = 0; i < 11; i++)
        o += (size_t)snprintf(orp + o, sizeof orp - o, "%s\"k%d\":{\"$or\":[{\"a\":[1]},{\"b\":[2]}]}", i ? "," : "", i);
    snprintf(orp + o, sizeof orp - o, "}");
    expect_error(orp, KYOKA_ELIMIT, NULL);
    /* The error text is truncated safely. */
    char tiny[8];
    assert_int_equal(pattern_validate("{\"a\":[]}", 8, tiny, sizeof tiny), KYOKA_EINVAL);
    assert_string_equal(tiny, "Empty a");
}

static void test_set_add_remove(void **state)
{
    (void)state;
    pattern_set_t *s = pattern_set_new();
    json_t *ev = json_loads("{\"source\":\"app.1\",\"detail\":{\"n\":7}}", 0, NULL);
    uint32_t ids[8];
    assert_int_equal(pattern_set_match(s, ev, ids, 8), 0);
    assert_int_equal(pattern_set_add(s, "{\"source\":[\"app.1\"]}", strlen("{\"source\":[\"app.1\"]}"), 10, NULL, 0), 0);
    assert_int_equal(pattern_set_add(s, "{\"source\":[\"app.2\"]}", strlen("{\"source\":[\"app.2\"]}"), 20, NULL, 0), 0);
    assert_int_equal(pattern_set_add(s, "{\"detail\":{\"n\":[{\"numeric\":[\">\",5]}]}}", strlen("{\"detail\":{\"n\":[{\"numeric\":[\">\",5]}]}}"), 30, NULL, 0), 0);
    /* Two patterns under one id: OR, reported once. */
    assert_int_equal(pattern_set_add(s, "{\"source\":[{\"prefix\":\"app\"}]}", strlen("{\"source\":[{\"prefix\":\"app\"}]}"), 40, NULL, 0), 0);
    assert_int_equal(pattern_set_add(s, "{\"detail\":{\"n\":[7]}}", strlen("{\"detail\":{\"n\":[7]}}"), 40, NULL, 0), 0);
    assert_int_equal(pattern_set_count(s), 5);
    size_t n = pattern_set_match(s, ev, ids, 8);
    assert_int_equal(n, 3);
    bool seen10 = false, seen30 = false, seen40 = false;
    for (size_t i = 0; i < n; i++) {
        seen10 |= ids[i] == 10;
        seen30 |= ids[i] == 30;
        seen40 |= ids[i] == 40;
    }
    assert_true(seen10 && seen30 && seen40);
    /* cap smaller than the matches: the count is still the total. */
    assert_int_equal(pattern_set_match(s, ev, ids, 1), 3);
    assert_int_equal(pattern_set_match(s, ev, NULL, 0), 3);
    assert_int_equal(pattern_set_remove(s, 10), 0);
    assert_int_equal(pattern_set_remove(s, 10), KYOKA_ENOTFOUND);
    assert_int_equal(pattern_set_remove(s, 40), 0);
    assert_int_equal(pattern_set_count(s), 2);
    n = pattern_set_match(s, ev, ids, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 30);
    /* Add after remove, before a match. */
    assert_int_equal(pattern_set_remove(s, 30), 0);
    assert_int_equal(pattern_set_add(s, "{\"source\":[\"app.1\"]}", strlen("{\"source\":[\"app.1\"]}"), 50, NULL, 0), 0);
    n = pattern_set_match(s, ev, ids, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 50);
    /* Shared prefixes of patterns keep their own ends. */
    assert_int_equal(pattern_set_add(s, "{\"source\":[\"app.1\"],\"detail\":{\"n\":[8]}}", strlen("{\"source\":[\"app.1\"],\"detail\":{\"n\":[8]}}"), 60, NULL, 0), 0);
    assert_int_equal(pattern_set_match(s, ev, ids, 8), 1);
    json_decref(ev);
    pattern_set_free(s);
    pattern_set_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),         cmocka_unit_test(test_arrays_in_events),
        cmocka_unit_test(test_prefix_suffix), cmocka_unit_test(test_equals_ignore_case),
        cmocka_unit_test(test_wildcard),      cmocka_unit_test(test_anything_but),
        cmocka_unit_test(test_numeric),       cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_exists),        cmocka_unit_test(test_or),
        cmocka_unit_test(test_lambda_body),   cmocka_unit_test(test_errors),
        cmocka_unit_test(test_set_add_remove), cmocka_unit_test(test_differential),
        cmocka_unit_test(test_differential_arrays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
