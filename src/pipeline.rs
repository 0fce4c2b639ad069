//! One call from a validated problem to a certified, decoded network: the library's front door
//! over [`crate::arch`] (patches → arrangements → reduction → build → solve → full check and
//! re-solve → decode → certify).

use crate::arch::dispatch;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::problem::{Architecture, Problem};

pub use crate::arch::dispatch::Solved;
pub use crate::arch::formulation::Prepared;
pub use crate::arch::options::{DECODE_ACCURACY_FACTOR, Progress, SolveOptions, VIOLATION_REL_TOL};
pub use crate::arch::report::{
    DataReport, Header, NetworkLayout, NetworkReport, ProgramReport, SolverReport, Timings,
    TwoLayerBody,
};
pub use crate::network::Weights;

/// The result of a two-layer or circular solve (docs/results.md, "Result files").
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

/// `problem` with every pattern fixed: in `"mode": "generate"` the patterns are generated first
/// ([`crate::generate`]; `options.network` seeds the search), any other mode is unchanged. Every
/// entry point below resolves its problem this way, so `solve`, `certify` and `export` see the
/// same patterns.
pub fn resolve_patterns(
    problem: &Problem,
    options: &SolveOptions,
    progress: Progress,
) -> Result<Problem> {
    check_loss(problem)?;
    crate::generate::resolve(problem, options, progress)
}

/// The program a solve of `problem` hands to the backend first, for any architecture (what
/// `cvxcnn export` writes).
pub fn program(
    problem: &Problem,
    options: &SolveOptions,
    progress: Progress,
) -> Result<crate::ir::ConicProgram> {
    dispatch::program(
        &resolve_patterns(problem, options, progress)?,
        options,
        progress,
    )
}

/// Solves a problem of any architecture, with the interior point (`clarabel`, `osqp`: the
/// architecture's conic program) or the first-order augmented Lagrangian (`al`: the two-layer
/// ReLU program, [`crate::first_order::driver`]).
pub fn solve_any(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Solved> {
    check_loss(problem)?;
    let resolved = crate::generate::resolve_with_state(problem, options, progress)?;
    let problem = match (&resolved, &options.backend) {
        // The AL goes on from where the generation stopped: same patterns, warm.
        (Some(g), Backend::Al(_)) => {
            crate::first_order::driver::check(&g.problem)?;
            let solved = crate::first_order::driver::solve_prepared(
                &g.prep,
                None,
                &g.problem,
                options,
                Some(&g.warm),
                std::time::Instant::now(),
            )?;
            return Ok(Solved::TwoLayer(Box::new(solved.report)));
        }
        (Some(g), _) => &g.problem,
        (None, _) => problem,
    };
    match options.backend {
        Backend::Al(_) => Ok(Solved::TwoLayer(Box::new(
            crate::first_order::driver::solve(problem, options, progress)?,
        ))),
        _ => dispatch::solve(problem, options, progress),
    }
}

/// Solves problems that differ only in their targets and β — the classes of a one-vs-rest
/// problem — preparing what does not depend on the targets once (patches, patterns, `A_i`, the
/// reduced cone rows and, for `al`, the loss's Gram matrix) and solving them in parallel; results
/// in order. Generated patterns depend on the targets, so in `"mode": "generate"` every problem
/// generates and solves on its own.
pub fn solve_many(
    problems: &[Problem],
    options: &SolveOptions,
    progress: Progress,
) -> Result<Vec<Solved>> {
    use rayon::prelude::*;
    let Some(first) = problems.first() else {
        return Ok(Vec::new());
    };
    if first.arrangements.generation_pending() {
        return problems
            .par_iter()
            .map(|p| solve_any(p, options, progress))
            .collect();
    }
    match options.backend {
        Backend::Al(_) => Ok(
            crate::first_order::driver::solve_many(problems, options, progress)?
                .into_iter()
                .map(|r| Solved::TwoLayer(Box::new(r)))
                .collect(),
        ),
        _ => dispatch::solve_many(problems, options, progress),
    }
}

/// Pattern generation prices with the squared loss's first-order solver: refuse the other losses.
fn check_loss(problem: &Problem) -> Result<()> {
    if let (crate::problem::ArrangementSpec::Generate(_), false) =
        (&problem.arrangements, problem.loss.is_squared())
    {
        return Err(Error::input(
            &problem.source,
            format!(
                "\"mode\": \"generate\" is built for the squared loss, not \"loss\": \"{}\"; \
                 use \"mode\": \"sample\" or \"exact\"",
                problem.loss.name()
            ),
        ));
    }
    Ok(())
}

/// Patches, patterns, `A_i` and the (reduced) cone rows of a two-layer ReLU problem: what the
/// first-order solvers work on (generated patterns are generated first).
pub fn prepare(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Prepared> {
    crate::arch::two_layer::prepare(
        &resolve_patterns(problem, options, progress)?,
        options,
        progress,
    )
}
