"""Running a model over a dataset into a predictions file (see docs/predict.md)."""

from avatar_bench.predict.partial import partial_path
from avatar_bench.predict.runner import (
    PredictError,
    PredictSummary,
    plan_segments,
    run_predict,
)

__all__ = ["PredictError", "PredictSummary", "partial_path", "plan_segments", "run_predict"]
