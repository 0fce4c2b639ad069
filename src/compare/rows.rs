//! The rows of the solvers that need their own runner: the SGD baseline, pattern generation and
//! OSQP.

use super::*;

pub(super) fn sgd_row(
    problem: &Problem,
    options: &CompareOptions,
    reference: &pipeline::Report,
    exact: bool,
    progress: Progress,
) -> crate::error::Result<(Row, Option<crate::network::Weights>)> {
    let width = options.width.unwrap_or(reference.neurons.max(1));
    let bo = BaselineOptions {
        width,
        seed: options.seed,
        time_limit: options.time_limit,
        ..options.sgd.clone()
    };
    progress("sgd", 0, bo.max_iter);
    let r = baseline::train(problem, &bo, &|k, _| progress("sgd", k, bo.max_iter))
        .map_err(|e| crate::error::Error::Invalid(format!("sgd: {e}")))?;
    progress("sgd", bo.max_iter, bo.max_iter);
    let objective = r.objective.map(|o| o.total);
    let mut message = format!(
        "width {width}, seed {}, {:?}{}, step {:.2e} → {:.2e}",
        bo.seed,
        bo.optimizer,
        match bo.batch_size {
            None => " full batch".to_string(),
            Some(b) => format!(" batch {b}"),
        },
        r.step0,
        r.step
    )
    .to_lowercase();
    if r.status == BaselineStatus::Diverged {
        message.push_str("; the objective blew up: lower the learning rate");
    }
    if let Some(obj) = objective
        && exact
        && obj < reference.objective - 1e-6 * reference.objective.abs().max(1.0)
    {
        // Impossible by docs/math.md §2 (fact 2) when the reference is accurate.
        message.push_str(
            "; BELOW the exact-mode optimum, which no network can be: the reference is inaccurate \
             or there is a bug — please report it with the problem file",
        );
    }
    let network = objective.map(|_| crate::network::Weights {
        filters: r.network.filters.clone(),
        output_weights: r.network.output_weights.clone(),
        biases: r.network.biases.clone(),
    });
    let row = Row {
        solver: "sgd",
        program: "network",
        status: r.status.name().into(),
        objective,
        relative_gap: objective.map(|o| rel_gap(o, reference.objective)),
        max_constraint_violation: None,
        violation_note: Some(NETWORK_NOTE),
        iterations: Some(r.iterations),
        seconds: Some(r.seconds),
        message: Some(message),
        trace: r
            .trace
            .iter()
            .map(|p| TracePoint {
                seconds: p.seconds,
                iterations: p.iterations,
                objective: p.objective,
                violation: None,
            })
            .collect(),
    };
    Ok((row, network))
}

/// The `generate` row: the problem's sampled gates as the initial patterns, then pricing
/// (`crate::generate`) for at most the time limit, the final program solved by the AL; seeded with
/// `network` (the `sgd` row's), which makes its optimum ≤ that network's objective.
pub(super) fn generate_row(
    problem: &Problem,
    options: &CompareOptions,
    ref_obj: f64,
    network: Option<crate::network::Weights>,
    progress: Progress,
) -> crate::error::Result<Row> {
    let kind = SolverKind::Generate;
    let (count, seed) = match &problem.arrangements {
        ArrangementSpec::Sample { count, seed } => (*count, *seed),
        ArrangementSpec::Generate(g) => (g.count, g.seed),
        other => {
            return Ok(Row::empty(
                kind,
                "skipped",
                format!(
                    "generation starts from sampled gates; this problem's patterns are \"{}\"",
                    other.mode_name()
                ),
            ));
        }
    };
    if problem.filter_norm != FilterNorm::L2
        || !matches!(
            problem.architecture,
            crate::problem::Architecture::TwoLayer {
                activation: crate::geometry::Activation::Relu,
                pooling: crate::geometry::Pooling::Sum | crate::geometry::Pooling::Average,
                ..
            }
        )
    {
        return Ok(Row::empty(
            kind,
            "skipped",
            "generation prices the two-layer ReLU program with sum or average pooling and the ℓ2 \
             filter norm"
                .into(),
        ));
    }
    let mut generated = problem.clone();
    generated.arrangements = ArrangementSpec::Generate(crate::problem::GenerateSpec {
        time_limit: options.time_limit,
        ..crate::problem::GenerateSpec::starting_from(count, seed)
    });
    let seeded = network.is_some();
    let solve = SolveOptions {
        backend: crate::backend::Backend::Al(crate::backend::AlSettings::default()),
        network,
        ..options.solve.clone()
    };
    progress("generate", 0, 1);
    let t = Instant::now();
    let solved = pipeline::solve_any(&generated, &solve, progress)?;
    let seconds = secs(t);
    progress("generate", 1, 1);
    let header = solved.header();
    let generation = header.generation.clone();
    let objective = header.objective;
    let (status, message) = match &generation {
        Some(g) => (
            if g.converged {
                "converged".to_string()
            } else {
                g.stop.to_string()
            },
            format!(
                "{} patterns ({} initial + {} generated) in {} rounds, {} search starts{}; final \
                 solve {}, certificate over these patterns {} (relative gap {:.1e})",
                header.arrangements,
                g.initial_patterns,
                g.generated_patterns,
                g.rounds,
                g.starts_tried,
                if seeded {
                    "; seeded with the sgd network's neurons"
                } else {
                    ""
                },
                solved.status().name(),
                if solved.certificate().certified {
                    "ok"
                } else {
                    "NOT certified"
                },
                solved.certificate().relative_gap
            ),
        ),
        None => (solved.status().name().to_string(), String::new()),
    };
    Ok(Row {
        solver: kind.name(),
        program: kind.program(),
        status,
        objective: Some(objective),
        relative_gap: Some(rel_gap(objective, ref_obj)),
        max_constraint_violation: Some(solved.max_constraint_violation()),
        violation_note: None,
        iterations: Some(solved.solver().total_iterations as usize),
        seconds: Some(seconds),
        message: Some(message),
        trace: generation
            .map(|g| {
                g.history
                    .iter()
                    .map(|r| TracePoint {
                        seconds: r.seconds,
                        iterations: r.iterations,
                        objective: r.objective,
                        violation: None,
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

#[cfg(feature = "osqp")]
pub(super) fn osqp_row(
    problem: &Problem,
    options: &CompareOptions,
    ref_obj: f64,
    progress: Progress,
) -> Row {
    use crate::backend::{Backend, osqp::OsqpSettings};
    if problem.filter_norm != FilterNorm::L1 {
        return Row::empty(
            SolverKind::Osqp,
            "skipped",
            "OSQP takes linear constraints only and this problem's ℓ2 filter norm needs \
             second-order cones; compare OSQP on a problem with \"filter_norm\": \"l1\""
                .into(),
        );
    }
    let opts = SolveOptions {
        backend: Backend::Osqp(OsqpSettings {
            time_limit: options.time_limit,
            ..OsqpSettings::default()
        }),
        ..options.solve.clone()
    };
    progress("osqp", 0, 1);
    let result = pipeline::solve(problem, &opts, progress);
    progress("osqp", 1, 1);
    match result {
        Err(e) => Row::empty(SolverKind::Osqp, "failed", e.to_string()),
        Ok(r) => {
            let t = &r.timings;
            let seconds = t.build_s + t.solve_s + t.decode_s;
            let iterations = r.solver.total_iterations as usize;
            Row {
                solver: "osqp",
                program: "relu",
                status: r.status.name().into(),
                objective: Some(r.objective),
                relative_gap: Some(rel_gap(r.objective, ref_obj)),
                max_constraint_violation: Some(r.max_constraint_violation),
                violation_note: None,
                iterations: Some(iterations),
                seconds: Some(seconds),
                message: Some(format!("{} rounds", r.solver.rounds)),
                trace: vec![TracePoint {
                    seconds,
                    iterations,
                    objective: r.objective,
                    violation: None,
                }],
            }
        }
    }
}

#[cfg(not(feature = "osqp"))]
pub(super) fn osqp_row(_: &Problem, _: &CompareOptions, _: f64, _: Progress) -> Row {
    Row::empty(
        SolverKind::Osqp,
        "skipped",
        "this cvxcnn was built without OSQP; rebuild with `cargo build --release --features osqp` \
         (needs cmake)"
            .into(),
    )
}
