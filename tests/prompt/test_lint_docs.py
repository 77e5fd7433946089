"""docs/rules.md lists every registered rule and is exactly what the generator writes."""

from pathlib import Path

import pytest

from anima_prompt.lint.docs import rules_markdown
from anima_prompt.lint.registry import all_rules

RULES_DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


@pytest.mark.parametrize("code", sorted(all_rules()))
def test_rule_is_documented(code: str) -> None:
    text = RULES_DOC.read_text(encoding="utf-8")
    assert f"\n### {code}\n" in text, f"{code} is missing from docs/rules.md"


def test_rules_doc_is_current() -> None:
    assert RULES_DOC.read_text(encoding="utf-8") == rules_markdown(all_rules()), (
        "docs/rules.md is stale; run `python scripts/gen_rules_doc.py`"
    )
