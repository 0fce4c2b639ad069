//! Training of the three-layer CNN: seeded random initialisation, the projection onto
//! `‖[U_j, b_j]‖_F ≤ 1`, the gradient and projected gradient descent.

use super::MAX_BACKTRACKS;
use crate::geometry::ConvGeometry;
use crate::network::three_layer::{InnerConv, relu};
use crate::network::{Objective, ThreeLayerCnn};
use ndarray::{ArrayView1, ArrayView4};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

impl ThreeLayerCnn {
    /// Scales every `[U_j, b_j]` with `‖[U_j, b_j]‖_F > 1` back onto the unit sphere (projection
    /// onto the constraint set).
    pub fn project(&mut self) {
        for (j, norm) in self.frobenius_norms().into_iter().enumerate() {
            if norm > 1.0 {
                self.filters[j]
                    .iter_mut()
                    .flatten()
                    .for_each(|v| *v /= norm);
                if let Some(b) = self.biases.as_mut() {
                    b[j].iter_mut().for_each(|v| *v /= norm);
                }
            }
        }
    }

    /// `m` sub-networks of inner width `m1`: Gaussian filters scaled to `‖U_j‖_F = 1`, weights
    /// N(0, scale²), all from `seed` (ChaCha8, deterministic).
    pub fn random(
        geometry: ConvGeometry,
        channels: usize,
        m: usize,
        m1: usize,
        scale: f64,
        seed: u64,
    ) -> Self {
        Self::random_with_bias(geometry, channels, m, m1, scale, seed, false)
    }

    /// As [`random`](Self::random); with `bias`, Gaussian inner biases are drawn after everything
    /// else (so the weights are those of `random`'s draw before scaling) and `[U_j, b_j]` is scaled
    /// to unit Frobenius norm.
    pub fn random_with_bias(
        geometry: ConvGeometry,
        channels: usize,
        m: usize,
        m1: usize,
        scale: f64,
        seed: u64,
        bias: bool,
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let h = geometry.filter_len(channels);
        let mut draw = || -> f64 { StandardNormal.sample(&mut rng) };
        let filters: Vec<Vec<Vec<f64>>> = (0..m)
            .map(|_| (0..m1).map(|_| (0..h).map(|_| draw()).collect()).collect())
            .collect();
        let inner_weights = (0..m)
            .map(|_| (0..m1).map(|_| scale * draw()).collect())
            .collect();
        let output_weights = (0..m).map(|_| scale * draw()).collect();
        let biases = bias.then(|| (0..m).map(|_| (0..m1).map(|_| draw()).collect()).collect());
        let mut net = Self {
            geometry,
            channels,
            filters,
            inner_weights,
            output_weights,
            biases,
        };
        for (j, norm) in net.frobenius_norms().into_iter().enumerate() {
            if norm > 0.0 {
                net.filters[j].iter_mut().flatten().for_each(|v| *v /= norm);
                if let Some(b) = net.biases.as_mut() {
                    b[j].iter_mut().for_each(|v| *v /= norm);
                }
            }
        }
        net
    }

    /// The objective and its gradient with respect to `(U, w₁, w₂, b)` (same nesting as the
    /// weights; the bias gradient is all zeros without a bias). With residuals
    /// `r_t = f(x_t) − y_t`, `z_tjlk = ⟨patch_k(x_t), u_jl⟩ + b_jl` and
    /// `δ_tj = r_t w₂ⱼ 1[g_j(x_t) > 0]` (ReLU derivatives at 0 taken as 0):
    ///
    /// ```text
    /// ∂F/∂w₂ⱼ  = Σ_t r_t (g_j(x_t))_+                        + β w₂ⱼ
    /// ∂F/∂w₁ⱼₗ = Σ_t δ_tj Σ_k (z_tjlk)_+                      + β w₁ⱼₗ
    /// ∂F/∂u_jl = Σ_t δ_tj w₁ⱼₗ Σ_k 1[z_tjlk > 0] patch_k(x_t)
    /// ∂F/∂b_jl = Σ_t δ_tj w₁ⱼₗ Σ_k 1[z_tjlk > 0]
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn gradient(
        &self,
        x: ArrayView4<f64>,
        y: ArrayView1<f64>,
        beta: f64,
    ) -> (
        f64,
        Vec<Vec<Vec<f64>>>,
        Vec<Vec<f64>>,
        Vec<f64>,
        Vec<Vec<f64>>,
    ) {
        let n = x.dim().0;
        let m = self.width();
        let conv = InnerConv::new(self, x);
        let big_m = conv.filters;
        let h = self.geometry.filter_len(x.dim().1);
        let mut gw1: Vec<Vec<f64>> = self
            .inner_weights
            .iter()
            .map(|w| w.iter().map(|v| beta * v).collect())
            .collect();
        let mut gw2: Vec<f64> = self.output_weights.iter().map(|v| beta * v).collect();
        let mut gb: Vec<Vec<f64>> = self
            .inner_weights
            .iter()
            .map(|w| vec![0.0; w.len()])
            .collect();
        // ∂F/∂u, transposed like the filters: grad_t[i·M + index(j, l)].
        let mut grad_t = vec![0.0; h * big_m];
        let mut z = vec![0.0; conv.positions * big_m];
        // coefficient[k·M + index(j, l)] = δ_tj w₁ⱼₗ 1[z_tjlk > 0].
        let mut coefficient = vec![0.0; conv.positions * big_m];
        let mut pooled = vec![0.0; big_m];
        let mut g = vec![0.0; m];
        let mut entries = Vec::new();
        let mut r = Vec::with_capacity(n);
        for t in 0..n {
            conv.preactivations(t, &mut entries, &mut z);
            for (idx, p) in pooled.iter_mut().enumerate() {
                *p = conv.pooled(&z, idx);
            }
            for (j, gj) in g.iter_mut().enumerate() {
                *gj = 0.0;
                for (l, &w) in self.inner_weights[j].iter().enumerate() {
                    *gj += w * pooled[conv.offsets[j] + l];
                }
            }
            let rt = (0..m)
                .map(|j| self.output_weights[j] * relu(g[j]))
                .sum::<f64>()
                - y[t];
            r.push(rt);
            coefficient.fill(0.0);
            for j in 0..m {
                gw2[j] += rt * relu(g[j]);
                if g[j] <= 0.0 {
                    continue;
                }
                let delta = rt * self.output_weights[j];
                for (l, &w) in self.inner_weights[j].iter().enumerate() {
                    let idx = conv.offsets[j] + l;
                    gw1[j][l] += delta * pooled[idx];
                    for k in 0..conv.positions {
                        if z[k * big_m + idx] <= 0.0 {
                            continue;
                        }
                        gb[j][l] += delta * w;
                        coefficient[k * big_m + idx] = delta * w;
                    }
                }
            }
            conv.accumulate_adjoint(t, &coefficient, &mut entries, &mut grad_t);
        }
        let value = 0.5 * r.iter().map(|v| v * v).sum::<f64>() + self.regularizer(beta);
        let mut gu: Vec<Vec<Vec<f64>>> = self
            .filters
            .iter()
            .map(|us| us.iter().map(|u| vec![0.0; u.len()]).collect())
            .collect();
        for (j, gj) in gu.iter_mut().enumerate() {
            for (l, gl) in gj.iter_mut().enumerate() {
                let idx = conv.offsets[j] + l;
                for (i, d) in gl.iter_mut().enumerate() {
                    *d = grad_t[i * big_m + idx];
                }
            }
        }
        if self.biases.is_none() {
            gb.iter_mut().flatten().for_each(|v| *v = 0.0);
        }
        (value, gu, gw1, gw2, gb)
    }

    /// Projected gradient descent: `θ ← Π(θ − η ∇F)` with `Π` the projection onto
    /// `‖U_j‖_F ≤ 1`, accepting a step only when it lowers the objective (halving `η` up to 60 times,
    /// then growing it by 2 after an accepted step). Returns the final objective.
    pub fn train_projected_gd(
        &mut self,
        x: ArrayView4<f64>,
        y: ArrayView1<f64>,
        beta: f64,
        steps: usize,
        lr: f64,
    ) -> Objective {
        self.project();
        let mut current = self.objective(x, y, beta).total;
        let mut eta = lr;
        for _ in 0..steps {
            let (_, gu, gw1, gw2, gb) = self.gradient(x, y, beta);
            let mut accepted = false;
            for _ in 0..MAX_BACKTRACKS {
                let mut trial = self.clone();
                for (tu, gj) in trial.filters.iter_mut().zip(&gu) {
                    for (tl, gl) in tu.iter_mut().zip(gj) {
                        tl.iter_mut().zip(gl).for_each(|(v, g)| *v -= eta * g);
                    }
                }
                for (tw, gj) in trial.inner_weights.iter_mut().zip(&gw1) {
                    tw.iter_mut().zip(gj).for_each(|(v, g)| *v -= eta * g);
                }
                trial
                    .output_weights
                    .iter_mut()
                    .zip(&gw2)
                    .for_each(|(v, g)| *v -= eta * g);
                if let Some(b) = trial.biases.as_mut() {
                    b.iter_mut()
                        .flatten()
                        .zip(gb.iter().flatten())
                        .for_each(|(v, g)| *v -= eta * g);
                }
                trial.project();
                let value = trial.objective(x, y, beta).total;
                if value < current {
                    *self = trial;
                    current = value;
                    accepted = true;
                    eta *= 2.0;
                    break;
                }
                eta *= 0.5;
            }
            if !accepted {
                break;
            }
        }
        self.objective(x, y, beta)
    }
}

#[cfg(test)]
mod tests;
