from pathlib import Path

import pytest

from anima_prompt.index.query import TagIndex
from anima_prompt.index.suggest import Suggestion, max_distance_for, plural_variants, suggest


@pytest.mark.parametrize(
    ("text", "name", "reason"),
    [
        ("izumi nanase", "izuminanase", "spacing"),
        ("izumi_nanase", "izuminanase", "spacing"),
        ("miku hatsune", "hatsune_miku", "word_order"),
        ("tracer", "tracer_(overwatch)", "qualifier"),
        ("lnog hair", "long_hair", "fuzzy"),
        ("hatsnue miku", "hatsune_miku", "fuzzy"),
        ("very lng hiar", "very_long_hair", "fuzzy"),
        ("hand on own hips", "hand_on_own_hip", "plural"),
        ("blue eye", "blue_eyes", "plural"),
        ("1girls", "1girl", "alias"),
        ("Hatsune_Miku", "hatsune_miku", "exact"),
        ("absurdly long", "absurdly_long_hair", "prefix"),
        ("@wlpo", "wlop", "fuzzy"),
    ],
)
def test_first_suggestion(tag_index: TagIndex, text: str, name: str, reason: str) -> None:
    first = suggest(text, tag_index)[0]
    assert (first.name, first.reason) == (name, reason)


def test_exact_tag_comes_first_with_full_score(tag_index: TagIndex) -> None:
    found = suggest("long hair", tag_index)
    assert found[0] == Suggestion("long_hair", 100.0, "exact", "long_hair", 4000000, "general")


def test_scores_and_order(tag_index: TagIndex) -> None:
    found = suggest("tracer", tag_index, limit=5)
    names = [s.name for s in found]
    assert names[:2] == ["tracer_(overwatch)", "tracer_(elsword)"]  # same base: more posts first
    assert "bracer" in names  # one edit away
    assert all(0 <= s.score <= 100 for s in found)
    assert len(set(names)) == len(names)


def test_limit_and_empty_text(tag_index: TagIndex) -> None:
    assert len(suggest("hair", tag_index, limit=2)) <= 2
    assert suggest("", tag_index) == ()
    assert suggest("   ", tag_index) == ()
    assert suggest("long hair", tag_index, limit=0) == ()


def test_nothing_close(tag_index: TagIndex) -> None:
    assert suggest("qqqqqqqqqqqq", tag_index) == ()


def test_max_distance_override(tag_index: TagIndex) -> None:
    assert suggest("hatsnue miku", tag_index, max_distance=0) == ()


def test_popularity_orders_equal_costs(tag_index: TagIndex) -> None:
    # `tracer` is one edit from `bracer` and a qualifier away from two characters: without the prior the
    # two qualifier hits tie (name order) ahead of the edit; with it the more posted character leads.
    plain = [s.name for s in suggest("tracer", tag_index, popularity=0.0)]
    assert plain[:3] == ["tracer_(elsword)", "tracer_(overwatch)", "bracer"]
    assert suggest("tracer", tag_index)[0].name == "tracer_(overwatch)"


def test_index_method_delegates(tag_index: TagIndex) -> None:
    assert tag_index.suggest("miku hatsune", limit=1) == suggest("miku hatsune", tag_index, limit=1)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("blue_eye", {"blue_eyes", "blue_eyees", "blues_eye", "bluees_eye"}),
        (
            "hand_on_own_hips",
            {
                "hands_on_own_hips",
                "handes_on_own_hips",
                "hand_on_owns_hips",
                "hand_on_ownes_hips",
                "hand_on_own_hip",
            },
        ),
        ("berries", {"berry"}),
        ("berry", {"berrys", "berryes", "berries"}),
        ("1girl", set()),
    ],
)
def test_plural_variants(key: str, expected: set[str]) -> None:
    assert plural_variants(key) == expected


def test_max_distance_grows_with_length() -> None:
    assert [max_distance_for(n) for n in (1, 3, 4, 5, 6, 20)] == [0, 0, 1, 1, 2, 2]


def test_a_renamed_base_names_every_sense_of_the_target(tmp_path: Path) -> None:
    # `photograph_(object)` is an alias of `photo_(object)`: `photograph` also means `photo_(medium)`
    csv = tmp_path / "tags.csv"
    csv.write_text(
        'photo_(medium),5,18148,\nphoto_(object),0,14290,"photograph_(object)"\nshiny,0,900,\n',
        encoding="utf-8",
    )
    with TagIndex.build([csv], tmp_path / "tags.sqlite") as index:
        assert [s.name for s in suggest("photograph", index)][:2] == ["photo_(medium)", "photo_(object)"]
        assert [s.name for s in suggest("photo", index)][:2] == ["photo_(medium)", "photo_(object)"]


def test_a_word_is_no_plural_of_a_tag_whose_s_is_a_word_of_its_own() -> None:
    from anima_prompt.index.plausible import plausible
    from anima_prompt.index.records import Suggestion

    cool_s = Suggestion("cool_s", 90.0, "plural", "cool_s", post_count=500, category_name="general")
    assert not plausible("cool", cool_s, lambda word: 1000)
    hats = Suggestion("hats", 90.0, "plural", "hats", post_count=500, category_name="general")
    assert plausible("hat", hats, lambda word: 1000)
