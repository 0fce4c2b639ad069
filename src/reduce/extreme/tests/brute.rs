//! Brute-force references for the extreme-ray search: an LP per row (Clarabel) and random cones.

use super::super::*;
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};
use ndarray::{Array2, ArrayView1};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

pub(in crate::reduce) fn gauss(rng: &mut ChaCha8Rng, h: usize) -> Vec<f64> {
    (0..h).map(|_| rng.sample(StandardNormal)).collect()
}

pub(in crate::reduce) fn rows_to_array(rows: &[Vec<f64>], h: usize) -> Array2<f64> {
    let mut a = Array2::zeros((rows.len(), h));
    for (i, r) in rows.iter().enumerate() {
        for (j, v) in r.iter().enumerate() {
            a[[i, j]] = *v;
        }
    }
    a
}

/// min obj·c s.t. rows·c ≥ 0, −1 ≤ c ≤ 1 (clarabel). Row k is redundant w.r.t. `rows` iff
/// this is ≥ −tiny for obj = b_k.
pub(in crate::reduce) fn lp_min(rows: &[ArrayView1<f64>], obj: &[f64]) -> f64 {
    let h = obj.len();
    let mut a: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.iter().map(|v| -v).collect())
        .collect();
    for sign in [1.0, -1.0] {
        for i in 0..h {
            let mut e = vec![0.0; h];
            e[i] = sign;
            a.push(e);
        }
    }
    let mut rhs = vec![0.0; rows.len()];
    rhs.extend(std::iter::repeat_n(1.0, 2 * h));
    let a_mat = CscMatrix::from(&a);
    let p = CscMatrix::<f64>::zeros((h, h));
    let cones = [SupportedConeT::NonnegativeConeT(a.len())];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .build()
        .expect("valid settings");
    let mut solver = DefaultSolver::new(&p, obj, &a_mat, &rhs, &cones, settings).expect("valid LP");
    solver.solve();
    let st = solver.solution.status;
    assert!(
        matches!(st, SolverStatus::Solved | SolverStatus::AlmostSolved),
        "LP status {st:?}"
    );
    solver.solution.obj_val
}

/// First index of every nonzero direction (brute force, O(m²)).
pub(in crate::reduce) fn first_directions(b: &Array2<f64>) -> Vec<usize> {
    let units: Vec<Option<Vec<f64>>> = b
        .rows()
        .into_iter()
        .map(|r| {
            let n = r.dot(&r).sqrt();
            (n > 0.0).then(|| r.iter().map(|v| v / n).collect())
        })
        .collect();
    let mut reps: Vec<usize> = Vec::new();
    for (i, ui) in units.iter().enumerate() {
        let Some(ui) = ui else { continue };
        let dup = reps.iter().any(|&r| {
            let ur = units[r].as_ref().expect("reps are nonzero");
            ui.iter()
                .zip(ur)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
                < 1e-9
        });
        if !dup {
            reps.push(i);
        }
    }
    reps
}

/// Brute-force irredundant set of a pointed cone: directions whose LP against the other
/// directions is clearly negative. Panics on values in the ambiguous band.
pub(in crate::reduce) fn brute_force(b: &Array2<f64>) -> Vec<usize> {
    let reps = first_directions(b);
    let mut out = Vec::new();
    for &k in &reps {
        let others: Vec<ArrayView1<f64>> = reps
            .iter()
            .filter(|&&j| j != k)
            .map(|&j| b.row(j))
            .collect();
        let obj: Vec<f64> = b.row(k).to_vec();
        let val = lp_min(&others, &obj);
        let scale = b.row(k).dot(&b.row(k)).sqrt();
        assert!(
            !(val < -1e-7 * scale && val > -1e-5 * scale),
            "ambiguous LP value {val} for row {k} (scale {scale})"
        );
        if val < -1e-6 * scale {
            out.push(k);
        }
    }
    out
}

/// S describes the same cone and is irredundant (valid with or without pointedness):
/// every nonzero row outside S is redundant w.r.t. B_S, every row of S is not redundant
/// w.r.t. B_{S∖k}.
pub(in crate::reduce) fn check_same_cone_and_irredundant(b: &Array2<f64>, s: &[usize]) {
    let rows_s: Vec<ArrayView1<f64>> = s.iter().map(|&j| b.row(j)).collect();
    for k in 0..b.nrows() {
        let scale = b.row(k).dot(&b.row(k)).sqrt();
        if scale == 0.0 {
            assert!(!s.contains(&k), "zero row {k} kept");
            continue;
        }
        let obj = b.row(k).to_vec();
        if let Some(pos) = s.iter().position(|&j| j == k) {
            let mut others = rows_s.clone();
            others.remove(pos);
            let val = lp_min(&others, &obj);
            assert!(
                val < -1e-6 * scale,
                "kept row {k} is redundant among kept rows: LP value {val} (scale {scale})"
            );
        } else {
            let val = lp_min(&rows_s, &obj);
            assert!(
                val >= -1e-6 * scale,
                "dropped row {k} is needed: LP value {val} vs ≥ {} (scale {scale})",
                -1e-6 * scale
            );
        }
    }
}

/// Random rows in the open half-space of a random gate (a pointed cone).
pub(in crate::reduce) fn random_pointed(
    rng: &mut ChaCha8Rng,
    m: usize,
    h: usize,
) -> (Array2<f64>, Vec<f64>) {
    let g = gauss(rng, h);
    let rows: Vec<Vec<f64>> = (0..m)
        .map(|_| {
            let mut r = gauss(rng, h);
            // Shift towards g so the cone is not almost a half-space.
            let d = dot4(&r, &g);
            let gn = dot4(&g, &g).sqrt();
            let shift = if d >= 0.0 { 0.5 } else { -0.5 };
            axpy(shift * (h as f64).sqrt() / gn, &g, &mut r);
            let d = dot4(&r, &g);
            if d < 0.0 {
                r.iter_mut().for_each(|v| *v = -*v);
            }
            r
        })
        .collect();
    (rows_to_array(&rows, h), g)
}

/// Digits-like rows: nonnegative 3×3 patches with 17 gray levels (about half the pixels zero,
/// 10 % all-zero rows), signed by a Gaussian gate g: b_k = sign(m_k·g) m_k.
pub(in crate::reduce) fn digits_like(rng: &mut ChaCha8Rng, m: usize) -> (Array2<f64>, Vec<f64>) {
    let h = 9;
    let g = gauss(rng, h);
    let mut b = Array2::zeros((m, h));
    for k in 0..m {
        if rng.random_bool(0.1) {
            continue;
        }
        let patch: Vec<f64> = (0..h)
            .map(|_| {
                if rng.random_bool(0.5) {
                    0.0
                } else {
                    f64::from(rng.random_range(1..=16u32)) / 16.0
                }
            })
            .collect();
        let sign = if dot4(&patch, &g) < 0.0 { -1.0 } else { 1.0 };
        for (j, v) in patch.iter().enumerate() {
            b[[k, j]] = sign * v;
        }
    }
    (b, g)
}
