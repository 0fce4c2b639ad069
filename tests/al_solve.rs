//! `cvxcnn solve --solver al`: the first-order augmented Lagrangian with its certifying polish,
//! under the same result contract as the interior point.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Output};

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("problems/data")
        .join(name)
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

fn ok_json(args: &[&str]) -> Value {
    let o = run(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("JSON")
}

fn write(dir: &std::path::Path, name: &str, v: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string(v).unwrap()).unwrap();
    p.display().to_string()
}

fn digits(n: usize, gates: usize) -> Value {
    json!({
        "inputs": data("images.npy"),
        "targets": data("labels.npy"),
        "binary": {"positive": [3], "negative": [8]},
        "max_samples": n,
        "architecture": {"kind": "two_layer", "kernel": [3, 3], "stride": [1, 1], "pooling": "sum"},
        "beta": 0.1,
        "arrangements": {"mode": "sample", "count": gates, "seed": 0}
    })
}

/// Every key of a result, depth first, in order (arrays of numbers and certificate evidence
/// excluded).
fn keys(v: &Value, path: &str, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, x) in m {
            let p = format!("{path}.{k}");
            out.push(p.clone());
            if k != "evidence" && k != "settings" {
                keys(x, &p, out);
            }
        }
    }
}

#[test]
fn al_solves_to_the_interior_point_optimum_with_the_same_result_contract() {
    let dir = tempfile::tempdir().unwrap();
    for (name, problem) in [
        ("sum", digits(60, 60)),
        ("bias", {
            let mut v = digits(60, 60);
            v["architecture"]["bias"] = true.into();
            v
        }),
        ("max", {
            let mut v = digits(60, 60);
            v["architecture"]["pooling"] = "max".into();
            v
        }),
    ] {
        let p = write(dir.path(), &format!("{name}.json"), &problem);
        let ipm = ok_json(&["solve", &p, "--quiet"]);
        let al = ok_json(&["solve", &p, "--solver", "al", "--quiet"]);
        assert_eq!(al["status"], "optimal", "{name}");
        assert_eq!(al["solver"]["name"], "al");
        let (a, b) = (
            al["network_objective"].as_f64().unwrap(),
            ipm["network_objective"].as_f64().unwrap(),
        );
        assert!((a - b).abs() <= 1e-6 * b, "{name}: al {a} vs clarabel {b}");
        // The decoded network attains the AL's objective; the certificate closes.
        let obj = al["objective"].as_f64().unwrap();
        assert!(
            (a - obj).abs() <= 1e-6 * obj,
            "{name}: network {a} vs objective {obj}"
        );
        assert_eq!(al["certificate"]["certified"], true, "{name}");
        assert!(al["max_constraint_violation"].as_f64().unwrap() < 1e-9);
        // The same keys in the same order as the interior point's result.
        let (mut ka, mut kb) = (Vec::new(), Vec::new());
        keys(&al, "", &mut ka);
        keys(&ipm, "", &mut kb);
        assert_eq!(ka, kb, "{name}: result keys");
    }
}

#[test]
fn al_refuses_what_it_does_not_solve_and_stops_honestly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let out_s = out.to_str().unwrap();
    let mut l1 = digits(40, 20);
    l1["filter_norm"] = "l1".into();
    let mut linear = digits(40, 20);
    linear["architecture"]["activation"] = "linear".into();
    let circular = json!({
        "inputs": data("circular_exact_x.npy"),
        "targets": data("circular_exact_y.npy"),
        "architecture": {"kind": "circular"},
        "beta": 0.1,
        "arrangements": {"mode": "exact"}
    });
    for (name, v, what) in [
        ("l1", l1, "ℓ1 filter norm"),
        ("linear", linear, "linear network"),
        ("circular", circular, "circular CNN"),
    ] {
        let p = write(dir.path(), &format!("{name}.json"), &v);
        let o = run(&["solve", &p, "--solver", "al", "--out", out_s, "--quiet"]);
        assert!(!o.status.success(), "{name}");
        let e = stderr(&o);
        assert!(
            e.contains(what) && e.contains("--solver clarabel"),
            "{name}: {e}"
        );
        assert!(!out.exists(), "{name}: nothing written");
    }
    // Stopped early: not optimal, nothing written unless --allow-inexact.
    let p = write(dir.path(), "d.json", &digits(60, 60));
    let args = [
        "solve",
        &p,
        "--solver",
        "al",
        "--max-iter",
        "3",
        "--no-polish",
    ];
    let o = run(&[&args[..], &["--out", out_s, "--quiet"]].concat());
    assert!(!o.status.success());
    assert!(stderr(&o).contains("max_iterations"), "{}", stderr(&o));
    assert!(!out.exists());
    let kept = ok_json(&[&args[..], &["--allow-inexact", "--quiet"]].concat());
    assert_eq!(kept["status"], "max_iterations");
    // Options of other solvers are refused with al, and al's with them.
    let o = run(&[
        "solve",
        &p,
        "--solver",
        "al",
        "--tol-gap-rel",
        "1e-9",
        "--quiet",
    ]);
    assert!(stderr(&o).contains("--tol-gap-rel"), "{}", stderr(&o));
    let o = run(&["solve", &p, "--tol-gap", "1e-9", "--quiet"]);
    assert!(
        stderr(&o).contains("--tol-gap is an option of --solver al"),
        "{}",
        stderr(&o)
    );
    // solve-file takes conic programs only.
    let f = dir.path().join("p.cbf");
    let o = run(&[
        "export",
        &p,
        "--format",
        "cbf",
        "--out",
        f.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success());
    let o = run(&["solve-file", f.to_str().unwrap(), "--solver", "al"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--solver clarabel"), "{}", stderr(&o));
}

/// `--solver auto` runs the AL on what it takes from 100 samples up and Clarabel on the rest, each
/// to the optimum the chosen solver alone reaches, and refuses an option that belongs to one
/// solver.
#[test]
fn auto_chooses_the_al_where_it_can_and_clarabel_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let mut l1 = digits(100, 20);
    l1["filter_norm"] = "l1".into();
    let mut logistic = digits(100, 20);
    logistic["loss"] = "logistic".into();
    for (name, v, chosen) in [
        ("sum", digits(100, 40), "al"),
        ("small", digits(99, 40), "clarabel"),
        ("l1", l1, "clarabel"),
        ("logistic", logistic, "clarabel"),
    ] {
        let p = write(dir.path(), &format!("{name}.json"), &v);
        let auto = ok_json(&["solve", &p, "--solver", "auto", "--quiet"]);
        let alone = ok_json(&["solve", &p, "--solver", chosen, "--quiet"]);
        let ipm = ok_json(&["solve", &p, "--quiet"]);
        assert_eq!(auto["solver"]["name"], chosen, "{name}");
        assert_eq!(auto["status"], "optimal", "{name}");
        assert_eq!(auto["certificate"]["certified"], true, "{name}");
        let got = auto["objective"].as_f64().unwrap();
        let want = alone["objective"].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-12 * want,
            "{name}: {got} vs {want}"
        );
        let opt = ipm["objective"].as_f64().unwrap();
        assert!(
            (got - opt).abs() <= 1e-6 * opt,
            "{name}: {got} vs Clarabel's {opt}"
        );
    }
    let p = write(dir.path(), "d.json", &digits(40, 20));
    let out = dir.path().join("r.json");
    for opt in [
        ["--tol-gap", "1e-8"],
        ["--tol-feas", "1e-9"],
        ["--eps-abs", "1e-5"],
    ] {
        let o = run(&[
            "solve",
            &p,
            "--solver",
            "auto",
            opt[0],
            opt[1],
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(!o.status.success(), "{opt:?}");
        let e = stderr(&o);
        assert!(e.contains(opt[0]) && e.contains("--solver auto"), "{e}");
        assert!(
            !e.contains("  ") && e.trim_end().lines().count() == 1,
            "one clean line: {e}"
        );
        assert!(!out.exists());
    }
}
