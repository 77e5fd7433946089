"""Generation-settings rules: CFG (ANM-CFG), steps (ANM-STP), resolution (ANM-RES), sampler (ANM-SMP)."""

from __future__ import annotations

import math
from collections.abc import Iterator

from anima_prompt.lint.context import RuleContext
from anima_prompt.lint.findings import Finding, Severity
from anima_prompt.lint.registry import Example, Scope, rule
from anima_prompt.lint.settings import LintSettings, Variant
from anima_prompt.loras import looks_like_turbo_lora
from anima_prompt.sampler_names import (
    ResolvedSampler,
    closest_sampler,
    closest_scheduler,
    is_cfg_pp,
    is_front_end_default,
    resolve_sampler,
    resolve_scheduler,
    sampler_spellings,
    scheduler_spellings,
)

#: Samplers for which the card allows a somewhat higher CFG ("euler_a ... tolerates higher CFG").
_ANCESTRAL_EULER = frozenset({"euler_ancestral", "euler_ancestral_cfg_pp"})


def _settings_finding(
    ctx: RuleContext, code: str, message: str, *, suggestions: tuple[str, ...] = ()
) -> Finding:
    return ctx.report(code, None, message, suggestions=suggestions)


def _fmt(value: float) -> str:
    return f"{value:g}"


def _variant(settings: LintSettings) -> Variant:
    return settings.variant or Variant.BASE


def _cfg_range(ctx: RuleContext) -> tuple[float, float]:
    """The recommended CFG range of the run: Turbo's (also with a Turbo LoRA), Aesthetic's or Base's."""
    if _turbo(ctx) is not None:
        return ctx.config.cfg_turbo, ctx.config.cfg_turbo
    if _variant(ctx.settings) is Variant.AESTHETIC:
        return ctx.config.cfg_aesthetic
    return ctx.config.cfg_base


def _sampler(settings: LintSettings) -> ResolvedSampler | None:
    """The settings' sampler as a canonical name, whatever front end's spelling it was written in."""
    return resolve_sampler(settings.sampler) if settings.sampler else None


def turbo_lora(ctx: RuleContext) -> str | None:
    """The name of an active Turbo LoRA (strength above 0): from the settings' LoRAs, then the prompt's
    `<lora:...>` tags where the front end loads them (`front-end = "anima"`; ComfyUI core passes them to the
    encoder as text, see ANM-SYN-003); `None` when there is none."""
    for name, strength in ctx.settings.loras:
        if strength > 0 and looks_like_turbo_lora(name):
            return name
    if ctx.config.front_end != "anima":
        return None
    for _, tag in ctx.positive.lora_tags:
        if looks_like_turbo_lora(tag.name) and _active(tag.strength):
            return tag.name
    return None


def _active(strength: str | None) -> bool:
    try:
        return not strength or not strength.strip() or float(strength) > 0
    except ValueError:
        return True  # unreadable: ANM-SYN-003 reports it; count the LoRA as used


#: A run of at most this CFG and this many steps, with no variant named, follows a distilled model's recipe
#: (Anima Turbo, a Turbo or few-step LoRA that the settings do not name): no base model's CFG or step range
#: applies to it. 1.5 leaves room for Turbo LoRAs run slightly above CFG 1.
DISTILLED_MAX_CFG = 1.5
DISTILLED_MAX_STEPS = 16


def _distilled(ctx: RuleContext) -> bool:
    """Whether the run is a Turbo run (`_turbo`) or follows a distilled recipe without naming its model."""
    if _turbo(ctx) is not None:
        return True
    cfg, steps = ctx.settings.cfg, ctx.settings.steps
    if cfg is None or steps is None or ctx.settings.variant is not None:
        return False
    return cfg <= DISTILLED_MAX_CFG and steps <= DISTILLED_MAX_STEPS


def _turbo(ctx: RuleContext) -> str | None:
    """What makes this run a Turbo run, as named in messages: `Anima Turbo`, a Turbo LoRA, or `None`."""
    if ctx.settings.variant is Variant.TURBO:
        return "Anima Turbo"
    name = turbo_lora(ctx)
    return None if name is None else f"the Turbo LoRA `{name}`"


@rule(
    "ANM-CFG-001",
    "cfg-burns",
    Severity.ERROR,
    scope=Scope.SETTINGS,
    bad=Example("1girl, solo, safe", settings={"cfg": 12}),
    good=Example("1girl, solo, safe", settings={"cfg": 5}),
)
def cfg_burns(prompt: object, ctx: RuleContext) -> Iterator[Finding]:
    """CFG so high that Anima burns the image (over-saturated colours, fried lines).

    The model card recommends CFG 4-5 (a later revision 4-6) for Base and Aesthetic; community reports say
    Anima burns more easily than SDXL anime models. Above `cfg-burn` (10) the image is almost certainly
    damaged, whatever the sampler. Lower the CFG to the top of the run's recommended range (1 on Turbo).
    """
    cfg = ctx.settings.cfg
    if cfg is not None and cfg > ctx.config.cfg_burn:
        yield _settings_finding(
            ctx,
            "ANM-CFG-001",
            f"CFG {_fmt(cfg)} is above {_fmt(ctx.config.cfg_burn)} and will burn Anima images",
            suggestions=(_fmt(_cfg_range(ctx)[1]),),
        )


@rule(
    "ANM-CFG-002",
    "cfg-out-of-range",
    Severity.WARNING,
    scope=Scope.SETTINGS,
    bad=Example("1girl, solo, safe", settings={"cfg": 8, "variant": "base"}),
    good=Example("1girl, solo, safe", settings={"cfg": 4.5, "variant": "base"}),
)
def cfg_out_of_range(prompt: object, ctx: RuleContext) -> Iterator[Finding]:
    """CFG outside the range recommended for the model variant (Base 4-6, Aesthetic 3-6).

    The v1.0 card recommends CFG 4-5 for Base; a later revision says 4-6 and notes that Aesthetic runs at
    about 3. `euler_ancestral` tolerates a somewhat higher CFG, so its upper bound is raised by
    `euler-a-cfg-bonus`, however the sampler is spelt (`euler_ancestral`, A1111's `Euler a`, `euler_a`).
    Turbo, and runs with a Turbo LoRA, are checked by ANM-CFG-003 instead; CFG above `cfg-burn` by
    ANM-CFG-001. A run at CFG 1.5 or less with 16 steps or fewer and no variant named follows a distilled
    model's recipe (a Turbo or few-step LoRA loaded outside the prompt) and is not held to Base's range, and
    neither is a CFG++ sampler (`euler_cfg_pp`, `Euler a CFG++`), whose guidance scale runs near 1.
    """
    cfg, variant = ctx.settings.cfg, _variant(ctx.settings)
    if cfg is None or cfg > ctx.config.cfg_burn or _distilled(ctx):
        return
    if ctx.settings.sampler is not None and is_cfg_pp(ctx.settings.sampler):
        return  # CFG++ takes guidance on a scale of its own, near 1
    low, high = _cfg_range(ctx)
    sampler = _sampler(ctx.settings)
    ancestral = sampler is not None and sampler.name in _ANCESTRAL_EULER
    if ancestral:
        high += ctx.config.euler_a_cfg_bonus
    if not low <= cfg <= high:
        which = f"Anima {variant.value}" + (" with euler_ancestral" if ancestral else "")
        yield _settings_finding(
            ctx,
            "ANM-CFG-002",
            f"CFG {_fmt(cfg)} is outside the recommended {_fmt(low)}-{_fmt(high)} for {which}",
            suggestions=(_fmt(min(max(cfg, low), high)),),
        )


@rule(
    "ANM-CFG-003",
    "turbo-settings",
    Severity.WARNING,
    scope=Scope.SETTINGS,
    bad=Example("1girl, solo, safe", settings={"cfg": 4, "steps": 10, "variant": "turbo"}),
    good=Example("1girl, solo, safe", settings={"cfg": 1, "steps": 10, "variant": "turbo"}),
)
def turbo_settings(prompt: object, ctx: RuleContext) -> Iterator[Finding]:
    """Anima Turbo, and the Turbo LoRA, are distilled for CFG 1 and 8-12 steps.

    The model card says to run Turbo at CFG 1 with 8-12 steps; the same holds for the Turbo LoRA on Base.
    A higher CFG overcooks the distilled model, and more steps only cost time. A Turbo LoRA is one whose
    file name contains "turbo", applied with a strength above 0: in the settings' LoRAs
    (`anima generate --lora`) or, with `front-end = "anima"`, as a `<lora:...>` tag in the prompt (ComfyUI
    core does not load those). (At CFG 1 the negative prompt is not used at all; see ANM-CFG-004.)
    """
    source = _turbo(ctx)
    if source is None:
        return
    cfg, steps = ctx.settings.cfg, ctx.settings.steps
    if cfg is not None and cfg != ctx.config.cfg_turbo:
        yield _settings_finding(
            ctx,
            "ANM-CFG-003",
            f"{source} runs at CFG {_fmt(ctx.config.cfg_turbo)}; CFG {_fmt(cfg)} will overcook it",
            suggestions=(_fmt(ctx.config.cfg_turbo),),
        )
    low, high = ctx.config.steps_turbo
    if steps is not None and not low <= steps <= high:
        yield _settings_finding(
            ctx,
            "ANM-CFG-003",
            f"{source} wants {low}-{high} steps, got {steps}",
            suggestions=(str(min(max(steps, low), high)),),
        )


@rule(
    "ANM-CFG-004",
    "negative-ignored",
    Severity.INFO,
    scope=Scope.SETTINGS,
    bad=Example("1girl, solo, safe", negative="worst quality, nsfw", settings={"cfg": 1}),
    good=Example("1girl, solo, safe", negative="worst quality, nsfw", settings={"cfg": 4.5}),
)
def negative_ignored(prompt: object, ctx: RuleContext) -> Iterator[Finding]:
    """At CFG 1 the negative prompt is never evaluated, so it has no effect.

    Classifier-free guidance mixes the positive and negative predictions as
    `neg + cfg * (pos - neg)`; at CFG 1 this is the positive prediction alone, and samplers skip the negative
    pass. This is expected with Anima Turbo; remove the negative prompt or raise the CFG. CFG++ samplers
    (`euler_cfg_pp`) are the exception: they use the negative prediction in every step, also at CFG 1. The
    negative prompt's other findings are left out at CFG 1, since no change to it can change the image; only
    what stops `anima generate` is still reported (a LoRA tag in it, ANM-SYN-003).
    """
    if not ctx.settings.negative_used and ctx.negative is not None and ctx.negative.text.strip():
        yield _settings_finding(ctx, "ANM-CFG-004", "at CFG 1 the negative prompt has no effect")


@rule(
    "ANM-STP-001",
    "steps-out-of-range",
    Severity.INFO,
    scope=Scope.SETTINGS,
    bad=Example("1girl, solo, safe", settings={"steps": 12, "variant": "base"}),
    good=Example("1girl, solo, safe", settings={"steps": 30, "variant": "base"}),
)
def steps_out_of_range(prompt: object, ctx: RuleContext) -> Iterator[Finding]:
    """Steps outside the 30-50 the model card recommends for Base and Aesthetic.

    Too few steps leave the image unfinished; many more than 50 cost time without improving it. Turbo's 8-12
    steps, with the Turbo model or a Turbo LoRA, are checked by ANM-CFG-003; a run at CFG 1.5 or less with
    16 steps or fewer and no variant named follows a distilled recipe and is left alone.
    """
    steps = ctx.settings.steps
    if steps is None or _distilled(ctx):
        return
    low, high = ctx.config.steps_base
    if not low <= steps <= high:
        yield _settings_finding(
            ctx,
            "ANM-STP-001",
            f"{steps} steps is outside the recommended {low}-{high}",
            suggestions=(str(min(max(steps, low), high)),),
        )


def _size(settings: LintSettings) -> tuple[int, int] | None:
    if settings.width is None or settings.height is None:
        return None
    return settings.width, settings.height


@rule(
    "ANM-RES-001",
    "resolution-out-of-range",
    Severity.WARNING,
    scope=Scope.SETTINGS,
    bad=Example("1girl, solo, safe", settings={"width": 2048, "height": 2048}),
    good=Example("1girl, solo, safe", settings={"width": 1024, "height": 1024}),
)
def resolution_out_of_range(prompt: object, ctx: RuleContext) -> Iterator[Finding]:
    """Image area outside the 512x512 to 1536x1536 pixels Anima works at.

    The v1.0 model card says Anima works between 512² and 1536² pixels (about 0.26 to 2.36 megapixels).
    Outside that range expect duplicated subjects (too large) or mush (too small).
    """
    size = _size(ctx.settings)
    if size is None:
        return
    pixels = size[0] * size[1]
    if not ctx.config.min_pixels <= pixels <= ctx.config.max_pixels:
        yield _settings_finding(
            ctx,
            "ANM-RES-001",
            f"{size[0]}x{size[1]} = {pixels / 1e6:.2f} MP is outside Anima's "
            f"{ctx.config.min_pixels / 1e6:.2f}-{ctx.config.max_pixels / 1e6:.2f} MP range",
            suggestions=("1024x1024", "896x1152", "1152x896"),
        )


@rule(
    "ANM-RES-002",
    "resolution-off-sweet-spot",
    Severity.INFO,
    scope=Scope.SETTINGS,
    bad=Example("1girl, solo, safe", settings={"width": 768, "height": 768}),
    good=Example("1girl, solo, safe", settings={"width": 1024, "height": 1024}),
)
def resolution_off_sweet_spot(prompt: object, ctx: RuleContext) -> Iterator[Finding]:
    """Image area inside Anima's range but away from the 1-2 megapixel sweet spot.

    The preview card recommends about 1 MP (1024x1024, 896x1152, 1152x896); results are best between 1 and
    2 MP. "About" is taken as `sweet-tolerance` (10 %): the card's own examples are 1.03-1.05 MP, and the
    aspect-ratio buckets anime models are trained and run at step their sides by 64 pixels, which keeps
    them within 10 % of 1 MP (1024x896 is 0.92 MP, 1536x640 0.98 MP), so 0.9-2.2 MP counts as on the spot.
    Areas outside the hard range are reported by ANM-RES-001 instead.
    """
    size = _size(ctx.settings)
    if size is None:
        return
    pixels = size[0] * size[1]
    low, high = _sweet_pixels(ctx)
    inside_hard = ctx.config.min_pixels <= pixels <= ctx.config.max_pixels
    if inside_hard and not low <= pixels <= high:
        sweet_low, sweet_high = ctx.config.sweet_megapixels
        yield _settings_finding(
            ctx,
            "ANM-RES-002",
            f"{size[0]}x{size[1]} = {pixels / 1e6:.2f} MP; "
            f"Anima gives its best results at about {_fmt(sweet_low)}-{_fmt(sweet_high)} MP",
            suggestions=("1024x1024", "896x1152", "1152x896"),
        )


def _sweet_pixels(ctx: RuleContext) -> tuple[float, float]:
    """The pixel counts that count as on the sweet spot (`sweet-megapixels` widened by `sweet-tolerance`)."""
    low, high = ctx.config.sweet_megapixels
    tolerance = ctx.config.sweet_tolerance
    return low * 1e6 * (1 - tolerance), high * 1e6 * (1 + tolerance)


@rule(
    "ANM-RES-003",
    "resolution-not-multiple",
    Severity.WARNING,
    scope=Scope.SETTINGS,
    bad=Example("1girl, solo, safe", settings={"width": 1000, "height": 1000}),
    good=Example("1girl, solo, safe", settings={"width": 1008, "height": 1008}),
)
def resolution_not_multiple(prompt: object, ctx: RuleContext) -> Iterator[Finding]:
    """Width or height is not a multiple of 16 (one finding names both sides).

    The VAE downsamples by 8 and the DiT patchifies 2x2 latents, so sides must be multiples of 16; front ends
    crop or pad other sizes. The suggestion is the size with each such side at the nearest multiple, or,
    when the image area is off the sweet spot (ANM-RES-002), the nearest multiple towards it.
    """
    multiple = ctx.config.size_multiple
    size = _size(ctx.settings)
    toward = 0  # -1: round down, 1: round up, 0: to the nearest
    if size is not None:
        low, high = _sweet_pixels(ctx)
        toward = -1 if size[0] * size[1] > high else 1 if size[0] * size[1] < low else 0
    sides = {name: getattr(ctx.settings, name) for name in ("width", "height")}
    off = [f"{name} {value}" for name, value in sides.items() if value is not None and value % multiple]
    if not off:
        return
    rounded = {
        name: _to_multiple(value, multiple, toward) for name, value in sides.items() if value is not None
    }
    suggestion = f"{rounded['width']}x{rounded['height']}" if len(rounded) == 2 else str(*rounded.values())
    verb = "is not a multiple" if len(off) == 1 else "are not multiples"
    yield _settings_finding(
        ctx, "ANM-RES-003", f"{' and '.join(off)} {verb} of {multiple}", suggestions=(suggestion,)
    )


def _to_multiple(value: int, multiple: int, toward: int) -> int:
    """`value` rounded to a multiple: down (`toward` < 0), up (> 0) or to the nearest (0); never below one."""
    if not value % multiple:
        return value
    steps = value / multiple
    rounded = math.floor(steps) if toward < 0 else math.ceil(steps) if toward > 0 else round(steps)
    return max(multiple, rounded * multiple)


#: Edits a misspelt sampler or scheduler name may hold (`eular_a` for `euler_a`, `karas` for `karras`).
SAMPLER_TYPO_EDITS = 2


@rule(
    "ANM-SMP-001",
    "unknown-sampler",
    Severity.WARNING,
    scope=Scope.SETTINGS,
    bad=Example("1girl, solo, safe", settings={"sampler": "eular_a"}),
    good=Example("1girl, solo, safe", settings={"sampler": "Euler a"}),
)
def unknown_sampler(prompt: object, ctx: RuleContext) -> Iterator[Finding]:
    """The sampler or scheduler name is a misspelling of one that ComfyUI, A1111, Forge or RES4LYF know.

    Every front end's spelling is accepted: ComfyUI's names (`euler_ancestral`, `karras`), A1111/Forge
    labels (`Euler a`, `DPM++ 2M SDE`, old labels with the schedule in them such as `DPM++ 2M Karras`, the
    `Automatic` schedule) and RES4LYF's (`res_2s`, `beta57`), in any case and with spaces, `_` or `-`
    (`data/sampler_names.toml`). The card's recommendations are `er_sde` (the author's default: flat
    colours, sharp lines), `euler_ancestral` (softer lines), `dpmpp_2m_sde_gpu` (more varied) and `euler`
    (for Turbo and Aesthetic). A name unlike every known one (more than two edits away) is taken for a custom
    node's sampler (`flow_unipc2_x0`) and left alone: no list can know them all.
    """
    sampler, scheduler = ctx.settings.sampler, ctx.settings.scheduler
    if sampler is not None and resolve_sampler(sampler) is None:
        meant = _misspelt(sampler, sampler_spellings(), ctx.config.suggestion_limit)
        if meant:
            yield _settings_finding(ctx, "ANM-SMP-001", f"unknown sampler {sampler!r}", suggestions=meant)
    if scheduler is not None and resolve_scheduler(scheduler) is None and not is_front_end_default(scheduler):
        meant = _misspelt(scheduler, scheduler_spellings(), ctx.config.suggestion_limit)
        if meant:
            yield _settings_finding(ctx, "ANM-SMP-001", f"unknown scheduler {scheduler!r}", suggestions=meant)


def _misspelt(name: str, spellings: tuple[str, ...], limit: int) -> tuple[str, ...]:
    """The known spellings `name` is a slip of: at most `SAMPLER_TYPO_EDITS` edits away, letters and digits
    compared in lower case, nearest first. None for a name unlike every known one, such as a custom node's
    sampler (`flow_unipc2_x0`), which no front end's list can know."""
    from rapidfuzz.distance import DamerauLevenshtein

    def compact(text: str) -> str:
        return "".join(char for char in text.lower() if char.isalnum())

    written = compact(name)
    distances = {spelling: DamerauLevenshtein.distance(written, compact(spelling)) for spelling in spellings}
    # nearest first; among equals, the spelling nearest to the text as written (`karras` for `karas`)
    close = sorted(
        (d, DamerauLevenshtein.distance(name, spelling), spelling)
        for spelling, d in distances.items()
        if d <= SAMPLER_TYPO_EDITS
    )
    return tuple(spelling for *_, spelling in close)[:limit]


@rule(
    "ANM-SMP-002",
    "sampler-for-anima-generate",
    Severity.ERROR,
    scope=Scope.SETTINGS,
    bad=Example("1girl, solo, safe", settings={"sampler": "DPM++ 2M Karras"}, config={"front-end": "anima"}),
    good=Example("1girl, solo, safe", settings={"sampler": "er_sde"}, config={"front-end": "anima"}),
)
def sampler_for_anima_generate(prompt: object, ctx: RuleContext) -> Iterator[Finding]:
    """`anima generate` (`front-end = "anima"`) lacks this sampler or scheduler, or spells it otherwise.

    The engine takes ComfyUI's names, and has a subset of ComfyUI's samplers (`data/sampler_names.toml`,
    table `engine`); it stops on any other name. A label from another front end (`Euler a`, `Karras`) is
    reported with the name `anima generate` uses (`euler_ancestral`, `karras`); a sampler it lacks with
    its closest one: deterministic single-step solvers map to `euler` (DDIM is Euler on a flow model),
    multistep ones such as `DPM++ 2M` to `res_multistep`, ancestral ones to `euler_ancestral`, SDE solvers
    to `er_sde` or `dpmpp_2m_sde`; RES4LYF's `beta57` schedule to `beta`. With `front-end = "comfyui"`
    (the default) the rule is silent: ComfyUI, A1111 and Forge run their own names.
    """
    if ctx.config.front_end != "anima":
        return
    settings = ctx.settings
    sampler = _sampler(settings)
    if settings.sampler is not None and sampler is not None:
        message = _engine_name("sampler", settings.sampler, sampler.name, closest_sampler(sampler.name))
        if message is not None:
            yield _settings_finding(ctx, "ANM-SMP-002", message[0], suggestions=message[1])
    written = settings.scheduler or (sampler.scheduler if sampler is not None else None)
    scheduler = resolve_scheduler(written) if written is not None else None
    if written is not None and scheduler is not None:
        message = _engine_name("scheduler", written, scheduler, closest_scheduler(scheduler))
        if message is not None:
            yield _settings_finding(ctx, "ANM-SMP-002", message[0], suggestions=message[1])


def _engine_name(
    kind: str, written: str, name: str, closest: str | None
) -> tuple[str, tuple[str, ...]] | None:
    """The message and suggestion for a sampler or scheduler `anima generate` runs as `closest`, or None."""
    if closest == name:
        if written.strip() == name:
            return None
        return f"`anima generate` calls the {kind} `{written}` `{name}`", (name,)
    spelt = f"`{name}`" if written.strip() == name else f"`{written}` (`{name}`)"
    if closest is None:
        return f"`anima generate` has no {kind} {spelt}", ()
    return f"`anima generate` has no {kind} {spelt}; the closest it has is `{closest}`", (closest,)
