"""Downloading the official files into a model folder, against a local server that answers like the hub."""

import dataclasses
from pathlib import Path

import huggingface_hub.constants
import pytest

from anima_engine import GenerationRequest, generate, load_pipeline
from anima_engine._tiny import TinyFiles
from anima_engine.errors import ConfigError, ModelDownloadError
from anima_engine.hub import STAGING_DIR, hub_endpoint, hub_token
from anima_engine.model_download import check_content, download_models, select_sources
from anima_engine.model_manifest import load_model_manifest
from tests.conftest import RealData
from tests.engine.hub_helpers import HUB_FILES, QWEN_TOKENIZER, env_for, manifest_for, sha256
from tests.support.fileserver import FileServer, closed_port


def test_download_then_load_and_generate(hub: FileServer, tmp_path: Path) -> None:
    seen: dict[str, list[tuple[int, int | None]]] = {}
    results = download_models(
        tmp_path / "models",
        manifest=manifest_for(hub),
        env=env_for(hub),
        progress=lambda source, done, total: seen.setdefault(source.target, []).append((done, total)),
    )
    assert [r.path.relative_to(tmp_path / "models").as_posix() for r in results] == [
        "diffusion_models/anima-base-v1.0.safetensors",
        "text_encoders/qwen_3_06b_base.safetensors",
        "vae/qwen_image_vae.safetensors",
        "tokenizers/qwen3/tokenizer.json",
        "tokenizers/t5/tokenizer.json",
    ]
    assert [r.checks for r in results] == [("size", "sha256 (from the server)", "content")] * 3 + [
        ("size", "sha256 (pinned)", "content")
    ] * 2
    for result in results:
        assert seen[result.path.relative_to(tmp_path / "models").as_posix()][-1] == (result.size, result.size)
    assert not list((tmp_path / "models").rglob("*.part"))
    assert not (tmp_path / "models" / "diffusion_models" / STAGING_DIR).exists()

    pipe = load_pipeline(model_dir=tmp_path / "models", hash_files=False)
    [image] = generate(pipe, GenerationRequest(prompt="safe, cat", seed=1, width=32, height=32, steps=1))
    assert image.image.size == (32, 32)

    hub.requests.clear()
    again = download_models(tmp_path / "models", manifest=manifest_for(hub), env=env_for(hub))
    assert not any(r.fetched for r in again)
    assert hub.requests == []


def test_a_transfer_that_breaks_off_is_resumed(
    hub: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # huggingface_hub resumes from the last whole chunk it wrote; make chunks small enough to see that.
    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 1024)
    hub.cut_after = 4096
    [result] = download_models(tmp_path, parts=["dit"], manifest=manifest_for(hub), env=env_for(hub))
    target = tmp_path / "diffusion_models" / "anima-base-v1.0.safetensors"
    assert result.path == target and check_content(target, "dit") is None
    assert result.checks == ("size", "sha256 (from the server)", "content")
    assert hub.requests[-1].range == "bytes=4096-"
    assert sorted(path.name for path in target.parent.iterdir()) == [target.name]


def test_a_wrong_advertised_sha256_is_refused(hub: FileServer, tmp_path: Path) -> None:
    hub.redirects[HUB_FILES["vae"]][1]["X-Linked-Etag"] = '"' + "0" * 64 + '"'
    with pytest.raises(ModelDownloadError) as error:
        download_models(tmp_path, parts=["vae"], manifest=manifest_for(hub), env=env_for(hub))
    message = str(error.value)
    assert "qwen_image_vae.safetensors: sha256 " in message
    assert "does not match the " + "0" * 64 + " the server advertised; the file was discarded" in message
    assert "\n" not in message
    assert not list(tmp_path.rglob("*.safetensors*"))


def test_a_wrong_pinned_sha256_is_refused(hub: FileServer, tmp_path: Path) -> None:
    manifest = [
        dataclasses.replace(s, sha256="f" * 64) if s.kind == "t5_tokenizer" else s for s in manifest_for(hub)
    ]
    with pytest.raises(
        ModelDownloadError, match=r"t5/tokenizer.json: sha256 \w+ does not match the pinned f{64}"
    ):
        download_models(tmp_path, parts=["tokenizers"], manifest=manifest, env=env_for(hub))
    assert not (tmp_path / "tokenizers" / "t5").exists() or not list(
        (tmp_path / "tokenizers" / "t5").iterdir()
    )


def test_a_vae_served_as_the_dit_is_refused(hub: FileServer, tiny_files: TinyFiles, tmp_path: Path) -> None:
    vae = tiny_files.vae.read_bytes()
    hub.serve_like_the_hub(HUB_FILES["dit"], vae, etag=sha256(vae))
    with pytest.raises(ModelDownloadError) as error:
        download_models(tmp_path, parts=["dit"], manifest=manifest_for(hub), env=env_for(hub))
    assert str(error.value) == (
        f"{hub.base}{HUB_FILES['dit']}: it holds a Qwen-Image VAE, not an Anima DiT; the file was discarded"
    )
    assert not list(tmp_path.rglob("*.safetensors*"))


def test_a_text_file_served_as_a_tokenizer_is_refused(hub: FileServer, tmp_path: Path) -> None:
    page = b"<html>rate limited</html>"
    hub.files["/t5/tokenizer.json"] = page
    manifest = [
        dataclasses.replace(s, sha256=sha256(page), size=None) if s.kind == "t5_tokenizer" else s
        for s in manifest_for(hub)
    ]
    with pytest.raises(
        ModelDownloadError, match=r"t5/tokenizer.json: not a tokenizer.json file \(not JSON\)"
    ):
        download_models(tmp_path, parts=["tokenizers"], manifest=manifest, env=env_for(hub))


def test_http_errors_and_refused_connections_are_one_line(hub: FileServer, tmp_path: Path) -> None:
    del hub.redirects[HUB_FILES["vae"]]
    with pytest.raises(ModelDownloadError, match=r"qwen_image_vae.safetensors: HTTP 404 Not Found$"):
        download_models(tmp_path, parts=["vae"], manifest=manifest_for(hub), env=env_for(hub))
    hub.status[HUB_FILES["vae"]] = 401
    with pytest.raises(ModelDownloadError, match=r"HTTP 401 .*; the repository may need .*: set HF_TOKEN$"):
        download_models(tmp_path, parts=["vae"], manifest=manifest_for(hub), env=env_for(hub))
    refused = {"HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}
    with pytest.raises(
        ModelDownloadError, match=r"qwen_image_vae.safetensors: cannot connect: .*refused"
    ) as error:
        download_models(tmp_path, parts=["vae"], manifest=manifest_for(hub), env=refused)
    assert "\n" not in str(error.value)


def test_the_token_goes_to_the_hub_only(hub: FileServer, tmp_path: Path) -> None:
    download_models(
        tmp_path, parts=["vae", "tokenizers"], manifest=manifest_for(hub), env=env_for(hub, HF_TOKEN="t0k")
    )
    sent = {request.path: request.authorization for request in hub.requests}
    assert {request.method for request in hub.requests} == {"HEAD", "GET"}
    assert sent[HUB_FILES["vae"]] == "Bearer t0k"
    assert sent[QWEN_TOKENIZER] == "Bearer t0k"
    assert sent["/t5/tokenizer.json"] is None  # not a hub file
    cdn = [request for request in hub.requests if request.path.startswith("/cdn/")]
    assert cdn and all(request.authorization is None for request in cdn)  # the CDN is another host


def test_the_manifest_lists_the_official_files() -> None:
    manifest = load_model_manifest()
    urls = {source.target: source.resolve() for source in manifest}
    base = "https://huggingface.co/circlestone-labs/Anima/resolve/main/split_files"
    assert urls["diffusion_models/anima-base-v1.0.safetensors"] == (
        f"{base}/diffusion_models/anima-base-v1.0.safetensors"
    )
    assert (
        urls["text_encoders/qwen_3_06b_base.safetensors"]
        == f"{base}/text_encoders/qwen_3_06b_base.safetensors"
    )
    assert urls["vae/qwen_image_vae.safetensors"] == f"{base}/vae/qwen_image_vae.safetensors"
    assert all(source.licence and source.origin for source in manifest)
    assert [s.part for s in select_sources(manifest)] == [
        "dit",
        "text-encoder",
        "vae",
        "tokenizers",
        "tokenizers",
    ]


def test_tokenizer_pins_match_the_published_files(real_data: RealData) -> None:
    # The local copies are byte-identical to the official files the manifest pins.
    pins = {source.target: source for source in load_model_manifest() if source.part == "tokenizers"}
    root = real_data("tokenizers/qwen3/tokenizer.json", "tokenizers/t5/tokenizer.json")
    for relative in ("qwen3/tokenizer.json", "t5/tokenizer.json"):
        data = (root / "tokenizers" / relative).read_bytes()
        pin = pins[f"tokenizers/{relative}"]
        assert (pin.sha256, pin.size) == (sha256(data), len(data))
        assert check_content(root / "tokenizers" / relative, pin.kind) is None


def test_endpoint_and_token_come_from_the_environment() -> None:
    [dit] = [s for s in load_model_manifest() if s.part == "dit"]
    assert dit.resolve(hub_endpoint({"HF_ENDPOINT": "https://hf-mirror.com/"})).startswith(
        "https://hf-mirror.com/circlestone-labs/Anima/resolve/main/split_files/"
    )
    assert hub_endpoint({}) == "https://huggingface.co"
    assert hub_token({"HF_TOKEN": " abc "}) == "abc"
    assert hub_token({"HF_TOKEN": ""}) is None


def test_unknown_variants_and_parts_are_refused() -> None:
    manifest = load_model_manifest()
    with pytest.raises(ConfigError, match=r"no download is known for the turbo DiT; .* pass --dit"):
        select_sources(manifest, variant="turbo")
    assert [s.part for s in select_sources(manifest, variant="turbo", parts=["vae"])] == ["vae"]
    with pytest.raises(ConfigError, match="unknown part 'unet'"):
        select_sources(manifest, parts=["unet"])


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"part": "dit", "target": "a", "kind": "dit"}, "give either `url` or `repo` and `path`"),
        ({"part": "dit", "target": "../a", "kind": "dit", "url": "https://x/a"}, "relative path inside"),
        ({"part": "dit", "target": "a", "kind": "dit", "url": "ftp://x/a"}, "must be http"),
        ({"part": "dit", "target": "a", "kind": "lora", "url": "https://x/a"}, "unknown kind"),
        ({"part": "dit", "target": "a", "kind": "dit", "url": "https://x/a", "sha256": "AB"}, "64 lowercase"),
        ({"part": "dit", "target": "a", "kind": "dit", "url": "https://x/a"}, "needs its `sha256` pinned"),
    ],
)
def test_malformed_manifest_entries_are_refused(entry: dict[str, str], message: str, tmp_path: Path) -> None:
    manifest = tmp_path / "models.toml"
    manifest.write_text("[[file]]\n" + "".join(f'{key} = "{value}"\n' for key, value in entry.items()))
    with pytest.raises(ConfigError, match=message):
        load_model_manifest(manifest)
