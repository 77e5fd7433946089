"""`anima lsp` over stdio with a real client: diagnostics, incremental changes, completion, hover, code
actions, formatting and configuration changes, on every kind of prompt file."""

import asyncio
import json
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from anima_prompt.lint import Linter
from anima_prompt.normalize import normalize
from anima_prompt.parser import parse
from anima_prompt.render import render
from tests.lsp.conftest import CLIENT, make_client, server_command

pytestmark = pytest.mark.asyncio
TIMEOUT = 30  # seconds; a loaded machine may be slow to start the server


async def open_file(client: LanguageClient, path: Path, text: str) -> list[types.Diagnostic]:
    """Write and open `path`, and return its first diagnostics."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=path.as_uri(), language_id="anima", version=1, text=text)
        )
    )
    return await diagnostics(client, path)


async def diagnostics(client: LanguageClient, path: Path) -> list[types.Diagnostic]:
    """The next diagnostics published for `path`."""
    while True:
        params = await asyncio.wait_for(
            client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), TIMEOUT
        )
        if params.uri == path.as_uri():
            return list(params.diagnostics)


def at(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """`text` with LSP edits applied (single-line documents, UTF-16 columns)."""
    units = text.encode("utf-16-le")
    for edit in sorted(edits, key=lambda e: e.range.start.character, reverse=True):
        assert edit.range.start.line == edit.range.end.line == 0
        start, end = 2 * edit.range.start.character, 2 * edit.range.end.character
        units = units[:start] + edit.new_text.encode("utf-16-le") + units[end:]
    return units.decode("utf-16-le")


async def test_diagnostics_carry_rule_ids_severities_links_and_suggestions(
    client: LanguageClient, tmp_path: Path
) -> None:
    found = await open_file(client, tmp_path / "set" / "a.txt", "1girl,long_hair, tracer\n")
    by_code = {diagnostic.code: diagnostic for diagnostic in found}
    underscore = by_code["ANM-TAG-001"]
    assert underscore.range == types.Range(at(0, 6), at(0, 15))
    assert underscore.severity == types.DiagnosticSeverity.Warning
    assert underscore.source == "anima"
    assert underscore.code_description is not None
    assert underscore.code_description.href.endswith("rules.md#anm-tag-001")
    assert Path(underscore.code_description.href.removeprefix("file://").split("#")[0]).is_file()
    unknown = by_code["ANM-TAG-004"]  # `tracer` is ambiguous: suggestions come as related information
    assert unknown.related_information
    assert all(info.location.range == unknown.range for info in unknown.related_information)


async def test_incremental_changes_count_utf16_columns(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "a.prompt"
    text = "😀 1girl, long_hair"
    found = await open_file(client, path, text)
    underscore = next(d for d in found if d.code == "ANM-TAG-001")
    assert underscore.range.start == at(0, 10)  # the emoji is two UTF-16 code units
    change = types.TextDocumentContentChangePartial(range=types.Range(at(0, 14), at(0, 15)), text=" ")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=path.as_uri()), [change]
        )
    )
    after = await diagnostics(client, path)
    assert "ANM-TAG-001" not in {d.code for d in after}


async def test_completion_offers_canonical_tags_with_category_and_posts(
    client: LanguageClient, tmp_path: Path
) -> None:
    path = tmp_path / "a.prompt"
    await open_file(client, path, "1girl, hatsu")
    result = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(path.as_uri()), at(0, 12))
    )
    assert isinstance(result, types.CompletionList)
    miku = next(item for item in result.items if item.label == "hatsune miku")
    assert miku.detail == "character, 110,000 posts"
    assert isinstance(miku.text_edit, types.TextEdit)
    assert miku.text_edit.range == types.Range(at(0, 7), at(0, 12))
    assert miku.text_edit.new_text == "hatsune miku"
    result = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(path.as_uri()), at(0, 6))
    )
    assert isinstance(result, types.CompletionList)


async def test_completion_resolves_aliases_and_artists(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "b.prompt"
    await open_file(client, path, "sole_fe, @wl")
    aliased = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(path.as_uri()), at(0, 7))
    )
    assert isinstance(aliased, types.CompletionList)
    item = aliased.items[0]
    assert (item.label, item.detail) == ("sole female", "general, 6,000,000 posts, alias of 1girl")
    assert isinstance(item.text_edit, types.TextEdit) and item.text_edit.new_text == "1girl"
    artists = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(path.as_uri()), at(0, 12))
    )
    assert isinstance(artists, types.CompletionList)
    assert [i.text_edit.new_text for i in artists.items if isinstance(i.text_edit, types.TextEdit)] == [
        "@wlop"
    ]


async def test_hover_describes_the_tag(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "a.prompt"
    await open_file(client, path, "1girl, long hair")
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(path.as_uri()), at(0, 9))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.value.startswith("**long hair** — general, 4,000,000 posts")
    assert "implied by: `very long hair`" in hover.contents.value
    assert hover.range == types.Range(at(0, 7), at(0, 16))


async def test_code_actions_fix_suggest_and_fix_all(
    client: LanguageClient, tmp_path: Path, tag_index
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "a.prompt"
    text = "1girl,long_hair, saber (fate)"
    found = await open_file(client, path, text)
    document = types.TextDocumentIdentifier(path.as_uri())
    context = types.CodeActionContext(diagnostics=found)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(document, types.Range(at(0, 8), at(0, 8)), context)
    )
    assert actions is not None
    fix = next(
        a for a in actions if isinstance(a, types.CodeAction) and a.title == "Replace with `long hair`"
    )
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    assert fix.diagnostics and fix.diagnostics[0].code == "ANM-TAG-001"
    assert fix.edit is not None and fix.edit.changes is not None
    assert apply(text, fix.edit.changes[path.as_uri()]) == "1girl,long hair, saber (fate)"
    only = types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.SourceFixAll])
    (fix_all,) = await client.text_document_code_action_async(
        types.CodeActionParams(document, types.Range(at(0, 0), at(0, 0)), only)
    ) or [None]
    assert isinstance(fix_all, types.CodeAction) and fix_all.kind == types.CodeActionKind.SourceFixAll
    assert fix_all.edit is not None and fix_all.edit.changes is not None
    assert apply(text, fix_all.edit.changes[path.as_uri()]) == Linter(index=tag_index).fix(text)


async def test_formatting_gives_what_anima_fmt_gives(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "a.prompt"
    text = "Hatsune_Miku,  1girl, saber (fate)"
    await open_file(client, path, text)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            types.TextDocumentIdentifier(path.as_uri()), types.FormattingOptions(2, True)
        )
    )
    assert edits is not None
    assert apply(text, edits) == render(normalize(parse(text))) == "hatsune miku, 1girl, saber \\(fate\\)"


async def test_a_configuration_change_relints_open_files(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "a.prompt"
    assert "ANM-TAG-001" in {d.code for d in await open_file(client, path, "1girl, long_hair")}
    config = tmp_path / "anima.toml"
    config.write_text('[lint]\nignore = ["ANM-TAG-001"]\n', encoding="utf-8")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(config.as_uri(), types.FileChangeType.Created)])
    )
    assert "ANM-TAG-001" not in {d.code for d in await diagnostics(client, path)}
    config.write_text("[lint]\nmax-lines = 'many'\n", encoding="utf-8")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(config.as_uri(), types.FileChangeType.Changed)])
    )
    found = await diagnostics(client, path)
    assert found[0].code == "invalid-configuration" and "max-lines" in found[0].message
    assert found[0].related_information and found[0].related_information[0].location.uri == config.as_uri()
    assert "ANM-TAG-001" in {d.code for d in found}  # the defaults apply


async def test_jsonl_records_map_positions_through_escapes(client: LanguageClient, tmp_path: Path) -> None:
    prompt = 'a "quoted" 😀 word,\n1girl, long_hair'
    line = json.dumps({"prompt": prompt, "negative": "bad_hands"}, ensure_ascii=True)
    path = tmp_path / "records.jsonl"
    found = await open_file(client, path, f'{{"prompt": 1}}\n{line}\n')
    invalid = next(d for d in found if d.code == "invalid-record")
    assert (
        invalid.range == types.Range(at(0, 0), at(0, 13)) and invalid.message == "'prompt' must be a string"
    )
    underscore = next(d for d in found if d.code == "ANM-TAG-001" and d.range.start.line == 1)
    start = line.index("long_hair")  # an ASCII line: UTF-16 columns are string indices
    assert underscore.range == types.Range(at(1, start), at(1, start + len("long_hair")))
    negative = [
        d for d in found if d.range.start.line == 1 and d.range.start.character >= line.index("bad_hands")
    ]
    assert negative, "the negative prompt's findings are placed in its string"


async def test_wildcard_files_are_linted_line_by_line(client: LanguageClient, tmp_path: Path) -> None:
    found = await open_file(
        client, tmp_path / "wildcards" / "hair.txt", "# hair\nlong_hair\n1girl, long_hair\n"
    )
    underscores = sorted(
        (d.range.start.line, d.range.start.character) for d in found if d.code == "ANM-TAG-001"
    )
    assert underscores == [(1, 0), (2, 7)]


async def test_watched_configuration_files_are_registered(tag_index_path: Path, tmp_path: Path) -> None:
    lsp, registrations = make_client()
    await lsp.start_io(*server_command(tag_index_path), cwd=str(tmp_path))
    await lsp.initialize_session(types.InitializeParams(capabilities=client_capabilities(CLIENT)))
    await open_file(lsp, tmp_path / "a.prompt", "1girl")
    await lsp.shutdown_session()
    await lsp.stop()
    (registration,) = registrations[0].registrations
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    options = registration.register_options
    assert isinstance(options, dict)  # the test client does not structure registration options
    globs = {watcher["globPattern"] for watcher in options["watchers"]}
    assert globs == {"**/anima.toml", "**/pyproject.toml"}
