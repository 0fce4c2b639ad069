//! A two-layer CNN (ReLU or linear activation, optional bias) with global or local average
//! pooling, evaluated by direct convolution.
//!
//! An independent forward pass (see [`super`]): the 4-D input `[n, C, H, W]` is convolved
//! directly by `conv.rs`, without patch matrices. Gradients, initialisation and gradient descent
//! are in `train/two_layer.rs`.
//!
//! With `m` filters `u_j ∈ ℝ^h` (`h = C·kh·kw`, flattened in (channel, row, col) order), optional
//! biases `b_j`, output weights `w_j`, activation `σ` (ReLU or identity) and `K` patch positions
//! (row-major over the output grid, top-left first, zero padding on both sides), the
//! pre-activation is `z_tjk = ⟨patch_k(x_t), u_j⟩ + b_j` (the bias is added at padded positions
//! too) and the network is
//!
//! ```text
//! global pooling:         f(x_t) = Σ_j w_j · s · Σ_k σ(z_tjk)              s = 1 (sum) or 1/K (average)
//! local average pooling:  f(x_t) = Σ_j w_j · Σ_a (1/|R_a|) Σ_{k ∈ R_a} σ(z_tjk)
//! global max pooling:     f(x_t) = Σ_j w_j · max_k σ(z_tjk)                 (every position, padded ones included)
//! ```
//!
//! where the windows `R_a` of `ph × pw` positions tile the output grid (a window that would hang
//! over the edge is clipped and averaged over the positions it has; problem files never ask for
//! one). The (unnormalized) training objective with weight decay `β` is
//!
//! ```text
//! ½ Σ_t (f(x_t) − y_t)²  +  (β/2) Σ_j (‖u_j‖₂² + b_j² + w_j²).
//! ```

use super::conv::Plan;
use super::{Network, Objective, dot};
use crate::geometry::{Activation, ConvGeometry, FilterNorm, Pooling};
use ndarray::{Array1, ArrayView1, ArrayView4};

/// A two-layer CNN with global or local pooling, evaluated by direct convolution
/// (docs/math.md §2, §4–§6).
///
/// With global pooling `f(x) = Σ_j w_j · s · Σ_k σ(⟨patch_k(x), u_j⟩ + b_j)` with
/// `u_j = filters[j]` (length `geometry.filter_len(channels)`, (channel, row, col) order),
/// `b_j = biases[j]` (0 without biases), `w_j = output_weights[j]` and `s = 1` (sum) or `1/K`
/// (average) for `K` patch positions (padded ones included, where the patch reads zeros but still
/// gets the bias); with max pooling `f(x) = Σ_j w_j · max_k σ(⟨patch_k(x), u_j⟩ + b_j)`; with
/// local average pooling `f(x) = Σ_j w_j Σ_a (1/|R_a|) Σ_{k ∈ R_a} σ(⟨patch_k(x), u_j⟩ + b_j)`
/// over `ph × pw` windows `R_a` tiling the output grid. The training objective is
/// `½ Σ_t (f(x_t) − y_t)² + (β/2) Σ_j (‖u_j‖₂² + b_j² + w_j²)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TwoLayerCnn {
    /// Kernel, stride and zero padding of the convolution.
    pub geometry: ConvGeometry,
    /// Global pooling after the ReLU (sets `s`).
    pub pooling: Pooling,
    /// Number of input channels `C`.
    pub channels: usize,
    /// The `m` first-layer filters `u_j`, each of length `C·kh·kw` in (channel, row, col) order.
    pub filters: Vec<Vec<f64>>,
    /// The `m` output weights `w_j`.
    pub output_weights: Vec<f64>,
    /// Hidden-layer activation (ReLU unless set).
    #[serde(default)]
    pub activation: Activation,
    /// One bias per filter, added to every patch's pre-activation (padded positions included);
    /// `None`: no biases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biases: Option<Vec<f64>>,
}

/// How the `K` activations of a filter are pooled: a global scale over every position, or
/// windows over the output grid.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pool {
    /// `s · Σ_k σ(z_k)`.
    Global(f64),
    /// `max_k σ(z_k)` (docs/math.md §5).
    Max,
    /// `Σ_a (1/|R_a|) Σ_{k ∈ R_a} σ(z_k)` with `ph × pw` windows over a `rows × cols` grid.
    Windows {
        rows: usize,
        cols: usize,
        ph: usize,
        pw: usize,
    },
}

impl Pool {
    /// The pooling `pooling` on a `rows × cols` grid of positions.
    pub(super) fn new(pooling: Pooling, rows: usize, cols: usize) -> Pool {
        match pooling {
            Pooling::Sum => Pool::Global(1.0),
            Pooling::Average => Pool::Global(1.0 / (rows * cols) as f64),
            Pooling::Max => Pool::Max,
            Pooling::LocalAverage { size: [ph, pw] } => Pool::Windows {
                rows,
                cols,
                ph: ph.max(1),
                pw: pw.max(1),
            },
        }
    }

    /// The factor by which the activation at position `k` enters the output: `s`, or `1/|R_a|`
    /// of the (clipped) window holding `k`.
    pub(super) fn coefficient(self, k: usize) -> f64 {
        match self {
            Pool::Global(s) => s,
            Pool::Max => 1.0,
            Pool::Windows { rows, cols, ph, pw } => {
                let (r, c) = (k / cols, k % cols);
                let r0 = r - r % ph;
                let c0 = c - c % pw;
                let height = (r0 + ph).min(rows) - r0;
                let width = (c0 + pw).min(cols) - c0;
                1.0 / (height * width) as f64
            }
        }
    }

    /// Pools the activations of pre-activations `z` laid out position-major (`z[k·m + j]`) into
    /// `pooled[j]` and returns the factor `φ` with which they enter the output,
    /// `f = φ · Σ_j w_j pooled[j]`: `pooled[j] = Σ_k σ(z_kj)` and `φ = s` for global pooling,
    /// `pooled[j] = Σ_a (1/|R_a|) Σ_{k ∈ R_a} σ(z_kj)` and `φ = 1` for windows.
    /// Max pooling: `pooled[j] = max_k σ(z_kj)`, `φ = 1`, and `argmax[j]` the first position
    /// attaining it (left alone by the other poolings).
    pub(super) fn apply(
        self,
        z: &[f64],
        m: usize,
        activation: Activation,
        pooled: &mut [f64],
        argmax: &mut [usize],
    ) -> f64 {
        match self {
            Pool::Max => {
                match activation {
                    Activation::Relu => max_pool_relu(z, m, pooled, argmax),
                    Activation::Linear => {
                        pooled.copy_from_slice(&z[..m]);
                        argmax.fill(0);
                        for (k, zk) in z.chunks_exact(m).enumerate().skip(1) {
                            for ((p, a), &v) in pooled.iter_mut().zip(argmax.iter_mut()).zip(zk) {
                                if v > *p || v.is_nan() {
                                    *p = v;
                                    *a = k;
                                }
                            }
                        }
                    }
                }
                1.0
            }
            Pool::Global(s) => {
                match activation {
                    Activation::Relu => pool_relu(z, m, pooled),
                    Activation::Linear => {
                        pooled.fill(0.0);
                        for zk in z.chunks_exact(m) {
                            for (p, &v) in pooled.iter_mut().zip(zk) {
                                *p += v;
                            }
                        }
                    }
                }
                s
            }
            Pool::Windows { rows, cols, ph, pw } => {
                pooled.fill(0.0);
                let mut window = vec![0.0; m];
                for r0 in (0..rows).step_by(ph) {
                    for c0 in (0..cols).step_by(pw) {
                        window.fill(0.0);
                        let (r1, c1) = ((r0 + ph).min(rows), (c0 + pw).min(cols));
                        for r in r0..r1 {
                            for c in c0..c1 {
                                let zk = &z[(r * cols + c) * m..][..m];
                                for (acc, &v) in window.iter_mut().zip(zk) {
                                    *acc += activation.apply(v);
                                }
                            }
                        }
                        let inv = 1.0 / ((r1 - r0) * (c1 - c0)) as f64;
                        for (p, acc) in pooled.iter_mut().zip(&window) {
                            *p += inv * acc;
                        }
                    }
                }
                1.0
            }
        }
    }
}

impl Activation {
    /// `σ(v)`; NaN propagates.
    fn apply(self, v: f64) -> f64 {
        match self {
            Activation::Relu => {
                if v < 0.0 {
                    0.0
                } else {
                    v
                }
            }
            Activation::Linear => v,
        }
    }

    /// `σ'(v)`, with the ReLU's derivative at 0 taken as 0.
    pub(super) fn derivative(self, v: f64) -> f64 {
        match self {
            Activation::Relu => {
                if v > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Linear => 1.0,
        }
    }
}

/// `pooled[j] = Σ_k (z[k·m + j])_+` for pre-activations laid out position-major.
fn pool_relu(z: &[f64], m: usize, pooled: &mut [f64]) {
    pooled.fill(0.0);
    for zk in z.chunks_exact(m) {
        for (p, &v) in pooled.iter_mut().zip(zk) {
            // NaN propagates (unlike `f64::max`).
            *p += if v < 0.0 { 0.0 } else { v };
        }
    }
}

/// `pooled[j] = max_k (z[k·m + j])_+` and `argmax[j]` = the first position attaining it (global
/// max pooling, docs/math.md §5), for pre-activations laid out position-major.
fn max_pool_relu(z: &[f64], m: usize, pooled: &mut [f64], argmax: &mut [usize]) {
    pooled.fill(0.0);
    argmax.fill(0);
    for (k, zk) in z.chunks_exact(m).enumerate() {
        for ((p, a), &v) in pooled.iter_mut().zip(argmax.iter_mut()).zip(zk) {
            let r = if v < 0.0 { 0.0 } else { v };
            // Strict `>` keeps the first position on ties; NaN propagates.
            if r > *p || r.is_nan() {
                *p = r;
                *a = k;
            }
        }
    }
}

impl TwoLayerCnn {
    /// Number of hidden filters `m`.
    pub fn width(&self) -> usize {
        self.filters.len()
    }

    /// Panics with a clear message on inconsistent shapes (the caller is expected to validate).
    pub(super) fn check_shapes(&self, x: &ArrayView4<f64>) {
        assert_eq!(
            self.filters.len(),
            self.output_weights.len(),
            "TwoLayerCnn: {} filters but {} output weights",
            self.filters.len(),
            self.output_weights.len()
        );
        if let Some(b) = &self.biases {
            assert_eq!(
                b.len(),
                self.filters.len(),
                "TwoLayerCnn: {} biases for {} filters",
                b.len(),
                self.filters.len()
            );
        }
        let h = self.geometry.filter_len(self.channels);
        for (j, u) in self.filters.iter().enumerate() {
            assert_eq!(
                u.len(),
                h,
                "TwoLayerCnn: filter {j} has length {} but C·kh·kw = {h}",
                u.len()
            );
        }
        if self.width() > 0 {
            assert_eq!(
                x.shape()[1],
                self.channels,
                "TwoLayerCnn: input has {} channels but the network expects {}",
                x.shape()[1],
                self.channels
            );
        }
    }

    /// Filters transposed to `ut[i·m + j] = u_j[i]` (an `h × m` row-major matrix).
    pub(super) fn transposed_filters(&self) -> Vec<f64> {
        let m = self.width();
        let h = self.geometry.filter_len(self.channels);
        let mut ut = vec![0.0; h * m];
        for (j, u) in self.filters.iter().enumerate() {
            for (i, &v) in u.iter().enumerate() {
                ut[i * m + j] = v;
            }
        }
        ut
    }

    /// `(β/2) Σ_j (‖(u_j, b_j)‖² + w_j²)` with the given filter norm: the bias joins the filter
    /// (`‖u‖₂² + b²` for ℓ2, `(‖u‖₁ + |b|)²` for ℓ1).
    pub fn regularizer_with_norm(&self, beta: f64, norm: FilterNorm) -> f64 {
        let u: f64 = self
            .filters
            .iter()
            .enumerate()
            .map(|(j, f)| match &self.biases {
                None => norm.of(f).powi(2),
                Some(b) => {
                    let mut ub = f.clone();
                    ub.push(b[j]);
                    norm.of(&ub).powi(2)
                }
            })
            .sum::<f64>();
        let w: f64 = self.output_weights.iter().map(|v| v * v).sum();
        0.5 * beta * (u + w)
    }

    /// Loss, regularizer and total with the given filter norm in the weight decay
    /// (docs/math.md §3: `(β/2) Σ_j (‖u_j‖₁² + w_j²)` for ℓ1).
    pub fn objective_with_norm(
        &self,
        x: ArrayView4<f64>,
        y: ArrayView1<f64>,
        beta: f64,
        norm: FilterNorm,
    ) -> Objective {
        let plain = self.objective(x, y, beta);
        Objective::new(plain.loss, self.regularizer_with_norm(beta, norm))
    }

    /// `(β/2) Σ_j (‖u_j‖₂² + b_j² + w_j²)`.
    pub(super) fn regularizer(&self, beta: f64) -> f64 {
        let sq: f64 = self
            .filters
            .iter()
            .flatten()
            .chain(&self.output_weights)
            .chain(self.biases.iter().flatten())
            .map(|v| v * v)
            .sum();
        0.5 * beta * sq
    }

    /// Outputs f(x_t) for every sample, by direct convolution.
    ///
    /// `f(x_t) = Σ_j w_j · s · Σ_k σ(⟨patch_k(x_t), u_j⟩ + b_j)` for global pooling (`s = 1` or
    /// `1/K`), `Σ_j w_j Σ_a (1/|R_a|) Σ_{k ∈ R_a} σ(⟨patch_k(x_t), u_j⟩ + b_j)` for local average
    /// pooling over windows `R_a` of the output grid, `Σ_j w_j max_k σ(…)` for max pooling; patches read zeros in the padding (and
    /// still get the bias). Returns zeros when the network has no filters or when the
    /// kernel does not fit the padded input (`K = 0`).
    ///
    /// # Panics
    /// If the filter/weight counts differ, a filter has the wrong length, or (for `m > 0`) the
    /// channel count of `x` differs from `self.channels`.
    pub fn forward(&self, x: ArrayView4<f64>) -> Array1<f64> {
        self.check_shapes(&x);
        let (n, c, height, width) = x.dim();
        let mut out = Array1::zeros(n);
        if self.width() == 0 || n == 0 {
            return out;
        }
        let Some(plan) = Plan::new(&self.geometry, c, height, width) else {
            return out;
        };
        let pool = Pool::new(self.pooling, plan.grid_rows, plan.grid_cols);
        let x = x.as_standard_layout();
        let data = x.as_slice().expect("standard layout is contiguous");
        let sample_len = c * height * width;
        let m = self.width();
        let k = plan.positions;
        let ut = self.transposed_filters();
        let mut z = vec![0.0; k * m];
        let mut pooled = vec![0.0; m];
        let mut argmax = vec![0; m];
        let mut entries = Vec::with_capacity(self.geometry.filter_len(c));
        for (t, f) in out.iter_mut().enumerate() {
            let xs = &data[t * sample_len..][..sample_len];
            plan.preactivations(xs, &ut, m, None, &mut entries, &mut z);
            self.add_biases(&mut z);
            let s = pool.apply(&z, m, self.activation, &mut pooled, &mut argmax);
            *f = s * dot(&pooled, &self.output_weights);
        }
        out
    }

    /// `z[k·m + j] += b_j` at every position.
    pub(super) fn add_biases(&self, z: &mut [f64]) {
        if let Some(b) = &self.biases {
            for zk in z.chunks_exact_mut(b.len()) {
                for (v, bj) in zk.iter_mut().zip(b) {
                    *v += bj;
                }
            }
        }
    }

    /// Loss, regularizer and total for targets y and weight decay beta (ℓ2 filter norm).
    ///
    /// `loss = ½ Σ_t (f(x_t) − y_t)²`, `regularizer = (β/2) Σ_j (‖u_j‖₂² + b_j² + w_j²)`,
    /// `total = loss + regularizer`. The regularizer is summed over all weights in one pass, so it
    /// can differ from [`TwoLayerCnn::objective_with_norm`] with ℓ2 (summed filter by filter) in
    /// the last bits; training uses this one.
    ///
    /// # Panics
    /// As [`TwoLayerCnn::forward`], and if `y.len()` differs from the number of samples.
    pub fn objective(&self, x: ArrayView4<f64>, y: ArrayView1<f64>, beta: f64) -> Objective {
        assert_eq!(
            y.len(),
            x.shape()[0],
            "TwoLayerCnn: {} targets for {} samples",
            y.len(),
            x.shape()[0]
        );
        let f = self.forward(x);
        let loss = 0.5
            * f.iter()
                .zip(y.iter())
                .map(|(f, y)| (f - y) * (f - y))
                .sum::<f64>();
        Objective::new(loss, self.regularizer(beta))
    }

    /// The same network with activation `activation`.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }
}

/// Delegates to the inherent methods; `objective_with_norm` keeps the two-layer CNN's sequential
/// loss sum.
impl Network for TwoLayerCnn {
    fn forward(&self, x: ArrayView4<f64>) -> Array1<f64> {
        TwoLayerCnn::forward(self, x)
    }

    fn width(&self) -> usize {
        TwoLayerCnn::width(self)
    }

    fn regularizer_with_norm(&self, beta: f64, norm: FilterNorm) -> f64 {
        TwoLayerCnn::regularizer_with_norm(self, beta, norm)
    }

    fn objective_with_norm(
        &self,
        x: ArrayView4<f64>,
        y: ArrayView1<f64>,
        beta: f64,
        norm: FilterNorm,
    ) -> Objective {
        TwoLayerCnn::objective_with_norm(self, x, y, beta, norm)
    }
}

#[cfg(test)]
mod tests;
