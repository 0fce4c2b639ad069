//! Problems whose data is in memory (the Python binding's numpy arrays) instead of `.npy` files:
//! the problem-file JSON as a value, and arrays that stand for some of its paths. The arrays go
//! through the same checks as the files' contents (`data::inputs_from_array`), so a problem built
//! from memory validates exactly as the same problem written to disk.

use super::{Problem, ProblemFile};
use crate::data::{self, Inputs, RawArray, Targets};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Arrays standing for paths of a problem: a path equal to one of their names reads the array.
#[derive(Debug, Clone, Default)]
pub struct Arrays {
    arrays: BTreeMap<PathBuf, RawArray>,
}

impl Arrays {
    /// Adds the array given for the problem key `key` (`inputs`, `targets`, `test_inputs`,
    /// `test_targets`) and returns the name to write as that key's path: `problem["inputs"]`, which
    /// is also how messages about the array name it.
    pub fn insert(&mut self, key: &str, array: RawArray) -> String {
        let name = format!("problem[\"{key}\"]");
        self.arrays.insert(PathBuf::from(&name), array);
        name
    }

    /// Inputs at `path`: the array of that name, or the `.npy` file.
    pub(crate) fn inputs(&self, path: &Path) -> Result<Inputs> {
        match self.arrays.get(path) {
            None => data::load_inputs(path),
            Some(RawArray::Float(a)) => data::inputs_from_array(path, a.clone()),
            Some(RawArray::Int(_)) => Err(Error::input(
                path,
                "inputs have an integer dtype; pass float32 or float64 values (e.g. \
                 x.astype(np.float64))",
            )),
        }
    }

    /// Targets at `path`: the array of that name, or the `.npy` file.
    pub(crate) fn targets(&self, path: &Path) -> Result<Targets> {
        match self.arrays.get(path) {
            None => data::load_targets(path),
            Some(a) => data::targets_from_array(path, a.clone()),
        }
    }
}

impl Problem {
    /// Validates a problem given as the problem file's JSON `value`, whose paths may name
    /// `arrays` (see [`Arrays::insert`]); other paths are relative to the working directory.
    /// `source` names the problem in messages.
    pub fn from_value(value: serde_json::Value, arrays: &Arrays, source: &Path) -> Result<Problem> {
        if !value.is_object() {
            return Err(Error::input(
                source,
                "a problem is one JSON object {\"inputs\": …, \"targets\": …, \"architecture\": …, \
                 \"beta\": …, \"arrangements\": …}",
            ));
        }
        let file: ProblemFile = serde_json::from_value(value).map_err(|e| {
            Error::input(
                source,
                format!("{e}; see docs/problem-files.md for the accepted keys"),
            )
        })?;
        Problem::from_file_with(file, Path::new(""), source, arrays)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::ArrayD;

    fn value(inputs: &str, targets: &str) -> serde_json::Value {
        serde_json::json!({
            "inputs": inputs, "targets": targets,
            "architecture": {"kind": "two_layer", "kernel": [2], "pooling": "sum"},
            "beta": 0.1, "arrangements": {"mode": "exact"}
        })
    }

    #[test]
    fn arrays_validate_like_the_files_they_stand_for() {
        let disk = Problem::load(Path::new("problems/signal_exact.json")).unwrap();
        let mut arrays = Arrays::default();
        let (n, c, _, w) = disk.x.dim();
        let x = disk.x.clone().into_shape_with_order(vec![n, c, w]).unwrap();
        let i = arrays.insert("inputs", RawArray::Float(x));
        let t = arrays.insert("targets", RawArray::Float(disk.y.clone().into_dyn()));
        let mem = Problem::from_value(value(&i, &t), &arrays, Path::new("problem")).unwrap();
        assert_eq!(mem.x, disk.x);
        assert_eq!(mem.y, disk.y);
        assert!(mem.one_d);
    }

    #[test]
    fn bad_arrays_are_named_in_the_message() {
        let mut arrays = Arrays::default();
        let mut x = ArrayD::<f64>::zeros(vec![3, 1, 4]);
        x[[1, 0, 2]] = f64::NAN;
        let i = arrays.insert("inputs", RawArray::Float(x));
        let t = arrays.insert("targets", RawArray::Float(ArrayD::zeros(vec![3])));
        let e = Problem::from_value(value(&i, &t), &arrays, Path::new("problem"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("problem[\"inputs\"]: input value number 6"),
            "{e}"
        );
        let mut arrays = Arrays::default();
        let i = arrays.insert("inputs", RawArray::Int(ArrayD::zeros(vec![3, 1, 4])));
        let e = Problem::from_value(value(&i, "y.npy"), &arrays, Path::new("problem"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("integer dtype"), "{e}");
        let e = Problem::from_value(serde_json::json!([1]), &arrays, Path::new("problem"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("problem: a problem is one JSON object"),
            "{e}"
        );
    }
}
