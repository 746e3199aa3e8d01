/* Lookups over the generated model tables. Operation and shape arrays are
 * sorted by name by the generator, so lookups are binary searches. */
#include "protocol.h"

#include <string.h>

const model_service_t *model_service_lookup(const char *name)
{
    for (size_t i = 0; model_services[i]; i++)
        if (strcmp(model_services[i]->name, name) == 0)
            return model_services[i];
    return NULL;
}

static int cmp_view(strv_t a, const char *b)
{
    size_t bl = strlen(b);
    size_t n = a.len < bl ? a.len : bl;
    int c = memcmp(a.p, b, n);
    if (c)
        return c;
    return a.len < bl ? -1 : a.len > bl ? 1 : 0;
}

const model_op_t *model_op_lookup(const model_service_t *svc, strv_t name)
{
    int lo = 0, hi = svc->nops - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = cmp_view(name, svc->ops[mid].name);
        if (c == 0)
            return &svc->ops[mid];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

int model_shape_lookup(const model_service_t *svc, const char *name)
{
    int lo = 0, hi = svc->nshapes - 1;
    strv_t n = strv_from(name);
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = cmp_view(n, svc->shapes[mid].name);
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}
