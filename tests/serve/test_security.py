"""`anima serve` is safe by default: loopback only, same-origin writes, bounded bodies, no paths."""

import sys

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from anima_prompt.cli import cli
from anima_prompt.serve.api import Playground, create_app
from anima_prompt.serve.guard import host_name
from tests.serve.conftest import FakeRenderer


def test_post_from_another_origin_is_refused(client: TestClient) -> None:
    response = client.post("/api/lint", json={"prompt": "1girl"}, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert response.json() == {
        "error": "cross-origin request refused: Origin 'http://evil.example' is not this server"
    }
    generate = client.post("/api/generate", json={"prompt": "safe"}, headers={"Origin": "null"})
    assert generate.status_code == 403


def test_same_origin_and_non_browser_posts_pass(client: TestClient) -> None:
    assert (
        client.post(
            "/api/lint", json={"prompt": "1girl"}, headers={"Origin": "http://testserver"}
        ).status_code
        == 200
    )
    assert client.post("/api/lint", json={"prompt": "1girl"}).status_code == 200


def test_unknown_host_is_refused(client: TestClient) -> None:
    """A page of another site whose name resolves to 127.0.0.1 (DNS rebinding) gets nothing."""
    response = client.get("/api/info", headers={"Host": "evil.example:8765"})
    assert response.status_code == 421
    assert "unknown Host header" in response.json()["error"]


def test_body_over_the_limit_gets_413(client: TestClient) -> None:
    response = client.post("/api/lint", json={"prompt": "x" * 5000})
    assert response.status_code == 413
    assert response.json() == {"error": "request body over the limit of 4096 bytes"}


def test_streamed_body_over_the_limit_gets_413(client: TestClient) -> None:
    """Without a Content-Length the body is counted as it arrives."""

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * 1000

    response = client.post("/api/lint", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize("name", ["/etc/passwd", "../../secret", "C:\\loras\\x", "~/x", "sub/dir/x"])
def test_a_lora_path_is_refused(client: TestClient, renderer: FakeRenderer, name: str) -> None:
    response = client.post("/api/generate", json={"prompt": "safe", "loras": [{"name": name}]})
    assert response.status_code == 400
    assert "paths are not accepted" in response.json()["error"]
    assert renderer.rendered == []


def test_a_lora_path_in_the_prompt_is_refused(client: TestClient, renderer: FakeRenderer) -> None:
    response = client.post("/api/generate", json={"prompt": "safe, <lora:/home/me/secret.safetensors:0.5>"})
    assert response.status_code == 400
    assert "paths are not accepted" in response.json()["error"]


def test_an_unknown_lora_name_is_refused(client: TestClient) -> None:
    response = client.post("/api/generate", json={"prompt": "safe, <lora:other_style>"})
    assert response.json() == {"error": "LoRA 'other_style' is not in the server's LoRA folders"}


def test_model_folders_cannot_be_set_from_the_browser(client: TestClient) -> None:
    response = client.post("/api/generate", json={"prompt": "safe", "model_dir": "/tmp/models"})
    assert response.status_code == 422
    assert response.json() == {"error": "model_dir: unknown field"}


def test_wildcard_host_without_the_flag_is_refused() -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--no-generate"])
    assert result.exit_code == 2
    assert "--host 0.0.0.0 would let other machines use this server; add --allow-remote" in result.output


def test_remote_host_with_the_flag_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[object] = []
    monkeypatch.setattr("uvicorn.Server.run", lambda self, sockets=None: served.append(sockets))
    result = CliRunner().invoke(
        cli,
        ["serve", "--host", "0.0.0.0", "--port", "0", "--allow-remote", "--no-generate"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0
    assert (
        "warning: listening on 0.0.0.0: anyone who can reach this machine can use the server" in result.output
    )
    assert len(served) == 1


def test_without_the_serve_extra_the_command_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = CliRunner().invoke(cli, ["serve", "--no-generate"])
    assert result.exit_code == 1
    assert (
        result.output
        == "anima serve: error: the serve extra is not installed; pip install 'anima-toolkit[serve]'\n"
    )


def test_remote_mode_accepts_any_host_but_still_checks_origin(playground: Playground) -> None:
    with TestClient(create_app(playground, hosts=None), base_url="http://192.0.2.7:8765") as client:
        assert client.get("/api/info").status_code == 200
        same = client.post("/api/lint", json={"prompt": "1"}, headers={"Origin": "http://192.0.2.7:8765"})
        assert same.status_code == 200
        other = client.post("/api/lint", json={"prompt": "1"}, headers={"Origin": "http://evil.example"})
        assert other.status_code == 403


@pytest.mark.parametrize(
    ("header", "name"), [("127.0.0.1:8765", "127.0.0.1"), ("[::1]:80", "::1"), ("localhost", "localhost")]
)
def test_host_name(header: str, name: str) -> None:
    assert host_name(header) == name
