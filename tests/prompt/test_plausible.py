"""Which suggestions the linter shows: `index.plausible`, on hand-made suggestions and a word table."""

import pytest

from anima_prompt.index.plausible import plausible, typo_edits
from anima_prompt.index.records import Suggestion

# the vocabulary of tag words: posts of the descriptive tags holding each word
WORDS = {
    "hair": 28_000_000,
    "blue": 4_000_000,
    "text": 400_000,
    "sign": 90_000,
    "kite": 2_000,
    "moon": 30_000,
    "shirt": 3_000_000,
    "short": 3_000_000,
    "sacred": 2_000,
    "scared": 20_000,
    "pink": 2_000_000,
    "ink": 40_000,
    "background": 3_000_000,
}


def word_posts(word: str) -> int:
    return WORDS.get(word, 0)


def meant(text: str, name: str, reason: str, *, category: str = "general", posts: int = 50_000) -> bool:
    return plausible(text, Suggestion(name, 80.0, reason, name, posts, category), word_posts)


@pytest.mark.parametrize("reason", ["exact", "alias", "spacing", "word_order"])
def test_the_same_words_written_otherwise_are_plausible(reason: str) -> None:
    assert meant("kite moon", "moon_kite", reason)


def test_an_artist_is_never_meant_for_a_tag() -> None:
    assert not meant("kites", "kitez", "fuzzy", category="artist")


def test_plurals_of_descriptive_tags_only() -> None:
    assert meant("blue kites", "blue_kite", "plural")
    assert not meant("kites", "kites", "plural", category="character")


@pytest.mark.parametrize(
    ("text", "tag", "expected"),
    [
        ("moonlit", "moonlight", False),  # another word, not an inflection
        ("glitte", "glitter", False),  # `r` is no inflection
        ("sparkl", "sparkly", True),
        ("fold", "folded", True),
        ("text", "texting", False),  # a word of the vocabulary is meant as written
        ("kite", "kite_flying", False),  # a new word makes another tag
    ],
)
def test_a_prefix_is_plausible_when_it_only_inflects_a_cut_word(text: str, tag: str, expected: bool) -> None:
    assert meant(text, tag, "prefix") is expected


def test_a_qualifier_names_a_character_only_for_a_name() -> None:
    assert meant("zorbina", "zorbina_(some_game)", "qualifier", category="character")
    assert not meant("moon", "moon_(some_game)", "qualifier", category="character")
    assert meant("moon", "moon_(sky)", "qualifier")


def test_a_word_is_no_tag_of_a_series_but_a_name_of_two_words_may_be() -> None:
    def series(qualifier: str) -> bool:
        return qualifier == "some_game"

    def qualified(text: str, name: str) -> bool:
        return plausible(text, Suggestion(name, 80.0, "qualifier", name, 500, "general"), word_posts, series)

    assert not qualified("moon", "moon_(some_game)")  # a general tag of that series: `moon` means the word
    assert qualified("moon", "moon_(sky)")
    assert qualified("blue moon", "blue_moon_(some_game)")


@pytest.mark.parametrize(
    ("text", "tag", "expected"),
    [
        ("blue hiar", "blue_hair", True),  # a transposition in a non-word
        ("bleu hair", "blue_hair", True),
        ("text", "tent", False),  # `text` is a word Danbooru's tags use
        ("kitte", "kitten", False),  # `kitten` is no common tag word here
        ("hiar", "hair", True),
        ("hir", "hair", False),  # three letters: no edit tolerated
        ("bluhair", "blue_hair", True),  # spacing and a typo at once
        ("hair bluue", "blue_hair", False),  # the words differ by more than a typo each
    ],
)
def test_a_misspelling_turns_a_non_word_into_a_common_tag_word(text: str, tag: str, expected: bool) -> None:
    assert meant(text, tag, "fuzzy") is expected


def test_a_misspelt_popular_name_is_plausible() -> None:
    assert meant("zorbnia", "zorbina", "fuzzy", category="character", posts=20_000)
    assert not meant("zorbnia", "zorbina", "fuzzy", category="character", posts=200)


@pytest.mark.parametrize(
    ("text", "tag", "posts", "expected"),
    [
        ("shirt hair", "short_hair", 2_400_000, True),  # one word slipped into another, the tag is popular
        ("shirt hair", "short_hair", 900, False),  # a rare tag: `shirt hair` may be meant as written
        ("sacred", "scared", 20_000, False),  # a word alone: nothing around it fixes the meaning
        ("ink background", "pink_background", 90_000, False),  # three letters are one edit from many words
        ("shirt hair", "short_shorts", 2_000_000, False),  # two words differ
    ],
)
def test_a_word_slipped_into_another_word_only_inside_a_popular_tag(
    text: str, tag: str, posts: int, expected: bool
) -> None:
    assert meant(text, tag, "fuzzy", posts=posts) is expected


def test_a_typo_may_switch_singular_and_plural_inside_a_tag_of_several_words() -> None:
    WORDS["fingers"] = 900_000
    try:
        assert meant("blue fngers", "blue_finger", "fuzzy")  # `fingers`, one edit away, names the tag's word
        assert not meant("fngers", "finger", "fuzzy")  # alone, nothing fixes the meaning
    finally:
        del WORDS["fingers"]


def test_typo_edits_grow_with_the_word() -> None:
    assert [typo_edits(length) for length in (3, 4, 8, 9, 20)] == [0, 1, 1, 2, 2]


def test_one_word_names_only_a_popular_character() -> None:
    assert meant("nahida", "nahida_(genshin_impact)", "qualifier", category="character", posts=9_544)
    assert not meant("shion", "shion_(tensura)", "qualifier", category="character", posts=233)
    # two words are specific enough for a minor character
    assert meant("rin tohsaka", "tohsaka_rin_(fate/zero)", "qualifier", category="character", posts=400)


@pytest.mark.parametrize("reason", ["qualifier", "plural", "exact"])
def test_a_colour_word_alone_is_the_colour_not_an_object_of_its_name(reason: str) -> None:
    assert not meant("orange", "orange_(fruit)", reason)
    assert not meant("silver", "silver_(pokemon)", reason, category="character")
    assert meant("kiwi", "kiwi_(fruit)", reason)  # no colour: the object is meant


def test_words_of_the_vocabulary_are_not_joined_into_another_tag() -> None:
    words = {**WORDS, "dark": 500_000, "lighting": 300_000, "backlighting": 200_000}

    def joined(text: str, name: str) -> bool:
        return plausible(
            text, Suggestion(name, 60.0, "fuzzy", name, 50_000, "general"), lambda w: words.get(w, 0)
        )

    assert not joined("dark lighting", "backlighting")
    assert joined("back lihgting", "backlighting")  # a misspelt word is still one


def test_a_word_of_a_tags_name_is_meant_as_written() -> None:
    # `noon` is in a title and `kita` in a name: real words, not misspellings of `moon` or `kite`
    names = {"noon", "kita"}.__contains__
    for text, name in (("noon", "moon"), ("kita", "kite")):
        suggestion = Suggestion(name, 80.0, "fuzzy", name, 300_000, "general")
        assert plausible(text, suggestion, word_posts)
        assert not plausible(text, suggestion, word_posts, name_word=names)


def test_a_qualifier_written_as_the_last_words_is_the_qualified_tag() -> None:
    for text, name in (("spring season", "spring_(season)"), ("saber fate", "saber_(fate)")):
        assert plausible(text, Suggestion(name, 80.0, "fuzzy", name, 20_000, "general"), word_posts)


def test_another_form_of_a_tags_word_among_its_other_words_is_meant() -> None:
    for text, name, posts in (("opened mouth", "open_mouth", 2_500_000), ("age up", "aged_up", 30_000)):
        assert plausible(text, Suggestion(name, 80.0, "fuzzy", name, posts, "general"), word_posts)
    # alone, a word's other form is another word
    assert not plausible(
        "opened", Suggestion("open", 80.0, "fuzzy", "open", 2_500_000, "general"), word_posts
    )
