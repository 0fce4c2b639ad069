//! One shared library of small standard problems with known optima, in the IR. Every backend and
//! every file format runs through all of them (`tests/standard_problems.rs`); the optimum of each is
//! derived in its comment.

#![allow(dead_code)]

use cvxcnn::ir::{ConeKind, ConicProgram};

/// A named program, its optimal value, and whether it has second-order cones.
pub struct Standard {
    pub name: &'static str,
    pub program: ConicProgram,
    pub optimum: f64,
    pub conic: bool,
}

/// The standard problems.
pub fn problems() -> Vec<Standard> {
    vec![
        lp(),
        qp_equality(),
        qp_active_bound(),
        socp(),
        rotated(),
        lp_with_constant(),
    ]
}

/// min −x0 − x1 s.t. x0 + 2x1 ≤ 4, 3x0 + x1 ≤ 6, x ≥ 0: the vertex x = (8/5, 6/5), value −14/5.
pub fn lp() -> Standard {
    let mut p = ConicProgram::new();
    let x = p.add_vars("x", 2);
    p.q[x] = -1.0;
    p.q[x + 1] = -1.0;
    let r = p.add_rows("ineq", ConeKind::Nonnegative, 4);
    for (k, (a0, a1, b)) in [
        (1.0, 2.0, 4.0),
        (3.0, 1.0, 6.0),
        (-1.0, 0.0, 0.0),
        (0.0, -1.0, 0.0),
    ]
    .into_iter()
    .enumerate()
    {
        p.push(r + k, x, a0);
        p.push(r + k, x + 1, a1);
        p.b[r + k] = b;
    }
    Standard {
        name: "lp",
        program: p,
        optimum: -2.8,
        conic: false,
    }
}

/// min ½(x0² + 2x1²) − x0 − x1 + ½ s.t. x0 + x1 = 1: stationarity x0 − 1 = λ = 2x1 − 1 gives
/// x = (2/3, 1/3), value 1/3 − 1 + ½ = −1/6.
pub fn qp_equality() -> Standard {
    let mut p = ConicProgram::new();
    let x = p.add_vars("x", 2);
    p.p_diag[x] = 1.0;
    p.p_diag[x + 1] = 2.0;
    p.q[x] = -1.0;
    p.q[x + 1] = -1.0;
    p.constant = 0.5;
    let r = p.add_rows("eq", ConeKind::Zero, 1);
    p.push(r, x, 1.0);
    p.push(r, x + 1, 1.0);
    p.b[r] = 1.0;
    Standard {
        name: "qp_equality",
        program: p,
        optimum: -1.0 / 6.0,
        conic: false,
    }
}

/// min ½‖x‖² − 3x0 − x1 s.t. x0 ≤ 1: the bound is active, x = (1, 1), value 1 − 4 = −3.
pub fn qp_active_bound() -> Standard {
    let mut p = ConicProgram::new();
    let x = p.add_vars("x", 2);
    p.p_diag[x] = 1.0;
    p.p_diag[x + 1] = 1.0;
    p.q[x] = -3.0;
    p.q[x + 1] = -1.0;
    let r = p.add_rows("bound", ConeKind::Nonnegative, 1);
    p.push(r, x, 1.0);
    p.b[r] = 1.0;
    Standard {
        name: "qp_active_bound",
        program: p,
        optimum: -3.0,
        conic: false,
    }
}

/// min −x0 − x1 s.t. ‖(x0, x1)‖ ≤ √2: x = (1, 1), value −2.
pub fn socp() -> Standard {
    let mut p = ConicProgram::new();
    let x = p.add_vars("x", 2);
    p.q[x] = -1.0;
    p.q[x + 1] = -1.0;
    let r = p.add_rows("ball", ConeKind::SecondOrder, 3);
    p.b[r] = 2f64.sqrt();
    p.push(r + 1, x, -1.0);
    p.push(r + 2, x + 1, -1.0);
    Standard {
        name: "socp",
        program: p,
        optimum: -2.0,
        conic: true,
    }
}

/// min t s.t. 2·t·1 ≥ x², x = 3: t = 9/2.
pub fn rotated() -> Standard {
    let mut p = ConicProgram::new();
    let t = p.add_vars("t", 1);
    let x = p.add_vars("x", 1);
    p.q[t] = 1.0;
    let r = p.add_rows("rsoc", ConeKind::RotatedSecondOrder, 3);
    p.push(r, t, -1.0);
    p.b[r + 1] = 1.0;
    p.push(r + 2, x, -1.0);
    let e = p.add_rows("fix", ConeKind::Zero, 1);
    p.push(e, x, 1.0);
    p.b[e] = 3.0;
    Standard {
        name: "rotated",
        program: p,
        optimum: 4.5,
        conic: true,
    }
}

/// The LP with a constant 10 added and its first variable's cost scaled: min 10 − 2x0 − x1 on the
/// same polytope; vertices (0,0), (2,0), (8/5,6/5), (0,2) give 10, 6, 10 − 4.4 = 5.6, 8 → 5.6.
pub fn lp_with_constant() -> Standard {
    let mut s = lp();
    s.program.q[0] = -2.0;
    s.program.constant = 10.0;
    Standard {
        name: "lp_with_constant",
        program: s.program,
        optimum: 5.6,
        conic: false,
    }
}

/// min x₀² + 2x₁² − 2x₀ − 8x₁ (p = (2, 4))  s.t.  x₀ + x₁ ≤ 1.
/// Unconstrained minimum (1, 2) is infeasible; on x₀ + x₁ = 1 with multiplier λ:
/// 2x₀ − 2 + λ = 0, 4x₁ − 8 + λ = 0 ⇒ λ = 8/3 ≥ 0, x = (−1/3, 4/3), value 1/9 + 32/9 + 2/3 − 32/3
/// = −19/3.
pub fn qp_inequality_program() -> ConicProgram {
    let mut p = ConicProgram::new();
    p.add_vars("x", 2);
    p.p_diag = vec![2.0, 4.0];
    p.q = vec![-2.0, -8.0];
    let r = p.add_rows("sum", ConeKind::Nonnegative, 1);
    p.push(r, 0, 1.0);
    p.push(r, 1, 1.0);
    p.b[r] = 1.0;
    p
}

/// [`qp_inequality_program`] with its optimum.
pub fn qp_inequality() -> Standard {
    Standard {
        name: "qp_inequality",
        program: qp_inequality_program(),
        optimum: -19.0 / 3.0,
        conic: false,
    }
}

/// min t − x  s.t.  (t, ½, x) in the rotated cone: 2·t·½ ≥ x², i.e. t ≥ x².
/// So min x² − x = −¼ at x = ½.
pub fn rotated_shifted_program() -> ConicProgram {
    let mut p = ConicProgram::new();
    p.add_vars("tx", 2);
    p.q = vec![1.0, -1.0];
    let r = p.add_rows("rq", ConeKind::RotatedSecondOrder, 3);
    p.push(r, 0, -1.0);
    p.b[r + 1] = 0.5;
    p.push(r + 2, 1, -1.0);
    p
}

/// [`rotated_shifted_program`] with its optimum.
pub fn rotated_shifted() -> Standard {
    Standard {
        name: "rotated_shifted",
        program: rotated_shifted_program(),
        optimum: -0.25,
        conic: true,
    }
}

/// min ½x₀² + x₀ + x₁ + 3.25  s.t.  x₁ = 2, x₀ ≥ 1.
/// The objective grows in x₀ ≥ 1, so x = (1, 2): ½ + 1 + 2 + 3.25 = 6.75.
pub fn constant_and_bound_program() -> ConicProgram {
    let mut p = ConicProgram::new();
    p.add_vars("x", 2);
    p.p_diag = vec![1.0, 0.0];
    p.q = vec![1.0, 1.0];
    p.constant = 3.25;
    let r = p.add_rows("eq", ConeKind::Zero, 1);
    p.push(r, 1, 1.0);
    p.b[r] = 2.0;
    let r = p.add_rows("lb", ConeKind::Nonnegative, 1);
    p.push(r, 0, -1.0);
    p.b[r] = -1.0;
    p
}

/// [`constant_and_bound_program`] with its optimum.
pub fn constant_and_bound() -> Standard {
    Standard {
        name: "constant_and_bound",
        program: constant_and_bound_program(),
        optimum: 6.75,
        conic: false,
    }
}

/// The golden program: min ½(x₀² + 2x₁²) − x₀ + 0.5  s.t.  x₀ + x₁ = 1 (zero), x₀ ≤ 0.75
/// (nonnegative), ‖(x₀, x₁)‖ ≤ 2 (second-order, s = (2, x₀, x₁)).
/// On x₁ = 1 − x₀ the objective is 1.5x₀² − 3x₀ + 1.5, decreasing up to x₀ = 1, so x₀ = 0.75,
/// x₁ = 0.25 (norm² 0.625 ≤ 4): value 0.84375 − 2.25 + 1.5 = 0.09375.
pub fn golden_cbf_program() -> ConicProgram {
    let mut p = ConicProgram::new();
    p.add_vars("x", 2);
    p.p_diag = vec![1.0, 2.0];
    p.q = vec![-1.0, 0.0];
    p.constant = 0.5;
    let r = p.add_rows("sum", ConeKind::Zero, 1);
    p.push(r, 0, 1.0);
    p.push(r, 1, 1.0);
    p.b[r] = 1.0;
    let r = p.add_rows("cap", ConeKind::Nonnegative, 1);
    p.push(r, 0, 1.0);
    p.b[r] = 0.75;
    let r = p.add_rows("ball", ConeKind::SecondOrder, 3);
    p.b[r] = 2.0;
    p.push(r + 1, 0, -1.0);
    p.push(r + 2, 1, -1.0);
    p
}

/// [`golden_cbf_program`] with its optimum.
pub fn golden_cbf() -> Standard {
    Standard {
        name: "golden_cbf",
        program: golden_cbf_program(),
        optimum: 0.09375,
        conic: true,
    }
}

/// `min x0 + 2x1  s.t.  x0 + x1 = 1, x0 ≤ 0.75, x ≥ 0`: optimum `0.75 + 2·0.25 = 1.25`.
pub fn lp_equality_and_bounds_program() -> ConicProgram {
    let mut p = ConicProgram::new();
    p.add_vars("x", 2);
    p.q = vec![1.0, 2.0];
    let sum = p.add_rows("sum", ConeKind::Zero, 1);
    p.push(sum, 0, 1.0);
    p.push(sum, 1, 1.0);
    p.b[sum] = 1.0;
    let cap = p.add_rows("cap", ConeKind::Nonnegative, 1);
    p.push(cap, 0, 1.0);
    p.b[cap] = 0.75;
    let nn = p.add_rows("nonneg", ConeKind::Nonnegative, 2);
    p.push(nn, 0, -1.0);
    p.push(nn + 1, 1, -1.0);
    p
}

/// [`lp_equality_and_bounds_program`] with its optimum.
pub fn lp_equality_and_bounds() -> Standard {
    Standard {
        name: "lp_equality_and_bounds",
        program: lp_equality_and_bounds_program(),
        optimum: 1.25,
        conic: false,
    }
}

/// `min x0² + 2x1²  s.t.  x0 + x1 = 3`: `2x0 = 4x1` gives `x = (2, 1)`, optimum 6.
pub fn qp_equality_sum_program() -> ConicProgram {
    let mut p = ConicProgram::new();
    p.add_vars("x", 2);
    p.p_diag = vec![2.0, 4.0];
    let r = p.add_rows("sum", ConeKind::Zero, 1);
    p.push(r, 0, 1.0);
    p.push(r, 1, 1.0);
    p.b[r] = 3.0;
    p
}

/// [`qp_equality_sum_program`] with its optimum.
pub fn qp_equality_sum() -> Standard {
    Standard {
        name: "qp_equality_sum",
        program: qp_equality_sum_program(),
        optimum: 6.0,
        conic: false,
    }
}

/// `min x² − 2x + 5  s.t.  x ≤ 0.5`: the bound is active, optimum `0.25 − 1 + 5 = 4.25`.
pub fn qp_constant_active_bound_program() -> ConicProgram {
    let mut p = ConicProgram::new();
    p.add_vars("x", 1);
    p.p_diag = vec![2.0];
    p.q = vec![-2.0];
    p.constant = 5.0;
    let r = p.add_rows("cap", ConeKind::Nonnegative, 1);
    p.push(r, 0, 1.0);
    p.b[r] = 0.5;
    p
}

/// [`qp_constant_active_bound_program`] with its optimum.
pub fn qp_constant_active_bound() -> Standard {
    Standard {
        name: "qp_constant_active_bound",
        program: qp_constant_active_bound_program(),
        optimum: 4.25,
        conic: false,
    }
}

/// The golden program: `min x0² + x1² + x0 − x1 + 0.5  s.t.  x0 + x1 = 1, x0 − x1 ≤ −1.5`.
/// On the line `x1 = 1 − x0` the objective is `2x0² + 0.5` and the L row says `x0 ≤ −0.25`:
/// optimum `2/16 + 0.5 = 0.625`.
pub fn golden_mps_program() -> ConicProgram {
    let mut p = ConicProgram::new();
    p.add_vars("x", 2);
    p.p_diag = vec![2.0, 2.0];
    p.q = vec![1.0, -1.0];
    p.constant = 0.5;
    let e = p.add_rows("sum", ConeKind::Zero, 1);
    p.push(e, 0, 1.0);
    p.push(e, 1, 1.0);
    p.b[e] = 1.0;
    let l = p.add_rows("gap", ConeKind::Nonnegative, 1);
    p.push(l, 0, 1.0);
    p.push(l, 1, -1.0);
    p.b[l] = -1.5;
    p
}

/// [`golden_mps_program`] with its optimum.
pub fn golden_mps() -> Standard {
    Standard {
        name: "golden_mps",
        program: golden_mps_program(),
        optimum: 0.625,
        conic: false,
    }
}
