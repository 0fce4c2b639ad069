pub(in crate::reduce) mod brute;
mod timing;

use super::*;
use crate::linalg::nnls;
use brute::*;
use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, SupportedConeT};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn nnls_norm_equals_support_function_of_cone_on_unit_ball() {
    // max{v·u : ‖u‖ ≤ 1, Bu ≥ 0} = min_{α≥0} ‖v + Bᵀα‖ = nnls(B, −v).norm, checked with an SOCP.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for trial in 0..10 {
        let h = 3 + trial % 4;
        let (b, _) = random_pointed(&mut rng, 12, h);
        let v = gauss(&mut rng, h);
        let minus_v: Vec<f64> = v.iter().map(|x| -x).collect();
        let ours = nnls(b.view(), &minus_v).norm;
        // clarabel: min −v·u s.t. −Bu + s = 0, s ≥ 0; (1, u) ∈ SOC.
        let mut a: Vec<Vec<f64>> = b
            .rows()
            .into_iter()
            .map(|r| r.mapv(|x| -x).to_vec())
            .collect();
        a.push(vec![0.0; h]);
        for i in 0..h {
            let mut e = vec![0.0; h];
            e[i] = -1.0;
            a.push(e);
        }
        let mut rhs = vec![0.0; b.nrows()];
        rhs.push(1.0);
        rhs.extend(std::iter::repeat_n(0.0, h));
        let cones = [
            SupportedConeT::NonnegativeConeT(b.nrows()),
            SupportedConeT::SecondOrderConeT(h + 1),
        ];
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .build()
            .expect("valid settings");
        let p = CscMatrix::<f64>::zeros((h, h));
        let mut solver =
            DefaultSolver::new(&p, &minus_v, &CscMatrix::from(&a), &rhs, &cones, settings)
                .expect("valid SOCP");
        solver.solve();
        let theirs = -solver.solution.obj_val;
        assert!(
            (ours - theirs).abs() < 1e-6,
            "trial {trial}: nnls {ours} vs SOCP {theirs}"
        );
    }
}

#[test]
fn irredundant_rows_matches_lp_brute_force_on_random_pointed_cones() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (trial, (m, h)) in [
        (20, 3),
        (50, 3),
        (80, 3),
        (30, 4),
        (60, 4),
        (40, 9),
        (80, 9),
    ]
    .into_iter()
    .enumerate()
    {
        let (b, g) = random_pointed(&mut rng, m, h);
        let expected = brute_force(&b);
        let with_gate = irredundant_rows(b.view(), Some(&g), 1e-9);
        let without = irredundant_rows(b.view(), None, 1e-9);
        assert_eq!(
            with_gate, expected,
            "trial {trial} (m={m}, h={h}) with gate"
        );
        assert_eq!(
            without, expected,
            "trial {trial} (m={m}, h={h}) without gate"
        );
    }
}

#[test]
fn irredundant_rows_returns_exactly_the_generators_of_a_cone_built_from_them() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    for (trial, (ngen, h, m)) in [(6, 3, 60), (8, 4, 80), (12, 9, 80), (20, 9, 80)]
        .into_iter()
        .enumerate()
    {
        // Generators z_i = g/‖g‖² + ρ w_i with unit w_i ⊥ g: points on a sphere inside the
        // hyperplane g·z = 1 are in convex position, so every generator is extreme.
        let g = gauss(&mut rng, h);
        let gg = dot4(&g, &g);
        let gens: Vec<Vec<f64>> = (0..ngen)
            .map(|_| {
                let mut w = gauss(&mut rng, h);
                let d = dot4(&w, &g) / gg;
                axpy(-d, &g, &mut w);
                let wn = dot4(&w, &w).sqrt();
                let mut z: Vec<f64> = g.iter().map(|v| v / gg).collect();
                axpy(0.8 / gg.sqrt() / wn, &w, &mut z);
                z
            })
            .collect();
        // Tagged rows: Some(i) = positive multiple of generator i, None = combination/zero.
        let mut tagged: Vec<(Option<usize>, Vec<f64>)> = Vec::new();
        for (i, z) in gens.iter().enumerate() {
            tagged.push((Some(i), z.clone()));
            let s = 0.1 + 3.0 * rng.random::<f64>();
            tagged.push((Some(i), z.iter().map(|v| v * s).collect())); // positive multiple
        }
        tagged.push((Some(0), gens[0].clone())); // exact duplicate
        tagged.push((None, vec![0.0; h]));
        tagged.push((None, vec![0.0; h]));
        while tagged.len() < m {
            let mut r = vec![0.0; h];
            let how_many = 2 + rng.random_range(0..ngen - 1);
            for _ in 0..how_many {
                let i = rng.random_range(0..ngen);
                axpy(rng.random::<f64>() + 0.01, &gens[i], &mut r);
            }
            // A single generator twice is a multiple of it, not an interior point.
            tagged.push((None, r));
        }
        // Deterministic shuffle.
        for i in (1..tagged.len()).rev() {
            let j = rng.random_range(0..=i);
            tagged.swap(i, j);
        }
        let rows: Vec<Vec<f64>> = tagged.iter().map(|(_, r)| r.clone()).collect();
        let b = rows_to_array(&rows, h);
        let mut expected: Vec<usize> = (0..ngen)
            .map(|i| {
                tagged
                    .iter()
                    .position(|(t, _)| *t == Some(i))
                    .expect("every generator is present")
            })
            .collect();
        // A combination that used a single generator is a multiple of it and may come first.
        for (e, gi) in expected.iter_mut().zip(0..ngen) {
            let gz = &gens[gi];
            let gzn = dot4(gz, gz).sqrt();
            for (k, (_, r)) in tagged.iter().enumerate() {
                let rn = dot4(r, r).sqrt();
                if k < *e && rn > 0.0 && (dot4(r, gz) / (rn * gzn) - 1.0).abs() < 1e-12 {
                    *e = k;
                    break;
                }
            }
        }
        expected.sort_unstable();
        let got = irredundant_rows(b.view(), Some(&g), 1e-9);
        assert_eq!(
            got, expected,
            "trial {trial}: kept rows vs first copies of the generators"
        );
        let got = irredundant_rows(b.view(), None, 1e-9);
        assert_eq!(got, expected, "trial {trial} without gate");
        assert_eq!(brute_force(&b), expected, "trial {trial}: brute force");
    }
}

#[test]
fn irredundant_rows_keeps_first_of_duplicates_and_drops_zero_rows() {
    let b = ndarray::array![
        [0.0, 0.0, 0.0],
        [2.0, 0.0, 1.0],
        [1.0, 0.0, 0.5],
        [0.0, 1.0, 1.0],
        [0.0, 0.0, 0.0],
        [0.0, 3.0, 3.0],
        [1.0, 1.0, 1.5],
        [4.0, 0.0, 2.0],
        [0.0, 0.1, 0.1],
    ];
    let got = irredundant_rows(b.view(), Some(&[0.0, 0.0, 1.0]), 1e-9);
    assert_eq!(got, vec![1, 3], "kept rows");
    let got = irredundant_rows(b.view(), None, 1e-9);
    assert_eq!(got, vec![1, 3], "kept rows without gate");
}

#[test]
fn irredundant_rows_preserves_the_cone_on_random_points() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for h in [3, 4, 9] {
        let (b, g) = random_pointed(&mut rng, 200, h);
        let s = irredundant_rows(b.view(), Some(&g), 1e-9);
        assert!(
            s.len() < b.nrows(),
            "h={h}: nothing dropped ({} rows)",
            s.len()
        );
        let mut checked = 0;
        for _ in 0..20_000 {
            // Points near the cone so that both answers occur.
            let mut c = gauss(&mut rng, h);
            axpy(1.5 * rng.random::<f64>() / dot4(&g, &g).sqrt(), &g, &mut c);
            let cn = dot4(&c, &c).sqrt();
            let full = b.rows().into_iter().map(|r| {
                r.iter().zip(&c).map(|(a, b)| a * b).sum::<f64>() / (r.dot(&r).sqrt() * cn)
            });
            let min_full = full.fold(f64::INFINITY, f64::min);
            let min_s = s
                .iter()
                .map(|&k| {
                    let r = b.row(k);
                    r.iter().zip(&c).map(|(a, b)| a * b).sum::<f64>() / (r.dot(&r).sqrt() * cn)
                })
                .fold(f64::INFINITY, f64::min);
            if min_full.abs() < 1e-9 || min_s.abs() < 1e-9 {
                continue; // too close to the boundary to decide
            }
            checked += 1;
            assert_eq!(
                min_full >= 0.0,
                min_s >= 0.0,
                "h={h}: B c ≥ 0 is {} (min {min_full}) but B_S c ≥ 0 is {} (min {min_s})",
                min_full >= 0.0,
                min_s >= 0.0
            );
        }
        assert!(checked > 19_000, "h={h}: only {checked} points decided");
    }
}

#[test]
fn irredundant_rows_handles_cones_containing_lines() {
    // Rows b and −b: {c : Bc ≥ 0} lies in b⊥, K = cone{rows} contains the line ℝb.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for (trial, (m, h, nlines)) in [(30, 3, 1), (40, 4, 1), (40, 4, 2), (50, 9, 3), (20, 3, 3)]
        .into_iter()
        .enumerate()
    {
        let (b0, _) = random_pointed(&mut rng, m, h);
        let mut rows: Vec<Vec<f64>> = b0.rows().into_iter().map(|r| r.to_vec()).collect();
        for _ in 0..nlines {
            let l = gauss(&mut rng, h);
            let pos = rng.random_range(0..rows.len());
            rows.insert(pos, l.clone());
            let pos = rng.random_range(0..rows.len());
            rows.insert(pos, l.iter().map(|v| -2.0 * v).collect());
        }
        let b = rows_to_array(&rows, h);
        let s = irredundant_rows(b.view(), None, 1e-9);
        check_same_cone_and_irredundant(&b, &s);
        // A gate that is not interior must not change correctness.
        let bad_gate = vec![1.0; h];
        let s2 = irredundant_rows(b.view(), Some(&bad_gate), 1e-9);
        check_same_cone_and_irredundant(&b, &s2);
        assert!(!s.is_empty(), "trial {trial}: empty result");
    }
    // b and −b alone: both are needed.
    let b = ndarray::array![[1.0, 2.0], [-1.0, -2.0]];
    assert_eq!(irredundant_rows(b.view(), None, 1e-9), vec![0, 1], "b, −b");
    // A positively spanning set of ℝ³ (cone = everything, P = {0}).
    let b = ndarray::array![
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [-1.0, -1.0, -1.0],
        [-1.0, 0.0, 0.0],
        [1.0, 1.0, 0.0],
    ];
    let s = irredundant_rows(b.view(), None, 1e-9);
    check_same_cone_and_irredundant(&b, &s);
}

#[test]
fn irredundant_rows_handles_lower_dimensional_pointed_cones() {
    // Rows spanning a 3-dimensional subspace of ℝ⁵.
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (b3, _) = random_pointed(&mut rng, 40, 3);
    let basis: Vec<Vec<f64>> = (0..3).map(|_| gauss(&mut rng, 5)).collect();
    let rows: Vec<Vec<f64>> = b3
        .rows()
        .into_iter()
        .map(|r| {
            let mut v = vec![0.0; 5];
            for (i, x) in r.iter().enumerate() {
                axpy(*x, &basis[i], &mut v);
            }
            v
        })
        .collect();
    let b = rows_to_array(&rows, 5);
    let expected = brute_force(&b3);
    assert_eq!(
        irredundant_rows(b.view(), None, 1e-9),
        expected,
        "embedded in ℝ⁵"
    );
    assert_eq!(brute_force(&b), expected, "brute force in ℝ⁵");
}

#[test]
fn irredundant_rows_handles_degenerate_shapes() {
    let empty = Array2::<f64>::zeros((0, 4));
    assert!(
        irredundant_rows(empty.view(), None, 1e-9).is_empty(),
        "empty b"
    );
    let zeros = Array2::<f64>::zeros((5, 3));
    assert!(
        irredundant_rows(zeros.view(), None, 1e-9).is_empty(),
        "all-zero b"
    );
    let no_cols = Array2::<f64>::zeros((3, 0));
    assert!(
        irredundant_rows(no_cols.view(), None, 1e-9).is_empty(),
        "h = 0"
    );
    let h1 = ndarray::array![[2.0], [0.0], [3.0], [0.5]];
    assert_eq!(
        irredundant_rows(h1.view(), None, 1e-9),
        vec![0],
        "h = 1, one sign"
    );
    assert_eq!(
        irredundant_rows(h1.view(), Some(&[-1.0]), 1e-9),
        vec![0],
        "h = 1, bad gate"
    );
    let h1 = ndarray::array![[2.0], [-1.0], [3.0], [-0.5]];
    assert_eq!(
        irredundant_rows(h1.view(), None, 1e-9),
        vec![0, 1],
        "h = 1, both signs"
    );
    let nonfinite = ndarray::array![
        [1.0, 0.0],
        [f64::NAN, 1.0],
        [2.0, 0.0],
        [0.0, f64::INFINITY]
    ];
    assert_eq!(
        irredundant_rows(nonfinite.view(), None, 1e-9),
        vec![0, 1, 3],
        "non-finite rows kept"
    );
    let huge = ndarray::array![[1e300, 0.0], [0.0, 1e-300], [1e300, 1e-290]];
    assert_eq!(
        irredundant_rows(huge.view(), None, 1e-9),
        vec![0, 1],
        "extreme scales"
    );
    for tol in [f64::NAN, -1.0, 0.0, f64::INFINITY] {
        let b = ndarray::array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
        assert_eq!(
            irredundant_rows(b.view(), None, tol),
            vec![0, 1],
            "tol {tol}"
        );
    }
}

#[test]
fn irredundant_rows_is_deterministic() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let (b, g) = digits_like(&mut rng, 2000);
    let first = irredundant_rows(b.view(), Some(&g), 1e-9);
    for _ in 0..3 {
        assert_eq!(
            irredundant_rows(b.view(), Some(&g), 1e-9),
            first,
            "repeat with gate"
        );
    }
    assert_eq!(
        irredundant_rows(b.view(), None, 1e-9),
        first,
        "own gate, same cone"
    );
}

#[test]
fn irredundant_rows_matches_brute_force_on_digits_like_data() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (b, g) = digits_like(&mut rng, 300);
    let got = irredundant_rows(b.view(), Some(&g), 1e-9);
    let expected = brute_force(&b);
    assert_eq!(
        got, expected,
        "digits-like 300 rows: ours vs LP brute force"
    );
    assert!(got.len() < 100, "kept {} of 300", got.len());
}

/// Small-integer rows (entries in −2..=2, optionally all in one half-space): many exact
/// degeneracies (rows on faces, coplanar generators, duplicates, lines).
fn small_integer_case(rng: &mut ChaCha8Rng, m: usize, h: usize, pointed: bool) -> Array2<f64> {
    let g: Vec<f64> = (0..h).map(|i| 1.0 + 0.1 * i as f64).collect();
    let mut b = Array2::zeros((m, h));
    for k in 0..m {
        let mut r: Vec<f64> = (0..h)
            .map(|_| f64::from(rng.random_range(-2..=2i32)))
            .collect();
        if pointed {
            let d = dot4(&r, &g);
            if d < 0.0 {
                r.iter_mut().for_each(|v| *v = -*v);
            } else if d == 0.0 {
                r.iter_mut().for_each(|v| *v = 0.0);
            }
        }
        for (j, v) in r.iter().enumerate() {
            b[[k, j]] = *v;
        }
    }
    b
}

fn check_small_integer_cases(seed: u64, cases: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for case in 0..cases {
        let h = 2 + case % 4;
        let m = 5 + rng.random_range(0..30);
        let pointed = case % 3 != 0;
        let b = small_integer_case(&mut rng, m, h, pointed);
        for tol in [1e-9, 1e-10] {
            let s = irredundant_rows(b.view(), None, tol);
            check_same_cone_and_irredundant(&b, &s);
            if pointed {
                let g: Vec<f64> = (0..h).map(|i| 1.0 + 0.1 * i as f64).collect();
                assert_eq!(
                    irredundant_rows(b.view(), Some(&g), tol),
                    s,
                    "seed {seed} case {case}: with gate vs without"
                );
                assert_eq!(brute_force(&b), s, "seed {seed} case {case}: brute force");
            }
        }
    }
}

#[test]
fn irredundant_rows_is_exact_on_degenerate_small_integer_rows() {
    check_small_integer_cases(13, 24);
}

#[test]
#[ignore = "stress; run with --ignored"]
fn irredundant_rows_is_exact_on_many_degenerate_small_integer_rows() {
    for seed in 100..140 {
        check_small_integer_cases(seed, 30);
    }
}

#[test]
#[ignore = "stress; run with --ignored"]
fn irredundant_rows_matches_brute_force_on_many_digits_like_instances() {
    for seed in 200..215 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (b, g) = digits_like(&mut rng, 300);
        let expected = brute_force(&b);
        for tol in [1e-9, 1e-10] {
            assert_eq!(
                irredundant_rows(b.view(), Some(&g), tol),
                expected,
                "seed {seed} tol {tol}"
            );
            assert_eq!(
                irredundant_rows(b.view(), None, tol),
                expected,
                "seed {seed} tol {tol}, no gate"
            );
        }
    }
}

#[test]
fn irredundant_rows_is_exact_with_many_extreme_rays() {
    // More than 4h kept rows switches the redundancy test to column generation.
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    // 150 generators on a circle in the plane z₃ = 1, plus interior combinations.
    let gens: Vec<Vec<f64>> = (0..150)
        .map(|i| {
            let a = 2.0 * std::f64::consts::PI * (i as f64 + 0.3 * rng.random::<f64>()) / 150.0;
            vec![a.cos(), a.sin(), 1.0]
        })
        .collect();
    let mut rows = gens.clone();
    for _ in 0..300 {
        let mut r = vec![0.0; 3];
        for _ in 0..3 {
            let i = rng.random_range(0..gens.len());
            axpy(rng.random::<f64>() + 0.01, &gens[i], &mut r);
        }
        rows.push(r);
    }
    let b = rows_to_array(&rows, 3);
    let expected: Vec<usize> = (0..gens.len()).collect();
    assert_eq!(
        irredundant_rows(b.view(), Some(&[0.0, 0.0, 1.0]), 1e-10),
        expected,
        "circle"
    );
    assert_eq!(
        irredundant_rows(b.view(), None, 1e-10),
        expected,
        "circle, no gate"
    );
    // Wide random cones in ℝ⁵ with many extreme rays, against the LP.
    for m in [120, 200] {
        let (b, g) = random_pointed(&mut rng, m, 5);
        let expected = brute_force(&b);
        assert!(expected.len() > 20, "only {} extreme rays", expected.len());
        assert_eq!(
            irredundant_rows(b.view(), Some(&g), 1e-10),
            expected,
            "m={m}, h=5"
        );
    }
}

#[test]
fn irredundant_rows_handles_larger_dimensions() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    for (m, h) in [(60, 16), (60, 25), (40, 27)] {
        let (b, g) = random_pointed(&mut rng, m, h);
        let expected = brute_force(&b);
        assert_eq!(
            irredundant_rows(b.view(), Some(&g), 1e-10),
            expected,
            "m={m} h={h}"
        );
        assert_eq!(
            irredundant_rows(b.view(), None, 1e-10),
            expected,
            "m={m} h={h}, no gate"
        );
    }
}

#[test]
fn irredundant_rows_finds_vertices_far_from_the_gate_hyperplane() {
    // The search visits the rows of smallest margin first and looks for vertices among them; here
    // three vertices have the largest margins of all, so they can only be found in the second part.
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    let mut rows: Vec<Vec<f64>> = Vec::new();
    // z = (x, y) on the plane z₃ = 1: a far cluster along +x ...
    for _ in 0..200 {
        rows.push(vec![
            10.0 + 90.0 * rng.random::<f64>(),
            2.0 * rng.random::<f64>() - 1.0,
            1.0,
        ]);
    }
    // ... the near vertices on the −x side ...
    rows.push(vec![-1.0, -1.0, 1.0]);
    rows.push(vec![-1.0, 1.0, 1.0]);
    rows.push(vec![-1.5, 0.2, 1.0]);
    // ... and rows well inside.
    for _ in 0..100 {
        rows.push(vec![
            -0.5 + 9.0 * rng.random::<f64>(),
            1.6 * rng.random::<f64>() - 0.8,
            1.0,
        ]);
    }
    let b = rows_to_array(&rows, 3);
    let expected = brute_force(&b);
    for k in 200..203 {
        assert!(expected.contains(&k), "row {k} is a vertex");
    }
    let got = irredundant_rows(b.view(), Some(&[0.0, 0.0, 1.0]), 1e-10);
    assert_eq!(got, expected, "far cluster and near vertices");
    check_same_cone_and_irredundant(&b, &got);
}
