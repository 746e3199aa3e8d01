/* Fuzz the JSON protocol's input path as the front door runs it: jansson
 * parsing with kyoka's flags (through kyoka's small-object allocator, as the
 * server does), validation against SQS operations' input shapes, and the
 * tree re-encoded as JSON and as query XML. */
#include "protocol/protocol.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use_small_alloc_once(void)
{
    static bool done;
    if (!done) {
        json_set_alloc_funcs(kyoka_small_alloc, kyoka_small_free);
        done = true;
    }
}

static void encode_both(const model_service_t *svc, const model_op_t *op, json_t *j)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    if (proto_json_encode(j, &b) == 0 && b.len == 0)
        __builtin_trap(); /* an object always encodes to at least "{}" */
    buf_reset(&b);
    model_op_t as_output = *op;
    as_output.output = op->input;
    if (proto_query_encode(svc, &as_output, j, "r", &b) == 0 && b.len == 0)
        __builtin_trap(); /* a query response always has its frame */
    buf_destroy(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    use_small_alloc_once();
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return 0;
    if (json_is_object(j)) {
        static const char *const ops[] = {"SendMessageBatch", "ReceiveMessage", "CreateQueue", "SetQueueAttributes",
                                          "DeleteMessageBatch", "StartMessageMoveTask", "TagQueue"};
        const model_service_t *svc = model_service_lookup("sqs");
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            const model_op_t *op = model_op_lookup(svc, strv_from(ops[i]));
            aws_error_t err = {0};
            if (proto_validate_input(svc, op, j, &err) == (err.code != NULL))
                __builtin_trap(); /* valid exactly when no error is set */
            encode_both(svc, op, j);
        }
    }
    json_decref(j);
    return 0;
}
