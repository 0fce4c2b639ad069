//! Loading inputs and targets from `.npy` files (formulations.md §0).
//!
//! Inputs are `[n, C, L]` (1-D signals) or `[n, C, H, W]` (images), float32 or float64; they are held
//! as `[n, C, H, W]` with `H = 1` for signals. Targets are `[n]`, float or integer.

use crate::error::{Error, Result};
use ndarray::{Array1, Array4, ArrayD, Ix1};
use ndarray_npy::ReadNpyExt;
use std::io::Cursor;
use std::path::Path;

/// Inputs of a data set as a 4-D array, remembering whether they were 1-D signals.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `[n, C, H, W]`; `H = 1` for signals.
    pub x: Array4<f64>,
    /// True when the file held `[n, C, L]` signals.
    pub one_d: bool,
}

/// Targets as read from the file.
#[derive(Debug, Clone)]
pub enum Targets {
    /// Real-valued targets (a float file).
    Real(Array1<f64>),
    /// Integer class labels.
    Labels(Array1<i64>),
}

impl Targets {
    /// Number of targets.
    pub fn len(&self) -> usize {
        match self {
            Targets::Real(y) => y.len(),
            Targets::Labels(y) => y.len(),
        }
    }

    /// True when there are no targets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Targets as floats (labels converted as numbers).
    pub fn as_real(&self) -> Array1<f64> {
        match self {
            Targets::Real(y) => y.clone(),
            Targets::Labels(y) => y.mapv(|v| v as f64),
        }
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
        hint: "check the path in the problem file; paths are relative to the problem file",
    })
}

fn read_float_array(path: &Path, bytes: &[u8]) -> Result<ArrayD<f64>> {
    if let Ok(a) = ArrayD::<f64>::read_npy(Cursor::new(bytes)) {
        return Ok(a);
    }
    if let Ok(a) = ArrayD::<f32>::read_npy(Cursor::new(bytes)) {
        return Ok(a.mapv(f64::from));
    }
    Err(Error::input(
        path,
        format!(
            "not a float32 or float64 .npy array ({}); save the inputs with numpy as float64, \
             e.g. np.save(path, x.astype(np.float64))",
            npy_header_summary(bytes)
        ),
    ))
}

/// The dtype and shape recorded in an .npy header, for error messages.
fn npy_header_summary(bytes: &[u8]) -> String {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return "the file is not in .npy format".into();
    }
    let (start, len) = if bytes[6] == 1 {
        (10, u16::from_le_bytes([bytes[8], bytes[9]]) as usize)
    } else if bytes.len() >= 12 {
        (
            12,
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
        )
    } else {
        return "truncated .npy header".into();
    };
    match bytes.get(start..start + len) {
        Some(h) => format!("header {}", String::from_utf8_lossy(h).trim()),
        None => "truncated .npy header".into(),
    }
}

fn check_finite<'a>(path: &Path, what: &str, values: impl Iterator<Item = &'a f64>) -> Result<()> {
    for (i, v) in values.enumerate() {
        if !v.is_finite() {
            return Err(Error::input(
                path,
                format!(
                    "{what} value number {i} (flat index) is {v}; remove or impute non-finite values"
                ),
            ));
        }
    }
    Ok(())
}

/// Reads inputs `[n, C, L]` or `[n, C, H, W]` from an .npy file.
pub fn load_inputs(path: &Path) -> Result<Inputs> {
    let bytes = read_bytes(path)?;
    let a = read_float_array(path, &bytes)?;
    check_finite(path, "input", a.iter())?;
    let shape = a.shape().to_vec();
    let (x, one_d) = match shape.len() {
        3 => (
            a.into_shape_with_order((shape[0], shape[1], 1, shape[2]))
                .map_err(|e| Error::input(path, format!("cannot reshape inputs: {e}")))?,
            true,
        ),
        4 => (
            a.into_shape_with_order((shape[0], shape[1], shape[2], shape[3]))
                .map_err(|e| Error::input(path, format!("cannot reshape inputs: {e}")))?,
            false,
        ),
        r => {
            return Err(Error::input(
                path,
                format!(
                    "inputs have rank {r} (shape {shape:?}); expected [n, C, L] for signals or \
                     [n, C, H, W] for images (add a channel axis with x[:, None])"
                ),
            ));
        }
    };
    if x.shape().contains(&0) {
        return Err(Error::input(
            path,
            format!(
                "inputs have an empty axis (shape {shape:?}); every axis needs at least one entry"
            ),
        ));
    }
    Ok(Inputs {
        x: x.as_standard_layout().to_owned(),
        one_d,
    })
}

/// Reads targets `[n]` (float or integer) from an .npy file.
pub fn load_targets(path: &Path) -> Result<Targets> {
    let bytes = read_bytes(path)?;
    let cur = || Cursor::new(bytes.as_slice());
    let rank_err = |shape: &[usize]| {
        Error::input(
            path,
            format!(
                "targets have shape {shape:?}; expected a vector [n] (flatten with y.reshape(-1))"
            ),
        )
    };
    if let Ok(a) = ArrayD::<i64>::read_npy(cur()) {
        let shape = a.shape().to_vec();
        return Ok(Targets::Labels(
            a.into_dimensionality::<Ix1>()
                .map_err(|_| rank_err(&shape))?,
        ));
    }
    if let Ok(a) = ArrayD::<i32>::read_npy(cur()) {
        let shape = a.shape().to_vec();
        return Ok(Targets::Labels(
            a.mapv(i64::from)
                .into_dimensionality::<Ix1>()
                .map_err(|_| rank_err(&shape))?,
        ));
    }
    let a = read_float_array(path, &bytes).map_err(|_| {
        Error::input(
            path,
            format!(
                "not a float or integer .npy array ({}); save targets as float64 or int64",
                npy_header_summary(&bytes)
            ),
        )
    })?;
    check_finite(path, "target", a.iter())?;
    let shape = a.shape().to_vec();
    Ok(Targets::Real(
        a.into_dimensionality::<Ix1>()
            .map_err(|_| rank_err(&shape))?,
    ))
}
