//! Clarabel (interior point) and OSQP (first order) on the same ℓ1 programs of real CNN problems:
//! the optima agree to OSQP's tolerance, and the certificate of each says how far it is.
#![cfg(feature = "osqp")]

use cvxcnn::backend::osqp::OsqpSettings;
use cvxcnn::backend::{Backend, Status};
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::problem::Problem;
use std::path::PathBuf;

fn problem(name: &str) -> Problem {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name);
    Problem::load(&path).expect("problem loads")
}

fn solve(p: &Problem, backend: Backend) -> pipeline::Report {
    let opts = SolveOptions {
        backend,
        ..SolveOptions::default()
    };
    pipeline::solve(p, &opts, &|_, _, _| {}).expect("solve")
}

#[test]
fn osqp_and_clarabel_agree_on_l1_digits_programs() {
    // OSQP converges here in ~50,000 iterations; on larger ℓ1 digits programs it ends inaccurate
    // (README, "OSQP against Clarabel"), which is what this comparison exists to show.
    {
        let name = "bench/interop_l1.json";
        let p = problem(name);
        let ipm = solve(&p, Backend::default());
        let osqp = solve(&p, Backend::Osqp(OsqpSettings::default()));
        assert_eq!(ipm.status, Status::Optimal, "{name}");
        assert_eq!(osqp.status, Status::Optimal, "{name}");
        let rel = (osqp.objective - ipm.objective).abs() / ipm.objective.abs().max(1.0);
        assert!(
            rel <= 1e-5,
            "{name}: OSQP {} vs Clarabel {} (rel {rel:e})",
            osqp.objective,
            ipm.objective
        );
        // The decoded OSQP network is a real network: its forward objective matches its program's.
        let net = (osqp.network_objective - osqp.objective).abs() / osqp.objective.abs().max(1.0);
        assert!(
            net <= 1e-4,
            "{name}: network {} vs program {}",
            osqp.network_objective,
            osqp.objective
        );
        // Both certificates bound the same sampled sub-model.
        assert!(osqp.certificate.lower_bound <= ipm.objective * (1.0 + 1e-7) + 1e-9);
        assert!(ipm.certificate.certified, "{name}");
    }
}

#[test]
fn osqp_refuses_the_l2_program() {
    let p = problem("bench/digits40.json");
    let opts = SolveOptions {
        backend: Backend::Osqp(OsqpSettings::default()),
        ..SolveOptions::default()
    };
    let err = pipeline::solve(&p, &opts, &|_, _, _| {}).expect_err("refused");
    assert!(err.to_string().contains("clarabel"), "{err}");
}
