"""The leaderboard: submission folders (validated), rankings with tie groups, one static page.

Data flow: results JSON (evaluator) -> ``submissions/<slug>/`` -> ``build`` -> index.html.
"""

from avatar_bench.leaderboard.build import build, render, resolve_build_time
from avatar_bench.leaderboard.submissions import (
    Submission,
    load_submissions,
    slugify,
    write_submission,
)

__all__ = [
    "Submission", "build", "load_submissions", "render", "resolve_build_time", "slugify",
    "write_submission",
]
