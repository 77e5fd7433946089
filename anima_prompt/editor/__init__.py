"""Editor services: what prompt editors (the web playground, the language server) ask about a prompt.

`EditorServices` holds the tag index and lint configuration; its methods return the frozen dataclasses of
`results`, which `dataclasses.asdict` turns into JSON-ready dictionaries.
"""

from anima_prompt.editor.results import Action, Completion, Completions, Edit, Hover, Problem
from anima_prompt.editor.services import EditorServices, problem_actions

__all__ = [
    "Action",
    "Completion",
    "Completions",
    "Edit",
    "EditorServices",
    "Hover",
    "Problem",
    "problem_actions",
]
