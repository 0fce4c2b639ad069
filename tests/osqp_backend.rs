//! The OSQP backend against hand-solved programs and against Clarabel.
#![cfg(feature = "osqp")]

use cvxcnn::backend::osqp::{OsqpSettings, solve};
use cvxcnn::backend::{Solution, Status, clarabel};
use cvxcnn::ir::{ConeKind, ConicProgram};

/// OSQP's accuracy at its default settings, in objective and variables.
const TOL: f64 = 1e-5;

/// A program with a known optimum.
struct Case {
    name: &'static str,
    program: ConicProgram,
    objective: f64,
    x: Vec<f64>,
}

/// `min −x₁ − x₂  s.t.  x₁ + 2x₂ ≤ 4, 3x₁ + x₂ ≤ 6, x ≥ 0`: vertex (1.6, 1.2), value −2.8.
fn lp() -> Case {
    let mut p = ConicProgram::new();
    let v = p.add_vars("x", 2);
    p.q = vec![-1.0, -1.0];
    let r = p.add_rows("budget", ConeKind::Nonnegative, 2);
    p.push(r, v, 1.0);
    p.push(r, v + 1, 2.0);
    p.b[r] = 4.0;
    p.push(r + 1, v, 3.0);
    p.push(r + 1, v + 1, 1.0);
    p.b[r + 1] = 6.0;
    let r = p.add_rows("sign", ConeKind::Nonnegative, 2);
    p.push(r, v, -1.0);
    p.push(r + 1, v + 1, -1.0);
    Case {
        name: "lp",
        program: p,
        objective: -2.8,
        x: vec![1.6, 1.2],
    }
}

/// `min ½(x₁² + 2x₂²) − 2x₁ − 4x₂  s.t.  x₁ + x₂ ≤ 3`: multiplier 2/3, x = (4/3, 5/3), value −17/3.
fn diag_qp() -> Case {
    let mut p = ConicProgram::new();
    let v = p.add_vars("x", 2);
    p.p_diag = vec![1.0, 2.0];
    p.q = vec![-2.0, -4.0];
    let r = p.add_rows("sum", ConeKind::Nonnegative, 1);
    p.push(r, v, 1.0);
    p.push(r, v + 1, 1.0);
    p.b[r] = 3.0;
    Case {
        name: "diag_qp",
        program: p,
        objective: -17.0 / 3.0,
        x: vec![4.0 / 3.0, 5.0 / 3.0],
    }
}

/// Least norm: `min ½‖x‖²  s.t.  x₁ + x₂ + x₃ = 3, x₁ − x₂ = 1`: x = (1.5, 0.5, 1), value 1.75.
fn equality_qp() -> Case {
    let mut p = ConicProgram::new();
    let v = p.add_vars("x", 3);
    p.p_diag = vec![1.0; 3];
    let r = p.add_rows("eq", ConeKind::Zero, 2);
    for j in 0..3 {
        p.push(r, v + j, 1.0);
    }
    p.b[r] = 3.0;
    p.push(r + 1, v, 1.0);
    p.push(r + 1, v + 1, -1.0);
    p.b[r + 1] = 1.0;
    Case {
        name: "equality_qp",
        program: p,
        objective: 1.75,
        x: vec![1.5, 0.5, 1.0],
    }
}

/// `min 10 + 2x₁² + x₂² − 2x₂ + x₃²  s.t.  x₁ ≥ 1, x₂ + x₃ = 2` with an empty block in between and
/// the equality after the inequality: x = (1, 1.5, 0.5), value 10 + 2 − 0.5 = 11.5.
fn constant_qp() -> Case {
    let mut p = ConicProgram::new();
    let v = p.add_vars("x", 3);
    p.p_diag = vec![4.0, 2.0, 2.0];
    p.q = vec![0.0, -2.0, 0.0];
    p.constant = 10.0;
    let r = p.add_rows("lower", ConeKind::Nonnegative, 1);
    p.push(r, v, -1.0);
    p.b[r] = -1.0;
    p.add_rows("empty", ConeKind::Zero, 0);
    let r = p.add_rows("sum", ConeKind::Zero, 1);
    p.push(r, v + 1, 1.0);
    p.push(r, v + 2, 1.0);
    p.b[r] = 2.0;
    Case {
        name: "constant_qp",
        program: p,
        objective: 11.5,
        x: vec![1.0, 1.5, 0.5],
    }
}

fn cases() -> Vec<Case> {
    vec![lp(), diag_qp(), equality_qp(), constant_qp()]
}

/// `‖diag(p)x + q + Aᵀz‖∞`.
fn stationarity(p: &ConicProgram, sol: &Solution) -> f64 {
    let mut g: Vec<f64> = (0..p.n_vars())
        .map(|j| p.p_diag[j] * sol.x[j] + p.q[j])
        .collect();
    for &(r, c, v) in &p.entries {
        g[c] += v * sol.z[r];
    }
    g.iter().fold(0.0, |a, v| a.max(v.abs()))
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0, |m, (a, b)| m.max((a - b).abs()))
}

#[test]
fn known_optima_match_and_agree_with_clarabel() {
    for case in cases() {
        let sol = solve(&case.program, &OsqpSettings::default()).unwrap();
        let name = case.name;
        assert_eq!(sol.status, Status::Optimal, "{name}");
        assert!(
            (sol.primal_objective - case.objective).abs() < TOL,
            "{name}: {} vs {}",
            sol.primal_objective,
            case.objective
        );
        assert!(max_diff(&sol.x, &case.x) < TOL, "{name}: x = {:?}", sol.x);
        assert!(
            (sol.dual_objective - case.objective).abs() < TOL,
            "{name}: dual {} vs {}",
            sol.dual_objective,
            case.objective
        );
        assert!(case.program.max_violation(&sol.x) < TOL, "{name}");
        assert!(sol.iterations >= 1 && sol.solve_time_s >= 0.0, "{name}");
        assert!(
            sol.primal_residual < TOL && sol.dual_residual < TOL,
            "{name}"
        );

        let reference = clarabel::solve(&case.program, &Default::default()).unwrap();
        assert_eq!(reference.status, Status::Optimal, "{name}");
        assert!(
            (sol.primal_objective - reference.primal_objective).abs() < TOL,
            "{name}: OSQP {} vs Clarabel {}",
            sol.primal_objective,
            reference.primal_objective
        );
        assert!(max_diff(&sol.x, &reference.x) < TOL, "{name}");
        // Same sign convention for the duals: the multipliers agree (all four are unique).
        assert!(
            max_diff(&sol.z, &reference.z) < TOL,
            "{name}: z = {:?} vs {:?}",
            sol.z,
            reference.z
        );
    }
}

#[test]
fn returned_duals_are_stationary_and_in_the_dual_cone() {
    for case in cases() {
        let sol = solve(&case.program, &OsqpSettings::default()).unwrap();
        let r = stationarity(&case.program, &sol);
        assert!(r < 1e-6, "{}: ‖Px + q + Aᵀz‖∞ = {r:e}", case.name);
        for blk in &case.program.row_blocks {
            if blk.cone == ConeKind::Nonnegative {
                for i in blk.start..blk.start + blk.len {
                    assert!(sol.z[i] >= -1e-8, "{}: z[{i}] = {}", case.name, sol.z[i]);
                }
            }
        }
    }
    // Known multipliers: 2/3 on the single row of the diagonal QP; −(1, ½) for the equalities.
    let sol = solve(&diag_qp().program, &OsqpSettings::default()).unwrap();
    assert!((sol.z[0] - 2.0 / 3.0).abs() < TOL, "{:?}", sol.z);
    let sol = solve(&equality_qp().program, &OsqpSettings::default()).unwrap();
    assert!(max_diff(&sol.z, &[-1.0, -0.5]) < TOL, "{:?}", sol.z);
}

/// A box-constrained QP with a coupling equality and many active bounds, built deterministically.
fn bigger_qp(n: usize) -> ConicProgram {
    let mut p = ConicProgram::new();
    let v = p.add_vars("x", n);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    for j in 0..n {
        p.p_diag[j] = if j % 3 == 0 { 0.0 } else { 1.0 + next() };
        p.q[j] = 4.0 * next();
    }
    let r = p.add_rows("box", ConeKind::Nonnegative, 2 * n);
    for j in 0..n {
        p.push(r + 2 * j, v + j, 1.0);
        p.b[r + 2 * j] = 1.0;
        p.push(r + 2 * j + 1, v + j, -1.0);
        p.b[r + 2 * j + 1] = 1.0;
    }
    let r = p.add_rows("balance", ConeKind::Zero, 1);
    for j in 0..n {
        p.push(r, v + j, 1.0 + next());
    }
    p.b[r] = 0.5;
    p
}

#[test]
fn larger_qp_agrees_with_clarabel() {
    let p = bigger_qp(60);
    let sol = solve(&p, &OsqpSettings::default()).unwrap();
    let reference = clarabel::solve(&p, &Default::default()).unwrap();
    assert_eq!(sol.status, Status::Optimal);
    assert_eq!(reference.status, Status::Optimal);
    assert!(
        (sol.primal_objective - reference.primal_objective).abs() < TOL,
        "{} vs {}",
        sol.primal_objective,
        reference.primal_objective
    );
    assert!((sol.primal_objective - sol.dual_objective).abs() < TOL);
    assert!(max_diff(&sol.x, &reference.x) < 1e-4);
    assert!(stationarity(&p, &sol) < 1e-6);
}

#[test]
fn second_order_cones_are_refused_with_a_pointer_to_clarabel() {
    for cone in [ConeKind::SecondOrder, ConeKind::RotatedSecondOrder] {
        let mut p = diag_qp().program;
        let v = p.var_block("x").unwrap().start;
        let r = p.add_rows("norm_bound", cone, 3);
        p.b[r] = 5.0;
        p.push(r + 1, v, -1.0);
        p.push(r + 2, v + 1, -1.0);
        let err = solve(&p, &OsqpSettings::default()).unwrap_err().to_string();
        assert!(err.contains("norm_bound"), "{err}");
        assert!(err.contains("--solver clarabel"), "{err}");
    }
}

#[test]
fn one_iteration_is_not_optimal() {
    for case in [diag_qp(), lp()] {
        let settings = OsqpSettings {
            max_iter: 1,
            ..Default::default()
        };
        let sol = solve(&case.program, &settings).unwrap();
        assert_eq!(sol.status, Status::MaxIterations, "{}", case.name);
        assert_eq!(sol.iterations, 1);
        assert_eq!(sol.x.len(), case.program.n_vars());
    }
}

#[test]
fn a_tiny_time_limit_is_not_optimal() {
    let settings = OsqpSettings {
        time_limit: 1e-9,
        ..Default::default()
    };
    let sol = solve(&bigger_qp(60), &settings).unwrap();
    assert_eq!(sol.status, Status::MaxTime);
}

#[test]
fn infeasible_and_unbounded_programs_are_reported() {
    // x ≤ −1 and x ≥ 1.
    let mut p = ConicProgram::new();
    p.add_vars("x", 1);
    p.p_diag[0] = 1.0;
    let r = p.add_rows("conflict", ConeKind::Nonnegative, 2);
    p.push(r, 0, 1.0);
    p.b[r] = -1.0;
    p.push(r + 1, 0, -1.0);
    p.b[r + 1] = -1.0;
    let sol = solve(&p, &OsqpSettings::default()).unwrap();
    assert_eq!(sol.status, Status::PrimalInfeasible);
    assert!(sol.x.iter().all(|v| v.is_nan()) && sol.z.len() == 2);

    // min −x s.t. x ≥ 0.
    let mut p = ConicProgram::new();
    p.add_vars("x", 1);
    p.q[0] = -1.0;
    let r = p.add_rows("sign", ConeKind::Nonnegative, 1);
    p.push(r, 0, -1.0);
    let sol = solve(&p, &OsqpSettings::default()).unwrap();
    assert_eq!(sol.status, Status::DualInfeasible);
}

#[test]
fn unconstrained_program_without_rows() {
    let mut p = ConicProgram::new();
    p.add_vars("x", 2);
    p.p_diag = vec![2.0, 4.0];
    p.q = vec![-2.0, 4.0];
    p.constant = 1.0;
    let sol = solve(&p, &OsqpSettings::default()).unwrap();
    assert_eq!(sol.status, Status::Optimal);
    assert!(max_diff(&sol.x, &[1.0, -1.0]) < TOL, "{:?}", sol.x);
    assert!((sol.primal_objective - (1.0 - 1.0 - 2.0)).abs() < TOL);
    assert!(sol.z.is_empty());
}

#[test]
fn invalid_programs_and_settings_are_errors() {
    let mut p = diag_qp().program;
    p.push(7, 0, 1.0);
    let err = solve(&p, &OsqpSettings::default()).unwrap_err().to_string();
    assert!(err.contains("outside"), "{err}");

    let mut p = diag_qp().program;
    p.b.push(0.0);
    assert!(solve(&p, &OsqpSettings::default()).is_err());

    assert!(solve(&ConicProgram::new(), &OsqpSettings::default()).is_err());

    let p = diag_qp().program;
    for settings in [
        OsqpSettings {
            max_iter: 0,
            ..Default::default()
        },
        OsqpSettings {
            time_limit: -1.0,
            ..Default::default()
        },
        OsqpSettings {
            time_limit: f64::NAN,
            ..Default::default()
        },
        OsqpSettings {
            eps_abs: 0.0,
            eps_rel: 0.0,
            ..Default::default()
        },
        OsqpSettings {
            eps_abs: -1.0,
            ..Default::default()
        },
    ] {
        let err = solve(&p, &settings).unwrap_err().to_string();
        assert!(err.contains("invalid OSQP setting"), "{err}");
    }
}

#[test]
fn settings_serialize_with_no_time_limit_as_null() {
    let v = serde_json::to_value(OsqpSettings::default()).unwrap();
    assert!(v["time_limit"].is_null());
    assert_eq!(v["polish"], true);
    assert_eq!(v["max_iter"], 100_000);
}
