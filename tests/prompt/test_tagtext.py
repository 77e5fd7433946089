import pytest

from anima_prompt.tagtext import (
    compact_key,
    danbooru_name,
    escape_parens,
    is_kaomoji,
    prompt_form,
    split_qualifier,
    unescape_parens,
    word_order_key,
)


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("hatsune_miku", "hatsune_miku"),
        ("Hatsune Miku", "hatsune_miku"),
        ("  hatsune   miku ", "hatsune_miku"),
        ("@wlop", "wlop"),
        ("@ nnn yryr", "nnn_yryr"),
        ("saber \\(fate\\)", "saber_(fate)"),
        ("saber (fate)", "saber_(fate)"),
        ("1girls", "1girls"),
        ("^_^", "^_^"),
        (">_<", ">_<"),
        ("score_7", "score_7"),
        ("Ｃafé", "ｃafé"),
    ],
)
def test_danbooru_name(written: str, name: str) -> None:
    assert danbooru_name(written) == name


@pytest.mark.parametrize(
    ("name", "artist", "form"),
    [
        ("saber_(fate)", False, "saber \\(fate\\)"),
        ("hammer_(sunset_beach)", True, "@hammer \\(sunset beach\\)"),
        ("score_7", False, "score_7"),
        ("^_^", False, "^_^"),
        ("o_o", False, "o_o"),
        ("long_hair", False, "long hair"),
    ],
)
def test_prompt_form(name: str, artist: bool, form: str) -> None:
    assert prompt_form(name, artist=artist) == form


@pytest.mark.parametrize("name", ["^_^", ">_<", "o_o", "x_x", "(o)_(o)", "|_|", ";_;"])
def test_kaomoji(name: str) -> None:
    assert is_kaomoji(name)


@pytest.mark.parametrize("name", ["long_hair", "no_bra", "1girl", "score_7", "a", "up_to_eleven"])
def test_not_kaomoji(name: str) -> None:
    assert not is_kaomoji(name)


def test_escape_round_trip() -> None:
    assert escape_parens("a (b) \\(c\\)") == "a \\(b\\) \\(c\\)"
    assert unescape_parens(escape_parens("x (y)")) == "x (y)"


@pytest.mark.parametrize(
    ("name", "base", "qualifier"),
    [
        ("tracer_(overwatch)", "tracer", "overwatch"),
        ("hammer_(sunset_beach)", "hammer", "sunset_beach"),
        ("long_hair", "long_hair", None),
        ("(o)_(o)", "(o)_(o)", None),
    ],
)
def test_split_qualifier(name: str, base: str, qualifier: str | None) -> None:
    assert split_qualifier(name) == (base, qualifier)


def test_compact_and_word_order_keys() -> None:
    assert compact_key("izumi_nanase") == compact_key("izuminanase") == "izuminanase"
    assert compact_key("hand_on_another's_head") == compact_key(danbooru_name("hand on anothers head"))
    assert word_order_key("miku_hatsune") == word_order_key("hatsune_miku_(append)") == "hatsune_miku"
