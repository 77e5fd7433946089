"""Autofix: fixes never overlap, fixing twice changes nothing, natural-language text is never changed;
and no text makes the linter raise."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anima_prompt import FixError, Span, TagIndex, fix, lint, parse
from anima_prompt.lint import Linter, LintSettings, apply_fixes
from anima_prompt.lint.analysis import Kind, analyse
from anima_prompt.lint.findings import Finding, Fix, Severity
from tests.prompt import lint_support
from tests.prompt.hybrid_prompts import hybrid_prompts

small_index = lint_support.small_index

TAG_WORDS = [
    "1girl",
    "solo",
    "long_hair",
    "Blue Hair",
    "saber (fate)",
    "@wlop",
    "masterpiece",
    "safe",
    "smile",
]
PIECES = [
    *TAG_WORDS,
    "(smile:1.2)",
    "(tracer (overwatch):1.5)",
    "A girl stands in the rain (at night).",
    "She smiles, waving at the crowd.",
    "BREAK",
    "[a|b]",
    "score_9_up",
    "<lora:x_y:0.8>",
    "__wild_card__",
    "year_2026",
    "\\(escaped\\)",
]
SEPARATORS = [", ", ",", " , ", ",\n", "\n\n", ". "]

prompts = st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(SEPARATORS)), max_size=12).map(
    lambda parts: "".join(piece + separator for piece, separator in parts)
)


def phrases(text: str) -> list[str]:
    return [item.text for item in analyse(parse(text)).items if item.kind is Kind.PHRASE]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompts)
def test_fix_is_idempotent_and_keeps_prose(text: str) -> None:
    fixed = fix(text)
    assert fix(fixed) == fixed
    for sentence in phrases(text):
        if len(sentence.split()) >= 4:
            assert sentence in fixed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_text_gets_findings_not_exceptions(text: str) -> None:
    findings = lint(text, negative=text[::-1])
    for finding in findings:
        if finding.span is not None:
            source = text if finding.target.value == "prompt" else text[::-1]
            assert 0 <= finding.span.start <= finding.span.end <= len(source)
    fixed = fix(text)
    assert fix(fixed) == fixed


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="()[]{}<>\\:|,.@_ \nab1", max_size=60))
def test_bracket_soup_never_raises(text: str) -> None:
    lint(text)
    fix(text)


def test_apply_fixes_skips_overlaps_and_keeps_order() -> None:
    text = "abcdef"
    fixes = [Fix(0, 3, "X"), Fix(2, 4, "Y"), Fix(4, 4, "@"), Fix(4, 6, "Z")]
    assert apply_fixes(text, fixes) == "Xd@Z"


def test_fix_examples() -> None:
    assert fix("1girl,long_hair, saber (fate)") == "1girl, long hair, saber \\(fate\\)"
    assert fix("(tracer (overwatch):1.5), safe, 1girl") == "(tracer \\(overwatch\\):1.5), safe, 1girl"
    assert fix("1girl, solo, masterpiece, safe") == "masterpiece, safe, 1girl, solo"
    prose = "A girl reads (quietly) in the library,and Hatsune_Miku waves at her. She smiles."
    assert fix(prose) == prose
    assert fix(f"1girl,safe, {prose}") == f"1girl, safe, {prose}"


# -- properties over generated hybrid prompts, with a tag index ------------------------------------------

REGRESSIONS = (
    "<lora:x:1>wlop",  # `@` was inserted again on every round
    "<lora:x:1>Ebifurya, 1girl",
    "{red|blue} eyes, 1girl",  # became `{red|blue}, eyes`
    "((saber (fate))), Long_Hair",  # a second round escaped the group the first produced
    "1girl, saber (fate). She waves.",  # the qualifier was swallowed by the sentence
    "0(0,)",
    'title "Moon & Sun", A girl in Kyoto, Japanese garden, EasyNegative, bad_prompt_v2',
)


@pytest.fixture(scope="module")
def linter(small_index: TagIndex) -> Linter:
    return Linter(index=small_index)


def closed_texts(text: str, linter: Linter) -> list[str]:
    """What no fix may change, in order: phrases, foreign syntax and unparsable text (outermost only)."""
    texts: list[str] = []
    end = 0
    for item in linter.analyse(text).items:
        if item.kind not in (Kind.TAG, Kind.ARTIST) and item.start >= end:
            texts.append(item.text)
            end = item.end
    return texts


def kept_in_order(pieces: list[str], text: str) -> bool:
    """Whether every piece appears in `text` unchanged, one after the other."""
    position = 0
    for piece in pieces:
        found = text.find(piece, position)
        if found < 0:
            return False
        position = found + len(piece)
    return True


@pytest.mark.parametrize("text", REGRESSIONS)
def test_regressions_reach_the_fixed_point_in_one_call(text: str, linter: Linter) -> None:
    fixed = linter.fix(text)
    assert linter.fix(fixed) == fixed
    assert "@@" not in fixed


def test_regressions_are_fixed_the_right_way(linter: Linter) -> None:
    assert linter.fix("<lora:x:1>wlop") == "<lora:x:1>@wlop"
    assert linter.fix("{red|blue} eyes, 1girl") == "{red|blue} eyes, 1girl"
    assert linter.fix("((saber (fate))), Long_Hair") == "((saber \\(fate\\))), long hair"
    assert linter.fix("1girl, saber (fate). She waves.") == "1girl, saber \\(fate\\). She waves."
    prose = 'title "Moon & Sun", A girl in Kyoto, Japanese garden'
    assert linter.fix(prose) == prose
    assert linter.fix("EasyNegative, bad_prompt_v2") == "EasyNegative, bad_prompt_v2"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hybrid_prompts)
def test_fix_reaches_its_fixed_point_and_touches_only_tags_and_separators(linter: Linter, text: str) -> None:
    fixed = linter.fix(text)
    assert linter.fix(fixed) == fixed
    assert kept_in_order(closed_texts(text, linter), fixed), (text, fixed)


def test_fixes_that_never_settle_are_an_error_not_a_silent_cap() -> None:
    class Oscillating(Linter):
        """A linter whose one fix undoes itself: the text never reaches a fixed point."""

        def lint(
            self, text: str, *, negative: str | None = None, settings: LintSettings | None = None
        ) -> tuple[Finding, ...]:
            other = "b" if text == "a" else "a"
            return (
                Finding(
                    "ANM-TAG-002", "uppercase-tag", Severity.INFO, Span(0, 1, 1, 1), "m", fix=Fix(0, 1, other)
                ),
            )

    with pytest.raises(FixError, match="did not settle"):
        Oscillating().fix("a")
