#!/usr/bin/env python3
"""Every export format read back by a program cvxcnn did not write, on real cvxcnn problems.

For each problem: `cvxcnn solve` gives the optimum; `cvxcnn export` writes CBF, MPS (QP-only
programs) and Clarabel JSON; the independent checkers (HiGHS for MPS, MOSEK's reader + Python
Clarabel for CBF, Python Clarabel's loader for Clarabel JSON) solve the files, and their optima
must match. Also checks that exports are byte-identical across two runs and that
`cvxcnn solve-file` on the CBF/MPS file reproduces the optimum.

    python3 bench/interop/check_exports.py [--binary target/release/cvxcnn] [--rtol 1e-6]
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
HERE = pathlib.Path(__file__).resolve().parent

# (problem, QP-only?) — l2 problems have second-order cones, logistic ones exponential cones, so
# no MPS.
PROBLEMS = [
    ("bench/digits40.json", False),
    ("bench/interop_compressed.json", False),
    ("bench/interop_l1.json", True),
    ("bench/interop_compressed_l1.json", True),
    # Classification losses: logistic has exponential cones (CBF EXP, no MPS); hinge + l1 is an LP.
    ("bench/interop_logistic.json", False),
    ("bench/interop_hinge_l1.json", True),
]
CHECKERS = {"cbf": "check_cbf.py", "mps": "check_mps.py", "clarabel-json": "check_clarabel_json.py"}
SUFFIX = {"cbf": ".cbf", "mps": ".mps", "clarabel-json": ".json"}


def run(cmd):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=str(ROOT / "target/release/cvxcnn"))
    ap.add_argument("--rtol", type=float, default=1e-6)
    args = ap.parse_args()
    passed = failed = 0

    def record(ok, what, detail):
        nonlocal passed, failed
        passed += ok
        failed += not ok
        print(f"| {what} | {'pass' if ok else 'FAIL'} | {detail} |")

    print("| check | result | detail |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for prob, qp in PROBLEMS:
            name = pathlib.Path(prob).stem
            out = run([args.binary, "solve", ROOT / prob, "--quiet"])
            if out.returncode != 0:
                record(False, f"{name}: solve", out.stderr.strip())
                continue
            expected = json.loads(out.stdout)["objective"]
            formats = ["cbf", "clarabel-json"] + (["mps"] if qp else [])
            for fmt in formats:
                files = [tmp / f"{name}{i}{SUFFIX[fmt]}" for i in (1, 2)]
                for f in files:
                    e = run([args.binary, "export", ROOT / prob, "--format", fmt, "--out", f, "--quiet"])
                    if e.returncode != 0:
                        record(False, f"{name}: export {fmt}", e.stderr.strip())
                        break
                else:
                    same = files[0].read_bytes() == files[1].read_bytes()
                    record(same, f"{name}: {fmt} byte-identical", f"{files[0].stat().st_size} bytes")
                    c = run([sys.executable, HERE / CHECKERS[fmt], files[0], repr(expected), "--rtol", str(args.rtol)])
                    try:
                        line = json.loads(c.stdout.strip().splitlines()[-1])
                        detail = f"{line.get('reader')}: {line.get('objective')} vs {expected} (rel {line.get('rel_diff')})"
                    except (ValueError, IndexError):
                        detail = (c.stdout + c.stderr).strip()[-300:]
                    record(c.returncode == 0, f"{name}: {fmt} read by another program", detail)
                    if fmt in ("cbf", "mps"):
                        s = run([args.binary, "solve-file", files[0]])
                        ok = s.returncode == 0
                        detail = s.stderr.strip()
                        if ok:
                            obj = json.loads(s.stdout)["objective"]
                            diff = abs(obj - expected) / max(1.0, abs(expected))
                            ok = diff <= args.rtol
                            detail = f"{obj} vs {expected} (rel {diff:.1e})"
                        record(ok, f"{name}: cvxcnn solve-file {fmt}", detail)
            if not qp:
                m = run([args.binary, "export", ROOT / prob, "--format", "mps", "--out", tmp / "refused.mps", "--quiet"])
                ok = m.returncode != 0 and "cbf" in m.stderr and not (tmp / "refused.mps").exists()
                record(ok, f"{name}: MPS refused for a cone program", m.stderr.strip())
    print(f"interop: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
