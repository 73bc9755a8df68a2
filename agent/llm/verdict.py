"""Read a classification verdict out of a model reply, tolerating the ways models wrap JSON.

Accepted: a bare JSON object; one inside a ```json fence; one with prose before or after it. Label spelling is
normalised ("False Positive" -> false_positive) and a confidence given as a percentage (85 or "85%") is scaled to
0..1. Not accepted: anything that is not JSON (single-quoted keys, Python dict syntax, trailing commas) and
replies that contain two valid verdicts that disagree; those fail with a `ModelError` rather than a guess.
"""

from __future__ import annotations

import json
from typing import Any, cast

from agent.llm.errors import ModelError
from agent.models import Verdict, VerdictLabel

LABELS = ("true_positive", "false_positive", "uncertain")


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every top-level JSON object that decodes at some '{' in the text, in order of appearance."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    position = text.find("{")
    while position != -1:
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        position = text.find("{", end)
    return found


def _label(raw: Any) -> VerdictLabel:
    label = str(raw).strip().lower().replace("-", "_").replace(" ", "_")
    if label not in LABELS:
        raise ValueError(f"verdict {raw!r} is not one of {', '.join(LABELS)}")
    return cast(VerdictLabel, label)  # one of LABELS, checked above


def _confidence(raw: Any) -> float:
    if isinstance(raw, bool) or raw is None:
        raise ValueError(f"confidence {raw!r} is not a number")
    text = str(raw).strip()
    percent = text.endswith("%")
    try:
        value = float(text.rstrip("%").strip())
    except ValueError:
        raise ValueError(f"confidence {raw!r} is not a number") from None
    if percent or 1.0 < value <= 100.0:
        value /= 100.0
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"confidence {raw!r} is outside 0..1")
    return value


def _verdict_from(obj: dict[str, Any], source: str) -> Verdict:
    rationale = obj.get("rationale", obj.get("reason", ""))
    if not isinstance(rationale, str):
        rationale = json.dumps(rationale)
    return Verdict(
        verdict=_label(obj["verdict"]),
        confidence=_confidence(obj.get("confidence")),
        rationale=rationale.strip() or "(the model gave no rationale)",
        source=source,
    )


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat[:80] + ("..." if len(flat) > 80 else "")


def parse_verdict(text: str, source: str = "llm") -> Verdict:
    """The verdict in a model reply, or a one-line ModelError saying why there is none."""
    candidates = [obj for obj in _json_objects(text) if "verdict" in obj]
    if not candidates:
        hint = " (single-quoted keys are not JSON)" if "'verdict'" in text else ""
        raise ModelError(f"model reply had no JSON object with a verdict{hint}: {_preview(text)!r}")
    verdicts: list[Verdict] = []
    problems: list[str] = []
    for obj in candidates:
        try:
            verdicts.append(_verdict_from(obj, source))
        except ValueError as exc:
            problems.append(str(exc))
    if not verdicts:
        raise ModelError(f"model verdict is invalid: {problems[0]}")
    labels = {v.verdict for v in verdicts}
    if len(labels) > 1:
        raise ModelError(f"model reply gave conflicting verdicts ({', '.join(sorted(labels))}); not guessing")
    return verdicts[0]
