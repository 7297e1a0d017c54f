"""The evaluator: validate -> threshold -> per-frame -> accumulate -> summarise.

Each phase stores its output on the ``Evaluator`` so it can be inspected (as COCOeval's
``evalImgs``/``eval``); ``evaluate`` runs them all and returns the results document.
The protocol is described in docs/evaluation.md in the same words and order.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from avatar_bench.data.index import EVAL_SIZE, AvatarDataset
from avatar_bench.data.splits import cross_event_videos
from avatar_bench.errors import AvatarBenchError
from avatar_bench.eval import bootstrap, kernels, metrics
from avatar_bench.eval.counts import (
    GT_SCENARIOS,
    LEGACY_SIZE,
    AvatarPasses,
    Boundary,
    FrameCounts,
    LegacyPass,
    default_workers,
    fill,
    iter_chunks,
    parallel,
)
from avatar_bench.eval.predictions import PredictionsFile
from avatar_bench.eval.resize import BICUBIC_AC, BILINEAR, BILINEAR_AC, MODES
from avatar_bench.eval.threshold import TopSelector, sample_interval, top_count
from avatar_bench.eval.validate import ValidationReport, skipped_keys, validate_predictions

if TYPE_CHECKING:  # pandas costs ~40 MB resident; only the per-frame table needs it
    import pandas as pd

PROTOCOLS = ("avatar", "legacy")
#: Rows of the ``metrics`` section: the GT scenarios, then Cross-event (Total on its videos).
METRIC_SUBSETS: tuple[str, ...] = (*GT_SCENARIOS, "cross_event")
DAGGER_PERCENT = 5.0
#: Most boundary-bin pixels kept in memory (5 bytes each) before falling back to 3 passes.
BOUNDARY_BUDGET = 50_000_000
#: Route "sampled" histograms every 4th chunk (used when the file has >= 32 chunks).
SAMPLE_EVERY = 4
#: A sampled interval spans about this share of all pixels (ranks k -+ 0.2%).
SAMPLE_SHARE = 0.004
#: Sampled chunks contribute every 2nd output row and column of each map: neighbouring
#: resized pixels are near-copies (each map is upsampled from its own size), so the sample's
#: quantile hardly moves while it costs a quarter; the interval is verified exactly anyway.
SAMPLE_STEP = 2
#: Limits checked before anything is read: evaluation resolution (each side, and pixels:
#: 4K UHD) and bootstrap replicates (the replicate weights are ``bootstrap x videos`` floats).
MAX_SIDE = 4096
MAX_EVAL_PIXELS = 3840 * 2160
MAX_BOOTSTRAP = 10_000
MAX_BOOTSTRAP_CELLS = 20_000_000
MAX_WORKERS = 64
#: Most maps per chunk; fewer for large maps so a chunk's working set stays near
#: ``CHUNK_BYTES``, and fewer chunks in flight so all of them stay near ``INFLIGHT_BYTES``.
MAX_CHUNK = 16
CHUNK_BYTES = 96 << 20
INFLIGHT_BYTES = 384 << 20
#: Legacy resize per baseline (their ``test.py``), chosen from the predictions' meta model.
LEGACY_RESIZE_BY_MODEL = {"ezvsl": BILINEAR_AC, "slavc": BICUBIC_AC}
LEGACY_RESIZE_CHOICES = ("auto", *MODES)


def _is_int(x: object) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


@dataclass(frozen=True)
class Protocol:
    """Every choice that changes the numbers; stored in the results."""

    name: str = "avatar"
    resolution: tuple[int, int] = EVAL_SIZE
    top_percent: float = 10.0
    top_percent_dagger: float = DAGGER_PERCENT
    bootstrap: int = 1000
    seed: int = 0
    #: Legacy protocol only: "auto" (from the predictions' meta model) or one of ``MODES``.
    legacy_resize: str = "auto"

    def __post_init__(self) -> None:
        if self.name not in PROTOCOLS:
            raise AvatarBenchError(f"unknown protocol {self.name!r}: expected one of {PROTOCOLS}")
        res = tuple(self.resolution)
        if len(res) != 2 or not all(_is_int(v) and v >= 1 for v in res):
            raise AvatarBenchError(f"--resolution must be two positive integers, got "
                                   f"{self.resolution}")
        if max(res) > MAX_SIDE or res[0] * res[1] > MAX_EVAL_PIXELS:
            raise AvatarBenchError(f"--resolution {res[0]}x{res[1]} is too large: at most "
                                   f"{MAX_SIDE} per side and {MAX_EVAL_PIXELS:,} pixels "
                                   "(3840x2160)")
        for name, v in (("--top-percent", self.top_percent),
                        ("top_percent_dagger", self.top_percent_dagger)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0 < v <= 100):
                raise AvatarBenchError(f"{name} must be in (0, 100], got {v}")
        if not _is_int(self.bootstrap) or not 0 <= self.bootstrap <= MAX_BOOTSTRAP:
            raise AvatarBenchError(f"--bootstrap must be an integer in [0, {MAX_BOOTSTRAP}], "
                                   f"got {self.bootstrap}")
        if not _is_int(self.seed) or not 0 <= self.seed < 2**63:
            raise AvatarBenchError(f"--seed must be an integer in [0, 2**63), got {self.seed}")
        if self.legacy_resize not in LEGACY_RESIZE_CHOICES:
            raise AvatarBenchError(f"--legacy-resize must be one of {LEGACY_RESIZE_CHOICES}, "
                                   f"got {self.legacy_resize!r}")

    @property
    def size(self) -> tuple[int, int]:
        """Resolution the maps and GT are compared at (legacy: always 224x224)."""
        return LEGACY_SIZE if self.name == "legacy" else tuple(self.resolution)

    def resize_for(self, meta: dict | None) -> tuple[str, str]:
        """The resize mode and why: avatar is always half-pixel bilinear; legacy follows
        ``legacy_resize``, or with "auto" the baseline named by the meta's ``model``."""
        if self.name != "legacy":
            return BILINEAR, "protocol"
        if self.legacy_resize != "auto":
            return self.legacy_resize, "option"
        model = meta.get("model") if isinstance(meta, dict) else None
        key = str(model).lower().replace("-", "").replace("_", "") if model else ""
        if key in LEGACY_RESIZE_BY_MODEL:
            return LEGACY_RESIZE_BY_MODEL[key], f"meta model {model}"
        return BILINEAR, "default"

    def to_json(self, resize: tuple[str, str] = (BILINEAR, "protocol")) -> dict:
        out = {"name": self.name, "resolution": [int(v) for v in self.size],
               "top_percent": float(self.top_percent),
               "top_percent_dagger": float(self.top_percent_dagger), "resize": resize[0],
               "bootstrap": {"n": int(self.bootstrap), "seed": int(self.seed), "unit": "video",
                             "level": bootstrap.LEVEL}}
        if self.name == "legacy":
            out["resize_source"] = resize[1]
        return out


class Evaluator:
    """Scores one predictions file on one dataset under one protocol."""

    def __init__(self, dataset: AvatarDataset, predictions: str | os.PathLike | PredictionsFile,
                 protocol: Protocol | None = None, *, workers: int | None = None,
                 chunk: int | None = None, boundary_budget: int = BOUNDARY_BUDGET,
                 sample_every: int = SAMPLE_EVERY) -> None:
        self.dataset = dataset
        self.protocol = protocol or Protocol()
        if workers is not None and not (_is_int(workers) and 1 <= workers <= MAX_WORKERS):
            raise AvatarBenchError(f"--workers must be an integer in [1, {MAX_WORKERS}], "
                                   f"got {workers}")
        self._check_bootstrap_size()
        self.predictions = (predictions if isinstance(predictions, PredictionsFile)
                            else PredictionsFile(predictions))
        self.workers = workers or default_workers()
        self.chunk = chunk or self._auto_chunk()
        self.inflight = self._auto_inflight()
        self.resize = self.protocol.resize_for(self.predictions.meta)
        self.skipped_keys = skipped_keys(dataset)
        self.boundary_budget = boundary_budget
        self.sample_every = sample_every
        self.sample_missed = False
        self._bounds: tuple = (None, None)
        self.route = "two-pass"
        self._subsets()
        self.report: ValidationReport | None = None
        self.thresholds: dict[str, float | None] = {"main": None, "dagger": None}
        self.counts: FrameCounts | None = None
        self.cious: np.ndarray | None = None
        self.tn: np.ndarray | None = None
        self.tn_dagger: np.ndarray | None = None
        self.results: dict | None = None

    def _check_bootstrap_size(self) -> None:
        n_videos = len({f.video_id for f in self.dataset.frames})
        if self.protocol.bootstrap * n_videos > MAX_BOOTSTRAP_CELLS:
            most = MAX_BOOTSTRAP_CELLS // max(n_videos, 1)
            raise AvatarBenchError(f"--bootstrap {self.protocol.bootstrap} is too many for "
                                   f"{n_videos} videos: at most {most} here (replicates x "
                                   f"videos <= {MAX_BOOTSTRAP_CELLS:,})")

    def _map_bytes(self) -> int:
        """Working set of one map in a streaming pass: its float32 copies at input size and
        at evaluation size (resize stages, clamp bounds, masks, comparisons)."""
        h, w = self.predictions.map_shape or (1, 1)
        out = self.protocol.size[0] * self.protocol.size[1]
        return 16 * h * w + 24 * out

    def _auto_chunk(self) -> int:
        return max(1, min(MAX_CHUNK, CHUNK_BYTES // self._map_bytes()))

    def _auto_inflight(self) -> int:
        per_chunk = self.chunk * self._map_bytes()
        return max(1, min(2 * self.workers, INFLIGHT_BYTES // per_chunk))

    def _subsets(self) -> None:
        """Frame membership: a frame is in every scenario among its instances."""
        frames = self.dataset.frames
        self.video_ids = sorted({f.video_id for f in frames})
        vindex = {v: i for i, v in enumerate(self.video_ids)}
        self.video = np.array([vindex[f.video_id] for f in frames], dtype=np.intp)
        member = {s: np.array([s in f.scenarios for f in frames], bool) for s in GT_SCENARIOS[:3]}
        member["total"] = np.array([any(i.on_screen for i in f.instances) for f in frames], bool)
        cross = set(cross_event_videos(self.dataset))
        member["cross_event"] = member["total"] & np.array([f.video_id in cross for f in frames],
                                                           bool)
        self.member = member
        self.off_screen = np.array(["off_screen" in f.scenarios for f in frames], bool)
        off_videos = {f.video_id for f, o in zip(frames, self.off_screen, strict=True) if o}
        self.dagger_frames = np.array([f.video_id in off_videos for f in frames], bool)

    # ------------------------------------------------------------------ phases
    def validate(self) -> ValidationReport:
        """Phase 0: every check; stops here with all problems listed. The per-frame pass's
        compiled kernels are made ready meanwhile."""
        if self.protocol.name == "avatar":
            kernels.start_warm_up()
        self.report = validate_predictions(self.dataset, self.predictions,
                                           ignore=self.skipped_keys, digest=True)
        self.report.raise_if_invalid()
        return self.report

    def _stream(self, fn, desc: str, every: int = 1):
        """``fn`` over the file's chunks in a thread pool (every ``every``-th chunk only)."""
        total = math.ceil(math.ceil(self.predictions.n_maps / self.chunk) / every)
        chunks = iter_chunks(self.predictions, self.report.rows, self.dataset, self.chunk, every)
        return parallel(fn, chunks, self.workers, total, desc, self.inflight)

    def _pixels(self) -> tuple[int, int]:
        """Pixels counted by the main and the †TN thresholds."""
        per_map = self.protocol.size[0] * self.protocol.size[1]
        return len(self.dataset) * per_map, int(self.dagger_frames.sum()) * per_map

    def _interval_pixels(self, n_pixels: int) -> int:
        """Width of a sampled interval: ``SAMPLE_SHARE`` of the pixels, within the budget."""
        return max(1, min(self.boundary_budget // 2, int(n_pixels * SAMPLE_SHARE)))

    def _histograms(self, every: int) -> tuple[TopSelector, TopSelector]:
        passes = AvatarPasses(self.dataset, self.protocol.size, self.dagger_frames)
        main = TopSelector(self.protocol.top_percent)
        dag = TopSelector(self.protocol.top_percent_dagger)
        desc = "threshold (sample)" if every > 1 else "threshold"
        step = SAMPLE_STEP if every > 1 else 1
        for h_all, h_dag, n_all, n_dag in self._stream(lambda c: passes.high(c, step), desc,
                                                       every):
            main.add_high(h_all, n_all)
            dag.add_high(h_dag, n_dag)
        return main, dag

    def threshold(self) -> dict[str, float | None]:
        """Phase 1 (avatar): locate the top-p% and †TN top-5% thresholds.

        Route "sampled" (large inputs): high-16-bit histograms of every ``sample_every``-th
        chunk (every ``SAMPLE_STEP``-th row and column of its maps; the other chunks are not
        read) give a value interval expected to hold each threshold; the per-frame pass keeps
        the pixels inside it and finds the exact threshold there (verified; on a miss the
        exact routes below run). Route "two-pass": histograms of all pixels fix the bin that
        holds each threshold; the per-frame pass finishes it exactly. Route "three-pass"
        (the bins hold more than ``boundary_budget`` pixels, i.e. heavy ties): a low-16-bit
        pass finishes the thresholds here and the per-frame pass only counts.
        """
        if self.protocol.name != "avatar":
            return self.thresholds
        n_main, n_dag = self._pixels()
        n_chunks = -(-self.predictions.n_maps // self.chunk)
        if self.sample_every > 1 and n_chunks >= 8 * self.sample_every:
            main, dag = self._histograms(self.sample_every)
            self._bounds = (
                sample_interval(main.high, main.n_pixels, main.top_percent, n_main,
                                self._interval_pixels(n_main)),
                sample_interval(dag.high, dag.n_pixels, dag.top_percent, n_dag,
                                self._interval_pixels(n_dag))
                if n_dag else None)
            if self._bounds[0] is not None and (self._bounds[1] is not None or not n_dag):
                self.route = "sampled"
                return self.thresholds
        return self._exact_threshold()

    def _exact_threshold(self, three_pass: bool = False) -> dict[str, float | None]:
        main, dag = self._histograms(1)
        b_main, b_dag = main.choose_bin(), dag.choose_bin()
        self._bounds = (main.bounds(), dag.bounds())
        self.route = ("two-pass" if not three_pass and main.boundary_count()
                      + dag.boundary_count() <= self.boundary_budget else "three-pass")
        if self.route == "three-pass":
            passes = AvatarPasses(self.dataset, self.protocol.size, self.dagger_frames)
            for low_main, low_dag in self._stream(lambda c: passes.low(c, b_main, b_dag),
                                                  "threshold (ties)"):
                main.add_low(low_main)
                dag.add_low(low_dag)
            self.thresholds = {"main": main.threshold(), "dagger": dag.threshold()}
        return self.thresholds

    def per_frame(self) -> FrameCounts:
        """Phase 2: per-frame pixel counts against each scenario's GT.

        Fallbacks are bounded: a sampled interval that missed a threshold is followed by
        the exact two-pass route once; should that miss too (it cannot when the pixel
        population is consistent), the three-pass route, which has no boundary to miss.
        """
        size = self.protocol.size
        counts = FrameCounts.empty(len(self.dataset), size[0] * size[1])
        if self.protocol.name == "legacy":
            for rows in self._stream(self._legacy_pass().counts, "per-frame"):
                fill(counts, rows)
            self.counts = counts
            return counts
        for _ in range(2):
            if self.route == "three-pass" or self._per_frame_boundary(counts):
                break
            # The interval missed a threshold: take an exact route instead (at most twice).
            self.sample_missed = self.sample_missed or self.route == "sampled"
            self._exact_threshold(three_pass=self.route == "two-pass")
            counts = FrameCounts.empty(len(self.dataset), size[0] * size[1])
        if self.route == "three-pass":
            self._three_pass_counts(counts)
        self.counts = counts
        return counts

    def _legacy_pass(self) -> LegacyPass:
        return LegacyPass(self.dataset, self.protocol.size, self.resize[0])

    def _three_pass_counts(self, counts: FrameCounts) -> None:
        passes = AvatarPasses(self.dataset, self.protocol.size, self.dagger_frames)
        thr, thr_dag = self.thresholds["main"], self.thresholds["dagger"]
        for rows in self._stream(lambda c: passes.counts(c, thr, thr_dag, self.off_screen),
                                 "per-frame"):
            fill(counts, rows)

    def _per_frame_boundary(self, counts: FrameCounts) -> bool:
        """Counts above each threshold's interval + the pixels inside it, then the exact
        thresholds (the k-th largest) and the remaining counts. False on a sample miss."""
        passes = AvatarPasses(self.dataset, self.protocol.size, self.dagger_frames)
        n_main, n_dag = self._pixels()
        n = len(self.dataset)
        bounds_main, bounds_dag = self._bounds
        b_main = Boundary(n, top_count(n_main, self.protocol.top_percent))
        b_dag = Boundary(n, top_count(n_dag, self.protocol.top_percent_dagger) if n_dag else 0)
        for rows in self._stream(lambda c: passes.boundary(c, bounds_main, bounds_dag),
                                 "per-frame"):
            for i, gt, s_main, s_dag in rows:
                counts.gt[i] = gt
                b_main.add(i, s_main)
                if s_dag is not None:
                    b_dag.add(i, s_dag)
        done_main = b_main.finish()
        done_dag = b_dag.finish() if bounds_dag is not None else None
        if done_main is None or (bounds_dag is not None and done_dag is None):
            return False
        thr, counts.pos, counts.inter = done_main
        self.thresholds = {"main": thr, "dagger": None}
        if done_dag is not None:
            thr_dag, pos_dag, inter_dag = done_dag
            self.thresholds["dagger"] = thr_dag
            counts.pos_dagger = np.where(self.off_screen, pos_dag, -1)
            counts.inter_dagger = np.where(self.off_screen, inter_dag[:, 3], -1)
        return True

    def accumulate(self) -> None:
        """Phase 3: per-frame cIoU per scenario and TN; NaN where a frame is not a member."""
        c = self.counts
        cious = metrics.ciou(c.gt, c.inter, c.pos[:, None])
        for j, s in enumerate(GT_SCENARIOS):
            cious[~self.member[s], j] = np.nan
        self.cious = cious
        tn = metrics.true_negative(c.gt[:, 3], c.inter[:, 3], c.pos, c.pixels)
        self.tn = np.where(self.off_screen, tn, np.nan)
        if self.thresholds["dagger"] is not None:
            tnd = metrics.true_negative(c.gt[:, 3], c.inter_dagger, c.pos_dagger, c.pixels)
            self.tn_dagger = np.where(self.off_screen, tnd, np.nan)
        else:
            self.tn_dagger = np.full(len(tn), np.nan)

    def summarise(self) -> dict:
        """Phase 4: percentages per subset and their bootstrap intervals."""
        p = self.protocol
        weights = (bootstrap.video_weights(len(self.video_ids), p.bootstrap, p.seed)
                   if p.bootstrap else None)
        out: dict = {"metrics": {}, "off_screen": {}}
        for s in METRIC_SUBSETS:
            mask = self.member[s]
            col = self.cious[mask, GT_SCENARIOS.index("total" if s == "cross_event" else s)]
            entry = dict(metrics.summarise_ciou(col), n_frames=int(mask.sum()))
            ci = (bootstrap.ciou_intervals(col, self.video[mask], weights)
                  if weights is not None else {f: None for f in metrics.CIOU_FIELDS})
            entry["ci"] = {f: bootstrap.covering(v, entry.get(f)) for f, v in ci.items()}
            out["metrics"][s] = entry
        off = self.off_screen
        legacy = p.name == "legacy"
        tn, tnd = self.tn[off], self.tn_dagger[off]
        out["off_screen"] = {
            "tn": metrics.mean_percent(tn),
            "tn_dagger": None if legacy else metrics.mean_percent(tnd),
            "n_frames": int(off.sum()),
            "ci": {"tn": bootstrap.mean_interval(tn, self.video[off], weights)
                   if weights is not None else None,
                   "tn_dagger": bootstrap.mean_interval(tnd, self.video[off], weights)
                   if weights is not None and not legacy else None},
        }
        cis = out["off_screen"]["ci"]
        for f in cis:
            cis[f] = bootstrap.covering(cis[f], out["off_screen"][f])
        return out

    def run(self) -> dict:
        """All phases; returns the results document (see ``results.build_results``)."""
        from avatar_bench.eval.results import build_results

        self.validate()
        self.threshold()
        self.per_frame()
        self.accumulate()
        self.results = build_results(self, self.summarise())
        return self.results

    def per_frame_table(self) -> pd.DataFrame:
        """One row per frame: key, video, frame, cIoU per scenario (blank if absent), TN."""
        import pandas as pd

        frames = self.dataset.frames
        table = pd.DataFrame({"key": [f.key for f in frames],
                              "video_id": [f.video_id for f in frames],
                              "frame": [f.frame for f in frames]})
        for j, s in enumerate(GT_SCENARIOS):
            table[f"ciou_{s}"] = self.cious[:, j]
        table["cross_event"] = self.member["cross_event"]
        table["tn"] = self.tn
        table["tn_dagger"] = self.tn_dagger
        if self.protocol.name != "avatar":  # absent = avatar (older CSVs have no column)
            table["protocol"] = self.protocol.name
        return table


def evaluate(dataset: AvatarDataset, predictions: str | os.PathLike | PredictionsFile, *,
             protocol: str = "avatar", resolution: tuple[int, int] = EVAL_SIZE,
             top_percent: float = 10.0, bootstrap: int = 1000, seed: int = 0,
             workers: int | None = None, legacy_resize: str = "auto") -> dict:
    """Validate then score ``predictions`` on ``dataset``; returns the results document.

    Raises ``AvatarBenchError`` (listing every problem) when the predictions are invalid.
    """
    proto = Protocol(protocol, tuple(resolution), top_percent, DAGGER_PERCENT, bootstrap, seed,
                     legacy_resize)
    return Evaluator(dataset, predictions, proto, workers=workers).run()
