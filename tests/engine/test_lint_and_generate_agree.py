"""The linter and `anima generate` agree: LoRA and tokenizer places (`places.py`), variant settings."""

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from anima_engine._tiny import TinyFiles
from anima_engine.images import read_png_metadata
from anima_engine.loading import load_dit
from anima_engine.locate import locate_tokenizers
from anima_engine.lora import LoraTargets
from anima_engine.options import variant_options
from anima_prompt.cli import cli
from anima_prompt.lint import LintConfig, LintSettings, lint
from anima_prompt.variants import VARIANTS, Variant
from tests.support.lora_files import tiny_lora, write_lora


@pytest.fixture
def home_comfyui_lora(tiny_files: TinyFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`~/ComfyUI/models/loras/style.safetensors` in a home folder of its own, and nothing else configured."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    model = load_dit(tiny_files.dit)
    path = tmp_path / "home" / "ComfyUI" / "models" / "loras" / "style.safetensors"
    return write_lora(path, tiny_lora(LoraTargets(dit=model.dit, adapter=model.adapter), seed=4))


def test_a_lora_in_the_home_comfyui_is_found_by_both(
    home_comfyui_lora: Path, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    runner = CliRunner()
    lint = ["lint", "--front-end", "anima", "--select", "ANM-LORA-001", "--format", "json"]
    found = runner.invoke(cli, [*lint, "safe, 1girl, <lora:style:0.5>"])
    assert found.exit_code == 0, found.output
    missing = runner.invoke(cli, [*lint, "safe, 1girl, <lora:stlye:0.5>"])
    assert missing.exit_code == 1 and "ANM-LORA-001" in missing.stdout

    model_dir = tiny_files.dit.parent.parent
    args = ["generate", "safe, 1girl, <lora:style:0.5>", "--model-dir", str(model_dir), "--steps", "1"]
    made = runner.invoke(cli, [*args, "-W", "32", "-H", "32", "--cfg", "1", "-o", str(tmp_path / "out")])
    assert made.exit_code == 0, made.output
    [lora] = read_png_metadata(Path(made.stdout.strip())).loras
    assert (lora.name, lora.weight) == (home_comfyui_lora.name, 0.5)


@pytest.mark.parametrize("setting", ["option", "ANIMA_TOKENIZERS", "ANIMA_MODEL_DIR", "user data", "nowhere"])
def test_tokenizers_are_found_in_the_same_folder(tiny_files: TinyFiles, tmp_path: Path, setting: str) -> None:
    tokenizers = tiny_files.tokenizer_dir  # <model dir>/tokenizers
    env: dict[str, str] = {}
    option = None
    data_dir = tmp_path / "data"
    if setting == "option":
        option = tokenizers
    elif setting == "ANIMA_TOKENIZERS":
        env["ANIMA_TOKENIZERS"] = str(tokenizers)
    elif setting == "ANIMA_MODEL_DIR":
        env["ANIMA_MODEL_DIR"] = str(tokenizers.parent)
    elif setting == "user data":
        data_dir = tokenizers.parent
    linted = LintConfig(tokenizers=None if option is None else str(option)).tokenizer_dir(
        env, data_dir=data_dir
    )
    if setting == "nowhere":
        assert linted is None
        with pytest.raises(FileNotFoundError):
            locate_tokenizers(env=env, data_dir=data_dir)
    else:
        assert linted == locate_tokenizers(option, env=env, data_dir=data_dir) == tokenizers


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_generate_defaults_are_what_the_linter_recommends(variant: str) -> None:
    options = variant_options(variant)
    settings = LintSettings(
        cfg=options.cfg,
        steps=options.steps,
        width=options.width,
        height=options.height,
        sampler=options.sampler,
        variant=Variant(variant),
    )
    config = LintConfig(select=("ANM-CFG", "ANM-STP", "ANM-RES"))
    assert lint("safe, 1girl, solo", settings=settings, config=config) == ()
    off = dataclasses.replace(settings, steps=options.steps + 25, cfg=options.cfg + 3)
    assert {finding.code for finding in lint("safe, 1girl, solo", settings=off, config=config)}


def test_the_name_table_lists_the_engines_samplers_and_schedulers() -> None:
    from anima_engine.samplers import SAMPLERS
    from anima_engine.schedules import SCHEDULES
    from anima_prompt.sampler_names import name_tables

    tables = name_tables()
    assert tables.engine_samplers == set(SAMPLERS)
    assert tables.engine_schedulers == set(SCHEDULES)


def test_prompt_file_keys_are_read_or_knowingly_skipped_by_the_linter() -> None:
    from anima_engine.prompt_files import RECORD_KEYS, SETTINGS
    from anima_prompt.lint.inputs import GENERATION_ONLY, GENERATION_ONLY_SETTINGS
    from anima_prompt.lint.inputs import RECORD_KEYS as LINT_RECORD_KEYS
    from anima_prompt.lint.settings import SETTING_KEYS

    assert set(RECORD_KEYS) <= LINT_RECORD_KEYS | GENERATION_ONLY
    assert set(SETTINGS) | {"loras"} <= SETTING_KEYS | GENERATION_ONLY_SETTINGS
