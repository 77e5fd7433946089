"""The language server: pygls handlers that call the editor services for each open prompt file.

Diagnostics are published when a file is opened, changed (incremental sync) or saved, and again for every
open file when a configuration file changes (`workspace/didChangeWatchedFiles`, registered when the editor
supports it). Requests are answered on the server's one thread: each takes a few milliseconds, and a
JSONL file re-lints only the records that changed (`DocumentServices` keeps the others' problems).
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from anima_prompt.editor.document_services import DocumentServices
from anima_prompt.editor.documents import Document, document_kind
from anima_prompt.editor.positions import ENCODINGS, Encoding, LineIndex
from anima_prompt.lsp import convert
from anima_prompt.lsp.launch import Start
from anima_prompt.lsp.projects import Project, Projects

logger = logging.getLogger(__name__)

NAME = "anima"
CONFIG_GLOBS = ("**/anima.toml", "**/pyproject.toml")
COMPLETION_TRIGGERS = ["@"]
WATCHER_ID = "anima-config-files"


@dataclass(frozen=True, slots=True)
class OpenFile:
    """An open file as the services see it, and what it is linted with."""

    uri: str
    document: Document
    lines: LineIndex
    project: Project

    @property
    def files(self) -> DocumentServices:
        """The services over whole files for this file's configuration."""
        return self.project.files


class AnimaLanguageServer(LanguageServer):
    """A pygls server holding the projects (configurations, index, services) and the rule links.

    Args:
        projects: the configurations and services.
        rules_url: the address of the rule reference; a rule's link is this plus `#anm-...`.
        version: the toolkit's version, reported to the editor.
    """

    def __init__(self, projects: Projects, rules_url: str, version: str) -> None:
        sync = types.TextDocumentSyncKind.Incremental
        super().__init__(NAME, version, text_document_sync_kind=sync)  # pyright: ignore[reportUnknownMemberType]
        self.projects = projects
        self.rules_url = rules_url
        self._shown: set[str] = set()
        self._warmed: set[int] = set()
        self._warming: list[threading.Thread] = []
        self._stop_warming = threading.Event()

    def accept_initialize(self, message: dict[str, Any]) -> None:
        """Set up the workspace from an `initialize` request that was already answered (`launch`)."""
        request: Any = self.protocol.structure_message(message)
        steps = self.protocol.lsp_initialize(request.params)
        try:
            next(steps)
        except StopIteration:
            return
        raise RuntimeError("an initialize handler is registered, but `initialize` was answered without it")

    def open_file(self, uri: str) -> OpenFile:
        """The file `uri` as it is now in the editor, split into prompts."""
        text_document = self.workspace.get_text_document(uri)
        path = Path(text_document.path) if text_document.path else None
        project = self.projects.project(path.parent if path is not None else None)
        kind = document_kind(path or Path("untitled.prompt"), wildcards=project.config.wildcards)
        text = text_document.source
        document = Document.parse(text, kind)
        return OpenFile(uri, document, LineIndex(text, self.encoding), project)

    @property
    def encoding(self) -> Encoding:
        """The position encoding agreed with the editor (UTF-16 unless it offered another first)."""
        chosen = str(self.workspace.position_encoding or "utf-16")
        by_name: dict[str, Encoding] = {encoding: encoding for encoding in ENCODINGS}
        return by_name.get(chosen, "utf-16")

    def diagnostics(self, opened: OpenFile) -> list[types.Diagnostic]:
        """The diagnostics of an open file."""
        found = [
            convert.to_diagnostic(problem, opened.lines, opened.uri, self.rules_url)
            for problem in opened.files.diagnose(opened.document)
        ]
        project = opened.project
        if project.config_error is not None and project.config_path is not None:
            found.insert(0, convert.config_diagnostic(project.config_error, project.config_path.as_uri()))
        return found

    def publish(self, uri: str) -> None:
        """Lint the open file `uri` and send its diagnostics, then any new note about the set-up."""
        opened = self.open_file(uri)
        version = self.workspace.get_text_document(uri).version
        params = types.PublishDiagnosticsParams(
            uri=uri, diagnostics=self.diagnostics(opened), version=version
        )
        self.text_document_publish_diagnostics(params)
        self._show_notes()
        self._warm(opened.files)

    def publish_all(self) -> None:
        """Lint every open file again (after a configuration change)."""
        for uri in list(self.workspace.text_documents):
            self.publish(uri)

    def _show_notes(self) -> None:
        for note in self.projects.notes:
            if note not in self._shown:
                self._shown.add(note)
                self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"anima: {note}"))

    def _warm(self, files: DocumentServices) -> None:
        """Compute the short completion prefixes of a new index in the background (a second or two)."""
        completer = files.services.completer
        if completer is None or id(completer) in self._warmed:
            return
        self._warmed.add(id(completer))
        thread = threading.Thread(
            target=completer.warm, args=(self._stop_warming,), name="anima-warm", daemon=True
        )
        self._warming.append(thread)
        thread.start()

    def close(self) -> None:
        """Stop warming and close the tag indexes (on `shutdown`)."""
        self._stop_warming.set()
        for thread in self._warming:
            thread.join()
        self.projects.close()


def prepare(
    projects: Projects, *, rules_url: str, version: str, stdin: BinaryIO, stdout: BinaryIO
) -> "Start":
    """The server, built with the parser and rule table it needs for the first file, and the function
    that takes the `initialize` request and returns the server's main loop (for `launch.serve`)."""
    from anima_prompt.lint.registry import all_rules
    from anima_prompt.parser import parse

    parse("1girl")
    all_rules()
    server = build_server(projects, rules_url=rules_url, version=version)

    def start(initialize: dict[str, Any]) -> Callable[[], None]:
        server.accept_initialize(initialize)
        return lambda: server.start_io(stdin, stdout)

    return start


def build_server(projects: Projects, *, rules_url: str, version: str) -> AnimaLanguageServer:
    """The language server with every feature registered; start it with `start_io()`."""
    server = AnimaLanguageServer(projects, rules_url, version)
    _document_features(server)
    _request_features(server)
    return server


def _document_features(server: AnimaLanguageServer) -> None:
    @server.feature(types.INITIALIZED)
    def initialized(ls: AnimaLanguageServer, params: types.InitializedParams) -> None:
        watch = ls.client_capabilities.workspace
        dynamic = watch is not None and watch.did_change_watched_files is not None
        if dynamic and watch is not None and watch.did_change_watched_files is not None:
            dynamic = bool(watch.did_change_watched_files.dynamic_registration)
        if dynamic:
            watchers = [types.FileSystemWatcher(glob_pattern=glob) for glob in CONFIG_GLOBS]
            registration = types.Registration(
                id=WATCHER_ID,
                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
            )
            ls.client_register_capability(types.RegistrationParams(registrations=[registration]))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: AnimaLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: AnimaLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: AnimaLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: AnimaLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files(ls: AnimaLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.projects.reload()
        ls.publish_all()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: AnimaLanguageServer, params: Any) -> None:
        ls.close()


def _request_features(server: AnimaLanguageServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=COMPLETION_TRIGGERS)
    )
    def completion(ls: AnimaLanguageServer, params: types.CompletionParams) -> types.CompletionList:
        opened = ls.open_file(params.text_document.uri)
        offset = convert.to_offset(opened.lines, params.position)
        found = opened.files.complete(opened.document, offset)
        return convert.to_completion_list(found, opened.lines, opened.document.text)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: AnimaLanguageServer, params: types.HoverParams) -> types.Hover | None:
        opened = ls.open_file(params.text_document.uri)
        found = opened.files.hover(opened.document, convert.to_offset(opened.lines, params.position))
        return convert.to_hover(found, opened.lines) if found is not None else None

    kinds = [types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll]

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=kinds))
    def code_action(ls: AnimaLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        opened = ls.open_file(params.text_document.uri)
        start = convert.to_offset(opened.lines, params.range.start)
        end = convert.to_offset(opened.lines, params.range.end)
        only = params.context.only
        found: list[types.CodeAction] = []
        for action in opened.files.actions(opened.document, start, end):
            kind = convert.ACTION_KINDS[action.kind]
            if only and not any(kind == wanted or kind.startswith(f"{wanted}.") for wanted in only):
                continue
            related = [
                diagnostic
                for diagnostic in params.context.diagnostics
                if action.code and diagnostic.code == action.code
            ]
            found.append(convert.to_code_action(action, opened.lines, opened.uri, related))
        return found

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: AnimaLanguageServer, params: types.DocumentFormattingParams) -> list[types.TextEdit]:
        opened = ls.open_file(params.text_document.uri)
        return convert.to_text_edits(opened.files.format(opened.document), opened.lines)
