"""One global threshold per submission: the k-th largest pixel, exactly, in bounded memory.

Definition: with ``M`` pixels in total (all maps at evaluation resolution) and
``k = ceil(M * p / 100)``, the threshold is the k-th largest pixel value; a pixel is positive
when ``value >= threshold``. With ties at the threshold more than ``k`` pixels are positive
(a constant map makes every pixel positive).

How: float32 values map to order-preserving uint32 keys; a radix select builds a 65,536-bin
histogram of the keys' high 16 bits (one streaming pass), picks the bin holding the k-th
largest key, then a second histogram of the low 16 bits of the pixels in that bin finishes the
key. Memory is two histograms, independent of ``M``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from avatar_bench.errors import AvatarBenchError

BINS = 1 << 16


def _bits(values: np.ndarray) -> np.ndarray:
    """The float32 bit patterns as uint32, without copying float32 input of any layout."""
    arr = np.asarray(values)
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    return arr.view(np.uint32)


def float_keys(values: np.ndarray) -> np.ndarray:
    """uint32 keys with ``a < b  <=>  key(a) < key(b)`` for float32 values (no NaN, no -0.0).

    Positive floats get their sign bit set; negative floats have all bits flipped.
    """
    bits = _bits(values)
    flip = (bits.view(np.int32) >> 31).view(np.uint32)
    flip |= np.uint32(0x80000000)
    return bits ^ flip


def key_to_float(key: int) -> float:
    """Inverse of ``float_keys`` for one key."""
    key = int(key)
    bits = key & 0x7FFFFFFF if key & 0x80000000 else ~key & 0xFFFFFFFF
    return float(np.array(bits, dtype=np.uint32).view(np.float32)) + 0.0


def top_count(n_pixels: int, top_percent: float) -> int:
    """``k = ceil(M * p / 100)`` computed in exact decimal arithmetic (at least 1)."""
    if not 0 < top_percent <= 100:
        raise AvatarBenchError(f"top percent must be in (0, 100], got {top_percent}")
    if n_pixels < 1:
        raise AvatarBenchError("cannot select a threshold over zero pixels")
    k = math.ceil(n_pixels * Fraction(repr(float(top_percent))) / 100)
    return max(1, min(k, n_pixels))


def select_bin(hist: np.ndarray, k: int) -> tuple[int, int]:
    """The bin holding the k-th largest element, and its rank ``k`` within that bin.

    Returns ``(b, k_in_bin)`` with ``sum(hist[b+1:]) < k <= sum(hist[b:])``.
    """
    above = np.cumsum(hist[::-1])[::-1]  # above[b] = count in bins >= b
    if k < 1 or k > above[0]:
        raise AvatarBenchError(f"rank {k} outside 1..{int(above[0])}")
    b = int(np.flatnonzero(above >= k)[-1])
    higher = int(above[b + 1]) if b + 1 < len(hist) else 0
    return b, k - higher


def _raw_to_key_bin() -> np.ndarray:
    raw = np.arange(BINS, dtype=np.uint32)
    return np.where(raw & 0x8000, raw ^ 0xFFFF, raw | 0x8000).astype(np.intp)


#: Key bin of each raw high half: the sign fix acts on whole bins, so the histogram of the
#: raw high 16 bits, permuted, is the histogram of the keys' high 16 bits.
_KEY_BIN = _raw_to_key_bin()


def high_histogram(values: np.ndarray) -> np.ndarray:
    """Counts of the order-preserving keys' high 16 bits of float32 ``values`` (int64)."""
    high = _bits(values) >> 16
    raw = np.bincount(high.ravel(order="K"), minlength=BINS)
    out = np.empty(BINS, np.int64)
    out[_KEY_BIN] = raw
    return out


class HighCounts:
    """``high_histogram`` of many float32 pieces (e.g. bands of resized maps), added one by
    one without keeping them: each piece's high 16 bits go into a small uint16 buffer that
    one ``bincount`` counts when full (a ``bincount`` per piece would clear and permute a
    65,536-bin array each time)."""

    def __init__(self, capacity: int = 1 << 18) -> None:
        self.buf = np.empty(capacity, np.uint16)
        self.fill = 0
        self.raw = np.zeros(BINS, np.int64)
        self.n = 0

    def add(self, values: np.ndarray) -> None:
        bits = _bits(values).reshape(-1)
        n = bits.size
        self.n += n
        if self.fill + n > len(self.buf):
            self._flush()
        if n > len(self.buf):
            self.raw += np.bincount(bits >> 16, minlength=BINS)
            return
        np.right_shift(bits, 16, out=self.buf[self.fill:self.fill + n], casting="unsafe")
        self.fill += n

    def _flush(self) -> None:
        if self.fill:
            self.raw += np.bincount(self.buf[:self.fill], minlength=BINS)
            self.fill = 0

    def histogram(self) -> np.ndarray:
        """The counts so far, in key-bin order (as ``high_histogram``)."""
        self._flush()
        out = np.empty(BINS, np.int64)
        out[_KEY_BIN] = self.raw
        return out


def kth_largest(arrays: list[np.ndarray], k: int, piece: int = 1 << 18) -> float:
    """The k-th largest value of 1-D float32 ``arrays`` together (no NaN, no -0.0), by the
    same radix select as the threshold, piece by piece: no copy of the values is made
    (a partitioned copy would double their memory)."""
    high = HighCounts(piece)
    for a in arrays:
        for s in range(0, len(a), piece):
            high.add(a[s:s + piece])
    b, k_in_bin = select_bin(high.histogram(), k)
    low = np.zeros(BINS, np.int64)
    for a in arrays:
        for s in range(0, len(a), piece):
            low += low_histogram(float_keys(a[s:s + piece]), b)
    low_bits, _ = select_bin(low, k_in_bin)
    return key_to_float((b << 16) | low_bits)


def bin_bounds(b: int) -> tuple[float, float]:
    """Smallest and largest float32 of key bin ``b`` (inclusive; NaN patterns -> +-inf)."""
    lo, hi = key_to_float(b << 16), key_to_float((b << 16) | 0xFFFF)
    return (-math.inf if math.isnan(lo) else lo), (math.inf if math.isnan(hi) else hi)


def low_histogram(keys: np.ndarray, high: int) -> np.ndarray:
    """Counts of the low 16 bits of the keys whose high 16 bits equal ``high``."""
    flat = keys.ravel(order="K")
    inside = flat[(flat >> 16) == high]
    return np.bincount(inside & 0xFFFF, minlength=BINS).astype(np.int64, copy=False)


class TopSelector:
    """Accumulates the radix-select histograms for one threshold (two passes)."""

    def __init__(self, top_percent: float) -> None:
        self.top_percent = top_percent
        self.n_pixels = 0
        self.high = np.zeros(BINS, np.int64)
        self.low = np.zeros(BINS, np.int64)
        self.bin: int | None = None
        self.rank: int | None = None

    def add_high(self, hist: np.ndarray, n_pixels: int) -> None:
        self.high += hist
        self.n_pixels += n_pixels

    def choose_bin(self) -> int | None:
        """After pass 1: the boundary bin (None when no pixels were seen)."""
        if self.n_pixels == 0:
            return None
        self.bin, self.rank = select_bin(self.high, top_count(self.n_pixels, self.top_percent))
        return self.bin

    def boundary_count(self) -> int:
        """Pixels inside the boundary bin (0 before ``choose_bin`` or without pixels)."""
        return 0 if self.bin is None else int(self.high[self.bin])

    def bounds(self) -> tuple[float, float] | None:
        return None if self.bin is None else bin_bounds(self.bin)

    def add_low(self, hist: np.ndarray) -> None:
        self.low += hist

    def key(self) -> int | None:
        """After pass 2: the k-th largest key."""
        if self.bin is None:
            return None
        low, _ = select_bin(self.low, self.rank)
        return (self.bin << 16) | low

    def threshold(self) -> float | None:
        key = self.key()
        return None if key is None else key_to_float(key)


def sample_interval(hist: np.ndarray, n_sample: int, top_percent: float, n_full: int,
                    budget: int) -> tuple[float, float] | None:
    """A value interval likely to hold the full data's k-th largest pixel, from a sample.

    Takes the sample's ranks ``k_s -+ d`` where ``d`` makes the interval hold about
    ``budget`` pixels of the full data; None when its bins would hold over twice that (ties).
    Whether the interval really holds the threshold is checked exactly afterwards.
    """
    if n_sample == 0:
        return None
    k_s = top_count(n_sample, top_percent)
    d = max(1, int(budget / 2 * n_sample / n_full))
    b_hi, _ = select_bin(hist, max(1, k_s - d))
    b_lo, _ = select_bin(hist, min(n_sample, k_s + d))
    if hist[b_lo:b_hi + 1].sum() * n_full / n_sample > 2 * budget:
        return None
    return bin_bounds(b_lo)[0], bin_bounds(b_hi)[1]
