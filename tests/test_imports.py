"""The import graph of both packages: every module imports alone, no cycles (also through imports inside
functions), and the prompt package never imports torch."""

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("anima_prompt", "anima_engine")

# Each module is imported in a process forked from one that has imported only `preload` (third-party
# libraries, never our modules): a fresh interpreter per module without paying for torch fifty times.
# A module that fails imports, or that pulls in what it must not, is reported by name.
_IMPORT_EACH = """
import importlib, json, os, sys
modules, preload, forbidden = json.loads(sys.argv[1])
for name in preload:
    importlib.import_module(name)
failures = {}
for module in modules:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            message = ", ".join(sorted(f for f in forbidden if f in sys.modules))
            message = f"imported {message}" if message else ""
        except BaseException as error:
            message = f"{type(error).__name__}: {error}"
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    if message:
        failures[module] = message
print(json.dumps(failures))
"""


def module_names(package: str) -> list[str]:
    """Every module of `package`, by dotted name, from the source tree (`__main__`, a script, left out)."""
    names = []
    for path in sorted((REPO / package).rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[-1] != "__main__":
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def import_each(modules: list[str], preload: list[str], forbidden: list[str]) -> dict[str, str]:
    argument = json.dumps([modules, preload, forbidden])
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, argument], capture_output=True, text=True, check=True, cwd=REPO
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_prompt_module_imports_alone_without_torch_ray_or_the_engine() -> None:
    preload = ["click", "lark", "rapidfuzz", "sqlite_utils"]
    failures = import_each(module_names("anima_prompt"), preload, ["torch", "ray", "anima_engine"])
    assert failures == {}


def test_every_engine_module_imports_alone() -> None:
    preload = ["torch", "safetensors", "einops", "transformers", "PIL.Image", "huggingface_hub", "click"]
    failures = import_each(module_names("anima_engine"), preload, [])
    assert failures == {}


def _runtime_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, also inside functions and classes, except `if TYPE_CHECKING:` blocks."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imports() -> dict[str, set[str]]:
    """module -> every module it imports (ours and others), found statically."""
    modules = {name for package in PACKAGES for name in module_names(package)}
    found: dict[str, set[str]] = {}
    for name in modules:
        path = REPO / Path(*name.split("."))
        source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        package = name if path.is_dir() else name.rpartition(".")[0]
        found[name] = set()
        for node in _runtime_imports(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found[name] |= {alias.name for alias in node.names}
                continue
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]).rstrip(".")
            # `from package import module` imports the module; `from module import name`, the module.
            found[name] |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of our packages it imports."""
    found = imports()
    return {
        name: {target for target in targets if target in found and target != name}
        for name, targets in found.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    assert "anima_engine._tiny" in graph["anima_engine.cli"]  # imported by `make_tiny` only
    assert "anima_engine.cli_generate" in graph["anima_engine.cli"]  # imported by `generate` only


def test_the_engine_import_graph_is_acyclic() -> None:
    graph = import_graph()
    assert [cycle for cycle in cycles(graph) if any(m.startswith("anima_engine") for m in cycle)] == []


def test_the_prompt_import_graph_is_acyclic() -> None:
    graph = import_graph()
    assert [cycle for cycle in cycles(graph) if all(m.startswith("anima_prompt") for m in cycle)] == []


def test_the_prompt_package_never_imports_torch_or_the_engine() -> None:
    heavy = {"torch", "anima_engine", "transformers", "safetensors", "diffusers"}
    found = {
        module: sorted(t for t in targets if t.split(".")[0] in heavy)
        for module, targets in imports().items()
        if module.startswith("anima_prompt")
    }
    assert {module: targets for module, targets in found.items() if targets} == {}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_is_listed(package: str) -> None:
    assert f"{package}.cli" in module_names(package)
