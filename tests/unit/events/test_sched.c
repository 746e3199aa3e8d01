/* Schedule expressions (rate, cron with AWS's six fields, at) and the
 * next-firing search in UTC and in a zone with DST. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "services/events/sched.h"

#include <string.h>

static int parse(const char *s, events_sched_t *e)
{
    char err[128];
    return events_sched_parse(s, strlen(s), true, e, err, sizeof err);
}

static int64_t at(int y, int m, int d, int h, int mi)
{
    return (events_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60) * 1000;
}

static void test_rate(void **state)
{
    (void)state;
    events_sched_t e;
    assert_int_equal(parse("rate(10 minutes)", &e), 0);
    assert_int_equal(e.rate_ms, 600000);
    assert_int_equal(parse("rate(1 hour)", &e), 0);
    assert_int_equal(e.rate_ms, 3600000);
    /* AWS: singular exactly for 1. */
    assert_int_not_equal(parse("rate(1 hours)", &e), 0);
    assert_int_not_equal(parse("rate(5 minute)", &e), 0);
    assert_int_not_equal(parse("rate(0 minutes)", &e), 0);
    assert_int_not_equal(parse("rate(5 weeks)", &e), 0);
    assert_int_not_equal(parse("rate(5minutes)", &e), 0);
}

static void test_cron_syntax(void **state)
{
    (void)state;
    events_sched_t e;
    assert_int_equal(parse("cron(0 10 * * ? *)", &e), 0);
    assert_int_equal(parse("cron(15 12 * * ? *)", &e), 0);
    assert_int_equal(parse("cron(0 18 ? * MON-FRI *)", &e), 0);
    assert_int_equal(parse("cron(0 8 1 * ? *)", &e), 0);
    assert_int_equal(parse("cron(0/15 * * * ? *)", &e), 0);
    assert_int_equal(parse("cron(0/10 * ? * MON-FRI *)", &e), 0);
    assert_int_equal(parse("cron(0/5 8-17 ? * MON-FRI *)", &e), 0);
    assert_int_equal(parse("cron(0 9 ? * 2#1 *)", &e), 0);
    assert_int_equal(parse("cron(0 0 L * ? *)", &e), 0);
    assert_int_equal(parse("cron(0 0 LW * ? *)", &e), 0);
    assert_int_equal(parse("cron(0 0 15W * ? *)", &e), 0);
    assert_int_equal(parse("cron(0 0 ? * 6L 2025-2030)", &e), 0);
    /* Exactly one of day-of-month and day-of-week is '?'. */
    assert_int_not_equal(parse("cron(0 10 * * * *)", &e), 0);
    assert_int_not_equal(parse("cron(0 10 ? * ? *)", &e), 0);
    assert_int_not_equal(parse("cron(0 10 * * ?)", &e), 0);
    assert_int_not_equal(parse("cron(60 10 * * ? *)", &e), 0);
    assert_int_not_equal(parse("cron(0 24 * * ? *)", &e), 0);
    assert_int_not_equal(parse("cron(0 0 32 * ? *)", &e), 0);
    assert_int_not_equal(parse("cron(0 0 ? * 8 *)", &e), 0);
    assert_int_not_equal(parse("cron(0 0 * * ? 1969)", &e), 0);
    assert_int_not_equal(parse("cron(0 0 1, * ? *)", &e), 0);
    assert_int_not_equal(parse("at(2030-01-01T00:00:00)x", &e), 0);
}

static void test_cron_next(void **state)
{
    (void)state;
    events_sched_t e;
    assert_int_equal(parse("cron(0 12 * * ? *)", &e), 0);
    assert_true(events_sched_next(&e, NULL, at(2024, 3, 1, 11, 0)) == at(2024, 3, 1, 12, 0));
    assert_true(events_sched_next(&e, NULL, at(2024, 3, 1, 12, 0)) == at(2024, 3, 2, 12, 0));
    /* 2024-03-01 is a Friday: the next weekday 18:00 after Friday's is Monday's. */
    assert_int_equal(parse("cron(0 18 ? * MON-FRI *)", &e), 0);
    assert_true(events_sched_next(&e, NULL, at(2024, 3, 1, 18, 0)) == at(2024, 3, 4, 18, 0));
    /* The first Monday of April 2024 is the 1st; of May, the 6th. */
    assert_int_equal(parse("cron(0 9 ? * 2#1 *)", &e), 0);
    assert_true(events_sched_next(&e, NULL, at(2024, 4, 1, 10, 0)) == at(2024, 5, 6, 9, 0));
    /* The last day of February in a leap year. */
    assert_int_equal(parse("cron(0 0 L * ? *)", &e), 0);
    assert_true(events_sched_next(&e, NULL, at(2024, 2, 10, 0, 0)) == at(2024, 2, 29, 0, 0));
    /* 2024-06-15 is a Saturday: 15W is Friday the 14th. */
    assert_int_equal(parse("cron(0 0 15W * ? *)", &e), 0);
    assert_true(events_sched_next(&e, NULL, at(2024, 6, 1, 0, 0)) == at(2024, 6, 14, 0, 0));
    /* The last Friday of March 2024 is the 29th. */
    assert_int_equal(parse("cron(0 0 ? * 6L *)", &e), 0);
    assert_true(events_sched_next(&e, NULL, at(2024, 3, 1, 0, 0)) == at(2024, 3, 29, 0, 0));
    /* Every 10 minutes: six firings in an hour. */
    assert_int_equal(parse("cron(0/10 * * * ? *)", &e), 0);
    int64_t t = at(2024, 1, 1, 0, 0);
    int n = 0;
    for (int64_t x = events_sched_next(&e, NULL, t); x <= t + 3600000; x = events_sched_next(&e, NULL, x))
        n++;
    assert_int_equal(n, 6);
    /* A year that has passed never fires again. */
    assert_int_equal(parse("cron(0 0 1 1 ? 2020)", &e), 0);
    assert_true(events_sched_next(&e, NULL, at(2024, 1, 1, 0, 0)) == INT64_MAX);
}

static void test_zones(void **state)
{
    (void)state;
    const events_tz_t *ny = events_tz_get("America/New_York");
    assert_non_null(ny);
    assert_null(events_tz_get("../etc/passwd"));
    assert_null(events_tz_get("No/Such_Zone"));
    /* EST in January, EDT in July. */
    assert_int_equal(events_tz_offset(ny, at(2024, 1, 15, 12, 0) / 1000), -5 * 3600);
    assert_int_equal(events_tz_offset(ny, at(2024, 7, 15, 12, 0) / 1000), -4 * 3600);
    events_sched_t e;
    assert_int_equal(parse("cron(0 9 * * ? *)", &e), 0);
    /* 09:00 New York is 14:00 UTC in winter, 13:00 in summer. */
    assert_true(events_sched_next(&e, ny, at(2024, 1, 15, 0, 0)) == at(2024, 1, 15, 14, 0));
    assert_true(events_sched_next(&e, ny, at(2024, 7, 15, 0, 0)) == at(2024, 7, 15, 13, 0));
    assert_int_equal(parse("at(2024-07-04T12:00:00)", &e), 0);
    assert_true(events_sched_next(&e, ny, at(2024, 1, 1, 0, 0)) == at(2024, 7, 4, 16, 0));
    assert_true(events_sched_next(&e, ny, at(2024, 8, 1, 0, 0)) == INT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_cron_syntax),
        cmocka_unit_test(test_cron_next),
        cmocka_unit_test(test_zones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
