"""PyTorch inference engine for the Anima text-to-image model (needs the `engine` extra).

Example (needs the model files)::

    from anima_engine import GenerationRequest, generate, load_pipeline, save_png

    pipe = load_pipeline(model_dir="models/anima", tokenizer_dir="models/anima/tokenizers")
    request = GenerationRequest(prompt="safe, 1girl, (red hair:1.2), smile", seed=1, batch=2)
    for result in generate(pipe, request):
        save_png(result.image, result.record, Path("out"))
"""

from anima_engine.config import PRESETS
from anima_engine.errors import (
    AnimaEngineError,
    CheckpointError,
    ConfigError,
    ModelDownloadError,
    PromptLintError,
)
from anima_engine.from_image import ImageRequest, request_from_png
from anima_engine.generation import GeneratedImage, generate
from anima_engine.images import GenerationRecord, read_png_metadata, save_png
from anima_engine.loading import load_dit, load_text_encoder
from anima_engine.locate import ModelNotFoundError
from anima_engine.model_download import download_models
from anima_engine.options import SamplingOptions, variant_options
from anima_engine.pipeline import Pipeline, load_pipeline
from anima_engine.request import GenerationRequest, PromptResources, prepare
from anima_engine.samplers import SAMPLERS
from anima_engine.schedules import SCHEDULES

__all__ = [
    "PRESETS",
    "SAMPLERS",
    "SCHEDULES",
    "AnimaEngineError",
    "CheckpointError",
    "ConfigError",
    "GeneratedImage",
    "GenerationRecord",
    "GenerationRequest",
    "ImageRequest",
    "ModelDownloadError",
    "ModelNotFoundError",
    "Pipeline",
    "PromptLintError",
    "PromptResources",
    "SamplingOptions",
    "download_models",
    "generate",
    "load_dit",
    "load_pipeline",
    "load_text_encoder",
    "prepare",
    "read_png_metadata",
    "request_from_png",
    "save_png",
    "variant_options",
]
