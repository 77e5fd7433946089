"""The engine behind the Generate button, with the tiny random models on the CPU."""

import io
import json
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from anima_engine._tiny import TinyFiles, write_tiny_model
from anima_engine.playground import EngineRenderer
from anima_prompt.editor import EditorServices
from anima_prompt.serve.api import Playground, create_app
from anima_prompt.serve.jobs import GenerationQueue, RenderRequest
from tests.serve.conftest import HOSTS

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyFiles:
    return write_tiny_model(tmp_path_factory.mktemp("tiny-serve"), seed=0)


def _renderer(tiny: TinyFiles, lora_dir: Path) -> EngineRenderer:
    return EngineRenderer(
        dit=tiny.dit,
        text_encoder=tiny.text_encoder,
        vae=tiny.vae,
        tokenizer_dir=tiny.tokenizer_dir,
        lora_dirs=(lora_dir,),
        device="cpu",
    )


def _request(**changes: object) -> RenderRequest:
    values: dict[str, object] = {
        "prompt": "safe, 1girl, smile",
        "negative": "worst quality",
        "width": 64,
        "height": 48,
        "steps": 2,
        "cfg": 4.5,
        "sampler": "euler",
        "scheduler": "simple",
        "seed": 5,
        "variant": "base",
    }
    return RenderRequest(**{**values, **changes})  # type: ignore[arg-type]


def test_render_reports_steps_and_returns_pngs_with_their_settings(tiny: TinyFiles, tmp_path: Path) -> None:
    renderer = _renderer(tiny, tmp_path)
    steps: list[tuple[int, int]] = []
    (image,) = renderer.render(_request(), lambda done, total: steps.append((done, total)))
    assert steps == [(1, 2), (2, 2)]
    with Image.open(io.BytesIO(image.png)) as png:
        assert png.size == (64, 48)
        record = json.loads(png.info["anima"])
    assert (record["seed"], record["steps"], record["cfg"], record["sampler"]) == (5, 2, 4.5, "euler")
    assert image.settings["prompt"] == "safe, 1girl, smile"
    assert image.settings["negative"] == "worst quality"
    assert (image.settings["width"], image.settings["height"]) == (64, 48)


def test_the_pipeline_stays_loaded_between_requests(tiny: TinyFiles, tmp_path: Path) -> None:
    renderer = _renderer(tiny, tmp_path)
    renderer.render(_request(steps=1), lambda done, total: None)
    loaded = renderer._pipeline
    renderer.render(_request(steps=1, seed=6), lambda done, total: None)
    assert renderer._pipeline is loaded


def test_describe_lists_choices_and_lora_names(tiny: TinyFiles, tmp_path: Path) -> None:
    (tmp_path / "styles").mkdir()
    (tmp_path / "styles" / "ink_style.safetensors").write_bytes(b"")
    info = _renderer(tiny, tmp_path).describe()
    assert info.loras == ("ink_style",)
    assert "er_sde" in info.samplers and "simple" in info.schedulers
    assert info.defaults["turbo"]["cfg"] == 1.0


def test_generate_through_the_api(tiny: TinyFiles, tmp_path: Path) -> None:
    renderer = _renderer(tiny, tmp_path)
    playground = Playground(
        services=EditorServices(),
        queue=GenerationQueue(renderer),
        engine=renderer.describe(),
        engine_note="tiny",
    )
    body = {"prompt": "safe, 1girl", "width": 32, "height": 32, "steps": 2, "sampler": "euler", "seed": 3}
    with TestClient(create_app(playground, hosts=HOSTS)) as client:
        job_id = client.post("/api/generate", json=body).json()["id"]
        with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
            events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
        assert events[-1]["event"] == "done", events
        (entry,) = client.get("/api/gallery").json()["images"]
        png = client.get(entry["url"]).content
    assert entry["settings"]["seed"] == 3
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (32, 32)
    playground.queue.close()  # type: ignore[union-attr]
