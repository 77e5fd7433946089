"""What the editor services return: frozen dataclasses of plain values, ready for `dataclasses.asdict`.

Offsets are 0-based character offsets into the text the service was given (Python string indices), end
exclusive. Editors that count differently (LSP's UTF-16 positions, CodeMirror's offsets) convert at their
edge.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace `text[start:end]` with `text`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Action:
    """A change the user can apply: a rule's fix, a suggestion, or "fix all".

    Attributes:
        title: what the button or menu entry says, e.g. "Replace with `long hair`".
        kind: `fix` (a rule's automatic fix), `suggestion` (a replacement the rule proposes) or `fix-all`.
        code: the rule id the action comes from; empty for `fix-all`.
        target: the text the edits apply to: `prompt` or `negative` (a problem of the prompt may be
            solved in the negative prompt, e.g. by adding `nsfw`).
        edits: the edits, non-overlapping, in text order.
    """

    title: str
    kind: str
    code: str
    target: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """A lint finding, placed in the text it is about.

    Attributes:
        code: the rule id, e.g. `ANM-TAG-001`.
        name: the rule's short name, e.g. `underscore-in-tag`.
        severity: `error`, `warning` or `info`.
        message: one sentence naming the offending text.
        target: `prompt`, `negative` or `settings` (the generation settings; then `start == end == 0`).
        start: where the problem starts in its target text.
        end: where it ends (equal to `start` for a place rather than a stretch of text).
        suggestions: replacements the user may want, best first.
        fix: the automatic edit, when one is safe.
        actions: what the user can apply: the fix, else one action per suggestion that is an edit.
    """

    code: str
    name: str
    severity: str
    message: str
    target: str
    start: int
    end: int
    suggestions: tuple[str, ...] = ()
    fix: Edit | None = None
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class Completion:
    """One candidate for the word being typed.

    Attributes:
        label: the spelling that matched, as the user reads it (`long hair`, or an alias such as `1girls`).
        insert: the text to insert, in Anima's canonical form (`saber \\(fate\\)`, `@wlop`).
        category: the category's name (`general`, `artist`, `copyright`, `character`, `meta`, or one of
            Anima's groups such as `quality`).
        post_count: posts carrying the tag (0 when unknown).
        alias_of: the canonical tag in display form when `label` is an alias of it, else None.
        match: how it was found: `prefix` (the name or a later word starts with the typed text), `alias`
            (an alias does) or `fuzzy` (a likely typo of it).
    """

    label: str
    insert: str
    category: str
    post_count: int
    alias_of: str | None
    match: str


@dataclass(frozen=True, slots=True)
class Completions:
    """The candidates for the text at `[start, end)`, which accepting one replaces, best first."""

    start: int
    end: int
    items: tuple[Completion, ...]


@dataclass(frozen=True, slots=True)
class Hover:
    """What the tag under the cursor is.

    Attributes:
        start: where the tag starts in the text.
        end: where it ends.
        name: the canonical Danbooru name (`hatsune_miku`).
        insert: the canonical prompt form (`hatsune miku`, `@wlop`).
        category: the category's name.
        post_count: posts carrying the tag.
        source: where the tag comes from: `danbooru`, `e621`, `artist-list` or `anima`.
        alias_of: the canonical name in display form when the text is an alias of it, else None.
        aliases: other names of the tag (display form).
        implies: tags this one implies, directly (display form).
        implied_by: tags that imply this one, directly (display form).
    """

    start: int
    end: int
    name: str
    insert: str
    category: str
    post_count: int
    source: str
    alias_of: str | None
    aliases: tuple[str, ...]
    implies: tuple[str, ...]
    implied_by: tuple[str, ...]
