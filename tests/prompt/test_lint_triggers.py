"""LoRA trigger words (`anima_prompt.lint.triggers`): a LoRA's own word is no unknown tag and keeps its
spelling."""

import json
import struct
from pathlib import Path

from anima_prompt.lint import LintConfig, Linter, LintSettings
from anima_prompt.lint.findings import Finding
from anima_prompt.lint.triggers import Triggers, trained_tags, triggers_for
from tests.prompt import lint_support

small_index = lint_support.small_index


def write_lora(path: Path, tag_frequency: object | None) -> Path:
    """A safetensors file whose metadata holds `ss_tag_frequency`, as kohya's trainer writes it."""
    metadata = {} if tag_frequency is None else {"ss_tag_frequency": json.dumps(tag_frequency)}
    header = json.dumps({"__metadata__": metadata}).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    return path


def codes_at(found: tuple[Finding, ...], text: str, prompt: str) -> set[str]:
    span = (prompt.index(text), prompt.index(text) + len(text))
    return {f.code for f in found if f.span is not None and (f.span.start, f.span.end) == span}


def lint(
    prompt: str, index: object, settings: LintSettings | None = None, **config: object
) -> tuple[Finding, ...]:
    linter = Linter(config=LintConfig(**config), index=index)  # type: ignore[arg-type]
    return linter.lint(prompt, settings=settings)


def test_a_word_of_the_loras_name_is_its_trigger(small_index: object) -> None:
    prompt = "1girl, csmakima, glowing hair, safe, <lora:makimaHairInpaint_csmakima:0.5>"
    found = lint(prompt, small_index)
    assert codes_at(found, "csmakima", prompt) == set()
    # `hair` is common in Danbooru's tags, so the name's `Hair` makes no unknown item a trigger
    assert "ANM-TAG-004" in codes_at(found, "glowing hair", prompt)


def test_a_name_part_starts_a_trigger_word_and_keeps_its_spelling(small_index: object) -> None:
    prompt = "2girls, Miyama_Suzune, safe, <lora:animaSuzuRena:1.0>"
    assert codes_at(lint(prompt, small_index), "Miyama_Suzune", prompt) == set()  # no TAG-001/002/004


def test_without_the_lora_the_same_word_is_reported(small_index: object) -> None:
    prompt = "1girl, csmakima, safe"
    assert "ANM-TAG-004" in codes_at(lint(prompt, small_index), "csmakima", prompt)


def test_a_trigger_the_index_knows_under_a_fuller_name_is_still_reported(small_index: object) -> None:
    # `blue hiar` is close to the known `blue hair`: the report and its suggestion help even beside the LoRA
    prompt = "1girl, blue hiar, safe, <lora:blueHiarStyle:1>"
    (finding,) = [f for f in lint(prompt, small_index) if f.code == "ANM-TAG-004"]
    assert finding.suggestions == ("blue hair",)


def test_an_item_opening_like_the_loras_name_is_its_trigger(small_index: object) -> None:
    prompt = "1girl, 748cmstyle, safe, <lora:748cmSDXL:0.3>"
    assert codes_at(lint(prompt, small_index), "748cmstyle", prompt) == set()
    unrelated = "1girl, 748cmstyle, safe, <lora:inkStyle:0.3>"
    assert "ANM-TAG-004" in codes_at(lint(unrelated, small_index), "748cmstyle", unrelated)


def test_loras_of_the_settings_count_too(small_index: object) -> None:
    prompt = "1girl, legato, safe"
    settings = LintSettings(loras=(("legatov1", 0.9),))
    assert codes_at(lint(prompt, small_index, settings), "legato", prompt) == set()


def test_training_tags_of_a_found_lora_file_are_triggers(tmp_path: Path, small_index: object) -> None:
    write_lora(tmp_path / "loras" / "v1.safetensors", {"10_ectg": {"Ectg": 40, "1girl": 40}})
    prompt = "1girl, Ectg, safe, <lora:v1:1>"  # not first: an opening coined word is a trigger anyway
    found = lint(prompt, small_index, lora_dirs=(str(tmp_path / "loras"),))
    assert codes_at(found, "Ectg", prompt) == set()  # neither unknown nor to be lowercased
    unfound = lint(prompt, small_index, lora_dirs=(str(tmp_path / "elsewhere"),))
    assert {"ANM-TAG-002", "ANM-TAG-004"} <= codes_at(unfound, "Ectg", prompt)


def test_trained_tags_read_kohya_metadata_and_survive_bad_files(tmp_path: Path) -> None:
    good = write_lora(tmp_path / "a.safetensors", {"5_x": {"near_noah_sdvx": 3, "Blue Hair": 2}, "bad": 3})
    assert trained_tags(good) == frozenset({"near_noah_sdvx", "blue_hair"})
    assert trained_tags(write_lora(tmp_path / "b.safetensors", None)) == frozenset()
    (tmp_path / "short.safetensors").write_bytes(b"\x01\x02")
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(struct.pack("<Q", 5) + b"{nope")
    for path in (tmp_path / "short.safetensors", huge, broken, tmp_path / "missing.safetensors"):
        assert trained_tags(path) == frozenset()


def test_names_split_into_parts_without_the_generic_ones() -> None:
    triggers = triggers_for(["styles/twitchEmotesLORA_v13", "animaSuzuRena"], lambda name: None)
    assert triggers.names == ("twitchemoteslorav13", "animasuzurena")
    assert triggers.parts == frozenset({"twitch", "emotes", "suzu", "rena"})
    assert triggers.covers("twitch emote", lambda word: 0)
    assert triggers.covers("emote twitch", lambda word: 0)
    assert not triggers.covers("emote twitch", lambda word: 10**6)  # common words name nothing
    assert triggers.covers("twitch emote", lambda word: 10**6)  # it opens like the name
    assert not Triggers().covers("anything", lambda word: 0)


def test_a_coined_word_opening_the_prompt_is_its_trigger(small_index: object) -> None:
    for prompt in ("Yanagise_Eika, 1girl, smile, safe", "<lora:eika_v2:0.8>, Yanagise_Eika, 1girl, safe"):
        assert codes_at(lint(prompt, small_index), "Yanagise_Eika", prompt) == set()  # no TAG-001/002/004
    # later in the prompt, in the negative prompt, or near a known tag, it is reported
    later = "1girl, Yanagise_Eika, smile, safe"
    assert {"ANM-TAG-001", "ANM-TAG-002", "ANM-TAG-004"} <= codes_at(
        lint(later, small_index), "Yanagise_Eika", later
    )
    negative = Linter(index=small_index).lint("1girl, safe", negative="anmwp, lowres")  # type: ignore[arg-type]
    assert any(f.code == "ANM-TAG-004" and f.span is not None and f.span.start == 0 for f in negative)
    (slip,) = [f for f in lint("blue hiar, 1girl, safe", small_index) if f.code == "ANM-TAG-004"]
    assert slip.suggestions == ("blue hair",)


def test_an_opening_item_of_tag_words_is_no_trigger(small_index: object) -> None:
    prompt = "glowing hair style, 1girl, safe"
    assert "ANM-TAG-004" in codes_at(lint(prompt, small_index), "glowing hair style", prompt)


def test_an_artist_right_after_a_lora_tag_is_its_trigger(small_index: object) -> None:
    prompt = "<lora:Haru579_AnimaV1:1> @hrlrst, A young woman with short hair holds a can. She smiles."
    assert "ANM-ART-002" not in {f.code for f in lint(prompt, small_index)}
    # elsewhere an unknown artist is still reported
    later = "1girl, @hrlrst, smile, safe, <lora:Haru579_AnimaV1:1>"
    assert "ANM-ART-002" in {f.code for f in lint(later, small_index)}
