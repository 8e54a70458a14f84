"""The bot's one error policy: what a user is told about an exception, and what is logged.

``user_message`` is used by the command tree's error handler, the message
handler, background jobs and modals alike: an error a person caused
(``common.errors.UserError``, a refused question, a failed check) is shown as
it is; anything else is a fault of ours, logged with its traceback and shown
as one short line that gives nothing away.
"""

from __future__ import annotations

import logging

from discord import app_commands

from bot.formatting import code, md
from citebot.engine import QuestionError
from common.errors import UnknownSourceError, UserError

log = logging.getLogger(__name__)

SERVER_FAULT = "Something went wrong on my side; the moderators can find the details in the log."
USER_ERRORS: tuple[type[Exception], ...] = (UserError, QuestionError)


class NotModerator(app_commands.CheckFailure):
    def __init__(self) -> None:
        super().__init__("Only moderators can manage sources.")


def user_message(error: BaseException, *, doing: str) -> str:
    """What to tell the user about ``error``; an unexpected one is logged (``doing``: what failed).

    A user error's message may quote what someone typed or what a source holds: it is shown as
    text (``md``), never as markdown. Where it points to a terminal command, Discord names its own."""
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use this command here."
    original = getattr(error, "original", error)  # app_commands.CommandInvokeError wraps the command's error
    if isinstance(original, UnknownSourceError):
        return f"There is no source with id {code(original.source_id)} in this server; /source list shows them."
    if isinstance(original, USER_ERRORS):
        return md(str(original))
    log.error("%s failed", doing, exc_info=original)
    return SERVER_FAULT
