/*
 * Shared inside src/services/iam only: the in-memory model of IAM entities,
 * managed policies and STS sessions, and the helpers the operation files use.
 *
 * Design: roles, users and groups are one struct (iam_entity_t) with a kind,
 * because AWS gives all three the same machinery (inline policies, attached
 * managed policies, tags, and for roles and users a permissions boundary),
 * so entity.c implements that machinery once. Every collection is a vector
 * kept sorted by its key (lower-cased name for entities, ARN for policies,
 * access key id for sessions) and searched by bisection; IAM accounts hold
 * hundreds of entities, not millions, and sorted order is also the order the
 * List operations return.
 *
 * Policies are compiled once, when stored (iam_policy_parse), and kept
 * compiled. A managed policy version is one iam_policy_t shared by every
 * entity it is attached to; sessions created with PolicyArns take a
 * reference (iam_policy_ref) so deleting the version later does not pull
 * the policy from under a live session.
 *
 * Persistence is write-through: a handler writes its rows (tables prefixed
 * iam_) before it changes memory, inside the request's savepoint, so a
 * failed write leaves both unchanged. create() loads everything back.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_SVC_IAM_INTERNAL_H
#define KYOKA_SVC_IAM_INTERNAL_H

#include "services/iam/iam_svc.h"
#include "services/service.h"

/* Group inline policies: 5,120 characters in aggregate (IAM and STS quotas,
 * "Group policy size"). core/limits.h has the role and user sizes. */
#define IAM_GROUP_INLINE_MAX_BYTES 5120
/* Managed policies attached to one role, user or group (default quota 10). */
#define IAM_MAX_ATTACHED 10
/* Access keys per user (quota "Access keys assigned to an IAM user": 2). */
#define IAM_MAX_ACCESS_KEYS 2
/* Versions kept per managed policy (quota "Managed policy versions": 5). */
#define IAM_MAX_POLICY_VERSIONS 5
/* Tags per role, user or policy (quota 50). */
#define IAM_MAX_TAGS 50
/* Session policies: at most 10 managed policy ARNs (AssumeRole PolicyArns). */
#define IAM_MAX_SESSION_ARNS 10
/* Expired sessions are forgotten this long after expiry: until then their
 * key still answers ExpiredToken rather than InvalidClientTokenId. */
#define IAM_SESSION_FORGET_MS (24LL * 3600 * 1000)

/* Instance profiles share the entity machinery (name, path, id, ARN, tags,
 * and links: a profile's roles, a role's profiles) though they are not
 * principals: code that walks principals stops at IAM_ENT_NPRINCIPALS. */
typedef enum {
    IAM_ENT_ROLE = 0,
    IAM_ENT_USER = 1,
    IAM_ENT_GROUP = 2,
    IAM_ENT_INSTANCE_PROFILE = 3,
} iam_ent_kind_t;
#define IAM_ENT_NPRINCIPALS 3
#define IAM_ENT_NKINDS 4

/* What an entity may still hold when it is deleted; see delete_blockers. */
typedef enum {
    IAM_HOLDS_NOTHING = 0, /* ends delete_blockers early */
    IAM_HOLDS_ACCESS_KEYS,
    IAM_HOLDS_INLINE,
    IAM_HOLDS_ATTACHED,
    IAM_HOLDS_LINKS,       /* a user's groups, a group's members, a role's
                              instance profiles, a profile's roles */
} iam_holding_t;

struct iam_vcheck;
struct iam_entity;

/* What differs between roles, users and groups, as data: entity.c runs
 * Create, Delete, List and the policy and tag operations of every kind from
 * this table alone. */
typedef struct iam_kind_info {
    const char *arn_type;    /* "role": the ARN resource type */
    const char *title;       /* "Role": for "Role with name X already exists.", the output member */
    const char *plural;      /* "Roles": the List output member */
    const char *param;       /* "RoleName": the input member, and the name's output member */
    const char *id_member;   /* "RoleId": the id's output member */
    const char *field;       /* "roleName": the name in ValidationError texts */
    const char *id_prefix;   /* "AROA" */
    size_t max_name;         /* Create and the policy and tag operations: 64 / 64 / 128 */
    size_t max_existing_name; /* Get and Delete: 64 / 128 / 128 (the models differ) */
    size_t inline_max;       /* aggregate inline policy size */
    const char *quota_attached; /* "PoliciesPerRole" */
    const char *source_type; /* SourcePolicyType of its inline policies: "role" */
    bool has_boundary;       /* takes PermissionsBoundary on Create */
    bool has_tags;           /* takes Tags on Create */
    /* Delete refuses while the entity holds any of these, and names the
     * first it finds in this order, which differs by kind. */
    iam_holding_t delete_blockers[4];
    const char *links_conflict; /* the DeleteConflict text for IAM_HOLDS_LINKS */
    /* AWS's texts where they do not follow the common pattern (one %s, the
     * name): "Instance Profile %s already exists." NULL: "<title> with name
     * %s already exists." and "The <arn_type> with name %s cannot be found." */
    const char *exists_fmt;
    const char *missing_fmt;
    /* The kind's own Create members (CreateRole's; NULL for the others).
     * create_check adds their validation errors after Path's, as IAM lists
     * them; create_fill sets them on the new entity, or sets the error on
     * the call and returns false. */
    void (*create_check)(svc_call_t *c, struct iam_vcheck *v);
    bool (*create_fill)(svc_call_t *c, struct iam_entity *e);
} iam_kind_info_t;

extern const iam_kind_info_t iam__kinds[IAM_ENT_NKINDS];

typedef struct iam_tagv {
    char **keys;
    char **values;
    size_t n;
} iam_tagv_t;

typedef struct iam_inline {
    char *name;
    iam_policy_t *policy; /* owned */
} iam_inline_t;

typedef struct iam_akey {
    char akid[24];
    char *secret;
    bool active;
    int64_t created_ms;
} iam_akey_t;

typedef struct iam_pversion {
    char id[16];          /* "v3" */
    iam_policy_t *policy; /* owned (one reference) */
    int64_t created_ms;
} iam_pversion_t;

typedef struct iam_mpolicy {
    char *arn, *name, *lname, *path, *id, *description;
    bool aws;             /* AWS managed: read-only, arn:aws:iam::aws:policy/... */
    const char *aws_doc;  /* AWS managed: the built-in document, compiled on
                             first use (versions[0].policy NULL until then) */
    int64_t created_ms, updated_ms;
    iam_pversion_t versions[IAM_MAX_POLICY_VERSIONS];
    size_t nversions;
    size_t default_idx;   /* index into versions */
    int next_version;     /* number of the next version id; never reused */
    int attachments;      /* entities it is attached to */
    int boundary_uses;    /* entities that use it as permissions boundary */
    iam_tagv_t tags;
} iam_mpolicy_t;

typedef struct iam_entity iam_entity_t;
struct iam_entity {
    iam_ent_kind_t kind;
    char *name, *lname, *id, *path, *arn;
    int64_t created_ms;
    iam_tagv_t tags;
    iam_inline_t *inl;       /* sorted by name */
    size_t ninl;
    iam_mpolicy_t **att;     /* attachment order */
    size_t natt;
    iam_mpolicy_t *boundary; /* roles and users */
    /* roles */
    iam_policy_t *trust;     /* owned */
    char *description;
    int max_session;         /* seconds: 3600 .. 43200 */
    /* users */
    iam_akey_t keys[IAM_MAX_ACCESS_KEYS];
    size_t nkeys;
    /* users: the groups they are in; groups: their members; roles: their
     * instance profiles; instance profiles: their role (at most one) */
    iam_entity_t **links;
    size_t nlinks;
};

typedef enum { IAM_SESS_ROLE = 0, IAM_SESS_USER = 1, IAM_SESS_ROOT = 2 } iam_sess_kind_t;

typedef struct iam_session {
    char akid[24];
    char *secret, *token;
    iam_sess_kind_t kind;
    char *arn;              /* session ARN (roles) or the user's/root ARN */
    char *user_id;          /* AROA...:name, AIDA..., or the account */
    char *role_arn, *role_id, *role_name, *session_name; /* role sessions */
    char *user_name;        /* user sessions */
    char *source_identity;
    int64_t created_ms, expires_ms;
    char *policy_text;      /* inline session policy, or NULL */
    iam_policy_t *policy;
    char **policy_arns;
    iam_policy_t **arn_policies; /* one reference each */
    size_t narns;
    iam_tagv_t tags;        /* session tags */
} iam_session_t;

typedef struct iam_vec {
    void **v;
    size_t n, cap;
} iam_vec_t;

typedef struct iam_state {
    kyoka_ctx_t *ctx;
    store_t *store;
    const char *account;
    iam_vec_t ents[IAM_ENT_NKINDS]; /* iam_entity_t*, by lname */
    iam_vec_t policies; /* iam_mpolicy_t*, by arn (customer and AWS managed) */
    iam_vec_t sessions; /* iam_session_t*, by akid */
} iam_state_t;

/* ==== state.c: collections, ids, persistence, small helpers ==== */
typedef const char *(*iam_key_fn)(const void *item);
/* The key of the i-th element of a list sorted by that key. */
typedef const char *(*iam_key_at_fn)(const void *list, size_t i);
/* Index of key among the n elements of a sorted list, or -1; *at (if not
 * NULL) gets the index to insert it at. */
ssize_t iam__bisect(const void *list, size_t n, iam_key_at_fn key_at, const char *key, size_t *at);
/* Index of key in a vector sorted by keyfn, or -1; *at gets the insertion point. */
ssize_t iam__vec_find(const iam_vec_t *v, const char *key, iam_key_fn keyfn, size_t *at);
void iam__vec_insert(iam_vec_t *v, size_t at, void *item);
void iam__vec_remove(iam_vec_t *v, size_t at);
const char *iam__ent_key(const void *e);
const char *iam__policy_key(const void *p);
const char *iam__session_key(const void *s);

/* Lower-cased copy (malloc). */
char *iam__lower(const char *s);
/* An id: prefix + n characters of [A-Z0-9] (out needs prefix + n + 1). */
void iam__gen_id(char *out, const char *prefix, size_t n);
/* A 40-character secret access key. */
void iam__gen_secret(char out[41]);
/* A session token: a long opaque base64 string (malloc). */
char *iam__gen_token(void);

iam_entity_t *iam__ent_lookup(iam_state_t *st, iam_ent_kind_t kind, const char *name);
/* Look up, or set NoSuchEntity ("The role with name X cannot be found.") and return NULL. */
iam_entity_t *iam__ent_get_or_fail(svc_call_t *c, iam_ent_kind_t kind, const char *name);
iam_mpolicy_t *iam__policy_lookup(iam_state_t *st, const char *arn);
/* The entity an ARN names (arn:aws:iam::ACCOUNT:role/path/name), or NULL. */
iam_entity_t *iam__ent_by_arn(iam_state_t *st, const char *arn, iam_ent_kind_t *kind_out);
/* The compiled policy of a version. AWS managed policies are compiled on
 * first use: compiling all of them at start cost more than the rest of
 * start-up together, and most runs attach two or three. */
const iam_policy_t *iam__version_policy(const iam_mpolicy_t *p, const iam_pversion_t *v);

/* The compiled default version of a managed policy. */
static inline const iam_policy_t *iam__policy_default(const iam_mpolicy_t *p)
{
    return p->nversions ? iam__version_policy(p, &p->versions[p->default_idx]) : NULL;
}

char *iam__arn_for(iam_state_t *st, iam_ent_kind_t kind, const char *path, const char *name);
void iam__entity_free(iam_entity_t *e);
void iam__mpolicy_free(iam_mpolicy_t *p);
void iam__session_free(iam_session_t *s);
void iam__tags_clear(iam_tagv_t *t);
/* Set (replace by case-insensitive key) or remove one tag. */
void iam__tags_set(iam_tagv_t *t, const char *key, const char *value);
void iam__tags_remove(iam_tagv_t *t, const char *key);
json_t *iam__tags_json(const iam_tagv_t *t);          /* [{"Key","Value"}...] */
void iam__tags_from_json(iam_tagv_t *t, json_t *arr); /* same shape; NULL ok */

/* Percent-encode a policy document the way IAM returns it (RFC 3986
 * unreserved characters kept); arena string. */
const char *iam__urlencode(arena_t *a, const char *s);
/* Non-white-space characters of a policy, the size IAM's quotas count. */
size_t iam__policy_size(const char *doc);

/* ---- persistence (db.c) ---- */
int iam__db_migrate(iam_state_t *st, char *err, size_t errcap);
int iam__db_load(iam_state_t *st, char *err, size_t errcap);
int iam__db_entity_save(iam_state_t *st, const iam_entity_t *e) KYOKA_WUR;
int iam__db_entity_delete(iam_state_t *st, const iam_entity_t *e) KYOKA_WUR;
int iam__db_inline_put(iam_state_t *st, const iam_entity_t *e, const char *name, const char *doc) KYOKA_WUR;
int iam__db_inline_delete(iam_state_t *st, const iam_entity_t *e, const char *name) KYOKA_WUR;
int iam__db_attach_put(iam_state_t *st, const iam_entity_t *e, const char *arn) KYOKA_WUR;
int iam__db_attach_delete(iam_state_t *st, const iam_entity_t *e, const char *arn) KYOKA_WUR;
int iam__db_member_put(iam_state_t *st, const iam_entity_t *group, const iam_entity_t *user) KYOKA_WUR;
int iam__db_member_delete(iam_state_t *st, const iam_entity_t *group, const iam_entity_t *user) KYOKA_WUR;
int iam__db_profile_role_put(iam_state_t *st, const iam_entity_t *profile, const iam_entity_t *role) KYOKA_WUR;
int iam__db_profile_role_delete(iam_state_t *st, const iam_entity_t *profile, const iam_entity_t *role) KYOKA_WUR;
int iam__db_akey_save(iam_state_t *st, const iam_entity_t *user, const iam_akey_t *k) KYOKA_WUR;
int iam__db_akey_delete(iam_state_t *st, const char *akid) KYOKA_WUR;
int iam__db_policy_save(iam_state_t *st, const iam_mpolicy_t *p) KYOKA_WUR;
int iam__db_policy_delete(iam_state_t *st, const iam_mpolicy_t *p) KYOKA_WUR;
int iam__db_version_put(iam_state_t *st, const iam_mpolicy_t *p, const iam_pversion_t *v) KYOKA_WUR;
int iam__db_version_delete(iam_state_t *st, const iam_mpolicy_t *p, const char *version) KYOKA_WUR;
int iam__db_session_save(iam_state_t *st, const iam_session_t *s) KYOKA_WUR;
int iam__db_session_delete(iam_state_t *st, const char *akid) KYOKA_WUR;
void iam__db_wipe(iam_state_t *st);

/* Set ServiceFailure on the call after a store error; returns 0 so handlers
 * can `return iam__store_failed(c);`. */
int iam__store_failed(svc_call_t *c);

/* ---- validation: AWS's "N validation errors detected: ..." ---- */
typedef struct iam_vcheck {
    svc_call_t *c;
    int n;
    buf_t msg;
} iam_vcheck_t;

void iam__v_init(iam_vcheck_t *v, svc_call_t *c);
/* Value must match [\w+=,.@-]+ with length 1..max. NULL values are skipped
 * (required members are checked by the protocol layer). */
void iam__v_name(iam_vcheck_t *v, const char *field, const char *value, size_t max);
/* IAM path: "/" or "/.../" of \u0021-\u007F, at most 512. */
void iam__v_path(iam_vcheck_t *v, const char *field, const char *value);
void iam__v_len(iam_vcheck_t *v, const char *field, const char *value, size_t min, size_t max);
void iam__v_range(iam_vcheck_t *v, const char *field, json_t *value, int64_t min, int64_t max);
void iam__v_fail(iam_vcheck_t *v, const char *field, const char *value, const char *constraint);
/* Validate a Tags input list (keys, values, count). */
void iam__v_tags(iam_vcheck_t *v, json_t *tags);
/* Sets ValidationError when anything failed; true when all is well. Frees. */
bool iam__v_done(iam_vcheck_t *v);

/* Parse a policy for storage; on failure sets MalformedPolicyDocument or
 * LimitExceeded on the call (limit_msg replaces the size message when the
 * document is over max) and returns NULL. */
iam_policy_t *iam__parse_or_fail(svc_call_t *c, const char *doc, iam_policy_kind_t kind, size_t max,
                                 const char *limit_msg);

/* The output item at index i of what items points to (entities, tags,
 * access keys, ...), for iam__list_page. */
typedef json_t *(*iam_item_fn)(svc_call_t *c, const void *items, size_t i);
/* A List operation's output: one page of total items under member, with
 * IsTruncated and Marker. Pages follow MaxItems (default 100) and Marker
 * (the index to resume at, as text); a bad one sets ValidationError.
 * Returns 0 (handler style). */
int iam__list_page(svc_call_t *c, const char *member, size_t total, iam_item_fn item, const void *items);

/* ---- access keys (user.c) ---- */
/* Put a user's access key into ctx->creds (replacing an entry with its id). */
void iam__akey_register(iam_state_t *st, const iam_entity_t *u, const iam_akey_t *k);

/* ---- caller ---- */
/* The user the caller is (long-term key or GetSessionToken session), or NULL. */
iam_entity_t *iam__caller_user(svc_call_t *c);

/* ---- identity.c ---- */
void iam__identity_for(void *state, const auth_cred_t *cred, arena_t *a, iam_principal_t *principal,
                       iam_policy_set_t *set);
/* The identity policies of an entity (user: its own and its groups'; role;
 * group), as named policies from the arena. When src is not NULL it gets a
 * parallel array saying where each came from, in SimulatePolicy's terms. */
typedef struct iam_policy_src {
    const char *id;   /* SourcePolicyId: the policy name */
    const char *type; /* SourcePolicyType: user | group | role | aws-managed | user-managed */
} iam_policy_src_t;
size_t iam__entity_policies(iam_state_t *st, const iam_entity_t *e, arena_t *a, iam_named_policy_t **out,
                            iam_policy_src_t **src);
/* Principal tags of an entity, from the arena. */
void iam__principal_for_entity(iam_state_t *st, const iam_entity_t *e, arena_t *a, iam_principal_t *pr);

/* ---- json views (views.c) ---- */
/* A Role, User or Group; full adds what the List operations leave out. */
json_t *iam__entity_json(const iam_entity_t *e, arena_t *a, bool full);
json_t *iam__policy_json(const iam_mpolicy_t *p, bool with_tags);
json_t *iam__version_json(const iam_mpolicy_t *p, const iam_pversion_t *v, arena_t *a, bool with_doc);

/* ---- sessions (session.c) ---- */
iam_session_t *iam__session_lookup(iam_state_t *st, const char *akid);
/* Register a loaded or new session's credential in ctx->creds. */
void iam__session_register(iam_state_t *st, const iam_session_t *s);
/* Rebuild session policies of a loaded session; false if they no longer parse. */
bool iam__session_compile(iam_state_t *st, iam_session_t *s);

/* ---- operation handlers, by file ---- */
/* role.c (CreateRole, ListRoles and DeleteRole are entity.c's) */
void iam__role_create_check(svc_call_t *c, struct iam_vcheck *v);
bool iam__role_create_fill(svc_call_t *c, iam_entity_t *e);
int iam_get_role(svc_call_t *c);
int iam_update_role(svc_call_t *c);
int iam_update_role_description(svc_call_t *c);
int iam_update_assume_role_policy(svc_call_t *c);
/* user.c (CreateUser, ListUsers and DeleteUser are entity.c's) */
int iam_get_user(svc_call_t *c);
int iam_create_access_key(svc_call_t *c);
int iam_list_access_keys(svc_call_t *c);
int iam_update_access_key(svc_call_t *c);
int iam_delete_access_key(svc_call_t *c);
int iam_get_access_key_last_used(svc_call_t *c);
int iam_list_groups_for_user(svc_call_t *c);
/* group.c (CreateGroup, ListGroups and DeleteGroup are entity.c's) */
int iam_get_group(svc_call_t *c);
int iam_add_user_to_group(svc_call_t *c);
int iam_remove_user_from_group(svc_call_t *c);
/* Record in memory that user is a member of group (both directions); also
 * links an instance profile and its role. */
void iam__group_link(iam_entity_t *group, iam_entity_t *user);
/* Undo iam__group_link. */
void iam__group_unlink(iam_entity_t *group, iam_entity_t *user);
/* instance_profile.c (Create, List, Delete and tags are entity.c's) */
int iam_get_instance_profile(svc_call_t *c);
int iam_add_role_to_instance_profile(svc_call_t *c);
int iam_remove_role_from_instance_profile(svc_call_t *c);
int iam_list_instance_profiles_for_role(svc_call_t *c);
/* entity.c: create, list, delete, inline, attached, boundary and tags for
 * every kind, driven by iam__kinds */
int iam__entity_create(svc_call_t *c, iam_ent_kind_t kind);
int iam__entity_list(svc_call_t *c, iam_ent_kind_t kind);
int iam__entity_delete(svc_call_t *c, iam_ent_kind_t kind);
/* The entity named by the kind's name member, validated as Get and Delete
 * validate it; otherwise ValidationError or NoSuchEntity and NULL. */
iam_entity_t *iam__ent_input_or_fail(svc_call_t *c, iam_ent_kind_t kind);
/* An iam_item_fn over an array of entity pointers: each one in brief, as
 * the List operations show it. */
json_t *iam__entity_item(svc_call_t *c, const void *items, size_t i);
/* Attach p to e in memory (the caller has written the row). */
void iam__entity_attach(iam_entity_t *e, iam_mpolicy_t *p);
int iam__put_inline(svc_call_t *c, iam_ent_kind_t kind);
int iam__get_inline(svc_call_t *c, iam_ent_kind_t kind);
int iam__delete_inline(svc_call_t *c, iam_ent_kind_t kind);
int iam__list_inline(svc_call_t *c, iam_ent_kind_t kind);
int iam__attach(svc_call_t *c, iam_ent_kind_t kind);
int iam__detach(svc_call_t *c, iam_ent_kind_t kind);
int iam__list_attached(svc_call_t *c, iam_ent_kind_t kind);
int iam__put_boundary(svc_call_t *c, iam_ent_kind_t kind);
int iam__delete_boundary(svc_call_t *c, iam_ent_kind_t kind);
int iam__tag(svc_call_t *c, iam_ent_kind_t kind);
int iam__untag(svc_call_t *c, iam_ent_kind_t kind);
int iam__list_tags(svc_call_t *c, iam_ent_kind_t kind);
/* Resolve a boundary ARN for CreateRole/CreateUser/Put*PermissionsBoundary
 * (NoSuchEntity "Scope ARN: ... does not exist or is not attachable."). */
iam_mpolicy_t *iam__boundary_get_or_fail(svc_call_t *c, const char *arn);
/* Drop what an entity holds of shared objects (attachment and boundary
 * counts) before it is freed. */
void iam__entity_detach_all(iam_entity_t *e);
/* Check a Tags input and merge it into t: ValidationError, InvalidInput on
 * duplicate keys, LimitExceeded past 50 ("Cannot exceed quota for
 * TagsPer<quota>: 50"). t is unchanged on failure. Returns 0 or -1. */
int iam__tags_apply(svc_call_t *c, iam_tagv_t *t, json_t *tags, const char *quota);
/* TagX / UntagX on an owner's tags, from the call's Tags or TagKeys input;
 * save writes the owner; if it fails the tags are restored in memory and
 * ServiceFailure is set. Returns 0 (handler style). */
int iam__tags_edit(svc_call_t *c, iam_tagv_t *tags, bool untag, const char *quota,
                   int (*save)(iam_state_t *st, const void *owner), const void *owner);
/* ListXTags: one page of tags as the output. Returns 0 (handler style). */
int iam__tags_list(svc_call_t *c, const iam_tagv_t *tags);
/* Tags input of a Create call into t (validated). Returns 0 or -1. */
int iam__tags_create(svc_call_t *c, iam_tagv_t *t, json_t *tags);
/* policy.c */
int iam_create_policy(svc_call_t *c);
int iam_get_policy(svc_call_t *c);
int iam_delete_policy(svc_call_t *c);
int iam_list_policies(svc_call_t *c);
int iam_create_policy_version(svc_call_t *c);
int iam_get_policy_version(svc_call_t *c);
int iam_delete_policy_version(svc_call_t *c);
int iam_set_default_policy_version(svc_call_t *c);
int iam_list_policy_versions(svc_call_t *c);
int iam_list_entities_for_policy(svc_call_t *c);
int iam_tag_policy(svc_call_t *c);
int iam_untag_policy(svc_call_t *c);
int iam_list_policy_tags(svc_call_t *c);
iam_mpolicy_t *iam__policy_get_or_fail(svc_call_t *c, const char *arn);
/* Add the AWS managed policies (compiled) at start. */
void iam__policies_add_aws(iam_state_t *st);
/* simulate.c */
int iam_simulate_principal_policy(svc_call_t *c);
int iam_simulate_custom_policy(svc_call_t *c);

#endif
