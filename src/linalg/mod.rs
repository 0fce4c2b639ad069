//! Small dense linear algebra on `f64` slices, shared across the crate: dot products, `axpy`,
//! norms, a Cholesky solve, nonnegative least squares ([`nnls`]) and a thin QR (`thin_qr`) whose
//! bits do not depend on the machine.
//!
//! There are two dot products on purpose: `dot` sums left to right, `dot4` keeps four partial
//! sums (faster on the short vectors of the NNLS solvers). They round differently, so each caller
//! keeps the one its results have always been computed with.

mod gram_nnls;
mod nnls;
mod qr;

pub(crate) use self::gram_nnls::GramNnls;
pub use self::nnls::{Nnls, nnls};
pub(crate) use self::nnls::{NnlsWork, W_TOL};
pub(crate) use self::qr::thin_qr;

/// a·b over the common length, summed left to right.
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `m·g`: every row's [`dot`] with `g` (bit for bit), four rows at a time so that their sums
/// overlap in the pipeline.
pub(crate) fn row_dots(m: ndarray::ArrayView2<f64>, g: &[f64]) -> Vec<f64> {
    let h = m.ncols();
    let Some(flat) = m.as_slice() else {
        return m
            .outer_iter()
            .map(|row| row.iter().zip(g).map(|(x, y)| x * y).sum())
            .collect();
    };
    if h == 0 {
        return vec![0.0; m.nrows()];
    }
    let g = &g[..h];
    let mut out = Vec::with_capacity(m.nrows());
    let mut quads = flat.chunks_exact(4 * h);
    for q in &mut quads {
        let (r0, rest) = q.split_at(h);
        let (r1, rest) = rest.split_at(h);
        let (r2, r3) = rest.split_at(h);
        // −0.0, as `Iterator::sum` starts: a row of −0.0 products sums to −0.0 in both.
        let mut s = [-0.0; 4];
        for a in 0..h {
            s[0] += r0[a] * g[a];
            s[1] += r1[a] * g[a];
            s[2] += r2[a] * g[a];
            s[3] += r3[a] * g[a];
        }
        out.extend_from_slice(&s);
    }
    out.extend(quads.remainder().chunks_exact(h).map(|row| dot(row, g)));
    out
}

/// ‖a‖₂ = √(a·a) with [`dot`] (no rescaling against overflow).
#[inline]
pub(crate) fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// a·b over the common length, with four partial sums (short vectors are latency-bound). Rounds
/// differently from [`dot`].
#[inline]
pub(crate) fn dot4(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut s = [-0.0; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        s[0] += x[0] * y[0];
        s[1] += x[1] * y[1];
        s[2] += x[2] * y[2];
        s[3] += x[3] * y[3];
    }
    let mut tail = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    (s[0] + s[1]) + (s[2] + s[3]) + tail
}

/// y ← y + a·x over the common length.
#[inline]
pub(crate) fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// max |v_i| (0 when empty).
#[inline]
pub(crate) fn max_abs(v: impl Iterator<Item = f64>) -> f64 {
    v.fold(0.0, |m: f64, x| m.max(x.abs()))
}

/// Writes v/‖v‖ into `dst` and returns ‖v‖, or leaves zeros and returns None when v = 0.
pub(crate) fn unit_into(v: impl Iterator<Item = f64> + Clone, dst: &mut [f64]) -> Option<f64> {
    let s = max_abs(v.clone());
    if s == 0.0 || !s.is_finite() {
        dst.iter_mut().for_each(|d| *d = 0.0);
        return None;
    }
    for (d, x) in dst.iter_mut().zip(v) {
        *d = x / s;
    }
    let n = dot4(dst, dst).sqrt();
    dst.iter_mut().for_each(|d| *d /= n);
    Some(s * n)
}

/// Solves `A x = b` in place (`A`: `k × k`, symmetric, row-major; `b ← x`) by Cholesky; `None`
/// when a pivot is at most `pivot` (not positive definite to that margin) or not finite.
pub(crate) fn cholesky_solve(a: &mut [f64], b: &mut [f64], k: usize, pivot: f64) -> Option<()> {
    for j in 0..k {
        let mut d = a[j * k + j];
        for l in 0..j {
            d -= a[j * k + l] * a[j * k + l];
        }
        if d <= pivot || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * k + j] = d;
        for i in j + 1..k {
            let mut x = a[i * k + j];
            for l in 0..j {
                x -= a[i * k + l] * a[j * k + l];
            }
            a[i * k + j] = x / d;
        }
    }
    for i in 0..k {
        let mut x = b[i];
        for l in 0..i {
            x -= a[i * k + l] * b[l];
        }
        b[i] = x / a[i * k + i];
    }
    for i in (0..k).rev() {
        let mut x = b[i];
        for l in i + 1..k {
            x -= a[l * k + i] * b[l];
        }
        b[i] = x / a[i * k + i];
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four rows at a time give every row's left-to-right [`dot`], bit for bit, with or without a
    /// remainder, on a matrix that is not contiguous, and on zero rows (whose sum is −0.0 when
    /// every product is).
    #[test]
    fn row_dots_are_the_rows_dot_products_bit_for_bit() {
        let h = 7;
        for (rows, flip) in [(0usize, 1.0), (1, 1.0), (4, -1.0), (9, 1.0), (30, -1.0)] {
            let m = ndarray::Array2::from_shape_fn((rows, h), |(r, c)| {
                if r % 3 == 1 {
                    0.0
                } else {
                    ((r * 31 + c * 17) % 13) as f64 / 7.0 - 0.9 + 1e-3 * r as f64
                }
            });
            let g: Vec<f64> = (0..h)
                .map(|c| flip * ((c as f64 * 0.37).sin() + 0.1))
                .collect();
            let want: Vec<f64> = m
                .outer_iter()
                .map(|row| dot(row.as_slice().unwrap(), &g))
                .collect();
            let got = row_dots(m.view(), &g);
            assert_eq!(got.len(), rows);
            for (a, b) in got.iter().zip(&want) {
                assert_eq!(a.to_bits(), b.to_bits());
            }
            let t = m.t().to_owned();
            let strided = t.t();
            let got = row_dots(strided, &g);
            for (a, b) in got.iter().zip(&want) {
                assert_eq!(a.to_bits(), b.to_bits());
            }
        }
    }
}
