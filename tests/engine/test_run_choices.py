"""Pure decisions of a run: the compile policy, images per sampling call, devices, and reading weights."""

import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from anima_engine.errors import ConfigError
from anima_engine.images import GenerationRecord, write_new_file
from anima_engine.loading import check_device
from anima_engine.memory import MAX_IMAGES_PER_CALL, images_per_call
from anima_engine.speed import (
    COMPILE_MIN_IMAGES_COLD,
    COMPILE_MIN_IMAGES_WARM,
    EAGER,
    PLAIN,
    SpeedOptions,
    choose_speed,
    compiled_before,
)
from anima_engine.weights import read_header, read_to_device

CUDA = torch.device("cuda")


@pytest.mark.parametrize(
    ("choice", "images", "warm", "expected"),
    [
        ("never", 100, True, EAGER),
        ("always", 1, False, SpeedOptions()),
        ("auto", 1, True, EAGER),
        ("auto", COMPILE_MIN_IMAGES_WARM - 1, True, EAGER),
        ("auto", COMPILE_MIN_IMAGES_WARM, True, SpeedOptions()),
        ("auto", COMPILE_MIN_IMAGES_WARM, False, EAGER),
        ("auto", COMPILE_MIN_IMAGES_COLD, False, SpeedOptions()),
    ],
)
def test_compile_only_when_it_pays(choice: str, images: int, warm: bool, expected: SpeedOptions) -> None:
    assert choose_speed(choice, device=CUDA, images=images, cache_warm=warm) == expected


def test_off_cuda_the_forward_is_plain_and_fp8_is_refused() -> None:
    cpu = torch.device("cpu")
    assert choose_speed("always", device=cpu, images=100) == PLAIN
    with pytest.raises(ConfigError, match="fp8 needs a CUDA GPU"):
        choose_speed("auto", device=cpu, images=1, fp8=True)
    assert choose_speed("always", device=CUDA, images=1, fp8=True).fp8
    with pytest.raises(ConfigError, match="compile: got 'sometimes'"):
        choose_speed("sometimes", device=CUDA, images=1)


def test_a_finished_compile_is_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from anima_engine._tiny import TINY_DIT
    from anima_engine.dit import DiT
    from anima_engine.speed import accelerate

    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **options: None)  # what is compiled is not
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))  # the point here, and CPU compiles are slow
    assert not compiled_before(tmp_path)
    dit = DiT(TINY_DIT).eval()
    velocity = accelerate(
        dit, SpeedOptions(attention="default", compile="blocks", cuda_graph=False, cache_dir=tmp_path)
    )
    with torch.no_grad():
        velocity(
            torch.randn(1, 16, 1, 4, 4), torch.tensor([0.5]), torch.randn(1, 8, TINY_DIT.context_channels)
        )
    assert compiled_before(tmp_path)


@pytest.mark.parametrize(
    ("size", "guided", "free", "expected"),
    [
        (1024, True, None, 1),  # one image with CFG already fills an H200
        (1024, True, 80 << 30, 1),
        (512, True, None, 2),
        (512, False, 80 << 30, 4),
        (256, True, 80 << 30, MAX_IMAGES_PER_CALL),
        (512, False, 300 << 20, 2),  # 100 MiB left after the decode's 200 MiB; 48 MiB per image
        (1024, False, 1 << 30, 1),
        (2048, True, 1 << 30, 1),  # never less than one
    ],
)
def test_images_per_call(size: int, guided: bool, free: int | None, expected: int) -> None:
    assert images_per_call(width=size, height=size, guided=guided, free_bytes=free) == expected


def test_devices_are_checked_without_initialising_cuda() -> None:
    assert check_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="'banana' is not a torch device"):
        check_device("banana")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available on this machine"):
            check_device("cuda:0")


@pytest.mark.parametrize("part_bytes", [1 << 20, 40, 7])  # one reader; parts splitting tensors
def test_streamed_reading_gives_every_tensor_in_its_stored_dtype(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part_bytes: int
) -> None:
    tensors = {
        "a": torch.randn(3, 5).to(torch.bfloat16),
        "b": torch.arange(7, dtype=torch.int64),
        "c": torch.randn(2, 2, 2),
        "odd": torch.ones(3, dtype=torch.uint8),
        "after_odd": torch.randn(4).to(torch.float16),
    }
    path = tmp_path / "w.safetensors"
    save_file(tensors, str(path))
    monkeypatch.setattr("anima_engine.weights.STAGING_BYTES", 16)  # many chunks, both staging buffers
    monkeypatch.setattr("anima_engine.weights.PART_BYTES", part_bytes)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    streamed = read_to_device(path, read_header(path), torch.device("cpu"))
    expected = load_file(str(path))
    assert set(streamed) == set(expected)
    for name, value in expected.items():
        assert streamed[name].dtype == value.dtype and torch.equal(streamed[name], value)


def test_new_files_never_replace_and_leave_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    write_new_file(target, b"first")
    with pytest.raises(FileExistsError):
        write_new_file(target, b"second")
    assert target.read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["a.png"]
    with pytest.raises(OSError):
        write_new_file(tmp_path / "missing" / "b.png", b"x")
    assert os.listdir(tmp_path) == ["a.png"]


def test_records_of_format_1_still_read() -> None:
    text = (
        '{"format": 1, "prompt": "safe, cat", "negative": "", "seed": 1, "sampler": "euler", '
        '"scheduler": "simple", "steps": 2, "cfg": 1.0, "width": 32, "height": 32}'
    )
    record = GenerationRecord.from_json(text)
    assert (record.prompt, record.encoded, record.normalized) == ("safe, cat", None, False)
