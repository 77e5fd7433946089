"""LoRA rules (ANM-LORA): LoRA files that cannot be found.

Turbo LoRAs are checked with the Turbo settings (ANM-CFG-003), and `<lora:...>` syntax by ANM-SYN-003.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from anima_prompt.lint.analysis import Analysis
from anima_prompt.lint.context import RuleContext
from anima_prompt.lint.findings import Finding
from anima_prompt.lint.findings import Severity as S
from anima_prompt.lint.registry import Example, Scope, rule

FOLDERS_SHOWN = 3


def _searched(folders: tuple[Path, ...]) -> str:
    shown = ", ".join(str(folder) for folder in folders[:FOLDERS_SHOWN])
    hidden = len(folders) - FOLDERS_SHOWN
    return shown + (f" and {hidden} more" if hidden > 0 else "")


@rule(
    "ANM-LORA-001",
    "lora-not-found",
    S.WARNING,
    scope=Scope.POSITIVE,
    bad=Example("1girl, <lora:ink_style:0.8>, safe", config={"lora-dirs": ["/nonexistent/loras"]}),
    good=Example("1girl, <lora:ink_style:0.8>, safe"),
)
def lora_not_found(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A LoRA named in the prompt or in the settings is not in any configured LoRA folder.

    `<lora:name:0.8>` stands for `name.safetensors` in a LoRA folder or one of its sub-folders, looked up
    the way `anima generate` does: the `lora-dirs` option and `--lora-dir`, then `$ANIMA_LORA_DIR`, then
    the `models/loras/` folder of `--comfyui` (else of `$COMFYUI_PATH` and the usual ComfyUI install
    folders). A missing file stops `anima generate`,
    and A1111/Forge generate without the LoRA. LoRAs in the settings
    (`anima generate --lora`, `loras` in JSONL settings) may also be paths to files. When no LoRA folder is
    configured the linter cannot check names and says nothing. With `front-end = "anima"` the finding is
    an error, because `anima generate` refuses to run without the file.
    """
    files = ctx.loras
    severity = S.ERROR if ctx.config.front_end == "anima" else None
    if files.known:
        for item, tag in prompt.lora_tags:
            if files.find(tag.name) is None:
                yield ctx.report(
                    "ANM-LORA-001",
                    (item.start, item.end),
                    f"LoRA `{tag.name}` not found in {_searched(files.folders)}",
                    severity=severity,
                )
    for name, _ in ctx.settings.loras:
        if (files.known or Path(name).is_absolute()) and files.find(name) is None:
            where = f"in {_searched(files.folders)}" if files.known else "(no such file)"
            yield ctx.report(
                "ANM-LORA-001", None, f"LoRA `{name}` from the settings not found {where}", severity=severity
            )
