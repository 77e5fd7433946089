"""Autofix: fixes never overlap, fixing twice changes nothing, natural-language text is never changed;
and no text makes the linter raise."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anima_prompt import fix, lint, parse
from anima_prompt.lint import apply_fixes
from anima_prompt.lint.analysis import Kind, analyse
from anima_prompt.lint.findings import Fix

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
