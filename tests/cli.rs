//! The real binary on problem files: the contract of `cvxcnn solve` and every bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cvxcnn"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn data(name: &str) -> String {
    root()
        .join("problems/data")
        .join(name)
        .display()
        .to_string()
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run cvxcnn")
}

fn json(text: &[u8]) -> serde_json::Value {
    serde_json::from_slice(text).expect("valid JSON")
}

/// Runs a command that must succeed (the test fails with its stderr otherwise); its stdout as JSON.
fn run_json(args: &[&str]) -> serde_json::Value {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    json(&o.stdout)
}

/// Exports problem `p` in `format` into `dir` and returns the objective `solve-file` finds for it.
fn exported_optimum(p: &Path, format: &str, dir: &Path) -> f64 {
    let f = dir.join(format!("exported.{format}"));
    let e = run(&[
        "export",
        p.to_str().unwrap(),
        "--format",
        format,
        "--out",
        f.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(
        e.status.success(),
        "export {format}: {}",
        String::from_utf8_lossy(&e.stderr)
    );
    run_json(&["solve-file", f.to_str().unwrap()])["objective"]
        .as_f64()
        .unwrap()
}

/// `got` equals `expected` to 1e-6 relative (the solvers' accuracy).
fn assert_same_optimum(got: f64, expected: f64, what: &str) {
    assert!(
        (got - expected).abs() <= 1e-6 * expected.abs().max(1.0),
        "{what}: {got} vs {expected}"
    );
}

/// Writes a problem file into `dir` and returns its path.
fn write_problem(dir: &Path, value: serde_json::Value) -> PathBuf {
    let p = dir.join("problem.json");
    std::fs::write(&p, serde_json::to_string_pretty(&value).expect("json")).expect("write");
    p
}

fn small_digits() -> serde_json::Value {
    serde_json::json!({
        "inputs": data("images.npy"),
        "targets": data("labels.npy"),
        "binary": {"positive": [3], "negative": [8]},
        "max_samples": 20,
        "architecture": {"kind": "two_layer", "kernel": [3, 3], "stride": [1, 1], "pooling": "sum"},
        "beta": 0.1,
        "arrangements": {"mode": "sample", "count": 20, "seed": 7}
    })
}

#[test]
fn solve_writes_the_contract_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), small_digits());
    let out = dir.path().join("r.json");
    let o = run(&[
        "solve",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = json(&std::fs::read(&out).expect("result written"));
    for key in [
        "status",
        "objective",
        "dual_objective",
        "network_objective",
        "arrangements",
        "neurons",
        "filters",
        "output_weights",
        "max_constraint_violation",
        "timings",
    ] {
        assert!(r.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(r["status"], "optimal");
    assert!(r["timings"]["solve_s"].is_number());
    let filters = r["filters"].as_array().expect("filters");
    assert_eq!(filters.len(), r["neurons"].as_u64().unwrap() as usize);
    assert!(filters.iter().all(|f| f.as_array().unwrap().len() == 9));
    let obj = r["objective"].as_f64().unwrap();
    let net = r["network_objective"].as_f64().unwrap();
    assert!(
        (obj - net).abs() <= 1e-6 * obj.abs().max(1.0),
        "{obj} vs {net}"
    );
}

#[test]
fn solve_prints_to_stdout_without_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), small_digits());
    let o = run(&["solve", p.to_str().unwrap(), "--quiet"]);
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(json(&o.stdout)["status"], "optimal");
    assert!(o.stderr.is_empty(), "--quiet keeps stderr empty");
}

#[test]
fn certify_exact_problem_is_global() {
    let o = run(&[
        "certify",
        root().join("problems/signal_exact.json").to_str().unwrap(),
        "--quiet",
    ]);
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let c = json(&o.stdout);
    assert_eq!(c["scope"], "global");
    assert_eq!(c["certified"], true);
}

#[test]
fn shipped_problems_solve() {
    for name in [
        "signal_exact.json",
        "channels_stride.json",
        "exact3_channels.json",
    ] {
        let o = run(&[
            "solve",
            root().join("problems").join(name).to_str().unwrap(),
            "--quiet",
        ]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let r = json(&o.stdout);
        assert_eq!(r["status"], "optimal", "{name}");
    }
}

/// Runs a bad problem and checks: non-zero exit, one line on stderr containing `needle`, no output.
fn refuses(value: serde_json::Value, needle: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), value);
    refuses_file(&p, &[], needle);
}

fn refuses_file(p: &Path, extra: &[&str], needle: &str) {
    let out = p.parent().unwrap().join("result.json");
    let mut args = vec![
        "solve",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    refuses_cmd(&args, &out, needle);
}

fn with(mut v: serde_json::Value, path: &[&str], new: serde_json::Value) -> serde_json::Value {
    let mut cur = &mut v;
    for p in &path[..path.len() - 1] {
        cur = &mut cur[*p];
    }
    cur[path[path.len() - 1]] = new;
    v
}

#[test]
fn missing_inputs_file() {
    refuses(
        with(small_digits(), &["inputs"], "nope.npy".into()),
        "nope.npy",
    );
}

#[test]
fn missing_problem_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    refuses_file(&dir.path().join("absent.json"), &[], "absent.json");
}

#[test]
fn malformed_problem_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("problem.json");
    std::fs::write(&p, "{\"inputs\": ").unwrap();
    refuses_file(&p, &[], "problem.json");
}

#[test]
fn wrong_npy_dtype() {
    let dir = tempfile::tempdir().expect("tempdir");
    let x = ndarray::Array3::<u8>::zeros((4, 1, 5));
    ndarray_npy::write_npy(dir.path().join("x.npy"), &x).unwrap();
    let v = with(
        small_digits(),
        &["inputs"],
        dir.path().join("x.npy").to_str().unwrap().into(),
    );
    refuses(v, "float");
}

#[test]
fn wrong_input_rank() {
    let dir = tempfile::tempdir().expect("tempdir");
    ndarray_npy::write_npy(
        dir.path().join("x.npy"),
        &ndarray::Array2::<f64>::ones((4, 5)),
    )
    .unwrap();
    let v = with(
        small_digits(),
        &["inputs"],
        dir.path().join("x.npy").to_str().unwrap().into(),
    );
    refuses(v, "rank 2");
}

/// A 1-D problem (kernel 2, exact) on the given inputs and targets must be refused.
fn refuses_signals(x: ndarray::Array3<f64>, y: ndarray::Array1<f64>, needle: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    ndarray_npy::write_npy(dir.path().join("x.npy"), &x).unwrap();
    ndarray_npy::write_npy(dir.path().join("y.npy"), &y).unwrap();
    let v = serde_json::json!({
        "inputs": dir.path().join("x.npy"), "targets": dir.path().join("y.npy"),
        "architecture": {"kind": "two_layer", "kernel": [2], "pooling": "sum"},
        "beta": 0.1, "arrangements": {"mode": "exact"}
    });
    refuses(v, needle);
}

#[test]
fn sample_count_mismatch() {
    refuses_signals(
        ndarray::Array3::ones((4, 1, 5)),
        ndarray::Array1::ones(3),
        "3 targets for 4 inputs",
    );
}

#[test]
fn non_finite_inputs() {
    let mut x = ndarray::Array3::<f64>::ones((4, 1, 5));
    x[[2, 0, 3]] = f64::NAN;
    refuses_signals(x, ndarray::Array1::ones(4), "NaN");
}

#[test]
fn infinite_targets() {
    let mut y = ndarray::Array1::<f64>::ones(4);
    y[1] = f64::INFINITY;
    refuses_signals(ndarray::Array3::ones((4, 1, 5)), y, "inf");
}

#[test]
fn kernel_larger_than_input() {
    refuses(
        with(
            small_digits(),
            &["architecture", "kernel"],
            serde_json::json!([9, 3]),
        ),
        "larger than the input",
    );
}

#[test]
fn zero_stride() {
    refuses(
        with(
            small_digits(),
            &["architecture", "stride"],
            serde_json::json!([0, 1]),
        ),
        "stride",
    );
}

#[test]
fn negative_beta() {
    refuses(
        with(small_digits(), &["beta"], serde_json::json!(-1.0)),
        "beta = -1",
    );
}

#[test]
fn unknown_key() {
    refuses(
        with(small_digits(), &["learning_rate"], serde_json::json!(0.1)),
        "learning_rate",
    );
}

#[test]
fn unknown_architecture_kind() {
    refuses(
        with(
            small_digits(),
            &["architecture", "kind"],
            "transformer".into(),
        ),
        "transformer",
    );
}

#[test]
fn unknown_pooling() {
    refuses(
        with(
            small_digits(),
            &["architecture", "pooling"],
            "median".into(),
        ),
        "median",
    );
}

#[test]
fn unknown_arrangement_mode() {
    refuses(
        with(
            small_digits(),
            &["arrangements"],
            serde_json::json!({"mode": "guess"}),
        ),
        "guess",
    );
}

#[test]
fn exact_request_too_large() {
    refuses(
        with(
            small_digits(),
            &["arrangements"],
            serde_json::json!({"mode": "exact"}),
        ),
        "sample",
    );
}

#[test]
fn kernel_with_wrong_dimension() {
    refuses(
        with(
            small_digits(),
            &["architecture", "kernel"],
            serde_json::json!([3]),
        ),
        "kernel",
    );
}

#[test]
fn gates_with_wrong_width() {
    let dir = tempfile::tempdir().expect("tempdir");
    ndarray_npy::write_npy(
        dir.path().join("g.npy"),
        &ndarray::Array2::<f64>::ones((5, 4)),
    )
    .unwrap();
    let v = with(
        small_digits(),
        &["arrangements"],
        serde_json::json!({"mode": "gates", "path": dir.path().join("g.npy")}),
    );
    refuses(v, "h = 9");
}

#[test]
fn solver_stopping_early_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), small_digits());
    refuses_file(&p, &["--max-iter", "2"], "max_iterations");
}

#[test]
fn unwritable_output_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), small_digits());
    let o = run(&[
        "solve",
        p.to_str().unwrap(),
        "--out",
        "/nonexistent-dir/r.json",
        "--quiet",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent-dir"));
}

fn l1_digits() -> serde_json::Value {
    with(small_digits(), &["filter_norm"], "l1".into())
}

#[test]
fn export_then_solve_file_reproduces_the_optimum() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), l1_digits());
    let expected = run_json(&["solve", p.to_str().unwrap(), "--quiet"])["objective"]
        .as_f64()
        .unwrap();
    for fmt in ["cbf", "mps"] {
        assert_same_optimum(exported_optimum(&p, fmt, dir.path()), expected, fmt);
    }
}

/// Runs a command expected to fail: non-zero exit, one line naming `needle`, no output file.
fn refuses_cmd(args: &[&str], out: &Path, needle: &str) {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "expected failure for {needle}");
    assert!(
        err.contains(needle),
        "stderr {err:?} should mention {needle:?}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(!err.contains("panicked"), "no panic: {err}");
    assert!(!out.exists(), "no partial output");
}

#[test]
fn mps_export_of_a_cone_program_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), small_digits());
    let out = dir.path().join("p.mps");
    refuses_cmd(
        &[
            "export",
            p.to_str().unwrap(),
            "--format",
            "mps",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        &out,
        "--format cbf",
    );
}

#[test]
fn unknown_export_format_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), small_digits());
    let out = dir.path().join("p.lp");
    let o = run(&[
        "export",
        p.to_str().unwrap(),
        "--format",
        "lp",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("lp"));
    assert!(!out.exists());
}

#[test]
fn export_to_unwritable_folder_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), small_digits());
    let out = Path::new("/nonexistent-dir/p.cbf");
    refuses_cmd(
        &[
            "export",
            p.to_str().unwrap(),
            "--format",
            "cbf",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        out,
        "/nonexistent-dir",
    );
}

/// `solve-file` on a file with these contents must fail naming `needle`, writing nothing.
fn solve_file_refuses(name: &str, contents: &str, needle: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join(name);
    std::fs::write(&f, contents).unwrap();
    let out = dir.path().join("r.json");
    refuses_cmd(
        &[
            "solve-file",
            f.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &out,
        needle,
    );
}

#[test]
fn malformed_cbf_names_the_line() {
    solve_file_refuses(
        "bad.cbf",
        "VER\n3\n\nOBJSENSE\nMIN\n\nVAR\n2 1\nF 2\n\nOBJACOORD\n1\n5 1.0\n",
        "line 13",
    );
}

#[test]
fn malformed_mps_names_the_line() {
    solve_file_refuses(
        "bad.mps",
        "NAME x\nROWS\n N obj\nCOLUMNS\n x0 obj abc\nENDATA\n",
        "line 5",
    );
}

#[test]
fn solve_file_refuses_unknown_extensions() {
    solve_file_refuses("p.txt", "hello", ".cbf and .mps");
}

#[test]
fn osqp_on_a_cone_program_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), small_digits());
    let out = dir.path().join("r.json");
    // Without the feature the refusal says how to build it; with it, that OSQP cannot take cones.
    let needle = if cfg!(feature = "osqp") {
        "clarabel"
    } else {
        "--features osqp"
    };
    refuses_cmd(
        &[
            "solve",
            p.to_str().unwrap(),
            "--solver",
            "osqp",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        &out,
        needle,
    );
}

#[test]
fn certify_network_reports_its_gap_and_refuses_bad_shapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let problem = root().join("problems/signal_exact.json");
    let good = dir.path().join("net.json");
    std::fs::write(
        &good,
        r#"{"filters": [[0.5, -0.5], [1.0, 0.2]], "output_weights": [0.3, -0.7]}"#,
    )
    .unwrap();
    let c = run_json(&[
        "certify",
        problem.to_str().unwrap(),
        "--network",
        good.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(c["network"]["scope"], "global");
    assert!(c["network"]["gap"].as_f64().unwrap() > 0.0);
    assert_eq!(c["optimum"]["certified"], true);
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"filters": [[0.5, -0.5, 1.0]], "output_weights": [0.3]}"#,
    )
    .unwrap();
    let out = dir.path().join("c.json");
    refuses_cmd(
        &[
            "certify",
            problem.to_str().unwrap(),
            "--network",
            bad.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        &out,
        "h = 2",
    );
}

/// `"pooling": "max"` end to end: the exact signal problem with global max pooling is solved, the
/// result names the pooling, and `certify --network` with the decoded network (the result file
/// itself) is certified globally with a gap at solver accuracy.
#[test]
fn max_pooling_problem_solves_and_certifies_its_network_globally() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(
        dir.path(),
        serde_json::json!({
            "inputs": data("signal_x.npy"),
            "targets": data("signal_y.npy"),
            "architecture": {"kind": "two_layer", "kernel": [2], "pooling": "max"},
            "beta": 0.1,
            "arrangements": {"mode": "exact"}
        }),
    );
    let out = dir.path().join("r.json");
    let o = run(&[
        "solve",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&std::fs::read(&out).expect("result"));
    assert_eq!(r["status"], "optimal");
    assert_eq!(r["network"]["pooling"], "max");
    assert_eq!(r["certificate"]["scope"], "global");
    let (obj, net) = (
        r["objective"].as_f64().unwrap(),
        r["network_objective"].as_f64().unwrap(),
    );
    assert!(
        (obj - net).abs() <= 1e-6 * obj.abs().max(1.0),
        "{obj} vs {net}"
    );
    let c = run_json(&[
        "certify",
        p.to_str().unwrap(),
        "--network",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(c["network"]["scope"], "global");
    let gap = c["network"]["gap"].as_f64().unwrap();
    assert!(
        gap.abs() <= 1e-6,
        "gap of the decoded max-pool network {gap}"
    );
    // `predict` rebuilds the max-pool network from the result JSON alone: its outputs give the
    // reported loss.
    let x = data("signal_x.npy");
    let o = run(&["predict", out.to_str().unwrap(), "--inputs", &x]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f: Vec<f64> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.trim().parse().expect("a number per line"))
        .collect();
    let y: ndarray::Array1<f64> =
        ndarray_npy::read_npy(root().join("problems/data/signal_y.npy")).expect("targets");
    assert_eq!(f.len(), y.len(), "one prediction per sample");
    let loss: f64 = 0.5
        * f.iter()
            .zip(&y)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>();
    let want = r["loss"].as_f64().unwrap();
    assert!(
        (loss - want).abs() <= 1e-9 * want.max(1.0),
        "loss of predictions {loss} vs result {want}"
    );
}

#[test]
fn too_large_exact_max_pooling_request() {
    let v = with(
        with(small_digits(), &["architecture", "pooling"], "max".into()),
        &["arrangements"],
        serde_json::json!({"mode": "exact"}),
    );
    refuses(v, "pairwise differences");
}

fn circular_exact() -> PathBuf {
    root().join("problems/circular_exact.json")
}

#[test]
fn circular_problem_solves_with_its_layout() {
    let r = run_json(&["solve", circular_exact().to_str().unwrap(), "--quiet"]);
    assert_eq!(r["status"], "optimal");
    assert_eq!(r["network"]["kind"], "circular");
    assert_eq!(r["network"]["signal_len"], 3);
    assert_eq!(r["network"]["bias"], true);
    assert_eq!(r["certificate"]["scope"], "global");
    assert_eq!(r["certificate"]["certified"], true);
    let m = r["neurons"].as_u64().unwrap() as usize;
    for key in ["filters", "inner_filters"] {
        let f = r[key].as_array().expect(key);
        assert_eq!(f.len(), m, "{key}");
        assert!(f.iter().all(|v| v.as_array().unwrap().len() == 3), "{key}");
    }
    assert_eq!(r["biases"].as_array().expect("biases").len(), m);
    assert_eq!(r["output_weights"].as_array().expect("weights").len(), m);
    // Inner filters are unit vectors.
    for a in r["inner_filters"].as_array().unwrap() {
        let n2: f64 = a
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap().powi(2))
            .sum();
        assert!((n2 - 1.0).abs() < 1e-9, "‖a‖² = {n2}");
    }
}

#[test]
fn circular_export_then_solve_file_reproduces_the_optimum() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = circular_exact();
    let expected = run_json(&["solve", p.to_str().unwrap(), "--quiet"])["objective"]
        .as_f64()
        .unwrap();
    assert_same_optimum(exported_optimum(&p, "cbf", dir.path()), expected, "cbf");
    let mps = dir.path().join("c.mps");
    refuses_cmd(
        &[
            "export",
            p.to_str().unwrap(),
            "--format",
            "mps",
            "--out",
            mps.to_str().unwrap(),
            "--quiet",
        ],
        &mps,
        "second-order cone",
    );
}

#[test]
fn circular_on_images_is_refused() {
    let v = with(
        small_digits(),
        &["architecture"],
        serde_json::json!({"kind": "circular"}),
    );
    refuses(v.clone(), "images.npy holds [1797, 1, 8, 8]");
    refuses(v, "x.reshape(n, 1, -1)");
}

#[test]
fn circular_with_several_channels_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    ndarray_npy::write_npy(
        dir.path().join("x.npy"),
        &ndarray::Array3::<f64>::ones((4, 3, 5)),
    )
    .unwrap();
    ndarray_npy::write_npy(dir.path().join("y.npy"), &ndarray::Array1::<f64>::ones(4)).unwrap();
    let v = serde_json::json!({
        "inputs": dir.path().join("x.npy"), "targets": dir.path().join("y.npy"),
        "architecture": {"kind": "circular"},
        "beta": 0.1, "arrangements": {"mode": "sample", "count": 5, "seed": 0}
    });
    refuses(v.clone(), "[4, 3, 5]");
    refuses(
        with(
            v,
            &["architecture"],
            serde_json::json!({"kind": "circular", "bias": "yes"}),
        ),
        "expected a boolean",
    );
}

#[test]
fn circular_refuses_what_it_does_not_support() {
    let p = circular_exact();
    let dir = tempfile::tempdir().expect("tempdir");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let v = with(v, &["inputs"], data("circular_exact_x.npy").into());
    let v = with(v, &["targets"], data("circular_exact_y.npy").into());
    refuses(
        with(v.clone(), &["filter_norm"], "l1".into()),
        "filter_norm",
    );
    refuses(
        with(
            v.clone(),
            &["architecture", "kernel"],
            serde_json::json!([2]),
        ),
        "kernel",
    );
    let pf = write_problem(dir.path(), v);
    refuses_file(&pf, &["--coupling", "compressed"], "direct coupling");
    let net = dir.path().join("net.json");
    std::fs::write(&net, r#"{"filters": [[1, 0, 0]], "output_weights": [1]}"#).unwrap();
    refuses_file(&pf, &["--network", net.to_str().unwrap()], "--network");
}

#[test]
fn predict_rebuilds_a_circular_network_from_its_result() {
    // The outputs `predict` computes from the JSON alone reproduce the result's loss.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r.json");
    let o = run(&[
        "solve",
        circular_exact().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&std::fs::read(&out).unwrap());
    let o = run(&[
        "predict",
        out.to_str().unwrap(),
        "--inputs",
        &data("circular_exact_x.npy"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f: Vec<f64> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.trim().parse().expect("a number per line"))
        .collect();
    let y: ndarray::Array1<f64> = ndarray_npy::read_npy(data("circular_exact_y.npy")).unwrap();
    assert_eq!(f.len(), y.len());
    let loss: f64 = 0.5 * f.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
    let want = r["loss"].as_f64().unwrap();
    assert!(
        (loss - want).abs() < 1e-12 * want.max(1.0),
        "{loss} vs {want}"
    );
    // Images are refused by the circular network's input shape.
    let o = run(&[
        "predict",
        out.to_str().unwrap(),
        "--inputs",
        &data("images.npy"),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("[1, 3]"));
}

#[test]
fn multi_layer_circular_problem_solves_and_predict_rebuilds_it() {
    // "layers": 5 — two more circulant filters per neuron; the result carries them, the layout
    // says how many layers, and `predict` rebuilds the deeper network from the JSON alone.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(circular_exact()).unwrap()).unwrap();
    for key in ["inputs", "targets"] {
        let rel = v[key].as_str().unwrap().to_string();
        v[key] = root()
            .join("problems")
            .join(rel)
            .display()
            .to_string()
            .into();
    }
    v["architecture"]["layers"] = 5.into();
    let p = write_problem(dir.path(), v.clone());
    let out = dir.path().join("r.json");
    let o = run(&[
        "solve",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&std::fs::read(&out).unwrap());
    assert_eq!(r["network"]["layers"], 5);
    let layers = r["circulant_filters"]
        .as_array()
        .expect("circulant_filters");
    assert_eq!(layers.len(), 2);
    assert_eq!(
        layers[0].as_array().unwrap().len(),
        r["neurons"].as_u64().unwrap() as usize
    );
    let three = run_json(&["solve", circular_exact().to_str().unwrap(), "--quiet"]);
    assert_eq!(
        r["objective"], three["objective"],
        "the same program as three layers"
    );
    let o = run(&[
        "predict",
        out.to_str().unwrap(),
        "--inputs",
        &data("circular_exact_x.npy"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f: Vec<f64> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.trim().parse().expect("a number per line"))
        .collect();
    let y: ndarray::Array1<f64> = ndarray_npy::read_npy(data("circular_exact_y.npy")).unwrap();
    let loss: f64 = 0.5 * f.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
    let want = r["loss"].as_f64().unwrap();
    assert!(
        (loss - want).abs() < 1e-12 * want.max(1.0),
        "{loss} vs {want}"
    );
    // A result whose layers and filters disagree is refused, naming both.
    let mut bad = r.clone();
    bad["network"]["layers"] = 6.into();
    let bad_path = dir.path().join("bad.json");
    std::fs::write(&bad_path, serde_json::to_string(&bad).unwrap()).unwrap();
    let o = run(&[
        "predict",
        bad_path.to_str().unwrap(),
        "--inputs",
        &data("circular_exact_x.npy"),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("circulant_filters"));
    // Fewer than three layers is refused with the range.
    v["architecture"]["layers"] = 2.into();
    let p = write_problem(dir.path(), v);
    let o = run(&["solve", p.to_str().unwrap(), "--quiet"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("architecture.layers = 2"));
}

fn three_layer_problem() -> serde_json::Value {
    serde_json::json!({
        "inputs": data("three_x.npy"),
        "targets": data("three_y.npy"),
        "max_samples": 12,
        "architecture": {"kind": "three_layer", "kernel": [3], "inner_filters": 2,
                         "outer_patterns": {"mode": "sample", "count": 20, "seed": 0}},
        "beta": 0.05,
        "arrangements": {"mode": "sample", "count": 8, "seed": 0}
    })
}

#[test]
fn three_layer_solves_with_its_result_keys_and_certifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), three_layer_problem());
    let r = run_json(&["solve", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r["status"], "optimal");
    assert_eq!(r["network"]["kind"], "three_layer");
    let m = r["subnetworks"].as_u64().unwrap() as usize;
    assert!(m > 0);
    assert_eq!(r["filters"].as_array().unwrap().len(), m);
    assert_eq!(r["inner_weights"].as_array().unwrap().len(), m);
    assert_eq!(r["output_weights"].as_array().unwrap().len(), m);
    let widths: Vec<u64> = r["inner_widths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    for (j, &w) in widths.iter().enumerate() {
        assert_eq!(r["filters"][j].as_array().unwrap().len() as u64, w);
        assert_eq!(r["inner_weights"][j].as_array().unwrap().len() as u64, w);
        assert_eq!(r["filters"][j][0].as_array().unwrap().len(), 3, "h = 3");
    }
    assert_eq!(r["neurons"].as_u64().unwrap(), widths.iter().sum::<u64>());
    let (a, b) = (
        r["objective"].as_f64().unwrap(),
        r["network_objective"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 1e-6 * a.abs().max(1.0), "{a} vs {b}");
    for key in [
        "outer_patterns",
        "outer_tried",
        "outer_mode",
        "wider_than_inner_filters",
        "max_outer_pattern_violation",
        "max_constraint_violation",
        "program",
        "solver",
        "timings",
        "data",
    ] {
        assert!(r.get(key).is_some(), "missing key {key}");
    }
    let c = run_json(&["certify", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(c["certified"], true);
    assert_eq!(c["scope"], "sampled_patterns");
}

#[test]
fn shipped_three_layer_problem_solves() {
    let r = run_json(&[
        "solve",
        root().join("problems/three_layer.json").to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(r["status"], "optimal");
    assert_eq!(r["certificate"]["certified"], true);
}

#[test]
fn three_layer_with_zero_inner_filters_is_refused() {
    refuses(
        with(
            three_layer_problem(),
            &["architecture", "inner_filters"],
            0.into(),
        ),
        "inner_filters = 0",
    );
    // The message names the file and the fix too.
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(
        dir.path(),
        with(
            three_layer_problem(),
            &["architecture", "inner_filters"],
            0.into(),
        ),
    );
    let o = run(&["solve", p.to_str().unwrap(), "--quiet"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("problem.json") && err.contains("inner_filters ≥ 1"),
        "{err}"
    );
}

#[test]
fn three_layer_bad_outer_patterns_are_refused() {
    refuses(
        with(
            three_layer_problem(),
            &["architecture", "outer_patterns"],
            serde_json::json!({"mode": "sample", "count": 0, "seed": 0}),
        ),
        "outer_patterns.count = 0",
    );
    refuses(
        with(
            three_layer_problem(),
            &["architecture", "outer_patterns"],
            serde_json::json!({"mode": "all"}),
        ),
        "n = 12",
    );
    refuses(
        with(
            three_layer_problem(),
            &["architecture", "pooling"],
            "sum".into(),
        ),
        "unknown field `pooling`",
    );
    refuses(
        with(three_layer_problem(), &["filter_norm"], "l1".into()),
        "two_layer only",
    );
}

#[test]
fn three_layer_export_then_solve_file_reproduces_the_optimum() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), three_layer_problem());
    let expected = run_json(&["solve", p.to_str().unwrap(), "--quiet"])["objective"]
        .as_f64()
        .unwrap();
    assert_same_optimum(exported_optimum(&p, "cbf", dir.path()), expected, "cbf");
}

#[test]
fn predict_rebuilds_a_three_layer_network_from_its_result() {
    // The outputs `predict` computes from the JSON alone (independent direct-convolution forward
    // pass) reproduce the result's loss on the training inputs.
    for bias in [false, true] {
        predict_three_layer(bias);
    }
}

fn predict_three_layer(bias: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut v = three_layer_problem();
    if bias {
        v["architecture"]["bias"] = true.into();
    }
    let p = write_problem(dir.path(), v);
    let out = dir.path().join("r.json");
    let o = run(&[
        "solve",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&std::fs::read(&out).unwrap());
    let m = r["subnetworks"].as_u64().unwrap() as usize;
    assert!(m > 1);
    assert_eq!(
        r["data"]["filter_len"], 3,
        "filters keep length h without the bias"
    );
    if bias {
        assert_eq!(r["network"]["bias"], true);
        let b = r["biases"].as_array().expect("biases with a bias");
        assert_eq!(b.len(), m);
        for j in 0..m {
            assert_eq!(
                b[j].as_array().unwrap().len(),
                r["inner_widths"][j].as_u64().unwrap() as usize
            );
        }
    } else {
        assert!(r["network"].get("bias").is_none() && r.get("biases").is_none());
    }
    // The problem keeps the first 12 samples.
    let x: ndarray::Array3<f64> = ndarray_npy::read_npy(data("three_x.npy")).unwrap();
    let y: ndarray::Array1<f64> = ndarray_npy::read_npy(data("three_y.npy")).unwrap();
    let xp = dir.path().join("train.npy");
    ndarray_npy::write_npy(&xp, &x.slice(ndarray::s![..12, .., ..]).to_owned()).unwrap();
    let o = run(&[
        "predict",
        out.to_str().unwrap(),
        "--inputs",
        xp.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f: Vec<f64> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.trim().parse().expect("a number per line"))
        .collect();
    assert_eq!(f.len(), 12);
    let loss: f64 = 0.5 * f.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
    let want = r["loss"].as_f64().unwrap();
    assert!(want > 1e-3, "a loss that can tell a wrong network: {want}");
    assert!(
        (loss - want).abs() < 1e-12 * want.max(1.0),
        "{loss} vs {want}"
    );
    // A result whose weights do not fit its layout is refused naming the file and the shape.
    let mut bad = r.clone();
    bad["filters"][0][0] = serde_json::json!([1.0, 2.0]);
    let bp = dir.path().join("bad.json");
    std::fs::write(&bp, bad.to_string()).unwrap();
    let o = run(&[
        "predict",
        bp.to_str().unwrap(),
        "--inputs",
        xp.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("bad.json") && err.contains("h = 3"),
        "{err}"
    );
    let mut bad = r.clone();
    bad["inner_weights"][0] = serde_json::json!([]);
    std::fs::write(&bp, bad.to_string()).unwrap();
    let o = run(&[
        "predict",
        bp.to_str().unwrap(),
        "--inputs",
        xp.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("inner_weights"),
        "{err}"
    );
    // Biases must come exactly with network.bias.
    let mut bad = r.clone();
    bad["network"]["bias"] = (!bias).into();
    std::fs::write(&bp, bad.to_string()).unwrap();
    let o = run(&[
        "predict",
        bp.to_str().unwrap(),
        "--inputs",
        xp.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("biases"), "{err}");
}

/// A bad architecture must be refused with one line that names the problem file and every needle.
fn refuses_naming_file(value: serde_json::Value, needles: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), value);
    let out = dir.path().join("result.json");
    let o = run(&[
        "solve",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "expected failure for {needles:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(!err.contains("panicked"), "no panic: {err}");
    assert!(!out.exists(), "no partial output");
    for needle in [p.to_str().unwrap()].iter().chain(needles) {
        assert!(
            err.contains(needle),
            "stderr {err:?} should mention {needle:?}"
        );
    }
}

fn with_architecture(pairs: &[(&str, serde_json::Value)]) -> serde_json::Value {
    let mut v = small_digits();
    for (k, val) in pairs {
        v["architecture"][*k] = val.clone();
    }
    v
}

#[test]
fn pool_size_not_dividing_the_grid() {
    // 8×8 digits, 3×3 kernel: a 6×6 grid of positions; 4×4 windows do not tile it.
    refuses_naming_file(
        with_architecture(&[
            ("pooling", "local_average".into()),
            ("pool_size", serde_json::json!([4, 4])),
        ]),
        &["pool size 4×4 does not divide the 6×6 grid", "[1, 2, 3, 6]"],
    );
}

#[test]
fn pool_size_with_a_global_pooling() {
    refuses_naming_file(
        with_architecture(&[("pool_size", serde_json::json!([2, 2]))]),
        &["pool_size", "\"sum\"", "local_average"],
    );
}

#[test]
fn local_average_pooling_without_pool_size() {
    refuses_naming_file(
        with_architecture(&[("pooling", "local_average".into())]),
        &["needs architecture.pool_size"],
    );
}

#[test]
fn pool_size_with_the_wrong_number_of_entries() {
    refuses_naming_file(
        with_architecture(&[
            ("pooling", "local_average".into()),
            ("pool_size", serde_json::json!([2])),
        ]),
        &["pool_size = [2] has 1 entries", "give 2"],
    );
}

#[test]
fn unknown_activation() {
    refuses_naming_file(
        with_architecture(&[("activation", "tanh".into())]),
        &["tanh", "relu", "linear"],
    );
}

#[test]
fn bias_must_be_a_boolean() {
    refuses_naming_file(
        with_architecture(&[("bias", 1.into())]),
        &["expected a boolean"],
    );
}

/// Local average pooling, linear activation and biases through the real binary: the result keys,
/// the `network` object, and `export`.
#[test]
fn architecture_variants_solve_and_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            vec![
                ("pooling", serde_json::json!("local_average")),
                ("pool_size", serde_json::json!([2, 3])),
                ("bias", serde_json::json!(true)),
            ],
            "sample",
        ),
        (
            vec![
                ("activation", serde_json::json!("linear")),
                ("pooling", serde_json::json!("local_average")),
                ("pool_size", serde_json::json!([3, 3])),
            ],
            "none",
        ),
    ];
    for (pairs, mode) in cases {
        let p = write_problem(dir.path(), with_architecture(&pairs));
        let r = run_json(&["solve", p.to_str().unwrap(), "--quiet"]);
        assert_eq!(r["status"], "optimal");
        assert_eq!(r["arrangement_mode"], mode);
        assert_eq!(r["network"]["pooling"], "local_average");
        let pool_size = &pairs.iter().find(|(k, _)| *k == "pool_size").unwrap().1;
        assert_eq!(&r["network"]["pool_size"], pool_size);
        let net = r["network_objective"].as_f64().unwrap();
        let obj = r["objective"].as_f64().unwrap();
        assert!(
            (net - obj).abs() <= 1e-6 * obj.abs().max(1.0),
            "{net} vs {obj}"
        );
        let neurons = r["neurons"].as_u64().unwrap() as usize;
        if mode == "none" {
            assert_eq!(r["network"]["activation"], "linear");
            assert_eq!(r["certificate"]["scope"], "global");
            assert_eq!(neurons, 1);
            assert!(r.get("biases").is_none());
        } else {
            assert_eq!(r["network"]["bias"], true);
            assert_eq!(r["biases"].as_array().unwrap().len(), neurons);
            assert_eq!(r["filters"][0].as_array().unwrap().len(), 9);
        }
        assert_same_optimum(exported_optimum(&p, "cbf", dir.path()), obj, "cbf");
    }
}

#[test]
fn certify_network_refuses_missing_or_extra_biases_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut v = serde_json::json!({
        "inputs": data("images.npy"),
        "targets": data("labels.npy"),
        "binary": {"positive": [3], "negative": [8]},
        "max_samples": 10,
        "architecture": {"kind": "two_layer", "kernel": [3, 3], "pooling": "sum", "bias": true},
        "beta": 0.1,
        "arrangements": {"mode": "sample", "count": 5, "seed": 1}
    });
    let net = dir.path().join("net.json");
    let u = serde_json::json!([[0.1, 0.0, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0, -0.1]]);
    std::fs::write(
        &net,
        serde_json::json!({"filters": u, "output_weights": [1.0]}).to_string(),
    )
    .unwrap();
    let p = write_problem(dir.path(), v.clone());
    let out = dir.path().join("c.json");
    let args = |p: &Path| {
        vec![
            "certify".to_string(),
            p.display().to_string(),
            "--network".into(),
            net.display().to_string(),
            "--out".into(),
            out.display().to_string(),
            "--quiet".into(),
        ]
    };
    let a = args(&p);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    refuses_cmd(
        &a,
        &out,
        "net.json: the problem has \"bias\": true but the network has no \"biases\"",
    );
    // The same file with biases is accepted.
    std::fs::write(
        &net,
        serde_json::json!({"filters": u, "output_weights": [1.0], "biases": [0.3]}).to_string(),
    )
    .unwrap();
    let o = run(&a);
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("biases"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.exists(), "certificate written");
    std::fs::remove_file(&out).unwrap();
    // Biases for a problem without bias are refused.
    v["architecture"]["bias"] = false.into();
    let p = write_problem(dir.path(), v);
    let a = args(&p);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    refuses_cmd(
        &a,
        &out,
        "net.json: the network has \"biases\" but the problem's architecture has no bias",
    );
}

#[test]
fn linear_activation_with_max_pooling() {
    refuses_naming_file(
        with_architecture(&[("activation", "linear".into()), ("pooling", "max".into())]),
        &["\"linear\" with \"pooling\": \"max\" is not supported"],
    );
}

#[test]
fn path_writes_one_entry_per_beta_and_matches_solve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), small_digits());
    let out = dir.path().join("path.json");
    let o = run(&[
        "path",
        p.to_str().unwrap(),
        "--betas",
        "0.1,0.05",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert_eq!(table.lines().count(), 3, "header + one line per β: {table}");
    let v = json(&std::fs::read(&out).expect("written"));
    assert_eq!(v["solver"], "al");
    let entries = v["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    for key in [
        "beta",
        "objective",
        "lower_bound",
        "violation",
        "iterations",
        "seconds",
        "neurons",
        "status",
    ] {
        assert!(entries[0].get(key).is_some(), "missing {key}");
    }
    assert_eq!(entries[0]["beta"], 0.1);
    assert!(entries.iter().all(|e| e["status"] == "optimal"));
    // The first β is the problem's own: same optimum as `solve` (Clarabel).
    let s = run(&["solve", p.to_str().unwrap(), "--quiet"]);
    let want = json(&s.stdout)["objective"].as_f64().unwrap();
    let got = entries[0]["objective"].as_f64().unwrap();
    assert!((got - want).abs() <= 1e-5 * want, "{got} vs {want}");
    assert!(entries[0]["lower_bound"].as_f64().unwrap() <= want * (1.0 + 1e-8));
    assert!(entries[0]["violation"].as_f64().unwrap() <= 1e-6);
}

#[test]
fn path_refuses_bad_betas_and_inexact_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_problem(dir.path(), small_digits());
    let out = dir.path().join("path.json");
    let (ps, os) = (p.to_str().unwrap(), out.to_str().unwrap());
    for (betas, needle) in [
        ("0.1,-0.05", "β = -0.05 (entry 2"),
        ("0", "β = 0 (entry 1"),
        ("0.1,NaN", "β = NaN"),
        ("0.1,0.1", "appears twice"),
    ] {
        refuses_cmd(
            &["path", ps, "--betas", betas, "--out", os, "--quiet"],
            &out,
            needle,
        );
    }
    refuses_cmd(
        &[
            "path",
            ps,
            "--betas",
            "0.1",
            "--tol-gap",
            "0",
            "--out",
            os,
            "--quiet",
        ],
        &out,
        "--tol-gap = 0",
    );
    refuses_cmd(
        &[
            "path",
            ps,
            "--betas",
            "0.1",
            "--max-iter",
            "3",
            "--no-polish",
            "--out",
            os,
            "--quiet",
        ],
        &out,
        "status max_iterations",
    );
}
