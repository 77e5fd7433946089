"""Fixtures for the `anima serve` tests: a fake renderer, the API over the small tag index."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from anima_prompt.editor import EditorServices
from anima_prompt.lint import LintConfig
from anima_prompt.serve.api import Playground, create_app
from anima_prompt.serve.jobs import EngineInfo, GenerationQueue, RenderedImage, RenderRequest, StepReport

HOSTS = frozenset({"testserver", "127.0.0.1", "localhost", "::1"})


class FakeRenderer:
    """Reports `steps` steps and returns one fake PNG per request; `gate` holds it before the first step."""

    def __init__(self, *, loras: tuple[str, ...] = ("ink_style",)) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.loras = loras
        self.rendered: list[RenderRequest] = []
        self.fail_with: Exception | None = None

    def describe(self) -> EngineInfo:
        return EngineInfo(
            samplers=("er_sde", "euler"),
            schedulers=("simple", "normal"),
            variants=("base", "aesthetic", "turbo"),
            defaults={"turbo": {"steps": 10, "cfg": 1.0, "sampler": "er_sde"}},
            loras=self.loras,
        )

    def render(self, request: RenderRequest, report: StepReport) -> list[RenderedImage]:
        self.started.set()
        self.gate.wait(10)
        if self.fail_with is not None:
            raise self.fail_with
        for step in range(1, request.steps + 1):
            report(step, request.steps)
        self.rendered.append(request)
        settings = {"prompt": request.prompt, "seed": request.seed, "steps": request.steps}
        return [RenderedImage(b"\x89PNG fake " + request.prompt.encode(), settings)]


@pytest.fixture
def renderer() -> FakeRenderer:
    return FakeRenderer()


@pytest.fixture
def playground(tag_index, renderer: FakeRenderer, tmp_path: Path) -> Iterator[Playground]:  # type: ignore[no-untyped-def]
    queue = GenerationQueue(renderer, max_pending=2)
    config = LintConfig(front_end="anima", lora_dirs=(str(tmp_path),))
    yield Playground(
        services=EditorServices(index=tag_index, config=config),
        queue=queue,
        engine=renderer.describe(),
        engine_note="fake engine",
        max_body=4096,
    )
    renderer.gate.set()
    queue.close()


@pytest.fixture
def client(playground: Playground) -> Iterator[TestClient]:
    with TestClient(create_app(playground, hosts=HOSTS), raise_server_exceptions=False) as test_client:
        yield test_client
