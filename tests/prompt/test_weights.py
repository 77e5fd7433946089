"""weighted_segments() and plain_text(): ComfyUI's weight semantics."""

import pytest

from anima_prompt import parse
from anima_prompt.normalize import normalize
from anima_prompt.weights import plain_text, weighted_segments


def segments(text: str) -> list[tuple[str, float]]:
    return [(segment.text, round(segment.weight, 4)) for segment in weighted_segments(parse(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", [("a", 1.0)]),
        ("(a)", [("a", 1.1)]),
        ("((a))", [("a", 1.21)]),
        ("(a:1.5)", [("a", 1.5)]),
        ("((a:1.5))", [("a", 1.5)]),  # an explicit weight sets, it does not multiply
        ("((a):1.5)", [("a", 1.65)]),  # groups inside an explicit weight multiply from it
        ("(a, (b:2):0.5)", [("a, ", 0.5), ("b", 2.0)]),
        ("saber \\(fate\\)", [("saber (fate)", 1.0)]),
        ("saber (fate)", [("saber ", 1.0), ("fate", 1.1)]),
        ("(tracer \\(overwatch\\):1.2)", [("tracer (overwatch)", 1.2)]),
        ("[a]", [("[a]", 1.0)]),  # not down-weighting in ComfyUI
        ("{a|b}, <lora:x:0.8>", [("{a|b}, <lora:x:0.8>", 1.0)]),
        ("(a:0)", [("a", 0.0)]),
        ("(a:-1)", [("a", -1.0)]),
        ("(a", [("(a", 1.0)]),
    ],
)
def test_weighted_segments(text: str, expected: list[tuple[str, float]]) -> None:
    assert segments(text) == expected


def test_segment_spans_point_at_the_source() -> None:
    text = "x, (blue eyes:1.5), saber (fate)"
    spans = [text[s.span.start : s.span.end] for s in weighted_segments(parse(text))]
    assert spans == ["x, ", "blue eyes", ", saber ", "fate"]


def test_plain_text_is_what_qwen_reads() -> None:
    text = "masterpiece, (best quality:1.2), saber \\(fate\\), ((smile)). She (really:1.5) smiles."
    assert plain_text(parse(text)) == "masterpiece, best quality, saber (fate), smile. She really smiles."


def test_normalised_prompt_weights_the_qualifier_as_text() -> None:
    prompt = normalize(parse("saber (fate), (x:1.50)"))
    assert [(s.text, s.weight) for s in weighted_segments(prompt)] == [("saber (fate), ", 1.0), ("x", 1.5)]
