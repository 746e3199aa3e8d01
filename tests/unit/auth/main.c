/* The auth unit test executable: every group, one process, failures summed
 * so CTest sees any of them. */
#include "test_auth.h"

int main(void)
{
    int failed = 0;
    failed += run_checksum_tests();
    failed += run_creds_tests();
    failed += run_sigv4_tests();
    failed += run_chunked_tests();
    return failed ? 1 : 0;
}
