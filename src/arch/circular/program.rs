//! The circular program in the IR (docs/math.md §8): blocks in Fourier coordinates, the spectral ℓ1
//! as cones on the variables, the pattern cones on the data rows `X̃`.

use super::dft::{Dft, basis_column};
use crate::arrangement::{Arrangement, ConeRows};
use crate::ir::{ConeKind, ConicProgram};
use crate::patches::Patches;
use crate::problem::Problem;
use ndarray::{Array2, Array3, ArrayView1, ArrayView2, Axis, s};

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

/// Builds the SOCP of docs/math.md §8 (direct coupling) over the rows `m = X̃` (`n × h`).
///
/// The blocks `c_i`, `c'_i` of the program are Fourier coordinates `v` (`z = Q v`, [`Dft::basis`];
/// a bias entry stays as it is): read a solution through [`signal_solution`].
#[allow(clippy::too_many_arguments)]
pub fn build(
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    a: &Array3<f64>,
    y: ArrayView1<f64>,
    beta: f64,
    rows: &ConeRows,
    d: usize,
    loss: crate::loss::Loss,
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
    if loss.is_squared() {
        for j in 0..n {
            prog.p_diag[layout.rho + j] = 1.0;
        }
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
    // The fit of a classification loss (docs/math.md §14): its rows on ρ, as for two layers.
    crate::arch::two_layer::program::add_loss_rows(&mut prog, loss, layout.rho, y);
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
                // (t, Σ_k √(mult_k/d) u_k, ζ) ∈ SOC: the weights of the spectral epigraph.
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
