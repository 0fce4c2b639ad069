//! Sign patterns `D_i` of the hyperplane arrangement of the stacked patches (formulations.md §1).
//!
//! A filter `u` fixes the pattern `D(u) = diag(1[M u ≥ 0])` on every patch of every sample at once;
//! patterns are joint over patches. Three ways to choose them: every cell of the arrangement (`exact`),
//! Gaussian gates (`sample`) or user gates (`gates`). Each pattern keeps the gate that generated it: an
//! interior point of its cone, which the reduction and the decoder use.
//!
//! Rows of `M` that are exactly zero contribute nothing to any `A_i` and constrain nothing; their bit is
//! stored as 0 so that patterns compare on the rows that matter. A pattern with every row off gives
//! `A_i = 0` and is dropped.

pub mod exact;

use crate::error::Result;
use crate::patches::Patches;
use crate::problem::ArrangementSpec;
use ndarray::{Array1, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::collections::HashSet;

/// One sign pattern with the gate that generated it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Generating filter `g` (`D = 1[M g ≥ 0]`).
    pub gate: Vec<f64>,
    /// `on[k·n + t]`: whether patch `k` of sample `t` is active (zero rows are stored as off).
    pub on: Vec<bool>,
}

/// The patterns used by a program.
#[derive(Debug, Clone)]
pub struct Arrangement {
    /// Distinct nonzero patterns, in the order their gates were generated.
    pub patterns: Vec<Pattern>,
    /// Gates tried (sampled, given, or cells found).
    pub candidates: usize,
    /// True when the patterns are every cell of the arrangement.
    pub exact: bool,
}

/// The pattern of gate `g` on the rows of `m` (zero rows off).
pub fn pattern_of(m: ArrayView2<f64>, g: &[f64]) -> Vec<bool> {
    let g = Array1::from(g.to_vec());
    m.outer_iter()
        .map(|row| row.iter().any(|&v| v != 0.0) && row.dot(&g) >= 0.0)
        .collect()
}

/// Builds the patterns of `patches` as the spec asks.
pub fn build(patches: &Patches, spec: &ArrangementSpec) -> Result<Arrangement> {
    let m = patches.stacked();
    let h = patches.h();
    let gates: Vec<Vec<f64>> = match spec {
        ArrangementSpec::Exact { max_patterns } => exact::enumerate_cells(m, *max_patterns)?,
        ArrangementSpec::Sample { count, seed } => {
            let mut rng = ChaCha8Rng::seed_from_u64(*seed);
            (0..*count)
                .map(|_| (0..h).map(|_| StandardNormal.sample(&mut rng)).collect())
                .collect()
        }
        ArrangementSpec::Gates { gates, .. } => gates.outer_iter().map(|g| g.to_vec()).collect(),
    };
    let candidates = gates.len();
    let mut seen = HashSet::new();
    let mut patterns = Vec::new();
    for gate in gates {
        let on = pattern_of(m, &gate);
        if !on.iter().any(|&b| b) {
            continue;
        }
        if seen.insert(on.clone()) {
            patterns.push(Pattern { gate, on });
        }
    }
    Ok(Arrangement {
        patterns,
        candidates,
        exact: spec.is_exact(),
    })
}
