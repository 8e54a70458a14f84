"""Question understanding: normalisation, answer types, anchors, follow-ups."""

from __future__ import annotations

import pytest

from citebot.question import alternatives, anchors, answer_type, context_for, normalize, refers_back, understand
from common.text import terms


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("hey bot, quick q: is labour in goverment rn?", "is labour in goverment right now?"),
        ("yo what did ken loach do to get booted lol", "what did ken loach do to get booted"),
        ("why did loach get booted from labour lol", "why did loach get booted from labour"),
        ("whats kes actually about? pls", "what is kes actually about?"),
        ("<@123> who leads labour? :thinking:", "who leads labour?"),
        ("Why was Loach expelled?", "Why was Loach expelled?"),
    ],
)
def test_chat_filler_is_dropped_and_shorthand_spelled_out(typed, expected):
    assert normalize(typed) == expected


def test_filler_only_question_keeps_what_was_typed():
    assert normalize("lol") == "lol"


def test_filler_is_not_content_and_spelling_variants_fold():
    assert terms(normalize("hey bot, quick q: why was loach expelled from labour lol")) == terms(
        "why was Loach expelled from Labor"
    )


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did he become leader?", "when"),
        ("what year did that one come out?", "when"),
        ("How many Europeans have broadband?", "how_many"),
        ("How old is Ken Loach?", "how_old"),
        ("How much did the offer value the LSE at?", "how_much"),
        ("Who directed the film Titanic?", "who"),
        ("Why was Loach expelled?", "why"),
        ("Where is the Zionist lobby?", "where"),
        ("Which film won Loach the Palme d'Or?", "which"),
        ("does loach see himself as the victim?", "yes_no"),
        ("was loach apologetic in his tweets or more defiant?", "choice"),
        ("What is Loach's production company called?", "what"),
    ],
)
def test_expected_answer_types(question, kind):
    assert answer_type(question) == kind


def test_anchors_are_names_numbers_and_quotes_not_ordinary_words():
    assert anchors("Which film won Loach the Palme d'Or?") == terms("Loach Palme")
    assert "boot" not in anchors("why did loach get the boot")
    assert anchors("When was Warsaw ranked as the 22nd most liveable city?") == ["22nd", *terms("Warsaw")]
    assert anchors("who said 'we are many, they are few'?") == terms("many")
    # a lower-case name counts when the sources spell it as a name
    assert anchors("why did loach get the boot", proper_terms={"loach"}) == ["loach"]


def test_a_number_the_asker_guesses_is_checked_not_required():
    # "Kes (1969)" answers it: the guess "1970" need not appear in a supporting sentence
    assert anchors("Was Kes released in 1970?") == terms("Kes")
    assert anchors("is he in his 70s by now?") == []
    assert anchors("How old was Loach in 1969?", proper_terms={"loach"}) == ["1969", "loach"]
    assert anchors("What did Loach tweet on August 14, 2021?") == ["14", "2021", "loach", "august"]


def test_follow_ups_lean_on_the_questions_before():
    assert refers_back("When did he become leader?") and refers_back("Why?")
    assert not refers_back("Which groups were expelled from Labour last month?")
    history = ["why was Loach expelled?", "Who leads the Labour Party?"]
    assert context_for("When did he become leader?", history, 2) == ["Who leads the Labour Party?"]
    assert context_for("Which groups were expelled from Labour last month?", history, 2) == []
    understood = understand("when did he become leader lol", history)
    assert understood.context == ["Who leads the Labour Party?"]
    assert understood.search_text == "Who leads the Labour Party? when did he become leader"
    assert understood.answer_type == "when"


def test_a_pasted_link_keeps_its_text_and_drops_its_address():
    assert normalize("Where is [free nitro](https://phish.invalid/nitro) today?") == "Where is free nitro today?"
    assert "phish" not in terms(normalize("why was loach expelled https://phish.invalid/x"))


def test_anchors_offered_as_a_choice_need_only_one_of_them():
    # either word answers "which word did he use": the sentence with "disown" need not say "distance"
    asked = understand("did loach say he refused to 'distance himself' or to 'disown' them?", proper_terms={"loach"})
    assert asked.anchors == ["loach"]
    assert asked.alternatives == terms("distance disown")
    # only the nearest run on each side of the "or" is offered; the rest stays required
    asked = understand("Is Starmer or Corbyn the Labour leader?")
    assert asked.alternatives == terms("Starmer Corbyn") and asked.anchors == terms("Labour")
    assert alternatives("was it Kes or Poor Cow?", terms("Kes Poor Cow")) == terms("Kes Poor Cow")
    # no choice when one side offers no anchor, or both offer the same
    assert understand("was loach actually expelled or did he just quit lol").alternatives == []
    assert alternatives("Did Loach or Loach's company tweet it?", ["loach"]) == []
