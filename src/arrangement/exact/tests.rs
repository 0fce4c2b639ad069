use super::*;
use crate::linalg::norm;
use ndarray::{Array2, s};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::collections::HashSet;

fn gaussian(rng: &mut ChaCha8Rng, n: usize, h: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, h), |_| rng.sample(StandardNormal))
}

fn integer_rows(rng: &mut ChaCha8Rng, n: usize, h: usize, max: i64) -> Array2<f64> {
    Array2::from_shape_fn((n, h), |_| rng.random_range(-max..=max) as f64)
}

/// Sign vector of `x` over the nonzero rows of `rows`, or `None` if some |m·x| < margin·‖m‖‖x‖.
fn signs(rows: &Array2<f64>, x: &[f64], margin: f64) -> Option<Vec<bool>> {
    let nx = norm(x);
    let mut out = Vec::new();
    for row in rows.rows() {
        let scale = row.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        if scale == 0.0 {
            continue;
        }
        let m: Vec<f64> = row.iter().map(|v| v / scale).collect();
        let v = dot(&m, x);
        if v.abs() < margin * norm(&m) * nx {
            return None;
        }
        out.push(v > 0.0);
    }
    Some(out)
}

/// Checks the output contract on `rows` and returns the set of sign vectors.
fn checked(rows: &Array2<f64>, points: &[Vec<f64>]) -> HashSet<Vec<bool>> {
    let mut set = HashSet::new();
    for g in points {
        assert_eq!(g.len(), rows.ncols(), "point dimension");
        assert!((norm(g) - 1.0).abs() < 1e-12, "‖g‖ = {} ≠ 1", norm(g));
        let sv = signs(rows, g, MIN_MARGIN)
            .unwrap_or_else(|| panic!("point {g:?} has relative margin < {MIN_MARGIN}"));
        assert!(set.insert(sv), "duplicate sign vector for point {g:?}");
    }
    set
}

fn enumerate_checked(rows: &Array2<f64>) -> HashSet<Vec<bool>> {
    let points = enumerate_cells(rows.view(), usize::MAX).expect("enumeration succeeds");
    let set = checked(rows, &points);
    assert_eq!(set.len(), points.len(), "distinct sign vectors vs points");
    set
}

/// Sign vectors of `samples` Gaussian directions whose margin exceeds 1e-6 (at most 64 rows).
fn sampled(rows: &Array2<f64>, rng: &mut ChaCha8Rng, samples: usize) -> HashSet<Vec<bool>> {
    let h = rows.ncols();
    let units: Vec<Vec<f64>> = rows
        .rows()
        .into_iter()
        .map(|r| r.to_vec())
        .filter(|r| norm(r) > 0.0)
        .map(normalized)
        .collect();
    assert!(units.len() <= 64, "packed sign vectors hold 64 rows");
    let mut x = vec![0.0; h];
    let mut packed = HashSet::new();
    'sample: for _ in 0..samples {
        x.iter_mut().for_each(|v| *v = rng.sample(StandardNormal));
        let nx = norm(&x);
        let mut bits = 0u64;
        for (j, u) in units.iter().enumerate() {
            let v = dot(u, &x);
            if v.abs() < 1e-6 * nx {
                continue 'sample;
            }
            bits |= u64::from(v > 0.0) << j;
        }
        packed.insert(bits);
    }
    packed
        .into_iter()
        .map(|bits| (0..units.len()).map(|j| bits >> j & 1 == 1).collect())
        .collect()
}

/// Rank of an integer matrix (fraction-free Bareiss elimination, exact).
fn integer_rank(rows: &[Vec<i128>]) -> usize {
    let mut m = rows.to_vec();
    let cols = m.first().map_or(0, Vec::len);
    let (mut rank, mut prev) = (0, 1i128);
    for c in 0..cols {
        if rank == m.len() {
            break;
        }
        let Some(p) = (rank..m.len()).find(|&r| m[r][c] != 0) else {
            continue;
        };
        m.swap(rank, p);
        for r in rank + 1..m.len() {
            for k in c + 1..cols {
                m[r][k] = (m[rank][c] * m[r][k] - m[r][c] * m[rank][k]) / prev;
            }
            m[r][c] = 0;
        }
        prev = m[rank][c];
        rank += 1;
    }
    rank
}

/// Exact number of regions of the central arrangement of integer rows, by Whitney's formula
/// r(A) = Σ_{B ⊆ A} (−1)^{|B| − rank B} over subsets of the distinct hyperplanes.
fn whitney_count(rows: &Array2<f64>) -> usize {
    let mut planes: Vec<Vec<i128>> = Vec::new();
    for r in rows.rows() {
        let v: Vec<i128> = r.iter().map(|&x| x as i128).collect();
        let parallel = |p: &Vec<i128>| integer_rank(&[p.clone(), v.clone()]) == 1;
        if v.iter().any(|&x| x != 0) && !planes.iter().any(parallel) {
            planes.push(v);
        }
    }
    let n = planes.len();
    let total: i64 = (0u32..1 << n)
        .map(|mask| {
            let subset: Vec<Vec<i128>> = (0..n)
                .filter(|&j| mask >> j & 1 == 1)
                .map(|j| planes[j].clone())
                .collect();
            if (subset.len() - integer_rank(&subset)).is_multiple_of(2) {
                1
            } else {
                -1
            }
        })
        .sum();
    usize::try_from(total).expect("region count is positive")
}

#[test]
fn cell_count_bound_matches_known_values() {
    assert_eq!(cell_count_bound(0, 0), 1.0);
    assert_eq!(cell_count_bound(0, 5), 1.0);
    for n in 1..40 {
        let nf = n as f64;
        let r2 = cell_count_bound(n, 2);
        assert_eq!(
            r2,
            if n == 1 { 2.0 } else { 2.0 * nf },
            "R^2, N = {n}: {r2} vs 2N"
        );
        if n >= 3 {
            let r3 = cell_count_bound(n, 3);
            let want = nf * nf - nf + 2.0;
            assert_eq!(r3, want, "R^3, N = {n}: {r3} vs N²−N+2 = {want}");
        }
        for rank in [n, n + 1, n + 10] {
            let b = cell_count_bound(n, rank);
            assert_eq!(b, 2f64.powi(n as i32), "rank {rank} ≥ N = {n}: {b} vs 2^N");
        }
    }
    assert_eq!(cell_count_bound(60, 3), 3542.0, "60 planes in R^3");
    assert_eq!(
        cell_count_bound(5000, 2500),
        f64::INFINITY,
        "overflow saturates"
    );
    assert_eq!(cell_count_bound(5, 1), 2.0, "rank 1");
}

#[test]
fn distinct_hyperplanes_merges_multiples_and_drops_zero_rows() {
    let rows = ndarray::array![
        [0.0, 0.0, 0.0],
        [1.0, 2.0, 3.0],
        [-2.0, -4.0, -6.0],
        [3.0, 6.0, 9.0],
        [1.0, 2.0, 3.0 + 1e-13],
        [0.0, 1.0, 0.0],
        [0.0, -0.5, 0.0],
        [1.0, 3.0, 4.0],
    ];
    let hp = distinct_hyperplanes(rows.view());
    assert_eq!(
        hp.normals.len(),
        3,
        "distinct hyperplanes: {} vs 3",
        hp.normals.len()
    );
    assert_eq!(hp.rank, 3, "rank: {} vs 3", hp.rank);
    let n14 = 14f64.sqrt();
    let first = [1.0 / n14, 2.0 / n14, 3.0 / n14];
    for (x, y) in hp.normals[0].iter().zip(first) {
        assert!(
            (x - y).abs() < 1e-15,
            "first normal {:?} vs {first:?}",
            hp.normals[0]
        );
    }
    let flat = ndarray::array![[1.0, 1.0, 0.0], [2.0, -1.0, 0.0], [-3.0, 0.0, 0.0]];
    let hp = distinct_hyperplanes(flat.view());
    assert_eq!(
        (hp.normals.len(), hp.rank),
        (3, 2),
        "rows in a plane: (count, rank)"
    );
    let none = Array2::<f64>::zeros((4, 3));
    let hp = distinct_hyperplanes(none.view());
    assert_eq!(
        (hp.normals.len(), hp.rank),
        (0, 0),
        "all-zero rows: (count, rank)"
    );
}

#[test]
fn general_position_lines_in_plane_give_2n_cells() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for n in [1, 2, 3, 8, 11, 15] {
        let rows = gaussian(&mut rng, n, 2);
        let cells = enumerate_checked(&rows).len();
        assert_eq!(
            cells,
            2 * n,
            "N = {n} lines in R^2: {cells} cells vs 2N = {}",
            2 * n
        );
    }
}

#[test]
fn general_position_planes_in_space_give_n2_minus_n_plus_2_cells() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for n in [3, 4, 8, 12, 15] {
        let rows = gaussian(&mut rng, n, 3);
        let cells = enumerate_checked(&rows).len();
        let want = n * n - n + 2;
        assert_eq!(
            cells, want,
            "N = {n} planes in R^3: {cells} cells vs N²−N+2 = {want}"
        );
    }
}

#[test]
fn general_position_counts_equal_bound_in_higher_dimensions() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (n, h) in [(4, 4), (9, 4), (12, 4), (8, 5), (9, 6)] {
        let rows = gaussian(&mut rng, n, h);
        let cells = enumerate_checked(&rows).len();
        let bound = cell_count_bound(n, h.min(n));
        assert_eq!(
            cells as f64, bound,
            "N = {n} in R^{h}: {cells} cells vs bound {bound}"
        );
    }
}

#[test]
fn brute_force_sampling_finds_no_cell_missing_from_enumeration() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for (n, h) in [(6, 3), (12, 3), (7, 4), (12, 4)] {
        let rows = gaussian(&mut rng, n, h);
        let exact = enumerate_checked(&rows);
        let seen = sampled(&rows, &mut rng, 20_000);
        let missing = seen.difference(&exact).count();
        assert_eq!(
            missing, 0,
            "N = {n}, h = {h}: {missing} sampled patterns not enumerated"
        );
        let bound = cell_count_bound(n, h);
        assert_eq!(
            exact.len() as f64,
            bound,
            "N = {n}, h = {h}: {} vs bound {bound}",
            exact.len()
        );
    }
}

#[test]
fn brute_force_sampling_agrees_on_degenerate_integer_rows() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (n, h) in [(12, 3), (8, 4), (11, 4), (9, 5)] {
        let rows = integer_rows(&mut rng, n, h, 2);
        let exact = enumerate_checked(&rows);
        let seen = sampled(&rows, &mut rng, 20_000);
        let missing = seen.difference(&exact).count();
        assert_eq!(
            missing, 0,
            "N = {n}, h = {h}: {missing} sampled patterns not enumerated"
        );
        let hp = distinct_hyperplanes(rows.view());
        let bound = cell_count_bound(hp.normals.len(), hp.rank);
        assert!(
            exact.len() as f64 <= bound,
            "{} cells vs bound {bound}",
            exact.len()
        );
    }
}

#[test]
fn degenerate_integer_rows_match_whitney_formula_count() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    for (n, h, max) in [
        (10, 3, 1),
        (10, 3, 2),
        (9, 3, 3),
        (9, 4, 1),
        (10, 4, 2),
        (8, 5, 1),
        (9, 5, 2),
    ] {
        for _ in 0..3 {
            let rows = integer_rows(&mut rng, n, h, max);
            let cells = enumerate_checked(&rows).len();
            let want = whitney_count(&rows);
            assert_eq!(
                cells, want,
                "integer rows {rows}: {cells} cells vs Whitney count {want}"
            );
        }
    }
}

#[test]
fn braid_arrangement_has_n_factorial_cells() {
    for (n, factorial) in [(3, 6), (4, 24), (5, 120)] {
        let mut rows = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                let mut r = vec![0.0; n];
                r[i] = 1.0;
                r[j] = -1.0;
                rows.extend(r);
            }
        }
        let rows = Array2::from_shape_vec((n * (n - 1) / 2, n), rows).expect("shape");
        let cells = enumerate_checked(&rows).len();
        assert_eq!(
            cells, factorial,
            "braid arrangement in R^{n}: {cells} vs {n}! = {factorial}"
        );
    }
}

#[test]
fn coordinate_hyperplanes_give_2_to_the_h_cells() {
    for h in 1..=6 {
        let rows = Array2::<f64>::eye(h);
        let cells = enumerate_checked(&rows).len();
        assert_eq!(
            cells,
            1 << h,
            "coordinate arrangement in R^{h}: {cells} vs 2^h"
        );
    }
}

#[test]
fn zero_duplicate_negated_and_scaled_rows_do_not_change_cells() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for h in [2, 3, 4] {
        let base = gaussian(&mut rng, 7, h);
        let base_cells = enumerate_cells(base.view(), usize::MAX).expect("base");
        let mut extended = Array2::zeros((7 + 6, h));
        extended.slice_mut(s![..7, ..]).assign(&base);
        extended.row_mut(8).assign(&base.row(0));
        extended.row_mut(9).assign(&(&base.row(1) * -1.0));
        extended.row_mut(10).assign(&(&base.row(2) * 3.5));
        extended.row_mut(11).assign(&(&base.row(3) * -0.25));
        extended.row_mut(12).assign(&base.row(6));
        let cells = enumerate_cells(extended.view(), usize::MAX).expect("extended");
        checked(&extended, &cells);
        assert_eq!(
            cells.len(),
            base_cells.len(),
            "h = {h}: {} vs {}",
            cells.len(),
            base_cells.len()
        );
        let base_set = checked(&base, &base_cells);
        let ext_set = checked(&base, &cells);
        assert_eq!(base_set, ext_set, "h = {h}: same patterns on the base rows");
    }
}

#[test]
fn rows_spanning_a_plane_in_r3_give_2n_cells() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let basis = gaussian(&mut rng, 2, 3);
    for n in [1, 2, 5, 9] {
        let coeffs = gaussian(&mut rng, n, 2);
        let rows = coeffs.dot(&basis);
        let cells = enumerate_checked(&rows).len();
        assert_eq!(
            cells,
            2 * n,
            "{n} rows spanning a plane of R^3: {cells} vs 2N = {}",
            2 * n
        );
    }
    // Rank 3 inside R^5.
    let basis = gaussian(&mut rng, 3, 5);
    let rows = gaussian(&mut rng, 8, 3).dot(&basis);
    let cells = enumerate_checked(&rows).len();
    assert_eq!(
        cells,
        8 * 8 - 8 + 2,
        "8 rows spanning a 3-space of R^5: {cells} vs 58"
    );
}

#[test]
fn one_dimensional_and_empty_inputs() {
    let rows = ndarray::array![[2.0], [0.0], [-3.0]];
    let cells = enumerate_cells(rows.view(), 10).expect("h = 1");
    assert_eq!(cells, vec![vec![-1.0], vec![1.0]], "h = 1 cells");
    let extreme = ndarray::array![[1e300, 2e300], [3e-300, -1e-300], [0.0, 5e-320]];
    let cells = enumerate_cells(extreme.view(), 10).expect("extreme magnitudes");
    let set = checked(&extreme, &cells);
    assert_eq!(
        set.len(),
        6,
        "3 lines of extreme magnitude: {} cells vs 6",
        set.len()
    );
    let zeros = Array2::<f64>::zeros((3, 4));
    let cells = enumerate_cells(zeros.view(), 10).expect("zero rows");
    assert_eq!(
        cells,
        vec![vec![1.0, 0.0, 0.0, 0.0]],
        "all-zero rows: one cell"
    );
    let empty = Array2::<f64>::zeros((0, 2));
    let cells = enumerate_cells(empty.view(), 1).expect("no rows");
    assert_eq!(cells.len(), 1, "no rows: {} cells vs 1", cells.len());
    let bad = ndarray::array![[1.0, f64::NAN]];
    assert!(matches!(
        enumerate_cells(bad.view(), 10),
        Err(ExactError::Numerical(_))
    ));
}

#[test]
fn bound_above_limit_is_refused_with_too_large() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let rows = gaussian(&mut rng, 30, 6);
    let bound = cell_count_bound(30, 6);
    let err = enumerate_cells(rows.view(), 1000).expect_err("must refuse");
    assert_eq!(
        err,
        ExactError::TooLarge {
            bound,
            limit: 1000,
            hyperplanes: 30,
            rank: 6
        },
        "refusal carries bound, limit, hyperplanes and rank"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("sample") && msg.contains("max_patterns"),
        "message: {msg}"
    );
    // A limit equal to the bound is accepted.
    let rows = gaussian(&mut rng, 10, 3);
    let cells = enumerate_cells(rows.view(), 92).expect("bound 92 ≤ limit 92");
    assert_eq!(cells.len(), 92, "10 planes in R^3: {} vs 92", cells.len());
}

#[test]
fn output_is_deterministic_and_sorted_by_sign_vector() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let rows = gaussian(&mut rng, 9, 4);
    let a = enumerate_cells(rows.view(), usize::MAX).expect("first run");
    let b = enumerate_cells(rows.view(), usize::MAX).expect("second run");
    assert_eq!(a, b, "two runs differ");
    let keys: Vec<Vec<bool>> = a
        .iter()
        .map(|g| signs(&rows, g, 0.0).expect("interior"))
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "points not sorted by sign vector"
    );
}

#[test]
fn points_are_max_margin_centres() {
    // The cells of the coordinate arrangement are orthants; their centres are (±1,…,±1)/√h.
    let cells = enumerate_cells(Array2::<f64>::eye(3).view(), 8).expect("orthants");
    for g in &cells {
        for x in g {
            assert!(
                (x.abs() - 1.0 / 3f64.sqrt()).abs() < 1e-9,
                "orthant centre {g:?}"
            );
        }
    }
    // Margins in a random arrangement are far above the certified minimum.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let rows = gaussian(&mut rng, 10, 3);
    let cells = enumerate_cells(rows.view(), usize::MAX).expect("random");
    let worst = cells
        .iter()
        .map(|g| {
            rows.rows()
                .into_iter()
                .map(|m| dot(&m.to_vec(), g).abs() / norm(&m.to_vec()))
                .fold(f64::INFINITY, f64::min)
        })
        .fold(f64::INFINITY, f64::min);
    assert!(worst > 1e-4, "worst margin {worst:e} vs 1e-4");
}

#[test]
fn larger_arrangements_in_r2_and_r3_have_exact_counts() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let rows = gaussian(&mut rng, 200, 2);
    let cells = enumerate_cells(rows.view(), usize::MAX)
        .expect("200 lines")
        .len();
    assert_eq!(cells, 400, "200 lines in R^2: {cells} vs 400");
    let rows = gaussian(&mut rng, 60, 3);
    let cells = enumerate_cells(rows.view(), usize::MAX)
        .expect("60 planes")
        .len();
    assert_eq!(cells, 3542, "60 planes in R^3: {cells} vs 3542");
}

/// Timings for the report; run with
/// `cargo test --release --lib arrangement::exact -- --ignored --nocapture`.
#[test]
#[ignore = "timing report, meaningful in release mode only"]
fn timing_of_large_general_position_arrangements() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for (n, h) in [(200, 2), (60, 3), (200, 3), (30, 4), (20, 5), (14, 7)] {
        let rows = gaussian(&mut rng, n, h);
        let start = std::time::Instant::now();
        let cells = enumerate_cells(rows.view(), usize::MAX)
            .expect("enumeration")
            .len();
        let elapsed = start.elapsed();
        let bound = cell_count_bound(n, h);
        assert_eq!(cells as f64, bound, "N = {n} in R^{h}: {cells} vs {bound}");
        eprintln!("N = {n:4} in R^{h}: {cells:6} cells in {elapsed:?}");
    }
}
