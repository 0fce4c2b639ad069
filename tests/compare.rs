//! `cvxcnn compare`, the real binary: one table, a JSON report and an SVG plot; bad input refused
//! with nothing written; a diverging baseline reported as a status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn signal_exact() -> String {
    root()
        .join("problems/signal_exact.json")
        .display()
        .to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cvxcnn"))
        .args(args)
        .output()
        .expect("run cvxcnn")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("written")).expect("valid JSON")
}

fn row<'a>(report: &'a serde_json::Value, solver: &str) -> &'a serde_json::Value {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["solver"] == solver)
        .unwrap_or_else(|| panic!("no row for {solver}"))
}

#[test]
fn compare_prints_one_table_and_writes_json_and_svg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("report.json");
    let plot = dir.path().join("gap.svg");
    let o = run(&[
        "compare",
        &signal_exact(),
        "--solvers",
        "clarabel,osqp,fista,al,sgd",
        "--out",
        out.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
        "--time-limit",
        "1",
        "--quiet",
    ]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    assert!(
        o.stderr.is_empty(),
        "--quiet keeps stderr empty: {}",
        stderr(&o)
    );
    let table = String::from_utf8(o.stdout).expect("utf-8");
    for solver in ["clarabel", "osqp", "fista", "al", "sgd"] {
        assert!(
            table.lines().any(|l| l.starts_with(&format!("{solver} "))),
            "no table row for {solver}:\n{table}"
        );
    }
    assert!(table.contains("n/a (gated)"), "{table}");

    let r = json(&out);
    for key in [
        "problem",
        "n",
        "patterns",
        "arrangement_mode",
        "filter_norm",
        "beta",
        "time_limit_s",
        "prepare_s",
        "reference",
        "rows",
    ] {
        assert!(r.get(key).is_some(), "missing key {key}");
    }
    let rows = r["rows"].as_array().expect("rows");
    let names: Vec<&str> = rows.iter().map(|r| r["solver"].as_str().unwrap()).collect();
    assert_eq!(names, ["clarabel", "osqp", "fista", "al", "sgd"]);
    for row in rows {
        for key in [
            "program",
            "status",
            "objective",
            "relative_gap",
            "max_constraint_violation",
            "violation_note",
            "iterations",
            "seconds",
            "message",
            "trace",
        ] {
            assert!(row.get(key).is_some(), "row {} lacks {key}", row["solver"]);
        }
    }
    assert_eq!(r["reference"]["status"], "optimal");
    assert_eq!(r["reference"]["requested"], true);
    let reference = r["reference"]["objective"].as_f64().unwrap();

    // The reference is `solve`'s optimum.
    let s = run(&["solve", &signal_exact(), "--quiet"]);
    assert!(s.status.success(), "stderr: {}", stderr(&s));
    let solved: serde_json::Value = serde_json::from_slice(&s.stdout).expect("json");
    let want = solved["objective"].as_f64().unwrap();
    assert!(
        (reference - want).abs() <= 1e-12 * want.abs(),
        "compare's clarabel {reference} vs solve's {want}"
    );
    assert_eq!(
        row(&r, "clarabel")["objective"].as_f64().unwrap(),
        reference
    );

    // OSQP cannot take the ℓ2 program's cones (or is not built): a clear skipped row.
    let osqp = row(&r, "osqp");
    assert_eq!(osqp["status"], "skipped");
    assert!(osqp["objective"].is_null());
    assert!(osqp["message"].as_str().unwrap().contains("OSQP"));

    // FISTA's gated optimum lies below the ReLU optimum (docs/math.md §7) — up to its accuracy.
    let fista = row(&r, "fista");
    assert!(fista["max_constraint_violation"].is_null());
    assert_eq!(fista["violation_note"], "n/a (gated)");
    let gap = fista["relative_gap"].as_f64().unwrap();
    assert!(gap < 0.0, "gated gap {gap} should be negative");
    assert!(!fista["trace"].as_array().unwrap().is_empty());

    // AL reports a real violation of the full constraint set.
    let al = row(&r, "al");
    assert!(al["max_constraint_violation"].as_f64().unwrap() >= 0.0);
    assert!(al["trace"].as_array().unwrap().len() >= 2);

    // Exact mode: no network beats the certified optimum (fact 2), whatever SGD did.
    let sgd = row(&r, "sgd");
    let sgd_obj = sgd["objective"]
        .as_f64()
        .expect("sgd converged to a number");
    assert!(
        sgd_obj >= reference - 1e-7 * reference,
        "sgd {sgd_obj} below the exact optimum {reference}"
    );
    assert_eq!(sgd["violation_note"], "n/a (network)");
    let trace = sgd["trace"].as_array().unwrap();
    assert_eq!(trace[0]["iterations"], 0);
    // The time limit holds (with slack for one evaluation).
    for name in ["fista", "al", "sgd"] {
        let secs = row(&r, name)["seconds"].as_f64().unwrap();
        assert!(secs < 3.0, "{name} ran {secs} s with --time-limit 1");
    }

    let svg = std::fs::read_to_string(&plot).expect("plot written");
    assert!(
        svg.starts_with("<svg"),
        "not an SVG: {}",
        &svg[..40.min(svg.len())]
    );
    for label in [
        "clarabel (reference",
        "fista (gated",
        "al (relu",
        "sgd (network",
    ] {
        assert!(svg.contains(label), "plot lacks the legend entry {label}");
    }
}

#[test]
fn compare_is_deterministic_without_time_limits_binding() {
    // SGD on a tiny problem stops by its own test long before the limit: same seed, same numbers.
    let once = || {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("r.json");
        let o = run(&[
            "compare",
            &signal_exact(),
            "--solvers",
            "sgd",
            "--width",
            "4",
            "--seed",
            "7",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "stderr: {}", stderr(&o));
        let r = json(&out);
        // Clarabel was not asked for: it still ran first, as the reference.
        assert_eq!(r["reference"]["requested"], false);
        assert_eq!(r["rows"][0]["solver"], "clarabel");
        let sgd = row(&r, "sgd").clone();
        assert_ne!(sgd["status"], "max_time", "the limit bound: {sgd}");
        (
            sgd["objective"].as_f64().unwrap().to_bits(),
            sgd["iterations"].as_u64().unwrap(),
        )
    };
    assert_eq!(once(), once());
}

#[test]
fn unknown_solver_is_refused_with_the_valid_names_and_nothing_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r.json");
    let plot = dir.path().join("p.svg");
    for list in ["clarabel,adam", "fista,,sgd"] {
        let o = run(&[
            "compare",
            &signal_exact(),
            "--solvers",
            list,
            "--out",
            out.to_str().unwrap(),
            "--plot",
            plot.to_str().unwrap(),
        ]);
        assert!(!o.status.success(), "{list} accepted");
        let e = stderr(&o);
        assert!(
            e.contains("clarabel, osqp, fista, al, admm, sgd"),
            "{list}: message lacks the valid names: {e}"
        );
        assert!(o.stdout.is_empty(), "{list}: printed a table");
        assert!(!out.exists() && !plot.exists(), "{list}: wrote a file");
    }
}

#[test]
fn bad_options_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r.json");
    let missing = dir.path().join("no/such/folder/p.svg");
    for (args, needle) in [
        (vec!["--time-limit", "0"], "--time-limit"),
        (vec!["--width", "0"], "--width"),
        (vec!["--sgd-lr", "0"], "--sgd-lr"),
        (vec!["--plot", missing.to_str().unwrap()], "does not exist"),
    ] {
        let problem = signal_exact();
        let mut all = vec!["compare", problem.as_str()];
        all.extend(["--out", out.to_str().unwrap()]);
        all.extend(args.iter().copied());
        let o = run(&all);
        assert!(!o.status.success(), "{args:?} accepted");
        let e = stderr(&o);
        assert!(
            e.contains(needle),
            "{args:?}: message {e:?} lacks {needle:?}"
        );
        assert!(!out.exists(), "{args:?}: wrote the report");
    }
}

#[test]
fn a_diverging_sgd_step_is_a_status_not_a_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r.json");
    let o = run(&[
        "compare",
        &signal_exact(),
        "--solvers",
        "sgd",
        "--sgd-optimizer",
        "momentum",
        "--sgd-lr",
        "1000",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    let r = json(&out);
    let sgd = row(&r, "sgd");
    assert_eq!(sgd["status"], "diverged", "{sgd}");
    assert!(sgd["objective"].is_null() && sgd["relative_gap"].is_null());
    assert!(
        sgd["message"]
            .as_str()
            .unwrap()
            .contains("lower the learning rate")
    );
    let table = String::from_utf8(o.stdout).expect("utf-8");
    let line = table
        .lines()
        .find(|l| l.starts_with("sgd "))
        .expect("sgd row");
    assert!(line.contains("diverged") && line.contains('—'), "{line}");
}

/// With OSQP built in, an ℓ1 problem (a QP) gets a real OSQP row close to Clarabel's optimum, and
/// the group-ℓ2 first-order solvers say why they do not apply.
#[cfg(feature = "osqp")]
#[test]
fn osqp_row_on_an_l1_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let problem = dir.path().join("l1.json");
    std::fs::write(
        &problem,
        serde_json::json!({
            "inputs": root().join("problems/data/signal_x.npy"),
            "targets": root().join("problems/data/signal_y.npy"),
            "architecture": {"kind": "two_layer", "kernel": [2], "stride": [1], "pooling": "sum"},
            "beta": 0.1,
            "filter_norm": "l1",
            "arrangements": {"mode": "exact"}
        })
        .to_string(),
    )
    .expect("write");
    let out = dir.path().join("r.json");
    let o = run(&[
        "compare",
        problem.to_str().unwrap(),
        "--solvers",
        "osqp,fista,al,sgd",
        "--time-limit",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    let r = json(&out);
    assert_eq!(r["filter_norm"], "l1");
    let osqp = row(&r, "osqp");
    let gap = osqp["relative_gap"].as_f64().expect("osqp ran");
    assert!(osqp["max_constraint_violation"].as_f64().unwrap() >= 0.0);
    // Honest status: `optimal` only when OSQP converged, and then it agrees with Clarabel.
    if osqp["status"] == "optimal" {
        assert!(gap.abs() < 1e-4, "osqp gap {gap}: {osqp}");
    } else {
        assert!(
            ["max_time", "max_iterations", "almost_solved"]
                .contains(&osqp["status"].as_str().unwrap()),
            "{osqp}"
        );
    }
    for name in ["fista", "al"] {
        let x = row(&r, name);
        assert_eq!(x["status"], "skipped", "{x}");
        assert!(x["message"].as_str().unwrap().contains("l1"));
    }
    let sgd = row(&r, "sgd")["objective"].as_f64().expect("sgd number");
    let reference = r["reference"]["objective"].as_f64().unwrap();
    assert!(sgd >= reference - 1e-7 * reference, "{sgd} < {reference}");
}

#[test]
fn a_one_vs_rest_problem_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r.json");
    let ovr = root().join("problems/digits_ovr.json");
    let o = run(&[
        "compare",
        ovr.to_str().unwrap(),
        "--solvers",
        "sgd",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success(), "one-vs-rest accepted");
    let e = stderr(&o);
    assert!(
        e.contains("digits_ovr.json") && e.contains("\"binary\""),
        "message lacks the file or the fix: {e}"
    );
    assert!(!out.exists() && o.stdout.is_empty());
}

/// `al` (ADMM + polish) and `admm` (the same ADMM alone) side by side: both rows, on one clock;
/// the polished one certifies the reference optimum, each within its own certified gap (1e-6 by
/// default) of Clarabel's optimum, and its message counts the polish rounds that did it.
#[test]
fn al_and_admm_alone_are_two_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("report.json");
    let digits40 = root().join("bench/digits40.json").display().to_string();
    let o = run(&[
        "compare",
        &digits40,
        "--solvers",
        "al,admm",
        "--out",
        out.to_str().unwrap(),
        "--time-limit",
        "20",
        "--quiet",
    ]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    let r = json(&out);
    let names: Vec<&str> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["solver"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["clarabel", "al", "admm"]);
    for name in ["al", "admm"] {
        let row = row(&r, name);
        assert_eq!(row["status"], "converged", "{name}: {row}");
        assert_eq!(row["program"], "relu");
        let gap = row["relative_gap"].as_f64().unwrap();
        // Certified 1e-6 each, against Clarabel's own ~1e-8 accuracy.
        assert!(gap.abs() <= 2e-6, "{name}: gap {gap}");
    }
    let al = row(&r, "al")["message"].as_str().unwrap().to_string();
    assert!(!al.contains(" 0 polish rounds"), "{al}");
    let admm = row(&r, "admm")["message"].as_str().unwrap().to_string();
    assert!(admm.contains(" 0 polish rounds"), "{admm}");
}

/// The `generate` row starts from the problem's own sampled gates and only adds patterns, so its
/// optimum is at most the reference (the sampled optimum); run after `sgd` it is seeded with that
/// network's neurons, so (reverse map, docs/math.md §2) it is at most the network's objective too.
#[test]
fn generate_row_is_below_the_sampled_optimum_and_the_sgd_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = root().join("problems/data");
    let problem = dir.path().join("signal_sample.json");
    std::fs::write(
        &problem,
        serde_json::json!({
            "inputs": data.join("signal_x.npy"),
            "targets": data.join("signal_y.npy"),
            "architecture": {"kind": "two_layer", "kernel": [3], "stride": [1], "pooling": "sum"},
            "beta": 0.05,
            "arrangements": {"mode": "sample", "count": 3, "seed": 1}
        })
        .to_string(),
    )
    .expect("write problem");
    let out = dir.path().join("report.json");
    let o = run(&[
        "compare",
        problem.to_str().unwrap(),
        "--solvers",
        "clarabel,sgd,generate",
        "--time-limit",
        "5",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    let report = json(&out);
    let reference = report["reference"]["objective"]
        .as_f64()
        .expect("reference");
    let sgd = row(&report, "sgd")["objective"]
        .as_f64()
        .expect("sgd objective");
    let generated = row(&report, "generate");
    let objective = generated["objective"].as_f64().expect("generate objective");
    let tol = 1e-6 * reference.abs().max(1.0);
    assert!(
        objective <= reference + tol,
        "generated {objective} above the sampled optimum {reference}"
    );
    assert!(
        objective <= sgd + tol,
        "generated {objective} above the sgd network it was seeded with ({sgd})"
    );
    let message = generated["message"].as_str().expect("message");
    assert!(message.contains("seeded with the sgd network"), "{message}");
    assert_eq!(generated["program"], "relu");
}
