"""Chroma clients and collections: embedded on local disk or a Chroma server.

Opened read-only, nothing is created: a store or collection that does not
exist yet is None, and readers treat it as empty.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from common.settings import StoreSettings


def chroma_client(config: StoreSettings, path: Path, read_only: bool) -> Any:
    """A Chroma client; None for a read-only look at an embedded store that does not exist yet."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if config.mode == "server":
        return chromadb.HttpClient(host=config.host, port=config.port, settings=chroma_settings)
    path = path / "chroma"
    if read_only and not path.is_dir():
        return None
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def open_collection(client: Any, name: str, metadata: dict[str, Any], read_only: bool) -> Any:
    """The named collection; read-only, None where it does not exist (nothing is created)."""
    if not read_only:
        return client.get_or_create_collection(name, embedding_function=None, metadata=metadata)
    if client is None:
        return None
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(name, embedding_function=None)
    except NotFoundError:
        return None
