//! The circular CNN with one ReLU (docs/math.md §8), run forward on its own.
//!
//! ```text
//! f(x) = Σ_j w_j (⟨x, a_{1j} ⊛ a_{2j} ⊛ … ⊛ a_{(L−2)j} ⊛ b_j⟩ + e_j)_+
//! (a ⊛ b)[k] = Σ_l a[l] · b[(k − l) mod d]
//! objective = ½ Σ_t (f(x_t) − y_t)² + (β/2) Σ_j (‖b_j‖² + e_j² + w_j²)
//! s.t. ‖a_{1j}‖₂ ≤ 1,  max_k |â_{lk}| ≤ 1 for l ≥ 2 (operator norm of the circulant)
//! ```
//! `e_j = 0` without a bias; `L = 3` (no `a_l` with `l ≥ 2`) is the three-layer CNN. Convolutions are
//! computed by their defining sums (O(d²) per neuron and layer, no FFT), so that this forward pass
//! shares nothing with the convex program it checks. Gradients, initialisation and projected
//! gradient descent are in `train/circular.rs`.

use super::{Network, Objective, dot, norm2, sum_of_squares};
use crate::geometry::FilterNorm;
use ndarray::{Array1, ArrayView1, ArrayView2, ArrayView4, Axis, s};

/// A circular CNN: one neuron per entry of each list,
/// `f(x) = Σ_j w_j (⟨x, a_{1j} ⊛ … ⊛ a_{(L−2)j} ⊛ b_j⟩ + e_j)_+` on signals `x ∈ ℝ^d`
/// (docs/math.md §8).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CircularCnn {
    /// Inner filters `a_j = a_{1j}` (length `d`, `‖a_j‖₂ ≤ 1`).
    pub inner_filters: Vec<Vec<f64>>,
    /// The further inner circulant filters of an `L`-layer network: `circulant_filters[l][j]` is
    /// `a_{(l+2)j}` (length `d`, `max_k |â_k| ≤ 1`); empty for `L = 3`.
    pub circulant_filters: Vec<Vec<Vec<f64>>>,
    /// Filters `b_j` (length `d`).
    pub filters: Vec<Vec<f64>>,
    /// Output weights `w_j`.
    pub output_weights: Vec<f64>,
    /// Biases `e_j` inside the ReLU, when the architecture has them.
    pub biases: Option<Vec<f64>>,
}

/// `(a ⊛ b)[k] = Σ_l a[l] · b[(k − l) mod d]`, by the defining sum.
pub fn circular_conv(a: &[f64], b: &[f64]) -> Vec<f64> {
    let d = a.len();
    debug_assert_eq!(b.len(), d);
    (0..d)
        .map(|k| (0..d).map(|l| a[l] * b[(k + d - l) % d]).sum())
        .collect()
}

impl CircularCnn {
    /// Number of neurons.
    pub fn width(&self) -> usize {
        self.output_weights.len()
    }

    /// `e_j` (0 without biases).
    pub(super) fn bias(&self, j: usize) -> f64 {
        self.biases.as_ref().map_or(0.0, |e| e[j])
    }

    /// Layers `L` (3 without further circulant filters).
    pub fn layers(&self) -> usize {
        3 + self.circulant_filters.len()
    }

    /// The effective filters `a_{1j} ⊛ (a_{2j} ⊛ ⋯ (a_{(L−2)j} ⊛ b_j))`.
    pub fn effective_filters(&self) -> Vec<Vec<f64>> {
        (0..self.width())
            .map(|j| {
                let inner = self
                    .circulant_filters
                    .iter()
                    .rev()
                    .fold(self.filters[j].clone(), |h, layer| {
                        circular_conv(&layer[j], &h)
                    });
                circular_conv(&self.inner_filters[j], &inner)
            })
            .collect()
    }

    /// `f(x_t)` for every row of `x` (`[n, d]`). The [`Network`] trait's `forward` takes the same
    /// signals as `[n, 1, 1, d]`.
    pub fn forward(&self, x: ArrayView2<f64>) -> Array1<f64> {
        let g = self.effective_filters();
        let x = x.as_standard_layout();
        let mut out = Array1::<f64>::zeros(x.nrows());
        for (t, row) in x.outer_iter().enumerate() {
            let row = row
                .as_slice()
                .expect("rows of a standard-layout array are contiguous");
            let mut f = 0.0;
            for (j, gj) in g.iter().enumerate() {
                let pre = dot(row, gj) + self.bias(j);
                f += self.output_weights[j] * pre.max(0.0);
            }
            out[t] = f;
        }
        out
    }

    /// `(β/2) Σ_j (‖b_j‖² + e_j² + w_j²)`.
    pub fn regularizer(&self, beta: f64) -> f64 {
        let mut s = 0.0;
        for j in 0..self.width() {
            let e = self.bias(j);
            s += sum_of_squares(&self.filters[j]) + e * e + self.output_weights[j].powi(2);
        }
        0.5 * beta * s
    }

    /// Loss, regularizer and total on rows `x` (`[n, d]`). The constraint `‖a_j‖ ≤ 1` is not part
    /// of the value; check it with [`CircularCnn::max_inner_norm`].
    pub fn objective(&self, x: ArrayView2<f64>, y: ArrayView1<f64>, beta: f64) -> Objective {
        let x = x.insert_axis(Axis(1)).insert_axis(Axis(1));
        Network::objective_with_norm(self, x, y, beta, FilterNorm::L2)
    }

    /// `max_j ‖a_j‖₂` (feasible when ≤ 1).
    pub fn max_inner_norm(&self) -> f64 {
        self.inner_filters
            .iter()
            .map(|a| norm2(a))
            .fold(0.0, f64::max)
    }

    /// The largest operator norm `max_k |â_k|` of the further circulant filters (feasible when
    /// ≤ 1; 0 for `L = 3`).
    pub fn max_circulant_gain(&self) -> f64 {
        self.circulant_filters
            .iter()
            .flatten()
            .map(|a| max_gain(a))
            .fold(0.0, f64::max)
    }
}

/// The moduli `|â_k|` of the unnormalized DFT of a real signal, by the defining sum.
pub fn gains(a: &[f64]) -> Vec<f64> {
    let d = a.len();
    (0..d)
        .map(|k| {
            let (mut re, mut im) = (0.0, 0.0);
            for (l, &v) in a.iter().enumerate() {
                let ang = 2.0 * std::f64::consts::PI * ((k * l) % d) as f64 / d as f64;
                re += v * ang.cos();
                im -= v * ang.sin();
            }
            re.hypot(im)
        })
        .collect()
}

/// `a` with every Fourier modulus clipped to ≤ 1 (the projection onto circulants of operator norm
/// ≤ 1: it scales each frequency, so the signal stays real), by the defining sums.
pub fn project_gain(a: &[f64]) -> Vec<f64> {
    let d = a.len();
    let tau = 2.0 * std::f64::consts::PI / d as f64;
    let spectrum: Vec<(f64, f64)> = (0..d)
        .map(|k| {
            let (mut re, mut im) = (0.0, 0.0);
            for (l, &v) in a.iter().enumerate() {
                let ang = tau * ((k * l) % d) as f64;
                re += v * ang.cos();
                im -= v * ang.sin();
            }
            let m = re.hypot(im);
            if m > 1.0 { (re / m, im / m) } else { (re, im) }
        })
        .collect();
    (0..d)
        .map(|l| {
            spectrum
                .iter()
                .enumerate()
                .map(|(k, &(re, im))| {
                    let ang = tau * ((k * l) % d) as f64;
                    re * ang.cos() - im * ang.sin()
                })
                .sum::<f64>()
                / d as f64
        })
        .collect()
}

/// `max_k |â_k|`: the operator norm of `x ↦ a ⊛ x`.
pub fn max_gain(a: &[f64]) -> f64 {
    gains(a).into_iter().fold(0.0, f64::max)
}

/// Signals of length `d` enter as `[n, 1, 1, d]`; the weight decay has no filter norm to choose
/// (its convex program fixes ℓ2).
impl Network for CircularCnn {
    /// # Panics
    /// If `x` is not `[n, 1, 1, d]`.
    fn forward(&self, x: ArrayView4<f64>) -> Array1<f64> {
        let (_, c, h, _) = x.dim();
        assert!(
            c == 1 && h == 1,
            "CircularCnn: input {:?} is not [n, 1, 1, d]",
            x.shape()
        );
        CircularCnn::forward(self, x.slice(s![.., 0, 0, ..]))
    }

    fn width(&self) -> usize {
        CircularCnn::width(self)
    }

    /// `(β/2) Σ_j (‖b_j‖² + e_j² + w_j²)`.
    ///
    /// # Panics
    /// On [`FilterNorm::L1`] (problem files refuse it for circular networks).
    fn regularizer_with_norm(&self, beta: f64, norm: FilterNorm) -> f64 {
        assert_eq!(
            norm,
            FilterNorm::L2,
            "CircularCnn: the weight decay is defined with the ℓ2 norm only"
        );
        self.regularizer(beta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circular_conv_of_a_delta_shifts() {
        let a = [0.0, 1.0, 0.0, 0.0];
        let b = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(circular_conv(&a, &b), vec![4.0, 1.0, 2.0, 3.0]);
        // Commutative.
        let c = [0.3, -1.0, 2.0, 0.5];
        let (ab, ba) = (circular_conv(&c, &b), circular_conv(&b, &c));
        for (u, v) in ab.iter().zip(&ba) {
            assert!((u - v).abs() < 1e-12, "{u} vs {v}");
        }
    }
}
