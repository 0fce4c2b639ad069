//! The unnormalized DFT of real signals, the orthonormal real Fourier basis the circular program is
//! written in, and the spectral regularizer (docs/math.md §8).

use ndarray::Array2;
use std::f64::consts::PI;

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

/// Column of the orthonormal real Fourier basis [`Dft::basis`] that holds frequency `k`'s first
/// coordinate (`0` for `k = 0`, `2k − 1` otherwise; a conjugate pair also uses column `2k`).
pub(crate) fn basis_column(k: usize) -> usize {
    if k == 0 { 0 } else { 2 * k - 1 }
}
