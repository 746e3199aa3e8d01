/*
 * API keys and usage plans on the data plane
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html):
 * a method with apiKeyRequired needs an enabled key, sent in x-api-key
 * (the API's apiKeySource HEADER, the default), that belongs to a usage
 * plan serving this API and stage; otherwise 403 {"message":"Forbidden"}.
 * The plan's throttle is a token bucket per plan and key (rateLimit
 * tokens a second, at most burstLimit held): empty gives 429
 * {"message":"Too Many Requests"}; its quota counts requests per DAY, WEEK
 * (weeks start on Monday, UTC) or MONTH: past the limit gives 429
 * {"message":"Limit Exceeded"}. Meters live in memory (st->meter), as
 * they are approximate in AWS too; a restart starts them afresh.
 * AUTHORIZER key sources are not served: such methods answer 403.
 */
#include "internal.h"

#include <string.h>
#include <time.h>

#include "core/banned.h"

/* The usage plan (borrowed) serving api/stage that holds key id, or NULL. */
static json_t *plan_for(agw_state_t *st, const char *api, const char *stage, const char *key, const char **plan_id)
{
    const char *id;
    json_t *doc;
    json_object_foreach(st->plans, id, doc)
    {
        bool has_key = false, serves = false;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(doc, "keys"), i, v) has_key |= strcmp(json_string_value(v), key) == 0;
        json_array_foreach(json_object_get(json_object_get(doc, "plan"), "apiStages"), i, v)
        {
            serves |= strcmp(json_string_value(json_object_get(v, "apiId")), api) == 0 &&
                      strcmp(json_string_value(json_object_get(v, "stage")), stage) == 0;
        }
        if (has_key && serves) {
            *plan_id = id;
            return json_object_get(doc, "plan");
        }
    }
    return NULL;
}

static json_t *key_by_value(agw_state_t *st, strv_t value)
{
    const char *id;
    json_t *doc;
    json_object_foreach(st->keys, id, doc)
    {
        json_t *k = json_object_get(doc, "key");
        if (strv_eq_cstr(value, json_string_value(json_object_get(k, "value"))))
            return k;
    }
    return NULL;
}

/* Which quota period now falls in, as a number that changes when it ends. */
static int64_t period_of(const char *period, int64_t now_ms)
{
    int64_t days = now_ms / 86400000;
    if (period && strcmp(period, "WEEK") == 0)
        return (days + 3) / 7; /* 1970-01-01 was a Thursday */
    if (period && strcmp(period, "MONTH") == 0) {
        time_t s = (time_t)(now_ms / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        return (int64_t)tm.tm_year * 12 + tm.tm_mon;
    }
    return days;
}

static bool throttled(json_t *m, json_t *throttle, int64_t now)
{
    double rate = json_number_value(json_object_get(throttle, "rateLimit"));
    double burst = (double)json_integer_value(json_object_get(throttle, "burstLimit"));
    if (rate <= 0 && burst <= 0)
        return false; /* no throttle set */
    if (burst < 1)
        burst = rate > 1 ? rate : 1;
    json_t *t = json_object_get(m, "tokens");
    double tokens = t ? json_number_value(t) : burst;
    int64_t at = json_integer_value(json_object_get(m, "at_ms"));
    if (t)
        tokens += rate * (double)(now - at) / 1000.0;
    if (tokens > burst)
        tokens = burst;
    bool empty = tokens < 1.0;
    if (!empty)
        tokens -= 1.0;
    json_object_set_new(m, "tokens", json_real(tokens));
    json_object_set_new(m, "at_ms", json_integer(now));
    return empty;
}

static bool over_quota(json_t *m, json_t *quota, int64_t now)
{
    json_int_t limit = json_integer_value(json_object_get(quota, "limit"));
    if (limit <= 0)
        return false;
    int64_t period = period_of(json_string_value(json_object_get(quota, "period")), now);
    if (json_integer_value(json_object_get(m, "period")) != period || !json_object_get(m, "period")) {
        json_object_set_new(m, "period", json_integer(period));
        json_object_set_new(m, "used", json_integer(0));
    }
    json_int_t used = json_integer_value(json_object_get(m, "used"));
    if (used >= limit)
        return true;
    json_object_set_new(m, "used", json_integer(used + 1));
    return false;
}

bool agw__usage_allowed(svc_call_t *c, json_t *api_doc, const char *stage)
{
    agw_state_t *st = c->state;
    json_t *api = json_object_get(api_doc, "api");
    const char *source = json_string_value(json_object_get(api, "apiKeySource"));
    strv_t value = http_request_header(c->req, "x-api-key");
    json_t *key = source && strcmp(source, "AUTHORIZER") == 0 ? NULL : key_by_value(st, value);
    const char *plan_id = NULL;
    json_t *plan = key && json_is_true(json_object_get(key, "enabled"))
                       ? plan_for(st, json_string_value(json_object_get(api, "id")), stage,
                                  json_string_value(json_object_get(key, "id")), &plan_id)
                       : NULL;
    if (!plan) {
        svc_error(c, "ForbiddenException", 403, "Forbidden");
        return false;
    }
    const char *mk = arena_sprintf(c->arena, "%s/%s", plan_id, json_string_value(json_object_get(key, "id")));
    json_t *m = json_object_get(st->meter, mk);
    if (!m) {
        m = json_object();
        json_object_set_new(st->meter, mk, m);
    }
    int64_t now = kyoka_clock_now_ms();
    if (throttled(m, json_object_get(plan, "throttle"), now)) {
        svc_error(c, "TooManyRequestsException", 429, "Too Many Requests");
        return false;
    }
    if (over_quota(m, json_object_get(plan, "quota"), now)) {
        svc_error(c, "LimitExceededException", 429, "Limit Exceeded");
        return false;
    }
    return true;
}
