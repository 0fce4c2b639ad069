//! An interior point ("gate") of a polyhedral cone from its rows, by a least-distance problem
//! solved as an NNLS; it also detects the cone's lineality space.

use crate::linalg::{NnlsWork, axpy, dot4};

/// A unit row whose projection off the detected lineality space is shorter than this lies in it.
const PROJ_MIN: f64 = 1e-9;

/// A unit vector ĝ with û_j·ĝ > 0 for as many rows as possible: the least-distance solution of
/// min ‖x‖ s.t. p̂_j·x ≥ 1 (p̂_j = rows projected off the lineality space found so far), computed as
/// the NNLS min_{α ≥ 0} ‖[P̂; 1ᵀ]α − e_{h+1}‖ (Lawson–Hanson ch. 23): x = −r_{1..h}/r_{h+1}.
/// When the NNLS residual vanishes the rows in its support sum to zero, so they lie in the
/// lineality space; it is extended by them and the step repeats (at most h times).
/// Returns None when no row is outside the lineality space.
pub(super) fn least_distance_gate(u: &[f64], h: usize) -> Option<Vec<f64>> {
    let n = u.len() / h;
    let mut basis: Vec<f64> = Vec::new(); // orthonormal vectors spanning the lineality found
    let mut active: Vec<usize> = (0..n).collect();
    let mut cols: Vec<f64> = Vec::with_capacity(n * (h + 1));
    let mut next: Vec<usize> = Vec::with_capacity(n);
    let mut p = vec![0.0; h];
    let mut target = vec![0.0; h + 1];
    target[h] = 1.0;
    let mut work = NnlsWork::new(h + 1);
    // Lawson–Hanson needs about as many iterations as the support has columns (≤ h + 1); the
    // cap only bounds the cost of a pathological cycle (the margin is verified anyway).
    work.max_outer = 40 * (h + 1);
    let c = std::f64::consts::FRAC_1_SQRT_2;
    for _ in 0..=h {
        cols.clear();
        next.clear();
        for &j in &active {
            p.copy_from_slice(&u[j * h..(j + 1) * h]);
            project_off(&basis, h, &mut p);
            let np = dot4(&p, &p).sqrt();
            if np > PROJ_MIN {
                cols.extend(p.iter().map(|v| v / np * c));
                cols.push(c);
                next.push(j);
            }
        }
        std::mem::swap(&mut active, &mut next);
        if active.is_empty() {
            return None;
        }
        work.solve(&cols, active.len(), &target, 0.0);
        let rho_last = work.r[h];
        if rho_last > 1e-12 {
            let x: Vec<f64> = work.r[..h].iter().map(|v| -v / rho_last).collect();
            let xn = dot4(&x, &x).sqrt();
            // Columns are [p̂, 1]/√2, so p̂·x = √2 · (column head)·x; theory gives ≥ 1.
            let min_margin = (0..active.len())
                .map(|a| dot4(&cols[a * (h + 1)..a * (h + 1) + h], &x) / c)
                .fold(f64::INFINITY, f64::min);
            if min_margin >= 0.5 && xn.is_finite() && xn > 0.0 {
                return Some(x.iter().map(|v| v / xn).collect());
            }
        }
        // Infeasible: the support rows sum to (nearly) zero, so they span lineality directions.
        let before = basis.len();
        for (&j, &xa) in active.iter().zip(&work.x) {
            if xa > 0.0 {
                p.copy_from_slice(&u[j * h..(j + 1) * h]);
                project_off(&basis, h, &mut p);
                project_off(&basis, h, &mut p);
                let np = dot4(&p, &p).sqrt();
                if np > 1e-6 {
                    basis.extend(p.iter().map(|v| v / np));
                }
            }
        }
        if basis.len() == before {
            return None;
        }
    }
    None
}

/// p ← p − Σ (q·p) q over the orthonormal vectors of `basis`.
fn project_off(basis: &[f64], h: usize, p: &mut [f64]) {
    for q in basis.chunks_exact(h) {
        let d = dot4(q, p);
        axpy(-d, q, p);
    }
}
