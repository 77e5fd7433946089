"""Tests of `anima lsp` over stdio, its start-up and its agreement with `anima lint` and the web API."""
