"""The post-lexer's foreign syntax: keywords, references and separators of other front ends become `Foreign`
nodes, whole, and text round-trips."""

import pytest

from anima_prompt import normalize, parse, render
from anima_prompt.nodes import FOREIGN_SYNTAXES, Foreign, ForeignGroup, walk


def foreign(text: str) -> list[tuple[str, str]]:
    prompt = parse(text)
    assert render(prompt) == text
    return [(node.syntax, render(node)) for node in walk(prompt) if isinstance(node, Foreign | ForeignGroup)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a ADDCOL b ADDROW c", [("regional", "ADDCOL"), ("regional", "ADDROW")]),
        ("fantasy ADDCOMM\nsky ADDBASE", [("regional", "ADDCOMM"), ("regional", "ADDBASE")]),
        ("smile BREAK\n(red:1.7), umbrella", [("break", "BREAK")]),
        ("2girls, miku\nAND 2girls, rin", [("and", "AND")]),
        ("1girl, smile --g 4.0", [("sample_option", "--g 4.0")]),
        ("In ${season}, a ${season} coat", [("variable", "${season}"), ("variable", "${season}")]),
        ("embedding:EasyNegative, 1girl", [("embedding", "embedding:EasyNegative")]),
        ("(embedding:bad_hands:1.2), 1girl", [("embedding", "embedding:bad_hands")]),
        (
            "1girl, {solo}, {{smile}}",
            [("nai_emphasis", "{solo}"), ("nai_emphasis", "{{smile}}"), ("nai_emphasis", "{smile}")],
        ),
        ("{red|blue} eyes", [("variants", "{red|blue}")]),
        ("1girl ||| stage, smile", [("caption_separator", "|||")]),
        ("sky;;;cloud;;;day", [("caption_separator", ";;;"), ("caption_separator", ";;;")]),
        (
            "1boy, smile --n worst quality --w 576 --l 5.5",
            [("sample_option", "--n"), ("sample_option", "--w 576"), ("sample_option", "--l 5.5")],
        ),
        ("<lora:style:0.8>@wlop", [("lora", "<lora:style:0.8>")]),
        ("(solo girl/*character tags*/), smile", [("comment", "/*character tags*/")]),
        ("1girl /* a, (b:1.2),\n c */ smile", [("comment", "/* a, (b:1.2),\n c */")]),
        ("/*x*//*y*/z", [("comment", "/*x*/"), ("comment", "/*y*/")]),
    ],
)
def test_foreign_syntax_is_one_node(text: str, expected: list[tuple[str, str]]) -> None:
    assert foreign(text) == expected
    assert {syntax for syntax, _ in expected} <= set(FOREIGN_SYNTAXES)


@pytest.mark.parametrize(
    "text",
    [
        "ADDCOLOR, BREAKfast, xADDROW",  # keywords only as whole words
        "a|b|c, x || y",  # pipes other than a separated `|||`
        "price $5 {a}",  # `$` not right before the brace
        "${a{b}}",  # nested braces: not a plain variable
        "embeddings:x, the embedding: none",  # not the `embedding:name` form
        "--no-cache, x--n",  # not a sample-prompt option
        "1girl, /* never closed, smile",  # a comment needs its `*/`
    ],
)
def test_near_misses_stay_text(text: str) -> None:
    assert not [syntax for syntax, _ in foreign(text) if syntax not in ("nai_emphasis", "variants")]


def test_a_lora_glued_to_an_artist_leaves_the_artist() -> None:
    (lora, artist) = parse("<lora:style:0.8>@wlop").items
    assert (lora.kind, artist.kind, render(artist)) == ("foreign", "artist", "@wlop")


def test_formatting_keeps_the_spaces_around_inline_syntax() -> None:
    text = "fantasy ADDCOMM\nsky ADDCOL city, In ${season}, 1girl ||| stage --n worst quality"
    # `In` before the variable opens a phrase (`In winter`), so it keeps its capital
    assert render(normalize(parse(text))) == text
