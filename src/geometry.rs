//! Convolution geometry shared by patch extraction and the forward pass of a network.
//!
//! Every input is held as a 4-D array `[n, C, H, W]`; a 1-D signal `[n, C, L]` is stored with
//! `H = 1`, and its kernel, stride and padding have height 1 (docs/math.md §1).

use serde::{Deserialize, Serialize};

/// Pooling after the activation of a two-layer CNN (docs/math.md §2 and §8).
///
/// Sum, average and local average pooling are linear in the activations `(X_k u)_+` with one
/// output weight per filter, so they are described by per-position weights `α_k`
/// ([`Pooling::patch_weights`]): `f = Σ_j w_j Σ_k α_k (X_k u_j)_+` and `A_i = Σ_k α_k D_i^k X_k`.
/// Max pooling is linear on each of its own (argmax) patterns, with `α_k = 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// `Σ_k (X_k u)_+` over all patch positions.
    Sum,
    /// `(1/K) Σ_k (X_k u)_+`.
    Average,
    /// `max_k (X_k u)_+` per sample (docs/math.md §5, global max pooling). Its patterns record
    /// one argmax patch per sample instead of a sign per patch ([`crate::arrangement::max_pool`]).
    Max,
    /// Average over non-overlapping windows of `size = [ph, pw]` patch positions that tile the
    /// grid of positions, then the sum over windows (one output weight per filter):
    /// `Σ_a (1/|R_a|) Σ_{k ∈ R_a} (X_k u)_+` (docs/math.md §5). The problem file refuses a
    /// size that does not divide the grid, so every window is full.
    LocalAverage {
        /// Window `[ph, pw]` in patch positions (`ph = 1` for 1-D signals).
        size: [usize; 2],
    },
}

impl Pooling {
    /// The name used in problem and result files.
    pub fn name(self) -> &'static str {
        match self {
            Pooling::Sum => "sum",
            Pooling::Average => "average",
            Pooling::Max => "max",
            Pooling::LocalAverage { .. } => "local_average",
        }
    }

    /// The per-position weights `α_k = Σ_a [k ∈ R_a]/|R_a|` of docs/math.md §5 on a grid of
    /// `rows × cols` patch positions (row-major, `K = rows·cols` entries). Global sum pooling is
    /// `α_k = 1`, global average `α_k = 1/K`; max pooling `α_k = 1` (its patterns pick the argmax
    /// patch of each sample, with weight 1). Local average pooling walks its windows (each of
    /// `ph·pw` positions, clipped to the grid if the size does not divide it — the problem file
    /// never lets that happen) and adds `1/|R_a|` to each position of window `a`.
    pub fn patch_weights(self, rows: usize, cols: usize) -> Vec<f64> {
        let k = rows * cols;
        match self {
            Pooling::Sum | Pooling::Max => vec![1.0; k],
            Pooling::Average => vec![1.0 / k as f64; k],
            Pooling::LocalAverage { size: [ph, pw] } => {
                let mut alpha = vec![0.0; k];
                let (ph, pw) = (ph.max(1), pw.max(1));
                for r0 in (0..rows).step_by(ph) {
                    for c0 in (0..cols).step_by(pw) {
                        let (r1, c1) = ((r0 + ph).min(rows), (c0 + pw).min(cols));
                        let share = 1.0 / ((r1 - r0) * (c1 - c0)) as f64;
                        for r in r0..r1 {
                            for c in c0..c1 {
                                alpha[r * cols + c] += share;
                            }
                        }
                    }
                }
                alpha
            }
        }
    }
}

/// The activation of the hidden layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `σ(z) = max(z, 0)`: the convex program runs over sign patterns (docs/math.md §2).
    #[default]
    Relu,
    /// `σ(z) = z`: the network is linear in its input and the program is one group-lasso block
    /// (docs/math.md §6).
    Linear,
}

impl Activation {
    /// The name used in problem and result files.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Linear => "linear",
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
        // Checked: a padding of 10¹⁹ in a problem file must be refused, not wrap around.
        let ph = self.padding[0].checked_mul(2)?.checked_add(h)?;
        let pw = self.padding[1].checked_mul(2)?.checked_add(w)?;
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

/// The filter norm in the weight decay (docs/math.md §3): `(β/2) Σ_j (‖u_j‖² + w_j²)` with the
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

    /// The dual norm of `v`: `max {vᵀu : ‖u‖ ≤ 1}` (ℓ2 for ℓ2, ℓ∞ for ℓ1).
    pub fn dual_of(self, v: &[f64]) -> f64 {
        match self {
            FilterNorm::L2 => v.iter().map(|a| a * a).sum::<f64>().sqrt(),
            FilterNorm::L1 => v.iter().fold(0.0_f64, |m, a| m.max(a.abs())),
        }
    }
}
