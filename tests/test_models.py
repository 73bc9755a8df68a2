from agent.models import TestRun


def test_test_run_summary_says_counts_or_why_not_run():
    assert TestRun(ran=True, passed=3, failed=1, errors=0).summary == "3 passed, 1 failed, 0 errors"
    assert TestRun(ran=True, passed=0, timed_out=True).summary.endswith("(timed out)")
    assert TestRun(ran=False, reason="no tests were collected").summary == "not run (no tests were collected)"
    assert TestRun(ran=False).summary == "not run (unknown reason)"
