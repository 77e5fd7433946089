"""Dataset mode: lint (and fix) the caption files of a training dataset, and summarise its tags.

A caption is a `.txt` file with an image of the same name beside it (`img_001.png` + `img_001.txt`), as
LoRA trainers read them; other `.txt` files (notes, wildcard lists: `editor.documents.is_wildcard_file`)
are skipped and counted. Folders are searched at any depth, hidden ones (`.cache`) excepted.

The work is split so that any scheduler can run it and get the same results: `check_caption` turns one
caption file into a `CaptionResult` (with a `Linter` that the worker keeps), and `summarize` reduces
results, in any order, to a `DatasetSummary`. `lint_dataset` runs them in local processes.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

from anima_prompt.errors import AnimaPromptError, LintInputError
from anima_prompt.lint.config import LintConfig
from anima_prompt.lint.findings import Finding
from anima_prompt.lint.inputs import PromptRecord, read_file
from anima_prompt.lint.rewrite import rewrite_file

if TYPE_CHECKING:
    from anima_prompt.lint import Linter

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".avif", ".jxl", ".tif", ".tiff"}
)
UNKNOWN_RULES = ("ANM-TAG-004", "ANM-ART-002")  # unknown-tag, unknown-artist


@dataclass(frozen=True, slots=True)
class Captions:
    """The caption files of a dataset, in path order, and how many `.txt` files were not captions."""

    root: Path
    paths: tuple[Path, ...]
    skipped: int = 0


def find_captions(root: Path, *, wildcards: tuple[str, ...] = ()) -> Captions:
    """The caption files under `root` (see the module docstring).

    Args:
        root: the dataset folder.
        wildcards: glob patterns of wildcard files (the configuration's `wildcards`), never captions.

    Raises:
        LintInputError: `root` is not a folder.
    """
    from anima_prompt.editor.documents import is_wildcard_file

    if not root.is_dir():
        raise LintInputError(f"{root}: not a folder" if root.exists() else f"{root}: no such folder")
    paths: list[Path] = []
    skipped = 0
    for folder, folders, names in os.walk(root):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        images = {
            os.path.splitext(name)[0] for name in names if os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES
        }
        for name in sorted(names):
            stem, suffix = os.path.splitext(name)
            if suffix.lower() != ".txt":
                continue
            path = Path(folder, name)
            if stem in images and not is_wildcard_file(path, wildcards):
                paths.append(path)
            else:
                skipped += 1
    return Captions(root, tuple(paths), skipped)


@dataclass(frozen=True, slots=True)
class CaptionResult:
    """What one caption file holds and what is wrong with it.

    Attributes:
        record: the caption as a prompt record (`source` is the path relative to the dataset folder).
        findings: the lint findings (after fixing, when fixes were applied).
        tags: the caption's tags and `@artists` in canonical prompt form (aliases resolved), each once.
        unknown: the tags and artists the index does not know, in prompt form, each once.
        fixed: whether the file was rewritten with fixes.
        error: why the file could not be read or written; then there are no findings.
    """

    record: PromptRecord
    findings: tuple[Finding, ...] = ()
    tags: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    fixed: bool = False
    error: str | None = None


def check_caption(path: Path, linter: Linter, *, root: Path, fix: bool = False) -> CaptionResult:
    """Lint one caption file, after rewriting it with the automatic fixes when `fix`.

    Args:
        path: the caption file.
        linter: the linter (configuration and index) to use; a worker keeps one for all its files.
        root: the dataset folder, which result paths are relative to.
        fix: apply the fixes `anima lint --fix` applies and rewrite the file (`lint.rewrite.rewrite_file`:
            through a temporary file renamed over it, line endings kept; a file that changed meanwhile is
            left as it is and reported).

    Returns:
        The result; a file that cannot be read or written gives a result with `error` set.
    """
    source = path.relative_to(root).as_posix()
    try:
        (read,) = read_file(path, whole=True)
        record = PromptRecord(source, read.prompt, path=str(path))
        fixed = False
        if fix:
            text = linter.fix(record.prompt)
            if text != record.prompt:
                rewrite_file(path, [(read, text)], whole=True)
                record, fixed = PromptRecord(source, text, path=str(path)), True
        findings = linter.lint(record.prompt)
    except AnimaPromptError as error:
        message = str(error).split("\n", 1)[0].removeprefix(f"{path}: ")
        return CaptionResult(PromptRecord(source, "", path=str(path)), error=message)
    except OSError as error:
        return CaptionResult(
            PromptRecord(source, "", path=str(path)), error=f"cannot write: {error.strerror}"
        )
    return CaptionResult(
        record, findings, _tags(linter, record.prompt), _unknown(record.prompt, findings), fixed
    )


@lru_cache(maxsize=65536)
def _prompt_form(name: str, artist: bool) -> str:
    """`tagtext.prompt_form`, kept: a dataset repeats the same few thousand tags."""
    from anima_prompt.tagtext import prompt_form

    return prompt_form(name, artist=artist)


def _tags(linter: Linter, text: str) -> tuple[str, ...]:
    from anima_prompt.lint.analysis import Kind

    found: dict[str, None] = {}
    for item in linter.analyse(text).tag_like:
        info = linter.index.lookup(item.text) if linter.index is not None else None
        name = info.name if info is not None else item.name
        if name:
            found[_prompt_form(name, item.kind is Kind.ARTIST)] = None
    return tuple(found)


def _unknown(text: str, findings: Sequence[Finding]) -> tuple[str, ...]:
    from anima_prompt.lint.analysis import tag_name

    found: dict[str, None] = {}
    for finding in findings:
        if finding.code in UNKNOWN_RULES and finding.span is not None:
            written = text[finding.span.start : finding.span.end]
            artist = written.startswith("@")
            found[_prompt_form(tag_name(written.removeprefix("@").strip()), artist)] = None
    return tuple(found)


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    """What trainers look at before training: how the captions' tags are spread, and what is wrong.

    Attributes:
        files: caption files checked.
        with_findings: files with at least one finding.
        fixed: files rewritten with fixes.
        errors: files that could not be read or written, with the reason (path order).
        rules: how many findings each rule reported.
        tags: in how many files each tag occurs, most frequent first (then by name).
        unknown: in how many files each unknown tag occurs, most frequent first.
    """

    files: int = 0
    with_findings: int = 0
    fixed: int = 0
    errors: tuple[tuple[str, str], ...] = ()
    rules: tuple[tuple[str, int], ...] = ()
    tags: tuple[tuple[str, int], ...] = field(default=())
    unknown: tuple[tuple[str, int], ...] = field(default=())


def summarize(results: Iterable[CaptionResult]) -> DatasetSummary:
    """The summary of caption results, the same whatever their order."""
    files = with_findings = fixed = 0
    errors: list[tuple[str, str]] = []
    rules: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    for result in results:
        files += 1
        fixed += result.fixed
        if result.error is not None:
            errors.append((result.record.source, result.error))
            continue
        with_findings += bool(result.findings)
        rules.update(finding.code for finding in result.findings)
        tags.update(result.tags)
        unknown.update(result.unknown)
    return DatasetSummary(
        files=files,
        with_findings=with_findings,
        fixed=fixed,
        errors=tuple(sorted(errors)),
        rules=_ranked(rules),
        tags=_ranked(tags),
        unknown=_ranked(unknown),
    )


def _ranked(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def lint_dataset(
    captions: Captions, *, config: LintConfig, index_path: Path | None, jobs: int, fix: bool = False
) -> Iterator[CaptionResult]:
    """`check_caption` for every caption, in `jobs` processes (1: this one); results in path order.

    Raises:
        TagIndexError: the index cannot be opened.
    """
    from anima_prompt.lint.batch import map_with_linter

    work = partial(_check, root=captions.root, fix=fix)
    for _, result, _ in map_with_linter(
        work, captions.paths, config=config, index_path=index_path, jobs=jobs
    ):
        yield result


def _check(linter: Linter, path: Path, *, root: Path, fix: bool) -> CaptionResult:
    return check_caption(path, linter, root=root, fix=fix)
