//! Two-layer ReLU CNN (docs/math.md §2): global sum or average pooling, local average pooling (§5,
//! through per-position weights `α_k`), global max pooling (§5, patterns of their own kind), the ℓ1
//! filter norm (§3) and a bias (§4, a constant-1 entry appended to every patch).
//!
//! ```text
//! min_{c_i, c'_i}  ½‖Σ_i A_i (c_i − c'_i) − y‖² + β Σ_i (‖c_i‖ + ‖c'_i‖)
//! s.t.  B_i c_i ≥ 0,  B_i c'_i ≥ 0
//! ```
//!
//! [`program`] writes it in the IR, [`decode()`] maps a solution to balanced neurons, and
//! [`TwoLayer`] is its [`Formulation`]; the linear activation ([`crate::arch::linear`]) shares the
//! network, layout and data reports defined here.

pub mod decode;
pub mod program;

pub use crate::arch::options::Coupling;
pub use crate::arrangement::ConeRows;
pub use decode::{Decoded, block_threshold, decode, noise_threshold};
pub use program::{Layout, build, pattern_matrices, solver_duals};

use crate::arch::formulation::{self, Formulation, Prepared};
use crate::arch::options::{Progress, SolveOptions};
use crate::arch::report::{
    DataReport, Header, NetworkLayout, NetworkReport, ProgramReport, Timings, TwoLayerBody,
};
use crate::arrangement::{self, Arrangement};
use crate::backend::Solution;
use crate::certify::{self, Certificate};
use crate::clock::secs;
use crate::error::{Error, Result};
use crate::geometry::{Activation, Pooling};
use crate::ir::ConicProgram;
use crate::network::Weights;
use crate::network::{Objective, TwoLayerCnn};
use crate::patches::Patches;
use crate::problem::{Architecture, Problem};
use crate::reduce;
use ndarray::{Array1, Array2};
use std::time::Instant;

/// The prepared two-layer ReLU program of one problem: patterns, `A_i`, cone rows, and the
/// coupling of its loss.
pub struct TwoLayer {
    /// Patches, patterns, `A_i`, cone rows.
    pub prep: Prepared,
    /// How the loss couples the blocks (resolved for the problem's shape).
    pub coupling: Coupling,
}

/// The inverse data of a two-layer build: the layout of its variables, and the `Q` of the thin QR
/// when the loss is compressed (to map the solver's multipliers back to a dual vector).
pub struct Inverse {
    /// Where the blocks live.
    pub layout: Layout,
    /// `Q` of `A = QR` (compressed coupling only).
    pub q: Option<Array2<f64>>,
}

/// The patch matrices the program sees (with the constant-1 bias entry when the architecture has
/// a bias) and the per-position pooling weights `α_k` (docs/math.md §5).
pub fn patches_of(problem: &Problem) -> Result<(Patches, Vec<f64>)> {
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
        return Err(Error::input(
            &problem.source,
            "the kernel is larger than the (padded) input; use a smaller kernel",
        ));
    };
    let patches = if bias { patches.with_bias() } else { patches };
    Ok((patches, pooling.patch_weights(rows, cols)))
}

/// The error for a two-layer path reached with another architecture.
pub(crate) fn not_two_layer(problem: &Problem) -> Error {
    Error::input(
        &problem.source,
        "this is the two-layer program, but the problem's architecture is another kind",
    )
}

/// Patches, patterns, `A_i` and the (reduced) cone rows of a two-layer ReLU problem.
pub fn prepare(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Prepared> {
    let mut timings = Timings::default();
    let Architecture::TwoLayer {
        pooling,
        activation,
        ..
    } = problem.architecture
    else {
        return Err(not_two_layer(problem));
    };
    if activation != Activation::Relu {
        return Err(Error::input(
            &problem.source,
            "a linear network has no sign patterns to prepare (it is solved as one group-lasso \
             block); use a ReLU network here",
        ));
    }
    let t = Instant::now();
    let (patches, alpha) = patches_of(problem)?;
    // Max pooling has patterns of its own kind (docs/math.md §5); the rest of the pipeline reaches
    // its cone rows only through the arrangement.
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
    no_empty_arrangement(problem, &arr)?;
    let a = pattern_matrices(&patches, &arr, &alpha);
    timings.arrangements_s = secs(t);
    let t = Instant::now();
    let rows = cone_rows(&patches, &arr, options, progress);
    timings.reduction_s = secs(t);
    Ok(Prepared {
        patches,
        arrangement: arr,
        a,
        rows,
        timings,
    })
}

/// Refuses an arrangement without a single nonzero pattern.
pub(crate) fn no_empty_arrangement(problem: &Problem, arr: &Arrangement) -> Result<()> {
    if arr.patterns.is_empty() {
        return Err(Error::input(
            &problem.source,
            "no gate produced a nonzero sign pattern (are the inputs all zero?); check the data",
        ));
    }
    Ok(())
}

/// The cone rows to write: the irredundant ones (docs/math.md §10) or, without the reduction, all.
pub(crate) fn cone_rows(
    patches: &Patches,
    arr: &Arrangement,
    options: &SolveOptions,
    progress: Progress,
) -> ConeRows {
    let m = patches.stacked();
    if options.reduce {
        reduce::irredundant(m, arr, &|d, tot| progress("reduction", d, tot))
    } else {
        reduce::all_rows(m, arr)
    }
}

/// The network of the problem's architecture with the given program filters (length `h`, plus the
/// bias as last entry when the architecture has one) and output weights.
pub(crate) fn network_from_program(
    problem: &Problem,
    filters: &[Vec<f64>],
    output_weights: &[f64],
) -> TwoLayerCnn {
    let weights = match two_layer_parts(problem) {
        Some((geometry, _, _, true)) => {
            let h = geometry.filter_len(problem.x.dim().1);
            Weights {
                filters: filters.iter().map(|f| f[..h].to_vec()).collect(),
                output_weights: output_weights.to_vec(),
                biases: Some(filters.iter().map(|f| f[h]).collect()),
            }
        }
        _ => Weights {
            filters: filters.to_vec(),
            output_weights: output_weights.to_vec(),
            biases: None,
        },
    };
    network_from_weights(problem, &weights)
}

/// `(geometry, pooling, activation, bias)` of a two-layer problem.
fn two_layer_parts(
    problem: &Problem,
) -> Option<(crate::geometry::ConvGeometry, Pooling, Activation, bool)> {
    match problem.architecture {
        Architecture::TwoLayer {
            geometry,
            pooling,
            activation,
            bias,
        } => Some((geometry, pooling, activation, bias)),
        _ => None,
    }
}

/// A network given in the result-file layout (see [`Weights`]).
pub(crate) fn network_from_weights(problem: &Problem, w: &Weights) -> TwoLayerCnn {
    let (geometry, pooling, activation, _) =
        two_layer_parts(problem).expect("called on two-layer problems only (the formulation's)");
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

/// Loss, regularizer and total of `net` on the problem's data, in the problem's filter norm.
pub(crate) fn objective_of(problem: &Problem, net: &TwoLayerCnn) -> Objective {
    if problem.loss.is_squared() {
        return net.objective_with_norm(
            problem.x.view(),
            problem.y.view(),
            problem.beta,
            problem.filter_norm,
        );
    }
    let f = net.forward(problem.x.view());
    Objective::new(
        problem.loss.value(f.view(), problem.y.view()),
        net.regularizer_with_norm(problem.beta, problem.filter_norm),
    )
}

/// Checks a network given with `--network` against the problem's architecture.
pub(crate) fn check_network(problem: &Problem, options: &SolveOptions) -> Result<()> {
    if let Some(w) = &options.network {
        let (geometry, _, _, bias) =
            two_layer_parts(problem).ok_or_else(|| not_two_layer(problem))?;
        w.check(geometry.filter_len(problem.x.dim().1), bias)
            .map_err(|e| Error::Invalid(format!("the network to certify: {e}")))?;
    }
    Ok(())
}

/// The given network's objective and outputs (`--network`).
pub(crate) fn given(problem: &Problem, w: &Weights) -> (Objective, Array1<f64>) {
    let net = network_from_weights(problem, w);
    (objective_of(problem, &net), net.forward(problem.x.view()))
}

/// The decoded network from program filters: its objective and outputs.
pub(crate) fn decoded_network(
    problem: &Problem,
    filters: &[Vec<f64>],
    output_weights: &[f64],
) -> formulation::Decoded<TwoLayerCnn> {
    let net = network_from_program(problem, filters, output_weights);
    formulation::Decoded {
        objective: objective_of(problem, &net),
        outputs: net.forward(problem.x.view()),
        network: net,
        extra_violation: 0.0,
    }
}

/// The body of a two-layer result.
pub(crate) fn body(
    header: Header,
    net: TwoLayerCnn,
    max_constraint_violation: f64,
) -> TwoLayerBody {
    TwoLayerBody {
        header,
        neurons: net.filters.len(),
        filters: net.filters,
        output_weights: net.output_weights,
        inner_filters: None,
        circulant_filters: None,
        biases: net.biases,
        max_constraint_violation,
    }
}

/// The `network` object of a two-layer result.
pub(crate) fn network_report(problem: &Problem) -> NetworkLayout {
    let (geometry, pooling, activation, bias) =
        two_layer_parts(problem).expect("called on two-layer problems only (the formulation's)");
    let one_d = problem.one_d;
    let dims = |v: [usize; 2]| if one_d { vec![v[1]] } else { v.to_vec() };
    NetworkLayout::TwoLayer(NetworkReport {
        kind: "two_layer",
        kernel: dims(geometry.kernel),
        stride: dims(geometry.stride),
        padding: dims(geometry.padding),
        pooling: pooling.name(),
        pool_size: match pooling {
            Pooling::LocalAverage { size } => Some(dims(size)),
            _ => None,
        },
        activation: (activation != Activation::Relu).then(|| activation.name()),
        bias: bias.then_some(true),
    })
}

/// The `data` object of a two-layer result (`k` patch positions).
pub(crate) fn data_report(problem: &Problem, k: usize) -> DataReport {
    let (n, c, hh, ww) = problem.x.dim();
    let filter_len = two_layer_parts(problem).map_or(0, |(g, ..)| g.filter_len(c));
    DataReport {
        n,
        channels: c,
        input_shape: if problem.one_d {
            vec![c, ww]
        } else {
            vec![c, hh, ww]
        },
        patches: k,
        filter_len,
    }
}

impl Formulation for TwoLayer {
    type Body = TwoLayerBody;
    type Inverse = Inverse;
    type Network = TwoLayerCnn;

    fn check(problem: &Problem, options: &SolveOptions) -> Result<()> {
        check_network(problem, options)
    }

    fn prepare(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Self> {
        let prep = prepare(problem, options, progress)?;
        let (_, n, h) = prep.a.dim();
        let coupling = options
            .coupling
            .unwrap_or_else(|| Coupling::for_shape(n, prep.arrangement.patterns.len(), h));
        Ok(TwoLayer { prep, coupling })
    }

    fn prepared(&self) -> &Prepared {
        &self.prep
    }

    fn build(&self, problem: &Problem, rows: &ConeRows) -> (ConicProgram, Inverse) {
        let (program, layout, q) = build(
            &self.prep.patches,
            &self.prep.arrangement,
            &self.prep.a,
            problem.y.view(),
            problem.beta,
            rows,
            self.coupling,
            problem.filter_norm,
            problem.loss,
        );
        (program, Inverse { layout, q })
    }

    fn blocks(&self, inverse: &Inverse, x: &[f64]) -> Vec<(usize, Vec<f64>)> {
        let layout = &inverse.layout;
        (0..layout.p)
            .flat_map(|i| [true, false].map(|s| (i, layout.block(x, i, s).to_vec())))
            .collect()
    }

    fn decode(
        &self,
        problem: &Problem,
        inverse: &Inverse,
        sol: &Solution,
        tol: f64,
    ) -> formulation::Decoded<TwoLayerCnn> {
        let layout = &inverse.layout;
        let min_norm = noise_threshold(
            &self.prep.a,
            layout,
            &sol.x,
            problem.y.view(),
            problem.beta,
            tol,
        );
        let d = decode(layout, &sol.x, min_norm);
        decoded_network(problem, &d.filters, &d.output_weights)
    }

    fn solver_duals(
        &self,
        problem: &Problem,
        inverse: &Inverse,
        sol: &Solution,
    ) -> Vec<Array1<f64>> {
        solver_duals(
            &inverse.layout,
            inverse.q.as_ref(),
            &sol.z,
            problem.y.view(),
        )
    }

    fn certify(
        &self,
        problem: &Problem,
        _: &Inverse,
        _: &Solution,
        rows: &ConeRows,
        candidates: &[Array1<f64>],
        objective: f64,
    ) -> Certificate {
        certify::certify_for(
            problem.loss,
            self.prep.patches.stacked(),
            &self.prep.arrangement,
            &self.prep.a,
            rows,
            problem.y.view(),
            candidates,
            problem.beta,
            objective,
            problem.filter_norm,
        )
    }

    fn given_network(
        &self,
        problem: &Problem,
        weights: &Weights,
    ) -> Result<(Objective, Array1<f64>)> {
        Ok(given(problem, weights))
    }

    fn body(
        &self,
        _: &Problem,
        header: Header,
        decoded: formulation::Decoded<TwoLayerCnn>,
        max_constraint_violation: f64,
    ) -> TwoLayerBody {
        body(header, decoded.network, max_constraint_violation)
    }

    fn program_report(
        &self,
        _: &Problem,
        options: &SolveOptions,
        program: &ConicProgram,
        inverse: &Inverse,
        rows: &ConeRows,
    ) -> ProgramReport {
        let (k, n, _) = self.prep.patches.data.dim();
        ProgramReport {
            variables: program.n_vars(),
            rows: program.n_rows(),
            nonzeros: program.entries.len(),
            cone_rows_full: 2 * self.prep.arrangement.patterns.len() * k * n,
            cone_rows_written: 2 * rows.iter().map(Vec::len).sum::<usize>(),
            reduced: options.reduce,
            coupling: inverse.layout.coupling,
        }
    }

    fn layout(&self, problem: &Problem) -> NetworkLayout {
        network_report(problem)
    }

    fn data(&self, problem: &Problem) -> DataReport {
        data_report(problem, self.prep.patches.k())
    }
}
