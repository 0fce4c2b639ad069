//! Validation of a parsed problem file into a [`Problem`]: data loaded, every value checked once,
//! with messages that name the file, the value and the fix.

use super::arrays::Arrays;
use super::*;
use crate::data;
use ndarray::Axis;

fn resolve(base: &Path, p: &str) -> PathBuf {
    base.join(p)
}

impl Problem {
    /// Validates a parsed problem file whose relative paths are resolved against `base`.
    pub fn from_file(file: ProblemFile, base: &Path, source: &Path) -> Result<Problem> {
        Problem::from_file_with(file, base, source, &Arrays::default())
    }

    /// [`Problem::from_file`] with some data given in memory: a path that names an array of
    /// `arrays` reads the array instead of a file (`Problem::from_value`).
    pub(crate) fn from_file_with(
        file: ProblemFile,
        base: &Path,
        source: &Path,
        arrays: &Arrays,
    ) -> Result<Problem> {
        let bad = |m: String| Error::input(source, m);
        if !file.beta.is_finite() || file.beta < 0.0 {
            return Err(bad(format!(
                "beta = {} is not allowed; the weight decay must be a finite number ≥ 0",
                file.beta
            )));
        }
        let inputs_path = resolve(base, &file.inputs);
        let targets_path = resolve(base, &file.targets);
        let inputs = arrays.inputs(&inputs_path)?;
        let targets = arrays.targets(&targets_path)?;
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
        let test = test_set(&file, base, source, arrays, &x, inputs.one_d, task_kind)?;
        let architecture =
            super::architecture::architecture(&file, source, &inputs_path, n, &x, inputs.one_d)?;
        let h = architecture.gate_len(x.dim().1, x.dim().3);
        let arrangements = arrangements(&file, base, source, h)?;
        let problem = Problem {
            source: source.to_path_buf(),
            x,
            one_d: inputs.one_d,
            y,
            architecture,
            beta: file.beta,
            filter_norm: file.filter_norm.unwrap_or_default(),
            arrangements,
            loss: file.loss.unwrap_or_default(),
            task,
            test,
        };
        check_loss(&problem, &targets_path)?;
        // Before anything sized by patches or gates is allocated.
        super::memory::check(&problem)?;
        Ok(problem)
    }
}

/// A classification loss needs ±1 targets (after `binary`; per class for one-vs-rest, where they
/// are made ±1) and an architecture whose program has its loss rows.
fn check_loss(problem: &Problem, targets_path: &Path) -> Result<()> {
    let loss = problem.loss;
    if !loss.is_classification() {
        return Ok(());
    }
    let name = loss.name();
    let bad = |m: String| Err(Error::input(&problem.source, m));
    match problem.architecture {
        Architecture::TwoLayer { .. } => {}
        Architecture::Circular { .. } => {}
        Architecture::ThreeLayer { .. } => {
            return bad(format!(
                "\"loss\": \"{name}\" is built for \"two_layer\" (every pooling, bias, one-vs-rest) \
                 and \"circular\" only; use \"loss\": \"squared\" for \"three_layer\""
            ));
        }
    }
    if problem.task != Task::Scalar {
        // One-vs-rest makes its own ±1 targets per class.
        return Ok(());
    }
    if let Some(v) = problem.y.iter().find(|&&v| v != 1.0 && v != -1.0) {
        return bad(format!(
            "\"loss\": \"{name}\" needs targets −1 or +1 but {} holds {v}; map the labels with \
             \"binary\": {{\"positive\": […], \"negative\": […]}} or use \"loss\": \"squared\"",
            targets_path.display()
        ));
    }
    if let Some(t) = &problem.test
        && let Some(v) = t.y.iter().find(|&&v| v != 1.0 && v != -1.0)
    {
        return bad(format!(
            "\"loss\": \"{name}\" needs test targets −1 or +1 but they hold {v}; map them with \
             \"binary\" as the training targets"
        ));
    }
    Ok(())
}

/// The held-out set, mapped like the training data (`binary`'s ±1, or the labels of a
/// one-vs-rest task), with the training inputs' per-sample shape.
fn test_set(
    file: &ProblemFile,
    base: &Path,
    source: &Path,
    arrays: &Arrays,
    x: &Array4<f64>,
    one_d: bool,
    task_kind: TaskKind,
) -> Result<Option<TestSet>> {
    let bad = |m: String| Error::input(source, m);
    let labels_of = |targets: &Targets, path: &Path, why: &str| match targets {
        Targets::Labels(l) => Ok(l.to_vec()),
        Targets::Real(_) => Err(bad(format!(
            "{why} needs integer class labels but {} holds floats; save the labels as int64",
            path.display()
        ))),
    };
    Ok(match (&file.test_inputs, &file.test_targets) {
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => {
            return Err(bad(
                "\"test_inputs\" and \"test_targets\" go together; give both or neither".into(),
            ));
        }
        (Some(ti), Some(tt)) => {
            let (ti, tt) = (resolve(base, ti), resolve(base, tt));
            let tin = arrays.inputs(&ti)?;
            let ttar = arrays.targets(&tt)?;
            let (_, c, hh, ww) = x.dim();
            let (nt, tc, th, tw) = tin.x.dim();
            if (tc, th, tw) != (c, hh, ww) || tin.one_d != one_d {
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
                        shape(one_d, c, hh, ww)
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
    })
}

/// The arrangements entry; gates of length `h` are loaded from their file.
fn arrangements(
    file: &ProblemFile,
    base: &Path,
    source: &Path,
    h: usize,
) -> Result<ArrangementSpec> {
    let bad = |m: String| Error::input(source, m);
    Ok(match &file.arrangements {
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
        ArrangementsFile::Generate {
            count,
            seed,
            rounds,
            starts,
            add,
            tolerance,
            time_limit,
            branch_and_bound,
            largest_after,
            walk,
        } => {
            let positive = |name: &str, v: usize| {
                if v == 0 {
                    Err(bad(format!("arrangements.{name} = 0; give at least 1")))
                } else {
                    Ok(v)
                }
            };
            let defaults = GenerateSpec::starting_from(*count, *seed);
            let tolerance = tolerance.unwrap_or(defaults.tolerance);
            if !(tolerance.is_finite() && tolerance >= 0.0) {
                return Err(bad(format!(
                    "arrangements.tolerance = {tolerance}; give a finite number ≥ 0 (e.g. 1e-4)"
                )));
            }
            let time_limit = time_limit.unwrap_or(f64::INFINITY);
            if time_limit.is_nan() || time_limit <= 0.0 {
                return Err(bad(format!(
                    "arrangements.time_limit = {time_limit}; give a positive number of seconds"
                )));
            }
            let branch_and_bound = match branch_and_bound {
                None => None,
                Some(s) if s.is_finite() && *s > 0.0 => Some(*s),
                Some(s) => {
                    return Err(bad(format!(
                        "arrangements.branch_and_bound = {s}; give a positive, finite number of \
                         seconds per search (e.g. 300), or leave it out"
                    )));
                }
            };
            let largest_after = match (largest_after, branch_and_bound) {
                (None, _) => None,
                (Some(s), _) if !(s.is_finite() && *s >= 0.0) => {
                    return Err(bad(format!(
                        "arrangements.largest_after = {s}; give a finite number of seconds ≥ 0 \
                         (e.g. 10), or leave it out"
                    )));
                }
                (Some(s), None) => {
                    return Err(bad(format!(
                        "arrangements.largest_after = {s} switches the branch and bound of later \
                         rounds, but branch_and_bound is not set; set it (e.g. 150) or leave \
                         largest_after out"
                    )));
                }
                (Some(s), Some(_)) => Some(*s),
            };
            ArrangementSpec::Generate(GenerateSpec {
                count: positive("count", *count)?,
                seed: *seed,
                rounds: positive("rounds", rounds.unwrap_or(defaults.rounds))?,
                starts: starts.unwrap_or(defaults.starts),
                add: positive("add", add.unwrap_or(defaults.add))?,
                tolerance,
                time_limit,
                branch_and_bound,
                largest_after,
                walk: walk.unwrap_or(defaults.walk),
            })
        }
    })
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
