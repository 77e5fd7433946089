"""The tiny model served the way the Hugging Face hub serves the official files (see the `hub` fixture)."""

import dataclasses
import hashlib

from anima_engine.model_manifest import ModelSource, load_model_manifest
from tests.support.fileserver import FileServer

SPLIT_FILES = "/circlestone-labs/Anima/resolve/main/split_files"
HUB_FILES = {
    "dit": f"{SPLIT_FILES}/diffusion_models/anima-base-v1.0.safetensors",
    "text-encoder": f"{SPLIT_FILES}/text_encoders/qwen_3_06b_base.safetensors",
    "vae": f"{SPLIT_FILES}/vae/qwen_image_vae.safetensors",
}
QWEN_TOKENIZER = "/Qwen/Qwen3-0.6B/resolve/c1899de289a04d12100db370d81485cdf75e47ca/tokenizer.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_for(server: FileServer) -> tuple[ModelSource, ...]:
    """The real manifest, with the tokenizer pins swapped for the tiny tokenizers the server holds."""
    changed = []
    for source in load_model_manifest():
        if source.kind == "qwen3_tokenizer":
            data = server.files[QWEN_TOKENIZER]
            source = dataclasses.replace(source, sha256=sha256(data), size=len(data))
        elif source.kind == "t5_tokenizer":
            data = server.files["/t5/tokenizer.json"]
            url = f"{server.base}/t5/tokenizer.json"
            source = dataclasses.replace(source, url=url, sha256=sha256(data), size=len(data))
        changed.append(source)
    return tuple(changed)


def env_for(server: FileServer, **extra: str) -> dict[str, str]:
    return {"HF_ENDPOINT": server.base + "/", **extra}
