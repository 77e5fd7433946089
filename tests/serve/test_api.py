"""The JSON API of `anima serve`: each route gives what the Python function it mirrors gives."""

import dataclasses
import json
import time

from fastapi.testclient import TestClient

from anima_prompt import fix
from anima_prompt.serve.api import Playground, create_app
from tests.serve.conftest import HOSTS, FakeRenderer


def test_lint_returns_the_services_problems(client: TestClient, playground: Playground) -> None:
    body = {"prompt": "1girl, long_hair", "negative": "bad_hands", "settings": {"cfg": 12, "width": 1000}}
    response = client.post("/api/lint", json=body)
    assert response.status_code == 200
    expected = playground.services.diagnose(
        "1girl, long_hair", negative="bad_hands", settings={"cfg": 12, "width": 1000, "loras": []}
    )
    as_json = json.loads(json.dumps([dataclasses.asdict(problem) for problem in expected]))
    assert response.json() == {"problems": as_json}
    assert {problem["target"] for problem in response.json()["problems"]} == {
        "prompt",
        "negative",
        "settings",
    }


def test_fix_and_fmt(client: TestClient, tag_index) -> None:  # type: ignore[no-untyped-def]
    text = "1girl,long_hair, saber (fate)"
    assert client.post("/api/fix", json={"prompt": text}).json() == {"prompt": fix(text, index=tag_index)}
    assert client.post("/api/fmt", json={"prompt": "1girl,Long_Hair"}).json() == {
        "formatted": "1girl, long hair",
        "changed": True,
    }


def test_complete_hover_and_actions(client: TestClient) -> None:
    completed = client.post("/api/complete", json={"text": "1girl, hats", "offset": 11, "limit": 1}).json()
    assert completed["start"] == 7 and completed["end"] == 11
    assert [item["insert"] for item in completed["items"]] == ["hatsune miku"]
    hover = client.post("/api/hover", json={"text": "1girl, hatsune miku", "offset": 9}).json()["hover"]
    assert (hover["name"], hover["category"], hover["post_count"]) == ("hatsune_miku", "character", 110000)
    actions = client.post("/api/actions", json={"text": "1girl, long_hair", "start": 8, "end": 8}).json()
    assert actions["actions"][0]["edits"] == [{"start": 7, "end": 16, "text": "long hair"}]


def test_tag_search_detail_and_suggest(client: TestClient) -> None:
    tags = client.get("/api/tags", params={"q": "long", "limit": 2}).json()["tags"]
    assert [tag["name"] for tag in tags] == ["long_hair", "very_long_hair"]
    assert tags[0]["aliases"] == ["longhair"]
    detail = client.get("/api/tag", params={"name": "very long hair"}).json()["hover"]
    assert (detail["implies"], detail["implied_by"]) == (["long hair"], ["absurdly long hair"])
    suggestions = client.get("/api/suggest", params={"q": "hatsnue miku"}).json()["suggestions"]
    assert suggestions[0]["name"] == "hatsune_miku"


def test_info_describes_index_engine_and_limits(client: TestClient) -> None:
    info = client.get("/api/info").json()
    assert info["index"] is True
    assert info["engine"]["loras"] == ["ink_style"]
    assert (info["max_body"], info["max_pending"]) == (4096, 2)


def test_openapi_lists_every_route(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/lint", "/api/fmt", "/api/complete", "/api/hover", "/api/tags", "/api/suggest"):
        assert path in paths
    assert "/api/generate" in paths and "/api/jobs/{job_id}/events" in paths


def test_page_and_assets_come_from_the_package(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/static/playground.js" in page.text
    script = client.get("/static/playground.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
    assert page.headers["x-frame-options"] == "DENY"


def _events(client: TestClient, job_id: str) -> list[dict[str, object]]:
    with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        return [
            json.loads(line[len("data: ") :]) for line in stream.iter_lines() if line.startswith("data: ")
        ]


def test_generate_streams_steps_and_fills_the_gallery(client: TestClient, renderer: FakeRenderer) -> None:
    body = {"prompt": "safe, 1girl, <lora:ink_style:0.5>", "steps": 3, "width": 64, "height": 48, "seed": 9}
    response = client.post("/api/generate", json={**body, "loras": [{"name": "ink_style", "strength": 0.7}]})
    assert response.status_code == 202
    job_id = response.json()["id"]
    events = _events(client, job_id)
    assert [event["event"] for event in events] == ["queued", "started", "step", "step", "step", "done"]
    assert [event.get("step") for event in events if event["event"] == "step"] == [1, 2, 3]
    request = renderer.rendered[0]
    assert (request.width, request.height, request.seed, request.loras) == (64, 48, 9, (("ink_style", 0.7),))
    gallery = client.get("/api/gallery").json()["images"]
    assert gallery[0]["settings"]["seed"] == 9
    image = client.get(gallery[0]["url"])
    assert image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")
    download = client.get(gallery[0]["url"], params={"download": "true"})
    assert download.headers["content-disposition"].startswith("attachment")


def test_queue_is_bounded_and_jobs_cancel(client: TestClient, renderer: FakeRenderer) -> None:
    renderer.gate.clear()
    body = {"prompt": "safe, 1girl", "steps": 2}
    running = client.post("/api/generate", json=body).json()["id"]
    assert renderer.started.wait(10)
    waiting = [client.post("/api/generate", json=body) for _ in range(2)]
    assert [response.status_code for response in waiting] == [202, 202]
    refused = client.post("/api/generate", json=body)
    assert refused.status_code == 429 and "queue is full" in refused.json()["error"]
    assert client.post(f"/api/jobs/{waiting[0].json()['id']}/cancel").json()["state"] == "cancelled"
    client.post(f"/api/jobs/{running}/cancel")
    renderer.gate.set()
    assert _events(client, running)[-1]["event"] == "cancelled"
    assert _events(client, waiting[1].json()["id"])[-1]["event"] == "done"
    assert client.get(f"/api/jobs/{running}").json()["state"] == "cancelled"


def test_a_failed_render_is_a_message(client: TestClient, renderer: FakeRenderer) -> None:
    renderer.fail_with = RuntimeError("out of memory\nlong trace here")
    job_id = client.post("/api/generate", json={"prompt": "safe, 1girl"}).json()["id"]
    assert _events(client, job_id)[-1] == {"event": "failed", "error": "out of memory"}


def test_unknown_choices_are_refused(client: TestClient) -> None:
    response = client.post("/api/generate", json={"prompt": "safe", "sampler": "magic"})
    assert response.status_code == 400
    assert response.json() == {"error": "unknown sampler 'magic'; expected one of er_sde, euler"}
    assert client.post("/api/generate", json={"prompt": "safe", "width": 100}).status_code == 422
    assert client.get("/api/jobs/job999").json() == {"error": "no job 'job999'"}


def test_without_engine_generation_says_why(playground: Playground) -> None:
    playground.queue, playground.engine = None, None
    playground.engine_note = "generation needs the engine extra"
    with TestClient(create_app(playground, hosts=HOSTS)) as client:
        response = client.post("/api/generate", json={"prompt": "safe"})
    assert response.status_code == 503
    assert response.json() == {"error": "generation is not available: generation needs the engine extra"}


def test_errors_are_json_without_traces(client: TestClient, playground: Playground, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/complete", json={"text": "1girl", "offset": 9}).json() == {
        "error": "offset 9 is outside the text (0 to 5)"
    }
    assert client.post("/api/lint", json={"prompt": 5}).json() == {
        "error": "prompt: Input should be a valid string"
    }
    bad_settings = client.post("/api/lint", json={"prompt": "x", "settings": {"variant": "nope"}})
    assert bad_settings.status_code == 400 and "unknown model variant" in bad_settings.json()["error"]

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("secret internals")

    monkeypatch.setattr(playground.services, "format", broken)
    response = client.post("/api/fmt", json={"prompt": "x"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal error (KeyError)"}


def test_event_stream_ends_for_finished_jobs(client: TestClient) -> None:
    job_id = client.post("/api/generate", json={"prompt": "safe", "steps": 1}).json()["id"]
    deadline = time.monotonic() + 10
    while client.get(f"/api/jobs/{job_id}").json()["state"] != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _events(client, job_id)[-1]["event"] == "done"


def test_unknown_routes_and_methods_are_json_errors(client: TestClient) -> None:
    assert client.get("/api/nothing").json() == {"error": "Not Found"}
    wrong = client.get("/api/lint")
    assert (wrong.status_code, wrong.json()) == (405, {"error": "Method Not Allowed"})
    assert client.get("/static/nothing.js").json() == {"error": "Not Found"}
