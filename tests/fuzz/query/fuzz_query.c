/* Fuzz the query protocol decoder: form parsing, then decoding into every
 * SQS and IAM operation's input shape, validation, and re-encoding the
 * decoded tree as output XML. */
#include "protocol/protocol.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    arena_t a;
    arena_init(&a);
    form_param_t *ps;
    int n = form_parse(&a, (strv_t){(const char *)data, size}, &ps, 512);
    if (n >= 0) {
        static const char *const ops[][2] = {{"sqs", "SendMessageBatch"}, {"sqs", "CreateQueue"},
                                             {"sqs", "ReceiveMessage"},   {"iam", "SimulateCustomPolicy"},
                                             {"iam", "CreateRole"},       {"sts", "AssumeRole"}};
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            const model_service_t *svc = model_service_lookup(ops[i][0]);
            const model_op_t *op = model_op_lookup(svc, strv_from(ops[i][1]));
            aws_error_t err = {0};
            json_t *j = proto_query_decode(svc, op, ps, (size_t)n, &err);
            if (j) {
                aws_error_t verr = {0};
                (void)proto_validate_input(svc, op, j, &verr);
                buf_t b;
                buf_init(&b, 1 << 20);
                /* The input tree re-encoded under the input shape exercises
                 * the XML writer with hostile strings. */
                model_op_t fake = *op;
                fake.output = op->input;
                if (proto_query_encode(svc, &fake, j, "r", &b) == 0 && b.len == 0)
                    __builtin_trap();
                buf_destroy(&b);
                json_decref(j);
            }
        }
    }
    arena_destroy(&a);
    return 0;
}
