/*
 * The REST API data plane: requests to an invoke URL of one of this
 * service's APIs (src/apigw/url.c) are matched against the stage's
 * deployment and answered through the method's integration.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "apigw/apigw.h"
#include "core/banned.h"

/* Claim only ids this service owns: HTTP APIs (apigatewayv2) have
 * 10-character ids of the same form and claim their own. */
bool agw__http_claim(void *state, const http_request_t *req)
{
    agw_state_t *st = state;
    apigw_invoke_url_t u;
    if (!apigw_invoke_url(req, &u) || u.api_id.len == 0 || u.api_id.len > 16)
        return false;
    char id[17];
    memcpy(id, u.api_id.p, u.api_id.len);
    id[u.api_id.len] = '\0';
    return json_object_get(st->apis, id) != NULL;
}

int agw__http_serve(svc_call_t *c)
{
    svc_error(c, "MissingAuthenticationTokenException", 403, "Missing Authentication Token");
    return 0;
}
