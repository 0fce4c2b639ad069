//! The contract between an architecture and the driver: what one architecture's convex formulation
//! must provide ([`Formulation`]), and what the driver ([`crate::arch::driver`]) does with it.
//!
//! An architecture prepares its label-independent data ([`Prepared`]: patches, sign patterns, the
//! pattern matrices `A_i`, the cone rows to write), builds its program in the IR from given cone
//! rows, says which blocks of a solution must lie in which pattern's cone, decodes a solution into
//! its network, and certifies an objective against dual candidates. The build returns the inverse
//! data the decode needs (cvxpy's `apply`/`invert` pairing): the program's layout. Everything
//! else — the rounds of full-row checks and re-solves, timing, the decode tolerance, the order of
//! the dual candidates, the report — is the driver's, written once.
//!
//! Adding an architecture: a problem-file entry (`crate::problem`), a forward pass
//! (`crate::network`), and one module here implementing [`Formulation`], dispatched from
//! [`crate::arch::dispatch`].

use crate::arch::options::{Progress, SolveOptions};
use crate::arch::report::{Body, DataReport, Header, Timings};
use crate::arrangement::{Arrangement, ConeRows};
use crate::backend::Solution;
use crate::certify::Certificate;
use crate::error::{Error, Result};
use crate::ir::ConicProgram;
use crate::network::Objective;
use crate::network::Weights;
use crate::patches::Patches;
use crate::problem::Problem;
use ndarray::{Array1, Array3};

/// Everything a program is built from that does not depend on the targets: the patches the program
/// sees, their sign patterns, the pattern matrices `A_i` and the cone rows to write (reduced or
/// full), with the time each took.
pub struct Prepared {
    /// Patch matrices (with the constant-1 entry when the architecture has a bias).
    pub patches: Patches,
    /// Sign patterns.
    pub arrangement: Arrangement,
    /// `A_i`, `[P, n, h]`.
    pub a: Array3<f64>,
    /// Cone rows written per pattern.
    pub rows: ConeRows,
    /// Times of the phases so far (`arrangements_s`, `reduction_s`).
    pub timings: Timings,
}

/// A decoded solution: the architecture's network (and whatever its report needs from the decode),
/// the network's objective and outputs from its own forward pass, and any constraint of the
/// network that the program's rows do not show (its worst violation, 0 if none).
pub struct Decoded<D> {
    /// The decoded network and architecture-specific facts about it.
    pub network: D,
    /// Loss, regularizer and total of the network, from its forward pass.
    pub objective: Objective,
    /// The network's outputs on the training inputs.
    pub outputs: Array1<f64>,
    /// Worst violation of a constraint the network must meet beyond the program's rows.
    pub extra_violation: f64,
}

/// One architecture's convex formulation (module docs). `Self` is the prepared state of one
/// problem: built by [`Formulation::prepare`], it can serve several solves (classes, β values).
pub trait Formulation: Sized + Sync {
    /// The result's body ([`crate::arch::report`]).
    type Body: Body;
    /// What a build leaves to read its solution: where each block lives.
    type Inverse;
    /// The decoded network and what the body needs from the decode.
    type Network;

    /// Refuses what this formulation does not take, before any work (e.g. `--network`).
    fn check(problem: &Problem, options: &SolveOptions) -> Result<()>;

    /// Patterns, pattern matrices and cone rows of `problem`.
    fn prepare(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Self>;

    /// The label-independent data.
    fn prepared(&self) -> &Prepared;

    /// The conic program with cone rows `rows`, and how to read its solution.
    fn build(&self, problem: &Problem, rows: &ConeRows) -> (ConicProgram, Self::Inverse);

    /// The blocks of a solution that must lie in a pattern's cone, as `(pattern, block)` in the
    /// coordinates of the stacked patches (what the full-row check tests).
    fn blocks(&self, inverse: &Self::Inverse, x: &[f64]) -> Vec<(usize, Vec<f64>)>;

    /// Decodes a solution; blocks worth at most `tol` (objective units) are solver noise.
    fn decode(
        &self,
        problem: &Problem,
        inverse: &Self::Inverse,
        sol: &Solution,
        tol: f64,
    ) -> Decoded<Self::Network>;

    /// Dual vectors read from the solver's multipliers (certificate candidates after the
    /// network's residual).
    fn solver_duals(
        &self,
        problem: &Problem,
        inverse: &Self::Inverse,
        sol: &Solution,
    ) -> Vec<Array1<f64>>;

    /// The certificate of `objective` from the best of `candidates`, with the per-pattern checks
    /// over the cone rows `rows` (which describe the same cones as all rows).
    #[allow(clippy::too_many_arguments)]
    fn certify(
        &self,
        problem: &Problem,
        inverse: &Self::Inverse,
        sol: &Solution,
        rows: &ConeRows,
        candidates: &[Array1<f64>],
        objective: f64,
    ) -> Certificate;

    /// A network given with `--network`: its objective and its outputs on the training inputs.
    /// Refused unless the formulation reads that layout.
    fn given_network(
        &self,
        problem: &Problem,
        weights: &Weights,
    ) -> Result<(Objective, Array1<f64>)> {
        let _ = weights;
        Err(Error::input(
            &problem.source,
            "--network certifies two-layer networks only; drop --network for this architecture",
        ))
    }

    /// `(patterns, gates tried, mode)` for the header.
    fn patterns_used(&self, problem: &Problem) -> (usize, usize, &'static str) {
        let arr = &self.prepared().arrangement;
        (
            arr.patterns.len(),
            arr.candidates,
            problem.arrangements.mode_name(),
        )
    }

    /// The result's body from the header, the decode and the worst violation of the full
    /// constraint set.
    fn body(
        &self,
        problem: &Problem,
        header: Header,
        decoded: Decoded<Self::Network>,
        max_constraint_violation: f64,
    ) -> Self::Body;

    /// The result's `program` object.
    fn program_report(
        &self,
        problem: &Problem,
        options: &SolveOptions,
        program: &ConicProgram,
        inverse: &Self::Inverse,
        rows: &ConeRows,
    ) -> <Self::Body as Body>::Program;

    /// The result's `network` object.
    fn layout(&self, problem: &Problem) -> <Self::Body as Body>::Layout;

    /// The result's `data` object.
    fn data(&self, problem: &Problem) -> DataReport;
}
