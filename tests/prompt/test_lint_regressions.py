"""Regression tests for classes of wrong findings seen on real prompts (`tests/corpus/`).

Each case is hand-written in the shape of a prompt that once got a wrong finding, so the shape stays fixed
without depending on the corpus itself.
"""

import pytest

from anima_prompt import normalize, parse, render
from anima_prompt.boundary import Reading, read_item
from anima_prompt.lint import Finding, Linter
from anima_prompt.lint.registry import Example
from anima_prompt.nodes import Foreign, Tag, walk
from tests.prompt import lint_support
from tests.prompt.lint_support import run_example

small_index = lint_support.small_index


def found(example: Example | str, code: str, index: object = None) -> list[Finding]:
    case = example if isinstance(example, Example) else Example(example)
    return [finding for finding in run_example(case, index) if finding.code == code]


def spans(findings: list[Finding]) -> list[tuple[int, int]]:
    return [(f.span.start, f.span.end) for f in findings if f.span is not None]


# --- weights: nested groups are judged on the weight their content ends up with ---------------------------


@pytest.mark.parametrize("text", ["(((full body)))", "((((black hair))))", "(((The girl is in the frame)))"])
def test_three_nested_levels_are_not_weak(text: str) -> None:
    assert found(f"safe, 1girl, {text}, smile", "ANM-WGT-001") == []


def test_both_levels_of_a_double_group_are_weak_and_say_so() -> None:
    prompt = "safe, 1girl, ((best quality)), smile"
    weak = found(prompt, "ANM-WGT-001")
    assert spans(weak) == [(13, 29), (14, 28)]
    assert all("1.21 (nested groups multiply)" in f.message for f in weak)
    assert [f.suggestions for f in weak] == [("(best quality:1.5)",), ("(best quality:1.5)",)]


def test_a_written_weight_inside_plain_groups_sets_the_weight() -> None:
    assert spans(found("safe, ((smile:1.2)), 1girl", "ANM-WGT-001")) == [(6, 19), (7, 18)]
    assert found("safe, ((smile:1.4)), 1girl", "ANM-WGT-001") == []


def test_a_wrapper_of_several_groups_takes_the_largest_content_weight() -> None:
    assert found("safe, 1girl, ((a:1.6), (b:1.5))", "ANM-WGT-001") == []


def test_many_nested_plain_groups_are_extreme() -> None:
    deep = "(" * 13 + "smile" + ")" * 13  # 1.1 ** 13 = 3.45
    extreme = found(f"safe, 1girl, {deep}", "ANM-WGT-002")
    assert len(extreme) == 13 and "3.45 (nested groups multiply)" in extreme[0].message
    assert found(f"safe, 1girl, {deep}", "ANM-WGT-001") == []


def test_weak_and_extreme_never_meet_on_one_group() -> None:
    linter = Linter()
    for depth in range(1, 16):
        text = "safe, 1girl, " + "(" * depth + "smile" + ")" * depth
        codes = {(f.code, f.span.start) for f in linter.lint(text) if f.code.startswith("ANM-WGT")}
        starts = [start for _, start in codes]
        assert len(starts) == len(set(starts)), text


# --- samplers and schedulers: every front end's spelling is known; the CFG allowance follows the name ---


@pytest.mark.parametrize(
    "sampler",
    ["Euler a", "euler a", "EulerA", "DPM++ 2M SDE", "DPM++ 2M Karras", "DPM++ SDE Karras", "res_2s"],
)
def test_front_end_sampler_names_are_known(sampler: str) -> None:
    assert found(Example("safe, 1girl", settings={"sampler": sampler}), "ANM-SMP-001") == []


def test_unknown_sampler_and_scheduler_are_reported_with_suggestions() -> None:
    settings = {"sampler": "eular a", "scheduler": "karas"}
    unknown = found(Example("safe, 1girl", settings=settings), "ANM-SMP-001")
    assert [(f.message, f.suggestions[0]) for f in unknown] == [
        ("unknown sampler 'eular a'", "Euler a"),
        ("unknown scheduler 'karas'", "karras"),
    ]
    assert found(Example("safe, 1girl", settings={"scheduler": "Automatic"}), "ANM-SMP-001") == []


@pytest.mark.parametrize("sampler", ["Euler a", "euler_a", "euler_ancestral", "EulerA"])
def test_the_euler_a_cfg_allowance_applies_to_every_spelling(sampler: str) -> None:
    assert found(Example("safe, 1girl", settings={"cfg": 7, "sampler": sampler}), "ANM-CFG-002") == []
    (finding,) = found(Example("safe, 1girl", settings={"cfg": 7.5, "sampler": sampler}), "ANM-CFG-002")
    assert finding.message == "CFG 7.5 is outside the recommended 4-7 for Anima base with euler_ancestral"


@pytest.mark.parametrize(
    ("settings", "messages"),
    [
        ({"sampler": "Euler a"}, ["`anima generate` calls the sampler `Euler a` `euler_ancestral`"]),
        (
            {"sampler": "DPM++ 2M Karras"},
            [
                "`anima generate` has no sampler `DPM++ 2M Karras` (`dpmpp_2m`); "
                "the closest it has is `res_multistep`"
            ],
        ),
        (
            {"sampler": "res_2s", "scheduler": "beta57"},
            [
                "`anima generate` has no sampler `res_2s`; the closest it has is `er_sde`",
                "`anima generate` has no scheduler `beta57`; the closest it has is `beta`",
            ],
        ),
        ({"sampler": "er_sde", "scheduler": "simple"}, []),
    ],
)
def test_anima_generate_names_its_equivalents(settings: dict[str, object], messages: list[str]) -> None:
    example = Example("safe, 1girl", settings=settings, config={"front-end": "anima"})
    assert [f.message for f in found(example, "ANM-SMP-002")] == messages
    assert found(Example("safe, 1girl", settings=settings), "ANM-SMP-002") == []


# --- SD emphasis inside prose is a weight, not brackets in a sentence ----------------------------------


@pytest.mark.parametrize(
    "prompt",
    [
        "A girl reads a book, ((an extremely delicate and beautiful)), she sits by the window.",
        "((The girl is in the center of the frame)), she smiles at the viewer and waves.",
        "(masterpiece, a girl with a hat, (Chinese Taoism), (flowing robes), (dramatic pose), she smiles)",
        "A girl reads. (masterpiece) She sits by the window with a cup of tea.",
    ],
)
def test_emphasis_in_prose_is_a_weight(prompt: str) -> None:
    assert found(prompt, "ANM-ESC-002") == []
    assert found(prompt, "ANM-WGT-001") != []


def test_brackets_continuing_a_sentence_are_still_reported() -> None:
    prompt = "A girl reads a book in the library (at night) while it rains."
    assert spans(found(prompt, "ANM-ESC-002")) == [(35, 45)]
    assert found(prompt, "ANM-WGT-001") == []


def test_a_group_in_a_run_of_tags_without_commas_is_a_weight() -> None:
    negative = "lowres bad error fewer extra missing worst quality lowres (bad) text error fewer extra"
    example = Example("safe, 1girl", negative=negative)
    assert found(example, "ANM-ESC-002") == []
    assert spans(found(example, "ANM-WGT-001")) == [(58, 63)]


# --- other front ends' syntax is named, not read as tags ------------------------------------------------


def test_regional_prompter_keywords_are_foreign_syntax() -> None:
    prompt = "(blue sky:1.2) ADDCOL\ngreen hair, twintails ADDCOL\n(aquarium:1.3) ADDROW\nmessy desk"
    findings = run_example(Example(prompt), None)
    assert [f.message.split(" is ")[0] for f in findings if f.code == "ANM-SYN-001"] == [
        "`ADDCOL`",
        "`ADDCOL`",
        "`ADDROW`",
    ]
    assert not [f for f in findings if f.code in ("ANM-TAG-002", "ANM-DS-002", "ANM-DUP-001")]


def test_line_breaks_around_lora_lines_are_left_alone() -> None:
    prompt = "safe, 1girl, red eyes,\nsmile, outdoors,\n<lora:style_v1:0.8>, <lora:detail:0.5>"
    assert spans(found(prompt, "ANM-DS-002")) == [(21, 23)]


def test_novelai_braces_are_named_and_weighted_suggestion_given() -> None:
    (finding,) = found("safe, 1girl, {{{only five fingers}}}", "ANM-SYN-001")
    assert "NovelAI emphasis" in finding.message
    assert finding.suggestions == ("(only five fingers:1.5)",)
    assert found("safe, 1girl, {red|blue} eyes", "ANM-SYN-001") == []


@pytest.mark.parametrize(
    ("braces", "suggestion"),
    [
        ("{grey sky:1.2}", "(grey sky:1.26)"),
        ("{{grey sky:0.8}}", "(grey sky:0.88)"),
        ("{(grey sky:1.2)}", "(grey sky:1.26)"),
    ],
)
def test_a_weight_inside_novelai_braces_is_kept_not_doubled(braces: str, suggestion: str) -> None:
    (finding,) = found(f"safe, 1girl, {braces}, outdoors", "ANM-SYN-001")
    assert finding.suggestions == (suggestion,)


def test_a_lora_glued_to_an_artist_does_not_hide_the_artist(small_index: object) -> None:
    findings = run_example(Example("safe, 1girl, <lora:style:0.8>@ebifurrya"), small_index)
    (unknown,) = [f for f in findings if f.code == "ANM-ART-002"]
    assert unknown.suggestions[0] == "@ebifurya"
    assert not [f for f in findings if f.code in ("ANM-TAG-004", "ANM-TAG-002")]


def test_embeddings_and_variables_are_not_tags() -> None:
    findings = run_example(
        Example("In ${season}, 1girl, safe", negative="embedding:EasyNegative, lowres"), None
    )
    assert [f.code for f in findings if f.code.startswith("ANM-SYN")] == ["ANM-SYN-001", "ANM-SYN-005"]
    assert not [f for f in findings if f.code == "ANM-TAG-002" and "Easy" in f.message]


def test_midjourney_parameters_are_one_foreign_span_to_the_line_end() -> None:
    prompt = "1girl, safe, rain, neon lights --niji 6 --ar 9:16 --no text, watermark, harsh shadows"
    findings = run_example(Example(prompt), None)
    syntax = [f for f in findings if f.code == "ANM-SYN-001"]
    assert [prompt[f.span.start : f.span.end] for f in syntax if f.span is not None] == [
        "--niji 6 --ar 9:16 --no text, watermark, harsh shadows"
    ]
    assert "Midjourney" in syntax[0].message
    assert not [f for f in findings if f.code.startswith("ANM-TAG") and f.span and f.span.start > 30]
    assert render(normalize(parse(prompt))) == render(normalize(parse(render(normalize(parse(prompt))))))
    assert "--niji 6 --ar 9:16 --no text, watermark, harsh shadows" in render(parse(prompt))


def test_every_line_of_midjourney_parameters_is_one_foreign_span() -> None:
    prompt = "1girl, safe, rain --niji 6 --no text, watermark\n1boy, safe, snow --ar 16:9 --no blur, frame"
    syntax = found(prompt, "ANM-SYN-001")
    assert [prompt[f.span.start : f.span.end] for f in syntax if f.span is not None] == [
        "--niji 6 --no text, watermark",
        "--ar 16:9 --no blur, frame",
    ]
    assert not [f for f in run_example(Example(prompt), None) if f.code == "ANM-TAG-004"]


def test_slots_of_a_prompt_guide_are_placeholders(small_index: object) -> None:
    prompt = (
        "safe, 1girl, @artist, solo, hairstyle tags, pose/action tags, outfit trigger, dog tags, "
        "background tags."
    )
    findings = run_example(Example(prompt), small_index)
    assert [f.code for f in findings if f.span is not None and f.span.start > 22] == []
    assert [f.code for f in found(prompt, "ANM-ART-002", small_index)] == []
    tree = Linter(index=small_index).parser.parse(prompt)  # type: ignore[arg-type]
    slots = [node.text for node in walk(tree) if isinstance(node, Foreign) and node.syntax == "placeholder"]
    assert slots == ["@artist", "hairstyle tags", "pose/action tags", "outfit trigger", "background tags"]


def test_a_slot_name_the_index_knows_is_a_tag(small_index: object) -> None:
    prompt = "safe, 1girl, dog tags, hair ribbon tags"
    unknown = found(prompt, "ANM-TAG-004", small_index)
    assert unknown == []
    linter = Linter(index=small_index)  # type: ignore[arg-type]
    assert "dog tags" in linter.fix("safe, 1girl, dog_tags, hair ribbon tags")
    assert "hair ribbon tags" in linter.fix("safe, 1girl, dog_tags, hair ribbon tags")


def test_a_field_label_opening_a_line_is_split_off_its_item(small_index: object) -> None:
    prompt = "safe, 1girl, solo\nattire: umbrella, smile\n- ORDER: book, dragon\nStyle (strict): rain"
    tree = Linter(index=small_index).parser.parse(prompt)  # type: ignore[arg-type]
    labels = [node.text for node in walk(tree) if isinstance(node, Foreign) and node.syntax == "label"]
    assert labels == ["attire:", "- ORDER:", "Style"]
    assert [node.text for node in walk(tree) if isinstance(node, Tag)][3:] == [
        "umbrella",
        "smile",
        "book",
        "dragon",
        "rain",
    ]  # `strict` is the label's aside, not a tag
    assert render(parse(prompt)) == prompt
    assert [f for f in found(prompt, "ANM-TAG-004", small_index) if ":" in f.message] == []
    fixed = Linter(index=small_index).fix(prompt)  # type: ignore[arg-type]
    assert all(part in fixed for part in ("attire: umbrella", "- ORDER: book", "Style (strict): rain"))


def test_a_colon_inside_a_line_or_of_a_metatag_is_no_label(small_index: object) -> None:
    prompt = "safe, 1girl, extra: smile\nrating: general, smile"
    tree = Linter(index=small_index).parser.parse(prompt)  # type: ignore[arg-type]
    assert not [node for node in walk(tree) if isinstance(node, Foreign) and node.syntax == "label"]


def test_and_between_words_in_capitals_is_a_heading_not_composition() -> None:
    assert found("4. GIRLS AND CATS (45-88%): the four girls stand on the street.", "ANM-SYN-001") == []
    assert len(found("safe, 1girl AND 1boy", "ANM-SYN-001")) == 1


def test_colour_codes_are_no_qualifiers_nor_tags(small_index: object) -> None:
    prompt = (
        "safe, 1girl, plain white background (#FFFFFF), stripes from yellow (#ffe36e) to orange (#ffe36e)"
    )
    assert found(prompt, "ANM-ESC-001", small_index) == []
    assert [f for f in found(prompt, "ANM-TAG-004", small_index) if "#" in f.message] == []
    assert found(prompt, "ANM-DUP-001", small_index) == []
    assert "(#FFFFFF)" in Linter(index=small_index).fix(prompt)  # type: ignore[arg-type]


@pytest.mark.parametrize("item", ["No grid lines", "NO animal ears", "- Leave a clear gap", "Avoid clutter"])
def test_instructions_and_bulleted_sentences_are_prose(small_index: object, item: str) -> None:
    prompt = f"safe, 1girl, smile\n{item}, umbrella"
    linter = Linter(index=small_index)  # type: ignore[arg-type]
    assert [node.text for node in walk(linter.parser.parse(prompt)) if isinstance(node, Tag)] == [
        "safe",
        "1girl",
        "smile",
        "umbrella",
    ]
    assert item in linter.fix(prompt)


def test_a_tag_repeated_in_another_characters_block_is_no_duplicate(small_index: object) -> None:
    blocks = "safe, 2girls,\nhatsune miku, vocaloid, long hair\nsaber (fate), fate (series), long hair"
    assert found(blocks, "ANM-DUP-001", small_index) == []
    same = "safe, 2girls,\nhatsune miku, vocaloid, long hair\nhatsune miku, vocaloid, long hair"
    assert len(found(same, "ANM-DUP-001", small_index)) == 3
    assert len(found("safe, 1girl, long hair,\nsmile, long hair", "ANM-DUP-001", small_index)) == 1


def test_clauses_joined_by_a_semicolon_are_prose(small_index: object) -> None:
    prompt = "safe, 1girl, smile, white muzzle; winking right eye, ;), umbrella"
    assert [f for f in found(prompt, "ANM-TAG-004", small_index) if "muzzle" in f.message] == []
    tree = Linter(index=small_index).parser.parse(prompt)  # type: ignore[arg-type]
    assert ";)" in [node.text for node in walk(tree) if isinstance(node, Tag)]  # an emoticon stays a tag


def test_a_long_specification_in_sentences_reads_its_lists_as_prose(small_index: object) -> None:
    sentence = "The girl stands under a large umbrella while the rain falls on the quiet town around her."
    lists = (
        "Palette: soft grey, pale teal, warm amber, muted rose.\nMood: calm dusk, gentle drizzle, faint glow."
    )
    document = "\n".join([sentence] * 6 + [lists] * 3 + [sentence] * 4)
    assert len(document.split()) >= 150
    unknown = found(document, "ANM-TAG-004", small_index)
    assert unknown == []
    short = f"{sentence}\n{lists}"  # a short prompt keeps its tag-like items
    assert found(short, "ANM-TAG-004", small_index) != []
    tagged = document + "\n" + ", ".join(["1girl", "solo", "long hair", "smile", "umbrella", "rain"] * 4)
    assert found(tagged, "ANM-TAG-004", small_index) != []  # known tags make it a hybrid: lists stay tags


def test_capitalised_square_fields_are_template_placeholders() -> None:
    prompt = "[QUALITY], [SUBJECT] character, [CHARACTER_1], [CAMERA tags], safe, 1girl, [sparkles]"
    start = prompt.index("[sparkles]")
    assert spans(found(prompt, "ANM-SYN-001")) == [(start, len(prompt))]  # lowercase words: de-emphasis


def test_a_labelled_lines_pipes_and_sentence_case_values_are_no_tags(small_index: object) -> None:
    prompt = "safe, 1girl\nLIGHTING: Soft diffused key light | Subtle rim light | rain\nsmile | umbrella"
    tree = Linter(index=small_index).parser.parse(prompt)  # type: ignore[arg-type]
    assert [node.text for node in walk(tree) if isinstance(node, Tag)] == [
        "safe",
        "1girl",
        "rain",
        "smile",
        "umbrella",
    ]
    characters = [n for n in walk(tree) if isinstance(n, Foreign) and n.syntax == "nai_character"]
    assert len(characters) == 1  # on a line without a label, `|` is still NovelAI's separator
    assert "Soft diffused key light | Subtle rim light | rain" in render(normalize(parse(prompt)))


def test_a_long_unknown_head_keeps_its_aside_on_fix() -> None:
    prompt = "safe, 1girl, weight on one leg (natural stance), saber (fate)"
    assert len(found(prompt, "ANM-ESC-001")) == 2  # both are read as weights by ComfyUI
    assert Linter().fix(prompt) == "safe, 1girl, weight on one leg (natural stance), saber \\(fate\\)"


def test_a_spec_sheet_in_labelled_lines_reads_its_values_as_descriptions(small_index: object) -> None:
    sheet = (
        "CHARACTER: Young woman, long flowing hair\n"
        "OUTFIT: Simple summer dress, gold jewelry\n"
        "LIGHTING: Soft studio light | Subtle rim light | even illumination"
    )
    assert found(sheet, "ANM-TAG-004", small_index) == []
    tags = "safe, 1girl\nhair: long flowing hair, warm brown eyes\noutfit: summer dress\nlight: rim light"
    assert found(tags, "ANM-TAG-004", small_index) != []  # lowercase values of a tag list stay tags


def test_a_sentence_on_its_line_before_a_fullwidth_comma_keeps_its_line() -> None:
    prompt = "1girl\na dragon sleeping on a pile of books,1girl，"  # found by the fix property test
    assert found(prompt, "ANM-DS-002") == []
    assert Linter().fix(prompt) == prompt


def test_sample_prompt_negative_part_is_not_ordered() -> None:
    prompt = "masterpiece, safe, 1boy, standing --n worst quality, low quality --w 576 --h 832"
    assert found(prompt, "ANM-ORD-001") == []
    assert len(found(prompt, "ANM-SYN-001")) == 3


def test_a_tag_repeated_in_another_region_is_no_duplicate() -> None:
    prompt = "safe, 1girl, dress, hair BREAK\n(red:1.7), dress BREAK\n(blond:1.7), hair, hair"
    assert spans(found(prompt, "ANM-DUP-001")) == [(73, 77)]


# --- settings and format rules that were too strict ---------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "reported"),
    [(960, 960, False), (1024, 896, False), (1536, 640, False), (1216, 704, True), (768, 768, True)],
)
def test_about_one_megapixel_is_on_the_sweet_spot(width: int, height: int, reported: bool) -> None:
    example = Example("safe, 1girl", settings={"width": width, "height": height})
    assert bool(found(example, "ANM-RES-002")) is reported


def test_labelled_prose_paragraphs_are_not_yaml() -> None:
    prose = (
        "Character: A girl with long silver hair stands on a windy hill.\n"
        "Background: A quiet street at dusk, lit by paper lanterns.\n"
        "Mood: Calm and a little sad."
    )
    assert found(prose, "ANM-FMT-001") == []
    assert found("subject: 1girl\nhair: long hair, blue hair\nsafety: safe", "ANM-FMT-001") != []


# --- misses: new rules --------------------------------------------------------------------------------


def test_score_with_a_space_is_fixed_to_the_underscore_form() -> None:
    from anima_prompt import fix

    (finding,) = found("score 9, 1girl, safe", "ANM-SCORE-001")
    assert finding.suggestions == ("score_9",)
    assert fix("Score 9, score_8, safe, 1girl") == "score_9, score_8, safe, 1girl"
    aesthetic = Example("score 9, 1girl, safe", settings={"variant": "aesthetic"})
    assert found(aesthetic, "ANM-SCORE-001") == [] and found(aesthetic, "ANM-VAR-001") != []


def test_two_different_years_contradict() -> None:
    (finding,) = found("year 2025, 1girl, year_2024, year 2025, safe", "ANM-YEAR-002")
    assert finding.message == "`year_2024` contradicts `year 2025`: an image has one year"
    assert found(Example("year 2025, 1girl, safe", negative="year 2005, year 2006"), "ANM-YEAR-002") == []


@pytest.mark.parametrize(
    ("prompt", "message", "fixed"),
    [
        (
            "safe, 1girl, (smile):1.5, solo",
            "the weight `:1.5` comes after `(smile)`: ComfyUI reads the group as 1.1 and `:1.5` as text",
            "safe, 1girl, (smile:1.5), solo",
        ),
        (
            "safe, 1girl, (smile:1.5)):, solo",
            "stray `):` after `(smile:1.5)` reaches the model as text",
            None,
        ),
        ("safe, 1girl, (smile:1.5):, solo", "stray `:` after `(smile:1.5)` reaches the model as text", None),
    ],
)
def test_a_weight_or_colon_after_a_group(prompt: str, message: str, fixed: str | None) -> None:
    from anima_prompt import fix

    (finding,) = found(prompt, "ANM-WGT-003")
    assert finding.message == message
    assert fix(prompt) == (fixed or "safe, 1girl, (smile:1.5), solo")


def test_nested_groups_and_prompt_editing_have_no_stray_colon() -> None:
    assert [f.span.start for f in found("safe, ((smile)):1.5, 1girl", "ANM-WGT-003") if f.span] == [6]
    assert found("safe, [(white background:1.5)::5], 1girl", "ANM-WGT-003") == []
    assert found("safe, (style): watercolor and ink, 1girl", "ANM-WGT-003") == []


def test_drawing_error_tags_weighted_up_in_the_positive() -> None:
    example = Example("safe, 1girl, smile, (bad hands:1.2), ((extra digits))", negative="(bad anatomy:1.3)")
    findings = run_example(example, None)
    assert [render_span(example.prompt, f) for f in findings if f.code == "ANM-NEG-002"] == [
        "(bad hands:1.2)",
        "(extra digits)",
    ]
    # the weight rules do not ask to raise those weights, which would ask for more of the error
    assert [f.target.value for f in findings if f.code == "ANM-WGT-001"] == ["negative"]
    assert found("safe, 1girl, bad hands", "ANM-NEG-002") == []


def render_span(text: str, finding: Finding) -> str:
    assert finding.span is not None
    return text[finding.span.start : finding.span.end]


def test_a_character_needs_its_series(small_index: object) -> None:
    assert found("safe, 1girl, saber \\(fate\\), smile", "ANM-CHR-001", small_index)[0].suggestions == (
        "fate \\(series\\)",
    )
    for covered in (
        "safe, 1girl, saber \\(fate\\), fate \\(series\\)",
        "safe, 1girl, saber \\(fate\\). She stands in a Fate battlefield at night.",
        "safe, 1girl, hatsune miku, smile",
    ):
        assert found(covered, "ANM-CHR-001", small_index) == [], covered


def test_slash_escapes_are_fixed_and_not_read_as_weights() -> None:
    from anima_prompt import fix

    prompt = "safe, 1girl, oil painting /(medium/)"
    (finding,) = found(prompt, "ANM-ESC-004")
    assert finding.suggestions == ("\\(medium\\)",)
    assert found(prompt, "ANM-WGT-001") == []
    assert fix(prompt) == "safe, 1girl, oil painting \\(medium\\)"


# --- rules that contradicted each other ---------------------------------------------------------------


def test_at_cfg_1_the_negative_prompt_is_not_checked() -> None:
    negative = "worst_quality, safe, <lora:detail:1>"
    findings = run_example(Example("safe, 1girl, smile", negative=negative, settings={"cfg": 1}), None)
    assert [f.code for f in findings if f.target.value == "negative"] == []
    assert "ANM-CFG-004" in {f.code for f in findings}
    anima = Example("safe, 1girl", negative=negative, settings={"cfg": 1}, config={"front-end": "anima"})
    negative_codes = [f.code for f in run_example(anima, None) if f.target.value == "negative"]
    assert negative_codes == ["ANM-SYN-003"]  # it stops anima generate whatever the CFG
    at_five = run_example(Example("safe, 1girl", negative=negative, settings={"cfg": 5}), None)
    assert {"ANM-TAG-001", "ANM-SAFE-003", "ANM-SAFE-004"} <= {f.code for f in at_five}


def test_a_turbo_lora_tag_counts_only_where_it_is_loaded() -> None:
    prompt = "safe, 1girl, <lora:anima_turbo_v1:1>"
    settings = {"cfg": 4.5, "steps": 30}
    comfyui = run_example(Example(prompt, settings=settings), None)
    assert "ANM-CFG-003" not in {f.code for f in comfyui}
    assert any("is not loaded by ComfyUI" in f.message for f in comfyui if f.code == "ANM-SYN-003")
    anima = run_example(Example(prompt, settings=settings, config={"front-end": "anima"}), None)
    assert [f.code for f in anima if f.code.startswith(("ANM-CFG", "ANM-STP"))] == [
        "ANM-CFG-003",
        "ANM-CFG-003",
    ]


def test_burning_cfg_on_turbo_suggests_turbos_cfg() -> None:
    (finding,) = found(Example("safe, 1girl", settings={"cfg": 12, "variant": "turbo"}), "ANM-CFG-001")
    assert finding.suggestions == ("1",)
    assert found(Example("safe, 1girl", settings={"cfg": 12}), "ANM-CFG-001")[0].suggestions == ("6",)


def test_rounding_to_a_multiple_of_16_goes_towards_the_sweet_spot() -> None:
    large = found(Example("safe, 1girl", settings={"width": 1530, "height": 1530}), "ANM-RES-003")
    small = found(Example("safe, 1girl", settings={"width": 530, "height": 530}), "ANM-RES-003")
    on_spot = found(Example("safe, 1girl", settings={"width": 1000, "height": 1000}), "ANM-RES-003")
    assert [f.suggestions[0] for f in (*large, *small, *on_spot)] == ["1520x1520", "544x544", "992x992"]


def test_one_finding_names_both_sides_off_the_multiple() -> None:
    (both,) = found(Example("safe, 1girl", settings={"width": 1000, "height": 1500}), "ANM-RES-003")
    assert both.message == "width 1000 and height 1500 are not multiples of 16"
    assert both.suggestions == ("992x1504",)
    (one,) = found(Example("safe, 1girl", settings={"width": 1024, "height": 1500}), "ANM-RES-003")
    assert one.message == "height 1500 is not a multiple of 16" and one.suggestions == ("1024x1504",)
    (alone,) = found(Example("safe, 1girl", settings={"height": 1500}), "ANM-RES-003")
    assert alone.suggestions == ("1504",)


def test_brackets_glued_to_a_word_are_a_qualifier_only_when_the_index_says_so(small_index: object) -> None:
    assert found("safe, 1girl, detailed background(plain white)", "ANM-ESC-001", small_index) == []
    (glued,) = found("safe, 1girl, saber(fate)", "ANM-ESC-001", small_index)
    assert glued.suggestions == ("saber \\(fate\\)",)
    assert Linter(index=small_index).fix("safe, 1girl, saber(fate)") == "safe, 1girl, saber \\(fate\\)"  # type: ignore[arg-type]
    assert found("safe, 1girl, saber (fate)", "ANM-ESC-001", small_index) != []
    assert found("safe, 1girl, tracer (overwatch)", "ANM-ESC-001", small_index) != []


def test_a_common_word_that_is_only_an_alias_of_a_series_is_a_general_tag(small_index: object) -> None:
    # `love` is an alias of a series whose name shares no word with it; `vocaloid` is the series itself
    assert found("safe, 1girl, smile, love", "ANM-ORD-001", small_index) == []
    (late,) = found("safe, 1girl, smile, vocaloid", "ANM-ORD-001", small_index)
    assert late.span is not None and late.span.start == 20


def test_an_artist_alias_suggests_the_name_the_model_learned(small_index: object) -> None:
    (finding,) = found("safe, 1girl, aenobas", "ANM-ART-001", small_index)  # an alias in tests/data
    assert finding.fix is None and finding.suggestions == ("@hammer \\(sunset beach\\)",)


# --- descriptions in natural-language prompts, and trigger words ------------------------------------------


def test_descriptive_verb_phrases_in_a_prose_prompt_are_not_unknown_tags(small_index: object) -> None:
    prompt = "safe, a quiet harbour at dawn, wearing a straw hat, framed by old stone walls on both sides"
    assert found(prompt, "ANM-TAG-004", small_index) == []
    prompt = (
        "safe, an old lighthouse on a cliff, surrounded by tall dark waves, dressed in long oilskin coats"
    )
    assert found(prompt, "ANM-TAG-004", small_index) == []


def test_a_coined_trigger_word_in_capitals_keeps_its_spelling(small_index: object) -> None:
    prompt = "safe, FLORSKY style, a fox resting under a maple tree"
    assert found(prompt, "ANM-TAG-002", small_index) == []
    assert found(prompt, "ANM-TAG-004", small_index) == []
    assert found("safe, 1girl, Long Hair", "ANM-TAG-002", small_index) != []


def test_a_negative_embedding_named_in_words_is_reported_in_the_negative_prompt(small_index: object) -> None:
    negative = "lowres, drawn in the style of bad prompt, blurry, FastNegativeV2"
    findings = found(Example("safe, 1girl", negative=negative), "ANM-TAG-004", small_index)
    named = {
        negative[f.span.start : f.span.end]: f.message
        for f in findings
        if f.span and "embedding" in f.message
    }
    assert set(named) == {"FastNegativeV2", "drawn in the style of bad prompt"}
    assert (
        "names `bad_prompt`, an SD 1.5/SDXL negative embedding" in named["drawn in the style of bad prompt"]
    )
    assert found("safe, 1girl, a bad prompt written on a blackboard", "ANM-TAG-004", small_index) == []


@pytest.mark.parametrize("item", ["the best quality", "A masterpiece", "an  worst quality"])
def test_a_quality_tag_written_with_an_article_is_reported(small_index: object, item: str) -> None:
    prompt = f"safe, 1girl, {item}, smile"
    (finding,) = found(prompt, "ANM-TAG-004", small_index)
    assert prompt[finding.span.start : finding.span.end] == item  # type: ignore[union-attr]
    assert finding.suggestions == (" ".join(item.lower().split()[1:]),)
    assert finding.fix is None  # words stay words: no autofix edits prose


@pytest.mark.parametrize(
    "item", ["the best view of the city", "a quality time", "the masterpiece of a painter"]
)
def test_other_phrases_with_an_article_are_not_quality_tags(small_index: object, item: str) -> None:
    assert found(f"safe, 1girl, {item}, smile", "ANM-TAG-004", small_index) == []


def test_people_named_by_a_word_are_offered_the_count_tag(small_index: object) -> None:
    cases = (("girl", "1girl"), ("1man", "1boy"), ("two women", "2girls"), ("guys", "multiple boys"))
    for text, meant in cases:
        (finding,) = found(f"safe, {text}, smile", "ANM-TAG-004", small_index)
        assert finding.suggestions[:1] == (meant,), text


def test_a_block_per_character_repeats_and_orders_its_own_tags(small_index: object) -> None:
    # one line per character (Forge Couple, Impact Pack detailer wildcards), or sentence-separated blocks
    for prompt in (
        "safe, 2girls, hatsune miku, smile, looking at viewer\n2girls, kagamine rin, smile, looking up",
        "safe, 2girls, hatsune miku, smile. 2girls, kagamine rin, smile.",
    ):
        for code in ("ANM-DUP-001", "ANM-ORD-001", "ANM-DS-002"):
            assert found(prompt, code, small_index) == [], (code, prompt)
    # without a count tag opening the second line, the line break and the repeats are reported
    prompt = "safe, 1girl, smile, looking at viewer\nsmile, looking at viewer"
    assert found(prompt, "ANM-DUP-001", small_index) != []
    assert found(prompt, "ANM-DS-002", small_index) != []


def test_impact_pack_detailer_keywords_are_syntax_not_deemphasis(small_index: object) -> None:
    prompt = "[ASC]\n1girl, blue eyes, smile [SEP]\n1boy, brown eyes [SEP]"
    assert found(prompt, "ANM-SYN-001", small_index) == []
    assert found(prompt, "ANM-ORD-001", small_index) == []
    labelled = "[LAB]\n[ALL] laugh, detailed eyes\n[Female] blue eyes\n[Male] brown eyes"
    assert found(labelled, "ANM-SYN-001", small_index) == []
    # outside a `[LAB]` wildcard, `[Female]` is de-emphasis as before
    assert found("1girl, [Female], safe", "ANM-SYN-001", small_index) != []


def test_zero_width_spaces_are_reported_and_leave_the_tags_whole(small_index: object) -> None:
    prompt = "1girl, \u200b\u200blong hair, safe"
    (finding,) = found(prompt, "ANM-SYN-004", small_index)
    assert finding.message == "invisible character U+200B in the prompt"
    assert found(prompt, "ANM-TAG-004", small_index) == []  # `long hair` is read as the tag it is


def test_template_fields_are_syntax_not_tags_or_emphasis(small_index: object) -> None:
    template = "<|characters|>, <|copyrights|>, <|general|>, safe"
    assert found(template, "ANM-TAG-004", small_index) == []
    sample = "<trigger_placeholder>, 1girl, safe"  # a trainer's sample prompt
    assert found(sample, "ANM-TAG-004", small_index) == [] and found(sample, "ANM-TAG-001", small_index) == []
    style = "cinematic still {prompt}, 1girl, safe"
    assert found(style, "ANM-SYN-001", small_index) == []  # not NovelAI emphasis
    assert found("{masterpiece}, 1girl, safe", "ANM-SYN-001", small_index) != []  # this one is


def test_a_tag_split_by_a_comma_is_named(small_index: object) -> None:
    # `blue` and `hair` are no tags of the small index; `blue hair` is
    prompt = "1girl, blue,hair, safe"
    (joined,) = [f for f in found(prompt, "ANM-TAG-004", small_index) if f.span and f.span.start == 7]
    assert joined.suggestions[:1] == ("blue hair",)
    assert "which a comma splits" in joined.message
    # a known tag after it is a tag of its own: `smile` does not join `blue`
    (alone,) = [
        f
        for f in found("1girl, blue, smile, safe", "ANM-TAG-004", small_index)
        if f.span and f.span.start == 7
    ]
    assert "comma" not in alone.message


def test_a_sampler_unlike_every_known_one_is_a_custom_nodes() -> None:
    settings = {"sampler": "flow_unipc2_x0", "scheduler": "flow_cosmos_rho7"}
    assert found(Example("safe, 1girl", settings=settings), "ANM-SMP-001") == []


def test_a_coined_word_near_no_tag_is_a_name_not_an_unknown_tag(small_index: object) -> None:
    prompt = "How2Draw, 1girl, smile, safe"
    assert found(prompt, "ANM-TAG-004", small_index) == []
    assert found(prompt, "ANM-TAG-002", small_index) == []
    # a typo of a known tag still is one
    assert spans(found("1girl, sm1le, safe", "ANM-TAG-004", small_index)) == [(7, 12)]


def test_the_words_in_literal_brackets_of_a_sentence_are_the_sentences(small_index: object) -> None:
    prompt = "safe, She gives a warm smile (smiling) to the camera. Rain falls behind her."
    assert found(prompt, "ANM-TAG-005", small_index) == []  # `smiling` is an alias, but a gloss here
    assert spans(found(prompt, "ANM-ESC-002", small_index)) == [(29, 38)]


def test_a_phrase_written_twice_is_a_duplicate() -> None:
    prompt = "safe, 1girl, bike in the background, smile, bike in the background"
    assert spans(found(prompt, "ANM-DUP-001")) == [(44, 66)]


def test_a_sentence_ending_in_a_quote_and_a_period_keeps_its_lines() -> None:
    # the closing quote before the period still ends a sentence, so the prompt is prose with lines of its
    # own: joining them would make `Long Hair` a tag that a second round lowercases
    prompt = 'A shop sign says "Moon & Sun"., (1girl)\nLong Hair, A shop sign says "Moon & Sun".. 1girl, '
    assert found(prompt, "ANM-DS-002") == []
    assert Linter().fix(prompt) == prompt


def test_a_weight_without_its_brackets_is_named_with_the_group_meant(small_index: object) -> None:
    (bare,) = found("safe, 1girl, nipples:1.5", "ANM-TAG-004", small_index)
    assert bare.suggestions == ("(nipples:1.5)",) and "needs brackets" in bare.message
    prompt = "safe, 1girl, (worst quality:1.5, low quality:1.5, normal quality:1.5)"
    (inner,) = found(prompt, "ANM-TAG-004", small_index)
    assert inner.suggestions == ("(worst quality:1.5)",) and "before a group's `)`" in inner.message
    (wide,) = found("safe, 1girl, (night sky：2.0)", "ANM-TAG-004", small_index)
    assert wide.suggestions == ("night sky:2.0",) and "ASCII" in wide.message
    assert all(
        "weight" not in f.message for f in found("safe, 1girl, re:zero, 10:30", "ANM-TAG-004", small_index)
    )


def test_the_guidance_option_of_a_sample_prompt_line_is_syntax() -> None:
    assert [f.code for f in found("1girl, smile --g 4.0 --s 28", "ANM-SYN-001")] == ["ANM-SYN-001"] * 2


def test_the_sub_prompts_of_and_are_regions() -> None:
    prompt = "safe, masterpiece, 2girls, miku, smile,\nAND safe, masterpiece, 2girls, rin, smile"
    assert found(prompt, "ANM-DUP-001") == []  # each sub-prompt is conditioned on its own
    assert found(prompt, "ANM-DS-002") == []  # the line break opens the next sub-prompt
    assert [f.code for f in found(prompt, "ANM-SYN-001")] == ["ANM-SYN-001"]  # `AND` itself is named


def test_a_sample_lines_negative_after_n_is_not_counted_as_tags() -> None:
    positive = ", ".join(f"tag number {n}" for n in range(40))
    negative = ", ".join(f"bad thing {n}" for n in range(30))
    assert found(f"safe, 1girl, {positive} --n {negative} --w 768", "ANM-LEN-002") == []
    assert found(f"safe, 1girl, {positive}, {negative}", "ANM-LEN-002") != []


def test_tags_run_together_with_spaces_are_separated_with_commas(small_index: object) -> None:
    (run,) = found("safe, 1girl, long_hair blue_hair smile", "ANM-TAG-001", small_index)
    assert run.suggestions == ("long hair, blue hair, smile",) and run.fix is not None
    assert Linter(index=small_index).fix("safe, 1girl, long_hair blue_hair smile") == (  # type: ignore[arg-type]
        "safe, 1girl, long hair, blue hair, smile"
    )
    # a description with a preposition is no run of tags: the underscores alone are reported
    (phrase,) = found("safe, 1girl, detailed_face in space_helmet", "ANM-TAG-001", small_index)
    assert phrase.suggestions == ("detailed face in space helmet",) and phrase.fix is None


def test_words_after_a_choice_complete_it(small_index: object) -> None:
    assert found("safe, 1girl, [red|orange] hiar, smile", "ANM-TAG-004", small_index) == []
    assert found("safe, 1girl, {red|blue} eyez, smile", "ANM-TAG-004", small_index) == []
    assert found("safe, 1girl, [red|orange], hiar", "ANM-TAG-004", small_index) != []  # a comma between


def test_a_description_near_no_tag_among_sentences_is_no_unknown_tag(small_index: object) -> None:
    prose = "safe, 1girl, A girl waits by the sea., {item}, smile"
    for description in ("lots of blue butterflies", "cute girl and cat", "lightning in her hand"):
        assert found(prose.format(item=description), "ANM-TAG-004", small_index) == []
    # in a plain tag list the same item is still an unknown tag, and among sentences a slip for a tag still
    # gets its suggestion
    assert len(found("safe, 1girl, lots of blue butterflies, smile", "ANM-TAG-004", small_index)) == 1
    slip = found(prose.format(item="blue hiar"), "ANM-TAG-004", small_index)
    assert [f.suggestions[:1] for f in slip] == [("blue hair",)]


def test_a_cfg_pp_sampler_uses_the_negative_at_cfg_1_and_has_its_own_cfg_scale() -> None:
    for sampler in ("euler_cfg_pp", "Euler a CFG++"):
        settings = {"cfg": 1, "sampler": sampler}
        example = Example("1girl, safe", negative="worst quality, nsfw", settings=settings)
        assert found(example, "ANM-CFG-004") == []
        assert found(example, "ANM-CFG-002") == []
    plain = Example("1girl, safe", negative="worst quality, nsfw", settings={"cfg": 1, "sampler": "euler"})
    assert len(found(plain, "ANM-CFG-004")) == 1
    assert len(found(plain, "ANM-CFG-002")) == 1


def test_ai_toolkits_trigger_field_is_a_placeholder_not_de_emphasis() -> None:
    caption = "[trigger]. A girl in a red coat waves at the viewer. Snow falls behind her."
    assert found(caption, "ANM-SYN-001") == []
    assert len(found("1girl, [smile], safe", "ANM-SYN-001")) == 1  # de-emphasis is still named


def test_quotes_around_the_whole_description_hold_no_text_to_draw() -> None:
    assert found("“Create an anime avatar named Yumi. She has long red hair, big eyes.”", "ANM-TXT-001") == []
    assert found("「浅粉色长发，水晶发饰点缀，半透明薄纱连衣裙」 8k", "ANM-TXT-001") == []
    # text to draw, also at the start, is still measured
    assert len(found('"welcome to the summer festival" sign, 1girl, safe', "ANM-TXT-001")) == 1
    assert (
        len(found('1girl, a sign that says "Hello, dear summer festival friends", safe', "ANM-TXT-001")) == 1
    )


def test_the_first_word_of_a_prompt_in_sentences_is_in_sentence_case(small_index: object) -> None:
    prompt = "Glowing hair style, vivid colors. A hero stands on a cliff. Lava flows around him."
    assert found(prompt, "ANM-TAG-002", small_index) == []
    # without a sentence end the capital opens a tag list and is still reported
    assert len(found("Glowing hair style, vivid colors, 1girl", "ANM-TAG-002", small_index)) == 1


STRUCTURED = (
    "<character_1>\n<n>$character_1$</n>\n<gender>1girl</gender>\n"
    "<appearance>chibi, red eyes, long hair</appearance>\n</character_1>\n\n"
    "<character_2>\n<n>$character_2$</n>\n<gender>1girl</gender>\n"
    "<appearance>chibi, red eyes, short hair</appearance>\n</character_2>"
)


def test_a_structured_xml_prompt_is_markup_and_blocks_per_character(small_index: object) -> None:
    (syntax,) = found(STRUCTURED, "ANM-SYN-001")  # named once, at its first element
    assert syntax.span is not None and (syntax.span.start, syntax.span.end) == (0, 13)
    assert found(STRUCTURED, "ANM-DUP-001") == []  # each character repeats `chibi, red eyes` on purpose
    assert found(STRUCTURED, "ANM-DS-002") == []  # the format's lines
    unknown = found(STRUCTURED, "ANM-TAG-004", small_index)
    assert not any("<" in f.message or "$" in f.message for f in unknown)  # markup is no part of a tag
    assert render(normalize(parse(STRUCTURED))) == STRUCTURED  # fmt keeps the elements and their lines


def test_angle_brackets_without_a_closed_element_stay_tags() -> None:
    kinds = [(type(node).__name__, render(node)) for node in parse("<o>_<o>, >_<, <3, 1girl").children]
    assert ("Tag", "<o>_<o>") in kinds and ("Tag", "<3") in kinds
    markup = [
        node for node in parse("<appearance>chibi, red eyes</appearance>").children if hasattr(node, "syntax")
    ]
    assert [render(node) for node in markup] == ["<appearance>", "</appearance>"]


def test_novelai_numeric_emphasis_is_foreign_syntax_with_a_comfyui_weight() -> None:
    (weight,) = found("1girl, 1.5::rain::, safe", "ANM-SYN-001")
    assert weight.suggestions == ("(rain:1.5)",)
    (negative,) = found("1girl, -0.8::feet::, safe", "ANM-SYN-001")
    assert "negative prompt" in negative.message and negative.suggestions == ()
    assert found("1girl, -0.8::feet::, safe", "ANM-TAG-004", None) == []


def test_markdown_sections_of_an_llm_written_prompt_are_prose(small_index: object) -> None:
    prompt = (
        "A manga page in black and white. Quiet night.\n"
        "Layout (Read Right-to-Left, Zigzag):\n"
        "1. **Top Right**: A clinic waiting room. Quiet night.\n"
        "4. **Bottom Right**: Doctor sighing. Small panel."
    )
    for code in ("ANM-TAG-002", "ANM-TAG-004"):
        assert not any("**" in f.message or "`:`" in f.message for f in found(prompt, code, small_index))
    assert found(prompt, "ANM-WGT-003") == []  # the heading's colon is no stray weight colon
    # a stray `):` that ends an item of a tag list is still one
    assert len(found("1girl, (smile):, safe", "ANM-WGT-003")) == 1


def test_a_templates_fill_in_slots_are_placeholders_not_de_emphasis() -> None:
    template = (
        "masterpiece, best quality. Digital artwork of [Character A], with [hair/eyes/build], wearing\n"
        "[outfit], standing beside [Character B]. They are [action/pose] in [setting], under [lighting]."
    )
    assert found(template, "ANM-SYN-001") == []
    assert found("{SUBJECT_DESCRIPTION}, illustrated as an anime portrait.", "ANM-SYN-001") == []
    assert found("anime style, {characterDescription}, detailed background", "ANM-SYN-001") == []
    assert len(found("1girl, {smile}, safe", "ANM-SYN-001")) == 1  # NovelAI emphasis of a tag
    # de-emphasis of a tag in a list is still named
    assert len(found("1girl, [smile], standing [from below], safe", "ANM-SYN-001")) == 2


def test_a_description_opening_the_prompt_near_no_tag_is_no_unknown_tag(small_index: object) -> None:
    opening = [
        f
        for f in found("lots of blue butterflies, smile, safe", "ANM-TAG-004", small_index)
        if f.span and f.span.start == 0
    ]
    assert opening == []
    # the same words later in a tag list, or opening the negative prompt, are reported
    later = found("smile, lots of blue butterflies, safe", "ANM-TAG-004", small_index)
    assert [f.span.start for f in later if f.span] == [7]
    negative = Linter(index=small_index).lint("1girl, safe", negative="lots of blue butterflies")  # type: ignore[arg-type]
    assert any(f.code == "ANM-TAG-004" for f in negative)


def test_novelai_character_prompts_and_actions_are_foreign_syntax() -> None:
    prompt = "2girls, park, safe | girl, red hair, smile, source#hug | girl, red hair, target#hug"
    syntax = found(prompt, "ANM-SYN-001")
    assert [f.span.start for f in syntax if f.span] == [19, 44, 55, 73]
    assert found(prompt, "ANM-DUP-001") == []  # each character's prompt is a region of its own
    # `|` inside brackets is a choice, and a sentence never runs through a region keyword
    assert found("1girl, {red | blue} eyes, safe", "ANM-SYN-001") == []
    kinds = [type(node).__name__ for node in parse("a girl walking in the rain BREAK sky").children]
    assert kinds == ["Phrase", "Separator", "Foreign", "Separator", "Tag"]


def test_the_words_of_an_aside_in_a_sentence_are_the_sentences(small_index: object) -> None:
    prompt = "safe, A manga page in black and white. The bottom left panel (Big) shows the doctor's face."
    assert found(prompt, "ANM-TAG-002", small_index) == []
    assert found(prompt, "ANM-TAG-004", small_index) == []
    # a written weight in a sentence is emphasis: its words are still checked
    weighted = "safe, A drawing by (Apterus:1.5) of a mouse statue. Flowers grow on it."
    assert len(found(weighted, "ANM-TAG-002", small_index)) == 1


def test_lumina_prompt_start_marker_before_the_first_tag(small_index: object) -> None:
    negative = "You are an assistant designed to generate anime images. <Prompt Start> blurry, worst quality"
    found_negative = Linter(index=small_index).lint("1girl, safe", negative=negative)  # type: ignore[arg-type]
    assert not any("Prompt Start" in f.message for f in found_negative)
    assert render(normalize(parse(negative))) == negative


@pytest.mark.parametrize(
    "aside",
    [
        "(#FFFFFF)",  # a colour code
        "(0-30%)",  # a share
        "(unless a specific head tilt is listed below)",  # a sentence's words
        "(The sheets are 3x3; use the top-left pose.)",  # clauses
        "(left ear black; right ear orange)",  # clauses without a sentence word
    ],
)
def test_an_aside_after_a_word_in_prose_is_literal_brackets(aside: str) -> None:
    prompt = f"safe, The background is plain white {aside}, with no gradient."
    assert spans(found(prompt, "ANM-ESC-002")) == [(prompt.index(aside), prompt.index(aside) + len(aside))]
    assert found(prompt, "ANM-WGT-001") == []


def test_a_group_governed_by_a_preposition_is_emphasis_not_an_aside() -> None:
    prompt = "safe, a woman with (a little corgi puppy in her arms), surrounded by stars"
    assert found(prompt, "ANM-ESC-002") == []
    assert len(found(prompt, "ANM-WGT-001")) == 1
    # a tag list's emphasis on a whole item stays a weight
    assert len(found("1girl, (the sky is blue), safe", "ANM-WGT-001")) == 1


def test_labels_naming_one_of_several_open_blocks_of_their_own() -> None:
    panels = (
        "manga page, safe\nPanel 1:\nclose-up, smile, plain white background,\n"
        "Panel 2:\nfull body, standing, plain white background,"
    )
    assert found(panels, "ANM-DUP-001") == []
    assert found(panels, "ANM-TAG-002") == []  # `Panel 1:` is a label, not a tag in capitals
    groups = (
        "safe, 1girl, 1boy, back-to-back\n"
        "the girl on the left: 1girl, blonde hair, crossed arms\n"
        "the boy on the right: 1boy, black hair, crossed arms"
    )
    assert found(groups, "ANM-DUP-001") == []
    assert found(groups, "ANM-ORD-001") == []
    assert [type(node).__name__ for node in parse(groups).children][8:11] == ["Foreign", "Separator", "Tag"]
    long_labels = (
        "safe, 2girls\nCharacter A is the taller girl on the left: braid, white shirt, smile\n"
        "Character B is the noticeably shorter petite girl on the right: ahoge, white shirt, smile"
    )
    assert found(long_labels, "ANM-DUP-001") == []
    # labels of aspects of one subject keep one block: a repeat across them is still a duplicate
    aspects = "safe, 1girl\nattire: red scarf, smile\nexpression: smile, blush"
    assert len(found(aspects, "ANM-DUP-001")) == 1
    # a sentence that opens with words and a colon is no label
    sentence = "A knight in the rain.\nDo not include: text, watermark"
    assert not any(getattr(node, "syntax", None) == "label" for node in parse(sentence).children)


def test_a_period_glued_to_a_sentence_in_sentence_case_ends_the_tag_before_it() -> None:
    kinds = [
        (type(node).__name__, render(node))
        for node in parse("red_thighhighs, brown_shorts.Sit with your legs apart.").children
    ]
    assert kinds[2:5] == [
        ("Tag", "brown_shorts"),
        ("Separator", "."),
        ("Phrase", "Sit with your legs apart."),
    ]
    # no sentence after the period: abbreviations and versions stay whole
    for text in ("St.Louis is nice", "model v1.Beta test"):
        assert len(parse(text).children) == 1


def test_a_name_the_prompts_sentences_use_is_no_unknown_tag_nor_capitals(small_index: object) -> None:
    prompt = "safe, 1girl, (Momonga), rokkotsu goddess, smile. A close-up of Momonga beside Rokkotsu Goddess."
    assert found(prompt, "ANM-TAG-004", small_index) == []
    assert found(prompt, "ANM-TAG-002", small_index) == []
    # a name only at the start of a sentence proves nothing: `Wavy lines ...` does not excuse `wavy`
    assert len(found("safe, 1girl, wavy. Wavy lines surround her.", "ANM-TAG-004", small_index)) == 1


def test_blank_lines_before_labelled_sections_are_layout() -> None:
    prompt = "safe, 1girl, smile\n\nOUTFIT: white dress, straw hat\n\nPOSE: standing, arms behind back"
    assert found(prompt, "ANM-DS-002") == []
    assert len(found("safe, 1girl,\nsmile, straw hat", "ANM-DS-002")) == 1  # a tag list broken in two


def test_cjk_slot_names_in_square_brackets_are_placeholders() -> None:
    assert found("masterpiece, [角色], [系列], [通用标签...], safe", "ANM-SYN-001") == []


def test_novelai_numeric_emphasis_over_several_items_is_named_once_and_its_tags_read() -> None:
    prompt = "4::masterpiece, best quality ::, 1.45::artist:nardack ::, safe"
    syntax = found(prompt, "ANM-SYN-001")
    assert [prompt[f.span.start : f.span.end] for f in syntax if f.span] == ["4::", "1.45::artist:nardack ::"]
    assert syntax[1].suggestions == ("(@nardack:1.45)",)  # NovelAI's `artist:` is Anima's `@`
    tags = [render(node) for node in parse(prompt).children if isinstance(node, Tag)]
    assert tags == ["masterpiece", "best quality", "safe"]
    assert render(normalize(parse(prompt))) == prompt  # fmt keeps the group's ends where they are


def test_a_closing_period_after_a_score_tag_is_a_separator() -> None:
    nodes = parse("best quality, score_8, score_7. ").children
    kinds = [(type(node).__name__, render(node)) for node in nodes]
    assert kinds[-2:] == [("Tag", "score_7"), ("Separator", ". ")]
    assert [type(node).__name__ for node in parse("1. TOP (0-30%): sky").children] == ["Phrase"]


def test_prompt_fields_in_braces_are_placeholders() -> None:
    for field in ("{userprompt}", "{positive_prompt}", "{Brand Name}"):
        assert found(f"masterpiece, {field}, safe", "ANM-SYN-001") == []
    assert len(found("masterpiece, {blue_eyes}, safe", "ANM-SYN-001")) == 1


def test_a_line_ending_with_the_or_of_runs_on_into_the_next() -> None:
    text = "Create a new illustration. Preserve the\nrelevant details of\nboth characters."
    assert [type(node).__name__ for node in parse(text).children] == ["Phrase"]
    # a tag list keeps its lines: no tag ends with such a word
    tags = parse("1girl, type a\nlong hair, shirt tucked in\nsmile").children
    assert [type(node).__name__ for node in tags].count("Tag") == 5


def test_a_labels_aside_and_a_sentence_in_brackets_are_literal_brackets() -> None:
    labelled = "safe, 1girl\nLayout (strict):\n- three columns"
    assert len(found(labelled, "ANM-ESC-002")) == 1
    assert found(labelled, "ANM-WGT-001") == []
    # a weight on a label's value stays a weight
    assert len(found("safe, 1girl\nattire: (huge hat), smile", "ANM-WGT-001")) == 1
    sentence = "safe, Draw the cats exactly. (The images are pose sheets; use the first pose.) They sit."
    assert len(found(sentence, "ANM-ESC-002")) == 1


def test_an_at_name_that_says_it_is_no_artist_is_not_an_unknown_artist(small_index: object) -> None:
    for name in ("@my artist", "@validated artist", "@aki_style"):
        assert found(f"safe, 1girl, {name}, smile", "ANM-ART-002", small_index) == []
    assert len(found("safe, 1girl, @qwxzv, smile", "ANM-ART-002", small_index)) == 1


def test_a_character_loras_caption_tokens_keep_their_spelling(small_index: object) -> None:
    caption = "xayah_hair, xayah_long_hair, 1girl, long hair, smile"
    assert found(caption, "ANM-TAG-001", small_index) == []
    assert found(caption, "ANM-TAG-004", small_index) == []
    # one whose first word names nothing else of the prompt is still reported
    assert len(found("1girl, xayah_hair, long hair, smile", "ANM-TAG-001", small_index)) == 1


def test_a_prompt_written_as_json_is_named_once_by_its_format() -> None:
    prompt = '{"subject": "A girl reads a letter by the window.", "style": "soft watercolor, muted"}'
    assert len(found(prompt, "ANM-FMT-001")) == 1
    assert found(prompt, "ANM-SYN-001") == []  # the object's braces are no NovelAI emphasis
    assert found(prompt, "ANM-TXT-001") == []  # its strings are no text to draw


def test_a_sentence_that_a_phrase_opens_before_a_count_tag_is_a_character_block() -> None:
    prompt = (
        "masterpiece, safe, 1girl, 1boy. On the left is aki, 1boy, black hair, grin. "
        "On the right is natsumi, 1girl, black hair, smile."
    )
    assert found(prompt, "ANM-DUP-001") == []
    # without such blocks, a repeat is still a duplicate
    assert len(found("masterpiece, safe, 1girl, black hair, smile, black hair", "ANM-DUP-001")) == 1


def test_a_character_block_after_sentences_merged_into_one_phrase() -> None:
    prompt = (
        "masterpiece, safe, 1girl, 1boy, the image depicts 2 characters. On the left of the image is aki, "
        "1boy, femboy, black hair, grin"
    )
    assert found(prompt, "ANM-DUP-001") == []


def test_a_subject_and_what_it_wears_is_prose() -> None:
    assert read_item("round eyewear wearing green turtleneck sweater") is Reading.PROSE
    assert read_item("school wear") is Reading.TAG  # a tag holding the noun


def test_instructions_and_a_name_with_its_series_in_words_are_prose(small_index: object) -> None:
    assert read_item("preserve original full-body composition") is Reading.PROSE
    assert read_item("keep out") is Reading.TAG  # two words: the tag
    prompt = "safe, 1girl, Asuka Langley Soryu from Evangelion, smile"
    assert found(prompt, "ANM-TAG-002", small_index) == []


def test_an_at_trigger_of_a_lora_elsewhere_in_the_prompt_is_no_unknown_artist(small_index: object) -> None:
    prompt = "safe, 1girl, @qwxzvbrush, smile, <lora:qwxzvbrush_AnimaV1:1>"
    assert found(prompt, "ANM-ART-002", small_index) == []
    assert len(found("safe, 1girl, @qwxzvbrush, smile", "ANM-ART-002", small_index)) == 1


def test_labelled_sentences_count_as_lines_of_a_spec_sheet(small_index: object) -> None:
    prompt = (
        "Generate a portrait of a woman in a black room.\nLighting: use a narrow spotlight on her face.\n"
        "Hair: long dark hair falling over the face.\nPose: one hand raised to the lips.\n"
        "Overall tone: moody, dramatic, mysterious."
    )
    assert found(prompt, "ANM-TAG-004", small_index) == []


def test_a_name_written_like_a_file_in_the_positive_is_a_trigger(small_index: object) -> None:
    assert found("safe, 1girl, PosingDynamicsDaal, smile", "ANM-TAG-004", small_index) == []
    # in the negative prompt such a name is an embedding's, and is named
    negative = Linter(index=small_index).lint("safe, 1girl", negative="EasyNegative, blurry")  # type: ignore[arg-type]
    assert any(f.code == "ANM-TAG-004" for f in negative)


def test_template_slots_written_as_comments_are_neither_tags_nor_weights(small_index: object) -> None:
    prompt = (
        "safe, (/*place tags*/), (solo, /*pose tags*/), (/*colour of hair*/ hair, /*colour of eyes*/ eyes)"
    )
    assert found(prompt, "ANM-TAG-004", small_index) == []
    weak = [prompt[start:end] for start, end in spans(found(prompt, "ANM-WGT-001", small_index))]
    assert weak == ["(solo, /*pose tags*/)", "(/*colour of hair*/ hair, /*colour of eyes*/ eyes)"]


def test_the_whole_name_of_a_lora_of_the_prompt_keeps_its_spelling(small_index: object) -> None:
    prompt = "safe, 1girl, solo, <lora:Kirisame_Marisa:1>, Kirisame_Marisa"
    assert found(prompt, "ANM-TAG-001", small_index) == []
    assert found(prompt, "ANM-TAG-002", small_index) == []
    assert len(found("safe, 1girl, solo, Kirisame_Marisa", "ANM-TAG-001", small_index)) == 1


def test_a_name_after_of_and_a_credit_listing_names_are_prose() -> None:
    assert read_item("eyes of Haruhi Suzumiya") is Reading.PROSE
    assert read_item("art by artgerm lau and wlop and ilya kuvshinov") is Reading.PROSE
    assert read_item("Lord of the Rings") is not Reading.PROSE  # a title, not a lowercase phrase
    assert read_item("painting by bad-artist") is Reading.TAG  # one name: an embedding's words, read as a tag


def test_a_prompt_of_sentences_and_fragments_between_full_stops_is_prose(small_index: object) -> None:
    prompt = (
        "damaged white humanoid mecha. giant black mechanical tower. mecha cockpit. clean confident ink. "
        "Show exactly the named visible characters. Keep the damage of the last panel. no text. "
        "readable silhouettes. no text."
    )
    assert found(prompt, "ANM-TAG-004", small_index) == []
    twice = [prompt[start:end] for start, end in spans(found(prompt, "ANM-DUP-001", small_index))]
    assert twice == ["no text"]  # a sentence written twice
    tags = "1girl. solo. smile. long hair. school uniform. outdoors. zzqx hat."  # no sentence among them
    assert "zzqx hat" in [tags[start:end] for start, end in spans(found(tags, "ANM-TAG-004", small_index))]


def test_a_template_field_named_like_a_constant_is_a_placeholder(small_index: object) -> None:
    prompt = "safe, 1girl, solo, long hair, POSITIVE_PROMPT"
    for code in ("ANM-TAG-001", "ANM-TAG-002", "ANM-TAG-004"):
        assert found(prompt, code, small_index) == []


def test_an_identifier_opening_a_caption_with_a_coined_name_is_its_trigger(small_index: object) -> None:
    prompt = "sample_chiyoko, 1girl, safe, smile"
    assert found(prompt, "ANM-TAG-004", small_index) == []
    assert found(prompt, "ANM-TAG-001", small_index) == []


def test_a_participle_and_its_adverb_is_prose() -> None:
    assert read_item("back arched slightly") is Reading.PROSE
    assert read_item("stands calmly") is Reading.PROSE
    assert read_item("holding belly") is Reading.TAG


def test_a_minor_artist_named_by_a_plain_word_is_the_word(small_index: object) -> None:
    negative = Linter(index=small_index).lint("safe, 1girl", negative="(average:1.2), blurry")  # type: ignore[arg-type]
    assert not [finding for finding in negative if finding.code == "ANM-ART-001"]
    assert len(found("safe, 1girl, wlop", "ANM-ART-001", small_index)) == 1  # 3,500 posts


def test_a_weight_closing_an_enclosing_group_is_its_weight() -> None:
    assert found("safe, (fingers(missing, fused), hands(cropped, mutated):1.4)", "ANM-WGT-003") == []
    assert len(found("safe, (smile):1.5", "ANM-WGT-003")) == 1


def test_a_style_trigger_glued_to_style_and_a_labelled_lora_name(small_index: object) -> None:
    assert found("safe, 1girl, @qwxz4x1style, smile", "ANM-ART-002", small_index) == []
    prompt = "safe, 1girl, @qwxzv, <lora:【Anima】qwxzv_Ayori:0.3>"  # the uploader's label is no part of it
    assert found(prompt, "ANM-ART-002", small_index) == []


def test_a_person_doing_something_is_prose_and_holding_stays_long() -> None:
    assert read_item("boy rescuing girl") is Reading.PROSE
    assert read_item("girl holding sword") is Reading.LONG


def test_novelai_k_diffusion_sampler_names_are_known() -> None:
    assert found(Example("safe, 1girl", settings={"sampler": "k_dpmpp_2s_ancestral"}), "ANM-SMP-001") == []


def test_a_description_in_chinese_reads_as_prose(small_index: object) -> None:
    prompt = "一个看向远山的少女形象，雪山背景，采用日本浮世绘风格，混合蓝色和红色柔和调色板，高分辨率"
    assert found(prompt, "ANM-TAG-004", small_index) == []


def test_capitals_in_cjk_items_and_japanese_sentence_endings(small_index: object) -> None:
    assert found("safe, 1girl, 唯@W, T恤", "ANM-TAG-002", small_index) == []
    assert read_item("で召喚したイラストだ") is Reading.PROSE
    assert read_item("猫耳") is Reading.TAG


def test_a_template_slot_titled_with_small_words_is_no_novelai_emphasis() -> None:
    assert found("A nostalgic anime film poster for {The Lord of the Rings}, safe.", "ANM-SYN-001") == []


def test_a_phrase_with_underscores_is_no_run_of_tags() -> None:
    (finding,) = found("safe, 1girl, front_view and back_, standing", "ANM-TAG-001")
    assert finding.suggestions == ("front view and back",)
