"""Real recorded model replies (shared/model-edit-samples) through the parser and the applier.

Each reply either parses to edits or fails with a precise EditParseError. Where the reply itself holds enough
to rebuild the file it edits (a diff's old side, an edit block's SEARCH side), the file is rebuilt in tmp_path
and the edits must apply and produce the reply's new side.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.models import Edit
from agent.patch import ApplyError, EditParseError, GuardConfig, apply_edits, parse_model_edits

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "shared" / "model-edit-samples"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared model-edit-samples not present")

PERMISSIVE = GuardConfig(max_files=50, max_hunks=100, max_changed_lines=5000, allow_test_edits=True)
SEPARATOR = "=== unrelated line {n} kept between quoted regions ==="


def _sample_files() -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    return sorted(p for p in SAMPLES.iterdir() if p.is_file() and p.name != "MANIFEST.md")


def _diff_samples() -> list[Path]:
    return [p for p in _sample_files() if p.name.startswith("gpt-engineer-")]


def _aider_turns(path: Path) -> list[tuple[str, list[str]]]:
    """Each assistant reply of an aider transcript (split at `#### ` user turns) with the files then in chat."""
    known: list[str] = []
    turns: list[tuple[str, list[str]]] = []
    current: list[str] = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        added = re.match(r"^> Added (\S+) to the chat", line)
        if added and added.group(1) not in known:
            known.append(added.group(1))
        if line.startswith("#### "):
            turns.append(("\n".join(current), list(known)))
            current = []
        current.append(line)
    turns.append(("\n".join(current), list(known)))
    return turns


@pytest.mark.parametrize("sample", _sample_files(), ids=lambda p: p.name)
def test_every_sample_parses_or_fails_precisely(sample: Path) -> None:
    text = sample.read_text(encoding="utf-8")
    try:
        edits = parse_model_edits(text)
    except EditParseError as exc:
        assert re.match(r"^block \d+ (was cut off|has no)", str(exc)), str(exc)
        return
    assert edits
    for edit in edits:
        assert edit.path and not edit.path.startswith(("a/", "b/", "/")), edit.path
        assert edit.create == (edit.search == "")


def test_truncated_aider_replies_fail_with_cut_off() -> None:
    turns = _aider_turns(SAMPLES / "aider-transcript-chat-transcript-css.md")
    outcomes = []
    for reply, known in turns:
        if "<<<<<<<" not in reply:
            continue
        try:
            outcomes.append(len(parse_model_edits(reply, known)))
        except EditParseError as exc:
            outcomes.append(str(exc))
    cut = [o for o in outcomes if isinstance(o, str)]
    assert len(cut) == 2
    assert "block 1 was cut off before `>>>>>>> UPDATED` (truncated reply?)" in cut[0]
    assert "block 1 was cut off before `=======` (truncated reply?)" in cut[1]
    assert all(o == 1 for o in outcomes if isinstance(o, int))


def _rebuild_and_apply(
    edits: list[Edit], root: Path, quote_repeats_once: bool = False
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Write each pre-existing file as its SEARCH sides joined by separator lines; return (expected, actual,
    flags). With `quote_repeats_once`, an edit repeated verbatim contributes its SEARCH side only once."""
    created = {e.path for e in edits if e.create}
    olds: dict[str, list[str]] = {}
    news: dict[str, list[str]] = {}
    seen: list[Edit] = []
    for edit in edits:
        if edit.path in created or (quote_repeats_once and edit in seen):
            continue
        seen.append(edit)
        olds.setdefault(edit.path, []).append(edit.search)
        news.setdefault(edit.path, []).append(edit.replace)

    def joined(parts: list[str]) -> str:
        return "".join(part + SEPARATOR.format(n=n) + "\n" for n, part in enumerate(parts))

    for path, parts in olds.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(joined(parts), encoding="utf-8")
    result = apply_edits(root, edits, PERMISSIVE)
    expected = {path: joined(parts) for path, parts in news.items()}
    actual = {path: (root / path).read_text(encoding="utf-8") for path in {e.path for e in edits}}
    return expected, actual, result.flags


RECONSTRUCTIBLE = [
    "gpt-engineer-apps_benchmark_6_chat.txt",
    "gpt-engineer-apps_benchmark_6_v2_chat.txt",
    "gpt-engineer-controller_chat.txt",
    "gpt-engineer-create_two_new_files_chat.txt",
    "gpt-engineer-simple_calculator_chat.txt",
    "gpt-engineer-task_master_chat.txt",
    "gpt-engineer-temperature_converter_chat.txt",
    "gpt-engineer-vgvishesh_example_2_chat.txt",
    "gpt-engineer-vgvishesh_example_chat.txt",
    "gpt-engineer-wheaties_example_chat.txt",
]


@pytest.mark.parametrize("name", RECONSTRUCTIBLE)
def test_diff_reply_applies_to_file_rebuilt_from_its_old_side(name: str, tmp_path: Path) -> None:
    edits = parse_model_edits((SAMPLES / name).read_text(encoding="utf-8"))
    expected, actual, _ = _rebuild_and_apply(edits, tmp_path)
    for path, text in expected.items():
        assert actual[path] == text
    for edit in edits:
        edited_later = any(not other.create and other.path == edit.path for other in edits)
        if edit.create and not edited_later:
            assert actual[edit.path] == edit.replace
        elif not edit.create:
            assert edit.replace in actual[edit.path]


def test_wheaties_identical_hunks_change_each_quoted_place_once(tmp_path: Path) -> None:
    """30 one-line hunks; six are the same edit, repeated because the same two lines occur six times."""
    edits = parse_model_edits(
        (SAMPLES / "gpt-engineer-wheaties_example_chat.txt").read_text(encoding="utf-8")
    )
    assert len(edits) == 30
    expected, actual, flags = _rebuild_and_apply(edits, tmp_path)
    assert actual == expected
    assert any(re.match(r"edit \d+ and its 5 identical repeats changed 6 places", flag) for flag in flags)


def test_theo_reply_repeated_by_the_tool_applies_each_edit_once(tmp_path: Path) -> None:
    """The recorded reply is followed by a verbatim copy of itself: the copy must not be applied twice."""
    edits = parse_model_edits((SAMPLES / "gpt-engineer-theo_case_chat.txt").read_text(encoding="utf-8"))
    assert [e.path for e in edits] == ["run.py", "dockerfile", "run.py", "dockerfile"]
    expected, actual, flags = _rebuild_and_apply(edits, tmp_path, quote_repeats_once=True)
    assert actual["dockerfile"] == expected["dockerfile"]
    assert actual["run.py"] == edits[0].replace
    assert "edit 3 repeats edit 1 and was applied once" in flags
    assert "edit 4 repeats edit 2 and was applied once" in flags


def test_zbf_second_diff_on_same_file_does_not_match_and_names_closest_lines(tmp_path: Path) -> None:
    """The reply's second diff of application.yml quotes lines (`profiles:`) its first diff never created."""
    edits = parse_model_edits((SAMPLES / "gpt-engineer-zbf_yml_missing_chat.txt").read_text(encoding="utf-8"))
    yml = tmp_path / "src/main/resources/application.yml"
    yml.parent.mkdir(parents=True)
    yml.write_text(edits[1].search, encoding="utf-8")
    before = yml.read_bytes()
    with pytest.raises(ApplyError) as info:
        apply_edits(tmp_path, edits, PERMISSIVE)
    message = str(info.value)
    assert message.startswith("edit 3 (src/main/resources/application.yml): the SEARCH text does not match")
    assert re.search(r"closest lines in src/main/resources/application.yml are \d+-\d+:\n\s*\d+ \| ", message)
    assert yml.read_bytes() == before
    assert not (tmp_path / "src/main/resources/application-local.yml").exists()


@pytest.mark.parametrize(
    "name",
    [
        "aider-transcript-complex-change.md",
        "aider-transcript-semantic-search-replace.md",
        "aider-transcript-chat-transcript-css.md",
    ],
)
def test_aider_turns_apply_to_files_rebuilt_from_their_original_side(name: str, tmp_path: Path) -> None:
    applied = 0
    flags: list[str] = []
    for number, (reply, known) in enumerate(_aider_turns(SAMPLES / name)):
        try:
            edits = parse_model_edits(reply, known)
        except EditParseError as exc:
            assert "cut off" in str(exc) or str(exc).startswith("no edit blocks found"), str(exc)
            continue
        root = tmp_path / f"turn{number}"
        root.mkdir()
        expected, actual, turn_flags = _rebuild_and_apply(edits, root)
        assert actual == expected
        applied += len(edits)
        flags += turn_flags
    assert applied >= 3
    if name == "aider-transcript-complex-change.md":  # its last reply repeats one block for 3 call sites
        assert any(flag.endswith("and its 2 identical repeats changed 3 places") for flag in flags)
