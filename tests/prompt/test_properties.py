"""Property tests over arbitrary text: lossless rendering, idempotent normalisation, no surprises."""

import string

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from anima_prompt import PromptSyntaxError, parse, parse_tree, render, to_prompt
from anima_prompt.nodes import Foreign, ForeignGroup, Phrase
from anima_prompt.normalize import normalize
from anima_prompt.weights import plain_text, weighted_segments
from tests.prompt.hybrid_prompts import hybrid_prompts

# prompt syntax is dense in punctuation: bias the alphabet towards it, plus anything at all
_SYNTAX = "()[]{}<>\\:|,.@_^;!?'\"- \n\t\r\x00\x7f\u3000\u00a0"
_WORDS = st.sampled_from(
    [
        "BREAK",
        "__wc__",
        "<lora:x:0.8>",
        "score_9_up",
        ":1.5",
        ":3",
        ";)",
        "saber",
        "She is",
        "smiling.",
        "1girl",
        "@nnn",
        "\\(",
        "\\)",
        "deviantart\n",
        "Hatsune_Miku",
        "ye-pop",
        ". ",
    ]
)
_TEXT = st.one_of(
    st.text(alphabet=st.sampled_from(_SYNTAX + string.ascii_letters[:8] + string.digits[:3]), max_size=60),
    st.lists(st.one_of(_WORDS, st.text(alphabet=_SYNTAX + "ab", max_size=3)), max_size=20).map("".join),
    st.text(max_size=40),
)
_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(_TEXT)
@example("(" * 10_000 + "x" + ")" * 10_000)
@example("[" * 5000 + "{" * 5000)
@example("\\")
@example("a:1.5)")
def test_render_of_parse_is_lossless(text: str) -> None:
    assert render(parse(text)) == text


@_SETTINGS
@given(_TEXT)
@example("(" * 40 + "a:1.2" + ")" * 40)
@example("(a:1.2))(b:3")
@example("[a:b:0.5], {c|d}, (e (f:1.1)), x BREAK __wc__ y")
def test_parse_builds_the_same_prompt_as_the_lark_tree(text: str) -> None:
    assert parse(text) == (to_prompt(parse_tree(text), text) if text else parse(""))


@_SETTINGS
@given(st.one_of(_TEXT, hybrid_prompts))
@example("0(0,)")  # normalised to `0(0)`, which once read as a qualified tag and was escaped
@example("1girl, saber (fate). She waves.")
@example("{red|blue} eyes, tag. Tag.\nShe smiles (happily:1.2).")
@example("smile._o o")  # once `smile. o o`, two items, the second then the face `o_o`
@example(":)，")  # a face before a fullwidth comma once read as `:` and an unmatched `)`
@example("{}. ()")  # a period after a brace group once read as a tag `.`
@example("ab_cd_e.()")  # once `ab cd e. ()`, where the single letter `e.` keeps its period
@example("Rain falls! (Long Hair)")  # `!` once ended a sentence before a capital that fmt lowercases
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(parse(text))
    assert render(normalize(once)) == render(once)
    reparsed = normalize(parse(render(once)))
    assert render(reparsed) == render(once)


@_SETTINGS
@given(_TEXT)
def test_strict_mode_raises_only_prompt_syntax_error(text: str) -> None:
    lenient = parse(text)
    try:
        strict = parse(text, strict=True)
    except PromptSyntaxError as error:
        assert lenient.diagnostics
        first = lenient.diagnostics[0].span
        assert (error.line, error.column) == (first.line, first.column)
    else:
        assert strict == lenient
        assert not lenient.diagnostics


@_SETTINGS
@given(_TEXT)
def test_spans_cover_the_source_in_order(text: str) -> None:
    prompt = parse(text)
    position = 0
    for node in prompt.children:
        assert node.span.start == position
        assert text[node.span.start : node.span.end] == render(node)
        assert node.span.line == text.count("\n", 0, node.span.start) + 1
        assert node.span.column == node.span.start - (text.rfind("\n", 0, node.span.start) + 1) + 1
        position = node.span.end
    assert position == len(text)


@_SETTINGS
@given(_TEXT)
def test_plain_text_is_the_segments_joined(text: str) -> None:
    prompt = parse(text)
    segments = weighted_segments(prompt)
    assert "".join(segment.text for segment in segments) == plain_text(prompt)
    assert all(segment.text for segment in segments)


@_SETTINGS
@given(hybrid_prompts)
def test_normalize_keeps_foreign_syntax_and_phrases_as_written(text: str) -> None:
    kept = [render(node) for node in parse(text).items if isinstance(node, Foreign | ForeignGroup | Phrase)]
    formatted = render(normalize(parse(text)))
    position = 0
    for piece in kept:
        found = formatted.find(piece, position)
        assert found >= 0, (text, formatted, piece)
        position = found + len(piece)


def test_a_pipe_at_the_prompts_edge_is_no_character_separator() -> None:
    # found by the idempotence property: ` | 0` lost its leading space, and the pipe then read otherwise
    for text in (" | 0", "1girl | ", " | "):
        once = render(normalize(parse(text)))
        assert render(normalize(parse(once))) == once
