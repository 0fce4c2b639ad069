//! Step 5 of pattern generation: a round whose local search finds nothing prices the residual
//! over every filter by the branch and bound of [`crate::global`] (docs/math.md §2).

use crate::certify::scaled_bound;
use crate::clock::secs;
use crate::global;
use crate::linalg::dot;
use crate::problem::{GenerateSpec, RoundSearch, Search};
use ndarray::{ArrayView1, ArrayView2};
use std::time::Instant;

/// Relative tolerance `(M̄ − best)/M̄` of a branch and bound that looks for the largest violation:
/// the filter it returns is within it of the largest (closing further would split more cones for
/// the same pattern).
pub const LARGEST_TOL: f64 = 1e-4;

/// Points above the threshold a search keeps (`global::Options::collect`).
const COLLECT: usize = 20_000;

/// Two violating filters closer than this cosine are taken for one region of the sphere, and only
/// the higher one's pattern is added. Measured at the late 2×2 dual point
/// (`bench/data/digits_2x2_late`, `examples/bnb_dev.rs --collect`): the search for the largest
/// evaluated 6,630 points above `β(1 + 1e-4)` in 423 distinct patterns, which fall in 8 such
/// regions, at 1.0046, 1.0045, 1.0034 (twice), 1.0020 (twice) and 1.0010 β (twice); the 2,000
/// highest points are all in the first two.
const REGION_COS: f64 = 0.99;

/// The branch-and-bound pricing of a generation, with what it carries from round to round.
pub(super) struct ExactPricing<'a> {
    spec: &'a GenerateSpec,
    /// When the generation started (its `time_limit` counts from there).
    start: Instant,
    /// `β (1 + tolerance)`.
    threshold: f64,
    /// Whether the search looks for the largest violation (once a search for the first took
    /// longer than `largest_after`).
    largest: bool,
    /// Seconds the last round's search for the largest took (over its runs).
    last_largest_s: Option<f64>,
}

/// What one round's pricing found.
pub(super) struct Priced {
    /// The round's `branch_and_bound` object (none when no search was started).
    pub round: Option<RoundSearch>,
    /// The (last run's) search, whose `M̄` gives the round's `global_lower_bound`.
    pub search: Option<Search>,
    /// Filters above the threshold with their values, highest first: the search's best, then the
    /// highest of each other region of the sphere among the points it evaluated (`REGION_COS`).
    pub violations: Vec<(Vec<f64>, f64)>,
    /// The search showed that no filter exceeds the threshold.
    pub proven: bool,
    /// Stopped undecided by the generation's clock, or not started for want of time.
    pub cut: bool,
}

impl<'a> ExactPricing<'a> {
    pub(super) fn new(spec: &'a GenerateSpec, start: Instant, threshold: f64) -> Self {
        ExactPricing {
            spec,
            start,
            threshold,
            largest: spec.largest_after == Some(0.0),
            last_largest_s: None,
        }
    }

    /// Prices `v`, the residual at targets `y` (rows `m`, pooling weights `alpha`), over every
    /// filter, starting from `neurons`; `budget` is the seconds of one search
    /// (`branch_and_bound`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn price(
        &mut self,
        m: ArrayView2<f64>,
        alpha: &[f64],
        y: ArrayView1<f64>,
        v: ArrayView1<f64>,
        neurons: Vec<Vec<f64>>,
        mut budget: f64,
        beta: f64,
    ) -> Priced {
        let (spec, threshold) = (self.spec, self.threshold);
        let remaining = || (spec.time_limit - secs(self.start)).max(0.0);
        // A search for the largest violation that the generation's clock would cut before it
        // took as long as the last one did is not started: cut, it would add a weak filter at
        // best, and the time is the final solve's and certificate's.
        if self.largest && self.last_largest_s.is_some_and(|s| remaining() < s) {
            return Priced {
                round: None,
                search: None,
                violations: Vec::new(),
                proven: false,
                cut: true,
            };
        }
        // A search stopped undecided by its budget runs again with twice the budget while the
        // generation's clock allows: the residual is the same, and a generation ended there
        // would say "no violation" where the search had only run out of time (measured on
        // digits 2×2: a final search then found 1.023 β).
        let (mut runs, mut cones, mut seconds) = (0, 0, 0.0);
        let mut largest = self.largest;
        let s = loop {
            // The largest violation: ordered by bound, closed to LARGEST_TOL (cones below the
            // threshold are not split). The first: ordered by the cones' best points, stopped as
            // soon as one is above the threshold.
            let s = global::search(
                m,
                alpha,
                v,
                &global::Options {
                    target: Some(threshold),
                    stop_above: (!largest).then_some(threshold),
                    tolerance: if largest {
                        LARGEST_TOL
                    } else {
                        global::Options::default().tolerance
                    },
                    time_limit: budget.min(remaining()),
                    starts: neurons.clone(),
                    collect: COLLECT,
                    collect_above: threshold,
                    ..global::Options::default()
                },
                &|_, _, _| {},
            );
            runs += 1;
            cones += s.cones_explored;
            seconds += s.seconds;
            if !largest && spec.largest_after.is_some_and(|after| s.seconds > after) {
                self.largest = true;
            }
            let undecided = s.stop == global::Stop::TimeLimit
                && s.dual_value_best <= threshold
                && s.dual_value_upper > threshold;
            // Closed to its tolerance with every filter found at most the threshold and the bound
            // above it: only a search for the first violation decides.
            let unsettled = largest
                && s.stop == global::Stop::Gap
                && s.dual_value_best <= threshold
                && s.dual_value_upper > threshold;
            if !(undecided || unsettled) || secs(self.start) >= spec.time_limit {
                break s;
            }
            if unsettled {
                largest = false;
            } else {
                budget *= 2.0;
            }
        };
        if largest {
            self.last_largest_s = Some(seconds);
        }
        Priced {
            round: Some(RoundSearch {
                best_ratio: s.dual_value_best / beta,
                upper_ratio: s.dual_value_upper / beta,
                stop: s.stop.name(),
                cones,
                seconds,
                runs,
                search: if largest { "largest" } else { "first" },
                // Weak duality: θv is feasible for the dual of the problem over every pattern.
                global_lower_bound: scaled_bound(y, v, beta, s.dual_value_upper)
                    .map_or(0.0, |(bound, _)| bound),
            }),
            violations: regions(&s, threshold),
            proven: s.dual_value_upper <= threshold,
            cut: s.stop == global::Stop::TimeLimit && secs(self.start) >= spec.time_limit,
            search: Some(s),
        }
    }
}

/// The violations of search `s` above `threshold`: its best filter, then, highest first, each
/// collected point farther than `REGION_COS` from every one already taken (one per region of the
/// sphere; `examples/bnb_dev.rs --collect` prints them).
pub fn regions(s: &Search, threshold: f64) -> Vec<(Vec<f64>, f64)> {
    let mut taken: Vec<(Vec<f64>, f64)> = Vec::new();
    if s.dual_value_best > threshold {
        taken.push((s.best_filter.clone(), s.dual_value_best));
    }
    for (value, u) in &s.candidates {
        let near = |t: &(Vec<f64>, f64)| dot(&t.0, u) > REGION_COS;
        if *value > threshold && !taken.iter().any(near) {
            taken.push((u.clone(), *value));
        }
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(x: &[f64]) -> Vec<f64> {
        let n = dot(x, x).sqrt();
        x.iter().map(|v| v / n).collect()
    }

    /// The best filter first, then one point per region, highest first: a point within cosine
    /// 0.99 of one already taken (the best filter included) is skipped, and so is any point at or
    /// below the threshold.
    #[test]
    fn one_violation_per_region_highest_first() {
        let (a, b, c) = (unit(&[1.0, 0.0]), unit(&[0.0, 1.0]), unit(&[-1.0, 0.2]));
        let near_a = unit(&[1.0, 0.05]); // cos ≈ 0.9988 to a
        let near_b = unit(&[0.1, 1.0]); // cos ≈ 0.995 to b
        let s = Search {
            method: "branch_and_bound",
            dual_value_upper: 2.0,
            dual_value_best: 1.5,
            best_filter: a.clone(),
            cones_explored: 0,
            cones_open: 0,
            max_depth: 0,
            max_mixed_rows: 0,
            seconds: 0.0,
            complete: false,
            stop: global::Stop::Gap,
            tolerance: 0.0,
            candidates: vec![(1.4, near_a), (1.3, near_b.clone()), (1.2, b), (1.0, c)],
        };
        let got = regions(&s, 1.1);
        assert_eq!(got, vec![(a, 1.5), (near_b, 1.3)]);
        let below: Vec<f64> = regions(&s, 2.0).iter().map(|t| t.1).collect();
        assert!(below.is_empty());
    }
}
