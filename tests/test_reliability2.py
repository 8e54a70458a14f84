"""Issue #12: the defects an adversarial pass found, one test (or a few) an item.

Each test drives a public entry point (the CLIs, ``Ingestor``, ``Engine``, the
loaders, ``fetch``, the Discord layer) against real stores and files; every
rejection must leave the store exactly as it was, and every test that writes
ends with ``python -m ingest verify --check-only`` reporting a clean store.
"""

from __future__ import annotations

import io
import json
import subprocess
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from conftest import ARTICLE
from test_cli import run
from test_ingest import snapshot

from common.errors import SourceError
from common.settings import load
from ingest.cli import main as ingest_main
from ingest.pipeline import Ingestor


def assert_verified(config_path: Path) -> dict[str, object]:
    """``python -m ingest verify --check-only`` finds the store clean (run in-process: no model load)."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = ingest_main(["verify", "--check-only", "--json", "--config", str(config_path)])
    report = json.loads(out.getvalue())
    assert code == 0 and report["consistent"], report
    return report


def fresh_settings(directory: Path):  # type: ignore[no-untyped-def]
    directory.mkdir(parents=True)
    (directory / "config.toml").write_text('[store]\npath = "store"\n', encoding="utf-8")
    return load(directory / "config.toml")


# -- 1. a backup must restore whatever text it holds ------------------------------------------
LINE_BREAKS = ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def test_export_import_round_trips_every_unicode_line_break(ingestor, config_path, embedder, tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    for i, brk in enumerate(LINE_BREAKS):
        (folder / f"break-{i}.txt").write_text(
            f"Story {i} begins here.{brk}It goes on after a U+{ord(brk):04X} break.\n\n"
            + f"A second paragraph {i} is long enough that one odd character is not mistaken for binary data. " * 2,
            encoding="utf-8",
        )
    ingestor.add_path(folder)
    texts = {r.id: ingestor.store.registry.text(r.id) for r in ingestor.store.registry.all()}
    assert len(texts) == len(LINE_BREAKS)
    backup = tmp_path / "backup.jsonl"
    assert ingestor.export(backup) == len(LINE_BREAKS)
    assert len(backup.read_text(encoding="utf-8").splitlines()) == len(LINE_BREAKS) + 1
    other = fresh_settings(tmp_path / "other")
    target = Ingestor(other, embedder=embedder)
    outcomes = target.import_backup(backup)
    assert sorted(o.status for o in outcomes) == ["added"] * len(LINE_BREAKS)
    assert {r.id: target.store.registry.text(r.id) for r in target.store.registry.all()} == texts
    target.store.close()
    assert_verified(tmp_path / "other" / "config.toml")
    assert_verified(config_path)
    # a backup written before this fix (raw U+2028 inside a line) is readable too
    raw = tmp_path / "raw.jsonl"
    raw.write_text(backup.read_text(encoding="utf-8").replace("\\u2028", "\u2028"), encoding="utf-8")
    assert "\u2028" in raw.read_text(encoding="utf-8")
    third = Ingestor(fresh_settings(tmp_path / "third"), embedder=embedder)
    assert [o.status for o in third.import_backup(raw)] == ["added"] * len(LINE_BREAKS)
    third.store.close()
    assert_verified(tmp_path / "third" / "config.toml")


# -- 2. two sources never share an id; an existing source is never silently replaced -----------
ALIKE = ["A.txt", "a.txt", "名前.txt", "記事.txt", "😀.txt", "x..y.txt", "n" * 200 + ".txt", "N" * 200 + ".txt"]


def test_file_names_that_slug_alike_get_distinct_stable_ids(ingestor, config_path, tmp_path):
    folder = tmp_path / "alike"
    folder.mkdir()
    for i, name in enumerate(ALIKE):
        (folder / name).write_text(f"Report {i}: the harbour handled {100 + i} ships this week.\n", encoding="utf-8")
    outcomes = ingestor.add_path(folder)
    assert [o.status for o in outcomes] == ["added"] * len(ALIKE)
    ids = {o.source_id for o in outcomes}
    assert len(ids) == len(ALIKE) and all(len(i) <= 160 for i in ids)
    registry = ingestor.store.registry
    assert registry.count() == len(ALIKE)
    stored = {registry.text(sid) for sid in ids}
    assert stored == {(folder / name).read_text(encoding="utf-8").strip() for name in ALIKE}
    assert {"a", "x.y"} <= ids
    assert [o.status for o in ingestor.add_path(folder)] == ["unchanged"] * len(ALIKE)  # the same ids again
    assert_verified(config_path)


def test_another_file_with_the_same_id_never_replaces_a_source(ingestor, config_path, tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first, second = tmp_path / "one" / "note.txt", tmp_path / "two" / "Note.txt"
    first.write_text("The first note is about ferries.\n", encoding="utf-8")
    second.write_text("The second note is about trams.\n", encoding="utf-8")
    ingestor.add_path(first)
    before = snapshot(ingestor.store)
    with pytest.raises(SourceError, match="'note' is already used by another source"):
        ingestor.add_path(second)
    assert snapshot(ingestor.store) == before
    assert ingestor.store.registry.text("note") == "The first note is about ferries."
    [outcome] = ingestor.add_path(second, source_id="note")  # naming the id on purpose replaces it
    assert outcome.status == "replaced"
    assert_verified(config_path)


def test_backup_with_a_repeated_id_is_refused_whole(ingestor, config_path, tmp_path):
    from ingest.chunking import content_hash

    ingestor.add_path(ARTICLE)
    before = snapshot(ingestor.store)
    rows = [{"citebot_export": 1, "sources": 2}]
    for text in ("Ferries sail at dawn.", "Trams run at night."):
        rows.append(
            {"id": "dup", "title": "Dup", "origin": "x", "content_hash": content_hash(text), "added_by": "cli"}
            | {"added_at": "2026-01-01T00:00:00+00:00", "text": text}
        )
    backup = tmp_path / "dup.jsonl"
    backup.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(SourceError, match="'dup'"):
        ingestor.import_backup(backup)
    assert snapshot(ingestor.store) == before
    assert_verified(config_path)


# -- 3. HTML to text is linear; hidden text is never indexed -----------------------------------
def test_hundred_thousand_nested_divs_are_handled_in_seconds(ingestor, config_path, tmp_path):
    import time

    from ingest.loaders import load_bytes

    depth = 100_000
    markup = "<html><body>" + "<div>" * depth + "<p>Deep inside sits one sentence.</p>" + "</div>" * depth
    page = tmp_path / "deep.html"
    page.write_text(markup + "</body></html>", encoding="utf-8")
    assert page.stat().st_size > 1_100_000
    ingestor.settings.ingest.max_bytes = 2_000_000
    started = time.monotonic()
    loaded = load_bytes(page.read_bytes(), "deep.html", "html", 2_000_000)
    assert loaded.text == "Deep inside sits one sentence."
    [outcome] = ingestor.add_path(page)
    assert outcome.status == "added"
    assert time.monotonic() - started < 10
    assert_verified(config_path)


@pytest.mark.parametrize(
    "junk",
    ["<a" * 500_000, "<x " * 330_000, "<a b='" * 170_000, "</" * 500_000, "<?" * 500_000, "<![CDATA[ >" * 100_000],
)
def test_a_megabyte_of_unclosed_markup_is_read_in_seconds(junk):
    import time

    from ingest.loaders import load_bytes

    started = time.monotonic()
    loaded = load_bytes(f"<p>The quay reopens in June.</p>{junk}".encode(), "junk.html", "html", 2_000_000)
    assert loaded.text.startswith("The quay reopens in June.")
    assert time.monotonic() - started < 5


def test_an_unclosed_comment_runs_to_the_end():
    from ingest.loaders import load_bytes

    loaded = load_bytes(b"<p>Kept.</p><!-- a --><p>Also kept.</p>" + b"<!-- >x" * 100_000, "c.html", "html", 10**6)
    assert loaded.text == "Kept.\n\nAlso kept."


def test_cdata_hidden_and_display_none_text_is_not_indexed():
    from ingest.loaders import load_bytes

    markup = (
        "<html><head><title>Budget &amp; more</title><meta charset='utf-8'></head><body>"
        "<h1>Budget</h1><p>The council passed the budget.</p>"
        "<p><![CDATA[ cdata-secret ]]></p>"
        "<div hidden><p>hidden-secret</p><div>still hidden-secret</div></div>"
        "<section style='color: red; DISPLAY : none'>style-secret<br>more style-secret</section>"
        "<span style='display:none'>span-secret</span><p>Library opens<br>on Monday.</p>"
        "<noscript>noscript-secret</noscript><template>template-secret</template>"
        "<script>var x = '</p>script-secret';</script><nav>nav-secret</nav>"
        "<ul><li>First item</li><li>Second item</li></ul></body></html>"
    )
    loaded = load_bytes(markup.encode(), "budget.html", "html", 1_000_000)
    assert "secret" not in loaded.text, loaded.text
    assert loaded.title == "Budget & more"
    assert loaded.text.split("\n\n") == [
        "Budget",
        "The council passed the budget.",
        "Library opens",
        "on Monday.",
        "First item",
        "Second item",
    ]


# -- 4. another process removing or replacing sources never crashes a running reader ------------
def test_engine_survives_sources_removed_and_replaced_by_another_process(settings, embedder, config_path, tmp_path):
    """As a running ``bot ask --batch`` or ``bot chat``: this process only reads, others write."""
    from citebot.engine import Engine

    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "ken-loach-expelled.txt").write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    note = folder / "ferry.txt"
    note.write_text("The ferry to the island sails every morning at seven.\n", encoding="utf-8")
    assert run("ingest", "add", str(folder), "--config", str(config_path)).returncode == 0
    engine = Engine(settings, embedder=embedder)
    assert "refus" in engine.ask("why was Loach expelled?").text  # the vector index is now in memory
    removed = run("ingest", "remove", "ken-loach-expelled", "--config", str(config_path))
    assert removed.returncode == 0, removed.stderr
    note.write_text("The ferry to the island now sails every evening at nine.\n", encoding="utf-8")
    replaced = run("ingest", "add", str(folder), "--config", str(config_path))
    assert replaced.returncode == 0, replaced.stderr
    for question in ("why was Loach expelled?", "When does the ferry sail?", "Who leads the Labour Party?"):
        answer = engine.ask(question)
        for c in answer.citations:
            assert engine.store.registry.text(c.source)[c.start : c.end] == c.quote
    assert "nine" in engine.ask("When does the ferry sail?").text
    assert_verified(config_path)


# -- 6. one deadline for a whole fetch; a short body is a failed fetch --------------------------
class _Dripping:
    """Handlers for a loopback server that answers slowly, or not with all it promised."""

    @staticmethod
    def handler(mode: str):  # type: ignore[no-untyped-def]
        import time
        from http.server import BaseHTTPRequestHandler

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if mode == "slow-headers":
                    for ch in b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" + b"X-Pad: " + b"a" * 100:
                        self.wfile.write(bytes([ch]))
                        self.wfile.flush()
                        time.sleep(0.2)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "1000")
                self.end_headers()
                if mode == "short":
                    self.wfile.write(b"Only forty bytes of the promised 1000.\n")
                    self.close_connection = True
                    return
                for _ in range(100):  # one byte every 0.2 s: each read is quick, the whole is not
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)

            def log_message(self, *_args: object) -> None:
                return

        return Handler


@pytest.mark.parametrize("mode", ["slow-body", "slow-headers"])
def test_a_dripping_server_cannot_outlast_the_fetch_timeout(mode):
    import time

    from httpserver import on_loopback

    from ingest.fetch import fetch

    with on_loopback(_Dripping.handler(mode)) as base:
        started = time.monotonic()
        with pytest.raises(SourceError, match="timed out"):
            fetch(f"{base}/slow.txt", max_bytes=100_000, timeout=1.0, allow=["127.0.0.1"])
        assert time.monotonic() - started < 2.5


def test_a_body_shorter_than_its_content_length_is_a_failed_fetch():
    from httpserver import on_loopback

    from ingest.fetch import fetch

    with on_loopback(_Dripping.handler("short")) as base, pytest.raises(SourceError, match="Content-Length"):
        fetch(f"{base}/short.txt", max_bytes=100_000, timeout=5, allow=["127.0.0.1"])


# -- 7. a directory ingest never follows a symlink out of the directory ---------------------------
def test_symlinks_out_of_the_directory_are_skipped_and_reported(ingestor, config_path, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the secret password is swordfish\n", encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "more.txt").write_text("Another secret: the vault code is 1234.\n", encoding="utf-8")
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "good.txt").write_text("The library opens at nine.\n", encoding="utf-8")
    (folder / "passwd.txt").symlink_to(secret)
    (folder / "sub" / "escape.md").symlink_to(Path("..") / ".." / "secret.txt")
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    (folder / "inside.txt").symlink_to(folder / "sub" / ".." / "good.txt")
    outcomes = {o.source_id: o for o in ingestor.add_path(folder)}
    assert outcomes["good"].status == "added"
    assert outcomes["passwd"].status == "skipped" and "outside" in outcomes["passwd"].detail
    assert outcomes["sub/escape"].status == "skipped"
    assert outcomes["inside"].status == "duplicate"  # a link inside the directory is read as usual
    stored = " ".join(ingestor.store.registry.text(r.id) or "" for r in ingestor.store.registry.all())
    assert "swordfish" not in stored and "vault" not in stored
    assert_verified(config_path)
    listed = run("ingest", "add", str(folder), "--config", str(config_path))
    assert listed.returncode == 0, listed.stderr
    assert "skipped: passwd" in listed.stdout and "outside the directory" in listed.stdout


# -- 8. every PDF parser failure is a one-line source error ------------------------------------
def _aes_encrypted_pdf() -> bytes:
    """A PDF encrypted with AES (its /Encrypt dictionary says AESV2), made without a crypto library."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_metadata({"/Title": "Locked minutes"})
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    aes = b"/V 4\n/R 4\n/Length 128\n/CF << /StdCF << /CFM /AESV2 /AuthEvent /DocOpen /Length 16 >> >>\n/StmF /StdCF\n"
    data = out.getvalue().replace(b"/V 2\n/R 3\n/Length 128\n", aes + b"/StrF /StdCF\n")
    assert b"/AESV2" in data
    return data


def test_aes_encrypted_pdf_is_a_one_line_error(ingestor, config_path, tmp_path):
    ingestor.add_path(ARTICLE)
    before = snapshot(ingestor.store)
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(_aes_encrypted_pdf())
    with pytest.raises(SourceError, match=r"locked\.pdf: .*(encrypted|readable)"):
        ingestor.add_path(locked)
    assert snapshot(ingestor.store) == before
    out = run("ingest", "add", str(locked), "--config", str(config_path))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    [error] = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: locked.pdf: an encrypted PDF")
    assert_verified(config_path)


# -- 9. a damaged or missing store is one clear line, and never emptied -------------------------------
def _error_line(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    [line] = [x for x in out.stderr.splitlines() if x.startswith("error:")]
    return line


def test_damaged_registry_or_index_is_one_clear_line(config_path, tmp_path):
    import os
    import shutil

    assert run("ingest", "add", str(ARTICLE), "--config", str(config_path)).returncode == 0
    store = tmp_path / "store"

    def variant(name: str) -> tuple[Path, Path]:
        shutil.copytree(store, tmp_path / name / "store")
        config = tmp_path / name / "config.toml"
        config.write_text('[store]\npath = "store"\n', encoding="utf-8")
        return config, tmp_path / name / "store"

    truncated, root = variant("truncated")
    os.truncate(root / "registry.sqlite3", 8192)
    garbage, root = variant("garbage")
    (root / "registry.sqlite3").write_bytes(os.urandom(24576))
    for config in (truncated, garbage):
        for command in (("ingest", "list"), ("ingest", "verify"), ("bot", "ask", "why was Loach expelled?")):
            line = _error_line(run(*command, "--config", str(config)))
            assert "registry.sqlite3 is damaged" in line and "ingest import" in line

    bad_index, root = variant("bad-index")
    with (root / "chroma" / "chroma.sqlite3").open("r+b") as f:
        f.write(b"this is not SQLite")
    for command in (("ingest", "list"), ("bot", "ask", "why was Loach expelled?")):
        line = _error_line(run(*command, "--config", str(bad_index)))
        assert "chroma.sqlite3 cannot be opened" in line and "ingest verify" in line
    shutil.rmtree(root / "chroma")  # the recovery the message gives: rebuild the vectors from the registry
    rebuilt = run("ingest", "verify", "--config", str(bad_index))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert_verified(bad_index)
    assert_verified(config_path)


def test_deleted_or_emptied_registry_never_empties_the_index(config_path, tmp_path):
    import shutil
    import sqlite3

    assert run("ingest", "add", str(ARTICLE), "--config", str(config_path)).returncode == 0
    registry = tmp_path / "store" / "registry.sqlite3"
    kept = tmp_path / "registry.kept"
    shutil.copy(registry, kept)
    registry.unlink()
    for command in (("bot", "ask", "why was Loach expelled?"), ("ingest", "list"), ("ingest", "verify")):
        assert "registry.sqlite3 is missing" in _error_line(run(*command, "--config", str(config_path)))
    shutil.copy(kept, registry)
    con = sqlite3.connect(registry)
    con.execute("DELETE FROM sources")
    con.commit()
    con.close()
    for command in (("bot", "ask", "why was Loach expelled?"), ("ingest", "verify"), ("ingest", "add", str(ARTICLE))):
        line = _error_line(run(*command, "--config", str(config_path)))
        assert "lists no sources but the index holds 12 chunks" in line and "ingest import" in line
    shutil.copy(kept, registry)  # nothing was deleted meanwhile: the old registry fits the index again
    assert_verified(config_path)
    con = sqlite3.connect(registry)
    con.execute("DELETE FROM sources")
    con.commit()
    con.close()
    told = run("ingest", "verify", "--accept-empty-registry", "--config", str(config_path))
    assert told.returncode == 0 and "repaired" in told.stdout
    assert assert_verified(config_path)["chunks"] == 0


def test_a_mistyped_store_path_is_not_a_new_empty_store(config_path, tmp_path):
    config_path.write_text('[store]\npath = "stroe"\n', encoding="utf-8")
    for command in (
        ("ingest", "list"),
        ("ingest", "export", str(tmp_path / "b.jsonl")),
        ("ingest", "verify"),
        ("ingest", "remove", "news"),
        ("bot", "ask", "Who?"),
    ):
        assert "no store at" in _error_line(run(*command, "--config", str(config_path)))
    assert not (tmp_path / "stroe").exists()


# -- 10. malformed URLs are user errors; the allowlist can name ports; embedded IPv4 is checked ------
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[oops/", "not a valid URL"),
        ("http://example.com:99999/a.html", "not a valid URL"),
        ("http://example.com:port/a.html", "not a valid URL"),
        ("http://" + "a" * 64 + ".example/a.html", "not a valid host name"),
        ("http://a..example/a.html", "not a valid host name"),
    ],
)
def test_malformed_urls_are_source_errors(url, message):
    from ingest.fetch import fetch

    with pytest.raises(SourceError, match=message):
        fetch(url, max_bytes=1000, timeout=2)


@pytest.mark.parametrize(
    "address", ["2002:7f00:1::1", "2002:a9fe:a9fe::1", "2002:c0a8:0101::", "2001:0:4136:e378:8000:63bf:80ff:fffe"]
)
def test_ipv6_forms_embedding_an_internal_ipv4_are_refused(address):
    from ingest.fetch import fetch

    with pytest.raises(SourceError, match="non-public address"):
        fetch("http://six.example/a.html", max_bytes=1000, timeout=2, resolver=lambda _h, _p: [address])


def test_allowlisted_host_port_does_not_open_the_hosts_other_ports():
    from httpserver import Routes, serve

    from ingest.fetch import fetch

    inner, outer = Routes(), Routes()
    inner.page("/admin.txt", "internal admin page", "text/plain")
    with serve(inner) as inner_base, serve(outer) as outer_base:
        outer.page("/a.txt", "The allowed page.", "text/plain")
        outer.redirect("/hop", f"{inner_base}/admin.txt")
        outer_port = outer_base.rsplit(":", 1)[1]
        allow = [f"127.0.0.1:{outer_port}"]
        assert fetch(f"{outer_base}/a.txt", max_bytes=1000, timeout=5, allow=allow).data == b"The allowed page."
        with pytest.raises(SourceError, match="non-public address"):
            fetch(f"{outer_base}/hop", max_bytes=1000, timeout=5, allow=allow)
        with pytest.raises(SourceError, match="non-public address"):
            fetch(f"{inner_base}/admin.txt", max_bytes=1000, timeout=5, allow=allow)
        assert inner.hits == []
        # a host without a port still allows each of its ports
        assert fetch(f"{outer_base}/hop", max_bytes=1000, timeout=5, allow=["127.0.0.1"]).data == b"internal admin page"


# -- 11. a batch answers every good line and names each bad one; chat never repeats itself ------------
def test_batch_reports_bad_lines_by_number_and_answers_the_rest(config_path, tmp_path):
    assert run("ingest", "add", str(ARTICLE), "--config", str(config_path)).returncode == 0
    batch = tmp_path / "qs.jsonl"
    lines = [
        b'{"q": "why was Loach expelled?"}',
        b'{"q": ""}',
        b"why " * 200,
        b'{"q": null}',
        b"Who is \xff Loach?",
        b"Who leads the Labour Party?",
        b'{"q": 5}',
        b"{not json",
        b"",
        b"When did he become leader?",
    ]
    batch.write_bytes(b"\n".join(lines) + b"\n")
    out = run("bot", "ask", "--batch", str(batch), "--config", str(config_path))
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    errors = {row["line"]: row["error"] for row in rows if "error" in row}
    assert sorted(errors) == [2, 3, 4, 5, 7, 8]
    assert "empty" in errors[2] and "limit" in errors[3] and "UTF-8" in errors[5] and "'q'" in errors[4]
    answered = [row for row in rows if "error" not in row]
    assert [r["question"] for r in answered] == [
        "why was Loach expelled?",
        "Who leads the Labour Party?",
        "When did he become leader?",
    ]
    assert "None" not in out.stdout and answered[0]["answered"]


def test_chat_refuses_a_question_without_words_instead_of_repeating_itself(config_path):
    assert run("ingest", "add", str(ARTICLE), "--config", str(config_path)).returncode == 0
    out = run("bot", "chat", "--config", str(config_path), stdin="why was Loach expelled?\n???\n...\n\n")
    assert out.returncode == 0, out.stderr
    _greeting, first, *rest = out.stdout.split("\n? ")
    assert "refus" in first
    assert len(rest) == 3 and all("refus" not in r and "error:" in r for r in rest[:2]), out.stdout


# -- 12. source text never drives the terminal ----------------------------------------------------------
def test_escape_sequences_in_sources_are_not_printed(config_path, tmp_path):
    note = tmp_path / "signals.txt"
    filler = " The signal box stood beside the old railway line for many years before the town grew." * 12
    note.write_text(
        "Signal \x1b]0;pwned\x07 box \x1b[2J\x1b[31mred\x1b[0m news \x9b31m\n\n"
        f"The signal box \x1b[2J opened in \x1b[31m1901\x1b[0m and closed in 1966.{filler}\n",
        encoding="utf-8",
    )
    assert run("ingest", "add", str(note), "--config", str(config_path)).returncode == 0
    for command in (
        ("bot", "ask", "When did the signal box open?"),
        ("bot", "ask", "--json", "When did the signal box open?"),
        ("ingest", "list"),
    ):
        out = run(*command, "--config", str(config_path))
        assert out.returncode == 0, out.stderr
        assert not any(ch in out.stdout for ch in "\x1b\x07\x9b"), repr(out.stdout)
    assert "1901" in out.stdout or "Signal" in out.stdout
    chat = run("bot", "chat", "--config", str(config_path), stdin="When did the signal box open?\n\n")
    assert "1901" in chat.stdout and not any(ch in chat.stdout for ch in "\x1b\x07\x9b"), repr(chat.stdout)
    assert_verified(config_path)


# -- 13. verify checks each text against its hash; import checks every field ---------------------------
def _row(body: str, **changes: object) -> dict[str, object]:
    from ingest.chunking import content_hash

    row: dict[str, object] = {"id": "ferry", "title": "Ferry", "origin": "x", "content_hash": content_hash(body)}
    row |= {"added_by": "cli", "added_at": "2026-01-01T00:00:00+00:00", "text": body}
    return row | changes


def test_verify_finds_a_registry_text_that_no_longer_matches_its_hash(config_path, tmp_path, ingestor):
    import sqlite3

    ingestor.add_path(ARTICLE)
    con = sqlite3.connect(tmp_path / "store" / "registry.sqlite3")
    con.execute("UPDATE sources SET text = replace(text, 'Loach', 'Lynch')")
    con.commit()
    con.close()
    report = ingestor.verify(repair=False)
    assert not report["consistent"] and report["damaged_texts"] == ["ken-loach-expelled"]
    out = run("ingest", "verify", "--check-only", "--config", str(config_path))
    assert out.returncode == 1 and "damaged_texts: ken-loach-expelled" in out.stdout
    repaired = run("ingest", "verify", "--config", str(config_path))  # nothing to rebuild it from: still refused
    assert repaired.returncode == 1 and "ingest import" in repaired.stdout


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (_row(""), "empty"),
        (_row("Ferries sail.  \nAt dawn.\r\n"), "not normalised"),
        (_row("Ferries sail.", added_at="yesterday"), "added_at"),
        (_row("Ferries sail.", added_at="2026-01-01T00:00:00"), "added_at"),
        (_row("Ferries sail.", title=5), "'title' must be a string"),
        (_row("Ferries sail.", text=["Ferries sail."]), "'text' must be a string"),
        (["not", "an", "object"], "not a JSON object"),
        (_row("Ferries sail.", id="../etc"), "invalid source id"),
    ],
)
def test_import_refuses_a_bad_row_by_line_and_changes_nothing(ingestor, config_path, tmp_path, row, message):
    ingestor.add_path(ARTICLE)
    before = snapshot(ingestor.store)
    backup = tmp_path / "bad.jsonl"
    lines = [{"citebot_export": 1, "sources": 2}, _row("Trams run at night.", id="trams"), row]
    backup.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    with pytest.raises(SourceError, match=rf"bad\.jsonl:3: .*{message}"):
        ingestor.import_backup(backup)
    assert snapshot(ingestor.store) == before
    assert_verified(config_path)


def test_import_skips_blank_lines(ingestor, config_path, tmp_path):
    backup = tmp_path / "gappy.jsonl"
    rows = [json.dumps({"citebot_export": 1, "sources": 2}), json.dumps(_row("Ferries sail at dawn.")), "", "  "]
    rows.append(json.dumps(_row("Trams run at night.", id="trams")))
    backup.write_text("\n".join(rows) + "\n\n", encoding="utf-8")
    assert [o.status for o in ingestor.import_backup(backup)] == ["added", "added"]
    assert_verified(config_path)


# -- 14. UTF-16 with a byte-order mark is text; a declared ISO-8859-1 charset is honoured ---------------
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_text_with_a_byte_order_mark_is_read(ingestor, config_path, tmp_path, encoding):
    import codecs

    boms = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}
    note = tmp_path / "café.txt"
    body = "Café news\n\nThe café on the quay reopens in June, says Zoë.\n"
    note.write_bytes(boms.get(encoding, b"") + body.encode(encoding))
    [outcome] = ingestor.add_path(note)
    assert outcome.status == "added"
    assert ingestor.store.registry.text(outcome.source_id) == body.strip()
    assert_verified(config_path)


def test_a_declared_latin1_charset_is_honoured(tmp_path):
    from httpserver import Routes, serve

    from ingest.fetch import fetch
    from ingest.loaders import load_bytes

    page = "<html><head><meta charset='ISO-8859-1'><title>Caf\xe9</title></head><body><p>Zo\xeb pays 5 \xa3.</p>"
    loaded = load_bytes(page.encode("latin-1"), "cafe.html", "html", 10_000)
    assert loaded.title == "Café" and loaded.text == "Zoë pays 5 £."
    legacy = b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><p>\x93Quoted\x94 na\xefve</p>'
    assert load_bytes(legacy, "old.html", "html", 10_000).text == "\u201cQuoted\u201d naïve"
    with pytest.raises(SourceError, match="not valid UTF-8"):  # undeclared and not UTF-8: still refused
        load_bytes("caf\xe9".encode("latin-1"), "cafe.txt", "text", 10_000)
    routes = Routes()
    routes.page("/cafe.txt", "The caf\xe9 opens at nine.".encode("latin-1"), "text/plain; charset=ISO-8859-1")
    with serve(routes) as base:
        got = fetch(f"{base}/cafe.txt", max_bytes=10_000, timeout=5, allow=["127.0.0.1"])
    assert got.charset == "iso-8859-1"
    assert load_bytes(got.data, "cafe.txt", got.kind, 10_000, charset=got.charset).text == "The café opens at nine."


# -- 15. a lock that is a directory is one line; recovered sources are reported as added, once ---------
def test_write_lock_that_is_a_directory_is_one_clear_line(config_path, tmp_path):
    (tmp_path / "store" / "write.lock").mkdir(parents=True)
    line = _error_line(run("ingest", "add", str(ARTICLE), "--config", str(config_path)))
    assert "write.lock" in line and "directory" in line
    assert not (tmp_path / "store" / "registry.sqlite3").exists()


def test_sources_recovered_after_a_crash_are_reported_as_added_in_one_warning(ingestor, config_path, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(25):
        (folder / f"story-{i:02}.txt").write_text(f"Story {i} tells of event {i * 7} in the valley.\n", "utf-8")
    ingestor.add_path(folder)
    for record in ingestor.store.registry.all():  # as a crash leaves them: pending, chunks not all there
        ingestor.store.registry.mark_pending(record.id)
    ingestor.store.delete_sources_chunks([r.id for r in ingestor.store.registry.all()][::2])
    ingestor.store.close()
    out = run("ingest", "add", str(folder), "--config", str(config_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "25 added", out.stdout
    warnings = [line for line in out.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and "25 source(s)" in warnings[0], out.stderr
    assert_verified(config_path)
