"""Model-agnostic evaluation: predictions format, validation, the AVATAR protocol, results.

Never imports torch: scoring a file needs numpy, scipy, pycocotools (numba for the compiled
per-frame pass, optional) and the annotations.
"""

from avatar_bench.eval.evaluator import PROTOCOLS, Evaluator, Protocol, evaluate
from avatar_bench.eval.predictions import PredictionsFile, load_predictions, write_predictions
from avatar_bench.eval.results import load_results, results_json, write_results
from avatar_bench.eval.table import format_table
from avatar_bench.eval.validate import ValidationReport, validate_predictions

__all__ = [
    "PROTOCOLS", "Evaluator", "PredictionsFile", "Protocol", "ValidationReport", "evaluate",
    "format_table", "load_predictions", "load_results", "results_json", "validate_predictions",
    "write_predictions", "write_results",
]
