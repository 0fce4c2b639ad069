//! `cvxcnn._cvxcnn`: the thin native layer under the `cvxcnn` Python package.
//!
//! Problems cross as the problem file's JSON plus numpy arrays standing for some of its paths
//! ([`cvxcnn::problem::Arrays`]); results cross as the result file's JSON, so the Python dicts have
//! exactly the keys of docs/results.md. Every check and every number comes from the library; this
//! file only converts, releases the GIL while the library works, and turns Ctrl-C or an exception
//! raised by the progress callback into an orderly stop.

use cvxcnn::arch::two_layer::Coupling;
use cvxcnn::backend::clarabel::{ClarabelSettings, LinearSolver};
use cvxcnn::backend::{AlSettings, Backend, Status};
use cvxcnn::data::RawArray;
use cvxcnn::network::Weights;
use cvxcnn::network::state_dict::{self, Expected};
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::predict::{Predictions, Saved};
use cvxcnn::problem::{Architecture, Arrays, Problem};
use cvxcnn::task::{self, Outcome};
use numpy::{IntoPyArray, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyKeyboardInterrupt, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use serde::Deserialize;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The unwinding payload that stops the library from inside its progress callback.
struct Stop;

/// Runs `work` with the GIL released. Its progress callback, at most every 50 ms (and at the end
/// of every phase), checks for Ctrl-C when it runs on the calling thread and calls `progress`;
/// a `KeyboardInterrupt` or an exception raised by `progress` stops the work by unwinding out of
/// the library (which holds no state across calls) and is raised here.
fn detached<T: Send>(
    py: Python<'_>,
    progress: Option<Py<PyAny>>,
    work: impl FnOnce(pipeline::Progress) -> T + Send,
) -> PyResult<T> {
    let caller = std::thread::current().id();
    let error: Mutex<Option<PyErr>> = Mutex::new(None);
    let last = Mutex::new(Instant::now());
    let callback = |phase: &str, done: usize, total: usize| {
        if error.lock().map(|e| e.is_some()).unwrap_or(true) {
            resume_unwind(Box::new(Stop));
        }
        let on_caller = std::thread::current().id() == caller;
        if !on_caller && progress.is_none() {
            return;
        }
        {
            let Ok(mut last) = last.lock() else { return };
            if done < total && last.elapsed() < Duration::from_millis(50) {
                return;
            }
            *last = Instant::now();
        }
        let result = Python::attach(|py| -> PyResult<()> {
            if on_caller {
                py.check_signals()?;
            }
            if let Some(f) = &progress {
                f.bind(py).call1((phase, done, total))?;
            }
            Ok(())
        });
        if let Err(e) = result {
            if let Ok(mut slot) = error.lock() {
                slot.get_or_insert(e);
            }
            resume_unwind(Box::new(Stop));
        }
    };
    let out = py.detach(|| catch_unwind(AssertUnwindSafe(|| work(&callback))));
    let stored = error.lock().ok().and_then(|mut e| e.take());
    match (out, stored) {
        (Ok(v), None) => Ok(v),
        (_, Some(e)) => Err(e),
        (Err(p), None) if p.is::<Stop>() => Err(PyKeyboardInterrupt::new_err("stopped")),
        // A real panic: a bug, raised as pyo3's PanicException.
        (Err(p), None) => resume_unwind(p),
    }
}

/// A numpy array given for the problem key `key`, with the dtype and memory checks of the binding.
fn raw_array(key: &str, v: &Bound<'_, PyAny>) -> PyResult<RawArray> {
    let name = format!("problem[\"{key}\"]");
    let contiguous = |c: bool| {
        if c {
            Ok(())
        } else {
            Err(value_error(format!(
                "{name}: the array is not contiguous in memory (a strided view such as x[:, ::2]); \
                 pass np.ascontiguousarray(x)"
            )))
        }
    };
    if let Ok(a) = v.extract::<PyReadonlyArrayDyn<'_, f64>>() {
        contiguous(a.is_contiguous())?;
        return Ok(RawArray::Float(a.as_array().to_owned()));
    }
    if let Ok(a) = v.extract::<PyReadonlyArrayDyn<'_, f32>>() {
        contiguous(a.is_contiguous())?;
        return Ok(RawArray::Float(a.as_array().mapv(f64::from)));
    }
    if let Ok(a) = v.extract::<PyReadonlyArrayDyn<'_, i64>>() {
        contiguous(a.is_contiguous())?;
        return Ok(RawArray::Int(a.as_array().to_owned()));
    }
    if let Ok(a) = v.extract::<PyReadonlyArrayDyn<'_, i32>>() {
        contiguous(a.is_contiguous())?;
        return Ok(RawArray::Int(a.as_array().mapv(i64::from)));
    }
    let dtype = v
        .getattr("dtype")
        .and_then(|d| d.str())
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "not a numpy array".into());
    Err(value_error(format!(
        "{name}: dtype {dtype} is not accepted; pass float32 or float64 values (integer labels: \
         int32 or int64), e.g. x.astype(np.float64)"
    )))
}

/// The problem: a problem file (`path`), or the problem file's JSON whose paths may name
/// `arrays` (problem key → numpy array).
fn problem(
    path: Option<&str>,
    json: Option<&str>,
    arrays: Option<&Bound<'_, PyDict>>,
) -> PyResult<Problem> {
    match (path, json) {
        (Some(p), _) => Problem::load(Path::new(p)).map_err(value_error),
        (None, Some(j)) => {
            let mut value: serde_json::Value = serde_json::from_str(j).map_err(value_error)?;
            let mut mem = Arrays::default();
            if let Some(arrays) = arrays {
                for (k, v) in arrays.iter() {
                    let key: String = k.extract()?;
                    let name = mem.insert(&key, raw_array(&key, &v)?);
                    value[key.as_str()] = name.into();
                }
            }
            Problem::from_value(value, &mem, Path::new("problem")).map_err(value_error)
        }
        (None, None) => Err(value_error("give a problem")),
    }
}

/// Solver options (the CLI's flags, as keyword arguments).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Options {
    solver: Option<String>,
    max_iter: Option<u32>,
    time_limit: Option<f64>,
    tol_gap_abs: Option<f64>,
    tol_gap_rel: Option<f64>,
    tol_feas: Option<f64>,
    linear_solver: Option<String>,
    tol_gap: Option<f64>,
    polish: Option<bool>,
    reduce: Option<bool>,
    coupling: Option<String>,
}

fn positive(name: &str, v: Option<f64>, default: f64) -> PyResult<f64> {
    match v {
        None => Ok(default),
        Some(v) if v.is_finite() && v > 0.0 => Ok(v),
        Some(v) => Err(value_error(format!("{name} = {v}: give a positive number"))),
    }
}

/// `solver="auto"`: [`cvxcnn::first_order::driver::auto_backend`], the rule of `--solver auto`.
fn auto_backend(
    o: &Options,
    problem: &cvxcnn::problem::Problem,
    opts: &mut SolveOptions,
) -> PyResult<()> {
    if o.solver.as_deref() == Some("auto") {
        let made = std::mem::take(&mut opts.backend);
        opts.backend = cvxcnn::first_order::driver::auto_backend(
            problem,
            made,
            o.max_iter.map(|m| m as usize),
            positive("time_limit", o.time_limit, f64::INFINITY)?,
        );
    }
    Ok(())
}

/// The options JSON of `solve` and `export`, parsed once.
fn parse_options(json: &str) -> PyResult<Options> {
    serde_json::from_str(json).map_err(|e| {
        value_error(format!(
            "{e}; the options are solver, max_iter, time_limit, tol_gap_abs, tol_gap_rel, \
             tol_feas, linear_solver (clarabel), tol_gap, polish (al), reduce, coupling"
        ))
    })
}

fn solve_options(o: &Options) -> PyResult<SolveOptions> {
    if o.max_iter == Some(0) {
        return Err(value_error("max_iter = 0: give at least 1"));
    }
    let time_limit = positive("time_limit", o.time_limit, f64::INFINITY)?;
    let only = |solver: &str, given: &[(&str, bool)]| match given.iter().find(|g| g.1) {
        Some((name, _)) => Err(value_error(format!(
            "{name} is an option of solver=\"{solver}\", which is not the solver chosen"
        ))),
        None => Ok(()),
    };
    let clarabel_only = [
        ("tol_gap_abs", o.tol_gap_abs.is_some()),
        ("tol_gap_rel", o.tol_gap_rel.is_some()),
        ("tol_feas", o.tol_feas.is_some()),
        ("linear_solver", o.linear_solver.is_some()),
    ];
    let al_only = [
        ("tol_gap", o.tol_gap.is_some()),
        ("polish", o.polish.is_some()),
    ];
    let backend = match o.solver.as_deref().unwrap_or("clarabel") {
        "clarabel" => {
            only("al", &al_only)?;
            let d = ClarabelSettings::default();
            Backend::Clarabel(ClarabelSettings {
                tol_gap_abs: positive("tol_gap_abs", o.tol_gap_abs, d.tol_gap_abs)?,
                tol_gap_rel: positive("tol_gap_rel", o.tol_gap_rel, d.tol_gap_rel)?,
                tol_feas: positive("tol_feas", o.tol_feas, d.tol_feas)?,
                max_iter: o.max_iter.unwrap_or(d.max_iter),
                time_limit,
                verbose: false,
                linear_solver: match o.linear_solver.as_deref().unwrap_or("faer") {
                    "faer" => LinearSolver::Faer,
                    "qdldl" => LinearSolver::Qdldl,
                    other => {
                        return Err(value_error(format!(
                            "linear_solver = {other:?}: give \"faer\" or \"qdldl\""
                        )));
                    }
                },
            })
        }
        "al" => {
            only("clarabel", &clarabel_only)?;
            let d = AlSettings::default();
            Backend::Al(AlSettings {
                tol_gap: positive("tol_gap", o.tol_gap, d.tol_gap)?,
                max_iter: o.max_iter.map_or(d.max_iter, |m| m as usize),
                time_limit,
                polish: o.polish.unwrap_or(true),
            })
        }
        "auto" => {
            // Chosen per problem in `solve` (`auto_backend`): an option of one solver could end
            // up ignored.
            if let Some((name, _)) = clarabel_only.iter().chain(&al_only).find(|g| g.1) {
                return Err(value_error(format!(
                    "{name} is an option of one solver, and solver=\"auto\" chooses the solver per \
                     problem; choose it (solver=\"clarabel\" or solver=\"al\") to set {name}"
                )));
            }
            Backend::Clarabel(ClarabelSettings {
                max_iter: o.max_iter.unwrap_or(ClarabelSettings::default().max_iter),
                time_limit,
                ..ClarabelSettings::default()
            })
        }
        other => {
            return Err(value_error(format!(
                "solver = {other:?}: give \"clarabel\", \"al\" or \"auto\" (OSQP is in the CLI \
                 built with --features osqp)"
            )));
        }
    };
    let coupling = match o.coupling.as_deref().unwrap_or("auto") {
        "auto" => None,
        "direct" => Some(Coupling::Direct),
        "difference" => Some(Coupling::Difference),
        "compressed" => Some(Coupling::Compressed),
        other => {
            return Err(value_error(format!(
                "coupling = {other:?}: give \"auto\", \"direct\", \"difference\" or \"compressed\""
            )));
        }
    };
    Ok(SolveOptions {
        reduce: o.reduce.unwrap_or(true),
        backend,
        coupling,
        ..SolveOptions::default()
    })
}

/// The network to certify: JSON (the result-file layout) or a safetensors file, checked against
/// the problem as `cvxcnn certify --network` checks it.
fn network(problem: &Problem, json: Option<&str>, file: Option<&str>) -> PyResult<Option<Weights>> {
    let Architecture::TwoLayer { geometry, bias, .. } = problem.architecture else {
        return match (json, file) {
            (None, None) => Ok(None),
            _ => Err(value_error(
                "network: only a two-layer problem certifies a given network",
            )),
        };
    };
    let h = geometry.filter_len(problem.x.dim().1);
    let w = match (json, file) {
        (None, None) => return Ok(None),
        (Some(j), _) => serde_json::from_str::<Weights>(j).map_err(|e| {
            value_error(format!(
                "network: {e}; a network needs \"filters\" (one list per neuron), \
                 \"output_weights\" and, for an architecture with a bias, \"biases\""
            ))
        })?,
        (None, Some(path)) => {
            let bytes = std::fs::read(path).map_err(|e| value_error(format!("{path}: {e}")))?;
            let expected = Expected {
                channels: problem.x.dim().1,
                geometry,
                one_d: problem.one_d,
                bias,
            };
            state_dict::read(&bytes, expected).map_err(|e| value_error(format!("{path}: {e}")))?
        }
    };
    w.check(h, bias)
        .map_err(|e| value_error(format!("network: {e}")))?;
    Ok(Some(w))
}

/// What did not converge, per model, as the CLI words it: (message, status name).
fn failure(outcome: &Outcome, backend: &Backend) -> Option<(String, String)> {
    let reports: Vec<(String, &pipeline::Solved)> = match outcome {
        Outcome::Scalar(s) => vec![(String::new(), &s.report)],
        Outcome::OneVsRest(r) => r
            .models
            .iter()
            .map(|m| (format!("class {}: ", m.class), &m.outcome.report))
            .collect(),
    };
    for (who, report) in reports {
        let status = report.status();
        let c = report.certificate();
        if status != Status::Optimal {
            let s = report.solver();
            return Some((
                format!(
                    "{who}the solver stopped with status {} after {} iterations (primal {:.6e}, \
                     dual {:.6e}); {}",
                    status.name(),
                    s.iterations,
                    s.primal_objective,
                    s.dual_objective,
                    status.advice()
                ),
                status.name().to_string(),
            ));
        }
        if !c.certified {
            return Some((
                format!(
                    "{who}the solver ({}) reported optimal, but the certificate does not close: \
                     relative gap {:.3e} > {:.0e} (max dual violation {:.3e}); tighten the \
                     solver's tolerances",
                    backend.name(),
                    c.relative_gap,
                    cvxcnn::certify::CERTIFIED_REL_GAP,
                    c.max_dual_violation
                ),
                "not_certified".to_string(),
            ));
        }
    }
    None
}

/// Solves a problem; returns the result JSON and, when a model did not converge or certify, the
/// message and status.
#[pyfunction]
#[pyo3(signature = (path=None, json=None, arrays=None, options="{}", network_json=None, network_file=None, progress=None))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn solve(
    py: Python<'_>,
    path: Option<&str>,
    json: Option<&str>,
    arrays: Option<Bound<'_, PyDict>>,
    options: &str,
    network_json: Option<&str>,
    network_file: Option<&str>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, Option<(String, String)>)> {
    let problem = problem(path, json, arrays.as_ref())?;
    let o = parse_options(options)?;
    let mut opts = solve_options(&o)?;
    auto_backend(&o, &problem, &mut opts)?;
    opts.network = network(&problem, network_json, network_file)?;
    if opts.network.is_some() && problem.task != cvxcnn::problem::Task::Scalar {
        return Err(value_error(
            "network: a given network is certified against a scalar problem, but the problem is \
             one-vs-rest",
        ));
    }
    let outcome = detached(py, progress, |p| task::solve(&problem, &opts, p))?;
    let outcome = outcome.map_err(value_error)?;
    let text = serde_json::to_string(&outcome).map_err(value_error)?;
    Ok((text, failure(&outcome, &opts.backend)))
}

/// The program `solve` would hand to the solver, as CBF, MPS or Clarabel JSON text.
#[pyfunction]
#[pyo3(signature = (format, path=None, json=None, arrays=None, options="{}", progress=None))]
fn export(
    py: Python<'_>,
    format: &str,
    path: Option<&str>,
    json: Option<&str>,
    arrays: Option<Bound<'_, PyDict>>,
    options: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let problem = problem(path, json, arrays.as_ref())?;
    if problem.task != cvxcnn::problem::Task::Scalar {
        return Err(value_error(
            "a one-vs-rest problem is one program per class; export one class with \"binary\": \
             {\"positive\": [c], \"negative\": \"rest\"} instead of \"task\"",
        ));
    }
    if !matches!(format, "cbf" | "mps" | "clarabel_json") {
        return Err(value_error(format!(
            "format = {format:?}: give \"cbf\", \"mps\" or \"clarabel_json\""
        )));
    }
    let opts = solve_options(&parse_options(options)?)?;
    let program =
        detached(py, progress, |p| pipeline::program(&problem, &opts, p))?.map_err(value_error)?;
    match format {
        "cbf" => Ok(cvxcnn::export::cbf::write(&program)),
        "mps" => cvxcnn::export::mps::write(&program)
            .map_err(|e| value_error(format!("cannot export as MPS: {e}"))),
        _ => Ok(cvxcnn::export::clarabel_json::write(
            &program,
            &ClarabelSettings::default(),
        )),
    }
}

fn saved(result_json: &str) -> PyResult<Saved> {
    let v: serde_json::Value = serde_json::from_str(result_json).map_err(value_error)?;
    Saved::from_json(&v).map_err(|e| value_error(format!("result: {e}")))
}

/// Outputs (scalar) or labels (one-vs-rest) of a result's network on `x`; with `scores`, the
/// outputs of every class's network `[n, k]` (one-vs-rest) or `[n, 1]`.
#[pyfunction]
#[pyo3(signature = (result_json, x, scores=false))]
fn predict<'py>(
    py: Python<'py>,
    result_json: &str,
    x: Bound<'py, PyAny>,
    scores: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let saved = saved(result_json)?;
    let a = match raw_array("X", &x)? {
        RawArray::Float(a) => a,
        RawArray::Int(_) => {
            return Err(value_error(
                "X has an integer dtype; pass float32 or float64 values",
            ));
        }
    };
    let inputs = cvxcnn::data::inputs_from_array(Path::new("X"), a).map_err(value_error)?;
    saved
        .check_inputs(inputs.x.view(), inputs.one_d)
        .map_err(|e| value_error(format!("X: {e}")))?;
    if scores {
        let nets: Vec<&cvxcnn::predict::Network> = match &saved.model {
            cvxcnn::predict::Model::Scalar(n) => vec![n],
            cvxcnn::predict::Model::OneVsRest { networks, .. } => networks.iter().collect(),
        };
        let x = inputs.x;
        let cols = py.detach(|| nets.iter().map(|n| n.forward(x.view())).collect::<Vec<_>>());
        let n = x.dim().0;
        let out = ndarray::Array2::from_shape_fn((n, cols.len()), |(t, c)| cols[c][t]);
        return Ok(out.into_pyarray(py).into_any());
    }
    let x = inputs.x;
    Ok(match py.detach(|| saved.predict(x.view())) {
        Predictions::Outputs(f) => f.into_pyarray(py).into_any(),
        Predictions::Labels(l) => ndarray::Array1::from(l).into_pyarray(py).into_any(),
    })
}

/// A result's network as a PyTorch state_dict in safetensors bytes.
#[pyfunction]
fn export_network<'py>(py: Python<'py>, result_json: &str) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = saved(result_json)?.state_dict().map_err(value_error)?;
    Ok(PyBytes::new(py, &bytes))
}

/// Path options (the CLI's `path` flags).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PathOptions {
    solver: Option<String>,
    tol_gap: Option<f64>,
    max_iter: Option<usize>,
    time_limit: Option<f64>,
    polish: Option<bool>,
    reduce: Option<bool>,
}

/// Solves one problem for several weight decays, each warm-started from the previous one
/// (`cvxcnn path`); returns the path JSON.
#[pyfunction]
#[pyo3(signature = (betas, path=None, json=None, arrays=None, options="{}", progress=None))]
fn beta_path(
    py: Python<'_>,
    betas: Vec<f64>,
    path: Option<&str>,
    json: Option<&str>,
    arrays: Option<Bound<'_, PyDict>>,
    options: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    use cvxcnn::first_order::al::AlOptions;
    use cvxcnn::first_order::fista::FistaOptions;
    use cvxcnn::first_order::path::{self as fpath, PathSolver};
    let o: PathOptions = serde_json::from_str(options).map_err(|e| {
        value_error(format!(
            "{e}; the options are solver, tol_gap, max_iter, time_limit, polish, reduce"
        ))
    })?;
    fpath::check_betas(&betas).map_err(value_error)?;
    let tol = positive("tol_gap", o.tol_gap, 1e-6)?;
    let time_limit = positive("time_limit", o.time_limit, f64::INFINITY)?;
    if o.max_iter == Some(0) {
        return Err(value_error("max_iter = 0: give at least 1"));
    }
    let problem = problem(path, json, arrays.as_ref())?;
    let solver = match o.solver.as_deref().unwrap_or("al") {
        "al" => PathSolver::Al,
        "fista" => PathSolver::Fista,
        "clarabel" => PathSolver::Clarabel,
        other => {
            return Err(value_error(format!(
                "solver = {other:?}: give \"al\", \"fista\" or \"clarabel\""
            )));
        }
    };
    fpath::check_problem(&problem, solver).map_err(value_error)?;
    let solve_options = SolveOptions {
        reduce: o.reduce.unwrap_or(true),
        backend: Backend::Clarabel(ClarabelSettings {
            max_iter: o.max_iter.map_or(200, |m| m.min(u32::MAX as usize) as u32),
            time_limit,
            ..ClarabelSettings::default()
        }),
        ..SolveOptions::default()
    };
    let al_options = AlOptions {
        tol_gap: tol,
        max_iter: o.max_iter.unwrap_or(AlOptions::default().max_iter),
        time_limit,
        polish: o.polish.unwrap_or(true),
        ..AlOptions::default()
    };
    let fista_options = FistaOptions {
        tol,
        max_iter: o.max_iter.unwrap_or(FistaOptions::default().max_iter),
        time_limit,
        ..FistaOptions::default()
    };
    let report = detached(py, progress, |p| {
        let prep = match solver {
            PathSolver::Clarabel => None,
            _ => Some(pipeline::prepare(&problem, &solve_options, p).map_err(|e| e.to_string())?),
        };
        fpath::run(
            &problem,
            prep.as_ref(),
            &solve_options,
            &betas,
            solver,
            &al_options,
            &fista_options,
        )
    })?
    .map_err(value_error)?;
    serde_json::to_string(&report).map_err(value_error)
}

/// The native part of the `cvxcnn` package.
#[pymodule]
fn _cvxcnn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(solve, m)?)?;
    m.add_function(wrap_pyfunction!(export, m)?)?;
    m.add_function(wrap_pyfunction!(predict, m)?)?;
    m.add_function(wrap_pyfunction!(export_network, m)?)?;
    m.add_function(wrap_pyfunction!(beta_path, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
