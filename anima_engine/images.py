"""Decoded tensors to PIL images, and PNGs that carry everything needed to reproduce them.

Each PNG gets two text chunks: `parameters`, the A1111-style string that image hosts and other UIs
read, and `anima`, a JSON `GenerationRecord` that `read_png_metadata` turns back into settings.
A PNG is written to a temporary file in its folder and linked into place under its name only when
complete, so no partial image is ever visible and an existing file is never overwritten.
"""

import dataclasses
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image, PngImagePlugin
from torch import Tensor

from anima_engine.errors import AnimaEngineError, ConfigError
from anima_engine.noise import NOISE_CONVENTIONS
from anima_engine.samplers import SAMPLERS
from anima_engine.schedules import SCHEDULES
from anima_prompt.sampler_names import sampler_label, scheduler_label
from anima_prompt.variants import VARIANTS
from anima_prompt.version import toolkit_version

METADATA_KEY = "anima"
PARAMETERS_KEY = "parameters"
RECORD_FORMAT = 2
READABLE_FORMATS = (1, 2)
"""Format 1 records (before `encoded`) hold the encoded prompt in `prompt`."""
FILE_PATTERN = re.compile(r"^(?P<prefix>.+)_(?P<number>\d{5,})_seed\d+\.png$")


class MetadataError(AnimaEngineError, ValueError):
    """A PNG has no Anima generation record, or the record is malformed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelFile:
    """One weights file: its role (`dit`, `text_encoder`, `vae`, `lora`), file name and sha256."""

    role: str
    name: str
    sha256: str | None = None
    weight: float | None = None  # the strength, for LoRAs

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError(f"model file of role {self.role!r} needs a name")
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ConfigError(f"sha256 of {self.name!r} must be 64 lowercase hex digits, got {self.sha256!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationRecord:
    """Every setting needed to reproduce one image; validated on construction.

    Attributes:
        prompt, negative: the prompts as written (LoRA tags included).
        encoded, encoded_negative: the texts the text encoders read (LoRA tags taken out, normalised when
            `normalized`); None in records of format 1, which stored only the encoded text, in `prompt`.
        normalized: whether the prompts were normalised before encoding.
    """

    prompt: str
    negative: str = ""
    encoded: str | None = None
    encoded_negative: str | None = None
    normalized: bool = False
    seed: int
    sampler: str
    scheduler: str
    steps: int
    cfg: float
    width: int
    height: int
    variant: str = "base"
    strength: float = 1.0  # img2img denoising strength (diffusers); 1.0 for txt2img
    denoise: float = 1.0  # img2img denoise (ComfyUI KSampler); 1.0 for txt2img
    noise: str = "anima"  # records written before the ComfyUI convention existed are "anima"
    batch: int = 1  # comfyui noise: the image is element `batch_index` of a batch drawn from `seed`
    batch_index: int = 0
    models: tuple[ModelFile, ...] = ()
    loras: tuple[ModelFile, ...] = ()
    version: str = field(default_factory=toolkit_version)

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 16 or value % 16:
                raise ConfigError(f"`{name}` must be a positive multiple of 16, got {value!r}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ConfigError(f"`steps` must be an integer >= 1, got {self.steps!r}")
        if not self.cfg >= 0:
            raise ConfigError(f"`cfg` must be >= 0, got {self.cfg!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**64:
            raise ConfigError(f"`seed` must be an integer in [0, 2**64), got {self.seed!r}")
        for name in ("strength", "denoise"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"`{name}` must be in (0, 1], got {getattr(self, name)!r}")
        if self.noise not in NOISE_CONVENTIONS:
            expected = ", ".join(NOISE_CONVENTIONS)
            raise ConfigError(f"unknown noise convention {self.noise!r}; expected one of {expected}")
        batch_ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (self.batch, self.batch_index))
        if not batch_ok or not 0 <= self.batch_index < self.batch:
            raise ConfigError(f"`batch_index` {self.batch_index!r} must be in [0, batch {self.batch!r})")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler {self.sampler!r}; expected one of {', '.join(SAMPLERS)}")
        if self.scheduler not in SCHEDULES:
            raise ConfigError(f"unknown scheduler {self.scheduler!r}; expected one of {', '.join(SCHEDULES)}")
        if self.variant not in VARIANTS:
            raise ConfigError(f"unknown variant {self.variant!r}; expected one of {', '.join(VARIANTS)}")

    def to_json(self) -> str:
        """The record as the JSON stored in the PNG's `anima` chunk."""
        return json.dumps({"format": RECORD_FORMAT, **dataclasses.asdict(self)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "GenerationRecord":
        """Parse `to_json` output; raises `MetadataError` naming what is wrong."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MetadataError(f"the {METADATA_KEY!r} record is not JSON: {exc}") from None
        if not isinstance(data, dict) or data.pop("format", None) not in READABLE_FORMATS:
            formats = " or ".join(str(number) for number in READABLE_FORMATS)
            raise MetadataError(f"the {METADATA_KEY!r} record is not format {formats}")
        try:
            data["models"] = tuple(ModelFile(**m) for m in data.get("models", ()))
            data["loras"] = tuple(ModelFile(**m) for m in data.get("loras", ()))
            return cls(**data)
        except (TypeError, ConfigError) as exc:
            raise MetadataError(f"the {METADATA_KEY!r} record is invalid: {exc}") from None


def _quote(value: str) -> str:
    # A1111 quotes values that would break its "key: value, key: value" line.
    if any(ch in value for ch in ',:\n"'):
        return json.dumps(value, ensure_ascii=False)
    return value


def _number(value: float) -> str:
    return f"{value:g}"


def parameters_text(record: GenerationRecord) -> str:
    """The A1111-style `parameters` string: prompt, negative prompt line, then the settings line."""
    settings: list[tuple[str, str]] = [
        ("Steps", str(record.steps)),
        ("Sampler", sampler_label(record.sampler)),
        ("Schedule type", scheduler_label(record.scheduler)),
        ("CFG scale", _number(record.cfg)),
        ("Seed", str(record.seed)),
        ("Size", f"{record.width}x{record.height}"),
    ]
    dit = next((m for m in record.models if m.role == "dit"), None)
    if dit is not None:
        if dit.sha256:
            settings.append(("Model hash", dit.sha256[:10]))
        settings.append(("Model", Path(dit.name).stem))
    if record.strength < 1:
        settings.append(("Denoising strength", _number(record.strength)))
    if record.denoise < 1:
        settings.append(("Denoise", _number(record.denoise)))
    settings.append(("Noise", record.noise))
    if record.batch > 1:
        settings.append(("Batch size", str(record.batch)))
        settings.append(("Batch pos", str(record.batch_index)))
    if record.loras:
        settings.append(
            ("Lora hashes", ", ".join(f"{Path(m.name).stem}: {(m.sha256 or '')[:12]}" for m in record.loras))
        )
    settings.append(("Version", f"anima-toolkit {record.version}"))
    lines = [record.prompt]
    if record.negative:
        lines.append(f"Negative prompt: {record.negative}")
    lines.append(", ".join(f"{key}: {_quote(value)}" for key, value in settings))
    return "\n".join(lines)


def to_pil(images: Tensor) -> list[Image.Image]:
    """(B, 3, H, W) in [-1, 1] to RGB images; values are clamped and rounded to the nearest level."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ConfigError(f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
    pixels = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    array = pixels.permute(0, 2, 3, 1).cpu().numpy()  # (B, H, W, 3)
    return [Image.fromarray(a, mode="RGB") for a in array]


def from_pil(image: Image.Image, width: int, height: int) -> Tensor:
    """An image as a (1, 3, height, width) float32 tensor in [-1, 1], resized (Lanczos) if its size differs.

    Transparent pixels are composited onto white first, so an RGBA input does not turn black.
    """
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    image = image.convert("RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    pixels = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).reshape(height, width, 3)
    return (pixels.permute(2, 0, 1).float() / 127.5 - 1.0).unsqueeze(0)


def png_info(record: GenerationRecord) -> PngImagePlugin.PngInfo:
    """The two text chunks; non-Latin-1 text (e.g. Japanese prompts) goes into iTXt automatically."""
    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMETERS_KEY, parameters_text(record))
    info.add_text(METADATA_KEY, record.to_json())
    return info


def png_bytes(image: Image.Image, record: GenerationRecord) -> bytes:
    """The PNG file of `image` with its metadata chunks; the same image and record give the same bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=png_info(record))
    return buffer.getvalue()


def write_new_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, never replacing a file: temporary file, then a hard link.

    Raises:
        FileExistsError: `path` exists (nothing is written).
        OSError: the folder is not writable, the disk is full, ...; no file is left behind.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails if `path` exists: no race with another writer
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: check, then rename
            if path.exists():
                raise FileExistsError(path) from None
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _next_number(directory: Path, prefix: str) -> int:
    numbers = [
        int(m["number"])
        for p in directory.glob(f"{prefix}_*.png")
        if (m := FILE_PATTERN.match(p.name)) and m["prefix"] == prefix
    ]
    return max(numbers, default=0) + 1


def save_png(image: Image.Image, record: GenerationRecord, directory: Path, *, prefix: str = "anima") -> Path:
    """Write `image` as `<prefix>_<NNNNN>_seed<seed>.png` in `directory`, never replacing a file.

    The number is one past the highest already there; if another process takes it first, the next
    number is tried. Returns the path written.
    """
    return save_numbered(png_bytes(image, record), record.seed, directory, prefix=prefix)


def save_numbered(data: bytes, seed: int, directory: Path, *, prefix: str = "anima") -> Path:
    """Write PNG bytes as `<prefix>_<NNNNN>_seed<seed>.png` in `directory` (created if missing), as
    `save_png` does."""
    directory.mkdir(parents=True, exist_ok=True)
    number = _next_number(directory, prefix)
    while True:
        path = directory / f"{prefix}_{number:05d}_seed{seed}.png"
        try:
            write_new_file(path, data)
        except FileExistsError:
            number += 1
            continue
        return path


def check_output_folder(directory: Path) -> None:
    """Check that images can be written into `directory` (created later if missing), before any work.

    Raises:
        ConfigError: a part of the path is a file, or the folder (or the one it would be created in) is
            not writable.
    """
    folder = directory
    while not folder.exists():
        if folder.parent == folder:
            break
        folder = folder.parent
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"output folder {directory}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        what = "is not writable" if folder == directory else f"cannot be created in {folder} (not writable)"
        raise ConfigError(f"output folder {directory} {what}")


def read_png_metadata(path: Path) -> GenerationRecord:
    """The `GenerationRecord` stored in a PNG written by `save_png`."""
    with Image.open(path) as image:
        text = getattr(image, "text", {}).get(METADATA_KEY)
    if text is None:
        raise MetadataError(f"{path}: no {METADATA_KEY!r} generation record in this image")
    try:
        return GenerationRecord.from_json(text)
    except MetadataError as exc:
        raise MetadataError(f"{path}: {exc}") from None
