//! One call from a validated problem to a certified, decoded network: the library's front door
//! over [`crate::arch`] (patches → arrangements → reduction → build → solve → full check and
//! re-solve → decode → certify).

use crate::arch::dispatch;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::problem::{Architecture, Problem};

pub use crate::arch::dispatch::{Solved, program};
pub use crate::arch::formulation::Prepared;
pub use crate::arch::options::{DECODE_ACCURACY_FACTOR, Progress, SolveOptions, VIOLATION_REL_TOL};
pub use crate::arch::report::{
    DataReport, Header, NetworkLayout, NetworkReport, ProgramReport, SolverReport, Timings,
    TwoLayerBody,
};
pub use crate::network::Weights;

/// The result of a two-layer or circular solve (README, "Result files").
pub type Report = crate::arch::report::Report<TwoLayerBody>;

/// Solves a two-layer (every pooling and activation) or circular problem; a three-layer problem,
/// whose result has another layout, is solved by [`solve_any`].
pub fn solve(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Report> {
    if let Architecture::ThreeLayer { .. } = problem.architecture {
        return Err(Error::input(
            &problem.source,
            "a three-layer result has its own layout; solve it with pipeline::solve_any",
        ));
    }
    match solve_any(problem, options, progress)? {
        Solved::TwoLayer(r) => Ok(*r),
        Solved::ThreeLayer(_) => unreachable!("three-layer problems are refused above"),
    }
}

/// Solves a problem of any architecture, with the interior point (`clarabel`, `osqp`: the
/// architecture's conic program) or the first-order augmented Lagrangian (`al`: the two-layer
/// ReLU program, [`crate::first_order::driver`]).
pub fn solve_any(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Solved> {
    match options.backend {
        Backend::Al(_) => Ok(Solved::TwoLayer(Box::new(
            crate::first_order::driver::solve(problem, options, progress)?,
        ))),
        _ => dispatch::solve(problem, options, progress),
    }
}

/// Patches, patterns, `A_i` and the (reduced) cone rows of a two-layer ReLU problem: what the
/// first-order solvers work on.
pub fn prepare(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Prepared> {
    crate::arch::two_layer::prepare(problem, options, progress)
}
