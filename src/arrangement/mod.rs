//! Sign patterns `D_i` of the hyperplane arrangement of the stacked patches (docs/math.md §2).
//!
//! A filter `u` fixes the pattern `D(u) = diag(1[M u ≥ 0])` on every patch of every sample at once;
//! patterns are joint over patches. Three ways to choose them: every cell of the arrangement (`exact`),
//! Gaussian gates (`sample`) or user gates (`gates`). Each pattern keeps the gate that generated it: an
//! interior point of its cone, which the reduction and the decoder use.
//!
//! Rows of `M` that are exactly zero contribute nothing to any `A_i` and constrain nothing; their bit is
//! stored as 0 so that patterns compare on the rows that matter. A pattern with every row off gives
//! `A_i = 0` and is dropped.
//!
//! Global max pooling (docs/math.md §5) has patterns of another kind ([`max_pool`]): one argmax
//! patch per sample, stored in the same `on` bits. What the bits mean, and so which cone rows
//! `B_i` a pattern has, is the arrangement's [`PatternKind`]; [`Arrangement::cone_rows`] and
//! [`Arrangement::cone_values`] are the one place that knows, and the program builder, the
//! reduction, the full-set check and the certificate all go through them.

pub mod exact;
pub mod max_pool;

use crate::error::Result;
use crate::linalg::row_dots;
use crate::patches::Patches;
use crate::problem::ArrangementSpec;
use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::collections::HashSet;

/// The cone rows written for each pattern: indices `r` into `M`; the row itself is
/// [`Arrangement::cone_rows`] (`(2D_i[r] − 1) M[r]` for sum and average pooling).
pub type ConeRows = Vec<Vec<usize>>;

/// One sign pattern with the gate that generated it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Generating filter `g` (`D = 1[M g ≥ 0]`).
    pub gate: Vec<f64>,
    /// `on[k·n + t]`: whether patch `k` of sample `t` is active (zero rows are stored as off).
    pub on: Vec<bool>,
}

/// What the bits of a [`Pattern`] mean, and so which cone rows `B_i` it has (`nK` rows either way,
/// row `r = k·n + t` belonging to patch `k` of sample `t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatternKind {
    /// ReLU sign pattern of sum or average pooling (docs/math.md §2): `on[r] = 1[M_r·g ≥ 0]`;
    /// cone row `r` is `(2D[r] − 1) M_r`.
    #[default]
    Relu,
    /// Global max pooling (docs/math.md §5): `on[κ_t·n + t]` is set for the argmax patch `κ_t`
    /// of every "on" sample and every other bit is off (an "off" sample has no bit set). Cone row
    /// `r = k·n + t`: for an "on" sample `x_{t,κ}` when `k = κ_t` and `x_{t,κ} − x_{t,k}`
    /// otherwise; for an "off" sample `−x_{t,k}`.
    MaxPool {
        /// Samples `n`.
        samples: usize,
    },
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
    /// What the patterns' bits mean.
    pub kind: PatternKind,
}

impl Arrangement {
    /// Rows `rows` (indices `r = k·n + t` into the stacked patches `m`) of the cone matrix `B_i`
    /// of pattern `i`, so that its cone is `{c : B_i c ≥ 0}`.
    pub fn cone_rows(&self, m: ArrayView2<f64>, i: usize, rows: &[usize]) -> Array2<f64> {
        let on = &self.patterns[i].on;
        match self.kind {
            PatternKind::Relu => {
                let mut b = Array2::<f64>::zeros((rows.len(), m.ncols()));
                for (q, &r) in rows.iter().enumerate() {
                    let s = if on[r] { 1.0 } else { -1.0 };
                    b.row_mut(q).assign(&(&m.row(r) * s));
                }
                b
            }
            PatternKind::MaxPool { samples } => max_pool::cone_rows(m, samples, on, rows),
        }
    }

    /// `(B_i c)_r` for every one of the `nK` cone rows of pattern `i`: the full-set check.
    pub fn cone_values(&self, m: ArrayView2<f64>, i: usize, c: &[f64]) -> Vec<f64> {
        let on = &self.patterns[i].on;
        match self.kind {
            PatternKind::Relu => cone_values(m, on, c),
            PatternKind::MaxPool { samples } => max_pool::cone_values(m, samples, on, c),
        }
    }
}

/// The pattern of gate `g` on the rows of `m` (zero rows off): `m_r·g ≥ 0`, summed left to right.
pub fn pattern_of(m: ArrayView2<f64>, g: &[f64]) -> Vec<bool> {
    row_dots(m, g)
        .into_iter()
        .enumerate()
        // A zero row has a zero product: only then is the row itself looked at.
        .map(|(r, v)| v > 0.0 || (v == 0.0 && m.row(r).iter().any(|&x| x != 0.0)))
        .collect()
}

/// Builds the patterns of `patches` as the spec asks.
pub fn build(patches: &Patches, spec: &ArrangementSpec) -> Result<Arrangement> {
    let m = patches.stacked();
    let gates = gates(m, patches.h(), spec)?;
    let candidates = gates.len();
    Ok(Arrangement {
        patterns: distinct_patterns(gates, |g| pattern_of(m, g)),
        candidates,
        exact: spec.is_exact(),
        kind: PatternKind::Relu,
    })
}

/// The gates of `spec`: one interior point per cell of the central arrangement of `cell_rows`
/// (`exact`), Gaussian gates (`sample`) or the given ones (`gates`).
fn gates(cell_rows: ArrayView2<f64>, h: usize, spec: &ArrangementSpec) -> Result<Vec<Vec<f64>>> {
    Ok(match spec {
        ArrangementSpec::Exact { max_patterns } => {
            exact::enumerate_cells(cell_rows, *max_patterns)?
        }
        ArrangementSpec::Sample { count, seed } => gaussian_gates(*count, h, *seed),
        ArrangementSpec::Gates { gates, .. } | ArrangementSpec::Generated { gates, .. } => {
            gates.outer_iter().map(|g| g.to_vec()).collect()
        }
        ArrangementSpec::Generate(_) => {
            return Err(crate::error::Error::Invalid(
                "patterns in \"generate\" mode are built by crate::generate, which runs a solver; \
                 resolve the problem with pipeline::resolve_patterns first"
                    .into(),
            ));
        }
    })
}

/// `count` gates of length `h` with independent standard normal entries, from `seed` (ChaCha8):
/// the gates of `"mode": "sample"` and the initial gates of `"mode": "generate"`.
pub fn gaussian_gates(count: usize, h: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| (0..h).map(|_| StandardNormal.sample(&mut rng)).collect())
        .collect()
}

/// Gates whose patterns are computed at once (in parallel) before the duplicates among them are
/// dropped: bounds the patterns held at a time to this many beyond the distinct ones.
const PATTERN_CHUNK: usize = 64;

/// The distinct patterns with some bit on, each with the first gate that produced it. Patterns
/// are computed in parallel, a chunk of gates at a time; which gate is kept does not depend on it.
fn distinct_patterns(
    gates: Vec<Vec<f64>>,
    pattern: impl Fn(&[f64]) -> Vec<bool> + Sync,
) -> Vec<Pattern> {
    let mut seen = HashSet::new();
    let mut patterns = Vec::new();
    let mut gates = gates.into_iter().peekable();
    while gates.peek().is_some() {
        let chunk: Vec<Vec<f64>> = gates.by_ref().take(PATTERN_CHUNK).collect();
        // Each pattern with its bits packed in words: what the set of seen patterns hashes.
        let ons: Vec<(Vec<bool>, Vec<u64>)> = chunk
            .par_iter()
            .map(|g| {
                let on = pattern(g);
                let key = on
                    .chunks(64)
                    .map(|c| c.iter().rev().fold(0u64, |w, &b| (w << 1) | b as u64))
                    .collect();
                (on, key)
            })
            .collect();
        for (gate, (on, key)) in chunk.into_iter().zip(ons) {
            if key.iter().all(|&w| w == 0) {
                continue;
            }
            if seen.insert(key) {
                patterns.push(Pattern { gate, on });
            }
        }
    }
    patterns
}

/// Values `(2D_i − I) M c` of every row of the full cone of pattern `on` at `c` (`nK` values).
pub fn cone_values(m: ndarray::ArrayView2<f64>, on: &[bool], c: &[f64]) -> Vec<f64> {
    let mut v = row_dots(m, c);
    for (x, &o) in v.iter_mut().zip(on) {
        if !o {
            *x = -*x;
        }
    }
    v
}
