"""DedupSet semantics and thread safety, on both backends."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tvm_llm_sched.native import DedupSet, HashBackend, get_backend, native_backend

I64 = np.iinfo(np.int64)


def test_insert_contains_len_clear(impl: HashBackend) -> None:
    seen = impl.dedup_set()
    assert isinstance(seen, DedupSet) and seen.backend_name == impl.name
    assert len(seen) == 0 and 5 not in seen
    assert seen.insert(5) is True
    assert seen.insert(5) is False
    assert seen.contains(5) and 5 in seen and not seen.contains(6)
    for h in (0, -1, int(I64.min), int(I64.max), np.int64(7)):
        assert seen.insert(h) is True
        assert h in seen
    assert len(seen) == 6
    seen.clear()
    assert len(seen) == 0 and 5 not in seen and 0 not in seen
    assert seen.insert(5) is True


def test_insert_many_in_batch_duplicates(impl: HashBackend) -> None:
    seen = impl.dedup_set()
    seen.insert(3)
    hashes = np.array([1, 3, 1, 0, 0, int(I64.min), 2, 2], dtype=np.int64)
    new = seen.insert_many(hashes)
    assert new.dtype == np.bool_ and new.shape == hashes.shape
    assert new.tolist() == [True, False, False, True, False, True, True, False]
    assert len(seen) == 5  # {3, 1, 0, min, 2}
    assert not seen.insert_many(hashes).any()
    assert seen.insert_many(np.empty(0, dtype=np.int64)).shape == (0,)


def test_insert_many_matches_python_set(impl: HashBackend) -> None:
    rng = np.random.default_rng(0)
    hashes = rng.integers(I64.min, I64.max, size=5_000, dtype=np.int64)
    hashes = np.concatenate([hashes, hashes[::7], np.arange(-50, 50, dtype=np.int64)])
    reference: set[int] = set()
    expected = []
    for h in hashes.tolist():
        expected.append(h not in reference)
        reference.add(h)
    seen = impl.dedup_set()
    assert seen.insert_many(hashes).tolist() == expected
    assert len(seen) == len(reference)


def test_accepts_dlpack_and_views(impl: HashBackend) -> None:
    import tvm_ffi

    seen = impl.dedup_set()
    base = np.arange(10, dtype=np.int64)
    assert seen.insert_many(tvm_ffi.from_dlpack(base[:4])).all()  # any DLPack producer
    assert seen.insert_many(base[2:6]).tolist() == [False, False, True, True]  # offset view


def test_dedupset_constructor_picks_backend() -> None:
    assert DedupSet().backend_name == native_backend()
    assert DedupSet(backend="python").backend_name == "python"
    with pytest.raises(ValueError, match="not available"):
        DedupSet(backend="gpu")
    python_set_type = get_backend("python").dedup_set_type
    with pytest.raises(ValueError, match="python"):
        python_set_type(backend="native")


def test_concurrent_overlapping_inserts(impl: HashBackend) -> None:
    seen = impl.dedup_set()
    n_threads, span, step = 4, 40_000, 10_000
    ranges = [np.arange(k * step, k * step + span, dtype=np.int64) for k in range(n_threads)]
    reported: list[list[np.ndarray]] = [[] for _ in range(n_threads)]
    barrier = threading.Barrier(n_threads)

    def work(k: int) -> None:
        barrier.wait()
        hashes = ranges[k]
        for chunk in np.array_split(hashes, 40):
            reported[k].append(chunk[seen.insert_many(chunk)])
        singles = hashes[::97]
        reported[k].append(np.array([h for h in singles.tolist() if seen.insert(h)], np.int64))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    union = np.unique(np.concatenate(ranges))
    new = np.concatenate([a for parts in reported for a in parts])
    assert len(seen) == union.size
    assert new.size == union.size  # each hash reported new exactly once
    np.testing.assert_array_equal(np.sort(new), union)
