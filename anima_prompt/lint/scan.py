"""Regular expressions over raw prompt text for syntax the parse tree keeps as plain text.

Quoted text, `{@`, `\\[`, `/(x/)` and a weight written after its group are about how a front end
reads the raw characters, whatever the parser makes of them; so is a prompt written as JSON.
"""

import json
import re
from functools import lru_cache

QUOTED = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”|「([^」\n]+)」")
DYNAMIC_AT = re.compile(r"(?<!\\)\{@|__@")
BACKSLASH_BRACKET = re.compile(r"\\[\[\]]")
#: `/(medium/)`: a qualifier "escaped" with forward slashes, which ComfyUI reads as a weight group.
SLASH_ESCAPE = re.compile(r"/\(([^()\n]*)/\)")
#: What may follow a group's `)` when its weight was written outside it: `):1.5`, `)):`, `) : 2`.
AFTER_GROUP = re.compile(r"(\)*)[ \t]*:(?:[ \t]*([+-]?(?:\d+(?:\.\d*)?|\.\d+)))?")


@lru_cache(maxsize=256)
def is_json(text: str) -> bool:
    """Whether the prompt is a JSON object or array (`{"subject": "1girl", ...}`)."""
    stripped = text.strip()
    if not (stripped[:1] in "{[" and stripped[-1:] in "}]"):
        return False
    try:
        value = json.loads(stripped)
    except ValueError:
        return False
    return isinstance(value, dict | list)
