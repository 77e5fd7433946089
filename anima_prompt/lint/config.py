"""Every threshold and option of the linter, with defaults, and how it is found on disk.

Configuration lives in `[tool.anima.lint]` of a `pyproject.toml`, or in `[lint]` of an `anima.toml`.
Like ruff, the linter walks up from the current directory and uses the first `anima.toml`, or the first
`pyproject.toml` that has a `[tool.anima.lint]` table. Keys may be written with dashes or underscores.

Example `anima.toml`::

    [lint]
    ignore = ["ANM-TAG-002"]
    fail-on = "error"
    max-lines = 20
    artist-placement = "first"

    [lint.severity]
    "ANM-ART-004" = "warning"

Relative `lora-dirs` and `comfyui` paths in a configuration file are relative to the file's folder. A table
in the wrong place (`[tool.anima.lint]` in `anima.toml`), an unknown option and an out-of-range value are
errors that name the file, never silently ignored.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from anima_prompt.errors import LintConfigError
from anima_prompt.lint.findings import Severity
from anima_prompt.places import find_tokenizers, lora_folders
from anima_prompt.shapes import items, strings, table
from anima_prompt.variants import Variant, recommended

ARTIST_PLACEMENTS = ("card", "first", "off")
FRONT_ENDS = ("comfyui", "anima")
"""Where the prompts run: `comfyui` (ComfyUI core's CLIPTextEncode) or `anima` (`anima generate`)."""
MINIMUMS: dict[str, float] = {
    "max_lines": 1,
    "max_paragraphs": 1,
    "max_t5_tokens": 1,
    "max_qwen3_tokens": 1,
    "max_general_tags": 1,
    "safety_short_tags": 0,
    "safety_short_sentences": 0,
    "artists_info": 0,
    "artists_warn": 0,
    "weak_weight_max": 0,
    "extreme_weight_max": 0,
    "cfg_burn": 0,
    "cfg_base": 0,
    "cfg_aesthetic": 0,
    "cfg_turbo": 0,
    "euler_a_cfg_bonus": 0,
    "steps_base": 1,
    "steps_turbo": 1,
    "min_pixels": 1,
    "max_pixels": 1,
    "sweet_megapixels": 0,
    "size_multiple": 1,
    "quoted_max_words": 0,
    "quoted_max_chars": 0,
    "nl_min_sentences": 0,
    "cutoff_year": 0,
    "suggestion_limit": 0,
}
"""The smallest value each numeric option takes (counts, thresholds, [low, high] pairs alike)."""


@dataclass(frozen=True, slots=True)
class LintConfig:
    """Options and thresholds of every lint rule (prompt-spec §5; all of them configurable).

    Attributes:
        select: rule ids or prefixes to run (`ANM-TAG`, `ANM-ART-001`); empty means all.
        ignore: rule ids or prefixes never to run.
        fail_on: the lowest severity that makes `anima lint` exit 1.
        severity: per-rule severity overrides, as `(rule id, severity)` pairs.
        artist_placement: `card` (artists after character and series, before general tags; the model card's
            order), `first` (artist first after quality/meta tags; the card's natural-language tip) or `off`.
        tokenizers: folder with `qwen3/tokenizer.json` and `t5/tokenizer.json`; else they are looked for
            where `anima generate` looks (`places.find_tokenizers`). Without tokenizers the token-count
            checks are skipped.
        db: path of the tag index; `None` uses the default location.
        front_end: where the prompts run: `comfyui` (default; ComfyUI core passes `<lora:...>` tags to the
            text encoder as text) or `anima` (`anima generate` loads them and takes them out of the text).
        lora_dirs: folders `<lora:name>` is looked up in, before `$ANIMA_LORA_DIR`.
        comfyui: a ComfyUI installation whose `models/loras/` is searched too; `None` uses `$COMFYUI_PATH`
            and the common install folders, as `anima generate` does (`places.lora_folders`).
        wildcards: glob patterns of `.txt` files that hold one prompt per line (wildcard files), besides
            those in a `wildcards` folder (`editor.documents.is_wildcard_file`); relative to the
            configuration file's folder.
        max_lines: non-empty lines above which a prompt is called long (seed claim; no primary source).
        max_paragraphs: blank-line separated paragraphs above which a prompt is called long.
        max_t5_tokens: T5 tokens above which the prompt exceeds the adapter's 512 padded positions.
        max_qwen3_tokens: Qwen3 tokens above which a prompt is called long.
        max_general_tags: general tags above which the tag list is called exhaustive (card example: ~50).
        safety_short_tags: a prompt with fewer tags than this and no safety tag is an error, not a warning.
        safety_short_sentences: ... or with fewer natural-language sentences than this.
        artists_info: number of `@artists` from which ANM-ART-004 reports (info).
        artists_warn: number of `@artists` from which ANM-ART-004 reports as a warning.
        weak_weight_max: explicit weights in (1.0, this] barely act on Anima.
        extreme_weight_max: weights above this break images.
        extreme_weight_min: weights below this break images (negative weights flip the conditioning).
        cfg_burn: CFG above this burns images, whatever the variant.
        cfg_base: recommended CFG range for Base, inclusive (default: `data/variants.toml`).
        cfg_aesthetic: recommended CFG range for Aesthetic, inclusive (default: `data/variants.toml`).
        cfg_turbo: the CFG Turbo was distilled for (default: `data/variants.toml`).
        euler_a_cfg_bonus: how far `euler_ancestral` may exceed the upper CFG bound.
        steps_base: recommended steps for Base and Aesthetic, inclusive (default: `data/variants.toml`).
        steps_turbo: recommended steps for Turbo, inclusive (default: `data/variants.toml`).
        min_pixels: fewest pixels (width x height) Anima works at (512²).
        max_pixels: most pixels Anima works at (1536²).
        sweet_megapixels: megapixel range that gives the best results, inclusive.
        sweet_tolerance: how far (a fraction) an area may lie outside `sweet_megapixels` and still count as on
            it: the card's "about 1 MP" sizes and the usual 64-pixel aspect buckets lie within 10 % of 1 MP.
        size_multiple: width and height must be multiples of this (patch 2 x VAE 8).
        quoted_max_words: quoted text with more words than this will not render.
        quoted_max_chars: ... or with more characters than this.
        nl_min_sentences: natural-language-only prompts need at least this many sentences.
        cutoff_year: the last year in Anima's training data (September 2025).
        suggestion_limit: most "did you mean" suggestions per finding.
    """

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: Severity = Severity.WARNING
    severity: tuple[tuple[str, Severity], ...] = ()
    artist_placement: str = "card"
    tokenizers: str | None = None
    db: str | None = None
    front_end: str = "comfyui"
    lora_dirs: tuple[str, ...] = ()
    comfyui: str | None = None
    wildcards: tuple[str, ...] = ()
    max_lines: int = 15
    max_paragraphs: int = 3
    max_t5_tokens: int = 512
    max_qwen3_tokens: int = 512
    max_general_tags: int = 60
    safety_short_tags: int = 8
    safety_short_sentences: int = 2
    artists_info: int = 2
    artists_warn: int = 4
    weak_weight_max: float = 1.3
    extreme_weight_max: float = 3.0
    extreme_weight_min: float = 0.0
    cfg_burn: float = 10.0
    cfg_base: tuple[float, float] = field(default_factory=lambda: recommended(Variant.BASE).cfg_range)
    cfg_aesthetic: tuple[float, float] = field(
        default_factory=lambda: recommended(Variant.AESTHETIC).cfg_range
    )
    cfg_turbo: float = field(default_factory=lambda: recommended(Variant.TURBO).cfg)
    euler_a_cfg_bonus: float = 1.0
    steps_base: tuple[int, int] = field(default_factory=lambda: recommended(Variant.BASE).steps_range)
    steps_turbo: tuple[int, int] = field(default_factory=lambda: recommended(Variant.TURBO).steps_range)
    min_pixels: int = 512 * 512
    max_pixels: int = 1536 * 1536
    sweet_megapixels: tuple[float, float] = (1.0, 2.0)
    sweet_tolerance: float = 0.1
    size_multiple: int = 16
    quoted_max_words: int = 2
    quoted_max_chars: int = 15
    nl_min_sentences: int = 2
    cutoff_year: int = 2025
    suggestion_limit: int = 3
    _overrides: dict[str, Severity] = field(
        default_factory=dict[str, Severity], init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.artist_placement not in ARTIST_PLACEMENTS:
            raise LintConfigError(
                f"artist-placement must be one of {', '.join(ARTIST_PLACEMENTS)}, "
                f"got {self.artist_placement!r}"
            )
        if self.front_end not in FRONT_ENDS:
            raise LintConfigError(f"front-end must be one of {', '.join(FRONT_ENDS)}, got {self.front_end!r}")
        for name in ("cfg_base", "cfg_aesthetic", "steps_base", "steps_turbo", "sweet_megapixels"):
            low, high = getattr(self, name)
            if low > high:
                raise LintConfigError(f"{name.replace('_', '-')} must be [low, high], got [{low}, {high}]")
        for name, minimum in MINIMUMS.items():
            value: float | tuple[float, float] = getattr(self, name)
            numbers: tuple[float, ...] = value if isinstance(value, tuple) else (value,)
            for number in numbers:
                if not number >= minimum:  # also false for NaN
                    raise LintConfigError(
                        f"{name.replace('_', '-')} must be at least {minimum:g}, got {number!r}"
                    )
        if not 0 <= self.sweet_tolerance < 1:
            raise LintConfigError(
                f"sweet-tolerance must be a fraction from 0 to below 1, got {self.sweet_tolerance}"
            )
        self._overrides.update(self.severity)

    def severity_of(self, code: str, default: Severity) -> Severity:
        """The configured severity of rule `code`, or `default` when not overridden."""
        return self._overrides.get(code, default)

    def enabled(self, code: str) -> bool:
        """Whether rule `code` runs under `select` and `ignore` (prefixes match whole id segments)."""

        def matches(pattern: str) -> bool:
            return code == pattern or code.startswith(pattern + "-")

        if self.select and not any(matches(pattern) for pattern in self.select):
            return False
        return not any(matches(pattern) for pattern in self.ignore)

    def tokenizer_dir(
        self, env: Mapping[str, str] | None = None, *, data_dir: Path | None = None
    ) -> Path | None:
        """The tokenizer folder (`places.find_tokenizers`): the `tokenizers` option, else the first place
        `anima generate` searches that holds both files; `None` when there is none.

        Args:
            env: environment variables (default `os.environ`).
            data_dir: the user data folder (default `places.user_data_dir()`).
        """
        return find_tokenizers(self.tokenizers, env=env, data_dir=data_dir)

    def lora_folders(
        self, env: Mapping[str, str] | None = None, *, home: Path | None = None
    ) -> tuple[Path, ...]:
        """The folders LoRA names are looked up in (`places.lora_folders`): `lora_dirs`, `$ANIMA_LORA_DIR`,
        then the `models/loras/` of `comfyui`, else of `$COMFYUI_PATH` and the common ComfyUI folders.

        Args:
            env: environment variables (default `os.environ`).
            home: the home directory (default `Path.home()`), for the common ComfyUI folders.
        """
        return lora_folders(self.lora_dirs, comfyui=self.comfyui, env=env, home=home)


_FIELDS = {item.name: item for item in dataclasses.fields(LintConfig) if item.init}


def find_config_file(start: Path | None = None) -> Path | None:
    """The first `anima.toml`, or `pyproject.toml` with `[tool.anima.lint]`, in `start` or a parent folder."""
    folder = (start or Path.cwd()).resolve()
    for directory in (folder, *folder.parents):
        candidate = directory / "anima.toml"
        if candidate.is_file():
            return candidate
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and _has_lint_table(candidate):
            return candidate
    return None


def _has_lint_table(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return "[tool.anima" in text


def load_config(path: Path | None = None, *, start: Path | None = None) -> LintConfig:
    """The configuration in `path`, or in the file found from `start` (default: the current directory).

    Raises:
        LintConfigError: the file cannot be read or holds an invalid option; the message names the file.
    """
    import tomllib

    found = path or find_config_file(start)
    if found is None:
        return LintConfig()
    try:
        with found.open("rb") as handle:
            document = tomllib.load(handle)
    except OSError as error:
        raise LintConfigError(f"{found}: cannot read configuration: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise LintConfigError(f"{found}: invalid TOML: {error}") from None
    try:
        options = _lint_table(document, anima_toml=found.name == "anima.toml")
    except LintConfigError as error:
        raise LintConfigError(f"{found}: {error}") from None
    try:
        config = config_from_mapping(options)
    except LintConfigError as error:
        raise LintConfigError(f"{found}: {error}") from None
    return _relative_to(config, found.parent)


def _lint_table(document: dict[str, object], *, anima_toml: bool) -> dict[str, object]:
    """The lint options of a parsed `anima.toml` (`[lint]`) or `pyproject.toml` (`[tool.anima.lint]`).

    Raises:
        LintConfigError: the file holds a table this toolkit does not read where it reads its own, so that
            a misplaced table is reported instead of silently ignored.
    """
    if anima_toml:
        unknown = [key for key in document if key != "lint"]
        if "tool" in unknown:
            raise LintConfigError("[tool.anima.lint] is the pyproject.toml form; in anima.toml write [lint]")
        if unknown:
            raise LintConfigError(f"unknown table or key {unknown[0]!r}; anima.toml holds a [lint] table")
        options, name = table(document.get("lint", {})), "[lint]"
    else:
        ours = table((table(document.get("tool", {})) or {}).get("anima", {}))
        if ours is None:
            raise LintConfigError("[tool.anima] must be a table")
        unknown = [key for key in ours if key != "lint"]
        if unknown:
            raise LintConfigError(
                f"unknown table or key 'tool.anima.{unknown[0]}'; the linter reads [tool.anima.lint]"
            )
        options, name = table(ours.get("lint", {})), "[tool.anima.lint]"
    if options is None:
        raise LintConfigError(f"{name} must be a table")
    return options


def _relative_to(config: LintConfig, folder: Path) -> LintConfig:
    """`config` with its relative LoRA folder, ComfyUI and wildcard paths taken relative to `folder`."""

    def absolute(path: str) -> str:
        candidate = Path(path).expanduser()
        return str(candidate if candidate.is_absolute() else folder / candidate)

    return dataclasses.replace(
        config,
        lora_dirs=tuple(absolute(path) for path in config.lora_dirs),
        comfyui=absolute(config.comfyui) if config.comfyui else None,
        wildcards=tuple(absolute(pattern) for pattern in config.wildcards),
    )


def config_from_mapping(table: Mapping[str, object], base: LintConfig | None = None) -> LintConfig:
    """A configuration from TOML-like values over `base` (defaults when `None`).

    Raises:
        LintConfigError: an unknown option or a value of the wrong type.
    """
    changes: dict[str, object] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        spec = _FIELDS.get(key)
        if spec is None:
            raise LintConfigError(f"unknown lint option {raw_key!r}")
        changes[key] = _convert(raw_key, key, value, (base or LintConfig()).__getattribute__(key))
    return dataclasses.replace(base or LintConfig(), **changes)


def _convert(raw_key: str, key: str, value: object, default: object) -> object:
    """`value` of option `key` as the type of its `default` (the current value, of any option's type)."""

    def fail(expected: str) -> LintConfigError:
        return LintConfigError(f"option {raw_key!r} must be {expected}, got {value!r}")

    if key in {"select", "ignore"}:
        codes = [value] if isinstance(value, str) else strings(value)
        if codes is None:
            raise fail("a list of rule ids")
        return tuple(code.strip().upper() for code in codes)
    if key in {"lora_dirs", "wildcards"}:
        values = [value] if isinstance(value, str) else strings(value)
        if values is None or not all(values):
            raise fail("a list of folders" if key == "lora_dirs" else "a list of glob patterns")
        return tuple(values)
    if key == "fail_on":
        if not isinstance(value, str):
            raise fail("info, warning or error")
        try:
            return Severity.parse(value)
        except ValueError:
            raise fail("info, warning or error") from None
    if key == "severity":
        levels = table(value)
        if levels is None:
            raise fail("a table of rule id = severity")
        pairs: list[tuple[str, Severity]] = []
        for code, level in levels.items():
            if not isinstance(level, str):
                raise fail("a table of rule id = severity")
            try:
                pairs.append((code.upper(), Severity.parse(level)))
            except ValueError as error:
                raise LintConfigError(f"option {raw_key!r}: {error}") from None
        return tuple(pairs)
    if key in {"tokenizers", "db", "artist_placement", "front_end", "comfyui"}:
        if not isinstance(value, str):
            raise fail("a string")
        return value.strip().lower() if key == "front_end" else value
    if isinstance(default, tuple):
        pair = items(value)
        if pair is None or len(pair) != 2:
            raise fail("a [low, high] pair")
        low, _ = cast(tuple[object, object], default)  # the [low, high] options: cfg-base, steps-turbo, ...
        return tuple(_number(raw_key, item, type(low)) for item in pair)
    return _number(raw_key, value, type(default))


def _number(raw_key: str, value: object, kind: type) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LintConfigError(f"option {raw_key!r} must be a number, got {value!r}")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise LintConfigError(f"option {raw_key!r} must be a whole number, got {value!r}")
        return int(value)
    if not math.isfinite(value):
        raise LintConfigError(f"option {raw_key!r} must be finite, got {value!r}")
    return float(value)
