//! `cvxcnn solve --solver al`: the two-layer ReLU program solved by the ADMM augmented Lagrangian
//! with its certifying polish ([`super::al`], [`super::polish`]), reported with the same result
//! contract as the interior point: a decoded network of balanced neurons, its objective from the
//! independent forward pass, the worst violation of the **full** cone rows, and the certificate
//! (with its evidence) of `crate::certify`.
//!
//! `status` is `optimal` only when the AL stopped on its certified relative duality gap (over every
//! pattern of the program, at most `tol_gap`) with every cone row met; otherwise it says why it
//! stopped (`max_iterations`, `max_time`, `numerical_error`).

use super::al::{self, AlOptions};
use super::dense::DenseLoss;
use crate::arch::formulation::{Formulation, Prepared};
use crate::arch::options::{DECODE_ACCURACY_FACTOR, Progress, SolveOptions};
use crate::arch::report::{Header, ProgramReport, Report, SolverReport, TwoLayerBody};
use crate::arch::two_layer::{self, Coupling, TwoLayer};
use crate::backend::{AlSettings, Backend, Solution, Status};
use crate::certify;
use crate::clock::secs;
use crate::error::{Error, Result};
use crate::geometry::{Activation, FilterNorm};
use crate::problem::{Architecture, Problem};
use ndarray::Array1;
use std::time::Instant;

/// Refuses what the AL does not solve, naming `--solver clarabel`.
pub fn check(problem: &Problem) -> Result<()> {
    let refuse = |what: &str| {
        Err(Error::input(
            &problem.source,
            format!(
                "--solver al solves the two-layer ReLU program with the ℓ2 filter norm, not {what}; \
                 use --solver clarabel"
            ),
        ))
    };
    if !problem.loss.is_squared() {
        return refuse(&format!(
            "the {} loss (it has no proximal step yet)",
            problem.loss.name()
        ));
    }
    match problem.architecture {
        Architecture::Circular { .. } => refuse("the circular CNN"),
        Architecture::ThreeLayer { .. } => refuse("the three-layer CNN"),
        Architecture::TwoLayer {
            activation: Activation::Linear,
            ..
        } => refuse("a linear network"),
        Architecture::TwoLayer { .. } if problem.filter_norm == FilterNorm::L1 => {
            refuse("the ℓ1 filter norm")
        }
        Architecture::TwoLayer { .. } => Ok(()),
    }
}

/// `--solver auto` (and `solver="auto"` in Python) runs the AL only on problems with at least
/// this many samples. Measured on the shipped problems (docs/benchmarks.md, "--solver auto"):
/// below it the interior point takes at most 0.3 s and closes its certificate to about 1e-8,
/// while the AL can be slower (`exact3_channels`, 6 samples and 554 exact patterns: 11 s against
/// 0.09 s); from 100 samples up the AL reached the same optimum (1e-6) 1.9 to 11 times faster on
/// every one.
pub const AUTO_MIN_SAMPLES: usize = 100;

/// Whether `--solver auto` runs the AL on `problem`: one the AL takes ([`check`]) with at least
/// [`AUTO_MIN_SAMPLES`] samples; Clarabel otherwise.
pub fn auto_chooses_al(problem: &Problem) -> bool {
    problem.x.dim().0 >= AUTO_MIN_SAMPLES && check(problem).is_ok()
}

/// The backend `--solver auto` runs on `problem`: the AL with its defaults and the given limits
/// when [`auto_chooses_al`], else `otherwise` (the Clarabel backend the caller made).
pub fn auto_backend(
    problem: &Problem,
    otherwise: Backend,
    max_iter: Option<usize>,
    time_limit: f64,
) -> Backend {
    if !auto_chooses_al(problem) {
        return otherwise;
    }
    let d = AlSettings::default();
    Backend::Al(AlSettings {
        max_iter: max_iter.unwrap_or(d.max_iter),
        time_limit,
        ..d
    })
}

/// The AL's options for the backend settings.
pub fn al_options(s: &AlSettings) -> AlOptions {
    AlOptions {
        tol_gap: s.tol_gap,
        max_iter: s.max_iter,
        time_limit: s.time_limit,
        polish: s.polish,
        ..AlOptions::default()
    }
}

/// What [`solve_prepared`] returns besides the report: the AL result, for warm starts.
pub struct Solved {
    /// The result in the solve contract.
    pub report: Report<TwoLayerBody>,
    /// The AL's final run (iterate, multipliers), to warm-start a related solve.
    pub al: al::AlResult,
}

/// Solves `problem` (two-layer ReLU, ℓ2) with the AL of `options.backend` (which must be
/// [`Backend::Al`]).
pub fn solve(
    problem: &Problem,
    options: &SolveOptions,
    progress: Progress,
) -> Result<Report<TwoLayerBody>> {
    let start = Instant::now();
    check(problem)?;
    <TwoLayer as Formulation>::check(problem, options)?;
    let prep = two_layer::prepare(problem, options, progress)?;
    Ok(solve_prepared(&prep, None, problem, options, None, start)?.report)
}

/// Solves problems that share their inputs (one-vs-rest classes): the patterns, `A_i`, the
/// reduced cone rows and the loss's Gram matrix are formed once; each problem gets its own
/// targets' vectors ([`DenseLoss::retarget`]) and its solve runs in parallel with the others.
pub fn solve_many(
    problems: &[Problem],
    options: &SolveOptions,
    progress: Progress,
) -> Result<Vec<Report<TwoLayerBody>>> {
    use rayon::prelude::*;
    let start = Instant::now();
    let Some(first) = problems.first() else {
        return Ok(Vec::new());
    };
    for p in problems {
        check(p)?;
        <TwoLayer as Formulation>::check(p, options)?;
    }
    let prep = two_layer::prepare(first, options, progress)?;
    let shared = DenseLoss::new(prep.a.view(), first.y.view());
    let done = std::sync::atomic::AtomicUsize::new(0);
    problems
        .par_iter()
        .map(|p| {
            let mut loss = shared.retarget(prep.a.view(), p.y.view());
            let r = solve_prepared(&prep, Some(&mut loss), p, options, None, start);
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress("classes", d, problems.len());
            r.map(|s| s.report)
        })
        .collect()
}

/// [`solve`] on prepared patterns, with an optional loss factorization of `prep.a` built once by
/// the caller (it does not depend on `y` or β: classes and paths share it) and a warm start.
pub fn solve_prepared(
    prep: &Prepared,
    loss: Option<&mut DenseLoss>,
    problem: &Problem,
    options: &SolveOptions,
    warm: Option<&al::AlResult>,
    start: Instant,
) -> Result<Solved> {
    let Backend::Al(settings) = &options.backend else {
        return Err(Error::Invalid(
            "first_order::driver::solve_prepared needs the al backend".into(),
        ));
    };
    let y = problem.y.view();
    let mut timings = prep.timings.clone();
    let t = Instant::now();
    let mut own = None;
    let loss = match loss {
        Some(l) => l,
        None => own.insert(DenseLoss::new(prep.a.view(), y)),
    };
    timings.build_s = secs(t);

    // The AL stops on the certified gap of its own iterate; the decoded network (blocks below the
    // solver's accuracy dropped, neurons balanced) is certified afresh. When that certificate does
    // not close although the AL converged, the AL goes on from where it stopped with a tolerance
    // ten times tighter (at most twice), so a default solve certifies what it reports optimal.
    let begun = Instant::now();
    let mut tol_gap = settings.tol_gap;
    let mut warm_run: Option<al::AlResult> = warm.cloned();
    let mut attempts = 0;
    let (run, decoded, certificate, network_certificate) = loop {
        attempts += 1;
        let t = Instant::now();
        let budget = AlOptions {
            tol_gap,
            time_limit: (settings.time_limit - secs(begun)).max(0.0),
            ..al_options(settings)
        };
        let run = al::solve_prepared_with(
            prep,
            Some(&mut *loss),
            y,
            problem.beta,
            &budget,
            options.max_rounds,
            warm_run.as_ref(),
        );
        timings.solve_s += secs(t);
        let r = &run.result;

        // Decode: blocks worth less than the solver's accuracy are dropped, the rest become balanced
        // neurons (docs/math.md §2), exactly as for the interior point.
        let t = Instant::now();
        let p = r.c.nrows();
        let rows_of = |i: usize| [r.c.row(i).to_vec(), r.c_prime.row(i).to_vec()];
        let owned: Vec<[Vec<f64>; 2]> = (0..p).map(rows_of).collect();
        let blocks: Vec<[&[f64]; 2]> = owned.iter().map(|[a, b]| [&a[..], &b[..]]).collect();
        let values: Vec<[f64; 2]> = blocks
            .iter()
            .map(|b| b.map(|c| FilterNorm::L2.of(c)))
            .collect();
        let tol = DECODE_ACCURACY_FACTOR * (r.objective - r.lower_bound).abs();
        let tau = two_layer::block_threshold(&prep.a, &blocks, &values, y, problem.beta, tol);
        let (mut filters, mut weights) = (Vec::new(), Vec::new());
        for (pair, vals) in blocks.iter().zip(&values) {
            for ((c, &norm), sign) in pair.iter().zip(vals).zip([1.0, -1.0]) {
                if norm > tau && norm > 0.0 {
                    let sq = norm.sqrt();
                    filters.push(c.iter().map(|v| v / sq).collect());
                    weights.push(sign * sq);
                }
            }
        }
        let decoded = two_layer::decoded_network(problem, &filters, &weights);
        timings.decode_s += secs(t);

        let t = Instant::now();
        let m = prep.patches.stacked();
        let certify_with = |candidates: &[Array1<f64>], objective: f64| {
            certify::certify(
                m,
                &prep.arrangement,
                &prep.a,
                &run.rows,
                y,
                candidates,
                problem.beta,
                objective,
                problem.filter_norm,
            )
        };
        // The decoded network's residual, then the AL iterate's.
        let iterate = {
            let z = &r.c - &r.c_prime;
            let mut f = Array1::<f64>::zeros(problem.n());
            for (i, zi) in z.outer_iter().enumerate() {
                f += &prep.a.index_axis(ndarray::Axis(0), i).dot(&zi);
            }
            f
        };
        let mut candidates = vec![&problem.y - &decoded.outputs, &problem.y - &iterate];
        let certificate = certify_with(&candidates, decoded.objective.total);
        let network_certificate = match &options.network {
            None => None,
            Some(w) => {
                let (given, outputs) = two_layer::given(problem, w);
                candidates.push(&problem.y - &outputs);
                Some(certify_with(&candidates, given.total))
            }
        };
        timings.certify_s += secs(t);
        let retry = run.result.converged
            && !certificate.certified
            && attempts < 3
            && tol_gap > 1e-12
            && secs(begun) < settings.time_limit;
        if !retry {
            break (run, decoded, certificate, network_certificate);
        }
        tol_gap /= 10.0;
        warm_run = Some(run.result.clone());
    };
    let r = &run.result;
    let p = r.c.nrows();
    timings.total_s = secs(start);

    let status = match r.stop {
        _ if r.converged => Status::Optimal,
        "max_iterations" => Status::MaxIterations,
        "max_time" => Status::MaxTime,
        "numerical_error" => Status::NumericalError,
        _ => Status::Other,
    };
    let sol = Solution {
        status,
        x: Vec::new(),
        z: Vec::new(),
        primal_objective: r.objective,
        dual_objective: r.lower_bound,
        iterations: u32::try_from(r.inner_iterations).unwrap_or(u32::MAX),
        primal_residual: run.full_violation,
        dual_residual: 0.0,
        solve_time_s: timings.solve_s,
    };
    let objective = decoded.objective;
    let header = Header {
        status,
        objective: r.objective,
        dual_objective: r.lower_bound,
        network_objective: objective.total,
        loss: objective.loss,
        regularizer: objective.regularizer,
        beta: problem.beta,
        arrangements: prep.arrangement.patterns.len(),
        gates_tried: prep.arrangement.candidates,
        arrangement_mode: problem.arrangements.mode_name(),
        generation: problem.arrangements.generation().cloned(),
    };
    let (k, n, h) = prep.patches.data.dim();
    let written: usize = run.rows.iter().map(Vec::len).sum();
    let report = Report {
        body: two_layer::body(header, decoded.network, run.worst_violation),
        timings,
        solver: SolverReport::new(&options.backend, &sol, sol.iterations, run.rounds),
        program: ProgramReport {
            variables: 2 * p * h,
            rows: 2 * written,
            nonzeros: n * p * h + 2 * written * h,
            cone_rows_full: 2 * p * k * n,
            cone_rows_written: 2 * written,
            reduced: options.reduce,
            coupling: Coupling::Direct,
        },
        certificate,
        network_certificate,
        network: two_layer::network_report(problem),
        data: two_layer::data_report(problem, k),
    };
    Ok(Solved {
        report,
        al: run.result,
    })
}
