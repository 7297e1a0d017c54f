"""Peak resident memory of the current process image, for the benchmark scripts."""

from __future__ import annotations

import resource


def own_peak_mb() -> float:
    """This process image's peak RSS (VmHWM) in MiB. Not ru_maxrss: Linux carries that across
    fork + exec, so a child process would report its parent's peak when the parent was larger."""
    try:
        with open("/proc/self/status") as fh:
            return int(fh.read().split("VmHWM:")[1].split()[0]) / 1024
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
