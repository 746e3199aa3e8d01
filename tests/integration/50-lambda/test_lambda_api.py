"""Lambda's control plane through boto3: functions, code, configuration,
versions, aliases, resource policies, concurrency, tags, layers, account
settings, and the IAM checks around them (iam:PassRole, identity and
resource policies). Every assertion is a behaviour a user of AWS Lambda sees:
error codes, messages and statuses as AWS documents or returns them, and
that a refused request changed nothing.

Run by hand with
    KYOKA_BIN=build-it/kyoka PYTHONPATH=tests/integration \
        python3 tests/integration/50-lambda/test_lambda_api.py -v
"""
import hashlib
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import botocore.exceptions  # noqa: E402

import harness  # noqa: E402
from harness import ACCOUNT, REGION  # noqa: E402
from lambdatest import (LambdaTestCase, PY_ECHO, TRUST_EC2, fn_arn, http_get, make_zip, node_zip,  # noqa: E402
                        py_zip, sha256_b64)

ClientError = botocore.exceptions.ClientError


class Functions(LambdaTestCase):
    def test_create_answers_pending_then_active_with_aws_defaults(self):
        code = py_zip(PY_ECHO)
        out = self.create("defaults", code=code, wait=False)
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 201)
        self.assertEqual(out["State"], "Pending")
        self.assertEqual(out["StateReason"], "The function is being created.")
        self.assertEqual(out["StateReasonCode"], "Creating")
        self.assertEqual(out["FunctionName"], "defaults")
        self.assertEqual(out["FunctionArn"], fn_arn("defaults"))
        self.assertEqual(out["Version"], "$LATEST")
        self.assertEqual(out["Role"], self.role_arn)
        self.assertEqual(out["CodeSha256"], sha256_b64(code))
        self.assertEqual(out["CodeSize"], len(code))
        self.assertRegex(out["RevisionId"], r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        self.assertEqual(out["Timeout"], 3)
        self.assertEqual(out["MemorySize"], 128)
        self.assertEqual(out["PackageType"], "Zip")
        self.assertEqual(out["Architectures"], ["x86_64"])
        self.assertEqual(out["EphemeralStorage"], {"Size": 512})
        self.assertEqual(out["TracingConfig"], {"Mode": "PassThrough"})
        self.assertEqual(out["Description"], "")
        self.assertRegex(out["LastModified"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
        cfg = self.wait_active("defaults")
        self.assertEqual(cfg["State"], "Active")
        self.assertNotIn("StateReasonCode", cfg)
        self.assertEqual(cfg["CodeSha256"], out["CodeSha256"])
        self.assertEqual(cfg["RevisionId"], out["RevisionId"])

    def test_logging_config_defaults_to_text_in_the_functions_log_group(self):
        # AWS returns LoggingConfig for every function since advanced logging
        # controls: LogFormat Text and the default group /aws/lambda/NAME
        # (https://docs.aws.amazon.com/lambda/latest/api/API_LoggingConfig.html).
        # Debian's botocore predates the member and drops it when parsing, so
        # the raw response bodies are read.
        bodies = []
        self.lam.meta.events.register(
            "after-call.lambda.*", lambda http_response, **kw: bodies.append(json.loads(http_response.content or b"{}")))
        self.create("logs", wait=False)
        self.assertEqual(bodies[-1].get("LoggingConfig"), {"LogFormat": "Text", "LogGroup": "/aws/lambda/logs"})
        self.lam.get_function_configuration(FunctionName="logs")
        self.assertEqual(bodies[-1].get("LoggingConfig"), {"LogFormat": "Text", "LogGroup": "/aws/lambda/logs"})

    def test_create_with_every_setting_and_get_function_downloads_the_same_zip(self):
        code = py_zip(PY_ECHO, extra={"data/blob.bin": os.urandom(2048)})
        self.create("full", code=code, Description="all of it", Timeout=30, MemorySize=512,
                    Environment={"Variables": {"STAGE": "test", "NUM": "1"}}, Tags={"team": "core"},
                    EphemeralStorage={"Size": 1024}, Architectures=["x86_64"])
        got = self.lam.get_function(FunctionName="full")
        cfg = got["Configuration"]
        self.assertEqual(cfg["Description"], "all of it")
        self.assertEqual(cfg["Timeout"], 30)
        self.assertEqual(cfg["MemorySize"], 512)
        self.assertEqual(cfg["Environment"], {"Variables": {"STAGE": "test", "NUM": "1"}})
        self.assertEqual(cfg["EphemeralStorage"], {"Size": 1024})
        self.assertEqual(got["Tags"], {"team": "core"})
        self.assertEqual(got["Code"]["RepositoryType"], "S3")
        status, body = http_get(got["Code"]["Location"])
        self.assertEqual(status, 200)
        self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(code).digest())
        self.assertEqual(body, code)
        plain = self.lam.get_function_configuration(FunctionName="full")
        plain.pop("ResponseMetadata")
        self.assertEqual(plain, cfg)
        # A function is named by name, by ARN or by partial ARN alike.
        for ref in (fn_arn("full"), "%s:function:full" % ACCOUNT):
            self.assertEqual(self.lam.get_function_configuration(FunctionName=ref)["FunctionArn"], fn_arn("full"))

    def test_duplicate_name_is_a_conflict_and_keeps_the_first(self):
        first = self.create("dup")
        with self.assertRaises(ClientError) as ctx:
            self.create("dup", code=py_zip("def handler(e, c):\n    return 2\n"), wait=False, Timeout=9)
        self.assertClientError(ctx, "ResourceConflictException", "Function already exist: dup", 409)
        cfg = self.lam.get_function_configuration(FunctionName="dup")
        self.assertEqual(cfg["CodeSha256"], first["CodeSha256"])
        self.assertEqual(cfg["Timeout"], 3)

    def test_missing_function_and_unknown_qualifier_are_not_found(self):
        self.create("here")
        cases = [("nothere", None, fn_arn("nothere")), ("here", "nope", fn_arn("here", "nope")),
                 ("here", "7", fn_arn("here", "7"))]
        for name, q, arn in cases:
            kw = {"Qualifier": q} if q else {}
            for call in (self.lam.get_function, self.lam.get_function_configuration):
                with self.assertRaises(ClientError) as ctx:
                    call(FunctionName=name, **kw)
                self.assertClientError(ctx, "ResourceNotFoundException", "Function not found: " + arn, 404)
        with self.assertRaises(ClientError) as ctx:
            self.invoke("here", Qualifier="nope")
        self.assertClientError(ctx, "ResourceNotFoundException", "Function not found: " + fn_arn("here", "nope"), 404)

    def test_list_functions_pages_with_max_items_and_lists_versions_with_all(self):
        names = ["fn-%02d" % i for i in range(5)]
        for n in names:
            self.create(n, wait=False)
        for n in names:
            self.wait_active(n)
        self.lam.publish_version(FunctionName="fn-00")
        seen, marker, pages = [], None, 0
        while True:
            kw = {"Marker": marker} if marker else {}
            page = self.lam.list_functions(MaxItems=2, **kw)
            pages += 1
            self.assertLessEqual(len(page["Functions"]), 2)
            seen += [f["FunctionName"] for f in page["Functions"]]
            marker = page.get("NextMarker")
            if not marker:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(sorted(seen), names)
        # Without FunctionVersion only $LATEST of each function is listed.
        everything = self.lam.list_functions()["Functions"]
        self.assertEqual(sorted(f["FunctionName"] for f in everything), names)
        self.assertEqual({f["Version"] for f in everything}, {"$LATEST"})
        listed = self.lam.list_functions(FunctionVersion="ALL")["Functions"]
        self.assertEqual(sorted((f["FunctionName"], f["Version"]) for f in listed),
                         sorted([(n, "$LATEST") for n in names] + [("fn-00", "1")]))
        one = [f for f in listed if f["Version"] == "1"][0]
        self.assertEqual(one["FunctionArn"], fn_arn("fn-00", "1"))

    def test_update_code_changes_sha_and_dry_run_changes_nothing(self):
        first = self.create("code")
        new = py_zip("def handler(e, c):\n    return 'v2'\n")
        dry = self.lam.update_function_code(FunctionName="code", ZipFile=new, DryRun=True)
        self.assertEqual(dry["ResponseMetadata"]["HTTPStatusCode"], 200)
        cfg = self.lam.get_function_configuration(FunctionName="code")
        self.assertEqual(cfg["CodeSha256"], first["CodeSha256"])
        self.assertEqual(cfg["RevisionId"], first["RevisionId"])
        self.assertEqual(self.invoke("code", {"k": 1})[1]["event"], {"k": 1})
        out = self.lam.update_function_code(FunctionName="code", ZipFile=new)
        self.assertEqual(out["CodeSha256"], sha256_b64(new))
        self.assertEqual(out["CodeSize"], len(new))
        self.assertNotEqual(out["RevisionId"], first["RevisionId"])
        self.wait_active("code")
        self.assertEqual(self.invoke("code")[1], "v2")
        self.assertEqual([v["Version"] for v in self.lam.list_versions_by_function(FunctionName="code")["Versions"]],
                         ["$LATEST"])
        # Publish=True makes a version of the new code.
        newer = py_zip("def handler(e, c):\n    return 'v3'\n")
        self.lam.update_function_code(FunctionName="code", ZipFile=newer, Publish=True)
        self.wait_active("code")
        versions = self.lam.list_versions_by_function(FunctionName="code")["Versions"]
        self.assertEqual([v["Version"] for v in versions], ["$LATEST", "1"])
        self.assertEqual(versions[1]["CodeSha256"], sha256_b64(newer))
        self.assertEqual(self.invoke("code", Qualifier="1")[1], "v3")

    def test_update_code_with_a_bad_zip_is_refused_and_keeps_the_old_code(self):
        first = self.create("keep")
        with self.assertRaises(ClientError) as ctx:
            self.lam.update_function_code(FunctionName="keep", ZipFile=b"not a zip at all")
        self.assertClientError(ctx, "InvalidParameterValueException",
                               "Could not unzip uploaded file. Please check your file, then try to upload again.", 400)
        self.assertEqual(self.lam.get_function_configuration(FunctionName="keep")["CodeSha256"], first["CodeSha256"])

    def test_update_configuration_env_timeout_memory(self):
        first = self.create("conf", Environment={"Variables": {"AA": "1"}})
        out = self.lam.update_function_configuration(
            FunctionName="conf", Timeout=10, MemorySize=256, Description="tuned",
            Environment={"Variables": {"BB": "2", "CC": "3"}})
        self.assertEqual(out["Timeout"], 10)
        self.assertEqual(out["MemorySize"], 256)
        self.assertNotEqual(out["RevisionId"], first["RevisionId"])
        cfg = self.wait_active("conf")
        self.assertEqual(cfg["Environment"], {"Variables": {"BB": "2", "CC": "3"}})
        self.assertEqual(cfg["Description"], "tuned")
        self.assertEqual(cfg["CodeSha256"], first["CodeSha256"])
        # An update whose RevisionId is stale is refused.
        with self.assertRaises(ClientError) as ctx:
            self.lam.update_function_configuration(FunctionName="conf", Timeout=20, RevisionId=first["RevisionId"])
        self.assertClientError(ctx, "PreconditionFailedException", status=412)
        self.assertEqual(self.lam.get_function_configuration(FunctionName="conf")["Timeout"], 10)
        # The running function sees the new variables.
        code = py_zip("import os\ndef handler(e, c):\n    return [os.environ.get(k) for k in ('AA', 'BB', 'CC')]\n")
        self.lam.update_function_code(FunctionName="conf", ZipFile=code)
        self.wait_active("conf")
        self.assertEqual(self.invoke("conf")[1], [None, "2", "3"])

    def test_refused_configuration_updates_change_nothing(self):
        first = self.create("steady", Environment={"Variables": {"KEEP": "1"}})
        raw = self.kyoka.client("lambda", parameter_validation=False)
        with self.assertRaises(ClientError) as ctx:
            self.lam.update_function_configuration(FunctionName="steady",
                                                   Environment={"Variables": {"AWS_REGION": "x"}})
        self.assertClientError(ctx, "InvalidParameterValueException", status=400)
        with self.assertRaises(ClientError) as ctx:
            raw.update_function_configuration(FunctionName="steady", Timeout=901)
        self.assertClientError(ctx, "ValidationException", status=400)
        with self.assertRaises(ClientError) as ctx:
            self.lam.update_function_configuration(FunctionName="steady", Runtime="python2.7")
        self.assertClientError(ctx, "InvalidParameterValueException", status=400)
        with self.assertRaises(ClientError) as ctx:
            self.lam.update_function_configuration(FunctionName="steady",
                                                   Role="arn:aws:iam::%s:role/no-such-role" % ACCOUNT)
        self.assertClientError(ctx, "InvalidParameterValueException",
                               "The role defined for the function cannot be assumed by Lambda.", 400)
        cfg = self.lam.get_function_configuration(FunctionName="steady")
        self.assertEqual(cfg["Environment"], {"Variables": {"KEEP": "1"}})
        self.assertEqual(cfg["Timeout"], 3)
        self.assertEqual(cfg["Runtime"], "python3.12")
        self.assertEqual(cfg["Role"], self.role_arn)
        self.assertEqual(cfg["RevisionId"], first["RevisionId"])

    def test_delete_function_and_delete_one_version(self):
        self.create("gone")
        self.lam.publish_version(FunctionName="gone")
        self.lam.update_function_configuration(FunctionName="gone", Timeout=5)
        self.wait_active("gone")
        self.lam.publish_version(FunctionName="gone")
        with self.assertRaises(ClientError) as ctx:
            self.lam.delete_function(FunctionName="gone", Qualifier="$LATEST")
        self.assertClientError(ctx, "InvalidParameterValueException",
                               "$LATEST version cannot be deleted without deleting the function.", 400)
        out = self.lam.delete_function(FunctionName="gone", Qualifier="1")
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual([v["Version"] for v in self.lam.list_versions_by_function(FunctionName="gone")["Versions"]],
                         ["$LATEST", "2"])
        with self.assertRaises(ClientError) as ctx:
            self.lam.get_function(FunctionName="gone", Qualifier="1")
        self.assertClientError(ctx, "ResourceNotFoundException", status=404)
        self.assertEqual(self.lam.get_function(FunctionName="gone", Qualifier="2")["Configuration"]["Timeout"], 5)
        # Version numbers are never reused.
        self.lam.update_function_configuration(FunctionName="gone", Timeout=6)
        self.wait_active("gone")
        self.assertEqual(self.lam.publish_version(FunctionName="gone")["Version"], "3")
        self.lam.delete_function(FunctionName="gone")
        with self.assertRaises(ClientError) as ctx:
            self.lam.get_function(FunctionName="gone")
        self.assertClientError(ctx, "ResourceNotFoundException", "Function not found: " + fn_arn("gone"), 404)
        self.assertEqual(self.lam.list_functions(FunctionVersion="ALL")["Functions"], [])
        with self.assertRaises(ClientError) as ctx:
            self.lam.delete_function(FunctionName="gone")
        self.assertClientError(ctx, "ResourceNotFoundException", status=404)

    def test_functions_are_regional(self):
        west = self.kyoka.client("lambda", region="eu-west-1")
        self.create("regional")
        with self.assertRaises(ClientError) as ctx:
            west.get_function(FunctionName="regional")
        self.assertClientError(ctx, "ResourceNotFoundException", status=404)
        west.create_function(FunctionName="regional", Runtime="python3.12", Handler="index.handler",
                             Role=self.role_arn, Code={"ZipFile": py_zip(PY_ECHO)})
        self.assertEqual(west.get_function_configuration(FunctionName="regional")["FunctionArn"],
                         fn_arn("regional", region="eu-west-1"))
        self.assertEqual(len(self.lam.list_functions()["Functions"]), 1)


class BadInput(LambdaTestCase):
    """Each refused CreateFunction leaves no function behind."""

    def refused(self, name, code, message=None, status=400, client=None, **kw):
        params = dict(FunctionName=name, Runtime="python3.12", Handler="index.handler", Role=self.role_arn,
                      Code={"ZipFile": py_zip(PY_ECHO)})
        params.update(kw)
        params = {k: v for k, v in params.items() if v is not None}
        with self.assertRaises(ClientError) as ctx:
            (client or self.lam).create_function(**params)
        resp = self.assertClientError(ctx, code, message, status)
        self.assertEqual(self.lam.list_functions(FunctionVersion="ALL")["Functions"], [])
        return resp["Error"]["Message"]

    def test_bad_names(self):
        msg = self.refused("bad name!", "ValidationException")
        self.assertTrue(msg.startswith("1 validation error detected: Value 'bad name!' at 'functionName' failed to "
                                       "satisfy constraint: Member must satisfy regular expression pattern: "), msg)
        msg = self.refused("x" * 65, "ValidationException")
        self.assertIn("at 'functionName' failed to satisfy constraint", msg)

    def test_memory_bounds(self):
        raw = self.kyoka.client("lambda", parameter_validation=False)
        self.refused("m", "ValidationException",
                     "1 validation error detected: Value '64' at 'memorySize' failed to satisfy constraint: "
                     "Member must have value greater than or equal to 128", client=raw, MemorySize=64)
        self.refused("m", "ValidationException",
                     "1 validation error detected: Value '20000' at 'memorySize' failed to satisfy constraint: "
                     "Member must have value less than or equal to 10240", client=raw, MemorySize=20000)

    def test_timeout_bounds(self):
        raw = self.kyoka.client("lambda", parameter_validation=False)
        self.refused("t", "ValidationException",
                     "1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: "
                     "Member must have value greater than or equal to 1", client=raw, Timeout=0)
        self.refused("t", "ValidationException",
                     "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: "
                     "Member must have value less than or equal to 900", client=raw, Timeout=901)

    def test_environment_over_4kb(self):
        # AWS quotes the variables as JSON after "String measured: ".
        variables = {"BIG": "x" * 5000}
        msg = self.refused("e", "InvalidParameterValueException", Environment={"Variables": variables})
        prefix = ("Lambda was unable to configure your environment variables because the environment variables you "
                  "have provided exceeded the 4KB limit. String measured: ")
        self.assertTrue(msg.startswith(prefix), msg)
        self.assertEqual(json.loads(msg[len(prefix):]), variables)

    def test_environment_over_4kb_is_refused(self):
        msg = self.refused("e", "InvalidParameterValueException", Environment={"Variables": {"BIG": "x" * 5000}})
        self.assertTrue(msg.startswith(
            "Lambda was unable to configure your environment variables because the environment variables you have "
            "provided exceeded the 4KB limit. String measured: "), msg)

    def test_reserved_environment_key(self):
        self.refused("e", "InvalidParameterValueException",
                     "Lambda was unable to configure your environment variables because the environment variables "
                     "you have provided contains reserved keys that are currently not supported for modification. "
                     "Reserved keys used in this request: AWS_REGION",
                     Environment={"Variables": {"AWS_REGION": "eu-west-1", "OK": "1"}})

    def test_not_a_zip_and_a_zip_escaping_its_root(self):
        unzip = "Could not unzip uploaded file. Please check your file, then try to upload again."
        self.refused("z", "InvalidParameterValueException", unzip, Code={"ZipFile": b"PK\x03\x04 but no zip"})
        # AWS documents no answer for an entry that climbs out of the root;
        # refusing it as an unusable package is what matters.
        evil = make_zip({"index.py": PY_ECHO, "../../escape.py": "x = 1"})
        self.refused("z", "InvalidParameterValueException", Code={"ZipFile": evil})
        # Nothing was written outside the code directory of the data dir either.
        self.assertFalse(any("escape.py" in files for _, _, files in os.walk(self.kyoka.data_dir)))

    def test_unknown_runtime(self):
        msg = self.refused("r", "ValidationException", Runtime="python9.9")
        self.assertTrue(msg.startswith("1 validation error detected: Value 'python9.9' at 'runtime' failed to "
                                       "satisfy constraint: Member must satisfy enum value set: ["), msg)

    def test_deprecated_runtime_recommends_the_new_runtime(self):
        msg = self.refused("r", "InvalidParameterValueException", Runtime="python2.7")
        self.assertRegex(msg, r"^The runtime parameter of python2\.7 is no longer supported for creating or updating "
                              r"AWS Lambda functions\. We recommend you use the new runtime \(python3\.\d+\) while "
                              r"creating or updating functions\.$")

    def test_deprecated_runtime_is_refused(self):
        msg = self.refused("r", "InvalidParameterValueException", Runtime="python2.7")
        self.assertTrue(msg.startswith("The runtime parameter of python2.7 is no longer supported for creating or "
                                       "updating AWS Lambda functions."), msg)

    def test_image_package_type_is_refused(self):
        self.refused("img", "InvalidParameterValueException", PackageType="Image", Runtime=None, Handler=None,
                     Code={"ImageUri": "%s.dkr.ecr.us-east-1.amazonaws.com/app:latest" % ACCOUNT})

    def test_missing_role_handler_and_code(self):
        raw = self.kyoka.client("lambda", parameter_validation=False)
        self.refused("n", "ValidationException",
                     "1 validation error detected: Value null at 'role' failed to satisfy constraint: "
                     "Member must not be null", client=raw, Role=None)
        self.refused("n", "InvalidParameterValueException",
                     "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
                     Handler=None)

    def test_roles_lambda_cannot_assume(self):
        msg = "The role defined for the function cannot be assumed by Lambda."
        ec2 = self.make_role("ec2-only", trust=TRUST_EC2)
        self.refused("role", "InvalidParameterValueException", msg, Role=ec2)
        self.refused("role", "InvalidParameterValueException", msg,
                     Role="arn:aws:iam::%s:role/does-not-exist" % ACCOUNT)


class Versions(LambdaTestCase):
    def test_publish_version_checks_sha_and_revision_and_is_idempotent(self):
        first = self.create("pub")
        with self.assertRaises(ClientError) as ctx:
            self.lam.publish_version(FunctionName="pub", CodeSha256="bm90IHRoZSBzaGE=")
        self.assertClientError(
            ctx, "InvalidParameterValueException",
            "CodeSHA256 (bm90IHRoZSBzaGE=) is different from current CodeSHA256 in $LATEST (%s). Please try again "
            "with the CodeSHA256 in $LATEST." % first["CodeSha256"], 400)
        with self.assertRaises(ClientError) as ctx:
            self.lam.publish_version(FunctionName="pub", RevisionId="00000000-0000-0000-0000-000000000000")
        self.assertClientError(
            ctx, "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to "
            "retrieve the latest Revision Id", 412)
        self.assertEqual([v["Version"] for v in self.lam.list_versions_by_function(FunctionName="pub")["Versions"]],
                         ["$LATEST"])
        v1 = self.lam.publish_version(FunctionName="pub", CodeSha256=first["CodeSha256"],
                                      RevisionId=first["RevisionId"], Description="first")
        self.assertEqual(v1["ResponseMetadata"]["HTTPStatusCode"], 201)
        self.assertEqual(v1["Version"], "1")
        self.assertEqual(v1["FunctionArn"], fn_arn("pub", "1"))
        self.assertEqual(v1["Description"], "first")
        self.assertEqual(v1["CodeSha256"], first["CodeSha256"])
        # Nothing changed since version 1: publishing again returns it.
        again = self.lam.publish_version(FunctionName="pub")
        self.assertEqual(again["Version"], "1")
        self.lam.update_function_configuration(FunctionName="pub", MemorySize=256)
        self.wait_active("pub")
        v2 = self.lam.publish_version(FunctionName="pub")
        self.assertEqual(v2["Version"], "2")
        self.assertEqual(v2["MemorySize"], 256)
        versions = self.lam.list_versions_by_function(FunctionName="pub")["Versions"]
        self.assertEqual([(v["Version"], v["MemorySize"]) for v in versions],
                         [("$LATEST", 256), ("1", 128), ("2", 256)])
        # A version's configuration is frozen.
        self.assertEqual(self.lam.get_function_configuration(FunctionName="pub", Qualifier="1")["MemorySize"], 128)
        page = self.lam.list_versions_by_function(FunctionName="pub", MaxItems=2)
        self.assertEqual(len(page["Versions"]), 2)
        rest = self.lam.list_versions_by_function(FunctionName="pub", Marker=page["NextMarker"])
        self.assertEqual([v["Version"] for v in page["Versions"] + rest["Versions"]], ["$LATEST", "1", "2"])

    def test_create_with_publish_makes_version_one(self):
        out = self.create("pub1", Publish=True, wait=False)
        self.assertEqual(out["Version"], "1")
        self.wait_active("pub1")
        self.assertEqual([v["Version"] for v in self.lam.list_versions_by_function(FunctionName="pub1")["Versions"]],
                         ["$LATEST", "1"])

    def test_list_versions_names_latest_with_its_qualified_arn(self):
        # AWS's list-versions-by-function example: the $LATEST entry's
        # FunctionArn ends in :$LATEST, each version's in :N.
        self.create("lv", Publish=True)
        versions = self.lam.list_versions_by_function(FunctionName="lv")["Versions"]
        self.assertEqual([v["FunctionArn"] for v in versions], [fn_arn("lv", "$LATEST"), fn_arn("lv", "1")])

    def test_aliases_crud_and_routing_config(self):
        self.create("al")
        self.lam.publish_version(FunctionName="al")
        self.lam.update_function_configuration(FunctionName="al", Timeout=7)
        self.wait_active("al")
        self.lam.publish_version(FunctionName="al")
        out = self.lam.create_alias(FunctionName="al", Name="live", FunctionVersion="1", Description="prod",
                                    RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}})
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 201)
        self.assertEqual(out["AliasArn"], fn_arn("al", "live"))
        self.assertEqual(out["FunctionVersion"], "1")
        self.assertEqual(out["RoutingConfig"], {"AdditionalVersionWeights": {"2": 0.25}})
        with self.assertRaises(ClientError) as ctx:
            self.lam.create_alias(FunctionName="al", Name="live", FunctionVersion="2")
        self.assertClientError(ctx, "ResourceConflictException",
                               "Alias already exists: " + fn_arn("al", "live"), 409)
        with self.assertRaises(ClientError) as ctx:
            self.lam.create_alias(FunctionName="al", Name="ghost", FunctionVersion="9")
        self.assertClientError(ctx, "ResourceNotFoundException", status=404)
        got = self.lam.get_alias(FunctionName="al", Name="live")
        self.assertEqual(got["RevisionId"], out["RevisionId"])
        self.assertEqual(got["Description"], "prod")
        # Aliases qualify calls: the configuration behind live is version 1.
        self.assertEqual(self.lam.get_function_configuration(FunctionName="al", Qualifier="live")["Timeout"], 3)
        with self.assertRaises(ClientError) as ctx:
            self.lam.update_alias(FunctionName="al", Name="live", FunctionVersion="2",
                                  RevisionId="00000000-0000-0000-0000-000000000000")
        self.assertClientError(ctx, "PreconditionFailedException", status=412)
        upd = self.lam.update_alias(FunctionName="al", Name="live", FunctionVersion="2",
                                    RoutingConfig={"AdditionalVersionWeights": {}})
        self.assertEqual(upd["FunctionVersion"], "2")
        self.assertNotEqual(upd["RevisionId"], out["RevisionId"])
        self.assertEqual(self.lam.get_function_configuration(FunctionName="al", Qualifier="live")["Timeout"], 7)
        self.lam.create_alias(FunctionName="al", Name="canary", FunctionVersion="1")
        listed = self.lam.list_aliases(FunctionName="al")["Aliases"]
        self.assertEqual(sorted(a["Name"] for a in listed), ["canary", "live"])
        self.assertEqual([a["Name"] for a in self.lam.list_aliases(FunctionName="al", FunctionVersion="1")["Aliases"]],
                         ["canary"])
        # A version an alias points at cannot be deleted.
        with self.assertRaises(ClientError) as ctx:
            self.lam.delete_function(FunctionName="al", Qualifier="1")
        self.assertClientError(ctx, "ResourceConflictException", status=409)
        self.lam.delete_alias(FunctionName="al", Name="canary")
        with self.assertRaises(ClientError) as ctx:
            self.lam.get_alias(FunctionName="al", Name="canary")
        self.assertClientError(ctx, "ResourceNotFoundException",
                               "Cannot find alias arn: " + fn_arn("al", "canary"), 404)
        self.lam.delete_function(FunctionName="al", Qualifier="1")
        self.assertEqual([a["Name"] for a in self.lam.list_aliases(FunctionName="al")["Aliases"]], ["live"])


class Permissions(LambdaTestCase):
    def policy(self, name, **kw):
        return json.loads(self.lam.get_policy(FunctionName=name, **kw)["Policy"])

    def test_add_get_remove_permission_statement_shapes(self):
        self.create("perm")
        with self.assertRaises(ClientError) as ctx:
            self.lam.get_policy(FunctionName="perm")
        self.assertClientError(ctx, "ResourceNotFoundException", "The resource you requested does not exist.", 404)
        out = self.lam.add_permission(FunctionName="perm", StatementId="s3", Action="lambda:InvokeFunction",
                                      Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::my-bucket",
                                      SourceAccount=ACCOUNT)
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 201)
        statement = {
            "Sid": "s3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "lambda:InvokeFunction", "Resource": fn_arn("perm"),
            "Condition": {"StringEquals": {"AWS:SourceAccount": ACCOUNT},
                          "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"}}}
        self.assertEqual(json.loads(out["Statement"]), statement)
        self.lam.add_permission(FunctionName="perm", StatementId="acct", Action="lambda:GetFunction",
                                Principal="111122223333")
        doc = self.policy("perm")
        self.assertEqual(doc["Version"], "2012-10-17")
        self.assertEqual(doc["Id"], "default")
        self.assertEqual(doc["Statement"][0], statement)
        self.assertEqual(doc["Statement"][1]["Principal"], {"AWS": "arn:aws:iam::111122223333:root"})
        with self.assertRaises(ClientError) as ctx:
            self.lam.add_permission(FunctionName="perm", StatementId="s3", Action="lambda:InvokeFunction",
                                    Principal="sns.amazonaws.com")
        self.assertClientError(ctx, "ResourceConflictException",
                               "The statement id (s3) provided already exists. Please provide a new statement id, "
                               "or remove the existing statement.", 409)
        self.lam.remove_permission(FunctionName="perm", StatementId="s3")
        self.assertEqual([s["Sid"] for s in self.policy("perm")["Statement"]], ["acct"])
        with self.assertRaises(ClientError) as ctx:
            self.lam.remove_permission(FunctionName="perm", StatementId="s3")
        self.assertClientError(ctx, "ResourceNotFoundException", "Statement s3 is not found in resource policy.", 404)

    def test_qualified_permission_belongs_to_that_alias(self):
        self.create("qperm", Publish=True)
        self.lam.create_alias(FunctionName="qperm", Name="live", FunctionVersion="1")
        self.lam.add_permission(FunctionName="qperm", Qualifier="live", StatementId="sns", Principal="sns.amazonaws.com",
                                Action="lambda:InvokeFunction")
        doc = self.policy("qperm", Qualifier="live")
        self.assertEqual(doc["Statement"][0]["Resource"], fn_arn("qperm", "live"))
        with self.assertRaises(ClientError) as ctx:
            self.lam.get_policy(FunctionName="qperm")
        self.assertClientError(ctx, "ResourceNotFoundException", status=404)


class Concurrency(LambdaTestCase):
    def test_reserved_concurrency_and_the_unreserved_minimum(self):
        self.create("rc")
        settings = self.lam.get_account_settings()
        self.assertEqual(settings["AccountLimit"]["ConcurrentExecutions"], 1000)
        self.assertEqual(settings["AccountLimit"]["UnreservedConcurrentExecutions"], 1000)
        self.assertEqual(self.lam.get_function_concurrency(FunctionName="rc").get("ReservedConcurrentExecutions"),
                         None)
        with self.assertRaises(ClientError) as ctx:
            self.lam.put_function_concurrency(FunctionName="rc", ReservedConcurrentExecutions=901)
        self.assertClientError(ctx, "InvalidParameterValueException",
                               "Specified ReservedConcurrentExecutions for function decreases account's "
                               "UnreservedConcurrentExecution below its minimum value of [100].", 400)
        self.assertEqual(self.lam.get_function_concurrency(FunctionName="rc").get("ReservedConcurrentExecutions"),
                         None)
        out = self.lam.put_function_concurrency(FunctionName="rc", ReservedConcurrentExecutions=900)
        self.assertEqual(out["ReservedConcurrentExecutions"], 900)
        self.assertEqual(self.lam.get_function_concurrency(FunctionName="rc")["ReservedConcurrentExecutions"], 900)
        self.assertEqual(self.lam.get_function(FunctionName="rc")["Concurrency"],
                         {"ReservedConcurrentExecutions": 900})
        self.assertEqual(self.lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"], 100)
        self.create("rc2")
        with self.assertRaises(ClientError) as ctx:
            self.lam.put_function_concurrency(FunctionName="rc2", ReservedConcurrentExecutions=1)
        self.assertClientError(ctx, "InvalidParameterValueException", status=400)
        out = self.lam.delete_function_concurrency(FunctionName="rc")
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"], 1000)
        self.lam.put_function_concurrency(FunctionName="rc2", ReservedConcurrentExecutions=1)

    def test_provisioned_concurrency_becomes_ready_with_provisioned_environments(self):
        self.create("pc", Publish=True)
        self.lam.create_alias(FunctionName="pc", Name="live", FunctionVersion="1")
        with self.assertRaises(ClientError) as ctx:
            self.lam.put_provisioned_concurrency_config(FunctionName="pc", Qualifier="$LATEST",
                                                        ProvisionedConcurrentExecutions=1)
        self.assertClientError(ctx, "InvalidParameterValueException",
                               "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
                               400)
        out = self.lam.put_provisioned_concurrency_config(FunctionName="pc", Qualifier="live",
                                                          ProvisionedConcurrentExecutions=2)
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 202)
        self.assertEqual(out["RequestedProvisionedConcurrentExecutions"], 2)
        self.assertIn(out["Status"], ("IN_PROGRESS", "READY"))
        deadline = time.time() + 30
        while True:
            got = self.lam.get_provisioned_concurrency_config(FunctionName="pc", Qualifier="live")
            if got["Status"] == "READY" or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(got["Status"], "READY")
        self.assertEqual(got["AvailableProvisionedConcurrentExecutions"], 2)
        self.assertEqual(got["AllocatedProvisionedConcurrentExecutions"], 2)
        envs = [e for e in self.environments("pc") if e["provisioned"]]
        self.assertEqual(len(envs), 2)
        self.assertEqual({e["version"] for e in envs}, {"1"})
        self.assertEqual({e["state"] for e in envs}, {"idle"})
        listed = self.lam.list_provisioned_concurrency_configs(FunctionName="pc")["ProvisionedConcurrencyConfigs"]
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0]["FunctionArn"], fn_arn("pc", "live"))
        # An invoke of the alias runs in a provisioned environment.
        pids = {e["pid"] for e in envs}
        self.invoke("pc", Qualifier="live")
        self.assertTrue(pids & {e["pid"] for e in self.environments("pc") if e["provisioned"]})
        self.assertEqual([e for e in self.environments("pc") if not e["provisioned"]], [])
        out = self.lam.delete_provisioned_concurrency_config(FunctionName="pc", Qualifier="live")
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 204)
        with self.assertRaises(ClientError) as ctx:
            self.lam.get_provisioned_concurrency_config(FunctionName="pc", Qualifier="live")
        self.assertClientError(ctx, "ProvisionedConcurrencyConfigNotFoundException", status=404)
        deadline = time.time() + 10
        while [e for e in self.environments("pc") if e["provisioned"]] and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual([e for e in self.environments("pc") if e["provisioned"]], [])


class TagsAndSettings(LambdaTestCase):
    def test_tag_list_untag(self):
        self.create("tagged", Tags={"a": "1"})
        arn = fn_arn("tagged")
        self.lam.tag_resource(Resource=arn, Tags={"b": "2", "c": "3"})
        self.assertEqual(self.lam.list_tags(Resource=arn)["Tags"], {"a": "1", "b": "2", "c": "3"})
        self.lam.untag_resource(Resource=arn, TagKeys=["a", "c"])
        self.assertEqual(self.lam.list_tags(Resource=arn)["Tags"], {"b": "2"})
        self.assertEqual(self.lam.get_function(FunctionName="tagged")["Tags"], {"b": "2"})
        with self.assertRaises(ClientError) as ctx:
            self.lam.list_tags(Resource=fn_arn("untagged-nothing"))
        self.assertClientError(ctx, "ResourceNotFoundException", status=404)

    def test_account_settings_count_functions_and_code(self):
        code = py_zip(PY_ECHO)
        self.create("s1", code=code)
        self.create("s2", code=code, Publish=True)
        s = self.lam.get_account_settings()
        self.assertEqual(s["AccountLimit"]["CodeSizeZipped"], 52428800)
        self.assertEqual(s["AccountLimit"]["CodeSizeUnzipped"], 262144000)
        self.assertEqual(s["AccountLimit"]["TotalCodeSize"], 80530636800)
        self.assertEqual(s["AccountUsage"]["FunctionCount"], 2)
        self.assertGreaterEqual(s["AccountUsage"]["TotalCodeSize"], 2 * len(code))


class Layers(LambdaTestCase):
    def test_layer_versions_lifecycle(self):
        content = make_zip({"python/helper.py": "VALUE = 'from layer'\n"})
        out = self.lam.publish_layer_version(LayerName="shared", Description="helpers", Content={"ZipFile": content},
                                             CompatibleRuntimes=["python3.12", "python3.11"],
                                             LicenseInfo="MIT")
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 201)
        layer_arn = "arn:aws:lambda:%s:%s:layer:shared" % (REGION, ACCOUNT)
        self.assertEqual(out["LayerArn"], layer_arn)
        self.assertEqual(out["LayerVersionArn"], layer_arn + ":1")
        self.assertEqual(out["Version"], 1)
        self.assertEqual(out["Content"]["CodeSha256"], sha256_b64(content))
        self.assertEqual(out["Content"]["CodeSize"], len(content))
        self.assertEqual(http_get(out["Content"]["Location"])[1], content)
        v2 = self.lam.publish_layer_version(LayerName="shared", Content={"ZipFile": content},
                                            CompatibleRuntimes=["nodejs20.x"])
        self.assertEqual(v2["Version"], 2)
        got = self.lam.get_layer_version(LayerName="shared", VersionNumber=1)
        self.assertEqual(got["Description"], "helpers")
        self.assertEqual(got["LicenseInfo"], "MIT")
        self.assertEqual(got["CompatibleRuntimes"], ["python3.12", "python3.11"])
        self.assertEqual(self.lam.get_layer_version_by_arn(Arn=layer_arn + ":2")["Version"], 2)
        layers = self.lam.list_layers()["Layers"]
        self.assertEqual([(l["LayerName"], l["LatestMatchingVersion"]["Version"]) for l in layers], [("shared", 2)])
        self.lam.publish_layer_version(LayerName="other", Content={"ZipFile": content},
                                       CompatibleRuntimes=["python3.12"])
        self.assertEqual([l["LayerName"] for l in self.lam.list_layers(CompatibleRuntime="nodejs20.x")["Layers"]],
                         ["shared"])
        # A filtered listing never names a version that does not match.
        py = {l["LayerName"]: l["LatestMatchingVersion"]["Version"]
              for l in self.lam.list_layers(CompatibleRuntime="python3.12")["Layers"]}
        self.assertEqual(py.get("other"), 1)
        if "shared" in py:  # listed for its older python version, never its newest
            self.assertEqual(py["shared"], 1)
        self.assertEqual(sorted(v["Version"] for v in
                                self.lam.list_layer_versions(LayerName="shared")["LayerVersions"]), [1, 2])
        out = self.lam.delete_layer_version(LayerName="shared", VersionNumber=1)
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 204)
        with self.assertRaises(ClientError) as ctx:
            self.lam.get_layer_version(LayerName="shared", VersionNumber=1)
        self.assertClientError(ctx, "ResourceNotFoundException", status=404)
        self.assertEqual([v["Version"] for v in self.lam.list_layer_versions(LayerName="shared")["LayerVersions"]],
                         [2])
        # Numbers are never reused.
        self.assertEqual(self.lam.publish_layer_version(LayerName="shared", Content={"ZipFile": content})["Version"],
                         3)

    def test_layer_permissions(self):
        self.lam.publish_layer_version(LayerName="open", Content={"ZipFile": make_zip({"python/x.py": "X=1"})})
        with self.assertRaises(ClientError) as ctx:
            self.lam.get_layer_version_policy(LayerName="open", VersionNumber=1)
        self.assertClientError(ctx, "ResourceNotFoundException", status=404)
        out = self.lam.add_layer_version_permission(LayerName="open", VersionNumber=1, StatementId="everyone",
                                                    Action="lambda:GetLayerVersion", Principal="*")
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 201)
        layer_v = "arn:aws:lambda:%s:%s:layer:open:1" % (REGION, ACCOUNT)
        self.assertEqual(json.loads(out["Statement"]), {
            "Sid": "everyone", "Effect": "Allow", "Principal": "*", "Action": "lambda:GetLayerVersion",
            "Resource": layer_v})
        self.lam.add_layer_version_permission(LayerName="open", VersionNumber=1, StatementId="acct",
                                              Action="lambda:GetLayerVersion", Principal="111122223333")
        doc = json.loads(self.lam.get_layer_version_policy(LayerName="open", VersionNumber=1)["Policy"])
        self.assertEqual([s["Sid"] for s in doc["Statement"]], ["everyone", "acct"])
        self.assertEqual(doc["Statement"][1]["Principal"], {"AWS": "arn:aws:iam::111122223333:root"})
        with self.assertRaises(ClientError) as ctx:
            self.lam.add_layer_version_permission(LayerName="open", VersionNumber=1, StatementId="acct",
                                                  Action="lambda:GetLayerVersion", Principal="*")
        self.assertClientError(ctx, "ResourceConflictException", status=409)
        self.lam.remove_layer_version_permission(LayerName="open", VersionNumber=1, StatementId="everyone")
        doc = json.loads(self.lam.get_layer_version_policy(LayerName="open", VersionNumber=1)["Policy"])
        self.assertEqual([s["Sid"] for s in doc["Statement"]], ["acct"])

    def test_functions_import_from_their_layers(self):
        py_layer = self.lam.publish_layer_version(
            LayerName="pylib", Content={"ZipFile": make_zip({"python/greeting.py": "WORD = 'hello from /opt'\n"})})
        node_layer = self.lam.publish_layer_version(LayerName="nodelib", Content={"ZipFile": make_zip({
            "nodejs/node_modules/greet/package.json": '{"name": "greet", "main": "index.js"}',
            "nodejs/node_modules/greet/index.js": "module.exports = { word: 'node from /opt' };\n"})})
        self.create("uses-py", code=py_zip("import greeting\ndef handler(e, c):\n    return greeting.WORD\n"),
                    Layers=[py_layer["LayerVersionArn"]])
        cfg = self.lam.get_function_configuration(FunctionName="uses-py")
        self.assertEqual(cfg["Layers"], [{"Arn": py_layer["LayerVersionArn"],
                                          "CodeSize": py_layer["Content"]["CodeSize"]}])
        self.assertEqual(self.invoke("uses-py")[1], "hello from /opt")
        self.create("uses-node", runtime="nodejs20.x",
                    code=node_zip("const g = require('greet');\nexports.handler = async () => g.word;\n"),
                    Layers=[node_layer["LayerVersionArn"]])
        self.assertEqual(self.invoke("uses-node")[1], "node from /opt")
        with self.assertRaises(ClientError) as ctx:
            self.create("bad-layer", Layers=["arn:aws:lambda:%s:%s:layer:nope:1" % (REGION, ACCOUNT)], wait=False)
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"] // 100, 4)
        self.assertEqual([f["FunctionName"] for f in self.lam.list_functions()["Functions"]
                          if f["FunctionName"] == "bad-layer"], [])


class Authorization(LambdaTestCase):
    LAMBDA_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}]}

    def test_create_function_needs_pass_role(self):
        dev = self.user_client("lambda", "dev", self.LAMBDA_ALL)
        params = dict(FunctionName="passed", Runtime="python3.12", Handler="index.handler", Role=self.role_arn,
                      Code={"ZipFile": py_zip(PY_ECHO)})
        with self.assertRaises(ClientError) as ctx:
            dev.create_function(**params)
        resp = self.assertClientError(ctx, "AccessDeniedException", status=403)
        msg = resp["Error"]["Message"]
        self.assertIn("User: arn:aws:iam::%s:user/dev is not authorized to perform: iam:PassRole on resource: %s"
                      % (ACCOUNT, self.role_arn), msg)
        self.assertTrue(resp["ResponseMetadata"]["HTTPHeaders"].get("x-kyoka-decision-id"))
        self.assertEqual(self.lam.list_functions()["Functions"], [])
        self.iam.put_user_policy(UserName="dev", PolicyName="pass", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:PassRole",
                                                    "Resource": self.role_arn}]}))
        out = dev.create_function(**params)
        self.assertEqual(out["FunctionName"], "passed")
        self.assertTrue(out["ResponseMetadata"]["HTTPHeaders"].get("x-kyoka-decision-id"))

    def test_invoke_needs_identity_or_resource_policy_and_qualified_grants_stay_qualified(self):
        self.create("guarded", Publish=True)
        self.lam.create_alias(FunctionName="guarded", Name="live", FunctionVersion="1")
        bob = self.user_client("lambda", "bob", None)
        bob_arn = "arn:aws:iam::%s:user/bob" % ACCOUNT
        with self.assertRaises(ClientError) as ctx:
            self.invoke("guarded", client=bob)
        resp = self.assertClientError(ctx, "AccessDeniedException", status=403)
        self.assertIn("User: %s is not authorized to perform: lambda:InvokeFunction on resource: %s"
                      % (bob_arn, fn_arn("guarded")), resp["Error"]["Message"])
        self.assertTrue(resp["ResponseMetadata"]["HTTPHeaders"].get("x-kyoka-decision-id"))
        # A permission on the alias lets bob invoke the alias and nothing else.
        self.lam.add_permission(FunctionName="guarded", Qualifier="live", StatementId="bob-live",
                                Action="lambda:InvokeFunction", Principal=bob_arn)
        out, body = self.invoke("guarded", {"who": "bob"}, client=bob, Qualifier="live")
        self.assertEqual(out["StatusCode"], 200)
        self.assertEqual(body["event"], {"who": "bob"})
        self.assertEqual(out["ExecutedVersion"], "1")
        for kw in ({}, {"Qualifier": "1"}, {"Qualifier": "$LATEST"}):
            with self.assertRaises(ClientError) as ctx:
                self.invoke("guarded", client=bob, **kw)
            self.assertClientError(ctx, "AccessDeniedException", status=403)
        # A permission naming bob on the function covers the unqualified ARN
        # and nothing but the granted action.
        self.lam.add_permission(FunctionName="guarded", StatementId="bob-fn", Action="lambda:InvokeFunction",
                                Principal=bob_arn)
        self.assertEqual(self.invoke("guarded", client=bob)[0]["StatusCode"], 200)
        with self.assertRaises(ClientError) as ctx:
            bob.get_function(FunctionName="guarded")
        self.assertClientError(ctx, "AccessDeniedException", status=403)
        self.lam.remove_permission(FunctionName="guarded", StatementId="bob-fn")
        with self.assertRaises(ClientError) as ctx:
            self.invoke("guarded", client=bob)
        self.assertClientError(ctx, "AccessDeniedException", status=403)
        # Naming the account (its root) delegates to the account: its users
        # still need an identity-based policy (IAM's Principal element docs),
        # so bob, who has none, stays out; with one he is in.
        self.lam.add_permission(FunctionName="guarded", StatementId="acct", Action="lambda:InvokeFunction",
                                Principal=ACCOUNT)
        with self.assertRaises(ClientError) as ctx:
            self.invoke("guarded", client=bob)
        self.assertClientError(ctx, "AccessDeniedException", status=403)
        self.iam.put_user_policy(UserName="bob", PolicyName="invoke", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                                                    "Resource": fn_arn("guarded")}]}))
        self.assertEqual(self.invoke("guarded", client=bob)[0]["StatusCode"], 200)

    def test_identity_policy_on_one_function(self):
        self.create("mine")
        self.create("theirs")
        carol = self.user_client("lambda", "carol", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": fn_arn("mine")}]})
        self.assertEqual(self.invoke("mine", client=carol)[0]["StatusCode"], 200)
        with self.assertRaises(ClientError) as ctx:
            self.invoke("theirs", client=carol)
        self.assertClientError(ctx, "AccessDeniedException", status=403)


if __name__ == "__main__":
    harness.main()
