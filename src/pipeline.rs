//! One call from a validated problem to a certified, decoded network:
//! patches → arrangements → reduction → build → solve → (full check, re-solve) → decode → certify.

use crate::arch::two_layer::{self, ConeRows, Coupling};
use crate::arrangement;
use crate::backend::{Backend, Status};
use crate::certify::{self, Certificate};
use crate::error::{Error, Result};
use crate::geometry::Pooling;
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

/// Weights of a two-layer CNN in the result-file layout: one flattened filter per neuron in
/// (channel, row, col) order and one output weight per neuron.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Weights {
    /// Filters, each of length `h`.
    pub filters: Vec<Vec<f64>>,
    /// Output weights, one per filter.
    pub output_weights: Vec<f64>,
}

impl Weights {
    /// Checks the shapes against filter length `h`; the message says what does not fit.
    pub fn check(&self, h: usize) -> std::result::Result<(), String> {
        if self.filters.len() != self.output_weights.len() {
            return Err(format!(
                "{} filters but {} output weights; give one output weight per filter",
                self.filters.len(),
                self.output_weights.len()
            ));
        }
        if let Some((j, f)) = self.filters.iter().enumerate().find(|(_, f)| f.len() != h) {
            return Err(format!(
                "filter {j} has {} entries but the problem's filters have h = {h} \
                 (channels × kernel, in (channel, row, col) order)",
                f.len()
            ));
        }
        if let Some(v) = self
            .filters
            .iter()
            .flatten()
            .chain(&self.output_weights)
            .find(|v| !v.is_finite())
        {
            return Err(format!("the network holds the non-finite weight {v}"));
        }
        Ok(())
    }
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
    /// Pooling.
    pub pooling: Pooling,
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
    /// Circular networks with `"bias": true`: the bias `e_j` of each neuron.
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

/// The geometry and pooling of a two-layer problem; an error naming the way to solve any other.
fn two_layer_only(problem: &Problem) -> Result<(crate::geometry::ConvGeometry, Pooling)> {
    match problem.architecture {
        Architecture::TwoLayer { geometry, pooling } => Ok((geometry, pooling)),
        Architecture::Circular { .. } => Err(Error::Invalid(format!(
            "{}: a circular problem has no patches; use pipeline::solve or arch::circular",
            problem.source.display()
        ))),
        Architecture::ThreeLayer { .. } => Err(Error::Invalid(format!(
            "{}: a three_layer problem; solve it with pipeline::solve_any or \
             arch::three_layer::solve",
            problem.source.display()
        ))),
    }
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
        Architecture::TwoLayer { .. } => {
            Ok(prepare(problem, options, progress)?.program(problem).0)
        }
        Architecture::Circular { .. } => {
            Ok(crate::arch::circular::prepare(problem, options, progress)?.program(problem))
        }
        Architecture::ThreeLayer { .. } => {
            Ok(crate::arch::three_layer::prepare(problem, options, progress)?.program(problem))
        }
    }
}

/// Patches, patterns, `A_i` and the (reduced) cone rows of a problem.
pub fn prepare(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Prepared> {
    let mut timings = Timings::default();
    let (geometry, pooling) = two_layer_only(problem)?;
    let t = Instant::now();
    let patches = Patches::extract(problem.x.view(), &geometry)
        .ok_or_else(|| Error::Invalid("kernel larger than the input".into()))?;
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
    let (k, n, h) = patches.data.dim();
    let a = two_layer::pattern_matrices(&patches, &arr, pooling.scale(k));
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

/// Solves a problem: builds the convex program, solves it, checks it against the full constraint
/// set, decodes the network and certifies it.
pub fn solve(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Report> {
    let start = Instant::now();
    if let Architecture::Circular { .. } = problem.architecture {
        return crate::arch::circular::solve(problem, options, progress);
    }
    let (geometry, pooling) = two_layer_only(problem)?;
    let Prepared {
        patches,
        arrangement: arr,
        a,
        mut rows,
        coupling,
        mut timings,
    } = prepare(problem, options, progress)?;
    let (k, n, h) = patches.data.dim();
    if let Some(w) = &options.network {
        w.check(h)
            .map_err(|e| Error::Invalid(format!("the network to certify: {e}")))?;
    }
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
    let network_of = |filters: &[Vec<f64>], output_weights: &[f64]| TwoLayerCnn {
        geometry,
        pooling,
        channels: problem.x.dim().1,
        filters: filters.to_vec(),
        output_weights: output_weights.to_vec(),
    };
    let objective_of = |net: &TwoLayerCnn| -> Objective {
        net.objective_with_norm(
            problem.x.view(),
            problem.y.view(),
            problem.beta,
            problem.filter_norm,
        )
    };
    let net = network_of(&decoded.filters, &decoded.output_weights);
    let obj = objective_of(&net);
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
    let certificate = certify_with(&candidates, obj.total);
    // A given network: its own objective against the same dual bounds (plus its own residual).
    let network_certificate = options.network.as_ref().map(|w| {
        let given = network_of(&w.filters, &w.output_weights);
        let mut cands = candidates.clone();
        cands.push(&problem.y - &given.forward(problem.x.view()));
        certify_with(&cands, objective_of(&given).total)
    });
    timings.certify_s = secs(t);
    timings.total_s = secs(start);

    let cone_rows_written = 2 * rows.iter().map(Vec::len).sum::<usize>();
    let one_d = problem.one_d;
    let dims = |v: [usize; 2]| if one_d { vec![v[1]] } else { v.to_vec() };
    let (_, c, hh, ww) = problem.x.dim();
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
        arrangement_mode: match problem.arrangements {
            crate::problem::ArrangementSpec::Exact { .. } => "exact",
            crate::problem::ArrangementSpec::Sample { .. } => "sample",
            crate::problem::ArrangementSpec::Gates { .. } => "gates",
        },
        neurons: decoded.filters.len(),
        filters: decoded.filters,
        output_weights: decoded.output_weights,
        inner_filters: None,
        biases: None,
        max_constraint_violation,
        timings,
        solver: SolverReport {
            name: options.backend.name(),
            status: sol.status,
            iterations: sol.iterations,
            total_iterations,
            rounds,
            primal_objective: sol.primal_objective,
            dual_objective: sol.dual_objective,
            gap: sol.primal_objective - sol.dual_objective,
            primal_residual: sol.primal_residual,
            dual_residual: sol.dual_residual,
            settings: options.backend.clone(),
        },
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
        network: NetworkLayout::TwoLayer(NetworkReport {
            kind: "two_layer",
            kernel: dims(geometry.kernel),
            stride: dims(geometry.stride),
            padding: dims(geometry.padding),
            pooling,
        }),
        data: DataReport {
            n,
            channels: c,
            input_shape: if one_d { vec![c, ww] } else { vec![c, hh, ww] },
            patches: k,
            filter_len: h,
        },
    })
}
