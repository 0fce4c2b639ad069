//! Training of the two-layer CNN: gradients (formulas at [`TwoLayerCnn::gradient`]), seeded random
//! initialisation and full-batch gradient descent with an Armijo backtracking step.

use super::MAX_BACKTRACKS;
use crate::geometry::{Activation, ConvGeometry, Pooling};
use crate::network::conv::Plan;
use crate::network::two_layer::Pool;
use crate::network::{Objective, TwoLayerCnn, dot};
use ndarray::{ArrayView1, ArrayView4};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Sufficient-decrease constant `c` of the Armijo condition
/// `F(θ − η g) ≤ F(θ) − c η ‖g‖²` used by [`TwoLayerCnn::train_gd`].
const ARMIJO_C: f64 = 1e-4;

/// Gradient of the objective with respect to every parameter, shaped like the parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient {
    /// `∂/∂u_j`.
    pub filters: Vec<Vec<f64>>,
    /// `∂/∂w_j`.
    pub output_weights: Vec<f64>,
    /// `∂/∂b_j` (empty without biases).
    pub biases: Vec<f64>,
}

impl TwoLayerCnn {
    /// Gradient of the total objective w.r.t. (filters, output_weights), same shapes. ReLU derivative at 0 taken as 0.
    ///
    /// With residuals `e_t = f(x_t) − y_t`, pre-activations `z_tjk = ⟨patch_k(x_t), u_j⟩ + b_j`
    /// and `c_k` the factor of position `k` in the pooling (`s` globally, `1/|R_a|` in a window):
    ///
    /// ```text
    /// ∂/∂u_j = Σ_t e_t · w_j · Σ_k c_k σ'(z_tjk) · patch_k(x_t)  +  β u_j
    /// ∂/∂b_j = Σ_t e_t · w_j · Σ_k c_k σ'(z_tjk)                 +  β b_j
    /// ∂/∂w_j = Σ_t e_t · Σ_k c_k σ(z_tjk)                        +  β w_j
    /// ```
    /// The bias part is returned by [`TwoLayerCnn::full_gradient`].
    ///
    /// Max pooling: a subgradient through the argmax, `Σ_k` replaced by the first position `κ_tj`
    /// attaining `max_k (z_tjk)_+` (`∂/∂u_j = Σ_t e_t w_j 1[z_tjκ > 0] patch_κ(x_t) + β u_j`); it is
    /// the gradient wherever the argmax is unique.
    ///
    ///
    /// # Panics
    /// As [`TwoLayerCnn::objective`].
    pub fn gradient(
        &self,
        x: ArrayView4<f64>,
        y: ArrayView1<f64>,
        beta: f64,
    ) -> (Vec<Vec<f64>>, Vec<f64>) {
        let (_, g) = self.value_and_gradient(x, y, beta);
        (g.filters, g.output_weights)
    }

    /// Gradient with respect to every parameter, biases included (see [`TwoLayerCnn::gradient`]).
    ///
    /// # Panics
    /// As [`TwoLayerCnn::objective`].
    pub fn full_gradient(&self, x: ArrayView4<f64>, y: ArrayView1<f64>, beta: f64) -> Gradient {
        self.value_and_gradient(x, y, beta).1
    }

    /// Objective and gradient in one pass over the data (see [`TwoLayerCnn::gradient`]).
    fn value_and_gradient(
        &self,
        x: ArrayView4<f64>,
        y: ArrayView1<f64>,
        beta: f64,
    ) -> (Objective, Gradient) {
        self.check_shapes(&x);
        let (n, c, height, width) = x.dim();
        assert_eq!(
            y.len(),
            n,
            "TwoLayerCnn: {} targets for {n} samples",
            y.len()
        );
        let m = self.width();
        let mut grad_u: Vec<Vec<f64>> = self
            .filters
            .iter()
            .map(|u| u.iter().map(|v| beta * v).collect())
            .collect();
        let mut grad_w: Vec<f64> = self.output_weights.iter().map(|w| beta * w).collect();
        let mut grad_b: Vec<f64> = self.biases.iter().flatten().map(|b| beta * b).collect();
        let regularizer = self.regularizer(beta);

        let plan = if m == 0 {
            None
        } else {
            Plan::new(&self.geometry, c, height, width)
        };
        let Some(plan) = plan else {
            // No filters or no patch positions: f ≡ 0.
            let loss = 0.5 * y.iter().map(|v| v * v).sum::<f64>();
            let objective = Objective::new(loss, regularizer);
            let g = Gradient {
                filters: grad_u,
                output_weights: grad_w,
                biases: grad_b,
            };
            return (objective, g);
        };

        let k = plan.positions;
        let pool = Pool::new(self.pooling, plan.grid_rows, plan.grid_cols);
        let coefficient: Vec<f64> = (0..k).map(|kk| pool.coefficient(kk)).collect();
        let x = x.as_standard_layout();
        let data = x.as_slice().expect("standard layout is contiguous");
        let sample_len = c * height * width;
        let h = self.geometry.filter_len(self.channels);
        let ut = self.transposed_filters();
        let mut grad_t = vec![0.0; h * m];
        let mut z = vec![0.0; k * m];
        let mut g = vec![0.0; k * m];
        let mut pooled = vec![0.0; m];
        let mut argmax = vec![0; m];
        let mut ews = vec![0.0; m];
        let mut entries = Vec::with_capacity(h);
        let mut loss = 0.0;
        let max_pooling = matches!(self.pooling, Pooling::Max);
        for (t, &target) in y.iter().enumerate() {
            let xs = &data[t * sample_len..][..sample_len];
            plan.preactivations(xs, &ut, m, None, &mut entries, &mut z);
            self.add_biases(&mut z);
            let s = pool.apply(&z, m, self.activation, &mut pooled, &mut argmax);
            let e = s * dot(&pooled, &self.output_weights) - target;
            loss += 0.5 * e * e;
            if e == 0.0 {
                continue;
            }
            for (gw, p) in grad_w.iter_mut().zip(&pooled) {
                *gw += e * s * p;
            }
            // g[k·m + j] = e · w_j · c_k · σ'(z_kj) (max pooling: only at the argmax of j).
            for (ew, w) in ews.iter_mut().zip(&self.output_weights) {
                *ew = e * w;
            }
            for (k, ((gk, zk), &ck)) in g
                .chunks_exact_mut(m)
                .zip(z.chunks_exact(m))
                .zip(&coefficient)
                .enumerate()
            {
                for (((gj, &zj), &ew), &a) in gk.iter_mut().zip(zk).zip(&ews).zip(&argmax) {
                    let active = !max_pooling || a == k;
                    *gj = if active {
                        ew * ck * self.activation.derivative(zj)
                    } else {
                        0.0
                    };
                }
            }
            plan.accumulate_adjoint(xs, &g, m, &mut entries, &mut grad_t);
            if !grad_b.is_empty() {
                for gk in g.chunks_exact(m) {
                    for (gb, gj) in grad_b.iter_mut().zip(gk) {
                        *gb += gj;
                    }
                }
            }
        }
        for (j, gu) in grad_u.iter_mut().enumerate() {
            for (i, d) in gu.iter_mut().enumerate() {
                *d += grad_t[i * m + j];
            }
        }
        let objective = Objective::new(loss, regularizer);
        let g = Gradient {
            filters: grad_u,
            output_weights: grad_w,
            biases: grad_b,
        };
        (objective, g)
    }

    /// m filters and weights with i.i.d. N(0, scale²) entries from `seed` (ChaCha8Rng::seed_from_u64, deterministic).
    ///
    /// `m = width`; each filter has `geometry.filter_len(channels)` entries. The stream is drawn
    /// filter by filter (entries in (channel, row, col) order), then the `m` output weights.
    pub fn random(
        geometry: ConvGeometry,
        pooling: Pooling,
        channels: usize,
        width: usize,
        scale: f64,
        seed: u64,
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let h = geometry.filter_len(channels);
        let mut draw = || -> f64 {
            let v: f64 = StandardNormal.sample(&mut rng);
            scale * v
        };
        let filters = (0..width)
            .map(|_| (0..h).map(|_| draw()).collect())
            .collect();
        let output_weights = (0..width).map(|_| draw()).collect();
        Self {
            geometry,
            pooling,
            channels,
            filters,
            output_weights,
            activation: Activation::Relu,
            biases: None,
        }
    }

    /// The same network with one bias per filter, i.i.d. N(0, scale²) from `seed`
    /// (ChaCha8Rng::seed_from_u64, deterministic).
    pub fn with_random_biases(mut self, scale: f64, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        self.biases = Some(
            (0..self.width())
                .map(|_| {
                    let v: f64 = StandardNormal.sample(&mut rng);
                    scale * v
                })
                .collect(),
        );
        self
    }

    /// Plain full-batch gradient descent with a backtracking (Armijo) step so the objective never increases; returns the final objective. `steps` iterations at most, starting step `lr`.
    ///
    /// Each iteration computes `g = ∇F(θ)` and accepts `θ ← θ − η g` for the first
    /// `η ∈ {η₀, η₀/2, η₀/4, …}` (at most 60 halvings) with
    /// `F(θ − η g) ≤ F(θ) − 10⁻⁴ η ‖g‖²`; the next iteration starts from `η₀ ← 2η`. The first
    /// `η₀` is `lr`. Training stops early when the gradient is zero or non-finite, or when no
    /// step is accepted. A non-positive or non-finite `lr` leaves the network unchanged.
    ///
    /// # Panics
    /// As [`TwoLayerCnn::objective`].
    pub fn train_gd(
        &mut self,
        x: ArrayView4<f64>,
        y: ArrayView1<f64>,
        beta: f64,
        steps: usize,
        lr: f64,
    ) -> Objective {
        self.train_gd_recorded(x, y, beta, steps, lr, |_| {})
    }

    /// [`TwoLayerCnn::train_gd`], calling `record` with the starting objective and after every
    /// accepted step.
    fn train_gd_recorded(
        &mut self,
        x: ArrayView4<f64>,
        y: ArrayView1<f64>,
        beta: f64,
        steps: usize,
        lr: f64,
        mut record: impl FnMut(Objective),
    ) -> Objective {
        let mut current = self.objective(x, y, beta);
        record(current);
        if !(lr > 0.0 && lr.is_finite() && current.total.is_finite()) {
            return current;
        }
        let mut eta = lr;
        let mut trial = self.clone();
        for _ in 0..steps {
            let (_, grad) = self.value_and_gradient(x, y, beta);
            let (grad_u, grad_w, grad_b) = (&grad.filters, &grad.output_weights, &grad.biases);
            let gnorm2: f64 = grad_u
                .iter()
                .flatten()
                .chain(grad_w)
                .chain(grad_b)
                .map(|g| g * g)
                .sum();
            if !(gnorm2 > 0.0 && gnorm2.is_finite()) {
                break;
            }
            let mut accepted = None;
            for _ in 0..MAX_BACKTRACKS {
                for ((tu, u), gu) in trial.filters.iter_mut().zip(&self.filters).zip(grad_u) {
                    for ((tv, v), g) in tu.iter_mut().zip(u).zip(gu) {
                        *tv = v - eta * g;
                    }
                }
                for ((tw, w), g) in trial
                    .output_weights
                    .iter_mut()
                    .zip(&self.output_weights)
                    .zip(grad_w)
                {
                    *tw = w - eta * g;
                }
                if let (Some(tb), Some(b)) = (&mut trial.biases, &self.biases) {
                    for ((tb, b), g) in tb.iter_mut().zip(b).zip(grad_b) {
                        *tb = b - eta * g;
                    }
                }
                let candidate = trial.objective(x, y, beta);
                // NaN candidates fail the comparison and are backtracked.
                if candidate.total <= current.total - ARMIJO_C * eta * gnorm2 {
                    accepted = Some(candidate);
                    break;
                }
                eta *= 0.5;
            }
            let Some(candidate) = accepted else {
                break;
            };
            std::mem::swap(self, &mut trial);
            current = candidate;
            record(current);
            eta *= 2.0;
        }
        current
    }
}

#[cfg(test)]
mod tests;
