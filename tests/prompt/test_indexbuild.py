"""The index writer: the schema sqlite-utils creates, the stored implication closure and aliases, one query
per lookup and per `implies`."""

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlite_utils import Database

from anima_prompt.errors import TagIndexError
from anima_prompt.index.query import TagIndex
from anima_prompt.index.schema import CLOSURE_TABLE, LAYOUT_TABLES, TABLES
from tests.conftest import TEST_DATA


def test_tables_follow_the_spec(tag_index_path: Path) -> None:
    db = Database(tag_index_path)
    try:
        assert set(db.table_names()) >= {spec.name for spec in TABLES}
        for spec in TABLES:
            table = db.table(spec.name)
            assert [column.name for column in table.columns] == list(spec.columns)
            not_null = {column.name for column in table.columns if column.notnull}
            assert not_null >= set(spec.columns) - set(spec.nullable) - {spec.pk}
            assert set(spec.nullable).isdisjoint(not_null)
            indexed = {tuple(index.columns) for index in table.indexes}
            assert indexed >= set(spec.indexes) | set(spec.unique)
            assert ("WITHOUT ROWID" in (table.schema or "")) == spec.without_rowid
        (application_id,) = db.execute("PRAGMA application_id").fetchone()
        assert application_id == 0x416E6D31
    finally:
        db.close()


def test_tag_rows_carry_their_live_aliases(tag_index: TagIndex) -> None:
    rows = tag_index._query("SELECT name, source FROM tags ORDER BY id")
    assert len(rows) > 20
    for name, source in rows:
        info = tag_index.search(name, limit=50)
        found = next(t for t in info if (t.name, t.source) == (name, source))
        assert found.aliases == tag_index.aliases(name, source), name
    assert tag_index.lookup("original").aliases == ("/o", "original_character")


def _write_implications(path: Path, pairs: list[tuple[str, str, str]]) -> Path:
    records = [
        {"id": i, "antecedent_name": a, "consequent_name": c, "status": status}
        for i, (a, c, status) in enumerate(pairs, start=1)
    ]
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def test_closure_follows_chains_and_survives_cycles(tmp_path: Path) -> None:
    tags = tmp_path / "tags.csv"
    tags.write_text("a,0,5,\nb,0,4,\nc,0,3,\nd,0,2,\nx,0,1,\n", encoding="utf-8")
    implications = _write_implications(
        tmp_path / "tag_implications.json",
        [
            ("a", "b", "active"),
            ("b", "c", "active"),
            ("c", "a", "active"),  # a cycle back to the start
            ("a", "c", "active"),  # also a direct edge: depth 1, not 2
            ("c", "d", "active"),
            ("d", "x", "deleted"),
        ],
    )
    with TagIndex.build([tags, implications], tmp_path / "tags.sqlite", include_vocab=False) as index:
        assert index.implies("a") == ("b", "c", "d")
        assert index.implies("a", transitive=False) == ("b", "c")
        assert index.implies("d") == ()
        assert index.implied_by("d", transitive=True) == ("a", "b", "c")
        assert index.implied_by("a") == ("c",)
        depths = dict(index._query(f"SELECT consequent, depth FROM {CLOSURE_TABLE} WHERE antecedent = 'b'"))
        assert depths == {"c": 1, "a": 2, "d": 2}


def test_implies_resolves_aliases_and_unknown_names(tmp_path: Path) -> None:
    tags = tmp_path / "tags.csv"
    tags.write_text('very_long_hair,0,5,"vlh"\nlong_hair,0,9,\n', encoding="utf-8")
    implications = _write_implications(
        tmp_path / "tag_implications.json",
        [("very_long_hair", "long_hair", "active"), ("not_a_tag", "long_hair", "active")],
    )
    with TagIndex.build([tags, implications], tmp_path / "tags.sqlite", include_vocab=False) as index:
        assert index.implies("VLH") == ("long_hair",)  # an alias resolves to its tag first
        assert index.implies("not a tag") == ("long_hair",)  # a name without a tag row is used as written
        assert index.implies("") == ()
        assert index.implied_by("long hair") == ("not_a_tag", "very_long_hair")


def _statements(index: TagIndex, call: Callable[[], object]) -> list[str]:
    statements: list[str] = []
    connection = index._connection()
    connection.set_trace_callback(statements.append)
    try:
        call()
    finally:
        connection.set_trace_callback(None)
    return statements


def test_lookup_and_implies_are_one_query_each(tag_index: TagIndex) -> None:
    assert len(_statements(tag_index, lambda: tag_index.lookup("1girls"))) == 1
    assert len(_statements(tag_index, lambda: tag_index.implies("absurdly long hair"))) == 1
    assert len(_statements(tag_index, lambda: tag_index.implied_by("long hair", transitive=True))) == 1
    assert len(_statements(tag_index, lambda: tag_index.search("long", limit=3))) == 1


@pytest.mark.parametrize("table", LAYOUT_TABLES)
def test_index_of_an_earlier_layout_is_refused(tag_index_path: Path, tmp_path: Path, table: str) -> None:
    path = tmp_path / "old.sqlite"
    shutil.copy(tag_index_path, path)
    with sqlite3.connect(path) as connection:
        connection.execute(f"DROP TABLE {table}")
    connection.close()
    with pytest.raises(TagIndexError) as error:
        TagIndex.open(path)
    assert str(error.value) == (
        f"{path} was built by an earlier development version (no {table} table); "
        "rebuild it with `anima index build`"
    )


def test_build_leaves_no_temporary_file(tmp_path: Path) -> None:
    TagIndex.build([TEST_DATA / "tags_small.csv"], tmp_path / "tags.sqlite").close()
    assert [p.name for p in tmp_path.iterdir()] == ["tags.sqlite"]


def test_the_word_table_holds_the_words_of_descriptive_tags(tag_index: TagIndex) -> None:
    # long_hair, very_long_hair and absurdly_long_hair: 4,000,000 + 1,500,000 + 50,000 posts
    assert tag_index.word_posts("hair") == 5_550_000
    assert tag_index.word_posts("eyes") == 1_900_000
    assert tag_index.word_posts("bracer") == 3_000
    # names are no words of the vocabulary: characters, series, artists, and qualifiers
    assert [tag_index.word_posts(word) for word in ("hatsune", "tracer", "vocaloid", "wlop", "(fate)")] == [
        0
    ] * 5
    assert tag_index.word_posts("quality") > 0  # Anima's own tags count: `best quality`


def test_cosplay_tags_are_names_not_words(tmp_path: Path) -> None:
    source = tmp_path / "tags.csv"
    source.write_text("zorbina_(cosplay),0,900,\nkite,0,500,\n", encoding="utf-8")
    index = TagIndex.build([source], tmp_path / "tags.sqlite", include_vocab=False)
    try:
        assert (index.word_posts("zorbina"), index.word_posts("kite")) == (0, 500)
    finally:
        index.close()
