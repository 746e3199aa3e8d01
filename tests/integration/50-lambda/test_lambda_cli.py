"""Lambda through the AWS CLI (Debian's awscli): the commands a person
types, with code from fileb:// paths, payloads on the command line, answers
written to an outfile, --query/--output text, and error reporting (exit
status and AWS's message on stderr).

Run by hand with
    KYOKA_BIN=build-it/kyoka PYTHONPATH=tests/integration \
        python3 tests/integration/50-lambda/test_lambda_cli.py -v
"""
import base64
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import ACCOUNT  # noqa: E402
from lambdatest import LambdaTestCase, fn_arn, http_get, make_zip, py_zip, sha256_b64  # noqa: E402

HANDLER = """\
import os
def handler(event, context):
    print("cli says", event.get("name"))
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    return {"hello": event.get("name"), "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"]}
"""


class Cli(LambdaTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="kyoka-cli-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def aws(self, *args):
        """Run aws lambda ...; returns the parsed JSON stdout (or text)."""
        r = self.kyoka.aws_cli("lambda", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.strip()
        try:
            return json.loads(out) if out else None
        except ValueError:
            return out

    def aws_fails(self, *args):
        r = self.kyoka.aws_cli("lambda", *args)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        return r.stderr.strip()

    def write_zip(self, name, code=HANDLER):
        data = py_zip(code)
        with open(self.path(name), "wb") as f:
            f.write(data)
        return data

    def cli_create(self, name="cli-fn", zip_name="fn.zip", *extra):
        data = self.write_zip(zip_name)
        out = self.aws("create-function", "--function-name", name, "--runtime", "python3.12",
                       "--handler", "index.handler", "--role", self.role_arn,
                       "--zip-file", "fileb://" + self.path(zip_name), *extra)
        self.wait_active(name)
        return data, out

    def test_create_function_from_a_zip_file_and_get_it(self):
        data, out = self.cli_create("cli-fn", "fn.zip", "--timeout", "9", "--memory-size", "256",
                                    "--environment", "Variables={STAGE=cli,COLOR=blue}",
                                    "--tags", "team=cli")
        self.assertEqual(out["FunctionName"], "cli-fn")
        self.assertEqual(out["FunctionArn"], fn_arn("cli-fn"))
        self.assertEqual(out["CodeSha256"], sha256_b64(data))
        self.assertEqual(out["CodeSize"], len(data))
        self.assertEqual(out["Timeout"], 9)
        self.assertEqual(out["MemorySize"], 256)
        self.assertEqual(out["State"], "Pending")
        got = self.aws("get-function", "--function-name", "cli-fn")
        self.assertEqual(got["Configuration"]["Environment"]["Variables"], {"STAGE": "cli", "COLOR": "blue"})
        self.assertEqual(got["Configuration"]["State"], "Active")
        self.assertEqual(got["Tags"], {"team": "cli"})
        self.assertEqual(http_get(got["Code"]["Location"])[1], data)
        self.assertEqual(self.aws("get-function-configuration", "--function-name", "cli-fn",
                                  "--query", "Runtime", "--output", "text"), "python3.12")

    def test_invoke_with_payload_writes_the_outfile(self):
        self.cli_create()
        outfile = self.path("out.json")
        out = self.aws("invoke", "--function-name", "cli-fn", "--payload", '{"name": "Bob"}', outfile)
        self.assertEqual(out, {"StatusCode": 200, "ExecutedVersion": "$LATEST"})
        with open(outfile) as f:
            self.assertEqual(json.load(f), {"hello": "Bob", "version": "$LATEST"})
        # A payload from a file, and the log tail through --query.
        with open(self.path("event.json"), "w") as f:
            json.dump({"name": "File"}, f)
        tail = self.aws("invoke", "--function-name", "cli-fn", "--payload", "fileb://" + self.path("event.json"),
                        "--log-type", "Tail", "--query", "LogResult", "--output", "text", outfile)
        log = base64.b64decode(tail).decode()
        self.assertIn("cli says File", log)
        self.assertIn("START RequestId: ", log)
        self.assertIn("REPORT RequestId: ", log)
        with open(outfile) as f:
            self.assertEqual(json.load(f)["hello"], "File")

    def test_invoke_a_failing_function_reports_function_error(self):
        self.cli_create()
        outfile = self.path("err.json")
        out = self.aws("invoke", "--function-name", "cli-fn", "--payload", '{"fail": true}', outfile)
        self.assertEqual(out["StatusCode"], 200)
        self.assertEqual(out["FunctionError"], "Unhandled")
        with open(outfile) as f:
            err = json.load(f)
        self.assertEqual(err["errorType"], "RuntimeError")
        self.assertEqual(err["errorMessage"], "asked to fail")

    def test_invocation_types(self):
        self.cli_create()
        outfile = self.path("async.json")
        out = self.aws("invoke", "--function-name", "cli-fn", "--invocation-type", "Event",
                       "--payload", '{"name": "later"}', outfile)
        self.assertEqual(out, {"StatusCode": 202})
        with open(outfile, "rb") as f:
            self.assertEqual(f.read(), b"")
        out = self.aws("invoke", "--function-name", "cli-fn", "--invocation-type", "DryRun", outfile)
        self.assertEqual(out, {"StatusCode": 204})

    def test_update_code_publish_alias_and_invoke_the_alias(self):
        self.cli_create()
        self.write_zip("v2.zip", HANDLER.replace('"hello"', '"hi"'))
        out = self.aws("update-function-code", "--function-name", "cli-fn",
                       "--zip-file", "fileb://" + self.path("v2.zip"), "--publish")
        self.assertEqual(out["Version"], "1")
        self.wait_active("cli-fn")
        self.aws("create-alias", "--function-name", "cli-fn", "--name", "prod", "--function-version", "1")
        outfile = self.path("alias.json")
        out = self.aws("invoke", "--function-name", "cli-fn", "--qualifier", "prod",
                       "--payload", '{"name": "Al"}', outfile)
        self.assertEqual(out["ExecutedVersion"], "1")
        with open(outfile) as f:
            self.assertEqual(json.load(f), {"hi": "Al", "version": "1"})
        versions = self.aws("list-versions-by-function", "--function-name", "cli-fn",
                            "--query", "Versions[].Version")
        self.assertEqual(versions, ["$LATEST", "1"])

    def test_list_functions(self):
        for name in ("cli-a", "cli-b", "cli-c"):
            self.cli_create(name, name + ".zip")
        names = self.aws("list-functions", "--query", "Functions[].FunctionName")
        self.assertEqual(sorted(names), ["cli-a", "cli-b", "cli-c"])
        # The CLI pages by itself through NextMarker with --page-size.
        names = self.aws("list-functions", "--page-size", "1", "--query", "Functions[].FunctionName")
        self.assertEqual(sorted(names), ["cli-a", "cli-b", "cli-c"])
        out = self.aws("list-functions", "--max-items", "2")
        self.assertEqual(len(out["Functions"]), 2)
        self.assertIn("NextToken", out)

    def test_add_permission_and_get_policy(self):
        self.cli_create()
        out = self.aws("add-permission", "--function-name", "cli-fn", "--statement-id", "s3-invoke",
                       "--action", "lambda:InvokeFunction", "--principal", "s3.amazonaws.com",
                       "--source-arn", "arn:aws:s3:::my-bucket", "--source-account", ACCOUNT)
        statement = json.loads(out["Statement"])
        self.assertEqual(statement["Principal"], {"Service": "s3.amazonaws.com"})
        self.assertEqual(statement["Condition"], {"StringEquals": {"AWS:SourceAccount": ACCOUNT},
                                                  "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"}})
        # --output text prints the policy document itself.
        policy = self.aws("get-policy", "--function-name", "cli-fn", "--query", "Policy", "--output", "text")
        self.assertEqual(policy["Statement"], [statement])
        self.aws("remove-permission", "--function-name", "cli-fn", "--statement-id", "s3-invoke")
        err = self.aws_fails("get-policy", "--function-name", "cli-fn")
        self.assertIn("An error occurred (ResourceNotFoundException) when calling the GetPolicy operation: "
                      "The resource you requested does not exist.", err)

    def test_delete_function_and_errors_on_stderr(self):
        self.cli_create()
        # No body: the CLI prints nothing, or just the status its model maps.
        self.assertIn(self.aws("delete-function", "--function-name", "cli-fn"), (None, {"StatusCode": 204}))
        err = self.aws_fails("get-function", "--function-name", "cli-fn")
        self.assertIn("An error occurred (ResourceNotFoundException) when calling the GetFunction operation: "
                      "Function not found: " + fn_arn("cli-fn"), err)
        err = self.aws_fails("invoke", "--function-name", "cli-fn", self.path("x.json"))
        self.assertIn("(ResourceNotFoundException) when calling the Invoke operation", err)
        self.assertEqual(self.aws("list-functions", "--query", "Functions[].FunctionName"), [])
        # A refused create names AWS's reason: a zip whose entry climbs out.
        with open(self.path("bad.zip"), "wb") as f:
            f.write(make_zip({"index.py": HANDLER, "../outside.py": "x = 1"}))
        err = self.aws_fails("create-function", "--function-name", "cli-bad", "--runtime", "python3.12",
                             "--handler", "index.handler", "--role", self.role_arn,
                             "--zip-file", "fileb://" + self.path("bad.zip"))
        self.assertIn("An error occurred (InvalidParameterValueException) when calling the CreateFunction "
                      "operation: ", err)
        self.assertEqual(self.aws("list-functions", "--query", "Functions[].FunctionName"), [])


if __name__ == "__main__":
    harness.main()
