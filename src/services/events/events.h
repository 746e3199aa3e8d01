/*
 * What EventBridge shares with EventBridge Scheduler (services/scheduler):
 * schedule expressions and time zones (sched.h), the durable delivery
 * queue (evq.h), and role sessions assumed by a service principal.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_EVENTS_H
#define KYOKA_EVENTS_H

#include "evq.h"
#include "sched.h"

typedef struct events_roles events_roles_t;

/* A cache of role sessions one service principal holds (renewed before
 * they expire). Free with events_roles_free (NULL ok). */
events_roles_t *events_roles_new(const char *service_principal);
void events_roles_free(events_roles_t *r);
void events_roles_clear(events_roles_t *r);

/* The credential of a session of role_arn assumed as the cache's service
 * principal, or NULL when the role does not exist or its trust policy
 * does not let the principal assume it (the trust decision is in the
 * decision log: *decision_id names it, and *why says what failed). The
 * credential belongs to ctx->creds; use it now, do not keep it. */
const auth_cred_t *events_roles_cred(events_roles_t *r, kyoka_ctx_t *ctx, const char *role_arn, const char *region,
                                     const char **decision_id, const char **why);

/* Delivery counters of the EventBridge service's state (for /_kyoka and
 * tests): a new object. */
json_t *events_summary(void *state);

#endif
