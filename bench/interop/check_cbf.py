#!/usr/bin/env python3
"""Read a CBF file with MOSEK's reader, rebuild it for Clarabel (Python), solve, compare with cvxcnn.

    python bench/interop/check_cbf.py FILE.cbf EXPECTED [--rtol 1e-6] [--verbose]

Prints one JSON line {"reader": "mosek+clarabel", "objective", "expected", "rel_diff", "status", ...};
exit 0 if Clarabel reports Solved and |obj - expected| <= rtol*max(1,|expected|), 1 otherwise,
2 for usage errors.

MOSEK (the `mosek` pip package, 11.x) parses the file; no licence is needed for reading a file or
for the get* calls below -- only `Task.optimize()` needs one, and it is never called.  MOSEK 10/11
turn a CBF file into:
  * variables with bounds  (VAR domains F / L+ / L- / L= become bound keys fr / lo / up / fx),
  * affine expressions (AFEs) `F x + g`         (CON rows: ACOORD -> F, BCOORD -> g),
  * affine conic constraints (ACCs)  `F[idx] x + g[idx] + b  in  D`, one per CON domain, with
    D one of r (free), rzero (L=), rplus (L+), rminus (L-), quadratic_cone (Q),
    rquadratic_cone (QR: 2 x0 x1 >= ||x2..||^2, x0, x1 >= 0), primal_exp_cone (EXP: MOSEK's
    x0 >= x1 exp(x2/x1), x0, x1 >= 0 -- the reverse of Clarabel's order),
  * the linear objective c (OBJACOORD), its constant cfix (OBJBCOORD) and the sense (OBJSENSE).
Linear constraints with bounds (`numcon`), a quadratic objective and old-style cones
(`appendcone`) are handled too in case a MOSEK version produces them.  PSD variables/constraints,
integer variables, disjunctive constraints and other domains (dual exp, power) are rejected:
cvxcnn exports none of them.

Clarabel form: min ½xᵀPx + qᵀx  s.t.  A x + s = b,  s in K.  An expression `e = a·x + k` that must
lie in a cone becomes the row (A, b) = (-a, k), so s = e.  A rotated cone (r0, r1, r̄) is mapped to
the second-order cone ((r0+r1)/√2, (r0-r1)/√2, r̄), which is the same set.
"""

from __future__ import annotations

import math
import os
import sys

sys.dont_write_bytecode = True  # keep bench/interop/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_common import fail, parse_args, report, stdout_to_stderr  # noqa: E402

READER = "mosek+clarabel"


class Unsupported(Exception):
    pass


class Builder:
    """Collects conic rows `expr in cone` with expr = M x + k, M a scipy sparse matrix."""

    def __init__(self, n: int):
        import scipy.sparse as sp

        self.sp = sp
        self.n = n
        self.zero: list = []  # (M, k) blocks, each row must be 0
        self.nonneg: list = []  # (M, k) blocks, each row must be >= 0
        self.soc: list = []  # (M, k) blocks, each one second-order cone
        self.exp: list = []  # (M, k) blocks, each one exponential cone in Clarabel's order

    def add_zero(self, M, k):
        if M.shape[0]:
            self.zero.append((M, k))

    def add_nonneg(self, M, k):
        if M.shape[0]:
            self.nonneg.append((M, k))

    def add_soc(self, M, k):
        d = M.shape[0]
        if d == 1:  # ||()|| <= x0  <=>  x0 >= 0
            self.add_nonneg(M, k)
        elif d >= 2:
            self.soc.append((M, k))

    def add_exp(self, M, k):
        """MOSEK's primal exponential cone x0 >= x1 exp(x2/x1), x0, x1 >= 0 (MOSEK's own definition,
        not CBF's) is Clarabel's s2 >= s1 exp(s0/s1) with the entries reversed."""
        import numpy as np

        if M.shape[0] != 3:
            raise Unsupported(f"exponential cone of dimension {M.shape[0]}")
        rev = [2, 1, 0]
        self.exp.append((M[rev], np.asarray(k)[rev]))

    def add_rsoc(self, M, k):
        import numpy as np

        d = M.shape[0]
        if d < 2:
            raise Unsupported(f"rotated quadratic cone of dimension {d}")
        if d == 2:  # 2 x0 x1 >= 0, x0, x1 >= 0  <=>  x0 >= 0, x1 >= 0
            self.add_nonneg(M, k)
            return
        s = 1.0 / math.sqrt(2.0)
        T = self.sp.identity(d, format="lil")
        T[0, 0], T[0, 1], T[1, 0], T[1, 1] = s, s, s, -s
        T = T.tocsr()
        self.soc.append(((T @ M).tocsr(), T @ np.asarray(k)))

    def build(self):
        """Return (A, b, cones) for clarabel with A in CSC."""
        import clarabel
        import numpy as np

        blocks, cones = [], []
        if self.zero:
            blocks += self.zero
            cones.append(clarabel.ZeroConeT(sum(M.shape[0] for M, _ in self.zero)))
        if self.nonneg:
            blocks += self.nonneg
            cones.append(clarabel.NonnegativeConeT(sum(M.shape[0] for M, _ in self.nonneg)))
        for M, k in self.soc:
            blocks.append((M, k))
            cones.append(clarabel.SecondOrderConeT(M.shape[0]))
        for M, k in self.exp:
            blocks.append((M, k))
            cones.append(clarabel.ExponentialConeT())
        if not blocks:
            A = self.sp.csc_matrix((0, self.n))
            b = np.zeros(0)
        else:
            A = -self.sp.vstack([M for M, _ in blocks], format="csc")
            b = np.concatenate([np.asarray(k, dtype=float) for _, k in blocks])
        return A, b, cones


def read_with_mosek(path: str):
    """Parse `path` with MOSEK and return its data as plain numpy/scipy objects."""
    import mosek
    import numpy as np
    import scipy.sparse as sp

    env = mosek.Env()
    task = env.Task()
    if path.lower().endswith(".cbf"):
        task.readdata(path)
    else:
        task.readdataformat(path, mosek.dataformat.cb, mosek.compresstype.none)

    n = task.getnumvar()
    m = task.getnumcon()
    counts = {"numvar": n, "numcon": m, "numafe": task.getnumafe(), "numacc": task.getnumacc()}
    if task.getnumbarvar() > 0:
        raise Unsupported("PSD variables (PSDVAR) are not supported")
    if task.getnumdjc() > 0:
        raise Unsupported("disjunctive constraints are not supported")
    if n and any(vt != mosek.variabletype.type_cont for vt in task.getvartypelist(list(range(n)))):
        raise Unsupported("integer variables are not supported")

    data = {
        "n": n,
        "sense": "max" if task.getobjsense() == mosek.objsense.maximize else "min",
        "c": np.array(task.getc(), dtype=float) if n else np.zeros(0),
        "cfix": float(task.getcfix()),
        "counts": counts,
        "rows": [],  # list of (kind, M, k) with kind in zero/nonneg/soc/rsoc
    }

    # quadratic objective (lower triangle of Q, objective ½ xᵀQx)
    numq = task.getnumqobjnz()
    if numq:
        _, qi, qj, qv = task.getqobj()
        Q = sp.coo_matrix((np.array(qv), (np.array(qi), np.array(qj))), shape=(n, n)).tocsc()
        data["P_upper"] = sp.triu(Q.T, format="csc")  # Clarabel wants the upper triangle
    else:
        data["P_upper"] = None
    counts["numqobjnz"] = numq

    def bound_rows(M, bk, bl, bu, what):
        """Rows for bl <= M x <= bu with MOSEK bound keys."""
        bk = list(bk)
        bl, bu = np.asarray(bl, dtype=float), np.asarray(bu, dtype=float)
        lo = [i for i, k in enumerate(bk) if k in (mosek.boundkey.lo, mosek.boundkey.ra)]
        up = [i for i, k in enumerate(bk) if k in (mosek.boundkey.up, mosek.boundkey.ra)]
        fx = [i for i, k in enumerate(bk) if k == mosek.boundkey.fx]
        known = (mosek.boundkey.lo, mosek.boundkey.up, mosek.boundkey.ra, mosek.boundkey.fx, mosek.boundkey.fr)
        if any(k not in known for k in bk):
            raise Unsupported(f"unknown {what} bound key")
        if lo:
            data["rows"].append(("nonneg", M[lo], -bl[lo]))  # M x - bl >= 0
        if up:
            data["rows"].append(("nonneg", -M[up], bu[up]))  # bu - M x >= 0
        if fx:
            data["rows"].append(("zero", M[fx], -bl[fx]))  # M x - bl = 0
        counts[f"{what}_bounds"] = len(lo) + len(up) + len(fx)

    # variable bounds
    if n:
        bk, bl, bu = task.getvarboundslice(0, n)
        bound_rows(sp.identity(n, format="csr"), bk, bl, bu, "var")

    # linear constraints  bl <= A x <= bu
    if m:
        subi, subj, val = task.getarowslicetrip(0, m)
        Acon = sp.coo_matrix((np.array(val), (np.array(subi), np.array(subj))), shape=(m, n)).tocsr()
        bk, bl, bu = task.getconboundslice(0, m)
        bound_rows(Acon, bk, bl, bu, "con")

    # affine expressions F x + g and affine conic constraints
    numafe = task.getnumafe()
    if numafe:
        fi, fj, fv = task.getafeftrip()
        F = sp.coo_matrix((np.array(fv), (np.array(fi), np.array(fj))), shape=(numafe, n)).tocsr()
        g = np.array(task.getafegslice(0, numafe), dtype=float)
    numacc = task.getnumacc()
    domains: dict[str, int] = {}
    if numacc:
        if hasattr(task, "getaccbarfnumblocktriplets") and task.getaccbarfnumblocktriplets() > 0:
            raise Unsupported("PSD terms in affine conic constraints are not supported")
        domidx, afeidx, bvec = task.getaccs()
        afeidx = np.array(afeidx, dtype=np.int64)
        bvec = np.array(bvec, dtype=float)
        dt = mosek.domaintype
        kinds = {dt.r: None, dt.rzero: "zero", dt.rplus: "nonneg", dt.rminus: "nonpos",
                 dt.quadratic_cone: "soc", dt.rquadratic_cone: "rsoc", dt.primal_exp_cone: "exp"}
        pos = 0
        for d in domidx:
            typ, dim = task.getdomaintype(d), task.getdomainn(d)
            name = str(typ).split(".")[-1]
            domains[name] = domains.get(name, 0) + 1
            if typ not in kinds:
                raise Unsupported(f"domain {name} is not supported")
            idx = afeidx[pos:pos + dim]
            M, k = F[idx], g[idx] + bvec[pos:pos + dim]
            pos += dim
            kind = kinds[typ]
            if kind == "nonpos":
                data["rows"].append(("nonneg", -M, -k))
            elif kind is not None:
                data["rows"].append((kind, M, k))
        if pos != len(afeidx):
            raise Unsupported("ACC sizes do not add up")
    counts["acc_domains"] = domains

    # old-style cones on variables (MOSEK <= 10 API), in case a version produces them
    numcone = task.getnumcone() if hasattr(task, "getnumcone") else 0
    for kc in range(numcone):
        ct, _par, _nummem, submem = task.getcone(kc)
        M = sp.identity(n, format="csr")[list(submem)]
        k = np.zeros(len(submem))
        if ct == mosek.conetype.quad:
            data["rows"].append(("soc", M, k))
        elif ct == mosek.conetype.rquad:
            data["rows"].append(("rsoc", M, k))
        else:
            raise Unsupported(f"cone type {ct} is not supported")
    counts["numcone"] = numcone
    return data


def solve_with_clarabel(data, verbose: bool):
    import clarabel
    import numpy as np
    import scipy.sparse as sp

    n = data["n"]
    b = Builder(n)
    for kind, M, k in data["rows"]:
        M = sp.csr_matrix(M)
        k = np.asarray(k, dtype=float)
        {"zero": b.add_zero, "nonneg": b.add_nonneg, "soc": b.add_soc, "rsoc": b.add_rsoc,
         "exp": b.add_exp}[kind](M, k)
    A, bb, cones = b.build()

    sign = -1.0 if data["sense"] == "max" else 1.0  # maximize f  <=>  minimize -f
    q = sign * data["c"]
    P = data["P_upper"] if data["P_upper"] is not None else sp.csc_matrix((n, n))
    P = sp.csc_matrix(sign * P)

    settings = clarabel.DefaultSettings()
    settings.verbose = bool(verbose)
    solver = clarabel.DefaultSolver(P, q, A, bb, cones, settings)
    sol = solver.solve()
    status = str(sol.status)
    objective = sign * float(sol.obj_val) + data["cfix"]
    return objective, status, sol.status == clarabel.SolverStatus.Solved, A.shape[0], len(cones)


def main() -> int:
    args = parse_args(__doc__.splitlines()[0], "CBF file (VER 1-3; F/L+/L-/L=/Q/QR/EXP domains)")
    try:
        import clarabel  # noqa: F401
        import mosek  # noqa: F401
    except ImportError as e:
        return fail(READER, args.file, args.expected, args.rtol, "error", f"missing package: {e}")

    with stdout_to_stderr():
        try:
            data = read_with_mosek(os.path.abspath(args.file))
        except Unsupported as e:
            err = ("unsupported", str(e))
        except Exception as e:  # mosek.Error on a malformed file, etc.
            err = ("read_error", f"{type(e).__name__}: {e}")
        else:
            err = None
            try:
                objective, status, optimal, nrows, ncones = solve_with_clarabel(data, args.verbose)
            except Exception as e:
                err = ("solve_error", f"{type(e).__name__}: {e}")
    if err is not None:
        return fail(READER, args.file, args.expected, args.rtol, *err)
    return report(READER, args.file, objective, args.expected, args.rtol, status, optimal,
                  sense=data["sense"], constant=data["cfix"], clarabel_rows=nrows, clarabel_cones=ncones,
                  **data["counts"])


if __name__ == "__main__":
    sys.exit(main())
