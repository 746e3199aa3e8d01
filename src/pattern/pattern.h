/*
 * pattern: the Amazon EventBridge event-pattern language, for EventBridge
 * rules (PutRule, TestEventPattern), Lambda event source mapping
 * FilterCriteria (SQS, Kinesis, DynamoDB streams) and Pipes filters.
 *
 * A pattern_set_t holds any number of patterns, each under a caller's
 * uint32_t id, compiled together into one matcher: a trie of conditions
 * over field paths, shared between patterns (see machine.c). Matching an
 * event looks each of the event's leaf values up once per trie state it
 * reaches, so its cost follows how many patterns an event comes close to
 * matching, not how many patterns the set holds.
 *
 * Semantics (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html):
 * AND across fields, OR within a field's array, exact strings, numbers
 * (compared as numbers: 5 matches 5.0), true/false/null, prefix, suffix,
 * equals-ignore-case (and the prefix/suffix ignore-case forms), wildcard,
 * anything-but (values, lists, prefix, suffix, equals-ignore-case,
 * wildcard), numeric ranges, cidr (IPv4 and IPv6), exists, and $or at
 * any level. An event array matches when any of its elements does, and two
 * fields inside objects of one array must come from the same element
 * (AWS's array-consistent matching).
 *
 * Lambda FilterCriteria: the caller builds the event tree it filters, e.g.
 * {"body": <the body parsed as JSON, or the raw body as a JSON string>,
 * "attributes": {...}}. A string body is an ordinary string leaf at
 * "body", so a pattern {"body": [{"prefix": "ERROR"}]} matches plain-text
 * bodies with the string operators, and a pattern on "body.x" never
 * matches a plain-text body, as on AWS.
 *
 * Thread: a set is used by one thread at a time (matching writes scratch
 * state inside the set). Sets share nothing.
 */
#ifndef KYOKA_PATTERN_H
#define KYOKA_PATTERN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* Largest pattern text accepted: EventBridge PutRule's EventPattern, Pipes'
 * Filter.Pattern and Lambda's Filter.Pattern all cap it at 4096 characters
 * (botocore models events, pipes, lambda). */
#define PATTERN_MAX_BYTES 4096

/* A Lambda CreateEventSourceMapping/UpdateEventSourceMapping answers every
 * bad FilterCriteria pattern with this one message (InvalidParameterValueException,
 * "Invalid filter pattern definition."); EventBridge gives
 * "Event pattern is not valid. Reason: <reason>" with the reason that
 * pattern_set_add writes. */
#define PATTERN_LAMBDA_INVALID_MESSAGE "Invalid filter pattern definition."
#define PATTERN_EVENTBRIDGE_PREFIX "Event pattern is not valid. Reason: "

typedef struct pattern_set pattern_set_t;

/* A new empty set (matches nothing). Never NULL; free with pattern_set_free. */
pattern_set_t *pattern_set_new(void);

/* Frees the set and every pattern in it. NULL is fine. */
void pattern_set_free(pattern_set_t *set);

/* Compile the pattern (JSON text of len bytes, need not be NUL-terminated)
 * and add it under id. Several patterns may share one id: the id then
 * matches when any of them does (Lambda's FilterCriteria is a list of
 * filters that OR). On failure nothing is added, and AWS's reason (without
 * the "Event pattern is not valid. Reason: " prefix) is written to err
 * (NUL-terminated, truncated to errcap; err may be NULL):
 *   KYOKA_EPARSE  not JSON, or not an object
 *   KYOKA_EINVAL  a rule AWS rejects ("Empty arrays are not allowed", ...)
 *   KYOKA_ELIMIT  longer than PATTERN_MAX_BYTES, or too many $or combinations
 * The set copies what it needs; json is not kept. */
int pattern_set_add(pattern_set_t *set, const char *json, size_t len, uint32_t id, char *err,
                    size_t errcap) KYOKA_WUR;

/* Remove every pattern added under id. Returns 0, or KYOKA_ENOTFOUND when
 * the set has none. The matcher is rebuilt on the next match (removal is
 * rare next to matching: rules and mappings change seldom). */
int pattern_set_remove(pattern_set_t *set, uint32_t id);

/* Number of patterns in the set (each add counts once). */
size_t pattern_set_count(const pattern_set_t *set);

/* Match an event (a parsed tree; borrowed) against every pattern. Writes the
 * ids that match, each once, in no particular order, to ids[0..cap) and
 * returns how many ids match in all (which may exceed cap; ids may be NULL
 * when cap is 0). A non-object event has no fields: only {} and patterns
 * made of exists:false match it. */
size_t pattern_set_match(pattern_set_t *set, const json_t *event, uint32_t *ids, size_t cap);

/* The same for an event given as JSON text. Text that is not JSON matches
 * nothing and returns 0. */
size_t pattern_set_match_text(pattern_set_t *set, const char *json, size_t len, uint32_t *ids,
                              size_t cap);

/* Check a pattern without keeping it: 0 or an error as pattern_set_add. */
int pattern_validate(const char *json, size_t len, char *err, size_t errcap) KYOKA_WUR;

/* One-shot: does this pattern (NUL-terminated JSON text) match the event?
 * For TestEventPattern, after pattern_validate has accepted the pattern; an
 * invalid pattern matches nothing. */
bool pattern_matches(const char *pattern_json, const json_t *event);

#endif
