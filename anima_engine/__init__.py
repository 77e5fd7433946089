"""PyTorch inference engine for the Anima text-to-image model (needs the `engine` extra).

Example (needs the model files)::

    from anima_engine import generate, load_pipeline, save_png

    pipe = load_pipeline(model_dir="models/anima", tokenizer_dir="models/anima/tokenizers")
    for result in generate(pipe, "1girl, (red hair:1.2), smile", seed=1, batch=2):
        save_png(result.image, result.record, Path("out"))
"""

from anima_engine.config import PRESETS
from anima_engine.errors import AnimaEngineError, CheckpointError, ConfigError, ModelDownloadError
from anima_engine.images import GenerationRecord, read_png_metadata, save_png
from anima_engine.loading import load_dit, load_text_encoder
from anima_engine.locate import ModelNotFoundError
from anima_engine.model_download import download_models
from anima_engine.options import SamplingOptions, variant_options
from anima_engine.pipeline import GeneratedImage, Pipeline, generate, generate_images, load_pipeline
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
    "ModelDownloadError",
    "ModelNotFoundError",
    "Pipeline",
    "SamplingOptions",
    "download_models",
    "generate",
    "generate_images",
    "load_dit",
    "load_pipeline",
    "load_text_encoder",
    "read_png_metadata",
    "save_png",
    "variant_options",
]
