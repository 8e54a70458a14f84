"""Sentence vectors stored beside a chunk: int8, base64, in one metadata string.

Each chunk carries the vectors of its sentences (``common.text.passage_sentences``, in order),
written at ingest so answering never has to encode a sentence. Vectors are unit length, so
int8 with each vector scaled to its largest component keeps cosines within about 0.005;
``unpack`` renormalises.
"""

from __future__ import annotations

import base64

import numpy as np

KEY = "sentence_vectors"  # the chunk metadata field


def pack(vectors: np.ndarray) -> str:
    """``n x dim`` float vectors as one compact string."""
    if len(vectors) == 0:
        return ""
    vectors = np.asarray(vectors, dtype=np.float32)
    peak = np.abs(vectors).max(axis=1, keepdims=True)
    peak[peak == 0] = 1.0
    q = np.rint(vectors / peak * 127).astype(np.int8)
    return f"{q.shape[0]}x{q.shape[1]}:" + base64.b64encode(q.tobytes()).decode("ascii")


def unpack(packed: str) -> np.ndarray | None:
    """The unit vectors ``pack`` stored, or None for an empty or malformed value."""
    head, _, body = packed.partition(":")
    try:
        n, dim = (int(x) for x in head.split("x"))
        q = np.frombuffer(base64.b64decode(body, validate=True), dtype=np.int8)
        vectors = q.reshape(n, dim).astype(np.float32)
    except ValueError:
        return None
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms
