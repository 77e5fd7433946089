import gzip
import json
from pathlib import Path

import pytest

from anima_prompt.errors import TagIndexError
from anima_prompt.index.sources import (
    detect_format,
    load_source,
    read_artist_list,
    read_danbooru_relations,
    read_e621_relations,
    read_tag_csv,
)
from tests.conftest import TEST_DATA, RealData


def test_tag_csv_rows_and_aliases() -> None:
    rows = {row.name: row for row in read_tag_csv(TEST_DATA / "tags_small.csv", "danbooru")}
    assert rows["1girl"].category == 0
    assert rows["1girl"].post_count == 6000000
    assert rows["1girl"].aliases == ("1girls", "sole_female")
    assert rows["wlop"].aliases == ()
    assert rows["hatsune_miku"].category == 4


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("tag,2,10,", "bad.csv:2: category 2 is not a danbooru category"),
        ("tag,x,10,", "bad.csv:2: category and post count must be integers, got 'x' and '10'"),
        ("tag", "bad.csv:2: expected name,category,post_count[,aliases]"),
    ],
)
def test_tag_csv_errors_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(f"ok,0,5,\n{line}\n", encoding="utf-8")
    with pytest.raises(TagIndexError) as error:
        read_tag_csv(path, "danbooru")
    assert str(error.value) == f"{path.parent}/{message}"


def test_e621_categories_are_their_own(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text('mammal,5,4124425,"mammals,mamal"\nhi_res,7,3908371,hires\n', encoding="utf-8")
    assert detect_format(path) == "e621-csv"
    rows = read_tag_csv(path, "e621")
    assert [(r.name, r.category) for r in rows] == [("mammal", 5), ("hi_res", 7)]
    with pytest.raises(TagIndexError, match="category 7 is not a danbooru category"):
        read_tag_csv(path, "danbooru")


def test_danbooru_relations_drop_repeated_ids_and_keep_status() -> None:
    aliases = read_danbooru_relations(TEST_DATA / "aliases_small.json")
    assert len(aliases) == 4
    assert {(a.antecedent, a.status) for a in aliases} >= {("long_hairs", "deleted"), ("miku", "retired")}


def test_danbooru_relations_read_gzip(tmp_path: Path) -> None:
    path = tmp_path / "tag_implications.json.gz"
    records = [{"id": 1, "antecedent_name": "a", "consequent_name": "b", "status": "active"}] * 3
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        json.dump(records, stream)
    assert detect_format(path) == "danbooru-implications-json"
    assert len(read_danbooru_relations(path)) == 1


def test_danbooru_relation_record_errors(tmp_path: Path) -> None:
    path = tmp_path / "tag_aliases.json"
    path.write_text('[{"id": 1, "antecedent_name": "a"}]', encoding="utf-8")
    with pytest.raises(TagIndexError, match="record 0 lacks"):
        read_danbooru_relations(path)


def test_e621_relation_csv(tmp_path: Path) -> None:
    path = tmp_path / "tag_aliases-2025.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as stream:
        stream.write("id,antecedent_name,consequent_name,created_at,status\n4,ds,nintendo_ds,,active\n")
        stream.write("5,tits,breasts,,deleted\n4,ds,nintendo_ds,,active\n")
    assert detect_format(path) == "e621-aliases-csv"
    relations = read_e621_relations(path)
    assert [(r.antecedent, r.consequent, r.status) for r in relations] == [
        ("ds", "nintendo_ds", "active"),
        ("tits", "breasts", "deleted"),
    ]


def test_e621_relation_csv_needs_its_header(tmp_path: Path) -> None:
    path = tmp_path / "tag_implications.csv"
    path.write_text("a,b,c\n", encoding="utf-8")
    with pytest.raises(TagIndexError, match="expected the header"):
        read_e621_relations(path)


def test_artist_list_skips_comments_and_unescapes() -> None:
    entries = read_artist_list(TEST_DATA / "artists_small.txt")
    assert [(e.name, e.rank) for e in entries][:2] == [("hammer_(sunset_beach)", 1), ("wlop", 2)]
    assert entries[-1].name == "unlisted_painter"


def test_artist_list_rejects_lines_without_at(tmp_path: Path) -> None:
    path = tmp_path / "artists.txt"
    path.write_text("# header\n@a\nplain name\n", encoding="utf-8")
    with pytest.raises(TagIndexError, match=r"artists.txt:3: expected an @artist line"):
        read_artist_list(path)


def test_detect_format_needs_help_for_unnamed_json(tmp_path: Path) -> None:
    path = tmp_path / "dump.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(TagIndexError, match="use --format"):
        detect_format(path)


def test_load_source_records_file_facts() -> None:
    source = load_source(TEST_DATA / "tags_small.csv")
    assert source.info.format == "danbooru-csv"
    assert source.info.records == len(source.tags) == 22
    assert len(source.info.sha256) == 64
    assert source.info.size == (TEST_DATA / "tags_small.csv").stat().st_size


def test_load_source_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TagIndexError, match="no such file"):
        load_source(tmp_path / "none.csv")


def test_real_dumps(real_data: RealData) -> None:
    names = ("danbooru/tag_aliases_2025-05-01.json.gz", "e621/e621_2026-04-01_pt20-ia-ed.csv")
    shared_data = real_data(*names)
    aliases = load_source(shared_data / "danbooru" / "tag_aliases_2025-05-01.json.gz")
    assert aliases.info.format == "danbooru-aliases-json"
    assert aliases.info.date == "2025-05-01"
    assert len(aliases.relations) == 47119  # 48,119 records, 1,000 repeated by id
    e621 = load_source(shared_data / "e621" / "e621_2026-04-01_pt20-ia-ed.csv")
    assert e621.info.format == "e621-csv"
    assert sum(row.category == 5 for row in e621.tags) == 7458  # species
