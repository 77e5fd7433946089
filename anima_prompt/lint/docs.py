"""The rule reference (`docs/rules.md`), generated from the registry.

The same text is printed by `anima lint --list-rules --format markdown`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from anima_prompt.lint.registry import Example, Rule

_FAMILIES = {
    "ANM-ART": "Artists",
    "ANM-CFG": "Generation settings: CFG",
    "ANM-CHR": "Characters",
    "ANM-DS": "Dataset tags",
    "ANM-DUP": "Duplicates and implications",
    "ANM-ESC": "Escaping",
    "ANM-FMT": "Prompt format",
    "ANM-LEN": "Length",
    "ANM-LORA": "LoRAs",
    "ANM-NEG": "Negative-prompt tags",
    "ANM-NL": "Natural language",
    "ANM-ORD": "Section order",
    "ANM-RES": "Generation settings: resolution",
    "ANM-SAFE": "Safety tags",
    "ANM-SCORE": "Score tags",
    "ANM-SMP": "Generation settings: sampler",
    "ANM-STP": "Generation settings: steps",
    "ANM-SYN": "Syntax of other front ends",
    "ANM-TAG": "Tag spelling",
    "ANM-TXT": "Text rendering",
    "ANM-VAR": "Model variants",
    "ANM-WGT": "Weights",
    "ANM-YEAR": "Years",
}


def family_title(family: str) -> str:
    """The heading of a rule family such as `ANM-TAG`."""
    return _FAMILIES.get(family, family)


def example_text(example: Example) -> str:
    """An example as shown in the docs: the prompt, then `negative:`, `settings:` and `config:` lines when
    present."""
    lines = [example.prompt]
    if example.negative is not None:
        lines.append(f"negative: {example.negative}")
    if example.settings:
        lines.append("settings: " + ", ".join(f"{key}={value}" for key, value in example.settings.items()))
    if example.config:
        lines.append(
            "config: " + ", ".join(f"{key}={json.dumps(value)}" for key, value in example.config.items())
        )
    return "\n".join(lines)


def explain(rule: Rule) -> str:
    """The `anima lint --explain ID` text of a rule."""
    flags = [rule.severity.label]
    if rule.fixable:
        flags.append("fixable")
    if rule.needs_index:
        flags.append("needs the tag index")
    return (
        f"{rule.code} {rule.name} ({', '.join(flags)})\n\n{rule.explanation}\n\n"
        f"Triggers:\n{_indent(example_text(rule.bad))}\n\n"
        f"Does not trigger:\n{_indent(example_text(rule.good))}\n"
    )


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))


def _fence(text: str) -> str:
    return f"```text\n{text}\n```"


def rules_markdown(rules: Mapping[str, Rule]) -> str:
    """The whole rule reference as Markdown."""
    lines = [
        "# Lint rules",
        "",
        "<!-- Generated from the rule registry by `anima lint --list-rules --format markdown`;",
        "     do not edit by hand (a test checks that this file is current). -->",
        "",
        "Every rule has a stable id, a default severity (overridable in `[tool.anima.lint.severity]`), an",
        "explanation and two examples: one that triggers it and a close one that does not. Run",
        "`anima lint --explain ID` for the same text in a terminal. Rules marked *index* need a built tag",
        "index (`anima index build`) and are skipped without one.",
        "",
        "| id | name | severity | fix | index |",
        "|---|---|---|---|---|",
    ]
    for code, rule in rules.items():
        anchor = code.lower()
        lines.append(
            f"| [{code}](#{anchor}) | {rule.name} | {rule.severity.label} | "
            f"{'yes' if rule.fixable else ''} | {'index' if rule.needs_index else ''} |"
        )
    family = None
    for code, rule in rules.items():
        if rule.family != family:
            family = rule.family
            lines += ["", f"## {family_title(family)}"]
        lines += [
            "",
            f"### {code}",
            "",
            f"**{rule.name}**: {rule.severity.label}"
            + (", fixable" if rule.fixable else "")
            + (", needs the tag index" if rule.needs_index else ""),
            "",
            rule.explanation,
            "",
            "Triggers:",
            "",
            _fence(example_text(rule.bad)),
            "",
            "Does not trigger:",
            "",
            _fence(example_text(rule.good)),
        ]
    return "\n".join(lines) + "\n"
