//! Small dense helpers of the enumeration: Householder reflectors, grouping of directions up to
//! sign, orthonormal bases, unit vectors and sign-bit sets.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::linalg::{axpy, dot, norm};

/// Householder reflector `H = I − 2 v vᵀ / vᵀv` with `H a = ∓e_1` for the unit vector `a`, so rows
/// 2..d of `H` are an orthonormal basis of `a^⊥`; `H` is symmetric and orthogonal.
pub(super) struct Householder {
    v: Vec<f64>,
    scale: f64,
}

impl Householder {
    pub(super) fn new(a: &[f64]) -> Self {
        let mut v = a.to_vec();
        v[0] += if a[0] >= 0.0 { 1.0 } else { -1.0 };
        let scale = 2.0 / dot(&v, &v); // vᵀv ≥ 1 because |v_0| ≥ 1
        Self { v, scale }
    }

    pub(super) fn apply(&self, x: &[f64]) -> Vec<f64> {
        let f = self.scale * dot(&self.v, x);
        x.iter().zip(&self.v).map(|(xi, vi)| xi - f * vi).collect()
    }
}

/// Groups of unit vectors that are equal up to sign within `tol`.
pub(super) struct DirectionGroups {
    /// Index (into the input) of each group's representative, in order of first occurrence.
    pub(super) reps: Vec<usize>,
    /// For each input vector: (its group, whether it has the representative's orientation).
    pub(super) of: Vec<(usize, bool)>,
}

/// `f64` ordered by `total_cmp`, for use as a map key.
#[derive(Clone, Copy, PartialEq)]
struct Key(f64);
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Greedy grouping of unit vectors equal up to sign within `tol` (first occurrence is the
/// representative). Candidates are found through a sorted index of the projections `w·(±u_rep)` on
/// a fixed generic direction `w` (`|w·u − w·v| ≤ ‖u − v‖`), so this is `O(n log n)` for inputs
/// without massive projection coincidences.
pub(super) fn group_directions(units: &[Vec<f64>], tol: f64) -> DirectionGroups {
    let mut reps = Vec::new();
    let mut of = Vec::with_capacity(units.len());
    let Some(d) = units.first().map(Vec::len) else {
        return DirectionGroups { reps, of };
    };
    let w = normalized(
        (0..d)
            .map(|i| 0.3 + ((i + 1) as f64 * 0.754_877_666_246_692_7).fract())
            .collect(),
    );
    // (projection, entry id) -> (group, entry is the negated representative)
    let mut index: BTreeMap<(Key, usize), (usize, bool)> = BTreeMap::new();
    for (i, u) in units.iter().enumerate() {
        let key = dot(&w, u);
        let found = index
            .range((Key(key - 2.0 * tol), 0)..=(Key(key + 2.0 * tol), usize::MAX))
            .find_map(|(_, &(group, negated))| {
                let rep = &units[reps[group]];
                let dist2: f64 = if negated {
                    u.iter().zip(rep).map(|(x, y)| (x + y) * (x + y)).sum()
                } else {
                    u.iter().zip(rep).map(|(x, y)| (x - y) * (x - y)).sum()
                };
                (dist2 <= tol * tol).then_some((group, !negated))
            });
        match found {
            Some(g) => of.push(g),
            None => {
                let group = reps.len();
                reps.push(i);
                index.insert((Key(key), 2 * group), (group, false));
                index.insert((Key(-key), 2 * group + 1), (group, true));
                of.push((group, true));
            }
        }
    }
    DirectionGroups { reps, of }
}

/// Orthonormal basis of the span of `vectors` (unit), by Gram–Schmidt with pivoting on the largest
/// residual (re-orthogonalised); vectors with residual ≤ `tol` count as in the span.
pub(super) fn orthonormal_basis(vectors: &[Vec<f64>], tol: f64) -> Vec<Vec<f64>> {
    let Some(d) = vectors.first().map(Vec::len) else {
        return Vec::new();
    };
    let mut residuals: Vec<Vec<f64>> = vectors.to_vec();
    let mut basis: Vec<Vec<f64>> = Vec::new();
    while basis.len() < d {
        let Some((best, best_norm)) = residuals
            .iter()
            .map(|r| norm(r))
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
        else {
            break;
        };
        if best_norm.is_nan() || best_norm <= tol {
            break;
        }
        let mut q = residuals[best].clone();
        for b in &basis {
            let c = dot(b, &q);
            axpy(-c, b, &mut q);
        }
        let q = normalized(q);
        for r in &mut residuals {
            let c = dot(&q, r);
            axpy(-c, &q, r);
        }
        basis.push(q);
    }
    basis
}

/// `v/‖v‖` (callers guarantee `v ≠ 0`).
pub(super) fn normalized(mut v: Vec<f64>) -> Vec<f64> {
    let n = norm(&v);
    v.iter_mut().for_each(|x| *x /= n);
    v
}

pub(super) fn unit_vector(d: usize, i: usize) -> Vec<f64> {
    let mut e = vec![0.0; d];
    e[i] = 1.0;
    e
}

pub(super) fn set_bit(bits: &mut [u64], j: usize) {
    bits[j / 64] |= 1 << (j % 64);
}

pub(super) fn get_bit(bits: &[u64], j: usize) -> bool {
    bits[j / 64] >> (j % 64) & 1 == 1
}
