"""Full-size random weights in the three official file layouts, written once into a folder and reused.

The files have the released names, key layouts, shapes and dtype (bf16), so every loader reads them as it
reads the real ones: `diffusion_models/anima-base-v1.0.safetensors` (DiT under `net.`, adapter under
`net.llm_adapter.`), `text_encoders/qwen_3_06b_base.safetensors` (Qwen3 under `model.`) and
`vae/qwen_image_vae.safetensors` (Wan 2.1 names, 3-D kernels). Tensors are streamed to the file one at a
time, so writing needs little memory. Values are seeded normals scaled by 1/√fan-in (norm gains around 1),
so activations stay finite through the random networks.

    python benchmarks/full_size.py DIR      # writes the files (skips files already there)
"""

import argparse
import json
import math
import struct
import sys
from collections.abc import Iterable
from pathlib import Path

import torch

from anima_engine.adapter import LLMAdapter
from anima_engine.config import PRESETS
from anima_engine.dit import DiT
from anima_engine.locate import DIT_FILE, TEXT_ENCODER_FILE, VAE_FILE
from anima_engine.qwen3 import Qwen3
from anima_engine.vae import VAE
from anima_engine.vae_loading import checkpoint_layout

DTYPE = torch.bfloat16
DTYPE_NAME = "BF16"
SUBFOLDERS = {"dit": "diffusion_models", "text_encoder": "text_encoders", "vae": "vae"}
FILE_NAMES = {"dit": DIT_FILE, "text_encoder": TEXT_ENCODER_FILE, "vae": VAE_FILE}


def dit_shapes() -> dict[str, tuple[int, ...]]:
    spec = PRESETS["anima"]
    with torch.device("meta"):
        dit, adapter = DiT(spec.dit), LLMAdapter(spec.adapter)
    shapes = {f"net.{key}": tuple(value.shape) for key, value in dit.state_dict().items()}
    shapes |= {f"net.llm_adapter.{key}": tuple(value.shape) for key, value in adapter.state_dict().items()}
    return shapes


def text_encoder_shapes() -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        model = Qwen3(PRESETS["anima"].text_encoder)
    return {f"model.{key}": tuple(value.shape) for key, value in model.state_dict().items()}


def vae_shapes() -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        layout = checkpoint_layout(VAE(PRESETS["anima"].vae))
    return dict(layout.file_shapes())


SHAPES = {"dit": dit_shapes, "text_encoder": text_encoder_shapes, "vae": vae_shapes}


def random_tensor(name: str, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    noise = torch.randn(shape, generator=generator)
    if len(shape) >= 2:
        return (noise / math.sqrt(math.prod(shape[1:]))).to(DTYPE)
    if "norm" in name or name.endswith(("gamma", "layernorm.weight")):
        return (1 + 0.1 * noise).to(DTYPE)
    return (0.02 * noise).to(DTYPE)


def write_safetensors(
    path: Path, shapes: dict[str, tuple[int, ...]], tensors: Iterable[torch.Tensor]
) -> None:
    """Stream `tensors` (in the order of `shapes`) into a safetensors file; renamed into place at the end."""
    header: dict[str, object] = {}
    offset = 0
    for name, shape in shapes.items():
        size = math.prod(shape) * DTYPE.itemsize
        header[name] = {"dtype": DTYPE_NAME, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    partial = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(partial, "wb") as file:
        file.write(struct.pack("<Q", len(encoded)))
        file.write(encoded)
        for tensor in tensors:
            file.write(tensor.contiguous().view(torch.uint8).numpy().tobytes())
    partial.replace(path)


def write_full_size(directory: Path, *, seed: int = 0) -> dict[str, Path]:
    """Write (or reuse) the three files under `directory`; returns their paths by role."""
    paths = {}
    for number, (role, shapes_of) in enumerate(SHAPES.items()):
        path = directory / SUBFOLDERS[role] / FILE_NAMES[role]
        paths[role] = path
        if path.is_file():
            continue
        shapes = shapes_of()
        generator = torch.Generator().manual_seed(seed + number)
        print(f"writing {path} ({len(shapes)} tensors)", file=sys.stderr)
        write_safetensors(path, shapes, (random_tensor(n, s, generator) for n, s in shapes.items()))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    for role, path in write_full_size(args.directory).items():
        print(f"{role}: {path} ({path.stat().st_size / 1e9:.2f} GB)")


if __name__ == "__main__":
    main()
