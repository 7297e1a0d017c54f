"""``leaderboard check``: what CI runs on a pull request that adds or changes submissions.

Only the entries the pull request touches are judged (found with ``git diff`` against a base
ref, or given as paths); the whole folder must still load and the page must still build,
because a merge publishes the page. The report says, per entry, what passed, what failed and
what to do about it, so a contributor can fix everything in one push.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from avatar_bench.errors import AvatarBenchError
from avatar_bench.leaderboard.submissions import (
    RESULTS_FILE,
    SUBMISSION_FILE,
    Submission,
    load_one,
    load_submissions,
)

#: Files a submission folder may hold in a pull request.
ALLOWED_FILES = frozenset({SUBMISSION_FILE, RESULTS_FILE, "predictions.npz"})


@dataclass
class CheckReport:
    """Lines of the report and whether anything failed."""

    lines: list[str] = field(default_factory=list)
    failures: int = 0

    def ok(self, text: str) -> None:
        self.lines.append(f"[ok]   {text}")

    def note(self, text: str) -> None:
        self.lines.append(f"[note] {text}")

    def fail(self, text: str, problems: list[str] = (), fix: str | None = None) -> None:
        self.failures += 1
        self.lines.append(f"[FAIL] {text}")
        self.lines += [f"         - {p}" for p in problems]
        if fix:
            self.lines.append(f"         fix: {fix}")

    def text(self) -> str:
        verdict = "PASSED" if not self.failures else f"FAILED ({self.failures} problem(s))"
        return "\n".join(self.lines + [f"result: {verdict}"]) + "\n"


def _git_changed(submissions_dir: Path, base: str) -> list[str]:
    cmd = ["git", "diff", "--name-only", "--no-renames", f"{base}...HEAD", "--", "."]
    try:
        out = subprocess.run(cmd, cwd=submissions_dir, capture_output=True, text=True,
                             check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AvatarBenchError(f"--base {base}: cannot run git: {exc}") from exc
    if out.returncode != 0:
        raise AvatarBenchError(f"--base {base}: git diff failed: {out.stderr.strip()} (in CI, "
                               "fetch the base branch: actions/checkout with fetch-depth: 0)")
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=submissions_dir,
                         capture_output=True, text=True, check=False).stdout.strip()
    return [str(Path(top) / line) for line in out.stdout.splitlines() if line.strip()]


def changed_slugs(submissions_dir: Path, paths: list[str]) -> tuple[list[str], list[str]]:
    """Slugs touched by ``paths`` (files or folders), and paths outside the folder."""
    root = submissions_dir.resolve()
    slugs, outside = [], []
    for raw in paths:
        p = Path(raw)
        full = (p if p.is_absolute() else Path.cwd() / p).resolve()
        try:
            rel = full.relative_to(root)
        except ValueError:
            outside.append(raw)
            continue
        if rel.parts and rel.parts[0] not in slugs and not rel.parts[0].startswith("."):
            slugs.append(rel.parts[0])
    return sorted(slugs), outside


def _entry_checks(report: CheckReport, folder: Path) -> Submission | None:
    slug = folder.name
    if not folder.is_dir():
        report.note(f"{slug}: removed by this change (a maintainer must agree)")
        return None
    extra = sorted(p.name for p in folder.iterdir() if p.name not in ALLOWED_FILES)
    if extra:
        report.fail(f"{slug}: unexpected files {', '.join(extra)}", fix="a submission folder "
                    f"holds only {', '.join(sorted(ALLOWED_FILES))}")
    sub, problems = load_one(folder)
    if problems:
        report.fail(f"{slug}: the entry is not valid", problems,
                    "fix each field named above; `avatar-bench leaderboard validate "
                    f"{folder.parent}` lists them locally")
        return None
    if sub.source == "reported" and not sub.meta.get("reported_in"):
        report.fail(f"{slug}: a reported entry must say where its numbers come from",
                    fix="set `reported_in` to the paper's URL")
        return None
    report.ok(f"{slug}: {SUBMISSION_FILE} and {RESULTS_FILE} are valid ({sub.source}, "
              f"{sub.dataset}, protocol {sub.protocol})")
    return sub


def _verify(report: CheckReport, subs: list[Submission], submissions_dir: Path,
            predictions_dir: Path | None, root: str | None, require: bool) -> None:
    from avatar_bench.leaderboard.verify import verify_submissions

    for c in verify_submissions(subs, submissions_dir, predictions_dir, root):
        if c.status == "verified":
            report.ok(f"{c.slug}: re-evaluated from {c.detail}; all {c.n_values} values match")
        elif c.status == "mismatch":
            report.fail(f"{c.slug}: the numbers do not match the predictions ({c.detail})",
                        c.problems, "regenerate results.json with `avatar-bench submit` (or "
                        "`avatar-bench evaluate`) from exactly this predictions file")
        elif require:
            report.fail(f"{c.slug}: not verified: {c.detail}",
                        fix="add predictions.npz to the entry's folder")
        else:
            report.note(f"{c.slug}: not verified: {c.detail}; a maintainer re-checks it with "
                        "`avatar-bench leaderboard verify` before merging")


def _build(report: CheckReport, submissions_dir: Path, output: Path | None) -> None:
    from avatar_bench.leaderboard.build import build

    try:
        if output is not None:
            build(submissions_dir, output)
            report.ok(f"the page builds ({output})")
            return
        with tempfile.TemporaryDirectory(prefix="avatar-bench-check-") as tmp:
            build(submissions_dir, Path(tmp) / "index.html")
        report.ok("the page builds")
    except AvatarBenchError as exc:
        report.fail("the page does not build", exc.problems or [str(exc)],
                    "every folder must be valid, including ones this change did not touch")


def check(submissions_dir: str | Path, *, base: str | None = None, paths: list[str] = (),
          predictions_dir: str | Path | None = None, root: str | None = None,
          require_verified: bool = False, output: str | Path | None = None) -> CheckReport:
    """Judge the entries a change touches, then the whole page (see the module docstring)."""
    sdir = Path(submissions_dir)
    if not sdir.is_dir():
        raise AvatarBenchError(f"submissions folder {sdir} does not exist")
    if (base is None) == (not paths):
        raise AvatarBenchError("give either --base REF (compare with git) or the changed paths")
    touched = _git_changed(sdir, base) if base is not None else list(paths)
    slugs, outside = changed_slugs(sdir, touched)
    report = CheckReport()
    report.lines.append(f"leaderboard check of {sdir}: {len(slugs)} new or changed "
                        f"entr{'y' if len(slugs) == 1 else 'ies'}"
                        + (f" ({', '.join(slugs)})" if slugs else ""))
    if outside and base is None:
        report.note("not under the submissions folder, not checked here: " + ", ".join(outside))
    if not slugs:
        report.note("this change touches no submission")
    subs = [s for s in (_entry_checks(report, sdir / slug) for slug in slugs) if s is not None]
    pdir = Path(predictions_dir) if predictions_dir else None
    _verify(report, [s for s in subs if s.source == "reproduced"], sdir, pdir, root,
            require_verified)
    try:
        load_submissions(sdir)
    except AvatarBenchError as exc:
        mine = tuple(str(sdir / s) for s in slugs)
        others = [p for p in exc.problems
                  if not any(p.startswith(m + "/") or p.startswith(m + ":") for m in mine)]
        if others:
            report.fail("entries this change did not touch are broken", others,
                        "rebase on the base branch; tell the maintainers if it persists")
        report.fail("the page cannot be built until every entry is valid (see above)")
        return report
    _build(report, sdir, Path(output) if output else None)
    return report
