"""``python -m bot``: the main job, a terminal chat, one-shot questions and batches.

With no sub-command it is the main job: ingest the bundled article when the
store is empty, then start the Discord bot if DISCORD_TOKEN is set, otherwise
an interactive terminal chat over the same engine.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import UsageError, UserError
from common.logs import setup_logging
from common.settings import Settings, load
from common.spaces import DEFAULT_SPACE, check_space
from common.text import is_valid_text

if TYPE_CHECKING:
    from citebot.models import Answer

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Ask citebot about its sources.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="config file (default: $CITEBOT_CONFIG or ./config.toml)")
    common.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command")
    ask = sub.add_parser("ask", parents=[common], help="answer questions; several are one conversation")
    ask.add_argument("questions", nargs="*", help="the question, then any follow-ups")
    ask.add_argument("--json", action="store_true", help="print one JSON object a question")
    ask.add_argument("--batch", type=Path, help="answer every line of FILE (text, or JSON lines with 'q')")
    chat = sub.add_parser("chat", parents=[common], help="interactive terminal chat")
    insights = sub.add_parser(
        "insights", parents=[common], help="what a space was asked and what its sources missed (/insights)"
    )
    insights.add_argument("--days", type=int, default=7, help="the last N days, today included (default 7; 0: all)")
    insights.add_argument("--json", action="store_true", help="print the report as one JSON object")
    insights.add_argument("--clear", action="store_true", help="erase the space's recorded questions")
    for one in (ask, chat, insights):
        one.add_argument("--space", default=DEFAULT_SPACE, help=f"the space (default: {DEFAULT_SPACE})")
    sub.add_parser("run", parents=[common], help="start the Discord bot (needs DISCORD_TOKEN)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    from citebot.engine import QuestionError, StaleIndexError

    try:
        settings = load(args.config)
        if args.command == "ask":
            return _ask(args, settings)
        if args.command == "chat":
            return _chat(settings, check_space(args.space))
        if args.command == "insights":
            return _insights(args, settings)
        return _main_job(settings, discord_only=args.command == "run")
    except (UserError, QuestionError, StaleIndexError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # the registry damaged past what opening it checks
        from index_store.sqlite_registry import damaged_registry

        print(f"error: {damaged_registry(load(args.config).store_path / 'registry.sqlite3', exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _engine(settings: Settings, space: str):  # type: ignore[no-untyped-def]
    from citebot.engine import Engine
    from index_store.store import Store, check_exists

    check_exists(settings)  # a mistyped store.path must not answer from a new, empty store
    return Engine(settings, store=Store.from_settings(settings, space=check_space(space), read_only=True))


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.render import printable, render_answer
    from citebot.engine import QuestionError

    if args.batch is None and not args.questions:
        raise UsageError("ask needs a question (or --batch FILE)")
    if args.batch is not None:
        return _ask_batch(args.batch, settings, args.space)
    for question in args.questions:  # every one checked before the model loads
        problem = _problem(question)
        if problem is not None:
            raise QuestionError(f"{ascii(question)[:200]}: {problem}")
    engine = _engine(settings, args.space)
    record = _recorder(settings, args.space)
    conversation = engine.conversation()
    for question in args.questions:
        answer = conversation.ask(question)
        record(answer)
        if args.json:
            print(_json(answer.to_json()), flush=True)
        else:
            if len(args.questions) > 1:
                print(printable(f"> {question}"))
            print(render_answer(answer))
            print()
    return 0


def _ask_batch(path: Path, settings: Settings, space: str) -> int:
    """Answer every good line of a batch file; each bad line is an error row with its number."""
    from citebot.engine import QuestionError

    questions = _batch_questions(path)  # before loading anything
    if questions and all(problem for _, _, problem in questions):
        # not one question in it: the wrong file, not a batch with a few bad lines
        for number, _, problem in questions:
            print(f"error: {path}:{number}: {problem}", file=sys.stderr)
        return 2
    engine = _engine(settings, space)
    record = _recorder(settings, space)
    failed = 0
    for number, question, problem in questions:
        if problem is None:
            try:
                answer = engine.conversation().ask(question)
            except QuestionError as exc:
                problem = str(exc)
            except Exception as exc:  # one question failing never loses the rest of the batch
                log.exception("answering line %d failed", number)
                problem = _one_line(exc)
            else:
                record(answer)
                print(_json(answer.to_json()), flush=True)
                continue
        failed += 1
        print(f"error: {path}:{number}: {problem}", file=sys.stderr)
        print(_json({"line": number, "question": question, "error": problem}), flush=True)
    return 1 if failed else 0


def _json(row: dict[str, object]) -> str:
    """One JSON line; C1 controls (which json.dumps leaves raw) are escaped too, so no quoted
    text can drive a terminal, and the U+2028/U+2029 line breaks are escaped; so are lone
    surrogates (an error row may quote a question that is not valid text), which could not be
    printed at all."""
    return json.dumps(row, ensure_ascii=False).translate(_JSON_ESCAPES)


_JSON_ESCAPES = {c: f"\\u{c:04x}" for c in [*range(0x7F, 0xA0), 0x2028, 0x2029, *range(0xD800, 0xE000)]}
NOT_A_QUESTION = "not a question: ask in words"
NOT_TEXT = "not valid text (undecodable bytes or a lone surrogate)"


def _problem(question: str) -> str | None:
    """What makes ``question`` one the engine cannot take, found before anything loads."""
    if not is_valid_text(question):
        return NOT_TEXT
    if not _has_words(question):
        return NOT_A_QUESTION
    return None


def _has_words(question: str) -> bool:
    """A question with no letters or digits ('???') has nothing to search for; as a follow-up
    it would only repeat the previous answer."""
    return any(ch.isalnum() for ch in question)


def _batch_questions(path: Path) -> list[tuple[int, str, str | None]]:
    """Each non-blank line: its number, the question, and what is wrong with it (or None)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read batch file {path}: {exc.strerror or exc}") from None
    questions: list[tuple[int, str, str | None]] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
        except UnicodeDecodeError as exc:
            text = raw.decode("utf-8", "replace").strip()
            questions.append((number, text, f"not valid UTF-8 (bad byte at offset {exc.start})"))
            continue
        if not line:
            continue
        if not line.startswith("{"):
            questions.append((number, line, _problem(line)))
            continue
        try:
            question = json.loads(line)["q"]
        except (ValueError, KeyError, TypeError):
            questions.append((number, line, "a JSON line needs a 'q' field"))
            continue
        if not isinstance(question, str):
            questions.append((number, line, f"'q' must be a string, not {json.dumps(question)}"))
        else:
            questions.append((number, question, _problem(question) if question.strip() else None))
    return questions


def _chat(settings: Settings, space: str = DEFAULT_SPACE) -> int:
    from bot.render import render_answer
    from citebot.engine import QuestionError

    engine = _engine(settings, space)
    record = _recorder(settings, space)
    conversation = engine.conversation()
    print("Ask about the sources (empty line or Ctrl-D to quit).")
    while True:
        try:
            question = input("? ").strip()
        except EOFError:
            print()
            return 0
        except UnicodeDecodeError:  # a terminal sending bytes that are not UTF-8
            question = "\udcff"
        if not question:
            return 0
        problem = _problem(question)
        if problem is not None:
            print(f"error: {'that is ' + problem if problem == NOT_A_QUESTION else problem}")
            print()
            continue
        try:
            answer = conversation.ask(question)
            record(answer)
            print(render_answer(answer))
        except QuestionError as exc:
            print(f"error: {exc}")
        except Exception as exc:  # keep the chat going; the log has the traceback
            log.exception("answering %r failed", question[:80])
            print(f"error: {_one_line(exc)}")
        print()


def _recording(settings: Settings, space: str) -> bool:
    """Whether the space records its questions (``/settings set record_questions``; the default
    from ``[bot]`` for a space no server configured)."""
    from index_store.kv import open_kv
    from index_store.space_settings import SpaceSettingsStore

    kv = open_kv(settings, "space-settings")
    try:
        return SpaceSettingsStore(kv, lambda: settings.bot).get(space).record_questions
    finally:
        kv.close()


def _insights_of(settings: Settings) -> Any:
    from index_store.questions import open_question_log
    from insights.recorder import Insights

    return Insights(open_question_log(settings), keep_days=lambda: settings.bot.insights_days)


def _recorder(settings: Settings, space: str) -> Callable[[Answer], object]:
    """Keeps each answered question for the space's insights (where: terminal), unless the space
    turned recording off.  A record that cannot be written is logged; the answer is printed anyway."""
    if not _recording(settings, space):
        return lambda _answer: None
    insights = _insights_of(settings)
    return lambda answer: insights.record(space, answer, "terminal")


def _insights(args: argparse.Namespace, settings: Settings) -> int:
    """The space's insights report (or, with --clear, erase its recorded questions)."""
    from bot.render import printable
    from index_store.store import Store, check_exists
    from insights.report import SourceInfo
    from insights.text import render_report

    space = check_space(args.space)
    if args.days < 0:
        raise UsageError("--days must be 0 (everything kept) or more")
    check_exists(settings)  # a mistyped store.path is an error, not a space with no questions
    insights = _insights_of(settings)
    if args.clear:
        erased = insights.clear(space)
        print(_json({"space": space, "erased": erased}) if args.json else f"erased {erased} question(s) of {space}")
        return 0
    insights.prune()
    store = Store.from_settings(settings, space=space, read_only=True)
    try:
        sources = [SourceInfo(r.id, r.title) for r in store.registry.all(status="ready")]
    finally:
        store.close()
    report = insights.report(space, sources, days=args.days or None, recording=_recording(settings, space))
    print(_json(report) if args.json else printable(render_report(report)))
    return 0


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {text[0]}" if text else exc.__class__.__name__


def _main_job(settings: Settings, discord_only: bool = False) -> int:
    from index_store.lock import writer_lock
    from ingest.pipeline import Ingestor

    if discord_only and not os.environ.get("DISCORD_TOKEN", "").strip():
        print("error: DISCORD_TOKEN is not set (the bot's token comes only from the environment)", file=sys.stderr)
        return 2
    lock = writer_lock(
        settings.store, settings.store_path, "the citebot main job" if not discord_only else "the Discord bot"
    )
    if lock is not None:
        lock.acquire()  # held for the life of this process: it writes (recovery, /source add)
    ingestor = Ingestor(settings)
    ingestor.recover()
    if ingestor.store.stale:
        ingestor.reindex()
    if ingestor.store.registry.count() == 0:
        for path in settings.ingest.default_sources:
            for outcome in ingestor.add_path(settings.resolve(path)):
                print(f"{outcome.status}: {outcome.source_id} ({outcome.chunks} chunks)", file=sys.stderr)
    if os.environ.get("DISCORD_TOKEN", "").strip():
        from bot.discord_app import run_discord

        return run_discord(settings, store=ingestor.store, embedder=ingestor.embedder)
    return _chat(settings)
