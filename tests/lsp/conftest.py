"""A real language client (pytest-lsp) talking to `anima lsp` started as a subprocess over stdio."""

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client

CLIENT = "visual-studio-code"


def server_command(db: Path) -> list[str]:
    """How the tests start the server: the `anima` group of this interpreter, with the small index."""
    return [sys.executable, "-m", "anima_prompt", "lsp", "--stdio", "--db", str(db)]


def make_client() -> tuple[LanguageClient, list[types.RegistrationParams]]:
    """A test client that accepts the server's capability registrations, and the list they go to."""
    lsp = make_test_lsp_client()
    registrations: list[types.RegistrationParams] = []

    @lsp.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(ls: LanguageClient, params: types.RegistrationParams) -> None:
        registrations.append(params)

    return lsp, registrations


@pytest_asyncio.fixture
async def client(tag_index_path: Path, tmp_path: Path) -> AsyncIterator[LanguageClient]:
    """An initialized client whose workspace is `tmp_path`."""
    lsp, _ = make_client()
    await lsp.start_io(*server_command(tag_index_path), cwd=str(tmp_path))
    params = types.InitializeParams(
        capabilities=client_capabilities(CLIENT),
        root_uri=tmp_path.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=tmp_path.as_uri(), name="workspace")],
    )
    await lsp.initialize_session(params)
    yield lsp
    await lsp.shutdown_session()
    await lsp.stop()
