"""PyTorch inference engine for the Anima text-to-image model (needs the `engine` extra)."""

from anima_engine.config import PRESETS
from anima_engine.errors import AnimaEngineError, CheckpointError, ConfigError
from anima_engine.loading import load_dit, load_text_encoder

__all__ = ["PRESETS", "AnimaEngineError", "CheckpointError", "ConfigError", "load_dit", "load_text_encoder"]
