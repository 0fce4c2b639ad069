//! Solver options shared by every command that solves, and their validation into a [`Backend`].

use clap::{Args, ValueEnum};
use cvxcnn::arch::two_layer::Coupling;
use cvxcnn::backend::clarabel::{ClarabelSettings, LinearSolver};
use cvxcnn::backend::{AlSettings, Backend};

/// Solver backends.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SolverArg {
    /// Clarabel, interior point (pure Rust, default).
    Clarabel,
    /// OSQP, operator splitting; linear constraints only (build with `--features osqp`).
    Osqp,
    /// The first-order augmented Lagrangian with its certifying polish (two-layer ReLU, ℓ2).
    Al,
    /// `al` for problems it takes (two-layer ReLU, ℓ2 filter norm, squared loss) with at least 100
    /// samples, `clarabel` for the others; the result's `solver.name` says which ran.
    Auto,
}

/// Solver options shared by every command that solves.
#[derive(Args)]
pub(crate) struct SolverArgs {
    /// Solver backend.
    #[arg(long, value_enum, default_value = "clarabel")]
    pub(crate) solver: SolverArg,
    /// Iteration limit (default: 200 for Clarabel, 100000 for OSQP, 200000 for al; with auto,
    /// that of the solver chosen).
    #[arg(long)]
    pub(crate) max_iter: Option<u32>,
    /// Time limit in seconds.
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) time_limit: Option<f64>,
    /// Clarabel: absolute duality-gap tolerance [default: 1e-8].
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) tol_gap_abs: Option<f64>,
    /// Clarabel: relative duality-gap tolerance [default: 1e-8].
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) tol_gap_rel: Option<f64>,
    /// Clarabel: feasibility tolerance [default: 1e-8].
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) tol_feas: Option<f64>,
    /// Clarabel: sparse factorization of the KKT system [default: faer].
    #[arg(long, value_enum)]
    pub(crate) linear_solver: Option<LinearSolverArg>,
    /// OSQP: absolute tolerance [default: 1e-6].
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) eps_abs: Option<f64>,
    /// OSQP: relative tolerance [default: 1e-6].
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) eps_rel: Option<f64>,
    /// OSQP and al: skip the polish (OSQP's solution polishing; the AL's certifying polish).
    #[arg(long)]
    pub(crate) no_polish: bool,
    /// al: certified relative duality gap to stop at [default: 1e-6].
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) tol_gap: Option<f64>,
    /// Print the solver's iteration log (needs --out: the log goes to stdout).
    #[arg(long)]
    pub(crate) verbose: bool,
}

/// Coupling choices.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum CouplingArg {
    /// Compressed when n > hP, direct otherwise.
    Auto,
    /// ρ = Σ A_i (c_i − c'_i) − y.
    Direct,
    /// ρ = Σ A_i z_i − y, z_i = c_i − c'_i.
    Difference,
    /// As difference, the loss compressed by a thin QR of A when n > hP.
    Compressed,
}

impl CouplingArg {
    pub(crate) fn choice(self) -> Option<Coupling> {
        match self {
            CouplingArg::Auto => None,
            CouplingArg::Direct => Some(Coupling::Direct),
            CouplingArg::Difference => Some(Coupling::Difference),
            CouplingArg::Compressed => Some(Coupling::Compressed),
        }
    }
}

/// Clarabel's KKT factorizations.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LinearSolverArg {
    /// faer's supernodal LDLᵀ (fast on the dense coupling block).
    Faer,
    /// QDLDL, simplicial LDLᵀ.
    Qdldl,
}

/// `v` when it is a finite number > 0; otherwise the message naming `--name`.
pub(crate) fn positive(name: &str, v: f64) -> Result<f64, String> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("--{name} = {v}: give a positive number"))
    }
}

/// Refuses an option that only another solver reads (it would be ignored without a word).
fn only_for(solver: &str, given: &[(&str, bool)]) -> Result<(), String> {
    match given.iter().find(|(_, g)| *g) {
        Some((name, _)) => Err(format!(
            "--{name} is an option of --solver {solver}, which is not the solver chosen; drop it, or \
             choose --solver {solver}"
        )),
        None => Ok(()),
    }
}

/// The backend the options ask for, with every value checked.
pub(crate) fn backend(args: &SolverArgs, has_out: bool) -> Result<Backend, String> {
    if args.verbose && !has_out {
        // Solvers print their log on stdout; keep stdout for the result.
        return Err("--verbose prints the solver log on stdout; use it with --out FILE".into());
    }
    if args.max_iter == Some(0) {
        return Err("--max-iter = 0: give at least 1".into());
    }
    let time_limit = match args.time_limit {
        Some(t) => positive("time-limit", t)?,
        None => f64::INFINITY,
    };
    let clarabel_only = [
        ("tol-gap-abs", args.tol_gap_abs.is_some()),
        ("tol-gap-rel", args.tol_gap_rel.is_some()),
        ("tol-feas", args.tol_feas.is_some()),
        ("linear-solver", args.linear_solver.is_some()),
    ];
    let osqp_only = [
        ("eps-abs", args.eps_abs.is_some()),
        ("eps-rel", args.eps_rel.is_some()),
    ];
    let al_only = [("tol-gap", args.tol_gap.is_some())];
    match args.solver {
        SolverArg::Auto => {
            // The solver is chosen per problem ([`resolve_auto`]), so an option of one of them
            // could end up ignored without a word.
            let chosen_later = [
                clarabel_only.as_slice(),
                osqp_only.as_slice(),
                al_only.as_slice(),
                &[("no-polish", args.no_polish), ("verbose", args.verbose)],
            ]
            .concat();
            if let Some((name, _)) = chosen_later.iter().find(|(_, g)| *g) {
                return Err(format!(
                    "--{name} sets an option of one solver, and --solver auto chooses the solver \
                     per problem; choose it (--solver clarabel or --solver al) to set --{name}"
                ));
            }
            Ok(Backend::Clarabel(ClarabelSettings {
                max_iter: args.max_iter.unwrap_or(200),
                time_limit,
                ..ClarabelSettings::default()
            }))
        }
        SolverArg::Clarabel => {
            only_for("osqp", &osqp_only)?;
            only_for("al", &al_only)?;
            only_for("osqp or --solver al", &[("no-polish", args.no_polish)])?;
            let d = ClarabelSettings::default();
            let tol = |name: &str, v: Option<f64>, default: f64| match v {
                Some(v) => positive(name, v),
                None => Ok(default),
            };
            Ok(Backend::Clarabel(ClarabelSettings {
                tol_gap_abs: tol("tol-gap-abs", args.tol_gap_abs, d.tol_gap_abs)?,
                tol_gap_rel: tol("tol-gap-rel", args.tol_gap_rel, d.tol_gap_rel)?,
                tol_feas: tol("tol-feas", args.tol_feas, d.tol_feas)?,
                max_iter: args.max_iter.unwrap_or(200),
                time_limit,
                verbose: args.verbose,
                linear_solver: match args.linear_solver.unwrap_or(LinearSolverArg::Faer) {
                    LinearSolverArg::Faer => LinearSolver::Faer,
                    LinearSolverArg::Qdldl => LinearSolver::Qdldl,
                },
            }))
        }
        SolverArg::Osqp => {
            only_for("clarabel", &clarabel_only)?;
            only_for("al", &al_only)?;
            osqp_backend(args, time_limit)
        }
        SolverArg::Al => {
            only_for("clarabel", &clarabel_only)?;
            only_for("osqp", &osqp_only)?;
            if args.verbose {
                return Err(
                    "--verbose prints the log of clarabel or osqp; the al solver has none \
                            (its progress is the summary line)"
                        .into(),
                );
            }
            let d = AlSettings::default();
            Ok(Backend::Al(AlSettings {
                tol_gap: match args.tol_gap {
                    Some(v) => positive("tol-gap", v)?,
                    None => d.tol_gap,
                },
                max_iter: args.max_iter.map_or(d.max_iter, |m| m as usize),
                time_limit,
                polish: !args.no_polish,
            }))
        }
    }
}

/// The backend `--solver auto` runs on `problem` ([`cvxcnn::first_order::driver::auto_backend`];
/// `made` is the Clarabel backend [`backend`] made). Other choices are returned as they are.
pub(crate) fn resolve_auto(
    args: &SolverArgs,
    problem: &cvxcnn::problem::Problem,
    made: Backend,
) -> Backend {
    if !matches!(args.solver, SolverArg::Auto) {
        return made;
    }
    cvxcnn::first_order::driver::auto_backend(
        problem,
        made,
        args.max_iter.map(|m| m as usize),
        args.time_limit.unwrap_or(f64::INFINITY),
    )
}

#[cfg(feature = "osqp")]
pub(crate) fn osqp_backend(args: &SolverArgs, time_limit: f64) -> Result<Backend, String> {
    let d = cvxcnn::backend::osqp::OsqpSettings::default();
    Ok(Backend::Osqp(cvxcnn::backend::osqp::OsqpSettings {
        eps_abs: match args.eps_abs {
            Some(v) => positive("eps-abs", v)?,
            None => d.eps_abs,
        },
        eps_rel: match args.eps_rel {
            Some(v) => positive("eps-rel", v)?,
            None => d.eps_rel,
        },
        max_iter: args.max_iter.unwrap_or(d.max_iter),
        polish: !args.no_polish,
        time_limit,
        verbose: args.verbose,
    }))
}

#[cfg(not(feature = "osqp"))]
pub(crate) fn osqp_backend(_: &SolverArgs, _: f64) -> Result<Backend, String> {
    Err(
        "this cvxcnn was built without OSQP; rebuild with `cargo build --release --features osqp` \
         (needs cmake), or use --solver clarabel"
            .into(),
    )
}
