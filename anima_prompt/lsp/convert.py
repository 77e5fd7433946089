"""The editor services' results as Language Server Protocol values: offsets become ranges in the
negotiated position encoding, problems diagnostics, candidates completion items, actions code actions."""

from collections.abc import Sequence

from lsprotocol import types

from anima_prompt.editor import Action, Completions, Edit, Hover, Problem
from anima_prompt.editor.positions import LineIndex

SOURCE = "anima"
SEVERITIES = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}
ACTION_KINDS = {
    "fix": types.CodeActionKind.QuickFix,
    "suggestion": types.CodeActionKind.QuickFix,
    "fix-all": types.CodeActionKind.SourceFixAll,
}


def to_range(lines: LineIndex, start: int, end: int) -> types.Range:
    """The range of document offsets `[start, end)`."""
    return types.Range(_position(lines, start), _position(lines, end))


def _position(lines: LineIndex, offset: int) -> types.Position:
    line, character = lines.position(offset)
    return types.Position(line=line, character=character)


def to_offset(lines: LineIndex, position: types.Position) -> int:
    """The document offset of a position."""
    return lines.offset(position.line, position.character)


def rule_link(rules_url: str, code: str) -> str:
    """The address of rule `code` in the rule reference (`...rules.md#anm-tag-001`)."""
    return f"{rules_url}#{code.lower()}"


def to_diagnostic(problem: Problem, lines: LineIndex, uri: str, rules_url: str) -> types.Diagnostic:
    """A problem as a diagnostic: the rule id with a link to its documentation, and each suggestion as
    related information at the problem's place."""
    where = to_range(lines, problem.start, problem.end)
    related = [
        types.DiagnosticRelatedInformation(types.Location(uri, where), f"suggestion: `{suggestion}`")
        for suggestion in problem.suggestions
    ]
    return types.Diagnostic(
        range=where,
        message=problem.message,
        severity=SEVERITIES.get(problem.severity, types.DiagnosticSeverity.Error),
        code=problem.code or problem.name,
        code_description=types.CodeDescription(href=rule_link(rules_url, problem.code))
        if problem.code
        else None,
        source=SOURCE,
        related_information=related or None,
    )


def config_diagnostic(message: str, config_uri: str) -> types.Diagnostic:
    """A diagnostic at the start of a file whose configuration file cannot be used."""
    start = types.Range(types.Position(0, 0), types.Position(0, 0))
    return types.Diagnostic(
        range=start,
        message=f"configuration not used (the defaults apply): {message}",
        severity=types.DiagnosticSeverity.Error,
        code="invalid-configuration",
        source=SOURCE,
        related_information=[
            types.DiagnosticRelatedInformation(types.Location(config_uri, start), "the configuration file")
        ],
    )


def to_completion_list(completions: Completions, lines: LineIndex, document: str) -> types.CompletionList:
    """The candidates, best first, each replacing the word being typed with its canonical form.

    The list is marked incomplete so that the editor asks again as the word grows (the ranking and the
    alias matches come from the index, not from the editor's own filtering).
    """
    where = to_range(lines, completions.start, completions.end)
    typed = document[completions.start : completions.end]
    items = [
        types.CompletionItem(
            label=item.label,
            kind=types.CompletionItemKind.Value,
            detail=_detail(item.category, item.post_count, item.alias_of),
            sort_text=f"{rank:04d}",
            filter_text=typed or item.label,
            text_edit=types.TextEdit(where, item.insert),
        )
        for rank, item in enumerate(completions.items)
    ]
    return types.CompletionList(is_incomplete=True, items=items)


def _detail(category: str, post_count: int, alias_of: str | None) -> str:
    detail = f"{category}, {post_count:,} posts"
    return f"{detail}, alias of {alias_of}" if alias_of else detail


def to_hover(hover: Hover, lines: LineIndex) -> types.Hover:
    """What a tag is, as Markdown: name, category, posts, aliases, implications and implied-by."""
    text = [f"**{hover.insert}** — {hover.category}, {hover.post_count:,} posts ({hover.source})"]
    if hover.alias_of:
        text.append(f"alias of **{hover.alias_of}**")
    for title, names in (
        ("aliases", hover.aliases),
        ("implies", hover.implies),
        ("implied by", hover.implied_by),
    ):
        if names:
            text.append(f"{title}: " + ", ".join(f"`{name}`" for name in names))
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n".join(text)),
        range=to_range(lines, hover.start, hover.end),
    )


def to_text_edits(edits: Sequence[Edit], lines: LineIndex) -> list[types.TextEdit]:
    """Edits of document offsets as text edits."""
    return [types.TextEdit(to_range(lines, edit.start, edit.end), edit.text) for edit in edits]


def to_code_action(
    action: Action, lines: LineIndex, uri: str, diagnostics: Sequence[types.Diagnostic]
) -> types.CodeAction:
    """An action as a code action editing `uri`: fixes and suggestions are quick fixes (a rule's own fix
    preferred), "fix all" is `source.fixAll`."""
    return types.CodeAction(
        title=action.title,
        kind=ACTION_KINDS[action.kind],
        diagnostics=list(diagnostics) or None,
        is_preferred=action.kind == "fix" or None,
        edit=types.WorkspaceEdit(changes={uri: to_text_edits(action.edits, lines)}),
    )
