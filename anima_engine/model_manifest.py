"""The list of official files `anima models download` fetches (`data/models.toml`), and their URLs.

Each entry names a part (`dit`, `text-encoder`, `vae`, `tokenizers`), where the file lies (a Hugging Face
repository path or a plain URL), where it goes inside the model folder, what it must contain, and the
sha256 and size where they are known.
"""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from anima_engine.errors import ConfigError
from anima_engine.hub import DEFAULT_ENDPOINT, hub_url
from anima_prompt.resources import data_path

MANIFEST_FILE = "models.toml"
PARTS = ("dit", "text-encoder", "vae", "tokenizers")
"""What can be downloaded, in download order."""
CONTENT_KINDS = ("dit", "text_encoder", "vae", "qwen3_tokenizer", "t5_tokenizer")
"""What a file must contain; checked before it takes its final name (`model_download.check_content`)."""

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class ModelSource:
    """One downloadable file.

    Attributes:
        part: one of `PARTS`.
        target: the path inside the model folder, e.g. `vae/qwen_image_vae.safetensors`.
        kind: one of `CONTENT_KINDS`.
        repo: a Hugging Face repository (with `path` and `revision`), or "" when `url` is given.
        path: the file's path inside `repo`.
        revision: a branch, tag or commit of `repo`.
        url: a direct http(s) URL instead of `repo`.
        variant: the DiT variant this file is (`base`, ...); None for files every variant uses.
        sha256: the expected hex digest, or None when unknown.
        size: the expected size in bytes, or None when unknown.
        origin: where the file comes from.
        licence: the file's licence.
    """

    part: str
    target: str
    kind: str
    repo: str = ""
    path: str = ""
    revision: str = "main"
    url: str = ""
    variant: str | None = None
    sha256: str | None = None
    size: int | None = None
    origin: str = ""
    licence: str = ""

    def __post_init__(self) -> None:
        if self.part not in PARTS:
            raise ConfigError(f"unknown part {self.part!r}; expected one of {', '.join(PARTS)}")
        if self.kind not in CONTENT_KINDS:
            raise ConfigError(f"{self.target}: unknown kind {self.kind!r}")
        if bool(self.url) == bool(self.repo and self.path):
            raise ConfigError(f"{self.target}: give either `url` or `repo` and `path`")
        if self.url and not self.url.startswith(("https://", "http://")):
            raise ConfigError(f"{self.target}: the URL must be http(s), got {self.url!r}")
        target = PurePosixPath(self.target)
        if target.is_absolute() or ".." in target.parts or not target.name:
            raise ConfigError(f"target {self.target!r} must be a relative path inside the model folder")
        if self.sha256 is not None and not _SHA256.fullmatch(self.sha256):
            raise ConfigError(f"{self.target}: sha256 must be 64 lowercase hex digits, got {self.sha256!r}")
        if self.size is not None and self.size <= 0:
            raise ConfigError(f"{self.target}: size must be positive, got {self.size}")
        if self.url and self.sha256 is None:
            raise ConfigError(f"{self.target}: a file given by `url` needs its `sha256` pinned")

    @property
    def on_hub(self) -> bool:
        """True for a file in a Hugging Face repository."""
        return bool(self.repo)

    def resolve(self, endpoint: str = DEFAULT_ENDPOINT) -> str:
        """The download URL; a hub file is fetched from `endpoint` (a mirror, if `HF_ENDPOINT` names one)."""
        return hub_url(self.repo, self.path, self.revision, endpoint) if self.on_hub else self.url


def load_model_manifest(path: Path | None = None) -> tuple[ModelSource, ...]:
    """The entries of `data/models.toml` (or of `path`).

    Raises:
        ConfigError: the manifest is missing, not TOML, or an entry is malformed.
    """
    manifest = path or data_path(MANIFEST_FILE)
    try:
        entries = tomllib.loads(manifest.read_text(encoding="utf-8")).get("file", [])
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{manifest}: cannot read the model manifest: {error}") from None
    sources = []
    for number, entry in enumerate(entries, start=1):
        try:
            sources.append(ModelSource(**entry))
        except TypeError as error:
            raise ConfigError(f"{manifest}: file #{number}: {error}") from None
        except ConfigError as error:
            raise ConfigError(f"{manifest}: file #{number}: {error}") from None
    return tuple(sources)
