"""`DocumentServices`: the editor services over a whole prompt file, in the file's own offsets.

A file holds one or many prompts (`documents.Document`); each is linted with its negative prompt and
settings exactly as `anima lint --file` lints it, and every offset and edit the services return is mapped
back into the file (through JSON string escapes for JSONL records). The language server converts these
offsets to line and column; nothing here knows about the protocol.
"""

import json
from dataclasses import replace
from typing import TypeVar

from anima_prompt.editor.documents import Document, Entry, Region, json_escape
from anima_prompt.editor.results import Action, Completions, Edit, Hover, Problem
from anima_prompt.editor.services import EditorServices
from anima_prompt.errors import AnimaPromptError
from anima_prompt.lint import LintSettings
from anima_prompt.lint.inputs import known_settings

FIX_ALL_TITLE = "Fix all auto-fixable problems"
CACHE_ENTRIES = 4096  # entries whose problems and fixes are kept: a JSONL file re-lints only changed records

_EntryKey = tuple[str, str | None, str]
T = TypeVar("T")


class DocumentServices:
    """Diagnostics, completion, hover, code actions and formatting for prompt files.

    Args:
        services: the editor services (tag index and lint configuration) to use.

    Example:
        >>> from anima_prompt.editor.documents import DocumentKind
        >>> files = DocumentServices(EditorServices())
        >>> document = Document.parse("1girl,long_hair\\n", DocumentKind.CAPTION)
        >>> [(problem.code, problem.start) for problem in files.diagnose(document)][-1]
        ('ANM-TAG-001', 6)
    """

    def __init__(self, services: EditorServices) -> None:
        self.services = services
        self._problems: dict[_EntryKey, tuple[Problem, ...]] = {}
        self._fixes: dict[_EntryKey, str] = {}

    def diagnose(self, document: Document) -> tuple[Problem, ...]:
        """The problems of every entry and unreadable record, in document order, in document offsets."""
        found = [
            Problem(
                code="",
                name="invalid-record",
                severity="error",
                message=error.message,
                target="file",
                start=error.start,
                end=error.end,
            )
            for error in document.errors
        ]
        for entry in document.entries:
            found.extend(self._placed(entry, problem) for problem in self._entry_problems(entry))
        return tuple(sorted(found, key=lambda problem: (problem.start, problem.end)))

    def complete(self, document: Document, offset: int, *, limit: int = 20) -> Completions:
        """Tags and `@artists` for the word at document offset `offset`; `start`, `end` and each `insert`
        are in the document's terms (JSON-escaped inside JSONL strings). Nothing outside a prompt."""
        found = document.entry_at(offset)
        if found is None:
            return Completions(offset, offset, ())
        region = found[2]
        local = region.to_text(offset)
        assert local is not None
        completions = self.services.complete(region.text, local, limit=limit)
        items = completions.items
        if region.escaped:
            items = tuple(replace(item, insert=json_escape(item.insert)) for item in items)
        return Completions(region.to_document(completions.start), region.to_document(completions.end), items)

    def hover(self, document: Document, offset: int) -> Hover | None:
        """What the tag at document offset `offset` is, its span in document offsets."""
        found = document.entry_at(offset)
        if found is None:
            return None
        region = found[2]
        local = region.to_text(offset)
        assert local is not None
        hover = self.services.hover(region.text, local)
        if hover is None:
            return None
        return replace(hover, start=region.to_document(hover.start), end=region.to_document(hover.end))

    def actions(self, document: Document, start: int, end: int) -> tuple[Action, ...]:
        """The actions of the problems touching document span `[start, end]`, then "fix all" for the whole
        document when it changes anything."""
        found = [
            action
            for problem in self.diagnose(document)
            if problem.start <= end and start <= problem.end
            for action in problem.actions
        ]
        fix_all = self.fix_all(document)
        if fix_all is not None:
            found.append(fix_all)
        return tuple(found)

    def fix_all(self, document: Document) -> Action | None:
        """Every automatic fix of every prompt (as `anima lint --fix` applies them), or None when there is
        nothing to fix."""
        edits: list[Edit] = []
        for entry in document.entries:
            edit = entry.prompt.replace(self._fixed(entry))
            if edit is not None:
                edits.append(edit)
        return Action(FIX_ALL_TITLE, "fix-all", "", "file", tuple(edits)) if edits else None

    def format(self, document: Document) -> tuple[Edit, ...]:
        """The edits that put every prompt and negative prompt in canonical form (`anima fmt`)."""
        edits: list[Edit] = []
        for entry in document.entries:
            for _, region in entry.regions():
                edit = region.replace(self.services.format(region.text))
                if edit is not None:
                    edits.append(edit)
        return tuple(edits)

    def _fixed(self, entry: Entry) -> str:
        """The entry's prompt with every automatic fix applied (kept for unchanged entries)."""
        key = _key(entry)
        fixed = self._fixes.get(key)
        if fixed is None:
            try:
                fixed = self.services.linter.fix(
                    entry.prompt.text, negative=_text(entry.negative), settings=_settings(entry)
                )
            except AnimaPromptError:  # unreadable settings: reported as a problem, nothing to fix
                fixed = entry.prompt.text
            _keep(self._fixes, key, fixed)
        return fixed

    def _entry_problems(self, entry: Entry) -> tuple[Problem, ...]:
        """The entry's problems in the offsets of its own texts (kept for unchanged entries)."""
        key = _key(entry)
        cached = self._problems.get(key)
        if cached is None:
            try:
                cached = self.services.diagnose(
                    entry.prompt.text, negative=_text(entry.negative), settings=_settings(entry)
                )
            except AnimaPromptError as error:  # invalid settings, a prompt too long to lint
                message = str(error).split("\n", 1)[0]
                cached = (Problem("", "invalid-record", "error", message, "settings", 0, 0),)
            _keep(self._problems, key, cached)
        return cached

    def _placed(self, entry: Entry, problem: Problem) -> Problem:
        """`problem` with its span, fix and actions in document offsets."""
        regions = dict(entry.regions())
        region = regions.get(problem.target)
        if region is None:  # a settings problem: its place is the `settings` value (or the record)
            start, end = entry.settings_span
            return replace(problem, start=start, end=end, fix=None, actions=())
        actions = tuple(
            Action(
                action.title,
                action.kind,
                action.code,
                action.target,
                tuple(regions[action.target].edit(edit) for edit in action.edits),
            )
            for action in problem.actions
            if action.target in regions
        )
        fix = region.edit(problem.fix) if problem.fix is not None else None
        return replace(
            problem,
            start=region.to_document(problem.start),
            end=region.to_document(problem.end),
            fix=fix,
            actions=actions,
        )


def _key(entry: Entry) -> _EntryKey:
    return entry.prompt.text, _text(entry.negative), json.dumps(entry.settings, sort_keys=True)


def _keep(cache: dict[_EntryKey, T], key: _EntryKey, value: T) -> None:
    """Keep `value`, dropping the oldest entry of a full cache."""
    if len(cache) >= CACHE_ENTRIES:
        cache.pop(next(iter(cache)))
    cache[key] = value


def _text(region: Region | None) -> str | None:
    return region.text if region is not None else None


def _settings(entry: Entry) -> LintSettings | None:
    """The entry's settings, read as `anima lint --file` reads a record's.

    Raises:
        LintInputError: a setting is invalid.
    """
    values = known_settings(entry.settings) if entry.settings else None
    return LintSettings.from_mapping(values) if values else None
