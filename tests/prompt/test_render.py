"""render(): lossless on parsed prompts, canonical on normalised ones."""

from pathlib import Path

import pytest

from anima_prompt import parse, render
from anima_prompt.normalize import normalize

CORPUS = Path(__file__).resolve().parents[2] / "benchmarks" / "corpus" / "prompts.txt"


def corpus() -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [line.replace("\\n", "\n") for line in lines if line and not line.startswith("#")]


def test_corpus_round_trips_and_normalises_stably() -> None:
    prompts = corpus()
    assert len(prompts) >= 200
    for text in prompts:
        prompt = parse(text)
        assert render(prompt) == text
        formatted = render(normalize(prompt))
        assert render(normalize(parse(formatted))) == formatted


@pytest.mark.parametrize(
    "text",
    ["", " ", "\n\n", "a", "(a:1.5)", "[a:b:0.5]", "@[a|b]", "saber (fate)", "x\r\ny", "((((", "))))", "\\"],
)
def test_render_small_cases(text: str) -> None:
    assert render(parse(text)) == text


def test_render_a_single_node() -> None:
    group = parse("a, (b, c:1.5)").items[1]
    assert render(group) == "(b, c:1.5)"
