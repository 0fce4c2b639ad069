//! Two-layer CNN with linear activation (docs/math.md §6; §5 for local pooling).
//!
//! With `σ(z) = z` the network is linear in its input: `f = Σ_j w_j Σ_k α_k X_k u_j = A z` with
//! `A = Σ_k α_k X_k` and `z = Σ_j w_j u_j`. Since `‖w_j u_j‖ ≤ ½(‖u_j‖² + w_j²)`, with equality for
//! a balanced neuron, the training problem is the single-block group lasso
//!
//! ```text
//! min_z  ½‖A z − y‖² + β ‖z‖          (‖·‖₂, or ‖·‖₁ for "filter_norm": "l1")
//! ```
//!
//! and one neuron suffices: `u = z/√‖z‖`, `w = √‖z‖`. No sign patterns are involved, so its
//! certificate (`‖Aᵀv‖_dual ≤ β`) is exact and global. In the IR: a residual block
//! `ρ = A z − y` (zero-cone rows, objective `½‖ρ‖²`) and `t ≥ ‖z‖` (one second-order cone, or
//! `t_j ≥ |z_j|` as linear rows for ℓ1), objective `+ β Σ t`.

use crate::arch::formulation::{self, Formulation, Prepared};
use crate::arch::options::{Progress, SolveOptions};
use crate::arch::report::{
    DataReport, Header, NetworkLayout, ProgramReport, Timings, TwoLayerBody,
};
use crate::arch::two_layer::{self, Coupling, Decoded};
use crate::arrangement::{Arrangement, ConeRows, PatternKind};
use crate::backend::Solution;
use crate::certify::{self, Certificate};
use crate::clock::secs;
use crate::error::Result;
use crate::geometry::FilterNorm;
use crate::ir::{ConeKind, ConicProgram};
use crate::loss::Loss;
use crate::network::Weights;
use crate::network::{Objective, TwoLayerCnn};
use crate::patches::Patches;
use crate::problem::Problem;
use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, Axis};
use std::time::Instant;

/// `A = Σ_k α_k X_k` (`n × h`).
pub fn design(patches: &Patches, alpha: &[f64]) -> Array2<f64> {
    let (k, n, h) = patches.data.dim();
    assert_eq!(
        alpha.len(),
        k,
        "linear::design: {} pooling weights for {k} patch positions",
        alpha.len()
    );
    let mut a = Array2::<f64>::zeros((n, h));
    for (kk, &weight) in alpha.iter().enumerate() {
        a.scaled_add(weight, &patches.data.index_axis(Axis(0), kk));
    }
    a
}

/// Where each variable of the linear program lives.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Samples.
    pub n: usize,
    /// Filter length.
    pub h: usize,
    /// First residual variable `ρ` (`n` of them).
    pub rho: usize,
    /// First residual row (its multipliers are the dual vector `v`).
    pub residual_row: usize,
    /// First entry of `z`.
    pub z: usize,
    /// First epigraph variable (1 for ℓ2, `h` for ℓ1).
    pub t: usize,
    /// Filter norm of the regularizer.
    pub norm: FilterNorm,
    /// The loss of the fit (docs/math.md §14).
    pub loss: Loss,
}

impl Layout {
    /// `z` in a solution vector.
    pub fn block<'a>(&self, x: &'a [f64]) -> &'a [f64] {
        &x[self.z..self.z + self.h]
    }
}

/// Builds `min ½‖ρ‖² + β Σ t  s.t.  ρ − A z = −y,  t ≥ ‖z‖` (with a classification loss, its
/// rows on `ρ` in place of `½‖ρ‖²`, docs/math.md §14).
pub fn build(
    a: ArrayView2<f64>,
    y: ArrayView1<f64>,
    beta: f64,
    norm: FilterNorm,
    loss: Loss,
) -> (ConicProgram, Layout) {
    let (n, h) = a.dim();
    let norm_vars = match norm {
        FilterNorm::L2 => 1,
        FilterNorm::L1 => h,
    };
    let mut prog = ConicProgram::new();
    let layout = Layout {
        n,
        h,
        rho: prog.add_vars("rho", n),
        residual_row: 0,
        z: prog.add_vars("z", h),
        t: prog.add_vars("t", norm_vars),
        norm,
        loss,
    };
    if loss.is_squared() {
        for j in 0..n {
            prog.p_diag[layout.rho + j] = 1.0;
        }
    }
    for j in 0..norm_vars {
        prog.q[layout.t + j] = beta;
    }
    let r0 = prog.add_rows("residual", ConeKind::Zero, n);
    debug_assert_eq!(r0, layout.residual_row);
    crate::arch::two_layer::program::add_loss_rows(&mut prog, loss, layout.rho, y);
    for t in 0..n {
        prog.b[r0 + t] = -y[t];
        prog.push(r0 + t, layout.rho + t, 1.0);
        for j in 0..h {
            prog.push(r0 + t, layout.z + j, -a[[t, j]]);
        }
    }
    match norm {
        FilterNorm::L2 => {
            let r = prog.add_rows("norm_z", ConeKind::SecondOrder, h + 1);
            prog.push(r, layout.t, -1.0);
            for j in 0..h {
                prog.push(r + 1 + j, layout.z + j, -1.0);
            }
        }
        FilterNorm::L1 => {
            let r = prog.add_rows("norm_z", ConeKind::Nonnegative, 2 * h);
            for j in 0..h {
                prog.push(r + j, layout.t + j, -1.0);
                prog.push(r + j, layout.z + j, 1.0);
                prog.push(r + h + j, layout.t + j, -1.0);
                prog.push(r + h + j, layout.z + j, -1.0);
            }
        }
    }
    (prog, layout)
}

/// `½‖A z − y‖² + β‖z‖`.
pub fn objective(
    a: ArrayView2<f64>,
    y: ArrayView1<f64>,
    beta: f64,
    norm: FilterNorm,
    z: &[f64],
) -> f64 {
    let r = a.dot(&ArrayView1::from(z)) - y;
    0.5 * r.dot(&r) + beta * norm.of(z)
}

/// `L(A z) + β‖z‖` for the loss `loss` ([`objective`] for the squared loss).
pub fn objective_for(
    loss: Loss,
    a: ArrayView2<f64>,
    y: ArrayView1<f64>,
    beta: f64,
    norm: FilterNorm,
    z: &[f64],
) -> f64 {
    if loss.is_squared() {
        return objective(a, y, beta, norm, z);
    }
    loss.value(a.dot(&ArrayView1::from(z)).view(), y) + beta * norm.of(z)
}

/// Decodes `z ↦ (u = z/√‖z‖, w = √‖z‖)`, one balanced neuron, or none when `z` is worth at most
/// `tol` of objective (interior-point noise around the zero network; see
/// [`crate::arch::two_layer::noise_threshold`]).
pub fn decode(
    a: ArrayView2<f64>,
    y: ArrayView1<f64>,
    beta: f64,
    layout: &Layout,
    x: &[f64],
    tol: f64,
) -> Decoded {
    let z = layout.block(x);
    let r = layout.norm.of(z);
    let zero = vec![0.0; layout.h];
    let mut out = Decoded::default();
    if r == 0.0
        || objective_for(layout.loss, a, y, beta, layout.norm, &zero)
            <= objective_for(layout.loss, a, y, beta, layout.norm, z) + tol
    {
        out.dropped_norm = r;
        return out;
    }
    let sq = r.sqrt();
    out.filters.push(z.iter().map(|v| v / sq).collect());
    out.output_weights.push(sq);
    out
}

/// The prepared linear program of one problem: the patches (for the report) and the design
/// `A = Σ_k α_k X_k`. There are no sign patterns: the arrangement is empty and no cone row is
/// written, so the driver's full-row check has nothing to check.
pub struct Linear {
    /// Patches and an empty arrangement.
    pub prep: Prepared,
    /// `A = Σ_k α_k X_k`, `n × h`.
    pub design: Array2<f64>,
}

impl Formulation for Linear {
    type Body = TwoLayerBody;
    type Inverse = Layout;
    type Network = TwoLayerCnn;

    fn check(problem: &Problem, options: &SolveOptions) -> Result<()> {
        two_layer::check_network(problem, options)
    }

    fn prepare(problem: &Problem, _: &SolveOptions, _: Progress) -> Result<Self> {
        let t = Instant::now();
        let (patches, alpha) = two_layer::patches_of(problem)?;
        let a = design(&patches, &alpha);
        let (_, n, h) = patches.data.dim();
        let timings = Timings {
            arrangements_s: secs(t),
            ..Timings::default()
        };
        Ok(Linear {
            prep: Prepared {
                patches,
                arrangement: Arrangement {
                    patterns: Vec::new(),
                    candidates: 0,
                    exact: true,
                    kind: PatternKind::Relu,
                },
                a: Array3::zeros((0, n, h)),
                rows: Vec::new(),
                timings,
            },
            design: a,
        })
    }

    fn prepared(&self) -> &Prepared {
        &self.prep
    }

    fn build(&self, problem: &Problem, _: &ConeRows) -> (ConicProgram, Layout) {
        build(
            self.design.view(),
            problem.y.view(),
            problem.beta,
            problem.filter_norm,
            problem.loss,
        )
    }

    fn blocks(&self, _: &Layout, _: &[f64]) -> Vec<(usize, Vec<f64>)> {
        Vec::new()
    }

    fn decode(
        &self,
        problem: &Problem,
        layout: &Layout,
        sol: &Solution,
        tol: f64,
    ) -> formulation::Decoded<TwoLayerCnn> {
        let d = decode(
            self.design.view(),
            problem.y.view(),
            problem.beta,
            layout,
            &sol.x,
            tol,
        );
        two_layer::decoded_network(problem, &d.filters, &d.output_weights)
    }

    fn solver_duals(&self, _: &Problem, layout: &Layout, sol: &Solution) -> Vec<Array1<f64>> {
        let rows = layout.residual_row..layout.residual_row + layout.n;
        vec![Array1::from(sol.z[rows].to_vec())]
    }

    fn certify(
        &self,
        problem: &Problem,
        _: &Layout,
        _: &Solution,
        _: &ConeRows,
        candidates: &[Array1<f64>],
        objective: f64,
    ) -> Certificate {
        certify::certify_linear_for(
            problem.loss,
            self.design.view(),
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
        Ok(two_layer::given(problem, weights))
    }

    fn patterns_used(&self, _: &Problem) -> (usize, usize, &'static str) {
        (1, 0, "none")
    }

    fn body(
        &self,
        _: &Problem,
        header: Header,
        decoded: formulation::Decoded<TwoLayerCnn>,
        max_constraint_violation: f64,
    ) -> TwoLayerBody {
        two_layer::body(header, decoded.network, max_constraint_violation)
    }

    fn program_report(
        &self,
        _: &Problem,
        options: &SolveOptions,
        program: &ConicProgram,
        _: &Layout,
        _: &ConeRows,
    ) -> ProgramReport {
        ProgramReport {
            variables: program.n_vars(),
            rows: program.n_rows(),
            nonzeros: program.entries.len(),
            cone_rows_full: 0,
            cone_rows_written: 0,
            reduced: options.reduce,
            coupling: Coupling::Direct,
        }
    }

    fn layout(&self, problem: &Problem) -> NetworkLayout {
        two_layer::network_report(problem)
    }

    fn data(&self, problem: &Problem) -> DataReport {
        two_layer::data_report(problem, self.prep.patches.k())
    }
}
