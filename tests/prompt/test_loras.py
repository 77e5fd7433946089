"""LoRA tags in prompts, `--lora` values and LoRA names in folders, without torch."""

from pathlib import Path

import pytest

from anima_prompt.loras import (
    LoraReferenceError,
    LoraTag,
    find_lora,
    find_lora_tags,
    looks_like_turbo_lora,
    parse_lora_option,
    require_lora,
    strip_lora_tags,
)


def test_tags_with_and_without_strength() -> None:
    text = "<lora:a:0.5>, 1girl, <LORA:sub/b>, <lyco:c:-1.25>"
    assert find_lora_tags(text) == (
        LoraTag("a", 0.5, 0, 12),
        LoraTag("sub/b", 1.0, 21, 33),
        LoraTag("c", -1.25, 35, 49),
    )


def test_unreadable_strength() -> None:
    with pytest.raises(LoraReferenceError, match=r"^<lora:a:strong>: strength 'strong' is not a number$"):
        find_lora_tags("1girl, <lora:a:strong>")


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
    ],
)
def test_strip_leaves_no_empty_items(text: str, expected: str) -> None:
    assert strip_lora_tags(text) == expected


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
