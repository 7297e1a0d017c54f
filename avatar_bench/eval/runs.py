"""Ground-truth masks as runs of ones, so the per-frame pass never decodes a mask.

A polygon mask at 360x640 is 230,400 pixels but only a few hundred runs in pycocotools'
column-major order. Everything the boundary pass needs from a mask is answerable from the
runs at a cost proportional to their number (``kernels``): the area, membership of the few
pixels whose value is near the threshold, and the run pieces per column, at which a
cumulative count over groups x rows says how many of a mask's pixels are above.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils


def rle_counts(text: bytes) -> np.ndarray:
    """The run lengths of a compressed COCO RLE string, vectorised (pycocotools'
    ``rleFrString``): each value is 5-bit groups, low first, as characters ``48 + g``
    (``0x20`` = more follow, ``0x10`` in the last = negative); from the fourth value on,
    each is stored as the difference to the value two places before it."""
    b = np.frombuffer(text, np.uint8).astype(np.int64) - 48
    ends = np.flatnonzero((b & 0x20) == 0)
    starts = np.concatenate(([0], ends[:-1] + 1))
    width = ends - starts + 1
    pos = np.arange(len(b)) - np.repeat(starts, width)
    x = np.add.reduceat((b & 0x1F) << (5 * pos), starts)
    neg = (b[ends] & 0x10) != 0
    x[neg] |= np.int64(-1) << (5 * width[neg])
    x[1::2] = np.cumsum(x[1::2])  # c[i] = x[i] + c[i - 2] for i >= 3
    x[2::2] = np.cumsum(x[2::2])
    return x


def _valid_counts(rle: dict) -> np.ndarray | None:
    """``rle_counts`` of a compressed RLE that adds up to its size; None for anything else
    (uncompressed counts, malformed text), which then goes through pycocotools."""
    h, w = (int(v) for v in rle["size"])
    text = rle["counts"]
    if isinstance(text, bytes) and text and text[-1] < 48 + 0x20:
        counts = rle_counts(text)
        if counts.min() >= 0 and int(counts.sum()) == h * w:
            return counts
    return None


def decode_rle(rle: dict) -> np.ndarray:
    """``mask_utils.decode(rle)`` as a Fortran-ordered bool array, three times faster: the
    run lengths by ``rle_counts``, the mask by one ``np.repeat`` (pycocotools writes it byte
    by byte)."""
    h, w = (int(v) for v in rle["size"])
    counts = _valid_counts(rle)
    if counts is None:
        return mask_utils.decode(rle).view(bool)
    ones = np.zeros(len(counts), bool)
    ones[1::2] = True
    return np.repeat(ones, counts).reshape(w, h).T


class Runs:
    """A ``height x width`` mask as half-open runs ``[starts[k], ends[k])`` of set pixels in
    column-major flat order (``x * height + y``), sorted and disjoint."""

    __slots__ = ("starts", "ends", "height", "width")

    def __init__(self, starts: np.ndarray, ends: np.ndarray, height: int, width: int) -> None:
        keep = ends > starts
        self.starts = np.ascontiguousarray(starts[keep], np.int64)
        self.ends = np.ascontiguousarray(ends[keep], np.int64)
        self.height, self.width = height, width

    @classmethod
    def from_counts(cls, counts: np.ndarray, height: int, width: int) -> Runs:
        """From COCO run lengths (zeros first, then alternating)."""
        b = np.cumsum(counts)
        n = len(counts) // 2
        return cls(b[0:2 * n:2], b[1:2 * n + 1:2], height, width)

    @classmethod
    def from_rle(cls, rle: dict) -> Runs:
        h, w = (int(v) for v in rle["size"])
        counts = _valid_counts(rle)
        if counts is None:
            return cls.from_mask(mask_utils.decode(rle).view(bool))
        return cls.from_counts(counts, h, w)

    @classmethod
    def from_mask(cls, mask: np.ndarray) -> Runs:
        """From a 2-D bool mask (any memory order)."""
        h, w = mask.shape
        d = np.diff(np.concatenate(([0], mask.T.ravel().view(np.int8), [0])))
        return cls(np.flatnonzero(d == 1), np.flatnonzero(d == -1), h, w)

    @classmethod
    def union(cls, parts: list[Runs]) -> Runs:
        """Pixels set in any of ``parts`` (same size): overlapping or touching runs merge."""
        s = np.concatenate([p.starts for p in parts])
        e = np.concatenate([p.ends for p in parts])
        order = np.argsort(s, kind="stable")
        s, e = s[order], e[order]
        reach = np.maximum.accumulate(e)
        new = np.ones(len(s), bool)
        new[1:] = s[1:] > reach[:-1]
        first = np.flatnonzero(new)
        last = np.append(first[1:], len(s)) - 1
        return cls(s[first], reach[last], parts[0].height, parts[0].width)

    @property
    def area(self) -> int:
        return int((self.ends - self.starts).sum())

    def to_mask(self) -> np.ndarray:
        """The Fortran-ordered bool mask (what ``decode_rle`` gives)."""
        d = np.zeros(self.height * self.width + 1, np.int8)
        np.add.at(d, self.starts, 1)
        np.add.at(d, self.ends, -1)
        return np.cumsum(d[:-1], dtype=np.int8).view(bool).reshape(self.width,
                                                                    self.height).T
