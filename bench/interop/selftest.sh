#!/usr/bin/env bash
# Runs the three independent readers on the hand-made fixtures in bench/interop/fixtures/.
# Needs: pip install -r bench/interop/requirements.txt   (PYTHON=... picks the interpreter)
# Prints one JSON line per check (stdout of the checker) and closes with "N passed, N failed".
set -u
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
F=fixtures
pass=0
fail=0

# expect CODE -- CMD...: run CMD, stderr to a log, and count it as passed iff it exits with CODE.
expect() {
    local want="$1"; shift; shift
    local log rc
    log="$(mktemp)"
    "$@" 2>"$log"
    rc=$?
    if [ "$rc" -eq "$want" ]; then
        pass=$((pass + 1)); echo "ok   (exit $rc) $*"
    else
        fail=$((fail + 1)); echo "FAIL (exit $rc, wanted $want) $*"; sed 's/^/    stderr: /' "$log"
    fi
    rm -f "$log"
}

# MPS (HiGHS): QP with QUADOBJ and objective constant +5 written as RHS -5 on the objective row.
expect 0 -- "$PY" check_mps.py "$F/qp_offset.mps" 2.75
expect 1 -- "$PY" check_mps.py "$F/qp_offset.mps" -2.25          # constant dropped -> mismatch
expect 1 -- "$PY" check_mps.py "$F/qp_offset.mps" 7.25           # constant sign flipped -> mismatch
expect 1 -- "$PY" check_mps.py "$F/infeasible.mps" 1             # not optimal -> fail
# CBF (MOSEK reader -> Clarabel): QR cone + OBJBCOORD; Q cone on variables + OBJSENSE MAX.
expect 0 -- "$PY" check_cbf.py "$F/socp_qr.cbf" 3.26
expect 1 -- "$PY" check_cbf.py "$F/socp_qr.cbf" 1.76             # constant dropped -> mismatch
expect 0 -- "$PY" check_cbf.py "$F/socp_varcone_max.cbf" -0.5857864376269049
# Clarabel JSON (Python clarabel.load_from_file): file written by the Rust crate's save_to_file.
expect 0 -- "$PY" check_clarabel_json.py "$F/qp_soc.clarabel.json" -2.25
expect 0 -- "$PY" check_clarabel_json.py "$F/qp_soc.clarabel.json" 2.75 --offset 5 --default-settings
expect 1 -- "$PY" check_clarabel_json.py "$F/qp_soc.clarabel.json" -2.2
expect 0 -- "$PY" check_clarabel_json.py "$F/lp_nosettings.clarabel.json" -1
# usage errors
expect 2 -- "$PY" check_mps.py "$F/does_not_exist.mps" 1
expect 2 -- "$PY" check_cbf.py "$F/socp_qr.cbf" not-a-number
expect 2 -- "$PY" check_clarabel_json.py

echo "interop: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
