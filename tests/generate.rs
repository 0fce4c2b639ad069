//! Pattern generation by pricing (`"mode": "generate"`): it never raises the optimum, it reaches
//! the exact optimum where every pattern can be enumerated, a network's neurons seeded in bound the
//! optimum by that network's objective, and the same seed gives the same patterns.

mod support;

use cvxcnn::backend::{AlSettings, Backend, Status};
use cvxcnn::baseline::{self, BaselineOptions};
use cvxcnn::generate;
use cvxcnn::geometry::{ConvGeometry, Pooling};
use cvxcnn::network::Weights;
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::problem::{ArrangementSpec, GenerateSpec, Problem};
use support::{digits, exact, problem, quiet, sample};

fn spec(count: usize, seed: u64) -> GenerateSpec {
    GenerateSpec {
        count,
        seed,
        rounds: 40,
        starts: 100,
        add: 200,
        tolerance: 1e-4,
        time_limit: f64::INFINITY,
        branch_and_bound: None,
        largest_after: None,
        walk: true,
    }
}

fn al() -> SolveOptions {
    SolveOptions {
        backend: Backend::Al(AlSettings::default()),
        ..SolveOptions::default()
    }
}

fn digits_problem(n: usize, arrangements: ArrangementSpec) -> Problem {
    let (x, y) = digits(n);
    let g = ConvGeometry {
        kernel: [3, 3],
        stride: [1, 1],
        padding: [0, 0],
    };
    problem(x, y, g, Pooling::Sum, 0.1, arrangements)
}

/// The shipped 1-D signals (12 samples, kernel 2: every cell enumerable).
fn signal_problem(arrangements: ArrangementSpec) -> Problem {
    let mut p = Problem::load(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("problems/signal_exact.json"),
    )
    .expect("load");
    p.arrangements = arrangements;
    p
}

fn objective(p: &Problem, options: &SolveOptions) -> (f64, cvxcnn::pipeline::Report) {
    let r = pipeline::solve(p, options, &quiet).expect("solve");
    assert_eq!(r.status, Status::Optimal);
    (r.network_objective, r)
}

#[test]
fn generation_reaches_the_exact_optimum_where_every_pattern_can_be_enumerated() {
    let (exact_opt, e) = objective(&signal_problem(exact()), &SolveOptions::default());
    assert_eq!(e.certificate.scope, cvxcnn::certify::Scope::Global);
    // Two random gates to start from; the search must find every pattern the optimum uses.
    let (sampled, _) = objective(&signal_problem(sample(2, 3)), &SolveOptions::default());
    assert!(
        sampled > exact_opt * (1.0 + 1e-3),
        "two gates are far from the optimum"
    );
    let (generated, r) = objective(
        &signal_problem(ArrangementSpec::Generate(spec(2, 3))),
        &SolveOptions::default(),
    );
    let g = r
        .generation
        .as_ref()
        .expect("the result reports the generation");
    assert!(g.converged, "the search ends with no violation: {g:?}");
    assert!(
        (generated - exact_opt).abs() <= 1e-6 * exact_opt,
        "generated {generated} vs exact {exact_opt}"
    );
    assert!(
        r.arrangements < e.arrangements,
        "with fewer patterns than all"
    );
}

#[test]
fn generated_patterns_never_raise_the_optimum_and_the_same_seed_gives_the_same_gates() {
    let sampled = digits_problem(60, sample(40, 5));
    let generate_spec = GenerateSpec {
        rounds: 3,
        ..spec(40, 5)
    };
    let generated = digits_problem(60, ArrangementSpec::Generate(generate_spec.clone()));
    let (s, _) = objective(&sampled, &al());
    let (g, r) = objective(&generated, &al());
    assert!(
        g <= s * (1.0 + 1e-6),
        "the initial gates are the sampled ones: {g} vs {s}"
    );
    assert!(g < 0.9 * s, "the search lowers it: {g} vs {s}");
    let report = r.generation.as_ref().expect("generation");
    assert_eq!(report.initial_gates, 40);
    assert!(report.generated_patterns > 0);
    assert_eq!(
        r.arrangements,
        report.initial_patterns + report.generated_patterns
    );
    // Deterministic.
    let a = generate::generate(&generated, &generate_spec, &[], &quiet).expect("generate");
    let b = generate::generate(&generated, &generate_spec, &[], &quiet).expect("generate");
    assert_eq!(a.gates, b.gates, "same seed, same gates");
    // The interior point on the same gates finds the same optimum.
    let (ipm, _) = objective(&generated, &SolveOptions::default());
    assert!((ipm - g).abs() <= 1e-6 * g, "clarabel {ipm} vs al {g}");
}

/// A time limit cuts the round running at it: the generation stops with `max_time`, never
/// claims convergence from the inexact residual of a cut solve, and adds no pattern from it.
#[test]
fn a_time_limit_cuts_the_round_and_never_claims_convergence() {
    let generate_spec = GenerateSpec {
        time_limit: 1e-9,
        ..spec(40, 5)
    };
    let p = digits_problem(60, sample(40, 5));
    let out = generate::generate(&p, &generate_spec, &[], &quiet).expect("generate");
    let g = &out.generation;
    assert_eq!(g.rounds, 1, "one round, cut");
    assert_eq!(g.stop, "max_time");
    assert!(!g.converged);
    // The round's AL was stopped by the limit, not run to the rounds' certified gap of 1e-5.
    let r = &g.history[0];
    assert_eq!(r.solve_stop, "max_time");
    assert!(
        r.objective - r.lower_bound > 1e-3 * r.objective,
        "{} vs {} after {} iterations",
        r.objective,
        r.lower_bound,
        r.iterations
    );
    // Its residual is priced by no search, and no pattern comes from it.
    assert_eq!((g.starts_tried, r.violations, r.added), (0, 0, 0));
    assert_eq!(g.generated_patterns, 0);
    assert_eq!(out.gates.nrows(), 40, "the initial gates only");
}

#[test]
fn a_networks_neurons_seeded_in_bound_the_optimum_by_its_objective() {
    let p = digits_problem(40, sample(20, 1));
    let trained = baseline::train(
        &p,
        &BaselineOptions {
            width: 6,
            seed: 4,
            max_iter: 3000,
            ..BaselineOptions::default()
        },
        &|_, _| {},
    )
    .expect("train");
    let net_obj = trained.objective.expect("converged").total;
    let weights = Weights {
        filters: trained.network.filters.clone(),
        output_weights: trained.network.output_weights.clone(),
        biases: None,
    };
    let generated = Problem {
        arrangements: ArrangementSpec::Generate(GenerateSpec {
            rounds: 1,
            ..spec(5, 2)
        }),
        ..p
    };
    let options = SolveOptions {
        network: Some(weights),
        ..al()
    };
    let (opt, r) = objective(&generated, &options);
    assert_eq!(r.generation.as_ref().map(|g| g.network_seeds), Some(6));
    assert!(
        opt <= net_obj * (1.0 + 1e-7),
        "the reverse map: optimum {opt} above the seeded network's {net_obj}"
    );
}

fn bin(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cvxcnn"))
        .args(args)
        .output()
        .expect("run cvxcnn")
}

fn data(name: &str) -> String {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("problems/data")
        .join(name)
        .display()
        .to_string()
}

/// `solve`, `export` and `solve-file` see the same generated patterns; the result says how they
/// came; what generation cannot price is refused.
#[test]
fn the_commands_see_the_same_generated_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let v = serde_json::json!({
        "inputs": data("images.npy"),
        "targets": data("labels.npy"),
        "binary": {"positive": [3], "negative": [8]},
        "max_samples": 24,
        "architecture": {"kind": "two_layer", "kernel": [3, 3], "pooling": "sum"},
        "beta": 0.1,
        "arrangements": {"mode": "generate", "count": 10, "seed": 3, "rounds": 2, "starts": 20,
                         "add": 40}
    });
    let p = dir.path().join("p.json");
    std::fs::write(&p, v.to_string()).unwrap();
    let p = p.to_str().unwrap();
    let o = bin(&["solve", p, "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["arrangement_mode"], "generate");
    let g = &r["generation"];
    for key in [
        "initial_gates",
        "initial_patterns",
        "generated_patterns",
        "rounds",
        "converged",
        "stop",
        "starts_tried",
        "network_seeds",
        "settings",
        "seconds",
        "history",
    ] {
        assert!(g.get(key).is_some(), "generation.{key}");
    }
    let patterns =
        g["initial_patterns"].as_u64().unwrap() + g["generated_patterns"].as_u64().unwrap();
    assert_eq!(r["arrangements"].as_u64(), Some(patterns));
    let f = dir.path().join("p.cbf");
    let o = bin(&[
        "export",
        p,
        "--format",
        "cbf",
        "--out",
        f.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Clarabel meets only its reduced tolerances on the lifted CBF form of this program; the
    // optimum still has to agree.
    let o = bin(&["solve-file", f.to_str().unwrap(), "--allow-inexact"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let (a, b) = (
        s["objective"].as_f64().unwrap(),
        r["objective"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 1e-6 * b, "exported {a} vs solved {b}");
    // A second solve generates the same patterns: the same optimum to the last bit.
    let again: serde_json::Value =
        serde_json::from_slice(&bin(&["solve", p, "--quiet"]).stdout).unwrap();
    assert_eq!(again["objective"], r["objective"]);
    // Refusals name the mode to use instead.
    let refusal = |w: &serde_json::Value| {
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, w.to_string()).unwrap();
        let o = bin(&["solve", bad.to_str().unwrap(), "--quiet"]);
        assert!(!o.status.success(), "{w} is refused");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    for (key, value, needle) in [
        ("pooling", serde_json::json!("max"), "max pooling"),
        ("activation", serde_json::json!("linear"), "linear network"),
    ] {
        let mut w = v.clone();
        w["architecture"][key] = value;
        let e = refusal(&w);
        assert!(
            e.contains(needle) && e.contains("\"mode\": \"sample\""),
            "{e}"
        );
    }
    // A branch-and-bound budget that is not a positive number of seconds is named, with the fix.
    for bad in [serde_json::json!(0), serde_json::json!(-3.5)] {
        let mut w = v.clone();
        w["arrangements"]["branch_and_bound"] = bad.clone();
        let e = refusal(&w);
        assert!(
            e.contains("arrangements.branch_and_bound") && e.contains("positive"),
            "{bad}: {e}"
        );
    }
    // The branch and bound's 2^h orthants: a 5×5 kernel (h = 25) is refused before any work,
    // naming the limit and the fix.
    let mut w = v.clone();
    w["architecture"]["kernel"] = serde_json::json!([5, 5]);
    w["arrangements"]["branch_and_bound"] = serde_json::json!(10);
    let e = refusal(&w);
    assert!(
        e.contains("h = 25") && e.contains("leave branch_and_bound out"),
        "{e}"
    );
    // `largest_after` is a number of seconds ≥ 0, and switches a branch and bound that is set.
    let mut w = v.clone();
    w["arrangements"]["branch_and_bound"] = serde_json::json!(10);
    w["arrangements"]["largest_after"] = serde_json::json!(-1);
    let e = refusal(&w);
    assert!(e.contains("largest_after = -1") && e.contains("≥ 0"), "{e}");
    let mut w = v.clone();
    w["arrangements"]["largest_after"] = serde_json::json!(10);
    let e = refusal(&w);
    assert!(
        e.contains("largest_after = 10") && e.contains("branch_and_bound is not set"),
        "{e}"
    );
    // `walk` is a boolean.
    let mut w = v.clone();
    w["arrangements"]["walk"] = serde_json::json!("yes");
    let e = refusal(&w);
    assert!(e.contains("\"yes\"") && e.contains("boolean"), "{e}");
}

/// The branch and bound prices where the local search is blind: with no random starts the search
/// only climbs from the current neurons and stops above the exact optimum; with
/// `branch_and_bound` every round that finds nothing is checked over every filter, its violating
/// filters continue the generation, and it ends `proven` at the exact optimum.
#[test]
fn the_branch_and_bound_finds_what_the_local_search_misses_and_proves_the_end() {
    let (exact_opt, _) = objective(&signal_problem(exact()), &SolveOptions::default());
    let blind = GenerateSpec {
        starts: 0,
        walk: false,
        ..spec(2, 3)
    };
    let (local, r) = objective(
        &signal_problem(ArrangementSpec::Generate(blind.clone())),
        &SolveOptions::default(),
    );
    let g = r.generation.as_ref().expect("generation");
    assert_eq!(g.stop, "no_violation", "{g:?}");
    assert!(
        local > exact_opt * (1.0 + 1e-4),
        "the local search alone stops above the optimum: {local} vs {exact_opt}"
    );

    let searches = proven_at_the_exact_optimum(GenerateSpec {
        branch_and_bound: Some(60.0),
        ..blind
    });
    assert!(
        searches
            .iter()
            .any(|s| s.stop == "violation" && s.best_ratio > 1.0 + 1e-4),
        "some round's violation came from the branch and bound: {searches:?}"
    );
    let last = searches.last().expect("the last round ran it");
    assert_eq!(last.stop, "target");
    assert!(last.upper_ratio <= 1.0 + 1e-4, "{last:?}");
}

/// Once a search for the first violation takes longer than `largest_after`, every later round's
/// branch and bound looks for the largest violation: it closes to 1e-4 between its bound and the
/// filter it returns (a search for the first violation leaves its bound far above), and the
/// generation still ends `proven` at the exact optimum.
#[test]
fn after_largest_after_the_branch_and_bound_returns_the_largest_violation() {
    let searches = proven_at_the_exact_optimum(GenerateSpec {
        starts: 0,
        walk: false,
        branch_and_bound: Some(60.0),
        largest_after: Some(1e-12),
        ..spec(2, 3)
    });
    assert!(searches.len() >= 3, "{searches:?}");
    assert_eq!(searches[0].search, "first", "{searches:?}");
    let first = &searches[0];
    assert!(
        first.upper_ratio - first.best_ratio > 1e-2 * first.upper_ratio,
        "a search for the first violation leaves its bound loose: {searches:?}"
    );
    let later = &searches[1..];
    assert!(later.iter().all(|s| s.search == "largest"), "{searches:?}");
    let violations: Vec<_> = later.iter().filter(|s| s.best_ratio > 1.0 + 1e-4).collect();
    assert!(!violations.is_empty(), "{searches:?}");
    for s in violations {
        assert_eq!(s.stop, "gap", "{s:?}");
        assert!(
            s.upper_ratio - s.best_ratio <= 1e-4 * s.upper_ratio,
            "{s:?}"
        );
    }
    let last = searches.last().expect("the last round ran it");
    assert!(last.upper_ratio <= 1.0 + 1e-4, "{last:?}");
}

/// The walk from cell to cell finds what the ascents miss: on 60 digits with 2×2 filters and four
/// random starts a round, the ascents alone stop where the walks still find violations; the
/// patterns they add lower the optimum by more than 1e-3.
#[test]
fn the_walk_finds_what_the_ascents_miss() {
    let dir = tempfile::tempdir().unwrap();
    let solve = |walk: bool| {
        let p = dir.path().join(format!("walk_{walk}.json"));
        let v = serde_json::json!({
            "inputs": data("images.npy"),
            "targets": data("labels.npy"),
            "binary": {"positive": [3], "negative": [8]},
            "max_samples": 60,
            "architecture": {"kind": "two_layer", "kernel": [2, 2], "pooling": "sum"},
            "beta": 0.1,
            "arrangements": {"mode": "generate", "count": 10, "seed": 3, "starts": 4,
                             "walk": walk}
        });
        std::fs::write(&p, v.to_string()).unwrap();
        objective(&Problem::load(&p).unwrap(), &al())
    };
    let (ascents, r) = solve(false);
    let g = r.generation.as_ref().expect("generation");
    assert_eq!(g.stop, "no_violation", "{g:?}");
    assert!(g.history.iter().all(|round| round.walks == 0));
    let (walked, r) = solve(true);
    let g = r.generation.as_ref().expect("generation");
    assert!(
        g.history
            .iter()
            .any(|round| round.walks > 0 && round.added > 0),
        "some round added what its walks found: {g:?}"
    );
    assert!(
        walked < ascents * (1.0 - 1e-3),
        "the walks lower the optimum: {walked} vs {ascents} (ascents only)"
    );
}

/// Generates on `signal_exact` with `spec`, checks that the generation ends `proven` at the
/// optimum over every pattern (1e-6), and returns the branch-and-bound searches of its rounds.
fn proven_at_the_exact_optimum(spec: GenerateSpec) -> Vec<cvxcnn::problem::RoundSearch> {
    let (exact_opt, _) = objective(&signal_problem(exact()), &SolveOptions::default());
    let (proven, r) = objective(
        &signal_problem(ArrangementSpec::Generate(spec)),
        &SolveOptions::default(),
    );
    let g = r.generation.as_ref().expect("generation");
    assert_eq!(g.stop, "proven", "{g:?}");
    assert!(g.converged);
    assert!(
        (proven - exact_opt).abs() <= 1e-6 * exact_opt,
        "proven {proven} vs exact {exact_opt}"
    );
    g.history
        .iter()
        .filter_map(|round| round.branch_and_bound.clone())
        .collect()
}

/// A branch and bound that its budget stops undecided runs again with twice the budget (the
/// residual is the same): with a budget far too small for any search to decide, the generation
/// still ends `proven` at the exact optimum, where it used to stop `no_violation` unproven.
#[test]
fn an_undecided_branch_and_bound_runs_again_with_twice_the_budget() {
    let searches = proven_at_the_exact_optimum(GenerateSpec {
        starts: 0,
        branch_and_bound: Some(1e-7),
        time_limit: 600.0,
        ..spec(2, 3)
    });
    assert!(
        searches.iter().any(|s| s.runs > 1),
        "some search was run again: {searches:?}"
    );
    for s in &searches {
        assert_ne!(s.stop, "time_limit", "every round's search decided: {s:?}");
    }
}

/// `rounds` × `add` bounds what a generation may add, not what it adds: far past memory it is not
/// refused up front (1,000 rounds on 200 digits with 3×3 filters were refused as needing 5 TB), the
/// generation runs and ends where it would, and the check each round makes before adding refuses
/// a gate count past the memory left.
#[test]
fn a_generation_allowed_more_than_memory_holds_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("problems/data");
    let path = dir.path().join("many_rounds.json");
    let json = serde_json::json!({
        "inputs": data.join("signal_x.npy"),
        "targets": data.join("signal_y.npy"),
        "architecture": {"kind": "two_layer", "kernel": [2], "stride": [1], "pooling": "sum"},
        "beta": 0.1,
        "arrangements": {"mode": "generate", "count": 2, "seed": 3,
                         "rounds": 1_000_000_000u64, "add": 1_000_000_000u64}
    });
    std::fs::write(&path, json.to_string()).unwrap();
    let p = Problem::load(&path).expect("not refused for what it may add");
    let (generated, r) = objective(&p, &SolveOptions::default());
    let g = r.generation.as_ref().expect("generation");
    assert_eq!(g.stop, "no_violation", "{g:?}");
    let (exact_opt, _) = objective(&signal_problem(exact()), &SolveOptions::default());
    assert!((generated - exact_opt).abs() <= 1e-6 * exact_opt);
    use cvxcnn::problem::memory;
    assert!(memory::room_for_gates(&p, 10));
    if memory::available().is_some() {
        assert!(!memory::room_for_gates(&p, 1 << 50));
    }
}

/// The exact `M(v)` on an exact-mode problem: the largest per-pattern dual value over every cell.
fn exact_max(problem: &Problem, v: ndarray::ArrayView1<f64>) -> f64 {
    let prep = pipeline::prepare(problem, &SolveOptions::default(), &quiet).expect("prepare");
    assert!(prep.arrangement.exact, "an exact arrangement");
    cvxcnn::certify::dual_values(
        prep.patches.stacked(),
        &prep.arrangement,
        &prep.a,
        &prep.rows,
        v,
        cvxcnn::geometry::FilterNorm::L2,
    )
    .into_iter()
    .fold(0.0, f64::max)
}

/// The optimum of `signal_exact` over every pattern, and the problem generated from two gates by
/// the branch and bound alone (no random starts, no walks) with its report.
fn generated_with_branch_and_bound() -> (f64, Problem, cvxcnn::pipeline::Report) {
    let (exact_opt, _) = objective(&signal_problem(exact()), &SolveOptions::default());
    let p = signal_problem(ArrangementSpec::Generate(GenerateSpec {
        starts: 0,
        walk: false,
        branch_and_bound: Some(60.0),
        ..spec(2, 3)
    }));
    let (_, r) = objective(&p, &SolveOptions::default());
    (exact_opt, p, r)
}

/// Every round's branch and bound bounds `M` at that round's residual `v`, so `d(θv)` bounds the
/// nonconvex training problem from below: on `signal_exact` no round's `global_lower_bound` is above
/// the optimum over every pattern, the generation keeps the round with the best one (its `M̄` at
/// least the exact `M(v)`, its bound recomputed from `v`), and at the end, where the search proves
/// that no filter exceeds `β (1 + 1e-4)`, the bound is within 1e-3 of the optimum.
#[test]
fn every_rounds_branch_and_bound_gives_a_global_lower_bound() {
    let (exact_opt, p, r) = generated_with_branch_and_bound();
    let g = r.generation.as_ref().expect("generation");
    assert_eq!(g.stop, "proven", "{g:?}");
    let bounds: Vec<f64> = g
        .history
        .iter()
        .filter_map(|round| round.branch_and_bound.as_ref())
        .map(|s| s.global_lower_bound)
        .collect();
    assert!(bounds.len() >= 2, "{g:?}");
    for &b in &bounds {
        assert!(
            b <= exact_opt * (1.0 + 1e-12),
            "{b} above the optimum {exact_opt}"
        );
    }
    let best = g.best_bound.as_ref().expect("a round's search");
    let most = bounds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(best.lower_bound, most);
    let round = g.history[best.round]
        .branch_and_bound
        .as_ref()
        .expect("its search");
    assert_eq!(round.global_lower_bound, best.lower_bound);
    let v = ndarray::Array1::from(best.dual_point.clone());
    let mut all = p.clone();
    all.arrangements = exact();
    let m = exact_max(&all, v.view());
    assert!(
        best.search.dual_value_upper >= m * (1.0 - 1e-9),
        "M̄ below M(v) = {m}: {best:?}"
    );
    let (d, _) = cvxcnn::certify::scaled_bound(p.y.view(), v.view(), p.beta, m).expect("v ≠ 0");
    assert!(best.lower_bound <= d + 1e-12 * d.abs().max(1.0));
    assert!(
        best.lower_bound >= exact_opt * (1.0 - 1e-3),
        "the proven round's bound {} is close to the optimum {exact_opt}",
        best.lower_bound
    );
}

/// `certify --global` keeps the best bound: with its final search cut after the orthant cones, the
/// certificate is the generation's best round's (its search, its residual scaled, its bound,
/// still below the optimum over every pattern); run to completion, the final search's bound is at
/// least as good and the certificate is its own.
#[test]
fn a_cut_final_search_falls_back_on_the_generations_best_bound() {
    let (exact_opt, p, r) = generated_with_branch_and_bound();
    let best = r
        .generation
        .as_ref()
        .and_then(|g| g.best_bound.clone())
        .expect("a round's search");
    let cut = cvxcnn::global::Options {
        max_cones: 1,
        ..cvxcnn::global::Options::default()
    };
    let c = cvxcnn::global::certify_report(&p, &r, &cut, &quiet).expect("certify");
    let fin = c
        .final_search
        .as_ref()
        .expect("the final search is reported");
    assert_eq!(fin.stop, cvxcnn::global::Stop::NodeLimit);
    assert_eq!(c.bound_round, Some(best.round));
    assert_eq!(c.global_search, best.search);
    let cert = &c.certificate;
    assert_eq!(cert.max_dual_value, best.search.dual_value_upper);
    assert!(
        (cert.lower_bound - best.lower_bound).abs() <= 1e-12 * best.lower_bound.abs(),
        "{} vs {}",
        cert.lower_bound,
        best.lower_bound
    );
    assert!(cert.lower_bound <= exact_opt * (1.0 + 1e-12));
    assert!(cert.dual_scaling.abs() * cert.max_dual_value <= p.beta * (1.0 + 1e-12));
    for (e, v) in cert.evidence.dual_point.iter().zip(&best.dual_point) {
        assert_eq!(*e, cert.dual_scaling * v);
    }
    let full = cvxcnn::global::certify_report(&p, &r, &cvxcnn::global::Options::default(), &quiet)
        .expect("certify");
    assert!(full.certificate.lower_bound >= best.lower_bound);
    assert_eq!(full.bound_round.is_some(), full.final_search.is_some());
    assert!(full.certificate.lower_bound <= exact_opt * (1.0 + 1e-12));
}
