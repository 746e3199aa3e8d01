"""S3 through boto3 and the AWS CLI v2: buckets, objects streamed to disk,
ranges and conditionals, listing, copy, batch delete, tagging, checksums,
multipart upload, bucket policies in the decision, presigned URLs, virtual
hosts, and an acknowledged PUT surviving kill -9."""
import base64
import hashlib
import json
import os
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib

import botocore
import botocore.config

import harness
from harness import KyokaServer, KyokaTestCase


def err(cm):
    return cm.exception.response["Error"]["Code"], cm.exception.response["ResponseMetadata"]["HTTPStatusCode"]


class Buckets(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.s3 = self.kyoka.client("s3")

    def test_create_list_delete(self):
        self.s3.create_bucket(Bucket="alpha-bucket")
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertEqual(names, ["alpha-bucket"])
        self.s3.head_bucket(Bucket="alpha-bucket")
        self.assertIsNone(self.s3.get_bucket_location(Bucket="alpha-bucket").get("LocationConstraint"))
        self.s3.put_object(Bucket="alpha-bucket", Key="k", Body=b"x")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.delete_bucket(Bucket="alpha-bucket")
        self.assertEqual(err(cm), ("BucketNotEmpty", 409))
        self.s3.delete_object(Bucket="alpha-bucket", Key="k")
        self.s3.delete_bucket(Bucket="alpha-bucket")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.head_bucket(Bucket="alpha-bucket")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)

    def test_names_and_regions(self):
        for bad in ("ab", "Upper", "a..b", "192.168.1.1", "-dash", "xn--abc", "x" * 64):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                self.s3.create_bucket(Bucket=bad)
            self.assertEqual(err(cm)[0], "InvalidBucketName", bad)
        eu = self.kyoka.client("s3", region="eu-west-1")
        eu.create_bucket(Bucket="eu-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        self.assertEqual(eu.get_bucket_location(Bucket="eu-bucket")["LocationConstraint"], "eu-west-1")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            eu.create_bucket(Bucket="eu-other")
        self.assertEqual(err(cm)[0], "IllegalLocationConstraintException")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            eu.create_bucket(Bucket="eu-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        self.assertEqual(err(cm), ("BucketAlreadyOwnedByYou", 409))
        self.assertEqual([b["Name"] for b in self.s3.list_buckets()["Buckets"]], ["eu-bucket"])

    def test_tagging_and_policy(self):
        self.s3.create_bucket(Bucket="tagged")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.get_bucket_tagging(Bucket="tagged")
        self.assertEqual(err(cm)[0], "NoSuchTagSet")
        self.s3.put_bucket_tagging(Bucket="tagged", Tagging={"TagSet": [{"Key": "team", "Value": "a"}]})
        self.assertEqual(self.s3.get_bucket_tagging(Bucket="tagged")["TagSet"], [{"Key": "team", "Value": "a"}])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.put_bucket_policy(Bucket="tagged", Policy="{not json")
        self.assertEqual(err(cm)[0], "MalformedPolicy")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.get_bucket_policy(Bucket="tagged")
        self.assertEqual(err(cm)[0], "NoSuchBucketPolicy")


class Objects(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.s3 = self.kyoka.client("s3")
        self.s3.create_bucket(Bucket="objects")

    def test_put_get_metadata(self):
        body = os.urandom(3 * 1024 * 1024 + 17)
        r = self.s3.put_object(Bucket="objects", Key="dir/file.bin", Body=body, ContentType="application/x-test",
                               CacheControl="max-age=60", ContentDisposition="attachment", Metadata={"Owner": "me"})
        self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
        g = self.s3.get_object(Bucket="objects", Key="dir/file.bin")
        self.assertEqual(g["Body"].read(), body)
        self.assertEqual(g["ContentType"], "application/x-test")
        self.assertEqual(g["CacheControl"], "max-age=60")
        self.assertEqual(g["ContentDisposition"], "attachment")
        self.assertEqual(g["Metadata"], {"owner": "me"})
        g = self.s3.get_object(Bucket="objects", Key="dir/file.bin", ResponseContentType="text/plain",
                               ResponseContentDisposition="inline")
        self.assertEqual(g["ContentType"], "text/plain")
        self.assertEqual(g["ContentDisposition"], "inline")
        g["Body"].read()
        h = self.s3.head_object(Bucket="objects", Key="dir/file.bin")
        self.assertEqual(h["ContentLength"], len(body))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.get_object(Bucket="objects", Key="missing")
        self.assertEqual(err(cm), ("NoSuchKey", 404))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.put_object(Bucket="no-such-bucket", Key="k", Body=b"x")
        self.assertEqual(err(cm), ("NoSuchBucket", 404))

    def test_ranges_and_conditionals(self):
        body = bytes(range(256)) * 4
        etag = self.s3.put_object(Bucket="objects", Key="r", Body=body)["ETag"]
        for rng, want in (("bytes=0-9", body[0:10]), ("bytes=1000-", body[1000:]), ("bytes=-5", body[-5:]),
                          ("bytes=1020-5000", body[1020:])):
            g = self.s3.get_object(Bucket="objects", Key="r", Range=rng)
            self.assertEqual(g["ResponseMetadata"]["HTTPStatusCode"], 206, rng)
            self.assertEqual(g["Body"].read(), want, rng)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.get_object(Bucket="objects", Key="r", Range="bytes=2000-")
        self.assertEqual(err(cm), ("InvalidRange", 416))
        g = self.s3.get_object(Bucket="objects", Key="r", IfMatch=etag)
        self.assertEqual(g["Body"].read(), body)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.get_object(Bucket="objects", Key="r", IfMatch='"nope"')
        self.assertEqual(err(cm)[1], 412)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.get_object(Bucket="objects", Key="r", IfNoneMatch=etag)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 304)

    def test_content_md5_and_checksums(self):
        body = b"checksummed body"
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        self.s3.put_object(Bucket="objects", Key="m", Body=body, ContentMD5=md5)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.put_object(Bucket="objects", Key="bad", Body=body,
                               ContentMD5=base64.b64encode(hashlib.md5(b"other").digest()).decode())
        self.assertEqual(err(cm)[0], "BadDigest")
        for alg in ("CRC32", "CRC32C", "SHA1", "SHA256"):
            r = self.s3.put_object(Bucket="objects", Key="ck-" + alg, Body=body, ChecksumAlgorithm=alg)
            self.assertIn("Checksum" + alg, r)
            h = self.s3.head_object(Bucket="objects", Key="ck-" + alg, ChecksumMode="ENABLED")
            self.assertEqual(h["Checksum" + alg], r["Checksum" + alg])
        crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        self.assertEqual(self.s3.head_object(Bucket="objects", Key="ck-CRC32", ChecksumMode="ENABLED")["ChecksumCRC32"],
                         crc)
        # Nothing is stored for a refused upload.
        with self.assertRaises(botocore.exceptions.ClientError):
            self.s3.head_object(Bucket="objects", Key="bad")

    def test_keys_stay_inside(self):
        keys = ["../../etc/passwd", "a/../../b", "unicode-\u00e9\u4e2d", "trailing/", "x" * 1024, "sp ace+plus%"]
        for k in keys:
            self.s3.put_object(Bucket="objects", Key=k, Body=k.encode())
        for k in keys:
            self.assertEqual(self.s3.get_object(Bucket="objects", Key=k)["Body"].read(), k.encode())
        listed = [o["Key"] for o in self.s3.list_objects_v2(Bucket="objects")["Contents"]]
        self.assertEqual(sorted(listed, key=lambda s: s.encode()), listed)
        self.assertEqual(sorted(listed), sorted(keys))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.put_object(Bucket="objects", Key="y" * 1025, Body=b"")
        self.assertEqual(err(cm)[0], "KeyTooLongError")

    def test_copy_and_delete_objects(self):
        self.s3.put_object(Bucket="objects", Key="src", Body=b"copy me", Metadata={"a": "1"})
        r = self.s3.copy_object(Bucket="objects", Key="dst", CopySource={"Bucket": "objects", "Key": "src"})
        self.assertEqual(r["CopyObjectResult"]["ETag"], '"%s"' % hashlib.md5(b"copy me").hexdigest())
        self.assertEqual(self.s3.head_object(Bucket="objects", Key="dst")["Metadata"], {"a": "1"})
        self.s3.copy_object(Bucket="objects", Key="dst2", CopySource="objects/src", MetadataDirective="REPLACE",
                            Metadata={"b": "2"}, ContentType="text/x")
        h = self.s3.head_object(Bucket="objects", Key="dst2")
        self.assertEqual((h["Metadata"], h["ContentType"]), ({"b": "2"}, "text/x"))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.copy_object(Bucket="objects", Key="src", CopySource="objects/src")
        self.assertEqual(err(cm)[0], "InvalidRequest")
        r = self.s3.delete_objects(Bucket="objects", Delete={"Objects": [{"Key": "src"}, {"Key": "dst"},
                                                                          {"Key": "never-was"}]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), ["dst", "never-was", "src"])
        r = self.s3.delete_objects(Bucket="objects", Delete={"Objects": [{"Key": "dst2"}], "Quiet": True})
        self.assertNotIn("Deleted", r)
        self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket="objects"))

    def test_tagging(self):
        self.s3.put_object(Bucket="objects", Key="t", Body=b"", Tagging="a=1&b=two")
        self.assertEqual(self.s3.get_object_tagging(Bucket="objects", Key="t")["TagSet"],
                         [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "two"}])
        self.assertEqual(self.s3.head_object(Bucket="objects", Key="t").get("TagCount"), None)  # HEAD has none
        g = self.s3.get_object(Bucket="objects", Key="t")
        self.assertEqual(g["TagCount"], 2)
        self.s3.put_object_tagging(Bucket="objects", Key="t", Tagging={"TagSet": [{"Key": "c", "Value": "3"}]})
        self.assertEqual(self.s3.get_object_tagging(Bucket="objects", Key="t")["TagSet"], [{"Key": "c", "Value": "3"}])
        self.s3.delete_object_tagging(Bucket="objects", Key="t")
        self.assertEqual(self.s3.get_object_tagging(Bucket="objects", Key="t")["TagSet"], [])


class Listing(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.s3 = self.kyoka.client("s3")
        self.s3.create_bucket(Bucket="listing")
        self.keys = ["a.txt", "b/1", "b/2", "b/c/3", "d/4", "e f", "z"]
        for k in self.keys:
            self.s3.put_object(Bucket="listing", Key=k, Body=b"1")

    def test_v2_pages_and_prefixes(self):
        r = self.s3.list_objects_v2(Bucket="listing", Delimiter="/")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["a.txt", "e f", "z"])
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["b/", "d/"])
        self.assertEqual(r["KeyCount"], 5)
        r = self.s3.list_objects_v2(Bucket="listing", Prefix="b/", Delimiter="/")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["b/1", "b/2"])
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["b/c/"])
        seen, token = [], None
        while True:
            kw = {"ContinuationToken": token} if token else {}
            r = self.s3.list_objects_v2(Bucket="listing", MaxKeys=2, Delimiter="/", **kw)
            seen += [o["Key"] for o in r.get("Contents", [])] + [p["Prefix"] for p in r.get("CommonPrefixes", [])]
            if not r["IsTruncated"]:
                break
            token = r["NextContinuationToken"]
        self.assertEqual(sorted(seen), ["a.txt", "b/", "d/", "e f", "z"])
        r = self.s3.list_objects_v2(Bucket="listing", StartAfter="b/2")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["b/c/3", "d/4", "e f", "z"])
        paginator = self.s3.get_paginator("list_objects_v2")
        all_keys = [o["Key"] for page in paginator.paginate(Bucket="listing", PaginationConfig={"PageSize": 3})
                    for o in page["Contents"]]
        self.assertEqual(all_keys, self.keys)

    def test_v1(self):
        r = self.s3.list_objects(Bucket="listing", MaxKeys=3)
        self.assertTrue(r["IsTruncated"])
        self.assertEqual([o["Key"] for o in r["Contents"]], ["a.txt", "b/1", "b/2"])
        paginator = self.s3.get_paginator("list_objects")
        keys = [o["Key"] for page in paginator.paginate(Bucket="listing", PaginationConfig={"PageSize": 2})
                for o in page.get("Contents", [])]
        self.assertEqual(keys, self.keys)
        r = self.s3.list_objects(Bucket="listing", Delimiter="/", MaxKeys=2)
        self.assertEqual(r["NextMarker"], "b/")
        r = self.s3.list_objects(Bucket="listing", Delimiter="/", Marker="b/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["d/"])


class Multipart(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.s3 = self.kyoka.client("s3")
        self.s3.create_bucket(Bucket="mpu")

    def test_upload_complete(self):
        up = self.s3.create_multipart_upload(Bucket="mpu", Key="big", ContentType="video/x", Metadata={"m": "1"})
        uid = up["UploadId"]
        p1 = os.urandom(5 * 1024 * 1024)
        p2 = os.urandom(1234)
        e1 = self.s3.upload_part(Bucket="mpu", Key="big", UploadId=uid, PartNumber=1, Body=p1)["ETag"]
        e2 = self.s3.upload_part(Bucket="mpu", Key="big", UploadId=uid, PartNumber=2, Body=p2)["ETag"]
        parts = self.s3.list_parts(Bucket="mpu", Key="big", UploadId=uid)["Parts"]
        self.assertEqual([p["PartNumber"] for p in parts], [1, 2])
        self.assertEqual(len(self.s3.list_multipart_uploads(Bucket="mpu")["Uploads"]), 1)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.complete_multipart_upload(Bucket="mpu", Key="big", UploadId=uid, MultipartUpload={
                "Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
        self.assertEqual(err(cm)[0], "InvalidPartOrder")
        r = self.s3.complete_multipart_upload(Bucket="mpu", Key="big", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
        want = hashlib.md5(hashlib.md5(p1).digest() + hashlib.md5(p2).digest()).hexdigest() + "-2"
        self.assertEqual(r["ETag"], '"%s"' % want)
        g = self.s3.get_object(Bucket="mpu", Key="big")
        self.assertEqual(g["Body"].read(), p1 + p2)
        self.assertEqual((g["ContentType"], g["Metadata"]), ("video/x", {"m": "1"}))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.upload_part(Bucket="mpu", Key="big", UploadId=uid, PartNumber=3, Body=b"x")
        self.assertEqual(err(cm), ("NoSuchUpload", 404))

    def test_small_parts_and_abort(self):
        uid = self.s3.create_multipart_upload(Bucket="mpu", Key="small")["UploadId"]
        e1 = self.s3.upload_part(Bucket="mpu", Key="small", UploadId=uid, PartNumber=1, Body=b"a" * 100)["ETag"]
        e2 = self.s3.upload_part(Bucket="mpu", Key="small", UploadId=uid, PartNumber=2, Body=b"b")["ETag"]
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.complete_multipart_upload(Bucket="mpu", Key="small", UploadId=uid, MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
        self.assertEqual(err(cm)[0], "EntityTooSmall")
        self.s3.abort_multipart_upload(Bucket="mpu", Key="small", UploadId=uid)
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket="mpu"))
        self.s3.delete_bucket(Bucket="mpu")


class Access(KyokaTestCase):
    ephemeral = True

    def test_presigned_and_virtual_host(self):
        # boto3's default presigner here is SigV2, which kyoka does not
        # verify (AWS answers it only in the oldest regions): sign with v4.
        s3 = self.kyoka.client("s3", signature_version="s3v4")
        s3.create_bucket(Bucket="signed")
        url = s3.generate_presigned_url("put_object", Params={"Bucket": "signed", "Key": "p.txt"}, ExpiresIn=300)
        req = urllib.request.Request(url, data=b"presigned!", method="PUT")
        with urllib.request.urlopen(req) as r:
            self.assertEqual(r.status, 200)
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "signed", "Key": "p.txt"}, ExpiresIn=300)
        with urllib.request.urlopen(url) as r:
            self.assertEqual(r.read(), b"presigned!")
        # A tampered presigned URL is refused.
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url.replace("p.txt", "q.txt"))
        self.assertEqual(e.exception.code, 403)
        # Virtual-host style: the bucket in the Host header. Sign for the
        # virtual host, send to 127.0.0.1 with that Host.
        for host in ("localhost", "s3.localhost.localstack.cloud"):
            vh = harness.boto3.client(
                "s3", endpoint_url="http://%s:%d" % (host, self.kyoka.port), region_name="us-east-1",
                aws_access_key_id="test", aws_secret_access_key="test",
                config=botocore.config.Config(s3={"addressing_style": "virtual"}, signature_version="s3v4"))
            url = vh.generate_presigned_url("get_object", Params={"Bucket": "signed", "Key": "p.txt"})
            parsed = urllib.parse.urlsplit(url)
            self.assertTrue(parsed.netloc.startswith("signed."), url)
            req = urllib.request.Request("http://127.0.0.1:%d%s?%s" % (self.kyoka.port, parsed.path, parsed.query),
                                         headers={"Host": parsed.netloc})
            with urllib.request.urlopen(req) as r:
                self.assertEqual(r.read(), b"presigned!", host)

    def test_bucket_policy_decides(self):
        s3 = self.kyoka.client("s3")
        iam = self.kyoka.client("iam")
        s3.create_bucket(Bucket="guarded")
        s3.put_object(Bucket="guarded", Key="k", Body=b"secret")
        iam.create_user(UserName="bob")
        key = iam.create_access_key(UserName="bob")["AccessKey"]
        bob = self.kyoka.client("s3", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            bob.get_object(Bucket="guarded", Key="k")
        self.assertEqual(err(cm), ("AccessDenied", 403))
        bob_arn = "arn:aws:iam::000000000000:user/bob"
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": bob_arn}, "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::guarded/*"},
            {"Effect": "Allow", "Principal": {"AWS": bob_arn}, "Action": "s3:ListBucket",
             "Resource": "arn:aws:s3:::guarded", "Condition": {"StringEquals": {"s3:prefix": "k"}}}]}
        s3.put_bucket_policy(Bucket="guarded", Policy=json.dumps(policy))
        self.assertEqual(json.loads(s3.get_bucket_policy(Bucket="guarded")["Policy"]), policy)
        self.assertEqual(bob.get_object(Bucket="guarded", Key="k")["Body"].read(), b"secret")
        bob.list_objects_v2(Bucket="guarded", Prefix="k")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            bob.list_objects_v2(Bucket="guarded", Prefix="other")
        self.assertEqual(err(cm)[0], "AccessDenied")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            bob.put_object(Bucket="guarded", Key="k2", Body=b"x")
        self.assertEqual(err(cm)[0], "AccessDenied")
        s3.delete_bucket_policy(Bucket="guarded")
        with self.assertRaises(botocore.exceptions.ClientError):
            bob.get_object(Bucket="guarded", Key="k")


def cli_v2(kyoka):
    """/usr/bin/aws (AWS CLI v2) against the server; the harness's aws_cli
    runs whatever `aws` is first on PATH."""
    def run(*args):
        env = dict(os.environ, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY, AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY,
                   AWS_DEFAULT_REGION=harness.REGION, AWS_PAGER="", AWS_CONFIG_FILE="/dev/null",
                   AWS_SHARED_CREDENTIALS_FILE="/dev/null")
        env.pop("AWS_SESSION_TOKEN", None)
        return subprocess.run(["/usr/bin/aws", "--endpoint-url", kyoka.endpoint, "--output", "json"] + list(args),
                              env=env, capture_output=True, text=True, timeout=120)
    return run


class Cli(KyokaTestCase):
    def test_cli_high_level(self):
        cli = cli_v2(self.kyoka)
        self.assertEqual(cli("s3", "mb", "s3://cli-bucket").returncode, 0)
        with tempfile.TemporaryDirectory() as d:
            small = os.path.join(d, "small.txt")
            big = os.path.join(d, "big.bin")
            with open(small, "w") as f:
                f.write("hello from the cli\n")
            data = os.urandom(20 * 1024 * 1024)  # multipart in the CLI (8 MiB threshold)
            with open(big, "wb") as f:
                f.write(data)
            r = cli("s3", "cp", small, "s3://cli-bucket/dir/small.txt")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = cli("s3", "cp", big, "s3://cli-bucket/big.bin")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = cli("s3", "ls", "s3://cli-bucket/")
            self.assertIn("PRE dir/", r.stdout)
            self.assertIn("big.bin", r.stdout)
            out = os.path.join(d, "back.bin")
            r = cli("s3", "cp", "s3://cli-bucket/big.bin", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), data)
            r = cli("s3api", "head-object", "--bucket", "cli-bucket", "--key", "dir/small.txt")
            self.assertEqual(json.loads(r.stdout)["ContentLength"], 19)
            r = cli("s3", "presign", "s3://cli-bucket/dir/small.txt")
            with urllib.request.urlopen(r.stdout.strip()) as resp:
                self.assertEqual(resp.read(), b"hello from the cli\n")
            self.assertEqual(cli("s3", "rm", "--recursive", "s3://cli-bucket/").returncode, 0)
            self.assertEqual(cli("s3", "rb", "s3://cli-bucket").returncode, 0)


class Durability(KyokaTestCase):
    ephemeral = False

    def test_acknowledged_put_survives_kill9(self):
        srv = KyokaServer().start()
        try:
            s3 = srv.client("s3")
            s3.create_bucket(Bucket="durable")
            bodies = {"k%d" % i: os.urandom(1000 + i * 5000) for i in range(20)}
            for k, b in bodies.items():
                s3.put_object(Bucket="durable", Key=k, Body=b)
            srv.kill9()
            srv.start()
            s3 = srv.client("s3")
            for k, b in bodies.items():
                self.assertEqual(s3.get_object(Bucket="durable", Key=k)["Body"].read(), b)
            spool = os.path.join(srv.data_dir, "state", "s3", "spool")
            self.assertEqual(os.listdir(spool), [])
        finally:
            srv.cleanup()


if __name__ == "__main__":
    harness.main()
