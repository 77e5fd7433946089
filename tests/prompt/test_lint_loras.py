"""LoRAs in the linter: missing LoRA files (ANM-LORA-001), Turbo LoRA settings (ANM-CFG-003), `<lora:...>`
per front end (ANM-SYN-003), LoRA settings and options, and the `anima lint` LoRA options."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from anima_prompt.cli import cli
from anima_prompt.errors import LintConfigError, LintInputError
from anima_prompt.lint import LintConfig, Linter, LintSettings, Severity
from anima_prompt.lint.config import config_from_mapping, load_config
from anima_prompt.lint.findings import Finding, Target
from anima_prompt.lint.lorafiles import LoraFiles


@pytest.fixture
def loras(tmp_path: Path) -> Path:
    """A LoRA folder with `ink.safetensors` and `styles/pencil.safetensors`."""
    folder = tmp_path / "loras"
    (folder / "styles").mkdir(parents=True)
    (folder / "ink.safetensors").write_bytes(b"x")
    (folder / "styles" / "pencil.safetensors").write_bytes(b"x")
    return folder


def findings(
    prompt: str,
    code: str,
    *,
    negative: str | None = None,
    settings: dict[str, object] | None = None,
    **config: object,
) -> list[Finding]:
    linter = Linter(config=LintConfig(**config))  # type: ignore[arg-type]
    found = linter.lint(
        prompt, negative=negative, settings=LintSettings.from_mapping(settings) if settings else None
    )
    return [finding for finding in found if finding.code == code]


# ANM-LORA-001 ---------------------------------------------------------------------------------------------


def test_lora_in_a_folder_or_sub_folder_is_found(loras: Path) -> None:
    dirs = (str(loras),)
    assert findings("safe, 1girl, <lora:ink:0.8>, <lora:pencil>", "ANM-LORA-001", lora_dirs=dirs) == []
    assert (
        findings("safe, <lora:styles/pencil:1>, <lora:ink.safetensors>", "ANM-LORA-001", lora_dirs=dirs) == []
    )


def test_missing_lora_is_reported_at_its_tag(loras: Path) -> None:
    (finding,) = findings("safe, 1girl, <lora:inkk:0.8>", "ANM-LORA-001", lora_dirs=(str(loras),))
    assert finding.message == f"LoRA `inkk` not found in {loras}"
    assert (finding.span.start, finding.span.end) == (13, 28)  # type: ignore[union-attr]
    assert finding.severity is Severity.WARNING


def test_missing_lora_inside_a_weight_group_and_a_sentence(loras: Path) -> None:
    prompt = "safe, (<lora:gone:1>, smile:1.2), A girl waves <lora:also_gone:1> at the sea."
    found = findings(prompt, "ANM-LORA-001", lora_dirs=(str(loras),))
    assert [finding.message.split("`")[1] for finding in found] == ["gone", "also_gone"]


def test_no_lora_folder_means_no_finding() -> None:
    assert findings("safe, 1girl, <lora:inkk:0.8>", "ANM-LORA-001") == []


def test_lora_folders_from_the_environment(loras: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANIMA_LORA_DIR", str(loras))
    assert findings("safe, <lora:ink:1>", "ANM-LORA-001") == []
    assert len(findings("safe, <lora:inkk:1>", "ANM-LORA-001")) == 1


def test_comfyui_models_loras_is_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "ComfyUI"
    (root / "models" / "loras").mkdir(parents=True)
    (root / "models" / "loras" / "ink.safetensors").write_bytes(b"x")
    assert findings("safe, <lora:ink:1>", "ANM-LORA-001", comfyui=str(root)) == []
    assert len(findings("safe, <lora:inkk:1>", "ANM-LORA-001", comfyui=str(root))) == 1
    monkeypatch.setenv("COMFYUI_PATH", str(root))
    assert LintConfig().lora_folders() == (root / "models" / "loras",)
    assert len(findings("safe, <lora:inkk:1>", "ANM-LORA-001")) == 1


def test_settings_loras_names_and_paths(loras: Path, tmp_path: Path) -> None:
    dirs = (str(loras),)
    ok = {"loras": ["ink:0.5", {"name": str(loras / "styles" / "pencil.safetensors"), "strength": 1}]}
    assert findings("safe, 1girl", "ANM-LORA-001", settings=ok, lora_dirs=dirs) == []
    (finding,) = findings("safe, 1girl", "ANM-LORA-001", settings={"loras": ["nope:0.5"]}, lora_dirs=dirs)
    assert finding.target is Target.SETTINGS and finding.span is None
    assert finding.message == f"LoRA `nope` from the settings not found in {loras}"
    missing = str(tmp_path / "elsewhere" / "x.safetensors")
    (finding,) = findings("safe, 1girl", "ANM-LORA-001", settings={"loras": [missing]})
    assert finding.message == f"LoRA `{missing}` from the settings not found (no such file)"
    assert findings("safe, 1girl", "ANM-LORA-001", settings={"loras": ["nope"]}) == []  # a name, no folder


def test_missing_lora_is_an_error_for_anima_generate(loras: Path) -> None:
    (finding,) = findings("safe, <lora:inkk:1>", "ANM-LORA-001", lora_dirs=(str(loras),), front_end="anima")
    assert finding.severity is Severity.ERROR


def test_lora_files_cache_and_odd_names(loras: Path) -> None:
    files = LoraFiles((loras,))
    assert files.find("ink") == loras / "ink.safetensors"
    (loras / "ink.safetensors").unlink()
    assert files.find("ink") == loras / "ink.safetensors"  # answered once per run
    assert files.find("bad\x00name") is None
    assert not LoraFiles(()).known and LoraFiles(()).find("ink") is None


# ANM-CFG-003 with a Turbo LoRA -----------------------------------------------------------------------------

TURBO_TAG = "safe, 1girl, <lora:anima-turbo-lora:1>"


def test_turbo_lora_in_the_prompt_wants_cfg_1_and_few_steps() -> None:
    found = findings(TURBO_TAG, "ANM-CFG-003", settings={"cfg": 4, "steps": 30}, front_end="anima")
    assert [finding.message for finding in found] == [
        "the Turbo LoRA `anima-turbo-lora` runs at CFG 1; CFG 4 will overcook it",
        "the Turbo LoRA `anima-turbo-lora` wants 8-12 steps, got 30",
    ]
    assert findings(TURBO_TAG, "ANM-CFG-003", settings={"cfg": 1, "steps": 10}, front_end="anima") == []


def test_turbo_lora_tag_is_not_loaded_by_comfyui() -> None:
    assert findings(TURBO_TAG, "ANM-CFG-003", settings={"cfg": 4, "steps": 30}) == []
    assert len(findings(TURBO_TAG, "ANM-CFG-002", settings={"cfg": 1, "steps": 30})) == 1


def test_turbo_lora_in_the_settings() -> None:
    settings = {"cfg": 5, "steps": 10, "loras": ["loras/anima_turbo_v1.safetensors:0.8"]}
    (finding,) = findings("safe, 1girl", "ANM-CFG-003", settings=settings)
    assert finding.message.startswith("the Turbo LoRA `loras/anima_turbo_v1.safetensors` runs at CFG 1")
    assert findings("safe, 1girl", "ANM-CFG-003", settings={**settings, "cfg": 1}) == []


def test_turbo_lora_at_strength_0_or_a_plain_lora_is_not_turbo() -> None:
    settings = {"cfg": 4, "steps": 30}
    assert findings("safe, <lora:anima-turbo:0>", "ANM-CFG-003", settings=settings, front_end="anima") == []
    assert findings("safe, <lora:ink_style:1>", "ANM-CFG-003", settings=settings, front_end="anima") == []
    with_lora = {"cfg": 4, "steps": 30, "loras": ["turbo.safetensors:0"]}
    assert findings("safe", "ANM-CFG-003", settings=with_lora) == []


def test_turbo_lora_settings_are_not_also_base_range_findings() -> None:
    settings = {"cfg": 1, "steps": 10, "variant": "base"}
    assert findings(TURBO_TAG, "ANM-CFG-002", settings=settings, front_end="anima") == []
    assert findings(TURBO_TAG, "ANM-STP-001", settings=settings, front_end="anima") == []
    assert len(findings("safe, 1girl", "ANM-CFG-002", settings=settings)) == 1
    assert len(findings("safe, 1girl", "ANM-STP-001", settings=settings)) == 1


def test_turbo_variant_keeps_its_wording() -> None:
    (finding,) = findings("safe", "ANM-CFG-003", settings={"cfg": 4, "variant": "turbo"})
    assert finding.message == "Anima Turbo runs at CFG 1; CFG 4 will overcook it"


# ANM-SYN-003 per front end ---------------------------------------------------------------------------------


def test_lora_tag_reaches_comfyui_as_text() -> None:
    (finding,) = findings("safe, 1girl, <lora:ink:0.8>", "ANM-SYN-003")
    assert finding.message == (
        "`<lora:ink:0.8>` is not loaded by ComfyUI: CLIPTextEncode passes it to the text encoder as text "
        "(A1111, Forge and `anima generate` load it); use a LoRA loader node"
    )
    (other,) = findings("safe, <hypernet:x:1>", "ANM-SYN-003")
    assert other.message == "`<hypernet:x:1>` is front-end syntax: loaded by A1111/Forge, text to ComfyUI"


def test_lora_tag_is_loaded_by_anima_generate() -> None:
    assert findings("safe, 1girl, <lora:ink:0.8>, <lyco:pencil>", "ANM-SYN-003", front_end="anima") == []
    (unusual,) = findings("safe, <lora:ink:5>", "ANM-SYN-003", front_end="anima")
    assert unusual.message == "`<lora:ink:5>`: strength 5 is unusual for a LoRA"
    assert unusual.severity is Severity.INFO
    (unreadable,) = findings("safe, <lora:ink:0.8:0.5>", "ANM-SYN-003", front_end="anima")
    assert unreadable.severity is Severity.ERROR
    assert "unreadable strength `0.8:0.5`; `anima generate` stops on it" in unreadable.message
    (hypernet,) = findings("safe, <hypernet:x:1>", "ANM-SYN-003", front_end="anima")
    assert "not loaded by `anima generate`" in hypernet.message


def test_lora_tag_in_the_negative_stops_anima_generate() -> None:
    (finding,) = findings("safe", "ANM-SYN-003", negative="worst quality, <lora:ink:1>", front_end="anima")
    assert finding.target is Target.NEGATIVE and finding.severity is Severity.ERROR
    assert findings("safe", "ANM-SYN-003", negative="worst quality, nsfw", front_end="anima") == []


# settings and configuration -------------------------------------------------------------------------


def test_settings_loras_from_mapping() -> None:
    settings = LintSettings.from_mapping(
        {"loras": ["a:0.5", "b", {"name": "c"}, {"name": "d", "strength": 2}]}
    )
    assert settings.loras == (("a", 0.5), ("b", 1.0), ("c", 1.0), ("d", 2.0))
    assert not settings.is_empty
    assert LintSettings.from_mapping({"loras": []}).is_empty


@pytest.mark.parametrize(
    ("loras", "message"),
    [
        ("a", "loras must be a list, got 'a'"),
        ([3], "loras: expected 'NAME[:STRENGTH]' or {'name': ..., 'strength': ...}, got 3"),
        ([{"name": "a", "weight": 1}], "loras: expected 'NAME[:STRENGTH]' or {'name': ..., 'strength': ...}"),
        ([{"name": "a", "strength": "x"}], "loras: {'name': 'a', 'strength': 'x'} needs a string name"),
        ([" "], "loras: ' ' names no LoRA"),
        ([{"name": "a", "strength": 10**400}], "loras: strength of"),
        (["a:1e999"], "loras: 'a:1e999' has a strength that is not a number"),
        (["a:abc"], "loras: 'a:abc' has a strength that is not a number"),
    ],
)
def test_bad_settings_loras_are_one_line_errors(loras: object, message: str) -> None:
    with pytest.raises(LintInputError) as error:
        LintSettings.from_mapping({"loras": loras})
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_config_lora_options(tmp_path: Path) -> None:
    config = config_from_mapping({"front-end": "Anima", "lora-dirs": "a", "comfyui": "/c"})
    assert (config.front_end, config.lora_dirs, config.comfyui) == ("anima", ("a",), "/c")
    with pytest.raises(LintConfigError, match="front-end must be one of comfyui, anima, got 'forge'"):
        config_from_mapping({"front-end": "forge"})
    with pytest.raises(LintConfigError, match="option 'lora-dirs' must be a list of folders"):
        config_from_mapping({"lora-dirs": [1]})
    (tmp_path / "anima.toml").write_text('[lint]\nlora-dirs = ["loras", "/abs"]\ncomfyui = "~/ComfyUI"\n')
    loaded = load_config(start=tmp_path)
    assert loaded.lora_dirs == (str(tmp_path / "loras"), "/abs")
    assert loaded.comfyui == str(Path("~/ComfyUI").expanduser())


# the command line ----------------------------------------------------------------------------------------


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANIMA_TAG_INDEX", str(tmp_path / "missing.sqlite"))
    monkeypatch.delenv("ANIMA_TOKENIZERS", raising=False)
    return CliRunner()


def lint_json(runner: CliRunner, *args: str) -> list[dict[str, object]]:
    result = runner.invoke(cli, ["lint", "--format", "json", *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_cli_lora_dir_comfyui_and_front_end(runner: CliRunner, loras: Path, tmp_path: Path) -> None:
    prompt = "safe, 1girl, solo, <lora:ink:0.8>, <lora:inkk:0.8>"
    found = lint_json(runner, prompt, "--lora-dir", str(loras))
    assert [item["message"] for item in found if item["code"] == "ANM-LORA-001"] == [
        f"LoRA `inkk` not found in {loras}"
    ]
    assert not [item for item in lint_json(runner, prompt) if item["code"] == "ANM-LORA-001"]
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    (loras).rename(root / "models" / "loras")
    found = lint_json(runner, prompt, "--comfyui", str(root), "--front-end", "anima")
    assert [(item["code"], item["severity"]) for item in found if item["code"].startswith("ANM-LORA")] == [
        ("ANM-LORA-001", "error")
    ]
    assert not [item for item in found if item["code"] == "ANM-SYN-003"]


def test_cli_lora_option_is_a_setting(runner: CliRunner) -> None:
    found = lint_json(runner, "safe, 1girl, solo", "--lora", "anima-turbo.safetensors:1", "--cfg", "4")
    assert [item["message"] for item in found if item["code"] == "ANM-CFG-003"] == [
        "the Turbo LoRA `anima-turbo.safetensors` runs at CFG 1; CFG 4 will overcook it"
    ]


def test_cli_jsonl_settings_loras(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    record = {"prompt": "safe, 1girl, solo", "settings": {"cfg": 1, "steps": 30, "loras": ["x_turbo"]}}
    path.write_text(json.dumps(record) + "\n")
    found = lint_json(runner, "--file", str(path))
    assert [item["message"] for item in found if item["code"] == "ANM-CFG-003"] == [
        "the Turbo LoRA `x_turbo` wants 8-12 steps, got 30"
    ]
    path.write_text(json.dumps({"prompt": "safe", "settings": {"loras": "x"}}) + "\n")
    result = runner.invoke(cli, ["lint", "--file", str(path)])
    assert result.exit_code == 1
    assert result.stderr == f"anima lint: error: {path}:1: loras must be a list, got 'x'\n"
