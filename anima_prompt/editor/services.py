"""`EditorServices`: diagnostics, completion, hover, code actions and formatting for prompt editors.

One object per open index and configuration, shared by the web playground (`anima serve`) and the
language server; every method's answer depends only on the text it is given (and the index and
configuration), and each is fast enough to run on every keystroke (`benchmarks/editor_bench.py`).

Threads: the linter keeps caches, so `diagnose` and `actions` must run on one thread at a time;
`complete`, `hover`, `tag` and `format` may run on any thread (the index opens a connection per thread).
"""

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from anima_prompt.editor.completion import TagCompleter, display_name
from anima_prompt.editor.results import Action, Completions, Edit, Hover, Problem
from anima_prompt.errors import EditorInputError
from anima_prompt.lint import Finding, LintConfig, Linter, LintSettings, Target
from anima_prompt.nodes import Artist, Tag, walk
from anima_prompt.normalize import normalize
from anima_prompt.parser import parse
from anima_prompt.render import render

if TYPE_CHECKING:
    from anima_prompt.index.query import TagIndex

Settings = LintSettings | Mapping[str, object] | None
MAX_TITLE_TEXT = 40  # longer replacements are not spelled out in an action's title


class EditorServices:
    """What an editor asks about a prompt while it is being written.

    Args:
        index: an open `TagIndex`; without it there are no completions or hovers, and the rules that
            need tag data are skipped.
        config: lint thresholds and options; `LintConfig()` defaults when None.

    Example:
        >>> services = EditorServices()
        >>> [problem.code for problem in services.diagnose("1girl,long_hair")]
        ['ANM-SAFE-001', 'ANM-TAG-003', 'ANM-TAG-001']
        >>> services.format("1girl,long_hair")
        '1girl, long hair'
    """

    def __init__(self, *, index: "TagIndex | None" = None, config: LintConfig | None = None) -> None:
        self.index = index
        self.config = config or LintConfig()
        self.linter = Linter(config=self.config, index=index)
        self.completer = TagCompleter(index) if index is not None else None

    def diagnose(
        self, text: str, *, negative: str | None = None, settings: Settings = None
    ) -> tuple[Problem, ...]:
        """The lint findings for a prompt, its negative prompt and settings, in position order.

        Args:
            text: the prompt.
            negative: the negative prompt; its problems have `target == "negative"`.
            settings: generation settings (`LintSettings` or a mapping such as `{"cfg": 7}`).

        Raises:
            LintInputError: a setting is invalid or a prompt is too long to lint.
        """
        findings = self.linter.lint(text, negative=negative, settings=_settings(settings))
        texts = {Target.PROMPT.value: text, Target.NEGATIVE.value: negative or ""}
        return tuple(_problem(finding, texts) for finding in findings)

    def complete(self, text: str, offset: int, *, limit: int = 20) -> Completions:
        """Tags and `@artists` for the word being typed at `offset`, best first.

        Prefix matches of the name, an alias or a later word come first, most posts first; when few are
        found, likely typos follow (`hatsnue` → `hatsune miku`). Each candidate's `insert` is the
        canonical prompt form, escapes and `@` included.

        Raises:
            EditorInputError: `offset` is outside the text.
        """
        _check_offset(text, offset)
        if self.completer is None:
            return Completions(offset, offset, ())
        return self.completer.complete(text, offset, limit=limit)

    def hover(self, text: str, offset: int) -> Hover | None:
        """What the tag or `@artist` at `offset` is, or None when there is none or it is not in the index.

        Raises:
            EditorInputError: `offset` is outside the text.
        """
        _check_offset(text, offset)
        if self.index is None:
            return None
        node = next(
            (
                node
                for node in walk(parse(text))
                if isinstance(node, Tag | Artist) and node.span.start <= offset <= node.span.end
            ),
            None,
        )
        if node is None:
            return None
        return self._describe(node.text, node.span.start, node.span.end)

    def tag(self, name: str) -> Hover | None:
        """What the tag `name` (any spelling: `Hatsune_Miku`, `@wlop`, `1girls`) is, or None if unknown."""
        return self._describe(name, 0, len(name)) if self.index is not None else None

    def _describe(self, text: str, start: int, end: int) -> Hover | None:
        assert self.index is not None
        info = self.index.lookup(text)
        if info is None:
            return None
        return Hover(
            start=start,
            end=end,
            name=info.name,
            insert=info.prompt,
            category=info.category_name,
            post_count=info.post_count,
            source=info.source,
            alias_of=info.display if info.matched == "alias" else None,
            aliases=tuple(display_name(alias) for alias in info.aliases),
            implies=tuple(display_name(name) for name in self.index.implies(info.name, transitive=False)),
            implied_by=tuple(display_name(name) for name in self.index.implied_by(info.name)),
        )

    def actions(self, text: str, start: int, end: int, *, settings: Settings = None) -> tuple[Action, ...]:
        """The actions of the problems of `text` that touch `[start, end]`, then "fix all" when it changes
        anything.

        Raises:
            EditorInputError: the range is outside the text or ends before it starts.
        """
        _check_offset(text, start)
        _check_offset(text, end)
        if end < start:
            raise EditorInputError(f"range {start}-{end} ends before it starts")
        found = [
            action
            for problem in self.diagnose(text, settings=settings)
            if problem.target == Target.PROMPT.value and problem.start <= end and start <= problem.end
            for action in problem.actions
            if action.target == Target.PROMPT.value
        ]
        fixed = self.linter.fix(text, settings=_settings(settings))
        if fixed != text:
            edit = Edit(0, len(text), fixed)
            found.append(Action("Fix all auto-fixable problems", "fix-all", "", Target.PROMPT.value, (edit,)))
        return tuple(found)

    def format(self, text: str) -> str:
        """`text` in Anima's canonical form, as `anima fmt` writes it."""
        return render(normalize(parse(text)))

    def warm(self) -> None:
        """Do the slow first-time work ahead of the first keystrokes: the answers for short completion
        prefixes, and loading the tokenizers the token-count rule uses (a second or two in all)."""
        tokens = self.linter.tokens
        if tokens is not None:
            for name in ("qwen3", "t5"):
                if tokens.available(name):
                    getattr(tokens, name)("")
        if self.completer is not None:
            self.completer.warm()


# How a rule's suggestions apply, where they are not replacements of the problem's text: `negative` adds
# them to the negative prompt as an item, `none` offers them as advice only.
SUGGESTION_USE: dict[str, str] = {
    "ANM-SAFE-002": "none",  # conflicting safety tags: which one to keep is the user's choice
    "ANM-SAFE-004": "negative",  # `safe` prompt: add `nsfw, explicit` to the negative prompt
    "ANM-ART-004": "none",  # too many artists: keep the first one, by deleting the others
}


def problem_actions(problem: Problem, texts: Mapping[str, str]) -> tuple[Action, ...]:
    """The actions a problem offers: its fix, or else one edit per suggestion.

    A suggestion is a replacement of the problem's text; for a place rather than a stretch of text
    (`start == end`, e.g. a missing safety tag) it is inserted as a new item, with the commas it needs.
    Rules listed in `SUGGESTION_USE` apply theirs elsewhere or not at all.

    Args:
        problem: a problem of the prompt or the negative prompt (settings have no text to edit).
        texts: the texts by target (`prompt`, `negative`).
    """
    if problem.target == Target.SETTINGS.value:
        return ()
    text = texts[problem.target]
    if problem.fix is not None:
        return (Action(_fix_title(problem.fix, text), "fix", problem.code, problem.target, (problem.fix,)),)
    use = SUGGESTION_USE.get(problem.code, "replace")
    actions: list[Action] = []
    for suggestion in problem.suggestions if use != "none" else ():
        if use == "negative":
            negative = texts[Target.NEGATIVE.value]
            edit = Edit(len(negative), len(negative), _as_item(negative, len(negative), suggestion))
            title, target = f"Add `{suggestion}` to the negative prompt", Target.NEGATIVE.value
        elif problem.start == problem.end:
            edit = Edit(problem.start, problem.end, _as_item(text, problem.start, suggestion))
            title, target = f"Insert `{suggestion}`", problem.target
        else:
            edit = Edit(problem.start, problem.end, suggestion)
            title, target = f"Replace with `{suggestion}`", problem.target
        actions.append(Action(title, "suggestion", problem.code, target, (edit,)))
    return tuple(actions)


def _fix_title(fix: Edit, text: str) -> str:
    if fix.start == fix.end:
        return f"Insert `{fix.text}`"
    if not fix.text:
        return f"Remove `{text[fix.start : fix.end]}`"
    if fix.end - fix.start > MAX_TITLE_TEXT:
        return "Apply the fix"
    return f"Replace with `{fix.text}`"


def _as_item(text: str, position: int, item: str) -> str:
    """`item` with the commas that make it a separate item when inserted at `position`."""
    before, after = text[:position].rstrip(), text[position:].lstrip()
    prefix = ", " if before and before[-1] not in ",\n" else ""
    suffix = ", " if after and after[0] != "," else ""
    return f"{prefix}{item}{suffix}"


def _problem(finding: Finding, texts: Mapping[str, str]) -> Problem:
    span = finding.span
    fix = finding.fix
    problem = Problem(
        code=finding.code,
        name=finding.name,
        severity=finding.severity.label,
        message=finding.message,
        target=finding.target.value,
        start=span.start if span is not None else 0,
        end=span.end if span is not None else 0,
        suggestions=finding.suggestions,
        fix=Edit(fix.start, fix.end, fix.replacement) if fix is not None else None,
    )
    return replace(problem, actions=problem_actions(problem, texts))


def _settings(settings: Settings) -> LintSettings | None:
    if settings is None or isinstance(settings, LintSettings):
        return settings
    return LintSettings.from_mapping(settings)


def _check_offset(text: str, offset: object) -> None:  # callers may pass anything
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= len(text):
        raise EditorInputError(f"offset {offset!r} is outside the text (0 to {len(text)})")
