//! The one direct convolution of the folder, shared by [`super::TwoLayerCnn`] and
//! [`super::ThreeLayerCnn`]: it reads the pixels of a `[C, H, W]` sample in place (zero padding is
//! skipped, never materialised) and never builds a patch matrix.
//!
//! Conventions (`docs/math.md` §1): output position `k` is grid cell `(k div cols, k mod cols)`,
//! row-major; kernel entry `i = (ch·kh + a)·kw + b` of position `(r, c)` reads pixel
//! `(ch, r·sh + a − ph, c·sw + b − pw)`, or a zero of the padding.

use crate::geometry::ConvGeometry;

/// Number of filters whose pre-activations are accumulated together in registers.
const BLOCK: usize = 8;

/// Index bookkeeping of a direct convolution over one `[C, H, W]` input.
///
/// Output position `(r, c)` covers the padded-input window with top-left corner
/// `(r·sh, c·sw)`; its kernel entry `(a, b)` reads the input pixel `(r·sh + a − ph, c·sw + b − pw)`
/// when that lies inside the image, and a zero of the padding otherwise.
///
/// All `m` filters are convolved at once: they are held transposed (`ut[i·m + j] = u_j[i]`),
/// and for every pixel a patch reads, its value is multiplied into a length-`m` row.
pub(super) struct Plan {
    channels: usize,
    height: usize,
    width: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    ph: usize,
    pw: usize,
    /// Rows of the output grid.
    pub(super) grid_rows: usize,
    /// Columns of the output grid.
    pub(super) grid_cols: usize,
    /// Patch positions `K = grid_rows · grid_cols`.
    pub(super) positions: usize,
}

impl Plan {
    /// `None` when the kernel does not fit the padded input (no patch positions).
    pub(super) fn new(
        geometry: &ConvGeometry,
        channels: usize,
        height: usize,
        width: usize,
    ) -> Option<Self> {
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

    /// Pre-activations `z[k·m + j] = s_j + ⟨patch_k(x), u_j⟩` of one sample `xs` (flattened
    /// `[C, H, W]`) for all positions `k` and filters `j`, by direct convolution with the
    /// transposed filters `ut[i·m + j] = u_j[i]`; `s = start` (length `m`), or 0 without it.
    ///
    /// Each `z` is summed left to right from `s_j` over the entries inside the image in kernel
    /// order, `((s_j + v₀u₀) + v₁u₁) + …`: the two-layer CNN adds its biases afterwards and the
    /// three-layer CNN starts from them, each the order it has always used.
    pub(super) fn preactivations(
        &self,
        xs: &[f64],
        ut: &[f64],
        m: usize,
        start: Option<&[f64]>,
        entries: &mut Vec<(usize, f64)>,
        z: &mut [f64],
    ) {
        let initial = |j0: usize, len: usize| {
            let mut acc = [0.0; BLOCK];
            if let Some(s) = start {
                acc[..len].copy_from_slice(&s[j0..][..len]);
            }
            acc
        };
        self.for_each_position(xs, entries, |k, entries| {
            let zk = &mut z[k * m..][..m];
            // Blocks of BLOCK filters are accumulated in registers.
            let mut blocks = zk.chunks_exact_mut(BLOCK);
            let mut j0 = 0;
            for block in &mut blocks {
                let mut acc = initial(j0, BLOCK);
                for &(i, v) in entries {
                    // The slice has exactly BLOCK entries, so the conversion cannot fail.
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
                let mut acc = initial(j0, len);
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
    pub(super) fn accumulate_adjoint(
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
