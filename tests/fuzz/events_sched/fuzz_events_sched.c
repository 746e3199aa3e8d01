/* Fuzz EventBridge's schedule expressions (rate(), cron(), at()) and the
 * next-firing search: the input is an expression. A parse failure must
 * name its reason; a parsed cron() or at() must give firings that move
 * strictly forward, on minute boundaries for cron(), in UTC and in a
 * zone with DST. */
#include "services/events/sched.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512)
        return 0;
    events_sched_t s;
    char err[128];
    err[0] = '\0';
    if (events_sched_parse((const char *)data, size, true, &s, err, sizeof err) != 0) {
        if (err[0] == '\0')
            __builtin_trap();
        return 0;
    }
    if (s.kind == EVENTS_SCHED_RATE) {
        if (s.rate_ms < 60000)
            __builtin_trap();
        return 0;
    }
    const events_tz_t *zones[2] = {NULL, events_tz_get("America/New_York")};
    for (int z = 0; z < 2; z++) {
        int64_t t = 1700000000000LL;
        for (int i = 0; i < 4; i++) {
            int64_t n = events_sched_next(&s, zones[z], t);
            if (n == INT64_MAX)
                break;
            if (n <= t || (s.kind == EVENTS_SCHED_CRON && n % 60000 != 0))
                __builtin_trap();
            t = n;
        }
    }
    return 0;
}
