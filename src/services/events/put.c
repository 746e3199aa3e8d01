/*
 * PutEvents and TestEventPattern: entries checked one by one (a bad entry
 * fails alone, with AWS's ErrorCode and ErrorMessage), each good one
 * wrapped in AWS's envelope
 *   {"version":"0","id":UUID,"detail-type":...,"source":...,"account":...,
 *    "time":"2015-11-11T21:29:54Z","region":...,"resources":[...],"detail":{...}}
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html),
 * matched once against its bus's pattern set, and a delivery queued for
 * every target of every enabled rule it matched. The queued rows are in
 * the request's batch, so the 200 means they are durable.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== routing ==== */

void events__route_rule(events_state_t *st, events_rule_t *r, const json_t *event, const char *text, size_t len)
{
    size_t i;
    json_t *t;
    json_array_foreach(r->targets, i, t)
    {
        size_t plen;
        char *payload = events__input_shape(t, r, event, text, len, &plen);
        char *tjson = proto_json_dumps(t, JSON_COMPACT);
        bool shaped = plen != len || memcmp(payload, text, len) != 0;
        evq_add(st->q, r->arn, tjson, r->bus->region, payload, plen, shaped ? text : NULL, shaped ? len : 0);
        free(tjson);
        free(payload);
    }
}

void events__route(events_state_t *st, events_bus_t *b, const json_t *event, const char *text, size_t len)
{
    st->events_in++;
    uint32_t local[64], *ids = local;
    size_t n = pattern_set_match(b->set, event, ids, KYOKA_ARRAY_LEN(local));
    if (n > KYOKA_ARRAY_LEN(local)) {
        ids = xmalloc(n * sizeof *ids);
        n = pattern_set_match(b->set, event, ids, n);
    }
    for (size_t i = 0; i < n; i++) {
        events_rule_t *r = ids[i] < b->nids ? b->by_id[ids[i]] : NULL;
        if (r && r->enabled && !r->schedule) {
            st->matched++;
            events__route_rule(st, r, event, text, len);
        }
    }
    if (ids != local)
        free(ids);
}

/* ==== PutEvents ==== */

/* The size AWS counts for an entry
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html):
 * 14 bytes for a Time, and the UTF-8 bytes of Source, DetailType, Detail
 * and each Resources entry. */
static size_t entry_size(json_t *e)
{
    size_t n = json_object_get(e, "Time") ? 14 : 0;
    static const char *const keys[] = {"Source", "DetailType", "Detail"};
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(keys); i++)
        n += json_string_length(json_object_get(e, keys[i]));
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(e, "Resources"), i, r) n += json_string_length(r);
    return n;
}

static void entry_fail(json_t *results, const char *code, const char *msg)
{
    json_array_append_new(results, json_pack("{s:s,s:s}", "ErrorCode", code, "ErrorMessage", msg));
}

static int64_t entry_time_ms(json_t *e)
{
    json_t *t = json_object_get(e, "Time");
    if (json_is_integer(t))
        return (int64_t)json_integer_value(t) * 1000;
    if (json_is_real(t))
        return (int64_t)floor(json_real_value(t)) * 1000;
    return kyoka_clock_now_ms();
}

int events_put_events(svc_call_t *c)
{
    events_state_t *st = c->state;
    json_t *entries = svc_in(c, "Entries");
    size_t n = json_array_size(entries);
    if (n < 1 || n > EVENTS_MAX_ENTRIES) {
        svc_error(c, "ValidationException", 400,
                  "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have "
                  "length %s",
                  n < 1 ? "greater than or equal to 1" : "less than or equal to 10");
        return 0;
    }
    size_t total = 0, i;
    json_t *e;
    json_array_foreach(entries, i, e) total += entry_size(e);
    if (total > EVENTS_MAX_PUT_BYTES) {
        svc_error(c, "ValidationException", 400, "Total size of the entries in the request is over the limit.");
        return 0;
    }
    json_t *results = json_array();
    int failed = 0;
    const char *region = events__region(c), *account = events__account(c);
    json_array_foreach(entries, i, e)
    {
        const char *source = json_string_value(json_object_get(e, "Source"));
        const char *dtype = json_string_value(json_object_get(e, "DetailType"));
        const char *detail = json_string_value(json_object_get(e, "Detail"));
        json_t *dj = NULL;
        const char *code = NULL, *msg = NULL;
        if (!source || !*source) {
            code = "InvalidArgument";
            msg = "Parameter Source is not valid. Reason: Source is a required argument.";
        } else if (!dtype || !*dtype) {
            code = "InvalidArgument";
            msg = "Parameter DetailType is not valid. Reason: DetailType is a required argument.";
        } else if (!detail || !*detail) {
            code = "InvalidArgument";
            msg = "Parameter Detail is not valid. Reason: Detail is a required argument.";
        } else if (!(dj = json_loads(detail, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(dj)) {
            code = "InvalidArgument";
            msg = "Parameter Detail is not valid. Reason: Detail is malformed.";
        } else if (strncmp(source, "aws.", 4) == 0 && !c->principal.service) {
            /* Only AWS services put events with an aws. source. */
            code = "NotAuthorizedForSourceException";
            msg = "Not authorized for the source.";
        }
        events_bus_t *b = NULL;
        if (!code) {
            const char *busname = events__bus_name_of(c, json_string_value(json_object_get(e, "EventBusName")));
            b = events__bus_lookup(st, region, busname);
            if (!b) {
                code = "InvalidArgument";
                msg = arena_sprintf(c->arena, "Event bus %s does not exist.", busname);
            } else if (!c->resource_arn || strcmp(b->arn, c->resource_arn) != 0) {
                /* The call was authorized on the first entry's bus: every
                 * other bus is authorized for its own entries. */
                aws_error_t saved = c->error;
                if (c->ctx->authorize(c, "events:PutEvents", b->arn, NULL, 0) != IAM_ALLOW) {
                    code = "AccessDeniedException";
                    msg = arena_strdup(c->arena, aws_error_text(&c->error));
                }
                c->error = saved;
            }
        }
        if (code) {
            json_decref(dj);
            entry_fail(results, code, msg);
            failed++;
            continue;
        }
        char id[37], ts[64];
        kyoka_uuid(id);
        kyoka_time_iso8601(entry_time_ms(e), ts, false);
        json_t *resources = json_array();
        size_t k;
        json_t *r;
        json_array_foreach(json_object_get(e, "Resources"), k, r) json_array_append(resources, r);
        json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "version", "0", "id", id, "detail-type",
                               dtype, "source", source, "account", account, "time", ts, "region", region, "resources",
                               resources, "detail", dj);
        char *text = proto_json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
        events__route(st, b, ev, text, strlen(text));
        free(text);
        json_decref(ev);
        json_array_append_new(results, json_pack("{s:s}", "EventId", id));
    }
    json_object_set_new(svc_output(c), "FailedEntryCount", json_integer(failed));
    json_object_set_new(c->output, "Entries", results);
    return 0;
}

/* ==== TestEventPattern ==== */

int events_test_event_pattern(svc_call_t *c)
{
    const char *pattern = svc_in_str(c, "EventPattern");
    const char *event = svc_in_str(c, "Event");
    char err[512];
    if (pattern_validate(pattern, strlen(pattern), err, sizeof err) != 0) {
        svc_error(c, "InvalidEventPatternException", 400, "%s%s", PATTERN_EVENTBRIDGE_PREFIX, err);
        return 0;
    }
    json_t *ev = json_loads(event, 0, NULL);
    /* "The JSON must follow the format specified in Amazon Web Services
     * Events, and the following fields are mandatory: id, account, source,
     * time, region, resources, detail-type." (API_TestEventPattern) */
    static const char *const required[] = {"id", "account", "source", "time", "region", "resources", "detail-type"};
    bool ok = json_is_object(ev);
    for (size_t i = 0; ok && i < KYOKA_ARRAY_LEN(required); i++)
        ok = json_object_get(ev, required[i]) != NULL;
    if (!ok) {
        json_decref(ev);
        svc_error(c, "ValidationException", 400, "Parameter Event is not valid.");
        return 0;
    }
    json_object_set_new(svc_output(c), "Result", json_boolean(pattern_matches(pattern, ev)));
    json_decref(ev);
    return 0;
}
