//! The circular certificate (docs/math.md §8): per pattern and sign, the dual value in the spectral
//! dual norm, bounded by one small SOCP whose multipliers are the evidence.

use super::dft::Dft;
use crate::arrangement::{Arrangement, ConeRows};
use crate::certify::{Certificate, Scope};
use crate::evidence::{self, DualNorm, Frame, PatternRule, PatternWitness};
use crate::ir::{ConeKind, ConicProgram};
use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

/// Per-pattern upper bounds on `max {|gᵀu| : B u ≥ 0, R(u) ≤ 1}` for `g = A_iᵀ v`.
///
/// By conic duality `max {gᵀu : Bu ≥ 0, R(u) ≤ 1} = min_{α ≥ 0} R*(g + Bᵀα)` with the dual norm
/// `R*(h) = ‖ĥ‖_∞` (no bias) or `‖(‖ĥ_x‖_∞, h_e)‖₂` (bias). Each sign is one small SOCP solved by
/// Clarabel; its `α` is clipped to `α ≥ 0` and `R*` recomputed exactly, so any `α` the solver
/// returns gives a true upper bound (and `α = 0` the fallback `R*(g)`).
pub fn dual_value(dft: &Dft, b: ArrayView2<f64>, g: ArrayView1<f64>) -> f64 {
    dual_value_witness(dft, b, g).0
}

/// [`dual_value`] with the multipliers `[α₊, α₋]` (one per row of `b`, `≥ 0`) that give each sign's
/// value `R*(σg + Bᵀα_σ)`; `α = 0` where the fallback won.
pub fn dual_value_witness(
    dft: &Dft,
    b: ArrayView2<f64>,
    g: ArrayView1<f64>,
) -> (f64, [Vec<f64>; 2]) {
    let (k, h) = b.dim();
    let d = dft.d;
    let bias = h == d + 1;
    let dual_norm = |v: &[f64]| -> f64 {
        let s = dft.linf(&v[..d]);
        if bias { s.hypot(v[d]) } else { s }
    };
    // Spectra of g and of every row of B: the SOCP is written in them.
    let gh = dft.forward(&g.to_vec()[..d]);
    let bh: Vec<Vec<(f64, f64)>> = b
        .outer_iter()
        .map(|r| dft.forward(&r.to_vec()[..d]))
        .collect();
    let row_norms: Vec<f64> = b.outer_iter().map(|r| r.dot(&r).sqrt()).collect();
    let one_sign = |sign: f64| -> (f64, Vec<f64>) {
        let gs: Vec<f64> = g.iter().map(|v| sign * v).collect();
        let exact = |alpha: &[f64]| -> f64 {
            let mut r = gs.clone();
            for (q, &al) in alpha.iter().enumerate() {
                let al = al.max(0.0);
                for j in 0..h {
                    r[j] += al * b[[q, j]];
                }
            }
            dual_norm(&r)
        };
        let fallback = exact(&[]);
        if k == 0 {
            return (fallback, Vec::new());
        }
        // Variables [α (k) | μ | τ (bias)]; minimize μ (or τ ≥ ‖(μ, h_e)‖).
        let mut prog = ConicProgram::new();
        let al = prog.add_vars("alpha", k);
        let mu = prog.add_vars("mu", 1);
        let tau = if bias { prog.add_vars("tau", 1) } else { mu };
        prog.q[tau] = 1.0;
        let reals: Vec<usize> = (0..dft.half()).filter(|&f| dft.is_real(f)).collect();
        let r = prog.add_rows("real", ConeKind::Nonnegative, 2 * reals.len());
        for (q, &f) in reals.iter().enumerate() {
            // μ ∓ (s·Re ĝ_f + Σ α Re B̂_f) ≥ 0.
            for (row, sg) in [(r + 2 * q, 1.0), (r + 2 * q + 1, -1.0)] {
                prog.b[row] = -sg * sign * gh[f].0;
                prog.push(row, mu, -1.0);
                for (qq, bq) in bh.iter().enumerate() {
                    prog.push(row, al + qq, sg * bq[f].0);
                }
            }
        }
        for f in (0..dft.half()).filter(|&f| !dft.is_real(f)) {
            let r = prog.add_rows("pair", ConeKind::SecondOrder, 3);
            prog.push(r, mu, -1.0);
            prog.b[r + 1] = sign * gh[f].0;
            prog.b[r + 2] = sign * gh[f].1;
            for (qq, bq) in bh.iter().enumerate() {
                prog.push(r + 1, al + qq, -bq[f].0);
                prog.push(r + 2, al + qq, -bq[f].1);
            }
        }
        if bias {
            let r = prog.add_rows("bias", ConeKind::SecondOrder, 3);
            prog.push(r, tau, -1.0);
            prog.push(r + 1, mu, -1.0);
            prog.b[r + 2] = sign * g[d];
            for qq in 0..k {
                prog.push(r + 2, al + qq, -b[[qq, d]]);
            }
        }
        let ra = prog.add_rows("alpha_nonneg", ConeKind::Nonnegative, k);
        for q in 0..k {
            prog.push(ra + q, al + q, -1.0);
        }
        crate::certify::solve_witness(&prog, k, &row_norms, exact)
    };
    let (plus, alpha_plus) = one_sign(1.0);
    let (minus, alpha_minus) = one_sign(-1.0);
    (plus.max(minus), [alpha_plus, alpha_minus])
}

/// The largest per-pattern value of [`dual_value`] at `v`, with every pattern's witnesses (rows
/// `r = t` of `X̃`).
fn max_dual_value(
    dft: &Dft,
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    a: &Array3<f64>,
    rows: &ConeRows,
    v: ArrayView1<f64>,
) -> (f64, Vec<PatternWitness>) {
    let values = (0..arrangement.patterns.len())
        .into_par_iter()
        .map(|i| {
            let on = &arrangement.patterns[i].on;
            let mut b = Array2::<f64>::zeros((rows[i].len(), m.ncols()));
            for (q, &r) in rows[i].iter().enumerate() {
                let s = if on[r] { 1.0 } else { -1.0 };
                b.row_mut(q).assign(&(&m.row(r) * s));
            }
            let g = a.index_axis(Axis(0), i).t().dot(&v);
            let (value, [plus, minus]) = dual_value_witness(dft, b.view(), g.view());
            (
                value,
                [
                    evidence::nonzero(&rows[i], &plus),
                    evidence::nonzero(&rows[i], &minus),
                ],
            )
        })
        .collect::<Vec<_>>();
    crate::certify::max_with_witnesses(values)
}

/// The dual certificate of the circular program: as [`crate::certify::certify`], with the per-pattern
/// check `max {±vᵀ D_i X̃ u : (2D_i − I) X̃ u ≥ 0, R(u) ≤ 1} ≤ β` of [`dual_value`].
#[allow(clippy::too_many_arguments)]
pub fn certify(
    loss: crate::loss::Loss,
    d: usize,
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    a: &Array3<f64>,
    rows: &ConeRows,
    y: ArrayView1<f64>,
    candidates: &[Array1<f64>],
    beta: f64,
    primal_objective: f64,
) -> Certificate {
    let dft = Dft::new(d);
    let scope = if arrangement.exact {
        Scope::Global
    } else {
        Scope::SampledPatterns
    };
    let frame = Frame {
        filter_norm: DualNorm::SpectralL1,
        pattern_rule: PatternRule::ReluSign,
        gates: arrangement
            .patterns
            .iter()
            .map(|p| p.gate.clone())
            .collect(),
    };
    crate::certify::certificate_for(
        loss,
        |v| max_dual_value(&dft, m, arrangement, a, rows, v),
        &frame,
        y,
        candidates,
        beta,
        primal_objective,
        scope,
        arrangement.patterns.len(),
    )
}
