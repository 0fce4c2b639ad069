//! A three-layer ReLU CNN with two ReLU layers (docs/math.md §9), evaluated by direct
//! convolution.
//!
//! Like [`crate::network`], this is an *independent* reference implementation: it reads pixels of
//! the `[n, C, H, W]` input directly (no patch matrices, no pattern matrices, nothing shared with
//! [`crate::arch::three_layer`]), so it can check a decoded network and train comparison networks.
//!
//! Sub-network `j` has inner filters `u_{j1..jm₁ⱼ}` (length `h = C·kh·kw`, (channel, row, col) order),
//! inner weights `w₁ⱼ ∈ R^{m₁ⱼ}`, an output weight `w₂ⱼ` and, with a bias, inner biases `b_jl`:
//!
//! ```text
//! g_j(x) = Σ_l w₁ⱼₗ Σ_k (⟨patch_k(x), u_jl⟩ + b_jl)_+   (sum pooling over the K positions)
//! f(x)   = Σ_j w₂ⱼ (g_j(x))_+
//! F      = ½ Σ_t (f(x_t) − y_t)² + (β/2) Σ_j (‖w₁ⱼ‖² + w₂ⱼ²)     with ‖[U_j, b_j]‖_F ≤ 1
//! ```
//!
//! Padded positions get the bias too (the bias is a constant-1 entry of every patch).

use crate::geometry::ConvGeometry;
use crate::network::Objective;
use ndarray::{Array1, Array2, ArrayView1, ArrayView4};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A three-layer ReLU CNN: `m` sub-networks, each a sum-pooled two-layer CNN followed by a ReLU and
/// a scalar weight.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThreeLayerCnn {
    /// Kernel, stride and zero padding of the convolution.
    pub geometry: ConvGeometry,
    /// Input channels `C`.
    pub channels: usize,
    /// `filters[j][l]` = inner filter `u_jl`, length `C·kh·kw`.
    pub filters: Vec<Vec<Vec<f64>>>,
    /// `inner_weights[j][l]` = `w₁ⱼₗ`.
    pub inner_weights: Vec<Vec<f64>>,
    /// `output_weights[j]` = `w₂ⱼ`.
    pub output_weights: Vec<f64>,
    /// `biases[j][l]` = `b_jl` (inside the inner ReLU, constrained with `U_j`), if the network has
    /// a bias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biases: Option<Vec<Vec<f64>>>,
}

/// The value of every `⟨patch_k(x_t), u⟩ + b` for one filter: `acts[t][k]`, by direct
/// convolution.
fn convolve(x: ArrayView4<f64>, g: &ConvGeometry, u: &[f64], bias: f64) -> Vec<Vec<f64>> {
    let (n, c, hh, ww) = x.dim();
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let [ph, pw] = g.padding;
    // Output grid of the padded input.
    let rows = (hh + 2 * ph - kh) / sh + 1;
    let cols = (ww + 2 * pw - kw) / sw + 1;
    (0..n)
        .map(|t| {
            let mut out = Vec::with_capacity(rows * cols);
            for r in 0..rows {
                for q in 0..cols {
                    let mut v = bias;
                    for ch in 0..c {
                        for a in 0..kh {
                            let pr = (r * sh + a) as isize - ph as isize;
                            if pr < 0 || pr as usize >= hh {
                                continue;
                            }
                            for b in 0..kw {
                                let pc = (q * sw + b) as isize - pw as isize;
                                if pc < 0 || pc as usize >= ww {
                                    continue;
                                }
                                v += u[(ch * kh + a) * kw + b]
                                    * x[[t, ch, pr as usize, pc as usize]];
                            }
                        }
                    }
                    out.push(v);
                }
            }
            out
        })
        .collect()
}

/// `(a)_+`.
fn relu(a: f64) -> f64 {
    a.max(0.0)
}

impl ThreeLayerCnn {
    /// Number of sub-networks `m`.
    pub fn width(&self) -> usize {
        self.output_weights.len()
    }

    /// `b_jl` (0 without a bias).
    pub fn bias(&self, j: usize, l: usize) -> f64 {
        self.biases.as_ref().map_or(0.0, |b| b[j][l])
    }

    /// `g_j(x_t)` for every sub-network and sample: `[m, n]`, the input of the outer ReLU.
    pub fn subnetwork_preactivations(&self, x: ArrayView4<f64>) -> Array2<f64> {
        let n = x.dim().0;
        let mut g = Array2::<f64>::zeros((self.width(), n));
        for (j, (us, w1)) in self.filters.iter().zip(&self.inner_weights).enumerate() {
            for (l, (u, &w)) in us.iter().zip(w1).enumerate() {
                let b = self.bias(j, l);
                for (t, acts) in convolve(x, &self.geometry, u, b).iter().enumerate() {
                    g[[j, t]] += w * acts.iter().map(|&a| relu(a)).sum::<f64>();
                }
            }
        }
        g
    }

    /// `f(x_t)` for every sample.
    pub fn forward(&self, x: ArrayView4<f64>) -> Array1<f64> {
        let g = self.subnetwork_preactivations(x);
        let mut f = Array1::<f64>::zeros(x.dim().0);
        for (j, &w2) in self.output_weights.iter().enumerate() {
            for t in 0..f.len() {
                f[t] += w2 * relu(g[[j, t]]);
            }
        }
        f
    }

    /// `(β/2) Σ_j (‖w₁ⱼ‖² + w₂ⱼ²)`.
    pub fn regularizer(&self, beta: f64) -> f64 {
        let w1: f64 = self.inner_weights.iter().flatten().map(|v| v * v).sum();
        let w2: f64 = self.output_weights.iter().map(|v| v * v).sum();
        0.5 * beta * (w1 + w2)
    }

    /// Loss, regularizer and total.
    pub fn objective(&self, x: ArrayView4<f64>, y: ArrayView1<f64>, beta: f64) -> Objective {
        let r = self.forward(x) - y;
        let loss = 0.5 * r.dot(&r);
        let regularizer = self.regularizer(beta);
        Objective {
            loss,
            regularizer,
            total: loss + regularizer,
        }
    }

    /// `‖[U_j, b_j]‖_F` for every sub-network (`‖U_j‖_F` without a bias).
    pub fn frobenius_norms(&self) -> Vec<f64> {
        (0..self.width())
            .map(|j| {
                let u: f64 = self.filters[j].iter().flatten().map(|v| v * v).sum();
                let b: f64 = self
                    .biases
                    .as_ref()
                    .map_or(0.0, |b| b[j].iter().map(|v| v * v).sum());
                (u + b).sqrt()
            })
            .collect()
    }

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
    /// weights; the bias gradient is all zeros without a bias).
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
        // Pre-activations of every inner filter: acts[j][l][t][k].
        let acts: Vec<Vec<Vec<Vec<f64>>>> = self
            .filters
            .iter()
            .enumerate()
            .map(|(j, us)| {
                us.iter()
                    .enumerate()
                    .map(|(l, u)| convolve(x, &self.geometry, u, self.bias(j, l)))
                    .collect()
            })
            .collect();
        let pooled = |j: usize, l: usize, t: usize| -> f64 {
            acts[j][l][t].iter().map(|&a| relu(a)).sum::<f64>()
        };
        let m = self.width();
        let mut g = vec![vec![0.0; n]; m];
        for (j, gj) in g.iter_mut().enumerate() {
            for (l, &w) in self.inner_weights[j].iter().enumerate() {
                for (t, gt) in gj.iter_mut().enumerate() {
                    *gt += w * pooled(j, l, t);
                }
            }
        }
        let mut r = vec![0.0; n];
        for t in 0..n {
            r[t] = (0..m)
                .map(|j| self.output_weights[j] * relu(g[j][t]))
                .sum::<f64>()
                - y[t];
        }
        let value = 0.5 * r.iter().map(|v| v * v).sum::<f64>() + self.regularizer(beta);
        let [kh, kw] = self.geometry.kernel;
        let [sh, sw] = self.geometry.stride;
        let [ph, pw] = self.geometry.padding;
        let (_, c, hh, ww) = x.dim();
        let cols = (ww + 2 * pw - kw) / sw + 1;
        let mut gu: Vec<Vec<Vec<f64>>> = self
            .filters
            .iter()
            .map(|us| us.iter().map(|u| vec![0.0; u.len()]).collect())
            .collect();
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
        for j in 0..m {
            for t in 0..n {
                gw2[j] += r[t] * relu(g[j][t]);
                if g[j][t] <= 0.0 {
                    continue;
                }
                // ∂F/∂g_jt.
                let delta = r[t] * self.output_weights[j];
                for (l, &w) in self.inner_weights[j].iter().enumerate() {
                    gw1[j][l] += delta * pooled(j, l, t);
                    for (k, &a) in acts[j][l][t].iter().enumerate() {
                        if a <= 0.0 {
                            continue;
                        }
                        gb[j][l] += delta * w;
                        let (pr0, pc0) = ((k / cols) * sh, (k % cols) * sw);
                        for ch in 0..c {
                            for aa in 0..kh {
                                let pr = (pr0 + aa) as isize - ph as isize;
                                if pr < 0 || pr as usize >= hh {
                                    continue;
                                }
                                for b in 0..kw {
                                    let pc = (pc0 + b) as isize - pw as isize;
                                    if pc < 0 || pc as usize >= ww {
                                        continue;
                                    }
                                    gu[j][l][(ch * kh + aa) * kw + b] +=
                                        delta * w * x[[t, ch, pr as usize, pc as usize]];
                                }
                            }
                        }
                    }
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
            for _ in 0..60 {
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
mod tests {
    use super::*;
    use ndarray::Array4;

    fn data() -> (Array4<f64>, Array1<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut g = || -> f64 { StandardNormal.sample(&mut rng) };
        let x = Array4::from_shape_fn((4, 2, 3, 4), |_| g());
        let y = Array1::from_shape_fn(4, |_| g());
        (x, y)
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (x, y) = data();
        let geometry = ConvGeometry {
            kernel: [2, 2],
            stride: [1, 2],
            padding: [1, 0],
        };
        for bias in [false, true] {
            let net = ThreeLayerCnn::random_with_bias(geometry, 2, 3, 2, 1.0, 9, bias);
            assert_eq!(net.biases.is_some(), bias);
            check_gradient(&net, x.view(), y.view());
        }
    }

    fn check_gradient(net: &ThreeLayerCnn, x: ArrayView4<f64>, y: ArrayView1<f64>) {
        let beta = 0.3;
        let (v, gu, gw1, gw2, gb) = net.gradient(x, y, beta);
        assert!((v - net.objective(x, y, beta).total).abs() < 1e-12);
        let eps = 1e-6;
        let obj = |n: &ThreeLayerCnn| n.objective(x, y, beta).total;
        let mut worst: f64 = 0.0;
        for j in 0..3 {
            for l in 0..2 {
                if net.biases.is_some() {
                    let (mut a, mut b) = (net.clone(), net.clone());
                    a.biases.as_mut().unwrap()[j][l] += eps;
                    b.biases.as_mut().unwrap()[j][l] -= eps;
                    worst = worst.max(((obj(&a) - obj(&b)) / (2.0 * eps) - gb[j][l]).abs());
                } else {
                    assert_eq!(gb[j][l], 0.0);
                }
                for (i, &g) in gu[j][l].iter().enumerate() {
                    let (mut a, mut b) = (net.clone(), net.clone());
                    a.filters[j][l][i] += eps;
                    b.filters[j][l][i] -= eps;
                    worst = worst.max(((obj(&a) - obj(&b)) / (2.0 * eps) - g).abs());
                }
                let (mut a, mut b) = (net.clone(), net.clone());
                a.inner_weights[j][l] += eps;
                b.inner_weights[j][l] -= eps;
                worst = worst.max(((obj(&a) - obj(&b)) / (2.0 * eps) - gw1[j][l]).abs());
            }
            let (mut a, mut b) = (net.clone(), net.clone());
            a.output_weights[j] += eps;
            b.output_weights[j] -= eps;
            worst = worst.max(((obj(&a) - obj(&b)) / (2.0 * eps) - gw2[j]).abs());
        }
        assert!(worst < 1e-5, "largest gradient error {worst:e}");
    }

    #[test]
    fn projected_descent_lowers_the_objective_and_keeps_the_constraint() {
        let (x, y) = data();
        let geometry = ConvGeometry {
            kernel: [2, 2],
            stride: [1, 1],
            padding: [0, 0],
        };
        for bias in [false, true] {
            let mut net = ThreeLayerCnn::random_with_bias(geometry, 2, 4, 3, 0.5, 2, bias);
            let before = net.objective(x.view(), y.view(), 0.1).total;
            let after = net
                .train_projected_gd(x.view(), y.view(), 0.1, 200, 0.01)
                .total;
            assert!(after < before, "{after} !< {before}");
            for f in net.frobenius_norms() {
                assert!(f <= 1.0 + 1e-12, "‖[U, b]‖_F = {f}");
            }
        }
    }
}
