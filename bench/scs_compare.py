#!/usr/bin/env python3
"""First-order solvers side by side on one reduced program (issue 5's speed target).

    python3 bench/scs_compare.py [bench/digits340.json] [--eps 1e-3,1e-4,1e-5] [--out FILE]

1. `cvxcnn export --format clarabel-json` writes the reduced program `solve` would hand to Clarabel.
2. Python Clarabel solves it (the reference optimum, and its time).
3. SCS (`scs` package, default settings incl. Anderson acceleration) solves the *same* data once per
   `eps` (eps_abs = eps_rel); the time is SCS's setup + solve time.
4. `examples/first_order_bench` runs cvxcnn's ADMM augmented Lagrangian on the same prepared problem,
   with its certifying polish and as the ADMM alone, each stopping by its own certified duality gap
   at 1e-4 and 1e-5; its trace also gives the first time
   the objective came within 1e-4 / 1e-5 of Clarabel's optimum with violation ≤ 1e-6.

Relative gap = |objective − Clarabel's| / Clarabel's. Run it on a quiet machine (`uptime` is printed).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import clarabel
import numpy as np
import scipy.sparse as sp
import scs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sparse(d):
    return sp.csc_matrix(
        (np.array(d["nzval"], float), np.array(d["rowval"]), np.array(d["colptr"])),
        shape=(d["m"], d["n"]),
    )


def scs_data(prog):
    """Clarabel's {P, q, A, b, cones} → SCS's data (rows regrouped as zero, nonnegative, SOC)."""
    a = sparse(prog["A"]).tocsr()
    b = np.array(prog["b"], float)
    groups = {"z": [], "l": [], "q": []}
    socs = []
    row = 0
    for cone in prog["cones"]:
        ((kind, dim),) = cone.items()
        rows = list(range(row, row + dim))
        row += dim
        if kind == "ZeroConeT":
            groups["z"] += rows
        elif kind == "NonnegativeConeT":
            groups["l"] += rows
        elif kind == "SecondOrderConeT":
            groups["q"] += rows
            socs.append(dim)
        else:
            raise SystemExit(f"cone {kind} not handled by this script")
    order = groups["z"] + groups["l"] + groups["q"]
    data = {
        "P": sp.triu(sparse(prog["P"])).tocsc(),
        "A": a[order].tocsc(),
        "b": b[order],
        "c": np.array(prog["q"], float),
    }
    cone = {"z": len(groups["z"]), "l": len(groups["l"]), "q": socs}
    return data, cone


def first_time(trace, ref, tol, viol=1e-6):
    for t in trace:
        if abs(t["objective"] - ref) <= tol * abs(ref) and t["violation"] <= viol:
            return t["seconds"], t["iterations"]
    return None, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("problem", nargs="?", default="bench/digits340.json")
    ap.add_argument("--eps", default="1e-3,1e-4,1e-5")
    ap.add_argument("--out")
    args = ap.parse_args()
    os.chdir(ROOT)
    uptime = open("/proc/loadavg").read().split()[:3]
    print(f"load average {' '.join(uptime)}; scs {scs.__version__}, clarabel {clarabel.__version__}")
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--bin", "cvxcnn", "--example", "first_order_bench"],
        check=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "program.json")
        subprocess.run(
            ["target/release/cvxcnn", "export", args.problem, "--format", "clarabel-json", "--out", path, "--quiet"],
            check=True,
        )
        with open(path) as f:
            prog = json.load(f)
        t = time.perf_counter()
        solver = clarabel.load_from_file(path)
        sol = solver.solve()
        clarabel_s = time.perf_counter() - t
    ref = sol.obj_val
    print(f"Clarabel (Python, same file): {sol.status} {ref:.10f} in {clarabel_s:.2f} s ({sol.iterations} iterations)")

    data, cone = scs_data(prog)
    scs_runs = []
    for eps in [float(e) for e in args.eps.split(",")]:
        s = scs.SCS(data, cone, eps_abs=eps, eps_rel=eps, max_iters=1_000_000, verbose=False)
        out = s.solve()
        info = out["info"]
        secs = (info["setup_time"] + info["solve_time"]) / 1000.0
        gap = abs(info["pobj"] - ref) / abs(ref)
        scs_runs.append({"eps": eps, "seconds": secs, "iterations": info["iter"], "objective": info["pobj"],
                         "rel_gap": gap, "res_pri": info["res_pri"], "status": info["status"]})
        print(f"SCS eps {eps:.0e}: {info['status']}, rel gap {gap:.1e} in {secs:.2f} s ({info['iter']} iterations, res_pri {info['res_pri']:.1e})")

    run = subprocess.run(["target/release/examples/first_order_bench", args.problem, "--tol-gap", "1e-4,1e-5"],
                         check=True, capture_output=True, text=True)
    al = json.loads(run.stdout)
    rows = []
    for r in al["al"]:
        gap = abs(r["objective"] - ref) / abs(ref)
        label = "AL (ADMM + polish)" if r.get("polish", True) else "AL (ADMM alone)"
        print(f"cvxcnn {label}, certified gap {r['tol_gap']:.0e}: {r['stop']}, rel gap to Clarabel {gap:.1e} in "
              f"{r['seconds']:.2f} s ({r['iterations']} iterations, violation {r['violation']:.1e}, full {r['full_violation']:.1e})")
        for tol in (1e-4, 1e-5):
            s, k = first_time(r["trace"], ref, tol)
            if s is not None:
                print(f"    trace: within {tol:.0e} of Clarabel (violation ≤ 1e-6) at {s:.2f} s, iteration {k}")
        rows.append({**{k: v for k, v in r.items() if k != "trace"}, "rel_gap": gap,
                     "first_within": {str(tol): first_time(r["trace"], ref, tol) for tol in (1e-4, 1e-5)}})
    print(f"Clarabel (Rust, cvxcnn solve): {al['clarabel']}")
    result = {"problem": args.problem, "load_average": uptime, "clarabel_python": {"objective": ref, "seconds": clarabel_s,
              "iterations": sol.iterations}, "scs": scs_runs, "al": rows, "clarabel_rust": al["clarabel"],
              "n": al["n"], "patterns": al["patterns"], "threads": al["threads"]}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
