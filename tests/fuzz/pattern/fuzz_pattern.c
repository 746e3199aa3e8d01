/* Fuzz the event-pattern language (src/pattern): the input is a pattern,
 * then optionally a NUL byte and an event. The pattern is compiled (a bad
 * one must fail cleanly, with a reason, and leave the set empty); a good
 * one is matched against a fixed event that exercises every operator and
 * arrays of objects, and against the given event when it is JSON. Matching
 * must be a pure function of its input (asked twice, answered the same),
 * and a set holding the pattern twice under two ids must report both or
 * neither. */
#include "pattern/pattern.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char FIXED[] =
    "{\"version\":\"0\",\"source\":\"aws.ec2\",\"detail-type\":\"EC2 Instance State-change Notification\","
    "\"time\":\"2017-10-02T16:24:49Z\",\"resources\":[\"arn:aws:ec2:us-east-1:1:instance/i-1\",\"b\"],"
    "\"detail\":{\"c-count\":5,\"x-limit\":301.8,\"source-ip\":\"10.0.0.33\",\"v6\":\"2001:db8::1\","
    "\"state\":\"running\",\"flag\":true,\"none\":null,\"empty\":\"\",\"list\":[],"
    "\"employees\":[{\"firstName\":\"Anna\",\"lastName\":\"Smith\",\"tags\":[\"a\",\"b\"]},"
    "{\"firstName\":\"Peter\",\"lastName\":\"Jones\",\"sub\":[{\"z\":1},{\"z\":2}]}]},"
    "\"a.b\":\"dotted\",\"$or\":\"literal\"}";

static void check(pattern_set_t *s, const json_t *ev)
{
    uint32_t ids[4];
    size_t a = pattern_set_match(s, ev, ids, 4);
    size_t b = pattern_set_match(s, ev, ids, 4);
    if (a != b || (a != 0 && a != 2))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t plen = nul ? (size_t)(nul - text) : size;
    pattern_set_t *s = pattern_set_new();
    char err[256];
    err[0] = '\0';
    int rc = pattern_set_add(s, text, plen, 1, err, sizeof err);
    if (rc != 0) {
        if (err[0] == '\0' || pattern_set_count(s) != 0)
            __builtin_trap(); /* a failure names its reason and adds nothing */
        pattern_set_free(s);
        return 0;
    }
    if (pattern_set_add(s, text, plen, 2, err, sizeof err) != 0)
        __builtin_trap(); /* accepted once, accepted again */
    json_t *fixed = json_loads(FIXED, 0, NULL);
    check(s, fixed);
    json_decref(fixed);
    if (nul) {
        json_t *ev = json_loadb(nul + 1, size - plen - 1, JSON_DECODE_ANY, NULL);
        if (ev) {
            check(s, ev);
            json_decref(ev);
        }
    }
    /* Removing one id leaves the other answering alone. */
    if (pattern_set_remove(s, 1) != 0)
        __builtin_trap();
    json_t *again = json_loads(FIXED, 0, NULL);
    uint32_t id = 0;
    size_t n = pattern_set_match(s, again, &id, 1);
    if (n > 1 || (n == 1 && id != 2))
        __builtin_trap();
    json_decref(again);
    pattern_set_free(s);
    return 0;
}
