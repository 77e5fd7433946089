"""Hypothesis strategies for hybrid prompts: tags, @artists, weights, qualifiers, sentences, quoted text and
the syntax of other front ends, mixed and joined the ways real prompts join them.

The tag names come from `tests/data/lint_tags.csv` (the `small_index` fixture), written in the spellings
users write: underscores, capitals, unescaped qualifiers, misspellings, aliases, artists without `@`.
"""

from hypothesis import strategies as st

TAGS = (
    "1girl",
    "solo",
    "long_hair",
    "Long Hair",
    "blue hiar",
    "smiling",
    "Smiling",
    "hatsune_miku",
    "Hatsune Miku",
    "saber (fate)",
    "saber_(fate)",
    "saber \\(fate\\)",
    "fate (series)",
    "vocaloid",
    "highres",
    "score_9",
    "score_8_up",
    "very long hair",
    "umbrella",
    "EasyNegative",
    "bad_prompt_v2",
    "kimi no na wa.",
    "1 girl",
    "0",
    ";)",
    "^_^",
    "rain",
)
ARTISTS = ("@wlop", "wlop", "Ebifurya", "@hammer (sunset beach)", "izumi nanase", "@Ebifurya")
SENTENCES = (
    "A girl waits in the rain.",
    "She smiles at the viewer, holding a sign.",
    'A shop sign says "Moon & Sun".',
    'title "Rain Day"',
    "They walk through Kyoto at night",
    "The Legend of Zelda plays on a Japanese TV.",
    "a dragon sleeping on a pile of books",
    "soft golden light from the left",
    "Rain falls. Umbrellas open!",
    "She has ((bright eyes)) and smiles.",
    "少女在雨中，微笑。",
    "Dove of peace",
)
FOREIGN = (
    "<lora:ink_style:0.8>",
    "<lora:x:1>",
    "[red|blue]",
    "{red|blue}",
    "{red|blue} eyes",
    "[cat:dog:0.5]",
    "BREAK",
    "__hair_colour__",
    "ADDCOL",
    "/* pose, (tags) */",
    "/*colour of hair*/ hair",
)
SEPARATORS = (", ", ",", " , ", ". ", ".", "\n", ",\n", "\n\n", " ", "，", "")


def _weighted(text: str, kind: int, weight: str) -> str:
    return (text, f"({text})", f"(({text}))", f"({text}:{weight})")[kind]


items = st.builds(
    _weighted,
    st.sampled_from(TAGS + ARTISTS + SENTENCES + FOREIGN),
    st.sampled_from(range(4)),
    st.sampled_from(("1.2", "0.8", "1.50", " 2 ")),
)
hybrid_prompts = st.lists(st.tuples(items, st.sampled_from(SEPARATORS)), min_size=1, max_size=10).map(
    lambda parts: "".join(item + separator for item, separator in parts)
)
"""A prompt of one to ten items of every kind, each maybe weighted, joined by any separator (or none)."""
