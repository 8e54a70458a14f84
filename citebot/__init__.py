"""citebot's retrieval and answering core: no Discord here."""
