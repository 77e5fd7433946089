import pytest

from anima_prompt.tagtext import danbooru_name, escape_parens, is_kaomoji, prompt_form, unescape_parens


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
