"""Logging set-up for the command-line entry points (library code only logs)."""

from __future__ import annotations

import logging
import os
import warnings

NOISY = ("bm25s", "chromadb", "httpx", "sentence_transformers", "transformers", "urllib3")


def _quiet_libraries(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name.split(".")[0] not in NOISY


def setup_logging(verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else getattr(logging, os.environ.get("CITEBOT_LOG", "WARNING").upper(), 30)
    # The handler filters too, not only the loggers: a library may set its own logger's level
    # when it is first imported (bm25s sets DEBUG), which would print its debug lines into
    # the terminal chat.
    handler = logging.StreamHandler()
    handler.setLevel(level)
    handler.addFilter(_quiet_libraries)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", handlers=[handler])
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)
