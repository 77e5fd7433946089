"""The tag/prose boundary: `boundary.read_item` reads one item, `parse` assembles items into sentences."""

from itertools import pairwise

import pytest

from anima_prompt import parse, render
from anima_prompt.boundary import (
    Reading,
    is_coined_name,
    is_coined_word,
    is_identifier,
    is_joined_description,
    read_item,
)
from anima_prompt.lint.analysis import count_sentences
from anima_prompt.nodes import Phrase, Separator, Tag
from anima_prompt.parser import PromptParser


class Vocabulary:
    """A tag vocabulary of a few names, as the tag index would answer."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)

    def is_tag(self, name: str) -> bool:
        return name in self.names


def kinds(text: str, parser: PromptParser | None = None) -> list[tuple[str, str]]:
    prompt = parser.parse(text) if parser is not None else parse(text)
    return [(node.kind, render(node)) for node in prompt.items]


@pytest.mark.parametrize(
    "text",
    [
        "long hair",
        "looking at viewer",
        "hair between eyes",
        "holding umbrella",
        "Hatsune Miku",
        "The Legend of Zelda",
        "the idolm@ster",
        "character a",
        "world war i",
        "more than 2 fingers",
        "blue_sky_with_a_cloud",
        "saber \\(fate\\)",
        "!?",
        "...",
        "初音ミク",
        "soft ambient lighting",
    ],
)
def test_tag_shaped_items_read_as_tags(text: str) -> None:
    assert read_item(text) is Reading.TAG


@pytest.mark.parametrize(
    "text",
    [
        "a dog asleep on a rug",
        "she waves",
        "the old lighthouse keeper",
        "everything melting slowly",
        "is running",
        "with a paper crown",
        "and tall grass",
        "in narrow alleys",
        "Rivers under snow",
        "Dogs bark.",
        "dressed in a long grey cape",
        "scattered among tall reeds",
        "wearing red boots",
        "depicting rolling hills",
        'a shop sign that says "CLOSED"',
        'title "Moon & Sun"',
        "猫が窓辺で眠っている。",
    ],
)
def test_sentence_shaped_items_read_as_prose(text: str) -> None:
    assert read_item(text) is Reading.PROSE


@pytest.mark.parametrize(
    "text", ["one arm holding more than three small flags", "bright red kite and long tail"]
)
def test_long_items_without_sentence_words_depend_on_their_neighbours(text: str) -> None:
    assert read_item(text) is Reading.LONG


def test_a_known_tag_is_never_prose_and_a_title_must_be_known() -> None:
    vocabulary = Vocabulary("looking_to_the_side", "the_king_of_fighters")
    assert read_item("looking to the side") is Reading.PROSE
    assert read_item("looking to the side", vocabulary) is Reading.TAG
    assert read_item("The King of Fighters", vocabulary) is Reading.TAG
    assert read_item("The Lost Harbour of Nowhere") is Reading.TAG  # a name, without an index
    assert read_item("The Lost Harbour of Nowhere", vocabulary) is Reading.PROSE


def test_identifiers_are_file_names_not_words() -> None:
    assert [is_identifier(t) for t in ("GoodNegative", "neg_embed_v3", "style_version2", "badfacev1")] == [
        True
    ] * 4
    assert not any(is_identifier(t) for t in ("1girl", "long_hair", "Blue Hair", "3d", "mp5", "k-on!"))


def test_a_participle_and_a_preposition_open_prose_only_in_four_words_or_more() -> None:
    assert read_item("lying on grass") is Reading.TAG  # like `sitting on lap`
    assert read_item("lying on soft grass") is Reading.PROSE
    assert read_item("standing on one leg", Vocabulary("standing_on_one_leg")) is Reading.TAG


def test_coined_names_pair_a_word_in_capitals_with_lowercase_words() -> None:
    assert all(is_coined_name(t) for t in ("FLORSKY style", "style of MOONVALE"))
    assert not any(is_coined_name(t) for t in ("8K HDR", "DSLR photo", "NSFW", "BRIGHT MOON", "Blue Sky"))


def test_a_tag_glued_to_a_sentence_by_a_period_stays_a_tag() -> None:
    prompt = parse("1girl, rin (fate). She waves.")
    assert [(node.kind, render(node)) for node in prompt.children] == [
        ("tag", "1girl"),
        ("separator", ", "),
        ("tag", "rin (fate)"),
        ("separator", ". "),
        ("phrase", "She waves."),
    ]
    tag = prompt.children[2]
    assert isinstance(tag, Tag) and tag.qualifier is not None


def test_tags_joined_by_periods_are_tags() -> None:
    assert kinds("3girls. grin. night.") == [("tag", "3girls"), ("tag", "grin"), ("tag", "night")]
    assert kinds("solo, red scarf.") == [("tag", "solo"), ("tag", "red scarf")]


def test_periods_of_abbreviations_and_known_tags_end_no_sentence() -> None:
    assert kinds("Dr. Jones, a.i. voice") == [("tag", "Dr. Jones"), ("tag", "a.i. voice")]
    parser = PromptParser(Vocabulary("tokyo_drift."))
    assert kinds("tokyo drift., 1girl", parser) == [("tag", "tokyo drift."), ("tag", "1girl")]
    assert kinds("tokyo drift., 1girl") == [("tag", "tokyo drift"), ("tag", "1girl")]


def test_descriptive_items_split_at_commas_are_prose() -> None:
    assert kinds("masterpiece, a dog asleep on a rug, warm light from the window, 1boy") == [
        ("tag", "masterpiece"),
        ("phrase", "a dog asleep on a rug"),
        ("phrase", "warm light from the window"),
        ("tag", "1boy"),
    ]


def test_a_sentence_runs_across_commas_and_short_lists_to_its_end() -> None:
    text = "The fox, with its tail curled up, naps on a stone, grey, mossy and cold. 1other"
    assert kinds(text) == [
        ("phrase", "The fox, with its tail curled up, naps on a stone, grey, mossy and cold."),
        ("tag", "1other"),
    ]


def test_a_sentence_never_swallows_a_long_run_of_tags() -> None:
    text = "a boy with a kite, smile, blue sky, cloud, grass, wind, standing."
    assert [kind for kind, _ in kinds(text)] == ["phrase", *["tag"] * 6]


def test_running_text_continues_into_a_capitalised_list() -> None:
    text = "A boy flies a kite over the hill. Bright colours, soft light, wide angle."
    assert kinds(text) == [("phrase", text)]
    assert [kind for kind, _ in kinds("1boy. Bright colours, soft light.")] == ["tag", "tag", "tag"]


def test_long_items_follow_the_prompt_they_are_in() -> None:
    tags = "1boy, kite, one arm holding more than three small flags, sky"
    assert [kind for kind, _ in kinds(tags)] == ["tag"] * 4
    prose = "a boy on a hill, one arm holding more than three small flags, the wind in his hair"
    assert [kind for kind, _ in kinds(prose)] == ["phrase"] * 3


def test_the_title_and_description_lines_of_a_dataset_caption_are_prose() -> None:
    assert kinds("ye-pop\nOld Harbour\nBoats rest in the fog.") == [
        ("tag", "ye-pop"),
        ("phrase", "Old Harbour"),
        ("phrase", "Boats rest in the fog."),
    ]
    description = "Watercolour, boats, grey sky. Left: a red sail; right: gulls."
    assert kinds(f"deviantart\nHarbour\n{description}") == [
        ("tag", "deviantart"),
        ("phrase", "Harbour"),
        ("phrase", description),
    ]


def test_fullwidth_commas_separate_tags_and_join_cjk_clauses() -> None:
    assert kinds("1girl，solo") == [("tag", "1girl"), ("tag", "solo")]
    assert kinds("少女，微笑，花园。") == [("phrase", "少女，微笑，花园。")]
    assert kinds("少女在花园里。她穿着T恤。") == [("phrase", "少女在花园里。她穿着T恤。")]


def test_korean_clauses_between_ascii_commas_are_prose_and_short_korean_items_tags() -> None:
    # Korean separates clauses with `, `: a clause of four words or more, or one ending in `-다`, is prose,
    # and clauses joined by commas are one sentence
    assert kinds("고양이 한 마리가 창가에서 조용히 자고 있고, 부드러운 햇살이 방을 채운다") == [
        ("phrase", "고양이 한 마리가 창가에서 조용히 자고 있고, 부드러운 햇살이 방을 채운다"),
    ]
    assert kinds("강아지가 잔다, 1girl") == [("phrase", "강아지가 잔다"), ("tag", "1girl")]
    assert kinds("소녀 1명, 검은 머리, 책을 읽고 있음") == [
        ("tag", "소녀 1명"),
        ("tag", "검은 머리"),
        ("tag", "책을 읽고 있음"),
    ]


def test_a_period_standing_between_spaces_after_a_word_ends_an_item() -> None:
    # the SDXL style templates append their words as `{prompt} . word, word`
    text = "red scarf, smiling . oil painting, canvas"
    assert kinds(text) == [
        ("tag", "red scarf"),
        ("tag", "smiling"),
        ("tag", "oil painting"),
        ("tag", "canvas"),
    ]
    assert [render(node) for node in parse(text).children][3] == " . "
    assert render(parse(text)) == text
    assert kinds("x . y") == [("tag", "x . y")]  # a single letter is no word a sentence ends with


def test_a_quality_tag_in_brackets_after_words_is_a_weight_not_a_qualifier() -> None:
    assert kinds("oil sketch (best quality), rin (fate)") == [
        ("tag", "oil sketch"),
        ("weighted", "(best quality)"),
        ("tag", "rin (fate)"),
    ]


def test_a_qualifier_follows_a_space_or_an_underscore() -> None:
    (tag,) = parse("rin_(fate)").items
    assert isinstance(tag, Tag) and tag.qualifier is not None
    assert kinds("rin(fate)") == [("tag", "rin"), ("weighted", "(fate)")]


def test_a_group_alone_stays_a_group_even_with_prose_inside() -> None:
    (group,) = parse("(a dog asleep on the rug)").items
    assert group.kind == "weighted"
    assert [node.kind for node in group.children] == ["phrase"]  # type: ignore[union-attr]


def test_a_sentence_through_its_groups_is_one_phrase_but_tags_before_groups_are_not() -> None:
    assert kinds("She has ((bright eyes)) and smiles.") == [("phrase", "She has ((bright eyes)) and smiles.")]
    assert kinds("sfw (best quality:1.2) a boy") == [
        ("tag", "sfw"),
        ("weighted", "(best quality:1.2)"),
        ("phrase", "a boy"),
    ]


def test_an_artist_after_a_lora_tag_is_an_artist() -> None:
    assert kinds("<lora:ink:1>@some painter") == [("foreign", "<lora:ink:1>"), ("artist", "@some painter")]


def test_separators_between_items_alternate_with_them() -> None:
    for text in ("a. b, c", "x (y). Z is here.", "p，q。r", "1girl.\n\nShe waves."):
        children = parse(text).children
        assert not any(
            isinstance(first, Separator) and isinstance(second, Separator)
            for first, second in pairwise(children)
        ), text
        assert render(parse(text)) == text


def test_phrases_keep_their_end_punctuation() -> None:
    (phrase,) = parse("She feeds the birds (gently:1.2).").items
    assert isinstance(phrase, Phrase)
    assert render(phrase).endswith(".")


def test_cjk_full_stops_end_sentences_without_a_space() -> None:
    assert count_sentences("少女在花园里。她穿着T恤。背景是粉色。") == 3
    assert count_sentences("A girl waits. She smiles.") == 2
    assert count_sentences("a girl with an umbrella, neon signs on the wet road") == 1


def test_a_sentence_without_its_period_may_end_with_a_list() -> None:
    text = "In the style of a woodcut, a fox on a hill, framed by drawings of lanterns, smoke, cranes, koi"
    assert kinds(text) == [("phrase", text)]
    with_and = "a tower at dusk surrounded by clouds of birds, bats, and kites"
    assert kinds(with_and) == [("phrase", with_and)]


def test_tags_after_a_description_are_no_list_of_it() -> None:
    # a segment opening with tags is a tag list with phrases in it
    text = "lowres, drawn in the style of bad art, blurry, watermark"
    assert [kind for kind, _ in kinds(text)] == ["tag", "phrase", "tag", "tag"]
    # more words of tags than of prose: the tags stand beside the description
    text = "in a field of roses, smile, blush, looking at viewer, upper body"
    assert [kind for kind, _ in kinds(text)] == ["phrase", "tag", "tag", "tag", "tag"]
    # `in autumn` takes no list, and an item that is not a short tag ends none
    assert [kind for kind, _ in kinds("a shrine on a hill in autumn, red maple leaves, stone stairs")] == [
        "phrase",
        "tag",
        "tag",
    ]
    text = "a bowl of cherries, pears, one arm holding more than three flags"
    assert [kind for kind, _ in kinds(text)] == ["phrase", "tag", "phrase"]


def test_a_long_description_ending_in_a_group_has_no_qualifier() -> None:
    text = "dreamy watercolor harbour town seaside morning (sunrise)"
    description = "dreamy watercolor harbour town seaside morning"
    assert kinds(text) == [("phrase", description), ("weighted", "(sunrise)")]
    assert kinds("saber alter (fate)") == [("tag", "saber alter (fate)")]


def test_a_name_before_its_apposition_opens_the_sentence() -> None:
    text = "watercolor, Mira, a young witch, flies over the town. She waves."
    assert kinds(text) == [
        ("tag", "watercolor"),
        ("phrase", "Mira, a young witch, flies over the town. She waves."),
    ]
    assert kinds("Masterpiece, a girl stands in the rain.")[0] == ("tag", "Masterpiece")  # a special tag
    assert kinds("smile, a girl stands in the rain.")[0] == ("tag", "smile")  # not capitalised: a tag


def test_a_word_that_cannot_stand_alone_is_left_of_a_sentence() -> None:
    assert kinds("by (wlop:1) (ebifurya:0.4) cat ears")[0] == ("phrase", "by")
    assert kinds("The {distant flutter} stirs the leaves")[0] == ("phrase", "The")
    assert kinds("outside, behind")[0] == ("tag", "outside")  # an adverb stands alone (`outside` is a tag)


def test_a_participle_before_a_preposition_anywhere_in_a_long_item_is_prose() -> None:
    assert kinds("1girl, one arm reaching toward the sky, smile")[1][0] == "phrase"
    assert kinds("2girls, bouquet passing between both girls, smile")[1][0] == "phrase"
    assert kinds("1girl, sitting on chair, smile")[1] == ("tag", "sitting on chair")  # three words: a tag


def test_a_plural_noun_and_its_participle_are_a_clause() -> None:
    assert kinds("1girl, lanterns glowing, smile")[1] == ("phrase", "lanterns glowing")
    assert kinds("1girl, nervous sweating, smile")[1] == ("tag", "nervous sweating")  # not a plural noun


def test_a_long_cjk_run_without_punctuation_is_a_sentence() -> None:
    assert kinds("穿着制服的少女和一只熊猫一起在花园里奔跑")[0][0] == "phrase"
    assert kinds("黑发, 猫耳")[0] == ("tag", "黑发")  # short CJK items are tags


def test_a_thing_and_its_place_in_the_picture_is_a_description() -> None:
    assert kinds("1girl, willow tree in background, smile")[1] == ("phrase", "willow tree in background")
    assert kinds("1girl, cherry blossoms in foreground")[1][0] == "phrase"
    assert kinds("1girl, forest background, smile")[1] == ("tag", "forest background")  # a tag's form
    assert kinds("1girl, hand in pocket, smile")[1] == ("tag", "hand in pocket")


def test_the_possessive_of_a_name_inside_an_item_is_prose() -> None:
    assert kinds("2girls, one hand clasping Miku's reaching hand, smile")[1][0] == "phrase"
    assert kinds("2girls, arms around Character B's waist")[1][0] == "phrase"
    assert kinds("1girl, artist's name, smile")[1] == ("tag", "artist's name")  # no name: a tag's form


def test_a_run_of_hashtags_is_text_copied_from_a_social_page() -> None:
    assert kinds("1girl, #sketch #anime #fictional_character")[1][0] == "phrase"
    assert kinds("1girl, #compass")[1] == ("tag", "#compass")  # one is a tag (a game's title)


def test_a_word_of_influence_makes_a_description() -> None:
    assert kinds("1girl, anime-inspired fantasy scene, smile")[1][0] == "phrase"
    assert kinds("1girl, ghibli-esque, smile")[1][0] == "phrase"
    # a capitalised one is left to the other rules, so it does not carry the tags after it into a sentence
    assert kinds("flat design, Jules Verne-inspired contrast, clean linework, graphic design.")[-1] == (
        "tag",
        "graphic design",
    )


@pytest.mark.parametrize(
    ("text", "coined"),
    [
        ("How2Draw", True),
        ("4n1m390s", True),
        ("1girl", False),
        ("8k wallpaper", False),
        ("a2 b3c", False),
        ("3d", False),
    ],
)
def test_a_word_with_digits_between_letters_is_coined(text: str, coined: bool) -> None:
    assert is_coined_word(text) is coined


def test_commas_inside_quoted_words_split_nothing() -> None:
    assert kinds('1girl, a sign that says "Hello, world", smile') == [
        ("tag", "1girl"),
        ("phrase", 'a sign that says "Hello, world"'),
        ("tag", "smile"),
    ]
    # a tag list in quotes (a JSON string) is still a tag list, and so is a quote that never closes
    assert [kind for kind, _ in kinds('"1girl, smile, blue hair"')] == ["tag", "tag", "tag"]
    assert [kind for kind, _ in kinds('1girl, sign "OPEN, smile, a, b, c, d"')] == ["tag"] * 7


def test_a_credit_to_a_named_person_is_prose() -> None:
    assert kinds("1girl, art by L. S. Lowry, smile")[1] == ("phrase", "art by L. S. Lowry")
    assert kinds("1girl, painting by bad-artist, smile")[1] == ("tag", "painting by bad-artist")  # no name


def test_a_sentence_runs_through_a_group_of_its_own_words() -> None:
    text = "1girl. A tart topped with vibrant, jewel-like fruits (berries, kiwi) bursting with freshness."
    assert kinds(text)[-1] == ("phrase", text[7:])
    (phrase,) = [node for node in parse(text).items if isinstance(node, Phrase)]
    assert any(render(child) == "(berries, kiwi)" and child.kind == "weighted" for child in phrase.children)
    assert kinds("1girl, (smile), She waves.")[:2] == [("tag", "1girl"), ("weighted", "(smile)")]


def test_an_item_ending_with_a_preposition_starts_a_phrase() -> None:
    assert kinds("imagine, dream of, 1girl")[1] == ("phrase", "dream of")
    assert kinds("1girl, from behind, bent over")[1:] == [("tag", "from behind"), ("tag", "bent over")]
    assert kinds("1girl, purple velvet cloth beneath")[1][0] == "tag"  # an adverb here


def test_a_subject_and_its_verb_of_holding_are_long_and_of_wearing_prose() -> None:
    assert read_item("Esora wearing stgotf") is Reading.PROSE  # tags name the garment, not the wearing
    assert kinds("She smiles. Esora wearing stgotf, a cute girl with twin tails.")[0][0] == "phrase"
    assert read_item("knight holding sword") is Reading.LONG  # the items around it decide
    assert kinds("1girl, knight holding sword, smile")[1] == ("tag", "knight holding sword")  # a tag list
    assert read_item("holding sword") is Reading.TAG  # the tag opens with it


@pytest.mark.parametrize(
    "item", ["Lightning surrounds men", "starry sky adorns hair", "houses fall", "Girls wear school uniforms"]
)
def test_a_subject_and_its_verb_are_a_clause(item: str) -> None:
    assert kinds(f"1girl, {item}, smile")[1] == ("phrase", item)


@pytest.mark.parametrize("item", ["no facial features", "ear covers", "food stands", "skirt hold"])
def test_nouns_that_look_like_verbs_stay_tags(item: str) -> None:
    assert kinds(f"1girl, {item}, smile")[1] == ("tag", item)


def test_an_item_opening_with_wear_continues_a_description() -> None:
    assert kinds("1girl, wear white dress, smile")[1] == ("phrase", "wear white dress")


def test_a_few_capitalised_words_closed_by_a_full_stop_in_running_prose_are_a_sentence() -> None:
    text = "Soft mist between the trees. Dappled green light. Anime style. Mystical but friendly."
    assert kinds(text) == [("phrase", text)]
    assert kinds("Anime style. A close-up shot of a girl.")[0][0] == "phrase"  # before a sentence too
    # a list after such a sentence stays a list, and special tags and tag lists are left alone
    listed = kinds("A girl stands in the rain. Jungle background. Graffiti style, clean minimalism.")
    assert listed[1:] == [("tag", "Graffiti style"), ("tag", "clean minimalism")]
    assert kinds("She smiles. Masterpiece.")[-1] == ("tag", "Masterpiece")
    assert kinds("1girl, solo. Smile.")[-1] == ("tag", "Smile")


def test_an_english_sentence_with_a_cjk_word_is_prose() -> None:
    assert kinds("a bottle with a 彩虹星系 inside it on a table")[0][0] == "phrase"
    assert kinds("黑发, 猫耳")[0] == ("tag", "黑发")


def test_a_stop_after_a_group_closes_it() -> None:
    text = "anime artwork {prompt} . anime style, key visual"
    assert kinds(text)[2] == ("tag", "anime style")  # a style template's ` . `


def test_a_lumina_system_prompt_marker_is_syntax() -> None:
    text = "You are an assistant designed to generate anime images. <Prompt Start>, 1girl"
    assert kinds(text)[1] == ("foreign", "<Prompt Start>")


def test_the_prompts_end_closes_a_last_fragment_sentence() -> None:
    assert kinds("an anime hamburger photo. Blue accent") == [
        ("phrase", "an anime hamburger photo. Blue accent")
    ]


def test_with_an_index_an_unknown_item_opening_with_the_is_prose() -> None:
    parser = PromptParser(Vocabulary("the_idolm@ster"))
    assert kinds("1girl, the country, the idolm@ster", parser)[1:] == [
        ("phrase", "the country"),
        ("tag", "the idolm@ster"),
    ]


def test_running_text_may_open_a_sentence_with_a_digit() -> None:
    text = "inside the train, window showing the sea. 2 seats visible, the window is fully visible."
    assert kinds(text) == [("phrase", text)]


def test_only_a_stop_after_a_group_is_cut_off_the_text_after_it() -> None:
    # at the start of a prompt the period stays in the text, so normalising twice gives the same text
    assert kinds(". ;)")[0] == ("tag", ". ;")


def test_a_capitalised_subject_before_its_predicate_opens_the_sentence() -> None:
    text = "Two glass spheres, one large and one small, float on a purple cloth."
    assert kinds(text) == [("phrase", text)]
    # tags before a sentence with a subject of its own stay tags, and so do special and known tags
    assert kinds("Masterpiece, best quality, a girl sits in the rain.")[0] == ("tag", "Masterpiece")
    parser = PromptParser(Vocabulary("hatsune_miku"))
    assert kinds("Hatsune Miku, 1girl, sits in the rain.", parser)[0] == ("tag", "Hatsune Miku")


def test_a_cjk_word_and_its_gloss_are_no_qualified_tag() -> None:
    text = "Laughing loudly with a dish in hand,豪快 (hearty). Anime style."
    assert kinds(text)[0][0] == "phrase"
    assert kinds("saber (fate), 1girl")[0] == ("tag", "saber (fate)")


def test_an_item_glued_to_a_group_is_no_member_of_a_sentences_list() -> None:
    # normalising twice gives the same text: `saber_` stays a tag beside its group, not a list member
    text = "a dragon sleeping on a pile of books, saber_(fate) 1girl, "
    assert kinds(text)[:2] == [("phrase", "a dragon sleeping on a pile of books"), ("tag", "saber_")]


@pytest.mark.parametrize(
    ("text", "joined"),
    [
        ("lots of blue butterflies", True),
        ("cute girl and cat", True),
        ("hand on hip", True),  # a tag of the same shape: the index decides, before this is asked
        ("stars shining above", False),  # `above` takes no object
        ("in castle", False),
        ("blue butterflies", False),
    ],
)
def test_a_joined_description_has_a_preposition_or_conjunction_before_its_last_word(
    text: str, joined: bool
) -> None:
    assert is_joined_description(text) is joined


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("stands calmly smiling", Reading.PROSE),  # a verb in `-s` and its adverb
        ("she waves gently", Reading.PROSE),
        ("waves", Reading.TAG),  # alone a noun as much as a verb
        ("ocean waves", Reading.TAG),
    ],
)
def test_a_word_in_s_before_an_adverb_of_manner_is_a_verb(text: str, reading: Reading) -> None:
    assert read_item(text) is reading


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("4. **Bottom Right**: Doctor sighing", Reading.PROSE),
        ("**: Doctor's face", Reading.PROSE),
        ("10. Rain", Reading.PROSE),
        ("2. smile", Reading.TAG),  # a numbered tag stays a tag
        ("*dramatic*", Reading.TAG),
    ],
)
def test_markdown_is_prose(text: str, reading: Reading) -> None:
    assert read_item(text) is reading


def test_a_description_in_another_language_is_prose() -> None:
    portuguese = (
        "Ela tem cabelo longo em tons de vermelho e roxo, olhos grandes e expressivos, pele clara, com brilho"
    )
    assert all(kind == "phrase" for kind, _ in kinds(portuguese))
    # an English prompt with a name or two of those words stays a tag list
    assert [kind for kind, _ in kinds("1girl, los angeles, el dorado, smile")] == ["tag"] * 4


def test_chinese_clauses_without_a_full_stop_are_one_sentence() -> None:
    assert kinds("一只凶恶的狼，猩红的眼神，在午夜咆哮，月光皎洁") == [
        ("phrase", "一只凶恶的狼，猩红的眼神，在午夜咆哮，月光皎洁")
    ]
    # a tag list in Chinese holds few clauses and stays a list
    assert [kind for kind, _ in kinds("1个女孩，长发，蓝眼睛，白色的连衣裙，微笑")] == [
        "tag",
        "tag",
        "tag",
        "phrase",
        "tag",
    ]


def test_a_long_list_inside_a_sentence_ends_with_and() -> None:
    prompt = (
        "A forest grotto with tall pale trunks, white bare branches, delicate plants, ghostly ferns, "
        "tiny white flowers, and deep black gaps filled with faint stars."
    )
    assert [kind for kind, _ in kinds(prompt)] == ["phrase"]
    # a tag list between sentences stays a list: special tags and tags written as tags end the run
    tags = (
        "A girl stands in a shrine, absurdres, anime_style, clean lineart, soft light, and gold. She smiles."
    )
    assert "tag" in [kind for kind, _ in kinds(tags)]
