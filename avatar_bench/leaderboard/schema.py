"""JSON Schemas for a submission folder and the checks that turn schema errors into messages.

A submission is ``<slug>/submission.json`` (who made the model and how) plus ``<slug>/results.json``
(the evaluator's output, or numbers copied from a paper). Every problem is reported at once, as
``<file>: field '<path>': expected <what>, got <value>``, so a submitter fixes them in one pass.
Each schema node may carry ``x-expected``: the human wording used in those messages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from avatar_bench.leaderboard.revisions import revision_problem

#: Datasets a ranking may be about; rows of different datasets are never ranked together.
DATASETS: tuple[str, ...] = ("AVATAR", "AVATAR-mini")
PROTOCOLS: tuple[str, ...] = ("avatar", "legacy")
SOURCES: tuple[str, ...] = ("reproduced", "reported")
#: Results rows in the paper's order (off-screen has its own block).
METRIC_ROWS: tuple[str, ...] = (
    "single_sound", "mixed_sound", "multi_entity", "total", "cross_event",
)
METRIC_FIELDS: tuple[str, ...] = ("ciou", "auc", "ap50")
SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
URL_PATTERN = r"^https?://[^\s<>\"'`]+$"

#: Limits on any submitted document (a page must be able to show every value).
MAX_DEPTH = 16
MAX_STRING = 10_000
#: Fields that may hold several lines (every other string is one line).
MULTILINE_FIELDS: frozenset[str] = frozenset({"notes"})
#: C0/C1 controls, and the bidi embeddings/overrides/isolates that reorder neighbouring text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

_URL = {"type": ["string", "null"], "pattern": URL_PATTERN, "maxLength": 500,
        "x-expected": "a URL (http:// or https://) or null"}
_TEXT = {"type": ["string", "null"], "maxLength": 500, "x-expected": "a string or null"}
_PERCENT = {"type": ["number", "null"], "minimum": 0, "maximum": 100,
            "x-expected": "a percentage between 0 and 100, or null"}
_COUNT = {"type": ["integer", "null"], "minimum": 0, "maximum": 10**12,
          "x-expected": "a non-negative integer or null"}
_INTERVAL = {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 2,
             "maxItems": 2, "x-expected": "[low, high] (two numbers) or null"}
_HW = {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2,
       "maxItems": 2, "x-expected": "[height, width] (two positive integers)"}


def _obj(props: dict[str, Any], required: Iterable[str] = (), *, closed: bool = True,
         nullable: bool = False, expected: str = "an object") -> dict[str, Any]:
    return {
        "type": ["object", "null"] if nullable else "object",
        "properties": props,
        "required": list(required),
        "additionalProperties": not closed,
        "x-expected": expected + (" or null" if nullable else ""),
    }


SUBMISSION_SCHEMA: dict[str, Any] = _obj(
    {
        "schema_version": {"const": 1, "x-expected": "1"},
        "name": {"type": "string", "minLength": 1, "maxLength": 120,
                 "x-expected": "a non-empty model name (at most 120 characters)"},
        "authors": _TEXT,
        "organisation": _TEXT,
        "links": _obj({"paper": _URL, "code": _URL}, ["paper", "code"]),
        "training_data": _obj(
            {"name": _TEXT,
             "size": {"type": ["integer", "null"], "minimum": 1, "maximum": 10**12,
                      "x-expected": "the number of training clips, or null"}},
            ["name", "size"], nullable=True),
        "parameters": {"type": ["integer", "null"], "minimum": 1, "maximum": 10**13,
                       "x-expected": "the parameter count as an integer, or null"},
        "audio_window_s": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 3600,
                           "x-expected": "the audio window in seconds (> 0), or null"},
        "training_seed": {"type": ["integer", "null"], "minimum": 0, "maximum": 2**63 - 1,
                          "x-expected": "the training run's seed (an integer >= 0), or null"},
        "date": {"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$",
                 "x-expected": "a date YYYY-MM-DD (or YYYY-MM, YYYY)"},
        "protocol": {"enum": list(PROTOCOLS), "x-expected": f"one of {list(PROTOCOLS)}"},
        "source": {"enum": list(SOURCES), "x-expected": f"one of {list(SOURCES)}"},
        "dataset": {"enum": list(DATASETS), "x-expected": f"one of {list(DATASETS)}"},
        "reported_in": _URL,
        "model_kind": {"enum": ["reference", "trained", None],
                       "x-expected": "'reference' (no learning), 'trained' or null"},
        "notes": {"type": ["string", "null"], "maxLength": 2000,
                  "x-expected": "a string or null"},
        "avatar_bench_version": _TEXT,
    },
    ["schema_version", "name", "links", "date", "protocol", "source", "dataset"],
)

_METRIC_ROW = _obj(
    {
        "ciou": _PERCENT, "auc": _PERCENT, "ap50": _PERCENT, "n_frames": _COUNT,
        "ci": _obj({k: _INTERVAL for k in METRIC_FIELDS}, nullable=True),
    },
    nullable=True, closed=False,
)

RESULTS_SCHEMA: dict[str, Any] = _obj(
    {
        "schema_version": {"const": 1, "x-expected": "1"},
        "avatar_bench_version": _TEXT,
        "dataset": _obj(
            {"name": {"enum": list(DATASETS), "x-expected": f"one of {list(DATASETS)}"},
             "revision": _TEXT,
             "annotation_sha256": {"type": ["string", "null"], "pattern": r"^[0-9a-f]{64}$",
                                   "x-expected": "a sha256 hex digest or null"},
             "n_frames": _COUNT, "n_videos": _COUNT},
            ["name"], closed=False),
        "predictions": _obj(
            {"file": {"type": "string", "x-expected": "the predictions file name"},
             "sha256": {"type": "string", "pattern": r"^[0-9a-f]{64}$",
                        "x-expected": "a sha256 hex digest"},
             "meta": {"type": ["object", "null"], "x-expected": "an object or null"},
             "heatmap_size": _HW, "n_maps": _COUNT},
            ["file", "sha256"], nullable=True, closed=False),
        "protocol": _obj(
            {"name": {"enum": list(PROTOCOLS), "x-expected": f"one of {list(PROTOCOLS)}"},
             "resolution": _HW,
             "top_percent": {"type": ["number", "null"], "exclusiveMinimum": 0,
                             "maximum": 100, "x-expected": "a percentage or null"},
             "bootstrap": {"type": ["object", "null"], "x-expected": "an object or null"}},
            ["name"], closed=False),
        "thresholds": _obj({"main": {"type": ["number", "null"], "x-expected": "a number or null"},
                            "dagger": {"type": ["number", "null"],
                                       "x-expected": "a number or null"}},
                           nullable=True, closed=False),
        "metrics": _obj({k: _METRIC_ROW for k in METRIC_ROWS}, closed=False),
        "off_screen": _obj(
            {"tn": _PERCENT, "tn_dagger": _PERCENT, "n_frames": _COUNT,
             "ci": _obj({"tn": _INTERVAL, "tn_dagger": _INTERVAL}, nullable=True)},
            nullable=True, closed=False),
    },
    ["schema_version", "dataset", "protocol", "metrics"],
    closed=False,
)


def _path(error: ValidationError) -> str:
    parts = []
    for p in error.absolute_path:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or "<root>"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(where: str, error: ValidationError) -> str:
    path = _path(error)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = missing if path == "<root>" else f"{path}.{missing}"
        return f"{where}: field '{field}' is missing"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        prefix = "" if path == "<root>" else path + "."
        names = ", ".join(f"'{prefix}{e}'" for e in extra)
        return f"{where}: unknown field {names} (known: {', '.join(allowed)})"
    expected = error.schema.get("x-expected")
    if error.validator in ("minItems", "maxItems", "type", "pattern", "enum", "const",
                           "minimum", "maximum", "exclusiveMinimum", "minLength",
                           "maxLength") and expected is None:
        expected = error.message
    if error.validator == "type" and error.relative_schema_path and \
            error.relative_schema_path[0] == "items":
        expected = "a number"
    return f"{where}: field '{path}': expected {expected or error.message}, got " \
           f"{_shown(error.instance)}"


def schema_problems(data: Any, schema: dict[str, Any], where: str) -> list[str]:
    """Every schema violation in ``data``, as messages naming ``where`` and the field path."""
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)),
                                                                 e.validator))
    return [_message(where, e) for e in errors]


def cross_problems(submission: dict[str, Any], results: dict[str, Any], sub_where: str,
                   res_where: str) -> list[str]:
    """Checks across the two files that a schema cannot express (run after both pass)."""
    problems = []
    ds = (results.get("dataset") or {}).get("name")
    if ds != submission.get("dataset"):
        problems.append(f"{res_where}: field 'dataset.name': expected {submission.get('dataset')!r}"
                        f" (the dataset in {sub_where}), got {ds!r}")
    proto = (results.get("protocol") or {}).get("name")
    if proto != submission.get("protocol"):
        problems.append(f"{res_where}: field 'protocol.name': expected "
                        f"{submission.get('protocol')!r} (the protocol in {sub_where}), "
                        f"got {proto!r}")
    if submission.get("source") == "reproduced":
        if results.get("predictions") is None:
            problems.append(f"{res_where}: field 'predictions': expected the predictions record "
                            "(a reproduced row is computed here from a predictions file), "
                            "got None")
        ds_rec = results.get("dataset") or {}
        found = revision_problem(ds_rec.get("name"), ds_rec.get("revision"),
                                 ds_rec.get("annotation_sha256"))
        if found:
            problems.append(f"{res_where}: field 'dataset.revision': a reproduced row must cite "
                            f"a dataset release avatar-bench knows: expected {found}")
    problems += interval_problems(results, res_where)
    return problems


def _leaves(data: Any) -> Iterator[tuple[str, int, Any, bool]]:
    """(path, depth, value, is_key) for every node, iteratively (no recursion on hostile depth)."""
    stack: list[tuple[str, int, Any]] = [("", 0, data)]
    while stack:
        path, depth, value = stack.pop()
        yield path or "<root>", depth, value, False
        if depth > MAX_DEPTH:
            continue
        if isinstance(value, dict):
            for k, v in value.items():
                child = f"{path}.{k}" if path else str(k)
                yield child, depth + 1, k, True
                stack.append((child, depth + 1, v))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", depth + 1, v) for i, v in enumerate(value))


def _text_problem(text: str, multiline: bool) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text without unpaired surrogates"
    if len(text) > MAX_STRING:
        return f"text of at most {MAX_STRING} characters"
    bad = (_CONTROL_MULTILINE if multiline else _CONTROL).search(text)
    if bad:
        what = "line breaks, " if not multiline and bad.group() in "\n\r\u2028\u2029" else ""
        return (f"text without {what}control or bidi-override characters "
                f"(found U+{ord(bad.group()):04X})")
    return None


def value_problems(data: Any, where: str) -> list[str]:
    """What no page can show: non-finite numbers, control/bidi characters, deep nesting."""
    problems = []
    for path, depth, value, is_key in _leaves(data):
        if depth > MAX_DEPTH:
            problems.append(f"{where}: field '{path}': expected at most {MAX_DEPTH} levels of "
                            "nesting")
            break
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{where}: field '{path}': expected a finite number, got {value}")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
            problems.append(f"{where}: field '{path}': expected an integer of at most 2**53 "
                            f"(what a browser holds exactly), got {_shown(value)}")
        elif isinstance(value, str):
            multiline = not is_key and path.rsplit(".", 1)[-1] in MULTILINE_FIELDS
            found = _text_problem(value, multiline)
            if found:
                label = "key" if is_key else "field"
                problems.append(f"{where}: {label} '{path}': expected {found}, got "
                                f"{_shown(value)}")
    return problems


def date_problems(submission: Any, where: str) -> list[str]:
    """``date`` is a real calendar date (the schema only checks its shape)."""
    text = submission.get("date") if isinstance(submission, dict) else None
    if not isinstance(text, str):
        return []
    parts = [int(p) for p in text.split("-") if p.isdigit()]
    try:
        date(parts[0], *(parts[1:] + [1, 1])[:2])
    except (ValueError, IndexError):
        return [f"{where}: field 'date': expected a calendar date, got {text!r}"]
    return []


def _values(results: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """(field, value, interval) for every interval the results carry."""
    for row in METRIC_ROWS:
        entry = (results.get("metrics") or {}).get(row) or {}
        for field, ci in (entry.get("ci") or {}).items():
            yield f"metrics.{row}.ci.{field}", entry.get(field), ci
    off = results.get("off_screen") or {}
    for field, ci in (off.get("ci") or {}).items():
        yield f"off_screen.ci.{field}", off.get(field), ci


def interval_problems(results: dict[str, Any], res_where: str) -> list[str]:
    """Each interval lies in [0, 100], has low <= high, and contains its own value."""
    problems = []
    for field, value, ci in _values(results):
        if not (isinstance(ci, list) and len(ci) == 2
                and all(isinstance(v, (int, float)) for v in ci)):
            continue
        low, high = ci
        if not (0 <= low <= 100 and 0 <= high <= 100):
            problems.append(f"{res_where}: field '{field}': expected an interval within "
                            f"[0, 100], got {ci}")
        elif low > high:
            problems.append(f"{res_where}: field '{field}': expected low <= high, got {ci}")
        elif value is None:
            problems.append(f"{res_where}: field '{field}': expected no interval for a "
                            f"missing value, got {ci}")
        elif isinstance(value, (int, float)) and not low <= value <= high:
            problems.append(f"{res_where}: field '{field}': expected an interval containing "
                            f"the value {value}, got {ci}")
    return problems
