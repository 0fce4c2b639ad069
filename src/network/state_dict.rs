//! Two-layer networks as PyTorch `state_dict`s in safetensors files (docs/python.md, "Network
//! files"): the module
//!
//! ```text
//! conv = Conv2d(C, m, kernel, stride, padding, bias)   (Conv1d for 1-D signals)
//! → ReLU (none for "activation": "linear") → the pooling → fc = Linear(m, k, bias=False)
//! ```
//!
//! has the tensors `conv.weight` `[m, C, kh, kw]` (`[m, C, kl]` for signals), `conv.bias` `[m]`
//! (with a bias only) and `fc.weight` `[k, m]`: one row per output, `k = 1` for a scalar network.
//! A filter flattened in (channel, row, col) order is exactly a row of `conv.weight` in PyTorch's
//! row-major memory order, so no weight is permuted. A one-vs-rest model stacks its classes'
//! neurons: `fc.weight` row `c` holds class `c`'s output weights over its own neurons and zeros
//! over the others'. Values are written as float64 (PyTorch's `load_state_dict` casts them to the
//! module's dtype); float32 and float64 files are read.

use super::TwoLayerCnn;
use super::weights::Weights;
use crate::geometry::ConvGeometry;
use ::safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;

/// Name of the convolution's weight, `[m, C, kh, kw]` or `[m, C, kl]`.
pub const CONV_WEIGHT: &str = "conv.weight";
/// Name of the convolution's bias, `[m]`.
pub const CONV_BIAS: &str = "conv.bias";
/// Name of the output layer's weight, `[k, m]`.
pub const FC_WEIGHT: &str = "fc.weight";
/// The one metadata key: the layout as JSON (one key, so that the header is byte-identical from
/// run to run).
pub const METADATA_KEY: &str = "cvxcnn";

fn f64_bytes(values: impl Iterator<Item = f64>) -> Vec<u8> {
    values.flat_map(f64::to_le_bytes).collect()
}

/// The safetensors file of `nets` (one per output row of `fc.weight`, all with the same geometry,
/// channels, pooling, activation and bias), `one_d` for `Conv1d` shapes; `layout` is stored as
/// the metadata (the result's `network` object, completed by the writer).
pub fn write(nets: &[&TwoLayerCnn], one_d: bool, layout: &str) -> Result<Vec<u8>, String> {
    let first = nets.first().ok_or("no network to write")?;
    let (c, g) = (first.channels, first.geometry);
    if nets.iter().any(|n| {
        n.geometry != g
            || n.channels != c
            || n.biases.is_some() != first.biases.is_some()
            || n.pooling != first.pooling
            || n.activation != first.activation
    }) {
        return Err("the networks differ in their layout; one file holds one layout".into());
    }
    if one_d && g.kernel[0] != 1 {
        return Err(format!(
            "a 1-D network has kernel [1, kl], not {:?}",
            g.kernel
        ));
    }
    let m: usize = nets.iter().map(|n| n.filters.len()).sum();
    let k = nets.len();
    let mut conv_shape = vec![m, c];
    if !one_d {
        conv_shape.push(g.kernel[0]);
    }
    conv_shape.push(g.kernel[1]);
    let conv = f64_bytes(
        nets.iter()
            .flat_map(|n| n.filters.iter().flatten().copied()),
    );
    let mut fc = vec![0.0; k * m];
    let mut offset = 0;
    for (row, n) in nets.iter().enumerate() {
        for (j, w) in n.output_weights.iter().enumerate() {
            fc[row * m + offset + j] = *w;
        }
        offset += n.filters.len();
    }
    let fc = f64_bytes(fc.into_iter());
    let bias = first
        .biases
        .as_ref()
        .map(|_| f64_bytes(nets.iter().flat_map(|n| n.biases.iter().flatten().copied())));
    fn view(shape: Vec<usize>, data: &[u8]) -> Result<TensorView<'_>, String> {
        TensorView::new(Dtype::F64, shape, data).map_err(|e| format!("safetensors: {e}"))
    }
    let mut tensors = vec![
        (CONV_WEIGHT, view(conv_shape, &conv)?),
        (FC_WEIGHT, view(vec![k, m], &fc)?),
    ];
    if let Some(b) = &bias {
        tensors.push((CONV_BIAS, view(vec![m], b)?));
    }
    let metadata = HashMap::from([(METADATA_KEY.to_string(), layout.to_string())]);
    ::safetensors::tensor::serialize(tensors, Some(metadata))
        .map_err(|e| format!("safetensors: {e}"))
}

/// What a network file must hold to be a network of a problem.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    /// Input channels `C`.
    pub channels: usize,
    /// Kernel (`[1, kl]` for signals), stride and padding.
    pub geometry: ConvGeometry,
    /// Inputs are 1-D signals (`Conv1d` shapes).
    pub one_d: bool,
    /// The architecture has a bias (`conv.bias` required, else refused).
    pub bias: bool,
}

fn values(name: &str, t: &TensorView) -> Result<Vec<f64>, String> {
    let data = t.data();
    Ok(match t.dtype() {
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes"))))
            .collect(),
        other => {
            return Err(format!(
                "tensor \"{name}\" has dtype {other:?}; save float32 or float64 weights (e.g. \
                 model.float() before save_file)"
            ));
        }
    })
}

/// Reads a scalar two-layer network (`fc.weight` `[1, m]`) in the layout above, checking every
/// name and shape against `expected`; messages name the tensor and the shape that fits.
pub fn read(bytes: &[u8], expected: Expected) -> Result<Weights, String> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| {
        format!("not a safetensors file ({e}); save it with safetensors' save_file")
    })?;
    let Expected {
        channels: c,
        geometry: g,
        one_d,
        bias,
    } = expected;
    let mut wanted = vec![CONV_WEIGHT, FC_WEIGHT];
    if bias {
        wanted.push(CONV_BIAS);
    }
    let mut names = st.names();
    names.sort_unstable();
    if let Some(extra) = names.iter().find(|n| !wanted.contains(n)) {
        let why = if *extra == CONV_BIAS {
            " (the problem's architecture has no bias: build the Conv with bias=False, or set \
             \"bias\": true in the problem)"
        } else {
            ""
        };
        return Err(format!(
            "unexpected tensor \"{extra}\"{why}; the layout holds only {} (docs/python.md)",
            wanted.join(", ")
        ));
    }
    let conv_dims = if one_d {
        format!("[m, {c}, {}]", g.kernel[1])
    } else {
        format!("[m, {c}, {}, {}]", g.kernel[0], g.kernel[1])
    };
    let get = |name: &str, shape: &str| {
        st.tensor(name).map_err(|_| {
            format!("missing tensor \"{name}\" of shape {shape}; the layout is in docs/python.md")
        })
    };
    let conv = get(CONV_WEIGHT, &conv_dims)?;
    let fc = get(FC_WEIGHT, "[1, m]")?;
    let m = conv.shape().first().copied().unwrap_or(0);
    let mut want_conv = vec![m, c];
    if !one_d {
        want_conv.push(g.kernel[0]);
    }
    want_conv.push(g.kernel[1]);
    if conv.shape() != want_conv.as_slice() {
        return Err(format!(
            "tensor \"{CONV_WEIGHT}\" has shape {:?} but the problem's convolution needs \
             {conv_dims} ({}, {c} channels, kernel {:?})",
            conv.shape(),
            if one_d { "Conv1d" } else { "Conv2d" },
            if one_d {
                vec![g.kernel[1]]
            } else {
                g.kernel.to_vec()
            }
        ));
    }
    if fc.shape() != [1, m] {
        return Err(format!(
            "tensor \"{FC_WEIGHT}\" has shape {:?} but a scalar network with {m} filters needs \
             [1, {m}] (Linear({m}, 1, bias=False))",
            fc.shape()
        ));
    }
    let h = want_conv[1..].iter().product::<usize>();
    let flat = values(CONV_WEIGHT, &conv)?;
    let filters = if h == 0 {
        vec![Vec::new(); m]
    } else {
        flat.chunks(h).map(<[f64]>::to_vec).collect()
    };
    let biases = if bias {
        let b = get(CONV_BIAS, &format!("[{m}]"))?;
        if b.shape() != [m] {
            return Err(format!(
                "tensor \"{CONV_BIAS}\" has shape {:?} but the convolution has {m} filters; give \
                 [{m}]",
                b.shape()
            ));
        }
        Some(values(CONV_BIAS, &b)?)
    } else {
        None
    };
    Ok(Weights {
        filters,
        output_weights: values(FC_WEIGHT, &fc)?,
        biases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{Activation, Pooling};

    fn net(bias: bool) -> TwoLayerCnn {
        TwoLayerCnn {
            geometry: ConvGeometry {
                kernel: [2, 3],
                stride: [1, 1],
                padding: [0, 1],
            },
            pooling: Pooling::Sum,
            channels: 2,
            filters: vec![(0..12).map(f64::from).collect(), vec![0.5; 12]],
            output_weights: vec![1.5, -2.0],
            activation: Activation::Relu,
            biases: bias.then(|| vec![0.25, -0.75]),
        }
    }

    fn expected(bias: bool) -> Expected {
        Expected {
            channels: 2,
            geometry: net(bias).geometry,
            one_d: false,
            bias,
        }
    }

    #[test]
    fn round_trip_is_exact_and_deterministic() {
        for bias in [false, true] {
            let n = net(bias);
            let bytes = write(&[&n], false, "{}").unwrap();
            assert_eq!(bytes, write(&[&n], false, "{}").unwrap());
            let w = read(&bytes, expected(bias)).unwrap();
            assert_eq!(w.filters, n.filters);
            assert_eq!(w.output_weights, n.output_weights);
            assert_eq!(w.biases, n.biases);
        }
    }

    #[test]
    fn mismatches_are_named() {
        let bytes = write(&[&net(true)], false, "{}").unwrap();
        let e = read(&bytes, expected(false)).unwrap_err();
        assert!(e.contains("unexpected tensor \"conv.bias\""), "{e}");
        let bytes = write(&[&net(false)], false, "{}").unwrap();
        let e = read(&bytes, expected(true)).unwrap_err();
        assert!(e.contains("missing tensor \"conv.bias\""), "{e}");
        let mut other = expected(false);
        other.geometry.kernel = [3, 3];
        let e = read(&bytes, other).unwrap_err();
        assert!(
            e.contains("[2, 2, 2, 3]") && e.contains("[m, 2, 3, 3]"),
            "{e}"
        );
        let two = write(&[&net(false), &net(false)], false, "{}").unwrap();
        let e = read(&two, expected(false)).unwrap_err();
        assert!(e.contains("[2, 4]") && e.contains("[1, 4]"), "{e}");
        assert!(
            read(b"{}", expected(false))
                .unwrap_err()
                .starts_with("not a safetensors")
        );
    }
}
