//! The record of a branch-and-bound search over the sphere (`crate::global`): what stopped it and
//! what it found. It lives here, with the other results a problem's solve reports, because a
//! pattern generation keeps the search whose bound was best (`Generation::best_bound`).

use serde::Serialize;

/// Why the search stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// `(M̄ − best)/M̄ ≤ tolerance`, or no cone left open.
    Gap,
    /// `M̄ ≤ target`.
    Target,
    /// The time limit.
    TimeLimit,
    /// The cone budget.
    NodeLimit,
    /// The open cones reached `global::MEMORY_BUDGET`.
    MemoryLimit,
    /// `best` exceeded `stop_above`.
    Violation,
}

impl Stop {
    /// The name in the certificate (`gap`, `target`, `time_limit`, `node_limit`, `memory_limit`;
    /// `violation` only inside pattern generation).
    pub fn name(self) -> &'static str {
        match self {
            Stop::Gap => "gap",
            Stop::Target => "target",
            Stop::TimeLimit => "time_limit",
            Stop::NodeLimit => "node_limit",
            Stop::MemoryLimit => "memory_limit",
            Stop::Violation => "violation",
        }
    }
}

/// What the search found (the `global_search` object of the certificate, docs/results.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Search {
    /// `"branch_and_bound"`.
    pub method: &'static str,
    /// `M̄ ≥ max_{‖u‖ ≤ 1} |g_v(u)|`.
    pub dual_value_upper: f64,
    /// `|g_v(best_filter)|`, the largest value seen.
    pub dual_value_best: f64,
    /// A unit filter attaining `dual_value_best`.
    pub best_filter: Vec<f64>,
    /// Cones evaluated (both signs counted separately; the initial orthants included).
    pub cones_explored: usize,
    /// Cones still open at the stop.
    pub cones_open: usize,
    /// Deepest split.
    pub max_depth: u32,
    /// Most rows crossing one evaluated cone after the initial cover.
    pub max_mixed_rows: usize,
    /// Seconds.
    pub seconds: f64,
    /// Whether the search closed to its tolerance (`stop = gap`).
    pub complete: bool,
    /// Why it stopped.
    pub stop: Stop,
    /// The tolerance on `(M̄ − best)/M̄`.
    pub tolerance: f64,
    /// The highest cone points above `Options::collect_above`, highest first, with their values
    /// `σ g_v` (unit filters; not in the certificate): violating filters for pattern generation.
    #[serde(skip)]
    pub candidates: Vec<(f64, Vec<f64>)>,
}
