#!/usr/bin/env python3
"""Every shipped problem, solved and its certificate re-checked by bench/verify_certificate.py.

    python3 bench/verify_shipped.py [--binary target/release/cvxcnn] [--jobs 1] [--timeout 120]

What CI runs (.ci/run) to show that every certificate cvxcnn writes can be re-checked without it:
1. `cvxcnn solve P --out R --quiet` for every `problems/*.json` (one at a time by default: a solve
   keeps both cores busy already), then the checker on `R`. A solve that fails or runs over
   `--timeout` seconds is reported as not checked, with the reason (a failing solve is the other
   tests' business; none is expected, and the slowest, digits_ovr, takes ~40 s).
2. The other file layouts the checker accepts: `cvxcnn certify` of a two-layer, a circular and a
   three-layer problem; `certify --network` (the `{"network", "optimum"}` pair, with the network file
   so its objective is recomputed); and `certify` of a small one-vs-rest problem.
3. bench/tamper_certificate.py on one certificate of every kind (ReLU sum, max, ℓ1, linear,
   circular, three-layer, one-vs-rest, the network/optimum pair): every tampered copy must be
   rejected.
Prints each check's output, then `evidence: N passed, M failed`; exits 1 when one failed.
Files go to target/evidence/.
"""
import argparse
import concurrent.futures
import json
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TAMPER = ["signal_exact", "digits_max", "digits_l1", "digits_linear", "circular_bias", "three_layer",
          "digits_ovr"]


def solve(binary, problem, out, timeout, command="solve", extra=()):
    """(ok, seconds, reason)."""
    t = time.perf_counter()
    try:
        p = subprocess.run([binary, command, str(problem), "--out", str(out), "--quiet", *extra],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, time.perf_counter() - t, f"ran over {timeout} s"
    secs = time.perf_counter() - t
    if p.returncode != 0:
        return False, secs, f"cvxcnn {command} exited {p.returncode}: {p.stderr.strip()}"
    return True, secs, ""


def check(*args):
    """Runs the checker (or another bench script); prints its output; True when it passed."""
    script = args[0]
    p = subprocess.run([sys.executable, str(BENCH / script), *map(str, args[1:])],
                       capture_output=True, text=True)
    sys.stdout.write(p.stdout)
    if p.stderr:
        sys.stdout.write(p.stderr)
    return p.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=str(ROOT / "target/release/cvxcnn"))
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--results", default=None,
                    help="folder of result files already written by this binary for the shipped "
                         "problems (NAME.json, e.g. by tests/golden.rs into "
                         "target/tmp/golden-results); those problems are checked, not solved again")
    args = ap.parse_args()
    given = pathlib.Path(args.results) if args.results else None
    out = ROOT / "target/evidence"
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    passed = failed = 0

    def record(ok):
        nonlocal passed, failed
        passed += ok
        failed += not ok

    problems = sorted((ROOT / "problems").glob("*.json"))
    ready = {p for p in problems if given is not None and (given / p.name).exists()}
    for p in ready:
        (out / p.name).write_bytes((given / p.name).read_bytes())
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = {p: pool.submit(solve, args.binary, p, out / p.name, args.timeout)
                for p in problems if p not in ready}
        for p in problems:
            if p in ready:
                ok, reason = True, ""
                how = f"result written by the golden tests in {given}"
            else:
                ok, secs, reason = runs[p].result()
                how = f"solved in {secs:.1f} s"
            if not ok:
                print(f"not checked: {p.relative_to(ROOT)}: {reason}")
                continue
            print(f"--- {p.relative_to(ROOT)} ({how})")
            record(check("verify_certificate.py", p, out / p.name))

    # The certify layouts.
    for name in ("signal_exact", "circular_exact", "three_layer"):
        p = ROOT / "problems" / f"{name}.json"
        cert = out / f"{name}.certificate.json"
        ok, secs, reason = solve(args.binary, p, cert, args.timeout, "certify")
        print(f"--- cvxcnn certify {p.relative_to(ROOT)}" + (f": {reason}" if not ok else ""))
        record(ok and check("verify_certificate.py", p, cert))
    # certify --network: the decoded network of signal_exact, its weights scaled by 0.9.
    result = json.loads((out / "signal_exact.json").read_text())
    net = out / "signal_exact.network.json"
    net.write_text(json.dumps({"filters": [[0.9 * v for v in f] for f in result["filters"]],
                               "output_weights": [0.9 * w for w in result["output_weights"]]}))
    p = ROOT / "problems/signal_exact.json"
    pair = out / "signal_exact.pair.json"
    ok, _, reason = solve(args.binary, p, pair, args.timeout, "certify", ("--network", str(net)))
    print("--- cvxcnn certify problems/signal_exact.json --network (weights × 0.9)"
          + (f": {reason}" if not ok else ""))
    record(ok and check("verify_certificate.py", p, pair, "--network", net))
    # certify of a one-vs-rest problem: digits_ovr.json on 60 samples and 12 gates.
    small = json.loads((ROOT / "problems/digits_ovr.json").read_text())
    for k in ("inputs", "targets", "test_inputs", "test_targets"):
        small[k] = str(ROOT / "problems" / small[k])
    small["max_samples"] = 60
    small["arrangements"] = {"mode": "sample", "count": 12, "seed": 0}
    p = out / "ovr_small.json"
    p.write_text(json.dumps(small))
    cert = out / "ovr_small.certificate.json"
    ok, _, reason = solve(args.binary, p, cert, args.timeout, "certify")
    print("--- cvxcnn certify (digits_ovr.json on 60 samples, 12 gates)" + (f": {reason}" if not ok else ""))
    record(ok and check("verify_certificate.py", p, cert))

    # The checker can fail.
    for name in TAMPER:
        r = out / f"{name}.json"
        if not r.exists():
            print(f"not tampered: {name}: no result (see above)")
            continue
        print(f"--- tampering with {name}.json")
        record(check("tamper_certificate.py", ROOT / "problems" / f"{name}.json", r))
    print("--- tampering with the network/optimum pair")
    record(pair.exists() and check("tamper_certificate.py", ROOT / "problems/signal_exact.json", pair))

    print(f"({time.perf_counter() - start:.0f} s)")
    print(f"evidence: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
