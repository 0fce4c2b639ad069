//! Patch extraction (docs/math.md §1).
//!
//! Patch positions are ordered row-major over the output grid (top-left first); a patch is flattened
//! in (channel, row, col) order, so `h = C·kh·kw`. `X_k ∈ R^{n×h}` is patch `k` of every sample and the
//! stacked matrix `M = [X_1; …; X_K]` has row `k·n + t` for patch `k` of sample `t`.

use crate::geometry::ConvGeometry;
use ndarray::{Array3, ArrayView2, ArrayView4, Axis, s};

/// The patch matrices `X_1..X_K` of a data set.
#[derive(Debug, Clone)]
pub struct Patches {
    /// `[K, n, h]`: `data[k]` is `X_k`.
    pub data: Array3<f64>,
}

impl Patches {
    /// Extracts every patch of `x` (`[n, C, H, W]`). The caller has checked that the kernel fits
    /// (`geometry.grid` is `Some`).
    pub fn extract(x: ArrayView4<f64>, geometry: &ConvGeometry) -> Option<Patches> {
        let (n, c, hh, ww) = x.dim();
        let (gr, gc) = geometry.grid(hh, ww)?;
        let [kh, kw] = geometry.kernel;
        let [sh, sw] = geometry.stride;
        let [ph, pw] = geometry.padding;
        let h = c * kh * kw;
        let mut data = Array3::<f64>::zeros((gr * gc, n, h));
        for (k, mut xk) in data.axis_iter_mut(Axis(0)).enumerate() {
            let (pr, pc) = (k / gc, k % gc);
            for t in 0..n {
                let mut j = 0;
                for ch in 0..c {
                    for i in 0..kh {
                        for l in 0..kw {
                            // Coordinates in the padded input; padding cells are zero.
                            let r = (pr * sh + i) as isize - ph as isize;
                            let q = (pc * sw + l) as isize - pw as isize;
                            if r >= 0 && q >= 0 && (r as usize) < hh && (q as usize) < ww {
                                xk[[t, j]] = x[[t, ch, r as usize, q as usize]];
                            }
                            j += 1;
                        }
                    }
                }
            }
        }
        Some(Patches { data })
    }

    /// The same patches with one constant-1 entry appended to every patch, so `h` becomes `h + 1`:
    /// a filter `(u, b)` then computes `⟨patch, u⟩ + b` at every position (padded ones included),
    /// and everything downstream — exact enumeration, sampling, reduction, the certificate — sees
    /// only longer rows. The last entry of a filter over these patches is its bias.
    pub fn with_bias(self) -> Patches {
        let (k, n, h) = self.data.dim();
        let mut data = Array3::<f64>::ones((k, n, h + 1));
        data.slice_mut(s![.., .., ..h]).assign(&self.data);
        Patches { data }
    }

    /// Number of patch positions `K`.
    pub fn k(&self) -> usize {
        self.data.dim().0
    }

    /// Number of samples `n`.
    pub fn n(&self) -> usize {
        self.data.dim().1
    }

    /// Filter length `h`.
    pub fn h(&self) -> usize {
        self.data.dim().2
    }

    /// The stacked matrix `M` (`nK × h`, row `k·n + t`).
    pub fn stacked(&self) -> ArrayView2<'_, f64> {
        let (k, n, h) = self.data.dim();
        // `data` is built in standard layout, so this reshape is a view.
        self.data
            .view()
            .into_shape_with_order((k * n, h))
            .expect("Patches::data is contiguous in standard layout")
    }
}
