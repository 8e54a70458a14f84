"""Moderators' insights: a record of the questions a space was asked, and the report made from it
(what is asked, what the sources miss, which sources carry the answers).  No Discord here: the
bot (``bot/cogs/insights.py``) and the terminal (``python -m bot insights``) show the same report."""
