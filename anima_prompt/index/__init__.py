"""The tag index: Danbooru (and e621) tags, aliases, implications and artists in one SQLite file.

- `sources`: readers of the tag lists an index is built from;
- `build`: the writer (sqlite-utils), the body of `TagIndex.build`;
- `query`: `TagIndex`, the reader (the standard library's `sqlite3`, read-only);
- `suggest`: "did you mean" suggestions over the index's keys (rapidfuzz);
- `records`: the frozen values the index hands out (`TagInfo`, `Suggestion`, ...).

Importing this package imports none of them, so `import anima_prompt` stays free of `sqlite3`.
"""
