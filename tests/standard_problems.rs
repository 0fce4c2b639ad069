//! Every backend and every file format runs through the shared standard problems and must reach
//! the known optimum.

mod common;

use cvxcnn::backend::Status;
use cvxcnn::backend::clarabel::{self, ClarabelSettings};
use cvxcnn::export::{cbf, clarabel_json, mps};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn clarabel_reaches_every_known_optimum() {
    for s in common::problems() {
        let sol = clarabel::solve(&s.program, &ClarabelSettings::default()).expect(s.name);
        assert_eq!(sol.status, Status::Optimal, "{}", s.name);
        assert!(
            close(sol.primal_objective, s.optimum, 1e-7),
            "{}: {} vs {}",
            s.name,
            sol.primal_objective,
            s.optimum
        );
    }
}

#[test]
fn cbf_round_trip_keeps_every_optimum() {
    for s in common::problems() {
        let text = cbf::write(&s.program);
        assert_eq!(text, cbf::write(&s.program), "{}: deterministic", s.name);
        let back = cbf::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", s.name));
        let sol = clarabel::solve(&back, &ClarabelSettings::default()).expect(s.name);
        assert_eq!(sol.status, Status::Optimal, "{}", s.name);
        assert!(
            close(sol.primal_objective, s.optimum, 1e-7),
            "{}: {} vs {}",
            s.name,
            sol.primal_objective,
            s.optimum
        );
    }
}

#[test]
fn mps_round_trip_keeps_every_qp_optimum_and_refuses_cones() {
    for s in common::problems() {
        match mps::write(&s.program) {
            Ok(text) => {
                assert!(!s.conic, "{}: MPS must refuse cones", s.name);
                let back = mps::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", s.name));
                let sol = clarabel::solve(&back, &ClarabelSettings::default()).expect(s.name);
                assert!(
                    close(sol.primal_objective, s.optimum, 1e-7),
                    "{}: {} vs {}",
                    s.name,
                    sol.primal_objective,
                    s.optimum
                );
            }
            Err(e) => assert!(s.conic, "{}: refused a QP: {e}", s.name),
        }
    }
}

#[test]
fn clarabel_json_loads_in_clarabel_with_every_optimum() {
    use ::clarabel::solver::{DefaultSolver, IPSolver, SolverJSONReadWrite};
    let dir = tempfile::tempdir().expect("tempdir");
    for s in common::problems() {
        let text = clarabel_json::write(&s.program, &ClarabelSettings::default());
        let path = dir.path().join(format!("{}.json", s.name));
        std::fs::write(&path, &text).expect("write");
        let mut f = std::fs::File::open(&path).expect("open");
        let settings = ::clarabel::solver::DefaultSettings::<f64> {
            verbose: false,
            ..Default::default()
        };
        let mut solver =
            DefaultSolver::<f64>::load_from_file(&mut f, Some(settings)).expect(s.name);
        solver.solve();
        assert!(
            close(solver.solution.obj_val, s.optimum, 1e-7),
            "{}: {} vs {}",
            s.name,
            solver.solution.obj_val,
            s.optimum
        );
    }
}

#[cfg(feature = "osqp")]
#[test]
fn osqp_reaches_every_qp_optimum_and_refuses_cones() {
    use cvxcnn::backend::osqp::{self, OsqpSettings};
    for s in common::problems() {
        match osqp::solve(&s.program, &OsqpSettings::default()) {
            Ok(sol) => {
                assert!(!s.conic, "{}: OSQP must refuse cones", s.name);
                assert_eq!(sol.status, Status::Optimal, "{}", s.name);
                assert!(
                    close(sol.primal_objective, s.optimum, 1e-5),
                    "{}: {} vs {}",
                    s.name,
                    sol.primal_objective,
                    s.optimum
                );
            }
            Err(e) => {
                assert!(s.conic, "{}: refused a QP: {e}", s.name);
                assert!(e.to_string().contains("clarabel"), "{e}");
            }
        }
    }
}
