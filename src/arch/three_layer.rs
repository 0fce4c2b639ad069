//! Three-layer CNN with two ReLU layers and sum pooling (formulations.md §6, derived).
//!
//! Network: `f = Σ_j w₂ⱼ (Σ_l w₁ⱼₗ Σ_k (X_k u_jl)_+)_+` with `‖U_j‖_F ≤ 1` and weight decay
//! `(β/2) Σ_j (‖w₁ⱼ‖² + w₂ⱼ²)`. With inner patterns `D_i` (formulations.md §1, `A_i = Σ_k D_i^k X_k`,
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

use crate::arrangement::Arrangement;
use crate::ir::{ConeKind, ConicProgram};
use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, Axis};
use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::collections::HashSet;

pub use crate::arch::two_layer::ConeRows;

/// The outer patterns `D'_l` of a three-layer program.
#[derive(Debug, Clone)]
pub struct OuterPatterns {
    /// `on[l][t]`: whether sample `t` is active in `D'_l`; distinct, none all-zero.
    pub on: Vec<Vec<bool>>,
    /// Generating sub-networks drawn (sample mode) or patterns listed (all mode), before
    /// deduplication.
    pub candidates: usize,
}

/// Outer patterns sampled jointly: each of `count` generating sub-networks takes `1..=m1` gates of
/// the inner arrangement (each gate lies in its own pattern's cone, so its pooled output is
/// `A_i g_i`), normalized, with random signs and log-normal positive scales; its output
/// `u = Σ ±s A_i g_i/‖A_i g_i‖` gives `D' = 1[u ≥ 0]`. Deterministic in `seed`.
pub fn sample_outer(
    a: &Array3<f64>,
    arrangement: &Arrangement,
    count: usize,
    m1: usize,
    seed: u64,
) -> OuterPatterns {
    let (p, n, _) = a.dim();
    let pooled: Vec<Array1<f64>> = (0..p)
        .map(|i| {
            let v = a
                .index_axis(Axis(0), i)
                .dot(&ArrayView1::from(&arrangement.patterns[i].gate[..]));
            let norm = v.dot(&v).sqrt();
            if norm > 0.0 { v / norm } else { v }
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seen = HashSet::new();
    let mut on = Vec::new();
    for _ in 0..count {
        let width = rng.random_range(1..=m1.max(1));
        let mut u = Array1::<f64>::zeros(n);
        for _ in 0..width {
            let i = rng.random_range(0..p);
            let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            let z: f64 = StandardNormal.sample(&mut rng);
            u.scaled_add(sign * z.exp(), &pooled[i]);
        }
        let d: Vec<bool> = u.iter().map(|&v| v >= 0.0).collect();
        if d.iter().any(|&b| b) && seen.insert(d.clone()) {
            on.push(d);
        }
    }
    OuterPatterns {
        on,
        candidates: count,
    }
}

/// Every nonzero `D' ∈ {0,1}ⁿ` (bit `t` of `l + 1` is sample `t`).
pub fn all_outer(n: usize) -> OuterPatterns {
    let on: Vec<Vec<bool>> = (1..(1usize << n))
        .map(|mask| (0..n).map(|t| mask >> t & 1 == 1).collect())
        .collect();
    OuterPatterns {
        candidates: on.len(),
        on,
    }
}

/// Where each variable and row block of the three-layer program lives.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Samples.
    pub n: usize,
    /// Filter length.
    pub h: usize,
    /// Inner patterns `P`.
    pub p: usize,
    /// Groups `2L`: group `g` has outer pattern `g / 2` and sign `+` for even `g`, `−` for odd.
    pub groups: usize,
    /// First residual variable `ρ = Σ_G σ D' u_G − y` (`n`).
    pub rho: usize,
    /// First `u_G` variable (`groups · n`, group-major).
    pub u: usize,
    /// First block variable: block `b = (g·P + i)·2 + s` (`s = 0` for `c⁺`, 1 for `c⁻`) at `c + b·h`.
    pub c: usize,
    /// First norm epigraph `t_b ≥ ‖c_b‖`.
    pub t: usize,
    /// First residual row (`n`; multipliers = dual vector `v`).
    pub residual_row: usize,
    /// First outer-cone row (`groups · n`, group-major; multipliers = `μ_G`), if written.
    pub outer_row: Option<usize>,
}

impl Layout {
    /// Number of blocks `4·P·L`.
    pub fn blocks(&self) -> usize {
        self.groups * self.p * 2
    }

    /// Index of block `(g, i, s)`.
    pub fn block_index(&self, g: usize, i: usize, s: usize) -> usize {
        (g * self.p + i) * 2 + s
    }

    /// Block `b` in a solution vector.
    pub fn block<'a>(&self, x: &'a [f64], b: usize) -> &'a [f64] {
        &x[self.c + b * self.h..self.c + (b + 1) * self.h]
    }

    /// `σ` of group `g`.
    pub fn sign(g: usize) -> f64 {
        if g.is_multiple_of(2) { 1.0 } else { -1.0 }
    }
}

/// Builds the SOCP above. `rows[i]` are the inner cone rows written for pattern `i` (indices into
/// `m`, reduced or all); every outer row is written. `outer_cone = false` drops the outer rows
/// (an ablation for tests: without them decoding is not exact).
#[allow(clippy::too_many_arguments)]
pub fn build(
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    a: &Array3<f64>,
    outer: &OuterPatterns,
    y: ArrayView1<f64>,
    beta: f64,
    rows: &ConeRows,
    outer_cone: bool,
) -> (ConicProgram, Layout) {
    let (p, n, h) = a.dim();
    let groups = 2 * outer.on.len();
    let mut prog = ConicProgram::new();
    let rho = prog.add_vars("rho", n);
    let u = prog.add_vars("u", groups * n);
    let c = prog.add_vars("c", groups * p * 2 * h);
    let t = prog.add_vars("t", groups * p * 2);
    let mut layout = Layout {
        n,
        h,
        p,
        groups,
        rho,
        u,
        c,
        t,
        residual_row: 0,
        outer_row: None,
    };
    for j in 0..n {
        prog.p_diag[rho + j] = 1.0;
    }
    for b in 0..layout.blocks() {
        prog.q[t + b] = beta;
    }
    // ρ − Σ_G σ D' u_G = −y.
    let r0 = prog.add_rows("residual", ConeKind::Zero, n);
    layout.residual_row = r0;
    for s in 0..n {
        prog.b[r0 + s] = -y[s];
        prog.push(r0 + s, rho + s, 1.0);
        for g in 0..groups {
            if outer.on[g / 2][s] {
                prog.push(r0 + s, u + g * n + s, -Layout::sign(g));
            }
        }
    }
    // u_G − Σ_i A_i (c⁺ − c⁻) = 0.
    let rc = prog.add_rows("coupling", ConeKind::Zero, groups * n);
    for g in 0..groups {
        for s in 0..n {
            let row = rc + g * n + s;
            prog.push(row, u + g * n + s, 1.0);
            for i in 0..p {
                let (bp, bm) = (layout.block_index(g, i, 0), layout.block_index(g, i, 1));
                for j in 0..h {
                    let v = a[[i, s, j]];
                    prog.push(row, c + bp * h + j, -v);
                    prog.push(row, c + bm * h + j, v);
                }
            }
        }
    }
    // (2D' − I) u_G ≥ 0, every row.
    if outer_cone {
        let ro = prog.add_rows("outer_cone", ConeKind::Nonnegative, groups * n);
        layout.outer_row = Some(ro);
        for g in 0..groups {
            for s in 0..n {
                let e = if outer.on[g / 2][s] { 1.0 } else { -1.0 };
                prog.push(ro + g * n + s, u + g * n + s, -e);
            }
        }
    }
    // B_i c ≥ 0 on the rows kept for pattern i.
    for g in 0..groups {
        for (i, kept) in rows.iter().enumerate() {
            let on = &arrangement.patterns[i].on;
            for s in 0..2 {
                let b = layout.block_index(g, i, s);
                let r = prog.add_rows(
                    &format!("cone[{g},{i},{s}]"),
                    ConeKind::Nonnegative,
                    kept.len(),
                );
                for (q, &row) in kept.iter().enumerate() {
                    let sigma = if on[row] { 1.0 } else { -1.0 };
                    for j in 0..h {
                        prog.push(r + q, c + b * h + j, -sigma * m[[row, j]]);
                    }
                }
            }
        }
    }
    // (t_b, c_b) ∈ SOC.
    for b in 0..layout.blocks() {
        let r = prog.add_rows(&format!("norm[{b}]"), ConeKind::SecondOrder, h + 1);
        prog.push(r, t + b, -1.0);
        for j in 0..h {
            prog.push(r + 1 + j, c + b * h + j, -1.0);
        }
    }
    (prog, layout)
}

/// Over the blocks with `‖c‖ > tau`: the program's output `Σ_G σ D'_l u_G`, the decoded network's
/// output `Σ_G σ (u_G)_+` (by positive homogeneity exactly what its sub-networks give), with
/// `u_G = Σ_i A_i (c⁺ − c⁻)`, and `Σ‖c‖`.
fn kept_parts(
    a: &Array3<f64>,
    outer: &OuterPatterns,
    layout: &Layout,
    x: &[f64],
    norms: &[f64],
    tau: f64,
) -> (Array1<f64>, Array1<f64>, f64) {
    let mut program = Array1::<f64>::zeros(layout.n);
    let mut network = Array1::<f64>::zeros(layout.n);
    let mut reg = 0.0;
    for g in 0..layout.groups {
        let mut ug = Array1::<f64>::zeros(layout.n);
        for i in 0..layout.p {
            let mut z = Array1::<f64>::zeros(layout.h);
            let mut any = false;
            for s in 0..2 {
                let b = layout.block_index(g, i, s);
                if norms[b] > tau {
                    any = true;
                    reg += norms[b];
                    let sign = if s == 0 { 1.0 } else { -1.0 };
                    z.scaled_add(sign, &ArrayView1::from(layout.block(x, b)));
                }
            }
            if any {
                ug += &a.index_axis(Axis(0), i).dot(&z);
            }
        }
        let sigma = Layout::sign(g);
        for (s, &on) in outer.on[g / 2].iter().enumerate() {
            if on {
                program[s] += sigma * ug[s];
            }
            network[s] += sigma * ug[s].max(0.0);
        }
    }
    (program, network, reg)
}

/// The largest block-norm threshold `τ` (from the largest block norm down by decades to 10⁻¹²
/// of it) such that dropping every block with `‖c‖ ≤ τ` raises neither the program's objective nor
/// the decoded network's by more than `tol`: interior-point noise is dropped by what it is worth (as
/// in the two-layer decoder), and a drop that would move a sub-network off its outer pattern by more
/// than that is refused.
pub fn noise_threshold(
    a: &Array3<f64>,
    outer: &OuterPatterns,
    layout: &Layout,
    x: &[f64],
    y: ArrayView1<f64>,
    beta: f64,
    tol: f64,
) -> f64 {
    let norms = block_norms(layout, x);
    let largest = norms.iter().fold(0.0_f64, |m, &v| m.max(v));
    let objectives = |tau: f64| {
        let (program, network, reg) = kept_parts(a, outer, layout, x, &norms, tau);
        let value = |yhat: Array1<f64>| {
            let r = yhat - y;
            0.5 * r.dot(&r) + beta * reg
        };
        (value(program), value(network))
    };
    let base = objectives(-1.0);
    for k in 0..=12 {
        let tau = largest * 10f64.powi(-k);
        let (p, n) = objectives(tau);
        if p <= base.0 + tol && n <= base.1 + tol && (p - n).abs() <= tol {
            return tau;
        }
    }
    0.0
}

/// `‖c_b‖₂` of every block.
pub fn block_norms(layout: &Layout, x: &[f64]) -> Vec<f64> {
    (0..layout.blocks())
        .map(|b| layout.block(x, b).iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect()
}

/// One decoded sub-network and where it came from.
#[derive(Debug, Clone)]
pub struct SubNetwork {
    /// Outer pattern index `l`.
    pub outer: usize,
    /// `σ`.
    pub sign: f64,
    /// Inner pattern of each inner filter.
    pub inner_patterns: Vec<usize>,
    /// `S = Σ‖c‖` of the group.
    pub strength: f64,
}

/// A decoded three-layer network in the result-file layout.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    /// `filters[j][l]` = `u_jl`.
    pub filters: Vec<Vec<Vec<f64>>>,
    /// `inner_weights[j][l]` = `w₁ⱼₗ`.
    pub inner_weights: Vec<Vec<f64>>,
    /// `output_weights[j]` = `w₂ⱼ`.
    pub output_weights: Vec<f64>,
    /// Origin of each sub-network.
    pub subnetworks: Vec<SubNetwork>,
    /// Sum of the norms of the blocks treated as zero.
    pub dropped_norm: f64,
}

/// Decodes every group with a block above `min_norm` (see the module docs):
/// `u = c/√(‖c‖S)`, `w₁ = ±√‖c‖`, `w₂ = σ√S`.
pub fn decode(layout: &Layout, x: &[f64], min_norm: f64) -> Decoded {
    let norms = block_norms(layout, x);
    let mut out = Decoded::default();
    for g in 0..layout.groups {
        let kept: Vec<(usize, usize)> = (0..layout.p)
            .flat_map(|i| [(i, 0), (i, 1)])
            .filter(|&(i, s)| {
                let r = norms[layout.block_index(g, i, s)];
                r > min_norm && r > 0.0
            })
            .collect();
        for i in 0..layout.p {
            for s in 0..2 {
                let r = norms[layout.block_index(g, i, s)];
                if !kept.contains(&(i, s)) {
                    out.dropped_norm += r;
                }
            }
        }
        if kept.is_empty() {
            continue;
        }
        let strength: f64 = kept
            .iter()
            .map(|&(i, s)| norms[layout.block_index(g, i, s)])
            .sum();
        let mut filters = Vec::new();
        let mut w1 = Vec::new();
        for &(i, s) in &kept {
            let b = layout.block_index(g, i, s);
            let r = norms[b];
            let scale = 1.0 / (r * strength).sqrt();
            filters.push(layout.block(x, b).iter().map(|v| v * scale).collect());
            w1.push(if s == 0 { r.sqrt() } else { -r.sqrt() });
        }
        out.filters.push(filters);
        out.inner_weights.push(w1);
        out.output_weights.push(Layout::sign(g) * strength.sqrt());
        out.subnetworks.push(SubNetwork {
            outer: g / 2,
            sign: Layout::sign(g),
            inner_patterns: kept.iter().map(|&(i, _)| i).collect(),
            strength,
        });
    }
    out
}

/// The signed rows `(2D_i − I) M[r]` of pattern `on` listed in `rows`.
fn signed_rows(m: ArrayView2<f64>, on: &[bool], rows: &[usize]) -> Array2<f64> {
    let mut b = Array2::<f64>::zeros((rows.len(), m.ncols()));
    for (q, &r) in rows.iter().enumerate() {
        let s = if on[r] { 1.0 } else { -1.0 };
        b.row_mut(q).assign(&(&m.row(r) * s));
    }
    b
}

/// `max_G max_{i, ±} min_{α ≥ 0} ‖±A_iᵀ(σ_G D'_G v + (2D'_G − I) μ_G) + B_iᵀ α‖₂`: an upper bound on
/// the dual value of `v` (any `μ_G ≥ 0` gives one; negative entries of `mu` are clipped to 0).
/// `mu` is `groups · n`, group-major.
#[allow(clippy::too_many_arguments)]
pub fn max_dual_value(
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    a: &Array3<f64>,
    outer: &OuterPatterns,
    rows: &ConeRows,
    layout: &Layout,
    v: ArrayView1<f64>,
    mu: &[f64],
) -> f64 {
    let n = layout.n;
    let bs: Vec<Array2<f64>> = (0..layout.p)
        .map(|i| signed_rows(m, &arrangement.patterns[i].on, &rows[i]))
        .collect();
    (0..layout.groups)
        .into_par_iter()
        .map(|g| {
            let on = &outer.on[g / 2];
            let sigma = Layout::sign(g);
            let lambda = Array1::from_shape_fn(n, |s| {
                let e = if on[s] { 1.0 } else { -1.0 };
                let d = if on[s] { sigma * v[s] } else { 0.0 };
                d + e * mu[g * n + s].max(0.0)
            });
            (0..layout.p)
                .map(|i| {
                    let gi = a.index_axis(Axis(0), i).t().dot(&lambda);
                    crate::certify::dual_value(bs[i].view(), gi.view())
                })
                .fold(0.0_f64, f64::max)
        })
        .reduce(|| 0.0, f64::max)
}

// ---------------------------------------------------------------------------------------------
// The pipeline of a three-layer problem: patterns → reduction → build → solve (full check,
// re-solve) → decode → independent forward pass → certificate.

use crate::backend::Status;
use crate::certify::Scope;
use crate::error::{Error, Result};
use crate::network::ThreeLayerCnn;
use crate::patches::Patches;
use crate::pipeline::{
    DECODE_ACCURACY_FACTOR, DataReport, Progress, SolveOptions, SolverReport, Timings,
    VIOLATION_REL_TOL,
};
use crate::problem::{Architecture, ArrangementSpec, OuterSpec, Problem};
use serde::Serialize;
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

/// The dual certificate of a three-layer program (module docs).
#[derive(Debug, Clone, Serialize)]
pub struct Certificate {
    /// Whether `relative_gap ≤ 1e-6`.
    pub certified: bool,
    /// `global` only with every inner cell and every outer pattern; `sampled_patterns` otherwise.
    pub scope: Scope,
    /// Inner patterns checked.
    pub patterns: usize,
    /// Outer patterns checked.
    pub outer_patterns: usize,
    /// Objective of the decoded network.
    pub primal_objective: f64,
    /// Certified lower bound `d(θv)`.
    pub lower_bound: f64,
    /// `primal_objective − lower_bound`.
    pub gap: f64,
    /// `gap / max(1, |primal_objective|)`.
    pub relative_gap: f64,
    /// Upper bound on the dual value of the chosen, unscaled `v` (with the solver's `μ`).
    pub max_dual_value: f64,
    /// `max(0, max_dual_value − β)`.
    pub max_dual_violation: f64,
    /// `θ ∈ [0, 1]` applied to `v`.
    pub dual_scaling: f64,
    /// Weight decay.
    pub beta: f64,
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

/// The result of a three-layer solve (README, "Three-layer result files").
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `optimal` only when the solver converged to its tolerances.
    pub status: Status,
    /// Convex optimum.
    pub objective: f64,
    /// Solver's dual objective.
    pub dual_objective: f64,
    /// Objective of the decoded network from the independent forward pass.
    pub network_objective: f64,
    /// Loss part of `network_objective`.
    pub loss: f64,
    /// `(β/2) Σ_j (‖w₁ⱼ‖² + w₂ⱼ²)` of the decoded network.
    pub regularizer: f64,
    /// Weight decay.
    pub beta: f64,
    /// Inner patterns `P`.
    pub arrangements: usize,
    /// Inner gates tried.
    pub gates_tried: usize,
    /// `exact`, `sample` or `gates`.
    pub arrangement_mode: &'static str,
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
    /// Phase times.
    pub timings: Timings,
    /// Solver details.
    pub solver: SolverReport,
    /// Program size.
    pub program: ProgramReport,
    /// Dual certificate.
    pub certificate: Certificate,
    /// Network layout.
    pub network: NetworkReport,
    /// Data shapes.
    pub data: DataReport,
}

/// Everything before the first build: patches, inner and outer patterns, `A_i`, inner rows.
pub struct Prepared {
    /// Patch matrices.
    pub patches: Patches,
    /// Inner patterns.
    pub arrangement: Arrangement,
    /// `A_i` (sum pooling), `[P, n, h]`.
    pub a: Array3<f64>,
    /// Outer patterns.
    pub outer: OuterPatterns,
    /// Inner cone rows written per pattern.
    pub rows: ConeRows,
    /// Times so far.
    pub timings: Timings,
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Patches, patterns, `A_i`, outer patterns and the (reduced) inner rows of a three-layer problem.
pub fn prepare(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Prepared> {
    let Architecture::ThreeLayer {
        geometry,
        inner_filters,
        outer,
        bias,
    } = problem.architecture
    else {
        return Err(Error::Invalid(
            "three_layer::prepare called on a problem of another architecture".into(),
        ));
    };
    let mut timings = Timings::default();
    let t = Instant::now();
    let patches = Patches::extract(problem.x.view(), &geometry)
        .ok_or_else(|| Error::Invalid("kernel larger than the input".into()))?;
    let patches = if bias { patches.with_bias() } else { patches };
    let arr = crate::arrangement::build(&patches, &problem.arrangements).map_err(|e| match e {
        Error::Exact(e) => Error::input(&problem.source, e.to_string()),
        other => other,
    })?;
    if arr.patterns.is_empty() {
        return Err(Error::input(
            &problem.source,
            "no gate produced a nonzero sign pattern (are the inputs all zero?); check the data",
        ));
    }
    let a = crate::arch::two_layer::pattern_matrices(&patches, &arr, &vec![1.0; patches.k()]);
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
    let m = patches.stacked();
    let rows = if options.reduce {
        crate::reduce::irredundant(m, &arr, &|d, tot| progress("reduction", d, tot))
    } else {
        crate::reduce::all_rows(m, &arr)
    };
    timings.reduction_s = secs(t);
    Ok(Prepared {
        patches,
        arrangement: arr,
        a,
        outer,
        rows,
        timings,
    })
}

impl Prepared {
    /// The program `solve` hands to the backend in its first round.
    pub fn program(&self, problem: &Problem) -> ConicProgram {
        build(
            self.patches.stacked(),
            &self.arrangement,
            &self.a,
            &self.outer,
            problem.y.view(),
            problem.beta,
            &self.rows,
            true,
        )
        .0
    }
}

/// Solves a three-layer problem, decodes the network, checks it by its own forward pass and
/// certifies it over the patterns used.
pub fn solve(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Report> {
    let start = Instant::now();
    if options.network.is_some() {
        return Err(Error::Invalid(
            "--network certifies two-layer networks only; a three_layer problem has no \
             network file layout to read yet (drop --network)"
                .into(),
        ));
    }
    let Prepared {
        patches,
        arrangement: arr,
        a,
        outer,
        mut rows,
        mut timings,
    } = prepare(problem, options, progress)?;
    let Architecture::ThreeLayer {
        geometry,
        inner_filters,
        outer: outer_spec,
        bias,
    } = problem.architecture
    else {
        unreachable!("prepare checked the architecture");
    };
    let (k, n, h) = patches.data.dim();
    let m = patches.stacked();
    let y = problem.y.view();
    let mut rounds = 0;
    let mut total_iterations = 0;
    let (sol, layout, prog, worst) = loop {
        rounds += 1;
        let t = Instant::now();
        let (prog, layout) = build(m, &arr, &a, &outer, y, problem.beta, &rows, true);
        timings.build_s += secs(t);
        let t = Instant::now();
        let sol = options.backend.solve(&prog)?;
        timings.solve_s += secs(t);
        total_iterations += sol.iterations;
        progress("solve", rounds, options.max_rounds);
        let t = Instant::now();
        let blocks: Vec<(usize, Vec<f64>)> = (0..layout.blocks())
            .map(|b| ((b / 2) % layout.p, layout.block(&sol.x, b).to_vec()))
            .collect();
        let scale = block_norms(&layout, &sol.x)
            .into_iter()
            .fold(0.0_f64, f64::max)
            * m.outer_iter()
                .map(|r| r.dot(&r).sqrt())
                .fold(0.0_f64, f64::max);
        let tol = VIOLATION_REL_TOL * scale.max(f64::MIN_POSITIVE);
        let (added, worst) = crate::reduce::add_violated(m, &arr, &blocks, tol, &mut rows);
        timings.decode_s += secs(t);
        if added == 0 || rounds >= options.max_rounds || sol.status != Status::Optimal {
            break (sol, layout, prog, worst);
        }
    };

    let t = Instant::now();
    let (abs, rel) = options.backend.accuracy();
    let min_norm = noise_threshold(
        &a,
        &outer,
        &layout,
        &sol.x,
        y,
        problem.beta,
        DECODE_ACCURACY_FACTOR
            * ((sol.primal_objective - sol.dual_objective).abs()
                + abs
                + rel * sol.primal_objective.abs()),
    );
    let mut decoded = decode(&layout, &sol.x, min_norm);
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
    let obj = net.objective(problem.x.view(), y, problem.beta);
    let pre = net.subnetwork_preactivations(problem.x.view());
    let mut max_outer_pattern_violation: f64 = 0.0;
    for (j, sub) in decoded.subnetworks.iter().enumerate() {
        for (s, &on) in outer.on[sub.outer].iter().enumerate() {
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
    let max_constraint_violation = worst.max(prog.max_violation(&sol.x));
    timings.decode_s += secs(t);

    let t = Instant::now();
    let mu: Vec<f64> = match layout.outer_row {
        Some(r) => sol.z[r..r + layout.groups * n].to_vec(),
        None => vec![0.0; layout.groups * n],
    };
    let candidates = [
        &problem.y - &net.forward(problem.x.view()),
        Array1::from(sol.z[layout.residual_row..layout.residual_row + n].to_vec()),
    ];
    let mut best = (0.0_f64, 0.0_f64, 0.0_f64);
    for v in &candidates {
        let gamma = max_dual_value(m, &arr, &a, &outer, &rows, &layout, v.view(), &mu);
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
        }
    }
    let (lower_bound, gamma, theta) = best;
    let gap = obj.total - lower_bound;
    let relative_gap = gap / obj.total.abs().max(1.0);
    let global = matches!(problem.arrangements, ArrangementSpec::Exact { .. })
        && outer_spec == OuterSpec::All;
    let certificate = Certificate {
        certified: relative_gap <= crate::certify::CERTIFIED_REL_GAP,
        scope: if global {
            Scope::Global
        } else {
            Scope::SampledPatterns
        },
        patterns: arr.patterns.len(),
        outer_patterns: outer.on.len(),
        primal_objective: obj.total,
        lower_bound,
        gap,
        relative_gap,
        max_dual_value: gamma,
        max_dual_violation: (gamma - problem.beta).max(0.0),
        dual_scaling: theta,
        beta: problem.beta,
    };
    timings.certify_s = secs(t);
    timings.total_s = secs(start);

    let inner_widths: Vec<usize> = decoded.filters.iter().map(Vec::len).collect();
    let one_d = problem.one_d;
    let dims = |v: [usize; 2]| if one_d { vec![v[1]] } else { v.to_vec() };
    let (_, c, hh, ww) = problem.x.dim();
    let cone_rows_written = layout.groups * 2 * rows.iter().map(Vec::len).sum::<usize>();
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
        outer_patterns: outer.on.len(),
        outer_tried: outer.candidates,
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
        timings,
        solver: SolverReport::new(&options.backend, &sol, total_iterations, rounds),
        program: ProgramReport {
            variables: prog.n_vars(),
            rows: prog.n_rows(),
            nonzeros: prog.entries.len(),
            groups: layout.groups,
            blocks: layout.blocks(),
            cone_rows_full: layout.blocks() * k * n,
            cone_rows_written,
            outer_rows: layout.groups * n,
            reduced: options.reduce,
        },
        certificate,
        network: NetworkReport {
            kind: "three_layer",
            kernel: dims(geometry.kernel),
            stride: dims(geometry.stride),
            padding: dims(geometry.padding),
            pooling: "sum",
            inner_filters,
            bias,
        },
        data: DataReport {
            n,
            channels: c,
            input_shape: if one_d { vec![c, ww] } else { vec![c, hh, ww] },
            patches: k,
            filter_len: h - usize::from(bias),
        },
    })
}
