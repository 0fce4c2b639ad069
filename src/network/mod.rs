//! The networks cvxcnn trains, run forward on their own: the two-layer CNN ([`TwoLayerCnn`],
//! `docs/math.md` §2–§6), the three-layer circular CNN ([`CircularCnn`], §8) and the three-layer
//! CNN with two ReLU layers ([`ThreeLayerCnn`], §9).
//!
//! **Independent forward pass.** Everything here evaluates a network from its weights and the raw
//! input `[n, C, H, W]` alone: the convolutional networks read pixels by direct convolution
//! (`conv.rs`) and never build the patch matrices `X_k`, sign patterns or `A_i` of the convex
//! formulation; the circular network evaluates `a ⊛ b` by its defining sum, not by a DFT. This
//! module imports nothing above [`crate::geometry`] and [`crate::error`], so a decoded network's
//! objective computed here is a check on the convex program, not a restatement of it.
//!
//! All three networks implement [`Network`] (outputs, width, weight decay and the training
//! objective `½ Σ_t (f(x_t) − y_t)² + R_β(θ)`). Their gradients, random initialisation and
//! (projected) gradient descent — used to train nonconvex comparison networks — live apart in
//! `train/`, as further `impl` blocks of the same types.
//!
//! Every item is reached as `crate::network::Item`; the files below are private.

mod circular;
mod conv;
pub mod state_dict;
mod three_layer;
mod train;
mod two_layer;
mod weights;

pub use circular::{CircularCnn, circular_conv, gains, max_gain, project_gain};
pub use three_layer::ThreeLayerCnn;
pub use train::two_layer::Gradient;
pub use two_layer::TwoLayerCnn;
pub use weights::Weights;

use crate::geometry::FilterNorm;
use ndarray::{Array1, ArrayView1, ArrayView4};

/// Loss and regularizer reported separately.
///
/// `loss = ½ Σ_t (f(x_t) − y_t)²`, `regularizer` = the network's weight decay `R_β(θ)` (for the
/// two-layer CNN `(β/2) Σ_j (‖u_j‖² + w_j²)`; see each network), `total = loss + regularizer`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Objective {
    /// Squared-error loss `½ Σ_t (f(x_t) − y_t)²`.
    pub loss: f64,
    /// Weight decay `R_β(θ)`, e.g. `(β/2) Σ_j (‖u_j‖₂² + w_j²)`.
    pub regularizer: f64,
    /// `loss + regularizer`.
    pub total: f64,
}

impl Objective {
    /// `{loss, regularizer, total: loss + regularizer}`.
    pub fn new(loss: f64, regularizer: f64) -> Self {
        Self {
            loss,
            regularizer,
            total: loss + regularizer,
        }
    }
}

/// A scalar-output network evaluated by its own forward pass (see the module documentation).
///
/// The implementations delegate to each network's inherent methods, which stay for callers that
/// know the type (`forward`, `width`, and the ℓ2 `objective(x, y, β)` training uses). The
/// norm-taking methods are named `…_with_norm` so that they do not collide with that inherent
/// `objective`. One collision remains: [`CircularCnn`]'s inherent `forward` takes `[n, d]` rows
/// and method-call syntax picks it first, so call this trait's as `Network::forward(&net, x)`.
pub trait Network {
    /// Outputs `f(x_t)` for every sample of `x = [n, C, H, W]` (signals `[n, C, 1, L]`; the
    /// circular network takes its length-`d` signals as `[n, 1, 1, d]`).
    fn forward(&self, x: ArrayView4<f64>) -> Array1<f64>;

    /// Number of outermost neurons: filters `m` of the two-layer CNN, neurons of the circular one,
    /// sub-networks of the three-layer one.
    fn width(&self) -> usize;

    /// The weight decay `R_β(θ)` with filter norm `norm` in it (`docs/math.md` §3): for the
    /// two-layer CNN `(β/2) Σ_j (‖(u_j, b_j)‖² + w_j²)`. The ℓ1 norm is defined for the two-layer
    /// CNN only (problem files refuse it for the others).
    ///
    /// # Panics
    /// [`CircularCnn`] and [`ThreeLayerCnn`] panic on [`FilterNorm::L1`].
    fn regularizer_with_norm(&self, beta: f64, norm: FilterNorm) -> f64;

    /// Loss, regularizer and total: `½ Σ_t (f(x_t) − y_t)² + R_β(θ)`.
    ///
    /// The provided method sums the loss as `½ rᵀr` with ndarray's `dot` (as the circular and
    /// three-layer networks always have); [`TwoLayerCnn`] overrides it to keep its own sequential
    /// sum, so every network's objective stays bit-for-bit what it was.
    ///
    /// # Panics
    /// As [`Network::forward`] and [`Network::regularizer_with_norm`], and if `y.len()` differs
    /// from the number of samples (the provided method broadcasts a single target).
    fn objective_with_norm(
        &self,
        x: ArrayView4<f64>,
        y: ArrayView1<f64>,
        beta: f64,
        norm: FilterNorm,
    ) -> Objective {
        let r = self.forward(x) - y;
        Objective::new(0.5 * r.dot(&r), self.regularizer_with_norm(beta, norm))
    }
}

/// `Σ_i a_i b_i`, summed left to right.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `Σ_i v_i²`, summed left to right.
fn sum_of_squares<'a>(v: impl IntoIterator<Item = &'a f64>) -> f64 {
    v.into_iter().map(|x| x * x).sum()
}

/// `‖v‖₂`.
fn norm2(v: &[f64]) -> f64 {
    sum_of_squares(v).sqrt()
}

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
