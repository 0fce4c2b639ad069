//! The problem file's schema as written, parsed strictly (unknown keys are errors); validation into
//! a [`Problem`](super::Problem) is in `validate`.

use crate::error::{Error, Result};
use crate::geometry::{Activation, FilterNorm};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The problem file as written (before validation).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemFile {
    /// Inputs `.npy`, `[n, C, L]` or `[n, C, H, W]`.
    pub inputs: String,
    /// Targets `.npy`, `[n]`.
    pub targets: String,
    /// Optional two-class task built from integer labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<BinaryFile>,
    /// Keep only the first `max_samples` samples (after `binary` filtering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_samples: Option<usize>,
    /// The network architecture.
    pub architecture: ArchitectureFile,
    /// Weight decay `β ≥ 0`.
    pub beta: f64,
    /// Filter norm in the weight decay: `"l2"` (default) or `"l1"` (docs/math.md §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_norm: Option<FilterNorm>,
    /// Which sign patterns to use.
    pub arrangements: ArrangementsFile,
    /// The loss of the fit: `"squared"` (default), `"logistic"` or `"hinge"` (±1 targets;
    /// docs/math.md, "Classification losses").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<crate::loss::Loss>,
    /// `"scalar"` (default: the targets, or `binary`'s ±1, are the outputs) or `"one_vs_rest"`
    /// (integer labels; one scalar network per class, prediction by the largest output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskKind>,
    /// Held-out inputs `.npy` (same per-sample shape as `inputs`); needs `test_targets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_inputs: Option<String>,
    /// Held-out targets `.npy` (same kind as `targets`); needs `test_inputs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_targets: Option<String>,
}

/// The `task` entry of a problem file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// One scalar network on the targets (or `binary`'s ±1).
    Scalar,
    /// One scalar network per class on ±1 targets (+1 for the class), argmax prediction.
    OneVsRest,
}

/// `"binary": {"positive": [3], "negative": [8]}`: keep samples whose label is listed, targets ±1.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinaryFile {
    /// Labels mapped to `+1`.
    pub positive: Vec<i64>,
    /// Labels mapped to `−1`: a list, or `"rest"` for every label not in `positive`.
    pub negative: NegativeClasses,
}

/// The negative class of a binary task.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NegativeClasses {
    /// These labels.
    Labels(Vec<i64>),
    /// `"rest"`: every label not positive.
    Rest(RestKeyword),
}

/// The keyword `"rest"`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestKeyword {
    /// Every label not in `positive`.
    Rest,
}

/// The architecture entry of a problem file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ArchitectureFile {
    /// Two-layer CNN with global pooling (docs/math.md §2).
    TwoLayer {
        /// `[kl]` or `[kh, kw]`.
        kernel: Vec<usize>,
        /// Same length as `kernel`; default 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<Vec<usize>>,
        /// Zero padding on both sides, same length as `kernel`; default 0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        padding: Option<Vec<usize>>,
        /// `"sum"`, `"average"` or `"local_average"`.
        pooling: PoolingFile,
        /// Window of `"local_average"` pooling in patch positions: `[p]` or `[ph, pw]`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pool_size: Option<Vec<usize>>,
        /// `"relu"` (default) or `"linear"`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        activation: Option<Activation>,
        /// A bias per neuron (a constant-1 entry appended to every patch); default false.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bias: Option<bool>,
    },
    /// Circular CNN with one ReLU over 1-D signals (docs/math.md §8): three layers, or more with
    /// `layers`.
    Circular {
        /// Optional bias inside the ReLU, regularized with the filters; default false.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bias: Option<bool>,
        /// Layers `L ≥ 3` (default 3): `L − 2` inner circular filters before `b` (the first unit
        /// norm, the others of operator norm ≤ 1), then the ReLU and the output weight.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layers: Option<usize>,
    },
    /// Three-layer CNN with two ReLU layers, sum pooling (docs/math.md §9).
    ThreeLayer {
        /// `[kl]` or `[kh, kw]`.
        kernel: Vec<usize>,
        /// Same length as `kernel`; default 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<Vec<usize>>,
        /// Zero padding on both sides, same length as `kernel`; default 0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        padding: Option<Vec<usize>>,
        /// `m₁ ≥ 1`: the largest inner width of the random sub-networks that generate the outer
        /// patterns (the convex program itself does not bound the decoded inner widths).
        inner_filters: usize,
        /// Outer patterns `D'_l`; default `{"mode": "sample", "count": 30, "seed": 0}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outer_patterns: Option<OuterPatternsFile>,
        /// A bias per inner neuron (a constant-1 entry appended to every patch, constrained with
        /// the inner filters in `‖U_j‖_F ≤ 1`); default false.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bias: Option<bool>,
    },
}

/// The `outer_patterns` entry of a three-layer architecture.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum OuterPatternsFile {
    /// `count` random generating sub-networks from `seed`.
    Sample {
        /// Generating sub-networks drawn.
        count: usize,
        /// Seed of the generator.
        seed: u64,
    },
    /// Every nonzero `D' ∈ {0,1}ⁿ` (tiny `n` only).
    All,
}

/// The pooling named in a problem file; `"local_average"` takes its window from `pool_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolingFile {
    /// Global sum pooling.
    Sum,
    /// Global average pooling.
    Average,
    /// Global max pooling (docs/math.md §5).
    Max,
    /// Average over non-overlapping `pool_size` windows of patch positions.
    LocalAverage,
}

/// The arrangements entry of a problem file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum ArrangementsFile {
    /// Every cell of the arrangement.
    Exact {
        /// Refuse when the bound on the number of patterns exceeds this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_patterns: Option<usize>,
    },
    /// `count` Gaussian gates from `seed`.
    Sample {
        /// Number of gates drawn.
        count: usize,
        /// Seed of the generator.
        seed: u64,
    },
    /// Gates from a `[G, h]` `.npy`.
    Gates {
        /// Path of the gates file.
        path: String,
    },
    /// `count` Gaussian gates from `seed` (as `sample`), then patterns generated by pricing: the
    /// program is solved, filters whose dual value exceeds β are searched for, their patterns
    /// added, and so on (docs/math.md §2, "Pattern generation").
    Generate {
        /// Initial Gaussian gates.
        count: usize,
        /// Seed of the initial gates and of the random starts.
        seed: u64,
        /// Most generation rounds (default 40).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rounds: Option<usize>,
        /// Random starts of the search per round (default 200), besides the current neurons.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        starts: Option<usize>,
        /// Most patterns added per round, most violated first (default 300).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        add: Option<usize>,
        /// A filter violates when its dual value exceeds `β (1 + tolerance)` (default 1e-4: below
        /// that, the restricted solve's own accuracy).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tolerance: Option<f64>,
        /// Seconds for the whole generation (default: none); the round running at the limit has
        /// its solve cut there and the generation stops.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_limit: Option<f64>,
        /// Seconds of branch and bound per round in which the local search finds no violation
        /// (default: none, no branch and bound): it prices the residual over every filter, and a
        /// violating filter it finds continues the generation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch_and_bound: Option<f64>,
        /// Seconds: once a branch and bound that stops at the first violation takes longer, every
        /// later round's branch and bound looks for the largest violation (default: none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        largest_after: Option<f64>,
        /// Walk from cell to cell from the ascents' end points in a round whose ascents find no
        /// violation (default true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        walk: Option<bool>,
    },
}

/// The problem file's JSON, with the mistakes a person makes named in words: a binary file, a
/// byte-order mark (accepted), something other than one JSON object.
pub(crate) fn parse_problem_file(path: &Path, bytes: &[u8]) -> Result<ProblemFile> {
    const KEYS: &str = "see docs/problem-files.md for the accepted keys";
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::input(
            path,
            format!(
                "not a text file (invalid UTF-8 at byte {}); a problem file is JSON text — is \
                 this the right file?",
                e.valid_up_to()
            ),
        )
    })?;
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::input(path, format!("not valid JSON: {e}")))?;
    let kind = match &value {
        serde_json::Value::Object(_) => None,
        serde_json::Value::Array(_) => Some("an array"),
        serde_json::Value::String(_) => Some("a string"),
        serde_json::Value::Number(_) => Some("a number"),
        serde_json::Value::Bool(_) => Some("a boolean"),
        serde_json::Value::Null => Some("null"),
    };
    if let Some(kind) = kind {
        return Err(Error::input(
            path,
            format!(
                "the file holds {kind}, but a problem file is one JSON object {{\"inputs\": …, \
                 \"targets\": …, \"architecture\": …, \"beta\": …, \"arrangements\": …}}; {KEYS}"
            ),
        ));
    }
    // Parsed from the text (not the value) so that errors keep their line and column.
    serde_json::from_str(text).map_err(|e| Error::input(path, format!("{e}; {KEYS}")))
}
