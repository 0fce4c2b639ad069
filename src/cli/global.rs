//! `cvxcnn certify --global`: solve as `certify` does, then bound the dual constraint over every
//! filter by branch and bound ([`cvxcnn::global`]) and write the certificate of scope `global`.

use super::output::{check_writable, write_json};
use super::progress::progress_bar;
use super::solve::{SolveArgs, options};
use cvxcnn::backend::Backend;
use cvxcnn::global;
use cvxcnn::pipeline;
use cvxcnn::problem::Problem;
use cvxcnn::task::{self, Outcome};
use std::process::ExitCode;

pub(crate) fn certify_global(args: &SolveArgs) -> Result<ExitCode, String> {
    if args.network.is_some() {
        return Err(
            "--global certifies the solved network; --network is not supported with it (drop one)"
                .into(),
        );
    }
    let mut opts = options(args)?;
    if args.max_cones == Some(0) {
        return Err("--max-cones = 0: give at least 1".into());
    }
    if let Some(out) = &args.out {
        check_writable(out, "--out")?;
    }
    let problem = Problem::load(&args.problem).map_err(|e| e.to_string())?;
    global::check(&problem).map_err(|e| e.to_string())?;
    opts.backend = super::args::resolve_auto(&args.solver, &problem, opts.backend);
    // With --global, --time-limit bounds the branch and bound; the solver runs to its tolerances.
    let time_limit = args.solver.time_limit.unwrap_or(f64::INFINITY);
    match &mut opts.backend {
        Backend::Clarabel(s) => s.time_limit = f64::INFINITY,
        Backend::Al(s) => s.time_limit = f64::INFINITY,
        #[cfg(feature = "osqp")]
        Backend::Osqp(s) => s.time_limit = f64::INFINITY,
    }
    let progress = progress_bar(args.quiet);
    let outcome = task::solve(&problem, &opts, &progress).map_err(|e| e.to_string())?;
    let report = match &outcome {
        Outcome::Scalar(s) => match &s.report {
            pipeline::Solved::TwoLayer(r) => r,
            pipeline::Solved::ThreeLayer(_) => unreachable!("refused by global::check"),
        },
        Outcome::OneVsRest(_) => unreachable!("refused by global::check"),
    };
    let search = global::Options {
        time_limit,
        max_cones: args.max_cones.unwrap_or(usize::MAX),
        ..global::Options::default()
    };
    let cert =
        global::certify_report(&problem, report, &search, &progress).map_err(|e| e.to_string())?;
    let c = &cert.certificate;
    let s = &cert.global_search;
    if !args.quiet {
        let from = match cert.bound_round {
            Some(k) => format!(" (generation round {k}'s, above the final search's)"),
            None => String::new(),
        };
        eprintln!(
            "cvxcnn: certificate scope global: network objective {:.10e}, lower bound {:.10e}, \
             relative gap {:.2e} ({}); branch and bound{from}: max dual value ≤ {:.10e} (best \
             found {:.10e}, β = {}), {} cones, stop {}, {:.2} s",
            c.primal_objective,
            c.lower_bound,
            c.relative_gap,
            if c.certified {
                "certified"
            } else {
                "NOT certified"
            },
            s.dual_value_upper,
            s.dual_value_best,
            c.beta,
            s.cones_explored,
            s.stop.name(),
            s.seconds
        );
    }
    write_json(&cert, args.out.as_deref())?;
    // Whether more search could help is the final search's to say.
    let s = cert.final_search.as_ref().unwrap_or(s);
    if c.certified {
        Ok(ExitCode::SUCCESS)
    } else if s.complete {
        // The bound is exact for this dual point: more search cannot help, better patterns can.
        Err(format!(
            "{}: the global certificate does not close: relative gap {:.3e} > {:.0e}, with the \
             branch and bound complete (a filter reaches {:.4} β, so the solved patterns miss \
             some the optimum uses); generate patterns (\"arrangements\": {{\"mode\": \
             \"generate\", …, \"branch_and_bound\": seconds}}) or sample more; the certificate \
             was written with \"certified\": false",
            args.problem.display(),
            c.relative_gap,
            cvxcnn::certify::CERTIFIED_REL_GAP,
            s.dual_value_best / c.beta,
        ))
    } else {
        Err(format!(
            "{}: the global certificate does not close: relative gap {:.3e} > {:.0e} (the branch \
             and bound stopped on {} with {} cones open); raise --time-limit or --max-cones; \
             the certificate was written with \"certified\": false",
            args.problem.display(),
            c.relative_gap,
            cvxcnn::certify::CERTIFIED_REL_GAP,
            s.stop.name(),
            s.cones_open
        ))
    }
}
