/* Fuzz S3's XML request bodies as the server decodes them
 * (proto_rest_xml_decode): the first byte picks one of the operations that
 * take an XML payload, the rest is the body. Invariants: decode returns NULL
 * exactly when it sets an error, and otherwise an object; a decoded tree
 * encodes back as XML against the payload's shape. Leaks and memory errors
 * are left to the sanitizers. */
#include "protocol/protocol.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ops[][3] = {
    {"DeleteObjects", "/fuzz-bucket", "delete"},
    {"CreateBucket", "/fuzz-bucket", ""},
    {"PutObjectTagging", "/fuzz-bucket/key", "tagging"},
    {"PutBucketTagging", "/fuzz-bucket", "tagging"},
    {"CompleteMultipartUpload", "/fuzz-bucket/key", "uploadId=u"},
    {"PutBucketVersioning", "/fuzz-bucket", "versioning"},
    {"PutBucketPolicy", "/fuzz-bucket", "policy"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const model_service_t *svc = model_service_lookup("s3");
    const char *const *o = ops[data[0] % (sizeof ops / sizeof ops[0])];
    const model_op_t *op = model_op_lookup(svc, strv_from(o[0]));
    arena_t a;
    arena_init(&a);
    aws_error_t err = {0};
    json_t *in = proto_rest_xml_decode(svc, op, strv_from(o[1]), strv_from(o[2]), NULL, 0,
                                       (strv_t){(const char *)data + 1, size - 1}, &a, &err);
    if ((in == NULL) != (err.code != NULL))
        abort();
    if (in) {
        if (!json_is_object(in))
            abort();
        const model_shape_t *s = &svc->shapes[op->input];
        if (s->payload >= 0) {
            const model_member_t *m = &s->members[s->payload];
            json_t *v = json_object_get(in, m->name);
            if (v && svc->shapes[m->shape].type == SHAPE_STRUCTURE) {
                buf_t b;
                buf_init(&b, 1 << 24);
                if (proto_rest_xml_write(svc, m->shape, "Root", v, &b) != 0 && !buf_err(&b))
                    abort();
                buf_destroy(&b);
            }
        }
        json_decref(in);
    }
    arena_destroy(&a);
    return 0;
}
