"""Unit tests: text handling, chunking, settings, fusion, abstention rules, scoring."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ARTICLE

from citebot.extractive import _depends_on_previous
from citebot.retrieval import LexicalIndex, rrf
from common.errors import ConfigError
from common.settings import load
from common.text import fold, normalize_source_text, paragraph_spans, sentence_spans, terms
from evals.scoring import score, shares_run
from index_store.store import Chunk
from ingest.chunking import chunk_text


def test_one_paragraph_a_line_when_there_are_no_blank_lines():
    text = normalize_source_text(ARTICLE.read_text(encoding="utf-8"))
    spans = paragraph_spans(text)
    assert len(spans) == 12
    assert [text[s.start : s.end] for s in spans] == ARTICLE.read_text(encoding="utf-8").splitlines()


def test_blank_line_blocks_are_paragraphs():
    text = "Title\n\nFirst line\nwrapped here.\n\nSecond."
    assert [text[s.start : s.end] for s in paragraph_spans(text)] == ["Title", "First line\nwrapped here.", "Second."]


def test_sentence_spans_are_absolute():
    text = "Intro.\nOne sentence. Two sentences here."
    spans = sentence_spans(text, 7, len(text))
    assert [text[s.start : s.end] for s in spans] == ["One sentence.", "Two sentences here."]


def test_chunks_never_cross_paragraphs_and_spans_are_exact():
    para = " ".join(f"Sentence number {i} talks about topic {i}." for i in range(60))
    text = f"Short first paragraph.\n\n{para}\n\nLast one."
    chunks = chunk_text(text, 64, 8)
    assert len(chunks) > 3
    bounds = paragraph_spans(text)
    for c in chunks:
        assert text[c.start : c.end] == c.text
        span = bounds[c.paragraph - 1]
        assert span.start <= c.start < c.end <= span.end
    assert chunks[0].paragraph == 1 and chunks[-1].paragraph == 3


def test_terms_stem_fold_and_drop_stop_words():
    assert terms("Why was Loach EXPELLED?") == ["loach", "expel"]
    assert terms("the Labour party") == terms("the Labor party")
    assert fold("\u201cdisown\u201d \u2014 it\u2019s") == '"disown" - it\'s'


def test_rrf_rewards_agreement():
    fused = rrf([["a", "b", "c"], ["b", "d"]], k=60)
    assert max(fused, key=fused.__getitem__) == "b"
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["d"] == pytest.approx(1 / 62)


def _chunk(cid: str, text: str) -> Chunk:
    return Chunk(cid, text, "s", "t", "o", 1, 0, len(text), "2026-01-01")


def test_lexical_index_ranks_and_ignores_unknown_terms():
    index = LexicalIndex.build(
        [_chunk("1", "Cats chase mice."), _chunk("2", "Dogs bark loudly at cats."), _chunk("3", "Fish swim.")], "1"
    )
    hits = index.search(terms("barking dogs"), 3)
    assert hits[0][0].id == "2"
    assert index.search(terms("unicorn"), 3) == []
    assert index.idf("unicorn") > index.idf("cat")


def test_titles_from_file_names():
    from ingest.loaders import title_from_name

    assert title_from_name("ken-loach-expelled.txt") == "Ken Loach Expelled"
    assert title_from_name("---.md") == "Untitled"


def test_evidence_knows_dates_numbers_and_causes():
    from citebot.evidence import _CAUSE, _DATE, _NUMBER

    assert _DATE.search("since April 2020") and not _DATE.search("since the advent")
    assert _NUMBER.search("members of four small groups") and not _NUMBER.search("members of small groups")
    assert _CAUSE.search("the reason for his expulsion centers on his refusal")


@pytest.mark.parametrize(
    ("sentence", "previous", "depends"),
    [
        ("The latter two groups were critical.", "The groups are A, B, C and D.", True),
        ("The groups are comprised of: A and B.", "Four small groups were expelled.", True),
        ("\u2014 Ken Loach (@KenLoachSixteen) August 14, 2021", "'We are many.' KL", True),
        ("It is worth noting Loach is an ally.", "Other text.", False),
        ("Loach, 85, is best remembered for films.", "He decried a purge.", False),
        ("The council met on Monday.", "Rain fell all week.", False),
    ],
)
def test_dependency_rule(sentence, previous, depends):
    assert _depends_on_previous(sentence, previous) is depends


def test_settings_reject_unknown_keys_and_bad_values(tmp_path: Path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[retrieval]\ntop_k = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"retrieval\.top_k"):
        load(cfg)
    cfg.write_text("[answer]\nmin_score = 0.4\nfoo = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"answer\.foo"):
        load(cfg)
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "missing.toml")


def test_settings_env_overrides_and_relative_paths(tmp_path: Path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[store]\npath = "here"\n[answer]\nmax_sentences = 2\n', encoding="utf-8")
    monkeypatch.setenv("CITEBOT_ANSWER__MAX_SENTENCES", "4")
    settings = load(cfg)
    assert settings.answer.max_sentences == 4
    assert settings.store_path == (tmp_path / "here").resolve()


def test_shipped_config_matches_the_defaults():
    from common.settings import DEFAULT_CONFIG, Settings

    shipped = load(DEFAULT_CONFIG)
    assert shipped.model_dump(exclude={"base_dir"}) == Settings().model_dump(exclude={"base_dir"})


def test_eval_scoring_follows_format_md():
    para = "In the latest sign of continuing deep purges, a filmmaker was expelled for refusing to distance himself."
    case = {"kind": "answer", "gold": [1], "must": [["refus"], ["disown", "distance"]]}
    good = {"answered": True, "answer": para + " [1]", "citations": [{"quote": para}]}
    assert score(case, good, [para], None).passed
    wrong_cite = {"answered": True, "answer": para, "citations": [{"quote": "unrelated text " * 5}]}
    assert not score(case, wrong_cite, [para], None).passed
    abstain_case = {"kind": "abstain"}
    assert score(abstain_case, {"answered": False, "answer": "no", "citations": []}, [], None).passed
    assert not score(abstain_case, good, [], None).passed
    assert shares_run("x" * 10 + para[:40], para) and not shares_run(para[:39], para)


def test_space_names_are_checked_and_guilds_get_their_own() -> None:
    from common.errors import UsageError
    from common.spaces import DEFAULT_SPACE, check_space, guild_space

    assert check_space(DEFAULT_SPACE) == "default"
    assert guild_space(123) != guild_space(124)
    assert check_space(guild_space(123)) == "guild-123"
    for bad in ("", "Bad", "a b", "../x", "x" * 64):
        with pytest.raises(UsageError):
            check_space(bad)
