"""parse(): item kinds, diagnostics, strict mode and robustness on hostile input."""

import pytest

from anima_prompt import (
    ControlCharacter,
    DanglingWeight,
    EmptyArtist,
    ErrorNode,
    LoneBackslash,
    NestingTooDeep,
    PromptSyntaxError,
    UnclosedGroup,
    UnmatchedClose,
    parse,
    parse_tree,
    render,
    to_prompt,
)
from anima_prompt.nodes import Foreign, ForeignGroup, Phrase, Tag, walk

CARD_EXAMPLE = (
    "masterpiece, best quality, score_7, safe, 1girl, oomuro sakurako, yuru yuri, @nnn yryr, long hair. "
    "She is smiling at the viewer, standing under cherry blossoms."
)


def kinds(text: str) -> list[tuple[str, str]]:
    return [(node.kind, render(node)) for node in parse(text).items]


def test_card_example_is_classified() -> None:
    assert kinds(CARD_EXAMPLE) == [
        ("tag", "masterpiece"),
        ("tag", "best quality"),
        ("tag", "score_7"),
        ("tag", "safe"),
        ("tag", "1girl"),
        ("tag", "oomuro sakurako"),
        ("tag", "yuru yuri"),
        ("artist", "@nnn yryr"),
        ("tag", "long hair"),
        ("phrase", "She is smiling at the viewer, standing under cherry blossoms."),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hatsune_miku", [("tag", "hatsune_miku")]),
        ("Hatsune Miku", [("tag", "Hatsune Miku")]),
        ("1girl, 2girls", [("tag", "1girl"), ("tag", "2girls")]),
        ("hand on another's shoulder", [("tag", "hand on another's shoulder")]),
        (
            "fate/grand order, re:zero kara hajimeru isekai seikatsu",
            [("tag", "fate/grand order"), ("tag", "re:zero kara hajimeru isekai seikatsu")],
        ),
        ("café, 初音ミク", [("tag", "café"), ("tag", "初音ミク")]),
        (
            "^_^, >_<, :3, ;), :d, (o)_(o)",
            [("tag", "^_^"), ("tag", ">_<"), ("tag", ":3"), ("tag", ";)"), ("tag", ":d"), ("tag", "(o)_(o)")],
        ),
        ("the idolm@ster", [("tag", "the idolm@ster")]),
        ("@wlop, @_@", [("artist", "@wlop"), ("tag", "@_@")]),
        ("saber \\(fate\\)", [("tag", "saber \\(fate\\)")]),
        ("(@wlop:1.2)", [("weighted", "(@wlop:1.2)")]),
        (
            "(x), ((x)), (x:1.5), [x]",
            [("weighted", "(x)"), ("weighted", "((x))"), ("weighted", "(x:1.5)"), ("foreign", "[x]")],
        ),
        ("1girl (smile:1.2)", [("tag", "1girl"), ("weighted", "(smile:1.2)")]),
        ("She smiles. He waves!", [("phrase", "She smiles. He waves!")]),
        ("Is she waiting? Nobody knows.", [("phrase", "Is she waiting? Nobody knows.")]),
        ('He says "hi": a greeting.', [("phrase", 'He says "hi": a greeting.')]),
        ("a girl is standing in the rain", [("phrase", "a girl is standing in the rain")]),
        ("The Legend of Zelda", [("tag", "The Legend of Zelda")]),
        ("!?, ...", [("tag", "!?"), ("tag", "...")]),
    ],
)
def test_item_kinds(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize(
    ("text", "syntax"),
    [
        ("BREAK", "break"),
        ("[@a:@b:0.5]", "prompt_editing"),
        ("[:closed eyes:0.3]", "prompt_editing"),
        ("[a::10]", "prompt_editing"),
        ("[red|blue]", "alternation"),
        ("@[wlop|ciloranko]", "alternation"),
        ("[x]", "deemphasis"),
        ("{a|b|c}", "variants"),
        ("__haircolor__", "wildcard"),
        ("__artists/anime*__", "wildcard"),
        ("<lora:anima_style:0.8>", "lora"),
        ("score_9_up", "pony"),
        ("score_8_up", "pony"),
        ("rating_safe", "pony"),
        ("source_anime", "pony"),
    ],
)
def test_foreign_syntax(text: str, syntax: str) -> None:
    (node,) = parse(text).items
    assert isinstance(node, Foreign | ForeignGroup)
    assert node.syntax == syntax


def test_break_inside_a_text_run_is_split_out() -> None:
    assert kinds("a BREAK b") == [("tag", "a"), ("foreign", "BREAK"), ("tag", "b")]
    assert kinds("BREAKFAST") == [("tag", "BREAKFAST")]


def test_score_tags_are_anima_vocabulary_not_pony() -> None:
    assert kinds("score_7, score_9") == [("tag", "score_7"), ("tag", "score_9")]


@pytest.mark.parametrize(
    ("text", "error", "line", "column"),
    [
        ("1girl, (smile", UnclosedGroup, 1, 8),
        ("1girl, smile)", UnmatchedClose, 1, 13),
        ("a,\n[b", UnclosedGroup, 2, 1),
        ("{a|b", UnclosedGroup, 1, 1),
        ("smile:1.2)", DanglingWeight, 1, 6),
        ("(smile:)", DanglingWeight, 1, 7),
        ("(smile:1.2.3)", DanglingWeight, 1, 7),
        ("a \\ b", LoneBackslash, 1, 3),
        ("a\x00b", ControlCharacter, 1, 2),
        ("1girl, @", EmptyArtist, 1, 8),
        ("(" * 40 + "x" + ")" * 40, NestingTooDeep, 1, 33),
    ],
)
def test_strict_mode_names_the_problem(
    text: str, error: type[PromptSyntaxError], line: int, column: int
) -> None:
    with pytest.raises(error) as raised:
        parse(text, strict=True)
    assert (raised.value.line, raised.value.column) == (line, column)
    shown, caret = raised.value.context.splitlines()
    offset = sum(len(line) + 1 for line in text.split("\n")[: line - 1]) + column - 1
    expected = text[offset] if text[offset].isprintable() else "\N{REPLACEMENT CHARACTER}"
    assert shown[caret.index("^")] == expected
    assert isinstance(raised.value, ValueError)
    lenient = parse(text)
    assert lenient.diagnostics[0].code == error.code
    assert render(lenient) == text


def test_prose_colons_and_qualifier_colons_are_not_errors() -> None:
    assert not parse("Title: a girl walks.").diagnostics
    assert not parse("(re:zero:1.2), (re:zero)").diagnostics


def test_error_message_is_one_line_with_position() -> None:
    with pytest.raises(PromptSyntaxError) as raised:
        parse("masterpiece, (blue eyes", strict=True)
    assert raised.value.one_line() == "line 1, column 14: '(' is never closed"
    assert str(raised.value).splitlines()[1:] == ["masterpiece, (blue eyes", "             ^"]


def test_unbalanced_brackets_leave_the_rest_readable() -> None:
    prompt = parse("(masterpiece, best quality, 1girl")
    assert [node.kind for node in prompt.items] == ["error", "tag", "tag", "tag"]


def test_hundred_thousand_characters() -> None:
    text = ", ".join(["long hair", "(smile:1.2)", "She smiles."] * 7000)[:100_000]
    prompt = parse(text)
    assert render(prompt) == text


def test_ten_thousand_nested_parentheses_do_not_recurse() -> None:
    text = "(" * 10_000 + "x" + ")" * 10_000
    prompt = parse(text)
    assert render(prompt) == text
    assert {d.code for d in prompt.diagnostics} == {"nesting-too-deep"}
    assert max(_depth(node) for node in prompt.children) == 32 + 1  # 32 groups around the tag
    with pytest.raises(NestingTooDeep):
        parse(text, strict=True)


def _depth(node: object) -> int:
    children = getattr(node, "children", ())
    return 1 + max((_depth(child) for child in children), default=0)


def test_unclosed_ten_thousand() -> None:
    text = "(" * 10_000 + "[{" * 100
    prompt = parse(text)
    assert render(prompt) == text
    assert all(isinstance(node, ErrorNode) for node in prompt.children)


def test_control_characters_are_errors_but_tabs_are_space() -> None:
    prompt = parse("a\tb,\x07c\x1b")
    assert [d.code for d in prompt.diagnostics] == ["control-character", "control-character"]
    assert "U+0007" in prompt.diagnostics[0].message


def test_dataset_tag_alone_on_the_first_line() -> None:
    assert parse("deviantart\nFlame\nDigital painting of a fiery dragon.").dataset == "deviantart"
    assert parse("ye-pop\nA lighthouse at dusk.").dataset == "ye-pop"
    assert parse("deviantart").dataset == "deviantart"
    assert parse("deviantart, 1girl").dataset is None
    assert parse("1girl\ndeviantart").dataset is None


def test_parse_tree_path_builds_the_same_prompt() -> None:
    text = CARD_EXAMPLE + ", (saber (fate):1.2), [a|b], {c|d}, (x"
    tree = parse_tree(text)
    assert tree.data == "start"
    assert to_prompt(tree, text) == parse(text)


def test_phrase_with_weight_group_inside_keeps_the_group() -> None:
    (phrase,) = parse("She has (red:1.3) eyes and long hair.").items
    assert isinstance(phrase, Phrase)
    assert [child.kind for child in phrase.children] == ["text", "weighted", "text"]


def test_walk_visits_nested_nodes_in_order() -> None:
    prompt = parse("a, (b, (c:1.2))")
    assert [render(node) for node in walk(prompt) if isinstance(node, Tag)] == ["a", "b", "c"]
