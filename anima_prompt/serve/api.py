"""The JSON API and page of `anima serve`: a FastAPI application over `EditorServices` and the job queue.

Every route mirrors a Python function (`lint`, `fix`, `format`, `complete`, `hover`, `actions`, tag search,
`suggest`, generation); the OpenAPI description is served at `/api/openapi.json`. Errors are JSON
`{"error": message}` with no stack trace. The editor routes run on the event loop, one at a time: each
takes about a millisecond of CPU, the linter's caches are touched by one thread only, and no hand-over
to a worker thread adds a wait (a worker thread for lints made their p99 latency worse under load,
`docs/benchmarks.md`).
"""

import asyncio
import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from anima_prompt.editor import Action, Completions, EditorServices, Hover, Problem
from anima_prompt.errors import AnimaPromptError
from anima_prompt.index.records import Suggestion, TagInfo
from anima_prompt.index.suggest import suggest
from anima_prompt.serve.guard import RequestGuard
from anima_prompt.serve.jobs import EngineInfo, GenerationQueue, Job, QueueFull, RenderRequest

logger = logging.getLogger(__name__)

MAX_TEXT = 20_000  # characters of one prompt or editor text
MAX_SIDE = 2048  # largest image side the page may ask for
MAX_STEPS = 200
EVENT_POLL_SECONDS = 0.1
PATH_CHARACTERS = ("/", "\\", "..", "~", ":")


def static_folder() -> Path:
    """The page and its assets, shipped inside the package."""
    return Path(str(resources.files("anima_prompt.serve") / "static"))


# -- requests --------------------------------------------------------------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoraChoice(_Request):
    """A LoRA by name (one of `/api/info`'s `engine.loras`) and its strength."""

    name: str = Field(min_length=1, max_length=200)
    strength: float = Field(default=1.0, ge=-10, le=10)


class SettingsBody(_Request):
    """Generation settings the linter checks; every field optional."""

    cfg: float | None = Field(default=None, ge=0, le=100)
    steps: int | None = Field(default=None, ge=1, le=10_000)
    width: int | None = Field(default=None, ge=1, le=1_000_000)
    height: int | None = Field(default=None, ge=1, le=1_000_000)
    sampler: str | None = Field(default=None, max_length=100)
    variant: str | None = Field(default=None, max_length=100)
    loras: list[LoraChoice] = Field(default_factory=list[LoraChoice], max_length=16)

    def mapping(self) -> dict[str, object]:
        """The settings as `LintSettings.from_mapping` reads them."""
        values = self.model_dump(exclude_none=True)
        values["loras"] = [{"name": lora.name, "strength": lora.strength} for lora in self.loras]
        return values


class LintBody(_Request):
    """A prompt, its negative prompt and settings."""

    prompt: str = Field(max_length=MAX_TEXT)
    negative: str | None = Field(default=None, max_length=MAX_TEXT)
    settings: SettingsBody | None = None


class TextBody(_Request):
    """A text to format."""

    prompt: str = Field(max_length=MAX_TEXT)


class PositionBody(_Request):
    """A text and a cursor offset in it (0-based, in characters)."""

    text: str = Field(max_length=MAX_TEXT)
    offset: int = Field(ge=0)
    limit: int = Field(default=20, ge=1, le=100)


class RangeBody(_Request):
    """A text and a range `[start, end]` in it."""

    text: str = Field(max_length=MAX_TEXT)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    settings: SettingsBody | None = None


class GenerateBody(_Request):
    """One image to generate. Models and LoRA folders are fixed when the server starts; LoRAs are named."""

    prompt: str = Field(min_length=1, max_length=MAX_TEXT)
    negative: str = Field(default="", max_length=MAX_TEXT)
    width: int = Field(default=1024, ge=16, le=MAX_SIDE, multiple_of=16)
    height: int = Field(default=1024, ge=16, le=MAX_SIDE, multiple_of=16)
    steps: int = Field(default=30, ge=1, le=MAX_STEPS)
    cfg: float = Field(default=4.0, ge=0, le=100)
    sampler: str = "er_sde"
    scheduler: str = "simple"
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    variant: str = "base"
    loras: list[LoraChoice] = Field(default_factory=list[LoraChoice], max_length=16)


# -- responses ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LintResponse:
    """The problems of a prompt, its negative prompt and settings."""

    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class FixResponse:
    """The prompt with the automatic fixes applied."""

    prompt: str


@dataclass(frozen=True, slots=True)
class FormatResponse:
    """The prompt in canonical form, and whether that changed it."""

    formatted: str
    changed: bool


@dataclass(frozen=True, slots=True)
class HoverResponse:
    """The tag at a position (or of a name), or null."""

    hover: Hover | None


@dataclass(frozen=True, slots=True)
class ActionsResponse:
    """The actions for a range of a prompt."""

    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class TagsResponse:
    """Tags found by prefix, most posts first."""

    tags: tuple[TagInfo, ...]


@dataclass(frozen=True, slots=True)
class SuggestResponse:
    """Tags a text probably meant, best first."""

    suggestions: tuple[Suggestion, ...]


@dataclass(frozen=True, slots=True)
class InfoResponse:
    """What the server offers: tag index, engine choices, limits."""

    index: bool
    engine: EngineInfo | None
    engine_note: str
    max_body: int
    max_pending: int


@dataclass(frozen=True, slots=True)
class JobResponse:
    """A generation job: its state, its images, how many events it reported."""

    id: str
    state: str
    images: tuple[str, ...]
    events: int


@dataclass(frozen=True, slots=True)
class GalleryEntry:
    """A generated image: where to fetch it and the settings that made it."""

    id: str
    job: str
    url: str
    settings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GalleryResponse:
    """The gallery, newest first."""

    images: tuple[GalleryEntry, ...]


# -- the application -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Playground:
    """What the routes work with, fixed at start-up.

    Attributes:
        services: the editor services (index and lint configuration).
        queue: the generation queue; None when generation is not available.
        engine: what the engine offers; None when generation is not available.
        engine_note: why generation is not available, or where the models were found.
        max_body: the largest request body accepted, in bytes.
    """

    services: EditorServices
    queue: GenerationQueue | None = None
    engine: EngineInfo | None = None
    engine_note: str = "no engine attached"
    max_body: int = 256 * 1024


def create_app(playground: Playground, *, hosts: frozenset[str] | None) -> RequestGuard:
    """The ASGI application: the API and page behind the request guard.

    Args:
        playground: services, queue and limits.
        hosts: host names accepted in the `Host` header; None accepts any (`--allow-remote`).
    """
    app = FastAPI(
        title="anima serve",
        summary="Lint, format, complete and generate Anima prompts",
        openapi_url="/api/openapi.json",
        docs_url=None,  # the interactive docs load scripts from a CDN; the page must work offline
        redoc_url=None,
    )
    _error_handlers(app)
    _editor_routes(app, playground)
    _tag_routes(app, playground)
    _generation_routes(app, playground)
    static = static_folder()
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(static / "index.html", media_type="text/html")

    return RequestGuard(app, hosts=hosts, max_body=playground.max_body)


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = "unknown field" if first.get("type") == "extra_forbidden" else first.get("msg", "invalid")
        return JSONResponse({"error": f"{where}: {message}" if where else message}, status_code=422)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's and the router's (404, 405)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code)

    @app.exception_handler(AnimaPromptError)
    async def prompt_error(request: Request, error: AnimaPromptError) -> JSONResponse:
        status = 429 if isinstance(error, QueueFull) else 400
        return JSONResponse({"error": str(error).split("\n", 1)[0]}, status_code=status)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return JSONResponse({"error": f"internal error ({type(error).__name__})"}, status_code=500)


def _editor_routes(app: FastAPI, playground: Playground) -> None:
    services = playground.services

    def settings(body: SettingsBody | None) -> dict[str, object] | None:
        return body.mapping() if body is not None else None

    @app.post("/api/lint", tags=["editor"], response_model=LintResponse)
    async def lint(body: LintBody) -> Response:
        """The lint findings of a prompt, its negative prompt and settings (`EditorServices.diagnose`)."""
        found = services.diagnose(body.prompt, negative=body.negative, settings=settings(body.settings))
        return _json(LintResponse(found))

    @app.post("/api/fix", tags=["editor"], response_model=FixResponse)
    async def fix(body: LintBody) -> Response:
        """The prompt with every safe automatic fix applied (`anima_prompt.fix`)."""
        fixed = services.linter.fix(body.prompt, negative=body.negative, settings=_lint_settings(body))
        return _json(FixResponse(fixed))

    @app.post("/api/fmt", tags=["editor"], response_model=FormatResponse)
    async def fmt(body: TextBody) -> Response:
        """The prompt in Anima's canonical form (`anima fmt`)."""
        formatted = services.format(body.prompt)
        return _json(FormatResponse(formatted, formatted != body.prompt))

    @app.post("/api/complete", tags=["editor"], response_model=Completions)
    async def complete(body: PositionBody) -> Response:
        """Tags and `@artists` for the word at `offset` (`EditorServices.complete`)."""
        return _json(services.complete(body.text, body.offset, limit=body.limit))

    @app.post("/api/hover", tags=["editor"], response_model=HoverResponse)
    async def hover(body: PositionBody) -> Response:
        """The tag at `offset`: category, posts, aliases, implications (`EditorServices.hover`)."""
        return _json(HoverResponse(services.hover(body.text, body.offset)))

    @app.post("/api/actions", tags=["editor"], response_model=ActionsResponse)
    async def actions(body: RangeBody) -> Response:
        """Fixes and suggestions for the problems touching `[start, end]` (`EditorServices.actions`)."""
        found = services.actions(body.text, body.start, body.end, settings=settings(body.settings))
        return _json(ActionsResponse(found))


def _json(value: Any) -> Response:
    """A dataclass as a JSON response, written directly: the editor routes answer on every keystroke,
    and the declared `response_model` only documents them."""
    return Response(json.dumps(dataclasses.asdict(value), ensure_ascii=False), media_type="application/json")


def _lint_settings(body: LintBody) -> Any:
    from anima_prompt.lint import LintSettings

    return LintSettings.from_mapping(body.settings.mapping()) if body.settings is not None else None


def _tag_routes(app: FastAPI, playground: Playground) -> None:
    services = playground.services

    def index() -> Any:
        if services.index is None:
            raise HTTPException(
                503, "no tag index; start the server with --db or build one (anima index build)"
            )
        return services.index

    @app.get("/api/tags", tags=["tags"])
    async def tags(
        q: Annotated[str, Query(min_length=1, max_length=200)],
        category: Annotated[str | None, Query(max_length=40)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> TagsResponse:
        """Tags whose name, an alias or a later word starts with `q`, most posts first (`TagIndex.search`)."""
        return TagsResponse(index().search(q, category=category, limit=limit))

    @app.get("/api/tag", tags=["tags"])
    async def tag(name: Annotated[str, Query(min_length=1, max_length=200)]) -> HoverResponse:
        """One tag: category, posts, aliases, implications and implied-by (`EditorServices.tag`)."""
        index()
        return HoverResponse(services.tag(name))

    @app.get("/api/suggest", tags=["tags"])
    async def suggestions(
        q: Annotated[str, Query(min_length=1, max_length=200)],
        limit: Annotated[int, Query(ge=1, le=50)] = 5,
    ) -> SuggestResponse:
        """Tags the user probably meant by `q` (`anima_prompt.suggest`)."""
        return SuggestResponse(suggest(q, index(), limit=limit))

    @app.get("/api/info", tags=["server"])
    async def info() -> InfoResponse:
        """What this server offers: the tag index, the engine's choices and the request limits."""
        queue = playground.queue
        return InfoResponse(
            index=services.index is not None,
            engine=playground.engine,
            engine_note=playground.engine_note,
            max_body=playground.max_body,
            max_pending=queue.max_pending if queue is not None else 0,
        )


def _generation_routes(app: FastAPI, playground: Playground) -> None:
    def queue() -> GenerationQueue:
        if playground.queue is None or playground.engine is None:
            raise HTTPException(503, f"generation is not available: {playground.engine_note}")
        return playground.queue

    def job_of(job_id: str) -> Job:
        job = queue().jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}")
        return job

    @app.post("/api/generate", status_code=202, tags=["generation"])
    async def generate(body: GenerateBody) -> JobResponse:
        """Queue one image; follow it with `/api/jobs/{id}/events`. 429 when the queue is full."""
        jobs = queue()
        assert playground.engine is not None
        job = jobs.submit(_render_request(body, playground.engine))
        return _job_response(job)

    @app.get("/api/jobs/{job_id}", tags=["generation"])
    async def job(job_id: str) -> JobResponse:
        """A job's state and images."""
        return _job_response(job_of(job_id))

    @app.post("/api/jobs/{job_id}/cancel", tags=["generation"])
    async def cancel(job_id: str) -> JobResponse:
        """Cancel a waiting job, or a running one at its next step."""
        job_of(job_id)
        cancelled = queue().cancel(job_id)
        assert cancelled is not None
        return _job_response(cancelled)

    @app.get("/api/jobs/{job_id}/events", tags=["generation"], response_class=StreamingResponse)
    async def events(job_id: str) -> StreamingResponse:
        """Server-sent events: `queued`, `started`, `step`, then `done`, `failed` or `cancelled`."""
        return StreamingResponse(_event_stream(job_of(job_id)), media_type="text/event-stream")

    @app.get("/api/gallery", tags=["generation"])
    async def gallery() -> GalleryResponse:
        """The images generated since the server started (the latest kept ones), newest first."""
        images = reversed(list(queue().images.values()))
        return GalleryResponse(
            tuple(GalleryEntry(i.id, i.job, f"/api/images/{i.id}.png", i.settings) for i in images)
        )

    @app.get("/api/images/{image_id}.png", tags=["generation"], response_class=Response)
    async def image(image_id: str, download: bool = False) -> Response:
        """A generated PNG, its settings in the metadata; `download=true` saves it under its name."""
        found = queue().images.get(image_id)
        if found is None:
            raise HTTPException(404, f"no image {image_id!r}")
        headers = {"Content-Disposition": f'attachment; filename="anima-{image_id}.png"'} if download else {}
        return Response(found.png, media_type="image/png", headers=headers)


def _render_request(body: GenerateBody, engine: EngineInfo) -> RenderRequest:
    """The request for the queue, each choice checked against what the engine offers.

    Raises:
        HTTPException: an unknown sampler, scheduler or variant, or a LoRA that is a path or not one of
            the server's LoRAs (in the settings or as a `<lora:...>` tag in the prompt).
    """
    from anima_prompt.loras import LoraReferenceError, lora_tags
    from anima_prompt.parser import parse

    for name, value, allowed in (
        ("sampler", body.sampler, engine.samplers),
        ("scheduler", body.scheduler, engine.schedulers),
        ("variant", body.variant, engine.variants),
    ):
        if value not in allowed:
            raise HTTPException(400, f"unknown {name} {value!r}; expected one of {', '.join(allowed)}")
    try:
        tagged = [tag.name for text in (body.prompt, body.negative) for tag in lora_tags(parse(text))]
    except LoraReferenceError as error:
        raise HTTPException(400, str(error)) from None
    for name in [lora.name for lora in body.loras] + tagged:
        if any(part in name for part in PATH_CHARACTERS):
            raise HTTPException(
                400, f"LoRA {name!r}: paths are not accepted; name one of the server's LoRAs (see /api/info)"
            )
        if name not in engine.loras:
            raise HTTPException(400, f"LoRA {name!r} is not in the server's LoRA folders")
    return RenderRequest(
        prompt=body.prompt,
        negative=body.negative,
        width=body.width,
        height=body.height,
        steps=body.steps,
        cfg=body.cfg,
        sampler=body.sampler,
        scheduler=body.scheduler,
        seed=body.seed,
        variant=body.variant,
        loras=tuple((lora.name, lora.strength) for lora in body.loras),
    )


def _job_response(job: Job) -> JobResponse:
    return JobResponse(job.id, job.state, tuple(job.images), len(job.events))


async def _event_stream(job: Job) -> AsyncIterator[str]:
    sent = 0
    while True:
        events = job.events[sent:]
        for event in events:
            yield f"event: {event['event']}\ndata: {json.dumps(event)}\n\n"
        sent += len(events)
        if job.finished and sent == len(job.events):
            return
        await asyncio.sleep(EVENT_POLL_SECONDS)
