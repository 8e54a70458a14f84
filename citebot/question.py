"""Question understanding: what a member typed, reduced to what the answerer needs.

* ``normalize``: chat filler ("hey bot", "lol", "quick q") dropped, chat shorthand
  ("u", "ppl", "rn") spelled out, white space folded.  Spelling variants
  ("Labour"/"Labor") fold later, in ``common.text.terms``.
* ``answer_type``: what kind of thing the question asks for (a date, a number,
  a person, a reason, yes or no, a choice between two things, ...).
* ``anchors``: what a supporting sentence must mention: names, numbers, titles
  and quoted phrases.  "the Palme d'Or" is an anchor; "booted" is not (a
  sentence saying "expelled" may answer it).
* ``alternatives``: anchors the question offers as a choice, one on each side of
  its "or" ("'distance himself' or 'disown'?"): a sentence needs only one of them.
* ``refers_back`` / ``context_for``: follow-ups ("when did he ...") and the
  earlier questions they lean on.

Nothing here knows about sources or the store, except that ``anchors`` may be
told which terms the sources spell as names (``proper_terms``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from common.text import STOPWORDS, fold, terms

# Pronouns and pointers that make a question lean on an earlier one.  The one list.
PRONOUNS = frozenset(
    [
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
        "they",
        "them",
        "their",
        "theirs",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "latter",
        "former",
    ]
)

# Chat filler that carries no content: dropped wherever it stands as a whole phrase.
_FILLER_PHRASES = [
    r"hey+ (?:bot|there|guys|all|everyone)",
    r"hi+ (?:bot|there|guys|all|everyone)",
    r"yo+ (?:bot)?",
    r"ok(?:ay)? so",
    r"quick (?:q|question)",
    r"random (?:q|question)",
    r"(?:does )?any ?(?:one|body) know",
    r"can (?:u|you) tell me",
    r"i (?:was|am|'m) wondering",
    r"just wondering",
    r"need it for (?:a|the) [a-z ]{1,20}",
    r"saw it [a-z ]{1,30}",
    r"wanna [a-z ]{1,30}",
    r"or am i [a-z ]{1,30}",
    r"am i right",
    r"right\?",
    r"yeah\?",
    r"lol+",
    r"lmao+",
    r"rofl",
    r"haha+",
    r"xd",
    r"pls",
    r"plz",
    r"please",
    r"tbh",
    r"ngl",
    r"imo",
    r"idk",
    r"btw",
    r"fr",
    r"bro",
    r"dude",
    r"mate",
    r"guys",
    r"hmm+",
    r"umm*",
    r"uh+",
    r"bot",
]
_FILLER = re.compile(r"(?<![\w'])(?:" + "|".join(_FILLER_PHRASES) + r")(?![\w'])[\s,:;!.]*", re.I)
_LEADING_FILLER = re.compile(r"^(?:(?:so|ok|okay|wait|hey|hi|yo|um|uh|like|also|and|but|oh)\b[\s,:;!.-]*)+", re.I)
_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|@(?:everyone|here)\b")
# a pasted link: its text may be content, its address never is ("[free nitro](https://...)")
_LINK = re.compile(r"\[([^\]]*)\]\(\s*<?(?:https?://|www\.)[^)]*\)")
_URL = re.compile(r"<?(?:https?://|www\.)\S+")
_EMOJI = re.compile(r"<a?:\w+:\d+>|:[a-z0-9_+-]+:|[\U0001F000-\U0001FAFF\u2600-\u27BF]")

# Chat shorthand: whole words only.
_SHORTHAND = {
    "u": "you",
    "ur": "your",
    "r": "are",
    "ppl": "people",
    "rn": "right now",
    "w": "with",
    "w/": "with",
    "b4": "before",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "cos": "because",
    "tho": "though",
    "thru": "through",
    "smth": "something",
    "sth": "something",
    "sb": "somebody",
    "abt": "about",
    "govt": "government",
    "gov": "government",
    "acc": "account",
    "whats": "what is",
    "whos": "who is",
    "wheres": "where is",
    "whens": "when is",
    "hows": "how is",
    "whys": "why is",
    "hes": "he is",
    "shes": "she is",
    "theyre": "they are",
    "isnt": "is not",
    "wasnt": "was not",
    "didnt": "did not",
    "doesnt": "does not",
    "dont": "do not",
    "wont": "will not",
    "wouldnt": "would not",
    "couldnt": "could not",
    "cant": "cannot",
    "im": "i am",
    "ive": "i have",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "got to",
    "kinda": "kind of",
    "sorta": "sort of",
    "dunno": "do not know",
    "yrs": "years",
    "yr": "year",
    "mins": "minutes",
    "pic": "picture",
    "info": "information",
}
_SHORTHAND_RE = re.compile(r"(?<![\w'])(" + "|".join(re.escape(k) for k in _SHORTHAND) + r")(?![\w'])", re.I)

WH_TYPES = ("when", "how_many", "how_much", "how_old", "how_long", "who", "where", "why", "which", "how", "yes_no")

_TYPE_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("how_old", re.compile(r"\bhow old\b|\bwhat age\b|\bage\b|\bin (?:his|her|their) \d0s\b|\bborn\b", re.I)),
    ("how_many", re.compile(r"\bhow many\b|\bwhat (?:number|amount) of\b|\bnumber of\b|\bcount\b", re.I)),
    (
        "how_much",
        re.compile(
            r"\bhow much\b|\bwhat (?:level|rate|price|percentage|percent|proportion|figure|value|sum|cost|total"
            r"|share)\b|\bat what\b",
            re.I,
        ),
    ),
    ("how_long", re.compile(r"\bhow (?:long|far|big|large|high|low|fast|tall|heavy)\b", re.I)),
    (
        "when",
        re.compile(
            r"\bwhen\b|\bwhat (?:year|date|month|day|time|decade|century|period|era)\b|\bwhich (?:year|date|month"
            r"|day|decade|century|period|era)\b|\bhow long ago\b|\bwhat \w+ (?:year|century)\b|\bin what year\b",
            re.I,
        ),
    ),
    ("who", re.compile(r"\bwho(?:m|se)?\b|\bwhat (?:person|man|woman|people|king|leader)\b", re.I)),
    ("where", re.compile(r"\bwhere\b|\bwhat (?:country|city|place|region|town|area|continent)\b|\bin what\b", re.I)),
    ("why", re.compile(r"\bwhy\b|\bwhat (?:reason|caused|led to)\b|\bfor what reason\b|\bhow come\b", re.I)),
    ("which", re.compile(r"\bwhich\b|\bwhat (?:kind|sort|type) of\b", re.I)),
    ("how", re.compile(r"\bhow\b", re.I)),
]
_YES_NO = re.compile(
    r"^(?:is|are|was|were|did|does|do|can|could|has|have|had|will|would|should|shall|may|might|must)\b", re.I
)
_CHOICE = re.compile(r"\b\w+\b (?:or|vs\.?|versus) (?:\w+ ){0,4}\w+\b", re.I)
_QUOTED = re.compile(r"[\"\u201c\u201d]([^\"\u201c\u201d]{2,80})[\"\u201c\u201d]|(?<!\w)'([^']{2,80})'(?!\w)")
_NUMBER = re.compile(r"\b\d[\d,.]*(?:st|nd|rd|th|s)?\b")
_CAPITALISED = re.compile(r"\b[A-Z][\w'’.-]*")


@dataclass(frozen=True)
class Question:
    """A question as the answerer sees it."""

    raw: str  # as typed (white space folded)
    text: str  # normalized: filler dropped, shorthand spelled out
    answer_type: str  # one of WH_TYPES, "choice" or "what"
    terms: list[str] = field(default_factory=list)  # stemmed content terms of ``text``
    anchors: list[str] = field(default_factory=list)  # stemmed terms a supporting sentence should contain
    alternatives: list[str] = field(default_factory=list)  # anchors offered as a choice: one of them will do
    names: list[tuple[str, ...]] = field(default_factory=list)  # multi-word names ("Ken Loach"), stemmed
    context: list[str] = field(default_factory=list)  # earlier questions a follow-up leans on

    @property
    def search_text(self) -> str:
        """What is embedded and searched: the question with the questions it follows."""
        return " ".join([*self.context, self.text])

    @property
    def context_terms(self) -> list[str]:
        return terms(" ".join(self.context)) if self.context else []


def normalize(question: str) -> str:
    """The question without chat filler, mentions, emoji and link addresses, shorthand spelled
    out."""
    text = _MENTION.sub(" ", question)
    text = _URL.sub(" ", _LINK.sub(r"\1", text))
    text = _EMOJI.sub(" ", text)
    text = fold(text)
    text = _SHORTHAND_RE.sub(lambda m: _SHORTHAND[m.group(1).lower()], text)
    stripped = _FILLER.sub(" ", text)
    stripped = _LEADING_FILLER.sub("", " ".join(stripped.split()))
    stripped = " ".join(stripped.split()).strip(" ,;:-")
    # filler can be all there is ("lol"): then keep what was typed
    return stripped if terms(stripped) else " ".join(text.split())


def answer_type(text: str) -> str:
    """What the question asks for; ``text`` is a normalized question."""
    lowered = text.lower()
    for kind, pattern in _TYPE_RULES:
        if pattern.search(lowered):
            if kind == "how" and _YES_NO.match(lowered):
                break
            return kind
    if _YES_NO.match(lowered):
        return "choice" if _CHOICE.search(lowered) and " or " in lowered else "yes_no"
    if " or " in lowered:
        return "choice"
    return "what"


_AGE_GUESS = re.compile(r"\bin (?:his|her|their) (\d0s)\b", re.I)


def anchors(text: str, proper_terms: Collection[str] = ()) -> list[str]:
    """Stemmed terms a supporting sentence must contain: numbers, quoted phrases,
    words capitalised inside the question, and words the sources spell as names.

    A number the asker proposes as the answer is a guess to check, not an anchor: "was Kes
    released in 1970?" is answered by "Kes (1969)", "is he in his 70s?" by "Loach, 85"."""
    found: list[str] = []
    for match in _QUOTED.finditer(text):
        found += terms(match.group(1) or match.group(2) or "")
    found += terms(" ".join(_NUMBER.findall(text)))
    words = text.split()
    for i, word in enumerate(words):
        if i > 0 and _CAPITALISED.match(word) and word.lower().strip("?,.!:;'\"") not in STOPWORDS:
            found += terms(word)
    question_terms = terms(text)
    found += [t for t in question_terms if t in proper_terms]
    guessed = _AGE_GUESS.findall(text)
    if answer_type(text) in ("yes_no", "choice"):
        guessed += _NUMBER.findall(text)
    guesses = set(terms(" ".join(guessed)))
    kept = (t for t in found if (t in question_terms or _NUMBER.fullmatch(t)) and t not in guesses)
    return list(dict.fromkeys(kept))


_OR = re.compile(r"\s(?:or|vs\.?|versus)\s", re.I)
_ALTERNATIVE_REACH = 6  # words either side of the "or" that may hold an alternative


def alternatives(text: str, found: Sequence[str]) -> list[str]:
    """The anchors among ``found`` that the question offers as a choice, the nearest on each
    side of its "or": "did he say 'distance himself' or 'disown'?" is answered by a sentence
    holding either.  Empty unless both sides offer one."""
    match = _OR.search(text)
    if match is None:
        return []
    wanted = set(found)
    left = _nearest_anchors(text[: match.start()].split()[::-1], wanted)
    right = _nearest_anchors(text[match.end() :].split(), wanted)
    offered = [a for a in dict.fromkeys(left + right) if not (a in left and a in right)]
    return offered if left and right and set(left) != set(right) else []


def _nearest_anchors(words: Sequence[str], wanted: set[str]) -> list[str]:
    """The first run of anchor words within reach (a word that is no anchor ends it)."""
    run: list[str] = []
    for i, word in enumerate(words):
        hits = [t for t in terms(word) if t in wanted]
        if hits:
            run += hits
        elif run or i >= _ALTERNATIVE_REACH:
            break
    return run


def names(text: str, proper_terms: Collection[str] = ()) -> list[tuple[str, ...]]:
    """Runs of two or more name words ("Ken Loach", "keir starmer"): a sentence that gives the
    last word ("Loach") mentions the name."""
    runs: list[tuple[str, ...]] = []
    current: list[str] = []
    for i, word in enumerate(text.split()):
        stemmed = terms(word)
        is_name = len(stemmed) == 1 and (
            (i > 0 and _CAPITALISED.match(word) is not None and word.lower() not in STOPWORDS)
            or stemmed[0] in proper_terms
        )
        if is_name:
            current.append(stemmed[0])
        if not is_name or re.search(r"[,.;:!?)]$", word):
            if len(current) >= 2:
                runs.append(tuple(current))
            current = []
    if len(current) >= 2:
        runs.append(tuple(current))
    return runs


def refers_back(text: str) -> bool:
    """A question that points back at an earlier one ("When did he ...")."""
    words = re.findall(r"[a-z]+", fold(text).lower())
    return any(w in PRONOUNS for w in words) or len(terms(text)) <= 1


def context_for(text: str, history: Sequence[str], turns: int) -> list[str]:
    """The earlier questions a follow-up leans on: the last one, and further back while
    each of those is itself a follow-up (at most ``turns``)."""
    if not turns or not history or not refers_back(text):
        return []
    earlier = [history[-1]]
    for previous in reversed(history[:-1]):
        if len(earlier) >= turns or not refers_back(earlier[0]):
            break
        earlier.insert(0, previous)
    return earlier


def understand(
    question: str, history: Sequence[str] = (), *, turns: int = 2, proper_terms: Collection[str] = ()
) -> Question:
    """Everything the answerer needs to know about ``question`` asked after ``history``."""
    raw = " ".join(question.split())
    text = normalize(raw)
    earlier = [normalize(q) for q in context_for(text, history, turns)]
    found = anchors(text, proper_terms)
    offered = alternatives(text, found)
    return Question(
        raw=raw,
        text=text,
        answer_type=answer_type(text),
        terms=terms(text),
        anchors=[a for a in found if a not in offered],
        alternatives=offered,
        names=names(text, proper_terms),
        context=earlier,
    )
