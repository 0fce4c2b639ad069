//! The three-layer circular CNN with one ReLU (docs/math.md §8), run forward on its own.
//!
//! ```text
//! f(x) = Σ_j w_j (⟨x, a_j ⊛ b_j⟩ + e_j)_+        (a ⊛ b)[k] = Σ_l a[l] · b[(k − l) mod d]
//! objective = ½ Σ_t (f(x_t) − y_t)² + (β/2) Σ_j (‖b_j‖² + e_j² + w_j²)   s.t. ‖a_j‖₂ ≤ 1
//! ```
//! `e_j = 0` without a bias. The convolution is computed by its defining sum (O(d²) per neuron, no
//! DFT), so that this forward pass shares nothing with the convex program it checks.

use crate::network::Objective;
use ndarray::{Array1, ArrayView1, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A circular CNN: one neuron per entry of each list.
#[derive(Debug, Clone, PartialEq)]
pub struct CircularCnn {
    /// Inner filters `a_j` (length `d`, `‖a_j‖₂ ≤ 1`).
    pub inner_filters: Vec<Vec<f64>>,
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

/// `Σ_k g[k] · b[(k − l) mod d]` for every `l`: the adjoint of `a ↦ a ⊛ b` applied to `g`.
fn correlate(g: &[f64], b: &[f64]) -> Vec<f64> {
    let d = g.len();
    (0..d)
        .map(|l| (0..d).map(|k| g[k] * b[(k + d - l) % d]).sum())
        .collect()
}

fn norm2(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

impl CircularCnn {
    /// Number of neurons.
    pub fn width(&self) -> usize {
        self.output_weights.len()
    }

    fn bias(&self, j: usize) -> f64 {
        self.biases.as_ref().map_or(0.0, |e| e[j])
    }

    /// The effective filters `a_j ⊛ b_j`.
    pub fn effective_filters(&self) -> Vec<Vec<f64>> {
        self.inner_filters
            .iter()
            .zip(&self.filters)
            .map(|(a, b)| circular_conv(a, b))
            .collect()
    }

    /// `f(x_t)` for every row of `x` (`[n, d]`).
    pub fn forward(&self, x: ArrayView2<f64>) -> Array1<f64> {
        let g = self.effective_filters();
        let mut out = Array1::<f64>::zeros(x.nrows());
        for (t, row) in x.outer_iter().enumerate() {
            let mut f = 0.0;
            for (j, gj) in g.iter().enumerate() {
                let pre: f64 = row.iter().zip(gj).map(|(a, b)| a * b).sum::<f64>() + self.bias(j);
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
            s += self.filters[j].iter().map(|v| v * v).sum::<f64>()
                + e * e
                + self.output_weights[j].powi(2);
        }
        0.5 * beta * s
    }

    /// Loss and regularizer. The constraint `‖a_j‖ ≤ 1` is not part of the value; check it with
    /// [`CircularCnn::max_inner_norm`].
    pub fn objective(&self, x: ArrayView2<f64>, y: ArrayView1<f64>, beta: f64) -> Objective {
        let r = self.forward(x) - y;
        let loss = 0.5 * r.dot(&r);
        let regularizer = self.regularizer(beta);
        Objective {
            loss,
            regularizer,
            total: loss + regularizer,
        }
    }

    /// `max_j ‖a_j‖₂` (feasible when ≤ 1).
    pub fn max_inner_norm(&self) -> f64 {
        self.inner_filters
            .iter()
            .map(|a| norm2(a))
            .fold(0.0, f64::max)
    }

    /// A random network of width `m` on signals of length `d`: Gaussian entries times `scale`,
    /// inner filters scaled onto the unit sphere.
    pub fn random(d: usize, m: usize, bias: bool, scale: f64, seed: u64) -> CircularCnn {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut g = || -> f64 { StandardNormal.sample(&mut rng) };
        let mut inner_filters = Vec::with_capacity(m);
        let mut filters = Vec::with_capacity(m);
        let mut output_weights = Vec::with_capacity(m);
        let mut biases = Vec::with_capacity(m);
        for _ in 0..m {
            let a: Vec<f64> = (0..d).map(|_| g()).collect();
            let na = norm2(&a).max(f64::MIN_POSITIVE);
            inner_filters.push(a.iter().map(|v| v / na).collect());
            filters.push((0..d).map(|_| scale * g()).collect());
            output_weights.push(scale * g());
            biases.push(scale * g());
        }
        CircularCnn {
            inner_filters,
            filters,
            output_weights,
            biases: bias.then_some(biases),
        }
    }

    /// Gradient of the objective with respect to `(a_j, b_j, w_j, e_j)`, as a network of the same
    /// shape (the ReLU's derivative at 0 taken as 0).
    pub fn gradient(&self, x: ArrayView2<f64>, y: ArrayView1<f64>, beta: f64) -> CircularCnn {
        let g = self.effective_filters();
        let m = self.width();
        let d = x.ncols();
        let r = self.forward(x) - y;
        let mut grad_g = vec![vec![0.0; d]; m];
        let mut grad_w = vec![0.0; m];
        let mut grad_e = vec![0.0; m];
        for (t, row) in x.outer_iter().enumerate() {
            for j in 0..m {
                let pre: f64 =
                    row.iter().zip(&g[j]).map(|(a, b)| a * b).sum::<f64>() + self.bias(j);
                if pre > 0.0 {
                    grad_w[j] += r[t] * pre;
                    grad_e[j] += r[t] * self.output_weights[j];
                    for (gg, xv) in grad_g[j].iter_mut().zip(row) {
                        *gg += r[t] * self.output_weights[j] * xv;
                    }
                }
            }
        }
        let mut out = self.clone();
        for j in 0..m {
            // g = a ⊛ b is bilinear: ∂/∂a = corr(G, b), ∂/∂b = corr(G, a).
            out.inner_filters[j] = correlate(&grad_g[j], &self.filters[j]);
            out.filters[j] = correlate(&grad_g[j], &self.inner_filters[j])
                .iter()
                .zip(&self.filters[j])
                .map(|(gv, b)| gv + beta * b)
                .collect();
            out.output_weights[j] = grad_w[j] + beta * self.output_weights[j];
            if let Some(e) = out.biases.as_mut() {
                e[j] = grad_e[j] + beta * self.bias(j);
            }
        }
        out
    }

    /// `self − step · grad`, with every inner filter projected back onto `‖a‖ ≤ 1`.
    fn projected_step(&self, grad: &CircularCnn, step: f64) -> CircularCnn {
        let mut out = self.clone();
        let axpy = |v: &mut Vec<f64>, gv: &[f64]| {
            for (a, b) in v.iter_mut().zip(gv) {
                *a -= step * b;
            }
        };
        for j in 0..self.width() {
            axpy(&mut out.inner_filters[j], &grad.inner_filters[j]);
            let na = norm2(&out.inner_filters[j]);
            if na > 1.0 {
                out.inner_filters[j].iter_mut().for_each(|v| *v /= na);
            }
            axpy(&mut out.filters[j], &grad.filters[j]);
            out.output_weights[j] -= step * grad.output_weights[j];
        }
        if let (Some(e), Some(ge)) = (out.biases.as_mut(), grad.biases.as_ref()) {
            axpy(e, ge);
        }
        out
    }

    /// Projected gradient descent with backtracking (the step halves until the objective does not
    /// rise, and grows by 1.5 after an accepted step), so the objective never increases and every
    /// iterate keeps `‖a_j‖ ≤ 1`. Returns the final objective.
    pub fn train_gd(
        &mut self,
        x: ArrayView2<f64>,
        y: ArrayView1<f64>,
        beta: f64,
        steps: usize,
    ) -> Objective {
        let mut obj = self.objective(x, y, beta);
        let mut lr = 1e-2;
        for _ in 0..steps {
            let grad = self.gradient(x, y, beta);
            let mut accepted = false;
            for _ in 0..60 {
                let cand = self.projected_step(&grad, lr);
                let o = cand.objective(x, y, beta);
                if o.total <= obj.total {
                    *self = cand;
                    obj = o;
                    accepted = true;
                    lr *= 1.5;
                    break;
                }
                lr *= 0.5;
            }
            if !accepted {
                break;
            }
        }
        obj
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

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

    #[test]
    fn gradient_matches_finite_differences() {
        let d = 5;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x = Array2::from_shape_fn((7, d), |_| StandardNormal.sample(&mut rng));
        let y = Array1::from_shape_fn(7, |_| StandardNormal.sample(&mut rng));
        for bias in [false, true] {
            let net = CircularCnn::random(d, 3, bias, 0.7, 5);
            let beta = 0.3;
            let g = net.gradient(x.view(), y.view(), beta);
            let f = |n: &CircularCnn| n.objective(x.view(), y.view(), beta).total;
            let h = 1e-6;
            let check = |analytic: f64, perturb: &dyn Fn(&mut CircularCnn, f64)| {
                let mut p = net.clone();
                perturb(&mut p, h);
                let mut m = net.clone();
                perturb(&mut m, -h);
                let fd = (f(&p) - f(&m)) / (2.0 * h);
                assert!(
                    (fd - analytic).abs() < 1e-5 * (1.0 + fd.abs()),
                    "finite difference {fd} vs gradient {analytic}"
                );
            };
            for j in 0..3 {
                for l in 0..d {
                    check(g.inner_filters[j][l], &|n, s| n.inner_filters[j][l] += s);
                    check(g.filters[j][l], &|n, s| n.filters[j][l] += s);
                }
                check(g.output_weights[j], &|n, s| n.output_weights[j] += s);
                if bias {
                    let ge = g.biases.as_ref().map_or(0.0, |e| e[j]);
                    check(ge, &|n, s| {
                        if let Some(e) = n.biases.as_mut() {
                            e[j] += s
                        }
                    });
                }
            }
        }
    }
}
