"""Editor services: diagnostics, completion, hover, actions and formatting over the small tag index."""

import dataclasses
import json

import pytest

from anima_prompt import lint, normalize, parse, render
from anima_prompt.editor import Action, Edit, EditorServices
from anima_prompt.editor.completion import TagCompleter, word_bounds
from anima_prompt.errors import EditorInputError
from anima_prompt.lint import LintConfig
from tests.prompt import lint_support

small_index = lint_support.small_index  # the linter tests' tag index


@pytest.fixture
def services(tag_index) -> EditorServices:  # type: ignore[no-untyped-def]
    return EditorServices(index=tag_index)


def test_diagnose_reports_what_lint_reports(services: EditorServices, tag_index) -> None:  # type: ignore[no-untyped-def]
    text = "1girl, long_hair, saber (fate), wlop"
    problems = services.diagnose(text, negative="bad_hands", settings={"cfg": 12})
    findings = lint(text, negative="bad_hands", settings={"cfg": 12}, index=tag_index)
    assert [(p.code, p.target, p.start, p.end) for p in problems] == [
        (f.code, f.target.value, f.span.start if f.span else 0, f.span.end if f.span else 0) for f in findings
    ]
    underscore = next(p for p in problems if p.code == "ANM-TAG-001" and p.target == "prompt")
    assert (underscore.severity, underscore.fix) == ("warning", Edit(7, 16, "long hair"))
    assert {p.target for p in problems} == {"prompt", "negative", "settings"}


def test_results_are_json_ready(services: EditorServices) -> None:
    text = "1girl, long_hair"
    values = [
        *services.diagnose(text),
        services.complete(text, 9),
        services.hover(text, 2),
        *services.actions(text, 0, len(text)),
    ]
    for value in values:
        assert dataclasses.is_dataclass(value)
        json.dumps(dataclasses.asdict(value))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "offset", "bounds"),
    [
        ("1girl, hats", 11, (7, 11)),
        ("1girl, (blue ey", 15, (8, 15)),
        ("1girl, hats, smile", 9, (7, 11)),  # the whole word is replaced, not only what precedes the cursor
        ("saber \\(fa", 10, (0, 10)),  # an escaped bracket belongs to the word
        ("She waves. lo", 13, (11, 13)),  # a sentence end starts a new word
        ("(blue eyes:1.", 13, None),  # a weight
        ("<lora:sty", 9, None),  # a LoRA tag
        ("1girl, ", 7, (7, 7)),
    ],
)
def test_word_bounds(text: str, offset: int, bounds: tuple[int, int] | None) -> None:
    assert word_bounds(text, offset) == bounds


def test_completion_by_prefix_most_posts_first(services: EditorServices) -> None:
    result = services.complete("1girl, hats", 11)
    assert (result.start, result.end) == (7, 11)
    assert [item.insert for item in result.items] == ["hatsune miku", "hatsune miku \\(append\\)"]
    first = result.items[0]
    assert (first.category, first.post_count, first.match, first.alias_of) == (
        "character",
        110000,
        "prefix",
        None,
    )


def test_completion_inserts_escapes_and_at(services: EditorServices) -> None:
    assert services.complete("sab", 3).items[0].insert == "saber \\(fate\\)"
    artist = services.complete("1girl, @wl", 10)
    assert [item.insert for item in artist.items] == ["@wlop"]
    assert artist.items[0].category == "artist"
    # An artist found without the `@` is still inserted with it: Anima needs it.
    assert services.complete("wlo", 3).items[0].insert == "@wlop"


def test_completion_through_an_alias_is_labelled(services: EditorServices) -> None:
    item = services.complete("sole_fe", 7).items[0]
    assert (item.label, item.insert, item.alias_of, item.match) == ("sole female", "1girl", "1girl", "alias")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("hatsnue miku", "hatsune miku"), ("long hiar", "long hair"), ("blue eyse", "blue eyes")],
)
def test_completion_finds_typos_when_no_prefix_matches(
    services: EditorServices, typed: str, meant: str
) -> None:
    items = services.complete(f"1girl, {typed}", 7 + len(typed)).items
    assert [(item.insert, item.match) for item in items[:1]] == [(meant, "fuzzy")]


def test_no_completion_in_weights_lora_tags_or_without_index() -> None:
    bare = EditorServices()
    assert bare.complete("1girl, hats", 11).items == ()
    assert bare.hover("1girl", 1) is None


def test_short_prefixes_are_kept_and_match_the_index(tag_index) -> None:  # type: ignore[no-untyped-def]
    completer = TagCompleter(tag_index)
    completer.warm()
    for key in ("h", "ha", "lo", "1", "w"):
        kept = completer.complete(key, len(key), limit=10).items
        direct = [info.prompt for info in tag_index.search(key, limit=10)]
        assert [item.insert for item in kept] == direct


def test_hover_on_a_tag(services: EditorServices) -> None:
    text = "1girl, very long hair, @wlop"
    hover = services.hover(text, 10)
    assert hover is not None
    assert (hover.start, hover.end, hover.name, hover.category) == (7, 21, "very_long_hair", "general")
    assert hover.implies == ("long hair",)
    assert hover.implied_by == ("absurdly long hair",)
    artist = services.hover(text, 25)
    assert artist is not None and (artist.insert, artist.category) == ("@wlop", "artist")


def test_hover_on_an_alias_names_the_tag(services: EditorServices) -> None:
    hover = services.hover("sole_female, smile", 3)
    assert hover is not None and (hover.name, hover.alias_of) == ("1girl", "1girl")
    assert "sole female" in hover.aliases


def test_hover_outside_tags_or_on_unknown_tags_is_none(services: EditorServices) -> None:
    assert services.hover("1girl, zzqx", 9) is None
    assert services.hover("She waves at the viewer.", 5) is None


def test_tag_describes_any_spelling(services: EditorServices) -> None:
    found = services.tag("Hatsune_Miku")
    assert found is not None and found.implied_by == ("hatsune miku (append)",)
    assert services.tag("no such tag at all") is None


def test_actions_offer_fixes_suggestions_and_fix_all(services: EditorServices) -> None:
    text = "1girl, long_hair, wlop"
    actions = services.actions(text, 7, 7)
    assert actions[0] == Action(
        "Replace with `long hair`", "fix", "ANM-TAG-001", "prompt", (Edit(7, 16, "long hair"),)
    )
    assert actions[-1].kind == "fix-all"
    fixed = actions[-1].edits[0]
    assert (fixed.start, fixed.end) == (0, len(text))
    assert fixed.text == services.linter.fix(text)
    # Outside any problem only "fix all" remains.
    assert [action.kind for action in services.actions(text, 5, 6)] == ["fix-all"]


def test_a_suggestion_for_a_place_is_inserted_as_an_item(services: EditorServices) -> None:
    text = "1girl, smile"
    safety = [action for action in services.actions(text, 0, 0) if action.code == "ANM-SAFE-001"]
    assert safety[0].edits == (Edit(0, 0, "safe, "),)
    assert safety[0].title == "Insert `safe`"


def test_actions_replace_with_suggestions(services: EditorServices) -> None:
    actions = services.actions("1girl, sole_female", 9, 9)
    alias = [action for action in actions if action.code == "ANM-TAG-005"]
    assert alias and alias[0].edits == (Edit(7, 18, "1girl"),)


def test_problems_carry_their_actions(services: EditorServices) -> None:
    problems = services.diagnose("safe, 1girl, long_hair", negative="lowres")
    underscore = next(problem for problem in problems if problem.code == "ANM-TAG-001")
    assert [action.edits for action in underscore.actions] == [(Edit(13, 22, "long hair"),)]


def test_a_suggestion_for_the_negative_prompt_edits_the_negative_prompt(services: EditorServices) -> None:
    problems = services.diagnose("safe, 1girl", negative="lowres")
    (problem,) = [problem for problem in problems if problem.code == "ANM-SAFE-004"]
    (action,) = problem.actions
    assert (action.target, action.edits) == ("negative", (Edit(6, 6, ", nsfw, explicit"),))
    assert action.title == "Add `nsfw, explicit` to the negative prompt"
    # `actions` works on the prompt alone and leaves out edits of another text.
    assert all(action.target == "prompt" for action in services.actions("safe, 1girl", 0, 4))


def test_advice_that_is_no_edit_has_no_action(services: EditorServices) -> None:
    problems = services.diagnose("1girl, safe, explicit")
    (conflict,) = [problem for problem in problems if problem.code == "ANM-SAFE-002"]
    assert conflict.suggestions and conflict.actions == ()
    settings = [problem for problem in services.diagnose("safe, 1girl", settings={"cfg": 12})]
    assert all(problem.actions == () for problem in settings if problem.target == "settings")


def test_format_is_anima_fmt(services: EditorServices) -> None:
    text = "1girl,Long_Hair,  saber (fate)"
    assert services.format(text) == render(normalize(parse(text)))
    assert services.format(services.format(text)) == services.format(text)


@pytest.mark.parametrize("offset", [-1, 6, True])
def test_offsets_outside_the_text_are_one_line_errors(services: EditorServices, offset: int) -> None:
    with pytest.raises(EditorInputError, match=r"outside the text \(0 to 5\)"):
        services.complete("1girl", offset)


def test_a_backwards_range_is_refused(services: EditorServices) -> None:
    with pytest.raises(EditorInputError, match="ends before it starts"):
        services.actions("1girl, smile", 5, 2)


def _rule_codes() -> list[str]:
    from anima_prompt.lint.registry import all_rules

    return sorted(all_rules())


@pytest.mark.parametrize("code", _rule_codes())
def test_every_suggestion_action_solves_its_problem(code: str, small_index, real_data, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Applying a rule's suggestion to its bad example removes that problem (or at least one of them)."""
    from anima_prompt.lint.config import config_from_mapping
    from anima_prompt.lint.registry import all_rules

    root = real_data("tokenizers/qwen3/tokenizer.json", "tokenizers/t5/tokenizer.json")
    monkeypatch.setenv("ANIMA_TOKENIZERS", str(root / "tokenizers"))
    example = all_rules()[code].bad
    config = config_from_mapping(example.config, LintConfig()) if example.config else None
    services = EditorServices(index=small_index, config=config)
    texts = {"prompt": example.prompt, "negative": example.negative or ""}
    negative = example.negative

    def count() -> int:
        found = services.diagnose(texts["prompt"], negative=negative, settings=example.settings or None)
        return sum(problem.code == code for problem in found)

    problems = services.diagnose(example.prompt, negative=negative, settings=example.settings or None)
    actions = [action for problem in problems if problem.code == code for action in problem.actions]
    before = count()
    for action in actions:
        original = dict(texts)
        text = texts[action.target]
        for edit in reversed(action.edits):
            text = text[: edit.start] + edit.text + text[edit.end :]
        texts[action.target] = text
        if action.target == "negative":
            negative = text
        assert count() < before, (action, texts)
        texts = original
        negative = example.negative
