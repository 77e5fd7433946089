"""Regenerate docs/rules.md from the rule registry (same text as `anima lint --list-rules --format markdown`).

Usage: python scripts/gen_rules_doc.py [--check]
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anima_prompt.lint.docs import rules_markdown  # noqa: E402
from anima_prompt.lint.registry import all_rules  # noqa: E402

TARGET = ROOT / "docs" / "rules.md"


def main() -> int:
    text = rules_markdown(all_rules())
    if "--check" in sys.argv[1:]:
        current = TARGET.read_text(encoding="utf-8") if TARGET.is_file() else ""
        if current != text:
            print(f"{TARGET} is stale; run python scripts/gen_rules_doc.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
