"""Every lint rule, parametrised over the registry: its bad example triggers it, its good example does not,
plus further trigger / near-miss cases per rule."""

import pytest

from anima_prompt.lint import Finding, LintConfig, Severity, lint
from anima_prompt.lint.registry import Example, all_rules
from tests.conftest import RealData
from tests.prompt import lint_support
from tests.prompt.lint_support import run_example

small_index = lint_support.small_index

RULES = all_rules()

# (rule id, example, whether it triggers): cases beyond each rule's documented bad/good pair.
CASES: list[tuple[str, Example, bool]] = [
    ("ANM-TAG-001", Example("year_2025, 1girl, safe"), True),
    ("ANM-TAG-001", Example("^_^, 1girl, safe"), False),
    ("ANM-TAG-001", Example("score_7, 1girl, safe"), False),
    ("ANM-TAG-001", Example("__colours__, 1girl, safe"), False),
    ("ANM-TAG-001", Example("<lora:my_style:0.8>, 1girl, safe"), False),
    ("ANM-TAG-001", Example("(@hammer_(sunset_beach):1.2), 1girl, safe"), True),
    ("ANM-TAG-002", Example("Hatsune Miku waves at the crowd. She smiles brightly on stage."), False),
    ("ANM-TAG-003", Example("1girl ,solo"), True),
    ("ANM-TAG-003", Example("A girl stands in the rain,and she smiles at the sky. She waves."), False),
    ("ANM-TAG-005", Example("1girl, 1girls, safe"), True),
    ("ANM-TAG-004", Example("1girl, masterpiece, score_7, year 2024, safe"), False),
    ("ANM-TAG-004", Example("1girl, smilling, safe"), True),
    ("ANM-TAG-004", Example("1girl, 1.4, safe"), False),  # a weight that lost its group is no tag
    # CFG 1 with few steps is a distilled recipe (a Turbo LoRA loaded outside the prompt): no Base ranges
    ("ANM-CFG-002", Example("1girl, solo, safe", settings={"cfg": 1, "steps": 12}), False),
    ("ANM-STP-001", Example("1girl, solo, safe", settings={"cfg": 1, "steps": 12}), False),
    ("ANM-STP-001", Example("1girl, solo, safe", settings={"cfg": 5, "steps": 12}), True),
    ("ANM-CFG-002", Example("1girl, solo, safe", settings={"cfg": 1, "steps": 12, "variant": "base"}), True),
    ("ANM-TAG-004", Example("1girl, a dragon asleep on a pile of books, safe"), False),  # prose
    ("ANM-TAG-004", Example("1girl, rain falling on the old harbour, safe"), False),
    ("ANM-TAG-004", Example("1girl, GoodNegative, safe"), True),  # an embedding name is no tag either
    ("ANM-TAG-002", Example("1girl, GoodNegative, safe"), False),  # but its capitals are its name
    ("ANM-TAG-001", Example("1girl, neg_embed_v3, safe"), False),
    # a widely shared negative embedding keeps the spelling of its file
    ("ANM-TAG-001", Example("1girl, safe", negative="lowres, bad_prompt, ng_deepnegative_v1_75t"), False),
    ("ANM-TAG-002", Example('1girl, a shop sign that says "Moon & Sun", safe'), False),  # text to draw
    ("ANM-DS-002", Example("1girl, solo,\nsitting under a tree, umbrella, safe"), True),
    ("ANM-DS-002", Example("1girl, solo, safe\nShe waves at the crowd"), False),  # a clause: hybrid
    ("ANM-DS-002", Example("1girl, solo, safe\na dragon asleep on a pile of books"), False),  # a prose line
    # a weight group around a comma-list item is an intended weight, even in a long list of them
    (
        "ANM-ESC-002",
        Example(
            "((misty:1.2), (old temple), (stone bridge), (glowing runes), (dragon rider), (pine forest))"
        ),
        False,
    ),
    ("ANM-TAG-003", Example("a girl in a red coat,a dog on the lawn"), True),  # between two phrases too
    ("ANM-TAG-005", Example("1girl, smiling, safe"), True),
    ("ANM-DUP-001", Example("1girl, 1girls, safe"), True),
    ("ANM-DUP-001", Example("1girl, safe", negative="worst quality, 1girl"), False),
    ("ANM-DUP-001", Example("1girl, smile, safe", negative="smile, bad hands, smile"), True),
    ("ANM-DUP-002", Example("1girl, very long hair, blue hair, safe"), False),
    ("ANM-ART-001", Example("1girl, (ebifurya:1.2), safe"), True),
    ("ANM-ART-001", Example("1girl, hatsune miku, safe"), False),
    ("ANM-ART-002", Example("1girl, @izumi nanase, safe"), True),
    ("ANM-ART-002", Example("1girl, @hatsune miku, safe"), True),
    ("ANM-ART-002", Example("1girl, @hammer \\(sunset beach\\), safe"), False),
    ("ANM-ART-003", Example("safe, 1girl, hatsune miku, vocaloid, @wlop, smile"), False),
    ("ANM-ART-003", Example("safe, 1girl, hatsune miku, smile, @wlop"), True),
    ("ANM-ART-004", Example("1girl, @wlop, safe", negative="@ebifurya, worst quality"), False),
    ("ANM-SAFE-001", Example("1girl, solo, smile", negative="safe"), True),
    ("ANM-SAFE-001", Example("1girl, sensitive"), False),
    ("ANM-SAFE-002", Example("1girl, safe, safe"), False),
    ("ANM-SAFE-003", Example("1girl, safe", negative="nsfw, explicit"), False),
    ("ANM-SAFE-004", Example("1girl, safe"), False),
    ("ANM-ESC-001", Example("(tracer (overwatch):1.2), 1girl, safe"), True),
    ("ANM-ESC-001", Example("(tracer \\(overwatch\\):1.2), 1girl, safe"), False),
    ("ANM-ESC-001", Example("1girl, (smile), safe"), False),
    ("ANM-ESC-002", Example("A girl reads in the library (at night). She smiles at the pages."), True),
    ("ANM-ESC-002", Example("A girl in a library. (masterpiece) She reads a book at night."), False),
    ("ANM-WGT-001", Example("A girl in a library. (masterpiece) She reads a book at night."), True),
    ("ANM-WGT-001", Example("1girl, (smile), safe"), True),
    ("ANM-WGT-001", Example("1girl, (smile:1.31), safe"), False),
    ("ANM-WGT-002", Example("1girl, (smile:-0.5), safe"), True),
    ("ANM-WGT-002", Example("1girl, (smile:3), safe"), False),
    ("ANM-SYN-001", Example("1girl, [a|b], safe"), True),
    ("ANM-SYN-001", Example("1girl, [smile], safe"), True),
    ("ANM-SYN-001", Example("1girl AND 1boy, safe"), True),
    ("ANM-SYN-001", Example("1girl, {red|blue} hair, safe"), False),
    ("ANM-SYN-002", Example("1girl, __@artists__, safe"), True),
    ("ANM-SYN-003", Example("1girl, <lora:x:5>, safe"), True),
    ("ANM-SYN-004", Example("1girl, smile), safe"), True),
    (
        "ANM-VAR-001",
        Example("1girl, safe", negative="score_1, worst quality", settings={"variant": "aesthetic"}),
        True,
    ),
    (
        "ANM-VAR-002",
        Example("1girl, safe", negative="worst quality", settings={"variant": "aesthetic"}),
        False,
    ),
    ("ANM-VAR-003", Example("score_9, 1girl, safe, rating_explicit"), True),
    ("ANM-YEAR-001", Example("year_2030, 1girl, safe"), True),
    ("ANM-FMT-001", Example("subject: 1girl\nhair: long hair, blue hair\nsafety: safe"), True),
    ("ANM-FMT-001", Example("1girl, (smile:1.5), safe"), False),
    ("ANM-FMT-001", Example("A girl. She says: hello to everyone.\nThe end."), False),
    ("ANM-FMT-002", Example(", ,\n"), True),
    ("ANM-FMT-002", Example("1girl, safe", negative=""), False),
    ("ANM-LEN-001", Example("\n".join(f"line {n}, 1girl" for n in range(16))), True),
    ("ANM-LEN-001", Example("\n".join(f"line {n}, 1girl" for n in range(15))), False),
    ("ANM-TXT-001", Example('1girl, sign, text "hello", safe'), False),
    ("ANM-TXT-001", Example("1girl, sign, text “supercalifragilistic”, safe"), True),
    ("ANM-NL-001", Example("A girl stands in the rain. She holds an umbrella!"), False),
    ("ANM-NL-001", Example("1girl, safe, a girl standing in the rain"), False),
    ("ANM-DS-001", Example("ye-pop\nA photo-like painting of a red car. It is parked by the sea."), False),
    ("ANM-DS-001", Example("ye-pop, A red car. It is parked by the sea."), True),
    ("ANM-DS-002", Example("deviantart\nDigital painting of a dragon. The sky is red."), False),
    ("ANM-ORD-001", Example("masterpiece, 1girl, A girl stands in the rain. She smiles."), False),
    ("ANM-ORD-001", Example("masterpiece, safe, 1girl, smile, hatsune miku"), True),
    ("ANM-CFG-001", Example("1girl, safe", settings={"cfg": 10}), False),
    ("ANM-CFG-002", Example("1girl, safe", settings={"cfg": 6.5, "sampler": "euler_ancestral"}), False),
    ("ANM-CFG-002", Example("1girl, safe", settings={"cfg": 2.5, "variant": "aesthetic"}), True),
    ("ANM-CFG-002", Example("1girl, safe", settings={"cfg": 3, "variant": "aesthetic"}), False),
    ("ANM-CFG-003", Example("1girl, safe", settings={"steps": 30, "variant": "turbo"}), True),
    ("ANM-CFG-003", Example("1girl, safe", settings={"cfg": 4, "variant": "base"}), False),
    ("ANM-CFG-004", Example("1girl, safe", settings={"cfg": 1}), False),
    ("ANM-STP-001", Example("1girl, safe", settings={"steps": 10, "variant": "turbo"}), False),
    ("ANM-RES-001", Example("1girl, safe", settings={"width": 256, "height": 256}), True),
    ("ANM-RES-001", Example("1girl, safe", settings={"width": 1536, "height": 1536}), False),
    ("ANM-RES-002", Example("1girl, safe", settings={"width": 896, "height": 1152}), False),
    ("ANM-RES-003", Example("1girl, safe", settings={"width": 1024}), False),
    ("ANM-SMP-001", Example("1girl, safe", settings={"sampler": "er_sde"}), False),
]


@pytest.fixture(autouse=True)
def tokenizers(real_data: RealData, monkeypatch: pytest.MonkeyPatch) -> None:
    root = real_data("tokenizers/qwen3/tokenizer.json", "tokenizers/t5/tokenizer.json")
    monkeypatch.setenv("ANIMA_TOKENIZERS", str(root / "tokenizers"))


def codes(findings: tuple) -> list[str]:
    return [finding.code for finding in findings]


@pytest.mark.parametrize("code", sorted(RULES))
def test_bad_example_triggers(code: str, small_index: object) -> None:
    rule = RULES[code]
    assert code in codes(run_example(rule.bad, small_index)), rule.bad


@pytest.mark.parametrize("code", sorted(RULES))
def test_good_example_does_not_trigger(code: str, small_index: object) -> None:
    rule = RULES[code]
    assert code not in codes(run_example(rule.good, small_index)), rule.good


@pytest.mark.parametrize(
    ("code", "example", "triggers"), CASES, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(CASES)]
)
def test_case(code: str, example: Example, triggers: bool, small_index: object) -> None:
    assert (code in codes(run_example(example, small_index))) is triggers


def test_every_rule_has_documented_cases() -> None:
    for code, rule in RULES.items():
        assert rule.bad.prompt != rule.good.prompt or rule.bad != rule.good, code
        assert rule.explanation, f"{code} has no docstring"
        assert rule.explanation.split("\n", 1)[0].endswith("."), f"{code}: the summary line is a sentence"


def test_cases_only_name_registered_rules() -> None:
    assert {code for code, _, _ in CASES} <= set(RULES)


def test_rule_ids_are_stable_and_unique() -> None:
    names = [rule.name for rule in RULES.values()]
    assert len(names) == len(set(names))
    assert all(code.startswith("ANM-") and code[-3:].isdigit() for code in RULES)


def test_index_rules_are_skipped_without_an_index() -> None:
    findings = run_example(Example("1girl, ebifurya, smilling, safe"), None)
    assert not {"ANM-ART-001", "ANM-TAG-004"} & set(codes(findings))


def test_unknown_artist_suggests_the_spelling_without_spaces(small_index: object) -> None:
    (finding,) = [
        f for f in run_example(Example("1girl, @izumi nanase, safe"), small_index) if f.code == "ANM-ART-002"
    ]
    assert finding.suggestions[0] == "@izuminanase"


def test_artist_without_at_fix_inserts_at_inside_a_weight_group(small_index: object) -> None:
    from anima_prompt import fix

    assert fix("safe, 1girl, (ebifurya:1.2)", index=small_index) == "safe, 1girl, (@ebifurya:1.2)"


def test_missing_safety_is_an_error_only_for_short_prompts() -> None:
    short = run_example(Example("1girl, solo, smile"), None)
    long = run_example(Example(", ".join(["1girl"] + [f"tag{n}" for n in range(10)])), None)
    assert [f.severity for f in short if f.code == "ANM-SAFE-001"] == [Severity.ERROR]
    assert [f.severity for f in long if f.code == "ANM-SAFE-001"] == [Severity.WARNING]


def test_artist_placement_first_mode_reports_info(small_index: object) -> None:
    config = LintConfig(artist_placement="first")
    findings = run_example(Example("safe, 1girl, smile, @wlop"), small_index, config)
    assert [(f.code, f.severity) for f in findings if f.code == "ANM-ART-003"] == [
        ("ANM-ART-003", Severity.INFO)
    ]
    off = run_example(Example("safe, 1girl, smile, @wlop"), small_index, LintConfig(artist_placement="off"))
    assert "ANM-ART-003" not in codes(off)


def test_severity_override_and_escalation() -> None:
    config = LintConfig(severity=(("ANM-SAFE-001", Severity.INFO),))
    findings = run_example(Example("1girl"), None, config)
    assert [f.severity for f in findings if f.code == "ANM-SAFE-001"] == [Severity.INFO]


def test_select_and_ignore() -> None:
    only_tags = run_example(Example("1girl,long_hair"), None, LintConfig(select=("ANM-TAG",)))
    assert set(codes(only_tags)) == {"ANM-TAG-001", "ANM-TAG-003"}
    ignored = run_example(Example("1girl,long_hair"), None, LintConfig(ignore=("ANM-TAG-001", "ANM-SAFE")))
    assert set(codes(ignored)) == {"ANM-TAG-003"}


def test_thresholds_are_configurable() -> None:
    example = Example("1girl, safe", settings={"cfg": 8})
    assert "ANM-CFG-001" in codes(run_example(example, None, LintConfig(cfg_burn=7.5)))
    assert "ANM-CFG-001" not in codes(run_example(example, None))


def test_several_artists_with_a_zero_threshold_and_no_artist() -> None:
    assert "ANM-ART-004" not in codes(run_example(Example("1girl, safe"), None, LintConfig(artists_info=0)))
    found = run_example(Example("1girl, @wlop, safe"), None, LintConfig(artists_info=1))
    assert [f.message for f in found if f.code == "ANM-ART-004"] == [
        "1 artists in one prompt; Anima mixes artists unreliably"
    ]


def test_token_counts_use_the_real_tokenizers(real_data: RealData, monkeypatch: pytest.MonkeyPatch) -> None:
    root = real_data("tokenizers/qwen3/tokenizer.json", "tokenizers/t5/tokenizer.json")
    monkeypatch.setenv("ANIMA_TOKENIZERS", str(root / "tokenizers"))
    long_prompt = RULES["ANM-LEN-003"].bad
    (finding,) = [f for f in run_example(long_prompt, None) if f.code == "ANM-LEN-003"]
    assert "T5 tokens" in finding.message
    qwen_only = run_example(long_prompt, None, LintConfig(max_t5_tokens=100_000, max_qwen3_tokens=600))
    assert any("Qwen3 tokens" in f.message for f in qwen_only if f.code == "ANM-LEN-003")


def test_token_counts_are_skipped_with_a_note_without_tokenizers(monkeypatch: pytest.MonkeyPatch) -> None:
    from anima_prompt.lint import Linter

    monkeypatch.delenv("ANIMA_TOKENIZERS", raising=False)
    linter = Linter()
    findings = linter.lint(RULES["ANM-LEN-003"].bad.prompt)
    assert "ANM-LEN-003" not in codes(findings)
    assert len(linter.notes) == 1 and "ANIMA_TOKENIZERS" in linter.notes[0]


def test_unknown_tag_suggests_the_closest_tags(small_index: object) -> None:
    findings = run_example(Example("1girl, blue hiar, safe"), small_index)
    (finding,) = [f for f in findings if f.code == "ANM-TAG-004"]
    assert finding.suggestions[0] == "blue hair"


def test_a_word_after_the_colon_is_not_kept_in_the_weight_suggestion() -> None:
    (finding,) = [item for item in lint("safe, 1girl, (blue eyes:abc)") if item.code == "ANM-WGT-001"]
    assert finding.suggestions == ("(blue eyes:1.5)",)
    assert "`:abc` is not a number, so it is no weight and reaches the model as text" in finding.message


def spanned(text: str, finding: Finding) -> str:
    assert finding.span is not None
    return text[finding.span.start : finding.span.end]


def test_unknown_tags_suggest_only_what_was_plausibly_meant(small_index: object) -> None:
    text = "1girl, umbrela, long, smiles, safe"
    findings = run_example(Example(text), small_index)
    suggested = {spanned(text, f): f.suggestions for f in findings if f.code == "ANM-TAG-004"}
    assert suggested == {"umbrela": ("umbrella",), "long": (), "smiles": ("smile",)}


def test_case_and_underscore_fixes_rewrite_only_known_tags(small_index: object) -> None:
    text = "1girl, Umbrella, Glitter Moon, long_hair, glitter_moon, safe"
    findings = run_example(Example(text), small_index)
    codes = ("ANM-TAG-001", "ANM-TAG-002")
    fixes = {(f.code, spanned(text, f)): f.fix is not None for f in findings if f.code in codes}
    assert fixes == {
        ("ANM-TAG-002", "Umbrella"): True,
        ("ANM-TAG-002", "Glitter Moon"): False,
        ("ANM-TAG-001", "long_hair"): True,
        ("ANM-TAG-001", "glitter_moon"): False,
    }
