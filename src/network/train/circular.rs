//! Training of the circular CNN: seeded random initialisation, the gradient (through the bilinear
//! map `(a, b) ↦ a ⊛ b`) and projected gradient descent keeping `‖a_j‖₂ ≤ 1`.

use super::MAX_BACKTRACKS;
use crate::network::{CircularCnn, Objective, dot, norm2};
use ndarray::{ArrayView1, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// `Σ_k g[k] · b[(k − l) mod d]` for every `l`: the adjoint of `a ↦ a ⊛ b` applied to `g`.
fn correlate(g: &[f64], b: &[f64]) -> Vec<f64> {
    let d = g.len();
    (0..d)
        .map(|l| (0..d).map(|k| g[k] * b[(k + d - l) % d]).sum())
        .collect()
}

impl CircularCnn {
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
        let x = x.as_standard_layout();
        let mut grad_g = vec![vec![0.0; d]; m];
        let mut grad_w = vec![0.0; m];
        let mut grad_e = vec![0.0; m];
        for (t, row) in x.outer_iter().enumerate() {
            let row = row
                .as_slice()
                .expect("rows of a standard-layout array are contiguous");
            for j in 0..m {
                let pre = dot(row, &g[j]) + self.bias(j);
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
            for _ in 0..MAX_BACKTRACKS {
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
    use ndarray::{Array1, Array2};

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
