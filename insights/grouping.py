"""Questions grouped by meaning: near-identical ones are one group with a count.

Each question comes with the vector the engine searched with (normalised, from the bundled
embedding model), so nothing is encoded here.  Questions typed the same way (case, spaces and
punctuation aside) are merged first; then leader clustering: the most asked question not yet in a
group leads a new group, and every question at least ``threshold`` similar to a leader joins the
first such leader.  Done in blocks, so 10,000 questions are a few matrix products, not a loop of
10,000 comparisons.

The threshold (0.75) was read off the model: paraphrases of one question ("Who directed the film
Titanic?", "who was the director of titanic", "hey bot who made the movie Titanic lol") score
0.74-0.95 against each other, different questions on a shared word ("Who directed Avatar?") 0.53
or less.  Questions on one narrow topic ("When does the ferry leave?" / "...arrive?", 0.89) are
one group: one source would answer both.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

THRESHOLD = 0.75
BLOCK = 512
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """The form two typings of one question share: case, spaces and punctuation folded."""
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


@dataclass
class Group:
    example: str  # the most asked wording, as typed
    count: int
    members: list[int] = field(default_factory=list)  # indexes into the input, most asked wording first


def group_questions(
    texts: Sequence[str], vectors: Sequence[np.ndarray | None], threshold: float = THRESHOLD
) -> list[Group]:
    """Group ``texts`` (each with its vector, or None) by meaning; the most asked groups first."""
    by_key: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        by_key.setdefault(normalise(text), []).append(i)
    # most asked wording first (then the latest asked), so a group is led by its most common form
    keys = sorted(by_key, key=lambda k: (-len(by_key[k]), -by_key[k][-1]))
    dims = Counter(v.shape[0] for v in vectors if v is not None)
    dim = dims.most_common(1)[0][0] if dims else 0  # vectors of an earlier model (another size) are left out

    def vector_of(key: str) -> np.ndarray | None:
        for i in by_key[key]:
            v = vectors[i]
            if v is not None and v.shape[0] == dim:
                return v
        return None

    leader_of = _leaders([vector_of(k) for k in keys], dim, threshold)
    groups: dict[int, Group] = {}
    for position, key in enumerate(keys):
        lead = leader_of[position]
        members = by_key[key]
        if lead not in groups:
            groups[lead] = Group(example=texts[_most_typed(texts, members)], count=0)
        group = groups[lead]
        group.count += len(members)
        group.members.extend(members)
    return sorted(groups.values(), key=lambda g: -g.count)


def _most_typed(texts: Sequence[str], members: list[int]) -> int:
    """The wording typed most often among ``members`` (all one normalised form); the latest on a tie."""
    counts = Counter(texts[i] for i in members)
    best = max(counts.values())
    return next(i for i in reversed(members) if counts[texts[i]] == best)


def _leaders(vectors: list[np.ndarray | None], dim: int, threshold: float) -> list[int]:
    """For each item (in priority order), the position of the leader of its group."""
    leader_of = list(range(len(vectors)))
    have = [i for i, v in enumerate(vectors) if v is not None]
    if not have or dim == 0:
        return leader_of
    matrix = np.stack([vectors[i] for i in have]).astype(np.float32)  # type: ignore[misc]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix /= np.where(norms > 0, norms, 1.0)
    leaders = np.empty_like(matrix)  # the first ``count`` rows are the leaders' vectors
    count = 0
    leader_positions = np.empty(len(have), dtype=np.int64)
    for start in range(0, len(have), BLOCK):
        block = matrix[start : start + BLOCK]
        assigned = np.full(len(block), -1)
        if count:
            sims = block @ leaders[:count].T
            best = sims.argmax(axis=1)
            joins = sims[np.arange(len(block)), best] >= threshold
            assigned[joins] = leader_positions[best[joins]]
        inner = block @ block.T >= threshold
        rows = np.arange(len(block))
        for row in range(len(block)):
            if assigned[row] >= 0:
                continue
            position = have[start + row]
            assigned[row] = position
            leaders[count] = block[row]
            leader_positions[count] = position
            count += 1
            assigned[(rows > row) & (assigned < 0) & inner[row]] = position
        for row in range(len(block)):
            leader_of[have[start + row]] = int(assigned[row])
    return leader_of
