//! A three-layer ReLU CNN with two ReLU layers (docs/math.md §9), evaluated by direct
//! convolution.
//!
//! An independent forward pass (see [`super`]): the inner filters read the pixels of the
//! `[n, C, H, W]` input through `conv.rs` (no patch matrices, no pattern matrices, nothing shared
//! with the convex formulation), so it can check a decoded network. Gradients, initialisation and
//! projected gradient descent are in `train/three_layer.rs`.
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

use super::conv::Plan;
use super::{Network, Objective, sum_of_squares};
use crate::geometry::{ConvGeometry, FilterNorm};
use ndarray::{Array1, Array2, ArrayView1, ArrayView4, CowArray, Ix4};

/// A three-layer ReLU CNN: `m` sub-networks, each a sum-pooled two-layer CNN followed by a ReLU and
/// a scalar weight:
/// `f(x) = Σ_j w₂ⱼ (Σ_l w₁ⱼₗ Σ_k (⟨patch_k(x), u_jl⟩ + b_jl)_+)_+` (docs/math.md §9).
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

/// `(a)_+` (NaN becomes 0).
pub(super) fn relu(a: f64) -> f64 {
    a.max(0.0)
}

/// The inner convolution of every sub-network at once: all `M = Σ_j m₁ⱼ` inner filters, numbered
/// sub-network by sub-network (`index(j, l) = offsets[j] + l`).
pub(super) struct InnerConv<'a> {
    /// `None` when the kernel does not fit the padded input (`K = 0`).
    plan: Option<Plan>,
    /// `ut[i·M + index(j, l)] = u_jl[i]`.
    ut: Vec<f64>,
    /// `b_jl` at `index(j, l)`, when the network has a bias.
    start: Option<Vec<f64>>,
    /// The input in standard layout.
    data: CowArray<'a, f64, Ix4>,
    /// `C·H·W`.
    sample_len: usize,
    /// `M`.
    pub(super) filters: usize,
    /// `offsets[j]` = `Σ_{j' < j} m₁ⱼ'`.
    pub(super) offsets: Vec<usize>,
    /// Patch positions `K`.
    pub(super) positions: usize,
}

impl<'a> InnerConv<'a> {
    /// Prepares the convolution of `net`'s inner filters over `x`.
    ///
    /// # Panics
    /// If an inner filter's length is not `C·kh·kw` for the channel count `C` of `x`.
    pub(super) fn new(net: &ThreeLayerCnn, x: ArrayView4<'a, f64>) -> Self {
        let (_, c, height, width) = x.dim();
        let h = net.geometry.filter_len(c);
        let mut offsets = Vec::with_capacity(net.filters.len());
        let mut filters = 0;
        for us in &net.filters {
            offsets.push(filters);
            filters += us.len();
        }
        let mut ut = vec![0.0; h * filters];
        for (idx, u) in net.filters.iter().flatten().enumerate() {
            assert_eq!(
                u.len(),
                h,
                "ThreeLayerCnn: an inner filter has length {} but the input makes C·kh·kw = {h}",
                u.len()
            );
            for (i, &v) in u.iter().enumerate() {
                ut[i * filters + idx] = v;
            }
        }
        let start = net.biases.as_ref().map(|_| {
            (0..net.filters.len())
                .flat_map(|j| (0..net.filters[j].len()).map(move |l| (j, l)))
                .map(|(j, l)| net.bias(j, l))
                .collect()
        });
        let plan = Plan::new(&net.geometry, c, height, width);
        let data = if x.is_standard_layout() {
            CowArray::from(x)
        } else {
            CowArray::from(x.as_standard_layout().into_owned())
        };
        let positions = plan.as_ref().map_or(0, |p| p.positions);
        Self {
            plan,
            ut,
            start,
            data,
            sample_len: c * height * width,
            filters,
            offsets,
            positions,
        }
    }

    /// Sample `t`, flattened `[C, H, W]`.
    pub(super) fn sample(&self, t: usize) -> &[f64] {
        let data = self.data.as_slice().expect("standard layout is contiguous");
        &data[t * self.sample_len..][..self.sample_len]
    }

    /// `z[k·M + index(j, l)] = ⟨patch_k(x_t), u_jl⟩ + b_jl` for every position `k` (`z` of length
    /// `K·M`), summed from `b_jl` over the kernel entries inside the image.
    pub(super) fn preactivations(&self, t: usize, entries: &mut Vec<(usize, f64)>, z: &mut [f64]) {
        if let Some(plan) = &self.plan {
            let xs = self.sample(t);
            let start = self.start.as_deref();
            plan.preactivations(xs, &self.ut, self.filters, start, entries, z);
        }
    }

    /// `grad_t[i·M + idx] += Σ_k g[k·M + idx] · patch_k(x_t)[i]`, the adjoint of
    /// [`InnerConv::preactivations`] in the filters.
    pub(super) fn accumulate_adjoint(
        &self,
        t: usize,
        g: &[f64],
        entries: &mut Vec<(usize, f64)>,
        grad_t: &mut [f64],
    ) {
        if let Some(plan) = &self.plan {
            plan.accumulate_adjoint(self.sample(t), g, self.filters, entries, grad_t);
        }
    }

    /// `Σ_k (z[k·M + idx])_+`: the sum-pooled activation of inner filter `idx`.
    pub(super) fn pooled(&self, z: &[f64], idx: usize) -> f64 {
        (0..self.positions)
            .map(|k| relu(z[k * self.filters + idx]))
            .sum::<f64>()
    }
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
        let conv = InnerConv::new(self, x);
        let mut z = vec![0.0; conv.positions * conv.filters];
        let mut entries = Vec::new();
        for t in 0..n {
            conv.preactivations(t, &mut entries, &mut z);
            for (j, (us, w1)) in self.filters.iter().zip(&self.inner_weights).enumerate() {
                for (l, (_, &w)) in us.iter().zip(w1).enumerate() {
                    g[[j, t]] += w * conv.pooled(&z, conv.offsets[j] + l);
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
        let w1 = sum_of_squares(self.inner_weights.iter().flatten());
        let w2 = sum_of_squares(&self.output_weights);
        0.5 * beta * (w1 + w2)
    }

    /// Loss, regularizer and total.
    pub fn objective(&self, x: ArrayView4<f64>, y: ArrayView1<f64>, beta: f64) -> Objective {
        Network::objective_with_norm(self, x, y, beta, FilterNorm::L2)
    }

    /// `‖[U_j, b_j]‖_F` for every sub-network (`‖U_j‖_F` without a bias).
    pub fn frobenius_norms(&self) -> Vec<f64> {
        (0..self.width())
            .map(|j| {
                let u = sum_of_squares(self.filters[j].iter().flatten());
                let b = self.biases.as_ref().map_or(0.0, |b| sum_of_squares(&b[j]));
                (u + b).sqrt()
            })
            .collect()
    }
}

/// The filters enter the weight decay through no norm (they are constrained by
/// `‖[U_j, b_j]‖_F ≤ 1` instead), so only ℓ2 is accepted.
impl Network for ThreeLayerCnn {
    fn forward(&self, x: ArrayView4<f64>) -> Array1<f64> {
        ThreeLayerCnn::forward(self, x)
    }

    fn width(&self) -> usize {
        ThreeLayerCnn::width(self)
    }

    /// `(β/2) Σ_j (‖w₁ⱼ‖² + w₂ⱼ²)`.
    ///
    /// # Panics
    /// On [`FilterNorm::L1`] (problem files refuse it for three-layer networks).
    fn regularizer_with_norm(&self, beta: f64, norm: FilterNorm) -> f64 {
        assert_eq!(
            norm,
            FilterNorm::L2,
            "ThreeLayerCnn: the weight decay is defined with the ℓ2 norm only"
        );
        self.regularizer(beta)
    }
}

#[cfg(test)]
mod tests;
