//! First-order solvers (`cvxcnn::first_order`) against Clarabel on the same programs.

use cvxcnn::backend::clarabel::{self, ClarabelSettings};
use cvxcnn::first_order::al::{self, AlOptions};
use cvxcnn::first_order::fista::{self, FistaOptions};
use cvxcnn::ir::{ConeKind, ConicProgram};
use cvxcnn::pipeline::{self, Prepared, SolveOptions};
use cvxcnn::problem::{Problem, ProblemFile};
use ndarray::{Array2, ArrayView1, ArrayView3};
use std::path::Path;
use std::time::Instant;

fn quiet(_: &str, _: usize, _: usize) {}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

/// A binary 3-vs-8 digits problem with `n` samples and `gates` sampled gates.
fn digits(n: usize, gates: usize) -> Problem {
    let file: ProblemFile = serde_json::from_value(serde_json::json!({
        "inputs": "data/images.npy",
        "targets": "data/labels.npy",
        "binary": {"positive": [3], "negative": [8]},
        "max_samples": n,
        "architecture": {"kind": "two_layer", "kernel": [3, 3], "stride": [1, 1], "pooling": "sum"},
        "beta": 0.1,
        "arrangements": {"mode": "sample", "count": gates, "seed": 0}
    }))
    .expect("problem file");
    Problem::from_file(file, Path::new("problems"), Path::new("problems/test.json")).expect("load")
}

fn load(path: &str) -> Problem {
    Problem::load(Path::new(path)).expect("load")
}

fn prepare(p: &Problem) -> Prepared {
    pipeline::prepare(p, &SolveOptions::default(), &quiet).expect("prepare")
}

/// The gated program (§7) as an SOCP: `min ½‖ρ‖² + β Σ t_i`, `ρ = Σ A_i z_i − y`, `‖z_i‖ ≤ t_i`.
fn gated_program(a: ArrayView3<f64>, y: ArrayView1<f64>, beta: f64) -> (ConicProgram, usize) {
    let (p, n, h) = a.dim();
    let mut prog = ConicProgram::new();
    let z0 = prog.add_vars("z", p * h);
    let t0 = prog.add_vars("t", p);
    let r0 = prog.add_vars("rho", n);
    for i in 0..p {
        prog.q[t0 + i] = beta;
    }
    for j in 0..n {
        prog.p_diag[r0 + j] = 1.0;
    }
    // ρ − Σ A_i z_i + s = −y, s = 0.
    let row = prog.add_rows("residual", ConeKind::Zero, n);
    for j in 0..n {
        prog.push(row + j, r0 + j, 1.0);
        for i in 0..p {
            for k in 0..h {
                prog.push(row + j, z0 + i * h + k, -a[[i, j, k]]);
            }
        }
        prog.b[row + j] = -y[j];
    }
    // s = (t_i, z_i) ∈ SOC: −t_i + s₀ = 0, −z_i + s̄ = 0.
    for i in 0..p {
        let row = prog.add_rows(&format!("soc{i}"), ConeKind::SecondOrder, h + 1);
        prog.push(row, t0 + i, -1.0);
        for k in 0..h {
            prog.push(row + 1 + k, z0 + i * h + k, -1.0);
        }
    }
    (prog, z0)
}

fn clarabel_gated(prep: &Prepared, p: &Problem) -> (f64, Array2<f64>, f64) {
    let (prog, z0) = gated_program(prep.a.view(), p.y.view(), p.beta);
    let t = Instant::now();
    let sol = clarabel::solve(&prog, &ClarabelSettings::default()).expect("clarabel");
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(sol.status, cvxcnn::backend::Status::Optimal);
    let (np, _, h) = prep.a.dim();
    let z = Array2::from_shape_vec((np, h), sol.x[z0..z0 + np * h].to_vec()).expect("shape");
    (sol.primal_objective, z, secs)
}

#[test]
fn fista_reaches_clarabel_gated_optimum_on_digits40() {
    let p = load("bench/digits40.json");
    let prep = prepare(&p);
    let (want, _, clarabel_s) = clarabel_gated(&prep, &p);
    let t = Instant::now();
    let res = fista::solve(
        prep.a.view(),
        p.y.view(),
        p.beta,
        None,
        &FistaOptions::default(),
    );
    let fista_s = t.elapsed().as_secs_f64();
    eprintln!(
        "digits40 gated: P = {}, clarabel {want:.10} in {clarabel_s:.3}s; fista {:.10} in {} its, {fista_s:.3}s, lb {:.10} gm {:.2e} stop {}",
        prep.a.dim().0,
        res.objective,
        res.iterations,
        res.lower_bound,
        res.grad_map,
        res.stop
    );
    for (k, (sec, f)) in res.history.iter().enumerate() {
        if k.is_power_of_two() {
            eprintln!("  it {k} {sec:.4}s rel err {:.2e}", (f - want) / want);
        }
    }
    assert!(res.converged);
    assert!(
        rel(res.objective, want) < 1e-5,
        "{} vs {want}",
        res.objective
    );
    // The dual bound is a true bound: it cannot exceed Clarabel's optimum (up to its tolerance).
    assert!(res.lower_bound <= want + 1e-7 * want.abs());
    // Objective recomputed from z agrees with the reported one.
    let again = fista::objective(prep.a.view(), p.y.view(), p.beta, res.z.view());
    assert!(rel(again, res.objective) < 1e-12);
    assert!(res.history.len() >= 2);
    check_trace(&res.trace, res.objective, 0.0);
}

/// A trace starts at iteration 0, is monotone in time and iterations, and ends at the result.
fn check_trace(trace: &[cvxcnn::first_order::TracePoint], objective: f64, violation: f64) {
    assert!(trace.len() >= 2, "trace has {} points", trace.len());
    assert_eq!(trace[0].iterations, 0);
    for w in trace.windows(2) {
        assert!(w[1].seconds >= w[0].seconds && w[1].iterations >= w[0].iterations);
    }
    let last = trace.last().expect("nonempty");
    assert!(
        rel(last.objective, objective) < 1e-12,
        "{} vs {objective}",
        last.objective
    );
    assert!((last.violation - violation).abs() <= 1e-12 * violation.max(1.0));
}

/// The gated ADMM reaches Clarabel's gated optimum with a certified gap, like FISTA.
#[test]
fn gated_admm_reaches_clarabel_gated_optimum() {
    for p in [load("bench/digits40.json"), digits(30, 30)] {
        let prep = prepare(&p);
        let (want, _, _) = clarabel_gated(&prep, &p);
        let options = FistaOptions {
            method: fista::GatedMethod::Admm,
            ..FistaOptions::default()
        };
        let res = fista::solve(prep.a.view(), p.y.view(), p.beta, None, &options);
        eprintln!(
            "gated ADMM {} vs {want}: {} its",
            res.objective, res.iterations
        );
        assert!(res.converged, "{}", res.stop);
        assert!(rel(res.objective, want) < 1e-5);
        assert!(res.lower_bound <= want * (1.0 + 1e-7));
        assert!(res.objective - res.lower_bound <= 1e-6 * res.objective);
        check_trace(&res.trace, res.objective, 0.0);
    }
}

#[test]
fn gated_optimum_is_below_relu_optimum() {
    for p in [
        load("bench/digits40.json"),
        load("problems/signal_exact.json"),
    ] {
        let prep = prepare(&p);
        let gated = fista::solve(
            prep.a.view(),
            p.y.view(),
            p.beta,
            None,
            &FistaOptions::default(),
        );
        let relu = pipeline::solve(&p, &SolveOptions::default(), &quiet).expect("solve");
        eprintln!("gated {} relu {}", gated.objective, relu.objective);
        assert!(gated.converged);
        assert!(gated.objective <= relu.objective * (1.0 + 1e-7));
    }
}

#[test]
fn warm_start_from_the_optimum_converges_quickly() {
    let p = load("bench/digits40.json");
    let prep = prepare(&p);
    let (_, z, _) = clarabel_gated(&prep, &p);
    let cold = fista::solve(
        prep.a.view(),
        p.y.view(),
        p.beta,
        None,
        &FistaOptions::default(),
    );
    let warm = fista::solve(
        prep.a.view(),
        p.y.view(),
        p.beta,
        Some(cold.z.view()),
        &FistaOptions::default(),
    );
    let from_clarabel = fista::solve(
        prep.a.view(),
        p.y.view(),
        p.beta,
        Some(z.view()),
        &FistaOptions::default(),
    );
    eprintln!(
        "cold {} its, warm {} its, from clarabel {} its",
        cold.iterations, warm.iterations, from_clarabel.iterations
    );
    assert!(warm.converged && from_clarabel.converged);
    assert!(warm.iterations <= 20, "{}", warm.iterations);
    // Clarabel's interior-point z (zero blocks at ~1e-9) still needs a short polish.
    assert!(
        from_clarabel.iterations <= cold.iterations / 20,
        "{}",
        from_clarabel.iterations
    );
    assert!(rel(warm.objective, cold.objective) < 1e-9);
}

fn al_matches_pipeline(p: &Problem, label: &str) {
    let prep = prepare(p);
    let t = Instant::now();
    let relu = pipeline::solve(p, &SolveOptions::default(), &quiet).expect("solve");
    let clarabel_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let out = al::solve_prepared(&prep, p.y.view(), p.beta, &AlOptions::default(), 5);
    let al_s = t.elapsed().as_secs_f64();
    let res = &out.result;
    eprintln!(
        "{label}: P = {}, pipeline {:.10} ({clarabel_s:.3}s total, {} rounds); AL {:.10} viol {:.2e} \
         (full {:.2e}) outer {} inner {} rounds {} in {al_s:.3}s converged {}",
        prep.a.dim().0,
        relu.objective,
        relu.solver.rounds,
        res.objective,
        res.violation,
        out.full_violation,
        res.outer_iterations,
        res.inner_iterations,
        out.rounds,
        res.converged
    );
    for h in &res.history {
        eprintln!(
            "  {:.3}s obj {:.10} viol {:.2e} mu {:.2e} inner {}",
            h.seconds, h.objective, h.violation, h.mu, h.inner_iterations
        );
    }
    assert!(
        out.full_violation <= 1e-6,
        "{label}: full violation {}",
        out.full_violation
    );
    assert!(res.converged, "{label}: AL did not converge");
    assert!(
        res.violation <= 1e-6,
        "{label}: violation {}",
        res.violation
    );
    assert!(
        rel(res.objective, relu.objective) < 1e-5,
        "{label}: {} vs {}",
        res.objective,
        relu.objective
    );
    let again = al::objective(
        prep.a.view(),
        p.y.view(),
        p.beta,
        res.c.view(),
        res.c_prime.view(),
    );
    assert!(rel(again, res.objective) < 1e-12);
    assert_eq!(res.history.len(), res.outer_iterations);
    check_trace(&res.trace, res.objective, res.violation);
}

#[test]
fn al_reaches_relu_optimum_on_signal_exact() {
    al_matches_pipeline(&load("problems/signal_exact.json"), "signal_exact");
}

#[test]
fn al_reaches_relu_optimum_on_digits20() {
    al_matches_pipeline(&digits(20, 20), "digits20");
}

#[test]
fn al_reaches_relu_optimum_on_digits40() {
    al_matches_pipeline(&load("bench/digits40.json"), "digits40");
}

/// The reference method (penalty AL with FISTA inside) still reaches the optimum.
#[test]
fn penalty_al_reaches_relu_optimum_on_digits20() {
    let p = digits(20, 20);
    let prep = prepare(&p);
    let relu = pipeline::solve(&p, &SolveOptions::default(), &quiet).expect("solve");
    let options = AlOptions {
        method: al::AlMethod::Penalty,
        ..AlOptions::default()
    };
    let out = al::solve_prepared(&prep, p.y.view(), p.beta, &options, 5);
    assert!(out.result.converged);
    assert_eq!(out.result.stop, "converged");
    assert!(rel(out.result.objective, relu.objective) < 1e-5);
    assert!(out.full_violation <= 1e-6);
}

/// The ADMM's lower bound is a true bound (below Clarabel's optimum, up to Clarabel's tolerance)
/// and within the requested gap of the objective; its iterate is feasible to rounding.
#[test]
fn admm_gap_certifies_the_objective() {
    let p = load("bench/digits40.json");
    let prep = prepare(&p);
    let relu = pipeline::solve(&p, &SolveOptions::default(), &quiet).expect("solve");
    for tol_gap in [1e-3, 1e-6] {
        let options = AlOptions {
            tol_gap,
            ..AlOptions::default()
        };
        let res = al::solve_prepared(&prep, p.y.view(), p.beta, &options, 5).result;
        assert!(res.converged, "tol {tol_gap}: {}", res.stop);
        assert!(res.lower_bound <= relu.objective * (1.0 + 1e-8));
        assert!(res.objective >= relu.objective * (1.0 - 1e-8));
        assert!(res.objective - res.lower_bound <= tol_gap * res.objective);
        assert!(res.violation <= 1e-12, "violation {}", res.violation);
        // Every check of the trace is feasible to rounding too.
        assert!(res.trace.iter().all(|t| t.violation <= 1e-12));
    }
}

/// Bad input gets an honest status, never `converged`: a non-finite or negative penalty (the step
/// diverges or cannot be taken), an iteration cap and a time cap.
#[test]
fn al_reports_failures_honestly() {
    let p = digits(20, 20);
    let prep = prepare(&p);
    for (options, want) in [
        (
            AlOptions {
                mu0: Some(f64::NAN),
                ..AlOptions::default()
            },
            "numerical_error",
        ),
        (
            AlOptions {
                mu0: Some(-1.0),
                ..AlOptions::default()
            },
            "numerical_error",
        ),
        (
            // The ADMM's own cap (the polish would certify from 3 iterations on this problem).
            AlOptions {
                max_iter: 3,
                polish: false,
                ..AlOptions::default()
            },
            "max_iterations",
        ),
        (
            AlOptions {
                time_limit: 0.0,
                check_every: 1,
                ..AlOptions::default()
            },
            "max_time",
        ),
    ] {
        let res = al::solve_prepared(&prep, p.y.view(), p.beta, &options, 5).result;
        assert!(!res.converged, "{want}");
        assert_eq!(res.stop, want);
    }
}

/// Timing of both methods on `bench/digits40.json` against Clarabel (prints; run with `--ignored`).
#[test]
#[ignore]
fn bench_digits40() {
    let p = load("bench/digits40.json");
    let prep = prepare(&p);
    let t = Instant::now();
    let relu = pipeline::solve(&p, &SolveOptions::default(), &quiet).expect("solve");
    let pipe_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let options = AlOptions {
        time_limit: 240.0,
        ..AlOptions::default()
    };
    let out = al::solve_prepared(&prep, p.y.view(), p.beta, &options, 5);
    let al_s = t.elapsed().as_secs_f64();
    let res = &out.result;
    eprintln!(
        "digits40 ReLU: pipeline {:.10} in {pipe_s:.3}s (clarabel {:.3}s); AL {:.10} rel err {:.2e} viol {:.2e} \
         full {:.2e} outer {} inner {} rounds {} in {al_s:.3}s converged {}",
        relu.objective,
        relu.timings.solve_s,
        res.objective,
        rel(res.objective, relu.objective),
        res.violation,
        out.full_violation,
        res.outer_iterations,
        res.inner_iterations,
        out.rounds,
        res.converged
    );
    for h in &res.history {
        eprintln!(
            "  {:.3}s obj {:.10} viol {:.2e} mu {:.2e} inner {}",
            h.seconds, h.objective, h.violation, h.mu, h.inner_iterations
        );
    }
}

/// FISTA against Clarabel on the gated program (prints; run with `--ignored`).
#[test]
#[ignore]
fn bench_gated() {
    for path in ["bench/digits40.json", "problems/digits.json"] {
        let p = load(path);
        let prep = prepare(&p);
        let (want, _, clarabel_s) = clarabel_gated(&prep, &p);
        let t = Instant::now();
        let res = fista::solve(
            prep.a.view(),
            p.y.view(),
            p.beta,
            None,
            &FistaOptions::default(),
        );
        eprintln!(
            "{path}: P = {}, n = {}: clarabel {want:.10} in {clarabel_s:.3}s; fista {:.10} (rel {:.1e}) \
             in {} its, {:.3}s, stop {}",
            prep.a.dim().0,
            prep.a.dim().1,
            res.objective,
            rel(res.objective, want),
            res.iterations,
            t.elapsed().as_secs_f64(),
            res.stop
        );
        let t = Instant::now();
        let options = FistaOptions {
            method: fista::GatedMethod::Admm,
            ..FistaOptions::default()
        };
        let res = fista::solve(prep.a.view(), p.y.view(), p.beta, None, &options);
        eprintln!(
            "{path}: gated ADMM {:.10} (rel {:.1e}) in {} its, {:.3}s, stop {}",
            res.objective,
            rel(res.objective, want),
            res.iterations,
            t.elapsed().as_secs_f64(),
            res.stop
        );
    }
}

/// A warm-started β path gives, at every β, the optimum of a cold solve and of Clarabel (1e-5),
/// and the gated path stays below the ReLU path.
#[test]
fn beta_path_matches_cold_solves() {
    use cvxcnn::first_order::path::{self, PathSolver};
    let p = digits(30, 30);
    let prep = prepare(&p);
    let betas = [0.1, 0.05, 0.02];
    let options = SolveOptions::default();
    let run = |solver| {
        path::run(
            &p,
            Some(&prep),
            &options,
            &betas,
            solver,
            &AlOptions::default(),
            &FistaOptions::default(),
        )
        .expect("path")
    };
    let al_path = run(PathSolver::Al);
    let gated = run(PathSolver::Fista);
    let clarabel = run(PathSolver::Clarabel);
    for (k, &beta) in betas.iter().enumerate() {
        let (a, g, c) = (&al_path.entries[k], &gated.entries[k], &clarabel.entries[k]);
        assert_eq!(a.beta, beta);
        let cold = al::solve_prepared(&prep, p.y.view(), beta, &AlOptions::default(), 5);
        eprintln!(
            "β {beta}: path {:.10} ({} its) cold {:.10} ({} its) clarabel {:.10} gated {:.10}",
            a.objective,
            a.iterations,
            cold.result.objective,
            cold.result.inner_iterations,
            c.objective,
            g.objective
        );
        assert_eq!(a.status, "optimal");
        assert_eq!(c.status, "optimal");
        assert!(rel(a.objective, cold.result.objective) < 1e-5);
        assert!(rel(a.objective, c.objective) < 1e-5);
        assert!(a.violation <= 1e-6);
        assert!(a.lower_bound <= c.objective * (1.0 + 1e-8));
        assert!(g.objective <= a.objective * (1.0 + 1e-7));
    }
}

#[test]
fn bad_betas_are_refused() {
    use cvxcnn::first_order::path::check_betas;
    assert!(check_betas(&[0.1, 0.05]).is_ok());
    assert!(check_betas(&[]).unwrap_err().contains("no β"));
    assert!(check_betas(&[0.1, -1.0]).unwrap_err().contains("β = -1"));
    assert!(
        check_betas(&[f64::INFINITY])
            .unwrap_err()
            .contains("finite")
    );
    assert!(check_betas(&[0.1, 0.2, 0.1]).unwrap_err().contains("twice"));
}

/// The working-set driver (AL on a few patterns, exact pricing of all of them) reaches the optimum
/// of the program with **all** patterns: Clarabel's and the full AL's to 1e-5, a certified gap over
/// every pattern, and the dual values of every pattern at its residual within β (1 + 1e-3).
/// `certify`'s certificate of the blocks `(c, c')` over all patterns of `prep`, with the residual
/// `y − Σ_i A_i (c_i − c'_i)` as the dual candidate and `objective` as the primal value.
fn certify_blocks(
    prep: &Prepared,
    p: &Problem,
    c: ndarray::ArrayView2<f64>,
    c_prime: ndarray::ArrayView2<f64>,
    objective: f64,
) -> cvxcnn::certify::Certificate {
    let z = &c - &c_prime;
    let v = &p.y - &cvxcnn::first_order::Operator::new(prep.a.view()).apply(z.view());
    cvxcnn::certify::certify(
        prep.patches.stacked(),
        &prep.arrangement,
        &prep.a,
        &prep.rows,
        p.y.view(),
        &[v],
        p.beta,
        objective,
        cvxcnn::geometry::FilterNorm::L2,
    )
}

#[test]
fn working_set_reaches_the_all_pattern_optimum() {
    use cvxcnn::certify;
    use cvxcnn::first_order::working_set::{self, InitialRule, WorkingSetOptions};
    use cvxcnn::geometry::FilterNorm;
    for (p, label, initial) in [
        (load("bench/digits40.json"), "digits40", 5),
        (load("problems/signal_exact.json"), "signal_exact", 2),
    ] {
        let prep = prepare(&p);
        let relu = pipeline::solve(&p, &SolveOptions::default(), &quiet).expect("solve");
        let full = al::solve_prepared(&prep, p.y.view(), p.beta, &AlOptions::default(), 5);
        // Without the polish: the rounds themselves must grow W to the optimum's support.
        let options = WorkingSetOptions {
            tol_gap: 1e-7,
            initial,
            initial_rule: InitialRule::First,
            batch: 3,
            polish: false,
            ..WorkingSetOptions::default()
        };
        let out = working_set::solve(&prep, p.y.view(), p.beta, &options);
        eprintln!(
            "{label}: P = {}, clarabel {:.10}, full AL {:.10}, working set {:.10} (lb {:.10}, gap {:.2e}) \
             |W| {} in {} rounds, {} iterations, stop {}",
            prep.a.dim().0,
            relu.objective,
            full.result.objective,
            out.objective,
            out.lower_bound,
            out.relative_gap,
            out.working_set.len(),
            out.rounds.len(),
            out.iterations,
            out.stop
        );
        assert!(out.converged, "{label}: {}", out.stop);
        // It had to generate columns: the first working set was not enough.
        assert!(out.rounds[0].violators > 0, "{label}: nothing to add");
        assert!(out.working_set.len() > initial);
        assert!(
            out.working_set.len() < prep.a.dim().0,
            "{label}: took every pattern"
        );
        assert!(rel(out.objective, relu.objective) < 1e-5, "{label}");
        assert!(rel(out.objective, full.result.objective) < 1e-5, "{label}");
        // The objective is recomputed from the blocks over all patterns …
        let again = al::objective(
            prep.a.view(),
            p.y.view(),
            p.beta,
            out.c.view(),
            out.c_prime.view(),
        );
        assert!(rel(again, out.objective) < 1e-9, "{label}");
        assert!(
            out.full_violation <= 1e-6,
            "{label}: {}",
            out.full_violation
        );
        // … and the final dual check over all patterns is redone independently.
        let z = &out.c - &out.c_prime;
        let v = &p.y - &cvxcnn::first_order::Operator::new(prep.a.view()).apply(z.view());
        let m = prep.patches.stacked();
        let d = certify::dual_values(
            m,
            &prep.arrangement,
            &prep.a,
            &prep.rows,
            v.view(),
            FilterNorm::L2,
        );
        let max_d = d.iter().copied().fold(0.0_f64, f64::max);
        assert!(max_d <= p.beta * (1.0 + 1e-3), "{label}: max dual {max_d}");
        let cert = certify_blocks(&prep, &p, out.c.view(), out.c_prime.view(), again);
        assert!(cert.relative_gap <= 1e-6, "{label}: {}", cert.relative_gap);
        assert!((cert.lower_bound - out.lower_bound).abs() <= 1e-9 * again.abs().max(1.0));
    }
}

/// The polish (column generation over neuron directions, `first_order::polish`) certifies from a
/// crude ADMM iterate and from nothing at all: its objective is an exact upper bound (recomputed
/// from its filters, which meet every cone row), its bound an exact lower bound (reproduced by
/// `certify` from the residual), and both meet Clarabel's optimum.
#[test]
fn polish_certifies_from_a_crude_iterate_and_from_nothing() {
    use cvxcnn::certify;
    use cvxcnn::first_order::cone;
    use cvxcnn::first_order::polish::{self, PolishOptions};
    use cvxcnn::geometry::FilterNorm;
    for (p, label) in [
        (load("bench/digits40.json"), "digits40"),
        (load("problems/signal_exact.json"), "signal_exact"),
    ] {
        let prep = prepare(&p);
        let relu = pipeline::solve(&p, &SolveOptions::default(), &quiet).expect("solve");
        let m = prep.patches.stacked();
        let arr = &prep.arrangement;
        let cones = cone::cones(&al::cone_matrices(m, arr, &prep.rows));
        let price = |v: ArrayView1<f64>| {
            certify::dual_values(m, arr, &prep.a, &prep.rows, v, FilterNorm::L2)
        };
        // 30 ADMM iterations: far from certified.
        let crude = al::solve_prepared(
            &prep,
            p.y.view(),
            p.beta,
            &AlOptions {
                max_iter: 30,
                polish: false,
                ..AlOptions::default()
            },
            1,
        )
        .result;
        assert!(!crude.converged);
        let zero = Array2::<f64>::zeros(crude.c.dim());
        // With `max_add` below the crude iterate's nonzero blocks the master starts from the
        // heaviest `max_add` of them only; the pricing must bring back the rest.
        let nonzero = crude
            .c
            .outer_iter()
            .chain(crude.c_prime.outer_iter())
            .filter(|u| u.iter().any(|&x| x != 0.0))
            .count();
        let few = 8;
        assert!(nonzero > few, "{label}: {nonzero} nonzero blocks");
        for (start, c, cp, max_add) in [
            ("crude", crude.c.view(), crude.c_prime.view(), 1000),
            ("zero", zero.view(), zero.view(), 1000),
            (
                "crude, 8 columns",
                crude.c.view(),
                crude.c_prime.view(),
                few,
            ),
        ] {
            let out = polish::polish(
                prep.a.view(),
                &cones,
                &price,
                p.y.view(),
                p.beta,
                c,
                cp,
                &PolishOptions {
                    tol_gap: 1e-9,
                    max_add,
                    ..PolishOptions::default()
                },
                &|_| {},
            );
            if max_add == few {
                assert!(
                    out.rounds[0].columns <= few,
                    "{label}: the start was not cut"
                );
            }
            eprintln!(
                "{label} from {start}: {} rounds, objective {:.12} lb {:.12} gap {:.2e} (clarabel {:.12})",
                out.rounds.len(),
                out.objective,
                out.lower_bound,
                out.relative_gap,
                relu.objective
            );
            assert!(out.converged, "{label} from {start}: {}", out.stop);
            assert!(out.relative_gap <= 1e-9);
            // Both bounds against Clarabel's: the polish's objective (a feasible point) is above
            // Clarabel's certified lower bound; its lower bound is below Clarabel's objective up
            // to Clarabel's feasibility tolerance (its convex objective sits 2.7e-8 below the
            // polish's certified bound on signal_exact), and — with every pattern (exact mode) —
            // below the objective of Clarabel's decoded network, a feasible network. (With
            // sampled patterns a network may beat the program: its own patterns are not all in
            // the sample.)
            assert!(
                out.objective >= relu.certificate.lower_bound,
                "{label} from {start}"
            );
            assert!(
                out.lower_bound <= relu.objective * (1.0 + 1e-7),
                "{label} from {start}"
            );
            if prep.arrangement.exact {
                assert!(
                    out.lower_bound <= relu.network_objective,
                    "{label} from {start}"
                );
            }
            assert!(
                rel(out.objective, relu.objective) < 1e-6,
                "{label} from {start}"
            );
            // Every round's master is an upper bound on its own merged filters.
            for r in &out.rounds {
                assert!(r.objective <= r.master_objective * (1.0 + 1e-12));
            }
            // The filters: exact objective, feasible for every cone row of every pattern.
            let again = al::objective(
                prep.a.view(),
                p.y.view(),
                p.beta,
                out.c.view(),
                out.c_prime.view(),
            );
            assert!(rel(again, out.objective) < 1e-12, "{label}");
            let full = al::full_violation(m, arr, out.c.view(), out.c_prime.view());
            assert!(full <= 1e-12, "{label}: full violation {full}");
            // The certificate, redone by `certify` from the filters' residual.
            let cert = certify_blocks(&prep, &p, out.c.view(), out.c_prime.view(), again);
            assert!(cert.relative_gap <= 1e-8, "{label}: {}", cert.relative_gap);
        }
    }
}

/// The AL with its polish (the default) and the working set with its polish reach Clarabel's
/// optimum with a certified gap; the polish is what certifies.
#[test]
fn polished_al_and_working_set_certify() {
    use cvxcnn::first_order::working_set::{self, WorkingSetOptions};
    let p = load("bench/digits40.json");
    let prep = prepare(&p);
    let relu = pipeline::solve(&p, &SolveOptions::default(), &quiet).expect("solve");
    let options = AlOptions {
        tol_gap: 1e-8,
        ..AlOptions::default()
    };
    let res = al::solve_prepared(&prep, p.y.view(), p.beta, &options, 5).result;
    assert!(res.converged, "{}", res.stop);
    assert!(res.polish_rounds > 0, "the ADMM certified alone");
    assert!(res.objective - res.lower_bound <= 1e-8 * res.objective);
    assert!(res.lower_bound <= relu.objective * (1.0 + 1e-7));
    assert!(res.objective >= relu.certificate.lower_bound);
    assert!(rel(res.objective, relu.objective) < 1e-6);
    check_trace(&res.trace, res.objective, res.violation);
    let ws = working_set::solve(
        &prep,
        p.y.view(),
        p.beta,
        &WorkingSetOptions {
            tol_gap: 1e-8,
            initial: 5,
            ..WorkingSetOptions::default()
        },
    );
    assert!(ws.converged, "{}", ws.stop);
    assert!(ws.rounds.iter().any(|r| r.polish_gap.is_some()));
    assert!(rel(ws.objective, relu.objective) < 1e-6);
    assert!(ws.lower_bound <= relu.objective * (1.0 + 1e-7));
    assert!(ws.objective >= relu.certificate.lower_bound);
    assert!(ws.full_violation <= 1e-12);
}
