import sqlite3
import threading
import time
from pathlib import Path

import pytest

from anima_prompt.errors import TagIndexError
from anima_prompt.index.query import ENV_VAR, TagIndex, default_index_path
from tests.conftest import TEST_DATA, RealData


@pytest.mark.parametrize(
    ("text", "name", "category", "matched"),
    [
        ("1girls", "1girl", 0, "alias"),
        ("sole female", "1girl", 0, "alias"),
        ("Hatsune Miku", "hatsune_miku", 4, "exact"),
        ("hatsune_miku", "hatsune_miku", 4, "exact"),
        ("@wlop", "wlop", 1, "exact"),
        ("saber \\(fate\\)", "saber_(fate)", 4, "exact"),
        ("Saber (Fate)", "saber_(fate)", 4, "exact"),
        ("^_^", "^_^", 0, "exact"),
        ("/o", "original", 3, "alias"),
    ],
)
def test_lookup_any_spelling(tag_index: TagIndex, text: str, name: str, category: int, matched: str) -> None:
    info = tag_index.lookup(text)
    assert info is not None
    assert (info.name, info.category, info.matched) == (name, category, matched)


def test_lookup_result_fields(tag_index: TagIndex) -> None:
    info = tag_index.lookup("hammer (sunset beach)")
    assert info is not None
    assert info.prompt == "@hammer \\(sunset beach\\)"
    assert info.display == "hammer (sunset beach)"
    assert info.category_name == "artist" and info.is_artist
    assert info.aliases == ("aenobas",)
    assert info.artist_rank == 1
    assert info.source == "danbooru"
    assert tag_index.lookup("1girl").aliases == ("1girls", "sole_female")


def test_lookup_misses_and_dead_aliases(tag_index: TagIndex) -> None:
    assert tag_index.lookup("no such tag") is None
    assert tag_index.lookup("") is None
    assert tag_index.lookup("long hairs") is None  # a deleted alias
    assert tag_index.lookup("miku") is None  # a retired alias


def test_is_artist(tag_index: TagIndex) -> None:
    assert tag_index.is_artist("@wlop")
    assert tag_index.is_artist("wlop")
    assert not tag_index.is_artist("hatsune miku")
    assert not tag_index.is_artist("nobody at all")


def test_implications(tag_index: TagIndex) -> None:
    assert tag_index.implies("very long hair") == ("long_hair",)
    assert tag_index.implies("absurdly long hair") == ("long_hair", "very_long_hair")
    assert tag_index.implies("absurdly long hair", transitive=False) == ("very_long_hair",)
    assert tag_index.implied_by("long_hair") == ("very_long_hair",)
    assert tag_index.implied_by("long_hair", transitive=True) == ("absurdly_long_hair", "very_long_hair")
    assert tag_index.implies("blue eyes") == ()  # the only implication is deleted


def test_search_by_post_count_and_later_words(tag_index: TagIndex) -> None:
    hair = ["long_hair", "very_long_hair", "absurdly_long_hair"]
    assert [t.name for t in tag_index.search("long")] == hair
    assert [t.name for t in tag_index.search("hair")] == hair
    assert [t.name for t in tag_index.search("Hatsune")] == ["hatsune_miku", "hatsune_miku_(append)"]
    assert [t.name for t in tag_index.search("miku")] == ["hatsune_miku", "hatsune_miku_(append)"]
    assert [t.name for t in tag_index.search("long h")] == hair
    assert [t.name for t in tag_index.search("hair", limit=2)] == hair[:2]
    assert tag_index.search("longhair")[0].matched == "alias"


def test_search_category_filter(tag_index: TagIndex) -> None:
    assert [t.name for t in tag_index.search("tracer", category="character")] == [
        "tracer_(overwatch)",
        "tracer_(elsword)",
    ]
    assert [t.name for t in tag_index.search("o", category=3)] == ["original", "overwatch"]
    assert tag_index.search("tracer", category="artist") == ()


def test_artists_listed_first(tag_index: TagIndex) -> None:
    names = [t.name for t in tag_index.artists()]
    assert names[:5] == ["hammer_(sunset_beach)", "wlop", "ruu_(tksymkw)", "izuminanase", "unlisted_painter"]
    unlisted = tag_index.lookup("@unlisted painter")
    assert unlisted is not None and unlisted.source == "artist-list" and unlisted.is_artist
    assert [t.name for t in tag_index.artists("@r", listed_only=True)] == ["ruu_(tksymkw)"]


def test_anima_vocabulary_is_indexed(tag_index: TagIndex) -> None:
    score = tag_index.lookup("score_7")
    assert score is not None and (score.source, score.category_name) == ("anima", "score")
    year = tag_index.lookup("year 2024")
    assert year is not None and year.prompt == "year 2024"
    highres = tag_index.lookup("highres")
    assert highres is not None and highres.source == "danbooru"  # Danbooru's own entry wins


def test_info_records_sources(tag_index: TagIndex) -> None:
    info = tag_index.info()
    assert info.meta["schema_version"] == "1"
    assert float(info.meta["build_seconds"]) >= 0
    assert [s.format for s in info.sources] == [
        "danbooru-csv",
        "danbooru-aliases-json",
        "danbooru-implications-json",
        "artist-list",
    ]
    assert info.sources[0].sha256 and info.counts["tags"] > 22


def test_e621_kept_apart(tmp_path: Path) -> None:
    e621 = tmp_path / "e621_sample.csv"
    e621.write_text('long_hair,0,900000,\nwolf,5,300000,"wolves"\nhi_res,7,3900000,\n', encoding="utf-8")
    index = TagIndex.build([TEST_DATA / "tags_small.csv", e621], tmp_path / "both.sqlite")
    long_hair = index.lookup("long hair")
    assert long_hair is not None and (long_hair.source, long_hair.post_count) == ("danbooru", 4000000)
    wolf = index.lookup("wolves")
    assert wolf is not None
    assert (wolf.name, wolf.source, wolf.category, wolf.category_name) == ("wolf", "e621", 5, "species")
    assert index.lookup("hi res").category_name == "meta"
    index.close()


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(TagIndexError) as error:
        TagIndex.open(tmp_path / "none.sqlite")
    assert "anima index build --source PATH" in str(error.value)
    assert "anima index download" in str(error.value)


def test_garbage_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tags.sqlite"
    path.write_bytes(b"not a database at all, " * 100)
    with pytest.raises(TagIndexError, match="is not an anima tag index"):
        TagIndex.open(path)


def test_foreign_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE tags (name TEXT)")
    connection.close()
    with pytest.raises(TagIndexError, match="is not an anima tag index"):
        TagIndex.open(path)


def test_other_schema_version_is_refused(tag_index_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    path.write_bytes(tag_index_path.read_bytes())
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    connection.close()
    with pytest.raises(TagIndexError, match="has index schema 0, this version reads 1"):
        TagIndex.open(path)


def test_connections_are_read_only(tag_index: TagIndex) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        tag_index._connection().execute("DELETE FROM tags")


def test_failed_build_keeps_the_old_index(tag_index_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "tags.sqlite"
    path.write_bytes(tag_index_path.read_bytes())
    bad = tmp_path / "broken.csv"
    bad.write_text("ok,0,1,\nbroken,zero,1,\n", encoding="utf-8")
    with pytest.raises(TagIndexError, match=r"broken\.csv:2"):
        TagIndex.build([TEST_DATA / "tags_small.csv", bad], path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.csv", "tags.sqlite"]
    with TagIndex.open(path) as index:
        assert index.lookup("1girl") is not None


def test_build_needs_a_tag_list(tmp_path: Path) -> None:
    with pytest.raises(TagIndexError, match="no tag list among the sources"):
        TagIndex.build([TEST_DATA / "aliases_small.json"], tmp_path / "x.sqlite")
    assert not list(tmp_path.iterdir())


def test_shared_between_threads(tag_index: TagIndex) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                info = tag_index.lookup("1girls")
                assert info is not None
                results.append(info.name)
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert results == ["1girl"] * 200


def test_default_path_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "mine.sqlite"))
    assert default_index_path() == tmp_path / "mine.sqlite"
    monkeypatch.delenv(ENV_VAR)
    assert default_index_path().name == "tags.sqlite"
    assert "anima-toolkit" in str(default_index_path())


@pytest.mark.slow
def test_full_danbooru_index(real_data: RealData, tmp_path: Path) -> None:
    """The acceptance checks on the real Danbooru files: build time and size, lookups, implications."""
    names = (
        "danbooru/danbooru_2025-05-01_pt25-ia-dd.csv",
        "danbooru/tag_aliases_2025-05-01.json.gz",
        "danbooru/tag_implications_2025-05-01.json.gz",
    )
    root = real_data(*names)
    sources = [root / name for name in names]
    started = time.process_time()
    index = TagIndex.build(sources, tmp_path / "tags.sqlite")
    assert time.process_time() - started < 60
    assert (tmp_path / "tags.sqlite").stat().st_size < 100_000_000
    assert index.lookup("1girls").name == "1girl"
    miku = index.lookup("Hatsune Miku")
    assert (miku.name, miku.category_name) == ("hatsune_miku", "character")
    wlop = index.lookup("@wlop")
    assert (wlop.name, wlop.category) == ("wlop", 1)
    assert index.lookup("saber \\(fate\\)").name == "saber_(fate)"
    assert "long_hair" in index.implies("very long hair")
    assert index.suggest("izumi nanase")[0].name in {"izumi_nanase", "izuminanase"}
    assert index.suggest("miku hatsune")[0].name == "hatsune_miku"
    assert index.suggest("tracer")[0].name == "tracer_(overwatch)"
    assert index.suggest("lnog hair")[0].name == "long_hair"
    assert index.info().counts["aliases"] == 46921
    index.close()


def test_words_of_any_tags_own_name(tag_index: TagIndex) -> None:
    # the first word of a name, a later word, a word of a series title; not a word only an alias holds
    assert tag_index.in_names("hatsune") and tag_index.in_names("miku") and tag_index.in_names("vocaloid")
    assert not tag_index.in_names("longhair")  # only an alias of long_hair
    assert not tag_index.in_names("hatsun") and not tag_index.in_names("signatre")


def test_a_rebuild_replaces_the_file_under_an_open_index(tmp_path: Path) -> None:
    path, first, second = tmp_path / "tags.sqlite", tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("1girl,0,100,\n", encoding="utf-8")
    second.write_text("1girl,0,100,\nsolo,0,50,\n", encoding="utf-8")
    TagIndex.build([first], path)
    with TagIndex.open(path) as before:
        assert before.lookup("solo") is None
        TagIndex.build([second], path)
        # the open (immutable) connection keeps reading the file it opened; a new one reads the new file
        assert before.lookup("1girl") is not None and before.lookup("solo") is None
        with TagIndex.open(path) as after:
            assert after.lookup("solo") is not None
