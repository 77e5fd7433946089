"""Golden files per prompt stage: `<case>.txt` -> `.tree.txt` (outline), `.json` (tree), `.fmt.txt`.

`pytest --update-golden` rewrites the expected files; review the diff before committing it.
"""

import json
from pathlib import Path

import pytest

from anima_prompt import format_tree, parse, render, to_dict
from anima_prompt.normalize import normalize

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = sorted(path for path in GOLDEN.glob("*.txt") if path.name.count(".") == 1)


def stages(text: str) -> dict[str, str]:
    prompt = parse(text)
    return {
        ".tree.txt": format_tree(prompt) + "\n",
        ".json": json.dumps(to_dict(prompt), indent=1, ensure_ascii=False) + "\n",
        ".fmt.txt": render(normalize(prompt)),
    }


@pytest.mark.parametrize("case", CASES, ids=[path.stem for path in CASES])
def test_golden(case: Path, update_golden: bool) -> None:
    text = case.read_text(encoding="utf-8")
    assert render(parse(text)) == text
    for suffix, actual in stages(text).items():
        expected_path = case.with_suffix(suffix)
        if update_golden:
            expected_path.write_text(actual, encoding="utf-8")
        assert expected_path.exists(), f"{expected_path.name} missing; run pytest --update-golden"
        assert expected_path.read_text(encoding="utf-8") == actual, f"{expected_path.name} differs"


def test_there_are_cases() -> None:
    assert len(CASES) >= 5
