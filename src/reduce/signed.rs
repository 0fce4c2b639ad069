//! The rows of every ReLU pattern of one matrix, prepared once: a ReLU pattern's cone rows are
//! `±m_k`, so their unit vectors and the grouping of equal directions do not depend on the
//! pattern; only the signs do ([`SignedUnits::irredundant`]).

use ndarray::ArrayView2;

use super::extreme::{clamp_tol, irredundant_units};
use super::rows::{Base, Rows};
use super::units::{UnitRows, dedup};

/// The nonzero, finite rows of a matrix as unit rows, one per direction, prepared once so that
/// many sign patterns can be reduced on them ([`SignedUnits::irredundant`]). ReLU cone rows are
/// `±m_k`, and a row's unit vector under either sign is the same bits negated, so the
/// normalization and the grouping of equal directions are done once for every pattern.
pub(crate) struct SignedUnits {
    /// Row of every direction's first row, ascending.
    reps: Vec<usize>,
    /// Their unit rows (and negations).
    base: Base,
    /// Every other row of a direction: (row, position of its direction in `reps`).
    pub(super) twins: Vec<(usize, usize)>,
}

impl SignedUnits {
    /// Units of the rows `rows` of `b` (indices into `b`); `None` when a row is not finite (the
    /// caller then reduces every pattern with [`irredundant_rows`], which keeps such rows).
    pub(crate) fn new(b: ArrayView2<f64>, rows: &[usize]) -> Option<SignedUnits> {
        let unit = UnitRows::of(b, rows.iter().copied());
        if !unit.non_finite.is_empty() {
            return None;
        }
        let (reps, u, twins) = dedup(&unit.idx, &unit.units, b.ncols());
        Some(SignedUnits {
            reps,
            base: Base::new(u, b.ncols(), true),
            twins,
        })
    }

    /// [`super::cone::irredundant_rows`] of the rows `sign(k)·b_k` (sign ±1 by `on`, indexed by row of `b`),
    /// as rows of `b`, ascending. Rows of one direction stay one row unless the pattern gives
    /// them different signs (a gate within rounding of their hyperplane); then each is reduced.
    pub(crate) fn irredundant(
        &self,
        on: &[bool],
        interior: Option<&[f64]>,
        tol: f64,
    ) -> Vec<usize> {
        let tol = clamp_tol(tol);
        let split: Vec<(usize, usize)> = self
            .twins
            .iter()
            .copied()
            .filter(|&(r, p)| on[r] != on[self.reps[p]])
            .collect();
        let mut rows = self.reps.clone();
        rows.extend(split.iter().map(|&(r, _)| r));
        let signed = Rows::signed(
            &self.base,
            self.reps.iter().map(|&r| !on[r]).collect(),
            split.iter().map(|&(_, p)| p).collect(),
            split.iter().map(|&(r, _)| !on[r]),
        );
        let mut out: Vec<usize> = irredundant_units(signed, interior, tol)
            .into_iter()
            .map(|pos| rows[pos])
            .collect();
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests;
