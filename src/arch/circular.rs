//! Three-layer circular CNN with one ReLU (formulations.md §5).
//!
//! Network (`a ⊛ b` circular convolution over the whole signal, `x ∈ R^d`):
//! ```text
//! f(x) = Σ_j w_j (⟨x, a_j ⊛ b_j⟩ + e_j)_+,   min ½‖f − y‖² + (β/2) Σ_j (‖b_j‖² + e_j² + w_j²),  ‖a_j‖ ≤ 1
//! ```
//! (`e_j = 0` without a bias). Key fact: `{a ⊛ b : ‖a‖ ≤ 1, ‖b‖ ≤ ρ} = {g : ‖ĝ‖₁ ≤ dρ}`, with `ĝ` the
//! unnormalized DFT. With patterns `D_i` of `X̃ = X` (or `[X 1]` with a bias) the convex program is
//! ```text
//! min ½‖Σ_i D_i X̃ (c_i − c'_i) − y‖² + β Σ_i (R(c_i) + R(c'_i))   s.t. (2D_i − I) X̃ c_i ≥ 0, … c'_i
//! R(z) = ‖fft(z)‖₁ / d                        (no bias)
//! R(z, ζ) = ‖(‖fft(z)‖₁ / d, ζ)‖₂             (bias ζ, the last entry of the block)
//! ```
//! The bias form is derived the same way as §5: for a fixed output weight `w`, the cheapest inner
//! pair has `‖b‖ = ‖ẑ‖₁/(d|w|)` (the key fact) and `e = ζ/w`, so the regularizer is
//! `(β/2)((‖ẑ‖₁/d)² + ζ²)/w² + (β/2)w²`, minimized at `w² = R(z, ζ)` with value `β R(z, ζ)`.
//!
//! In the IR the spectral ℓ1 is exact and written in Fourier coordinates: each block is `v` with
//! `z = Q v` for the orthonormal real Fourier basis `Q` ([`Dft::basis`]), the data rows are `X̃ Q`, and
//! `|ĝ_k| = √(d/mult_k) ‖v_k‖`, so the real frequencies (0, and d/2 for even d) get `u_k ≥ |v_k|` as two
//! linear rows and each conjugate pair `k, d−k` one 3-dimensional second-order cone `(u_k, v_k)` on the
//! variables themselves, weighted `β √(mult_k/d)`. (On dense rows `Re ĝ_k`, `Im ĝ_k` of `z` Clarabel
//! stalled at `almost_solved` for every d ≳ 60.) [`signal_solution`] maps a solution back to `z`.

use crate::arch::two_layer::{self, ConeRows, Coupling};
use crate::arrangement::{self, Arrangement};
use crate::backend::Status;
use crate::certify::{Certificate, Scope};
use crate::error::{Error, Result};
use crate::ir::{ConeKind, ConicProgram};
use crate::network::CircularCnn;
use crate::patches::Patches;
use crate::pipeline::{
    DECODE_ACCURACY_FACTOR, DataReport, NetworkLayout, ProgramReport, Progress, Report,
    SolveOptions, SolverReport, Timings, VIOLATION_REL_TOL,
};
use crate::problem::Problem;
use crate::reduce;
use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, Axis, s};
use rayon::prelude::*;
use serde::Serialize;
use std::f64::consts::PI;
use std::time::Instant;

/// The network layout of a circular result (`network` in the result file).
#[derive(Debug, Clone, Serialize)]
pub struct CircularNetworkReport {
    /// `"circular"`.
    pub kind: &'static str,
    /// Signal length `d` (length of every filter).
    pub signal_len: usize,
    /// Whether each neuron has a bias inside the ReLU.
    pub bias: bool,
}

/// The unnormalized DFT of a real signal of length `d`, as `cos`/`sin` tables:
/// `ĝ_k = Σ_j g_j (cos(2πjk/d) − i sin(2πjk/d))`.
#[derive(Debug, Clone)]
pub struct Dft {
    /// Signal length.
    pub d: usize,
    cos: Vec<f64>,
    sin: Vec<f64>,
}

impl Dft {
    /// Tables for length `d` (angles reduced mod `d` before scaling, so large `jk` lose nothing).
    pub fn new(d: usize) -> Dft {
        let mut cos = vec![0.0; d * d];
        let mut sin = vec![0.0; d * d];
        for k in 0..d {
            for j in 0..d {
                let ang = 2.0 * PI * ((j * k) % d) as f64 / d as f64;
                cos[k * d + j] = ang.cos();
                sin[k * d + j] = ang.sin();
            }
        }
        Dft { d, cos, sin }
    }

    /// Frequencies `0..=⌊d/2⌋`: the others are conjugates of these.
    pub fn half(&self) -> usize {
        self.d / 2 + 1
    }

    /// Whether `ĝ_k` of a real signal is real (`k = 0`, or `k = d/2` for even `d`).
    pub fn is_real(&self, k: usize) -> bool {
        k == 0 || 2 * k == self.d
    }

    /// How often `|ĝ_k|` counts in `‖ĝ‖₁` (1 for real frequencies, 2 for a conjugate pair).
    pub fn multiplicity(&self, k: usize) -> f64 {
        if self.is_real(k) { 1.0 } else { 2.0 }
    }

    /// `cos(2πjk/d)`.
    pub fn cos(&self, k: usize, j: usize) -> f64 {
        self.cos[k * self.d + j]
    }

    /// `sin(2πjk/d)`.
    pub fn sin(&self, k: usize, j: usize) -> f64 {
        self.sin[k * self.d + j]
    }

    /// `(Re ĝ_k, Im ĝ_k)` for every `k < d`.
    pub fn forward(&self, g: &[f64]) -> Vec<(f64, f64)> {
        (0..self.d)
            .map(|k| {
                let (mut re, mut im) = (0.0, 0.0);
                for (j, &v) in g.iter().enumerate() {
                    re += v * self.cos(k, j);
                    im -= v * self.sin(k, j);
                }
                (re, im)
            })
            .collect()
    }

    /// Real part of the inverse DFT `(1/d) Σ_k ĝ_k e^{2πijk/d}`; exact for Hermitian `ĝ`.
    pub fn inverse_real(&self, gh: &[(f64, f64)]) -> Vec<f64> {
        (0..self.d)
            .map(|j| {
                gh.iter()
                    .enumerate()
                    .map(|(k, &(re, im))| re * self.cos(k, j) - im * self.sin(k, j))
                    .sum::<f64>()
                    / self.d as f64
            })
            .collect()
    }

    /// The orthonormal real Fourier basis `Q` (`d × d`, `z = Q v`): column 0 is `1/√d`; a conjugate
    /// pair `k` has columns `2k − 1`, `2k` = `√(2/d) cos(2πjk/d)`, `√(2/d) sin(2πjk/d)`; for even `d`
    /// column `d − 1` is `(−1)^j/√d`. Then `|ĝ_k| = √(d / mult_k) ‖v_k‖` (coordinates of frequency
    /// `k`), so `‖ĝ‖₁ / d = Σ_k √(mult_k / d) ‖v_k‖`.
    pub fn basis(&self) -> Array2<f64> {
        let d = self.d;
        let mut q = Array2::<f64>::zeros((d, d));
        for k in 0..self.half() {
            let col = basis_column(k);
            if self.is_real(k) {
                let f = 1.0 / (d as f64).sqrt();
                for j in 0..d {
                    q[[j, col]] = f * self.cos(k, j);
                }
            } else {
                let f = (2.0 / d as f64).sqrt();
                for j in 0..d {
                    q[[j, col]] = f * self.cos(k, j);
                    q[[j, col + 1]] = f * self.sin(k, j);
                }
            }
        }
        q
    }

    /// `‖ĝ‖₁ = Σ_k |ĝ_k|` over all `d` frequencies.
    pub fn l1(&self, g: &[f64]) -> f64 {
        self.forward(g).iter().map(|&(r, i)| r.hypot(i)).sum()
    }

    /// `‖ĝ‖_∞ = max_k |ĝ_k|`: the dual norm of `u ↦ ‖û‖₁ / d`.
    pub fn linf(&self, g: &[f64]) -> f64 {
        self.forward(g)
            .iter()
            .map(|&(r, i)| r.hypot(i))
            .fold(0.0, f64::max)
    }
}

/// `R(z) = ‖ẑ‖₁/d`, or `‖(‖ẑ‖₁/d, ζ)‖₂` for a block `(z, ζ)` with a bias: the convex regularizer of
/// one block without the factor `β`.
pub fn block_regularizer(dft: &Dft, block: &[f64]) -> f64 {
    let s = dft.l1(&block[..dft.d]) / dft.d as f64;
    match block.get(dft.d) {
        Some(&zeta) => s.hypot(zeta),
        None => s,
    }
}

/// One decoded neuron.
#[derive(Debug, Clone, PartialEq)]
pub struct Neuron {
    /// `a` (unit norm).
    pub inner: Vec<f64>,
    /// `b`.
    pub filter: Vec<f64>,
    /// `w`.
    pub weight: f64,
    /// `e` (with a bias).
    pub bias: Option<f64>,
}

/// Decodes one block `z` (or `(z, ζ)`) with sign `±` (formulations.md §5): `ŝ = ‖ẑ‖₁/d`,
/// `â_k = √(d|ẑ_k|/‖ẑ‖₁)` (real and even, so `a` is real; `‖a‖² = (1/d)Σ â_k² = 1`),
/// `b̂₀_k = ẑ_k/â_k = (ẑ_k/|ẑ_k|)·√(|ẑ_k|‖ẑ‖₁/d)` (0 where `ẑ_k = 0`, as is `â_k`: the frequencies with
/// `ẑ_k = 0` contribute 0 to `Σ|ẑ_k|`, so `‖a‖ = 1` holds as it is), `‖b₀‖ = ŝ`, `a ⊛ b₀ = z`.
/// With `R = R(z, ζ)`: `w = ±√R`, `b = b₀/√R`, `e = ζ/√R`; then `|w| (a ⊛ b) = z`, the neuron
/// computes `±(⟨x, z⟩ + ζ)_+` and `(β/2)(‖b‖² + e² + w²) = β R`.
/// A block with `ẑ = 0` but `ζ ≠ 0` gets `a = δ₀`, `b = 0`. Returns `None` for a zero block.
pub fn decode_block(dft: &Dft, block: &[f64], positive: bool) -> Option<Neuron> {
    let d = dft.d;
    let z = &block[..d];
    let zeta = block.get(d).copied();
    let zh = dft.forward(z);
    let l1: f64 = zh.iter().map(|&(r, i)| r.hypot(i)).sum();
    let s_hat = l1 / d as f64;
    let r = s_hat.hypot(zeta.unwrap_or(0.0));
    if r == 0.0 || !r.is_finite() {
        return None;
    }
    let (inner, b0) = if l1 > 0.0 {
        let mut ah = Vec::with_capacity(d);
        let mut bh = Vec::with_capacity(d);
        for &(re, im) in &zh {
            let m = re.hypot(im);
            ah.push(((d as f64 * m / l1).sqrt(), 0.0));
            if m > 0.0 {
                let f = (m * l1 / d as f64).sqrt() / m;
                bh.push((re * f, im * f));
            } else {
                bh.push((0.0, 0.0));
            }
        }
        (dft.inverse_real(&ah), dft.inverse_real(&bh))
    } else {
        let mut delta = vec![0.0; d];
        delta[0] = 1.0;
        (delta, vec![0.0; d])
    };
    let w = r.sqrt();
    Some(Neuron {
        inner,
        filter: b0.iter().map(|v| v / w).collect(),
        weight: if positive { w } else { -w },
        bias: zeta.map(|e| e / w),
    })
}

/// Where each variable of the circular program lives.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Samples.
    pub n: usize,
    /// Signal length.
    pub d: usize,
    /// Block length (`d`, or `d + 1` with a bias).
    pub h: usize,
    /// Patterns.
    pub p: usize,
    /// First residual variable `ρ`.
    pub rho: usize,
    /// First residual row (their multipliers are the dual vector `v`).
    pub residual_row: usize,
    /// First entry of `c` (`c_i` at `c + i·h`).
    pub c: usize,
    /// First entry of `c'`.
    pub c_neg: usize,
}

impl Layout {
    /// `c_i` (positive) or `c'_i` in a solution.
    pub fn block<'a>(&self, x: &'a [f64], i: usize, positive: bool) -> &'a [f64] {
        let start = if positive { self.c } else { self.c_neg } + i * self.h;
        &x[start..start + self.h]
    }
}

/// Column of the orthonormal real Fourier basis [`Dft::basis`] that holds frequency `k`'s first
/// coordinate (`0` for `k = 0`, `2k − 1` otherwise; a conjugate pair also uses column `2k`).
fn basis_column(k: usize) -> usize {
    if k == 0 { 0 } else { 2 * k - 1 }
}

/// Adds `u_k ≥ ‖v_k‖` for `k = 0..=⌊d/2⌋`, where `v_k` are the Fourier coordinates of frequency `k`
/// (one for a real frequency, two for a conjugate pair) of the block in variables `g..g+d`, with
/// epigraph variables `u..u+⌊d/2⌋+1`. Since `|ĝ_k| = √(d / mult_k) ‖v_k‖`, the cones are
/// `(u_k, v_k)` on the variables themselves. Rows: `s = b − Ax`.
fn push_spectral_epigraph(prog: &mut ConicProgram, dft: &Dft, name: &str, g: usize, u: usize) {
    let reals: Vec<usize> = (0..dft.half()).filter(|&k| dft.is_real(k)).collect();
    let r = prog.add_rows(
        &format!("{name}.real"),
        ConeKind::Nonnegative,
        2 * reals.len(),
    );
    for (q, &k) in reals.iter().enumerate() {
        // u − v ≥ 0 and u + v ≥ 0.
        prog.push(r + 2 * q, u + k, -1.0);
        prog.push(r + 2 * q, g + basis_column(k), 1.0);
        prog.push(r + 2 * q + 1, u + k, -1.0);
        prog.push(r + 2 * q + 1, g + basis_column(k), -1.0);
    }
    for k in (0..dft.half()).filter(|&k| !dft.is_real(k)) {
        let r = prog.add_rows(&format!("{name}.pair[{k}]"), ConeKind::SecondOrder, 3);
        prog.push(r, u + k, -1.0);
        prog.push(r + 1, g + basis_column(k), -1.0);
        prog.push(r + 2, g + basis_column(k) + 1, -1.0);
    }
}

/// `X̃ Q̃` for the rows `X̃` (`· × h`): the signal part times the orthonormal basis `Q`, a bias
/// column unchanged. The program's blocks are Fourier coordinates `v` with `z = Q v`.
fn in_basis(m: ArrayView2<f64>, q: &Array2<f64>) -> Array2<f64> {
    let d = q.nrows();
    let mut out = m.to_owned();
    out.slice_mut(s![.., ..d])
        .assign(&m.slice(s![.., ..d]).dot(q));
    out
}

/// The solution `x` of [`build`]'s program with every block mapped back from Fourier coordinates
/// `v` to the signal domain `z = Q v` (bias entries unchanged), so [`Layout::block`] reads `z`.
pub fn signal_solution(layout: &Layout, x: &[f64]) -> Vec<f64> {
    let q = Dft::new(layout.d).basis();
    let mut out = x.to_vec();
    for start in [layout.c, layout.c_neg] {
        for i in 0..layout.p {
            let b = start + i * layout.h;
            let z = q.dot(&ArrayView1::from(&x[b..b + layout.d]));
            out[b..b + layout.d].copy_from_slice(z.as_slice().expect("contiguous"));
        }
    }
    out
}

/// Builds the SOCP of formulations.md §5 (direct coupling) over the rows `m = X̃` (`n × h`).
///
/// The blocks `c_i`, `c'_i` of the program are Fourier coordinates `v` (`z = Q v`, [`Dft::basis`];
/// a bias entry stays as it is): read a solution through [`signal_solution`].
pub fn build(
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    a: &Array3<f64>,
    y: ArrayView1<f64>,
    beta: f64,
    rows: &ConeRows,
    d: usize,
) -> (ConicProgram, Layout) {
    let (p, n, h) = a.dim();
    let bias = h == d + 1;
    let dft = Dft::new(d);
    let half = dft.half();
    // Blocks are written in Fourier coordinates (`z = Q v`, Q orthonormal): the spectral cones then
    // sit on the variables themselves instead of on dense DFT rows, which kept Clarabel from
    // converging (`almost_solved`) once d ≳ 60.
    let q = dft.basis();
    let m = in_basis(m, &q);
    let a_rows: Vec<Array2<f64>> = (0..p)
        .map(|i| in_basis(a.index_axis(Axis(0), i), &q))
        .collect();
    let mut prog = ConicProgram::new();
    let layout = Layout {
        n,
        d,
        h,
        p,
        rho: prog.add_vars("rho", n),
        residual_row: 0,
        c: prog.add_vars("c", p * h),
        c_neg: prog.add_vars("c_neg", p * h),
    };
    let u = prog.add_vars("spectrum", p * half);
    let u_neg = prog.add_vars("spectrum_neg", p * half);
    let (t, t_neg) = if bias {
        (prog.add_vars("t", p), prog.add_vars("t_neg", p))
    } else {
        (0, 0)
    };
    for j in 0..n {
        prog.p_diag[layout.rho + j] = 1.0;
    }
    for i in 0..p {
        if bias {
            prog.q[t + i] = beta;
            prog.q[t_neg + i] = beta;
        } else {
            for k in 0..half {
                let w = beta * (dft.multiplicity(k) / d as f64).sqrt();
                prog.q[u + i * half + k] = w;
                prog.q[u_neg + i * half + k] = w;
            }
        }
    }
    // ρ − Σ_i A_i c_i + Σ_i A_i c'_i = −y.
    let r0 = prog.add_rows("residual", ConeKind::Zero, n);
    for tt in 0..n {
        prog.b[r0 + tt] = -y[tt];
        prog.push(r0 + tt, layout.rho + tt, 1.0);
        for (i, ai) in a_rows.iter().enumerate() {
            for j in 0..h {
                let v = ai[[tt, j]];
                prog.push(r0 + tt, layout.c + i * h + j, -v);
                prog.push(r0 + tt, layout.c_neg + i * h + j, v);
            }
        }
    }
    // (2D_i − I) X̃ c ≥ 0 on the kept rows.
    for (sign_name, base) in [("cone_c", layout.c), ("cone_c_neg", layout.c_neg)] {
        for (i, kept) in rows.iter().enumerate() {
            let r = prog.add_rows(
                &format!("{sign_name}[{i}]"),
                ConeKind::Nonnegative,
                kept.len(),
            );
            let on = &arrangement.patterns[i].on;
            for (q, &row) in kept.iter().enumerate() {
                let sigma = if on[row] { 1.0 } else { -1.0 };
                for j in 0..h {
                    prog.push(r + q, base + i * h + j, -sigma * m[[row, j]]);
                }
            }
        }
    }
    for (name, cb, ub, tb) in [
        ("spectral_c", layout.c, u, t),
        ("spectral_c_neg", layout.c_neg, u_neg, t_neg),
    ] {
        for i in 0..p {
            push_spectral_epigraph(
                &mut prog,
                &dft,
                &format!("{name}[{i}]"),
                cb + i * h,
                ub + i * half,
            );
            if bias {
                // (t, (1/d) Σ_k mult_k u_k, ζ) ∈ SOC.
                let r = prog.add_rows(&format!("{name}[{i}].bias"), ConeKind::SecondOrder, 3);
                prog.push(r, tb + i, -1.0);
                for k in 0..half {
                    prog.push(
                        r + 1,
                        ub + i * half + k,
                        -(dft.multiplicity(k) / d as f64).sqrt(),
                    );
                }
                prog.push(r + 2, cb + i * h + d, -1.0);
            }
        }
    }
    (prog, layout)
}

/// The rows `X̃` (`[X]` or `[X 1]`, `n × h`) as a one-patch [`Patches`].
pub fn data_rows(problem: &Problem, bias: bool) -> Patches {
    let x = problem.x.slice(s![.., 0, 0, ..]);
    let (n, d) = x.dim();
    let h = d + usize::from(bias);
    let mut data = Array3::<f64>::zeros((1, n, h));
    data.slice_mut(s![0, .., ..d]).assign(&x);
    if bias {
        data.slice_mut(s![0, .., d]).fill(1.0);
    }
    Patches { data }
}

/// Per-pattern upper bounds on `max {|gᵀu| : B u ≥ 0, R(u) ≤ 1}` for `g = A_iᵀ v`.
///
/// By conic duality `max {gᵀu : Bu ≥ 0, R(u) ≤ 1} = min_{α ≥ 0} R*(g + Bᵀα)` with the dual norm
/// `R*(h) = ‖ĥ‖_∞` (no bias) or `‖(‖ĥ_x‖_∞, h_e)‖₂` (bias). Each sign is one small SOCP solved by
/// Clarabel; its `α` is clipped to `α ≥ 0` and `R*` recomputed exactly, so any `α` the solver
/// returns gives a true upper bound (and `α = 0` the fallback `R*(g)`).
pub fn dual_value(dft: &Dft, b: ArrayView2<f64>, g: ArrayView1<f64>) -> f64 {
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
    let one_sign = |sign: f64| -> f64 {
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
            return fallback;
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
        match crate::backend::clarabel::solve(&prog, &crate::certify::witness_settings()) {
            Ok(sol) if sol.x.iter().all(|v| v.is_finite()) => exact(&sol.x[..k]).min(fallback),
            _ => fallback,
        }
    };
    one_sign(1.0).max(one_sign(-1.0))
}

/// Per-pattern dual values `max_i` of [`dual_value`] at `v`.
fn max_dual_value(
    dft: &Dft,
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    a: &Array3<f64>,
    rows: &ConeRows,
    v: ArrayView1<f64>,
) -> f64 {
    (0..arrangement.patterns.len())
        .into_par_iter()
        .map(|i| {
            let on = &arrangement.patterns[i].on;
            let mut b = Array2::<f64>::zeros((rows[i].len(), m.ncols()));
            for (q, &r) in rows[i].iter().enumerate() {
                let s = if on[r] { 1.0 } else { -1.0 };
                b.row_mut(q).assign(&(&m.row(r) * s));
            }
            let g = a.index_axis(Axis(0), i).t().dot(&v);
            dual_value(dft, b.view(), g.view())
        })
        .reduce(|| 0.0, f64::max)
}

/// The dual certificate of the circular program: as [`crate::certify::certify`], with the per-pattern
/// check `max {±vᵀ D_i X̃ u : (2D_i − I) X̃ u ≥ 0, R(u) ≤ 1} ≤ β` of [`dual_value`].
#[allow(clippy::too_many_arguments)]
pub fn certify(
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
    crate::certify::certificate(
        |v| max_dual_value(&dft, m, arrangement, a, rows, v),
        y,
        candidates,
        beta,
        primal_objective,
        scope,
        arrangement.patterns.len(),
    )
}

/// Everything built before the first solve: rows `X̃`, patterns, `A_i`, cone rows.
pub struct Prepared {
    /// `X̃` as one patch.
    pub patches: Patches,
    /// Sign patterns of `X̃`.
    pub arrangement: Arrangement,
    /// `A_i = D_i X̃`, `[P, n, h]`.
    pub a: Array3<f64>,
    /// Cone rows written per pattern.
    pub rows: ConeRows,
    /// Signal length.
    pub d: usize,
    /// Phase times so far.
    pub timings: Timings,
}

/// Data rows, patterns (gates in `R^h` on `X̃`, as two_layer with one patch), `A_i` and cone rows.
pub fn prepare(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Prepared> {
    let crate::problem::Architecture::Circular { bias } = problem.architecture else {
        return Err(Error::Invalid(
            "circular::prepare on another architecture".into(),
        ));
    };
    if options.coupling.is_some_and(|c| c != Coupling::Direct) {
        return Err(Error::input(
            &problem.source,
            "the circular program is written with the direct coupling only; drop --coupling \
             (or pass --coupling direct)",
        ));
    }
    let mut timings = Timings::default();
    let t = Instant::now();
    let d = problem.x.dim().3;
    let patches = data_rows(problem, bias);
    let arr = arrangement::build(&patches, &problem.arrangements).map_err(|e| match e {
        Error::Exact(e) => Error::input(&problem.source, e.to_string()),
        other => other,
    })?;
    if arr.patterns.is_empty() {
        return Err(Error::input(
            &problem.source,
            "no gate produced a nonzero sign pattern (are the inputs all zero?); check the data",
        ));
    }
    let a = two_layer::pattern_matrices(&patches, &arr, &[1.0]);
    timings.arrangements_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let rows = if options.reduce {
        reduce::irredundant(patches.stacked(), &arr, &|dd, tot| {
            progress("reduction", dd, tot)
        })
    } else {
        reduce::all_rows(patches.stacked(), &arr)
    };
    timings.reduction_s = t.elapsed().as_secs_f64();
    Ok(Prepared {
        patches,
        arrangement: arr,
        a,
        rows,
        d,
        timings,
    })
}

impl Prepared {
    /// The program `solve` hands to the backend (first round).
    pub fn program(&self, problem: &Problem) -> ConicProgram {
        build(
            self.patches.stacked(),
            &self.arrangement,
            &self.a,
            problem.y.view(),
            problem.beta,
            &self.rows,
            self.d,
        )
        .0
    }
}

/// Solves a circular problem: build, solve, full-set check (re-solve with violated rows), decode,
/// independent forward pass, certificate.
pub fn solve(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Report> {
    let start = Instant::now();
    if options.network.is_some() {
        return Err(Error::input(
            &problem.source,
            "--network is not supported for \"circular\" networks yet; certify the optimum \
             without it",
        ));
    }
    let Prepared {
        patches,
        arrangement: arr,
        a,
        mut rows,
        d,
        mut timings,
    } = prepare(problem, options, progress)?;
    let bias = patches.h() == d + 1;
    let m = patches.stacked();
    let (p, n, _) = a.dim();
    let dft = Dft::new(d);
    let mut rounds = 0;
    let mut total_iterations = 0;
    let (sol, xs, layout, prog, worst) = loop {
        rounds += 1;
        let t = Instant::now();
        let (prog, layout) = build(m, &arr, &a, problem.y.view(), problem.beta, &rows, d);
        timings.build_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let sol = options.backend.solve(&prog)?;
        timings.solve_s += t.elapsed().as_secs_f64();
        total_iterations += sol.iterations;
        progress("solve", rounds, options.max_rounds);
        let t = Instant::now();
        let xs = signal_solution(&layout, &sol.x);
        let blocks: Vec<(usize, Vec<f64>)> = (0..p)
            .flat_map(|i| [true, false].map(|sg| (i, layout.block(&xs, i, sg).to_vec())))
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
        timings.decode_s += t.elapsed().as_secs_f64();
        if added == 0 || rounds >= options.max_rounds || sol.status != Status::Optimal {
            break (sol, xs, layout, prog, worst);
        }
    };

    let t = Instant::now();
    let values: Vec<[f64; 2]> = (0..p)
        .map(|i| [true, false].map(|sg| block_regularizer(&dft, layout.block(&xs, i, sg))))
        .collect();
    let (tol_abs, tol_rel) = options.backend.accuracy();
    let blocks: Vec<[&[f64]; 2]> = (0..p)
        .map(|i| [layout.block(&xs, i, true), layout.block(&xs, i, false)])
        .collect();
    let min_value = two_layer::block_threshold(
        &a,
        &blocks,
        &values,
        problem.y.view(),
        problem.beta,
        DECODE_ACCURACY_FACTOR
            * ((sol.primal_objective - sol.dual_objective).abs()
                + tol_abs
                + tol_rel * sol.primal_objective.abs()),
    );
    let mut net = CircularCnn {
        inner_filters: Vec::new(),
        filters: Vec::new(),
        output_weights: Vec::new(),
        biases: bias.then(Vec::new),
    };
    for (i, vals) in values.iter().enumerate() {
        for (pos, &r) in [true, false].iter().zip(vals) {
            if r <= min_value {
                continue;
            }
            if let Some(nr) = decode_block(&dft, layout.block(&xs, i, *pos), *pos) {
                net.inner_filters.push(nr.inner);
                net.filters.push(nr.filter);
                net.output_weights.push(nr.weight);
                if let (Some(e), Some(v)) = (net.biases.as_mut(), nr.bias) {
                    e.push(v);
                }
            }
        }
    }
    let x2 = problem.x.slice(s![.., 0, 0, ..]);
    let obj = net.objective(x2, problem.y.view(), problem.beta);
    let yhat = net.forward(x2);
    let max_constraint_violation = worst
        .max(prog.max_violation(&sol.x))
        .max(net.max_inner_norm() - 1.0);
    timings.decode_s += t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut candidates = vec![&problem.y - &yhat];
    candidates
        .push(ArrayView1::from(&sol.z[layout.residual_row..layout.residual_row + n]).to_owned());
    let cert_rows = if options.reduce {
        rows.clone()
    } else {
        reduce::irredundant(m, &arr, &|dd, tot| progress("certificate", dd, tot))
    };
    let certificate = certify(
        d,
        m,
        &arr,
        &a,
        &cert_rows,
        problem.y.view(),
        &candidates,
        problem.beta,
        obj.total,
    );
    timings.certify_s = t.elapsed().as_secs_f64();
    timings.total_s = start.elapsed().as_secs_f64();

    Ok(Report {
        status: sol.status,
        objective: sol.primal_objective,
        dual_objective: sol.dual_objective,
        network_objective: obj.total,
        loss: obj.loss,
        regularizer: obj.regularizer,
        beta: problem.beta,
        arrangements: p,
        gates_tried: arr.candidates,
        arrangement_mode: problem.arrangements.mode_name(),
        neurons: net.width(),
        filters: net.filters,
        inner_filters: Some(net.inner_filters),
        biases: net.biases,
        output_weights: net.output_weights,
        max_constraint_violation,
        timings,
        solver: SolverReport::new(&options.backend, &sol, total_iterations, rounds),
        program: ProgramReport {
            variables: prog.n_vars(),
            rows: prog.n_rows(),
            nonzeros: prog.entries.len(),
            cone_rows_full: 2 * p * n,
            cone_rows_written: 2 * rows.iter().map(Vec::len).sum::<usize>(),
            reduced: options.reduce,
            coupling: Coupling::Direct,
        },
        certificate,
        network_certificate: None,
        network: NetworkLayout::Circular(CircularNetworkReport {
            kind: "circular",
            signal_len: d,
            bias,
        }),
        data: DataReport {
            n,
            channels: 1,
            input_shape: vec![1, d],
            patches: 1,
            filter_len: d,
        },
    })
}
