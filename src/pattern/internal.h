/*
 * pattern internals shared by parse.c (JSON -> alternatives), cond.c
 * (one condition against one value), event.c (an event flattened into leaf
 * values) and machine.c (the compiled set). The unit tests use these too,
 * to compare the compiled matcher with a plain evaluation of each pattern.
 *
 * A pattern compiles to alternatives (each $or multiplies them); an
 * alternative is a list of fields that must all match (AND); a field is a
 * path ("detail.state") and conditions of which one must match (OR).
 */
#ifndef KYOKA_PATTERN_INTERNAL_H
#define KYOKA_PATTERN_INTERNAL_H

#include "pattern/pattern.h"

/* $or alternatives one pattern may expand to. AWS documents no number;
 * kyoka needs one because each $or multiplies the alternatives of the ones
 * beside it (a 4 KiB pattern could name 2^100 combinations). */
#define PATTERN_MAX_ALTERNATIVES 1024
/* Numeric matching: values within +/-5.0e9 compare with six digits after
 * the decimal point, as AWS documents ("limited to values between -5.0e9
 * and +5.0e9 inclusive, with 15 digits of precision, or six digits to the
 * right of the decimal point"); wider values compare as doubles. */
#define PATTERN_NUMERIC_LIMIT 5.0e9

typedef enum {
    /* Looked up in the machine's hash (value bytes are the key). */
    PC_STR,       /* exact string */
    PC_NUM,       /* exact number (num) */
    PC_TRUE,
    PC_FALSE,
    PC_NULL,
    PC_EQ_CI,     /* equals-ignore-case; s is lower-cased */
    PC_PREFIX,
    PC_PREFIX_CI, /* s is lower-cased */
    PC_SUFFIX,
    PC_SUFFIX_CI, /* s is lower-cased */
    PC__HASHED,   /* kinds below are evaluated one by one */
    PC_WILDCARD,  /* segs: literal pieces between '*' */
    PC_NUMERIC,   /* lo..hi */
    PC_CIDR,
    PC_EXISTS,
    PC_NOT_EXISTS,
    PC_ANYTHING_BUT, /* matches a present value that none of sub matches */
} pcond_kind_t;

typedef struct pcond pcond_t;
struct pcond {
    pcond_kind_t kind;
    char *s; /* string operand (owned), NUL-terminated */
    size_t len;
    double num;                 /* PC_NUM: canonical value */
    double lo, hi;              /* PC_NUMERIC: bounds (+/-inf when open) */
    bool lo_incl, hi_incl;
    uint8_t ip[16], family, bits; /* PC_CIDR: network, 4 or 6, mask bits */
    char **segs;                /* PC_WILDCARD: nseg pieces (owned) */
    size_t *seglen, nseg;
    pcond_t *sub;               /* PC_ANYTHING_BUT: what it excludes (owned) */
    size_t nsub;
};

typedef struct pfield {
    char *path;     /* owned, keys joined with '.' */
    pcond_t *conds; /* owned, one must match */
    size_t nconds;
    char *key;      /* canonical text of the conditions, for sharing trie nodes */
    size_t keylen;
    int rank;       /* order within an alternative: selective fields first */
} pfield_t;

typedef struct palt {
    pfield_t **fields; /* into the pattern's pool, sorted by (rank, path, key) */
    size_t nfields;
} palt_t;

/* Fields are shared by the alternatives a $or makes, so they live once in
 * the pool and alternatives point at them. */
typedef struct pcompiled {
    pfield_t **pool; /* owned fields */
    size_t npool, cappool;
    palt_t *alts;
    size_t nalts;
} pcompiled_t;

/* Compare two fields in machine order. */
int pattern__field_cmp(const pfield_t *a, const pfield_t *b);

/* parse.c: compile JSON text. 0, or KYOKA_E* with AWS's reason in err. */
int pattern__compile(const char *json, size_t len, pcompiled_t *out, char *err, size_t errcap);
void pattern__compiled_destroy(pcompiled_t *c);

/* ---- event leaves (event.c) ---- */
typedef enum { PV_STR, PV_NUM, PV_TRUE, PV_FALSE, PV_NULL } pval_type_t;

typedef struct pleaf {
    uint32_t path;       /* path id in the path table given to the walk */
    uint8_t type;        /* pval_type_t */
    const char *s;       /* PV_STR: borrowed from the event tree */
    size_t len;
    double num;          /* PV_NUM: canonical value */
    uint32_t ctx, nctx;  /* array positions: ctxbuf[ctx .. ctx+nctx) */
    uint32_t next;       /* next leaf on the same path, UINT32_MAX at the end */
} pleaf_t;

typedef struct pctx {
    uint32_t array; /* which array of the event (numbered in walk order) */
    uint32_t index; /* element index */
} pctx_t;

/* The path table the walk consults: returns the path id of a full path,
 * or -1 if no pattern names it; *prefix says whether some pattern's path
 * continues below it (so the walk must descend). */
typedef int64_t (*ppath_lookup_fn)(void *ud, const char *path, size_t len, bool *prefix);

typedef struct pevent {
    pleaf_t *leaves;
    size_t nleaves, capleaves;
    pctx_t *ctx;
    size_t nctx, capctx;
    bool constrained; /* some leaf sits inside an object/array element of an array */
    char *pathbuf;
    size_t pathcap;
} pevent_t;

void pattern__event_init(pevent_t *e);
void pattern__event_destroy(pevent_t *e);
/* Flatten ev into e (reset first): every leaf whose path the lookup knows. */
void pattern__event_flatten(pevent_t *e, const json_t *ev, ppath_lookup_fn lookup, void *ud);
/* Can these two leaves be used together (never from different elements of one array)? */
bool pattern__leaves_compatible(const pevent_t *e, const pleaf_t *a, const pleaf_t *b);

/* ---- conditions (cond.c) ---- */
/* Does cond hold for this present value? (PC_EXISTS holds for any value;
 * PC_NOT_EXISTS never holds for a present value.) */
bool pattern__cond_match(const pcond_t *c, const pleaf_t *v);
/* The canonical form numbers are compared in. */
double pattern__num_canon(double v);
/* ASCII lower-casing of n bytes into out. */
void pattern__lower(const char *in, size_t n, char *out);
bool pattern__wildcard_match(const pcond_t *c, const char *s, size_t n);
/* Parse an IPv4 or IPv6 address; family 4 or 6, 0 if not an address. */
int pattern__parse_ip(const char *s, size_t n, uint8_t out[16]);

void pattern__cond_destroy(pcond_t *c);

#endif
