"""The rules as a consistent set: under the same prompt and settings, no two findings contradict each other.

Each finding is read as the claims it makes (what it says about the run, or asks the user to change):

- `negative: ignored` (the negative prompt has no effect) and `negative: edit` (a change to the negative
  prompt to change the image: any finding on it, or one asking to add to it, except those of rules that
  report what stops the run);
- `raise` / `lower` a setting (CFG, steps, image area), a weight group, or `to N` an exact value, read
  from the finding's suggestion against the current value; `literal` for a bracket group that is not a
  weight;
- `loaded` / `not loaded` for a LoRA.

Two claims contradict when they are about the same subject and are `ignored`/`edit`, `raise`/`lower`,
`literal`/`raise` or `literal`/`lower`, `loaded`/`not loaded`, or two different exact values. Besides,
following a finding's suggestion must not write a tag that another rule asks to remove (a score tag on
Aesthetic, a drawing-error tag weighted up).

The test lints prompts that trigger most prompt rules over a grid of settings (variants x CFG x steps x
sizes x samplers x with and without negative x front ends) and checks every pair of findings; it also
checks that the grid makes the rules it is about fire, so it can fail.
"""

import itertools
import re
from collections import defaultdict
from collections.abc import Iterator

import pytest

from anima_prompt.lint import Finding, LintConfig, Linter, LintSettings, Target
from anima_prompt.lint.findings import Fix
from anima_prompt.lint.registry import all_rules
from anima_prompt.variants import Variant

PROMPTS = (
    # tags: score with a space, two years, weak/extreme/nested weights, a drawing error weighted up, a
    # qualifier, a slash escape, a weight after its group, Pony vocabulary, a Turbo LoRA tag
    "score 9, Score 8, year 2025, year_2024, masterpiece, safe, 1girl, saber (fate), ((smile)), (((blush))), "
    "(open mouth:4), (bad hands:1.2), oil painting /(medium/), (sky):1.5, score_9_up, Long_Hair, long hair, "
    "<lora:anima_turbo_v1:1>",
    # prose with brackets in a sentence and SD emphasis, an artist, a BREAK
    "@wlop, A girl reads a book in the library (at night) while it rains. ((a detailed face)), she smiles "
    "BREAK sky",
    # nothing wrong in the prompt itself
    "masterpiece, best quality, score_7, safe, 1girl, hatsune miku, vocaloid, smile",
)
NEGATIVE = "worst quality, low quality, score_1, bad_hands, (extra digits:1.2), safe, <lora:detail:1>"

VARIANTS = (None, Variant.BASE, Variant.AESTHETIC, Variant.TURBO)
CFGS = (None, 1.0, 3.5, 7.0, 12.0)
STEPS = (None, 8, 30, 60)
SIZES = (None, (512, 512), (960, 960), (1000, 1000), (1530, 1530), (2048, 2048))
SAMPLERS = (None, "Euler a", "DPM++ 2M Karras", "eular")
NEGATIVES = (None, NEGATIVE)
FRONT_ENDS = ("comfyui", "anima")

SETTING_SUBJECT = {
    "ANM-CFG-001": "cfg",
    "ANM-CFG-002": "cfg",
    "ANM-STP-001": "steps",
    "ANM-RES-001": "area",
    "ANM-RES-002": "area",
    "ANM-RES-003": "area",
}
OPPOSITE = {
    ("ignored", "edit"),
    ("raise", "lower"),
    ("literal", "raise"),
    ("literal", "lower"),
    ("loaded", "not loaded"),
}
REMOVERS = frozenset({"ANM-VAR-001", "ANM-VAR-002", "ANM-NEG-002"})
NUMBER = re.compile(r"\d+(?:\.\d+)?")
SIZE = re.compile(r"(\d+)x(\d+)")
GROUP_OPEN = re.compile(r"\(")

Claim = tuple[tuple[object, ...], str]
RULES = all_rules()


def settings_grid() -> Iterator[LintSettings]:
    for variant, cfg, steps, size, sampler in itertools.product(VARIANTS, CFGS, STEPS, SIZES, SAMPLERS):
        width, height = size if size else (None, None)
        yield LintSettings(cfg=cfg, steps=steps, width=width, height=height, sampler=sampler, variant=variant)


def direction(suggested: float, current: float) -> str | None:
    return "raise" if suggested > current else "lower" if suggested < current else None


def claims(finding: Finding, settings: LintSettings, text: str) -> list[Claim]:
    """What `finding` says about the run or asks the user to change (see the module docstring)."""
    code, found = finding.code, []
    if code == "ANM-CFG-004":
        found.append((("negative",), "ignored"))
    if (finding.target is Target.NEGATIVE and not RULES[code].stops_run) or code == "ANM-SAFE-004":
        found.append((("negative",), "edit"))
    if finding.target is Target.SETTINGS:
        found.extend(_setting_claims(finding, settings))
    if finding.target is Target.PROMPT and finding.span is not None:
        span = (finding.span.start, finding.span.end)
        if code == "ANM-WGT-001" or (code == "ANM-WGT-002" and "below" in finding.message):
            found.append((("group", *span), "raise"))
        elif code in ("ANM-WGT-002", "ANM-NEG-002"):
            found.append((("group", *span), "lower"))
        elif code == "ANM-ESC-002":
            found.append((("group", *span), "literal"))
        elif code == "ANM-ESC-004":
            found.append((("group", span[0] + 1, span[1]), "literal"))
    match = re.search(r"`<lora:([^:>]+)", finding.message)
    if code == "ANM-SYN-003" and match and "is not loaded" in finding.message:
        found.append((("lora", match.group(1)), "not loaded"))
    match = re.search(r"the Turbo LoRA `([^`]+)`", finding.message)
    if code == "ANM-CFG-003" and match:
        found.append((("lora", match.group(1)), "loaded"))
    return found


def _setting_claims(finding: Finding, settings: LintSettings) -> list[Claim]:
    code, suggestion = finding.code, finding.suggestions[0] if finding.suggestions else None
    if suggestion is None:
        return []
    subject = SETTING_SUBJECT.get(code)
    if code == "ANM-CFG-003":
        subject = "steps" if "steps" in finding.message else "cfg"
    if subject == "area":
        assert settings.width is not None and settings.height is not None
        size = SIZE.fullmatch(suggestion)
        assert size is not None, suggestion  # ANM-RES-002 and -003 suggest a whole size
        suggested = int(size.group(1)) * int(size.group(2))
        way = direction(suggested, settings.width * settings.height)
        return [] if way is None else [(("area",), way)]
    if subject is None or not NUMBER.fullmatch(suggestion):
        return []
    current = settings.cfg if subject == "cfg" else settings.steps
    assert current is not None
    value = float(suggestion)
    found: list[Claim] = [((subject, "to"), f"{value:g}")]
    way = direction(value, current)
    if way is not None:
        found.append(((subject,), way))
    return found


def contradictions(findings: tuple[Finding, ...], settings: LintSettings, text: str) -> list[str]:
    by_subject: dict[tuple[object, ...], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for finding in findings:
        for subject, stance in claims(finding, settings, text):
            by_subject[subject][stance].append(finding.code)
    problems = []
    for subject, stances in by_subject.items():
        for first, second in itertools.combinations(sorted(stances), 2):
            exact = subject[-1:] == ("to",)
            if exact or (first, second) in OPPOSITE or (second, first) in OPPOSITE:
                problems.append(f"{subject}: {first} ({stances[first]}) vs {second} ({stances[second]})")
    return problems


@pytest.fixture(scope="module")
def linters() -> dict[str, Linter]:
    return {front_end: Linter(config=LintConfig(front_end=front_end)) for front_end in FRONT_ENDS}


def test_no_two_findings_contradict(linters: dict[str, Linter]) -> None:
    fired: set[str] = set()
    problems: list[str] = []
    for settings in settings_grid():
        for front_end, linter in linters.items():
            for text, negative in itertools.product(PROMPTS, NEGATIVES):
                findings = linter.lint(text, negative=negative, settings=settings)
                fired.update(finding.code for finding in findings)
                for problem in contradictions(findings, settings, text):
                    problems.append(
                        f"{problem} | {front_end} {settings} {text[:30]!r} negative={bool(negative)}"
                    )
    kinds = sorted({problem.split(" | ")[0] for problem in problems})
    assert problems == [], f"{len(problems)} contradictions of {len(kinds)} kinds:\n" + "\n".join(
        next(problem for problem in problems if problem.startswith(kind)) for kind in kinds[:30]
    )
    expected = {
        "ANM-CFG-001", "ANM-CFG-002", "ANM-CFG-003", "ANM-CFG-004", "ANM-STP-001", "ANM-RES-001",
        "ANM-RES-002", "ANM-RES-003", "ANM-SAFE-004", "ANM-WGT-001", "ANM-WGT-002", "ANM-NEG-002",
        "ANM-ESC-002", "ANM-ESC-004", "ANM-SYN-003", "ANM-VAR-001", "ANM-VAR-003", "ANM-SCORE-001",
        "ANM-SMP-001", "ANM-SMP-002",
    }  # fmt: skip
    assert expected <= fired, f"the grid never triggers {sorted(expected - fired)}"


def apply(text: str, start: int, end: int, replacement: str) -> str:
    return text[:start] + replacement + text[end:]


def removers_over(findings: tuple[Finding, ...], start: int, end: int) -> list[str]:
    """The codes of the removing rules whose findings overlap `[start, end)`."""
    return [
        other.code
        for other in findings
        if other.code in REMOVERS
        and other.span is not None
        and other.span.start < end
        and start < other.span.end
    ]


@pytest.mark.parametrize("variant", [None, Variant.BASE, Variant.AESTHETIC, Variant.TURBO])
def test_following_a_suggestion_writes_nothing_another_rule_removes(variant: Variant | None) -> None:
    linter = Linter()
    settings = LintSettings(variant=variant)
    for text in PROMPTS:
        for finding in linter.lint(text, settings=settings):
            if finding.target is not Target.PROMPT or not finding.suggestions or finding.span is None:
                continue
            start, end = finding.span.start, finding.span.end
            replacement = finding.fix.replacement if isinstance(finding.fix, Fix) else finding.suggestions[0]
            if isinstance(finding.fix, Fix):
                start, end = finding.fix.start, finding.fix.end
            changed = apply(text, start, end, replacement)
            removers = removers_over(linter.lint(changed, settings=settings), start, start + len(replacement))
            before = removers_over(linter.lint(text, settings=settings), start, end)
            assert set(removers) <= set(before), (finding.code, replacement, removers, variant)
