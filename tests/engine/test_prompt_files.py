"""`anima generate --file`: records → requests, resuming, bad records, batching, names and bytes."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from anima_engine._tiny import TinyFiles
from anima_engine.images import read_png_metadata
from anima_engine.jobs import Planned, plan_jobs
from anima_engine.prompt_files import read_entries
from anima_engine.request import GenerationRequest, prepare
from anima_prompt.cli import cli

SMALL = ["-W", "32", "-H", "32", "--steps", "2", "--cfg", "1"]
BASE = GenerationRequest(prompt="", width=32, height=32, steps=2, lint=False)


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("ANIMA_TAG_INDEX", str(tmp_path / "no-index.sqlite"))
    monkeypatch.delenv("ANIMA_TOKENIZERS", raising=False)
    return CliRunner()


def model_args(files: TinyFiles) -> list[str]:
    paths = ["--dit", str(files.dit), "--text-encoder", str(files.text_encoder), "--vae", str(files.vae)]
    return [*paths, "--tokenizers", str(files.tokenizer_dir)]


def jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_records_become_requests() -> None:
    text = "\n".join(
        [
            json.dumps({"prompt": "safe, cat", "seed": 4, "out": "cat"}),
            "",
            json.dumps(
                {
                    "prompt": "safe, dog",
                    "negative": "blurry",
                    "loras": ["ink:0.5", {"name": "pen", "strength": 2}],
                    "settings": {"steps": 3, "cfg": 5, "width": 64.0, "sampler": "euler"},
                }
            ),
        ]
    )
    [cat, dog] = read_entries("p.jsonl", text, BASE)
    assert (cat.location, cat.out, dog.location, dog.out) == ("p.jsonl:1", "cat", "p.jsonl:3", None)
    assert cat.request is not None and dog.request is not None
    assert (cat.request.prompt, cat.request.seed, cat.request.width) == ("safe, cat", 4, 32)
    assert (dog.request.negative, dog.request.steps, dog.request.cfg, dog.request.width) == (
        "blurry",
        3,
        5.0,
        64,
    )
    assert dog.request.loras == (("ink", 0.5), ("pen", 2.0))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON: Expecting property name enclosed in double quotes (column 2)"),
        ("[1, 2]", "expected a JSON object with a 'prompt' field"),
        ('{"prompt": ""}', "'prompt' must be a non-empty string"),
        (
            '{"prompt": "a", "sead": 3}',
            "unknown field 'sead'; expected prompt, negative, seed, loras, out, settings",
        ),
        ('{"prompt": "a", "seed": "x"}', "'seed' must be a whole number, got 'x'"),
        (
            '{"prompt": "a", "settings": {"stepz": 3}}',
            "unknown setting 'stepz'; expected one of batch, cfg, ",
        ),
        ('{"prompt": "a", "settings": {"cfg": "high"}}', "'cfg' must be a number, got 'high'"),
        ('{"prompt": "a", "out": "../x"}', "'out' must be a file name without folders, got '../x'"),
        ('{"prompt": "a", "loras": "ink"}', "'loras' must be a list"),
        ('{"prompt": "a", "settings": {"variant": "lightning"}}', "unknown variant 'lightning'"),
    ],
)
def test_bad_records_name_the_problem(line: str, message: str) -> None:
    [entry] = read_entries("p.jsonl", line, BASE)
    assert entry.request is None and entry.location == "p.jsonl:1"
    assert entry.error is not None and entry.error.startswith(message)


def test_text_files_and_stdin() -> None:
    assert [e.request.prompt for e in read_entries("p.txt", "a cat\n\n  \nа dog\n", BASE) if e.request] == [
        "a cat",
        "а dog",
    ]
    [entry] = read_entries("<stdin>", '  {"prompt": "x"}\n', BASE)
    assert entry.request is not None and entry.request.prompt == "x"  # JSON lines by their first character


def test_jobs_group_consecutive_compatible_requests_up_to_the_capacity() -> None:
    requests = [
        GenerationRequest(prompt=f"cat {n}", seed=n, lint=False, steps=2, width=32, height=32)
        for n in range(5)
    ]
    requests.insert(2, GenerationRequest(prompt="wide", lint=False, steps=2, width=64, height=32))
    work = [(Planned(f"p:{i}", r, (f"{i}.png",)), prepare(r)) for i, r in enumerate(requests)]
    jobs = plan_jobs(work, lambda prepared: 2)
    assert [[item.location for item in job.items] for job in jobs] == [
        ["p:0", "p:1"],
        ["p:2"],
        ["p:3", "p:4"],
        ["p:5"],
    ]


def test_a_file_run_resumes_and_skips_what_exists(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    prompts = jsonl(
        tmp_path / "prompts.jsonl",
        [
            {"prompt": "safe, cat", "seed": 1},
            {"prompt": "safe, dog", "seed": 2, "out": "dog"},
            {"prompt": "safe, bird", "seed": 3, "settings": {"batch": 2}},
        ],
    )
    out = tmp_path / "out"
    args = ["generate", "--file", str(prompts), *SMALL, *model_args(tiny_files), "-o", str(out), "--no-lint"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    written = [Path(line) for line in first.stdout.splitlines()]
    assert len(written) == 4 and written[1].name == "dog.png"
    assert [p.name.split("_")[0] for p in written] == ["prompts", "dog.png", "prompts", "prompts"]
    assert written[2].name.endswith("_seed3_b0.png") and written[3].name.endswith("_seed3_b1.png")
    assert "4 images in " in first.stderr and "images/s" in first.stderr
    contents = {p: p.read_bytes() for p in written}

    # a second run writes nothing: every image is already there
    second = runner.invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert second.stdout == "" and "0 images in " in second.stderr and "4 already there" in second.stderr

    # an interrupted run: what is missing is made again, with the same bytes; the rest is kept
    written[0].unlink()
    (out / written[1].name).write_bytes(b"edited by hand")
    third = runner.invoke(cli, args)
    assert third.exit_code == 0, third.output
    assert third.stdout.splitlines() == [str(written[0])]
    assert written[0].read_bytes() == contents[written[0]]
    assert written[1].read_bytes() == b"edited by hand"


def test_a_bad_record_is_one_line_and_the_others_still_run(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    prompts = jsonl(
        tmp_path / "p.jsonl",
        [
            {"prompt": "safe, cat"},
            "{broken",
            {"prompt": "safe, (dog"},  # a lint error
            {"prompt": "safe, cow", "settings": {"width": 100}},
            {"prompt": "safe, <lora:nowhere:1>"},
            {"prompt": "safe, fox", "out": "fox"},
        ],
    )
    out = tmp_path / "out"
    args = ["generate", "--file", str(prompts), *SMALL, *model_args(tiny_files), "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 2 and (out / "fox.png").is_file()
    problems = [line for line in result.stderr.splitlines() if line.startswith(str(prompts))]
    assert problems == [
        f"{prompts}:2: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
        f"{prompts}:3: the prompt has 1 lint error (ANM-SYN-004: '(' is never closed); "
        "fix it or pass --no-lint",
        f"{prompts}:4: `width` must be a multiple of 16, got 100",
        f"{prompts}:5: LoRA 'nowhere' not found; looked in: "
        "no LoRA folder (pass --lora-dir or set ANIMA_LORA_DIR)",
    ]
    assert "Traceback" not in result.output
    assert result.stderr.rstrip().endswith("4 bad records")


def test_only_bad_records_load_no_weights(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "anima_engine.render_worker.load_pipeline", lambda **kw: pytest.fail("loaded weights")
    )
    prompts = jsonl(tmp_path / "p.jsonl", ["{broken"])
    result = runner.invoke(
        cli, ["generate", "--file", str(prompts), *model_args(tiny_files), "-o", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert f"{prompts}:1: invalid JSON" in result.stderr


def test_prompts_from_standard_input_one_per_line(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["generate", "--file", "-", *SMALL, *model_args(tiny_files), "-o", str(out), "--no-lint"]
    result = runner.invoke(cli, args, input="safe, cat\nsafe, dog\n")
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert [p.name.startswith("stdin_") for p in paths] == [True, True]
    assert [read_png_metadata(p).prompt for p in paths] == ["safe, cat", "safe, dog"]


def test_prompt_dash_reads_standard_input_one_prompt_per_line(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    """`anima generate -` reads standard input as every command does, not the prompt "-"."""
    out = tmp_path / "out"
    args = ["generate", "-", *SMALL, *model_args(tiny_files), "-o", str(out), "--no-lint"]
    result = runner.invoke(cli, args, input="safe, cat\n\nsafe, dog\n")
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert [read_png_metadata(p).prompt for p in paths] == ["safe, cat", "safe, dog"]


def test_whole_reads_standard_input_as_one_prompt(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["generate", "-", "--whole", *SMALL, *model_args(tiny_files), "-o", str(out), "--no-lint"]
    result = runner.invoke(cli, args, input="safe, 1girl.\n\nShe waves.\n")
    assert result.exit_code == 0, result.output
    (path,) = [Path(line) for line in result.stdout.splitlines()]
    assert read_png_metadata(path).prompt == "safe, 1girl.\n\nShe waves."


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (["-", "safe, cat"], "", 2, "- (standard input) is the only PROMPT when given, without --file"),
        (["safe, cat", "--whole"], "", 2, "--whole reads - (standard input) or --file FILE"),
        (["-", "--whole"], " \n\n", 1, "<stdin>: no prompt (the text is empty)"),
        (["--file", "x.jsonl", "--whole"], "", 2, "--whole reads text, not JSONL records: x.jsonl"),
    ],
)
def test_wrong_uses_of_dash_and_whole_are_one_line(
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    stdin: str,
    code: int,
    message: str,
) -> None:
    (tmp_path / "x.jsonl").write_text('{"prompt": "safe, cat"}\n')
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["generate", *args], input=stdin)
    assert result.exit_code == code
    assert result.output.splitlines()[0] == f"anima generate: error: {message}"


def test_a_missing_prompt_file_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    """A named file that does not exist is a usage error (exit 2), as in every command."""
    result = runner.invoke(cli, ["generate", "--file", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2
    assert result.output == f"anima generate: error: --file: no such file: {tmp_path / 'none.jsonl'}\n"


def test_records_sampled_together_give_the_bytes_of_the_same_job_anywhere(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    """Two runs of the same file write byte-identical PNGs (the jobs are planned the same way)."""
    prompts = jsonl(tmp_path / "p.jsonl", [{"prompt": f"safe, cat {n}", "seed": n} for n in range(3)])
    outputs = []
    for name in ("a", "b"):
        args = [
            "generate",
            "--file",
            str(prompts),
            *SMALL,
            *model_args(tiny_files),
            "-o",
            str(tmp_path / name),
        ]
        result = runner.invoke(cli, [*args, "--no-lint"])
        assert result.exit_code == 0, result.output
        outputs.append({Path(line).name: Path(line).read_bytes() for line in result.stdout.splitlines()})
    assert outputs[0] == outputs[1] and len(outputs[0]) == 3


def test_a_failing_write_is_retried_then_one_line_and_leaves_no_partial_file(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    tries: list[Path] = []

    def full(path: Path, data: bytes) -> None:
        tries.append(path)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("anima_engine.outputs.write_new_file", full)
    prompts = jsonl(tmp_path / "p.jsonl", [{"prompt": "safe, cat", "out": "cat"}, {"prompt": "safe, dog"}])
    out = tmp_path / "out"
    args = ["generate", "--file", str(prompts), *SMALL, *model_args(tiny_files), "-o", str(out), "--no-lint"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert len(tries) == 6  # each image tried three times
    lines = result.stderr.splitlines()
    assert f"{prompts}:1: cannot write cat.png: No space left on device" in lines
    assert lines[-1].startswith("0 images in ") and lines[-1].endswith("; 2 failed")
    assert "Traceback" not in result.output and not list(out.glob("*"))
