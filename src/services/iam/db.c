/*
 * IAM's tables in the store, and loading them back at start.
 *
 * One row per entity (roles, users and groups share iam_entities, told apart
 * by kind), per inline policy, per attachment, per group membership, per
 * access key, per customer managed policy and version, and per live STS
 * session. Documents are stored as the client sent them; they are compiled
 * again when loaded. Writes are single-row statements inside the request's
 * savepoint (store_write_begin first), so the group commit batches them;
 * write_row binds each one's parameters from a typed list, in order.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static const char *const migrations[] = {
    /* v1 */
    "CREATE TABLE iam_entities ("
    "  kind INTEGER NOT NULL, lname TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL,"
    "  path TEXT NOT NULL, created_ms INTEGER NOT NULL, trust TEXT, description TEXT,"
    "  max_session INTEGER, boundary TEXT, tags TEXT, PRIMARY KEY (kind, lname));"
    "CREATE TABLE iam_inline ("
    "  kind INTEGER NOT NULL, owner TEXT NOT NULL, name TEXT NOT NULL, document TEXT NOT NULL,"
    "  PRIMARY KEY (kind, owner, name));"
    "CREATE TABLE iam_attachments ("
    "  kind INTEGER NOT NULL, owner TEXT NOT NULL, arn TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  PRIMARY KEY (kind, owner, arn));"
    "CREATE TABLE iam_group_members ("
    "  group_lname TEXT NOT NULL, user_lname TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  PRIMARY KEY (group_lname, user_lname));"
    "CREATE TABLE iam_access_keys ("
    "  akid TEXT PRIMARY KEY, user_lname TEXT NOT NULL, secret TEXT NOT NULL,"
    "  active INTEGER NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE TABLE iam_policies ("
    "  arn TEXT PRIMARY KEY, name TEXT NOT NULL, id TEXT NOT NULL, path TEXT NOT NULL,"
    "  description TEXT, default_version TEXT NOT NULL, next_version INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, tags TEXT);"
    "CREATE TABLE iam_policy_versions ("
    "  arn TEXT NOT NULL, version TEXT NOT NULL, document TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (arn, version));"
    "CREATE TABLE iam_sessions ("
    "  akid TEXT PRIMARY KEY, secret TEXT NOT NULL, token TEXT NOT NULL, kind INTEGER NOT NULL,"
    "  arn TEXT NOT NULL, user_id TEXT NOT NULL, role_arn TEXT, role_id TEXT, role_name TEXT,"
    "  session_name TEXT, user_name TEXT, source_identity TEXT, created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL, policy TEXT, policy_arns TEXT, tags TEXT);",
    /* v2: instance profiles are rows of iam_entities (kind 3); their roles: */
    "CREATE TABLE iam_profile_roles ("
    "  profile_lname TEXT NOT NULL, role_lname TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  PRIMARY KEY (profile_lname, role_lname));",
};

int iam__db_migrate(iam_state_t *st, char *err, size_t errcap)
{
    return store_migrate(st->store, "iam", migrations, KYOKA_ARRAY_LEN(migrations), err, errcap);
}

/* ==== statement helpers ==== */

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static int run(iam_state_t *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) {
        log_error("iam: store write failed: %s", sqlite3_errmsg(store_db(st->store)));
        return KYOKA_ESTORE;
    }
    return 0;
}

/* One parameter of a write: text (NULL binds SQL NULL) or an integer. */
typedef struct db_arg {
    bool is_int;
    const char *text;
    int64_t num;
} db_arg_t;

#define TEXT(v) ((db_arg_t){.text = (v)})
#define INT(v) ((db_arg_t){.is_int = true, .num = (v)})

/* Run one write statement, binding args to its parameters in order. */
static int write_args(iam_state_t *st, const char *sql, const db_arg_t *args, size_t n)
{
    store_write_begin(st->store);
    sqlite3_stmt *s = store_stmt(st->store, sql);
    for (size_t i = 0; i < n; i++) {
        if (args[i].is_int)
            sqlite3_bind_int64(s, (int)i + 1, args[i].num);
        else
            bind_text(s, (int)i + 1, args[i].text);
    }
    return run(st, s);
}

/* write_row(st, sql, TEXT(a), INT(b), ...): sql must live forever (it is
 * the statement cache's key), so pass a string literal. */
#define write_row(st, sql, ...)                                \
    write_args((st), (sql), (const db_arg_t[]){__VA_ARGS__}, \
               sizeof((const db_arg_t[]){__VA_ARGS__}) / sizeof(db_arg_t))

/* A write to a row keyed by its owning entity, (kind, owner), and one more
 * column. */
static int owned_row(iam_state_t *st, const char *sql, const iam_entity_t *e, const char *key)
{
    return write_row(st, sql, INT(e->kind), TEXT(e->lname), TEXT(key));
}

static char *tags_text(const iam_tagv_t *t)
{
    if (!t->n)
        return NULL;
    json_t *j = iam__tags_json(t);
    char *s = proto_json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static const char *col(sqlite3_stmt *s, int i) { return (const char *)sqlite3_column_text(s, i); }
static char *col_dup(sqlite3_stmt *s, int i) { return col(s, i) ? xstrdup(col(s, i)) : NULL; }

static void tags_load(iam_tagv_t *t, const char *text)
{
    if (!text)
        return;
    json_t *j = json_loads(text, 0, NULL);
    iam__tags_from_json(t, j);
    json_decref(j);
}

/* ==== writes ==== */

int iam__db_entity_save(iam_state_t *st, const iam_entity_t *e)
{
    char *tags = tags_text(&e->tags);
    int rc = write_row(st,
                       "INSERT OR REPLACE INTO iam_entities (kind, lname, name, id, path, created_ms, trust,"
                       " description, max_session, boundary, tags) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       INT(e->kind), TEXT(e->lname), TEXT(e->name), TEXT(e->id), TEXT(e->path), INT(e->created_ms),
                       TEXT(e->trust ? iam_policy_text(e->trust) : NULL), TEXT(e->description),
                       INT(e->max_session), TEXT(e->boundary ? e->boundary->arn : NULL), TEXT(tags));
    free(tags);
    return rc;
}

int iam__db_entity_delete(iam_state_t *st, const iam_entity_t *e)
{
    return write_row(st, "DELETE FROM iam_entities WHERE kind = ? AND lname = ?", INT(e->kind), TEXT(e->lname));
}

int iam__db_inline_put(iam_state_t *st, const iam_entity_t *e, const char *name, const char *doc)
{
    return write_row(st, "INSERT OR REPLACE INTO iam_inline (kind, owner, name, document) VALUES (?,?,?,?)",
                     INT(e->kind), TEXT(e->lname), TEXT(name), TEXT(doc));
}

int iam__db_inline_delete(iam_state_t *st, const iam_entity_t *e, const char *name)
{
    return owned_row(st, "DELETE FROM iam_inline WHERE kind = ? AND owner = ? AND name = ?", e, name);
}

int iam__db_attach_put(iam_state_t *st, const iam_entity_t *e, const char *arn)
{
    /* seq keeps attachment order across restarts. */
    return owned_row(st,
                     "INSERT OR REPLACE INTO iam_attachments (kind, owner, arn, seq)"
                     " VALUES (?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM iam_attachments))",
                     e, arn);
}

int iam__db_attach_delete(iam_state_t *st, const iam_entity_t *e, const char *arn)
{
    return owned_row(st, "DELETE FROM iam_attachments WHERE kind = ? AND owner = ? AND arn = ?", e, arn);
}

int iam__db_member_put(iam_state_t *st, const iam_entity_t *group, const iam_entity_t *user)
{
    return write_row(st,
                     "INSERT OR REPLACE INTO iam_group_members (group_lname, user_lname, seq)"
                     " VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM iam_group_members))",
                     TEXT(group->lname), TEXT(user->lname));
}

int iam__db_member_delete(iam_state_t *st, const iam_entity_t *group, const iam_entity_t *user)
{
    return write_row(st, "DELETE FROM iam_group_members WHERE group_lname = ? AND user_lname = ?",
                     TEXT(group->lname), TEXT(user->lname));
}

int iam__db_profile_role_put(iam_state_t *st, const iam_entity_t *profile, const iam_entity_t *role)
{
    return write_row(st,
                     "INSERT OR REPLACE INTO iam_profile_roles (profile_lname, role_lname, seq)"
                     " VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM iam_profile_roles))",
                     TEXT(profile->lname), TEXT(role->lname));
}

int iam__db_profile_role_delete(iam_state_t *st, const iam_entity_t *profile, const iam_entity_t *role)
{
    return write_row(st, "DELETE FROM iam_profile_roles WHERE profile_lname = ? AND role_lname = ?",
                     TEXT(profile->lname), TEXT(role->lname));
}

int iam__db_akey_save(iam_state_t *st, const iam_entity_t *user, const iam_akey_t *k)
{
    return write_row(st,
                     "INSERT OR REPLACE INTO iam_access_keys (akid, user_lname, secret, active, created_ms)"
                     " VALUES (?,?,?,?,?)",
                     TEXT(k->akid), TEXT(user->lname), TEXT(k->secret), INT(k->active), INT(k->created_ms));
}

int iam__db_akey_delete(iam_state_t *st, const char *akid)
{
    return write_row(st, "DELETE FROM iam_access_keys WHERE akid = ?", TEXT(akid));
}

int iam__db_policy_save(iam_state_t *st, const iam_mpolicy_t *p)
{
    char *tags = tags_text(&p->tags);
    int rc = write_row(st,
                       "INSERT OR REPLACE INTO iam_policies (arn, name, id, path, description,"
                       " default_version, next_version, created_ms, updated_ms, tags)"
                       " VALUES (?,?,?,?,?,?,?,?,?,?)",
                       TEXT(p->arn), TEXT(p->name), TEXT(p->id), TEXT(p->path), TEXT(p->description),
                       TEXT(p->nversions ? p->versions[p->default_idx].id : "v1"), INT(p->next_version),
                       INT(p->created_ms), INT(p->updated_ms), TEXT(tags));
    free(tags);
    return rc;
}

int iam__db_policy_delete(iam_state_t *st, const iam_mpolicy_t *p)
{
    int rc = write_row(st, "DELETE FROM iam_policies WHERE arn = ?", TEXT(p->arn));
    if (rc == 0)
        rc = write_row(st, "DELETE FROM iam_policy_versions WHERE arn = ?", TEXT(p->arn));
    return rc;
}

int iam__db_version_put(iam_state_t *st, const iam_mpolicy_t *p, const iam_pversion_t *v)
{
    return write_row(st,
                     "INSERT OR REPLACE INTO iam_policy_versions (arn, version, document, created_ms)"
                     " VALUES (?,?,?,?)",
                     TEXT(p->arn), TEXT(v->id), TEXT(iam_policy_text(v->policy)), INT(v->created_ms));
}

int iam__db_version_delete(iam_state_t *st, const iam_mpolicy_t *p, const char *version)
{
    return write_row(st, "DELETE FROM iam_policy_versions WHERE arn = ? AND version = ?", TEXT(p->arn),
                     TEXT(version));
}

/* The managed session policies' ARNs as a JSON array, or NULL (malloc). */
static char *policy_arns_text(const iam_session_t *ss)
{
    if (!ss->narns)
        return NULL;
    json_t *a = json_array();
    for (size_t i = 0; i < ss->narns; i++)
        json_array_append_new(a, json_string(ss->policy_arns[i]));
    char *text = proto_json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

int iam__db_session_save(iam_state_t *st, const iam_session_t *ss)
{
    char *tags = tags_text(&ss->tags);
    char *arns = policy_arns_text(ss);
    int rc = write_row(st,
                       "INSERT OR REPLACE INTO iam_sessions (akid, secret, token, kind, arn, user_id,"
                       " role_arn, role_id, role_name, session_name, user_name, source_identity,"
                       " created_ms, expires_ms, policy, policy_arns, tags)"
                       " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       TEXT(ss->akid), TEXT(ss->secret), TEXT(ss->token), INT(ss->kind), TEXT(ss->arn),
                       TEXT(ss->user_id), TEXT(ss->role_arn), TEXT(ss->role_id), TEXT(ss->role_name),
                       TEXT(ss->session_name), TEXT(ss->user_name), TEXT(ss->source_identity),
                       INT(ss->created_ms), INT(ss->expires_ms), TEXT(ss->policy_text), TEXT(arns), TEXT(tags));
    free(tags);
    free(arns);
    return rc;
}

int iam__db_session_delete(iam_state_t *st, const char *akid)
{
    return write_row(st, "DELETE FROM iam_sessions WHERE akid = ?", TEXT(akid));
}

void iam__db_wipe(iam_state_t *st)
{
    store_write_begin(st->store);
    static const char *const tables[] = {
        "DELETE FROM iam_entities",      "DELETE FROM iam_inline",          "DELETE FROM iam_attachments",
        "DELETE FROM iam_group_members", "DELETE FROM iam_access_keys",     "DELETE FROM iam_policies",
        "DELETE FROM iam_policy_versions", "DELETE FROM iam_sessions",    "DELETE FROM iam_profile_roles",
    };
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(tables); i++)
        if (run(st, store_stmt(st->store, tables[i])) != 0)
            log_error("iam: reset could not clear its tables");
}

/* ==== load ==== */

static iam_policy_t *load_policy(const char *doc, iam_policy_kind_t kind, const char *what)
{
    char err[512];
    /* No size limit when loading: the document was accepted when stored. */
    iam_policy_t *p = doc ? iam_policy_parse(doc, strlen(doc), kind, 0, err, sizeof err, NULL) : NULL;
    if (!p)
        log_warn("iam: stored policy %s no longer parses (%s); it is ignored", what, doc ? err : "missing");
    return p;
}

static void load_policies(iam_state_t *st)
{
    sqlite3_stmt *s = store_stmt(st->store,
                                 "SELECT arn, name, id, path, description, default_version, next_version,"
                                 " created_ms, updated_ms, tags FROM iam_policies");
    while (sqlite3_step(s) == SQLITE_ROW) {
        iam_mpolicy_t *p = xcalloc(1, sizeof *p);
        p->arn = col_dup(s, 0);
        p->name = col_dup(s, 1);
        p->lname = iam__lower(p->name);
        p->id = col_dup(s, 2);
        p->path = col_dup(s, 3);
        p->description = col_dup(s, 4);
        /* The default version id is resolved after the versions load. */
        snprintf(p->versions[0].id, sizeof p->versions[0].id, "%s", col(s, 5) ? col(s, 5) : "v1");
        p->next_version = sqlite3_column_int(s, 6);
        p->created_ms = sqlite3_column_int64(s, 7);
        p->updated_ms = sqlite3_column_int64(s, 8);
        tags_load(&p->tags, col(s, 9));
        size_t at;
        if (iam__vec_find(&st->policies, p->arn, iam__policy_key, &at) >= 0) {
            iam__mpolicy_free(p);
            continue;
        }
        iam__vec_insert(&st->policies, at, p);
    }
    sqlite3_reset(s);
    /* Remember each policy's default id, then fill versions in order. */
    size_t np = st->policies.n;
    char(*defaults)[16] = xcalloc(np ? np : 1, sizeof *defaults);
    for (size_t i = 0; i < np; i++) {
        iam_mpolicy_t *p = st->policies.v[i];
        if (!p->aws)
            memcpy(defaults[i], p->versions[0].id, 16);
    }
    s = store_stmt(st->store,
                   "SELECT arn, version, document, created_ms FROM iam_policy_versions"
                   " ORDER BY arn, CAST(SUBSTR(version, 2) AS INTEGER)");
    while (sqlite3_step(s) == SQLITE_ROW) {
        ssize_t i = iam__vec_find(&st->policies, col(s, 0), iam__policy_key, NULL);
        if (i < 0)
            continue;
        iam_mpolicy_t *p = st->policies.v[i];
        if (p->aws || p->nversions >= IAM_MAX_POLICY_VERSIONS)
            continue;
        iam_policy_t *pol = load_policy(col(s, 2), IAM_POLICY_IDENTITY, p->arn);
        if (!pol)
            continue;
        iam_pversion_t *v = &p->versions[p->nversions++];
        snprintf(v->id, sizeof v->id, "%s", col(s, 1));
        v->policy = pol;
        v->created_ms = sqlite3_column_int64(s, 3);
    }
    sqlite3_reset(s);
    for (size_t i = 0; i < np; i++) {
        iam_mpolicy_t *p = st->policies.v[i];
        if (p->aws)
            continue;
        p->default_idx = 0;
        for (size_t j = 0; j < p->nversions; j++)
            if (strcmp(p->versions[j].id, defaults[i]) == 0)
                p->default_idx = j;
        if (p->nversions == 0)
            p->versions[0].id[0] = '\0';
    }
    free(defaults);
}

static iam_entity_t *find_entity(iam_state_t *st, iam_ent_kind_t kind, const char *lname)
{
    ssize_t i = lname ? iam__vec_find(&st->ents[kind], lname, iam__ent_key, NULL) : -1;
    return i < 0 ? NULL : st->ents[kind].v[i];
}

/* The entity that owns a row whose first columns are (kind, owner), or NULL. */
static iam_entity_t *row_owner(iam_state_t *st, sqlite3_stmt *s)
{
    int kind = sqlite3_column_int(s, 0);
    if (kind < 0 || kind >= IAM_ENT_NKINDS)
        return NULL;
    return find_entity(st, (iam_ent_kind_t)kind, col(s, 1));
}

static void load_entity_rows(iam_state_t *st)
{
    sqlite3_stmt *s = store_stmt(st->store,
                                 "SELECT kind, lname, name, id, path, created_ms, trust, description, max_session,"
                                 " boundary, tags FROM iam_entities");
    while (sqlite3_step(s) == SQLITE_ROW) {
        int kind = sqlite3_column_int(s, 0);
        if (kind < 0 || kind >= IAM_ENT_NKINDS)
            continue;
        iam_entity_t *e = xcalloc(1, sizeof *e);
        e->kind = (iam_ent_kind_t)kind;
        e->lname = col_dup(s, 1);
        e->name = col_dup(s, 2);
        e->id = col_dup(s, 3);
        e->path = col_dup(s, 4);
        e->created_ms = sqlite3_column_int64(s, 5);
        e->arn = iam__arn_for(st, e->kind, e->path, e->name);
        if (kind == IAM_ENT_ROLE)
            e->trust = load_policy(col(s, 6), IAM_POLICY_TRUST, e->arn);
        e->description = col_dup(s, 7);
        e->max_session = sqlite3_column_int(s, 8);
        if (col(s, 9)) {
            e->boundary = iam__policy_lookup(st, col(s, 9));
            if (e->boundary)
                e->boundary->boundary_uses++;
        }
        tags_load(&e->tags, col(s, 10));
        size_t at;
        if (!e->lname || iam__vec_find(&st->ents[kind], e->lname, iam__ent_key, &at) >= 0) {
            iam__entity_free(e);
            continue;
        }
        iam__vec_insert(&st->ents[kind], at, e);
    }
    sqlite3_reset(s);
}

static void load_inline(iam_state_t *st)
{
    /* Ordered by name, so each entity's list comes out sorted as kept. */
    sqlite3_stmt *s =
        store_stmt(st->store, "SELECT kind, owner, name, document FROM iam_inline ORDER BY kind, owner, name");
    while (sqlite3_step(s) == SQLITE_ROW) {
        iam_entity_t *e = row_owner(st, s);
        iam_policy_t *p = e ? load_policy(col(s, 3), IAM_POLICY_IDENTITY, col(s, 2)) : NULL;
        if (!p)
            continue;
        e->inl = xrealloc(e->inl, (e->ninl + 1) * sizeof *e->inl);
        e->inl[e->ninl++] = (iam_inline_t){col_dup(s, 2), p};
    }
    sqlite3_reset(s);
}

static void load_attachments(iam_state_t *st)
{
    sqlite3_stmt *s = store_stmt(st->store, "SELECT kind, owner, arn FROM iam_attachments ORDER BY seq");
    while (sqlite3_step(s) == SQLITE_ROW) {
        iam_entity_t *e = row_owner(st, s);
        iam_mpolicy_t *p = iam__policy_lookup(st, col(s, 2));
        if (e && p)
            iam__entity_attach(e, p);
    }
    sqlite3_reset(s);
}

static void load_members(iam_state_t *st)
{
    sqlite3_stmt *s = store_stmt(st->store, "SELECT group_lname, user_lname FROM iam_group_members ORDER BY seq");
    while (sqlite3_step(s) == SQLITE_ROW) {
        iam_entity_t *g = find_entity(st, IAM_ENT_GROUP, col(s, 0));
        iam_entity_t *u = find_entity(st, IAM_ENT_USER, col(s, 1));
        if (g && u)
            iam__group_link(g, u);
    }
    sqlite3_reset(s);
}

static void load_profile_roles(iam_state_t *st)
{
    sqlite3_stmt *s =
        store_stmt(st->store, "SELECT profile_lname, role_lname FROM iam_profile_roles ORDER BY seq");
    while (sqlite3_step(s) == SQLITE_ROW) {
        iam_entity_t *p = find_entity(st, IAM_ENT_INSTANCE_PROFILE, col(s, 0));
        iam_entity_t *r = find_entity(st, IAM_ENT_ROLE, col(s, 1));
        if (p && r)
            iam__group_link(p, r);
    }
    sqlite3_reset(s);
}

static void load_access_keys(iam_state_t *st)
{
    sqlite3_stmt *s = store_stmt(
        st->store, "SELECT akid, user_lname, secret, active, created_ms FROM iam_access_keys ORDER BY created_ms");
    while (sqlite3_step(s) == SQLITE_ROW) {
        iam_entity_t *u = find_entity(st, IAM_ENT_USER, col(s, 1));
        if (!u || u->nkeys >= IAM_MAX_ACCESS_KEYS || !col(s, 0) || strlen(col(s, 0)) >= sizeof u->keys[0].akid)
            continue;
        iam_akey_t *k = &u->keys[u->nkeys++];
        snprintf(k->akid, sizeof k->akid, "%s", col(s, 0));
        k->secret = col_dup(s, 2);
        k->active = sqlite3_column_int(s, 3) != 0;
        k->created_ms = sqlite3_column_int64(s, 4);
    }
    sqlite3_reset(s);
}

static void load_sessions(iam_state_t *st)
{
    int64_t now = kyoka_clock_now_ms();
    sqlite3_stmt *s = store_stmt(st->store,
                                 "SELECT akid, secret, token, kind, arn, user_id, role_arn, role_id, role_name,"
                                 " session_name, user_name, source_identity, created_ms, expires_ms, policy,"
                                 " policy_arns, tags FROM iam_sessions");
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t expires = sqlite3_column_int64(s, 13);
        int kind = sqlite3_column_int(s, 3);
        if (expires + IAM_SESSION_FORGET_MS < now || kind < 0 || kind > 2 || !col(s, 0) ||
            strlen(col(s, 0)) >= sizeof ((iam_session_t *)0)->akid)
            continue;
        iam_session_t *ss = xcalloc(1, sizeof *ss);
        snprintf(ss->akid, sizeof ss->akid, "%s", col(s, 0));
        ss->secret = col_dup(s, 1);
        ss->token = col_dup(s, 2);
        ss->kind = (iam_sess_kind_t)kind;
        ss->arn = col_dup(s, 4);
        ss->user_id = col_dup(s, 5);
        ss->role_arn = col_dup(s, 6);
        ss->role_id = col_dup(s, 7);
        ss->role_name = col_dup(s, 8);
        ss->session_name = col_dup(s, 9);
        ss->user_name = col_dup(s, 10);
        ss->source_identity = col_dup(s, 11);
        ss->created_ms = sqlite3_column_int64(s, 12);
        ss->expires_ms = expires;
        ss->policy_text = col_dup(s, 14);
        if (col(s, 15)) {
            json_t *a = json_loads(col(s, 15), 0, NULL);
            size_t n = json_array_size(a);
            ss->policy_arns = xcalloc(n ? n : 1, sizeof *ss->policy_arns);
            ss->arn_policies = xcalloc(n ? n : 1, sizeof *ss->arn_policies);
            for (size_t i = 0; i < n; i++) {
                const char *arn = json_string_value(json_array_get(a, i));
                if (arn)
                    ss->policy_arns[ss->narns++] = xstrdup(arn);
            }
            json_decref(a);
        }
        tags_load(&ss->tags, col(s, 16));
        size_t at;
        if (!iam__session_compile(st, ss) || iam__vec_find(&st->sessions, ss->akid, iam__session_key, &at) >= 0) {
            iam__session_free(ss);
            continue;
        }
        iam__vec_insert(&st->sessions, at, ss);
    }
    sqlite3_reset(s);
}

int iam__db_load(iam_state_t *st, char *err, size_t errcap)
{
    (void)err;
    (void)errcap;
    /* Policies first: entities refer to them as boundaries and attachments. */
    load_policies(st);
    load_entity_rows(st);
    load_inline(st);
    load_attachments(st);
    load_members(st);
    load_profile_roles(st);
    load_access_keys(st);
    load_sessions(st);
    return 0;
}
