"""Lint rules grouped by family; importing a module registers its rules (see `lint.registry`)."""
