/* The evaluation flowchart, rule by rule, and end-to-end scenarios. */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

#define ROLE_ARN "arn:aws:iam::" ACCT ":role/app"
#define BUCKET_OBJ "arn:aws:s3:::bucket/key"

/* Up to 8 policies per test, freed in teardown. */
static iam_policy_t *owned[8];
static size_t nowned;

static iam_named_policy_t named(const char *name, iam_policy_kind_t kind, const char *doc)
{
    iam_policy_t *p = policy_ok(kind, doc);
    assert_true(nowned < sizeof owned / sizeof owned[0]);
    owned[nowned++] = p;
    return (iam_named_policy_t){name, p};
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < nowned; i++)
        iam_policy_free(owned[i]);
    nowned = 0;
    return 0;
}

static const char *allow_doc(const char *action, const char *resource)
{
    static char doc[8][512];
    static int n;
    char *d = doc[n++ % 8];
    snprintf(d, 512, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"%s\","
                     "\"Resource\":\"%s\"}]}",
             action, resource);
    return d;
}

static const char *deny_doc(const char *action, const char *resource)
{
    static char doc[4][512];
    static int n;
    char *d = doc[n++ % 4];
    snprintf(d, 512, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"No\",\"Effect\":\"Deny\","
                     "\"Action\":\"%s\",\"Resource\":\"%s\"}]}",
             action, resource);
    return d;
}

/* A resource policy granting (or denying) action on resource to one
 * principal element (JSON). */
static const char *res_doc(const char *effect, const char *principal, const char *action, const char *resource)
{
    static char doc[4][1024];
    static int n;
    char *d = doc[n++ % 4];
    snprintf(d, 1024, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"R\",\"Effect\":\"%s\","
                      "\"Principal\":%s,\"Action\":\"%s\",\"Resource\":\"%s\"}]}",
             effect, principal, action, resource);
    return d;
}

static void test_decision_names(void **state)
{
    (void)state;
    assert_string_equal(iam_decision_name(IAM_ALLOW), "allowed");
    assert_string_equal(iam_decision_name(IAM_IMPLICIT_DENY), "implicitDeny");
    assert_string_equal(iam_decision_name(IAM_EXPLICIT_DENY), "explicitDeny");
}

static void test_identity_only(void **state)
{
    (void)state;
    iam_principal_t pr = user_principal("alice");
    iam_request_t req = request("s3:GetObject", BUCKET_OBJ, &pr);
    iam_explain_t ex;
    iam_policy_set_t set = {0};
    /* Nothing applies: implicit deny. */
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    assert_non_null(ex.reason);
    assert_int_equal(ex.nmatches, 0);

    iam_named_policy_t id[] = {named("inline:alice/s3", IAM_POLICY_IDENTITY, allow_doc("s3:Get*", "*")),
                               named("arn:aws:iam::" ACCT ":policy/deny", IAM_POLICY_IDENTITY,
                                     deny_doc("s3:GetObject", "arn:aws:s3:::secret/*"))};
    set.identity = id;
    set.nidentity = 2;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    assert_true(ex.identity_allows);
    assert_true(ex.boundary_allows);
    assert_true(ex.session_allows);
    assert_false(ex.resource_allows);
    assert_int_equal(ex.nmatches, 1);
    assert_string_equal(ex.matches[0].policy_name, "inline:alice/s3");
    assert_string_equal(ex.matches[0].policy_kind, "identity");

    /* Explicit deny wins over the allow. */
    req.resource = "arn:aws:s3:::secret/x";
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_EXPLICIT_DENY);
    assert_int_equal(ex.decision, IAM_EXPLICIT_DENY);
    assert_int_equal(ex.nmatches, 2);
    assert_string_equal(ex.matches[1].sid, "No");
    assert_false(ex.matches[1].effect_allow);
    /* The fast path gives the same answer. */
    assert_int_equal(iam_evaluate(&req, &set, NULL), IAM_EXPLICIT_DENY);
}

static void test_boundary(void **state)
{
    (void)state;
    iam_principal_t pr = user_principal("alice");
    iam_request_t req = request("sqs:SendMessage", "arn:aws:sqs:us-east-1:" ACCT ":q", &pr);
    iam_explain_t ex;
    iam_named_policy_t id[] = {named("id", IAM_POLICY_IDENTITY, allow_doc("sqs:*", "*"))};
    iam_named_policy_t b = named("boundary", IAM_POLICY_IDENTITY, allow_doc("sqs:Receive*", "*"));
    iam_policy_set_t set = {.identity = id, .nidentity = 1, .boundary = &b};
    /* The boundary sets the maximum: the identity allow is not enough. */
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    assert_true(ex.identity_allows);
    assert_false(ex.boundary_allows);
    req.action = "sqs:ReceiveMessage";
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    /* A boundary grants nothing on its own. */
    set.nidentity = 0;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    /* A deny in the boundary is an explicit deny. */
    iam_named_policy_t bd = named("boundary-deny", IAM_POLICY_IDENTITY, deny_doc("sqs:*", "*"));
    set.nidentity = 1;
    set.boundary = &bd;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_EXPLICIT_DENY);
    assert_string_equal(ex.matches[ex.nmatches - 1].policy_kind, "boundary");
}

static void test_session_policies(void **state)
{
    (void)state;
    iam_principal_t pr = role_session("app", "s1");
    iam_request_t req = request("s3:PutObject", BUCKET_OBJ, &pr);
    iam_explain_t ex;
    iam_named_policy_t id[] = {named("id", IAM_POLICY_IDENTITY, allow_doc("s3:*", "*"))};
    iam_named_policy_t sess[] = {named("session", IAM_POLICY_IDENTITY, allow_doc("s3:Get*", "*"))};
    iam_policy_set_t set = {.identity = id, .nidentity = 1, .session = sess, .nsession = 1,
                            .has_session_policies = true};
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    assert_false(ex.session_allows);
    req.action = "s3:GetObject";
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    /* Session policies cannot grant more than the identity policies. */
    set.nidentity = 0;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    /* A role session without session policies is not limited. */
    set.nidentity = 1;
    set.nsession = 0;
    set.has_session_policies = false;
    req.action = "s3:PutObject";
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    /* A federated user session without session policies has no permissions. */
    iam_principal_t fed = {.arn = "arn:aws:sts::" ACCT ":federated-user/bob", .account = ACCT,
                           .type = "FederatedUser"};
    req.principal = &fed;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    assert_false(ex.session_allows);
    /* A deny in a session policy is explicit. */
    iam_named_policy_t sd[] = {named("session-deny", IAM_POLICY_IDENTITY, deny_doc("s3:PutObject", "*"))};
    req.principal = &pr;
    set.session = sd;
    set.nsession = 1;
    set.has_session_policies = true;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_EXPLICIT_DENY);
}

static void test_resource_grants_same_account(void **state)
{
    (void)state;
    iam_explain_t ex;
    iam_principal_t alice = user_principal("alice");
    iam_request_t req = request("s3:GetObject", BUCKET_OBJ, &alice);
    req.resource_account = ACCT;

    /* A user ARN grant decides on its own, past an implicit deny in the
     * boundary. */
    iam_named_policy_t res = named("bucket", IAM_POLICY_RESOURCE,
                                   res_doc("Allow", "{\"AWS\":\"arn:aws:iam::" ACCT ":user/alice\"}", "s3:GetObject",
                                           "arn:aws:s3:::bucket/*"));
    iam_named_policy_t b = named("boundary", IAM_POLICY_IDENTITY, allow_doc("sqs:*", "*"));
    iam_policy_set_t set = {.resource = &res, .boundary = &b};
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    assert_true(ex.resource_allows);
    assert_false(ex.identity_allows);
    assert_false(ex.boundary_allows);
    assert_string_equal(ex.matches[0].policy_kind, "resource");
    assert_string_equal(ex.matches[0].sid, "R");

    /* An account grant only delegates: the identity side must allow. */
    iam_named_policy_t acct = named("bucket-acct", IAM_POLICY_RESOURCE,
                                    res_doc("Allow", "{\"AWS\":\"" ACCT "\"}", "s3:GetObject", "arn:aws:s3:::bucket/*"));
    iam_policy_set_t set2 = {.resource = &acct};
    assert_int_equal(iam_evaluate(&req, &set2, &ex), IAM_IMPLICIT_DENY);
    assert_true(ex.resource_allows);
    iam_named_policy_t id[] = {named("id", IAM_POLICY_IDENTITY, allow_doc("s3:GetObject", "*"))};
    set2.identity = id;
    set2.nidentity = 1;
    assert_int_equal(iam_evaluate(&req, &set2, &ex), IAM_ALLOW);

    /* A role session ARN grant is not limited by session policies. */
    iam_principal_t sess = role_session("app", "s1");
    req.principal = &sess;
    iam_named_policy_t rs = named("bucket-session", IAM_POLICY_RESOURCE,
                                  res_doc("Allow", "{\"AWS\":\"arn:aws:sts::" ACCT ":assumed-role/app/s1\"}",
                                          "s3:GetObject", "arn:aws:s3:::bucket/*"));
    iam_named_policy_t sp[] = {named("session", IAM_POLICY_IDENTITY, allow_doc("sqs:*", "*"))};
    iam_policy_set_t set3 = {.resource = &rs, .session = sp, .nsession = 1, .has_session_policies = true};
    assert_int_equal(iam_evaluate(&req, &set3, &ex), IAM_ALLOW);
    /* ... but it names that session exactly. */
    iam_principal_t other = role_session("app", "s2");
    req.principal = &other;
    assert_int_equal(iam_evaluate(&req, &set3, &ex), IAM_IMPLICIT_DENY);
}

static void test_role_arn_grant_limits(void **state)
{
    (void)state;
    iam_explain_t ex;
    iam_principal_t sess = role_session("app", "s1");
    iam_request_t req = request("s3:GetObject", BUCKET_OBJ, &sess);
    iam_named_policy_t res = named("bucket", IAM_POLICY_RESOURCE,
                                   res_doc("Allow", "{\"AWS\":\"" ROLE_ARN "\"}", "s3:GetObject",
                                           "arn:aws:s3:::bucket/*"));
    iam_policy_set_t set = {.resource = &res};
    /* A role ARN grant applies to every session and needs no identity
     * allow in the same account ... */
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    /* ... but is limited by the role's boundary ... */
    iam_named_policy_t b = named("boundary", IAM_POLICY_IDENTITY, allow_doc("sqs:*", "*"));
    set.boundary = &b;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    set.boundary = NULL;
    /* ... and by session policies. */
    iam_named_policy_t sp[] = {named("session", IAM_POLICY_IDENTITY, allow_doc("sqs:*", "*"))};
    set.session = sp;
    set.nsession = 1;
    set.has_session_policies = true;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    iam_named_policy_t sp2[] = {named("session2", IAM_POLICY_IDENTITY, allow_doc("s3:*", "*"))};
    set.session = sp2;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
}

static void test_anonymous_and_star(void **state)
{
    (void)state;
    iam_explain_t ex;
    iam_request_t req = request("s3:GetObject", BUCKET_OBJ, NULL);
    iam_named_policy_t pub = named("public", IAM_POLICY_RESOURCE,
                                   res_doc("Allow", "\"*\"", "s3:GetObject", "arn:aws:s3:::bucket/*"));
    iam_policy_set_t set = {.resource = &pub};
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    iam_named_policy_t pub2 = named("public2", IAM_POLICY_RESOURCE,
                                    res_doc("Allow", "{\"AWS\":\"*\"}", "s3:GetObject", "arn:aws:s3:::bucket/*"));
    set.resource = &pub2;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    /* Anonymous callers match nothing narrower than "*". */
    iam_named_policy_t acct = named("acct", IAM_POLICY_RESOURCE,
                                    res_doc("Allow", "{\"AWS\":\"" ACCT "\"}", "s3:GetObject", "arn:aws:s3:::bucket/*"));
    set.resource = &acct;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    set.resource = NULL;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    /* "*" also lets a user in without identity policies. */
    iam_principal_t alice = user_principal("alice");
    req.principal = &alice;
    set.resource = &pub;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
}

static void test_resource_deny_and_notprincipal(void **state)
{
    (void)state;
    iam_explain_t ex;
    iam_principal_t alice = user_principal("alice");
    iam_request_t req = request("s3:GetObject", BUCKET_OBJ, &alice);
    iam_named_policy_t id[] = {named("id", IAM_POLICY_IDENTITY, allow_doc("s3:*", "*"))};
    iam_named_policy_t res = named("bucket", IAM_POLICY_RESOURCE,
                                   "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\","
                                   "\"NotPrincipal\":{\"AWS\":\"arn:aws:iam::" ACCT ":user/admin\"},"
                                   "\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::bucket/*\"}]}");
    iam_policy_set_t set = {.identity = id, .nidentity = 1, .resource = &res};
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_EXPLICIT_DENY);
    iam_principal_t admin = {.arn = "arn:aws:iam::" ACCT ":user/admin", .account = ACCT, .type = "User"};
    req.principal = &admin;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    /* NotPrincipal with Deny always denies a principal with a boundary. */
    iam_named_policy_t b = named("boundary", IAM_POLICY_IDENTITY, allow_doc("*", "*"));
    set.boundary = &b;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_EXPLICIT_DENY);
}

static void test_cross_account(void **state)
{
    (void)state;
    iam_explain_t ex;
    iam_principal_t alice = user_principal("alice");
    iam_request_t req = request("sqs:SendMessage", "arn:aws:sqs:us-east-1:" OTHER_ACCT ":q", &alice);
    req.resource_account = OTHER_ACCT;
    iam_named_policy_t id[] = {named("id", IAM_POLICY_IDENTITY, allow_doc("sqs:SendMessage", "*"))};
    iam_named_policy_t res = named("queue", IAM_POLICY_RESOURCE,
                                   res_doc("Allow", "{\"AWS\":\"arn:aws:iam::" ACCT ":user/alice\"}",
                                           "sqs:SendMessage", "arn:aws:sqs:us-east-1:" OTHER_ACCT ":q"));
    /* Identity alone is not enough across accounts. */
    iam_policy_set_t set = {.identity = id, .nidentity = 1};
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    /* The resource policy alone is not enough either, even naming the user. */
    iam_policy_set_t set2 = {.resource = &res};
    assert_int_equal(iam_evaluate(&req, &set2, &ex), IAM_IMPLICIT_DENY);
    /* Both: allowed. */
    iam_policy_set_t set3 = {.identity = id, .nidentity = 1, .resource = &res};
    assert_int_equal(iam_evaluate(&req, &set3, &ex), IAM_ALLOW);
    /* Naming the caller's account works the same way. */
    iam_named_policy_t acct = named("queue-acct", IAM_POLICY_RESOURCE,
                                    res_doc("Allow", "{\"AWS\":\"arn:aws:iam::" ACCT ":root\"}", "sqs:SendMessage",
                                            "*"));
    set3.resource = &acct;
    assert_int_equal(iam_evaluate(&req, &set3, &ex), IAM_ALLOW);
    /* A boundary still limits the caller's side. */
    iam_named_policy_t b = named("boundary", IAM_POLICY_IDENTITY, allow_doc("s3:*", "*"));
    set3.boundary = &b;
    assert_int_equal(iam_evaluate(&req, &set3, &ex), IAM_IMPLICIT_DENY);
}

static void test_root(void **state)
{
    (void)state;
    iam_explain_t ex;
    iam_principal_t root = {.arn = "arn:aws:iam::" ACCT ":root", .account = ACCT, .type = "Account",
                            .is_root = true};
    iam_request_t req = request("s3:DeleteBucket", "arn:aws:s3:::bucket", &root);
    req.resource_account = ACCT;
    iam_policy_set_t set = {0};
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    iam_named_policy_t res = named("bucket", IAM_POLICY_RESOURCE,
                                   res_doc("Deny", "\"*\"", "s3:DeleteBucket", "arn:aws:s3:::bucket"));
    set.resource = &res;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_EXPLICIT_DENY);
    /* Across accounts the root user needs the resource policy. */
    req.resource_account = OTHER_ACCT;
    set.resource = NULL;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    iam_named_policy_t grant = named("grant", IAM_POLICY_RESOURCE,
                                     res_doc("Allow", "{\"AWS\":\"" ACCT "\"}", "s3:*", "*"));
    set.resource = &grant;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
}

static void test_trust_policies(void **state)
{
    (void)state;
    iam_explain_t ex;
    iam_named_policy_t trust = named("trust", IAM_POLICY_TRUST,
                                     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                                     "\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},"
                                     "\"Action\":\"sts:AssumeRole\"}]}");
    iam_principal_t lambda = {.service = "lambda.amazonaws.com", .type = "AWS"};
    iam_request_t req = request("sts:AssumeRole", ROLE_ARN, &lambda);
    req.resource_account = ACCT;
    iam_policy_set_t set = {.resource = &trust};
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    iam_principal_t ec2 = {.service = "ec2.amazonaws.com", .type = "AWS"};
    req.principal = &ec2;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);

    /* A same-account user allowed by identity policy still needs the trust
     * policy to name it. */
    iam_principal_t alice = user_principal("alice");
    req.principal = &alice;
    iam_named_policy_t id[] = {named("id", IAM_POLICY_IDENTITY, allow_doc("sts:AssumeRole", "*"))};
    set.identity = id;
    set.nidentity = 1;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);

    /* Trusting the account delegates to identity policies. */
    iam_named_policy_t acct = named("trust-acct", IAM_POLICY_TRUST,
                                    "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                    "\"Principal\":{\"AWS\":\"arn:aws:iam::" ACCT ":root\"},"
                                    "\"Action\":\"sts:AssumeRole\"}}");
    set.resource = &acct;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    set.nidentity = 0;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);

    /* Trusting the user directly is enough. */
    iam_named_policy_t direct = named("trust-user", IAM_POLICY_TRUST,
                                      "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                      "\"Principal\":{\"AWS\":\"arn:aws:iam::" ACCT ":user/alice\"},"
                                      "\"Action\":\"sts:AssumeRole\"}}");
    set.resource = &direct;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
}

static void test_principal_forms(void **state)
{
    (void)state;
    iam_explain_t ex;
    /* Unique ids name the user (AIDA...) or every session of a role
     * (AROA..., matched without the ":session" suffix). */
    iam_named_policy_t res = named("bucket", IAM_POLICY_RESOURCE,
                                   res_doc("Allow", "{\"AWS\":[\"AIDAEXAMPLEUSER1\",\"AROAEXAMPLEROLE01\"]}",
                                           "s3:GetObject", "*"));
    iam_policy_set_t set = {.resource = &res};
    iam_principal_t alice = user_principal("alice");
    iam_request_t req = request("s3:GetObject", BUCKET_OBJ, &alice);
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    iam_principal_t sess = role_session("app", "s9");
    req.principal = &sess;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);

    /* CloudFront origin access identities. */
    iam_named_policy_t oai = named("oai", IAM_POLICY_RESOURCE,
                                   res_doc("Allow", "{\"AWS\":\"arn:aws:iam::cloudfront:user/CloudFront Origin "
                                                    "Access Identity E2QWRUHAPOMQZL\"}",
                                           "s3:GetObject", "arn:aws:s3:::bucket/*"));
    iam_principal_t cf = {.arn = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHAPOMQZL",
                          .type = "User"};
    req.principal = &cf;
    set.resource = &oai;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);

    /* "*" covers service principals too. */
    iam_named_policy_t pub = named("pub", IAM_POLICY_RESOURCE, res_doc("Allow", "\"*\"", "s3:GetObject", "*"));
    iam_principal_t svc = {.service = "delivery.logs.amazonaws.com", .type = "AWS"};
    req.principal = &svc;
    set.resource = &pub;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);

    /* Federated principals match the identity provider of the request. */
    iam_named_policy_t trust = named("trust", IAM_POLICY_TRUST,
                                     "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                     "\"Principal\":{\"Federated\":\"cognito-identity.amazonaws.com\"},"
                                     "\"Action\":\"sts:AssumeRoleWithWebIdentity\",\"Condition\":{\"StringEquals\":"
                                     "{\"cognito-identity.amazonaws.com:aud\":\"us-east-1:pool\"}}}}");
    static const char *const idp[] = {"cognito-identity.amazonaws.com"}, *const aud[] = {"us-east-1:pool"};
    iam_ctx_value_t ctx[] = {{"aws:FederatedProvider", idp, 1}, {"cognito-identity.amazonaws.com:aud", aud, 1}};
    iam_principal_t web = {.arn = "arn:aws:sts::" ACCT ":assumed-role/web/x", .type = "WebIdentityUser"};
    req = request("sts:AssumeRoleWithWebIdentity", ROLE_ARN, &web);
    req.context = ctx;
    req.ncontext = 2;
    set.resource = &trust;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    req.ncontext = 1;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    assert_int_equal(ex.nmissing, 1);
    assert_string_equal(ex.missing_context[0], "cognito-identity.amazonaws.com:aud");
}

/* --- scenarios --- */

static void test_scenario_lambda_execution_role(void **state)
{
    (void)state;
    iam_explain_t ex;
    const char *basic =
        iam_managed_policy_document("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole");
    assert_non_null(basic);
    iam_named_policy_t id[] = {
        named("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", IAM_POLICY_IDENTITY, basic),
        named("inline:fn-role/send", IAM_POLICY_IDENTITY,
              allow_doc("sqs:SendMessage", "arn:aws:sqs:us-east-1:" ACCT ":orders"))};
    iam_policy_set_t set = {.identity = id, .nidentity = 2};
    iam_principal_t fn = role_session("fn-role", "my-function");
    iam_request_t req = request("sqs:SendMessage", "arn:aws:sqs:us-east-1:" ACCT ":orders", &fn);
    req.resource_account = ACCT;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    assert_string_equal(ex.matches[0].policy_name, "inline:fn-role/send");
    req.resource = "arn:aws:sqs:us-east-1:" ACCT ":other";
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    assert_string_equal(iam_decision_name(ex.decision), "implicitDeny");
    req.action = "logs:PutLogEvents";
    req.resource = "arn:aws:logs:us-east-1:" ACCT ":log-group:/aws/lambda/my-function:log-stream:s";
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    assert_string_equal(ex.matches[0].policy_name,
                        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole");
}

static void test_scenario_bucket_policy_names_role(void **state)
{
    (void)state;
    iam_explain_t ex;
    iam_named_policy_t id[] = {named("inline:app/logs", IAM_POLICY_IDENTITY,
                                     allow_doc("logs:*", "arn:aws:logs:*:*:*"))};
    iam_named_policy_t bucket = named("bucket-policy:bucket", IAM_POLICY_RESOURCE,
                                      res_doc("Allow", "{\"AWS\":\"" ROLE_ARN "\"}", "s3:GetObject",
                                              "arn:aws:s3:::bucket/*"));
    iam_policy_set_t set = {.identity = id, .nidentity = 1, .resource = &bucket};
    iam_principal_t app = role_session("app", "s");
    iam_request_t req = request("s3:GetObject", BUCKET_OBJ, &app);
    req.resource_account = ACCT;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    assert_false(ex.identity_allows);
    assert_true(ex.resource_allows);

    /* The same plus an explicit Deny in the role's policy. */
    iam_named_policy_t id2[] = {id[0], named("inline:app/deny", IAM_POLICY_IDENTITY, deny_doc("s3:*", "*"))};
    set.identity = id2;
    set.nidentity = 2;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_EXPLICIT_DENY);
    assert_string_equal(iam_decision_name(ex.decision), "explicitDeny");

    /* A bucket policy naming another principal. */
    iam_named_policy_t other = named("bucket-policy:other", IAM_POLICY_RESOURCE,
                                     res_doc("Allow", "{\"AWS\":\"arn:aws:iam::" ACCT ":role/someone-else\"}",
                                             "s3:GetObject", "arn:aws:s3:::bucket/*"));
    set.identity = id;
    set.nidentity = 1;
    set.resource = &other;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    assert_false(ex.resource_allows);
}

static void test_scenario_function_policy_for_s3(void **state)
{
    (void)state;
    iam_explain_t ex;
    iam_named_policy_t fnpol = named(
        "function-policy:fn", IAM_POLICY_RESOURCE,
        "{\"Version\":\"2012-10-17\",\"Id\":\"default\",\"Statement\":[{\"Sid\":\"s3invoke\",\"Effect\":\"Allow\","
        "\"Principal\":{\"Service\":\"s3.amazonaws.com\"},\"Action\":\"lambda:InvokeFunction\","
        "\"Resource\":\"arn:aws:lambda:us-east-1:" ACCT ":function:fn\",\"Condition\":{"
        "\"StringEquals\":{\"AWS:SourceAccount\":\"" ACCT "\"},"
        "\"ArnLike\":{\"AWS:SourceArn\":\"arn:aws:s3:::bucket\"}}}]}");
    iam_policy_set_t set = {.resource = &fnpol};
    iam_principal_t s3 = {.service = "s3.amazonaws.com", .type = "AWS"};
    iam_request_t req = request("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:" ACCT ":function:fn", &s3);
    req.resource_account = ACCT;
    static const char *const src_ok[] = {"arn:aws:s3:::bucket"}, *const src_bad[] = {"arn:aws:s3:::other"},
                             *const acct[] = {ACCT};
    iam_ctx_value_t ctx[] = {{"aws:SourceArn", src_ok, 1}, {"aws:SourceAccount", acct, 1}};
    req.context = ctx;
    req.ncontext = 2;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_ALLOW);
    assert_string_equal(ex.matches[0].sid, "s3invoke");
    ctx[0].values = src_bad;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    /* Without the source keys the conditions fail and say why. */
    req.ncontext = 0;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
    assert_true(ex.nmissing >= 1);
    /* Another service principal is not the one named. */
    iam_principal_t sns = {.service = "sns.amazonaws.com", .type = "AWS"};
    req.principal = &sns;
    req.ncontext = 2;
    ctx[0].values = src_ok;
    assert_int_equal(iam_evaluate(&req, &set, &ex), IAM_IMPLICIT_DENY);
}

static void test_policy_evaluate(void **state)
{
    (void)state;
    iam_explain_t ex;
    iam_policy_t *p = policy_ok(IAM_POLICY_IDENTITY,
                                "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
                                "\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"s3:Delete*\",\"Resource\":\"*\"}]}");
    iam_principal_t pr = user_principal("alice");
    iam_request_t req = request("s3:GetObject", "arn:aws:s3:::b/k", &pr);
    assert_int_equal(iam_policy_evaluate(p, "identity", "custom", &req, &ex), IAM_ALLOW);
    assert_true(ex.identity_allows);
    assert_string_equal(ex.matches[0].policy_name, "custom");
    req.action = "s3:DeleteObject";
    assert_int_equal(iam_policy_evaluate(p, "identity", "custom", &req, &ex), IAM_EXPLICIT_DENY);
    req.action = "sqs:SendMessage";
    assert_int_equal(iam_policy_evaluate(p, NULL, "custom", &req, &ex), IAM_IMPLICIT_DENY);
    assert_non_null(ex.reason);
    iam_policy_free(p);
}

int run_evaluate_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_names),
        cmocka_unit_test_teardown(test_identity_only, teardown),
        cmocka_unit_test_teardown(test_boundary, teardown),
        cmocka_unit_test_teardown(test_session_policies, teardown),
        cmocka_unit_test_teardown(test_resource_grants_same_account, teardown),
        cmocka_unit_test_teardown(test_role_arn_grant_limits, teardown),
        cmocka_unit_test_teardown(test_anonymous_and_star, teardown),
        cmocka_unit_test_teardown(test_resource_deny_and_notprincipal, teardown),
        cmocka_unit_test_teardown(test_cross_account, teardown),
        cmocka_unit_test_teardown(test_root, teardown),
        cmocka_unit_test_teardown(test_trust_policies, teardown),
        cmocka_unit_test_teardown(test_principal_forms, teardown),
        cmocka_unit_test_teardown(test_scenario_lambda_execution_role, teardown),
        cmocka_unit_test_teardown(test_scenario_bucket_policy_names_role, teardown),
        cmocka_unit_test_teardown(test_scenario_function_policy_for_s3, teardown),
        cmocka_unit_test(test_policy_evaluate),
    };
    return cmocka_run_group_tests_name("iam_evaluate", tests, NULL, NULL);
}
