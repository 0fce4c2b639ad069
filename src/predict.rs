//! Networks rebuilt from result files, and their outputs on new inputs.
//!
//! A result file holds every weight of the decoded network (docs/results.md, "Result files"). This module
//! reads them back — from the JSON alone, as a program outside the project would — and runs the
//! independent forward pass of [`crate::network`]. `cvxcnn solve` computes its accuracies through
//! this module, so every solve checks that a result file rebuilds the network it describes.

use crate::geometry::{Activation, ConvGeometry, Pooling};
use crate::network::{CircularCnn, ThreeLayerCnn, TwoLayerCnn, Weights};
use crate::problem::PoolingFile;
use ndarray::{Array1, ArrayView4};
use serde::Deserialize;
use serde_json::Value;

/// One scalar network read from a result file.
#[derive(Debug, Clone)]
pub enum Network {
    /// `"kind": "two_layer"`.
    TwoLayer(TwoLayerCnn),
    /// `"kind": "circular"` (docs/math.md §8).
    Circular(CircularCnn),
    /// `"kind": "three_layer"` (docs/math.md §9).
    ThreeLayer(ThreeLayerCnn),
}

impl Network {
    /// Outputs `f(x_t)` for every sample.
    pub fn forward(&self, x: ArrayView4<f64>) -> Array1<f64> {
        match self {
            Network::TwoLayer(net) => net.forward(x),
            Network::Circular(net) => net.forward(x.slice(ndarray::s![.., 0, 0, ..])),
            Network::ThreeLayer(net) => net.forward(x),
        }
    }
}

/// A model read from a result file: one scalar network, or one network per class.
#[derive(Debug, Clone)]
pub enum Model {
    /// A scalar task.
    Scalar(Network),
    /// One-vs-rest: `networks[c]` scores `classes[c]`.
    OneVsRest {
        /// Class labels, ascending.
        classes: Vec<i64>,
        /// One network per class.
        networks: Vec<Network>,
    },
}

/// What [`Saved::predict`] returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    /// Network outputs `f(x_t)`.
    Outputs(Array1<f64>),
    /// Predicted class labels (largest output).
    Labels(Vec<i64>),
}

/// A saved model and the per-sample input shape it was trained on.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The networks.
    pub model: Model,
    /// `[C, L]` for signals, `[C, H, W]` for images.
    pub input_shape: Vec<usize>,
}

#[derive(Deserialize)]
struct SavedData {
    input_shape: Vec<usize>,
}

#[derive(Deserialize)]
struct SavedLayout {
    kind: String,
    kernel: Vec<usize>,
    stride: Vec<usize>,
    padding: Vec<usize>,
    pooling: PoolingFile,
    #[serde(default)]
    pool_size: Option<Vec<usize>>,
    #[serde(default)]
    activation: Option<Activation>,
    #[serde(default)]
    bias: Option<bool>,
}

#[derive(Deserialize)]
struct SavedScalar {
    network: SavedLayout,
    filters: Vec<Vec<f64>>,
    output_weights: Vec<f64>,
    #[serde(default)]
    biases: Option<Vec<f64>>,
    data: SavedData,
}

#[derive(Deserialize)]
struct SavedCircularLayout {
    signal_len: usize,
    bias: bool,
    #[serde(default)]
    layers: Option<usize>,
}

#[derive(Deserialize)]
struct SavedCircular {
    network: SavedCircularLayout,
    filters: Vec<Vec<f64>>,
    inner_filters: Vec<Vec<f64>>,
    #[serde(default)]
    circulant_filters: Option<Vec<Vec<Vec<f64>>>>,
    output_weights: Vec<f64>,
    #[serde(default)]
    biases: Option<Vec<f64>>,
    data: SavedData,
}

/// A circular network from a result file:
/// `f(x) = Σ_j w_j relu(⟨x, a_{1j} ⊛ … ⊛ a_{(L−2)j} ⊛ b_j⟩ + e_j)` (`L = 3`: `a_j ⊛ b_j`).
fn circular(v: &Value) -> Result<(Network, Vec<usize>), String> {
    let s: SavedCircular = serde_json::from_value(v.clone()).map_err(|e| {
        format!(
            "{e}; a circular result needs \"network\" (signal_len, bias), \"filters\", \
             \"inner_filters\", \"output_weights\" (\"biases\" with a bias) and \"data\""
        )
    })?;
    let d = s.network.signal_len;
    if s.data.input_shape != [1, d] {
        return Err(format!(
            "data.input_shape = {:?} but a circular network of signal_len {d} takes [1, {d}]",
            s.data.input_shape
        ));
    }
    let m = s.output_weights.len();
    let lens_ok = |f: &[Vec<f64>]| f.len() == m && f.iter().all(|v| v.len() == d);
    if !lens_ok(&s.filters) || !lens_ok(&s.inner_filters) {
        return Err(format!(
            "a circular network of {m} neurons needs {m} filters and {m} inner_filters of length {d}"
        ));
    }
    if s.network.bias != s.biases.is_some() || s.biases.as_ref().is_some_and(|b| b.len() != m) {
        return Err(format!(
            "network.bias = {} but \"biases\" is {}; give one bias per neuron exactly when bias is true",
            s.network.bias,
            s.biases
                .as_ref()
                .map_or("absent".into(), |b| format!("of length {}", b.len()))
        ));
    }
    let layers = s.network.layers.unwrap_or(3);
    let circulant_filters = s.circulant_filters.unwrap_or_default();
    if circulant_filters.len() != layers.saturating_sub(3)
        || circulant_filters.iter().any(|layer| !lens_ok(layer))
    {
        return Err(format!(
            "network.layers = {layers} needs \"circulant_filters\" with {} layers of {m} filters of \
             length {d}, but it has {} layers",
            layers.saturating_sub(3),
            circulant_filters.len()
        ));
    }
    let net = CircularCnn {
        inner_filters: s.inner_filters,
        circulant_filters,
        filters: s.filters,
        output_weights: s.output_weights,
        biases: s.biases,
    };
    Ok((Network::Circular(net), s.data.input_shape))
}

#[derive(Deserialize)]
struct SavedThreeLayerLayout {
    kernel: Vec<usize>,
    stride: Vec<usize>,
    padding: Vec<usize>,
    pooling: String,
    #[serde(default)]
    bias: bool,
}

#[derive(Deserialize)]
struct SavedThreeLayer {
    network: SavedThreeLayerLayout,
    filters: Vec<Vec<Vec<f64>>>,
    inner_weights: Vec<Vec<f64>>,
    output_weights: Vec<f64>,
    #[serde(default)]
    biases: Option<Vec<Vec<f64>>>,
    data: SavedData,
}

/// A three-layer network from a result file:
/// `f(x) = Σ_j w₂ⱼ relu(Σ_l w₁ⱼₗ Σ_k relu(⟨patch_k(x), u_jl⟩ + b_jl))` (no `b` without a bias).
fn three_layer(v: &Value) -> Result<(Network, Vec<usize>), String> {
    let s: SavedThreeLayer = serde_json::from_value(v.clone()).map_err(|e| {
        format!(
            "{e}; a three_layer result needs \"network\" (kernel, stride, padding, pooling), \
             \"filters\" ([m][m1_j][h]), \"inner_weights\" ([m][m1_j]), \"output_weights\" ([m]) \
             (\"biases\" [m][m1_j] with a bias) and \"data\""
        )
    })?;
    let shape = s.data.input_shape.clone();
    let one_d = match shape.len() {
        2 => true,
        3 => false,
        _ => {
            return Err(format!(
                "data.input_shape = {shape:?}; expected [C, L] or [C, H, W]"
            ));
        }
    };
    if s.network.pooling != "sum" {
        return Err(format!(
            "network.pooling = {:?}; a three_layer network pools by \"sum\"",
            s.network.pooling
        ));
    }
    let geometry = ConvGeometry {
        kernel: dims2(&s.network.kernel, one_d, 1, "kernel")?,
        stride: dims2(&s.network.stride, one_d, 1, "stride")?,
        padding: dims2(&s.network.padding, one_d, 0, "padding")?,
    };
    let h = geometry.filter_len(shape[0]);
    let m = s.output_weights.len();
    if s.filters.len() != m || s.inner_weights.len() != m {
        return Err(format!(
            "{m} output_weights but {} filters and {} inner_weights entries; give one of each per \
             sub-network",
            s.filters.len(),
            s.inner_weights.len()
        ));
    }
    for (j, (us, w1)) in s.filters.iter().zip(&s.inner_weights).enumerate() {
        if us.len() != w1.len() {
            return Err(format!(
                "sub-network {j} has {} filters but {} inner_weights; give one inner weight per \
                 inner filter",
                us.len(),
                w1.len()
            ));
        }
        if let Some(u) = us.iter().find(|u| u.len() != h) {
            return Err(format!(
                "filters[{j}] has a filter of length {} but the kernel and {} channel(s) make \
                 h = {h}",
                u.len(),
                shape[0]
            ));
        }
    }
    let biases_fit = s.biases.as_ref().is_none_or(|b| {
        b.len() == m
            && b.iter()
                .zip(&s.inner_weights)
                .all(|(b, w)| b.len() == w.len())
    });
    if s.network.bias != s.biases.is_some() || !biases_fit {
        return Err(format!(
            "network.bias = {} but \"biases\" is {}; give one bias per inner filter \
             (biases[j][l]) exactly when bias is true",
            s.network.bias,
            if s.biases.is_some() {
                "not shaped like inner_weights"
            } else {
                "absent"
            }
        ));
    }
    let net = ThreeLayerCnn {
        geometry,
        channels: shape[0],
        filters: s.filters,
        inner_weights: s.inner_weights,
        output_weights: s.output_weights,
        biases: s.biases,
    };
    Ok((Network::ThreeLayer(net), shape))
}

fn dims2(v: &[usize], one_d: bool, fill: usize, what: &str) -> Result<[usize; 2], String> {
    match (one_d, v) {
        (true, [a]) => Ok([fill, *a]),
        (false, [a, b]) => Ok([*a, *b]),
        _ => Err(format!(
            "network.{what} = {v:?} does not fit inputs of {} dimension(s)",
            if one_d { 1 } else { 2 }
        )),
    }
}

fn scalar(v: &Value) -> Result<(Network, Vec<usize>), String> {
    match v.pointer("/network/kind").and_then(Value::as_str) {
        Some("circular") => return circular(v),
        Some("three_layer") => return three_layer(v),
        _ => {}
    }
    let s: SavedScalar = serde_json::from_value(v.clone()).map_err(|e| {
        format!(
            "{e}; a result file needs \"network\", \"filters\", \"output_weights\" and \"data\""
        )
    })?;
    let shape = s.data.input_shape.clone();
    let one_d = match shape.len() {
        2 => true,
        3 => false,
        _ => {
            return Err(format!(
                "data.input_shape = {shape:?}; expected [C, L] or [C, H, W]"
            ));
        }
    };
    let net = match s.network.kind.as_str() {
        "two_layer" => {
            let geometry = ConvGeometry {
                kernel: dims2(&s.network.kernel, one_d, 1, "kernel")?,
                stride: dims2(&s.network.stride, one_d, 1, "stride")?,
                padding: dims2(&s.network.padding, one_d, 0, "padding")?,
            };
            let pooling = match (s.network.pooling, &s.network.pool_size) {
                (PoolingFile::Sum, None) => Pooling::Sum,
                (PoolingFile::Average, None) => Pooling::Average,
                (PoolingFile::Max, None) => Pooling::Max,
                (PoolingFile::LocalAverage, Some(size)) => Pooling::LocalAverage {
                    size: dims2(size, one_d, 1, "pool_size")?,
                },
                (PoolingFile::LocalAverage, None) => {
                    return Err(
                        "network.pooling = \"local_average\" needs network.pool_size".into(),
                    );
                }
                (_, Some(_)) => {
                    return Err("network.pool_size is only for \"local_average\" pooling".into());
                }
            };
            let h = geometry.filter_len(shape[0]);
            let weights = Weights {
                filters: s.filters,
                output_weights: s.output_weights,
                biases: s.biases,
            };
            weights.check(h, s.network.bias.unwrap_or(false))?;
            Network::TwoLayer(TwoLayerCnn {
                geometry,
                pooling,
                channels: shape[0],
                filters: weights.filters,
                output_weights: weights.output_weights,
                activation: s.network.activation.unwrap_or_default(),
                biases: weights.biases,
            })
        }
        other => return Err(format!("unknown network kind {other:?}")),
    };
    Ok((net, shape))
}

impl Saved {
    /// Reads a result file's JSON (a scalar result or a one-vs-rest result).
    pub fn from_json(v: &Value) -> Result<Saved, String> {
        if v.get("task").and_then(Value::as_str) == Some("one_vs_rest") {
            let models = v
                .get("models")
                .and_then(Value::as_array)
                .ok_or("a one-vs-rest result needs \"models\"")?;
            let mut classes = Vec::new();
            let mut networks = Vec::new();
            let mut input_shape = None;
            for (i, m) in models.iter().enumerate() {
                let class = m
                    .get("class")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| format!("models[{i}] has no integer \"class\""))?;
                let (net, shape) = scalar(m).map_err(|e| format!("models[{i}]: {e}"))?;
                if input_shape.get_or_insert_with(|| shape.clone()) != &shape {
                    return Err(format!("models[{i}] was trained on another input shape"));
                }
                classes.push(class);
                networks.push(net);
            }
            let input_shape = input_shape.ok_or("a one-vs-rest result needs at least one model")?;
            Ok(Saved {
                model: Model::OneVsRest { classes, networks },
                input_shape,
            })
        } else {
            let (net, input_shape) = scalar(v)?;
            Ok(Saved {
                model: Model::Scalar(net),
                input_shape,
            })
        }
    }

    /// Checks that `x` (`[n, C, H, W]`, `one_d` when read as `[n, C, L]`) has the trained shape.
    pub fn check_inputs(&self, x: ArrayView4<f64>, one_d: bool) -> Result<(), String> {
        let (_, c, hh, ww) = x.dim();
        let got = if one_d { vec![c, ww] } else { vec![c, hh, ww] };
        if got != self.input_shape {
            return Err(format!(
                "the inputs have per-sample shape {got:?} but the network was trained on {:?}; \
                 give inputs of shape [n, {}]",
                self.input_shape,
                self.input_shape
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(())
    }

    /// Outputs (scalar task) or predicted labels (one-vs-rest: the class whose network's output
    /// is largest; ties go to the smaller label).
    pub fn predict(&self, x: ArrayView4<f64>) -> Predictions {
        match &self.model {
            Model::Scalar(net) => Predictions::Outputs(net.forward(x)),
            Model::OneVsRest { classes, networks } => {
                let scores: Vec<Array1<f64>> = networks.iter().map(|n| n.forward(x)).collect();
                let labels = (0..x.dim().0)
                    .map(|t| {
                        let mut best = 0;
                        for c in 1..classes.len() {
                            if scores[c][t] > scores[best][t] {
                                best = c;
                            }
                        }
                        classes[best]
                    })
                    .collect();
                Predictions::Labels(labels)
            }
        }
    }
}

/// Fraction of ±1 targets whose sign the outputs get right (an output ≥ 0 predicts +1); `None`
/// when a target is not ±1 or there are none.
pub fn sign_accuracy(outputs: &Array1<f64>, y: &Array1<f64>) -> Option<f64> {
    if y.is_empty() || y.iter().any(|&v| v != 1.0 && v != -1.0) {
        return None;
    }
    let right = outputs
        .iter()
        .zip(y)
        .filter(|&(&f, &t)| (f >= 0.0) == (t > 0.0))
        .count();
    Some(right as f64 / y.len() as f64)
}

/// Fraction of labels predicted right.
pub fn label_accuracy(predicted: &[i64], labels: &[i64]) -> f64 {
    let right = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    right as f64 / labels.len().max(1) as f64
}

impl Saved {
    /// The model as a PyTorch `state_dict` in a safetensors file
    /// ([`crate::network::state_dict`]): a scalar two-layer network, or a one-vs-rest model
    /// whose classes' networks are stacked (one row of `fc.weight` per class, ascending labels).
    /// Circular and three-layer networks have no such layout and are refused with the reason.
    pub fn state_dict(&self) -> Result<Vec<u8>, String> {
        let nets: Vec<&Network> = match &self.model {
            Model::Scalar(n) => vec![n],
            Model::OneVsRest { networks, .. } => networks.iter().collect(),
        };
        let mut two = Vec::new();
        for n in nets {
            match n {
                Network::TwoLayer(t) => two.push(t),
                Network::Circular(_) => {
                    return Err(
                        "a circular network has no Conv/Linear state_dict layout (its \
                                filters are circulant convolutions over the whole signal); use \
                                the result JSON (docs/results.md, \"Rebuilding a network\")"
                            .into(),
                    );
                }
                Network::ThreeLayer(_) => {
                    return Err(
                        "a three-layer network has no fixed-width PyTorch layout (each \
                                sub-network has its own inner width); use the result JSON \
                                (docs/results.md, \"Rebuilding a network\")"
                            .into(),
                    );
                }
            }
        }
        let first = two.first().ok_or("the result holds no network")?;
        let one_d = self.input_shape.len() == 2;
        let g = first.geometry;
        let dims = |v: [usize; 2]| if one_d { vec![v[1]] } else { v.to_vec() };
        let mut layout = serde_json::json!({
            "kind": "two_layer",
            "input_shape": self.input_shape,
            "kernel": dims(g.kernel),
            "stride": dims(g.stride),
            "padding": dims(g.padding),
            "pooling": first.pooling.name(),
            "activation": match first.activation {
                Activation::Relu => "relu",
                Activation::Linear => "linear",
            },
            "bias": first.biases.is_some(),
        });
        if let crate::geometry::Pooling::LocalAverage { size } = first.pooling {
            layout["pool_size"] = dims(size).into();
        }
        if let Model::OneVsRest { classes, .. } = &self.model {
            layout["classes"] = classes.clone().into();
        }
        crate::network::state_dict::write(&two, one_d, &layout.to_string())
    }
}
