//! Regression tests for answers that were wrong with exit 0, files that were clobbered, aborts and
//! messages that pointed at the wrong thing (issue "Trust"). Each runs the real binary and failed
//! before its fix.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cvxcnn"))
}

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("problems/data")
        .join(name)
        .display()
        .to_string()
}

fn shipped(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("problems")
        .join(name)
        .display()
        .to_string()
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run cvxcnn")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok_json(args: &[&str]) -> Value {
    let o = run(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

/// Runs `args`, which must fail with one line on stderr containing every needle.
fn fails_with(args: &[&str], needles: &[&str]) -> String {
    let o = run(args);
    let e = stderr(&o);
    assert!(!o.status.success(), "{args:?} succeeded; stderr: {e}");
    assert_ne!(o.status.code(), Some(101), "{args:?} panicked: {e}");
    assert_ne!(
        o.status.code(),
        None,
        "{args:?} was killed by a signal: {e}"
    );
    for n in needles {
        assert!(e.contains(n), "{args:?}: {n:?} not in: {e}");
    }
    e
}

fn write(dir: &Path, name: &str, v: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p.display().to_string()
}

/// 40 threes and eights, 3×3 filters, 40 gates: solves in well under a second.
fn digits40() -> Value {
    json!({
        "inputs": data("images.npy"),
        "targets": data("labels.npy"),
        "binary": {"positive": [3], "negative": [8]},
        "max_samples": 40,
        "architecture": {"kind": "two_layer", "kernel": [3, 3], "stride": [1, 1], "pooling": "sum"},
        "beta": 0.1,
        "arrangements": {"mode": "sample", "count": 40, "seed": 1}
    })
}

fn signal_exact() -> Value {
    json!({
        "inputs": data("signal_x.npy"),
        "targets": data("signal_y.npy"),
        "architecture": {"kind": "two_layer", "kernel": [2], "stride": [1], "pooling": "sum"},
        "beta": 0.1,
        "arrangements": {"mode": "exact"}
    })
}

fn set(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn set_arch(mut v: Value, key: &str, value: Value) -> Value {
    v["architecture"][key] = value;
    v
}

// 1. `path` solved the ℓ2 program for an ℓ1 problem and called it optimal.
#[test]
fn path_refuses_the_l1_norm_with_first_order_solvers_and_solves_it_with_clarabel() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "l1.json",
        &set(digits40(), "filter_norm", json!("l1")),
    );
    for solver in ["al", "fista"] {
        fails_with(
            &["path", &p, "--betas", "0.1", "--solver", solver, "--quiet"],
            &["ℓ1 filter norm", "--solver clarabel"],
        );
    }
    let path = ok_json(&[
        "path", &p, "--betas", "0.1", "--solver", "clarabel", "--quiet",
    ]);
    let solve = ok_json(&["solve", &p, "--quiet"]);
    let got = path["entries"][0]["objective"].as_f64().unwrap();
    let want = solve["network_objective"].as_f64().unwrap();
    assert!(
        (got - want).abs() <= 1e-9 * want,
        "path {got} vs solve {want}"
    );
    // The ℓ2 optimum of the same data is a different number: the bug's answer is caught.
    let l2 = ok_json(&[
        "solve",
        &write(dir.path(), "l2.json", &digits40()),
        "--quiet",
    ]);
    let l2 = l2["network_objective"].as_f64().unwrap();
    assert!((got - l2).abs() > 1e-3 * l2, "ℓ1 {got} vs ℓ2 {l2}");
}

// 2. `path` on a one-vs-rest problem regressed on the raw labels and called it optimal.
#[test]
fn path_refuses_one_vs_rest_problems() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = set(digits40(), "task", json!("one_vs_rest"));
    v.as_object_mut().unwrap().remove("binary");
    let p = write(dir.path(), "ovr.json", &v);
    for solver in ["al", "fista", "clarabel"] {
        let e = fails_with(
            &["path", &p, "--betas", "0.1", "--solver", solver, "--quiet"],
            &["one-vs-rest", "\"binary\""],
        );
        assert!(!e.contains("pipeline::"), "names a Rust function: {e}");
    }
}

fn export_to(problem: &str, out: &str, extra: &[&str]) -> Output {
    let mut args = vec!["export", problem, "--format", "cbf", "--out", out];
    args.extend_from_slice(extra);
    args.push("--quiet");
    run(&args)
}

// 3. `--out` replaced a symlink by a regular file and left its target untouched.
#[test]
fn out_writes_through_a_symlink_to_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.json", &signal_exact());
    let target = dir.path().join("target.cbf");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.cbf");
    std::os::unix::fs::symlink("target.cbf", &link).unwrap();
    let o = export_to(&p, link.to_str().unwrap(), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::symlink_metadata(&link).unwrap();
    assert!(md.file_type().is_symlink(), "the link was replaced");
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(text.contains("VER"), "the target was not written: {text}");
    // A dangling link names the file to create.
    let dangling = dir.path().join("dangling.cbf");
    std::os::unix::fs::symlink("created.cbf", &dangling).unwrap();
    let o = export_to(&p, dangling.to_str().unwrap(), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(dir.path().join("created.cbf"))
            .unwrap()
            .contains("VER")
    );
}

// 3. `--out /dev/stdout` printed nothing and (as root) replaced the system's /dev/stdout link.
#[test]
fn out_to_stdout_and_special_files_writes_them_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.json", &signal_exact());
    let direct = export_to(&p, "-", &[]);
    assert!(direct.status.success(), "{}", stderr(&direct));
    assert!(String::from_utf8_lossy(&direct.stdout).contains("VER"));
    let dev = export_to(&p, "/dev/stdout", &[]);
    assert!(dev.status.success(), "{}", stderr(&dev));
    assert_eq!(
        dev.stdout, direct.stdout,
        "--out /dev/stdout prints the file"
    );
    let md = std::fs::symlink_metadata("/dev/stdout").unwrap();
    assert!(
        !md.file_type().is_file(),
        "/dev/stdout became a regular file"
    );
    // A named pipe is written in place, not replaced by a file.
    let fifo = dir.path().join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let o = export_to(&p, fifo.to_str().unwrap(), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(reader.join().unwrap(), direct.stdout);
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    // A folder is refused with the flag's name.
    fails_with(
        &[
            "export",
            &p,
            "--format",
            "cbf",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        &["is a folder", "--out"],
    );
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// 4. Output files were created 0600, and overwriting a 0644 file made it 0600.
#[test]
fn new_files_honour_the_umask_and_replaced_files_keep_their_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.json", &signal_exact());
    let exe = env!("CARGO_BIN_EXE_cvxcnn");
    let with_umask = |umask: &str, out: &Path| {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask {umask}; exec \"$0\" export \"$1\" --format cbf --out \"$2\" --quiet"
            ))
            .arg(exe)
            .arg(&p)
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    };
    let new = dir.path().join("new.cbf");
    with_umask("027", &new);
    assert_eq!(mode(&new), 0o640, "0666 less umask 027");
    let new2 = dir.path().join("new2.cbf");
    with_umask("022", &new2);
    assert_eq!(mode(&new2), 0o644, "0666 less umask 022");
    let old = dir.path().join("old.cbf");
    std::fs::write(&old, "old").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o664)).unwrap();
    with_umask("077", &old);
    assert_eq!(mode(&old), 0o664, "an existing file keeps its mode");
    assert!(std::fs::read_to_string(&old).unwrap().contains("VER"));
    // No temporary file is left beside the outputs.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

// 5. A padding of 10⁶ ran 46 s and aborted; 10⁹ gates asked for 24 GB at once and aborted.
#[test]
fn huge_problems_are_refused_with_the_estimate_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let pad = write(
        dir.path(),
        "pad.json",
        &set_arch(digits40(), "padding", json!([1000000, 1000000])),
    );
    let count = write(
        dir.path(),
        "count.json",
        &set(
            digits40(),
            "arrangements",
            json!({"mode": "sample", "count": 1_000_000_000u64, "seed": 0}),
        ),
    );
    let start = std::time::Instant::now();
    fails_with(
        &["solve", &pad, "--quiet"],
        &["needs at least", "patch positions", "padding"],
    );
    fails_with(
        &["solve", &count, "--quiet"],
        &["needs at least", "gates", "arrangements.count"],
    );
    assert!(
        start.elapsed().as_secs_f64() < 5.0,
        "refused before any work, not after it"
    );
    // Under an address-space limit the same inputs end with a message, never an abort.
    let exe = env!("CARGO_BIN_EXE_cvxcnn");
    for p in [&pad, &count] {
        let o = Command::new("sh")
            .arg("-c")
            .arg("ulimit -v 2000000; exec \"$0\" solve \"$1\" --quiet")
            .arg(exe)
            .arg(p)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("ulimit -v"), "{}", stderr(&o));
    }
    // A padding so large its arithmetic would overflow is named as such.
    let pad = write(
        dir.path(),
        "pad2.json",
        &set_arch(digits40(), "padding", json!([u64::MAX / 4, 1])),
    );
    fails_with(&["solve", &pad, "--quiet"], &["architecture.padding"]);
}

// 5. What no estimate covers — the solver's own memory — runs out with a message, not an abort.
#[test]
fn running_out_of_memory_while_solving_ends_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "p.json",
        &set(
            set(digits40(), "max_samples", json!(300)),
            "arrangements",
            json!({"mode": "sample", "count": 2000, "seed": 0}),
        ),
    );
    let o = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 250000; exec \"$0\" solve \"$1\" --quiet --out \"$2\"")
        .arg(env!("CARGO_BIN_EXE_cvxcnn"))
        .arg(&p)
        .arg(dir.path().join("r.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("memory"), "{e}");
    assert!(!dir.path().join("r.json").exists(), "nothing written");
}

fn save_npy_f64(path: &Path, shape: &[usize], fortran: bool, data: &[f64]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!(
        "{{'descr': '<f8', 'fortran_order': {}, 'shape': {shape_text}, }}",
        if fortran { "True" } else { "False" }
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

// 6. Fortran-order inputs were refused with an internal ShapeError; a truncated file was called
//    "not a float32 or float64 array".
#[test]
fn fortran_order_inputs_load_and_truncated_files_say_so() {
    let dir = tempfile::tempdir().unwrap();
    // 6 signals of length 5, one channel, in C and in Fortran order.
    let (n, l) = (6, 5);
    let x: Vec<f64> = (0..n * l)
        .map(|i| ((i * 7919) % 13) as f64 / 13.0 - 0.4)
        .collect();
    let fortran: Vec<f64> = (0..l)
        .flat_map(|j| (0..n).map(move |t| (t, j)))
        .map(|(t, j)| x[t * l + j])
        .collect();
    save_npy_f64(&dir.path().join("xc.npy"), &[n, 1, l], false, &x);
    save_npy_f64(&dir.path().join("xf.npy"), &[n, 1, l], true, &fortran);
    let y: Vec<f64> = (0..n)
        .map(|t| if t % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    save_npy_f64(&dir.path().join("y.npy"), &[n], false, &y);
    let problem = |inputs: &str| {
        json!({
            "inputs": dir.path().join(inputs).display().to_string(),
            "targets": dir.path().join("y.npy").display().to_string(),
            "architecture": {"kind": "two_layer", "kernel": [2], "pooling": "sum"},
            "beta": 0.05,
            "arrangements": {"mode": "exact"}
        })
    };
    let c = ok_json(&[
        "solve",
        &write(dir.path(), "c.json", &problem("xc.npy")),
        "--quiet",
    ]);
    let f = ok_json(&[
        "solve",
        &write(dir.path(), "f.json", &problem("xf.npy")),
        "--quiet",
    ]);
    assert_eq!(
        c["objective"], f["objective"],
        "the same data in either order"
    );
    let bytes = std::fs::read(dir.path().join("xc.npy")).unwrap();
    std::fs::write(dir.path().join("xt.npy"), &bytes[..bytes.len() - 16]).unwrap();
    fails_with(
        &[
            "solve",
            &write(dir.path(), "t.json", &problem("xt.npy")),
            "--quiet",
        ],
        &["truncated", "240 data bytes", "holds 224"],
    );
}

fn infeasible_lp(dir: &Path) -> String {
    let p = dir.join("infeasible.mps");
    std::fs::write(
        &p,
        "NAME INF\nROWS\n N obj\n G c1\nCOLUMNS\n    x obj 1.0 c1 1.0\nRHS\n    RHS c1 2.0\n\
         BOUNDS\n UP BND x 1.0\nENDATA\n",
    )
    .unwrap();
    p.display().to_string()
}

// 7. `solve-file` on a valid infeasible LP said "cannot happen for a valid training problem".
#[test]
fn solve_file_reports_an_infeasible_program_as_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["solve-file", &infeasible_lp(dir.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["status"], "primal_infeasible");
    assert!(r["objective"].is_null());
    assert!(stderr(&o).contains("infeasible"));
    assert!(!stderr(&o).contains("please report"));
}

// 8. Messages that pointed at the wrong thing.
#[test]
fn messages_point_at_the_right_thing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = write(d, "good.json", &digits40());
    // predict with a missing --inputs file named the problem file.
    let result = d.join("r.json");
    let o = run(&["solve", &good, "--out", result.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = fails_with(
        &[
            "predict",
            result.to_str().unwrap(),
            "--inputs",
            "/nonexistent/x.npy",
        ],
        &["/nonexistent/x.npy", "--inputs"],
    );
    assert!(!e.contains("problem file"), "{e}");
    // compare --plot into a missing folder said "choose another --out".
    fails_with(
        &[
            "compare",
            &good,
            "--plot",
            "/nonexistent/gap.svg",
            "--quiet",
        ],
        &["--plot", "/nonexistent"],
    );
    // A binary file got "(check the path)".
    let binary = d.join("binary.json");
    std::fs::write(&binary, (0u8..=255).collect::<Vec<u8>>()).unwrap();
    let e = fails_with(
        &["solve", binary.to_str().unwrap(), "--quiet"],
        &["not a text file"],
    );
    assert!(!e.contains("check the path"), "{e}");
    // kernel [0] was reported as [1, 0].
    let k0 = write(
        d,
        "k0.json",
        &set_arch(signal_exact(), "kernel", json!([0])),
    );
    let e = fails_with(&["solve", &k0, "--quiet"], &["[0]"]);
    assert!(!e.contains("[1, 0]"), "{e}");
    // An empty gates file got the width message.
    let gates = d.join("gates.npy");
    save_npy_f64(&gates, &[0, 2], false, &[]);
    let g = write(
        d,
        "g.json",
        &set(
            signal_exact(),
            "arrangements",
            json!({"mode": "gates", "path": gates.display().to_string()}),
        ),
    );
    let e = fails_with(&["solve", &g, "--quiet"], &["no gates"]);
    assert!(!e.contains("length h"), "{e}");
    std::fs::write(&gates, b"").unwrap();
    fails_with(&["solve", &g, "--quiet"], &["empty"]);
    // clap's tip '-- -1' does not work: our own check must see the value.
    for args in [
        vec!["solve", &good, "--time-limit", "-1", "--quiet"],
        vec![
            "path",
            &good,
            "--betas",
            "0.1",
            "--time-limit",
            "-1",
            "--quiet",
        ],
        vec!["compare", &good, "--time-limit", "-1", "--quiet"],
    ] {
        let e = fails_with(&args, &["--time-limit = -1", "positive"]);
        assert!(!e.contains("'--'"), "{e}");
    }
    // A UTF-8 byte-order mark is accepted; a top-level array is named as such.
    let bom = d.join("bom.json");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(serde_json::to_vec(&signal_exact()).unwrap());
    std::fs::write(&bom, bytes).unwrap();
    ok_json(&["solve", bom.to_str().unwrap(), "--quiet"]);
    let arr = d.join("array.json");
    std::fs::write(&arr, "[1, 2]").unwrap();
    fails_with(
        &["solve", arr.to_str().unwrap(), "--quiet"],
        &["holds an array", "one JSON object"],
    );
    // Options of the other solver were ignored without a word.
    fails_with(
        &["solve", &good, "--eps-abs", "1e-3", "--quiet"],
        &["--eps-abs", "--solver osqp"],
    );
    fails_with(
        &[
            "solve",
            &good,
            "--solver",
            "osqp",
            "--tol-gap-abs",
            "1e-3",
            "--quiet",
        ],
        &["--tol-gap-abs", "--solver clarabel"],
    );
    // `--coupling compressed` replaced by `difference` without a word.
    let o = run(&["solve", &good, "--coupling", "compressed"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("written with the difference coupling"),
        "{}",
        stderr(&o)
    );
}

// 9. `path --solver clarabel` printed a lower bound above its objective; the al column counted every
//    block with a nonzero entry (97 neurons where Clarabel decodes 13).
#[test]
fn path_numbers_are_consistent_with_solve() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.json", &digits40());
    let betas = "0.2,0.1";
    let clarabel = ok_json(&[
        "path", &p, "--betas", betas, "--solver", "clarabel", "--quiet",
    ]);
    let al = ok_json(&["path", &p, "--betas", betas, "--quiet"]);
    for (k, beta) in [0.2, 0.1].into_iter().enumerate() {
        let c = &clarabel["entries"][k];
        let (obj, lb) = (
            c["objective"].as_f64().unwrap(),
            c["lower_bound"].as_f64().unwrap(),
        );
        assert!(
            lb <= obj,
            "β = {beta}: lower bound {lb} above objective {obj}"
        );
        let solved = ok_json(&[
            "solve",
            &write(dir.path(), "b.json", &set(digits40(), "beta", json!(beta))),
            "--quiet",
        ]);
        assert_eq!(c["objective"], solved["network_objective"]);
        assert_eq!(c["neurons"], solved["neurons"]);
        let (al_n, cl_n) = (
            al["entries"][k]["neurons"].as_u64().unwrap() as f64,
            c["neurons"].as_u64().unwrap() as f64,
        );
        // Two solvers may end on different optimal supports, but not 7× apart.
        assert!(
            (al_n - cl_n).abs() <= (0.2 * cl_n).max(2.0),
            "β = {beta}: al counts {al_n} neurons, the decode {cl_n}"
        );
    }
}

// 9. The summary line printed an absolute gap next to a relative threshold.
#[test]
fn summary_line_prints_the_relative_gap_and_the_scope() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["solve", &write(dir.path(), "p.json", &digits40())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("relative gap"), "{e}");
    assert!(e.contains("sampled patterns only"), "{e}");
    let o = run(&["solve", &write(dir.path(), "e.json", &signal_exact())]);
    assert!(stderr(&o).contains("global"), "{}", stderr(&o));
}

// 9. OSQP's `optimal` at its default tolerances was reported as solved while the certificate
//    did not close.
#[cfg(feature = "osqp")]
#[test]
fn an_uncertified_osqp_optimum_is_not_reported_as_solved() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "sig.json",
        &set(signal_exact(), "filter_norm", json!("l1")),
    );
    // At OSQP's default tolerances (1e-6) the certificate does not close (relative gap ~4e-4).
    let e = fails_with(
        &["solve", &p, "--solver", "osqp"],
        &["certificate does not close", "--eps-abs", "--allow-inexact"],
    );
    assert!(e.contains("reported optimal"), "{e}");
    // Tightened as the message says, it does.
    let o = run(&[
        "solve",
        &p,
        "--solver",
        "osqp",
        "--eps-abs",
        "1e-9",
        "--eps-rel",
        "1e-9",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("certificate ok"), "{}", stderr(&o));
}

// 10. A failing `certify` wrote nothing with --out.
#[test]
fn a_failing_certify_writes_its_certificate_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.json", &digits40());
    let out = dir.path().join("c.json");
    let o = run(&[
        "certify",
        &p,
        "--max-iter",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("certified\": false"), "{}", stderr(&o));
    let c: Value = serde_json::from_slice(&std::fs::read(&out).expect("written")).unwrap();
    assert_eq!(c["certified"], false);
    let (lb, primal) = (
        c["lower_bound"].as_f64().unwrap(),
        c["primal_objective"].as_f64().unwrap(),
    );
    assert!(
        lb <= primal,
        "the bound holds whatever the solver did: {lb} vs {primal}"
    );
    // The shipped default still certifies with exit 0.
    let ok = run(&["certify", &shipped("signal_exact.json"), "--quiet"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
}
