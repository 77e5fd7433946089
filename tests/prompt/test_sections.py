"""The card's sections: one placement of tags for normalize(reorder=True) and the linter's order rules."""

import pytest

from anima_prompt import TagInfo, parse
from anima_prompt.lint.analysis import analyse
from anima_prompt.lint.sections import section_of
from anima_prompt.sections import Section, tag_section


def info(name: str, category_name: str) -> TagInfo:
    return TagInfo(name, name, name, 0, category_name, "danbooru", 0, (), None, "exact")


@pytest.mark.parametrize(
    ("name", "section"),
    [
        ("masterpiece", Section.PREFIX),
        ("score_7", Section.PREFIX),
        ("year_2031", Section.PREFIX),  # every `year N`, also after the vocabulary's last year
        ("safe", Section.PREFIX),
        ("deviantart", None),  # a dataset tag belongs to no section
        ("1girl", Section.COUNT),
        ("6+others", Section.COUNT),
        ("multiple_boys", Section.COUNT),
        ("no_humans", Section.COUNT),
        ("1_girl", None),  # not a tag: neither a count tag nor known without an index
        ("long_hair", None),
    ],
)
def test_sections_without_an_index(name: str, section: Section | None) -> None:
    assert tag_section(name) is section


@pytest.mark.parametrize(
    ("category_name", "section"),
    [
        ("character", Section.CHARACTER),
        ("copyright", Section.SERIES),
        ("artist", Section.ARTIST),
        ("meta", Section.PREFIX),
        ("general", Section.GENERAL),
        ("species", Section.GENERAL),  # e621's category 5, Danbooru's 5 is meta: names decide, not numbers
    ],
)
def test_sections_by_index_category(category_name: str, section: Section) -> None:
    assert tag_section("some_tag", lambda name: info(name, category_name)) is section


def test_the_linter_places_items_with_the_same_function() -> None:
    items = analyse(parse("1girl, 1 girl, masterpiece, @wlop, long hair, She smiles.")).items
    assert [section_of(item, None) for item in items] == [
        Section.COUNT,
        None,
        Section.PREFIX,
        Section.ARTIST,
        None,
        None,
    ]
