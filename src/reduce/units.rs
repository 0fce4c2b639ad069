//! Unit rows and their grouping by direction: what the extreme-ray search
//! ([`super::extreme`]) needs before it starts, whether for one cone or, shared, for every ReLU
//! pattern.

use std::collections::VecDeque;

use ndarray::ArrayView2;

use crate::linalg::{dot4, unit_into};

/// Unit rows closer than this (Euclidean) are the same direction.
const DUP_TOL: f64 = 1e-12;

/// Some rows of a matrix as unit rows: zero rows dropped, non-finite rows set apart.
pub(super) struct UnitRows {
    /// Rows with a non-finite entry.
    pub(super) non_finite: Vec<usize>,
    /// The nonzero finite rows, in the order given.
    pub(super) idx: Vec<usize>,
    /// Their unit vectors, row-major.
    pub(super) units: Vec<f64>,
}

impl UnitRows {
    /// The rows `rows` of `b`.
    pub(super) fn of(b: ArrayView2<f64>, rows: impl Iterator<Item = usize>) -> UnitRows {
        let h = b.ncols();
        let mut out = UnitRows {
            non_finite: Vec::new(),
            idx: Vec::new(),
            units: Vec::new(),
        };
        for i in rows {
            let row = b.row(i);
            if row.iter().any(|v| !v.is_finite()) {
                out.non_finite.push(i);
                continue;
            }
            let start = out.units.len();
            out.units.resize(start + h, 0.0);
            if unit_into(row.iter().copied(), &mut out.units[start..]).is_some() {
                out.idx.push(i);
            } else {
                out.units.truncate(start);
            }
        }
        out
    }
}

/// A fixed, generic-looking direction in ℝʰ (SplitMix64 from a seed): deterministic tie-breaks.
pub(super) fn fixed_direction(h: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..h)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            // 53 random bits in [0, 1), mapped to [−1, 1).
            (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

/// Groups the unit rows (`units`, row i belongs to original index `idx[i]`, ascending) by
/// direction and returns the first original index of every direction with its unit row, and
/// every other row as (original index, position of its direction among the first ones).
///
/// Rows are sorted by a generic projection s·û, so equal directions are neighbours within a
/// window of width ~DUP_TOL·‖s‖; each row is compared only with the group representatives in that
/// window (exact duplicates cost O(1) each, whatever their number).
pub(super) fn dedup(
    idx: &[usize],
    units: &[f64],
    h: usize,
) -> (Vec<usize>, Vec<f64>, Vec<(usize, usize)>) {
    let n = idx.len();
    if h == 0 || n == 0 {
        return (Vec::new(), Vec::new(), Vec::new());
    }
    let row = |i: usize| &units[i * h..(i + 1) * h];
    let s = fixed_direction(h, 0x5eed_0001);
    let s_l2 = dot4(&s, &s).sqrt();
    let s_l1: f64 = s.iter().map(|v| v.abs()).sum();
    let keys: Vec<f64> = (0..n).map(|i| dot4(&s, row(i))).collect();
    let mut sorted: Vec<(f64, usize)> = keys.iter().copied().zip(0..n).collect();
    sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let width = 2.0 * DUP_TOL * s_l2 + 8.0 * f64::EPSILON * s_l1;

    let mut group = vec![0usize; n];
    let mut window: VecDeque<usize> = VecDeque::new();
    for &(_, i) in &sorted {
        while let Some(&f) = window.front() {
            if keys[i] - keys[f] > width {
                window.pop_front();
            } else {
                break;
            }
        }
        let ui = row(i);
        let found = window.iter().copied().find(|&r| {
            let d2: f64 = ui.iter().zip(row(r)).map(|(a, b)| (a - b) * (a - b)).sum();
            d2 <= DUP_TOL * DUP_TOL
        });
        match found {
            Some(r) => group[i] = r,
            None => {
                group[i] = i;
                window.push_back(i);
            }
        }
    }
    // First (smallest) position of each group; positions are in original-index order.
    let mut first = vec![usize::MAX; n];
    for (i, &g) in group.iter().enumerate() {
        first[g] = first[g].min(i);
    }
    let mut reps = Vec::new();
    let mut u = Vec::new();
    let mut rep_pos = vec![usize::MAX; n];
    for i in 0..n {
        if first[group[i]] == i {
            rep_pos[i] = reps.len();
            reps.push(idx[i]);
            u.extend_from_slice(row(i));
        }
    }
    let twins = (0..n)
        .filter(|&i| first[group[i]] != i)
        .map(|i| (idx[i], rep_pos[first[group[i]]]))
        .collect();
    (reps, u, twins)
}
