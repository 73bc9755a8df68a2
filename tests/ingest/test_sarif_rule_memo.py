"""sarif._RunContext.resolve_rule answers what sarif_rules.resolve_rule answers for every shape of result (rule ids
defined by the driver or an extension, hierarchical ids, ids no rule defines, indexes, guids, `rule` objects), though
it remembers answers per rule and answers ids no rule defines without resolving them."""

from __future__ import annotations

import pytest

from agent.ingest import sarif_rules as rules
from agent.ingest.sarif import _RunContext
from agent.ingest.sarif_labels import RuleLabelMemo
from agent.ingest.sarif_paths import PathResolver
from agent.models import utcnow

TOOL = {"driver": {"name": "scanner", "rules": [{"id": "A"}, {"id": "B/sub"}, {"id": "G", "guid": "g-1"}, "odd",
                                                {"id": 5}]},
        "extensions": [{"name": "pack", "rules": [{"id": "X"}, {"id": "Y"}]}, None]}
RESULTS = [{"ruleId": rule_id} for rule_id in ("A", "A/deeper", "B/sub", "B", "B/sub/x", "X", "Y/z", "CVE-2024-1",
                                               "CVE-2024-1", "", "unknown/with/slashes", "5")]
RESULTS += [{"ruleId": "A", "ruleIndex": 1}, {"ruleId": "nope", "ruleIndex": 0}, {"ruleIndex": 2},
            {"ruleId": "nope", "ruleGuid": "g-1"}, {"ruleGuid": "g-1"}, {"ruleId": "nope", "ruleGuid": ""},
            {"ruleId": "nope", "ruleIndex": True}, {"rule": {"id": "X", "toolComponent": {"name": "pack"}}},
            {"ruleId": "nope", "rule": {"index": 0}}, {"ruleId": 5}, {"ruleId": None}, {}]


@pytest.mark.parametrize("result", RESULTS, ids=repr)
def test_remembered_answers_are_resolved_answers(result: dict):
    run = {"tool": TOOL, "results": [result]}
    shared = _RunContext(run, 0, "scanner", PathResolver.for_run(run, None), {}, RuleLabelMemo(), utcnow())
    expected_id, expected_rule, expected_component = rules.resolve_rule(result, TOOL)
    for _ in range(2):  # first answer and remembered answer
        rule_id, rule, component = shared.resolve_rule(result)
        assert (rule_id, rule) == (expected_id, expected_rule)
        assert component is expected_component


def test_rule_ids_the_run_defines():
    assert rules.defined_rule_ids(TOOL) == {"A", "B/sub", "G", "X", "Y"}
