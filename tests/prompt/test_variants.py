"""The model card's settings per variant, read from `data/variants.toml`."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from anima_prompt import variants
from anima_prompt.errors import AnimaPromptError
from anima_prompt.variants import VARIANTS, Variant, recommended


def test_every_variant_has_its_settings() -> None:
    assert VARIANTS == ("base", "aesthetic", "turbo")
    assert recommended(Variant.TURBO) == recommended("turbo")
    assert (recommended("turbo").cfg, recommended("turbo").steps_range) == (1.0, (8, 12))
    for name in VARIANTS:
        card = recommended(name)
        assert card.cfg_range[0] <= card.cfg <= card.cfg_range[1]
        assert card.steps_range[0] <= card.steps <= card.steps_range[1]
    with pytest.raises(ValueError):
        recommended("lightning")


@pytest.fixture
def variants_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "variants.toml"
    monkeypatch.setattr(variants, "data_path", lambda name: tmp_path / name)
    variants._table.cache_clear()
    yield path
    variants._table.cache_clear()


GOOD = 'cfg = 4.0\ncfg-range = [4, 6]\nsteps = 30\nsteps-range = [30, 50]\nsampler = "er_sde"\n'


@pytest.mark.parametrize(
    ("turbo", "message"),
    [
        (None, "no [turbo] table"),
        (GOOD.replace("steps = 30\n", ""), "no 'steps' setting"),
        (GOOD.replace("steps = 30", "steps = 60"), "the defaults must lie in their ranges"),
        (GOOD.replace("[4, 6]", "[6, 4]"), "expected low <= high"),
        (GOOD.replace("[30, 50]", "[30.5, 50]"), "steps-range must be whole numbers"),
        (GOOD.replace('"er_sde"', "1"), "cfg, steps and sampler must be"),
    ],
)
def test_a_malformed_file_is_one_clear_error(variants_file: Path, turbo: str | None, message: str) -> None:
    text = f"[base]\n{GOOD}\n[aesthetic]\n{GOOD}\n" + ("" if turbo is None else f"[turbo]\n{turbo}")
    variants_file.write_text(text)
    expected = r"variants\.toml: malformed variant settings: .*" + re.escape(message)
    with pytest.raises(AnimaPromptError, match=expected):
        recommended("base")


def test_an_unreadable_file_is_one_clear_error(variants_file: Path) -> None:
    variants_file.write_text("[base\n")
    with pytest.raises(AnimaPromptError, match=r"variants\.toml: cannot read the variant settings"):
        recommended("base")
