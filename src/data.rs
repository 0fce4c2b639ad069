//! Loading inputs and targets from `.npy` files (docs/math.md §1).
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

fn read_bytes(path: &Path, hint: &'static str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
        hint,
    })
}

/// Where a data path comes from, for the hint of a file that cannot be read.
pub const FROM_PROBLEM_FILE: &str =
    "check the path in the problem file; paths are relative to the problem file";

/// What an `.npy` header says: element type, layout and shape, and where the data starts.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyHeader {
    /// numpy's type string, e.g. `<f8`.
    pub descr: String,
    /// Column-major data.
    pub fortran_order: bool,
    /// Array shape.
    pub shape: Vec<usize>,
    /// Byte offset of the data.
    pub data_start: usize,
}

impl NpyHeader {
    /// Parses the header of an `.npy` file; `Err` says what is wrong with it in words.
    pub fn parse(bytes: &[u8]) -> std::result::Result<NpyHeader, String> {
        if bytes.is_empty() {
            return Err("the file is empty (0 bytes)".into());
        }
        if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
            return Err("the file is not in .npy format (no \\x93NUMPY magic)".into());
        }
        let (start, len) = match bytes[6] {
            1 => (10, u16::from_le_bytes([bytes[8], bytes[9]]) as usize),
            2 | 3 if bytes.len() >= 12 => (
                12,
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            ),
            v => return Err(format!("unsupported .npy format version {v}")),
        };
        let text = bytes
            .get(start..start + len)
            .ok_or("the .npy header is truncated")?;
        let text = String::from_utf8_lossy(text);
        let field = |key: &str| -> Option<String> {
            let i = text.find(&format!("'{key}'"))? + key.len() + 2;
            let rest = text[i..].trim_start().strip_prefix(':')?.trim_start();
            Some(rest.to_string())
        };
        let descr = field("descr")
            .and_then(|r| {
                r.strip_prefix('\'')
                    .and_then(|r| r.split('\'').next())
                    .map(str::to_string)
            })
            .ok_or_else(|| format!("the .npy header has no 'descr' ({})", text.trim()))?;
        let fortran_order = field("fortran_order").is_some_and(|r| r.starts_with("True"));
        let shape = field("shape")
            .and_then(|r| {
                let inner = r.strip_prefix('(')?.split(')').next()?.to_string();
                inner
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| t.trim_end_matches('L').parse::<usize>().ok())
                    .collect::<Option<Vec<usize>>>()
            })
            .ok_or_else(|| format!("the .npy header has no readable 'shape' ({})", text.trim()))?;
        Ok(NpyHeader {
            descr,
            fortran_order,
            shape,
            data_start: start + len,
        })
    }

    /// Bytes per element of `descr` (`<f8` → 8), when it names a fixed-size number.
    pub fn item_size(&self) -> Option<usize> {
        self.descr
            .trim_start_matches(['<', '>', '|', '='])
            .get(1..)?
            .parse()
            .ok()
    }

    /// The data bytes the header promises, when they can be computed without overflow.
    pub fn data_len(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(self.item_size()?, |acc, &d| acc.checked_mul(d))
    }
}

/// Why an `.npy` file could not be read as numbers: a truncated file, a bad header, or a type that
/// is not among `accepted`.
pub(crate) fn npy_problem(bytes: &[u8], accepted: &str) -> String {
    match NpyHeader::parse(bytes) {
        Err(e) => e,
        Ok(h) => {
            let have = bytes.len().saturating_sub(h.data_start);
            match h.data_len() {
                Some(want) if have < want => format!(
                    "the file is truncated: its header says shape {:?} of {} ({want} data \
                     bytes) but it holds {have}; save it again",
                    h.shape, h.descr
                ),
                _ => format!(
                    "not a {accepted} array (header: dtype {}, shape {:?}{})",
                    h.descr,
                    h.shape,
                    if h.fortran_order {
                        ", Fortran order"
                    } else {
                        ""
                    }
                ),
            }
        }
    }
}

/// Reads a float32 or float64 `.npy` array in either memory order, as float64 in standard
/// (row-major) layout.
pub(crate) fn read_float_array(path: &Path, bytes: &[u8]) -> Result<ArrayD<f64>> {
    let a = if let Ok(a) = ArrayD::<f64>::read_npy(Cursor::new(bytes)) {
        a
    } else if let Ok(a) = ArrayD::<f32>::read_npy(Cursor::new(bytes)) {
        a.mapv(f64::from)
    } else {
        return Err(Error::input(
            path,
            format!(
                "{}; save the array with numpy as float64, e.g. np.save(path, x.astype(np.float64))",
                npy_problem(bytes, "float32 or float64 .npy")
            ),
        ));
    };
    // Fortran-order files load with column-major strides; everything downstream reshapes in
    // row-major order.
    Ok(if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
    })
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

/// Reads inputs `[n, C, L]` or `[n, C, H, W]` from an .npy file named in a problem file.
pub fn load_inputs(path: &Path) -> Result<Inputs> {
    load_inputs_with_hint(path, FROM_PROBLEM_FILE)
}

/// [`load_inputs`] for a file named elsewhere; `hint` says where to fix the path when it cannot be
/// read.
pub fn load_inputs_with_hint(path: &Path, hint: &'static str) -> Result<Inputs> {
    let bytes = read_bytes(path, hint)?;
    inputs_from_array(path, read_float_array(path, &bytes)?)
}

/// Inputs `[n, C, L]` or `[n, C, H, W]` given in memory (the Python binding's numpy arrays), checked
/// as [`load_inputs`] checks a file's; `path` names the array in messages.
pub fn inputs_from_array(path: &Path, a: ArrayD<f64>) -> Result<Inputs> {
    check_finite(path, "input", a.iter())?;
    let a = if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
    };
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
    let bytes = read_bytes(path, FROM_PROBLEM_FILE)?;
    let cur = || Cursor::new(bytes.as_slice());
    if let Ok(a) = ArrayD::<i64>::read_npy(cur()) {
        return targets_from_array(path, RawArray::Int(a));
    }
    if let Ok(a) = ArrayD::<i32>::read_npy(cur()) {
        return targets_from_array(path, RawArray::Int(a.mapv(i64::from)));
    }
    let a = read_float_array(path, &bytes).map_err(|_| {
        Error::input(
            path,
            format!(
                "{}; save targets as float64 or int64",
                npy_problem(&bytes, "float or integer .npy")
            ),
        )
    })?;
    targets_from_array(path, RawArray::Float(a))
}

/// An array given in memory instead of an `.npy` file (the Python binding's numpy arrays).
#[derive(Debug, Clone)]
pub enum RawArray {
    /// float32 or float64 values.
    Float(ArrayD<f64>),
    /// Integer values (class labels).
    Int(ArrayD<i64>),
}

/// Targets `[n]` given in memory, checked as [`load_targets`] checks a file's; `path` names the
/// array in messages.
pub fn targets_from_array(path: &Path, a: RawArray) -> Result<Targets> {
    let rank_err = |shape: &[usize]| {
        Error::input(
            path,
            format!(
                "targets have shape {shape:?}; expected a vector [n] (flatten with y.reshape(-1))"
            ),
        )
    };
    let a = match a {
        RawArray::Int(a) => {
            let shape = a.shape().to_vec();
            return Ok(Targets::Labels(
                a.into_dimensionality::<Ix1>()
                    .map_err(|_| rank_err(&shape))?,
            ));
        }
        RawArray::Float(a) => a,
    };
    check_finite(path, "target", a.iter())?;
    let shape = a.shape().to_vec();
    Ok(Targets::Real(
        a.into_dimensionality::<Ix1>()
            .map_err(|_| rank_err(&shape))?,
    ))
}
