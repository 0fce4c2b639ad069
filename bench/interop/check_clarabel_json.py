#!/usr/bin/env python3
"""Load a Clarabel JSON problem with the Python package, solve it, compare with cvxcnn's optimum.

    python bench/interop/check_clarabel_json.py FILE.json EXPECTED [--rtol 1e-6] [--offset C]
                                                 [--default-settings] [--verbose]

The file is what Rust `clarabel::solver::DefaultSolver::save_to_file` writes (crate feature
`serde`, on by default): {"P": csc, "q": [...], "A": csc, "b": [...], "cones": [...],
"settings": {...}} with csc = {"m", "n", "colptr", "rowval", "nzval"} and cones like
{"NonnegativeConeT": 3}.  It is loaded by `clarabel.load_from_file(path, settings=None)`
(Python clarabel 0.11.1; the Python package itself has no save_to_file).

The format has no objective constant: pass cvxcnn's constant as --offset (added to Clarabel's
obj_val), or give EXPECTED without it.  By default the solver settings stored in the file are
used (logging is captured, never printed on stdout); --default-settings uses the Python
package's defaults instead.

Prints one JSON line {"reader": "clarabel-python", "objective", "expected", "rel_diff", "status", ...};
exit 0 if the status is Solved and |obj - expected| <= rtol*max(1,|expected|), 1 otherwise,
2 for usage errors.
"""

from __future__ import annotations

import math
import os
import sys

sys.dont_write_bytecode = True  # keep bench/interop/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_common import fail, parse_args, report, stdout_to_stderr  # noqa: E402

READER = "clarabel-python"


def extra_args(p):
    p.add_argument("--offset", type=float, default=0.0,
                   help="objective constant not stored in the file, added to Clarabel's obj_val")
    p.add_argument("--default-settings", action="store_true",
                   help="solve with clarabel.DefaultSettings() instead of the settings in the file")


def main() -> int:
    args = parse_args(__doc__.splitlines()[0], "JSON written by Rust DefaultSolver::save_to_file", extra_args)
    if not math.isfinite(args.offset):
        print("check_clarabel_json.py: error: --offset must be finite", file=sys.stderr)
        return 2
    try:
        import clarabel
    except ImportError as e:
        return fail(READER, args.file, args.expected, args.rtol, "error", f"cannot import clarabel: {e}")

    with stdout_to_stderr():
        try:
            if args.default_settings:
                settings = clarabel.DefaultSettings()
                settings.verbose = bool(args.verbose)
                solver = clarabel.load_from_file(args.file, settings)
            else:
                solver = clarabel.load_from_file(args.file)
            if not args.verbose:
                solver.print_to_buffer()  # the file's settings may say verbose=true
            settings_used = solver.get_settings()
            sol = solver.solve()
            err = None
        except Exception as e:  # malformed JSON, inconsistent dimensions, ...
            err = f"{type(e).__name__}: {e}"
    if err is not None:
        return fail(READER, args.file, args.expected, args.rtol, "read_error", err)

    objective = float(sol.obj_val) + args.offset
    return report(READER, args.file, objective, args.expected, args.rtol, str(sol.status),
                  sol.status == clarabel.SolverStatus.Solved, offset=args.offset,
                  settings="default" if args.default_settings else "file",
                  direct_solve_method=str(settings_used.direct_solve_method),
                  n=len(sol.x), m=len(sol.s), iterations=int(sol.iterations))


if __name__ == "__main__":
    sys.exit(main())
