/* The services this binary serves, in routing order. */
#include "internal.h"

extern const svc_def_t sts_service;

const svc_def_t *const kumo_service_defs[] = {
    &sts_service,
    NULL,
};
