"""Prompts that choose LoRAs: `<lora:name:0.8>` tags resolved to files, taken out of the text, and applied.

Consecutive prompts that name the same LoRAs share one run of `pipeline.generate_images` (the files are
read and merged once per run); the text encoder never sees the tags.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from anima_engine.errors import ConfigError
from anima_engine.lora import LoraChoice, load_choices
from anima_engine.options import SamplingOptions
from anima_engine.pipeline import GeneratedImage, Pipeline, generate_images, lora_targets
from anima_engine.samplers import StepCallback
from anima_prompt.loras import find_lora_tags, parse_lora_option, require_lora, strip_lora_tags


@dataclass(frozen=True, slots=True)
class PromptLoras:
    """A prompt with its LoRA tags taken out, and the LoRAs they chose (in the order written)."""

    text: str
    loras: tuple[LoraChoice, ...] = ()


def split_prompt(text: str, folders: Sequence[Path]) -> PromptLoras:
    """Resolve the prompt's `<lora:name:strength>` tags in `folders` and remove them from the text.

    Raises:
        LoraReferenceError: a tag's strength is unreadable or its file is not found.
    """
    tags = find_lora_tags(text)
    choices = tuple(LoraChoice(require_lora(tag.name, folders), tag.strength) for tag in tags)
    return PromptLoras(strip_lora_tags(text), choices)


def option_loras(values: Sequence[str], folders: Sequence[Path]) -> tuple[LoraChoice, ...]:
    """`--lora PATH[:STRENGTH]` values as choices; a value that is not a file is looked up as a name.

    Raises:
        LoraReferenceError: a file is not found.
    """
    parsed = [parse_lora_option(value) for value in values]
    return tuple(LoraChoice(require_lora(name, folders), strength) for name, strength in parsed)


def generate_with_loras(
    pipe: Pipeline,
    prompts: Sequence[PromptLoras],
    options: SamplingOptions,
    *,
    loras: Sequence[LoraChoice] = (),
    negative: str = "",
    init_image: Image.Image | None = None,
    callback: StepCallback | None = None,
    hash_files: bool = True,
) -> list[GeneratedImage]:
    """`generate_images` for prompts that may each choose LoRAs; `loras` apply to every prompt, first.

    Raises:
        ConfigError: the negative prompt holds a LoRA tag, or one file is chosen twice for a prompt.
        CheckpointError: a LoRA file is unreadable or does not fit the model (`LoraError`).
    """
    if find_lora_tags(negative):
        raise ConfigError("the negative prompt holds a LoRA tag; put LoRAs in the prompt or use --lora")
    results: list[GeneratedImage] = []
    for chosen, run in itertools.groupby(prompts, key=lambda prompt: prompt.loras):
        loaded = load_choices([*loras, *chosen], lora_targets(pipe), hash_files=hash_files)
        texts = [prompt.text for prompt in run]
        results += generate_images(
            pipe, texts, options, negative=negative, init_image=init_image, callback=callback, loras=loaded
        )
    return results
