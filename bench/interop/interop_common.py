"""Shared plumbing for the bench/interop/check_*.py readers.

Each checker reads one exported file with a program cvxcnn did not write, solves it,
and prints exactly one JSON line on stdout:

    {"reader": ..., "objective": ..., "expected": ..., "rel_diff": ..., "status": ..., ...}

Exit codes: 0 = the reader's status is optimal and |objective - expected| <= rtol * max(1, |expected|);
1 = anything else (mismatch, non-optimal status, the file could not be read or solved);
2 = usage error (bad arguments, missing file).

Native solver libraries print banners/logs on file descriptor 1; `stdout_to_stderr()` points fd 1
at stderr while they run so stdout carries only the JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from typing import Any, Callable, Iterator


def parse_args(description: str, file_help: str, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("file", help=file_help)
    p.add_argument("expected", type=float, help="cvxcnn's optimal objective value (including any constant)")
    p.add_argument("--rtol", type=float, default=1e-6, help="pass if |obj-expected| <= rtol*max(1,|expected|) (default 1e-6)")
    p.add_argument("--verbose", action="store_true", help="let the solver log (to stderr)")
    if extra is not None:
        extra(p)
    args = p.parse_args()
    if not math.isfinite(args.expected):
        p.error("EXPECTED must be a finite number")
    if not (args.rtol >= 0.0 and math.isfinite(args.rtol)):
        p.error("--rtol must be a finite number >= 0")
    if not os.path.isfile(args.file):
        p.error(f"no such file: {args.file}")  # exits 2
    return args


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send everything written to fd 1 (Python or native code) to stderr until the block ends."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _num(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None  # JSON has no NaN/inf
    return x


def report(reader: str, file: str, objective: float | None, expected: float, rtol: float,
           status: str, optimal: bool, **extra: Any) -> int:
    """Print the JSON line and return the exit code."""
    if objective is None or not math.isfinite(objective):
        rel_diff = None
        close = False
    else:
        rel_diff = abs(objective - expected) / max(1.0, abs(expected))
        close = rel_diff <= rtol
    ok = bool(optimal and close)
    line = {
        "reader": reader,
        "objective": _num(objective),
        "expected": expected,
        "rel_diff": _num(rel_diff),
        "status": status,
        "rtol": rtol,
        "pass": ok,
        "file": file,
    }
    for k, v in extra.items():
        line[k] = _num(v) if isinstance(v, float) else v
    print(json.dumps(line), flush=True)
    return 0 if ok else 1


def fail(reader: str, file: str, expected: float, rtol: float, status: str, error: str) -> int:
    """Report a file that could not be read or solved (exit 1)."""
    return report(reader, file, None, expected, rtol, status, False, error=error)
