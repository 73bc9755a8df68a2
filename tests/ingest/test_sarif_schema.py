"""Schema warnings: whole logs checked whole, a big run's results sampled at their real indexes, and lines that
say what was not checked."""

from __future__ import annotations

import itertools

import pytest

from agent.ingest import sarif_schema
from agent.ingest.sarif_schema import sample_indexes, schema_problems


def _log(results: list[dict]) -> dict:
    return {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": results}]}


def _result(index: int, bad: bool = False) -> dict:
    region = {"startLine": 0 if bad else index + 1}  # startLine has minimum 1
    return {"ruleId": "R1", "message": {"text": f"result {index}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f"f{index}.py"}, "region": region}}]}


@pytest.mark.parametrize(("count", "size"), [(0, 5), (3, 5), (5, 5), (6, 5), (101, 10), (20_000, 256), (7, 2)])
def test_sample_is_evenly_spaced_from_first_to_last(count: int, size: int):
    picked = sample_indexes(count, size)
    if count <= size:
        assert picked == list(range(count))
        return
    assert len(picked) == size and picked == sorted(set(picked))
    assert picked[0] == 0 and picked[-1] == count - 1
    gaps = {b - a for a, b in itertools.pairwise(picked)}
    assert max(gaps) - min(gaps) <= 1  # evenly spaced


def test_a_small_run_is_checked_whole_and_a_problem_keeps_its_index():
    results = [_result(i, bad=i == 57) for i in range(60)]
    problems = schema_problems(_log(results))
    assert len(problems) == 1
    assert problems[0].startswith("at runs/0/results/57/locations/0/physicalLocation/region/startLine: ")


def test_a_big_run_is_sampled_and_its_problems_point_at_the_real_results(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sarif_schema, "SAMPLE_RESULTS", 10)
    results = [_result(i, bad=True) for i in range(100)]
    problems = schema_problems(_log(results), limit=3)
    assert problems[0] == ("results checked: 10 of 100 in run 0 (evenly spaced; a large run's results are "
                           "sampled)")
    wheres = [p.split(":")[0] for p in problems[1:4]]
    assert wheres == [f"at runs/0/results/{i}/locations/0/physicalLocation/region/startLine"
                      for i in sample_indexes(100, 10)[:3]]
    assert problems[4] == "... and 7 more schema problems"  # the sample's 10, three shown
    assert len(problems) == 5


def test_a_lone_bad_result_outside_the_sample_is_not_claimed_checked(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sarif_schema, "SAMPLE_RESULTS", 10)
    results = [_result(i, bad=i == 50) for i in range(100)]
    assert 50 not in sample_indexes(100, 10)
    # nothing found, but the line says only 10 of the 100 were looked at
    assert schema_problems(_log(results)) == [
        "results checked: 10 of 100 in run 0 (evenly spaced; a large run's results are sampled)"]


def test_the_rest_of_a_sampled_log_is_checked_whole(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sarif_schema, "SAMPLE_RESULTS", 10)
    log = _log([_result(i) for i in range(100)])
    log["runs"][0]["tool"]["driver"]["rules"] = [{"id": 5}]  # a rule id must be a string
    log["runs"].append({"tool": {"driver": {"name": "u"}}, "results": [_result(0, bad=True)]})
    problems = schema_problems(log)
    assert problems[0].startswith("results checked: 10 of 100 in run 0")
    assert any(p.startswith("at runs/0/tool/driver/rules/0/id: ") for p in problems)
    assert any(p.startswith("at runs/1/results/0/locations/0/physicalLocation/region/startLine: ")
               for p in problems)
    assert log["runs"][0]["results"][99]["message"]["text"] == "result 99"  # the caller's log is left whole
    assert len(log["runs"][0]["results"]) == 100


def test_the_limit_counts_problems_not_the_lines_about_sampling(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sarif_schema, "SAMPLE_RESULTS", 4)
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}},
                                         "results": [_result(i, bad=True) for i in range(10)]} for _ in range(3)]}
    problems = schema_problems(log, limit=2)
    assert [p.startswith("results checked: 4 of 10 in run ") for p in problems[:3]] == [True] * 3
    assert [p.startswith("at runs/0/results/") for p in problems[3:5]] == [True, True]
    assert problems[5:] == ["... and 10 more schema problems"]  # 3 runs x 4 sampled results, 2 shown
