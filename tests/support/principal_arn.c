#include "principal_arn.h"

#include <stdio.h>
#include <string.h>

#include "core/banned.h"

void principal_from_arn(iam_principal_t *pr, const char *arn, const char *account, char *username, size_t ucap,
                        char *role_arn, size_t rcap)
{
    memset(pr, 0, sizeof *pr);
    if (strncmp(arn, "arn:", 4) != 0) {
        pr->service = arn;
        pr->type = "AWS";
        return;
    }
    pr->arn = arn;
    pr->account = account;
    iam_arn_t a;
    if (iam_arn_parse(strv_from(arn), &a) != 0)
        return;
    strv_t r = a.resource;
    if (strv_eq_cstr(r, "root")) {
        pr->type = "Account";
        pr->is_root = true;
    } else if (strv_starts_with(r, "user/")) {
        pr->type = "User";
        const char *slash = memrchr(r.p, '/', r.len);
        snprintf(username, ucap, "%.*s", (int)(r.len - (size_t)(slash + 1 - r.p)), slash + 1);
        pr->username = username;
    } else if (strv_starts_with(r, "assumed-role/")) {
        pr->type = "AssumedRole";
        const char *role = r.p + 13;
        const char *slash = memchr(role, '/', r.len - 13);
        int rlen = slash ? (int)(slash - role) : (int)(r.len - 13);
        snprintf(role_arn, rcap, "arn:%.*s:iam::%.*s:role/%.*s", (int)a.partition.len, a.partition.p,
                 (int)a.account.len, a.account.p, rlen, role);
        pr->role_arn = role_arn;
    } else if (strv_starts_with(r, "federated-user/")) {
        pr->type = "FederatedUser";
    } else if (strv_starts_with(r, "role/")) {
        pr->type = "AssumedRole";
        pr->role_arn = arn;
    }
}
