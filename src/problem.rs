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

use crate::data::{self, Targets};
use crate::error::{Error, Result};
use crate::geometry::{Activation, ConvGeometry, FilterNorm, Pooling};
use ndarray::{Array1, Array2, Array4, Axis};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Largest zero padding accepted: past it the padded size is meaningless (and its arithmetic could
/// overflow).
pub const MAX_PADDING: usize = 1 << 30;

/// Default cap on the number of patterns an `exact` arrangement may have.
pub const DEFAULT_MAX_PATTERNS: usize = 20_000;

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
    /// Filter norm in the weight decay: `"l2"` (default) or `"l1"` (formulations.md §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_norm: Option<FilterNorm>,
    /// Which sign patterns to use.
    pub arrangements: ArrangementsFile,
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
    /// Two-layer CNN with global pooling (formulations.md §1).
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
    /// Three-layer circular CNN with one ReLU over 1-D signals (formulations.md §5).
    Circular {
        /// Optional bias inside the ReLU, regularized with the filters; default false.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bias: Option<bool>,
    },
    /// Three-layer CNN with two ReLU layers, sum pooling (formulations.md §6).
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

/// Default number of sampled outer patterns of a three-layer problem.
pub const DEFAULT_OUTER_COUNT: usize = 30;

/// Largest `n` for which `"outer_patterns": {"mode": "all"}` is accepted (`2ⁿ − 1` patterns).
pub const MAX_ALL_OUTER_SAMPLES: usize = 10;

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

/// The pooling named in a problem file; `"local_average"` takes its window from `pool_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolingFile {
    /// Global sum pooling.
    Sum,
    /// Global average pooling.
    Average,
    /// Global max pooling (formulations.md §4).
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
}

impl ArrangementSpec {
    /// True when the patterns are every cell of the arrangement (a certificate is then global).
    pub fn is_exact(&self) -> bool {
        matches!(self, ArrangementSpec::Exact { .. })
    }

    /// `exact`, `sample` or `gates`, as in the problem file (the result's `arrangement_mode`).
    pub fn mode_name(&self) -> &'static str {
        match self {
            ArrangementSpec::Exact { .. } => "exact",
            ArrangementSpec::Sample { .. } => "sample",
            ArrangementSpec::Gates { .. } => "gates",
        }
    }
}

/// Architecture (validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Architecture {
    /// Two-layer CNN with global pooling (formulations.md §1).
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
    /// Three-layer circular CNN with one ReLU, `f(x) = Σ_j w_j (⟨x, a_j ⊛ b_j⟩ + e_j)_+`
    /// (formulations.md §5); inputs `[n, 1, d]`.
    Circular {
        /// Whether each neuron has a bias `e_j` inside the ReLU.
        bias: bool,
    },
    /// Three-layer CNN with two ReLU layers and sum pooling (formulations.md §6).
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
            Architecture::Circular { bias } => width + usize::from(bias),
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
    /// Scalar or one-vs-rest.
    pub task: Task,
    /// Held-out data, when the problem file names it.
    pub test: Option<TestSet>,
}

/// The problem file's JSON, with the mistakes a person makes named in words: a binary file, a
/// byte-order mark (accepted), something other than one JSON object.
fn parse_problem_file(path: &Path, bytes: &[u8]) -> Result<ProblemFile> {
    const KEYS: &str = "see the README section 'Problem files' for the accepted keys";
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

fn resolve(base: &Path, p: &str) -> PathBuf {
    base.join(p)
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

    /// Validates a parsed problem file whose relative paths are resolved against `base`.
    pub fn from_file(file: ProblemFile, base: &Path, source: &Path) -> Result<Problem> {
        let bad = |m: String| Error::input(source, m);
        if !file.beta.is_finite() || file.beta < 0.0 {
            return Err(bad(format!(
                "beta = {} is not allowed; the weight decay must be a finite number ≥ 0",
                file.beta
            )));
        }
        let inputs_path = resolve(base, &file.inputs);
        let targets_path = resolve(base, &file.targets);
        let inputs = data::load_inputs(&inputs_path)?;
        let targets = data::load_targets(&targets_path)?;
        let n = inputs.x.dim().0;
        if targets.len() != n {
            return Err(Error::input(
                &targets_path,
                format!(
                    "{} targets for {n} inputs (in {}); the first axes must match",
                    targets.len(),
                    inputs_path.display()
                ),
            ));
        }
        let task_kind = file.task.unwrap_or(TaskKind::Scalar);
        if task_kind == TaskKind::OneVsRest && file.binary.is_some() {
            return Err(bad(
                "\"task\": \"one_vs_rest\" and \"binary\" exclude each other; drop \"binary\" to \
                 train one network per class, or drop \"task\" for a two-class problem"
                    .into(),
            ));
        }
        let labels_of = |targets: &Targets, path: &Path, why: &str| match targets {
            Targets::Labels(l) => Ok(l.to_vec()),
            Targets::Real(_) => Err(bad(format!(
                "{why} needs integer class labels but {} holds floats; save the labels as int64",
                path.display()
            ))),
        };
        let (mut x, mut y) = (inputs.x, targets.as_real());
        if let Some(bin) = &file.binary {
            let labels = labels_of(&targets, &targets_path, "\"binary\"")?;
            let (keep, yy) = binary_targets(bin, &labels).map_err(bad)?;
            if !yy.contains(&1.0) || !yy.contains(&-1.0) {
                return Err(bad(format!(
                    "\"binary\" selects {} samples but not both classes; check the labels in {}",
                    yy.len(),
                    targets_path.display()
                )));
            }
            x = x.select(Axis(0), &keep);
            y = Array1::from(yy);
        }
        if let Some(m) = file.max_samples {
            if m == 0 {
                return Err(bad(
                    "max_samples = 0; use at least 1 (or drop the key)".into()
                ));
            }
            let m = m.min(y.len());
            x = x.slice_axis(Axis(0), (0..m).into()).to_owned();
            y = y.slice_axis(Axis(0), (0..m).into()).to_owned();
        }
        let task = match task_kind {
            TaskKind::Scalar => Task::Scalar,
            TaskKind::OneVsRest => {
                labels_of(&targets, &targets_path, "\"task\": \"one_vs_rest\"")?;
                let labels: Vec<i64> = y.iter().map(|&v| v as i64).collect();
                let mut classes = labels.clone();
                classes.sort_unstable();
                classes.dedup();
                if classes.len() < 2 {
                    return Err(bad(format!(
                        "\"task\": \"one_vs_rest\" needs at least two classes but the labels in {} \
                         (after max_samples) are all {}; use more samples or a regression task",
                        targets_path.display(),
                        classes.first().copied().unwrap_or_default()
                    )));
                }
                Task::OneVsRest { classes, labels }
            }
        };
        let test = match (&file.test_inputs, &file.test_targets) {
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(bad(
                    "\"test_inputs\" and \"test_targets\" go together; give both or neither".into(),
                ));
            }
            (Some(ti), Some(tt)) => {
                let (ti, tt) = (resolve(base, ti), resolve(base, tt));
                let tin = data::load_inputs(&ti)?;
                let ttar = data::load_targets(&tt)?;
                let (_, c, hh, ww) = x.dim();
                let (nt, tc, th, tw) = tin.x.dim();
                if (tc, th, tw) != (c, hh, ww) || tin.one_d != inputs.one_d {
                    let shape = |one_d: bool, c, hh, ww| {
                        if one_d {
                            format!("[{c}, {ww}]")
                        } else {
                            format!("[{c}, {hh}, {ww}]")
                        }
                    };
                    return Err(Error::input(
                        &ti,
                        format!(
                            "test samples have shape {} but training samples have {}; save the \
                             test inputs with the training inputs' per-sample shape",
                            shape(tin.one_d, tc, th, tw),
                            shape(inputs.one_d, c, hh, ww)
                        ),
                    ));
                }
                if ttar.len() != nt {
                    return Err(Error::input(
                        &tt,
                        format!(
                            "{} test targets for {nt} test inputs (in {}); the first axes must match",
                            ttar.len(),
                            ti.display()
                        ),
                    ));
                }
                let (mut tx, mut ty) = (tin.x, ttar.as_real());
                if let Some(bin) = &file.binary {
                    let labels = labels_of(&ttar, &tt, "\"binary\"")?;
                    let (keep, yy) = binary_targets(bin, &labels).map_err(bad)?;
                    tx = tx.select(Axis(0), &keep);
                    ty = Array1::from(yy);
                } else if task_kind == TaskKind::OneVsRest {
                    labels_of(&ttar, &tt, "\"task\": \"one_vs_rest\"")?;
                }
                if ty.is_empty() {
                    return Err(Error::input(
                        &tt,
                        "no test sample is left after \"binary\" selects its classes; check the \
                         test labels",
                    ));
                }
                Some(TestSet { x: tx, y: ty })
            }
        };
        let architecture = match &file.architecture {
            ArchitectureFile::TwoLayer {
                kernel,
                stride,
                padding,
                pooling,
                pool_size,
                activation,
                bias,
            } => {
                let geometry = geometry(
                    source,
                    inputs.one_d,
                    kernel,
                    stride.as_deref(),
                    padding.as_deref(),
                    (x.dim().2, x.dim().3),
                )?;
                let pooling = pooling_of(
                    source,
                    inputs.one_d,
                    *pooling,
                    pool_size.as_deref(),
                    &geometry,
                    (x.dim().2, x.dim().3),
                )?;
                let activation = activation.unwrap_or_default();
                if pooling == Pooling::Max && activation == Activation::Linear {
                    return Err(bad(
                        "\"activation\": \"linear\" with \"pooling\": \"max\" is not supported \
                         (the maximum of linear responses is not a linear model, so the group-lasso \
                         program does not apply); use \"relu\", or sum/average pooling"
                            .into(),
                    ));
                }
                Architecture::TwoLayer {
                    geometry,
                    pooling,
                    activation,
                    bias: bias.unwrap_or(false),
                }
            }
            ArchitectureFile::Circular { bias } => {
                let (_, c, hh, ww) = x.dim();
                if !inputs.one_d || c != 1 {
                    let shape = if inputs.one_d {
                        format!("[{n}, {c}, {ww}]")
                    } else {
                        format!("[{n}, {c}, {hh}, {ww}]")
                    };
                    return Err(bad(format!(
                        "architecture \"circular\" takes 1-D signals of one channel, shaped \
                         [n, 1, d], but {} holds {shape}; flatten each sample to one signal \
                         (e.g. x.reshape(n, 1, -1) in NumPy) or use \"kind\": \"two_layer\"",
                        inputs_path.display()
                    )));
                }
                if file.filter_norm.is_some_and(|f| f != FilterNorm::L2) {
                    return Err(bad(
                        "\"filter_norm\" does not apply to \"circular\" (its convex regularizer is \
                         the spectral ℓ1 norm of formulations.md §5); drop the key"
                            .into(),
                    ));
                }
                Architecture::Circular {
                    bias: bias.unwrap_or(false),
                }
            }
            ArchitectureFile::ThreeLayer {
                kernel,
                stride,
                padding,
                inner_filters,
                outer_patterns,
                bias,
            } => {
                let geometry = geometry(
                    source,
                    inputs.one_d,
                    kernel,
                    stride.as_deref(),
                    padding.as_deref(),
                    (x.dim().2, x.dim().3),
                )?;
                if *inner_filters == 0 {
                    return Err(bad(
                        "architecture.inner_filters = 0; every sub-network needs at least one \
                         inner filter: use inner_filters ≥ 1 (e.g. 2)"
                            .into(),
                    ));
                }
                let outer = match outer_patterns {
                    None => OuterSpec::Sample {
                        count: DEFAULT_OUTER_COUNT,
                        seed: 0,
                    },
                    Some(OuterPatternsFile::Sample { count: 0, .. }) => {
                        return Err(bad(
                            "architecture.outer_patterns.count = 0; sample at least one outer \
                             pattern (e.g. 30)"
                                .into(),
                        ));
                    }
                    Some(OuterPatternsFile::Sample { count, seed }) => OuterSpec::Sample {
                        count: *count,
                        seed: *seed,
                    },
                    Some(OuterPatternsFile::All) => {
                        let n = y.len();
                        if n > MAX_ALL_OUTER_SAMPLES {
                            return Err(bad(format!(
                                "architecture.outer_patterns = {{\"mode\": \"all\"}} with n = {n} \
                                 samples would write 2^{n} − 1 outer patterns; \"all\" is for \
                                 n ≤ {MAX_ALL_OUTER_SAMPLES}: use {{\"mode\": \"sample\", \
                                 \"count\": 30, \"seed\": 0}} or fewer samples (max_samples)"
                            )));
                        }
                        OuterSpec::All
                    }
                };
                if file.filter_norm == Some(FilterNorm::L1) {
                    return Err(bad(
                        "\"filter_norm\": \"l1\" is derived for two_layer only; drop it (the \
                         three_layer program uses the Frobenius constraint ‖U_j‖_F ≤ 1)"
                            .into(),
                    ));
                }
                Architecture::ThreeLayer {
                    geometry,
                    inner_filters: *inner_filters,
                    outer,
                    bias: bias.unwrap_or(false),
                }
            }
        };
        let h = architecture.gate_len(x.dim().1, x.dim().3);
        let arrangements = match &file.arrangements {
            ArrangementsFile::Exact { max_patterns } => ArrangementSpec::Exact {
                max_patterns: max_patterns.unwrap_or(DEFAULT_MAX_PATTERNS),
            },
            ArrangementsFile::Sample { count, seed } => {
                if *count == 0 {
                    return Err(bad(
                        "arrangements.count = 0; sample at least one gate (e.g. 200)".into(),
                    ));
                }
                ArrangementSpec::Sample {
                    count: *count,
                    seed: *seed,
                }
            }
            ArrangementsFile::Gates { path } => {
                let gp = resolve(base, path);
                ArrangementSpec::Gates {
                    gates: load_gates(&gp, h)?,
                    path: gp,
                }
            }
        };
        let problem = Problem {
            source: source.to_path_buf(),
            x,
            one_d: inputs.one_d,
            y,
            architecture,
            beta: file.beta,
            filter_norm: file.filter_norm.unwrap_or_default(),
            arrangements,
            task,
            test,
        };
        // Before anything sized by patches or gates is allocated.
        crate::memory::check(&problem)?;
        Ok(problem)
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

/// Samples kept by `binary` and their ±1 targets; an error message when a label is both.
fn binary_targets(
    bin: &BinaryFile,
    labels: &[i64],
) -> std::result::Result<(Vec<usize>, Vec<f64>), String> {
    if bin.positive.is_empty() {
        return Err("\"binary.positive\" is empty; list at least one label".into());
    }
    let mut keep = Vec::new();
    let mut yy = Vec::new();
    for (t, &l) in labels.iter().enumerate() {
        let pos = bin.positive.contains(&l);
        let neg = match &bin.negative {
            NegativeClasses::Labels(v) => v.contains(&l),
            NegativeClasses::Rest(_) => !pos,
        };
        if pos && neg {
            return Err(format!(
                "label {l} is both positive and negative in \"binary\"; list it once"
            ));
        }
        if pos || neg {
            keep.push(t);
            yy.push(if pos { 1.0 } else { -1.0 });
        }
    }
    Ok((keep, yy))
}

fn load_gates(path: &Path, h: usize) -> Result<Array2<f64>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
        hint: "check arrangements.path; it is relative to the problem file",
    })?;
    let g = data::read_float_array(path, &bytes)?;
    let shape = g.shape().to_vec();
    let g = g.into_dimensionality::<ndarray::Ix2>().map_err(|_| {
        Error::input(
            path,
            format!(
                "gates have shape {shape:?}; save a 2-D array of shape [G, {h}], one gate per row"
            ),
        )
    })?;
    if g.nrows() == 0 {
        return Err(Error::input(
            path,
            format!(
                "the gates file holds no gates (shape {shape:?}); save at least one gate, shape \
                 [G, {h}] with G ≥ 1"
            ),
        ));
    }
    if g.ncols() != h {
        return Err(Error::input(
            path,
            format!(
                "gates have shape {shape:?} but filters have length h = {h} (channels × kernel; for \
                 \"circular\" the signal length d, plus 1 with a bias); save an array of shape \
                 [G, {h}]"
            ),
        ));
    }
    if let Some(v) = g.iter().find(|v| !v.is_finite()) {
        return Err(Error::input(
            path,
            format!("gates contain {v}; all entries must be finite"),
        ));
    }
    Ok(g)
}

fn geometry(
    source: &Path,
    one_d: bool,
    kernel: &[usize],
    stride: Option<&[usize]>,
    padding: Option<&[usize]>,
    (hh, ww): (usize, usize),
) -> Result<ConvGeometry> {
    let dims = if one_d { 1 } else { 2 };
    let what = if one_d {
        "1-D signals [n, C, L]"
    } else {
        "images [n, C, H, W]"
    };
    let expand = |name: &str, v: Option<&[usize]>, default: usize| -> Result<[usize; 2]> {
        match v {
            None => Ok(if one_d {
                [1, default]
            } else {
                [default, default]
            }),
            Some(v) if v.len() == dims => Ok(if one_d { [1, v[0]] } else { [v[0], v[1]] }),
            Some(v) => Err(Error::input(
                source,
                format!(
                    "architecture.{name} = {v:?} has {} entries but the inputs are {what}; give {dims}",
                    v.len()
                ),
            )),
        }
    };
    let kernel = expand("kernel", Some(kernel), 1)?;
    let stride = expand("stride", stride, 1)?;
    let padding = expand("padding", padding, 0)?;
    let padding = if one_d { [0, padding[1]] } else { padding };
    if padding.iter().any(|&p| p > MAX_PADDING) {
        let given = if one_d {
            vec![padding[1]]
        } else {
            padding.to_vec()
        };
        return Err(Error::input(
            source,
            format!(
                "architecture.padding = {given:?} is far beyond any input (at most {MAX_PADDING}); \
                 give the zero padding on each side in pixels, usually less than the kernel"
            ),
        ));
    }
    if kernel.contains(&0) {
        let given = if one_d {
            vec![kernel[1]]
        } else {
            kernel.to_vec()
        };
        return Err(Error::input(
            source,
            format!("architecture.kernel has a zero entry ({given:?}); kernels need size ≥ 1"),
        ));
    }
    if stride.contains(&0) {
        return Err(Error::input(
            source,
            "architecture.stride has a zero entry; strides must be ≥ 1".to_string(),
        ));
    }
    let g = ConvGeometry {
        kernel,
        stride,
        padding,
    };
    if g.grid(hh, ww).is_none() {
        let (k, size) = if one_d {
            (
                format!("{}", kernel[1]),
                format!("{ww} (+ padding {})", padding[1]),
            )
        } else {
            (
                format!("{}×{}", kernel[0], kernel[1]),
                format!("{hh}×{ww} (+ padding {:?})", padding),
            )
        };
        return Err(Error::input(
            source,
            format!(
                "kernel {k} is larger than the input {size}; use a smaller kernel or pad the input"
            ),
        ));
    }
    Ok(g)
}

/// The validated pooling: `pool_size` only with `"local_average"`, which needs it, with one entry
/// per spatial dimension, each ≥ 1 and dividing the grid of patch positions (windows never
/// overlap and never hang over the edge; formulations.md §4).
fn pooling_of(
    source: &Path,
    one_d: bool,
    pooling: PoolingFile,
    pool_size: Option<&[usize]>,
    geometry: &ConvGeometry,
    (hh, ww): (usize, usize),
) -> Result<Pooling> {
    let bad = |m: String| Error::input(source, m);
    let size = match (pooling, pool_size) {
        (PoolingFile::Sum, None) => return Ok(Pooling::Sum),
        (PoolingFile::Average, None) => return Ok(Pooling::Average),
        (PoolingFile::Max, None) => return Ok(Pooling::Max),
        (PoolingFile::Sum | PoolingFile::Average | PoolingFile::Max, Some(v)) => {
            let name = match pooling {
                PoolingFile::Sum => "sum",
                PoolingFile::Average => "average",
                _ => "max",
            };
            return Err(bad(format!(
                "architecture.pool_size = {v:?} is given with \"pooling\": \"{name}\", which is \
                 global; pool_size is only for \"pooling\": \"local_average\" — drop it or switch \
                 the pooling"
            )));
        }
        (PoolingFile::LocalAverage, None) => {
            return Err(bad(format!(
                "\"pooling\": \"local_average\" needs architecture.pool_size, the window in patch \
                 positions ({})",
                if one_d { "[p]" } else { "[ph, pw]" }
            )));
        }
        (PoolingFile::LocalAverage, Some(v)) => v,
    };
    let dims = if one_d { 1 } else { 2 };
    if size.len() != dims {
        return Err(bad(format!(
            "architecture.pool_size = {size:?} has {} entries but the inputs are {}; give {dims}",
            size.len(),
            if one_d {
                "1-D signals [n, C, L]"
            } else {
                "images [n, C, H, W]"
            }
        )));
    }
    if size.contains(&0) {
        return Err(bad(format!(
            "architecture.pool_size = {size:?} has a zero entry; windows need size ≥ 1"
        )));
    }
    let size = if one_d {
        [1, size[0]]
    } else {
        [size[0], size[1]]
    };
    // The kernel fits (checked by `geometry`), so the grid exists.
    let (gr, gc) = geometry.grid(hh, ww).unwrap_or((0, 0));
    if !gr.is_multiple_of(size[0]) || !gc.is_multiple_of(size[1]) {
        let divisors =
            |g: usize| -> Vec<usize> { (1..=g).filter(|d| g.is_multiple_of(*d)).collect() };
        let msg = if one_d {
            format!(
                "pool size {} does not divide the grid of {gc} patch positions (signal length {ww}, \
                 kernel {}, stride {}, padding {}); windows must tile the grid: use a pool size \
                 in {:?}, or change the kernel, stride or padding",
                size[1],
                geometry.kernel[1],
                geometry.stride[1],
                geometry.padding[1],
                divisors(gc)
            )
        } else {
            format!(
                "pool size {}×{} does not divide the {gr}×{gc} grid of patch positions (input \
                 {hh}×{ww}, kernel {}×{}, stride {:?}, padding {:?}); windows must tile the grid: \
                 use rows in {:?} and columns in {:?}, or change the kernel, stride or padding",
                size[0],
                size[1],
                geometry.kernel[0],
                geometry.kernel[1],
                geometry.stride,
                geometry.padding,
                divisors(gr),
                divisors(gc)
            )
        };
        return Err(bad(msg));
    }
    Ok(Pooling::LocalAverage { size })
}
