"""The opposites check: a sentence saying the opposite of what is asked does not answer it."""

from __future__ import annotations

from citebot.opposites import PAIRS, contradicted, opposable, words


def test_a_word_of_the_question_whose_opposite_the_sentence_has_is_contradicted():
    asked = opposable("When was the University Library closed?")
    assert contradicted(asked, ["The University Library opened in 1816."])
    # saying both (or only the word asked) is no contradiction
    assert not contradicted(asked, ["It was closed in 1831 and opened again in 1862."])
    assert not contradicted(asked, ["The library closed in 1831."])
    assert contradicted(
        opposable("What are the least known resources?"), ["The most well known resources are time and space."]
    )


def test_measures_and_offered_choices_are_not_claims():
    assert opposable("How old is Ken Loach?") == {}  # "old" names what is measured
    assert opposable("How long is the river?") == {}
    assert opposable("are the groups left wing or right wing?") == {}
    assert opposable("Is he older or younger than Starmer?") == {}  # the question offers both
    assert set(opposable("Who was the oldest member?")) == words("oldest")


def test_converses_are_left_out():
    """ "X sold it to Y" answers "Who bought it?": a converse is not a contradiction."""
    listed = {w for pair in PAIRS for w in pair}
    assert not {"buy", "bought", "sell", "sold", "win", "won", "lose", "lost", "husband", "wife"} & listed
    assert not contradicted(
        opposable("Who bought the factory in 2005?"), ["In 2005 the owners sold the factory to Ursus."]
    )


def test_a_negated_word_asks_for_its_opposite():
    assert opposable("What is not allowed in the harbour?") == {}
    assert opposable("Which boats aren't allowed to moor?") == {}
    assert set(opposable("Which boats are allowed to moor?")) == words("allowed")
