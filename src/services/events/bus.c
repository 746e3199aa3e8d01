/*
 * Event buses: the default bus that every region has, custom buses, bus
 * policies (PutPermission / RemovePermission, consulted through the
 * service's resource_policy hook when someone puts events on the bus), and
 * tags on buses and rules.
 *
 * ARNs (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html):
 * a bus is arn:aws:events:R:A:event-bus/NAME; a rule on the default bus
 * arn:aws:events:R:A:rule/NAME, on a custom bus rule/BUS/NAME.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

const char *events__region(svc_call_t *c) { return c->region ? c->region : c->ctx->region; }

const char *events__account(svc_call_t *c)
{
    return c->cred && c->cred->account_id ? c->cred->account_id : c->ctx->account_id;
}

const char *events__bus_name_of(svc_call_t *c, const char *name_or_arn)
{
    if (!name_or_arn || !*name_or_arn)
        return "default";
    const char *p = strstr(name_or_arn, ":event-bus/");
    if (strncmp(name_or_arn, "arn:", 4) == 0 && p)
        return arena_strdup(c->arena, p + 11);
    return name_or_arn;
}

static events_bus_t *bus_new(events_state_t *st, const char *region, const char *account, const char *name)
{
    events_bus_t *b = xcalloc(1, sizeof *b);
    b->region = xstrdup(region);
    b->account = xstrdup(account);
    b->name = xstrdup(name);
    b->arn = xasprintf("arn:aws:events:%s:%s:event-bus/%s", region, account, name);
    b->tags = json_array();
    b->set = pattern_set_new();
    b->created_ms = kyoka_clock_now_ms();
    b->next = st->buses;
    st->buses = b;
    return b;
}

events_bus_t *events__bus_lookup(events_state_t *st, const char *region, const char *name)
{
    for (events_bus_t *b = st->buses; b; b = b->next)
        if (strcmp(b->name, name) == 0 && strcmp(b->region, region) == 0)
            return b;
    /* Every region has its default bus from the start. */
    if (strcmp(name, "default") == 0)
        return bus_new(st, region, st->ctx->account_id, "default");
    return NULL;
}

events_bus_t *events__bus_get_or_fail(svc_call_t *c, const char *member)
{
    const char *name = events__bus_name_of(c, svc_in_str(c, member));
    events_bus_t *b = events__bus_lookup(c->state, events__region(c), name);
    if (!b)
        svc_error(c, "ResourceNotFoundException", 400, "Event bus %s does not exist.", name);
    return b;
}

void events__bus_free(events_bus_t *b)
{
    if (!b)
        return;
    while (b->rules) {
        events_rule_t *r = b->rules;
        b->rules = r->next;
        events__rule_free(r);
    }
    pattern_set_free(b->set);
    free(b->by_id);
    free(b->region);
    free(b->account);
    free(b->name);
    free(b->arn);
    free(b->policy);
    iam_policy_free(b->policy_c);
    json_decref(b->tags);
    free(b);
}

static bool name_ok(const char *s, bool slash)
{
    size_t n = strlen(s);
    if (n < 1 || n > 256)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '-' || ch == '_' || (slash && ch == '/')))
            return false;
    }
    return true;
}

/* Set the bus policy from text (NULL removes it). */
static int policy_set(svc_call_t *c, events_bus_t *b, const char *text)
{
    if (!text) {
        free(b->policy);
        iam_policy_free(b->policy_c);
        b->policy = NULL;
        b->policy_c = NULL;
        return 0;
    }
    char err[512] = "";
    bool over = false;
    iam_policy_t *p = iam_policy_parse(text, strlen(text), IAM_POLICY_RESOURCE, KYOKA_RESOURCE_POLICY_MAX_BYTES, err,
                                       sizeof err, &over);
    if (!p) {
        if (over)
            svc_error(c, "PolicyLengthExceededException", 400, "The policy is too long.");
        else
            svc_error(c, "ValidationException", 400, "Policy is not valid: %s", err);
        return -1;
    }
    free(b->policy);
    iam_policy_free(b->policy_c);
    b->policy = xstrdup(text);
    b->policy_c = p;
    return 0;
}

/* ==== tags (buses and rules) ==== */

/* The tag list of the resource an ARN names, or NULL with the error set. */
static json_t **tags_of(svc_call_t *c, const char *arn, events_state_t *st, events_bus_t **bus, events_rule_t **rule)
{
    iam_arn_t a;
    *bus = NULL;
    *rule = NULL;
    if (!arn || iam_arn_parse(strv_from(arn), &a) != 0 || !strv_eq_cstr(a.service, "events")) {
        svc_error(c, "ValidationException", 400, "Parameter ResourceARN is not valid.");
        return NULL;
    }
    char *region = arena_strndup(c->arena, a.region.p, a.region.len);
    char *res = arena_strndup(c->arena, a.resource.p, a.resource.len);
    if (strncmp(res, "event-bus/", 10) == 0) {
        events_bus_t *b = events__bus_lookup(st, region, res + 10);
        if (!b) {
            svc_error(c, "ResourceNotFoundException", 400, "Event bus %s does not exist.", res + 10);
            return NULL;
        }
        *bus = b;
        return &b->tags;
    }
    if (strncmp(res, "rule/", 5) == 0) {
        const char *rest = res + 5, *slash = strrchr(rest, '/');
        const char *busname = slash ? arena_strndup(c->arena, rest, (size_t)(slash - rest)) : "default";
        const char *name = slash ? slash + 1 : rest;
        events_bus_t *b = events__bus_lookup(st, region, busname);
        events_rule_t *r = b ? events__rule_lookup(b, name) : NULL;
        if (!r) {
            svc_error(c, "ResourceNotFoundException", 400, "Rule %s does not exist on EventBus %s.", name, busname);
            return NULL;
        }
        *bus = b;
        *rule = r;
        return &r->tags;
    }
    svc_error(c, "ValidationException", 400, "Parameter ResourceARN is not valid.");
    return NULL;
}

static void tags_persist(events_state_t *st, events_bus_t *b, events_rule_t *r)
{
    if (r)
        events__rule_persist(st, r);
    else
        events__bus_persist(st, b);
}

/* Set Key=Value in a tag list. */
static void tag_put(json_t *tags, const char *key, const char *value)
{
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "Key")), key) == 0) {
            json_object_set_new(t, "Value", json_string(value));
            return;
        }
    }
    json_array_append_new(tags, json_pack("{s:s,s:s}", "Key", key, "Value", value));
}

/* Apply a Tags input array to a list (validated first, applied whole). */
static int tags_apply(svc_call_t *c, json_t *list, json_t *in)
{
    size_t i;
    json_t *t;
    json_array_foreach(in, i, t)
    {
        const char *k = json_string_value(json_object_get(t, "Key"));
        const char *v = json_string_value(json_object_get(t, "Value"));
        if (!k || !v || strlen(k) < 1 || strlen(k) > 128 || strlen(v) > 256) {
            svc_error(c, "ValidationException", 400, "Invalid tag: keys are 1 to 128 characters, values 0 to 256.");
            return -1;
        }
    }
    json_array_foreach(in, i, t) tag_put(list, json_string_value(json_object_get(t, "Key")),
                                         json_string_value(json_object_get(t, "Value")));
    if (json_array_size(list) > 50) {
        svc_error(c, "LimitExceededException", 400, "The requested resource exceeds the maximum number allowed.");
        return -1;
    }
    return 0;
}

/* ==== operation handlers ==== */

int events_create_event_bus(svc_call_t *c)
{
    events_state_t *st = c->state;
    const char *name = svc_in_str(c, "Name");
    const char *source = svc_in_str(c, "EventSourceName");
    if (!name_ok(name, source != NULL)) {
        svc_error(c, "ValidationException", 400,
                  "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy "
                  "regular expression pattern: [/\\.\\-_A-Za-z0-9]+",
                  name);
        return 0;
    }
    if (source) {
        /* Partner event sources are not something kyoka has. */
        svc_error(c, "ResourceNotFoundException", 400, "Event source %s does not exist.", source);
        return 0;
    }
    if (events__bus_lookup(st, events__region(c), name)) {
        svc_error(c, "ResourceAlreadyExistsException", 400, "Event bus %s already exists.", name);
        return 0;
    }
    json_t *tags = json_array();
    if (svc_in(c, "Tags") && tags_apply(c, tags, svc_in(c, "Tags")) != 0) {
        json_decref(tags);
        return 0;
    }
    events_bus_t *b = bus_new(st, events__region(c), events__account(c), name);
    json_decref(b->tags);
    b->tags = tags;
    events__bus_persist(st, b);
    json_object_set_new(svc_output(c), "EventBusArn", json_string(b->arn));
    return 0;
}

int events_delete_event_bus(svc_call_t *c)
{
    events_state_t *st = c->state;
    const char *name = svc_in_str(c, "Name");
    if (strcmp(name, "default") == 0) {
        svc_error(c, "ValidationException", 400, "Cannot delete event bus default.");
        return 0;
    }
    for (events_bus_t **pp = &st->buses; *pp; pp = &(*pp)->next) {
        events_bus_t *b = *pp;
        if (strcmp(b->name, name) != 0 || strcmp(b->region, events__region(c)) != 0)
            continue;
        *pp = b->next;
        store_write_begin(st->store);
        sqlite3_stmt *q = store_stmt(st->store, "DELETE FROM events_rules WHERE region = ? AND bus = ?");
        sqlite3_bind_text(q, 1, b->region, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, b->name, -1, SQLITE_STATIC);
        (void)sqlite3_step(q);
        sqlite3_reset(q);
        q = store_stmt(st->store, "DELETE FROM events_buses WHERE region = ? AND name = ?");
        sqlite3_bind_text(q, 1, b->region, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, b->name, -1, SQLITE_STATIC);
        (void)sqlite3_step(q);
        sqlite3_reset(q);
        events__bus_free(b);
        break;
    }
    /* Deleting a bus that does not exist succeeds, as on AWS. */
    return 0;
}

static json_t *bus_view(const events_bus_t *b)
{
    json_t *o = json_pack("{s:s,s:s}", "Name", b->name, "Arn", b->arn);
    if (b->policy)
        json_object_set_new(o, "Policy", json_string(b->policy));
    return o;
}

int events_describe_event_bus(svc_call_t *c)
{
    events_bus_t *b = events__bus_get_or_fail(c, "Name");
    if (b)
        c->output = bus_view(b);
    return 0;
}

static int cmp_bus(const void *a, const void *b)
{
    return strcmp((*(events_bus_t *const *)a)->name, (*(events_bus_t *const *)b)->name);
}

int events_list_event_buses(svc_call_t *c)
{
    events_state_t *st = c->state;
    const char *prefix = svc_in_str(c, "NamePrefix");
    const char *token = svc_in_str(c, "NextToken");
    json_t *lim = svc_in(c, "Limit");
    int limit = lim ? (int)json_integer_value(lim) : 100;
    if (limit < 1 || limit > 100) {
        svc_error(c, "ValidationException", 400,
                  "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have "
                  "value %s",
                  limit, limit < 1 ? "greater than or equal to 1" : "less than or equal to 100");
        return 0;
    }
    (void)events__bus_lookup(st, events__region(c), "default");
    size_t n = 0;
    for (events_bus_t *b = st->buses; b; b = b->next)
        n++;
    events_bus_t **all = arena_alloc(c->arena, (n ? n : 1) * sizeof *all);
    n = 0;
    for (events_bus_t *b = st->buses; b; b = b->next)
        if (strcmp(b->region, events__region(c)) == 0 && (!prefix || strncmp(b->name, prefix, strlen(prefix)) == 0))
            all[n++] = b;
    qsort(all, n, sizeof *all, cmp_bus);
    json_t *list = json_array();
    size_t i = 0;
    if (token)
        while (i < n && strcmp(all[i]->name, token) <= 0)
            i++;
    for (; i < n && (int)json_array_size(list) < limit; i++)
        json_array_append_new(list, bus_view(all[i]));
    json_object_set_new(svc_output(c), "EventBuses", list);
    if (i < n)
        json_object_set_new(c->output, "NextToken", json_string(all[i - 1]->name));
    return 0;
}

/* PutPermission: a whole Policy, or one statement letting an account (or
 * everyone, optionally in an organization) put events on the bus
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutPermission.html). */
int events_put_permission(svc_call_t *c)
{
    events_bus_t *b = events__bus_get_or_fail(c, "EventBusName");
    if (!b)
        return 0;
    const char *policy = svc_in_str(c, "Policy");
    if (policy) {
        if (policy_set(c, b, policy) == 0)
            events__bus_persist(c->state, b);
        return 0;
    }
    const char *action = svc_in_str(c, "Action"), *principal = svc_in_str(c, "Principal");
    const char *sid = svc_in_str(c, "StatementId");
    if (!action || !principal || !sid) {
        svc_error(c, "ValidationException", 400,
                  "Parameter(s) Action, Principal and StatementId are required when Policy is not specified.");
        return 0;
    }
    if (strcmp(action, "events:PutEvents") != 0) {
        svc_error(c, "ValidationException", 400, "Provided value in parameter 'action' is not supported.");
        return 0;
    }
    bool star = strcmp(principal, "*") == 0;
    if (!star && (strlen(principal) != 12 || strspn(principal, "0123456789") != 12)) {
        svc_error(c, "ValidationException", 400, "Parameter Principal is not valid.");
        return 0;
    }
    json_t *doc = b->policy ? json_loads(b->policy, 0, NULL) : NULL;
    if (!doc)
        doc = json_pack("{s:s,s:[]}", "Version", "2012-10-17", "Statement");
    json_t *stmts = json_object_get(doc, "Statement");
    if (!json_is_array(stmts)) {
        stmts = json_array();
        json_object_set_new(doc, "Statement", stmts);
    }
    json_t *stmt = json_pack("{s:s,s:s}", "Sid", sid, "Effect", "Allow");
    if (star)
        json_object_set_new(stmt, "Principal", json_string("*"));
    else
        json_object_set_new(stmt, "Principal",
                            json_pack("{s:s}", "AWS", arena_sprintf(c->arena, "arn:aws:iam::%s:root", principal)));
    json_object_set_new(stmt, "Action", json_string(action));
    json_object_set_new(stmt, "Resource", json_string(b->arn));
    json_t *cond = svc_in(c, "Condition");
    if (cond) {
        const char *type = json_string_value(json_object_get(cond, "Type"));
        const char *key = json_string_value(json_object_get(cond, "Key"));
        const char *value = json_string_value(json_object_get(cond, "Value"));
        if (!type || strcmp(type, "StringEquals") != 0 || !key || strcmp(key, "aws:PrincipalOrgID") != 0 || !value) {
            json_decref(stmt);
            json_decref(doc);
            svc_error(c, "ValidationException", 400,
                      "Condition must be of type StringEquals with the key aws:PrincipalOrgID.");
            return 0;
        }
        json_object_set_new(stmt, "Condition", json_pack("{s:{s:s}}", type, key, value));
    }
    /* A statement with the same id is replaced. */
    size_t i;
    json_t *s;
    json_array_foreach(stmts, i, s)
    {
        const char *id = json_string_value(json_object_get(s, "Sid"));
        if (id && strcmp(id, sid) == 0) {
            json_array_remove(stmts, i);
            break;
        }
    }
    json_array_append_new(stmts, stmt);
    char *text = proto_json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (policy_set(c, b, text) == 0)
        events__bus_persist(c->state, b);
    free(text);
    return 0;
}

int events_remove_permission(svc_call_t *c)
{
    events_bus_t *b = events__bus_get_or_fail(c, "EventBusName");
    if (!b)
        return 0;
    json_t *all = svc_in(c, "RemoveAllPermissions");
    const char *sid = svc_in_str(c, "StatementId");
    if (!b->policy) {
        svc_error(c, "ResourceNotFoundException", 400, "EventBus does not have a policy.");
        return 0;
    }
    if (json_is_true(all)) {
        (void)policy_set(c, b, NULL);
        events__bus_persist(c->state, b);
        return 0;
    }
    if (!sid) {
        svc_error(c, "ValidationException", 400, "Parameter StatementId is required.");
        return 0;
    }
    json_t *doc = json_loads(b->policy, 0, NULL);
    json_t *stmts = json_object_get(doc, "Statement");
    bool found = false;
    size_t i;
    json_t *s;
    json_array_foreach(stmts, i, s)
    {
        const char *id = json_string_value(json_object_get(s, "Sid"));
        if (id && strcmp(id, sid) == 0) {
            json_array_remove(stmts, i);
            found = true;
            break;
        }
    }
    if (!found) {
        json_decref(doc);
        svc_error(c, "ResourceNotFoundException", 400, "Statement with the provided id does not exist.");
        return 0;
    }
    char *text = json_array_size(stmts) ? proto_json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (policy_set(c, b, text) == 0)
        events__bus_persist(c->state, b);
    free(text);
    return 0;
}

int events_tag_resource(svc_call_t *c)
{
    events_bus_t *b;
    events_rule_t *r;
    json_t **tags = tags_of(c, svc_in_str(c, "ResourceARN"), c->state, &b, &r);
    if (!tags)
        return 0;
    json_t *copy = json_deep_copy(*tags);
    if (tags_apply(c, copy, svc_in(c, "Tags")) != 0) {
        json_decref(copy);
        return 0;
    }
    json_decref(*tags);
    *tags = copy;
    tags_persist(c->state, b, r);
    return 0;
}

int events_untag_resource(svc_call_t *c)
{
    events_bus_t *b;
    events_rule_t *r;
    json_t **tags = tags_of(c, svc_in_str(c, "ResourceARN"), c->state, &b, &r);
    if (!tags)
        return 0;
    size_t i;
    json_t *k;
    json_array_foreach(svc_in(c, "TagKeys"), i, k)
    {
        for (size_t j = 0; j < json_array_size(*tags); j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(*tags, j), "Key")), json_string_value(k)) ==
                0) {
                json_array_remove(*tags, j);
                break;
            }
    }
    tags_persist(c->state, b, r);
    return 0;
}

int events_list_tags_for_resource(svc_call_t *c)
{
    events_bus_t *b;
    events_rule_t *r;
    json_t **tags = tags_of(c, svc_in_str(c, "ResourceARN"), c->state, &b, &r);
    if (tags)
        json_object_set_new(svc_output(c), "Tags", json_deep_copy(*tags));
    return 0;
}
