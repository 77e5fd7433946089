"""Rule links point at headings that exist in the shipped rule reference."""

from anima_prompt.lint.registry import all_rules
from anima_prompt.lsp.convert import rule_link
from anima_prompt.resources import rules_reference


def test_every_rule_has_the_heading_its_link_points_at() -> None:
    headings = {
        line.removeprefix("### ").strip().lower()
        for line in rules_reference().read_text(encoding="utf-8").splitlines()
        if line.startswith("### ")
    }
    for code in all_rules():
        assert rule_link("rules.md", code).split("#", 1)[1] in headings, code
