"""PyTorch inference engine for the Anima text-to-image model (needs the `engine` extra)."""

from anima_engine.errors import AnimaEngineError, CheckpointError, ConfigError

__all__ = ["AnimaEngineError", "CheckpointError", "ConfigError"]
