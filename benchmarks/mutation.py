"""Mutation testing of the scoring core with mutmut: do the tests catch a wrong number?

mutmut plants one small change at a time (``<`` -> ``<=``, ``+ 1`` -> ``+ 2``, a constant, a
dropped argument) in the functions below and runs the tests that cover each function; a
mutant the tests do not fail on ("survived") is a bug they would let through.

    python benchmarks/mutation.py --import-time -o /tmp/mutation-raw.md   # HEAD, 2 workers
    python benchmarks/mutation.py --source worktree       # uncommitted files too
    python benchmarks/mutation.py --reuse --report-only --import-time   # report again

Never mutates the checkout: it clones HEAD (or copies the working tree's tracked and
untracked, non-ignored files with ``--source worktree``) into ``--workdir`` and runs there,
niced. The raw report lists every survivor with its diff; docs/mutation-report.md is that
report triaged by hand (each survivor killed by a test or explained as equivalent).

Needs ``pip install -c constraints.txt -e ".[mutation]"`` (mutmut 3.8.1).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Files mutmut rewrites (it mutates only functions whose names match MUTANTS below).
FILES = (
    "avatar_bench/eval/metrics.py",
    "avatar_bench/eval/threshold.py",
    "avatar_bench/eval/bootstrap.py",
    "avatar_bench/data/splits.py",
    "avatar_bench/data/index.py",
    "avatar_bench/eval/counts.py",
)
#: Mutant-name globs that are run: the four core modules whole, and the GT rasteriser
#: (polygon scaling, instance selection, per-scenario unions) out of index.py / counts.py.
MUTANTS = (
    "avatar_bench.eval.metrics.*",
    "avatar_bench.eval.threshold.*",
    "avatar_bench.eval.bootstrap.*",
    "avatar_bench.data.splits.*",
    "avatar_bench.data.index.x_rasterise__mutmut_*",
    "avatar_bench.data.index.*instances_for__mutmut_*",
    "avatar_bench.data.index.*gt_rle__mutmut_*",
    "avatar_bench.data.index.*gt_mask__mutmut_*",
    "avatar_bench.eval.counts.x_gt_masks__mutmut_*",
    "avatar_bench.eval.counts.x__decode__mutmut_*",
)
#: Fast tests that exercise these functions. AVATAR-mini tests are left out (generating the
#: dataset costs ~9 s in every mutant's fresh pytest session); the hand-made roots of the
#: reference tests cover the same paths.
TESTS = (
    "tests/test_eval_metrics.py",
    "tests/test_eval_threshold.py",
    "tests/test_eval_evaluator.py",
    "tests/test_data_index.py",
    "tests/test_compare.py",
    "tests/test_ref_evaluator.py",
    "tests/test_ref_rasterise.py",
    "tests/test_hand_rules.py",
    "tests/test_hand_dataset.py",
    "tests/test_hand_threshold.py",
    "tests/test_hand_metrics.py",
    "tests/test_eval_interval_cover.py",
)
DESELECT = "not mini"
#: Functions that run while their module is imported, before mutmut switches a mutant on:
#: their mutants always "survive" a normal run. ``--import-time`` applies each one to the
#: source of the copy and runs these tests on it directly.
IMPORT_TIME = {"avatar_bench.eval.threshold.x__raw_to_key_bin__mutmut_*":
               ("avatar_bench/eval/threshold.py",
                ["tests/test_eval_threshold.py", "tests/test_hand_threshold.py"])}


def _copy_source(dest: Path, source: str) -> None:
    """A private copy of the project: HEAD via git clone, or the working tree's files."""
    if dest.exists():
        shutil.rmtree(dest)
    if source == "head":
        subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(dest)],
                       check=True)
        return
    files = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=REPO,
                           check=True, capture_output=True).stdout.split(b"\0")
    for name in filter(None, files):
        src = REPO / os.fsdecode(name)
        if src.is_file():
            (dest / os.fsdecode(name)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / os.fsdecode(name))


def _config(tests: list[str]) -> str:
    """The [mutmut] section (setup.cfg of the copy; the checkout's files are never touched)."""
    def lines(items) -> str:
        return "".join(f"\n    {x}" for x in items)
    return ("[mutmut]\nsource_paths = avatar_bench\n"
            f"only_mutate ={lines(FILES)}\n"
            f"pytest_add_cli_args_test_selection ={lines(tests)}\n"
            f"pytest_add_cli_args =\n    -k\n    {DESELECT}\n    -p\n    no:cacheprovider\n"
            "use_git_change_detection = false\n")


def _mutmut(work: Path, args: list[str], timeout: float | None) -> subprocess.CompletedProcess:
    """``mutmut ARGS`` in ``work``, niced, in its own process group (killed whole on timeout,
    so no forked worker outlives the budget)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    cmd = ["nice", "-n", "10", sys.executable, "-m", "mutmut", *args]
    with subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True) as proc:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "")


def _results(work: Path) -> dict[str, str]:
    """mutant name -> status, for every mutant (``mutmut results --all true``)."""
    out = _mutmut(work, ["results", "--all", "true"], 600).stdout
    found = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+__mutmut_\d+): (.+)$", line)
        if m:
            found[m.group(1)] = m.group(2).strip()
    return found


def _selected(name: str, globs: list[str]) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(name, g) for g in globs)


def _report(work: Path, results: dict[str, str], globs: list[str], elapsed: float | None,
            head: str) -> str:
    """Counts per status, then the diff of every mutant that was run and not killed."""
    chosen = {k: v for k, v in sorted(results.items()) if _selected(k, globs)}
    counts: dict[str, int] = {}
    for status in chosen.values():
        counts[status] = counts.get(status, 0) + 1
    out = [f"# Raw mutation report (mutmut, {head})", "",
           f"{len(chosen)} mutants"
           + (f" in {elapsed / 60:.1f} min: " if elapsed is not None else " (earlier run): ")
           + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())), ""]
    for name, status in chosen.items():
        if status in ("killed", "timeout", "not checked"):
            continue
        diff = _mutmut(work, ["show", name], 120).stdout.strip()
        out += [f"## {name}: {status}", "", "```diff", diff, "```", ""]
    return "\n".join(out) + "\n"


def _import_time(work: Path, results: dict[str, str]) -> list[str]:
    """Apply each import-time mutant to the copy's source, run its tests, restore the file."""
    from fnmatch import fnmatchcase

    if not (work / ".git").exists():
        return ["- not checked: the copy is not a git clone (use --source head)"]
    lines = []
    for glob, (source, tests) in IMPORT_TIME.items():
        for name in sorted(n for n in results if fnmatchcase(n, glob)):
            subprocess.run(["git", "checkout", "-q", "--", source], cwd=work, check=True)
            _mutmut(work, ["apply", name], 120)
            env = dict(os.environ, PYTHONPATH=str(work))
            run = subprocess.run(["nice", "-n", "10", sys.executable, "-m", "pytest", "-q",
                                  "-x", "-p", "no:cacheprovider", *tests], cwd=work, env=env,
                                 capture_output=True, text=True, timeout=600)
            status = "killed" if run.returncode else "survived"
            lines.append(f"- {name}: {status} when applied ({run.stdout.strip().splitlines()[-1]})")
        subprocess.run(["git", "checkout", "-q", "--", source], cwd=work, check=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/avatar-bench-mutation"))
    ap.add_argument("--source", choices=("head", "worktree"), default="head")
    ap.add_argument("--children", type=int, default=2)
    ap.add_argument("--budget-min", type=float, default=40.0,
                    help="stop the run after this many minutes")
    ap.add_argument("-o", "--output", type=Path, default=None,
                    help="raw report (markdown); default: <workdir>/mutation-raw.md")
    ap.add_argument("--only", nargs="*", default=None,
                    help="mutant-name globs to (re)run instead of the default set")
    ap.add_argument("--report-only", action="store_true",
                    help="with --reuse: do not run mutmut, only write the report")
    ap.add_argument("--import-time", action="store_true",
                    help="also apply the import-time mutants (IMPORT_TIME) one by one")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the copy in --workdir and mutmut's results from an earlier run")
    args = ap.parse_args(argv)
    work = args.workdir.resolve()
    if work == REPO or REPO in work.parents:
        ap.error("--workdir must be outside the checkout (mutmut rewrites files there)")
    if not (args.reuse and (work / "setup.cfg").exists()):
        _copy_source(work, args.source)
        tests = [t for t in TESTS if (work / t).exists()]
        (work / "setup.cfg").write_text(_config(tests))
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                          cwd=work if (work / ".git").exists() else REPO,
                          capture_output=True, text=True).stdout.strip()
    start = time.monotonic()
    globs = list(args.only) if args.only else list(MUTANTS)
    try:
        if args.report_only:
            tail = "report only (no run)"
        else:
            run = _mutmut(work, ["run", "--max-children", str(args.children), *globs],
                          args.budget_min * 60)
            tail = run.stdout[-3000:]
    except subprocess.TimeoutExpired:
        tail = f"stopped after {args.budget_min} min (--budget-min)"
    elapsed = time.monotonic() - start
    print(tail)
    results = _results(work)
    text = _report(work, results, globs, None if args.report_only else elapsed, head)
    if args.import_time:
        text += "\n## Import-time mutants, applied to the source\n\n"
        text += "\n".join(_import_time(work, results)) + "\n"
    output = args.output or work / "mutation-raw.md"
    sys.path.insert(0, str(REPO))
    from avatar_bench.fsio import atomic_write_text

    atomic_write_text(output, text)
    print(text.splitlines()[2])
    print(f"raw report: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
