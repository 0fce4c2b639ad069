//! One call from a validated problem to a certified, decoded network:
//! patches → arrangements → reduction → build → solve → (full check, re-solve) → decode → certify.
//! With linear activation there are no sign patterns: patches → build → solve → decode → certify
//! ([`crate::arch::linear`]).

use crate::arch::linear;
use crate::arch::two_layer::{self, ConeRows, Coupling};
use crate::arrangement;
use crate::backend::{Backend, Status};
use crate::certify::{self, Certificate};
use crate::error::{Error, Result};
use crate::geometry::{Activation, Pooling};
pub use crate::network::Weights;
use crate::network::{Objective, TwoLayerCnn};
use crate::patches::Patches;
use crate::problem::{Architecture, Problem};
use crate::reduce;
use serde::Serialize;
use std::time::Instant;

/// Blocks are dropped as interior-point noise when together they are worth at most
/// `DECODE_ACCURACY_FACTOR` times the solver's own accuracy
/// (`|primal − dual| + tol_gap_abs + tol_gap_rel · |objective|`).
pub const DECODE_ACCURACY_FACTOR: f64 = 10.0;

/// Violations of dropped rows below `VIOLATION_REL_TOL ·` (solution scale) are accepted.
pub const VIOLATION_REL_TOL: f64 = 1e-7;

/// Options of [`solve`].
#[derive(Debug, Clone, Serialize)]
pub struct SolveOptions {
    /// Write only irredundant cone rows (formulations.md §7).
    pub reduce: bool,
    /// Re-solves allowed when the full check finds violated rows.
    pub max_rounds: usize,
    /// The solver and its settings.
    pub backend: Backend,
    /// How the loss couples the blocks; `None` picks by the problem's shape.
    pub coupling: Option<Coupling>,
    /// Also certify this network (any weights of the problem's architecture, e.g. from SGD).
    pub network: Option<Weights>,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self {
            reduce: true,
            max_rounds: 5,
            backend: Backend::default(),
            coupling: None,
            network: None,
        }
    }
}

/// Phase times in seconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Patch extraction and sign patterns.
    pub arrangements_s: f64,
    /// Finding irredundant cone rows.
    pub reduction_s: f64,
    /// Building the program(s) and lowering them.
    pub build_s: f64,
    /// Solver time (all rounds).
    pub solve_s: f64,
    /// Full constraint check, decode and forward pass.
    pub decode_s: f64,
    /// Dual certificate.
    pub certify_s: f64,
    /// Everything.
    pub total_s: f64,
}

/// What the solver did.
#[derive(Debug, Clone, Serialize)]
pub struct SolverReport {
    /// Backend name.
    pub name: &'static str,
    /// Status of the last solve.
    pub status: Status,
    /// Iterations of the last solve.
    pub iterations: u32,
    /// Iterations over all rounds.
    pub total_iterations: u32,
    /// Solves (1 + re-solves after the full check).
    pub rounds: usize,
    /// Primal objective.
    pub primal_objective: f64,
    /// Dual objective.
    pub dual_objective: f64,
    /// `primal − dual`.
    pub gap: f64,
    /// Primal residual.
    pub primal_residual: f64,
    /// Dual residual.
    pub dual_residual: f64,
    /// Settings of the backend used.
    pub settings: Backend,
}

impl SolverReport {
    /// The report of the last of `rounds` solves by `backend` (`total_iterations` over all).
    pub fn new(
        backend: &Backend,
        sol: &crate::backend::Solution,
        total_iterations: u32,
        rounds: usize,
    ) -> Self {
        Self {
            name: backend.name(),
            status: sol.status,
            iterations: sol.iterations,
            total_iterations,
            rounds,
            primal_objective: sol.primal_objective,
            dual_objective: sol.dual_objective,
            gap: sol.primal_objective - sol.dual_objective,
            primal_residual: sol.primal_residual,
            dual_residual: sol.dual_residual,
            settings: backend.clone(),
        }
    }
}

/// Size of the program handed to the solver.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramReport {
    /// Variables.
    pub variables: usize,
    /// Rows (all cones).
    pub rows: usize,
    /// Nonzeros of `A`.
    pub nonzeros: usize,
    /// Cone rows of the full program (`2·P·nK`).
    pub cone_rows_full: usize,
    /// Cone rows written.
    pub cone_rows_written: usize,
    /// Whether the reduction was on.
    pub reduced: bool,
    /// How the loss couples the pattern blocks.
    pub coupling: Coupling,
}

/// Shapes of the data as used.
#[derive(Debug, Clone, Serialize)]
pub struct DataReport {
    /// Samples.
    pub n: usize,
    /// Channels.
    pub channels: usize,
    /// Input shape per sample: `[C, L]` or `[C, H, W]`.
    pub input_shape: Vec<usize>,
    /// Patch positions `K`.
    pub patches: usize,
    /// Filter length `h`.
    pub filter_len: usize,
}

/// The network layout in the result file.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkReport {
    /// Architecture kind.
    pub kind: &'static str,
    /// Kernel as in the problem file (one entry for 1-D).
    pub kernel: Vec<usize>,
    /// Stride as in the problem file.
    pub stride: Vec<usize>,
    /// Padding as in the problem file.
    pub padding: Vec<usize>,
    /// Pooling: `sum`, `average` or `local_average`.
    pub pooling: &'static str,
    /// Window of `local_average` pooling in patch positions, as in the problem file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_size: Option<Vec<usize>>,
    /// `linear`; absent for the default ReLU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation: Option<&'static str>,
    /// `true` when every neuron has a bias; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bias: Option<bool>,
}

/// The network layout of a result, by architecture.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum NetworkLayout {
    /// Two-layer CNN: kernel, stride, padding, pooling.
    TwoLayer(NetworkReport),
    /// Circular CNN (formulations.md §5): signal length and bias.
    Circular(crate::arch::circular::CircularNetworkReport),
}

/// The result of [`solve`]: the contract of `cvxcnn solve` (README, "Result files").
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `optimal` only when the solver converged to its tolerances.
    pub status: Status,
    /// Convex optimum (unnormalized, formulations.md §0).
    pub objective: f64,
    /// Solver's dual objective.
    pub dual_objective: f64,
    /// Objective of the decoded network, from its own forward pass.
    pub network_objective: f64,
    /// Loss part of `network_objective`.
    pub loss: f64,
    /// Regularizer part of `network_objective`.
    pub regularizer: f64,
    /// Weight decay.
    pub beta: f64,
    /// Distinct nonzero patterns used.
    pub arrangements: usize,
    /// Gates tried (sampled, given, or cells found) before deduplication.
    pub gates_tried: usize,
    /// `exact`, `sample` or `gates`.
    pub arrangement_mode: &'static str,
    /// Neurons of the decoded network.
    pub neurons: usize,
    /// One flattened filter per neuron, (channel, row, col) order.
    pub filters: Vec<Vec<f64>>,
    /// One output weight per neuron.
    pub output_weights: Vec<f64>,
    /// Circular networks: the inner filters `a_j` (unit norm), one per neuron.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner_filters: Option<Vec<Vec<f64>>>,
    /// One bias per neuron, only when the architecture has a bias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biases: Option<Vec<f64>>,
    /// Worst violation of the **full** constraint set at the solution.
    pub max_constraint_violation: f64,
    /// Phase times.
    pub timings: Timings,
    /// Solver details.
    pub solver: SolverReport,
    /// Program size.
    pub program: ProgramReport,
    /// Dual certificate.
    pub certificate: Certificate,
    /// Certificate of the network given with `certify --network`: its objective as
    /// `primal_objective`, the same lower bound, and the gap (its distance to the optimum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_certificate: Option<Certificate>,
    /// Network layout.
    pub network: NetworkLayout,
    /// Data shapes.
    pub data: DataReport,
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Progress callback: `(phase, done, total)`.
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

/// Everything `solve` computes before the first program is built: patches, patterns, the pattern
/// matrices `A_i` and the cone rows to write (reduced or full).
pub struct Prepared {
    /// Patch matrices.
    pub patches: Patches,
    /// Sign patterns.
    pub arrangement: crate::arrangement::Arrangement,
    /// `A_i`, `[P, n, h]`.
    pub a: ndarray::Array3<f64>,
    /// Cone rows written per pattern.
    pub rows: ConeRows,
    /// Coupling of the loss.
    pub coupling: Coupling,
    /// Times of the phases so far.
    pub timings: Timings,
}

impl Prepared {
    /// The conic program `solve` hands to the backend (first round).
    pub fn program(
        &self,
        problem: &Problem,
    ) -> (
        crate::ir::ConicProgram,
        two_layer::Layout,
        Option<ndarray::Array2<f64>>,
    ) {
        two_layer::build(
            &self.patches,
            &self.arrangement,
            &self.a,
            problem.y.view(),
            problem.beta,
            &self.rows,
            self.coupling,
            problem.filter_norm,
        )
    }
}

/// The error for a two-layer-only path reached with another architecture, naming the way to solve it.
fn not_two_layer(problem: &Problem) -> Error {
    let how = match problem.architecture {
        Architecture::Circular { .. } => "pipeline::solve or arch::circular",
        _ => "pipeline::solve_any or arch::three_layer::solve",
    };
    Error::Invalid(format!(
        "{}: not a two_layer problem; solve it with {how}",
        problem.source.display()
    ))
}

/// The result of [`solve_any`]: one report per architecture, serialized as that report.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Solved {
    /// A two-layer result ([`Report`]).
    TwoLayer(Box<Report>),
    /// A three-layer result ([`three_layer::Report`](crate::arch::three_layer::Report)).
    ThreeLayer(Box<crate::arch::three_layer::Report>),
}

/// A reference to the certificate of either kind of report, serialized as that certificate.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
pub enum AnyCertificate<'a> {
    /// Two-layer and circular results.
    TwoLayer(&'a Certificate),
    /// Three-layer results.
    ThreeLayer(&'a crate::arch::three_layer::Certificate),
}

impl AnyCertificate<'_> {
    /// Whether the certificate holds.
    pub fn certified(&self) -> bool {
        match self {
            AnyCertificate::TwoLayer(c) => c.certified,
            AnyCertificate::ThreeLayer(c) => c.certified,
        }
    }

    /// `global` or `sampled_patterns`.
    pub fn scope(&self) -> certify::Scope {
        match self {
            AnyCertificate::TwoLayer(c) => c.scope,
            AnyCertificate::ThreeLayer(c) => c.scope,
        }
    }

    /// `primal_objective − lower_bound`.
    pub fn gap(&self) -> f64 {
        match self {
            AnyCertificate::TwoLayer(c) => c.gap,
            AnyCertificate::ThreeLayer(c) => c.gap,
        }
    }

    /// `gap / max(1, |primal_objective|)`.
    pub fn relative_gap(&self) -> f64 {
        match self {
            AnyCertificate::TwoLayer(c) => c.relative_gap,
            AnyCertificate::ThreeLayer(c) => c.relative_gap,
        }
    }

    /// The certified lower bound.
    pub fn lower_bound(&self) -> f64 {
        match self {
            AnyCertificate::TwoLayer(c) => c.lower_bound,
            AnyCertificate::ThreeLayer(c) => c.lower_bound,
        }
    }

    /// Patterns checked (inner patterns for three-layer programs).
    pub fn patterns(&self) -> usize {
        match self {
            AnyCertificate::TwoLayer(c) => c.patterns,
            AnyCertificate::ThreeLayer(c) => c.patterns,
        }
    }

    /// `max(0, max_dual_value − β)`.
    pub fn max_dual_violation(&self) -> f64 {
        match self {
            AnyCertificate::TwoLayer(c) => c.max_dual_violation,
            AnyCertificate::ThreeLayer(c) => c.max_dual_violation,
        }
    }
}

impl Solved {
    /// `optimal` only when the solver converged to its tolerances.
    pub fn status(&self) -> Status {
        match self {
            Solved::TwoLayer(r) => r.status,
            Solved::ThreeLayer(r) => r.status,
        }
    }

    /// Convex optimum.
    pub fn objective(&self) -> f64 {
        match self {
            Solved::TwoLayer(r) => r.objective,
            Solved::ThreeLayer(r) => r.objective,
        }
    }

    /// Objective of the decoded network from its independent forward pass.
    pub fn network_objective(&self) -> f64 {
        match self {
            Solved::TwoLayer(r) => r.network_objective,
            Solved::ThreeLayer(r) => r.network_objective,
        }
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

    /// The dual certificate of the optimum.
    pub fn certificate(&self) -> AnyCertificate<'_> {
        match self {
            Solved::TwoLayer(r) => AnyCertificate::TwoLayer(&r.certificate),
            Solved::ThreeLayer(r) => AnyCertificate::ThreeLayer(&r.certificate),
        }
    }

    /// `(iterations of the last round, primal objective, dual objective)` of the solver.
    pub fn solver_summary(&self) -> (u32, f64, f64) {
        match self {
            Solved::TwoLayer(r) => (
                r.solver.iterations,
                r.solver.primal_objective,
                r.solver.dual_objective,
            ),
            Solved::ThreeLayer(r) => (
                r.solver.iterations,
                r.solver.primal_objective,
                r.solver.dual_objective,
            ),
        }
    }
}

/// Solves a problem of any architecture (dispatch on `problem.architecture`).
pub fn solve_any(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Solved> {
    match problem.architecture {
        Architecture::TwoLayer { .. } | Architecture::Circular { .. } => Ok(Solved::TwoLayer(
            Box::new(solve(problem, options, progress)?),
        )),
        Architecture::ThreeLayer { .. } => Ok(Solved::ThreeLayer(Box::new(
            crate::arch::three_layer::solve(problem, options, progress)?,
        ))),
    }
}

/// The first-round conic program `solve_any` hands to the backend, for any architecture (what
/// `cvxcnn export` writes).
pub fn program(
    problem: &Problem,
    options: &SolveOptions,
    progress: Progress,
) -> Result<crate::ir::ConicProgram> {
    match problem.architecture {
        Architecture::TwoLayer { .. } => two_layer_program(problem, options, progress),
        Architecture::Circular { .. } => {
            Ok(crate::arch::circular::prepare(problem, options, progress)?.program(problem))
        }
        Architecture::ThreeLayer { .. } => {
            Ok(crate::arch::three_layer::prepare(problem, options, progress)?.program(problem))
        }
    }
}

/// The patch matrices the program sees (with the constant-1 bias entry when the architecture has
/// a bias) and the per-position pooling weights `α_k` (formulations.md §4).
fn patches_of(problem: &Problem) -> Result<(Patches, Vec<f64>)> {
    let Architecture::TwoLayer {
        geometry,
        pooling,
        bias,
        ..
    } = problem.architecture
    else {
        return Err(not_two_layer(problem));
    };
    let (_, _, hh, ww) = problem.x.dim();
    let (Some(patches), Some((rows, cols))) = (
        Patches::extract(problem.x.view(), &geometry),
        geometry.grid(hh, ww),
    ) else {
        return Err(Error::Invalid("kernel larger than the input".into()));
    };
    let patches = if bias { patches.with_bias() } else { patches };
    Ok((patches, pooling.patch_weights(rows, cols)))
}

/// Patches, patterns, `A_i` and the (reduced) cone rows of a ReLU problem (a linear-activation
/// problem has no patterns: see [`program`]).
pub fn prepare(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Prepared> {
    let mut timings = Timings::default();
    let Architecture::TwoLayer { activation, .. } = problem.architecture else {
        return Err(not_two_layer(problem));
    };
    if activation != Activation::Relu {
        return Err(Error::Invalid(format!(
            "{}: a {} network has no sign patterns to prepare; use pipeline::program or \
             pipeline::solve",
            problem.source.display(),
            activation.name()
        )));
    }
    let t = Instant::now();
    let Architecture::TwoLayer { pooling, .. } = problem.architecture else {
        return Err(not_two_layer(problem));
    };
    let (patches, alpha) = patches_of(problem)?;
    // Max pooling has patterns of its own kind (formulations.md §4); the rest of the pipeline
    // reaches its cone rows only through the arrangement.
    let max_pooling = matches!(pooling, Pooling::Max);
    let arr = if max_pooling {
        arrangement::max_pool::build(&patches, &problem.arrangements)
    } else {
        arrangement::build(&patches, &problem.arrangements)
    };
    let arr = arr.map_err(|e| match e {
        Error::Exact(e) if max_pooling => Error::input(
            &problem.source,
            format!(
                "{}; {e}",
                arrangement::max_pool::exact_context(patches.n(), patches.k())
            ),
        ),
        Error::Exact(e) => Error::input(&problem.source, e.to_string()),
        other => other,
    })?;
    if arr.patterns.is_empty() {
        return Err(Error::input(
            &problem.source,
            "no gate produced a nonzero sign pattern (are the inputs all zero?); check the data",
        ));
    }
    let (_, n, h) = patches.data.dim();
    let a = two_layer::pattern_matrices(&patches, &arr, &alpha);
    timings.arrangements_s = secs(t);

    let t = Instant::now();
    let rows: ConeRows = {
        let m = patches.stacked();
        if options.reduce {
            reduce::irredundant(m, &arr, &|d, tot| progress("reduction", d, tot))
        } else {
            reduce::all_rows(m, &arr)
        }
    };
    timings.reduction_s = secs(t);
    let coupling = options
        .coupling
        .unwrap_or_else(|| Coupling::for_shape(n, arr.patterns.len(), h));
    Ok(Prepared {
        patches,
        arrangement: arr,
        a,
        rows,
        coupling,
        timings,
    })
}

/// The conic program `solve` hands to the backend first (what `cvxcnn export` writes), for either
/// activation. With linear activation `reduce` and `coupling` have nothing to act on.
fn two_layer_program(
    problem: &Problem,
    options: &SolveOptions,
    progress: Progress,
) -> Result<crate::ir::ConicProgram> {
    let Architecture::TwoLayer { activation, .. } = problem.architecture else {
        return Err(not_two_layer(problem));
    };
    match activation {
        Activation::Relu => Ok(prepare(problem, options, progress)?.program(problem).0),
        Activation::Linear => {
            let (patches, alpha) = patches_of(problem)?;
            let a = linear::design(&patches, &alpha);
            Ok(linear::build(
                a.view(),
                problem.y.view(),
                problem.beta,
                problem.filter_norm,
            )
            .0)
        }
    }
}

/// The network of the problem's architecture with the given program filters (length `h`, plus
/// the bias as last entry when the architecture has one) and output weights.
fn network_from_program(
    problem: &Problem,
    filters: &[Vec<f64>],
    output_weights: &[f64],
) -> TwoLayerCnn {
    let Architecture::TwoLayer {
        geometry,
        pooling,
        activation,
        bias,
    } = problem.architecture
    else {
        unreachable!("called only after dispatch on the architecture")
    };
    let (filters, biases) = if bias {
        let h = geometry.filter_len(problem.x.dim().1);
        (
            filters.iter().map(|f| f[..h].to_vec()).collect(),
            Some(filters.iter().map(|f| f[h]).collect()),
        )
    } else {
        (filters.to_vec(), None)
    };
    TwoLayerCnn {
        geometry,
        pooling,
        channels: problem.x.dim().1,
        filters,
        output_weights: output_weights.to_vec(),
        activation,
        biases,
    }
}

/// A network given in the result-file layout (see [`Weights`]).
fn network_from_weights(problem: &Problem, w: &Weights) -> TwoLayerCnn {
    let Architecture::TwoLayer {
        geometry,
        pooling,
        activation,
        ..
    } = problem.architecture
    else {
        unreachable!("called only after dispatch on the architecture")
    };
    TwoLayerCnn {
        geometry,
        pooling,
        channels: problem.x.dim().1,
        filters: w.filters.clone(),
        output_weights: w.output_weights.clone(),
        activation,
        biases: w.biases.clone(),
    }
}

/// Loss and regularizer of `net` on the problem's data, in the problem's filter norm.
fn objective_of(problem: &Problem, net: &TwoLayerCnn) -> Objective {
    net.objective_with_norm(
        problem.x.view(),
        problem.y.view(),
        problem.beta,
        problem.filter_norm,
    )
}

/// Checks a network to certify against the problem's architecture.
fn check_network(problem: &Problem, options: &SolveOptions) -> Result<()> {
    if let Some(w) = &options.network {
        let Architecture::TwoLayer { geometry, bias, .. } = problem.architecture else {
            return Err(not_two_layer(problem));
        };
        w.check(geometry.filter_len(problem.x.dim().1), bias)
            .map_err(|e| Error::Invalid(format!("the network to certify: {e}")))?;
    }
    Ok(())
}

/// The `network` object of the result file.
fn network_report(problem: &Problem) -> NetworkReport {
    let Architecture::TwoLayer {
        geometry,
        pooling,
        activation,
        bias,
    } = problem.architecture
    else {
        unreachable!("called only after dispatch on the architecture")
    };
    let one_d = problem.one_d;
    let dims = |v: [usize; 2]| if one_d { vec![v[1]] } else { v.to_vec() };
    NetworkReport {
        kind: "two_layer",
        kernel: dims(geometry.kernel),
        stride: dims(geometry.stride),
        padding: dims(geometry.padding),
        pooling: pooling.name(),
        pool_size: match pooling {
            crate::geometry::Pooling::LocalAverage { size } => Some(dims(size)),
            _ => None,
        },
        activation: (activation != Activation::Relu).then(|| activation.name()),
        bias: bias.then_some(true),
    }
}

/// The `data` object of the result file.
fn data_report(problem: &Problem, k: usize) -> DataReport {
    let Architecture::TwoLayer { geometry, .. } = problem.architecture else {
        unreachable!("called only after dispatch on the architecture")
    };
    let (n, c, hh, ww) = problem.x.dim();
    DataReport {
        n,
        channels: c,
        input_shape: if problem.one_d {
            vec![c, ww]
        } else {
            vec![c, hh, ww]
        },
        patches: k,
        filter_len: geometry.filter_len(c),
    }
}

/// The certificate of the decoded network (objective `objective`) and, with `--network`, of the
/// given network: its own objective against the same dual candidates plus its own residual.
fn certificates(
    problem: &Problem,
    options: &SolveOptions,
    mut candidates: Vec<ndarray::Array1<f64>>,
    objective: f64,
    certify_with: impl Fn(&[ndarray::Array1<f64>], f64) -> Certificate,
) -> (Certificate, Option<Certificate>) {
    let certificate = certify_with(&candidates, objective);
    let given = options.network.as_ref().map(|w| {
        let given = network_from_weights(problem, w);
        candidates.push(&problem.y - &given.forward(problem.x.view()));
        certify_with(&candidates, objective_of(problem, &given).total)
    });
    (certificate, given)
}

/// Solves a problem: builds the convex program, solves it, checks it against the full constraint
/// set, decodes the network and certifies it.
pub fn solve(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Report> {
    let activation = match problem.architecture {
        Architecture::TwoLayer { activation, .. } => activation,
        Architecture::Circular { .. } => {
            return crate::arch::circular::solve(problem, options, progress);
        }
        Architecture::ThreeLayer { .. } => return Err(not_two_layer(problem)),
    };
    match activation {
        Activation::Relu => solve_relu(problem, options, progress),
        Activation::Linear => solve_linear(problem, options),
    }
}

/// [`solve`] for ReLU networks: the program over sign patterns (formulations.md §1, §4).
fn solve_relu(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Report> {
    let start = Instant::now();
    let Prepared {
        patches,
        arrangement: arr,
        a,
        mut rows,
        coupling,
        mut timings,
    } = prepare(problem, options, progress)?;
    let (k, n, _) = patches.data.dim();
    check_network(problem, options)?;
    let m = patches.stacked();
    let irredundant = |prog: &str| reduce::irredundant(m, &arr, &|d, tot| progress(prog, d, tot));
    let mut rounds = 0;
    let mut total_iterations = 0;
    let (sol, layout, prog, q_factor, worst) = loop {
        rounds += 1;
        let t = Instant::now();
        let (prog, layout, q_factor) = two_layer::build(
            &patches,
            &arr,
            &a,
            problem.y.view(),
            problem.beta,
            &rows,
            coupling,
            problem.filter_norm,
        );
        timings.build_s += secs(t);
        let t = Instant::now();
        let sol = options.backend.solve(&prog)?;
        timings.solve_s += secs(t);
        total_iterations += sol.iterations;
        progress("solve", rounds, options.max_rounds);

        let t = Instant::now();
        let blocks: Vec<(usize, Vec<f64>)> = (0..layout.p)
            .flat_map(|i| [true, false].map(|s| (i, layout.block(&sol.x, i, s).to_vec())))
            .collect();
        let scale = blocks
            .iter()
            .map(|(_, c)| c.iter().map(|v| v * v).sum::<f64>().sqrt())
            .fold(0.0_f64, f64::max)
            * m.outer_iter()
                .map(|r| r.dot(&r).sqrt())
                .fold(0.0_f64, f64::max);
        let tol = VIOLATION_REL_TOL * scale.max(f64::MIN_POSITIVE);
        let (added, worst) = reduce::add_violated(m, &arr, &blocks, tol, &mut rows);
        timings.decode_s += secs(t);
        if added == 0 || rounds >= options.max_rounds || sol.status != Status::Optimal {
            break (sol, layout, prog, q_factor, worst);
        }
    };

    let t = Instant::now();
    let min_norm = two_layer::noise_threshold(
        &a,
        &layout,
        &sol.x,
        problem.y.view(),
        problem.beta,
        DECODE_ACCURACY_FACTOR
            * ((sol.primal_objective - sol.dual_objective).abs()
                + options.backend.accuracy().0
                + options.backend.accuracy().1 * sol.primal_objective.abs()),
    );
    let decoded = two_layer::decode(&layout, &sol.x, min_norm);
    let net = network_from_program(problem, &decoded.filters, &decoded.output_weights);
    let obj = objective_of(problem, &net);
    let yhat = net.forward(problem.x.view());
    let max_constraint_violation = worst.max(prog.max_violation(&sol.x));
    timings.decode_s += secs(t);

    let t = Instant::now();
    let mut candidates = vec![&problem.y - &yhat];
    candidates.extend(two_layer::solver_duals(
        &layout,
        q_factor.as_ref(),
        &sol.z,
        problem.y.view(),
    ));
    let cert_rows = if options.reduce {
        rows.clone()
    } else {
        irredundant("certificate")
    };
    let certify_with = |candidates: &[ndarray::Array1<f64>], objective: f64| {
        certify::certify(
            m,
            &arr,
            &a,
            &cert_rows,
            problem.y.view(),
            candidates,
            problem.beta,
            objective,
            problem.filter_norm,
        )
    };
    let (certificate, network_certificate) =
        certificates(problem, options, candidates, obj.total, certify_with);
    timings.certify_s = secs(t);
    timings.total_s = secs(start);

    let cone_rows_written = 2 * rows.iter().map(Vec::len).sum::<usize>();
    Ok(Report {
        status: sol.status,
        objective: sol.primal_objective,
        dual_objective: sol.dual_objective,
        network_objective: obj.total,
        loss: obj.loss,
        regularizer: obj.regularizer,
        beta: problem.beta,
        arrangements: arr.patterns.len(),
        gates_tried: arr.candidates,
        arrangement_mode: problem.arrangements.mode_name(),
        neurons: net.filters.len(),
        filters: net.filters,
        output_weights: net.output_weights,
        inner_filters: None,
        biases: net.biases,
        max_constraint_violation,
        timings,
        solver: SolverReport::new(&options.backend, &sol, total_iterations, rounds),
        program: ProgramReport {
            variables: prog.n_vars(),
            rows: prog.n_rows(),
            nonzeros: prog.entries.len(),
            cone_rows_full: 2 * arr.patterns.len() * k * n,
            cone_rows_written,
            reduced: options.reduce,
            coupling: layout.coupling,
        },
        certificate,
        network_certificate,
        network: NetworkLayout::TwoLayer(network_report(problem)),
        data: data_report(problem, k),
    })
}

/// [`solve`] for linear activation: one group-lasso block `min ½‖Az − y‖² + β‖z‖`,
/// `A = Σ_k α_k X_k` (formulations.md §1, fact 7), decoded into one neuron and certified exactly
/// (scope `global`: there are no patterns to sample). The problem's arrangements are not used.
fn solve_linear(problem: &Problem, options: &SolveOptions) -> Result<Report> {
    let start = Instant::now();
    let mut timings = Timings::default();
    check_network(problem, options)?;
    let t = Instant::now();
    let (patches, alpha) = patches_of(problem)?;
    let k = patches.k();
    let a = linear::design(&patches, &alpha);
    timings.arrangements_s = secs(t);
    let t = Instant::now();
    let (prog, layout) = linear::build(
        a.view(),
        problem.y.view(),
        problem.beta,
        problem.filter_norm,
    );
    timings.build_s = secs(t);
    let t = Instant::now();
    let sol = options.backend.solve(&prog)?;
    timings.solve_s = secs(t);

    let t = Instant::now();
    let tol = DECODE_ACCURACY_FACTOR
        * ((sol.primal_objective - sol.dual_objective).abs()
            + options.backend.accuracy().0
            + options.backend.accuracy().1 * sol.primal_objective.abs());
    let decoded = linear::decode(
        a.view(),
        problem.y.view(),
        problem.beta,
        &layout,
        &sol.x,
        tol,
    );
    let net = network_from_program(problem, &decoded.filters, &decoded.output_weights);
    let obj = objective_of(problem, &net);
    let yhat = net.forward(problem.x.view());
    let max_constraint_violation = prog.max_violation(&sol.x);
    timings.decode_s = secs(t);

    let t = Instant::now();
    let residual_rows = layout.residual_row..layout.residual_row + layout.n;
    let candidates = vec![
        &problem.y - &yhat,
        ndarray::Array1::from(sol.z[residual_rows].to_vec()),
    ];
    let certify_with = |candidates: &[ndarray::Array1<f64>], objective: f64| {
        certify::certify_linear(
            a.view(),
            problem.y.view(),
            candidates,
            problem.beta,
            objective,
            problem.filter_norm,
        )
    };
    let (certificate, network_certificate) =
        certificates(problem, options, candidates, obj.total, certify_with);
    timings.certify_s = secs(t);
    timings.total_s = secs(start);

    Ok(Report {
        status: sol.status,
        objective: sol.primal_objective,
        dual_objective: sol.dual_objective,
        network_objective: obj.total,
        loss: obj.loss,
        regularizer: obj.regularizer,
        beta: problem.beta,
        arrangements: 1,
        gates_tried: 0,
        arrangement_mode: "none",
        neurons: net.filters.len(),
        filters: net.filters,
        output_weights: net.output_weights,
        inner_filters: None,
        biases: net.biases,
        max_constraint_violation,
        timings,
        solver: SolverReport::new(&options.backend, &sol, sol.iterations, 1),
        program: ProgramReport {
            variables: prog.n_vars(),
            rows: prog.n_rows(),
            nonzeros: prog.entries.len(),
            cone_rows_full: 0,
            cone_rows_written: 0,
            reduced: options.reduce,
            coupling: Coupling::Direct,
        },
        certificate,
        network_certificate,
        network: NetworkLayout::TwoLayer(network_report(problem)),
        data: data_report(problem, k),
    })
}
