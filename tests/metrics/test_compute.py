"""Remediation metrics against a small backfilled history whose every number was worked out by hand (the
arithmetic is in the comments)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.metrics.compute import report, spread
from agent.metrics.lives import FindingLife, ProposalLife


def t(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


UNTIL = t(3, 2)  # a Monday
LIVES = [
    FindingLife("A", t(1, 5), "high", tier=1, fixed_at=t(1, 7), due=t(1, 12), fixed_by="suture",
                first_proposal_at=t(1, 5, 12), first_review_at=t(1, 6)),
    FindingLife("B", t(1, 5), "high", tier=1, fixed_at=t(1, 15), due=t(1, 12), fixed_by="manual",
                first_proposal_at=t(1, 6), first_review_at=t(1, 9)),
    FindingLife("C", t(1, 6), "high", tier=1, fixed_at=t(1, 10), fixed_by="manual"),
    FindingLife("D", t(1, 6), "high", tier=1, due=t(1, 20)),
    FindingLife("E", t(1, 12), "low", tier=3, fixed_at=t(2, 11), due=t(4, 1), fixed_by="manual"),
    FindingLife("F", t(2, 23), "low", tier=3, due=t(3, 30)),
]
PROPOSALS = [
    ProposalLife("p1", "A", "builtin", t(1, 5, 12), decision="approved", decided_at=t(1, 6), exported=True,
                 merged=True),
    ProposalLife("p2", "B", "builtin", t(1, 6), decision="rejected", decided_at=t(1, 9)),
    ProposalLife("p3", "D", "llm", t(1, 7), model="gpt-x", prompt_hash="abc", decision="approved",
                 decided_at=t(1, 8), exported=True),
    ProposalLife("p4", "F", "llm", t(2, 24), model="gpt-x", prompt_hash="abc"),
]


def test_mttr_by_severity_and_tier_matches_the_hand_computation():
    r = report(LIVES, PROPOSALS, until=UNTIL)
    high, low = r.mttr
    assert high.group == {"severity": "high", "tier": "tier 1"}
    # A 2 d, B 10 d, C 4 d: mean 16/3 = 5.33, median 4, p90 at rank 0.9*(3-1) = 1.8 → 4 + 0.8*(10-4) = 8.8
    assert (high.fixed, high.open) == (3, 1)
    assert (high.days.mean, high.days.median, high.days.p90) == (5.33, 4.0, 8.8)
    # E: 12 Jan → 11 Feb = 30 d; F still open
    assert low.group == {"severity": "low", "tier": "tier 3"}
    assert (low.fixed, low.open, low.days.median, low.days.p90) == (1, 1, 30.0, 30.0)


def test_weekly_velocity_and_backlog():
    weeks = {w.week: (w.new, w.fixed, w.backlog) for w in report(LIVES, PROPOSALS, until=UNTIL).velocity}
    assert next(iter(weeks)) == "2026-01-05" and len(weeks) == 8
    assert weeks["2026-01-05"] == (4, 2, 2)  # A B C D in; A, C fixed; B and D left
    assert weeks["2026-01-12"] == (1, 1, 2)  # E in; B fixed; D, E left
    assert weeks["2026-01-19"] == (0, 0, 2)
    assert weeks["2026-02-09"] == (0, 1, 1)  # E fixed on the 11th
    assert weeks["2026-02-23"] == (1, 0, 2)  # F in


def test_sla_compliance_counts_open_past_due_as_missed():
    high, low = report(LIVES, PROPOSALS, until=UNTIL).sla
    assert (high.met, high.missed, high.open, high.compliance) == (1, 2, 0, 0.3333)  # A met; B late; D open past due
    assert (low.met, low.missed, low.open, low.compliance) == (1, 0, 1, 1.0)  # E met; F inside its SLA


def test_response_times_proposal_rates_and_fix_sources():
    r = report(LIVES, PROPOSALS, until=UNTIL)
    assert (r.time_to_first_proposal.count, r.time_to_first_proposal.median) == (2, 0.75)  # 0.5 d and 1 d
    assert (r.time_to_first_review.count, r.time_to_first_review.median) == (2, 2.5)  # 1 d and 4 d
    assert r.fixed_by == {"suture": 1, "manual": 3}
    builtin, llm = r.proposals
    assert builtin.group == {"engine": "builtin", "model": "no model", "prompt_hash": "no prompt_hash"}
    assert (builtin.approved, builtin.rejected, builtin.acceptance_rate, builtin.merge_rate) == (1, 1, 0.5, 1.0)
    assert llm.group["model"] == "gpt-x"
    assert (llm.proposals, llm.acceptance_rate, llm.exported, llm.merged, llm.merge_rate) == (2, 1.0, 1, 0, 0.0)


def test_a_window_counts_only_fixes_inside_it():
    r = report(LIVES, PROPOSALS, until=UNTIL, since=t(2, 1))
    high, low = r.mttr
    assert (high.fixed, high.open, high.days.median) == (0, 1, None)  # D still open; A B C fixed before the window
    assert (low.fixed, low.days.median) == (1, 30.0)
    assert next(w.week for w in r.velocity) == "2026-01-26"  # the week holding 1 Feb
    assert [p.proposals for p in r.proposals] == [1]  # only p4 was drafted in February


def test_other_breakdowns_and_bad_keys():
    by_team = report([FindingLife("X", t(1, 5), team="payments", fixed_at=t(1, 6)), FindingLife("Y", t(1, 5))],
                     [], until=UNTIL, by=["team"]).mttr
    assert [(row.group["team"], row.fixed, row.open) for row in by_team] == [("no team", 0, 1), ("payments", 1, 0)]
    with pytest.raises(ValueError, match="unknown breakdown 'colour'"):
        report(LIVES, PROPOSALS, until=UNTIL, by=["colour"])


def test_spread_of_nothing_and_of_one():
    assert spread([]).model_dump() == {"count": 0, "mean": None, "median": None, "p90": None}
    assert spread([3.0]).p90 == 3.0
