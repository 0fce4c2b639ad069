//! The loss `½‖A z − y‖²` with the dense `n × hP` matrix `A = [A_1 … A_P]` (column `i·h + k` is
//! column `k` of `A_i`) and a cached factorization for the shifted solves of splitting methods:
//! `(AᵀA + τI) d = Aᵀy + τδ`.
//!
//! When `n ≤ hP` the solve goes through the Woodbury identity with the `n × n` matrix `AAᵀ + τI`
//! (per solve: one product with `A`, one with `Aᵀ`, two triangular solves of size `n`); when
//! `n > hP` it factors the `hP × hP` Gram matrix `AᵀA + τI` directly and never touches `A` again
//! (the loss, its gradient and the dual quantities all follow from `AᵀA`, `Aᵀy` and `‖y‖²`).

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use ndarray::{ArrayView1, ArrayView3};
use std::sync::Arc;

/// Products below this many multiply-adds run on one thread.
const PARALLEL_WORK: usize = 1 << 17;

fn par(work: usize) -> Par {
    if work >= PARALLEL_WORK && rayon::current_num_threads() > 1 {
        Par::rayon(0)
    } else {
        Par::Seq
    }
}

/// `L·R` for `R = Lᵀ`: the lower triangle computed (half the flops of a full product) and
/// mirrored, so the result is exactly symmetric.
fn symmetric_product(l: MatRef<f64>, r: MatRef<f64>, par: Par) -> Mat<f64> {
    let k = l.nrows();
    let mut g = Mat::<f64>::zeros(k, k);
    triangular::matmul(
        g.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        l,
        BlockStructure::Rectangular,
        r,
        BlockStructure::Rectangular,
        1.0,
        par,
    );
    for j in 0..k {
        for i in j + 1..k {
            g[(j, i)] = g[(i, j)];
        }
    }
    g
}

enum Mode {
    /// `n ≤ hP`: `A` (`n × hP`) and `AAᵀ` (`n × n`).
    Woodbury { a: Mat<f64>, aat: Mat<f64> },
    /// `n > hP`: `AᵀA` (`hP × hP`).
    Gram { ata: Mat<f64> },
}

/// Quantities of the residual `v = y − A z` used by the checks.
#[derive(Debug, Clone)]
pub struct Residual {
    /// `½‖A z − y‖²`.
    pub loss: f64,
    /// `Aᵀ v`, length `hP`.
    pub atv: Vec<f64>,
    /// `vᵀ y`.
    pub vy: f64,
    /// `‖v‖²`.
    pub vv: f64,
}

/// See the module documentation.
pub struct DenseLoss {
    n: usize,
    hp: usize,
    /// Shared by [`DenseLoss::retarget`]ed copies: it depends on `A` only.
    mode: Arc<Mode>,
    y: Vec<f64>,
    aty: Vec<f64>,
    yy: f64,
    /// `A Aᵀ y` (Woodbury) — the part of `A(Aᵀy + τδ)` that does not change.
    aaty: Vec<f64>,
    factor: Option<(f64, faer::linalg::solvers::Llt<f64>)>,
}

impl DenseLoss {
    /// From the pattern matrices `[P, n, h]` and the targets.
    pub fn new(a3: ArrayView3<f64>, y: ArrayView1<f64>) -> Self {
        let (p, n, h) = a3.dim();
        let hp = p * h;
        let a = Mat::<f64>::from_fn(n, hp, |t, col| a3[[col / h, t, col % h]]);
        let yv: Vec<f64> = y.to_vec();
        let mut aty = vec![0.0; hp];
        gemv_t(a.as_ref(), &yv, &mut aty);
        let yy = yv.iter().map(|v| v * v).sum();
        let work = n * n * hp.min(n.max(1));
        if n <= hp {
            let aat = symmetric_product(a.as_ref(), a.transpose(), par(work));
            let mut aaty = vec![0.0; n];
            gemv(a.as_ref(), &aty, &mut aaty);
            Self {
                n,
                hp,
                mode: Arc::new(Mode::Woodbury { a, aat }),
                y: yv,
                aty,
                yy,
                aaty,
                factor: None,
            }
        } else {
            let ata = symmetric_product(a.transpose(), a.as_ref(), par(n * hp * hp));
            drop(a);
            Self {
                n,
                hp,
                mode: Arc::new(Mode::Gram { ata }),
                y: yv,
                aty,
                yy,
                aaty: Vec::new(),
                factor: None,
            }
        }
    }

    /// The same loss for other targets `y` on the same pattern matrices `a3` (those this loss was
    /// built from): the Gram matrix and the factorization are shared, only the `y`-dependent
    /// vectors (`Aᵀy`, `‖y‖²`, `AAᵀy`) are formed — one pass over `A` instead of the `n²·hP` (or
    /// `n·(hP)²`) product. What one-vs-rest classes share.
    pub fn retarget(&self, a3: ArrayView3<f64>, y: ArrayView1<f64>) -> Self {
        let (p, n, h) = a3.dim();
        assert_eq!(
            (n, p * h),
            (self.n, self.hp),
            "retarget on other pattern matrices"
        );
        let yv: Vec<f64> = y.to_vec();
        let mut aty = vec![0.0; self.hp];
        for (i, ai) in a3.outer_iter().enumerate() {
            let g = ai.t().dot(&y);
            aty[i * h..(i + 1) * h].copy_from_slice(g.as_slice().expect("fresh"));
        }
        let yy = yv.iter().map(|v| v * v).sum();
        let aaty = match self.mode.as_ref() {
            Mode::Woodbury { a, .. } => {
                let mut aaty = vec![0.0; n];
                gemv(a.as_ref(), &aty, &mut aaty);
                aaty
            }
            Mode::Gram { .. } => Vec::new(),
        };
        Self {
            n,
            hp: self.hp,
            mode: Arc::clone(&self.mode),
            y: yv,
            aty,
            yy,
            aaty,
            factor: self.factor.clone(),
        }
    }

    /// The targets `y`.
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// `hP`.
    pub fn dim(&self) -> usize {
        self.hp
    }

    /// `Aᵀy`.
    pub fn aty(&self) -> &[f64] {
        &self.aty
    }

    /// `‖y‖²`.
    pub fn yy(&self) -> f64 {
        self.yy
    }

    /// Largest eigenvalue of `AᵀA` by power iteration on the smaller Gram matrix (a lower bound).
    pub fn norm_sq_estimate(&self, iterations: usize) -> f64 {
        let g = match self.mode.as_ref() {
            Mode::Woodbury { aat, .. } => aat.as_ref(),
            Mode::Gram { ata } => ata.as_ref(),
        };
        let k = g.nrows();
        let mut v = vec![1.0 / (k as f64).sqrt(); k];
        let mut w = vec![0.0; k];
        let mut lambda = 0.0;
        for _ in 0..iterations {
            gemv(g, &v, &mut w);
            let nrm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if nrm == 0.0 || !nrm.is_finite() {
                return lambda;
            }
            lambda = nrm;
            for (a, b) in v.iter_mut().zip(&w) {
                *a = b / nrm;
            }
        }
        lambda
    }

    /// Trace of `AᵀA` over `hP`: the mean eigenvalue.
    pub fn mean_eigenvalue(&self) -> f64 {
        let g = match self.mode.as_ref() {
            Mode::Woodbury { aat, .. } => aat.as_ref(),
            Mode::Gram { ata } => ata.as_ref(),
        };
        (0..g.nrows()).map(|i| g[(i, i)]).sum::<f64>() / self.hp as f64
    }

    /// Factors for the shift `τ` (kept until another `τ` is asked for). Returns false when the
    /// factorization failed (τ not positive or not finite).
    pub fn set_shift(&mut self, tau: f64) -> bool {
        if let Some((t, _)) = &self.factor
            && *t == tau
        {
            return true;
        }
        if !(tau > 0.0 && tau.is_finite()) {
            return false;
        }
        let g = match self.mode.as_ref() {
            Mode::Woodbury { aat, .. } => aat,
            Mode::Gram { ata } => ata,
        };
        let mut m = g.clone();
        for i in 0..m.nrows() {
            m[(i, i)] += tau;
        }
        match m.llt(Side::Lower) {
            Ok(l) => {
                self.factor = Some((tau, l));
                true
            }
            Err(_) => false,
        }
    }

    /// `d ← (AᵀA + τI)⁻¹ (Aᵀy + τ δ)` with the `τ` of the last [`set_shift`](Self::set_shift).
    pub fn solve_shifted(&self, delta: &[f64], d: &mut [f64]) {
        let (tau, llt) = self.factor.as_ref().expect("set_shift first");
        let tau = *tau;
        match self.mode.as_ref() {
            Mode::Woodbury { a, .. } => {
                // (AᵀA + τI)⁻¹ q = (q − Aᵀ(AAᵀ + τI)⁻¹ A q)/τ with q = Aᵀy + τδ:
                // d = δ + Aᵀ(y − t)/τ, t = (AAᵀ + τI)⁻¹ (AAᵀy + τ Aδ).
                let mut t = vec![0.0; self.n];
                gemv(a.as_ref(), delta, &mut t);
                for (ti, g) in t.iter_mut().zip(&self.aaty) {
                    *ti = g + tau * *ti;
                }
                llt.solve_in_place(MatMut::from_column_major_slice_mut(&mut t, self.n, 1));
                for (ti, yi) in t.iter_mut().zip(&self.y) {
                    *ti = (yi - *ti) / tau;
                }
                gemv_t(a.as_ref(), &t, d);
                for (di, de) in d.iter_mut().zip(delta) {
                    *di += de;
                }
            }
            Mode::Gram { .. } => {
                for ((di, de), b) in d.iter_mut().zip(delta).zip(&self.aty) {
                    *di = b + tau * de;
                }
                llt.solve_in_place(MatMut::from_column_major_slice_mut(d, self.hp, 1));
            }
        }
    }

    /// Loss and dual quantities at `z` (length `hP`).
    pub fn residual(&self, z: &[f64]) -> Residual {
        match self.mode.as_ref() {
            Mode::Woodbury { a, .. } => {
                let mut r = vec![0.0; self.n];
                gemv(a.as_ref(), z, &mut r);
                for (ri, yi) in r.iter_mut().zip(&self.y) {
                    *ri = yi - *ri; // v = y − Az
                }
                let mut atv = vec![0.0; self.hp];
                gemv_t(a.as_ref(), &r, &mut atv);
                let vv: f64 = r.iter().map(|v| v * v).sum();
                let vy: f64 = r.iter().zip(&self.y).map(|(a, b)| a * b).sum();
                Residual {
                    loss: 0.5 * vv,
                    atv,
                    vy,
                    vv,
                }
            }
            Mode::Gram { ata } => {
                let mut hz = vec![0.0; self.hp];
                gemv(ata.as_ref(), z, &mut hz);
                let zhz: f64 = z.iter().zip(&hz).map(|(a, b)| a * b).sum();
                let zaty: f64 = z.iter().zip(&self.aty).map(|(a, b)| a * b).sum();
                let vv = (zhz - 2.0 * zaty + self.yy).max(0.0);
                let atv = self.aty.iter().zip(&hz).map(|(a, b)| a - b).collect();
                Residual {
                    loss: 0.5 * vv,
                    atv,
                    vy: self.yy - zaty,
                    vv,
                }
            }
        }
    }
}

/// The dense `n × hP` matrix alone, for methods that only need products (FISTA).
pub struct DenseOp {
    a: Mat<f64>,
}

impl DenseOp {
    /// From the pattern matrices `[P, n, h]`.
    pub fn new(a3: ArrayView3<f64>) -> Self {
        let (p, n, h) = a3.dim();
        Self {
            a: Mat::<f64>::from_fn(n, p * h, |t, col| a3[[col / h, t, col % h]]),
        }
    }

    /// `A z` (`z` of length `hP`, block `i` at `i·h`).
    pub fn apply(&self, z: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.a.nrows()];
        gemv(self.a.as_ref(), z, &mut out);
        out
    }

    /// `Aᵀ r`.
    pub fn adjoint(&self, r: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.a.ncols()];
        gemv_t(self.a.as_ref(), r, &mut out);
        out
    }
}

/// `out ← M x`.
pub fn gemv(m: MatRef<f64>, x: &[f64], out: &mut [f64]) {
    let (r, c) = (m.nrows(), m.ncols());
    matmul(
        MatMut::from_column_major_slice_mut(out, r, 1),
        Accum::Replace,
        m,
        MatRef::from_column_major_slice(x, c, 1),
        1.0,
        par(r * c),
    );
}

/// `out ← Mᵀ x`.
pub fn gemv_t(m: MatRef<f64>, x: &[f64], out: &mut [f64]) {
    let (r, c) = (m.nrows(), m.ncols());
    matmul(
        MatMut::from_column_major_slice_mut(out, c, 1),
        Accum::Replace,
        m.transpose(),
        MatRef::from_column_major_slice(x, r, 1),
        1.0,
        par(r * c),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array3};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Both modes solve the shifted system and give the residual quantities, checked against the
    /// direct products on the `[P, n, h]` tensor.
    #[test]
    fn shifted_solve_and_residual_in_both_modes() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for &(p, n, h) in &[(4, 7, 3), (3, 20, 2)] {
            let a3 = Array3::from_shape_fn((p, n, h), |_| rng.random_range(-1.0..1.0));
            let y = Array1::from_shape_fn(n, |_| rng.random_range(-1.0..1.0));
            let mut loss = DenseLoss::new(a3.view(), y.view());
            let hp = p * h;
            let apply = |z: &[f64]| -> Vec<f64> {
                (0..n)
                    .map(|t| (0..hp).map(|c| a3[[c / h, t, c % h]] * z[c]).sum())
                    .collect()
            };
            let adjoint = |r: &[f64]| -> Vec<f64> {
                (0..hp)
                    .map(|c| (0..n).map(|t| a3[[c / h, t, c % h]] * r[t]).sum())
                    .collect()
            };
            let tau = 0.37;
            assert!(loss.set_shift(tau));
            let delta: Vec<f64> = (0..hp).map(|_| rng.random_range(-1.0..1.0)).collect();
            let mut d = vec![0.0; hp];
            loss.solve_shifted(&delta, &mut d);
            // (AᵀA + τI) d = Aᵀy + τδ.
            let lhs: Vec<f64> = adjoint(&apply(&d))
                .iter()
                .zip(&d)
                .map(|(a, b)| a + tau * b)
                .collect();
            let aty = adjoint(y.as_slice().expect("contiguous"));
            for c in 0..hp {
                assert!((lhs[c] - aty[c] - tau * delta[c]).abs() < 1e-10);
            }
            let res = loss.residual(&d);
            let az = apply(&d);
            let v: Vec<f64> = y.iter().zip(&az).map(|(a, b)| a - b).collect();
            let vv: f64 = v.iter().map(|x| x * x).sum();
            assert!((res.loss - 0.5 * vv).abs() < 1e-10);
            assert!((res.vv - vv).abs() < 1e-10);
            let vy: f64 = v.iter().zip(y.iter()).map(|(a, b)| a * b).sum();
            assert!((res.vy - vy).abs() < 1e-10);
            for (a, b) in res.atv.iter().zip(adjoint(&v)) {
                assert!((a - b).abs() < 1e-10);
            }
        }
    }

    /// A loss retargeted to other labels solves and reports exactly what a loss built afresh for
    /// them does, in both modes, with the factorization carried over.
    #[test]
    fn retargeted_loss_equals_a_fresh_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for &(p, n, h) in &[(4, 7, 3), (3, 20, 2)] {
            let a3 = Array3::from_shape_fn((p, n, h), |_| rng.random_range(-1.0..1.0));
            let y1 = Array1::from_shape_fn(n, |_| rng.random_range(-1.0..1.0));
            let y2 = Array1::from_shape_fn(n, |_| rng.random_range(-1.0..1.0));
            let mut first = DenseLoss::new(a3.view(), y1.view());
            assert!(first.set_shift(0.5));
            let mut moved = first.retarget(a3.view(), y2.view());
            let mut fresh = DenseLoss::new(a3.view(), y2.view());
            assert!(moved.set_shift(0.5) && fresh.set_shift(0.5));
            let hp = p * h;
            let delta: Vec<f64> = (0..hp).map(|_| rng.random_range(-1.0..1.0)).collect();
            let (mut d1, mut d2) = (vec![0.0; hp], vec![0.0; hp]);
            moved.solve_shifted(&delta, &mut d1);
            fresh.solve_shifted(&delta, &mut d2);
            for (a, b) in d1.iter().zip(&d2) {
                assert!((a - b).abs() < 1e-10, "{a} vs {b}");
            }
            let (r1, r2) = (moved.residual(&d1), fresh.residual(&d1));
            assert!((r1.loss - r2.loss).abs() < 1e-10 && (r1.vy - r2.vy).abs() < 1e-10);
            assert!((moved.yy() - fresh.yy()).abs() < 1e-12);
            for (a, b) in moved.aty().iter().zip(fresh.aty()) {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }
}
