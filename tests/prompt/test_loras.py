"""LoRA tags in prompts, `--lora` values and LoRA names in folders, without torch."""

from pathlib import Path

import pytest

from anima_prompt import Foreign, parse, render, walk
from anima_prompt.lint import LintConfig, Linter
from anima_prompt.loras import (
    LoraReferenceError,
    LoraTag,
    NetworkTag,
    find_lora,
    looks_like_turbo_lora,
    lora_tags,
    parse_lora_option,
    read_network_tag,
    require_lora,
    without_loras,
)
from anima_prompt.prune import without_comments


def test_tags_with_and_without_strength() -> None:
    text = "<lora:a:0.5>, 1girl, <LORA:sub/b>, <lyco:c:-1.25>"
    assert lora_tags(parse(text)) == (
        LoraTag("a", 0.5, 0, 12),
        LoraTag("sub/b", 1.0, 21, 33),
        LoraTag("c", -1.25, 35, 49),
    )


def test_tags_are_found_in_groups_and_prose_but_not_other_angle_syntax() -> None:
    prompt = parse("(<lora:a:0.5>:1.2), She waves <lora:b>. <hypernet:h:1>, <embedding:e>")
    assert [(tag.name, tag.strength) for tag in lora_tags(prompt)] == [("a", 0.5), ("b", 1.0)]


def test_a_tag_spelt_in_a_word_is_not_a_tag() -> None:
    assert lora_tags(parse("lora:a:0.5, 1girl")) == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<lora:a:0.5>", NetworkTag("lora", "a", "0.5")),
        ("<LYCO: sub/b >", NetworkTag("lyco", "sub/b", None)),
        ("<hypernet:h:1>", NetworkTag("hypernet", "h", "1")),
        ("<lora:a:0.8:0.5>", NetworkTag("lora", "a", "0.8:0.5")),
        ("<lora:>", None),
    ],
)
def test_network_tag_parts(text: str, expected: NetworkTag | None) -> None:
    assert read_network_tag(text) == expected


def test_lora_tags_are_the_parsers_lora_nodes() -> None:
    text = "(<lora:a:1>, smile:1.2), A girl waves <lyco:b> at the sea. [<lora:c>|x], <hypernet:h:1>, <lora:>"
    nodes = [node for node in walk(parse(text)) if isinstance(node, Foreign) and node.syntax == "lora"]
    assert [node.text for node in nodes] == [
        "<lora:a:1>",
        "<lyco:b>",
        "<lora:c>",
        "<hypernet:h:1>",
        "<lora:>",
    ]
    assert [tag.name for tag in lora_tags(parse(text))] == ["a", "b", "c"]


def test_generate_and_lint_agree_on_what_is_a_lora() -> None:
    text = "safe, <lora:a:0.5>, <lyco:b>, <hypernet:h:1>"
    loaded = {tag.name for tag in lora_tags(parse(text))}
    findings = Linter(config=LintConfig(select=("ANM-SYN-003",), front_end="anima")).lint(text)
    not_loaded = {text[finding.span.start : finding.span.end] for finding in findings if finding.span}
    assert loaded == {"a", "b"}
    assert not_loaded == {"<hypernet:h:1>"}


def test_unreadable_strength() -> None:
    with pytest.raises(LoraReferenceError, match=r"^<lora:a:strong>: strength 'strong' is not a number$"):
        lora_tags(parse("1girl, <lora:a:strong>"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1girl, <lora:a:0.8>, smile", "1girl, smile"),
        ("<lora:a:0.8>, 1girl", "1girl"),
        ("1girl, smile, <lora:a:0.8>", "1girl, smile"),
        ("1girl <lora:a> <lora:b:2>, smile", "1girl, smile"),
        ("1girl,\n<lora:a:1>\nsmile", "1girl,\nsmile"),
        ("no tags, (smile:1.2)", "no tags, (smile:1.2)"),
        ("<lora:a>", ""),
        ("a <lora:x>b", "a b"),
        ("a,<lora:x> b", "a, b"),
        ("1girl,<lora:a:0.5>\n\n<lora:b>, smile", "1girl\n\nsmile"),
        ("She smiles <lora:c:1> here.", "She smiles here."),
        ("cat, <lora:c:1> she smiles.", "cat, she smiles."),
        ("(<lora:x:1>:1.2), cat", "cat"),
        ("a, (b, <lora:x>:1.2)", "a, (b:1.2)"),
        ("a, [b|<lora:x>]", "a, [b|]"),
        ("a, <hypernet:x:1>", "a, <hypernet:x:1>"),
    ],
)
def test_removing_tags_leaves_no_empty_items(text: str, expected: str) -> None:
    assert render(without_loras(parse(text))) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1girl, /* pose tags */ smile, solo/* character */", "1girl, smile, solo"),
        ("(/*place tags*/), 1girl", "1girl"),
        ("A girl /* her name */ smiles. 1girl", "A girl smiles. 1girl"),
        ("1girl, /* a,\nb */\nsmile", "1girl\nsmile"),
    ],
)
def test_comments_are_taken_out_as_the_comfyui_front_end_does(text: str, expected: str) -> None:
    assert render(without_comments(parse(text))) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("style.safetensors", ("style.safetensors", 1.0)),
        ("style.safetensors:0.6", ("style.safetensors", 0.6)),
        ("C:\\loras\\style.safetensors", ("C:\\loras\\style.safetensors", 1.0)),
        ("C:\\loras\\style.safetensors:-0.5", ("C:\\loras\\style.safetensors", -0.5)),
        ("ink", ("ink", 1.0)),
    ],
)
def test_lora_option(value: str, expected: tuple[str, float]) -> None:
    assert parse_lora_option(value) == expected


@pytest.mark.parametrize("value", ["x.safetensors:abc", "ink:nan", "ink:inf", "C:\\loras\\x.safetensors:1,5"])
def test_a_strength_that_is_no_number_is_named(value: str) -> None:
    with pytest.raises(LoraReferenceError, match="is not a number; write PATH:STRENGTH"):
        parse_lora_option(value)


def test_names_resolve_directly_then_in_sub_folders(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    files = ("deep/er/ink", "x/ink", "styles/pencil")
    for path in (second / "ink.safetensors", *(first / f"{name}.safetensors" for name in files)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    folders = (first, second)
    assert find_lora("ink", folders) == second / "ink.safetensors"  # a direct match wins over sub-folders
    assert find_lora("pencil", folders) == first / "styles" / "pencil.safetensors"
    assert find_lora("styles/pencil.safetensors", folders) == first / "styles" / "pencil.safetensors"
    assert find_lora("er/ink", (first,)) == first / "deep" / "er" / "ink.safetensors"
    assert find_lora("ink", (first,)) == first / "x" / "ink.safetensors"  # the shallowest
    assert find_lora("missing", folders) is None


def test_require_names_the_folders_searched(tmp_path: Path) -> None:
    with pytest.raises(
        LoraReferenceError, match=rf"^LoRA 'ink' not found; looked in: {tmp_path / 'a'}, {tmp_path / 'b'}$"
    ):
        require_lora("ink", (tmp_path / "a", tmp_path / "b"))
    with pytest.raises(
        LoraReferenceError, match=r"looked in: no LoRA folder \(pass --lora-dir or set ANIMA_LORA_DIR\)$"
    ):
        require_lora("ink", ())
    existing = tmp_path / "given.safetensors"
    existing.write_bytes(b"")
    assert require_lora(str(existing), ()) == existing


def test_turbo_names() -> None:
    assert looks_like_turbo_lora("loras/anima-turbo-lora.safetensors")
    assert looks_like_turbo_lora("Anima_Turbo")
    assert not looks_like_turbo_lora("turbo/ink_style.safetensors")
