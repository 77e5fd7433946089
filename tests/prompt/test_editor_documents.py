"""Prompt documents: positions in code units, the regions of each kind of file, services over files."""

import json
from pathlib import PurePath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anima_prompt.editor import Edit, EditorServices
from anima_prompt.editor.document_services import FIX_ALL_TITLE, DocumentServices
from anima_prompt.editor.documents import Document, DocumentKind, document_kind, is_wildcard_file
from anima_prompt.editor.positions import LineIndex
from anima_prompt.lint import Linter, LintSettings

# -- positions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "columns"),
    [("utf-16", [0, 1, 3, 4]), ("utf-8", [0, 1, 5, 6]), ("utf-32", [0, 1, 2, 3])],
)
def test_columns_count_the_encodings_code_units(encoding: str, columns: list[int]) -> None:
    lines = LineIndex("a😀b\n", encoding)  # type: ignore[arg-type]
    assert [lines.position(offset)[1] for offset in range(4)] == columns
    assert [lines.offset(0, column) for column in columns] == [0, 1, 2, 3]


def test_lines_end_at_every_kind_of_line_break() -> None:
    lines = LineIndex("ab\r\ncd\ref\ngh")
    assert [lines.position(offset) for offset in (0, 2, 3, 4, 7, 10, 12)] == [
        (0, 0), (0, 2), (0, 2), (1, 0), (2, 0), (3, 0), (3, 2)
    ]  # fmt: skip
    assert lines.offset(1, 99) == 6  # past the end of a line: its end
    assert lines.offset(9, 0) == 12  # past the last line: the end of the text
    assert lines.offset(0, 1) == 1


def test_a_column_inside_a_surrogate_pair_is_the_characters_end() -> None:
    assert LineIndex("😀x").offset(0, 1) == 1


@given(st.text(alphabet=st.sampled_from("ab\n\r é😀"), max_size=30))
def test_offsets_survive_a_round_trip(text: str) -> None:
    lines = LineIndex(text)
    for offset in range(len(text) + 1):
        if text[offset - 1 : offset + 1] == "\r\n":
            continue  # between `\r` and `\n`: not a position of its own
        assert lines.offset(*lines.position(offset)) == offset


# -- kinds and regions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("set/img_001.txt", DocumentKind.CAPTION),
        ("ComfyUI/custom_nodes/x/wildcards/hair.txt", DocumentKind.WILDCARDS),
        ("Wildcards/sub/colours.txt", DocumentKind.WILDCARDS),
        ("prompts/a.prompt", DocumentKind.PROMPT),
        ("prompts/records.JSONL", DocumentKind.JSONL),
    ],
)
def test_document_kind_from_the_path(path: str, kind: DocumentKind) -> None:
    assert document_kind(PurePath(path)) is kind


def test_configured_patterns_make_wildcard_files() -> None:
    assert is_wildcard_file(PurePath("/p/lists/hair.txt"), ("*/lists/*.txt",))
    assert not is_wildcard_file(PurePath("/p/lists/hair.txt"), ("*/other/*.txt",))
    assert not is_wildcard_file(PurePath("/p/wildcards.txt"))  # a file name is not a folder


def test_a_caption_is_the_whole_file_without_its_final_line_break() -> None:
    (entry,) = Document.parse("1girl, solo\n", DocumentKind.CAPTION).entries
    assert (entry.prompt.text, entry.prompt.start, entry.prompt.end) == ("1girl, solo", 0, 11)


def test_crlf_files_map_each_line_break_to_two_characters() -> None:
    region = Document.parse("1girl\r\nsolo\r\n", DocumentKind.PROMPT).entries[0].prompt
    assert region.text == "1girl\nsolo"
    assert [region.to_document(offset) for offset in (5, 6, 10)] == [5, 7, 11]
    assert region.to_text(7) == 6


def test_wildcard_files_hold_one_prompt_per_line_and_skip_comments() -> None:
    document = Document.parse("# hair\nlong hair\r\n\nshort_hair\n", DocumentKind.WILDCARDS)
    assert [(entry.prompt.text, entry.prompt.start) for entry in document.entries] == [
        ("long hair", 7),
        ("short_hair", 19),
    ]


def test_jsonl_regions_map_through_every_kind_of_escape() -> None:
    prompt = 'say "hi",\n\tsaber \\(fate\\), é, 😀, /'
    line = json.dumps({"id": 1, "prompt": prompt, "negative": "lowres"}, ensure_ascii=True)
    document = Document.parse(f"{line}\n", DocumentKind.JSONL)
    (entry,) = document.entries
    region = entry.prompt
    assert region.text == prompt
    for offset in range(len(prompt) + 1):  # each character starts where its escape starts
        start = region.to_document(offset)
        assert line[start:].startswith(json.dumps(prompt[offset:], ensure_ascii=True)[1:])
        assert region.to_text(start) == offset
    assert entry.negative is not None and line[entry.negative.start : entry.negative.end] == "lowres"


def test_jsonl_edits_are_escaped() -> None:
    line = '{"prompt": "a\\u00e9, b"}'
    region = Document.parse(line, DocumentKind.JSONL).entries[0].prompt
    edit = region.edit(Edit(3, 5, 'c "d"'))
    assert edit == Edit(line.index(" b"), line.index(" b") + 2, 'c \\"d\\"')
    assert region.replace("aé, b") is None
    assert region.replace("aé, x") == Edit(line.index("b"), line.index("b") + 1, "x")


def test_unreadable_jsonl_lines_are_errors_on_their_line() -> None:
    text = '{"prompt": "a"}\n{"prompt": 1}\nnot json\n[1]\n{"prompt": "b", "settings": 3}\n'
    document = Document.parse(text, DocumentKind.JSONL)
    assert [entry.prompt.text for entry in document.entries] == ["a"]
    assert [(text[error.start : error.end], error.message) for error in document.errors] == [
        ('{"prompt": 1}', "'prompt' must be a string"),
        ("not json", "invalid JSON: Expecting value (column 1)"),
        ("[1]", "expected a JSON object with a 'prompt' field"),
        ('{"prompt": "b", "settings": 3}', "'settings' must be an object"),
    ]


def test_a_later_duplicate_key_wins_as_in_json_loads() -> None:
    line = '{"prompt": "first", "prompt": "second"}'
    assert Document.parse(line, DocumentKind.JSONL).entries[0].prompt.text == "second"


# -- services over documents ------------------------------------------------------------------------------


@pytest.fixture
def files(tag_index) -> DocumentServices:  # type: ignore[no-untyped-def]
    return DocumentServices(EditorServices(index=tag_index))


def test_jsonl_problems_are_the_records_findings_placed_in_the_file(
    files: DocumentServices, tag_index
) -> None:  # type: ignore[no-untyped-def]
    records = [
        {"prompt": "1girl, long_hair, \u00e9t\u00e9", "negative": "bad_hands", "settings": {"cfg": 12}},
        {"prompt": "safe, 1girl,\nsaber (fate)"},
    ]
    text = "\n".join(json.dumps(record) for record in records) + "\n"
    document = Document.parse(text, DocumentKind.JSONL)
    problems = files.diagnose(document)
    linter = Linter(index=tag_index)
    expected = []
    for entry, record in zip(document.entries, records, strict=True):
        settings = LintSettings.from_mapping(record["settings"]) if "settings" in record else None
        for finding in linter.lint(record["prompt"], negative=record.get("negative"), settings=settings):
            if finding.span is None:
                expected.append((finding.code, *entry.settings_span))
                continue
            region = entry.prompt if finding.target.value == "prompt" else entry.negative
            assert region is not None
            expected.append(
                (finding.code, region.to_document(finding.span.start), region.to_document(finding.span.end))
            )
    assert sorted((p.code, p.start, p.end) for p in problems) == sorted(expected)
    underscore = next(p for p in problems if p.code == "ANM-TAG-001" and p.target == "prompt")
    assert text[underscore.start : underscore.end] == "long_hair"
    settings_problem = next(p for p in problems if p.target == "settings")
    assert text[settings_problem.start : settings_problem.end] == '{"cfg": 12}'


def test_jsonl_settings_the_linter_has_no_use_for_are_skipped_as_lint_file_does(
    files: DocumentServices,
) -> None:
    record = {"prompt": "safe, 1girl", "settings": {"cfg": 12, "batch": 4, "scheduler": "Karras", "shift": 3}}
    problems = files.diagnose(Document.parse(json.dumps(record) + "\n", DocumentKind.JSONL))
    assert [(p.code, p.target) for p in problems if p.target == "settings"] == [("ANM-CFG-001", "settings")]


def test_fix_all_and_format_give_what_the_cli_gives(files: DocumentServices, tag_index) -> None:  # type: ignore[no-untyped-def]
    prompts = ["1girl,long_hair, saber (fate)", "smile , Blue_Eyes"]
    text = "\n".join(json.dumps({"prompt": prompt}, ensure_ascii=True) for prompt in prompts) + "\n"
    document = Document.parse(text, DocumentKind.JSONL)
    action = files.fix_all(document)
    assert action is not None and action.title == FIX_ALL_TITLE
    fixed = _apply(text, action.edits)
    linter = Linter(index=tag_index)
    assert [json.loads(line)["prompt"] for line in fixed.splitlines()] == [linter.fix(p) for p in prompts]
    assert files.fix_all(Document.parse(fixed, DocumentKind.JSONL)) is None
    formatted = _apply(text, files.format(document))
    assert [json.loads(line)["prompt"] for line in formatted.splitlines()] == [
        files.services.format(prompt) for prompt in prompts
    ]


def test_actions_edit_the_file(files: DocumentServices) -> None:
    text = "a\nlong_hair, 1girl\n"
    document = Document.parse(text, DocumentKind.WILDCARDS)
    start = text.index("long_hair")
    actions = files.actions(document, start, start)
    fix = next(action for action in actions if action.code == "ANM-TAG-001")
    assert _apply(text, fix.edits) == "a\nlong hair, 1girl\n"
    assert actions[-1].kind == "fix-all"


def test_completion_and_hover_inside_a_json_string(files: DocumentServices) -> None:
    text = '{"prompt": "1girl, \\"x\\", sab"}'
    document = Document.parse(text, DocumentKind.JSONL)
    completions = files.complete(document, text.index("sab") + 3)
    assert text[completions.start : completions.end] == "sab"
    saber = next(item for item in completions.items if "saber" in item.insert)
    assert saber.insert == "saber \\\\(fate\\\\)"  # `saber \(fate\)`, escaped for JSON
    text = '{"prompt": "\\"a\\", long hair"}'
    hover = files.hover(Document.parse(text, DocumentKind.JSONL), text.index("ong"))
    assert hover is not None and hover.name == "long_hair"
    assert text[hover.start : hover.end] == "long hair"
    assert files.complete(document, 2).items == ()  # outside the prompt


def _apply(text: str, edits: tuple[Edit, ...]) -> str:
    for edit in sorted(edits, key=lambda edit: edit.start, reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text
