"""`anima lsp`: the language server for prompt files.

`launch` answers `initialize` while `server` (pygls handlers) loads; `projects` finds each file's
configuration and tag index; `convert` turns the editor services' results into protocol values. The
services themselves, and the document model (regions, JSON escapes, positions), are in `anima_prompt.editor`.
"""
