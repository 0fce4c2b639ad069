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
