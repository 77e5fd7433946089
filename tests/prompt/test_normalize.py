"""normalize(): Anima's canonical form, with and without a tag index."""

from decimal import Decimal

import pytest

from anima_prompt import TagInfo, parse, render
from anima_prompt.nodes import Artist, Tag
from anima_prompt.normalize import TagLookup, canonical_weight, normalize


def fmt(text: str, index: TagLookup | None = None, *, reorder: bool = False) -> str:
    return render(normalize(parse(text), index, reorder=reorder))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Hatsune_Miku,  1girl, saber (fate), (blue eyes:1.5)",
            "hatsune miku, 1girl, saber \\(fate\\), (blue eyes:1.5)",
        ),
        ("long   hair ,smile,,  , blush", "long hair, smile, blush"),
        ("  1girl, solo  ", "1girl, solo"),
        ("tracer_(overwatch)", "tracer \\(overwatch\\)"),
        ("(tracer \\(overwatch\\):1.20)", "(tracer \\(overwatch\\):1.2)"),
        ("(x:1.50), (y: 2.0 ), (z:.5), (w:-0.0), (v:10)", "(x:1.5), (y:2), (z:0.5), (w:0), (v:10)"),
        ("(x), ((x)), ( x )", "(x), ((x)), (x)"),
        ("a, ( ), b", "a, (), b"),
        ("score_7, Score_9, score_9_up", "score_7, score_9, score_9_up"),
        ("^_^, >_<, :3, ;)", "^_^, >_<, :3, ;\\)"),
        ("@NNN_yryr, @hammer (sunset beach)", "@nnn yryr, @hammer \\(sunset beach\\)"),
        ("(@Wlop:1.2)", "(@wlop:1.2)"),
        ("1girl (smile:1.2)", "1girl, (smile:1.2)"),
        ("a,\nb\n\n\nc", "a,\nb\n\nc"),
        ("long hair.  She is Smiling, Very Happily.", "long hair. She is Smiling, Very Happily."),
        (
            "BREAK, __Wild_Card__, <lora:My_LoRA:0.80>, [Red|Blue], {A|B}",
            "BREAK, __Wild_Card__, <lora:My_LoRA:0.80>, [Red|Blue], {A|B}",
        ),
        (
            "a __color__ dress, [red|blue] hair BREAK long hair",
            "a __color__ dress, [red|blue] hair BREAK long hair",
        ),
        ("a  __color__   dress", "a __color__ dress"),
        ("(masterpiece, Best_Quality", "(masterpiece, best quality"),
        (
            "deviantart\nFlame Of The_Sun\nDigital painting.",
            "deviantart\nFlame Of The_Sun\nDigital painting.",
        ),
        ("Ｃafé", "ｃafé"),
        # spaces for underscores would end a sentence inside the tag (`smile. long hair`): kept as written
        ("smile._Long_Hair, 1girl", "smile._Long_Hair, 1girl"),
        # the fullwidth comma separates a face or an artist like the comma does
        (":)，@Wlop，1girl", ":\\), @wlop, 1girl"),
        # a period after a brace group ends its sentence, like one after `)` or `]`
        ("{red|blue}. (smile)", "{red|blue}. (smile)"),
    ],
)
def test_canonical_form(text: str, expected: str) -> None:
    assert fmt(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Hatsune_Miku ,saber (fate), (x:1.50)",
        "masterpiece, best quality, score_7, safe, 1girl, @nnn yryr, long hair. She is smiling, standing.",
        "(a, (b:1.20), [c]), {d|e}\n\nSome prose here.",
        "(; ), 0(0 )",
        "BREAK ;)",
        "smile._long hair",
        ":)，x",
        "{a|b}. (x)",
    ],
)
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalize(parse(text))
    assert normalize(once) == once
    assert fmt(render(once)) == render(once)


def test_normalised_nodes_keep_source_spans() -> None:
    text = "x, Saber_(Fate)"
    tag = normalize(parse(text)).items[1]
    assert isinstance(tag, Tag)
    assert tag.text == "saber \\(fate\\)"
    assert text[tag.span.start : tag.span.end] == "Saber_(Fate)"


def test_canonical_weight() -> None:
    assert canonical_weight(Decimal("1.50")) == "1.5"
    assert canonical_weight(Decimal("100")) == "100"
    assert canonical_weight(Decimal("-0.0")) == "0"


def fake_tag(name: str, category: int, category_name: str, source: str = "danbooru") -> TagInfo:
    return TagInfo(name, name, name, category, category_name, source, 0, (), None, "exact")


class FakeIndex:
    """A tiny stand-in for the tag index: Danbooru names, aliases and categories."""

    def __init__(self) -> None:
        self.tags = {
            "hatsune_miku": fake_tag("hatsune_miku", 4, "character"),
            "vocaloid": fake_tag("vocaloid", 3, "copyright"),
            "wlop": fake_tag("wlop", 1, "artist"),
            "nnn_yryr": fake_tag("nnn_yryr", 1, "artist"),
            "long_hair": fake_tag("long_hair", 0, "general"),
            "highres": fake_tag("highres", 5, "meta"),
            "wolf": fake_tag("wolf", 5, "species", "e621"),
        }
        self.aliases = {"/hm": "hatsune_miku", "miku_hatsune": "hatsune_miku", "high_res": "highres"}
        self.queries: list[str] = []

    def lookup(self, text: str) -> TagInfo | None:
        self.queries.append(text)
        return self.tags.get(self.aliases.get(text, text))


def test_index_resolves_aliases_and_marks_artists() -> None:
    index = FakeIndex()
    assert fmt("Miku_Hatsune, wlop, (WLOP:1.3), high_res, unknown tag", index) == (
        "hatsune miku, @wlop, (@wlop:1.3), highres, unknown tag"
    )
    assert "miku_hatsune" in index.queries


def test_index_keeps_prose_and_foreign_syntax() -> None:
    assert fmt("She likes wlop. [wlop|x]", FakeIndex()) == "She likes wlop. [wlop|x]"


def test_reorder_follows_the_card() -> None:
    text = "long hair, @wlop, vocaloid, hatsune miku, 1girl, safe, masterpiece, (smile:1.2). She waves."
    assert fmt(text, FakeIndex(), reorder=True) == (
        "safe, masterpiece, 1girl, hatsune miku, vocaloid, @wlop, long hair, (smile:1.2). She waves."
    )


def test_reorder_places_the_count_tags_the_linter_knows() -> None:
    assert fmt("long hair, multiple girls, 2boys, 1 girl, highres", FakeIndex(), reorder=True) == (
        "highres, multiple girls, 2boys, long hair, 1 girl"  # `1 girl` is no tag: a general item
    )


def test_reorder_reads_category_names_not_numbers() -> None:
    # e621's category 5 is `species`, Danbooru's 5 is `meta`: wolf is a general tag, not a prefix tag
    assert fmt("long hair, wolf, highres", FakeIndex(), reorder=True) == "highres, long hair, wolf"


def test_reorder_without_index_moves_only_known_sections() -> None:
    assert fmt("long hair, hatsune miku, 1girl, @wlop, score_7", reorder=True) == (
        "score_7, 1girl, long hair, hatsune miku, @wlop"
    )


def test_reorder_does_not_cross_line_breaks_or_prose() -> None:
    text = "long hair, 1girl\nsmile, safe"
    assert fmt(text, reorder=True) == "1girl, long hair\nsafe, smile"


def test_reorder_is_idempotent() -> None:
    once = normalize(
        parse("long hair, @wlop, vocaloid, hatsune miku, 1girl, safe"), FakeIndex(), reorder=True
    )
    assert normalize(once, FakeIndex(), reorder=True) == once


def test_unknown_kind_of_index_result_is_general() -> None:
    node = normalize(parse("wlop"), FakeIndex()).items[0]
    assert isinstance(node, Artist)


def test_an_underscore_before_a_full_stop_does_not_detach_it() -> None:
    once = render(normalize(parse("0000_. BREAK")))
    assert render(normalize(parse(once))) == once
