//! The shared ReLU path ([`SignedUnits`]) against the per-pattern one.

use super::*;
use crate::reduce::cone::irredundant_rows;
use crate::reduce::extreme::tests::brute::*;
use ndarray::{Array2, ArrayView1};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Digits-like patches with repeated rows (2× a row: same direction) and a bias column.
fn patches_with_twins(rng: &mut ChaCha8Rng, m: usize, h: usize) -> Array2<f64> {
    let mut b = Array2::zeros((m, h));
    for k in 0..m {
        if k >= 10 && rng.random_bool(0.2) {
            let src = rng.random_range(0..k);
            let scale = [1.0, 2.0, 0.5][rng.random_range(0..3)];
            let row = b.row(src).to_owned() * scale;
            b.row_mut(k).assign(&row);
            continue;
        }
        for j in 0..h - 1 {
            if rng.random_bool(0.5) {
                b[[k, j]] = f64::from(rng.random_range(1..=16u32)) / 16.0;
            }
        }
        b[[k, h - 1]] = 1.0;
    }
    b
}

#[test]
fn shared_units_reduce_every_pattern_as_the_signed_rows_would() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let h = 6;
    let m = patches_with_twins(&mut rng, 400, h);
    let all: Vec<usize> = (0..m.nrows()).collect();
    let units = SignedUnits::new(m.view(), &all).expect("finite rows");
    for case in 0..12 {
        let g = gauss(&mut rng, h);
        let mut on: Vec<bool> = m
            .rows()
            .into_iter()
            .map(|r| r.dot(&ArrayView1::from(&g)) >= 0.0)
            .collect();
        if case % 4 == 3 {
            // A pattern no gate gives: one row of a repeated direction flipped, so the cone holds a
            // line and the twins must be reduced apart.
            let twin = units.twins[case % units.twins.len()].0;
            on[twin] = !on[twin];
        }
        let mut signed = m.clone();
        for (k, mut row) in signed.rows_mut().into_iter().enumerate() {
            if !on[k] {
                row.mapv_inplace(|v| -v);
            }
        }
        let gate = (case % 4 != 3).then_some(g.as_slice());
        let shared = units.irredundant(&on, gate, 1e-10);
        let direct = irredundant_rows(signed.view(), gate, 1e-10);
        assert_eq!(shared, direct, "case {case}");
        if case < 4 || case % 4 == 3 {
            check_same_cone_and_irredundant(&signed, &shared);
        }
    }
}
