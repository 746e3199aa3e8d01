/*
 * Schedule expressions and time zones (see sched.h).
 *
 * cron() fields become bit sets; the next firing is found day by day in
 * the zone's wall-clock time (a day matches on year, month and the one
 * day field that is not '?'), then the first matching hour and minute of
 * that day, converted back to an instant. The search is bounded by the
 * last year cron() can name (2199), so it ends for every expression.
 */
#include "sched.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/banned.h"

#define YEAR_MIN 1970
#define YEAR_MAX 2199
#define DAY_MS 86400000LL

/* ==== civil dates ==== */

/* Days from 1970-01-01, by the era arithmetic of the proleptic Gregorian
 * calendar (400-year eras of 146097 days). */
int64_t events_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void events_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return n[m - 1];
}

/* 1 = Sunday .. 7 = Saturday, as cron's day-of-week. 1970-01-01 was a
 * Thursday (5). */
static int weekday(int64_t days) { return (int)(((days % 7) + 7 + 4) % 7) + 1; }

/* ==== parsing ==== */

typedef struct bits {
    uint64_t w[4];
} bits_t;

static void bit_set(bits_t *b, int i) { b->w[i >> 6] |= 1ULL << (i & 63); }
static bool bit_get(const uint64_t *w, int i) { return (w[i >> 6] >> (i & 63)) & 1; }

static int parse_int(const char **p, const char *end, const char *const *names, int names_base, int *out)
{
    const char *s = *p;
    if (s < end && *s >= '0' && *s <= '9') {
        int v = 0;
        while (s < end && *s >= '0' && *s <= '9' && v < 100000)
            v = v * 10 + (*s++ - '0');
        *out = v;
        *p = s;
        return 0;
    }
    for (int i = 0; names && names[i]; i++) {
        if (end - s >= 3 && strncasecmp(s, names[i], 3) == 0) {
            *out = names_base + i;
            *p = s + 3;
            return 0;
        }
    }
    return -1;
}

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

/* One field of lists, ranges, '*' and steps into bits (values min..max).
 * Returns 0 or -1. */
static int parse_field(const char *s, const char *end, int min, int max, const char *const *names, int names_base,
                       bits_t *out)
{
    memset(out, 0, sizeof *out);
    if (s == end)
        return -1;
    while (s < end) {
        const char *item_end = memchr(s, ',', (size_t)(end - s));
        if (!item_end)
            item_end = end;
        int lo, hi, step = 1;
        const char *p = s;
        if (p < item_end && *p == '*') {
            lo = min;
            hi = max;
            p++;
        } else {
            if (parse_int(&p, item_end, names, names_base, &lo) != 0)
                return -1;
            hi = lo;
            if (p < item_end && *p == '-') {
                p++;
                if (parse_int(&p, item_end, names, names_base, &hi) != 0)
                    return -1;
            }
        }
        if (p < item_end && *p == '/') {
            p++;
            if (parse_int(&p, item_end, NULL, 0, &step) != 0 || step < 1)
                return -1;
            if (hi == lo && s[0] != '*')
                hi = max; /* "5/15": from 5 every 15 */
        }
        if (p != item_end || lo < min || hi > max || lo > hi)
            return -1;
        for (int v = lo; v <= hi; v += step)
            bit_set(out, v - min);
        s = item_end < end ? item_end + 1 : end;
        if (item_end < end && s == end)
            return -1; /* a trailing comma */
    }
    return 0;
}

static int fail(char *err, size_t cap, const char *why)
{
    if (err && cap)
        snprintf(err, cap, "%s", why);
    return KYOKA_EINVAL;
}

static int parse_rate(const char *s, const char *end, events_sched_t *out, char *err, size_t cap)
{
    while (s < end && *s == ' ')
        s++;
    int64_t v = 0;
    const char *d = s;
    while (s < end && *s >= '0' && *s <= '9' && v < 100000000)
        v = v * 10 + (*s++ - '0');
    if (s == d || v < 1)
        return fail(err, cap, "rate value must be a positive integer");
    if (s >= end || *s != ' ')
        return fail(err, cap, "rate needs a value and a unit");
    while (s < end && *s == ' ')
        s++;
    const char *u = s;
    while (s < end && *s != ' ')
        s++;
    size_t ulen = (size_t)(s - u);
    while (s < end && *s == ' ')
        s++;
    if (s != end)
        return fail(err, cap, "rate has extra text");
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {{"minute", 60000}, {"hour", 3600000}, {"day", DAY_MS}};
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(units); i++) {
        size_t n = strlen(units[i].name);
        bool singular = ulen == n && memcmp(u, units[i].name, n) == 0;
        bool plural = ulen == n + 1 && memcmp(u, units[i].name, n) == 0 && u[n] == 's';
        if (!singular && !plural)
            continue;
        /* "If the value is equal to 1, then the unit must be singular. If
         * the value is greater than 1, the unit must be plural." */
        if ((v == 1) != singular)
            return fail(err, cap, "rate unit must be singular for 1 and plural otherwise");
        out->kind = EVENTS_SCHED_RATE;
        out->rate_ms = v * units[i].ms;
        return 0;
    }
    return fail(err, cap, "rate unit must be minute(s), hour(s) or day(s)");
}

static int parse_cron(const char *s, const char *end, events_sched_t *out, char *err, size_t cap)
{
    const char *f[6], *fe[6];
    int n = 0;
    while (s < end) {
        while (s < end && *s == ' ')
            s++;
        if (s == end)
            break;
        if (n == 6)
            return fail(err, cap, "cron takes six fields");
        f[n] = s;
        while (s < end && *s != ' ')
            s++;
        fe[n++] = s;
    }
    if (n != 6)
        return fail(err, cap, "cron takes six fields");
    bits_t b;
    if (parse_field(f[0], fe[0], 0, 59, NULL, 0, &b) != 0)
        return fail(err, cap, "bad minutes field");
    out->minutes = b.w[0];
    if (parse_field(f[1], fe[1], 0, 23, NULL, 0, &b) != 0)
        return fail(err, cap, "bad hours field");
    out->hours = (uint32_t)b.w[0];
    if (parse_field(f[3], fe[3], 1, 12, month_names, 1, &b) != 0)
        return fail(err, cap, "bad month field");
    out->months = (uint16_t)(b.w[0] << 1);
    if (parse_field(f[5], fe[5], YEAR_MIN, YEAR_MAX, NULL, 0, &b) != 0)
        return fail(err, cap, "bad year field");
    memcpy(out->years, b.w, sizeof out->years);

    /* Day of month. */
    size_t dl = (size_t)(fe[2] - f[2]);
    if (dl == 1 && f[2][0] == '?') {
        out->dom_any = true;
    } else if (dl == 1 && f[2][0] == 'L') {
        out->dom_last = true;
    } else if (dl == 2 && memcmp(f[2], "LW", 2) == 0) {
        out->dom_last_weekday = true;
    } else if (dl >= 2 && fe[2][-1] == 'W') {
        const char *p = f[2];
        int d;
        if (parse_int(&p, fe[2] - 1, NULL, 0, &d) != 0 || p != fe[2] - 1 || d < 1 || d > 31)
            return fail(err, cap, "bad day-of-month field");
        out->dom_weekday = d;
    } else {
        if (parse_field(f[2], fe[2], 1, 31, NULL, 0, &b) != 0)
            return fail(err, cap, "bad day-of-month field");
        out->dom = (uint32_t)(b.w[0] << 1);
    }
    /* Day of week. */
    size_t wl = (size_t)(fe[4] - f[4]);
    const char *hash = memchr(f[4], '#', wl);
    if (wl == 1 && f[4][0] == '?') {
        out->dow_any = true;
    } else if (wl == 1 && f[4][0] == 'L') {
        out->dow = 1 << 7; /* the last day of the week: Saturday */
    } else if (wl >= 2 && fe[4][-1] == 'L') {
        const char *p = f[4];
        int d;
        if (parse_int(&p, fe[4] - 1, day_names, 1, &d) != 0 || p != fe[4] - 1 || d < 1 || d > 7)
            return fail(err, cap, "bad day-of-week field");
        out->dow_last = d;
    } else if (hash) {
        const char *p = f[4];
        int d, k;
        if (parse_int(&p, hash, day_names, 1, &d) != 0 || p != hash || d < 1 || d > 7)
            return fail(err, cap, "bad day-of-week field");
        p = hash + 1;
        if (parse_int(&p, fe[4], NULL, 0, &k) != 0 || p != fe[4] || k < 1 || k > 5)
            return fail(err, cap, "bad day-of-week field");
        out->dow_nth_day = d;
        out->dow_nth = k;
    } else {
        if (parse_field(f[4], fe[4], 1, 7, day_names, 1, &b) != 0)
            return fail(err, cap, "bad day-of-week field");
        out->dow = (uint8_t)(b.w[0] << 1);
    }
    /* "You can't specify the Day-of-month and Day-of-week fields in the
     * same cron expression. If you specify a value or a * (asterisk) in
     * one of the fields, you must use a ? (question mark) in the other." */
    if (out->dom_any == out->dow_any)
        return fail(err, cap, "exactly one of day-of-month and day-of-week must be ?");
    out->kind = EVENTS_SCHED_CRON;
    return 0;
}

static int parse_at(const char *s, const char *end, events_sched_t *out, char *err, size_t cap)
{
    int y, mo, d, h, mi, se;
    char tail;
    char text[32];
    size_t n = (size_t)(end - s);
    if (n != 19)
        return fail(err, cap, "at() takes yyyy-mm-ddThh:mm:ss");
    memcpy(text, s, n);
    text[n] = '\0';
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &tail) != 6 || text[4] != '-' ||
        text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':')
        return fail(err, cap, "at() takes yyyy-mm-ddThh:mm:ss");
    if (y < YEAR_MIN || y > YEAR_MAX || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || se > 59)
        return fail(err, cap, "at() names no such time");
    out->kind = EVENTS_SCHED_AT;
    out->at_local_ms = (events_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) * 1000;
    return 0;
}

int events_sched_parse(const char *text, size_t len, bool allow_at, events_sched_t *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    if (!text || len > 256)
        return fail(err, errcap, "expression too long");
    const char *end = text + len;
    const char *open = memchr(text, '(', len);
    if (!open || len < 2 || end[-1] != ')')
        return fail(err, errcap, "expected rate(...), cron(...) or at(...)");
    size_t kw = (size_t)(open - text);
    const char *in = open + 1, *in_end = end - 1;
    if (kw == 4 && memcmp(text, "rate", 4) == 0)
        return parse_rate(in, in_end, out, err, errcap);
    if (kw == 4 && memcmp(text, "cron", 4) == 0)
        return parse_cron(in, in_end, out, err, errcap);
    if (allow_at && kw == 2 && memcmp(text, "at", 2) == 0)
        return parse_at(in, in_end, out, err, errcap);
    return fail(err, errcap, "expected rate(...), cron(...) or at(...)");
}

/* ==== next firing ==== */

static bool day_matches(const events_sched_t *e, int y, int m, int d, int64_t days)
{
    if (!bit_get(e->years, y - YEAR_MIN) || !((e->months >> m) & 1))
        return false;
    int last = days_in_month(y, m);
    if (!e->dom_any) {
        if (e->dom_last)
            return d == last;
        if (e->dom_last_weekday || e->dom_weekday) {
            /* The weekday (Mon-Fri) nearest the given day, within the month. */
            int target = e->dom_last_weekday ? last : (e->dom_weekday > last ? last : e->dom_weekday);
            int64_t tdays = days - d + target;
            int wd = weekday(tdays);
            if (wd == 7) /* Saturday: Friday, or Monday when Friday is in the last month */
                target = target == 1 ? 3 : target - 1;
            else if (wd == 1) /* Sunday: Monday, or Friday at the month's end */
                target = target == last ? target - 2 : target + 1;
            return d == target;
        }
        return (e->dom >> d) & 1;
    }
    int wd = weekday(days);
    if (e->dow_last)
        return wd == e->dow_last && d + 7 > last;
    if (e->dow_nth)
        return wd == e->dow_nth_day && (d - 1) / 7 + 1 == e->dow_nth;
    return (e->dow >> wd) & 1;
}

int64_t events_sched_next(const events_sched_t *e, const events_tz_t *tz, int64_t after_ms)
{
    if (e->kind == EVENTS_SCHED_AT) {
        int64_t at = events_tz_from_local(tz, e->at_local_ms / 1000) * 1000;
        return at > after_ms ? at : INT64_MAX;
    }
    if (e->kind != EVENTS_SCHED_CRON)
        return INT64_MAX;
    /* Cron fires on minute boundaries: start at the next one. */
    int64_t start_s = (after_ms >= 0 ? after_ms / 60000 : (after_ms - 59999) / 60000) * 60 + 60;
    int64_t local = start_s + events_tz_offset(tz, start_s);
    int64_t day0 = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    int start_min = (int)((local - day0 * 86400) / 60);
    int64_t last_day = events_days_from_civil(YEAR_MAX, 12, 31);
    for (int64_t days = day0; days <= last_day; days++) {
        int y, m, d;
        events_civil_from_days(days, &y, &m, &d);
        if (y < YEAR_MIN)
            continue;
        if (!bit_get(e->years, y - YEAR_MIN)) {
            days = events_days_from_civil(y, 12, 31); /* skip the year */
            continue;
        }
        if (!((e->months >> m) & 1)) {
            days += days_in_month(y, m) - d; /* skip the month */
            continue;
        }
        if (!day_matches(e, y, m, d, days))
            continue;
        int from = days == day0 ? start_min : 0;
        for (int h = from / 60; h < 24; h++) {
            if (!((e->hours >> h) & 1))
                continue;
            for (int mi = h == from / 60 ? from % 60 : 0; mi < 60; mi++) {
                if (!((e->minutes >> mi) & 1))
                    continue;
                int64_t at = events_tz_from_local(tz, days * 86400 + h * 3600 + mi * 60) * 1000;
                if (at > after_ms)
                    return at;
            }
        }
    }
    return INT64_MAX;
}

/* ==== time zones ==== */

struct events_tz {
    char name[128];
    int64_t *at;     /* transition instants (UTC seconds), ascending */
    int32_t *off;    /* offset in effect from at[i] */
    size_t n;
    int32_t initial; /* before the first transition */
    struct events_tz *next;
};

static events_tz_t *tz_cache;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool tz_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= 128 || name[0] == '/' || strstr(name, ".."))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '/' ||
              ch == '_' || ch == '-' || ch == '+'))
            return false;
    }
    return true;
}

/* TZif (RFC 8536): a v1 header and 32-bit data, then for v2+ a second
 * header and 64-bit data, which is what is read here. */
static events_tz_t *tz_parse(const unsigned char *p, size_t len)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0 || p[4] < '2')
        return NULL;
    uint32_t c[6];
    for (int i = 0; i < 6; i++)
        c[i] = be32(p + 20 + 4 * i); /* isutcnt isstdcnt leapcnt timecnt typecnt charcnt */
    size_t v1 = 44 + (size_t)c[3] * 5 + (size_t)c[4] * 6 + c[5] + (size_t)c[2] * 8 + c[1] + c[0];
    if (v1 + 44 > len)
        return NULL;
    const unsigned char *h = p + v1;
    if (memcmp(h, "TZif", 4) != 0)
        return NULL;
    for (int i = 0; i < 6; i++)
        c[i] = be32(h + 20 + 4 * i);
    size_t timecnt = c[3], typecnt = c[4];
    if (typecnt == 0 || timecnt > 100000 || typecnt > 256)
        return NULL;
    const unsigned char *times = h + 44, *idx = times + timecnt * 8, *types = idx + timecnt;
    if ((size_t)(types + typecnt * 6 - p) > len)
        return NULL;
    events_tz_t *tz = xcalloc(1, sizeof *tz);
    tz->n = timecnt;
    tz->at = xcalloc(timecnt ? timecnt : 1, sizeof *tz->at);
    tz->off = xcalloc(timecnt ? timecnt : 1, sizeof *tz->off);
    for (size_t i = 0; i < timecnt; i++) {
        uint64_t hi = be32(times + 8 * i), lo = be32(times + 8 * i + 4);
        tz->at[i] = (int64_t)(hi << 32 | lo);
        unsigned t = idx[i] < typecnt ? idx[i] : 0;
        tz->off[i] = (int32_t)be32(types + 6 * t);
    }
    tz->initial = (int32_t)be32(types);
    return tz;
}

const events_tz_t *events_tz_get(const char *name)
{
    if (!name || !*name || strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return NULL;
    for (events_tz_t *t = tz_cache; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    if (!tz_name_ok(name))
        return NULL;
    char path[256];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    unsigned char buf[65536];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof buf - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == sizeof buf)
            break;
    }
    close(fd);
    events_tz_t *tz = tz_parse(buf, len);
    if (!tz)
        return NULL;
    snprintf(tz->name, sizeof tz->name, "%s", name);
    tz->next = tz_cache;
    tz_cache = tz;
    return tz;
}

int32_t events_tz_offset(const events_tz_t *tz, int64_t utc_s)
{
    if (!tz)
        return 0;
    if (tz->n == 0 || utc_s < tz->at[0])
        return tz->initial;
    size_t lo = 0, hi = tz->n; /* the last transition at or before utc_s */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (tz->at[mid] <= utc_s)
            lo = mid;
        else
            hi = mid;
    }
    return tz->off[lo];
}

int64_t events_tz_from_local(const events_tz_t *tz, int64_t local_s)
{
    if (!tz)
        return local_s;
    /* Guess with the offset at the wall time read as UTC, then correct
     * with the offset at the guess. A wall time skipped by a DST change
     * lands after the change; a repeated one takes its first instant. */
    int64_t u = local_s - events_tz_offset(tz, local_s);
    int64_t u2 = local_s - events_tz_offset(tz, u);
    if (u2 != u && local_s - events_tz_offset(tz, u2) == u2)
        return u2 < u ? u2 : u;
    return u2;
}
