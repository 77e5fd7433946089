"""`anima serve`: the local web playground (needs the `serve` extra for the web stack).

`api.create_app` builds the ASGI application over `anima_prompt.editor.EditorServices`; `jobs` holds the
generation queue, `guard` the request checks, `command` the click command; the page and its built
assets are in `static/` (sources in the repository's top-level `web/`).
"""
