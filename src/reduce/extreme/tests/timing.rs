//! Timings of the extreme-ray search (ignored; run with `--ignored --nocapture`).

use super::super::*;
use super::brute::*;
use crate::reduce::units::{UnitRows, dedup};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
#[ignore = "timing; run with --ignored --nocapture"]
fn irredundant_rows_timing_on_digits_like_data() {
    for m in [300, 3_600, 40_000] {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let (b, g) = digits_like(&mut rng, m);
        let reps = if m <= 3_600 { 20 } else { 5 };
        let t0 = std::time::Instant::now();
        let mut kept = Vec::new();
        for _ in 0..reps {
            kept = irredundant_rows(b.view(), Some(&g), 1e-9);
        }
        let with_gate = t0.elapsed().as_secs_f64() / reps as f64;
        let t0 = std::time::Instant::now();
        let kept2 = irredundant_rows(b.view(), None, 1e-9);
        let without = t0.elapsed().as_secs_f64();
        assert_eq!(kept, kept2, "m={m}: with and without gate");
        println!(
            "m = {m:>6}, h = 9: kept {:>4} rows ({} distinct directions), {:.2} ms with gate, {:.2} ms without",
            kept.len(),
            first_directions_fast(&b),
            with_gate * 1e3,
            without * 1e3
        );
    }
}

#[test]
#[ignore = "timing; run with --ignored --nocapture"]
fn irredundant_rows_timing_with_many_extreme_rays() {
    for (m, h) in [(3_600, 9), (40_000, 9), (3_600, 27)] {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (b, g) = random_pointed(&mut rng, m, h);
        let t0 = std::time::Instant::now();
        let kept = irredundant_rows(b.view(), Some(&g), 1e-10);
        println!(
            "Gaussian rows m = {m:>6}, h = {h:>2}: kept {:>5} rows in {:.1} ms",
            kept.len(),
            t0.elapsed().as_secs_f64() * 1e3
        );
    }
}

fn first_directions_fast(b: &Array2<f64>) -> usize {
    let rows = UnitRows::of(b.view(), 0..b.nrows());
    dedup(&rows.idx, &rows.units, b.ncols()).0.len()
}
