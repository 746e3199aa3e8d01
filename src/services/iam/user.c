/*
 * IAM users and their access keys: GetUser, ListGroupsForUser,
 * CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
 * GetAccessKeyLastUsed. Create, List, Delete, inline and attached policies,
 * boundaries and tags are in entity.c.
 *
 * An access key is registered in the credential store (ctx->creds) as an
 * AUTH_PRINCIPAL_USER credential the moment it is created, so SigV4 accepts
 * it on the next request; Inactive keys stay registered with active = false,
 * which auth refuses; deleting a key removes it. Keys are loaded back into
 * the credential store at start (ops.c).
 *
 * Operations whose UserName is optional act on the calling user
 * (API_GetUser.html: "If you do not specify a user name, IAM determines the
 * user name implicitly based on the Amazon Web Services access key ID used
 * to sign the request").
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

/* The user named by UserName, or the caller when it is absent. */
static iam_entity_t *user_or_caller(svc_call_t *c, bool *is_root)
{
    if (is_root)
        *is_root = false;
    if (svc_in_str(c, "UserName"))
        return iam__ent_input_or_fail(c, IAM_ENT_USER);
    if (c->cred && c->cred->type == AUTH_PRINCIPAL_ROOT && is_root) {
        *is_root = true;
        return NULL;
    }
    iam_entity_t *u = iam__caller_user(c);
    if (!u)
        svc_error(c, "ValidationError", 400, "Must specify userName when calling with non-User credentials");
    return u;
}

void iam__akey_register(iam_state_t *st, const iam_entity_t *u, const iam_akey_t *k)
{
    auth_cred_t cred = {
        .access_key_id = (char *)k->akid,
        .secret_access_key = k->secret,
        .account_id = (char *)st->account,
        .principal_arn = u->arn,
        .user_id = u->id,
        .type = AUTH_PRINCIPAL_USER,
        .active = k->active,
    };
    auth_store_put(st->ctx->creds, &cred);
}

static json_t *akey_json(const iam_entity_t *u, const iam_akey_t *k)
{
    return json_pack("{s:s,s:s,s:s,s:I}", "UserName", u->name, "AccessKeyId", k->akid, "Status",
                     k->active ? "Active" : "Inactive", "CreateDate", (json_int_t)(k->created_ms / 1000));
}

static json_t *akey_item(svc_call_t *c, const void *items, size_t i)
{
    (void)c;
    const iam_entity_t *u = items;
    return akey_json(u, &u->keys[i]);
}

/* The key that AccessKeyId names, of the user UserName names (or the
 * caller); *user gets the user. */
static iam_akey_t *akey_of_input_or_fail(svc_call_t *c, iam_entity_t **user)
{
    iam_entity_t *u = *user = user_or_caller(c, NULL);
    if (!u)
        return NULL;
    const char *akid = svc_in_str(c, "AccessKeyId");
    for (size_t i = 0; akid && i < u->nkeys; i++)
        if (strcmp(u->keys[i].akid, akid) == 0)
            return &u->keys[i];
    svc_error(c, "NoSuchEntityException", 0, "The Access Key with id %s cannot be found.", akid ? akid : "");
    return NULL;
}

/* ==== operation handlers ==== */

int iam_get_user(svc_call_t *c)
{
    bool root;
    iam_entity_t *u = user_or_caller(c, &root);
    if (root) {
        /* The account root answers GetUser as itself. */
        json_object_set_new(svc_output(c), "User",
                            json_pack("{s:s,s:s,s:s,s:I}", "Path", "/", "UserId", c->cred->account_id, "Arn",
                                      c->cred->principal_arn, "CreateDate", (json_int_t)0));
        return 0;
    }
    if (u)
        json_object_set_new(svc_output(c), "User", iam__entity_json(u, c->arena, true));
    return 0;
}

int iam_list_groups_for_user(svc_call_t *c)
{
    iam_entity_t *u = iam__ent_input_or_fail(c, IAM_ENT_USER);
    return u ? iam__list_page(c, "Groups", u->nlinks, iam__entity_item, u->links) : 0;
}

int iam_create_access_key(svc_call_t *c)
{
    iam_state_t *st = c->state;
    iam_entity_t *u = user_or_caller(c, NULL);
    if (!u)
        return 0;
    if (u->nkeys >= IAM_MAX_ACCESS_KEYS) {
        svc_error(c, "LimitExceededException", 0, "Cannot exceed quota for AccessKeysPerUser: %d",
                  IAM_MAX_ACCESS_KEYS);
        return 0;
    }
    iam_akey_t k = {.active = true, .created_ms = kyoka_clock_now_ms()};
    char secret[41];
    /* AKIA + 16 characters: 20 in all, like AWS's long-term key ids. */
    iam__gen_id(k.akid, "AKIA", 16);
    iam__gen_secret(secret);
    k.secret = secret;
    if (iam__db_akey_save(st, u, &k) != 0)
        return iam__store_failed(c);
    k.secret = xstrdup(secret);
    u->keys[u->nkeys++] = k;
    iam__akey_register(st, u, &k);
    json_t *key = akey_json(u, &k);
    json_object_set_new(key, "SecretAccessKey", json_string(secret));
    json_object_set_new(svc_output(c), "AccessKey", key);
    return 0;
}

int iam_list_access_keys(svc_call_t *c)
{
    bool root;
    iam_entity_t *u = user_or_caller(c, &root);
    if (!u && !root)
        return 0;
    /* The account root has no IAM access keys to list. */
    return iam__list_page(c, "AccessKeyMetadata", u ? u->nkeys : 0, akey_item, u);
}

int iam_update_access_key(svc_call_t *c)
{
    iam_state_t *st = c->state;
    const char *status = svc_in_str(c, "Status");
    bool active = status && strcmp(status, "Active") == 0;
    if (!status || (!active && strcmp(status, "Inactive") != 0)) {
        iam_vcheck_t v;
        iam__v_init(&v, c);
        iam__v_fail(&v, "status", status, "Member must satisfy enum value set: [Active, Inactive]");
        iam__v_done(&v);
        return 0;
    }
    iam_entity_t *u;
    iam_akey_t *k = akey_of_input_or_fail(c, &u);
    if (!k)
        return 0;
    bool was = k->active;
    k->active = active;
    if (iam__db_akey_save(st, u, k) != 0) {
        k->active = was;
        return iam__store_failed(c);
    }
    auth_cred_t *cred = auth_store_lookup(st->ctx->creds, strv_from(k->akid));
    if (cred)
        cred->active = active;
    else
        iam__akey_register(st, u, k);
    return 0;
}

int iam_delete_access_key(svc_call_t *c)
{
    iam_state_t *st = c->state;
    iam_entity_t *u;
    iam_akey_t *k = akey_of_input_or_fail(c, &u);
    if (!k)
        return 0;
    if (iam__db_akey_delete(st, k->akid) != 0)
        return iam__store_failed(c);
    auth_store_remove(st->ctx->creds, strv_from(k->akid));
    free(k->secret);
    size_t i = (size_t)(k - u->keys);
    memmove(u->keys + i, u->keys + i + 1, (u->nkeys - i - 1) * sizeof *u->keys);
    u->nkeys--;
    return 0;
}

int iam_get_access_key_last_used(svc_call_t *c)
{
    iam_state_t *st = c->state;
    const char *akid = svc_in_str(c, "AccessKeyId");
    iam_vec_t *users = &st->ents[IAM_ENT_USER];
    for (size_t i = 0; i < users->n; i++) {
        iam_entity_t *u = users->v[i];
        for (size_t j = 0; j < u->nkeys; j++) {
            if (akid && strcmp(u->keys[j].akid, akid) == 0) {
                /* kyoka does not track last use: "N/A" is what IAM says for
                 * a key that has not been used. */
                json_t *out = svc_output(c);
                json_object_set_new(out, "UserName", json_string(u->name));
                json_object_set_new(out, "AccessKeyLastUsed",
                                    json_pack("{s:s,s:s}", "ServiceName", "N/A", "Region", "N/A"));
                return 0;
            }
        }
    }
    svc_error(c, "NoSuchEntityException", 0, "The Access Key with id %s cannot be found.", akid ? akid : "");
    return 0;
}
