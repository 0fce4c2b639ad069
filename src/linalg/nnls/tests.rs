use super::*;
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn gauss(rng: &mut ChaCha8Rng, h: usize) -> Vec<f64> {
    (0..h).map(|_| rng.sample(StandardNormal)).collect()
}

fn kkt_violation(c: &Array2<f64>, res: &Nnls) -> (f64, f64, f64) {
    let mut min_alpha: f64 = 0.0;
    let mut max_grad: f64 = f64::NEG_INFINITY;
    let mut max_compl: f64 = 0.0;
    for (j, row) in c.rows().into_iter().enumerate() {
        let g = row
            .iter()
            .zip(&res.residual)
            .map(|(a, b)| a * b)
            .sum::<f64>();
        min_alpha = min_alpha.min(res.alpha[j]);
        max_grad = max_grad.max(g);
        max_compl = max_compl.max((res.alpha[j] * g).abs());
    }
    (min_alpha, max_grad, max_compl)
}

#[test]
fn nnls_target_inside_cone_has_zero_residual_and_reproduces_target() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for h in [2, 3, 5, 9] {
        for m in [h, 2 * h, 5 * h] {
            let c = Array2::from_shape_fn((m, h), |_| rng.sample::<f64, _>(StandardNormal));
            let w: Vec<f64> = (0..m).map(|_| rng.random::<f64>()).collect();
            let t: Vec<f64> = (0..h)
                .map(|i| (0..m).map(|j| w[j] * c[[j, i]]).sum())
                .collect();
            let res = nnls(c.view(), &t);
            assert!(res.norm < 1e-10, "h={h} m={m}: residual {} vs 0", res.norm);
            assert!(res.alpha.iter().all(|&a| a >= 0.0), "negative alpha");
            for i in 0..h {
                let ci: f64 = (0..m).map(|j| res.alpha[j] * c[[j, i]]).sum();
                assert!(
                    (ci - t[i]).abs() < 1e-10,
                    "(Cα)_{i} = {ci} vs t_{i} = {}",
                    t[i]
                );
            }
        }
    }
}

#[test]
fn nnls_target_outside_cone_satisfies_kkt() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for trial in 0..200 {
        let h = 2 + trial % 8;
        let m = 1 + trial % 13;
        let c = Array2::from_shape_fn((m, h), |_| rng.sample::<f64, _>(StandardNormal));
        let t = gauss(&mut rng, h);
        let res = nnls(c.view(), &t);
        let (min_alpha, max_grad, max_compl) = kkt_violation(&c, &res);
        assert!(
            min_alpha >= 0.0,
            "trial {trial}: min alpha {min_alpha} vs ≥ 0"
        );
        assert!(
            max_grad <= 1e-10,
            "trial {trial}: max (Cᵀr)_j {max_grad} vs ≤ 1e-10"
        );
        assert!(
            max_compl <= 1e-10,
            "trial {trial}: |α_j (Cᵀr)_j| {max_compl} vs ≤ 1e-10"
        );
        let rt = dot4(&res.residual, &t);
        assert!(
            (rt - res.norm * res.norm).abs() <= 1e-10,
            "trial {trial}: r·t {rt} vs ‖r‖² {}",
            res.norm * res.norm
        );
    }
}

#[test]
fn nnls_ignores_zero_columns() {
    let c = ndarray::array![
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 0.0, 0.0],
        [0.0, 2.0, 0.0]
    ];
    let t = [3.0, -1.0, 4.0];
    let res = nnls(c.view(), &t);
    assert_eq!(res.alpha, vec![0.0, 3.0, 0.0, 0.0], "alpha");
    assert_eq!(res.residual, vec![0.0, -1.0, 4.0], "residual");
    assert!(
        (res.norm - 17f64.sqrt()).abs() < 1e-15,
        "norm {} vs √17",
        res.norm
    );
    let all_zero = Array2::<f64>::zeros((4, 3));
    let res = nnls(all_zero.view(), &t);
    assert_eq!(res.alpha, vec![0.0; 4], "alpha of zero columns");
    assert!(
        (res.norm - 26f64.sqrt()).abs() < 1e-15,
        "norm {} vs √26",
        res.norm
    );
}

#[test]
fn nnls_with_more_columns_than_dimension_satisfies_kkt() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for trial in 0..50 {
        let h = 3 + trial % 7;
        let m = 10 * h;
        // Columns in a half-space so that many targets lie outside the cone.
        let g = gauss(&mut rng, h);
        let mut c = Array2::from_shape_fn((m, h), |_| rng.sample::<f64, _>(StandardNormal));
        for mut row in c.rows_mut() {
            if row.iter().zip(&g).map(|(a, b)| a * b).sum::<f64>() < 0.0 {
                row.mapv_inplace(|v| -v);
            }
        }
        let t: Vec<f64> = g.iter().map(|v| -v).collect();
        let res = nnls(c.view(), &t);
        let (min_alpha, max_grad, max_compl) = kkt_violation(&c, &res);
        assert!(min_alpha >= 0.0, "trial {trial}: min alpha {min_alpha}");
        assert!(
            max_grad <= 1e-10,
            "trial {trial}: max (Cᵀr)_j {max_grad} vs ≤ 1e-10"
        );
        assert!(
            max_compl <= 1e-10,
            "trial {trial}: complementarity {max_compl}"
        );
        // t = −g is in the polar cone, so the best α is 0 and r = t.
        assert!(
            (res.norm - dot4(&g, &g).sqrt()).abs() < 1e-12,
            "trial {trial}: norm {} vs ‖g‖ {}",
            res.norm,
            dot4(&g, &g).sqrt()
        );
    }
}

#[test]
fn nnls_handles_empty_inputs_and_zero_target() {
    let empty = Array2::<f64>::zeros((0, 3));
    let res = nnls(empty.view(), &[1.0, 2.0, 2.0]);
    assert!(res.alpha.is_empty(), "alpha {:?}", res.alpha);
    assert!((res.norm - 3.0).abs() < 1e-15, "norm {} vs 3", res.norm);
    let c = ndarray::array![[1.0, 2.0], [3.0, -1.0]];
    let res = nnls(c.view(), &[0.0, 0.0]);
    assert_eq!(res.alpha, vec![0.0, 0.0], "alpha for zero target");
    assert_eq!(res.norm, 0.0, "norm for zero target");
    let none = Array2::<f64>::zeros((2, 0));
    let res = nnls(none.view(), &[]);
    assert_eq!(res.norm, 0.0, "norm in dimension 0");
}
