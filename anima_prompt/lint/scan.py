"""Regular expressions over raw prompt text for syntax the parse tree keeps as plain text.

`AND`, quoted text, `{@` and `\\[` are about how a front end reads the raw characters, whatever the parser
makes of them.
"""

import re

QUOTED = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”|「([^」\n]+)」")
AND = re.compile(r"(?<![\w\\])AND(?!\w)")
DYNAMIC_AT = re.compile(r"(?<!\\)\{@|__@")
BACKSLASH_BRACKET = re.compile(r"\\[\[\]]")
