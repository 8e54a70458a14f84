"""Words and their opposites: a sentence that says "opened" where the question asks when
something "closed", or "most" where it asks for the "least", does not answer it.

SQuAD 2.0's unanswerable questions were written by swapping a word of a paragraph for its
opposite ("What are the least well known complexity resources?" of a paragraph about the most
well known ones); people ask the same way when they misremember.  The check: a word of the
question that the best sentence and its neighbours do not have, while they have its opposite
(and the question does not offer both: "left wing or right wing?").

The list is general English, not drawn from any question set.  Left out on purpose:
converses, where a sentence about one side answers a question about the other ("X sold it
to Y" answers "Who bought it?": buy/sell, win/lose, husband/wife, parent/child) and words
too often meant otherwise ("right" as in "right now").
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from functools import lru_cache

from common.text import fold, stems

PAIRS: tuple[tuple[str, str], ...] = (
    ("most", "least"),
    ("more", "less"),
    ("more", "fewer"),
    ("largest", "smallest"),
    ("larger", "smaller"),
    ("large", "small"),
    ("biggest", "smallest"),
    ("bigger", "smaller"),
    ("big", "small"),
    ("highest", "lowest"),
    ("higher", "lower"),
    ("high", "low"),
    ("longest", "shortest"),
    ("longer", "shorter"),
    ("long", "short"),
    ("oldest", "youngest"),
    ("older", "younger"),
    ("old", "young"),
    ("oldest", "newest"),
    ("older", "newer"),
    ("old", "new"),
    ("earliest", "latest"),
    ("earlier", "later"),
    ("early", "late"),
    ("first", "last"),
    ("before", "after"),
    ("above", "below"),
    ("north", "south"),
    ("east", "west"),
    ("northern", "southern"),
    ("eastern", "western"),
    ("northernmost", "southernmost"),
    ("easternmost", "westernmost"),
    ("upper", "lower"),
    ("inner", "outer"),
    ("internal", "external"),
    ("increase", "decrease"),
    ("increased", "decreased"),
    ("rise", "fall"),
    ("rose", "fell"),
    ("gain", "loss"),
    ("success", "failure"),
    ("succeeded", "failed"),
    ("accept", "reject"),
    ("accepted", "rejected"),
    ("allow", "forbid"),
    ("allowed", "banned"),
    ("allowed", "prohibited"),
    ("legal", "illegal"),
    ("include", "exclude"),
    ("included", "excluded"),
    ("public", "private"),
    ("major", "minor"),
    ("majority", "minority"),
    ("maximum", "minimum"),
    ("best", "worst"),
    ("better", "worse"),
    ("good", "bad"),
    ("strongest", "weakest"),
    ("stronger", "weaker"),
    ("strong", "weak"),
    ("richest", "poorest"),
    ("rich", "poor"),
    ("wealthy", "poor"),
    ("heaviest", "lightest"),
    ("heavy", "light"),
    ("fastest", "slowest"),
    ("faster", "slower"),
    ("fast", "slow"),
    ("hottest", "coldest"),
    ("hot", "cold"),
    ("warm", "cool"),
    ("warmest", "coolest"),
    ("wet", "dry"),
    ("wettest", "driest"),
    ("deepest", "shallowest"),
    ("deep", "shallow"),
    ("widest", "narrowest"),
    ("wide", "narrow"),
    ("thick", "thin"),
    ("full", "empty"),
    ("open", "closed"),
    ("opened", "closed"),
    ("start", "end"),
    ("started", "ended"),
    ("begin", "end"),
    ("began", "ended"),
    ("beginning", "end"),
    ("entry", "exit"),
    ("birth", "death"),
    ("born", "died"),
    ("ancient", "modern"),
    ("past", "future"),
    ("previous", "next"),
    ("former", "current"),
    ("former", "later"),
    ("formal", "informal"),
    ("official", "unofficial"),
    ("true", "false"),
    ("correct", "incorrect"),
    ("possible", "impossible"),
    ("same", "different"),
    ("similar", "different"),
    ("common", "rare"),
    ("frequent", "rare"),
    ("agree", "disagree"),
    ("support", "oppose"),
    ("supported", "opposed"),
    ("friend", "enemy"),
    ("ally", "enemy"),
    ("peace", "war"),
    ("attack", "defend"),
    ("offensive", "defensive"),
    ("positive", "negative"),
    ("active", "inactive"),
    ("permanent", "temporary"),
    ("direct", "indirect"),
    ("natural", "artificial"),
    ("domestic", "foreign"),
    ("local", "national"),
    ("rural", "urban"),
    ("top", "bottom"),
    ("front", "back"),
    ("inside", "outside"),
    ("day", "night"),
    ("summer", "winter"),
    ("spring", "autumn"),
    ("morning", "evening"),
    ("sunrise", "sunset"),
    ("light", "dark"),
    ("simple", "complex"),
    ("easy", "difficult"),
    ("easy", "hard"),
    ("cheap", "expensive"),
    ("always", "never"),
    ("all", "none"),
    ("everyone", "nobody"),
    ("input", "output"),
    ("maximal", "minimal"),
    ("upstream", "downstream"),
    ("ascending", "descending"),
    ("increase", "reduce"),
    ("increased", "reduced"),
    ("expand", "shrink"),
    ("expanded", "contracted"),
)

_WORD = re.compile(r"[a-z]+")


@lru_cache(maxsize=1)
def _opposites() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for a, b in PAIRS:
        sa, sb = stems([a, b])
        table.setdefault(sa, set()).add(sb)
        table.setdefault(sb, set()).add(sa)
    return {word: frozenset(others) for word, others in table.items()}


@lru_cache(maxsize=16384)
def words(text: str) -> frozenset[str]:
    """Every word of ``text``, stemmed, stop words kept ("most", "before", "all")."""
    return frozenset(stems(_WORD.findall(fold(text).lower())))


_NEGATORS = frozenset(
    [
        "not",
        "never",
        "no",
        "nor",
        "cannot",
        "t",
        "nt",
        "dont",
        "didnt",
        "doesnt",
        "isnt",
        "wasnt",
        "arent",
        "werent",
        "wont",
        "wouldnt",
        "couldnt",
        "shouldnt",
        "cant",
        "hasnt",
        "havent",
        "hadnt",
    ]
)


def opposable(question: str) -> dict[str, frozenset[str]]:
    """The question's words that have opposites, with them: none whose opposite the question
    itself offers, none that only names a measure ("how old", "how long", "how big") and none
    it negates ("not allowed" asks for what is banned)."""
    tokens = _WORD.findall(fold(question).lower())
    measures = {b for a, b in itertools.pairwise(tokens) if a == "how"}
    negated = {w for i, w in enumerate(tokens) if _NEGATORS & set(tokens[max(0, i - 2) : i])}
    asked = words(question)
    table = _opposites()
    skipped = set(stems(measures | negated))
    return {w: table[w] for w in asked if w in table and w not in skipped and not table[w] & asked}


def contradicted(opposable_words: dict[str, frozenset[str]], texts: Iterable[str]) -> bool:
    """Whether ``texts`` hold the opposite of a question word and not the word itself."""
    if not opposable_words:
        return False
    found: frozenset[str] = frozenset().union(*(words(t) for t in texts))
    return any(word not in found and others & found for word, others in opposable_words.items())
