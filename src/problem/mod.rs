//! Problem files: what to train, on which data, with which patterns.
//!
//! ```json
//! {"inputs": "x.npy", "targets": "y.npy",
//!  "architecture": {"kind": "two_layer", "kernel": [3, 3], "stride": [1, 1], "pooling": "sum"},
//!  "beta": 0.1,
//!  "arrangements": {"mode": "exact"}}
//! ```
//! Paths are relative to the problem file. The file is parsed strictly (unknown keys are errors) and
//! validated once into a [`Problem`]; nothing downstream re-checks user input.

mod architecture;
mod arrays;
mod file;
pub mod memory;
mod search;
mod validate;

pub use arrays::Arrays;
pub use file::*;
pub use search::{Search, Stop};

use crate::data::Targets;
use crate::error::{Error, Result};
use crate::geometry::{Activation, ConvGeometry, FilterNorm, Pooling};
use ndarray::{Array1, Array2, Array4};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Most layers of a circular CNN accepted (each adds an identity circulant filter per neuron to
/// the result; past a handful they add nothing but size).
pub const MAX_CIRCULAR_LAYERS: usize = 64;

/// Largest zero padding accepted: past it the padded size is meaningless (and its arithmetic could
/// overflow).
pub const MAX_PADDING: usize = 1 << 30;

/// Default cap on the number of patterns an `exact` arrangement may have.
pub const DEFAULT_MAX_PATTERNS: usize = 20_000;
/// Default number of sampled outer patterns of a three-layer problem.
pub const DEFAULT_OUTER_COUNT: usize = 30;

/// Largest `n` for which `"outer_patterns": {"mode": "all"}` is accepted (`2ⁿ − 1` patterns).
pub const MAX_ALL_OUTER_SAMPLES: usize = 10;

/// How the outer patterns of a three-layer program are chosen (validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum OuterSpec {
    /// The output sign patterns of `count` random sub-networks with 1..=`inner_filters` gate
    /// filters, random signs and positive scales (ChaCha8 from `seed`).
    Sample {
        /// Generating sub-networks drawn.
        count: usize,
        /// Seed.
        seed: u64,
    },
    /// Every nonzero `D' ∈ {0,1}ⁿ`.
    All,
}

/// How the sign patterns are chosen (validated).
#[derive(Debug, Clone)]
pub enum ArrangementSpec {
    /// Every cell, refusing when the bound exceeds `max_patterns`.
    Exact {
        /// The cap.
        max_patterns: usize,
    },
    /// `count` Gaussian gates drawn from `seed`.
    Sample {
        /// Number of gates.
        count: usize,
        /// Seed.
        seed: u64,
    },
    /// User gates, `[G, h]`.
    Gates {
        /// The gates.
        gates: Array2<f64>,
        /// Where they came from.
        path: PathBuf,
    },
    /// Patterns to generate by pricing (resolved into [`ArrangementSpec::Generated`] before the
    /// arrangement is built: `crate::generate`).
    Generate(GenerateSpec),
    /// Generated gates: the initial sample and every gate the pricing added, with how they came.
    Generated {
        /// The gates, `[G, h]`, initial ones first.
        gates: Array2<f64>,
        /// What the generation did.
        generation: Box<Generation>,
    },
}

/// Settings of `"mode": "generate"` (validated; defaults filled in).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerateSpec {
    /// Initial Gaussian gates.
    pub count: usize,
    /// Seed.
    pub seed: u64,
    /// Most rounds.
    pub rounds: usize,
    /// Random starts per round.
    pub starts: usize,
    /// Most patterns added per round.
    pub add: usize,
    /// Violation threshold: dual value above `β (1 + tolerance)`.
    pub tolerance: f64,
    /// Seconds for the generation.
    pub time_limit: f64,
    /// Seconds of branch and bound per round whose local search finds no violation (none: off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_and_bound: Option<f64>,
    /// Seconds: once a branch and bound that stops at the first violation takes longer, every
    /// later round's branch and bound looks for the largest violation instead (none: always the
    /// first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub largest_after: Option<f64>,
    /// Whether a round whose ascents find no violation walks from cell to cell from their end
    /// points ([`crate::global::price::Pricing::walk`]) before it gives up or runs the branch and
    /// bound.
    pub walk: bool,
}

impl GenerateSpec {
    /// Generation from `count` Gaussian gates of `seed` with the documented defaults
    /// (docs/problem-files.md): 40 rounds, 200 starts, 300 patterns per round, tolerance 1e-4,
    /// no time limit, no branch and bound, walks on.
    pub fn starting_from(count: usize, seed: u64) -> Self {
        Self {
            count,
            seed,
            rounds: 40,
            starts: 200,
            add: 300,
            tolerance: 1e-4,
            time_limit: f64::INFINITY,
            branch_and_bound: None,
            largest_after: None,
            walk: true,
        }
    }
}

/// One round of pattern generation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerationRound {
    /// Patterns of the program solved this round.
    pub patterns: usize,
    /// Its objective (the restricted optimum, to the solver's accuracy).
    pub objective: f64,
    /// Its certified lower bound (over these patterns).
    pub lower_bound: f64,
    /// New patterns whose dual value exceeded `β (1 + tolerance)`.
    pub violations: usize,
    /// Patterns added (at most `add`).
    pub added: usize,
    /// The largest dual value `|g_v(u)|` the search found, over `β`.
    pub max_dual_ratio: f64,
    /// ADMM iterations of this round's solve.
    pub iterations: usize,
    /// Pricing rounds of its certifying polish.
    pub polish_rounds: usize,
    /// Why this round's solve stopped: `converged` (to the round's relative gap 1e-5),
    /// `max_iterations`, `max_time` (the generation's clock) or `numerical_error`. A round whose
    /// solve stopped on the clock or on an error searches nothing and ends the generation.
    pub solve_stop: &'static str,
    /// Seconds of this round's solve.
    pub solve_s: f64,
    /// Seconds of this round's search.
    pub search_s: f64,
    /// Walks from cell to cell run this round (0 unless the ascents found no violation and `walk`
    /// is on).
    pub walks: usize,
    /// Seconds of those walks (not in `search_s`).
    pub walk_s: f64,
    /// Seconds adding the new patterns (`A_i`, irredundant rows).
    pub add_s: f64,
    /// Seconds since the generation started.
    pub seconds: f64,
    /// The branch and bound run after this round's local search found no violation (only with
    /// `branch_and_bound`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_and_bound: Option<RoundSearch>,
}

/// What a generation round's branch and bound found (the `branch_and_bound` object of a round in
/// `generation.history`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundSearch {
    /// The largest dual value `|g_v(u)|` it found, over `β`.
    pub best_ratio: f64,
    /// Its upper bound on `max_{‖u‖ ≤ 1} |g_v(u)|`, over `β`.
    pub upper_ratio: f64,
    /// Why it stopped: `violation` (a filter above `β (1 + tolerance)`, whose pattern is added),
    /// `target` (no filter can exceed `β (1 + tolerance)`: proven), `time_limit`, `node_limit` or
    /// `memory_limit`.
    pub stop: &'static str,
    /// Cones evaluated, over every run.
    pub cones: usize,
    /// Seconds, over every run.
    pub seconds: f64,
    /// Searches run in the round: a search stopped undecided by its budget is run again with twice
    /// the budget while the generation's time limit allows (the residual has not changed).
    pub runs: usize,
    /// What the (last) search looked for: `first` (ordered by the cones' best points, it stops at
    /// the first filter above the threshold) or `largest` (ordered by bound, it closes to a
    /// relative 1e-4 between its bound and its best filter; `upper_ratio` is then tight).
    pub search: &'static str,
    /// A lower bound on the **nonconvex** training problem, valid for every network of any width:
    /// `d(θv)` at this round's residual `v`, with `θ` scaled by the (last run's) `upper_ratio`
    /// (docs/math.md §15); 0 when `v` is zero.
    pub global_lower_bound: f64,
}

/// The generation round whose branch and bound gave the best global lower bound, with what
/// `cvxcnn certify --global` needs to report it as its certificate: the round's residual and its
/// search.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundBound {
    /// Index of the round in `Generation::history`.
    pub round: usize,
    /// The round's `global_lower_bound`.
    pub lower_bound: f64,
    /// The round's residual `v` (unscaled).
    pub dual_point: Vec<f64>,
    /// Its (last) branch and bound, whose `dual_value_upper` bounds `max_{‖u‖ ≤ 1} |g_v(u)|`.
    pub search: Search,
}

/// What pattern generation did (the result's `generation` object).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generation {
    /// Initial Gaussian gates.
    pub initial_gates: usize,
    /// Distinct patterns of the initial gates and of the network's neurons (`network_seeds`).
    pub initial_patterns: usize,
    /// Patterns added by the search.
    pub generated_patterns: usize,
    /// Rounds run.
    pub rounds: usize,
    /// True when the last round's search found no violation (no filter with dual value above
    /// `β (1 + tolerance)`): the patterns are optimal as far as the search can tell — a proof only
    /// when `stop` is `proven` (`cvxcnn certify --global` bounds every filter).
    pub converged: bool,
    /// `no_violation`, `proven` (the branch and bound showed that no filter's dual value exceeds
    /// `β (1 + tolerance)` at the last round's residual), `max_rounds`, `max_time`,
    /// `memory_limit` (the program over the next round's patterns would not fit in memory) or
    /// `numerical_error` (the last round's solve failed; the final solve starts from the round
    /// before).
    pub stop: &'static str,
    /// Starts of the search over all rounds.
    pub starts_tried: usize,
    /// Neurons of a given network (`--network`) whose patterns joined the initial ones and which
    /// start the search every round.
    pub network_seeds: usize,
    /// The settings used.
    pub settings: GenerateSpec,
    /// Seconds of the whole generation.
    pub seconds: f64,
    /// One entry per round.
    pub history: Vec<GenerationRound>,
    /// The round whose branch and bound gave the best `global_lower_bound` (not in the result
    /// file: its round's `branch_and_bound` object says what it found).
    #[serde(skip)]
    pub best_bound: Option<RoundBound>,
}

impl ArrangementSpec {
    /// True when the patterns are every cell of the arrangement (a certificate is then global).
    pub fn is_exact(&self) -> bool {
        matches!(self, ArrangementSpec::Exact { .. })
    }

    /// `exact`, `sample`, `gates` or `generate`, as in the problem file (the result's
    /// `arrangement_mode`).
    pub fn mode_name(&self) -> &'static str {
        match self {
            ArrangementSpec::Exact { .. } => "exact",
            ArrangementSpec::Sample { .. } => "sample",
            ArrangementSpec::Gates { .. } => "gates",
            ArrangementSpec::Generate(_) | ArrangementSpec::Generated { .. } => "generate",
        }
    }

    /// True while the patterns are still to be generated (`"mode": "generate"` before
    /// `crate::generate` has run): they depend on the targets.
    pub fn generation_pending(&self) -> bool {
        matches!(self, ArrangementSpec::Generate(_))
    }

    /// What pattern generation did, once it has run.
    pub fn generation(&self) -> Option<&Generation> {
        match self {
            ArrangementSpec::Generated { generation, .. } => Some(generation),
            _ => None,
        }
    }
}

/// Architecture (validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Architecture {
    /// Two-layer CNN with global pooling (docs/math.md §2).
    TwoLayer {
        /// Kernel, stride and padding.
        geometry: ConvGeometry,
        /// Pooling (global, or local with its window).
        pooling: Pooling,
        /// Hidden-layer activation.
        activation: Activation,
        /// Whether every neuron has a bias (patches carry a constant-1 entry).
        bias: bool,
    },
    /// Circular CNN with one ReLU,
    /// `f(x) = Σ_j w_j (⟨x, a_{1j} ⊛ … ⊛ a_{(L−2)j} ⊛ b_j⟩ + e_j)_+` (docs/math.md §8); inputs
    /// `[n, 1, d]`.
    Circular {
        /// Whether each neuron has a bias `e_j` inside the ReLU.
        bias: bool,
        /// Layers `L ≥ 3`: the three-layer CNN, or `L − 3` more circulant filters.
        layers: usize,
    },
    /// Three-layer CNN with two ReLU layers and sum pooling (docs/math.md §9).
    ThreeLayer {
        /// Kernel, stride and padding.
        geometry: ConvGeometry,
        /// `m₁ ≥ 1`, the inner width of the outer-pattern generators.
        inner_filters: usize,
        /// Outer patterns.
        outer: OuterSpec,
        /// Whether every inner neuron has a bias (patches carry a constant-1 entry).
        bias: bool,
    },
}

impl Architecture {
    /// Length of a gate (a point of the space the patterns are cut in): `C·kh·kw` for the two- and
    /// three-layer CNNs (plus one with a bias: patches carry a constant-1 entry), `d`
    /// (or `d + 1` with a bias) for the circular one.
    pub fn gate_len(&self, channels: usize, width: usize) -> usize {
        match *self {
            Architecture::TwoLayer { geometry, bias, .. } => {
                geometry.filter_len(channels) + usize::from(bias)
            }
            Architecture::ThreeLayer { geometry, bias, .. } => {
                geometry.filter_len(channels) + usize::from(bias)
            }
            Architecture::Circular { bias, .. } => width + usize::from(bias),
        }
    }

    /// Kernel, stride and padding of the (first) convolution; the circular CNN's "patch" is the
    /// whole signal of length `width`.
    pub fn geometry(&self, width: usize) -> ConvGeometry {
        match self {
            Architecture::TwoLayer { geometry, .. } | Architecture::ThreeLayer { geometry, .. } => {
                *geometry
            }
            Architecture::Circular { .. } => ConvGeometry {
                kernel: [1, width],
                stride: [1, 1],
                padding: [0, 0],
            },
        }
    }
}

/// What is trained (validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// One scalar network on `y`.
    Scalar,
    /// One network per class; `y` holds the labels as numbers.
    OneVsRest {
        /// The distinct labels, ascending (at least two).
        classes: Vec<i64>,
        /// The training labels, one per sample.
        labels: Vec<i64>,
    },
}

/// Held-out data (validated, mapped like the training data).
#[derive(Debug, Clone)]
pub struct TestSet {
    /// Inputs `[n_test, C, H, W]`.
    pub x: Array4<f64>,
    /// Targets: the values for a scalar task (±1 under `binary`), the labels as numbers for
    /// one-vs-rest.
    pub y: Array1<f64>,
}

/// A validated problem: data loaded, parameters checked.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Where the problem came from (for messages).
    pub source: PathBuf,
    /// Inputs `[n, C, H, W]`.
    pub x: Array4<f64>,
    /// True for 1-D signal inputs.
    pub one_d: bool,
    /// Targets `[n]`.
    pub y: Array1<f64>,
    /// Architecture.
    pub architecture: Architecture,
    /// Weight decay.
    pub beta: f64,
    /// Filter norm of the weight decay.
    pub filter_norm: FilterNorm,
    /// Pattern selection.
    pub arrangements: ArrangementSpec,
    /// The loss of the fit (squared unless the file says otherwise).
    pub loss: crate::loss::Loss,
    /// Scalar or one-vs-rest.
    pub task: Task,
    /// Held-out data, when the problem file names it.
    pub test: Option<TestSet>,
}

impl Problem {
    /// Reads and validates a problem file.
    pub fn load(path: &Path) -> Result<Problem> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
            hint: "check the problem file path",
        })?;
        let file = parse_problem_file(path, &bytes)?;
        let base = path.parent().unwrap_or(Path::new("."));
        Problem::from_file(file, base, path)
    }

    /// Number of samples.
    pub fn n(&self) -> usize {
        self.y.len()
    }

    /// The scalar problem of one class of a one-vs-rest task: targets `+1` for `class`, `−1` for
    /// every other label (held-out targets mapped the same way).
    pub fn for_class(&self, class: i64) -> Problem {
        let pm = |y: &Array1<f64>| y.mapv(|v| if v as i64 == class { 1.0 } else { -1.0 });
        Problem {
            y: pm(&self.y),
            task: Task::Scalar,
            test: self.test.as_ref().map(|t| TestSet {
                x: t.x.clone(),
                y: pm(&t.y),
            }),
            ..self.clone()
        }
    }
}
