"""skinapp.memory's layout rule: what sessions keep lives outside the malloc heaps."""

from __future__ import annotations

import dataclasses
import mmap

import numpy as np

from skinapp.memory import OFF_HEAP_MIN_BYTES, off_heap, off_heap_copy


def _mapped(array: np.ndarray) -> bool:
    base = array
    while isinstance(base, (np.ndarray, memoryview)):
        base = base.base if isinstance(base, np.ndarray) else base.obj
    return isinstance(base, mmap.mmap)


@dataclasses.dataclass(frozen=True)
class Inner:
    mask: np.ndarray
    score: float


@dataclasses.dataclass(frozen=True)
class Result:
    image: np.ndarray
    steps: dict
    inner: Inner
    small: np.ndarray
    pair: tuple


def test_a_large_array_is_copied_into_a_map_of_its_own():
    source = np.arange(300 * 300 * 3, dtype=np.uint8).reshape(300, 300, 3)
    copy = off_heap_copy(source)
    assert copy is not source and not np.shares_memory(copy, source)
    assert np.array_equal(copy, source) and copy.dtype == source.dtype
    assert _mapped(copy) and not copy.flags.writeable
    small = np.zeros(OFF_HEAP_MIN_BYTES // 2, np.uint8)
    assert off_heap_copy(small) is small  # a map takes whole pages: small ones stay


def test_nested_results_keep_their_values_and_their_sharing():
    image = np.full((256, 256, 3), 7, np.uint8)
    mask = np.ones((256, 256), bool)
    result = Result(image, {"input": image}, Inner(mask, 0.5), np.zeros(3), (mask, 1))
    moved = off_heap(result)
    assert isinstance(moved, Result) and isinstance(moved.inner, Inner)
    assert moved.steps["input"] is moved.image  # one copy for the array found twice
    assert moved.pair[0] is moved.inner.mask
    assert _mapped(moved.image) and _mapped(moved.inner.mask)
    assert np.array_equal(moved.image, image) and np.array_equal(moved.inner.mask, mask)
    assert moved.inner.score == 0.5 and moved.small is result.small
    assert off_heap(moved.inner.score) == 0.5
