/*
 * Shared inside src/iam only: the compiled form of a policy and the helpers
 * that policy.c (parse + compile), match.c (patterns, ARNs, variables),
 * condition.c (operators, context keys) and evaluate.c (the flowchart) use.
 *
 * Design: a policy is compiled once into an arena owned by the policy.
 * Every pattern is pre-classified (any / exact / prefix / glob) so the
 * common cases never run the general matcher, and anything that holds a
 * policy variable is kept as a template of segments that is expanded at
 * evaluation time into fixed stack buffers (IAM__EXPAND_MAX). Evaluation
 * never allocates.
 */
#ifndef KYOKA_IAM_INTERNAL_H
#define KYOKA_IAM_INTERNAL_H

#include "iam/iam.h"

#include <stdint.h>

/* Longest string a policy variable expansion may produce. A longer
 * expansion makes that pattern or value not match, never truncates: the
 * caps are what lets evaluation run on the stack. */
#define IAM__EXPAND_MAX 2048
/* Longest single context value that is decoded (base64) for BinaryEquals. */
#define IAM__BINARY_MAX 1024

/* ---- patterns ---- */
typedef enum {
    IAM__PAT_ANY,    /* "*" */
    IAM__PAT_EXACT,  /* no wildcard */
    IAM__PAT_PREFIX, /* one trailing '*' and no other wildcard */
    IAM__PAT_GLOB    /* anything else */
} iam__pat_kind_t;

/* Per-character wildcard marks: a '*' or '?' written through ${*} or ${?}
 * is a literal character, so wildcards are marked beside the text rather
 * than found by looking at the text. */
enum { IAM__LIT = 0, IAM__STAR = 1, IAM__QMARK = 2 };

typedef struct iam__glob {
    const char *s;        /* pattern text (lower-cased when matched ignoring case) */
    const uint8_t *wild;  /* NULL when the text holds no wildcard; else len marks */
    uint32_t len;
    uint8_t kind;         /* iam__pat_kind_t */
} iam__glob_t;

typedef enum { IAM__SEG_TEXT, IAM__SEG_VAR } iam__seg_type_t;

typedef struct iam__seg {
    uint8_t type;         /* iam__seg_type_t */
    bool has_default;     /* ${key, 'default'} */
    const char *s;        /* TEXT: characters; VAR: key name (NUL-terminated) */
    const uint8_t *wild;  /* TEXT: wildcard marks, or NULL */
    uint32_t len;
    const char *def;      /* VAR default value (literal) */
    uint32_t deflen;
} iam__seg_t;

/* A string from the policy that may contain policy variables. With no
 * variables it is just a pre-classified glob; otherwise a list of segments
 * expanded per request. */
typedef struct iam__tmpl {
    iam__glob_t g;            /* valid when nsegs == 0 */
    const iam__seg_t *segs;
    uint32_t nsegs;
} iam__tmpl_t;

/* An expanded template: text plus wildcard marks, on the caller's stack. */
typedef struct iam__expanded {
    char s[IAM__EXPAND_MAX];
    uint8_t wild[IAM__EXPAND_MAX];
    size_t len;
    bool has_wild;
} iam__expanded_t;

/* ---- compiled statement parts ---- */
typedef enum {
    IAM__PR_ANY,        /* "*" or {"AWS":"*"} */
    IAM__PR_ACCOUNT,    /* "123456789012" or arn:aws:iam::123456789012:root */
    IAM__PR_USER,       /* arn:...:iam::acct:user/... */
    IAM__PR_ROLE,       /* arn:...:iam::acct:role/... */
    IAM__PR_SESSION,    /* arn:...:sts::acct:assumed-role/role/session */
    IAM__PR_FEDUSER,    /* arn:...:sts::acct:federated-user/name */
    IAM__PR_UNIQUE_ID,  /* AIDA.../AROA... unique principal ids */
    IAM__PR_SERVICE,    /* {"Service": "s3.amazonaws.com"} */
    IAM__PR_FEDERATED,  /* {"Federated": "cognito-identity.amazonaws.com"} */
    IAM__PR_CANONICAL   /* {"CanonicalUser": "79a59df9..."} */
} iam__pr_kind_t;

typedef struct iam__principal_pat {
    uint8_t kind;          /* iam__pr_kind_t */
    const char *value;     /* as written (NUL-terminated) */
    char account[13];      /* ACCOUNT / ARN kinds: the 12-digit account */
} iam__principal_pat_t;

/* How a resource-policy statement named the caller; the order is the
 * strength of the grant in the evaluation flowchart. */
typedef enum {
    IAM__GRANT_NONE = 0,
    IAM__GRANT_ACCOUNT, /* delegation to an account: identity side must allow too */
    IAM__GRANT_ROLE,    /* role ARN: limited by boundary and session policies */
    IAM__GRANT_DIRECT   /* user, session, federated user, service, or "*" */
} iam__grant_t;

typedef struct iam__arnpat {
    bool any;              /* "*" */
    iam__glob_t part[4];   /* partition, service, region, account */
    iam__tmpl_t res;       /* resource part: variables allowed here only */
} iam__arnpat_t;

typedef enum {
    IAM__OP_STR_EQ, IAM__OP_STR_NE, IAM__OP_STR_EQ_IC, IAM__OP_STR_NE_IC,
    IAM__OP_STR_LIKE, IAM__OP_STR_NLIKE,
    IAM__OP_NUM_EQ, IAM__OP_NUM_NE, IAM__OP_NUM_LT, IAM__OP_NUM_LE, IAM__OP_NUM_GT, IAM__OP_NUM_GE,
    IAM__OP_DATE_EQ, IAM__OP_DATE_NE, IAM__OP_DATE_LT, IAM__OP_DATE_LE, IAM__OP_DATE_GT, IAM__OP_DATE_GE,
    IAM__OP_BOOL, IAM__OP_BIN_EQ,
    IAM__OP_IP, IAM__OP_NOT_IP,
    IAM__OP_ARN_EQ, IAM__OP_ARN_LIKE, IAM__OP_ARN_NE, IAM__OP_ARN_NLIKE,
    IAM__OP_NULL,
    IAM__OP__COUNT
} iam__op_t;

typedef enum { IAM__SET_NONE, IAM__SET_ALL, IAM__SET_ANY } iam__set_t;

typedef struct iam__cval {
    iam__tmpl_t str;       /* the value as a string (templated for string/ARN/Bool ops) */
    bool ok;               /* parsed for this operator's type */
    bool b;                /* Bool, Null */
    double num;            /* Numeric */
    int64_t ms;            /* Date, in ms since the epoch */
    uint8_t ip[16];        /* IpAddress: network bytes */
    uint8_t ip_prefix;
    bool ip_v6;
    const uint8_t *bin;    /* BinaryEquals: decoded bytes */
    uint32_t binlen;
} iam__cval_t;

typedef struct iam__cond {
    uint8_t op;            /* iam__op_t */
    uint8_t set;           /* iam__set_t */
    bool if_exists;
    const char *opname;    /* as written, for explanations */
    const char *key;       /* condition key as written (NUL-terminated) */
    iam__cval_t *values;
    uint32_t nvalues;
} iam__cond_t;

typedef struct iam__stmt {
    const char *sid;       /* NULL if none */
    bool allow;
    bool not_action, not_resource, not_principal;
    bool has_resource;     /* Resource or NotResource present */
    bool has_principal;    /* Principal or NotPrincipal present */
    iam__glob_t *actions;
    uint32_t nactions;
    iam__arnpat_t *resources;
    uint32_t nresources;
    iam__principal_pat_t *principals;
    uint32_t nprincipals;
    iam__cond_t *conds;
    uint32_t nconds;
    int start_line, start_col, end_line, end_col;
} iam__stmt_t;

struct iam_policy {
    int refs;
    iam_policy_kind_t kind;
    bool vars;             /* Version 2012-10-17: policy variables are honored */
    char *text;            /* original document, NUL-terminated */
    size_t len;
    iam__stmt_t *stmts;
    uint32_t nstmts;
    arena_t arena;         /* every compiled part lives here */
};

/* ---- match.c ---- */
/* Classify text + wildcard marks into a glob, copying into the arena.
 * wild may be NULL (no wildcard). Lower-cases when fold is set. */
void iam__glob_init(arena_t *a, iam__glob_t *g, const char *s, const uint8_t *wild, size_t len, bool fold);
/* Compile a policy string: with vars, ${...} become variables and ${*} ${?}
 * ${$} literal characters; wildcards gives '*' and '?' their meaning. */
void iam__tmpl_init(arena_t *a, iam__tmpl_t *t, const char *s, size_t len, bool vars, bool wildcards);
bool iam__glob_match(const iam__glob_t *g, const char *s, size_t len, bool fold);
/* General matcher over marked text (no allocation, no recursion). */
bool iam__wild_match(const char *p, const uint8_t *wild, size_t plen, const char *s, size_t slen, bool fold);

struct iam__ectx;
/* Expand a template for the request. Returns false when a variable has no
 * value and no default (recorded as missing) or the expansion exceeds
 * IAM__EXPAND_MAX. */
bool iam__tmpl_expand(struct iam__ectx *e, const iam__tmpl_t *t, iam__expanded_t *out);
/* Does the template match s (wildcards honored when the template was built
 * with them)? */
bool iam__tmpl_match(struct iam__ectx *e, const iam__tmpl_t *t, const char *s, size_t len, bool fold);
/* ARN matching segment by segment: wildcards never cross the colons of
 * partition/service/region/account; the sixth part takes the rest. */
bool iam__arn_wild_match(const char *p, const uint8_t *wild, size_t plen, const char *s, size_t slen);
bool iam__arnpat_match(struct iam__ectx *e, const iam__arnpat_t *ap, const char *resource);
/* Split a pattern ARN (marks honored) for compiling a Resource element. */
void iam__arnpat_init(arena_t *a, iam__arnpat_t *ap, const char *s, size_t len, bool vars);

/* ---- condition.c ---- */
typedef struct iam__ctx_lookup {
    const char *const *values; /* NULL when absent */
    size_t n;
    const char *one;           /* storage for single derived values */
    char tmp[64];              /* formatted derived values (time) */
} iam__ctx_lookup_t;

/* Find a context key (case-insensitive) for the request. */
bool iam__ctx_get(struct iam__ectx *e, const char *key, size_t keylen, iam__ctx_lookup_t *out);
/* Parse helpers shared with policy.c for compile-time validation. */
bool iam__parse_date(const char *s, size_t len, int64_t *ms);
bool iam__parse_number(const char *s, size_t len, double *out);
bool iam__parse_cidr(const char *s, size_t len, uint8_t ip[16], uint8_t *prefix, bool *v6);
bool iam__base64_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *outlen);
/* Operator by name ("ForAnyValue:StringLikeIfExists"); false if unknown. */
bool iam__op_lookup(const char *name, uint8_t *op, uint8_t *set, bool *if_exists);
bool iam__op_allows_vars(uint8_t op);
bool iam__cval_init(arena_t *a, iam__cval_t *v, uint8_t op, const char *s, size_t len, bool vars);
bool iam__cond_eval(struct iam__ectx *e, const iam__cond_t *c);

/* ---- evaluate.c ---- */
typedef struct iam__ectx {
    const iam_request_t *req;
    const iam_principal_t *pr;   /* NULL: anonymous */
    iam_explain_t *ex;           /* NULL: no explanation */
    const iam_policy_t *policy;  /* the policy being walked */
    int64_t now_ms;
    bool has_boundary;           /* for the NotPrincipal + Deny rule */
} iam__ectx_t;

void iam__note_missing(iam__ectx_t *e, const char *key);
/* The parts of one statement's match, in the order stmt_applies checks
 * them; explain.c reuses them so an explanation can never disagree with the
 * decision. e->policy must be the statement's policy. */
bool iam__stmt_action_matches(const iam__stmt_t *st, const char *action);
bool iam__stmt_resource_matches(iam__ectx_t *e, const iam__stmt_t *st, const char *resource);
iam__grant_t iam__stmt_principal_grant(iam__ectx_t *e, const iam__stmt_t *st);

/* ---- explain.c ---- */
/* The on-demand explanation of a decision (the "explanation" object of
 * GET /_kyoka/iam/decisions/ID): the request as IAM saw it, each policy's
 * statements with what happened to each, the deciding rule, and for a
 * denial the statement to add, verified by evaluating again with it.
 * ex is the replayed decision. New reference. */
json_t *iam__explain_json(const iam_request_t *req, const iam_policy_set_t *set, const iam_explain_t *ex);

/* ---- AWS managed policies (generated: managed_gen.c) ---- */
extern const size_t iam__managed_count;
extern const size_t iam__managed_dict_len;
extern const char iam__managed_dict[];
extern const char iam__managed_blob[];
extern const iam_managed_version_t iam__managed_versions[];
extern const iam_managed_t iam__managed_rows[];

#endif
