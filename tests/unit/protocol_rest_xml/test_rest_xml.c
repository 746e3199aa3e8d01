/* Unit tests for the REST-XML codec against the generated S3 model: the
 * routes S3 shares between operations, decoding of labels, query, headers
 * and XML payloads (and refusing bad XML), encoding of headers and S3's
 * XML bodies with their root elements. */
#include "protocol/protocol.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const model_service_t *s3(void)
{
    const model_service_t *svc = model_service_lookup("s3");
    assert_non_null(svc);
    return svc;
}

static const char *route_h(const char *method, const char *path, const char *query, const char *hname)
{
    proto_header_t h[1] = {{strv_from(hname ? hname : "x-none"), strv_from("v")}};
    const model_op_t *op =
        proto_rest_xml_match(s3(), strv_from(method), strv_from(path), strv_from(query), h, hname ? 1 : 0);
    return op ? op->name : "(none)";
}

static const char *route(const char *method, const char *path, const char *query)
{
    return route_h(method, path, query, NULL);
}

static void test_routes(void **state)
{
    (void)state;
    assert_string_equal(route("GET", "/", ""), "ListBuckets");
    assert_string_equal(route("PUT", "/b", ""), "CreateBucket");
    assert_string_equal(route("PUT", "/b/", ""), "CreateBucket");
    assert_string_equal(route("HEAD", "/b", ""), "HeadBucket");
    assert_string_equal(route("DELETE", "/b", ""), "DeleteBucket");
    assert_string_equal(route("GET", "/b", ""), "ListObjects");
    assert_string_equal(route("GET", "/b", "list-type=2&prefix=a"), "ListObjectsV2");
    assert_string_equal(route("GET", "/b", "location"), "GetBucketLocation");
    assert_string_equal(route("GET", "/b", "lifecycle"), "GetBucketLifecycleConfiguration");
    assert_string_equal(route("PUT", "/b", "policy"), "PutBucketPolicy");
    assert_string_equal(route("POST", "/b", "delete"), "DeleteObjects");
    assert_string_equal(route("PUT", "/b/k", ""), "PutObject");
    assert_string_equal(route("PUT", "/b/a/b/c", ""), "PutObject");
    assert_string_equal(route_h("PUT", "/b/k", "", "x-amz-copy-source"), "CopyObject");
    assert_string_equal(route("PUT", "/b/k", "partNumber=1&uploadId=x"), "UploadPart");
    assert_string_equal(route_h("PUT", "/b/k", "partNumber=1&uploadId=x", "X-Amz-Copy-Source"), "UploadPartCopy");
    assert_string_equal(route("GET", "/b/k", ""), "GetObject");
    assert_string_equal(route("GET", "/b/k", "uploadId=x"), "ListParts");
    assert_string_equal(route("GET", "/b/k", "tagging"), "GetObjectTagging");
    assert_string_equal(route("HEAD", "/b/k", ""), "HeadObject");
    assert_string_equal(route("DELETE", "/b/k", ""), "DeleteObject");
    assert_string_equal(route("DELETE", "/b/k", "uploadId=x"), "AbortMultipartUpload");
    assert_string_equal(route("POST", "/b/k", "uploads"), "CreateMultipartUpload");
    assert_string_equal(route("POST", "/b/k", "uploadId=x"), "CompleteMultipartUpload");
    assert_string_equal(route("GET", "/b", "uploads"), "ListMultipartUploads");
    assert_string_equal(route("GET", "/b", "versions"), "ListObjectVersions");
}

static json_t *decode(const char *opname, const char *path, const char *query, const proto_header_t *h, size_t nh,
                      const char *body, arena_t *a, aws_error_t *err)
{
    const model_op_t *op = model_op_lookup(s3(), strv_from(opname));
    assert_non_null(op);
    return proto_rest_xml_decode(s3(), op, strv_from(path), strv_from(query), h, nh, strv_from(body), a, err);
}

static void test_decode_bindings(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a);
    aws_error_t err = {0};
    proto_header_t h[] = {
        {STRV_LIT("Content-Type"), STRV_LIT("text/plain")},
        {STRV_LIT("x-amz-meta-Color"), STRV_LIT("blue")},
        {STRV_LIT("If-Modified-Since"), STRV_LIT("Wed, 21 Oct 2015 07:28:00 GMT")},
    };
    json_t *in = decode("PutObject", "/bkt/a%20b/c%2Fd", "", h, 3, "", &a, &err);
    assert_non_null(in);
    assert_string_equal(json_string_value(json_object_get(in, "Bucket")), "bkt");
    assert_string_equal(json_string_value(json_object_get(in, "Key")), "a b/c/d");
    assert_string_equal(json_string_value(json_object_get(in, "ContentType")), "text/plain");
    assert_string_equal(json_string_value(json_object_get(json_object_get(in, "Metadata"), "Color")), "blue");
    assert_null(json_object_get(in, "Body"));
    json_decref(in);

    in = decode("GetObject", "/bkt/k", "", h + 2, 1, "", &a, &err);
    assert_non_null(in);
    assert_int_equal(json_integer_value(json_object_get(in, "IfModifiedSince")), 1445412480);
    json_decref(in);

    in = decode("ListObjectsV2", "/bkt", "list-type=2&max-keys=7&prefix=a%2Fb&encoding-type=url", NULL, 0, "", &a,
                &err);
    assert_non_null(in);
    assert_int_equal(json_integer_value(json_object_get(in, "MaxKeys")), 7);
    assert_string_equal(json_string_value(json_object_get(in, "Prefix")), "a/b");
    assert_string_equal(json_string_value(json_object_get(in, "EncodingType")), "url");
    json_decref(in);

    in = decode("ListObjectsV2", "/bkt", "list-type=2&max-keys=seven", NULL, 0, "", &a, &err);
    assert_null(in);
    assert_string_equal(err.code, "InvalidArgument");
    arena_destroy(&a);
}

static void test_decode_xml(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a);
    aws_error_t err = {0};
    json_t *in = decode("CreateBucket", "/bkt", "", NULL, 0,
                        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                        "<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
                        &a, &err);
    assert_non_null(in);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(in, "CreateBucketConfiguration"), "LocationConstraint")),
        "eu-west-1");
    json_decref(in);

    in = decode("DeleteObjects", "/bkt", "delete", NULL, 0,
                "<?xml version=\"1.0\"?><Delete><Quiet>true</Quiet><Object><Key>a</Key></Object>"
                "<Object><Key>b&amp;c</Key><VersionId>v1</VersionId></Object></Delete>",
                &a, &err);
    assert_non_null(in);
    json_t *d = json_object_get(in, "Delete");
    assert_true(json_is_true(json_object_get(d, "Quiet")));
    json_t *objs = json_object_get(d, "Objects");
    assert_int_equal(json_array_size(objs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(objs, 1), "Key")), "b&c");
    assert_string_equal(json_string_value(json_object_get(json_array_get(objs, 1), "VersionId")), "v1");
    json_decref(in);

    in = decode("PutObjectTagging", "/bkt/k", "tagging", NULL, 0,
                "<Tagging><TagSet><Tag><Key>k1</Key><Value>v1</Value></Tag><Tag><Key>k2</Key><Value></Value></Tag>"
                "</TagSet></Tagging>",
                &a, &err);
    assert_non_null(in);
    json_t *ts = json_object_get(json_object_get(in, "Tagging"), "TagSet");
    assert_int_equal(json_array_size(ts), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ts, 1), "Value")), "");
    json_decref(in);

    in = decode("CompleteMultipartUpload", "/bkt/k", "uploadId=u", NULL, 0,
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part>"
                "<Part><PartNumber>2</PartNumber><ETag>\"y\"</ETag></Part></CompleteMultipartUpload>",
                &a, &err);
    assert_non_null(in);
    json_t *parts = json_object_get(json_object_get(in, "MultipartUpload"), "Parts");
    assert_int_equal(json_array_size(parts), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(parts, 1), "PartNumber")), 2);
    json_decref(in);

    in = decode("PutBucketPolicy", "/bkt", "policy", NULL, 0, "{\"Version\":\"2012-10-17\"}", &a, &err);
    assert_non_null(in);
    assert_string_equal(json_string_value(json_object_get(in, "Policy")), "{\"Version\":\"2012-10-17\"}");
    json_decref(in);

    static const char *bad[] = {
        "<Delete><Object><Key>a</Key></Object>",          /* unclosed */
        "<Wrong><Object><Key>a</Key></Object></Wrong>",   /* wrong root */
        "<Delete><Quiet>maybe</Quiet></Delete>",          /* not a boolean */
        "<!DOCTYPE d [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><Delete><Quiet>&b;</Quiet></Delete>",
        "not xml",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        in = decode("DeleteObjects", "/bkt", "delete", NULL, 0, bad[i], &a, &err);
        if (in)
            fail_msg("accepted: %s", bad[i]);
        assert_string_equal(err.code, "MalformedXML");
    }
    /* Too deep. */
    buf_t deep;
    buf_init(&deep, 1 << 20);
    buf_appends(&deep, "<Delete>");
    for (int i = 0; i < 100; i++)
        buf_appends(&deep, "<a>");
    for (int i = 0; i < 100; i++)
        buf_appends(&deep, "</a>");
    buf_appends(&deep, "</Delete>");
    memset(&err, 0, sizeof err);
    in = decode("DeleteObjects", "/bkt", "delete", NULL, 0, deep.data, &a, &err);
    assert_null(in);
    assert_string_equal(err.code, "MalformedXML");
    buf_destroy(&deep);
    arena_destroy(&a);
}

static char *encode(const char *opname, json_t *out, int *status, proto_header_t *h, size_t *nh, const char **ct,
                    arena_t *a)
{
    const model_op_t *op = model_op_lookup(s3(), strv_from(opname));
    buf_t b;
    buf_init(&b, 1 << 20);
    *nh = 0;
    assert_int_equal(proto_rest_xml_encode(s3(), op, out, a, status, h, nh, 16, ct, &b), 0);
    char *s = strdup(b.data);
    buf_destroy(&b);
    return s;
}

static const char *hval(const proto_header_t *h, size_t nh, const char *name)
{
    static char tmp[256];
    for (size_t i = 0; i < nh; i++)
        if (strv_caseeq_cstr(h[i].name, name)) {
            snprintf(tmp, sizeof tmp, "%.*s", (int)h[i].value.len, h[i].value.p);
            return tmp;
        }
    return NULL;
}

static void test_encode(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a);
    proto_header_t h[16];
    size_t nh;
    int status;
    const char *ct;
    json_t *out = json_pack("{s:s,s:b,s:i,s:s,s:i,s:[{s:s,s:i,s:s,s:I,s:s}],s:[{s:s}]}", "Name", "bkt", "IsTruncated",
                            0, "KeyCount", 1, "Prefix", "", "MaxKeys", 1000, "Contents", "Key", "a<b", "LastModified",
                            1700000000, "ETag", "\"e\"", "Size", (json_int_t)5, "StorageClass", "STANDARD",
                            "CommonPrefixes", "Prefix", "d/");
    char *x = encode("ListObjectsV2", out, &status, h, &nh, &ct, &a);
    assert_int_equal(status, 200);
    assert_string_equal(ct, "application/xml");
    assert_non_null(strstr(x, "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"));
    assert_non_null(strstr(x, "<Contents><Key>a&lt;b</Key><LastModified>2023-11-14T22:13:20.000Z</LastModified>"
                              "<ETag>&quot;e&quot;</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass>"
                              "</Contents>"));
    assert_non_null(strstr(x, "<CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes>"));
    assert_non_null(strstr(x, "<IsTruncated>false</IsTruncated>"));
    free(x);
    json_decref(out);

    out = json_pack("{s:[{s:s,s:s}]}", "TagSet", "Key", "k", "Value", "v");
    x = encode("GetObjectTagging", out, &status, h, &nh, &ct, &a);
    assert_non_null(strstr(x, "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet><Tag><Key>k</Key>"
                              "<Value>v</Value></Tag></TagSet></Tagging>"));
    free(x);
    json_decref(out);

    out = json_pack("{s:s}", "LocationConstraint", "eu-west-1");
    x = encode("GetBucketLocation", out, &status, h, &nh, &ct, &a);
    assert_non_null(
        strstr(x, "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">eu-west-1</LocationConstraint>"));
    free(x);
    json_decref(out);

    out = json_pack("{s:s,s:I,s:s,s:i,s:{s:s}}", "ETag", "\"abc\"", "ContentLength", (json_int_t)10, "ContentType",
                    "text/plain", "LastModified", 1445412480, "Metadata", "color", "blue");
    x = encode("HeadObject", out, &status, h, &nh, &ct, &a);
    assert_string_equal(x, "");
    assert_null(ct);
    assert_string_equal(hval(h, nh, "ETag"), "\"abc\"");
    assert_string_equal(hval(h, nh, "Content-Type"), "text/plain");
    assert_string_equal(hval(h, nh, "Last-Modified"), "Wed, 21 Oct 2015 07:28:00 GMT");
    assert_string_equal(hval(h, nh, "x-amz-meta-color"), "blue");
    assert_null(hval(h, nh, "Content-Length"));
    free(x);
    json_decref(out);

    out = json_pack("{s:{s:s,s:i}}", "CopyObjectResult", "ETag", "\"e\"", "LastModified", 0);
    x = encode("CopyObject", out, &status, h, &nh, &ct, &a);
    assert_non_null(strstr(x, "<CopyObjectResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><ETag>&quot;e&quot;"
                              "</ETag><LastModified>1970-01-01T00:00:00.000Z</LastModified></CopyObjectResult>"));
    free(x);
    json_decref(out);

    out = json_pack("{s:s}", "Policy", "{\"a\":1}");
    x = encode("GetBucketPolicy", out, &status, h, &nh, &ct, &a);
    assert_string_equal(x, "{\"a\":1}");
    free(x);
    json_decref(out);

    x = encode("DeleteBucket", NULL, &status, h, &nh, &ct, &a);
    assert_int_equal(status, 204);
    free(x);
    arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_decode_bindings),
        cmocka_unit_test(test_decode_xml),
        cmocka_unit_test(test_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
