//! A two-layer CNN (ReLU or linear activation, optional bias) with global or local average
//! pooling, evaluated by direct convolution.
//!
//! This module is an *independent* reference implementation of the network the convex program
//! describes (docs/math.md §2): it convolves the 4-D input `[n, C, H, W]` directly, without
//! building patch matrices and without sharing code with the convex formulation, so it can be
//! used to check a decoded network and to train nonconvex comparison networks by gradient descent.
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
//! ```
//!
//! global max pooling:   f(x_t) = Σ_j w_j · max_k σ(z_tjk)   (docs/math.md §5; every position, padded ones included)
//!
//! where the windows `R_a` of `ph × pw` positions tile the output grid (a window that would hang
//! over the edge is clipped and averaged over the positions it has; problem files never ask for
//! one). The (unnormalized) training objective with weight decay `β` is
//!
//! ```text
//! ½ Σ_t (f(x_t) − y_t)²  +  (β/2) Σ_j (‖u_j‖₂² + b_j² + w_j²).
//! ```

use crate::geometry::{Activation, ConvGeometry, FilterNorm, Pooling};
use ndarray::{Array1, ArrayView1, ArrayView4};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Sufficient-decrease constant `c` of the Armijo condition
/// `F(θ − η g) ≤ F(θ) − c η ‖g‖²` used by [`TwoLayerCnn::train_gd`].
const ARMIJO_C: f64 = 1e-4;

/// Number of filters whose pre-activations the forward pass accumulates together in registers.
const BLOCK: usize = 8;

/// Maximum number of step halvings per gradient-descent iteration before giving up.
const MAX_BACKTRACKS: usize = 60;

/// Loss and regularizer reported separately.
///
/// `loss = ½ Σ_t (f(x_t) − y_t)²`, `regularizer = (β/2) Σ_j (‖u_j‖₂² + w_j²)`,
/// `total = loss + regularizer`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Objective {
    /// Squared-error loss `½ Σ_t (f(x_t) − y_t)²`.
    pub loss: f64,
    /// Weight decay `(β/2) Σ_j (‖u_j‖₂² + w_j²)`.
    pub regularizer: f64,
    /// `loss + regularizer`.
    pub total: f64,
}

/// A two-layer CNN with global or local average pooling (see the module documentation).
///
/// With global pooling `f(x) = Σ_j w_j · s · Σ_k σ(⟨patch_k(x), u_j⟩ + b_j)` with
/// `u_j = filters[j]` (length `geometry.filter_len(channels)`, (channel, row, col) order),
/// `b_j = biases[j]` (0 without biases), `w_j = output_weights[j]` and `s = 1` (sum) or `1/K`
/// (average) for `K` patch positions; with max pooling
/// `f(x) = Σ_j w_j · max_k σ(⟨patch_k(x), u_j⟩ + b_j)`.
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

/// Gradient of the objective with respect to every parameter, shaped like the parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient {
    /// `∂/∂u_j`.
    pub filters: Vec<Vec<f64>>,
    /// `∂/∂w_j`.
    pub output_weights: Vec<f64>,
    /// `∂/∂b_j` (empty without biases).
    pub biases: Vec<f64>,
}

/// How the `K` activations of a filter are pooled: a global scale over every position, or
/// windows over the output grid.
#[derive(Debug, Clone, Copy)]
enum Pool {
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
    fn new(pooling: Pooling, rows: usize, cols: usize) -> Pool {
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
    fn coefficient(self, k: usize) -> f64 {
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
    fn apply(
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
    fn derivative(self, v: f64) -> f64 {
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

/// Index bookkeeping of a direct convolution over one `[C, H, W]` input.
///
/// Output position `(r, c)` covers the padded-input window with top-left corner
/// `(r·sh, c·sw)`; its kernel entry `(a, b)` reads the input pixel `(r·sh + a − ph, c·sw + b − pw)`
/// when that lies inside the image, and a zero of the padding otherwise.
///
/// All `m` filters are convolved at once: they are held transposed (`ut[i·m + j] = u_j[i]`),
/// and for every pixel a patch reads, its value is multiplied into a length-`m` row.
struct Plan {
    channels: usize,
    height: usize,
    width: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    ph: usize,
    pw: usize,
    grid_rows: usize,
    grid_cols: usize,
    positions: usize,
}

impl Plan {
    /// `None` when the kernel does not fit the padded input (no patch positions).
    fn new(geometry: &ConvGeometry, channels: usize, height: usize, width: usize) -> Option<Self> {
        let (grid_rows, grid_cols) = geometry.grid(height, width)?;
        let [kh, kw] = geometry.kernel;
        let [sh, sw] = geometry.stride;
        let [ph, pw] = geometry.padding;
        Some(Self {
            channels,
            height,
            width,
            kh,
            kw,
            sh,
            sw,
            ph,
            pw,
            grid_rows,
            grid_cols,
            positions: grid_rows * grid_cols,
        })
    }

    /// Calls `visit(k, entries)` for every patch position `k` (row-major), where `entries`
    /// lists `(i, v)` for every kernel entry `i = (ch·kh + a)·kw + b` of that patch whose pixel
    /// lies inside the image, `v` being the pixel's value in the flattened `[C, H, W]` sample
    /// `xs`. Entries in the zero padding are skipped, so
    /// `⟨patch_k(x), u⟩ = Σ_{(i, v) ∈ entries} v · u[i]`.
    #[inline]
    fn for_each_position(
        &self,
        xs: &[f64],
        entries: &mut Vec<(usize, f64)>,
        mut visit: impl FnMut(usize, &[(usize, f64)]),
    ) {
        for r in 0..self.grid_rows {
            let top = r * self.sh;
            let a_lo = self.ph.saturating_sub(top);
            let a_hi = self.kh.min((self.height + self.ph).saturating_sub(top));
            for c in 0..self.grid_cols {
                let left = c * self.sw;
                let b_lo = self.pw.saturating_sub(left);
                let b_hi = self.kw.min((self.width + self.pw).saturating_sub(left));
                entries.clear();
                if b_lo < b_hi {
                    for ch in 0..self.channels {
                        for a in a_lo..a_hi {
                            let row = (ch * self.height + top + a - self.ph) * self.width;
                            let pixels = &xs[row + left + b_lo - self.pw..][..b_hi - b_lo];
                            let first = (ch * self.kh + a) * self.kw + b_lo;
                            entries
                                .extend(pixels.iter().enumerate().map(|(di, &v)| (first + di, v)));
                        }
                    }
                }
                visit(r * self.grid_cols + c, entries);
            }
        }
    }

    /// Pre-activations `z[k·m + j] = ⟨patch_k(x), u_j⟩` of one sample `xs` (flattened
    /// `[C, H, W]`) for all positions `k` and filters `j`, by direct convolution with the
    /// transposed filters `ut[i·m + j] = u_j[i]`.
    fn preactivations(
        &self,
        xs: &[f64],
        ut: &[f64],
        m: usize,
        entries: &mut Vec<(usize, f64)>,
        z: &mut [f64],
    ) {
        self.for_each_position(xs, entries, |k, entries| {
            let zk = &mut z[k * m..][..m];
            // Blocks of BLOCK filters are accumulated in registers.
            let mut blocks = zk.chunks_exact_mut(BLOCK);
            let mut j0 = 0;
            for block in &mut blocks {
                let mut acc = [0.0; BLOCK];
                for &(i, v) in entries {
                    let u: &[f64; BLOCK] = ut[i * m + j0..][..BLOCK].try_into().unwrap();
                    for (a, uj) in acc.iter_mut().zip(u) {
                        *a += v * uj;
                    }
                }
                block.copy_from_slice(&acc);
                j0 += BLOCK;
            }
            let rest = blocks.into_remainder();
            if !rest.is_empty() {
                let len = rest.len();
                let mut acc = [0.0; BLOCK];
                for &(i, v) in entries {
                    for (a, uj) in acc[..len].iter_mut().zip(&ut[i * m + j0..][..len]) {
                        *a += v * uj;
                    }
                }
                for (zj, a) in rest.iter_mut().zip(&acc) {
                    *zj = *a;
                }
            }
        });
    }

    /// Adjoint of [`Plan::preactivations`]:
    /// `grad_t[i·m + j] += Σ_k g[k·m + j] · patch_k(x)[i]`.
    fn accumulate_adjoint(
        &self,
        xs: &[f64],
        g: &[f64],
        m: usize,
        entries: &mut Vec<(usize, f64)>,
        grad_t: &mut [f64],
    ) {
        self.for_each_position(xs, entries, |k, entries| {
            let gk = &g[k * m..][..m];
            if gk.iter().all(|&v| v == 0.0) {
                return;
            }
            for &(i, v) in entries {
                for (dj, gj) in grad_t[i * m..][..m].iter_mut().zip(gk) {
                    *dj += v * gj;
                }
            }
        });
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

/// `Σ_i a_i b_i`.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl TwoLayerCnn {
    /// Number of hidden filters `m`.
    fn width(&self) -> usize {
        self.filters.len()
    }

    /// Panics with a clear message on inconsistent shapes (the caller is expected to validate).
    fn check_shapes(&self, x: &ArrayView4<f64>) {
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
    fn transposed_filters(&self) -> Vec<f64> {
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
        let regularizer = self.regularizer_with_norm(beta, norm);
        Objective {
            loss: plain.loss,
            regularizer,
            total: plain.loss + regularizer,
        }
    }

    /// `(β/2) Σ_j (‖u_j‖₂² + b_j² + w_j²)`.
    fn regularizer(&self, beta: f64) -> f64 {
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
            plan.preactivations(xs, &ut, m, &mut entries, &mut z);
            self.add_biases(&mut z);
            let s = pool.apply(&z, m, self.activation, &mut pooled, &mut argmax);
            *f = s * dot(&pooled, &self.output_weights);
        }
        out
    }

    /// `z[k·m + j] += b_j` at every position.
    fn add_biases(&self, z: &mut [f64]) {
        if let Some(b) = &self.biases {
            for zk in z.chunks_exact_mut(b.len()) {
                for (v, bj) in zk.iter_mut().zip(b) {
                    *v += bj;
                }
            }
        }
    }

    /// Loss, regularizer and total for targets y and weight decay beta.
    ///
    /// `loss = ½ Σ_t (f(x_t) − y_t)²`, `regularizer = (β/2) Σ_j (‖u_j‖₂² + w_j²)`,
    /// `total = loss + regularizer`.
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
        let regularizer = self.regularizer(beta);
        Objective {
            loss,
            regularizer,
            total: loss + regularizer,
        }
    }

    /// Gradient of the total objective w.r.t. (filters, output_weights), same shapes. ReLU derivative at 0 taken as 0.
    ///
    /// With residuals `e_t = f(x_t) − y_t`, pre-activations `z_tjk = ⟨patch_k(x_t), u_j⟩ + b_j`
    /// and `c_k` the factor of position `k` in the pooling (`s` globally, `1/|R_a|` in a window):
    ///
    /// ```text
    /// ∂/∂u_j = Σ_t e_t · w_j · Σ_k c_k σ'(z_tjk) · patch_k(x_t)  +  β u_j
    /// ∂/∂b_j = Σ_t e_t · w_j · Σ_k c_k σ'(z_tjk)                 +  β b_j
    /// ∂/∂w_j = Σ_t e_t · Σ_k c_k σ(z_tjk)                        +  β w_j
    /// ```
    /// The bias part is returned by [`TwoLayerCnn::full_gradient`].
    ///
    /// Max pooling: a subgradient through the argmax, `Σ_k` replaced by the first position `κ_tj`
    /// attaining `max_k (z_tjk)_+` (`∂/∂u_j = Σ_t e_t w_j 1[z_tjκ > 0] patch_κ(x_t) + β u_j`); it is
    /// the gradient wherever the argmax is unique.
    ///
    ///
    /// # Panics
    /// As [`TwoLayerCnn::objective`].
    pub fn gradient(
        &self,
        x: ArrayView4<f64>,
        y: ArrayView1<f64>,
        beta: f64,
    ) -> (Vec<Vec<f64>>, Vec<f64>) {
        let (_, g) = self.value_and_gradient(x, y, beta);
        (g.filters, g.output_weights)
    }

    /// Gradient with respect to every parameter, biases included (see [`TwoLayerCnn::gradient`]).
    ///
    /// # Panics
    /// As [`TwoLayerCnn::objective`].
    pub fn full_gradient(&self, x: ArrayView4<f64>, y: ArrayView1<f64>, beta: f64) -> Gradient {
        self.value_and_gradient(x, y, beta).1
    }

    /// Objective and gradient in one pass over the data (see [`TwoLayerCnn::gradient`]).
    fn value_and_gradient(
        &self,
        x: ArrayView4<f64>,
        y: ArrayView1<f64>,
        beta: f64,
    ) -> (Objective, Gradient) {
        self.check_shapes(&x);
        let (n, c, height, width) = x.dim();
        assert_eq!(
            y.len(),
            n,
            "TwoLayerCnn: {} targets for {n} samples",
            y.len()
        );
        let m = self.width();
        let mut grad_u: Vec<Vec<f64>> = self
            .filters
            .iter()
            .map(|u| u.iter().map(|v| beta * v).collect())
            .collect();
        let mut grad_w: Vec<f64> = self.output_weights.iter().map(|w| beta * w).collect();
        let mut grad_b: Vec<f64> = self.biases.iter().flatten().map(|b| beta * b).collect();
        let regularizer = self.regularizer(beta);

        let plan = if m == 0 {
            None
        } else {
            Plan::new(&self.geometry, c, height, width)
        };
        let Some(plan) = plan else {
            // No filters or no patch positions: f ≡ 0.
            let loss = 0.5 * y.iter().map(|v| v * v).sum::<f64>();
            let objective = Objective {
                loss,
                regularizer,
                total: loss + regularizer,
            };
            let g = Gradient {
                filters: grad_u,
                output_weights: grad_w,
                biases: grad_b,
            };
            return (objective, g);
        };

        let k = plan.positions;
        let pool = Pool::new(self.pooling, plan.grid_rows, plan.grid_cols);
        let coefficient: Vec<f64> = (0..k).map(|kk| pool.coefficient(kk)).collect();
        let x = x.as_standard_layout();
        let data = x.as_slice().expect("standard layout is contiguous");
        let sample_len = c * height * width;
        let h = self.geometry.filter_len(self.channels);
        let ut = self.transposed_filters();
        let mut grad_t = vec![0.0; h * m];
        let mut z = vec![0.0; k * m];
        let mut g = vec![0.0; k * m];
        let mut pooled = vec![0.0; m];
        let mut argmax = vec![0; m];
        let mut ews = vec![0.0; m];
        let mut entries = Vec::with_capacity(h);
        let mut loss = 0.0;
        let max_pooling = matches!(self.pooling, Pooling::Max);
        for (t, &target) in y.iter().enumerate() {
            let xs = &data[t * sample_len..][..sample_len];
            plan.preactivations(xs, &ut, m, &mut entries, &mut z);
            self.add_biases(&mut z);
            let s = pool.apply(&z, m, self.activation, &mut pooled, &mut argmax);
            let e = s * dot(&pooled, &self.output_weights) - target;
            loss += 0.5 * e * e;
            if e == 0.0 {
                continue;
            }
            for (gw, p) in grad_w.iter_mut().zip(&pooled) {
                *gw += e * s * p;
            }
            // g[k·m + j] = e · w_j · c_k · σ'(z_kj) (max pooling: only at the argmax of j).
            for (ew, w) in ews.iter_mut().zip(&self.output_weights) {
                *ew = e * w;
            }
            for (k, ((gk, zk), &ck)) in g
                .chunks_exact_mut(m)
                .zip(z.chunks_exact(m))
                .zip(&coefficient)
                .enumerate()
            {
                for (((gj, &zj), &ew), &a) in gk.iter_mut().zip(zk).zip(&ews).zip(&argmax) {
                    let active = !max_pooling || a == k;
                    *gj = if active {
                        ew * ck * self.activation.derivative(zj)
                    } else {
                        0.0
                    };
                }
            }
            plan.accumulate_adjoint(xs, &g, m, &mut entries, &mut grad_t);
            if !grad_b.is_empty() {
                for gk in g.chunks_exact(m) {
                    for (gb, gj) in grad_b.iter_mut().zip(gk) {
                        *gb += gj;
                    }
                }
            }
        }
        for (j, gu) in grad_u.iter_mut().enumerate() {
            for (i, d) in gu.iter_mut().enumerate() {
                *d += grad_t[i * m + j];
            }
        }
        let objective = Objective {
            loss,
            regularizer,
            total: loss + regularizer,
        };
        let g = Gradient {
            filters: grad_u,
            output_weights: grad_w,
            biases: grad_b,
        };
        (objective, g)
    }

    /// m filters and weights with i.i.d. N(0, scale²) entries from `seed` (ChaCha8Rng::seed_from_u64, deterministic).
    ///
    /// `m = width`; each filter has `geometry.filter_len(channels)` entries. The stream is drawn
    /// filter by filter (entries in (channel, row, col) order), then the `m` output weights.
    pub fn random(
        geometry: ConvGeometry,
        pooling: Pooling,
        channels: usize,
        width: usize,
        scale: f64,
        seed: u64,
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let h = geometry.filter_len(channels);
        let mut draw = || -> f64 {
            let v: f64 = StandardNormal.sample(&mut rng);
            scale * v
        };
        let filters = (0..width)
            .map(|_| (0..h).map(|_| draw()).collect())
            .collect();
        let output_weights = (0..width).map(|_| draw()).collect();
        Self {
            geometry,
            pooling,
            channels,
            filters,
            output_weights,
            activation: Activation::Relu,
            biases: None,
        }
    }

    /// The same network with activation `activation`.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// The same network with one bias per filter, i.i.d. N(0, scale²) from `seed`
    /// (ChaCha8Rng::seed_from_u64, deterministic).
    pub fn with_random_biases(mut self, scale: f64, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        self.biases = Some(
            (0..self.width())
                .map(|_| {
                    let v: f64 = StandardNormal.sample(&mut rng);
                    scale * v
                })
                .collect(),
        );
        self
    }

    /// Plain full-batch gradient descent with a backtracking (Armijo) step so the objective never increases; returns the final objective. `steps` iterations at most, starting step `lr`.
    ///
    /// Each iteration computes `g = ∇F(θ)` and accepts `θ ← θ − η g` for the first
    /// `η ∈ {η₀, η₀/2, η₀/4, …}` (at most 60 halvings) with
    /// `F(θ − η g) ≤ F(θ) − 10⁻⁴ η ‖g‖²`; the next iteration starts from `η₀ ← 2η`. The first
    /// `η₀` is `lr`. Training stops early when the gradient is zero or non-finite, or when no
    /// step is accepted. A non-positive or non-finite `lr` leaves the network unchanged.
    ///
    /// # Panics
    /// As [`TwoLayerCnn::objective`].
    pub fn train_gd(
        &mut self,
        x: ArrayView4<f64>,
        y: ArrayView1<f64>,
        beta: f64,
        steps: usize,
        lr: f64,
    ) -> Objective {
        self.train_gd_recorded(x, y, beta, steps, lr, |_| {})
    }

    /// [`TwoLayerCnn::train_gd`], calling `record` with the starting objective and after every
    /// accepted step.
    fn train_gd_recorded(
        &mut self,
        x: ArrayView4<f64>,
        y: ArrayView1<f64>,
        beta: f64,
        steps: usize,
        lr: f64,
        mut record: impl FnMut(Objective),
    ) -> Objective {
        let mut current = self.objective(x, y, beta);
        record(current);
        if !(lr > 0.0 && lr.is_finite() && current.total.is_finite()) {
            return current;
        }
        let mut eta = lr;
        let mut trial = self.clone();
        for _ in 0..steps {
            let (_, grad) = self.value_and_gradient(x, y, beta);
            let (grad_u, grad_w, grad_b) = (&grad.filters, &grad.output_weights, &grad.biases);
            let gnorm2: f64 = grad_u
                .iter()
                .flatten()
                .chain(grad_w)
                .chain(grad_b)
                .map(|g| g * g)
                .sum();
            if !(gnorm2 > 0.0 && gnorm2.is_finite()) {
                break;
            }
            let mut accepted = None;
            for _ in 0..MAX_BACKTRACKS {
                for ((tu, u), gu) in trial.filters.iter_mut().zip(&self.filters).zip(grad_u) {
                    for ((tv, v), g) in tu.iter_mut().zip(u).zip(gu) {
                        *tv = v - eta * g;
                    }
                }
                for ((tw, w), g) in trial
                    .output_weights
                    .iter_mut()
                    .zip(&self.output_weights)
                    .zip(grad_w)
                {
                    *tw = w - eta * g;
                }
                if let (Some(tb), Some(b)) = (&mut trial.biases, &self.biases) {
                    for ((tb, b), g) in tb.iter_mut().zip(b).zip(grad_b) {
                        *tb = b - eta * g;
                    }
                }
                let candidate = trial.objective(x, y, beta);
                // NaN candidates fail the comparison and are backtracked.
                if candidate.total <= current.total - ARMIJO_C * eta * gnorm2 {
                    accepted = Some(candidate);
                    break;
                }
                eta *= 0.5;
            }
            let Some(candidate) = accepted else {
                break;
            };
            std::mem::swap(self, &mut trial);
            current = candidate;
            record(current);
            eta *= 2.0;
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array4, ShapeBuilder, array};

    fn geom(kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> ConvGeometry {
        ConvGeometry {
            kernel,
            stride,
            padding,
        }
    }

    fn net(
        geometry: ConvGeometry,
        pooling: Pooling,
        channels: usize,
        filters: Vec<Vec<f64>>,
        output_weights: Vec<f64>,
    ) -> TwoLayerCnn {
        TwoLayerCnn {
            geometry,
            pooling,
            channels,
            filters,
            output_weights,
            activation: Activation::Relu,
            biases: None,
        }
    }

    fn random_array(shape: (usize, usize, usize, usize), seed: u64) -> Array4<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array4::from_shape_simple_fn(shape, || StandardNormal.sample(&mut rng))
    }

    fn random_targets(n: usize, seed: u64) -> Array1<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array1::from_shape_simple_fn(n, || StandardNormal.sample(&mut rng))
    }

    /// The 3×3 image of the hand-computed examples.
    fn image_3x3() -> Array4<f64> {
        array![[[[1.0, -2.0, 3.0], [0.0, 4.0, -1.0], [2.0, 1.0, -3.0]]]]
    }

    fn assert_outputs(got: &Array1<f64>, want: &[f64], what: &str) {
        assert_eq!(
            got.len(),
            want.len(),
            "{what}: {} outputs, want {}",
            got.len(),
            want.len()
        );
        for (t, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                "{what}: f(x_{t}) = {g}, hand-computed {w}"
            );
        }
    }

    // Filters for the 2×2 kernel, entries (a,b) = (0,0),(0,1),(1,0),(1,1):
    //   u1 = [1, 2, −1, 1]:  z(r,c) = x[r,c] + 2x[r,c+1] − x[r+1,c] + x[r+1,c+1]
    //   u2 = [−1, 0, 0, 0]:  z(r,c) = −x[r,c]
    fn hand_filters() -> (Vec<Vec<f64>>, Vec<f64>) {
        (
            vec![vec![1.0, 2.0, -1.0, 1.0], vec![-1.0, 0.0, 0.0, 0.0]],
            vec![0.5, -1.5],
        )
    }

    #[test]
    fn forward_matches_hand_computation_for_2x2_kernel_stride_1_no_padding() {
        // u1: z = [1, −1; 7, −2] → Σ relu = 8.  u2: z = [−1, 2; 0, −4] → Σ relu = 2.
        // Sum: 0.5·8 − 1.5·2 = 1.  Average (K = 4): 1/4.
        let x = image_3x3();
        let (filters, weights) = hand_filters();
        let g = geom([2, 2], [1, 1], [0, 0]);
        let sum = net(g, Pooling::Sum, 1, filters.clone(), weights.clone());
        assert_outputs(&sum.forward(x.view()), &[1.0], "sum pooling, stride 1");
        let avg = net(g, Pooling::Average, 1, filters.clone(), weights.clone());
        assert_outputs(&avg.forward(x.view()), &[0.25], "average pooling, stride 1");
        // Max: u1 → max relu = 7, u2 → 2: 0.5·7 − 1.5·2 = 0.5.
        let max = net(g, Pooling::Max, 1, filters, weights);
        assert_outputs(&max.forward(x.view()), &[0.5], "max pooling, stride 1");
    }

    #[test]
    fn forward_matches_hand_computation_for_2x2_kernel_stride_2_padding_1() {
        // Padded 5×5 input, grid 2×2 with top-left corners at (−1,−1), (−1,1), (1,−1), (1,1).
        // u1: z = [0+0−0+1, 0+0+2+3; 0+0−0+2, 4−2−1−3] = [1, 5; 2, −2] → Σ relu = 8.
        // u2: z = [−0, −0; −0, −4] → Σ relu = 0.
        // Sum: 0.5·8 = 4.  Average (K = 4): 1.
        let x = image_3x3();
        let (filters, weights) = hand_filters();
        let g = geom([2, 2], [2, 2], [1, 1]);
        let sum = net(g, Pooling::Sum, 1, filters.clone(), weights.clone());
        assert_outputs(
            &sum.forward(x.view()),
            &[4.0],
            "sum pooling, stride 2, pad 1",
        );
        let avg = net(g, Pooling::Average, 1, filters, weights);
        assert_outputs(
            &avg.forward(x.view()),
            &[1.0],
            "average pooling, stride 2, pad 1",
        );
    }

    #[test]
    fn forward_matches_hand_computation_for_two_channel_1d_signals_with_padding() {
        // Channel 0: [1, −1, 2, 0, 3], channel 1: [0, 1, −2, 1, 1]; kernel width 2, pad 1.
        // u = [1, 1, −1, 2]: z(p) = x0[p] + x0[p+1] − x1[p] + 2·x1[p+1], p = −1..4:
        //   [1, 2, −4, 6, 4, 2] → Σ relu = 15; the negated signal gives Σ relu = 4.
        // w = 2: sum pooling [30, 8]; average (K = 6) [5, 4/3].
        let first = [[1.0, -1.0, 2.0, 0.0, 3.0], [0.0, 1.0, -2.0, 1.0, 1.0]];
        let mut x = Array4::zeros((2, 2, 1, 5));
        for ch in 0..2 {
            for p in 0..5 {
                x[[0, ch, 0, p]] = first[ch][p];
                x[[1, ch, 0, p]] = -first[ch][p];
            }
        }
        let g = geom([1, 2], [1, 1], [0, 1]);
        let u = vec![vec![1.0, 1.0, -1.0, 2.0]];
        let sum = net(g, Pooling::Sum, 2, u.clone(), vec![2.0]);
        assert_outputs(&sum.forward(x.view()), &[30.0, 8.0], "1-D sum pooling");
        let avg = net(g, Pooling::Average, 2, u, vec![2.0]);
        assert_outputs(
            &avg.forward(x.view()),
            &[5.0, 4.0 / 3.0],
            "1-D average pooling",
        );
    }

    /// Per-position reference: for every output position, an explicit bounds-checked dot
    /// product with the (virtually) zero-padded input.
    fn naive_forward(net: &TwoLayerCnn, x: &Array4<f64>) -> Vec<f64> {
        let (n, c, h, w) = x.dim();
        let [kh, kw] = net.geometry.kernel;
        let [sh, sw] = net.geometry.stride;
        let [ph, pw] = net.geometry.padding;
        let gr = (h + 2 * ph - kh) / sh + 1;
        let gc = (w + 2 * pw - kw) / sw + 1;
        let s = match net.pooling {
            Pooling::Sum | Pooling::Max => 1.0,
            Pooling::Average => 1.0 / (gr * gc) as f64,
            Pooling::LocalAverage { .. } => panic!("naive_forward: global pooling only"),
        };
        (0..n)
            .map(|t| {
                let mut f = 0.0;
                for (u, wj) in net.filters.iter().zip(&net.output_weights) {
                    let mut pooled = 0.0;
                    for r in 0..gr {
                        for cc in 0..gc {
                            let mut z = 0.0;
                            for ch in 0..c {
                                for a in 0..kh {
                                    for b in 0..kw {
                                        let i = (r * sh + a) as isize - ph as isize;
                                        let j = (cc * sw + b) as isize - pw as isize;
                                        if i >= 0 && j >= 0 && (i as usize) < h && (j as usize) < w
                                        {
                                            z += u[(ch * kh + a) * kw + b]
                                                * x[[t, ch, i as usize, j as usize]];
                                        }
                                    }
                                }
                            }
                            if net.pooling == Pooling::Max {
                                pooled = f64::max(pooled, z.max(0.0));
                            } else {
                                pooled += z.max(0.0);
                            }
                        }
                    }
                    f += wj * s * pooled;
                }
                f
            })
            .collect()
    }

    #[test]
    fn forward_matches_per_position_reference_over_varied_strides_and_paddings() {
        let cases = [
            ([3, 3], [1, 1], [0, 0]),
            ([3, 2], [2, 3], [1, 2]),
            ([2, 2], [3, 3], [0, 0]),
            ([2, 3], [1, 2], [3, 3]), // padding ≥ kernel: some patches are all zeros
            ([1, 4], [1, 3], [0, 2]),
            ([5, 6], [1, 1], [0, 0]), // a single position
        ];
        let x = random_array((3, 2, 5, 6), 11);
        for (i, &(kernel, stride, padding)) in cases.iter().enumerate() {
            for pooling in [Pooling::Sum, Pooling::Average, Pooling::Max] {
                let g = geom(kernel, stride, padding);
                let cnn = TwoLayerCnn::random(g, pooling, 2, 4, 1.0, 100 + i as u64);
                let got = cnn.forward(x.view());
                let want = naive_forward(&cnn, &x);
                for (t, (a, b)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                        "case {i} {pooling:?}, sample {t}: direct conv {a}, reference {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn forward_accepts_non_standard_layout_input() {
        let x = random_array((3, 2, 4, 5), 3);
        let mut x_f = Array4::zeros((3, 2, 4, 5).f());
        x_f.assign(&x);
        assert!(!x_f.is_standard_layout());
        let cnn = TwoLayerCnn::random(geom([2, 3], [1, 2], [1, 0]), Pooling::Sum, 2, 3, 1.0, 4);
        let a = cnn.forward(x.view());
        let b = cnn.forward(x_f.view());
        assert_eq!(a, b, "standard layout {a} vs Fortran layout {b}");
    }

    #[test]
    fn gradient_matches_central_finite_differences() {
        let g = geom([2, 3], [2, 1], [1, 1]);
        let x = random_array((4, 2, 5, 4), 21);
        let y = random_targets(4, 22);
        let beta = 0.3;
        // Random data has no ties in the argmax, so max pooling is differentiable here.
        for pooling in [Pooling::Sum, Pooling::Average, Pooling::Max] {
            let cnn = TwoLayerCnn::random(g, pooling, 2, 3, 0.8, 23);
            let (gu, gw) = cnn.gradient(x.view(), y.view(), beta);
            assert_eq!(gu.len(), 3, "filter gradient count {} vs 3", gu.len());
            assert_eq!(gw.len(), 3, "weight gradient count {} vs 3", gw.len());
            let eps = 1e-6;
            let fd = |perturb: &dyn Fn(&mut TwoLayerCnn, f64)| {
                let mut plus = cnn.clone();
                perturb(&mut plus, eps);
                let mut minus = cnn.clone();
                perturb(&mut minus, -eps);
                (plus.objective(x.view(), y.view(), beta).total
                    - minus.objective(x.view(), y.view(), beta).total)
                    / (2.0 * eps)
            };
            let check = |analytic: f64, numeric: f64, what: String| {
                let scale = analytic.abs().max(numeric.abs()).max(1e-3);
                assert!(
                    (analytic - numeric).abs() <= 1e-6 * scale,
                    "{pooling:?} {what}: analytic {analytic}, finite difference {numeric}"
                );
            };
            for (j, (gu_j, &gw_j)) in gu.iter().zip(&gw).enumerate() {
                for (i, &analytic) in gu_j.iter().enumerate() {
                    let numeric = fd(&|n: &mut TwoLayerCnn, d| n.filters[j][i] += d);
                    check(analytic, numeric, format!("∂/∂u[{j}][{i}]"));
                }
                let numeric = fd(&|n: &mut TwoLayerCnn, d| n.output_weights[j] += d);
                check(gw_j, numeric, format!("∂/∂w[{j}]"));
            }
        }
    }

    #[test]
    fn gradient_of_variants_matches_central_finite_differences() {
        // Local average pooling (windows 2×1 over a 3×2 grid), linear activation, biases with
        // padding, each alone and combined.
        let g = geom([2, 3], [2, 1], [1, 1]);
        let x = random_array((4, 2, 5, 4), 24);
        let y = random_targets(4, 25);
        let beta = 0.3;
        let local = Pooling::LocalAverage { size: [2, 1] };
        for (pooling, activation, bias) in [
            (local, Activation::Relu, false),
            (Pooling::Sum, Activation::Linear, false),
            (Pooling::Average, Activation::Relu, true),
            (local, Activation::Linear, true),
        ] {
            let mut cnn =
                TwoLayerCnn::random(g, pooling, 2, 3, 0.8, 26).with_activation(activation);
            if bias {
                cnn = cnn.with_random_biases(0.5, 27);
            }
            let grad = cnn.full_gradient(x.view(), y.view(), beta);
            let eps = 1e-6;
            let fd = |perturb: &dyn Fn(&mut TwoLayerCnn, f64)| {
                let mut plus = cnn.clone();
                perturb(&mut plus, eps);
                let mut minus = cnn.clone();
                perturb(&mut minus, -eps);
                (plus.objective(x.view(), y.view(), beta).total
                    - minus.objective(x.view(), y.view(), beta).total)
                    / (2.0 * eps)
            };
            let check = |analytic: f64, numeric: f64, what: String| {
                let scale = analytic.abs().max(numeric.abs()).max(1e-3);
                assert!(
                    (analytic - numeric).abs() <= 1e-6 * scale,
                    "{pooling:?} {activation:?} bias {bias} {what}: analytic {analytic}, \
                     finite difference {numeric}"
                );
            };
            for j in 0..3 {
                for i in 0..12 {
                    let numeric = fd(&|n: &mut TwoLayerCnn, d| n.filters[j][i] += d);
                    check(grad.filters[j][i], numeric, format!("∂/∂u[{j}][{i}]"));
                }
                let numeric = fd(&|n: &mut TwoLayerCnn, d| n.output_weights[j] += d);
                check(grad.output_weights[j], numeric, format!("∂/∂w[{j}]"));
                if bias {
                    let numeric = fd(&|n: &mut TwoLayerCnn, d| n.biases.as_mut().unwrap()[j] += d);
                    check(grad.biases[j], numeric, format!("∂/∂b[{j}]"));
                } else {
                    assert!(grad.biases.is_empty());
                }
            }
        }
    }

    #[test]
    fn local_average_linear_and_bias_forward_match_hand_computation() {
        // Signal [1, −2, 3, −4] (one channel), kernel 1, u = [1], w = 2.
        // ReLU, windows of 2: 2 · ((1 + 0)/2 + (3 + 0)/2) = 4.
        // Linear, windows of 2: 2 · ((1 − 2)/2 + (3 − 4)/2) = −2.
        // ReLU, bias 1.5, windows of 2: z = [2.5, −0.5, 4.5, −2.5] → 2 · (2.5/2 + 4.5/2) = 7.
        // ReLU, windows of 3 (clipped: [1, −2, 3] and [−4]): 2 · (4/3 + 0) = 8/3.
        let mut x = Array4::zeros((1, 1, 1, 4));
        for (p, v) in [1.0, -2.0, 3.0, -4.0].iter().enumerate() {
            x[[0, 0, 0, p]] = *v;
        }
        let g = geom([1, 1], [1, 1], [0, 0]);
        let pool = |p: usize| Pooling::LocalAverage { size: [1, p] };
        let relu = net(g, pool(2), 1, vec![vec![1.0]], vec![2.0]);
        assert_outputs(&relu.forward(x.view()), &[4.0], "ReLU, windows of 2");
        let linear = relu.clone().with_activation(Activation::Linear);
        assert_outputs(&linear.forward(x.view()), &[-2.0], "linear, windows of 2");
        let mut biased = relu.clone();
        biased.biases = Some(vec![1.5]);
        assert_outputs(&biased.forward(x.view()), &[7.0], "bias 1.5, windows of 2");
        let clipped = net(g, pool(3), 1, vec![vec![1.0]], vec![2.0]);
        assert_outputs(&clipped.forward(x.view()), &[8.0 / 3.0], "clipped window");
        // Regularizer with a bias: (β/2)(u² + b² + w²) = 0.5 · (1 + 2.25 + 4) / 2.
        let obj = biased.objective(x.view(), ndarray::array![7.0].view(), 0.5);
        assert_eq!(
            obj.regularizer,
            0.25 * 7.25,
            "regularizer {}",
            obj.regularizer
        );
        let l1 = biased.regularizer_with_norm(0.5, FilterNorm::L1);
        assert_eq!(l1, 0.25 * (2.5 * 2.5 + 4.0), "ℓ1 regularizer {l1}");
    }

    #[test]
    fn train_gd_decreases_objective_monotonically_and_ends_below_start() {
        let g = geom([3, 3], [1, 1], [1, 1]);
        let x = random_array((6, 1, 5, 5), 31);
        let y = random_targets(6, 32);
        let beta = 0.05;
        let mut cnn = TwoLayerCnn::random(g, Pooling::Average, 1, 4, 0.5, 33);
        let start = cnn.objective(x.view(), y.view(), beta);
        let mut history = Vec::new();
        let end = cnn.train_gd_recorded(x.view(), y.view(), beta, 200, 1.0, |o| history.push(o));
        assert!(
            history.len() > 10,
            "only {} objectives recorded",
            history.len()
        );
        assert_eq!(
            history[0], start,
            "first record {:?} vs start {start:?}",
            history[0]
        );
        for (i, pair) in history.windows(2).enumerate() {
            assert!(
                pair[1].total <= pair[0].total,
                "objective rose at step {i}: {} → {}",
                pair[0].total,
                pair[1].total
            );
        }
        assert!(
            end.total < 0.5 * start.total,
            "final objective {} not below half the start {}",
            end.total,
            start.total
        );
        let recomputed = cnn.objective(x.view(), y.view(), beta);
        assert_eq!(
            end, recomputed,
            "returned {end:?} vs recomputed {recomputed:?}"
        );

        // The public entry point follows the same deterministic path.
        let mut again = TwoLayerCnn::random(g, Pooling::Average, 1, 4, 0.5, 33);
        let end2 = again.train_gd(x.view(), y.view(), beta, 200, 1.0);
        assert_eq!(end, end2, "recorded run {end:?} vs public run {end2:?}");
    }

    #[test]
    fn train_gd_with_non_positive_lr_leaves_network_unchanged() {
        let g = geom([2, 2], [1, 1], [0, 0]);
        let x = random_array((3, 1, 3, 3), 41);
        let y = random_targets(3, 42);
        let original = TwoLayerCnn::random(g, Pooling::Sum, 1, 2, 1.0, 43);
        let mut cnn = original.clone();
        let start = cnn.objective(x.view(), y.view(), 0.1);
        let end = cnn.train_gd(x.view(), y.view(), 0.1, 10, 0.0);
        assert_eq!(end, start, "objective {end:?} vs start {start:?}");
        assert_eq!(cnn, original, "network changed with lr = 0");
    }

    #[test]
    fn forward_is_invariant_under_positive_rescaling_of_filter_and_weight() {
        let g = geom([2, 3], [1, 2], [1, 1]);
        let x = random_array((5, 3, 4, 6), 51);
        let cnn = TwoLayerCnn::random(g, Pooling::Average, 3, 4, 1.0, 52);
        let base = cnn.forward(x.view());
        let mut scaled = cnn.clone();
        for (j, (u, w)) in scaled
            .filters
            .iter_mut()
            .zip(scaled.output_weights.iter_mut())
            .enumerate()
        {
            let a = [3.7, 0.25, 11.0, 1e-3][j];
            u.iter_mut().for_each(|v| *v *= a);
            *w /= a;
        }
        let got = scaled.forward(x.view());
        for (t, (b, s)) in base.iter().zip(&got).enumerate() {
            assert!(
                (b - s).abs() <= 1e-12 * (1.0 + b.abs()),
                "sample {t}: original {b}, rescaled {s}"
            );
        }
    }

    #[test]
    fn width_zero_gives_zero_outputs_and_half_squared_target_norm() {
        let g = geom([2, 2], [1, 1], [0, 0]);
        let x = random_array((4, 2, 3, 3), 61);
        let y = array![1.0, -2.0, 0.5, 3.0];
        let cnn = TwoLayerCnn::random(g, Pooling::Sum, 2, 0, 1.0, 62);
        assert!(cnn.filters.is_empty() && cnn.output_weights.is_empty());
        let f = cnn.forward(x.view());
        assert_eq!(f, Array1::<f64>::zeros(4), "outputs {f} vs zeros");
        let obj = cnn.objective(x.view(), y.view(), 0.7);
        let want = 0.5 * (1.0 + 4.0 + 0.25 + 9.0);
        assert_eq!(obj.loss, want, "loss {} vs ½‖y‖² = {want}", obj.loss);
        assert_eq!(obj.regularizer, 0.0, "regularizer {} vs 0", obj.regularizer);
        assert_eq!(obj.total, want, "total {} vs {want}", obj.total);
        let (gu, gw) = cnn.gradient(x.view(), y.view(), 0.7);
        assert!(
            gu.is_empty() && gw.is_empty(),
            "gradient not empty: {gu:?} {gw:?}"
        );
        let mut trained = cnn.clone();
        let end = trained.train_gd(x.view(), y.view(), 0.7, 5, 1.0);
        assert_eq!(end, obj, "training a width-0 network: {end:?} vs {obj:?}");
    }

    #[test]
    fn regularizer_is_half_beta_times_squared_parameter_norm() {
        let g = geom([1, 2], [1, 1], [0, 0]);
        let cnn = net(
            g,
            Pooling::Sum,
            1,
            vec![vec![1.0, -2.0], vec![0.0, 3.0]],
            vec![2.0, -1.0],
        );
        let x = Array4::zeros((2, 1, 1, 3));
        let y = array![0.0, 0.0];
        let obj = cnn.objective(x.view(), y.view(), 0.5);
        // ‖u‖² + w² = 1 + 4 + 0 + 9 + 4 + 1 = 19 → (0.5/2)·19 = 4.75; zero input → zero loss.
        assert_eq!(
            obj.regularizer, 4.75,
            "regularizer {} vs 4.75",
            obj.regularizer
        );
        assert_eq!(obj.loss, 0.0, "loss {} vs 0", obj.loss);
        assert_eq!(obj.total, 4.75, "total {} vs 4.75", obj.total);
    }

    #[test]
    fn random_is_deterministic_in_seed_and_has_requested_shapes() {
        let g = geom([3, 2], [1, 1], [0, 0]);
        let a = TwoLayerCnn::random(g, Pooling::Sum, 2, 5, 0.1, 7);
        let b = TwoLayerCnn::random(g, Pooling::Sum, 2, 5, 0.1, 7);
        let c = TwoLayerCnn::random(g, Pooling::Sum, 2, 5, 0.1, 8);
        assert_eq!(a, b, "same seed gave different networks");
        assert_ne!(a, c, "different seeds gave the same network");
        assert_eq!(a.filters.len(), 5, "{} filters vs 5", a.filters.len());
        assert!(
            a.filters.iter().all(|u| u.len() == 12),
            "filter length ≠ C·kh·kw = 12"
        );
        assert_eq!(
            a.output_weights.len(),
            5,
            "{} weights vs 5",
            a.output_weights.len()
        );
    }

    #[test]
    fn kernel_larger_than_padded_input_gives_zero_outputs() {
        let g = geom([4, 4], [1, 1], [0, 0]);
        let x = random_array((2, 1, 3, 3), 71);
        let cnn = TwoLayerCnn::random(g, Pooling::Average, 1, 3, 1.0, 72);
        let f = cnn.forward(x.view());
        assert_eq!(f, Array1::<f64>::zeros(2), "outputs {f} vs zeros");
    }
}
