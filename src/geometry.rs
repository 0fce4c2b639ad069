//! Convolution geometry shared by patch extraction and the forward pass of a network.
//!
//! Every input is held as a 4-D array `[n, C, H, W]`; a 1-D signal `[n, C, L]` is stored with
//! `H = 1`, and its kernel, stride and padding have height 1 (formulations.md §0).

use serde::{Deserialize, Serialize};

/// Global pooling after the ReLU of a two-layer CNN (formulations.md §1; max pooling §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// `Σ_k (X_k u)_+` over all patch positions.
    Sum,
    /// `(1/K) Σ_k (X_k u)_+`.
    Average,
    /// `max_k (X_k u)_+` per sample (formulations.md §4, global max pooling). Its patterns record
    /// one argmax patch per sample instead of a sign per patch ([`crate::arrangement::max_pool`]).
    Max,
}

impl Pooling {
    /// The pooling scale `s` of formulations.md §1 for `k` patch positions. Max pooling has
    /// `s = 1`: its pattern matrices pick the argmax patch of each sample with weight 1.
    pub fn scale(self, k: usize) -> f64 {
        match self {
            Pooling::Sum | Pooling::Max => 1.0,
            Pooling::Average => 1.0 / k as f64,
        }
    }
}

/// Kernel, stride and zero padding of a convolution over `[C, H, W]` inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvGeometry {
    /// Kernel `[kh, kw]` (`kh = 1` for 1-D signals).
    pub kernel: [usize; 2],
    /// Stride `[sh, sw]`, each ≥ 1.
    pub stride: [usize; 2],
    /// Zero padding added on both sides `[ph, pw]`.
    pub padding: [usize; 2],
}

impl ConvGeometry {
    /// Number of patch positions `(rows, cols)` for an input of spatial size `(h, w)`,
    /// or `None` when the kernel does not fit the padded input.
    pub fn grid(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let ph = h + 2 * self.padding[0];
        let pw = w + 2 * self.padding[1];
        if self.kernel[0] == 0 || self.kernel[1] == 0 || self.stride[0] == 0 || self.stride[1] == 0
        {
            return None;
        }
        if self.kernel[0] > ph || self.kernel[1] > pw {
            return None;
        }
        Some((
            (ph - self.kernel[0]) / self.stride[0] + 1,
            (pw - self.kernel[1]) / self.stride[1] + 1,
        ))
    }

    /// Filter length `h = C·kh·kw`.
    pub fn filter_len(&self, channels: usize) -> usize {
        channels * self.kernel[0] * self.kernel[1]
    }
}

/// The filter norm in the weight decay (formulations.md §2): `(β/2) Σ_j (‖u_j‖² + w_j²)` with the
/// ℓ2 norm (the default) or the ℓ1 norm, which makes the convex program a QP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterNorm {
    /// `‖u‖₂`: group-ℓ2 regularizer, second-order cones.
    #[default]
    L2,
    /// `‖u‖₁`: ℓ1 regularizer, linear constraints only.
    L1,
}

impl FilterNorm {
    /// The norm of `v`.
    pub fn of(self, v: &[f64]) -> f64 {
        match self {
            FilterNorm::L2 => v.iter().map(|a| a * a).sum::<f64>().sqrt(),
            FilterNorm::L1 => v.iter().map(|a| a.abs()).sum(),
        }
    }
}
