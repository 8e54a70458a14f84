"""Recording questions as they are answered, and the report over what was recorded.

``Insights`` is what the front ends hold: ``record`` after every answer (it never raises:
a question record that cannot be written is logged, and the answer goes out all the same),
``vote`` when a member votes, ``prune`` from the bot's upkeep loop, ``clear`` when a
moderator erases a space's record, and ``report``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from citebot.models import Answer
from common.errors import UserError
from index_store.questions import QuestionLog, QuestionRecord
from insights.report import DAY, WHERE, SourceInfo, period_start, summarise

log = logging.getLogger(__name__)


class Insights:
    def __init__(self, records: QuestionLog, *, keep_days: Callable[[], int], clock: Callable[[], float] = time.time):
        self.records = records
        self._keep_days = keep_days  # read at each call: the configuration as it is now
        self._clock = clock
        self._failing = False  # a failure is logged once, until recording works again

    def record(self, space: str, answer: Answer, where: str, *, at: float | None = None) -> str | None:
        """Keep ``answer``'s question (never who asked); its record id, or None if it could not be kept."""
        if where not in WHERE:
            raise ValueError(f"unknown way of asking: {where!r}")
        record = QuestionRecord(
            id=uuid.uuid4().hex,
            space=space,
            at=self._clock() if at is None else at,
            where=where,
            question=answer.question,
            answered=answer.answered,
            confidence=float(answer.confidence),
            citations=tuple((c.source, c.paragraph) for c in answer.citations),
            vector=answer.question_vector,
        )
        try:
            self.records.add(record)
        except Exception as exc:
            self._failed("recording a question", exc)
            return None
        self._failing = False
        return record.id

    def vote(self, space: str, record_id: str | None, *, helpful: bool) -> None:
        """Count a member's vote on a recorded question (nothing if it was not recorded)."""
        if record_id is None:
            return
        try:
            self.records.vote(space, record_id, helpful)
        except Exception as exc:
            self._failed("recording a vote", exc)

    def _failed(self, doing: str, exc: Exception) -> None:
        if not self._failing:
            log.warning("%s failed (answers are not affected): %s", doing, exc, exc_info=not isinstance(exc, UserError))
        self._failing = True

    def prune(self, now: float | None = None) -> int:
        """Delete every record older than ``bot.insights_days``; how many went."""
        now = self._clock() if now is None else now
        return self.records.prune(now - self._keep_days() * DAY)

    def clear(self, space: str) -> int:
        return self.records.clear(space)

    def report(
        self,
        space: str,
        sources: Iterable[SourceInfo],
        *,
        days: int | None,
        recording: bool = True,
        now: float | None = None,
    ) -> dict[str, Any]:
        """The report of ``space`` over the last ``days`` days (None: everything kept)."""
        now = self._clock() if now is None else now
        keep = self._keep_days()
        since = period_start(now, days, keep)
        records = self.records.read(space, since)
        return summarise(space, records, sources, now=now, since=since, days=days, recording=recording, keep_days=keep)
