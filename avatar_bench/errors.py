"""The one exception type of avatar-bench.

Library code raises ``AvatarBenchError`` with enough context (file, key, field, what was
expected) for a user to fix the input; the CLI turns it into a message and exit code 2.
"""

from __future__ import annotations


class AvatarBenchError(Exception):
    """A user-facing error: bad input, missing data, or an impossible request.

    ``problems`` holds every problem found when a check reports several at once
    (validation lists all of them rather than stopping at the first).
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])

    def __str__(self) -> str:
        base = super().__str__()
        if not self.problems:
            return base
        return base + "\n" + "\n".join(f"  - {p}" for p in self.problems)
