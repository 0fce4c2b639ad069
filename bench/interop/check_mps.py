#!/usr/bin/env python3
"""Read a (free) MPS file with HiGHS (highspy), solve it, compare the optimum with cvxcnn's.

    python bench/interop/check_mps.py FILE.mps EXPECTED [--rtol 1e-6] [--verbose]

Prints one JSON line {"reader": "highs", "objective", "expected", "rel_diff", "status", ...};
exit 0 if HiGHS reports Optimal and |obj - expected| <= rtol*max(1,|expected|), 1 otherwise,
2 for usage errors.

What HiGHS does with the file (checked on highspy 1.16.0, see README.md):
  * QUADOBJ entries (one triangle of Q) give the objective term ½ xᵀQx (QMATRIX: both triangles).
  * A RHS entry on the objective (N) row is read as MINUS the objective constant:
    `RHS  obj  -5` means objective = cᵀx + ½xᵀQx + 5 (HiGHS's Lp.offset_ = 5).  This is the usual
    CPLEX/Gurobi reading.  HiGHS's reported objective_function_value includes that offset.
  * HiGHS chooses its reader from the file name, so a file not ending in `.mps` is read through a
    symlink that does.
"""

from __future__ import annotations

import os
import sys
import tempfile

sys.dont_write_bytecode = True  # keep bench/interop/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_common import fail, parse_args, report, stdout_to_stderr  # noqa: E402

READER = "highs"


def main() -> int:
    args = parse_args(__doc__.splitlines()[0], "free-format MPS file (QUADOBJ allowed)")
    try:
        import highspy
    except ImportError as e:  # environment problem, not a usage error
        return fail(READER, args.file, args.expected, args.rtol, "error", f"cannot import highspy: {e}")

    with tempfile.TemporaryDirectory(prefix="check_mps_") as tmp, stdout_to_stderr():
        path = os.path.abspath(args.file)
        if not (path.endswith(".mps") or path.endswith(".mps.gz")):
            link = os.path.join(tmp, "model.mps")
            os.symlink(path, link)
            path = link

        h = highspy.Highs()
        h.setOptionValue("output_flag", bool(args.verbose))
        read_status = h.readModel(path)
        if read_status == highspy.HighsStatus.kError:
            result = ("read_error", None, f"HiGHS could not read {args.file}")
        else:
            lp = h.getLp()
            hess = h.getModel().hessian_
            info = {
                "read_status": "ok" if read_status == highspy.HighsStatus.kOk else "warning",
                "num_col": int(lp.num_col_),
                "num_row": int(lp.num_row_),
                "hessian_nnz": int(len(hess.index_)) if hess.dim_ > 0 else 0,
                "offset": float(lp.offset_),
                "sense": "max" if lp.sense_ == highspy.ObjSense.kMaximize else "min",
            }
            run_status = h.run()
            model_status = h.getModelStatus()
            status = h.modelStatusToString(model_status)
            optimal = run_status != highspy.HighsStatus.kError and model_status == highspy.HighsModelStatus.kOptimal
            # HiGHS's objective value means nothing when there is no optimum (e.g. 0.0 if infeasible)
            objective = float(h.getInfo().objective_function_value) if optimal else None
            result = (status, (objective, optimal, info), None)

    status, solved, error = result
    if solved is None:
        return fail(READER, args.file, args.expected, args.rtol, status, error)
    objective, optimal, info = solved
    return report(READER, args.file, objective, args.expected, args.rtol, status, optimal, **info)


if __name__ == "__main__":
    sys.exit(main())
