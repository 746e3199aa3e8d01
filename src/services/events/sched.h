/*
 * Schedule expressions shared by EventBridge rules and EventBridge
 * Scheduler: rate(), cron() with AWS's six fields, and at() (Scheduler
 * only), and the time zones cron() and at() are read in.
 *
 * Syntax (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html,
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):
 *   rate(VALUE UNIT)   VALUE a positive integer; UNIT minute|minutes|hour|
 *                      hours|day|days, singular exactly when VALUE is 1
 *   cron(MIN HOUR DOM MONTH DOW YEAR)
 *                      MIN 0-59, HOUR 0-23, DOM 1-31, MONTH 1-12 or JAN-DEC,
 *                      DOW 1-7 (1 = Sunday) or SUN-SAT, YEAR 1970-2199;
 *                      every field takes , - * and /; DOM also ? L W
 *                      (15W, LW); DOW also ? L (5L: last Thursday) and #
 *                      (2#1: first Monday); exactly one of DOM and DOW is ?
 *   at(yyyy-mm-ddThh:mm:ss)   one time, in the schedule's time zone
 *
 * Time zones: kyoka reads the system's TZif files
 * (/usr/share/zoneinfo/NAME) itself rather than calling localtime_r under
 * a changed TZ, because TZ is process-wide state shared with the thread
 * pool. The 64-bit transition table is used; an instant after the last
 * transition keeps the last offset (Debian ships "fat" files with
 * transitions to 2037, so this only approximates later DST rules). Zones
 * are loaded once and cached for the life of the process (a blocking read
 * of a few KB, on first use of a zone).
 *
 * Thread: loop thread (the zone cache).
 */
#ifndef KYOKA_EVENTS_SCHED_H
#define KYOKA_EVENTS_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef enum { EVENTS_SCHED_RATE = 1, EVENTS_SCHED_CRON, EVENTS_SCHED_AT } events_sched_kind_t;

typedef struct events_sched {
    events_sched_kind_t kind;
    int64_t rate_ms;          /* RATE: the period */
    uint64_t minutes;         /* CRON: bit m for minute m */
    uint32_t hours;           /* bit h */
    uint32_t dom;             /* bit d (1..31) */
    uint16_t months;          /* bit m (1..12) */
    uint8_t dow;              /* bit d (1..7, 1 = Sunday) */
    bool dom_any, dow_any;    /* the field is '?' */
    bool dom_last;            /* L: the month's last day */
    bool dom_last_weekday;    /* LW */
    int dom_weekday;          /* 15W: the weekday nearest the 15th (0: none) */
    int dow_last;             /* 5L: the last Thursday (0: none) */
    int dow_nth_day, dow_nth; /* 2#1: the first Monday (0: none) */
    uint64_t years[4];        /* bit y-1970 */
    int64_t at_local_ms;      /* AT: the wall-clock time, as if UTC */
} events_sched_t;

/* Parse an expression. allow_at admits at() (Scheduler). Returns 0, or
 * KYOKA_EINVAL with a short reason in err (for logs; services answer with
 * AWS's own message). */
int events_sched_parse(const char *text, size_t len, bool allow_at, events_sched_t *out, char *err,
                       size_t errcap) KYOKA_WUR;

typedef struct events_tz events_tz_t;

/* The zone NAME ("America/New_York", "UTC"), from the cache or the zoneinfo
 * files; NULL when there is no such zone or the name is unsafe. The zone
 * lives as long as the process. */
const events_tz_t *events_tz_get(const char *name);
/* UTC offset in seconds at instant utc_s (tz NULL: UTC). */
int32_t events_tz_offset(const events_tz_t *tz, int64_t utc_s);
/* The instant of a wall-clock time local_s (seconds, as if UTC) in tz. */
int64_t events_tz_from_local(const events_tz_t *tz, int64_t local_s);

/* The first firing strictly after after_ms (server clock ms) of a CRON or
 * AT expression read in tz (NULL: UTC); INT64_MAX when it never fires
 * again (a past at(), a year range that ended). RATE is the caller's
 * (anchor + k * period). */
int64_t events_sched_next(const events_sched_t *e, const events_tz_t *tz, int64_t after_ms);

/* Days since 1970-01-01 of a civil date, and back (proleptic Gregorian). */
int64_t events_days_from_civil(int y, int m, int d);
void events_civil_from_days(int64_t z, int *y, int *m, int *d);

#endif
