//! Three-layer CNN with two ReLU layers and sum pooling (docs/math.md §9, derived).
//!
//! Network: `f = Σ_j w₂ⱼ (Σ_l w₁ⱼₗ Σ_k (X_k u_jl)_+)_+` with `‖U_j‖_F ≤ 1` and weight decay
//! `(β/2) Σ_j (‖w₁ⱼ‖² + w₂ⱼ²)`. With inner patterns `D_i` (docs/math.md §2, `A_i = Σ_k D_i^k X_k`,
//! `B_i = (2D_i − I) M`), outer patterns `D'_l ∈ {0,1}ⁿ` and a sign `σ`, each group `G = (l, σ)` holds
//! blocks `c^{G+}_i, c^{G−}_i ∈ R^h`:
//!
//! ```text
//! min ½‖Σ_G σ D'_l u_G − y‖² + β Σ_G Σ_i (‖c^{G+}_i‖ + ‖c^{G−}_i‖)
//! s.t. u_G = Σ_i A_i (c^{G+}_i − c^{G−}_i),  B_i c^{G±}_i ≥ 0,  (2D'_l − I) u_G ≥ 0
//! ```
//!
//! **Why it is exact on the sampled sub-model.** Decode a nonzero group with `S = Σ‖c‖` over its
//! blocks: one inner filter `u = c/√(‖c‖S)` per nonzero block with `w₁ = ±√‖c‖` (the block's sign),
//! and `w₂ = σ√S`. Then `‖U‖_F² = Σ‖c‖/S = 1`, `‖w₁‖² = w₂² = S`, so the weight decay is `βS`. Each `c`
//! lies in its cone, so `Σ_k (X_k u)_+ = A_i u` and the sub-network's inner output is `u_G/√S`; the
//! outer cone says its sign pattern is `D'_l`, so `(u_G/√S)_+ = D'_l u_G/√S` and the sub-network
//! contributes `σ D'_l u_G`: the decoded network has **exactly** the convex objective.
//!
//! **Why it is a lower bound with all patterns.** Any network maps back: sort each sub-network by
//! its outer pattern and `sign(w₂)`, set `c = |w₂||w₁ₗ| u_l` in the block of `u_l`'s inner pattern
//! and `w₁ₗ`'s sign; then `Σ‖c‖ ≤ |w₂| Σ_l |w₁ₗ|‖u_l‖ ≤ |w₂|‖w₁‖‖U‖_F ≤ (w₂² + ‖w₁‖²)/2`. So with
//! every inner cell (`"mode": "exact"`) and every outer pattern (`"outer_patterns": {"mode":
//! "all"}`) the convex optimum bounds every three-layer network of any widths; with sampled patterns
//! it bounds only the sampled sub-model.
//!
//! **Bias.** With `"bias": true` every patch gets a constant-1 entry appended (`x_k → [x_k, 1]`,
//! `h → h + 1`, as two_layer does) and the program above is written unchanged over the augmented
//! patches. A block `c ∈ R^{h+1}` is then a pair `[u, b]`, and the inner neuron of a decoded filter is
//! `(⟨[x_k, 1], [u, b]⟩)_+ = (⟨x_k, u⟩ + b)_+`: the three-layer network with one bias per inner
//! neuron. Every step above only uses the rows of the (augmented) patch matrix, so the exactness
//! argument and the reverse map hold verbatim with `[U_j, b_j]` in place of `U_j`: the constraint
//! `‖[U_j, b_j]‖_F ≤ 1` covers the biases, which are not weight-decayed otherwise. The inner
//! patterns, the gates and the outer-pattern generators all live in `R^{h+1}` (a gate is a pair
//! `[u, b]` too), so they need nothing else.
//!
//! **Inner width.** The program does not bound how many blocks of a group are nonzero, so a decoded
//! sub-network can have more inner filters than the problem's `inner_filters` (`m₁`), which only sets
//! the width of the random generating sub-networks of the sampled outer patterns. The report says
//! how many decoded sub-networks are wider than `m₁`.
//!
//! **Certificate.** Dual feasibility of `v` is, per group, `∃ μ_G ≥ 0, α ≥ 0` with
//! `‖±A_iᵀ(σD'_l v + (2D'_l − I)μ_G) + B_iᵀα‖ ≤ β` for every `i` and sign; then
//! `d(v) = vᵀy − ½‖v‖²` bounds the program. `μ_G` is read from the solver's multipliers of the outer
//! rows, `α` from one NNLS per block (any `μ, α ≥ 0` give a valid bound, so the check is rigorous).
//! Both signs `v` and `θ ≥ 0` scale together: the bound `d(θv)` is proved by `θμ_G` and `θα`, which

pub mod certify;
pub mod decode;
pub mod program;

pub use crate::arrangement::ConeRows;
pub use certify::{certificate_evidence, max_dual_value};
pub use decode::{Decoded, SubNetwork, block_norms, decode, noise_threshold};
pub use program::{Layout, OuterPatterns, all_outer, build, sample_outer};

use crate::arch::formulation::{self, Formulation, Prepared};
use crate::arch::options::{Progress, SolveOptions};
use crate::arch::report::{Body, DataReport, Header, Timings};
use crate::arch::two_layer;
use crate::backend::Solution;
use crate::certify::{CERTIFIED_REL_GAP, Certificate, Scope};
use crate::clock::secs;
use crate::error::{Error, Result};
use crate::ir::ConicProgram;
use crate::network::ThreeLayerCnn;
use crate::patches::Patches;
use crate::problem::{Architecture, ArrangementSpec, OuterSpec, Problem};
use ndarray::Array1;
use serde::Serialize;
use std::ops::Deref;
use std::time::Instant;

/// Size of the three-layer program handed to the solver.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramReport {
    /// Variables.
    pub variables: usize,
    /// Rows (all cones).
    pub rows: usize,
    /// Nonzeros of `A`.
    pub nonzeros: usize,
    /// Groups `2L` (outer pattern × sign).
    pub groups: usize,
    /// Blocks `4·P·L`.
    pub blocks: usize,
    /// Inner cone rows of the full program (`4·P·L·nK`).
    pub cone_rows_full: usize,
    /// Inner cone rows written.
    pub cone_rows_written: usize,
    /// Outer cone rows (`2·L·n`, always all of them).
    pub outer_rows: usize,
    /// Whether the inner reduction was on.
    pub reduced: bool,
}

/// Network layout of a three-layer result.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkReport {
    /// `three_layer`.
    pub kind: &'static str,
    /// Kernel as in the problem file.
    pub kernel: Vec<usize>,
    /// Stride as in the problem file.
    pub stride: Vec<usize>,
    /// Padding as in the problem file.
    pub padding: Vec<usize>,
    /// Always `sum`.
    pub pooling: &'static str,
    /// `m₁` of the problem file.
    pub inner_filters: usize,
    /// `true` only with a bias (absent otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bias: bool,
}

/// The body of a three-layer result (docs/results.md, "Three-layer result files"): the sub-networks.
#[derive(Debug, Clone, Serialize)]
pub struct ThreeLayerBody {
    /// The shared keys.
    #[serde(flatten)]
    pub header: Header,
    /// Outer patterns `L`.
    pub outer_patterns: usize,
    /// Generating sub-networks drawn (or patterns listed) before deduplication.
    pub outer_tried: usize,
    /// `sample` or `all`.
    pub outer_mode: &'static str,
    /// Decoded sub-networks `m`.
    pub subnetworks: usize,
    /// Inner filters of the decoded network (`Σ_j m₁ⱼ`).
    pub neurons: usize,
    /// `m₁ⱼ` of every sub-network.
    pub inner_widths: Vec<usize>,
    /// `m₁` of the problem file.
    pub inner_filters: usize,
    /// Sub-networks with more than `inner_filters` inner filters.
    pub wider_than_inner_filters: usize,
    /// `filters[j][l]`: inner filter `u_jl`, (channel, row, col) order.
    pub filters: Vec<Vec<Vec<f64>>>,
    /// `inner_weights[j][l]` = `w₁ⱼₗ`.
    pub inner_weights: Vec<Vec<f64>>,
    /// `output_weights[j]` = `w₂ⱼ`.
    pub output_weights: Vec<f64>,
    /// Only with a bias: `biases[j][l]` = `b_jl`, the bias of inner filter `u_jl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biases: Option<Vec<Vec<f64>>>,
    /// `max_j |‖[U_j, b_j]‖_F − 1|` of the decoded network (`‖U_j‖_F` without a bias).
    pub max_frobenius_deviation: f64,
    /// Worst violation of the full constraint set (all inner rows, outer rows, coupling, norms).
    pub max_constraint_violation: f64,
    /// Worst disagreement of a decoded sub-network's outer sign pattern with its `D'_l`, from the
    /// forward pass, in output units: `max_{j,t} |w₂ⱼ| (−g_jt if D'_l[t] = 1, g_jt otherwise)⁺`.
    pub max_outer_pattern_violation: f64,
}

impl Deref for ThreeLayerBody {
    type Target = Header;
    fn deref(&self) -> &Header {
        &self.header
    }
}

impl Body for ThreeLayerBody {
    type Program = ProgramReport;
    type Layout = NetworkReport;
}

/// The result of a three-layer solve.
pub type Report = crate::arch::report::Report<ThreeLayerBody>;

/// The prepared three-layer program of one problem: patches, inner patterns, `A_i` (sum pooling),
/// inner cone rows, and the outer patterns.
pub struct ThreeLayer {
    /// Patches, inner patterns, `A_i`, inner cone rows.
    pub prep: Prepared,
    /// Outer patterns `D'_l`.
    pub outer: OuterPatterns,
}

/// `(geometry, inner_filters, outer spec, bias)` of a three-layer problem.
fn parts(problem: &Problem) -> Result<(crate::geometry::ConvGeometry, usize, OuterSpec, bool)> {
    match problem.architecture {
        Architecture::ThreeLayer {
            geometry,
            inner_filters,
            outer,
            bias,
        } => Ok((geometry, inner_filters, outer, bias)),
        _ => Err(Error::input(
            &problem.source,
            "this is the three-layer program, but the problem's architecture is another kind",
        )),
    }
}

/// Patches, patterns, `A_i`, outer patterns and the (reduced) inner rows of a three-layer problem.
pub fn prepare(
    problem: &Problem,
    options: &SolveOptions,
    progress: Progress,
) -> Result<ThreeLayer> {
    let (geometry, inner_filters, outer, bias) = parts(problem)?;
    let mut timings = Timings::default();
    let t = Instant::now();
    let patches = Patches::extract(problem.x.view(), &geometry).ok_or_else(|| {
        Error::input(
            &problem.source,
            "the kernel is larger than the (padded) input; use a smaller kernel",
        )
    })?;
    let patches = if bias { patches.with_bias() } else { patches };
    let arr = crate::arrangement::build(&patches, &problem.arrangements).map_err(|e| match e {
        Error::Exact(e) => Error::input(&problem.source, e.to_string()),
        other => other,
    })?;
    two_layer::no_empty_arrangement(problem, &arr)?;
    let a = two_layer::pattern_matrices(&patches, &arr, &vec![1.0; patches.k()]);
    let outer = match outer {
        OuterSpec::Sample { count, seed } => sample_outer(&a, &arr, count, inner_filters, seed),
        OuterSpec::All => all_outer(problem.n()),
    };
    if outer.on.is_empty() {
        return Err(Error::input(
            &problem.source,
            "no generating sub-network produced a nonzero outer pattern; raise \
             architecture.outer_patterns.count",
        ));
    }
    timings.arrangements_s = secs(t);
    let t = Instant::now();
    let rows = two_layer::cone_rows(&patches, &arr, options, progress);
    timings.reduction_s = secs(t);
    Ok(ThreeLayer {
        prep: Prepared {
            patches,
            arrangement: arr,
            a,
            rows,
            timings,
        },
        outer,
    })
}

/// Solves a three-layer problem ([`crate::arch::driver::solve`] with this formulation).
pub fn solve(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Report> {
    crate::arch::driver::solve::<ThreeLayer>(problem, options, progress)
}

/// A decoded three-layer network and the checks its body reports.
pub struct DecodedNetwork {
    /// The sub-networks in the result-file layout.
    pub decoded: Decoded,
    /// One bias per inner filter (with a bias).
    pub biases: Option<Vec<Vec<f64>>>,
    /// `max_j |‖[U_j, b_j]‖_F − 1|`.
    pub max_frobenius_deviation: f64,
    /// Worst disagreement of a sub-network's outer sign pattern with its `D'_l`, in output units.
    pub max_outer_pattern_violation: f64,
}

impl Formulation for ThreeLayer {
    type Body = ThreeLayerBody;
    type Inverse = Layout;
    type Network = DecodedNetwork;

    fn check(_: &Problem, options: &SolveOptions) -> Result<()> {
        if options.network.is_some() {
            return Err(Error::Invalid(
                "--network certifies two-layer networks only; a three_layer problem has no \
                 network file layout to read yet (drop --network)"
                    .into(),
            ));
        }
        Ok(())
    }

    fn prepare(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Self> {
        prepare(problem, options, progress)
    }

    fn prepared(&self) -> &Prepared {
        &self.prep
    }

    fn build(&self, problem: &Problem, rows: &ConeRows) -> (ConicProgram, Layout) {
        build(
            self.prep.patches.stacked(),
            &self.prep.arrangement,
            &self.prep.a,
            &self.outer,
            problem.y.view(),
            problem.beta,
            rows,
            true,
        )
    }

    fn blocks(&self, layout: &Layout, x: &[f64]) -> Vec<(usize, Vec<f64>)> {
        (0..layout.blocks())
            .map(|b| ((b / 2) % layout.p, layout.block(x, b).to_vec()))
            .collect()
    }

    fn decode(
        &self,
        problem: &Problem,
        layout: &Layout,
        sol: &Solution,
        tol: f64,
    ) -> formulation::Decoded<DecodedNetwork> {
        let (geometry, _, _, bias) = parts(problem).expect("prepared from this problem");
        let y = problem.y.view();
        let min_norm = noise_threshold(
            &self.prep.a,
            &self.outer,
            layout,
            &sol.x,
            y,
            problem.beta,
            tol,
        );
        let mut decoded = decode(layout, &sol.x, min_norm);
        // With a bias the last entry of every decoded block `[u, b]` is the inner neuron's bias.
        let biases = bias.then(|| {
            decoded
                .filters
                .iter_mut()
                .map(|us| us.iter_mut().map(|u| u.pop().unwrap_or(0.0)).collect())
                .collect::<Vec<Vec<f64>>>()
        });
        let net = ThreeLayerCnn {
            geometry,
            channels: problem.x.dim().1,
            filters: decoded.filters.clone(),
            inner_weights: decoded.inner_weights.clone(),
            output_weights: decoded.output_weights.clone(),
            biases: biases.clone(),
        };
        let objective = net.objective(problem.x.view(), y, problem.beta);
        let pre = net.subnetwork_preactivations(problem.x.view());
        let mut max_outer_pattern_violation: f64 = 0.0;
        for (j, sub) in decoded.subnetworks.iter().enumerate() {
            for (s, &on) in self.outer.on[sub.outer].iter().enumerate() {
                let g = pre[[j, s]];
                // In output units: what the disagreement costs sub-network j's contribution.
                let off = if on { -g } else { g };
                max_outer_pattern_violation =
                    max_outer_pattern_violation.max(off * decoded.output_weights[j].abs());
            }
        }
        let max_frobenius_deviation = net
            .frobenius_norms()
            .iter()
            .map(|f| (f - 1.0).abs())
            .fold(0.0_f64, f64::max);
        formulation::Decoded {
            objective,
            outputs: net.forward(problem.x.view()),
            extra_violation: 0.0,
            network: DecodedNetwork {
                decoded,
                biases,
                max_frobenius_deviation,
                max_outer_pattern_violation,
            },
        }
    }

    fn solver_duals(&self, problem: &Problem, layout: &Layout, sol: &Solution) -> Vec<Array1<f64>> {
        let n = problem.n();
        vec![Array1::from(
            sol.z[layout.residual_row..layout.residual_row + n].to_vec(),
        )]
    }

    /// The bound `d(θv)` with `θ ∈ [0, θ_max]` (not negative: the outer multipliers `μ` scale with
    /// `v`) and the solver's `μ` (any `μ ≥ 0` gives a valid bound).
    fn certify(
        &self,
        problem: &Problem,
        layout: &Layout,
        sol: &Solution,
        rows: &ConeRows,
        candidates: &[Array1<f64>],
        objective: f64,
    ) -> Certificate {
        let n = problem.n();
        let y = problem.y.view();
        let (arr, outer) = (&self.prep.arrangement, &self.outer);
        let m = self.prep.patches.stacked();
        let mu: Vec<f64> = match layout.outer_row {
            Some(r) => sol.z[r..r + layout.groups * n].to_vec(),
            None => vec![0.0; layout.groups * n],
        };
        let mut best = (0.0_f64, 0.0_f64, 0.0_f64);
        let mut evidence = certificate_evidence(arr, outer, Array1::zeros(n).view(), 0.0, &mu, &[]);
        for v in candidates {
            let (gamma, witnesses) =
                max_dual_value(m, arr, &self.prep.a, outer, rows, layout, v.view(), &mu);
            let (vv, vy) = (v.dot(v), v.dot(&y));
            if vv == 0.0 {
                continue;
            }
            let theta_max = if gamma > problem.beta {
                problem.beta / gamma
            } else {
                1.0
            };
            // d(θv) = θvᵀy − ½θ²‖v‖² is concave in θ; θ ≥ 0 because μ scales with v.
            let theta = (vy / vv).clamp(0.0, theta_max);
            let bound = theta * vy - 0.5 * theta * theta * vv;
            if bound > best.0 {
                best = (bound, gamma, theta);
                evidence = certificate_evidence(arr, outer, v.view(), theta, &mu, &witnesses);
            }
        }
        let (lower_bound, gamma, theta) = best;
        let gap = objective - lower_bound;
        let relative_gap = gap / objective.abs().max(1.0);
        let global = matches!(problem.arrangements, ArrangementSpec::Exact { .. })
            && matches!(parts(problem), Ok((_, _, OuterSpec::All, _)));
        Certificate {
            certified: relative_gap <= CERTIFIED_REL_GAP,
            scope: if global {
                Scope::Global
            } else {
                Scope::SampledPatterns
            },
            patterns: arr.patterns.len(),
            outer_patterns: Some(outer.on.len()),
            primal_objective: objective,
            lower_bound,
            gap,
            relative_gap,
            max_dual_value: gamma,
            max_dual_violation: (gamma - problem.beta).max(0.0),
            dual_scaling: theta,
            beta: problem.beta,
            beta_max: None,
            evidence,
        }
    }

    fn body(
        &self,
        problem: &Problem,
        header: Header,
        decoded: formulation::Decoded<DecodedNetwork>,
        max_constraint_violation: f64,
    ) -> ThreeLayerBody {
        let (_, inner_filters, outer_spec, _) = parts(problem).expect("prepared from this problem");
        let DecodedNetwork {
            decoded,
            biases,
            max_frobenius_deviation,
            max_outer_pattern_violation,
        } = decoded.network;
        let inner_widths: Vec<usize> = decoded.filters.iter().map(Vec::len).collect();
        ThreeLayerBody {
            header,
            outer_patterns: self.outer.on.len(),
            outer_tried: self.outer.candidates,
            outer_mode: match outer_spec {
                OuterSpec::Sample { .. } => "sample",
                OuterSpec::All => "all",
            },
            subnetworks: decoded.filters.len(),
            neurons: inner_widths.iter().sum(),
            wider_than_inner_filters: inner_widths.iter().filter(|&&w| w > inner_filters).count(),
            inner_widths,
            inner_filters,
            filters: decoded.filters,
            inner_weights: decoded.inner_weights,
            output_weights: decoded.output_weights,
            biases,
            max_frobenius_deviation,
            max_constraint_violation,
            max_outer_pattern_violation,
        }
    }

    fn program_report(
        &self,
        problem: &Problem,
        options: &SolveOptions,
        program: &ConicProgram,
        layout: &Layout,
        rows: &ConeRows,
    ) -> ProgramReport {
        let (k, n, _) = self.prep.patches.data.dim();
        debug_assert_eq!(n, problem.n());
        ProgramReport {
            variables: program.n_vars(),
            rows: program.n_rows(),
            nonzeros: program.entries.len(),
            groups: layout.groups,
            blocks: layout.blocks(),
            cone_rows_full: layout.blocks() * k * n,
            cone_rows_written: layout.groups * 2 * rows.iter().map(Vec::len).sum::<usize>(),
            outer_rows: layout.groups * n,
            reduced: options.reduce,
        }
    }

    fn layout(&self, problem: &Problem) -> NetworkReport {
        let (geometry, inner_filters, _, bias) =
            parts(problem).expect("prepared from this problem");
        let one_d = problem.one_d;
        let dims = |v: [usize; 2]| if one_d { vec![v[1]] } else { v.to_vec() };
        NetworkReport {
            kind: "three_layer",
            kernel: dims(geometry.kernel),
            stride: dims(geometry.stride),
            padding: dims(geometry.padding),
            pooling: "sum",
            inner_filters,
            bias,
        }
    }

    fn data(&self, problem: &Problem) -> DataReport {
        let (k, n, h) = self.prep.patches.data.dim();
        let (_, c, hh, ww) = problem.x.dim();
        let bias = matches!(parts(problem), Ok((.., true)));
        DataReport {
            n,
            channels: c,
            input_shape: if problem.one_d {
                vec![c, ww]
            } else {
                vec![c, hh, ww]
            },
            patches: k,
            filter_len: h - usize::from(bias),
        }
    }
}
