//! The two-layer program in the IR (docs/math.md §2; local average pooling through per-position
//! weights `α_k`, §5; the ℓ1 filter norm, §3):
//!
//! ```text
//! min_{c_i, c'_i}  ½‖Σ_i A_i (c_i − c'_i) − y‖² + β Σ_i (‖c_i‖₂ + ‖c'_i‖₂)
//! s.t.  B_i c_i ≥ 0,  B_i c'_i ≥ 0
//! A_i = Σ_k α_k D_i^k X_k,   B_i = (2D_i − I) M     (α_k = s for global pooling)
//! ```
//! As an SOCP in the IR: a residual block `ρ = Σ_i A_i (c_i − c'_i) − y` (zero-cone rows) keeps the
//! quadratic objective diagonal (`½‖ρ‖²`); each `‖c‖₂ ≤ t` is a second-order cone of size `h + 1`;
//! each cone `B_i c ≥ 0` is a block of nonnegative rows, of which only the rows the reduction kept
//! (docs/math.md §10) are written.

use crate::arch::options::Coupling;
use crate::arrangement::{Arrangement, ConeRows};
use crate::geometry::FilterNorm;
use crate::ir::{ConeKind, ConicProgram};
use crate::loss::Loss;
use crate::patches::Patches;
use ndarray::{Array2, Array3, ArrayView1};
use rayon::prelude::*;

/// Patterns whose `A_i` are formed together by [`pattern_matrices`].
const PATTERN_GROUP: usize = 32;
/// Samples per block in [`pattern_matrices`].
const SAMPLE_BLOCK: usize = 64;

/// `A_i = Σ_k α_k D_i^k X_k` for every pattern, as `[P, n, h]`, with per-position pooling weights
/// `alpha` (`K` entries, [`crate::geometry::Pooling::patch_weights`]): `α_k = s` for global pooling
/// (docs/math.md §2), `Σ_a [k ∈ R_a]/|R_a|` for local average pooling (§5).
pub fn pattern_matrices(
    patches: &Patches,
    arrangement: &Arrangement,
    alpha: &[f64],
) -> Array3<f64> {
    let (k, n, h) = patches.data.dim();
    assert_eq!(
        alpha.len(),
        k,
        "pattern_matrices: {} pooling weights for {k} patch positions",
        alpha.len()
    );
    let mut a = Array3::<f64>::zeros((arrangement.patterns.len(), n, h));
    let x = patches.data.as_standard_layout();
    let x = x.as_slice().expect("standard layout");
    let nh = n * h;
    // Patterns in groups, samples in blocks: a block of patches stays in cache while every
    // pattern of the group reads it (read once per pattern, the patches would stream from memory
    // two thousand times on all digits).
    a.as_slice_mut()
        .expect("a new array is contiguous")
        .par_chunks_mut((nh * PATTERN_GROUP).max(1))
        .zip(arrangement.patterns.par_chunks(PATTERN_GROUP))
        .for_each(|(group, pats)| {
            // Written before it is read: a fresh page read first is mapped to the shared zero page
            // and copied on the first write, which flushes the other core's TLB (measured: most of
            // the time of this function on all digits).
            group.fill(0.0);
            for t0 in (0..n).step_by(SAMPLE_BLOCK) {
                let t1 = (t0 + SAMPLE_BLOCK).min(n);
                for (ai, pat) in group.chunks_exact_mut(nh.max(1)).zip(pats) {
                    let ai = &mut ai[t0 * h..t1 * h];
                    // Row t of A_i: Σ_k α_k·1[pattern on at (k, t)]·x_{k,t}, added in the order of k.
                    for (kk, &weight) in alpha.iter().enumerate() {
                        if weight == 0.0 {
                            continue;
                        }
                        let xk = &x[kk * nh + t0 * h..kk * nh + t1 * h];
                        let on = &pat.on[kk * n + t0..kk * n + t1];
                        // Without a branch (the bits are unpredictable): an "off" row adds
                        // 0·x = ±0, which leaves every value as it is (patches are finite).
                        for ((row, xr), &o) in
                            ai.chunks_exact_mut(h).zip(xk.chunks_exact(h)).zip(on)
                        {
                            let w = if o { weight } else { 0.0 };
                            for (v, &xv) in row.iter_mut().zip(xr) {
                                *v += w * xv;
                            }
                        }
                    }
                }
            }
        });
    a
}

/// Where each variable of the two-layer program lives.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Samples.
    pub n: usize,
    /// Filter length.
    pub h: usize,
    /// Patterns.
    pub p: usize,
    /// First residual variable `ρ`.
    pub rho: usize,
    /// First row of the residual equations (their multipliers are the dual vector `v`).
    pub residual_row: usize,
    /// Number of residual rows (`n`, or `hP` when compressed).
    pub residual_len: usize,
    /// The coupling actually written.
    pub coupling: Coupling,
    /// The filter norm of the regularizer.
    pub norm: FilterNorm,
    /// First entry of `c` (pattern-major, `c_i` at `c + i·h`).
    pub c: usize,
    /// First entry of `c'`.
    pub c_neg: usize,
    /// First `t_i ≥ ‖c_i‖` (ℓ2: one per pattern; ℓ1: `h` per pattern, `t_ij ≥ |c_ij|`).
    pub t: usize,
    /// First `t'_i ≥ ‖c'_i‖`.
    pub t_neg: usize,
    /// The loss of the fit (its rows follow the residual: docs/math.md, "Classification losses").
    pub loss: Loss,
}

impl Layout {
    /// `c_i` (sign +1) or `c'_i` (sign −1) in a solution vector.
    pub fn block<'a>(&self, x: &'a [f64], i: usize, positive: bool) -> &'a [f64] {
        let start = if positive { self.c } else { self.c_neg } + i * self.h;
        &x[start..start + self.h]
    }
}

/// Builds the SOCP of docs/math.md §2 with the given cone rows.
#[allow(clippy::too_many_arguments)]
pub fn build(
    patches: &Patches,
    arrangement: &Arrangement,
    a: &Array3<f64>,
    y: ArrayView1<f64>,
    beta: f64,
    rows: &ConeRows,
    coupling: Coupling,
    norm: FilterNorm,
    loss: Loss,
) -> (ConicProgram, Layout, Option<Array2<f64>>) {
    let (p, n, h) = a.dim();
    // One epigraph variable per block (ℓ2) or per entry (ℓ1).
    let norm_vars = match norm {
        FilterNorm::L2 => 1,
        FilterNorm::L1 => h,
    };
    // The compression keeps `½‖ρ‖²` only up to a rotation: other losses need `ŷ` per sample.
    let coupling = match coupling {
        Coupling::Compressed if n <= p * h || !loss.is_squared() => Coupling::Difference,
        c => c,
    };
    let residual_len = if coupling == Coupling::Compressed {
        p * h
    } else {
        n
    };
    let m = patches.stacked();
    let mut prog = ConicProgram::new();
    let mut q_factor = None;
    let layout = Layout {
        n,
        h,
        p,
        residual_row: 0,
        residual_len,
        coupling,
        rho: prog.add_vars("rho", residual_len),
        c: prog.add_vars("c", p * h),
        c_neg: prog.add_vars("c_neg", p * h),
        norm,
        t: prog.add_vars("t", p * norm_vars),
        t_neg: prog.add_vars("t_neg", p * norm_vars),
        loss,
    };
    if loss.is_squared() {
        for j in 0..residual_len {
            prog.p_diag[layout.rho + j] = 1.0;
        }
    }
    for i in 0..p {
        for j in 0..norm_vars {
            prog.q[layout.t + i * norm_vars + j] = beta;
            prog.q[layout.t_neg + i * norm_vars + j] = beta;
        }
    }
    let r0 = prog.add_rows("residual", ConeKind::Zero, residual_len);
    debug_assert_eq!(r0, layout.residual_row);
    let total_rows: usize = rows.iter().map(Vec::len).sum();
    prog.entries
        .reserve(2 * p * n * h + n + 2 * total_rows * h + 2 * p * (h + 1));
    match coupling {
        Coupling::Direct => {
            // ρ − Σ_i A_i c_i + Σ_i A_i c'_i = −y.
            for t in 0..n {
                prog.b[r0 + t] = -y[t];
                prog.push(r0 + t, layout.rho + t, 1.0);
                for i in 0..p {
                    for j in 0..h {
                        let v = a[[i, t, j]];
                        prog.push(r0 + t, layout.c + i * h + j, -v);
                        prog.push(r0 + t, layout.c_neg + i * h + j, v);
                    }
                }
            }
        }
        Coupling::Difference => {
            // ρ − Σ_i A_i z_i = −y and z_i − c_i + c'_i = 0.
            let z = prog.add_vars("z", p * h);
            for t in 0..n {
                prog.b[r0 + t] = -y[t];
                prog.push(r0 + t, layout.rho + t, 1.0);
                for i in 0..p {
                    for j in 0..h {
                        prog.push(r0 + t, z + i * h + j, -a[[i, t, j]]);
                    }
                }
            }
            add_difference_rows(&mut prog, &layout, z);
        }
        Coupling::Compressed => {
            // ρ − R z = −Qᵀy and z_i − c_i + c'_i = 0; the constant keeps the optimal value.
            let hp = p * h;
            // The same bits on every machine (`linalg::thin_qr`), so that exports are too.
            let dense = Array2::from_shape_fn((n, hp), |(t, col)| a[[col / h, t, col % h]]);
            let (q, r) = crate::linalg::thin_qr(dense.view());
            let qty = q.t().dot(&y);
            prog.constant = 0.5 * (y.dot(&y) - qty.dot(&qty));
            let z = prog.add_vars("z", hp);
            for k in 0..hp {
                prog.b[r0 + k] = -qty[k];
                prog.push(r0 + k, layout.rho + k, 1.0);
                for col in k..hp {
                    prog.push(r0 + k, z + col, -r[[k, col]]);
                }
            }
            add_difference_rows(&mut prog, &layout, z);
            q_factor = Some(q);
        }
    }
    add_loss_rows(&mut prog, layout.loss, layout.rho, y);
    // B_i c ≥ 0 written as −B_i c + s = 0, s ≥ 0.
    for (sign_name, base) in [("cone_c", layout.c), ("cone_c_neg", layout.c_neg)] {
        for (i, kept) in rows.iter().enumerate() {
            let r = prog.add_rows(
                &format!("{sign_name}[{i}]"),
                ConeKind::Nonnegative,
                kept.len(),
            );
            let b = arrangement.cone_rows(m, i, kept);
            for q in 0..kept.len() {
                for j in 0..h {
                    prog.push(r + q, base + i * h + j, -b[[q, j]]);
                }
            }
        }
    }
    for (name, cb, tb) in [
        ("norm_c", layout.c, layout.t),
        ("norm_c_neg", layout.c_neg, layout.t_neg),
    ] {
        for i in 0..p {
            match norm {
                // (t_i, c_i) ∈ SOC: t_i ≥ ‖c_i‖₂.
                FilterNorm::L2 => {
                    let r = prog.add_rows(&format!("{name}[{i}]"), ConeKind::SecondOrder, h + 1);
                    prog.push(r, tb + i, -1.0);
                    for j in 0..h {
                        prog.push(r + 1 + j, cb + i * h + j, -1.0);
                    }
                }
                // t_ij ≥ |c_ij| as t − c ≥ 0 and t + c ≥ 0, so Σ_j t_ij ≥ ‖c_i‖₁: linear rows only.
                FilterNorm::L1 => {
                    let r = prog.add_rows(&format!("{name}[{i}]"), ConeKind::Nonnegative, 2 * h);
                    for j in 0..h {
                        prog.push(r + j, tb + i * h + j, -1.0);
                        prog.push(r + j, cb + i * h + j, 1.0);
                        prog.push(r + h + j, tb + i * h + j, -1.0);
                        prog.push(r + h + j, cb + i * h + j, -1.0);
                    }
                }
            }
        }
    }
    (prog, layout, q_factor)
}

/// The epigraph of a classification loss on the residual `ρ = ŷ − y` (so `y_t ŷ_t = y_t ρ_t + 1`
/// for `y_t = ±1`), with one `s_t` per sample and objective `Σ_t s_t`:
///
/// - hinge: `s_t ≥ 0`, `s_t ≥ 1 − y_t ŷ_t = −y_t ρ_t` (linear rows);
/// - logistic: `log(1 + e^{−y_t ŷ_t}) ≤ s_t` ⇔ `e^{−s_t} + e^{−y_t ŷ_t − s_t} ≤ 1` ⇔
///   `(−s_t, 1, q1_t) ∈ K_exp`, `(−1 − y_t ρ_t − s_t, 1, q2_t) ∈ K_exp`, `q1_t + q2_t ≤ 1`.
///
/// The squared loss has no rows: its `½‖ρ‖²` is the quadratic term.
/// Shared by every program whose residual block `ρ = ŷ − y` (length `n = y.len()`, first variable
/// `rho`) carries the fit (two-layer, circular).
pub fn add_loss_rows(prog: &mut ConicProgram, loss: Loss, rho: usize, y: ArrayView1<f64>) {
    let n = y.len();
    match loss {
        Loss::Squared => {}
        Loss::Hinge => {
            let s = prog.add_vars("loss_epigraph", n);
            let r = prog.add_rows("hinge", ConeKind::Nonnegative, 2 * n);
            for t in 0..n {
                prog.q[s + t] = 1.0;
                prog.push(r + t, s + t, -1.0);
                prog.push(r + n + t, s + t, -1.0);
                prog.push(r + n + t, rho + t, -y[t]);
            }
        }
        Loss::Logistic => {
            let s = prog.add_vars("loss_epigraph", n);
            let q1 = prog.add_vars("logistic_q1", n);
            let q2 = prog.add_vars("logistic_q2", n);
            for t in 0..n {
                prog.q[s + t] = 1.0;
                // s = b − Ax = (−s_t, 1, q1_t).
                let r = prog.add_rows(&format!("logistic[{t}].0"), ConeKind::Exponential, 3);
                prog.push(r, s + t, 1.0);
                prog.b[r + 1] = 1.0;
                prog.push(r + 2, q1 + t, -1.0);
                // (−1 − y_t ρ_t − s_t, 1, q2_t).
                let r = prog.add_rows(&format!("logistic[{t}].1"), ConeKind::Exponential, 3);
                prog.b[r] = -1.0;
                prog.push(r, rho + t, y[t]);
                prog.push(r, s + t, 1.0);
                prog.b[r + 1] = 1.0;
                prog.push(r + 2, q2 + t, -1.0);
            }
            // 1 − q1_t − q2_t ≥ 0.
            let r = prog.add_rows("logistic_sum", ConeKind::Nonnegative, n);
            for t in 0..n {
                prog.b[r + t] = 1.0;
                prog.push(r + t, q1 + t, 1.0);
                prog.push(r + t, q2 + t, 1.0);
            }
        }
    }
}

/// Rows `z_i − c_i + c'_i = 0`.
fn add_difference_rows(prog: &mut ConicProgram, layout: &Layout, z: usize) {
    let hp = layout.p * layout.h;
    let rz = prog.add_rows("difference", ConeKind::Zero, hp);
    for q in 0..hp {
        prog.push(rz + q, z + q, 1.0);
        prog.push(rz + q, layout.c + q, -1.0);
        prog.push(rz + q, layout.c_neg + q, 1.0);
    }
}

/// Dual vectors `v ∈ Rⁿ` read from the solver's multipliers `w` of the residual rows.
/// Compressed: `v = Q w + (I − QQᵀ) y`; the part orthogonal to the range of `A` is free in the
/// dual (it leaves every `A_iᵀv` unchanged) and best set to the projection of `y`.
pub fn solver_duals(
    layout: &Layout,
    q: Option<&Array2<f64>>,
    multipliers: &[f64],
    y: ArrayView1<f64>,
) -> Vec<ndarray::Array1<f64>> {
    let w = ndarray::ArrayView1::from(
        &multipliers[layout.residual_row..layout.residual_row + layout.residual_len],
    );
    match q {
        None => vec![w.to_owned()],
        Some(q) => {
            let qw = q.dot(&w);
            let perp = &y - &q.dot(&q.t().dot(&y));
            vec![&qw + &perp, &perp - &qw]
        }
    }
}
