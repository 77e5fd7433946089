"""Classification details: qualifiers, sentences, separators and spans."""

import pytest

from anima_prompt import parse, render
from anima_prompt.nodes import Artist, ForeignGroup, Phrase, Separator, Span, Tag, Weighted


@pytest.mark.parametrize(
    ("text", "qualifier"),
    [
        ("saber (fate)", "(fate)"),
        ("tracer_(overwatch)", "(overwatch)"),
        ("hatsune miku (append)", "(append)"),
        ("serena (pokemon)", "(pokemon)"),
    ],
)
def test_unescaped_qualifier_is_one_tag_with_the_group_span(text: str, qualifier: str) -> None:
    (tag,) = parse(text).children
    assert isinstance(tag, Tag)
    assert tag.text == text
    assert tag.qualifier is not None
    assert text[tag.qualifier.start : tag.qualifier.end] == qualifier


def test_artist_with_unescaped_qualifier() -> None:
    (artist,) = parse("@hammer (sunset beach)").children
    assert isinstance(artist, Artist)
    assert artist.qualifier == Span(8, 22, 1, 9)
    assert artist.name == "hammer_(sunset_beach)"


@pytest.mark.parametrize(
    "text", ["(fate)", "saber (fate:1.2)", "saber  (fate)", "saber (a, b)", "She is Saber (fate)."]
)
def test_not_a_qualifier(text: str) -> None:
    assert not any(isinstance(node, Tag) and node.qualifier for node in parse(text).items)


def test_weighted_group_with_escaped_qualifier() -> None:
    (group,) = parse("(tracer \\(overwatch\\):1.2)").children
    assert isinstance(group, Weighted)
    assert group.weight == 1.2
    (tag,) = group.children
    assert isinstance(tag, Tag)
    assert tag.qualifier is None
    assert tag.name == "tracer_(overwatch)"


def test_sentence_continues_across_commas_until_its_end() -> None:
    items = parse("She wears a red dress, white gloves, black boots, and a hat.\n1girl").items
    assert [node.kind for node in items] == ["phrase", "tag"]
    assert render(items[0]) == "She wears a red dress, white gloves, black boots, and a hat."


def test_unfinished_sentence_does_not_swallow_tags() -> None:
    items = parse("A girl standing in the rain, 1girl, long hair").items
    assert [node.kind for node in items] == ["phrase", "tag", "tag"]


def test_tags_before_a_sentence_are_split_off() -> None:
    prompt = parse("1girl, solo. She smiles.")
    assert [(node.kind, render(node)) for node in prompt.children] == [
        ("tag", "1girl"),
        ("separator", ", "),
        ("tag", "solo"),
        ("separator", ". "),
        ("phrase", "She smiles."),
    ]
    assert prompt.children[3].role == "sentence"


def test_abbreviation_is_not_a_sentence_break() -> None:
    assert [node.kind for node in parse("Mr. Smith").items] == ["tag"]


@pytest.mark.parametrize(
    ("text", "roles"),
    [
        ("a, b", ["comma"]),
        ("a ,  b", ["comma"]),
        ("a,b", ["comma"]),
        ("a\nb", ["newline"]),
        ("a,\n\n b", ["paragraph"]),
        ("a\r\nb", ["newline"]),
        ("a,, b", ["comma"]),
    ],
)
def test_separators_keep_their_exact_text(text: str, roles: list[str]) -> None:
    separators = [node for node in parse(text).children if isinstance(node, Separator)]
    assert [separator.role for separator in separators] == roles
    assert "".join(render(node) for node in parse(text).children) == text


def test_empty_item_shows_as_a_double_comma_separator() -> None:
    (separator,) = [node for node in parse("a, , b").children if isinstance(node, Separator)]
    assert separator.commas == 2


def test_spans_of_nested_nodes() -> None:
    text = "x,\n  (a, @b:1.5)"
    (_, _, group) = parse(text).children
    assert isinstance(group, Weighted)
    assert group.span == Span(5, 16, 2, 3)
    artist = group.children[2]
    assert isinstance(artist, Artist)
    assert artist.span == Span(9, 11, 2, 7)
    assert text[artist.span.start : artist.span.end] == "@b"


def test_prompt_editing_children() -> None:
    (group,) = parse("[@a:@b:0.5]").children
    assert isinstance(group, ForeignGroup)
    assert [(node.kind, render(node)) for node in group.children] == [
        ("artist", "@a"),
        ("separator", ":"),
        ("artist", "@b"),
        ("separator", ":"),
        ("text", "0.5"),
    ]


def test_phrase_children_are_text() -> None:
    (phrase,) = parse("She smiles.").children
    assert isinstance(phrase, Phrase)
    assert render(phrase) == "She smiles."
