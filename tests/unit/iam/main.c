/* One executable for the iam component: runs every group and fails if any
 * test in any group failed. */
#include <stdio.h>

#include "helpers.h"

int main(void)
{
    int failed = 0;
    failed += run_policy_tests();
    failed += run_match_tests();
    failed += run_condition_tests();
    failed += run_evaluate_tests();
    failed += run_managed_tests();
    failed += run_decision_log_tests();
    failed += run_explain_tests();
    return failed ? 1 : 0;
}
