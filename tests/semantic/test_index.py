"""Vector indexes: in memory, and in the SQLite cache file shared by processes."""

from __future__ import annotations

import numpy as np
import pytest

from prosa.cache import SQLiteStore
from prosa.cache.semantic.index import MemoryVectorIndex
from prosa.cache.semantic.sqlite_index import SQLiteVectorIndex

KEYS = [f"{i:064x}" for i in range(10)]


def unit(*values: float) -> np.ndarray:
    v = np.zeros(8, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


@pytest.fixture(params=["memory", "sqlite"])
def index(request, tmp_path):
    if request.param == "memory":
        yield MemoryVectorIndex()
        return
    with SQLiteStore(tmp_path / "c.db") as store:  # the file, the store's tables, and entries to point at
        for i in range(300):
            store.put(f"{i:064x}", b"{}")
    idx = SQLiteVectorIndex(tmp_path / "c.db")
    yield idx
    idx.close()


def test_search_finds_the_closest_in_its_partition_only(index):
    index.add("p1", KEYS[0], "q0", unit(1, 0))
    index.add("p1", KEYS[1], "q1", unit(1, 1))
    index.add("p2", KEYS[2], "q2", unit(1, 0))
    found = index.search("p1", unit(1, 0.1), threshold=0.5, limit=5)
    assert [m.key for m in found] == [KEYS[0], KEYS[1]]
    assert found[0].question == "q0" and found[0].score > found[1].score
    assert index.search("p1", unit(1, 0.1), threshold=0.999, limit=5) == []
    assert [m.key for m in index.search("p1", unit(1, 0.1), 0.5, limit=1)] == [KEYS[0]]
    assert index.search("p3", unit(1, 0), 0.1, 5) == []
    assert index.count() == 3


def test_re_adding_a_key_replaces_its_vector_and_remove_forgets_it(index):
    index.add("p", KEYS[0], "old", unit(1, 0))
    index.search("p", unit(1, 0), 0.5, 5)  # loaded in memory before the change
    index.add("p", KEYS[0], "new", unit(0, 1))
    assert [m.question for m in index.search("p", unit(0, 1), 0.9, 5)] == ["new"]
    assert index.search("p", unit(1, 0), 0.9, 5) == []
    index.remove(KEYS[0])
    assert index.search("p", unit(0, 1), 0.1, 5) == [] and index.count() == 0


def test_two_sqlite_indexes_on_one_file_see_each_others_changes(tmp_path):
    with SQLiteStore(tmp_path / "c.db") as store:
        for key in KEYS[:2]:
            store.put(key, b"{}")  # vectors point at entries; one without is dropped as stale
    a, b = SQLiteVectorIndex(tmp_path / "c.db"), SQLiteVectorIndex(tmp_path / "c.db")
    a.add("p", KEYS[0], "q0", unit(1, 0))
    assert [m.key for m in b.search("p", unit(1, 0), 0.9, 5)] == [KEYS[0]]
    a.add("p", KEYS[1], "q1", unit(1, 0.01))  # an addition elsewhere is read incrementally
    assert len(b.search("p", unit(1, 0), 0.9, 5)) == 2
    a.remove(KEYS[0])  # a removal elsewhere reloads the partition
    assert [m.key for m in b.search("p", unit(1, 0), 0.9, 5)] == [KEYS[1]]


def test_vectors_whose_entries_are_gone_are_dropped_when_the_file_is_opened(tmp_path):
    path = tmp_path / "c.db"
    store = SQLiteStore(path)
    store.put(KEYS[0], b"{}")
    store.put(KEYS[1], b"{}")
    index = SQLiteVectorIndex(path)
    index.add("p", KEYS[0], "kept", unit(1, 0))
    index.add("p", KEYS[1], "gone", unit(1, 0.01))
    store.delete(KEYS[1])  # evicted, pruned or cleared
    assert SQLiteVectorIndex(path).count() == 1
    assert [m.question for m in SQLiteVectorIndex(path).search("p", unit(1, 0), 0.5, 5)] == ["kept"]
    store.close()


def test_memory_index_is_bounded():
    index = MemoryVectorIndex(max_vectors=3)
    for i in range(5):
        index.add("p", KEYS[i], f"q{i}", unit(1, i / 10))
    assert index.count() == 3
    assert {m.key for m in index.search("p", unit(1, 0), 0.1, 10)} == set(KEYS[2:5])


def test_a_large_partition_grows_and_searches(index):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for i, v in enumerate(vectors):
        index.add("p", f"{i:064x}", f"q{i}", v)
    best = index.search("p", vectors[123], 0.99, 3)
    assert best[0].key == f"{123:064x}" and best[0].score == pytest.approx(1.0, abs=1e-5)
