#!/usr/bin/env python3
"""cvxcnn against the hand-written CVXPY + Clarabel reference, on the same problem file.

Runs `cvxcnn solve` (the release binary, whole process, wall clock) and `cvxpy_reference.py`
(whole script) on each problem, prints a table, and exits non-zero when the optima differ by more
than --rtol (relative) — so CI can use it as an independent check.

    python3 bench/compare.py bench/digits40.json [--repeat 3] [--rtol 1e-6]
"""
import argparse
import json
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def timed(cmd):
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        sys.exit(f"compare.py: {' '.join(map(str, cmd))} failed: {out.stderr.strip()}")
    return json.loads(out.stdout), wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("problems", nargs="+")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--binary", default=str(ROOT / "target/release/cvxcnn"))
    args = ap.parse_args()
    failed = 0
    print("| problem | patterns | cvxcnn objective | CVXPY objective | rel. diff | cvxcnn s | CVXPY s | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for prob in args.problems:
        ours = [timed([args.binary, "solve", prob, "--quiet"]) for _ in range(args.repeat)]
        ref = [timed([sys.executable, str(ROOT / "bench/cvxpy_reference.py"), prob, "--json"])
               for _ in range(args.repeat)]
        r, _ = ours[0]
        c, _ = ref[0]
        t_ours = min(w for _, w in ours)
        t_ref = min(w for _, w in ref)
        diff = abs(r["objective"] - c["objective"]) / max(1.0, abs(c["objective"]))
        if diff > args.rtol or r["arrangements"] != c["patterns"]:
            failed += 1
        print(f"| {pathlib.Path(prob).name} | {r['arrangements']} / {c['patterns']} | {r['objective']:.10f} "
              f"| {c['objective']:.10f} | {diff:.1e} | {t_ours:.3f} | {t_ref:.3f} | {t_ref / t_ours:.1f}× |")
    print(f"interop: {len(args.problems) - failed} passed, {failed} failed")
    if failed:
        sys.exit(f"compare.py: optima or pattern counts differ beyond rtol {args.rtol}")


if __name__ == "__main__":
    main()
