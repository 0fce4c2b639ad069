//! Max-margin centring of a cell (Wolfe's minimum-norm point).

use crate::linalg::{axpy, dot, norm};

/// `min_j g_j·x` over the rows `g_j` (length `d`) of `g`.
fn margin_of(g: &[f64], d: usize, x: &[f64]) -> f64 {
    g.chunks_exact(d)
        .map(|gj| dot(gj, x))
        .fold(f64::INFINITY, f64::min)
}

/// The better (by measured margin) of `start` and the max-margin unit point of
/// `{x : g_j·x > 0 ∀j}` (rows `g_j` of `g`, unit), with its margin `min_j g_j·x`.
pub(super) fn recenter(g: &[f64], d: usize, start: Vec<f64>) -> (Vec<f64>, f64) {
    let start_margin = margin_of(g, d, &start);
    let first = g
        .chunks_exact(d)
        .map(|gj| dot(gj, &start))
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0, |(j, _)| j);
    let z = min_norm_point(g, d, first);
    let nz = norm(&z);
    if nz > 0.0 && nz.is_finite() {
        let u: Vec<f64> = z.iter().map(|x| x / nz).collect();
        let m = margin_of(g, d, &u);
        if m > start_margin {
            return (u, m);
        }
    }
    (start, start_margin)
}

/// Minimum-norm point of `conv{g_j}` (rows of `g`, length `d`) by Wolfe's algorithm (1976), started
/// at vertex `first`. If `z ≠ 0` then `z/‖z‖` maximises `min_j g_j·x` over unit `x`, with value `‖z‖`
/// (for unit `g_j`: `g_j·z ≥ ‖z‖²` at the optimum, and `min_j g_j·x ≤ z·x ≤ ‖z‖`).
/// Returns the best iterate reached if the iteration stalls numerically.
fn min_norm_point(g: &[f64], d: usize, first: usize) -> Vec<f64> {
    let m = g.len() / d;
    let row = |j: usize| &g[j * d..(j + 1) * d];
    let mut set: Vec<usize> = vec![first];
    let mut lam: Vec<f64> = vec![1.0];
    let mut x = row(first).to_vec();
    for _ in 0..(4 * (m + d) + 20) {
        let xx = dot(&x, &x);
        let Some((j, gx)) = (0..m)
            .map(|j| (j, dot(row(j), &x)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
        else {
            break;
        };
        if gx >= xx - 1e-15 || set.contains(&j) {
            break;
        }
        set.push(j);
        lam.push(0.0);
        // Minor cycle: move to the affine minimiser of the corral, dropping vertices whose weight
        // would turn negative.
        loop {
            let Some(mu) = affine_minimizer(g, d, &set) else {
                return x;
            };
            if mu.iter().all(|&v| v > 1e-14) {
                lam = mu;
                break;
            }
            let mut theta = 1.0_f64;
            let mut drop_at = 0;
            for (i, (&l, &u)) in lam.iter().zip(&mu).enumerate() {
                if u <= 1e-14 {
                    let t = if l - u > 0.0 { l / (l - u) } else { 0.0 };
                    if t < theta {
                        theta = t;
                        drop_at = i;
                    }
                }
            }
            for (l, u) in lam.iter_mut().zip(&mu) {
                *l = (1.0 - theta) * *l + theta * u;
            }
            lam[drop_at] = 0.0;
            let mut i = 0;
            while i < set.len() {
                if lam[i] <= 1e-16 {
                    set.swap_remove(i);
                    lam.swap_remove(i);
                } else {
                    i += 1;
                }
            }
            let total: f64 = lam.iter().sum();
            if set.is_empty() || total <= 0.0 {
                return x;
            }
            lam.iter_mut().for_each(|l| *l /= total);
        }
        x = vec![0.0; d];
        for (&i, &l) in set.iter().zip(&lam) {
            axpy(l, row(i), &mut x);
        }
    }
    x
}

/// Weights `μ` (summing to 1) of the minimum-norm point of the affine hull of `{g_i : i ∈ set}`:
/// the solution of `[G Gᵀ 1; 1ᵀ 0] [μ; ν] = [0; 1]`. `None` if the vertices are affinely dependent.
fn affine_minimizer(g: &[f64], d: usize, set: &[usize]) -> Option<Vec<f64>> {
    let s = set.len();
    let n = s + 1;
    let mut a = vec![0.0; n * (n + 1)]; // augmented [K | rhs]
    for (r, &i) in set.iter().enumerate() {
        for (c, &j) in set.iter().enumerate() {
            a[r * (n + 1) + c] = dot(&g[i * d..(i + 1) * d], &g[j * d..(j + 1) * d]);
        }
        a[r * (n + 1) + s] = 1.0;
        a[s * (n + 1) + r] = 1.0;
    }
    a[s * (n + 1) + n] = 1.0;
    let x = solve_dense(&mut a, n)?;
    Some(x[..s].to_vec())
}

/// Solves the `n × n` system stored row-major with its right-hand side as an extra column in `a`
/// (Gaussian elimination, partial pivoting). `None` if numerically singular.
fn solve_dense(a: &mut [f64], n: usize) -> Option<Vec<f64>> {
    let w = n + 1;
    let scale = a.iter().fold(0.0_f64, |m, v| m.max(v.abs())).max(1.0);
    for col in 0..n {
        let piv =
            (col..n).max_by(|&r1, &r2| a[r1 * w + col].abs().total_cmp(&a[r2 * w + col].abs()))?;
        if a[piv * w + col].abs() <= 1e-13 * scale {
            return None;
        }
        if piv != col {
            for c in 0..w {
                a.swap(piv * w + c, col * w + c);
            }
        }
        let p = a[col * w + col];
        for r in (col + 1)..n {
            let f = a[r * w + col] / p;
            if f != 0.0 {
                for c in col..w {
                    a[r * w + c] -= f * a[col * w + c];
                }
            }
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let mut v = a[r * w + n];
        for c in (r + 1)..n {
            v -= a[r * w + c] * x[c];
        }
        x[r] = v / a[r * w + r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}
