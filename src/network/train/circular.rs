//! Training of the circular CNN: seeded random initialisation, the gradient (through the
//! multilinear map `(a₁, …, b) ↦ a₁ ⊛ ⋯ ⊛ b`) and projected gradient descent keeping `‖a_{1j}‖₂ ≤ 1`
//! and the further circulant filters' operator norms `≤ 1`.

use super::MAX_BACKTRACKS;
use crate::network::{CircularCnn, Objective, dot, norm2, project_gain};
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
    /// A random `layers`-layer network (see [`CircularCnn::random`]) whose further circulant
    /// filters are Gaussian, projected to operator norm ≤ 1.
    pub fn random_deep(
        d: usize,
        m: usize,
        layers: usize,
        bias: bool,
        scale: f64,
        seed: u64,
    ) -> CircularCnn {
        let mut net = CircularCnn::random(d, m, bias, scale, seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(0x9e37_79b9));
        net.circulant_filters = (3..layers)
            .map(|_| {
                (0..m)
                    .map(|_| {
                        let a: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
                        project_gain(&a)
                    })
                    .collect()
            })
            .collect();
        net
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
            circulant_filters: Vec::new(),
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
            // g = a₁ ⊛ ⋯ ⊛ b is multilinear: ∂/∂f = corr(G, ⊛ of the other factors). With three
            // layers that is ∂/∂a = corr(G, b), ∂/∂b = corr(G, a).
            let factors: Vec<&[f64]> = std::iter::once(&self.inner_filters[j][..])
                .chain(self.circulant_filters.iter().map(|layer| &layer[j][..]))
                .chain(std::iter::once(&self.filters[j][..]))
                .collect();
            let others = |skip: usize| -> Vec<f64> {
                let mut rest = factors
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| k != skip)
                    .map(|(_, f)| f.to_vec());
                let first = rest.next().expect("at least two factors");
                rest.fold(first, |h, f| crate::network::circular_conv(&f, &h))
            };
            let last = factors.len() - 1;
            out.inner_filters[j] = correlate(&grad_g[j], &others(0));
            for (l, layer) in out.circulant_filters.iter_mut().enumerate() {
                layer[j] = correlate(&grad_g[j], &others(l + 1));
            }
            out.filters[j] = correlate(&grad_g[j], &others(last))
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

    /// `self − step · grad`, with every inner filter projected back onto `‖a‖ ≤ 1` and every
    /// further circulant filter onto operator norm ≤ 1.
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
            for (layer, g) in out
                .circulant_filters
                .iter_mut()
                .zip(&grad.circulant_filters)
            {
                axpy(&mut layer[j], &g[j]);
                layer[j] = project_gain(&layer[j]);
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
            for layers in [3, 5] {
                let net = CircularCnn::random_deep(d, 3, layers, bias, 0.7, 5);
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
                    for l in 0..layers - 3 {
                        for k in 0..d {
                            check(g.circulant_filters[l][j][k], &|n, s| {
                                n.circulant_filters[l][j][k] += s
                            });
                        }
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

    #[test]
    fn projection_clips_every_gain_and_keeps_small_ones() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for d in [1, 2, 5, 8] {
            let a: Vec<f64> = (0..d)
                .map(|_| -> f64 { 2.0 * Distribution::<f64>::sample(&StandardNormal, &mut rng) })
                .collect();
            let p = project_gain(&a);
            assert!(crate::network::max_gain(&p) <= 1.0 + 1e-12, "d = {d}");
            // Already feasible: unchanged.
            let q = project_gain(&p);
            for (u, v) in p.iter().zip(&q) {
                assert!((u - v).abs() < 1e-12, "{u} vs {v}");
            }
        }
    }
}
