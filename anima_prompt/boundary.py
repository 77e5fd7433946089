"""The tag/prose boundary: whether one item of a prompt is a Danbooru-style tag or natural language.

An item is the text between separators (commas, line breaks, sentence ends). Danbooru tags are short noun or
participle phrases written without the closed-class words that English sentences need. Of the 32,545
general tags with 25 posts or more, none holds `these`, `those`, `some`, `every`, `its`, `has`, `were` or
`which`; the articles, personal pronouns, auxiliaries and subordinators occur only in meme titles (`a` in
48 tags, `she` in 2, `is` in 19) and in `to the side` (most of the 136 with `the`). Prepositions are
different: `on`, `at`, `from`, `behind`, `between` build thousands of tags (`looking at viewer`, `hair
between eyes`), so a preposition says little on its own, but only 35 general tags of three words or more
open with one. Tags are also short: 96 % of general tags have one to three words (qualifiers left out),
0.4 % six or more. Natural language, in turn, is what Anima's Qwen3 encoder reads as sentences.

`read_item(text, vocabulary)` reads an item from these features of its text (`ItemShape`):

1. a known tag or alias of the tag index, or a qualified tag's name without its qualifier (when an index
   is given) → tag (`looking to the side`, `the pose`, `noelle`);
2. a double-quoted span (`title "Moon & Sun"`, `a sign that says "OPEN"`) → prose: the words are to be
   drawn or said as written; otherwise an item written as a tag → tag: words joined by underscores
   (`long_hair`), escaped parentheses (`saber \\(fate\\)`), nothing but symbols (`^_^`, `...`); a run
   of two hashtags or more (`#sketch #anime #illustration`) → prose: labels copied from a social page;
   Markdown (`**Top Right**: ...`, a numbered entry `4. Doctor sighing`, a bulleted one in sentence case
   `- Leave a gap`) → prose: text an LLM wrote in sections; a colour code (`#FFFFFF`) → prose: no tag;
   clauses joined by a semicolon (`white muzzle; winking right eye`) → prose;
   a capitalised negation or imperative opening an item the index does not know (`No page UI`, `Avoid
   clutter`), or one in capitals before words in lowercase, known or not (`NO animal ears`) → prose: an
   instruction to the model (Danbooru's `no humans` is lowercase);
3. CJK text (Chinese, Japanese, Korean) → prose with sentence punctuation or clause commas (`。`, `、`),
   of `CJK_SENTENCE_CHARS` CJK characters or more, with a Chinese particle of a clause (`的`, `在`, `着`,
   `了`: `一只凶恶的狼`), Japanese text ending as a sentence does (`だ`, `です`, `ました`: `イラストだ`), and
   Korean text of four words or more or ending in `-다` (Korean separates clauses with `, `);
   short CJK items are tags written in those scripts, unless they hold the words of an English sentence
   (`a bottle with a 彩虹星系 inside it`), which the rules below read;
4. a name or title in title case (`Hatsune Miku`, `The Legend of Zelda`) → tag without an index, since it
   probably names a character or series; with an index the name must be known (rule 1), else the rules
   below decide;
5. prose for one word that cannot stand alone (article, pronoun, auxiliary, conjunction, a preposition
   that is no adverb: `by` before artists in groups; not the letters `a` and `i`, which name things), and
   when any of these holds
   (`ItemShape.reading`), for items of two words or more:
   - a sentence word: an article or determiner before another word (`a cat`; `the` in two words only
     opening a sentence, `The fox`, not `the idolm@ster`, but with an index any item opening with `the`
     that the index does not know: `the country`), a personal or indefinite pronoun (`she`, `them`,
     `everything`), an auxiliary or modal verb (`is`, `has`, `would`), a subordinator (`while`, `which`);
   - the first word is a coordinating conjunction, `with`, `including` or `featuring` (`and lavender`,
     `with a military cap`), or a verb that describes a picture rather than names what is in it
     (`wearing`, `depicting`; tags name the garment: `blue shirt`): such items continue a sentence (no
     general tag opens with them but one with `and`);
   - a sentence in form: a capital first letter and end punctuation (`Houses fall.`), or a plural noun and
     its participle (`lanterns glowing`; the general tags of that form, `noses touching`, are known);
   - a clause: a subject and a verb of what a picture shows, in the third person after any word
     (`Lightning surrounds men`, `starry sky adorns hair`) or in the plural right after a plural noun
     (`houses fall`, `Girls wear school uniforms`); `FINITE_VERBS` and `PLURAL_VERBS` leave out the forms
     that are nouns too (`features`, `covers`, `waves`, `stands`, `looks`), which are verbs only before an
     adverb of manner (`stands calmly`, `MANNER_ADVERBS`); among the general tags only memes and
     `fireman's carry` have such a word;
   - a place in the picture after what is there, three words or more ending in `in background`,
     `in foreground` or `in distance` (`willow tree in background`): no Danbooru tag is so written (tags
     name the thing; `hills in the background` has its article and is a sentence word already);
   - the possessive of a name after a lowercase word (`one hand clasping Miku's hand`,
     `arms around Character B's waist`, `eyes of Haruhi Suzumiya`): tags are lowercase and name no one's
     body parts by name;
   - a credit, `by` before a capitalised name after another word (`art by L. S. Lowry`, `painting by Monet`)
     or before names joined by `and` (`art by artgerm and wlop`): Danbooru names artists by their tag alone
     (`@wlop`);
   - a word that says what the picture draws on, `-inspired`, `-esque` or `-based`, in a lowercase item
     (`anime-inspired fantasy scene`), also as a one-word item: no Danbooru tag has one (a capitalised
     item, `Jules Verne-inspired contrast`, is left to the rules below: read as prose it would carry the
     tags after it into a sentence up to the next full stop);
   - two words or more ending with a preposition that no general tag ends with (`dream of`, `surrounded
     by`; `DANGLING_PREPOSITIONS`: not `from behind`, `bent over`, `shirt tucked in`);
   - an instruction to the model, three words or more opening with an imperative (`preserve original
     composition`, `_IMPERATIVES`), and a name with its series in title case (`Asuka Langley Soryu from
     Evangelion`) that the index does not know;
   - a subject and what it wears, three words or more with `wearing` or `wears` between them (`round
     eyewear wearing green sweater`, `Esora wearing stgotf`): tags name the garment (`school wear` holds
     the noun);
   - three words or more opening with a preposition (`in rainy street`), four words or more with a
     participle before a preposition (`surrounded by pine trees`, `one arm reaching toward her`; among the
     general tags only known ones such as `standing on one leg`), or three words or more in
     sentence case (a capital first letter, not a title) with a preposition before another word (`Wings
     on fire`; not `Floating airship above`);
6. long without any of those → `Reading.LONG`: six words or more, five with a preposition or
   conjunction (`sleek skin with delicate lines`, `one hand with more than 5 fingers`), or three words or
   more with a verb of holding after the first word, a subject and its verb (`girl holding sword`; among
   the general tags only memes and `viewer holding leash`, which the index knows). Such items are
   user-made tags in a tag list and descriptions in prose, so the items around them decide
   (`classify.Classifier` counts the words of tags and prose on the item's line);
7. otherwise → tag.

Two more features of prose serve the assembly of sentences in `classify`: an item ending with `of`,
`with`, `including`, `featuring` or `like` and a bare noun (`surrounded by drawings of lanterns`,
`opens_list`) may go on as a list in the comma items after it, and a short item opening with a conjunction
(`and koi`, `continues_list`) is a member of such a list. The linter asks one more: an item of three words
or more joined by a preposition or conjunction (`is_joined_description`) that the index finds near no tag is
a description, not an unknown tag, in a prompt that has sentences.

The index refines the reading only through rules 1 and 4. Lowercasing, spacing and escaping a tag never
turn it into prose except where its capitals alone made it a title, and `fmt` keeps prose as written, so
`fmt` and `--fix` reach a fixed point (property-tested over generated hybrid prompts).

`anima_prompt.classify` applies the reading to each item and assembles sentences across commas (see there).
`benchmarks/lint_precision.py` measures the linter's parser against the labelled units of `tests/corpus/`
(boundary accuracy per label, with a confusion table); `docs/benchmarks.md`, "Linter precision on real
prompts", keeps the figures with their dates.
"""

import enum
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Protocol

from anima_prompt.tagtext import danbooru_name


class Reading(enum.Enum):
    """What an item reads as."""

    TAG = "tag"
    PROSE = "prose"
    LONG = "long"  # long, without sentence words: prose among prose, a tag among tags


class TagVocabulary(Protocol):
    """What the boundary model asks a tag index (`lint.lookup.CachedIndex` answers it)."""

    def is_tag(self, name: str) -> bool:
        """Whether `name` (a Danbooru name such as `looking_to_the_side`) is a known tag or alias, or the
        name of a qualified tag without its qualifier (`noelle` for `noelle_(genshin_impact)`)."""
        ...


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Closed word classes of English, lowercase: facts about English, checked against Danbooru's general tags
# (module docstring).
ARTICLES = _words("a an the")
_DETERMINERS = ARTICLES | _words(
    "this these those some every each several any another its their his her my your our"
)
_PRONOUNS = _words(
    """i i'm you he she it it's we they me him us them herself himself themselves itself myself yourself
    everything something nothing anything everyone someone nobody everybody somebody she's he's they're"""
)
_AUXILIARIES = _words(
    """is are was were be been being am has have had does did do will would could should shall might must
    isn't aren't wasn't weren't doesn't don't didn't can't won't there's"""
)
_SUBORDINATORS = _words("while because although though whose which whom who where")
#: Sentence words: one in an item of two words or more makes it prose (rule 5).
SENTENCE_WORDS = _DETERMINERS | _PRONOUNS | _AUXILIARIES | _SUBORDINATORS
#: Words that also name things in tags when they come last (`character a`, `type a`, `world war i`).
_LETTER_WORDS = _words("a an i")
#: Prepositions: common in tags (`hand on hip`), so they count only in long items.
PREPOSITIONS = _words(
    """with in on at of from by under over behind across through into onto beside between near above below
    around against along among toward towards without inside outside upon within beneath before after
    during like for to"""
)
_CONJUNCTIONS = _words("and or but nor")
#: Words that cannot stand alone as an item: sentence words, conjunctions, and prepositions that are no
#: adverb (`outside`, `behind`, `above` stand alone, and `outside` is an alias of `outdoors`).
FUNCTION_WORDS = (
    SENTENCE_WORDS
    | _CONJUNCTIONS
    | _words("by with of in on at from to for into onto upon toward towards during between among through")
)
#: Verbs that describe what a picture shows rather than name it; no general tag opens with them (tags name
#: the garment, not the wearing: `blue shirt`, not `wearing blue shirt`).
_DESCRIBING_VERBS = _words("wear wearing wears depicting creating using")
_PERSONS = _words("girl girls boy boys man men woman women person people child children")
_WEARING = _words("wearing wears")  # between a subject and its clothes, no tag holds them
#: Prepositions that no general tag ends with (`from behind`, `bent over`, `shirt tucked in`, `from above`,
#: `looking around` end with others): an item ending with one starts a phrase (`dream of`, `surrounded by`).
#: Left out: prepositions that are adverbs too (`cloth beneath`, `stars above`).
DANGLING_PREPOSITIONS = _words(
    "of with by at from into onto toward towards during like among between upon for against"
)
#: Verbs of a clause after its subject (`girl holding sword`, `Esora wearing a uniform`).
_CLAUSE_VERBS = _words("wearing wears holding holds depicting")
#: Verbs of what a picture shows, in the third person singular: after a subject they make a clause.
FINITE_VERBS = _words(
    """wears holds adorns surrounds sits floats glows shines reflects fills gazes stares flows leans walks
    dances sings reads eats carries sleeps swims blooms drifts illuminates depicts contains emits radiates
    spreads crumbles"""
)
#: The same verbs in the plural, a clause right after a plural noun (`houses fall`).
PLURAL_VERBS = _words(
    """wear adorn surround sit float fall glow shine reflect fill gaze stare flow lean walk dance sing read
    eat carry sleep swim bloom drift illuminate depict contain emit radiate spread crumble discharge"""
)
#: Adverbs of manner: after a word in `-s` they make it a verb (`stands calmly`, `waves gently`), which the
#: verbs that are nouns too (`stands`, `waves`, `looks`) are not by themselves. No general tag has one.
MANNER_ADVERBS = _words(
    """calmly gently softly slowly quickly quietly happily proudly gracefully elegantly confidently playfully
    peacefully firmly tightly lightly brightly warmly shyly sadly boldly casually lazily curiously sweetly
    fiercely intensely serenely silently nervously cheerfully slightly"""
)
#: Words that open the continuation of a sentence; no general tag opens with them, but one with `and`.
_CONTINUATION_STARTS = _CONJUNCTIONS | _words("with including featuring") | _DESCRIBING_VERBS
_PLURAL = re.compile(r"[a-z]{2,}[^siu]s")  # not -ss, -is, -us, -ous
_GERUND = re.compile(r"[a-z]{3,}ing")
#: Participles: with a preposition after them they open a description (`surrounded by pine trees`).
_PARTICIPLE = re.compile(r"[a-z]{2,}(?:ing|ed)")
#: Function words a title keeps lowercase (`The Legend of Zelda`).
_TITLE_LOWERCASE = _DETERMINERS | PREPOSITIONS | _CONJUNCTIONS | _words("no wa ga wo")
#: Abbreviations whose period ends no sentence (`Mr. Smith`, `super smash bros.`).
ABBREVIATIONS = _words("mr mrs ms dr st jr sr vs vol no inc bros ft mt etc approx")

LONG_ITEM_WORDS = 6  # six words or more: long (0.4 % of general tags are that long)
CLAUSE_ITEM_WORDS = 3  # a subject, a verb of wearing or holding and its object: long (`girl holding sword`)
PREPOSITION_ITEM_WORDS = 5  # five words with a preposition or conjunction: long
PREPOSITION_START_WORDS = 3  # a phrase of three words opening with a preposition: prose (`in rainy street`)
PARTICIPLE_START_WORDS = 4  # four words opening with a participle and a preposition: prose
_CAPITAL_NAME_LETTERS = 5  # a word this long in capitals is a coined name, not an acronym (`HDR`, `DSLR`)
DESCRIPTION_WORDS = 3  # three words joined by a preposition or conjunction: a description near no tag
SENTENCE_CASE_WORDS = 3  # a capitalised phrase of three words with a preposition: prose (`Wings on fire`)
#: Prepositions whose object may be a list (`drawings of lanterns, smoke, koi`); `in autumn` opens none.
LIST_PREPOSITIONS = _words("of with including featuring like")
LIST_OBJECT_WORDS = 3  # a bare noun phrase after a prose item's last preposition: a list's first object

_WORD = re.compile(r"[^\W_]+(?:['’.\-@][^\W_]+)*", re.UNICODE)
_ESCAPED_GROUP = re.compile(r"\\\(.*?\\\)|\(.*?\)")
_UNDERSCORE_JOIN = re.compile(r"[^\W_]_[^\W_]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CJK_CLAUSE = re.compile(r"[。、，！？；]")
#: Chinese particles of a clause (possessive `的`, `在` at, aspect `着` and `了`): an item with one describes
#: (`一只凶恶的狼`, `在午夜咆哮`); a tag names (`长发`, `蓝眼睛`).
_CHINESE_PARTICLES = re.compile(r"[的在着了]")
#: A Japanese sentence ends with the copula or a polite or past verb ending (`イラストだ`, `描きました`).
_JAPANESE_SENTENCE_END = re.compile(r"(?:だ|です|ます|でした|ました|った)[。！？!?]?$")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
# Korean writes spaces between words and ASCII commas between clauses, so a Korean sentence has no `、`:
# four words or more, or a plain declarative ending (`-다`: `비친다`, `있다`), make a clause; Korean tags
# are one to three words (`검은 머리`, `쟁반을 들고 있음`)
HANGUL_CLAUSE_WORDS = 4
# Chinese and Japanese tags are short (`黑发`, `猫耳`, `セーラー服`); a run of this many CJK characters
# without punctuation is a sentence written without its full stop
CJK_SENTENCE_CHARS = 12
_IDENTIFIER = re.compile(r"[a-z][A-Z]|(?<![A-Za-z])[vV]\d|[a-z]v\d|version\d")
_QUOTED = re.compile(r'"[^"]+"|“[^”]+”|«[^»]+»|「[^」]+」')
#: A capitalised negation or imperative opening an instruction to the model (`No grid lines`, `NO animal
#: ears`, `Do not draw the body`, `Avoid clutter`): Danbooru's `no ...` tags are lowercase.
_INSTRUCTION_WORDS = ("No", "Not", "Never", "Avoid", "Do not", "Don't")
#: Verbs that open an instruction to the model (`preserve original composition`, `redraw the colors`): no
#: general tag of three words or more opens with one (`keep out`, `turn pale` have two).
_IMPERATIVES = _words(
    """preserve keep maintain redraw ensure avoid add remove replace convert change use render create generate
    depict transfer apply"""
)
IMPERATIVE_WORDS = 3


def _opens_with_imperative(words: tuple[str, ...]) -> bool:
    return bool(words) and words[0] in _IMPERATIVES


#: A name and the series it is from, in title case (`Asuka Langley Soryu from Evangelion`).
_NAME_FROM = re.compile(r"[A-Z]\w* from [A-Z]")
_SHOUTED_INSTRUCTION = re.compile(rf"(?:{'|'.join(word.upper() for word in _INSTRUCTION_WORDS)})[ \t]+\S")
_INSTRUCTION = re.compile(rf"(?:{'|'.join(_INSTRUCTION_WORDS)})[ \t]+\S|{_SHOUTED_INSTRUCTION.pattern}")
#: Markdown of text an LLM wrote: bold (`**Top Right**`), a numbered list entry (`4. Doctor sighing`) or a
#: bulleted one in sentence case (`- Leave a clear gap`).
_MARKDOWN = re.compile(r"\*\*\S|^\d{1,2}\.\s+[A-Z*]|^[-*•][ \t]+[A-Z][a-z]")
#: Clauses joined by a semicolon (`white muzzle; winking right eye`): no tag holds one between words.
_CLAUSES = re.compile(r"[^\W\d_]; +[^\W\d_]")
#: A colour code (`#FFFFFF`, `#3a2a20`): words for the model, not a tag.
_COLOUR_CODE = re.compile(r"#(?:[0-9A-Fa-f]{3}){1,2}")
_HASHTAGS = re.compile(r"#[^\W_][\w-]*(?:\s+#[^\W_][\w-]*)+")
_CREDIT = re.compile(r"[^\W_]\s+by\s+(?:[A-Z]|\S.*\sand\s+\S)")
_NAME_POSSESSIVE = re.compile(r"\s[A-Z][\w-]*(?:\s[A-Z][\w-]*)*['’]s\b")
_OF_NAME = re.compile(r"[a-z][\w-]*(?:\s+[a-z][\w-]*)*\s+of\s+[A-Z]")
#: Where in the picture a thing is (`willow tree in background`); Danbooru has no tag written so.
PLACE_WORDS = _words("background foreground distance")
PLACE_ITEM_WORDS = 3
_INFLUENCE_ENDINGS = ("-inspired", "-esque", "-based")
LATIN_SENTENCE_MARKS, CJK_SENTENCE_MARKS = ".!?…", "。！？"
SENTENCE_MARKS = LATIN_SENTENCE_MARKS + CJK_SENTENCE_MARKS
"""The punctuation that ends a sentence (the Latin marks before white space, the CJK full stops anywhere)."""
# end punctuation after a letter or digit, with closing quotes or brackets before or after it
# (`says "Hi".`, `says "Hi."`)
_SENTENCE_END = re.compile(rf"[^\W_][\"'”’»)\]]*[{SENTENCE_MARKS}]+[\"'”’»)\]]*\s*$")


@dataclass(frozen=True, slots=True)
class ItemShape:
    """The features of one item's text that the boundary model reads.

    Attributes:
        name: the Danbooru name of the text (`saber_(fate)`), the key for the tag index.
        words: the words outside parentheses, lowercase (`saber` for `saber (fate)`).
        tag_written: the text is written as a tag: words joined by underscores, escaped parentheses, or no
            letter at all.
        capital: the first letter is uppercase.
        title: two words or more, the first and every word that is not a function word capitalised.
        ends: the text ends with sentence punctuation after a letter or digit.
        cjk: the text has CJK characters.
        cjk_clause: the CJK text has sentence punctuation or clause commas inside or at its end.
        quoted: the text holds a double-quoted span (`title "Moon & Sun"`): words to be drawn or said.
        hashtags: the text is a run of two hashtags or more (`#sketch #anime`).
        markdown: the text has Markdown bold or opens a numbered list entry (`4. **Bottom Right**: ...`).
        name_possessive: the possessive of a capitalised name follows a lowercase first word
            (`one hand clasping Miku's hand`), or lowercase words end in `of` before one (`eyes of Haruhi
            Suzumiya`).
        credit: `by` and a capitalised name follow a word (`art by L. S. Lowry`), or `by` and names joined
            by `and` (`art by artgerm and wlop`).
    """

    name: str
    words: tuple[str, ...]
    tag_written: bool
    capital: bool
    title: bool
    ends: bool
    cjk: bool
    cjk_clause: bool
    quoted: bool
    hashtags: bool
    markdown: bool
    name_possessive: bool
    credit: bool

    @property
    def sentence_words(self) -> int:
        """How many words are sentence words (`SENTENCE_WORDS`): `a`, `an` and `i` only before another word
        (`character a`, `world war i` are tags); `the` in two words only opening a sentence (`The fox`, not
        the title `the idolm@ster`)."""
        last = len(self.words) - 1
        sentence_start = self.capital and not self.title
        return sum(
            word in SENTENCE_WORDS
            and not (word in _LETTER_WORDS and position == last)
            and not (word == "the" and last < 2 and not sentence_start)
            for position, word in enumerate(self.words)
        )

    @property
    def reading(self) -> Reading:
        """Rules 5 and 6 of the module docstring: the words and form of the text."""
        count = len(self.words)
        if not self.capital and any(word.endswith(_INFLUENCE_ENDINGS) for word in self.words):
            return Reading.PROSE  # what the picture draws on (`anime-inspired fantasy scene`)
        if count < 2:
            # a function word alone is left of a sentence (`by` before artists in groups, the `A` of
            # `A careless {toss} sent ...`); no general tag is one
            lone = count and self.words[0] in FUNCTION_WORDS and self.words[0] not in _LETTER_WORDS
            return Reading.PROSE if lone else Reading.TAG
        if self.sentence_words or self.words[0] in _CONTINUATION_STARTS or (self.capital and self.ends):
            return Reading.PROSE
        if self.name_possessive or self.credit or self.words[-1] in DANGLING_PREPOSITIONS:
            return Reading.PROSE
        if count >= PLACE_ITEM_WORDS and self.words[-2] == "in" and self.words[-1] in PLACE_WORDS:
            return Reading.PROSE  # a thing and its place in the picture (`willow tree in background`)
        if _PLURAL.fullmatch(self.words[-2]) and _GERUND.fullmatch(self.words[-1]):
            return Reading.PROSE  # a clause of a plural subject and its participle (`lanterns glowing`)
        if (
            any(word in FINITE_VERBS for word in self.words[1:])
            or any(
                verb in PLURAL_VERBS and _PLURAL.fullmatch(subject)
                for subject, verb in zip(self.words, self.words[1:], strict=False)
            )
            or _verb_and_adverb(self.words)
        ):
            return Reading.PROSE  # a subject and its verb (`Lightning surrounds men`, `houses fall`)
        if count >= CLAUSE_ITEM_WORDS and any(word in _WEARING for word in self.words[1:-1]):
            return Reading.PROSE  # a subject and what it wears (`round eyewear wearing green sweater`)
        if (
            count >= CLAUSE_ITEM_WORDS
            and self.words[0] in _PERSONS
            and _GERUND.fullmatch(self.words[1])
            and self.words[1] not in _CLAUSE_VERBS
        ):
            # a person doing something (`boy rescuing girl`): only memes are so tagged; a person holding or
            # wearing a thing names a tag after the count (`girl holding sword`), read as long below
            return Reading.PROSE
        if count >= PREPOSITION_START_WORDS and self.words[0] in PREPOSITIONS:
            return Reading.PROSE
        if count >= PARTICIPLE_START_WORDS and any(
            _PARTICIPLE.fullmatch(word) and following in PREPOSITIONS
            for word, following in zip(self.words, self.words[1:], strict=False)
        ):
            return Reading.PROSE
        # a preposition takes an object: `airship above` uses `above` as an adverb
        preposition = any(word in PREPOSITIONS for word in self.words[:-1])
        if self.capital and not self.title and preposition and count >= SENTENCE_CASE_WORDS:
            return Reading.PROSE
        function = preposition or any(word in _CONJUNCTIONS for word in self.words)
        clause = count >= CLAUSE_ITEM_WORDS and any(word in _CLAUSE_VERBS for word in self.words[1:])
        if clause or count >= LONG_ITEM_WORDS or (count >= PREPOSITION_ITEM_WORDS and function):
            return Reading.LONG
        return Reading.TAG


@lru_cache(maxsize=16384)
def item_shape(text: str) -> ItemShape:
    """The features of an item's text (cached: tags repeat across prompts)."""
    stripped = text.strip()
    outside = _ESCAPED_GROUP.sub(" ", stripped)
    raw_words = _WORD.findall(outside.replace("_", " "))
    words = tuple(word.lower().rstrip(".") for word in raw_words)
    letters = any(char.isalpha() for char in stripped)
    tag_written = (
        not letters or "\\(" in stripped or ("_" in stripped and bool(_UNDERSCORE_JOIN.search(stripped)))
    )
    first = next((char for char in stripped if char.isalpha()), "")
    cjk = is_cjk(stripped)
    return ItemShape(
        name=danbooru_name(stripped),
        words=words,
        tag_written=tag_written,
        capital=first.isupper(),
        title=_is_title(raw_words),
        ends=ends_sentence(stripped),
        cjk=cjk,
        cjk_clause=cjk
        and (
            bool(_CJK_CLAUSE.search(stripped))
            or _is_korean_clause(stripped)
            or bool(_CHINESE_PARTICLES.search(stripped))
            or bool(_JAPANESE_SENTENCE_END.search(stripped))
            or len(_CJK.findall(stripped)) >= CJK_SENTENCE_CHARS
        ),
        quoted=bool(_QUOTED.search(stripped)),
        hashtags=stripped[:1] == "#" and bool(_HASHTAGS.fullmatch(stripped)),
        markdown=("*" in stripped or stripped[:1].isdigit() or stripped[:1] in "-•")
        and bool(_MARKDOWN.search(stripped)),
        name_possessive=not first.isupper()
        and (
            (("'" in stripped or "’" in stripped) and bool(_NAME_POSSESSIVE.search(stripped)))
            or (" of " in stripped and bool(_OF_NAME.match(stripped)))
        ),
        credit=" by " in stripped and bool(_CREDIT.search(stripped)),
    )


def _is_title(words: list[str]) -> bool:
    """Two words or more, the first and every content word capitalised (`The Legend of Zelda`)."""
    if len(words) < 2 or not words[0][:1].isupper():
        return False
    return all(word[:1].isupper() or word[:1].isdigit() or word.lower() in _TITLE_LOWERCASE for word in words)


def is_clause(text: str) -> bool:
    """Whether prose holds a clause, not only a description: an auxiliary or modal verb, a personal
    pronoun, or sentence punctuation at its end (`people are working`, `She waves`; not `a girl in red`)."""
    shape = item_shape(text)
    return shape.ends or any(word in _AUXILIARIES or word in _PRONOUNS for word in shape.words)


def opens_with_verb(text: str) -> bool:
    """Whether `text` opens with a verb of what a picture shows, finite or plural (`float on a purple
    cloth`), or a word in `-s` and an adverb of manner (`stands calmly smiling`): a predicate whose subject
    came before it."""
    words = item_shape(text).words
    return bool(words) and (
        words[0] in FINITE_VERBS or words[0] in PLURAL_VERBS or _verb_and_adverb(words[:2])
    )


def _verb_and_adverb(words: tuple[str, ...]) -> bool:
    """Whether a word in `-s` or a participle comes right before an adverb of manner (`stands calmly`,
    `back arched slightly`): a verb and its adverb; no general tag has one."""
    return any(
        adverb in MANNER_ADVERBS
        and (_PLURAL.fullmatch(verb) is not None or _PARTICIPLE.fullmatch(verb) is not None)
        for verb, adverb in pairwise(words)
    )


def opens_list(text: str) -> bool:
    """Whether prose ends with a preposition that may take a list (`LIST_PREPOSITIONS`) and a bare noun
    phrase of one to `LIST_OBJECT_WORDS` words, no determiner, pronoun or preposition among them
    (`surrounded by drawings of lanterns`; not `with the calm water`, `in autumn`): the first object of a
    list that the comma items after it may continue."""
    words = item_shape(text).words
    last = max((position for position, word in enumerate(words) if word in PREPOSITIONS), default=None)
    if (
        last is None
        or words[last] not in LIST_PREPOSITIONS
        or not 1 <= len(words) - last - 1 <= LIST_OBJECT_WORDS
    ):
        return False
    return not any(word in SENTENCE_WORDS or word in PREPOSITIONS for word in words[last + 1 :])


def continues_list(text: str) -> bool:
    """Whether prose continues a list as its last member does, opening with a coordinating conjunction
    (`and flowers`, `or koi`)."""
    words = item_shape(text).words
    return len(words) <= LIST_OBJECT_WORDS + 1 and bool(words) and words[0] in _CONJUNCTIONS


def is_joined_description(text: str) -> bool:
    """Whether `text` joins words with a preposition or a conjunction in `DESCRIPTION_WORDS` words or more
    (`lots of blue butterflies`, `cute girl and cat`): a description when the index knows no tag near it,
    though its shape alone does not make it prose (many tags are so built, `hand on hip`, and `looking at
    viewers` is a slip for one). The preposition must take an object: `stars shining above` is not one."""
    words = item_shape(text).words
    return len(words) >= DESCRIPTION_WORDS and any(
        word in PREPOSITIONS or word in _CONJUNCTIONS for word in words[:-1]
    )


#: Function words of Portuguese, Spanish, French, Italian and German that are no English word and no
#: common word of romanised Japanese (`de`, `no`, `e` are both): a prompt holding several is written in
#: another language, whose commas separate clauses rather than tags.
FOREIGN_FUNCTION_WORDS = _words(
    """um uma umas uns com para pelo pela dos das em sem ela ele tem são está el los las una unos unas del
    con por sin tiene sus les une des du dans avec pour par sur et est sont aux sans elle gli della che der
    den dem ein eine einen und oder mit für auf ist sind muito muy très sehr"""
)
MIN_FOREIGN_WORDS = 4  # and at least `FOREIGN_WORD_SHARE` of the prompt's words
FOREIGN_WORD_SHARE = 0.08
_LETTER_WORD = re.compile(r"[^\W\d_]+")


def in_another_language(text: str) -> bool:
    """Whether `text` is a description in another language written in Latin letters: it holds
    `MIN_FOREIGN_WORDS` function words of Portuguese, Spanish, French, Italian or German or more
    (`FOREIGN_FUNCTION_WORDS`), and they make `FOREIGN_WORD_SHARE` of its words. The corpus's English
    prompts hold at most two.

    Example:
        >>> in_another_language("Ela tem cabelo longo em tons de vermelho e roxo, olhos grandes com brilho")
        True
    """
    words = _LETTER_WORD.findall(text.lower())
    foreign = sum(word in FOREIGN_FUNCTION_WORDS for word in words)
    return foreign >= MIN_FOREIGN_WORDS and foreign >= FOREIGN_WORD_SHARE * len(words)


def wants_object(text: str) -> bool:
    """Whether `text` ends with a word that needs an object after it: a preposition, an article, a
    conjunction, a verb of wearing or depicting, or an auxiliary (`standing beside`, `wearing`, `who has`).
    Brackets right after such a word fill a slot of a sentence (`in [setting]`), not a de-emphasised tag."""
    words = item_shape(text).words
    return bool(words) and (
        words[-1] in PREPOSITIONS
        or words[-1] in ARTICLES
        or words[-1] in _CONJUNCTIONS
        or words[-1] in _DESCRIBING_VERBS
        or words[-1] in _AUXILIARIES
    )


def is_identifier(text: str) -> bool:
    """Whether `text` is written like a file or model name rather than words: no white space, and a
    capital inside a word (`EasyNegative`) or a version number (`bad_prompt_v2`, `badhandv4`,
    `bad_prompt_version2`). Embedding and LoRA names look so; Danbooru tags never do."""
    stripped = text.strip()
    return (
        bool(stripped) and not any(char.isspace() for char in stripped) and bool(_IDENTIFIER.search(stripped))
    )


def is_coined_name(text: str) -> bool:
    """Whether `text` pairs a word of five letters or more written in capitals with lowercase words
    (`GHIBSKY style`): a LoRA trigger or other coined name, spelt as it was trained. Danbooru tags are
    lowercase, and an item shouted in capitals throughout (`BEAUTIFUL GIRL`) has no lowercase word."""
    words = _WORD.findall(text)
    return any(
        len(word) >= _CAPITAL_NAME_LETTERS and word.isalpha() and word.isupper() for word in words
    ) and any(word.islower() for word in words)


_LETTERS_AROUND_DIGITS = re.compile(r"[^\W\d_]\d+[^\W\d_]")


def is_coined_word(text: str) -> bool:
    """Whether `text` is one word with digits between its letters (`How2Draw`, `4n1m390s`): a handle or a
    LoRA trigger made up to be unique, not an English word; the Danbooru tags so spelt are names too
    (`live2d`, `m4a1`), which the index knows."""
    stripped = text.strip()
    return not any(char.isspace() for char in stripped) and bool(_LETTERS_AROUND_DIGITS.search(stripped))


def _is_korean_clause(text: str) -> bool:
    """Whether Hangul text reads as a clause: four words or more, or a last word in `-다`."""
    if not _HANGUL.search(text):
        return False
    words = text.rstrip(".!? ").split()
    return len(words) >= HANGUL_CLAUSE_WORDS or words[-1].endswith("다")


def is_cjk(text: str) -> bool:
    """Whether `text` holds Chinese, Japanese or Korean characters."""
    return bool(_CJK.search(text))


def ends_sentence(text: str) -> bool:
    """Whether `text` ends with sentence punctuation after a letter or digit (`She smiles.`, `Wait!"`,
    `says "Hi".`)."""
    return bool(_SENTENCE_END.search(text))


def read_item(text: str, vocabulary: TagVocabulary | None = None) -> Reading:
    """How an item reads: tag, prose, or long (rules of the module docstring).

    Args:
        text: the item's text, weight groups replaced by their content.
        vocabulary: the tag index, if one is at hand: known tags are never prose, and a title must be a
            known name to count as one.

    Returns:
        `Reading.TAG`, `Reading.PROSE`, or `Reading.LONG` for a long item without sentence words, which
        the items around it decide.

    Example:
        >>> [read_item(text).value for text in ("looking at viewer", "a cat on a warm windowsill")]
        ['tag', 'prose']
    """
    shape = item_shape(text)
    if not shape.words:
        return Reading.TAG
    if shape.name in FUNCTION_WORDS and shape.name not in _LETTER_WORDS:
        return Reading.PROSE  # rule 5's lone function word, even where a qualified tag has it (`a (phrase)`)
    opening = text.lstrip("-*• \t")  # after a list marker
    if _SHOUTED_INSTRUCTION.match(opening) and not text.isupper():
        return Reading.PROSE  # `NO animal ears`: shouted, so an instruction even where a tag is so named
    if vocabulary is not None and shape.name and vocabulary.is_tag(shape.name):
        return Reading.TAG
    if vocabulary is not None and len(shape.words) >= 2 and shape.words[0] == "the":
        return Reading.PROSE  # titles with `the` are names the index knows (`the idolm@ster`): `the country`
    if vocabulary is not None and len(shape.words) >= 2 and _INSTRUCTION.match(opening):
        return Reading.PROSE  # `No page UI`, `NO animal ears`: an instruction (the tag `no humans` is known)
    if len(shape.words) >= IMPERATIVE_WORDS and _opens_with_imperative(shape.words):
        return Reading.PROSE  # `preserve original full-body composition`: an instruction to the model
    if vocabulary is not None and shape.title and _NAME_FROM.search(text):
        return Reading.PROSE  # `Asuka Langley Soryu from Evangelion`: a name and its series in words
    if shape.quoted or shape.hashtags or shape.markdown or _COLOUR_CODE.fullmatch(text.strip()):
        return Reading.PROSE
    if ";" in text and _CLAUSES.search(text):
        return Reading.PROSE
    if shape.tag_written:
        return Reading.TAG
    if shape.cjk and shape.cjk_clause:
        return Reading.PROSE
    if shape.cjk and not shape.sentence_words:  # an English sentence with a CJK word reads on
        return Reading.TAG
    if shape.title and vocabulary is None:
        return Reading.TAG
    return shape.reading
