//! The Winder–Zaslavsky bound on the number of cells, checked before anything is enumerated.

/// Upper bound on the number of cells of a central arrangement of `hyperplanes` hyperplanes spanning
/// rank `rank`: `2 Σ_{l=0}^{rank-1} C(hyperplanes-1, l)` (Winder/Zaslavsky; attained in general
/// position), as `f64`, saturating to `f64::INFINITY` on overflow; `1` when `hyperplanes == 0`.
/// For `rank ≥ hyperplanes` this is `2^hyperplanes`.
pub fn cell_count_bound(hyperplanes: usize, rank: usize) -> f64 {
    if hyperplanes == 0 {
        return 1.0;
    }
    let top = (hyperplanes - 1) as f64;
    let terms = rank.min(hyperplanes);
    let mut binom = 1.0_f64; // C(hyperplanes-1, l)
    let mut sum = 0.0_f64;
    for l in 0..terms {
        sum += binom;
        if l + 1 < terms {
            binom = binom * (top - l as f64) / (l + 1) as f64;
        }
    }
    let bound = 2.0 * sum;
    if bound.is_finite() {
        bound
    } else {
        f64::INFINITY
    }
}
