"""``python -m ingest``: add (files, directories, URLs), refresh, list, remove, reindex, verify, export, import."""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from common.errors import SourceError, UnknownSourceError, UserError
from common.logs import setup_logging
from common.settings import Settings, load
from common.spaces import DEFAULT_SPACE, check_space
from index_store.lock import StoreLock, writer_lock
from index_store.sqlite_registry import damaged_registry
from index_store.store import Store, check_exists
from ingest.ids import discover
from ingest.pipeline import Ingestor, Outcome
from ingest.resync import NOT_MODIFIED, Resyncer
from ingest.sources import Sources, is_url

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingest", description="Manage citebot's sources.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="config file (default: $CITEBOT_CONFIG or ./config.toml)")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    common.add_argument(
        "--space", default=DEFAULT_SPACE, help=f"the space (knowledge base) to work on (default: {DEFAULT_SPACE})"
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    add = sub.add_parser(
        "add", parents=[common], help="add a file, every supported file under a directory, or an http(s) URL"
    )
    add.add_argument("path", help="a file, a directory or an http(s) URL")
    add.add_argument("--id", dest="source_id", help="source id (one source only; default: from the file name or URL)")
    add.add_argument("--id-prefix", default="", help="prefix for the ids of the files added")
    add.add_argument("--added-by", help="who added it (default: config ingest.added_by)")

    refresh = sub.add_parser("refresh", parents=[common], help="fetch a URL source again; replace it if it changed")
    refresh.add_argument("source")
    refresh.add_argument("--added-by", help="who refreshed it (default: config ingest.added_by)")
    sub.add_parser("list", parents=[common], help="list sources")
    rm = sub.add_parser("remove", parents=[common], help="remove a source and its chunks")
    rm.add_argument("source")
    sub.add_parser("reindex", parents=[common], help="re-chunk and re-embed every source from its stored text")
    verify = sub.add_parser("verify", parents=[common], help="check registry and index agree; repair what differs")
    verify.add_argument("--check-only", action="store_true", help="report without repairing")
    verify.add_argument(
        "--all-spaces", action="store_true", help="check (and repair) every space of the store, not only --space"
    )
    verify.add_argument(
        "--accept-empty-registry",
        action="store_true",
        help="repair even when the registry lists no sources (deletes every chunk in the index)",
    )
    exp = sub.add_parser("export", parents=[common], help="write every source (metadata and text) to FILE")
    exp.add_argument("file", type=Path)
    imp = sub.add_parser("import", parents=[common], help="add every source of a FILE made by export")
    imp.add_argument("file", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        settings = load(args.config)
        check_space(args.space)
        return _run(args, settings)
    except UnknownSourceError as exc:
        _fail(f"{exc} (see: python -m ingest list --space {args.space})", args.json)
        return 2
    except UserError as exc:
        _fail(str(exc), args.json)
        return 2
    except sqlite3.DatabaseError as exc:  # the registry damaged past what opening it checks
        _fail(damaged_registry(load(args.config).store_path / "registry.sqlite3", exc), args.json)
        return 2
    except KeyboardInterrupt:
        _fail("interrupted; sources already marked ready are kept, the rest are finished on the next run", args.json)
        return 130


def _run(args: argparse.Namespace, settings: Settings) -> int:
    read_only = args.command in ("list", "export") or (args.command == "verify" and args.check_only)
    purpose = f"python -m ingest {args.command}"
    lock = None if read_only else writer_lock(settings.store, settings.store_path, purpose)
    ingestor = _open(args, settings, lock, read_only)
    try:
        if args.command == "list":
            return _list(ingestor, args.json)
        if args.command == "verify":
            return _verify(ingestor, args, settings)
        if args.command == "export":
            count = ingestor.export(args.file)
            print(json.dumps({"exported": count, "file": str(args.file)}) if args.json else f"exported {count} sources")
            return 0
        # recover() says in one line how many it finished; they are reported as added below
        recovered = {o.source_id for o in ingestor.recover()}
        if args.command == "remove":
            return _print([ingestor.remove(args.source)], args.json)
        if args.command == "reindex" or ingestor.store.stale:
            if args.command != "reindex":
                log.warning("settings changed since the index was built: reindexing first")
            outcomes = _with_progress(ingestor.store.registry.count(), ingestor.reindex)
            if args.command == "reindex":
                return _print(outcomes, args.json)
        if args.command == "import":
            imported = _with_progress(0, lambda p: ingestor.import_backup(args.file, progress=p))
            return _print(_as_recovered(imported, recovered), args.json)
        outcomes = _add(args, Sources(ingestor), args.added_by or settings.ingest.added_by)
        return _print(_as_recovered(outcomes, recovered), args.json)
    finally:
        ingestor.store.close()
        if lock is not None:
            lock.release()


def _open(args: argparse.Namespace, settings: Settings, lock: StoreLock | None, read_only: bool) -> Ingestor:
    """The store, checked: missing or damaged is a StoreError, never a new empty store.

    Read-only commands open the store read-only: they create and write nothing."""
    accept_empty = getattr(args, "accept_empty_registry", False)
    if not accept_empty:  # only add and import may create a store; the rest need one there
        check_exists(settings, must_exist=args.command not in ("add", "import"))
    if lock is not None:
        lock.acquire()
    try:
        store = Store.from_settings(settings, space=args.space, read_only=read_only, accept_empty_registry=accept_empty)
        return Ingestor(settings, store=store)
    except BaseException:
        if lock is not None:
            lock.release()
        raise


def _add(args: argparse.Namespace, sources: Sources, who: str) -> list[Outcome]:
    """add PATH|DIR|URL and refresh SOURCE, through the same Sources the Discord cog uses."""
    if args.command == "refresh":
        return [_refresh(sources, args.source, who)]
    if is_url(args.path):
        incoming = sources.from_url(args.path, source_id=args.source_id)
        if args.source_id is None and args.id_prefix:
            incoming = replace(incoming, source_id=args.id_prefix + incoming.source_id)
        return [sources.add(incoming, added_by=who, force=True)]
    path = Path(args.path)
    return _with_progress(
        len(discover(path)),
        lambda progress: sources.add_path(
            path, source_id=args.source_id, id_prefix=args.id_prefix, added_by=who, progress=progress
        ),
    )


def _refresh(sources: Sources, source_id: str, who: str) -> Outcome:
    """refresh SOURCE: the re-sync's two steps for one source, so an unchanged page (HTTP 304)
    costs no body. As for files, the terminal writes without the near-duplicate check."""
    resyncer = Resyncer()
    result = resyncer.apply(sources, resyncer.check(sources, sources.url_record(source_id)), added_by=who)
    if result.status in ("failed", "gone"):
        raise SourceError(result.detail)
    if result.status == "not-modified":
        return Outcome(result.source_id, "unchanged", result.chunks, result.title, NOT_MODIFIED)
    return Outcome(result.source_id, result.status, result.chunks, result.title)


def _as_recovered(outcomes: list[Outcome], recovered: set[str]) -> list[Outcome]:
    """A source an interrupted job left pending and this one finished was added by this job,
    not 'unchanged'."""
    return [
        Outcome(o.source_id, "added", o.chunks, o.title, "finished after an interrupted run")
        if o.status == "unchanged" and o.source_id in recovered
        else o
        for o in outcomes
    ]


def _with_progress(total: int, job: Callable[[Callable[[int], None] | None], list[Outcome]]) -> list[Outcome]:
    if total <= 1:
        return job(None)
    from tqdm import tqdm

    with tqdm(total=total, unit="source", file=sys.stderr, disable=None) as bar:
        return job(bar.update)


def _verify(ingestor: Ingestor, args: argparse.Namespace, settings: Settings) -> int:
    """Verify (and repair) the space, or every space of the store (--all-spaces); say which
    spaces were not checked."""
    own = ingestor.store.space
    others = [space for space in ingestor.store.registry.spaces() if space != own]
    failed = False
    for space in [own, *others] if args.all_spaces else [own]:
        if space == own:
            report = ingestor.verify(repair=not args.check_only)
        else:
            store = Store.from_settings(settings, space=space, read_only=args.check_only, accept_empty_registry=True)
            try:
                report = Ingestor(settings, store=store, embedder=ingestor.embedder).verify(repair=not args.check_only)
            finally:
                store.close()
        failed |= not (report["consistent"] or report["repaired"])
        unchecked: dict[str, object] = {} if args.all_spaces else {"not_checked": others}
        _print_verified(report | {"space": space} | unchecked, args.json, named=args.all_spaces)
    return 1 if failed else 0


def _print_verified(report: dict[str, object], as_json: bool, *, named: bool) -> None:
    if as_json:
        print(json.dumps(report))
        return
    state = "consistent" if report["consistent"] else ("repaired" if report["repaired"] else "INCONSISTENT")
    where = f"space {report['space']}: " if named else ""
    print(f"{where}{report['sources']} sources, {report['chunks']} chunks: {state}")
    for key in ("pending", "orphaned_sources", "mismatched", "damaged_texts"):
        if report[key]:
            print(f"  {key}: {', '.join(report[key])}")  # type: ignore[arg-type]
    if report["damaged_texts"]:
        print("  a damaged text cannot be rebuilt from the store: re-add those sources, or ingest import a backup")
    others = report.get("not_checked")
    if isinstance(others, list) and others:
        names = ", ".join(others[:10])
        print(f"not checked: {len(others)} other space(s) ({names}); --all-spaces checks every space")


def _list(ingestor: Ingestor, as_json: bool) -> int:
    records = ingestor.store.registry.all()
    if as_json:
        print(json.dumps([r.to_json() for r in records], ensure_ascii=False))
        return 0
    if not records:
        print("no sources")
    for r in records:
        flag = "" if r.status == "ready" else f" [{r.status}]"
        line = f"{r.id}\t{r.chunk_count} chunks\t{r.added_at}\t{r.added_by}\t{r.title}{flag}"
        print("".join(ch for ch in line if ch == "\t" or ch.isprintable()))  # no terminal escapes
    return 0


def _print(outcomes: list[Outcome], as_json: bool) -> int:
    if as_json:
        print(json.dumps([o.to_json() for o in outcomes], ensure_ascii=False))
        return 0
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
        if len(outcomes) <= 20:
            detail = f" ({o.detail})" if o.detail else ""
            print(f"{o.status}: {o.source_id} ({o.chunks} chunks){detail}")
    if len(outcomes) > 20:
        print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    return 0


def _fail(message: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"error": message}, ensure_ascii=False))
    print(f"error: {message}", file=sys.stderr)
