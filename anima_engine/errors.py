"""Exceptions raised by anima_engine. Every one derives from `AnimaEngineError`."""


class AnimaEngineError(Exception):
    """Root of every error raised by the inference engine."""


class ConfigError(AnimaEngineError, ValueError):
    """A model configuration or a generation option is invalid."""


class CheckpointError(AnimaEngineError, RuntimeError):
    """A weights file is missing, unreadable, of the wrong kind, or does not match the model."""
