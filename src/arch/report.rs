//! The result of a solve, as `cvxcnn solve` writes it (docs/results.md, "Result files").
//!
//! Every architecture's result is one [`Report`]: a body — the shared [`Header`] (status,
//! objectives, patterns) followed by the architecture's own keys up to
//! `max_constraint_violation` — then the keys every result has (`timings`, `solver`, `program`,
//! `certificate`, `network`, `data`). The body is flattened into the report and the header into
//! the body, so the JSON is one flat object; in Rust the header's fields read through the body and
//! the body's through the report (`report.objective`, `report.filters`).
//!
//! Two bodies exist: [`TwoLayerBody`] (two-layer CNNs of every pooling and activation, and the
//! circular CNN) and [`crate::arch::three_layer::ThreeLayerBody`].

use crate::backend::{Backend, Solution, Status};
use crate::certify::Certificate;
use serde::Serialize;
use std::fmt::Debug;
use std::ops::Deref;

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
    pub fn new(backend: &Backend, sol: &Solution, total_iterations: u32, rounds: usize) -> Self {
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

/// The keys every result starts with.
#[derive(Debug, Clone, Serialize)]
pub struct Header {
    /// `optimal` only when the solver converged to its tolerances.
    pub status: Status,
    /// Convex optimum (unnormalized, docs/math.md §1).
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
    /// Distinct nonzero patterns used (inner patterns for the three-layer CNN).
    pub arrangements: usize,
    /// Gates tried (sampled, given, or cells found) before deduplication.
    pub gates_tried: usize,
    /// `exact`, `sample`, `gates` or `generate` (`none` without patterns).
    pub arrangement_mode: &'static str,
    /// What pattern generation did (`"mode": "generate"` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<crate::problem::Generation>,
}

/// The architecture-specific part of a result: the [`Header`] (flattened first, and readable
/// through `Deref`) and the keys that follow it, with the types of the result's `program` and
/// `network` objects.
pub trait Body: Serialize + Clone + Debug + Send + Deref<Target = Header> {
    /// The `program` object: the size of the program handed to the solver.
    type Program: Serialize + Clone + Debug + Send;
    /// The `network` object: the layout needed to rebuild the network from the result.
    type Layout: Serialize + Clone + Debug + Send;
}

/// A result (module docs).
#[derive(Debug, Clone, Serialize)]
#[serde(bound(serialize = "B: Body"))]
pub struct Report<B: Body> {
    /// Header and the architecture's keys.
    #[serde(flatten)]
    pub body: B,
    /// Phase times.
    pub timings: Timings,
    /// Solver details.
    pub solver: SolverReport,
    /// Program size.
    pub program: B::Program,
    /// Dual certificate.
    pub certificate: Certificate,
    /// Certificate of the network given with `certify --network`: its objective as
    /// `primal_objective`, the same lower bound, and the gap (its distance to the optimum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_certificate: Option<Certificate>,
    /// Network layout.
    pub network: B::Layout,
    /// Data shapes.
    pub data: DataReport,
}

impl<B: Body> Deref for Report<B> {
    type Target = B;
    fn deref(&self) -> &B {
        &self.body
    }
}

/// The body of a two-layer or circular result: the decoded neurons.
#[derive(Debug, Clone, Serialize)]
pub struct TwoLayerBody {
    /// The shared keys.
    #[serde(flatten)]
    pub header: Header,
    /// Neurons of the decoded network.
    pub neurons: usize,
    /// One flattened filter per neuron, (channel, row, col) order.
    pub filters: Vec<Vec<f64>>,
    /// One output weight per neuron.
    pub output_weights: Vec<f64>,
    /// Circular networks: the inner filters `a_j` (unit norm), one per neuron.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner_filters: Option<Vec<Vec<f64>>>,
    /// Circular networks with `L > 3` layers: `circulant_filters[l][j]` is the filter `a_{(l+2)j}`
    /// of layer `l + 2` of neuron `j` (operator norm ≤ 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub circulant_filters: Option<Vec<Vec<Vec<f64>>>>,
    /// One bias per neuron, only when the architecture has a bias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biases: Option<Vec<f64>>,
    /// Worst violation of the **full** constraint set at the solution.
    pub max_constraint_violation: f64,
}

impl Deref for TwoLayerBody {
    type Target = Header;
    fn deref(&self) -> &Header {
        &self.header
    }
}

impl Body for TwoLayerBody {
    type Program = ProgramReport;
    type Layout = NetworkLayout;
}

/// Size of the program handed to the solver (two-layer and circular).
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
    pub coupling: crate::arch::options::Coupling,
}

/// The network layout of a two-layer result.
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
    /// Pooling: `sum`, `average`, `max` or `local_average`.
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

/// The network layout of a circular result (`network` in the result file).
#[derive(Debug, Clone, Serialize)]
pub struct CircularNetworkReport {
    /// `"circular"`.
    pub kind: &'static str,
    /// Signal length `d` (length of every filter).
    pub signal_len: usize,
    /// Whether each neuron has a bias inside the ReLU.
    pub bias: bool,
    /// Layers `L`, only when more than three.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<usize>,
}

/// The network layout of a [`TwoLayerBody`] result, by architecture.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum NetworkLayout {
    /// Two-layer CNN: kernel, stride, padding, pooling.
    TwoLayer(NetworkReport),
    /// Circular CNN (docs/math.md §8): signal length and bias.
    Circular(CircularNetworkReport),
}
