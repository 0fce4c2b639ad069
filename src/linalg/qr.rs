//! A thin QR factorization computed in one fixed order of operations.
//!
//! faer's blocked QR depends on the thread count (measured) and, by the golden files, on the machine
//! (its blocking by cache size is the likely cause; not isolated), so the last
//! bits of `Q` and `R` — and with them a program built from `R`, and its exported file — changed
//! between machines (measured on all 1,797 digits: a CBF export of 47,382,362 bytes on one 2-core
//! machine, 47,381,460 on another, 47,382,084 with one thread). Here every entry is computed by the
//! same sequence of floating-point operations whatever the thread count, with nothing chosen at run
//! time from the CPU: the columns are updated in parallel, each one sequentially.

use super::dot4;
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

/// Columns updated per rayon task at least.
const MIN_COLUMNS: usize = 8;

/// `a = q r` by Householder reflections, with `k = min(n, m)` for `a` of shape `n × m`: `q` is
/// `n × k` with orthonormal columns and `r` is `k × m`, upper triangular.
pub(crate) fn thin_qr(a: ArrayView2<f64>) -> (Array2<f64>, Array2<f64>) {
    let (n, m) = a.dim();
    let k = n.min(m);
    let mut cols: Vec<Vec<f64>> = (0..m).map(|j| a.column(j).to_vec()).collect();
    // Reflector j is I − β_j v_j v_jᵀ on rows j.. (β_j = 0: the identity).
    let mut reflectors: Vec<(Vec<f64>, f64)> = Vec::with_capacity(k);
    for j in 0..k {
        let (head, rest) = cols.split_at_mut(j + 1);
        let x = &mut head[j][j..];
        let norm = dot4(x, x).sqrt();
        if norm == 0.0 {
            reflectors.push((Vec::new(), 0.0));
            continue;
        }
        // v = x − αe₁ with α of the sign opposite to x₁ (no cancellation); H x = αe₁.
        let alpha = if x[0] >= 0.0 { -norm } else { norm };
        let mut v = x.to_vec();
        v[0] -= alpha;
        let beta = 2.0 / dot4(&v, &v);
        x[0] = alpha;
        x[1..].iter_mut().for_each(|e| *e = 0.0);
        rest.par_iter_mut()
            .with_min_len(MIN_COLUMNS)
            .for_each(|c| reflect(&v, beta, &mut c[j..]));
        reflectors.push((v, beta));
    }
    let r = Array2::from_shape_fn((k, m), |(i, j)| if i <= j { cols[j][i] } else { 0.0 });
    // Q e_c = H_0 ⋯ H_{k−1} e_c; the reflectors after c leave e_c as it is.
    let q_cols: Vec<Vec<f64>> = (0..k)
        .into_par_iter()
        .with_min_len(MIN_COLUMNS)
        .map(|c| {
            let mut e = vec![0.0; n];
            e[c] = 1.0;
            for (j, (v, beta)) in reflectors.iter().enumerate().take(c + 1).rev() {
                if *beta != 0.0 {
                    reflect(v, *beta, &mut e[j..]);
                }
            }
            e
        })
        .collect();
    let q = Array2::from_shape_fn((n, k), |(t, c)| q_cols[c][t]);
    (q, r)
}

/// `x ← (I − β v vᵀ) x`.
fn reflect(v: &[f64], beta: f64, x: &mut [f64]) {
    let s = beta * dot4(v, x);
    if s != 0.0 {
        for (xi, vi) in x.iter_mut().zip(v) {
            *xi -= s * vi;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn random(n: usize, m: usize, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn((n, m), |_| StandardNormal.sample(&mut rng))
    }

    /// `q r = a`, `qᵀq = I` and `r` upper triangular, to rounding, for tall, square and wide
    /// matrices, one with a zero column and one of rank 1.
    #[test]
    fn factors_and_orthonormal_columns() {
        let rank_one = random(30, 1, 5).dot(&random(1, 12, 6));
        let mut zero_col = random(25, 10, 7);
        zero_col.column_mut(3).fill(0.0);
        for a in [
            random(40, 17, 1),
            random(9, 9, 2),
            random(6, 11, 3),
            zero_col,
            rank_one,
        ] {
            let (q, r) = thin_qr(a.view());
            let (n, m) = a.dim();
            let k = n.min(m);
            assert_eq!((q.dim(), r.dim()), ((n, k), (k, m)));
            let scale = a.iter().fold(0.0_f64, |s, x| s.max(x.abs())).max(1.0);
            let back = q.dot(&r);
            for (x, y) in back.iter().zip(a.iter()) {
                assert!((x - y).abs() <= 1e-13 * scale * n as f64, "{x} vs {y}");
            }
            let qtq = q.t().dot(&q);
            for ((i, j), x) in qtq.indexed_iter() {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((x - want).abs() <= 1e-13 * n as f64, "qᵀq[{i},{j}] = {x}");
            }
            for ((i, j), x) in r.indexed_iter() {
                if i > j {
                    assert_eq!(*x, 0.0);
                }
            }
        }
    }

    /// One thread and two give the same bits.
    #[test]
    fn the_same_bits_on_any_thread_count() {
        let a = random(120, 90, 4);
        let bits = |(q, r): (Array2<f64>, Array2<f64>)| -> Vec<u64> {
            q.iter().chain(r.iter()).map(|x| x.to_bits()).collect()
        };
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| bits(thin_qr(a.view())))
        };
        assert_eq!(on(1), on(2));
        assert_eq!(on(1), on(3));
    }
}
