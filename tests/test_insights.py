"""Insights (#21) below Discord: grouping of unanswered questions with the real model, pruning by
age, the report's contents, and the terminal command (JSON, text, --clear, recording off, a
missing or damaged record) run as a user runs it."""

from __future__ import annotations

import io
import json
from pathlib import Path

from conftest import ARTICLE
from test_cli import run

from bot.cli import main as bot_main
from citebot.models import Answer
from common.settings import load
from index_store.kv import open_kv
from index_store.questions import FILE_NAME, open_question_log
from index_store.space_settings import SpaceSettingsStore
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


def ask(config_path: Path, *questions: str) -> None:
    """``python -m bot ask`` in this process (the model stays loaded; ``insights`` runs as a user runs it)."""
    assert bot_main(["ask", "--config", str(config_path), *questions]) == 0


def test_terminal_insights_report_json_clear_and_recording_off(config_path: Path, ingestor, capsys, monkeypatch):
    ingestor.add_path(ARTICLE)
    store = load(config_path).store_path
    before = run("bot", "insights", "--json", "--config", str(config_path))  # nothing recorded yet
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["questions"] == 0 and not (store / FILE_NAME).exists()

    ask(config_path, "why was Loach expelled?", "Who directed the film Titanic?", "who was the director of titanic")
    out = run("bot", "insights", "--json", "--days", "30", "--config", str(config_path))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["space"], report["period"], report["questions"], report["answered"]) == ("default", "30d", 3, 1)
    assert report["where"] == {"terminal": 3} and report["answered_share"] == 0.3333
    assert [g["count"] for g in report["gaps"]] == [2]
    assert report["sources_cited"][0]["source"] == "ken-loach-expelled"
    text = run("bot", "insights", "--config", str(config_path))
    assert "Questions asked: 3; answered 1 (33%)" in text.stdout and '2x  "' in text.stdout
    other = run("bot", "insights", "--json", "--space", "guild-9", "--config", str(config_path))
    assert json.loads(other.stdout)["questions"] == 0  # another space's record is its own

    settings = load(config_path)
    space_settings = SpaceSettingsStore(open_kv(settings, "space-settings"), lambda: settings.bot)
    space_settings.update("default", {"record_questions": False})
    ask(config_path, "Who is Ken Loach?")
    off = run("bot", "insights", "--config", str(config_path))
    assert "Recording is off" in off.stdout and "Questions asked: 3;" in off.stdout
    space_settings.update("default", {}, clear=("record_questions",))  # back on
    monkeypatch.setattr("sys.stdin", io.StringIO("Who directed the film Titanic?\n\n"))
    assert bot_main(["chat", "--config", str(config_path)]) == 0  # the chat records too
    chatted = json.loads(run("bot", "insights", "--json", "--config", str(config_path)).stdout)
    assert chatted["questions"] == 4 and chatted["where"] == {"terminal": 4} and chatted["gaps"][0]["count"] == 3
    cleared = run("bot", "insights", "--clear", "--config", str(config_path))
    assert cleared.returncode == 0 and cleared.stdout.strip() == "erased 4 question(s) of default"
    assert json.loads(run("bot", "insights", "--json", "--config", str(config_path)).stdout)["questions"] == 0


def test_terminal_reports_a_damaged_record_and_still_answers(config_path: Path, ingestor, capsys, caplog):
    ingestor.add_path(ARTICLE)
    damaged = load(config_path).store_path / FILE_NAME
    damaged.write_bytes(b"not a database at all " * 50)
    out = run("bot", "insights", "--config", str(config_path))
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "question records" in out.stderr and "damaged" in out.stderr
    assert str(damaged) in out.stderr and "Traceback" not in out.stderr
    capsys.readouterr()
    assert bot_main(["ask", "--json", "--config", str(config_path), "why was Loach expelled?"]) == 0
    assert json.loads(capsys.readouterr().out)["answered"]
    assert "recording a question failed" in caplog.text and "damaged" in caplog.text
    elsewhere = config_path.parent / "elsewhere.toml"
    elsewhere.write_text('[store]\npath = "no-such-store"\n', encoding="utf-8")
    missing = run("bot", "insights", "--config", str(elsewhere))  # a mistyped store.path: said, not created
    assert missing.returncode == 2 and "no store at" in missing.stderr
    assert not (config_path.parent / "no-such-store").exists()
