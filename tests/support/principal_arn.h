/* A caller described from its ARN, the way kyoka's server describes the
 * callers it authenticates: for the IAM bench and the differential test,
 * which take principals as ARNs. */
#ifndef KYOKA_TEST_PRINCIPAL_ARN_H
#define KYOKA_TEST_PRINCIPAL_ARN_H

#include "iam/iam.h"

/* Fill pr for arn (or an AWS service name without "arn:") in account.
 * Names pr points at that are not in arn itself (the user name, the role
 * behind a session) are written to username and role_arn, which must live
 * as long as pr. */
void principal_from_arn(iam_principal_t *pr, const char *arn, const char *account, char *username, size_t ucap,
                        char *role_arn, size_t rcap);

#endif
