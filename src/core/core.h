/*
 * core: the primitives every other component stands on.
 *
 * Allocation wrappers that abort on out-of-memory (so call sites never check
 * malloc), the two string types (borrowed strv_t views and owned, size-capped
 * buf_t buffers), a per-request arena, the server clock that every
 * time-driven behaviour reads, logging, and the internal error codes.
 *
 * Thread: everything here is for the loop thread unless a function says
 * otherwise; the allocators and buf_t are safe on any thread for objects that
 * thread owns.
 */
#ifndef KYOKA_CORE_H
#define KYOKA_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KYOKA_VERSION "0.1.0"

#define KYOKA_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define KYOKA_WUR __attribute__((warn_unused_result))
#define KYOKA_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* ---- internal error codes: one X-macro list gives names and messages ---- */
#define KYOKA_ERRNO_MAP(X)                                         \
    X(NOMEM, "out of memory")                                     \
    X(LIMIT, "size limit exceeded")                               \
    X(INVAL, "invalid argument")                                  \
    X(NOTFOUND, "not found")                                      \
    X(EXISTS, "already exists")                                   \
    X(IO, "input/output error")                                   \
    X(STORE, "store error")                                       \
    X(AGAIN, "not yet; call again")                               \
    X(AUTH, "authentication failed")                              \
    X(DENIED, "access denied")                                    \
    X(PARSE, "malformed input")

enum {
#define KYOKA_E_ENUM(name, msg) KYOKA_E##name,
    KYOKA_E__FIRST = -1000,
    KYOKA_ERRNO_MAP(KYOKA_E_ENUM) KYOKA_E__LAST
#undef KYOKA_E_ENUM
};

/* Static name ("KYOKA_ELIMIT") and message for an error code; "unknown" otherwise. */
const char *kyoka_err_name(int err);
const char *kyoka_err_message(int err);

/* ---- small objects (small.c): per-thread size-class free lists ----
 * For many short-lived blocks (jansson trees); blocks of any size are
 * accepted, those over KYOKA_SMALL_MAX go to malloc. Free on any thread. */
#define KYOKA_SMALL_MAX 512
void *kyoka_small_alloc(size_t n);
void kyoka_small_free(void *p);
/* Frees this thread's chunks; every small block of the thread must be
 * dead (tests, thread exit). */
void kyoka_small_release_thread(void);

/* ---- allocation: abort with file:line on out-of-memory ---- */
#define xmalloc(n) kyoka__xmalloc((n), __FILE__, __LINE__)
#define xcalloc(n, s) kyoka__xcalloc((n), (s), __FILE__, __LINE__)
#define xrealloc(p, n) kyoka__xrealloc((p), (n), __FILE__, __LINE__)
#define xstrdup(s) kyoka__xstrndup((s), __builtin_strlen(s), __FILE__, __LINE__)
#define xstrndup(s, n) kyoka__xstrndup((s), (n), __FILE__, __LINE__)
void *kyoka__xmalloc(size_t n, const char *file, int line);
void *kyoka__xcalloc(size_t n, size_t size, const char *file, int line);
void *kyoka__xrealloc(void *p, size_t n, const char *file, int line);
char *kyoka__xstrndup(const char *s, size_t n, const char *file, int line);
/* printf into a new malloc'd string (aborts when out of memory). */
char *xasprintf(const char *fmt, ...) KYOKA_PRINTF(1, 2);
/* Remove a directory tree, not following links. Blocking: for start-up,
 * shutdown and the thread pool. */
void kyoka_remove_tree(const char *path);

/* ---- strv_t: a borrowed view, never owns its bytes, not NUL-terminated ---- */
typedef struct strv {
    const char *p;
    size_t len;
} strv_t;

#define STRV_LIT(s) ((strv_t){(s), sizeof(s) - 1})
#define STRV_NULL ((strv_t){NULL, 0})
strv_t strv_from(const char *s); /* s may be NULL: gives STRV_NULL */
bool strv_eq(strv_t a, strv_t b);
bool strv_eq_cstr(strv_t a, const char *s);
bool strv_caseeq_cstr(strv_t a, const char *s);
bool strv_starts_with(strv_t a, const char *prefix);
/* s without leading and trailing blanks (spaces and tabs). */
strv_t strv_trim(strv_t s);

/* ---- buf_t: owned, growable, capped, always NUL-terminated, sticky error ----
 * Invariants: data is never NULL (an empty buffer points at a static ""),
 * data[len] == '\0', len <= max. Appends past max set err = KYOKA_ELIMIT and
 * are dropped; callers append freely and check buf_err() once at the end. */
typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* hard limit on len given at init */
    int err;    /* 0 or KYOKA_ELIMIT, sticky */
} buf_t;

void buf_init(buf_t *b, size_t max);
void buf_destroy(buf_t *b); /* frees data, leaves an empty buffer; NULL ok */
void buf_reset(buf_t *b);   /* len = 0, keeps capacity and max, clears err */
int buf_append(buf_t *b, const void *p, size_t n);
int buf_appends(buf_t *b, const char *s);
int buf_appendc(buf_t *b, char c);
int buf_appendf(buf_t *b, const char *fmt, ...) KYOKA_PRINTF(2, 3);
int buf_vappendf(buf_t *b, const char *fmt, va_list ap);
static inline int buf_err(const buf_t *b) { return b->err; }
static inline strv_t buf_view(const buf_t *b) { return (strv_t){b->data, b->len}; }
/* Take ownership of the bytes (NUL-terminated, free with free()); leaves b empty. */
char *buf_detach(buf_t *b, size_t *len);
/* Room for n more bytes now, so appends of up to n bytes do not reallocate;
 * KYOKA_ELIMIT past max. */
int buf_reserve(buf_t *b, size_t n);
/* Empty b for its next use: keeps capacity up to keep_cap bytes (a buffer
 * reused across requests skips its malloc/realloc chain), frees beyond. */
void buf_recycle(buf_t *b, size_t keep_cap);

/* ---- arena: bump allocator for anything that dies with one request ---- */
typedef struct arena_block arena_block_t;
typedef struct arena_cleanup arena_cleanup_t;
typedef struct arena {
    arena_block_t *_head;
    arena_cleanup_t *_cleanups;
    char _first[2048]; /* first allocations come from inside the arena itself */
    size_t _first_used;
} arena_t;

void arena_init(arena_t *a);
void arena_destroy(arena_t *a); /* runs cleanups in reverse order, frees blocks */
void *arena_alloc(arena_t *a, size_t n);  /* 16-byte aligned, never NULL */
void *arena_calloc(arena_t *a, size_t n);
char *arena_strndup(arena_t *a, const char *s, size_t n);
char *arena_strdup(arena_t *a, const char *s);
char *arena_sprintf(arena_t *a, const char *fmt, ...) KYOKA_PRINTF(2, 3);
void arena_on_destroy(arena_t *a, void (*fn)(void *), void *data);

/* ---- clock: real time plus an offset that tests move forward ---- */
/* Milliseconds since the epoch on the server clock. */
int64_t kyoka_clock_now_ms(void);
int64_t kyoka_clock_now_s(void);
/* Real time, without the offset: for what clients compare with their own
 * clocks (the SigV4 skew window, the HTTP Date header). */
int64_t kyoka_wall_ms(void);
/* Move the server clock forward; negative values are ignored. */
void kyoka_clock_advance_ms(int64_t ms);
int64_t kyoka_clock_offset_ms(void);
/* Back to real time. Only for POST /_kyoka/reset, when no state is left that
 * could see time run backwards. */
void kyoka_clock_reset(void);
/* Monotonic microseconds for measuring durations (never moved by advance). */
uint64_t kyoka_mono_us(void);
/* ISO 8601 UTC "2024-01-02T03:04:05Z" (out needs 21 bytes) and with millis (25). */
void kyoka_time_iso8601(int64_t ms, char out[64], bool with_millis);
/* Parse "20240102T030405Z" (SigV4 basic format). Returns 0 and sets *ms. */
int kyoka_time_parse_amz(strv_t s, int64_t *ms) KYOKA_WUR;

/* ---- log ---- */
typedef enum { KLOG_DEBUG, KLOG_INFO, KLOG_WARN, KLOG_ERROR } klog_level_t;
void klog_set_level(klog_level_t lvl);
void klog_set_json(bool json);
bool klog_is_json(void);
void klog(klog_level_t lvl, const char *fmt, ...) KYOKA_PRINTF(2, 3);
#define log_debug(...) klog(KLOG_DEBUG, __VA_ARGS__)
#define log_info(...) klog(KLOG_INFO, __VA_ARGS__)
#define log_warn(...) klog(KLOG_WARN, __VA_ARGS__)
#define log_error(...) klog(KLOG_ERROR, __VA_ARGS__)

/* ---- small helpers ---- */
/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void kyoka_hex(const unsigned char *in, size_t n, char *out);
/* The value of one hex digit (either case), or -1. */
int kyoka_hexval(char c);
/* Random bytes from the OS (getrandom); aborts on failure. */
void kyoka_random(void *out, size_t n);
/* A new random UUID v4 string (37 bytes incl NUL): unique, not secret
 * (a seeded PRNG, not the OS, so it costs no system call). */
void kyoka_uuid(char out[37]);

#endif
