"""How to keep spaces apart in Chroma: a ``where`` filter on one collection, or one collection a space.

    python -m bench.spaces_layout [--spaces 100] [--per-space 1000] [--big 100000] [--queries 100]

Vectors only (random unit vectors, 384 dimensions, as the encoder's): this times Chroma's
nearest-neighbour query for one space, k=20, in each layout, and checks that the filtered
query finds the space's true nearest neighbours (recall@20 against exact search).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import header, summary_ms

DIM = 384
K = 20


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _add(col, ids: list[str], vecs: np.ndarray, metas: list[dict[str, str]] | None = None) -> None:
    for i in range(0, len(ids), 5000):
        col.add(
            ids=ids[i : i + 5000],
            embeddings=vecs[i : i + 5000],
            metadatas=metas[i : i + 5000] if metas else None,
            documents=["x"] * len(ids[i : i + 5000]),
        )


def _time(query, vecs_by_space: dict[str, np.ndarray], rng, queries: int) -> tuple[list[float], float]:
    times, recall = [], []
    names = list(vecs_by_space)
    for _ in range(queries):
        space = names[int(rng.integers(len(names)))]
        q = _unit(rng, 1)[0]
        truth = set(np.argsort(-(vecs_by_space[space] @ q))[:K].tolist())
        t0 = time.perf_counter()
        ids = query(space, q)
        times.append(time.perf_counter() - t0)
        found = {int(i.rsplit("-", 1)[1]) for i in ids}
        recall.append(len(found & truth) / K)
    return times, float(np.mean(recall))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spaces", type=int, default=100)
    parser.add_argument("--per-space", type=int, default=1000)
    parser.add_argument("--big", type=int, default=100_000, help="chunks of the one-space store")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    header("spaces in Chroma: where-filter vs one collection a space")
    import chromadb

    rng = np.random.default_rng(7)
    spaces = {f"s{i}": _unit(rng, args.per_space) for i in range(args.spaces)}
    meta = {"hnsw:space": "cosine"}
    with tempfile.TemporaryDirectory(prefix="citebot-layout-") as tmp:
        client = chromadb.PersistentClient(path=str(Path(tmp) / "chroma"))
        shared = client.create_collection("shared", metadata=meta, embedding_function=None)
        t0 = time.perf_counter()
        for name, vecs in spaces.items():
            ids = [f"{name}-{i}" for i in range(len(vecs))]
            _add(shared, ids, vecs, [{"space": name}] * len(ids))
        print(f"one collection, {args.spaces} x {args.per_space:,}: built in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        cols = {}
        for name, vecs in spaces.items():
            cols[name] = client.create_collection(f"space-{name}", metadata=meta, embedding_function=None)
            _add(cols[name], [f"{name}-{i}" for i in range(len(vecs))], vecs)
        print(f"{args.spaces} collections of {args.per_space:,}: built in {time.perf_counter() - t0:.1f} s")

        def filtered(space: str, q: np.ndarray) -> list[str]:
            got = shared.query(query_embeddings=[q.tolist()], n_results=K, where={"space": space}, include=[])
            return list(got["ids"][0])

        def per_collection(space: str, q: np.ndarray) -> list[str]:
            return list(cols[space].query(query_embeddings=[q.tolist()], n_results=K, include=[])["ids"][0])

        for label, fn in (("where filter", filtered), ("collection a space", per_collection)):
            fn("s0", _unit(rng, 1)[0])
            times, recall = _time(fn, spaces, rng, args.queries)
            print(f"{label:>20}: {summary_ms(times)}; recall@{K} {recall:.3f}")

        big = {"big": _unit(rng, args.big)}
        col = client.create_collection("one-big-space", metadata=meta, embedding_function=None)
        t0 = time.perf_counter()
        _add(col, [f"big-{i}" for i in range(args.big)], big["big"])
        print(f"one space of {args.big:,}: built in {time.perf_counter() - t0:.1f} s")

        def one(space: str, q: np.ndarray) -> list[str]:
            return list(col.query(query_embeddings=[q.tolist()], n_results=K, include=[])["ids"][0])

        one("big", _unit(rng, 1)[0])
        times, recall = _time(one, big, rng, args.queries)
        print(f"{'one big space':>20}: {summary_ms(times)}; recall@{K} {recall:.3f}")


if __name__ == "__main__":
    main()
