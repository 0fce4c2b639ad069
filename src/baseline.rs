//! The nonconvex baseline: the two-layer CNN of docs/math.md §2 trained directly, the way a
//! practitioner would, by Adam (default) or SGD with heavy-ball momentum on
//!
//! ```text
//! F(u, w) = ½ Σ_t (f(x_t) − y_t)² + (β/2) Σ_j (‖u_j‖² + w_j²)
//! ```
//!
//! with the problem's filter norm (`‖u_j‖₁²` for `"filter_norm": "l1"`, whose gradient
//! `β‖u_j‖₁ sign(u_j)` is a subgradient where an entry is zero). Gradients come from the independent
//! direct-convolution network of [`crate::network`], and so does every reported objective.
//!
//! Whatever it returns is a real network whose objective was computed by a forward pass, so by
//! docs/math.md §2 (fact 2) it can never be below the exact-mode convex optimum; it is reported to
//! show how far a local method stops from the certified optimum.
//!
//! **Determinism.** The initial network comes from [`TwoLayerCnn::random`] with the given seed; the
//! minibatch order from a ChaCha8 generator seeded with the same seed; the forward and backward
//! passes run sequentially. The same options therefore give a bit-identical network, objective and
//! trace — except that a time limit cuts the same trajectory at a clock-dependent step.

use crate::geometry::FilterNorm;
use crate::network::{Objective, TwoLayerCnn};
use crate::problem::{Architecture, Problem, Task};
use ndarray::{Array1, Array4, ArrayView1, ArrayView4, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;

/// Adam's first-moment decay.
const ADAM_BETA1: f64 = 0.9;
/// Adam's second-moment decay.
const ADAM_BETA2: f64 = 0.999;
/// Adam's denominator guard, relative to the root mean square of the first gradient (so it does not
/// depend on the scale of the data).
const ADAM_EPS_REL: f64 = 1e-10;
/// Momentum of SGD.
const MOMENTUM: f64 = 0.9;
/// An evaluation "improves" when it lowers the best objective by more than this, relatively.
const IMPROVEMENT: f64 = 1e-9;
/// Stream constant separating the minibatch shuffle from the initialisation stream of the same seed.
const SHUFFLE_STREAM: u64 = 0x5eed_5417_f1e5_0001;

/// Which first-order method trains the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    /// Adam (Kingma & Ba 2015) with `β₁ = 0.9`, `β₂ = 0.999` and bias correction.
    Adam,
    /// SGD with heavy-ball momentum 0.9: `v ← 0.9 v + g`, `θ ← θ − η v`.
    Momentum,
}

/// Options of [`train`].
#[derive(Debug, Clone, Serialize)]
pub struct BaselineOptions {
    /// Hidden filters `m`.
    pub width: usize,
    /// Seed of the initial network and of the minibatch order.
    pub seed: u64,
    /// The method.
    pub optimizer: Optimizer,
    /// Step size, relative: Adam's step is `learning_rate · rms(θ₀)` (Adam moves every coordinate by
    /// about its step size); SGD's is `learning_rate · rms(θ₀) / rms(∇F(θ₀))`.
    pub learning_rate: f64,
    /// Samples per step; `None` is full batch (plain deterministic descent of `F`). A minibatch
    /// gradient of the loss is scaled by `n / batch` so it estimates the full one.
    pub batch_size: Option<usize>,
    /// Optimizer steps at most.
    pub max_iter: usize,
    /// Wall-clock cap in seconds (checked at every evaluation).
    pub time_limit: f64,
    /// Steps between evaluations of the full objective (each one a forward pass over all samples and
    /// one trace point).
    pub evaluate_every: usize,
    /// Evaluations without improvement of the best objective before the step size is halved.
    pub patience: usize,
    /// Training stops ([`BaselineStatus::Stalled`]) once the step size has been halved below
    /// `min_step_factor` times its start.
    pub min_step_factor: f64,
    /// Diverged when the objective is not finite or exceeds `divergence_factor` times the initial one.
    pub divergence_factor: f64,
}

impl Default for BaselineOptions {
    fn default() -> Self {
        Self {
            width: 16,
            seed: 0,
            optimizer: Optimizer::Adam,
            learning_rate: 0.02,
            batch_size: None,
            max_iter: 20_000,
            time_limit: f64::INFINITY,
            evaluate_every: 10,
            patience: 10,
            min_step_factor: 1e-3,
            divergence_factor: 1e6,
        }
    }
}

impl BaselineOptions {
    /// Checks the options once; the message names the bad value.
    pub fn check(&self) -> Result<(), String> {
        if self.width == 0 {
            return Err("width 0: the network needs at least one filter".into());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(format!(
                "learning rate {}: give a positive number",
                self.learning_rate
            ));
        }
        if self.max_iter == 0 {
            return Err("max_iter 0: give at least 1 step".into());
        }
        if self.batch_size == Some(0) {
            return Err("batch size 0: give at least 1 (or full batch)".into());
        }
        if self.evaluate_every == 0 {
            return Err("evaluate_every 0: give at least 1".into());
        }
        if self.time_limit.is_nan() || self.time_limit <= 0.0 {
            return Err(format!(
                "time limit {}: give a positive number",
                self.time_limit
            ));
        }
        if !(self.min_step_factor > 0.0 && self.min_step_factor < 1.0) {
            return Err(format!(
                "min_step_factor {}: give a number in (0, 1)",
                self.min_step_factor
            ));
        }
        if self.divergence_factor.is_nan() || self.divergence_factor <= 1.0 {
            return Err(format!(
                "divergence_factor {}: give a number above 1",
                self.divergence_factor
            ));
        }
        Ok(())
    }
}

/// How training stopped. None of these means "optimal": a local method has no certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineStatus {
    /// No improvement even at `min_step_factor` times the starting step: a (local) stationary
    /// point as far as this method can tell.
    Stalled,
    /// `max_iter` steps taken.
    MaxIterations,
    /// `time_limit` reached.
    MaxTime,
    /// The objective became non-finite or exploded: the step size is too large. No objective is
    /// reported.
    Diverged,
}

impl BaselineStatus {
    /// The snake_case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            BaselineStatus::Stalled => "stalled",
            BaselineStatus::MaxIterations => "max_iterations",
            BaselineStatus::MaxTime => "max_time",
            BaselineStatus::Diverged => "diverged",
        }
    }
}

/// One evaluation of the full objective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BaselinePoint {
    /// Seconds since the start of training.
    pub seconds: f64,
    /// Optimizer steps so far.
    pub iterations: usize,
    /// Objective `F` of the current network (not the best one), from a forward pass.
    pub objective: f64,
}

/// Result of [`train`].
#[derive(Debug, Clone)]
pub struct BaselineResult {
    /// The best network seen (lowest objective over all evaluations). After divergence it is the
    /// best network before it, kept for inspection only.
    pub network: TwoLayerCnn,
    /// Objective of `network` from its forward pass; `None` when training diverged.
    pub objective: Option<Objective>,
    /// Objective of the initial network.
    pub initial: Objective,
    /// How training stopped.
    pub status: BaselineStatus,
    /// Optimizer steps taken.
    pub iterations: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The step size at the start (absolute, after the relative scaling of the options).
    pub step0: f64,
    /// The step size at the end.
    pub step: f64,
    /// One point at the start and at every evaluation.
    pub trace: Vec<BaselinePoint>,
}

/// The initial network: [`TwoLayerCnn::random`] with unit scale and `seed`, then every filter and
/// output weight multiplied by the same `α > 0` so the initial outputs have half the norm of the
/// targets (`‖f‖ = ½‖y‖`; the network is 2-homogeneous in `α`, so this is one square root). A
/// network whose outputs are all zero is left at `α = 1/√h`.
///
/// # Errors
/// For an architecture other than `two_layer` (the baseline trains the two-layer CNN only).
pub fn initial_network(problem: &Problem, width: usize, seed: u64) -> Result<TwoLayerCnn, String> {
    let Architecture::TwoLayer {
        geometry,
        pooling,
        activation,
        bias,
    } = problem.architecture
    else {
        return Err(format!(
            "{}: the nonconvex baseline trains the two-layer CNN only; this problem's architecture \
             is another kind (use \"kind\": \"two_layer\" to compare against SGD)",
            problem.source.display()
        ));
    };
    let channels = problem.x.dim().1;
    if bias {
        return Err(format!(
            "{}: the nonconvex baseline does not train biases yet; drop \"bias\" to compare \
             against SGD (solve and certify take it)",
            problem.source.display()
        ));
    }
    let mut net = TwoLayerCnn::random(geometry, pooling, channels, width, 1.0, seed)
        .with_activation(activation);
    let f = net.forward(problem.x.view());
    let nf = f.dot(&f).sqrt();
    let ny = problem.y.dot(&problem.y).sqrt();
    let alpha = if nf > 0.0 && ny > 0.0 && nf.is_finite() {
        (0.5 * ny / nf).sqrt()
    } else {
        1.0 / (geometry.filter_len(channels).max(1) as f64).sqrt()
    };
    for v in net
        .filters
        .iter_mut()
        .flatten()
        .chain(net.output_weights.iter_mut())
    {
        *v *= alpha;
    }
    Ok(net)
}

/// Parameters flattened as `[u_1 … u_m, w]`.
fn flatten(net: &TwoLayerCnn) -> Vec<f64> {
    net.filters
        .iter()
        .flatten()
        .chain(&net.output_weights)
        .copied()
        .collect()
}

fn unflatten(theta: &[f64], net: &mut TwoLayerCnn) {
    let mut it = theta.iter();
    for v in net
        .filters
        .iter_mut()
        .flatten()
        .chain(net.output_weights.iter_mut())
    {
        // `theta` was made by `flatten` of a network of the same shape.
        *v = *it.next().expect("parameter count matches");
    }
}

fn rms(v: &[f64]) -> f64 {
    (v.iter().map(|a| a * a).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

/// Gradient of `F` at `net` on the samples `(x, y)`, the loss part scaled by `scale`, flattened like
/// [`flatten`]. The regularizer's gradient is `β u_j` (ℓ2) or `β ‖u_j‖₁ sign(u_j)` (ℓ1), and `β w_j`.
fn gradient(
    net: &TwoLayerCnn,
    x: ArrayView4<f64>,
    y: ArrayView1<f64>,
    scale: f64,
    beta: f64,
    norm: FilterNorm,
) -> Vec<f64> {
    let (gu, gw) = net.gradient(x, y, 0.0);
    let mut g = Vec::with_capacity(gw.len() * (1 + gu.first().map_or(0, Vec::len)));
    for (gu_j, u_j) in gu.iter().zip(&net.filters) {
        match norm {
            FilterNorm::L2 => g.extend(gu_j.iter().zip(u_j).map(|(d, u)| scale * d + beta * u)),
            FilterNorm::L1 => {
                let l1: f64 = u_j.iter().map(|u| u.abs()).sum();
                g.extend(gu_j.iter().zip(u_j).map(|(d, u)| {
                    let sign = if *u > 0.0 {
                        1.0
                    } else if *u < 0.0 {
                        -1.0
                    } else {
                        0.0
                    };
                    scale * d + beta * l1 * sign
                }));
            }
        }
    }
    g.extend(
        gw.iter()
            .zip(&net.output_weights)
            .map(|(d, w)| scale * d + beta * w),
    );
    g
}

/// Trains the problem's network from [`initial_network`]. `progress(iterations, objective)` is
/// called at every evaluation (the library never prints).
///
/// # Errors
/// The message of [`BaselineOptions::check`] for invalid options.
pub fn train(
    problem: &Problem,
    options: &BaselineOptions,
    progress: &dyn Fn(usize, f64),
) -> Result<BaselineResult, String> {
    options.check()?;
    if problem.task != Task::Scalar {
        return Err(format!(
            "{}: the baseline trains one scalar network, but the problem is one-vs-rest; train \
             one class with \"binary\": {{\"positive\": [c], \"negative\": \"rest\"}}",
            problem.source.display()
        ));
    }
    let start = Instant::now();
    let (x, y, beta, norm) = (
        problem.x.view(),
        problem.y.view(),
        problem.beta,
        problem.filter_norm,
    );
    let n = y.len();
    let objective_of = |net: &TwoLayerCnn| net.objective_with_norm(x, y, beta, norm);

    let mut net = initial_network(problem, options.width, options.seed)?;
    let initial = objective_of(&net);
    let mut theta = flatten(&net);
    let mut best = (initial, net.clone());
    let mut trace = vec![BaselinePoint {
        seconds: start.elapsed().as_secs_f64(),
        iterations: 0,
        objective: initial.total,
    }];
    progress(0, initial.total);

    let batch = options.batch_size.unwrap_or(n).min(n).max(1);
    let full_batch = batch == n;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ SHUFFLE_STREAM);
    let mut order: Vec<usize> = (0..n).collect();
    let mut cursor = n; // reshuffle before the first minibatch
    let mut batch_x: Array4<f64> = Array4::zeros((0, 0, 0, 0));
    let mut batch_y: Array1<f64> = Array1::zeros(0);

    let mut next_gradient = |net: &TwoLayerCnn| -> Vec<f64> {
        if full_batch {
            return gradient(net, x, y, 1.0, beta, norm);
        }
        if cursor + batch > n {
            order.shuffle(&mut rng);
            cursor = 0;
        }
        let idx = &order[cursor..cursor + batch];
        cursor += batch;
        batch_x = x.select(Axis(0), idx);
        batch_y = y.select(Axis(0), idx);
        gradient(
            net,
            batch_x.view(),
            batch_y.view(),
            n as f64 / batch as f64,
            beta,
            norm,
        )
    };

    let g0 = next_gradient(&net);
    let theta_rms = rms(&theta).max(f64::MIN_POSITIVE);
    let step0 = match options.optimizer {
        Optimizer::Adam => options.learning_rate * theta_rms,
        Optimizer::Momentum => options.learning_rate * theta_rms / rms(&g0).max(f64::MIN_POSITIVE),
    };
    let eps = ADAM_EPS_REL * rms(&g0).max(f64::MIN_POSITIVE);
    let mut step = step0;
    let mut m1 = vec![0.0; theta.len()];
    let mut m2 = vec![0.0; theta.len()];
    let (mut b1t, mut b2t) = (1.0, 1.0);
    let mut g = g0;
    let mut since_improvement = 0;
    let mut iterations: usize = 0;
    let limit = initial.total.abs().max(f64::MIN_POSITIVE) * options.divergence_factor;

    let status = loop {
        if iterations > 0 {
            g = next_gradient(&net);
        }
        match options.optimizer {
            Optimizer::Adam => {
                b1t *= ADAM_BETA1;
                b2t *= ADAM_BETA2;
                for (((t, gi), a), b) in theta.iter_mut().zip(&g).zip(&mut m1).zip(&mut m2) {
                    *a = ADAM_BETA1 * *a + (1.0 - ADAM_BETA1) * gi;
                    *b = ADAM_BETA2 * *b + (1.0 - ADAM_BETA2) * gi * gi;
                    let mhat = *a / (1.0 - b1t);
                    let vhat = *b / (1.0 - b2t);
                    *t -= step * mhat / (vhat.sqrt() + eps);
                }
            }
            Optimizer::Momentum => {
                for ((t, gi), v) in theta.iter_mut().zip(&g).zip(&mut m1) {
                    *v = MOMENTUM * *v + gi;
                    *t -= step * *v;
                }
            }
        }
        unflatten(&theta, &mut net);
        iterations += 1;

        let evaluate = iterations.is_multiple_of(options.evaluate_every)
            || iterations >= options.max_iter
            || theta.iter().any(|v| !v.is_finite());
        if !evaluate {
            continue;
        }
        let obj = objective_of(&net);
        trace.push(BaselinePoint {
            seconds: start.elapsed().as_secs_f64(),
            iterations,
            objective: obj.total,
        });
        progress(iterations, obj.total);
        if !obj.total.is_finite() || obj.total > limit {
            break BaselineStatus::Diverged;
        }
        if obj.total < best.0.total * (1.0 - IMPROVEMENT) - f64::MIN_POSITIVE {
            since_improvement = 0;
        } else {
            since_improvement += 1;
        }
        if obj.total < best.0.total {
            best = (obj, net.clone());
        }
        if since_improvement >= options.patience {
            step *= 0.5;
            since_improvement = 0;
            if step < options.min_step_factor * step0 {
                break BaselineStatus::Stalled;
            }
        }
        if iterations >= options.max_iter {
            break BaselineStatus::MaxIterations;
        }
        if start.elapsed().as_secs_f64() > options.time_limit {
            break BaselineStatus::MaxTime;
        }
    };
    let (best_obj, best_net) = best;
    Ok(BaselineResult {
        network: best_net,
        objective: (status != BaselineStatus::Diverged).then_some(best_obj),
        initial,
        status,
        iterations,
        seconds: start.elapsed().as_secs_f64(),
        step0,
        step,
        trace,
    })
}
