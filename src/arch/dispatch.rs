//! The one place a problem's architecture picks its formulation.

use crate::arch::circular::Circular;
use crate::arch::driver;
use crate::arch::linear::Linear;
use crate::arch::options::{Progress, SolveOptions};
use crate::arch::report::{Header, Report, TwoLayerBody};
use crate::arch::three_layer::{ThreeLayer, ThreeLayerBody};
use crate::arch::two_layer::TwoLayer;
use crate::backend::Status;
use crate::certify::Certificate;
use crate::error::Result;
use crate::geometry::Activation;
use crate::ir::ConicProgram;
use crate::problem::{Architecture, Problem};
use serde::Serialize;

/// The result of a solve of any architecture, serialized as that architecture's report.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Solved {
    /// Two-layer CNNs (every pooling and activation) and the circular CNN.
    TwoLayer(Box<Report<TwoLayerBody>>),
    /// The three-layer CNN with two ReLU layers.
    ThreeLayer(Box<Report<ThreeLayerBody>>),
}

impl Solved {
    /// The keys every result starts with (status, objectives, patterns).
    pub fn header(&self) -> &Header {
        match self {
            Solved::TwoLayer(r) => &r.header,
            Solved::ThreeLayer(r) => &r.header,
        }
    }

    /// The dual certificate of the optimum.
    pub fn certificate(&self) -> &Certificate {
        match self {
            Solved::TwoLayer(r) => &r.certificate,
            Solved::ThreeLayer(r) => &r.certificate,
        }
    }

    /// `optimal` only when the solver converged to its tolerances.
    pub fn status(&self) -> Status {
        self.header().status
    }

    /// Neurons of the decoded network (three-layer: inner filters over all sub-networks).
    pub fn neurons(&self) -> usize {
        match self {
            Solved::TwoLayer(r) => r.neurons,
            Solved::ThreeLayer(r) => r.neurons,
        }
    }

    /// Worst violation of the full constraint set at the solution.
    pub fn max_constraint_violation(&self) -> f64 {
        match self {
            Solved::TwoLayer(r) => r.max_constraint_violation,
            Solved::ThreeLayer(r) => r.max_constraint_violation,
        }
    }

    /// What the solver did.
    pub fn solver(&self) -> &crate::arch::report::SolverReport {
        match self {
            Solved::TwoLayer(r) => &r.solver,
            Solved::ThreeLayer(r) => &r.solver,
        }
    }

    /// Seconds of the whole solve.
    pub fn total_s(&self) -> f64 {
        match self {
            Solved::TwoLayer(r) => r.timings.total_s,
            Solved::ThreeLayer(r) => r.timings.total_s,
        }
    }
}

/// Solves a problem of any architecture.
pub fn solve(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Solved> {
    Ok(match problem.architecture {
        Architecture::TwoLayer {
            activation: Activation::Relu,
            ..
        } => Solved::TwoLayer(Box::new(driver::solve::<TwoLayer>(
            problem, options, progress,
        )?)),
        Architecture::TwoLayer {
            activation: Activation::Linear,
            ..
        } => Solved::TwoLayer(Box::new(driver::solve::<Linear>(
            problem, options, progress,
        )?)),
        Architecture::Circular { .. } => Solved::TwoLayer(Box::new(driver::solve::<Circular>(
            problem, options, progress,
        )?)),
        Architecture::ThreeLayer { .. } => Solved::ThreeLayer(Box::new(
            driver::solve::<ThreeLayer>(problem, options, progress)?,
        )),
    })
}

/// Solves problems that differ only in their targets and β ([`driver::solve_many`]: one
/// preparation, parallel solves).
pub fn solve_many(
    problems: &[Problem],
    options: &SolveOptions,
    progress: Progress,
) -> Result<Vec<Solved>> {
    let Some(first) = problems.first() else {
        return Ok(Vec::new());
    };
    let two = |r: Vec<Report<TwoLayerBody>>| {
        r.into_iter()
            .map(|r| Solved::TwoLayer(Box::new(r)))
            .collect()
    };
    Ok(match first.architecture {
        Architecture::TwoLayer {
            activation: Activation::Relu,
            ..
        } => two(driver::solve_many::<TwoLayer>(problems, options, progress)?),
        Architecture::TwoLayer {
            activation: Activation::Linear,
            ..
        } => two(driver::solve_many::<Linear>(problems, options, progress)?),
        Architecture::Circular { .. } => {
            two(driver::solve_many::<Circular>(problems, options, progress)?)
        }
        Architecture::ThreeLayer { .. } => {
            driver::solve_many::<ThreeLayer>(problems, options, progress)?
                .into_iter()
                .map(|r| Solved::ThreeLayer(Box::new(r)))
                .collect()
        }
    })
}

/// The program a solve of `problem` hands to the backend first, for any architecture (what
/// `cvxcnn export` writes).
pub fn program(
    problem: &Problem,
    options: &SolveOptions,
    progress: Progress,
) -> Result<ConicProgram> {
    match problem.architecture {
        Architecture::TwoLayer {
            activation: Activation::Relu,
            ..
        } => driver::first_program::<TwoLayer>(problem, options, progress),
        Architecture::TwoLayer {
            activation: Activation::Linear,
            ..
        } => driver::first_program::<Linear>(problem, options, progress),
        Architecture::Circular { .. } => {
            driver::first_program::<Circular>(problem, options, progress)
        }
        Architecture::ThreeLayer { .. } => {
            driver::first_program::<ThreeLayer>(problem, options, progress)
        }
    }
}
