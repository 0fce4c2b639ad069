#!/usr/bin/env python3
"""Shows that bench/verify_certificate.py can fail: tampers with a valid certificate and asserts
that every tampered copy is rejected.

    python3 bench/tamper_certificate.py PROBLEM.json RESULT_OR_CERTIFICATE.json

The untampered file must pass. Then, on the file's first certificate, one change at a time:
the dual point perturbed (random, 1e-4 of its size); the multiplier entry whose
inequality needs it most dropped; every multiplier's sign swapped; one multiplier made negative;
the certificate's β lowered (against the same problem); the problem's β lowered with the
certificate claiming it too (the inequalities must then exceed it); `lower_bound` raised by 1e-7
(relative); and, for a result file, one output weight changed by 1 %. Each must be rejected
(a FAIL line or an input error). Prints one line per tampering and exits non-zero when one is
accepted. (Scaling the dual point up is not among them: the checker shrinks u back into the
feasible set, and when the scaled inequalities are the binding ones that recovers the claimed
bound, which is then rightly accepted.) Linear-activation certificates have no multipliers; the multiplier tamperings are
skipped for them, with a line that says so.
"""
import copy
import io
import json
import pathlib
import sys
import tempfile

import numpy as np

sys.dont_write_bytecode = True  # no bench/__pycache__ left behind
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import verify_certificate as vc  # noqa: E402


def run(prob, doc):
    """(rejected, first failure line) of the checker on `doc`."""
    out = io.StringIO()
    try:
        failures = vc.verify_doc(prob, doc, "tampered", out=out)
    except vc.InputError as e:
        return True, f"input error: {e}"
    lines = [line.strip() for line in out.getvalue().splitlines() if "FAIL:" in line]
    return failures > 0, lines[0] if lines else "accepted"


def first(doc):
    """The first certificate of a file, its class and its result object (or None)."""
    label, cls, cert, result = vc.certificates_of(doc, "file")[0]
    return cert, cls, result if isinstance(result, dict) else None


def base_values(prob, cert, y):
    """Every inequality's value with α = 0, keyed (group, pattern, sign)."""
    bare = copy.deepcopy(cert)
    bare["evidence"]["multipliers"] = []
    _, values = vc.inequality_values(prob, bare, y, "bare", vc.Check())
    return values


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    problem_path, file_path = argv
    prob = vc.Problem(problem_path)
    doc = json.loads(pathlib.Path(file_path).read_text())
    rejected, why = run(prob, doc)
    if rejected:
        print(f"tamper_certificate.py: the untampered {file_path} fails already: {why}", file=sys.stderr)
        return 1
    print(f"ok   untampered {file_path} passes")
    cert, cls, result = first(doc)
    y = prob.targets(cls)
    beta = prob.beta
    rng = np.random.default_rng(0)
    cases = []

    def tamper(name, edit, problem=None):
        t = copy.deepcopy(doc)
        c, _, r = first(t)
        edit(t, c, r)
        cases.append((name, problem or prob, t))

    def perturb(t, c, r):
        u = np.array(c["evidence"]["dual_point"])
        c["evidence"]["dual_point"] = (u + 1e-4 * max(1e-3, np.abs(u).max()) * rng.standard_normal(len(u))).tolist()

    tamper("dual point perturbed", perturb)
    mults = cert["evidence"]["multipliers"]
    if mults:
        base = base_values(prob, cert, y)
        key = lambda m: (m.get("group"), m["pattern"], m["sign"])  # noqa: E731
        worst = max(range(len(mults)), key=lambda q: base[key(mults[q])])
        print(f"     (dropping multipliers[{worst}]: without it its inequality is "
              f"{base[key(mults[worst])] / beta:.3f} β)")
        tamper("the most needed multiplier dropped", lambda t, c, r: c["evidence"]["multipliers"].pop(worst))
        tamper("every multiplier's sign swapped",
               lambda t, c, r: [m.update(sign=-m["sign"]) for m in c["evidence"]["multipliers"]])
        tamper("a multiplier made negative",
               lambda t, c, r: c["evidence"]["multipliers"][0]["alpha"].__setitem__(
                   0, -c["evidence"]["multipliers"][0]["alpha"][0] - 1e-3))
    else:
        print("     (no multipliers in this certificate (linear activation): multiplier tamperings skipped)")
    tamper("certificate's beta lowered by 10 %", lambda t, c, r: c.update(beta=0.9 * c["beta"]))
    # The same data with a smaller β, and the certificate claiming that β: only the inequalities
    # (now above β) can tell.
    raw = json.loads(pathlib.Path(problem_path).read_text())
    base_dir = pathlib.Path(problem_path).resolve().parent
    for k in ("inputs", "targets", "test_inputs", "test_targets"):
        if k in raw:
            raw[k] = str(base_dir / raw[k])
    if isinstance(raw.get("arrangements"), dict) and "path" in raw["arrangements"]:
        raw["arrangements"]["path"] = str(base_dir / raw["arrangements"]["path"])
    raw["beta"] = 0.9 * raw["beta"]
    with tempfile.TemporaryDirectory() as tmp:
        small = pathlib.Path(tmp) / "problem.json"
        small.write_text(json.dumps(raw))
        prob_small = vc.Problem(small)
        tamper("problem's beta lowered by 10 %, certificate claiming it",
               lambda t, c, r: c.update(beta=raw["beta"]), problem=prob_small)
        tamper("lower_bound raised by 1e-7 (relative)",
               lambda t, c, r: c.update(lower_bound=c["lower_bound"] + 1e-7 * max(1.0, abs(c["lower_bound"])),
                                        gap=c["gap"] - 1e-7 * max(1.0, abs(c["lower_bound"]))))
        if result is not None and result.get("output_weights"):
            tamper("an output weight changed by 1 %",
                   lambda t, c, r: r["output_weights"].__setitem__(0, 1.01 * r["output_weights"][0]))
        accepted = 0
        for name, p, t in cases:
            rejected, why = run(p, t)
            accepted += not rejected
            print(f"{'ok  ' if rejected else 'FAIL'} {name}: {'rejected' if rejected else 'ACCEPTED'} ({why})")
            if name.startswith("problem's beta") and rejected and "recomputed bound" not in why \
                    and "exceeds" not in why and "shrunk" not in why:
                print(f"FAIL {name}: rejected, but not by its inequalities ({why})")
                accepted += 1
    print(f"tamper: {len(cases) - accepted} passed, {accepted} failed")
    return 1 if accepted else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
