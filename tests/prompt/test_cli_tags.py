import functools
import hashlib
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from anima_prompt.cli import cli
from tests.conftest import SMALL_TAG_SOURCES, TEST_DATA


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_show_text(tag_index_path: Path) -> None:
    code, out, _ = run("tags", "show", "Very Long Hair", "--db", str(tag_index_path))
    assert code == 0
    assert "name:      very_long_hair\n" in out
    assert "category:  general (danbooru 0)\n" in out
    assert "implies:   long_hair\n" in out


def test_show_json(tag_index_path: Path) -> None:
    code, out, _ = run("tags", "show", "@wlop", "--db", str(tag_index_path), "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["name"], data["prompt"], data["category"], data["is_artist"]) == ("wlop", "@wlop", 1, True)
    assert data["artist_rank"] == 2


def test_show_unknown_tag_suggests(tag_index_path: Path) -> None:
    code, out, err = run("tags", "show", "hatsnue miku", "--db", str(tag_index_path))
    assert code == 1
    assert out == ""
    assert err == "anima tags show: error: no tag 'hatsnue miku' in the index; did you mean hatsune_miku?\n"


def test_missing_index_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "none.sqlite"
    code, _, err = run("tags", "search", "a", "--db", str(missing))
    assert code == 2
    assert err == (
        f"anima tags search: error: --db {missing}: no such file; "
        f"build an index there with `anima index build --source PATH --db {missing}`\n"
    )
    monkeypatch.setenv("ANIMA_TAG_INDEX", str(missing))
    code, _, err = run("tags", "search", "a")
    assert code == 1
    assert err == (
        f"anima tags search: error: no tag index at {missing}; "
        "build one with `anima index build --source PATH` "
        "or fetch the pinned lists with `anima index download`\n"
    )


def test_environment_variable_picks_the_index(tag_index_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANIMA_TAG_INDEX", str(tag_index_path))
    code, out, _ = run("tags", "search", "tracer")
    assert code == 0
    assert out == "tracer \\(overwatch\\)\tcharacter\t9000\ntracer \\(elsword\\)\tcharacter\t300\n"


def test_search_json_with_category(tag_index_path: Path) -> None:
    code, out, _ = run("tags", "search", "o", "--category", "3", "--json", "--db", str(tag_index_path))
    assert code == 0
    assert [item["name"] for item in json.loads(out)] == ["original", "overwatch"]


def test_suggest_text_and_json(tag_index_path: Path) -> None:
    code, out, _ = run("tags", "suggest", "miku hatsune", "--limit", "1", "--db", str(tag_index_path))
    assert (code, out) == (0, "hatsune_miku\t90\tword_order\n")
    code, out, _ = run("tags", "suggest", "izumi nanase", "--json", "--db", str(tag_index_path))
    assert code == 0
    assert json.loads(out)[0] == {
        "name": "izuminanase",
        "score": 94.0,
        "reason": "spacing",
        "matched": "izuminanase",
        "post_count": 200,
        "category_name": "artist",
    }


def test_bad_option_is_a_usage_error(tag_index_path: Path) -> None:
    code, _, err = run("tags", "search", "a", "--limit", "0", "--db", str(tag_index_path))
    assert code == 2
    assert "Invalid value for '--limit'" in err


def test_index_build_and_info(tmp_path: Path) -> None:
    db = tmp_path / "tags.sqlite"
    args = [arg for source in SMALL_TAG_SOURCES for arg in ("--source", str(source))]
    code, out, _ = run("index", "build", *args, "--db", str(db))
    assert code == 0
    assert out.startswith(f"built {db}: ")
    code, out, _ = run("index", "info", "--db", str(db), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["meta"]["schema_version"] == "1"
    assert [s["format"] for s in info["sources"]][-1] == "artist-list"
    code, out, _ = run("index", "info", "--db", str(db))
    assert "schema_version: 1\n" in out
    assert f"source: {SMALL_TAG_SOURCES[0]} (danbooru-csv, 22 records" in out


def test_index_build_with_explicit_format(tmp_path: Path) -> None:
    source = tmp_path / "list.txt"
    source.write_text((TEST_DATA / "tags_small.csv").read_text(encoding="utf-8"), encoding="utf-8")
    db = tmp_path / "tags.sqlite"
    code, _, err = run("index", "build", "--source", str(source), "--db", str(db))
    assert code == 1
    assert (
        err == f"anima index build: error: {source}:1: expected an @artist line, "
        "got '1girl,0,6000000,\"1girls,sole_female\"'\n"
    )
    code, _, _ = run("index", "build", "--source", str(source), "--format", "danbooru-csv", "--db", str(db))
    assert code == 0


def test_index_build_format_count_must_match(tmp_path: Path) -> None:
    sources = ["--source", str(SMALL_TAG_SOURCES[0]), "--source", str(SMALL_TAG_SOURCES[1])]
    formats = ["--format", "danbooru-csv"] * 3
    code, _, err = run("index", "build", *sources, *formats, "--db", str(tmp_path / "x.sqlite"))
    assert code == 2
    assert "give --format once or once per --source (2), got 3" in err


def test_index_download_lists_pins() -> None:
    code, out, _ = run("index", "download", "--list")
    assert code == 0
    assert out.startswith("* danbooru-tags\tdanbooru-csv\thttps://raw.githubusercontent.com/")


def test_index_download_url_needs_a_checksum() -> None:
    code, _, err = run("index", "download", "--url", "http://127.0.0.1:9/x.csv")
    assert code == 2
    assert "--url needs --sha256 and --format" in err


def test_index_download_unknown_source() -> None:
    code, _, err = run("index", "download", "--source", "nope")
    assert code == 2
    assert "unknown source 'nope'" in err


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_index_download_from_a_pinned_url_builds_the_index(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    body = (TEST_DATA / "tags_small.csv").read_bytes()
    (served / "danbooru_tags.csv").write_bytes(body)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/danbooru_tags.csv"
        digest = hashlib.sha256(body).hexdigest()
        db = tmp_path / "tags.sqlite"
        common = ["--url", url, "--format", "danbooru-csv", "--dir", str(tmp_path / "cache"), "--db", str(db)]
        code, _, err = run("index", "download", *common, "--sha256", "1" * 64)
        assert code == 1
        assert err.startswith(
            f"anima index download: error: {url}: sha256 {digest} does not match the pinned {'1' * 64}"
        )
        assert not db.exists()
        code, out, _ = run("index", "download", *common, "--sha256", digest)
        assert code == 0
        assert f"verified {tmp_path / 'cache' / 'danbooru_tags.csv'}\n" in out
        code, out, _ = run("tags", "show", "1girls", "--db", str(db), "--json")
        assert json.loads(out)["name"] == "1girl"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (
            ["search", "a", "--category", "99"],
            2,
            "unknown category 99; this index has general (0), artist (1), copyright (3), character (4)",
        ),
        (
            ["search", "a", "--category", "nonsense"],
            2,
            "unknown category 'nonsense'; this index has general (0)",
        ),
        (["search", ""], 2, "PREFIX '' holds no tag text; give (the start of) a tag name"),
        (["search", "zzzz"], 1, "no tag starts with 'zzzz'"),
        (["search", "hat", "--category", "artist"], 1, "no tag starts with 'hat' in category artist"),
        (["suggest", "  "], 2, "TEXT '  ' holds no tag text; give (the start of) a tag name"),
        (
            ["suggest", "初音ミク"],
            1,
            "no tag close to '初音ミク' in the index; tags are written in English or romaji",
        ),
    ],
)
def test_searches_that_find_nothing_say_so(
    tag_index_path: Path, args: list[str], status: int, message: str
) -> None:
    code, out, err = run("tags", *args, "--db", str(tag_index_path))
    assert (code, out) == (status, "")
    assert err.startswith(f"anima tags {args[0]}: error: {message}")
    assert err.count("\n") == 1
