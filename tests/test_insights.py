"""Insights (#21) below Discord: grouping of unanswered questions with the real model, pruning by
age, the report's contents."""

from __future__ import annotations

from citebot.models import Answer
from index_store.questions import open_question_log
from insights.recorder import Insights
from insights.report import DAY, SourceInfo

NOW = 1_780_000_000.0  # a fixed instant (2026-05-28), so days and periods are exact

GAPS = [
    "Who directed the film Titanic?",
    "who was the director of titanic",
    "hey bot who made the movie Titanic lol",
    "Who directed the film Titanic?",
    "When does the ferry leave?",
    "what time does the ferry depart",
    "Who directed Avatar?",
]


def test_paraphrased_gaps_are_grouped_with_the_real_model(article_engine, settings):
    insights = Insights(open_question_log(settings), keep_days=lambda: 90, clock=lambda: NOW)
    for question in ["why was Loach expelled?", *GAPS]:
        insights.record("default", article_engine.ask(question), "slash", at=NOW - 60)
    sources = [SourceInfo("ken-loach-expelled", "Ken Loach expelled"), SourceInfo("ferries", "Ferry times")]
    report = insights.report("default", sources, days=7)

    assert (report["questions"], report["answered"], report["unanswered"]) == (8, 1, 7)
    groups = [(g["count"], g["question"]) for g in report["gaps"]]
    # near-identical questions are one group with a count, most asked first, an example as typed
    assert groups == [
        (4, "Who directed the film Titanic?"),
        (2, "what time does the ferry depart"),
        (1, "Who directed Avatar?"),
    ]
    assert set(report["gaps"][0]["also"]) <= {
        "who was the director of titanic",
        "hey bot who made the movie Titanic lol",
    }
    assert len(report["gaps"][0]["also"]) == 2
    [cited] = report["sources_cited"]
    assert cited["source"] == "ken-loach-expelled" and cited["questions"] == 1 and cited["paragraphs"]
    assert report["sources_never_cited"] == [{"source": "ferries", "title": "Ferry times"}]
    assert report["per_day"][-1] == {"day": "2026-05-28", "questions": 8, "unanswered": 7}


def test_records_are_pruned_by_age_and_periods_count_whole_days(settings):
    keep = {"days": 90}
    insights = Insights(open_question_log(settings), keep_days=lambda: keep["days"], clock=lambda: NOW)
    for age in (91, 89, 29, 6, 0):
        insights.record("default", Answer.abstain(f"asked {age} days ago"), "terminal", at=NOW - age * DAY)
    insights.record("other", Answer.abstain("another space's"), "terminal", at=NOW - 91 * DAY)
    # a record older than the retention is left out of reports even before it is pruned
    assert insights.report("default", [], days=None)["questions"] == 4
    assert insights.prune() == 2  # both spaces' records older than 90 days
    ages = [round((NOW - r.at) / DAY) for r in insights.records.read("default")]
    assert ages == [89, 29, 6, 0]
    assert [insights.report("default", [], days=d)["questions"] for d in (1, 7, 30, None)] == [1, 2, 3, 4]
    assert len(insights.report("default", [], days=7)["per_day"]) == 7
    keep["days"] = 30  # the setting is read at each pruning
    assert insights.prune() == 1 and insights.records.count("default") == 3


def test_votes_count_and_only_on_the_space_recorded(settings):
    log = open_question_log(settings)
    insights = Insights(log, keep_days=lambda: 90)
    rid = insights.record("guild-1", Answer("Q?", True, "A [1]", confidence=0.8), "slash")
    assert rid is not None
    insights.vote("guild-1", rid, helpful=False)
    insights.vote("guild-1", rid, helpful=False)
    insights.vote("guild-2", rid, helpful=True)  # another space cannot vote on it
    [record] = log.read("guild-1")
    assert (record.helpful, record.not_helpful) == (0, 2)
    insights.vote("guild-1", None, helpful=True)  # an answer that was not recorded: nothing
    assert log.read("guild-1")[0].helpful == 0
