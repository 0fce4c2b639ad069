//! Tasks: one scalar network, or one network per class (one-vs-rest), with accuracies.
//!
//! Accuracies are computed from the result file's JSON through [`crate::predict`], the same path
//! `cvxcnn predict` takes, so a result that does not rebuild its own network cannot go unnoticed.

use crate::backend::Status;
use crate::error::{Error, Result};
use crate::pipeline::{self, Progress, SolveOptions, Solved};
use crate::predict::{self, Predictions, Saved};
use crate::problem::{Problem, Task};
use ndarray::Array1;
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// A scalar result: the keys of the architecture's report ([`pipeline::Report`] for two-layer and
/// circular, [`crate::arch::three_layer::Report`] for three-layer) plus accuracies on the training
/// and held-out data.
#[derive(Debug, Clone, Serialize)]
pub struct ScalarOutcome {
    /// Every key of the architecture's result contract.
    #[serde(flatten)]
    pub report: Solved,
    /// Fraction of training samples whose ±1 target has the sign of the output (targets ±1 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_accuracy: Option<f64>,
    /// The same on the held-out data (`test_inputs`/`test_targets`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
    /// The problem's loss on the held-out data (`½‖f(x_test) − y_test‖²` for the squared loss).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_loss: Option<f64>,
    /// Held-out samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_samples: Option<usize>,
}

/// One class of a one-vs-rest result.
#[derive(Debug, Clone, Serialize)]
pub struct ClassModel {
    /// The label this network scores (+1 targets).
    pub class: i64,
    /// Its scalar result.
    #[serde(flatten)]
    pub outcome: ScalarOutcome,
}

/// A one-vs-rest result (docs/results.md, "Result files").
#[derive(Debug, Clone, Serialize)]
pub struct OneVsRestReport {
    /// Always `"one_vs_rest"`.
    pub task: &'static str,
    /// `optimal` when every class is; otherwise the first other status.
    pub status: Status,
    /// Sum of the classes' convex optima.
    pub objective: f64,
    /// Sum of the classes' decoded-network objectives (forward passes).
    pub network_objective: f64,
    /// Whether every class's certificate holds.
    pub certified: bool,
    /// Class labels, ascending.
    pub classes: Vec<i64>,
    /// Fraction of training samples whose label is the argmax of the class outputs.
    pub train_accuracy: f64,
    /// The same on the held-out data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
    /// Held-out samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_samples: Option<usize>,
    /// Training samples.
    pub samples: usize,
    /// Wall time of all classes, seconds.
    pub total_s: f64,
    /// One scalar result per class, in `classes` order.
    pub models: Vec<ClassModel>,
}

/// What `cvxcnn solve` writes.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// One scalar network.
    Scalar(Box<ScalarOutcome>),
    /// One network per class.
    OneVsRest(OneVsRestReport),
}

impl Outcome {
    /// `optimal` only when every network's solve is.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Scalar(s) => s.report.status(),
            Outcome::OneVsRest(r) => r.status,
        }
    }
}

fn rebuild(json: &serde_json::Value) -> Result<Saved> {
    Saved::from_json(json).map_err(|e| {
        Error::Solver(format!(
            "internal error: the result does not rebuild its own network ({e}); please report it"
        ))
    })
}

fn outputs(saved: &Saved, x: ndarray::ArrayView4<f64>) -> Array1<f64> {
    match saved.predict(x) {
        Predictions::Outputs(f) => f,
        Predictions::Labels(_) => unreachable!("a scalar result predicts outputs"),
    }
}

/// Solves one scalar problem and measures it.
pub fn solve_scalar(
    problem: &Problem,
    options: &SolveOptions,
    progress: Progress,
) -> Result<ScalarOutcome> {
    measure(problem, pipeline::solve_any(problem, options, progress)?)
}

/// A scalar result with its accuracies, computed from its own result JSON.
fn measure(problem: &Problem, report: Solved) -> Result<ScalarOutcome> {
    let json = serde_json::to_value(&report)
        .map_err(|e| Error::Solver(format!("cannot serialize the result: {e}")))?;
    let saved = rebuild(&json)?;
    let train_accuracy = predict::sign_accuracy(&outputs(&saved, problem.x.view()), &problem.y);
    let (test_accuracy, test_loss, test_samples) = match &problem.test {
        None => (None, None, None),
        Some(t) => {
            let f = outputs(&saved, t.x.view());
            let r = &f - &t.y;
            let loss = if problem.loss.is_squared() {
                0.5 * r.dot(&r)
            } else {
                problem.loss.value(f.view(), t.y.view())
            };
            (
                predict::sign_accuracy(&f, &t.y),
                Some(loss),
                Some(t.y.len()),
            )
        }
    };
    Ok(ScalarOutcome {
        report,
        train_accuracy,
        test_accuracy,
        test_loss,
        test_samples,
    })
}

/// Solves a problem's task: one network, or one per class.
pub fn solve(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Outcome> {
    let Task::OneVsRest { classes, labels } = &problem.task else {
        return Ok(Outcome::Scalar(Box::new(solve_scalar(
            problem, options, progress,
        )?)));
    };
    let start = Instant::now();
    // Classes differ only in their ±1 targets: the patterns, `A_i`, the reduced cone rows (and
    // the AL's Gram matrix) are prepared once and the classes solved on them in parallel
    // (each solve deterministic, results in class order).
    let problems: Vec<Problem> = classes.iter().map(|&c| problem.for_class(c)).collect();
    let solved = pipeline::solve_many(&problems, options, progress)?;
    let models = classes
        .par_iter()
        .zip(problems.par_iter().zip(solved))
        .map(|(&class, (p, report))| {
            Ok(ClassModel {
                class,
                outcome: measure(p, report)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut report = OneVsRestReport {
        task: "one_vs_rest",
        status: models
            .iter()
            .map(|m| m.outcome.report.status())
            .find(|&s| s != Status::Optimal)
            .unwrap_or(Status::Optimal),
        objective: models
            .iter()
            .map(|m| m.outcome.report.header().objective)
            .sum(),
        network_objective: models
            .iter()
            .map(|m| m.outcome.report.header().network_objective)
            .sum(),
        certified: models
            .iter()
            .all(|m| m.outcome.report.certificate().certified),
        classes: classes.clone(),
        train_accuracy: 0.0,
        test_accuracy: None,
        test_samples: problem.test.as_ref().map(|t| t.y.len()),
        samples: labels.len(),
        total_s: 0.0,
        models,
    };
    let json = serde_json::to_value(&report)
        .map_err(|e| Error::Solver(format!("cannot serialize the result: {e}")))?;
    let saved = rebuild(&json)?;
    let labels_of = |x: ndarray::ArrayView4<f64>| match saved.predict(x) {
        Predictions::Labels(l) => l,
        Predictions::Outputs(_) => unreachable!("a one-vs-rest result predicts labels"),
    };
    report.train_accuracy = predict::label_accuracy(&labels_of(problem.x.view()), labels);
    report.test_accuracy = problem.test.as_ref().map(|t| {
        let truth: Vec<i64> = t.y.iter().map(|&v| v as i64).collect();
        predict::label_accuracy(&labels_of(t.x.view()), &truth)
    });
    report.total_s = start.elapsed().as_secs_f64();
    Ok(Outcome::OneVsRest(report))
}
