//! Tasks through the real binary: one-vs-rest training, held-out accuracy, and `cvxcnn predict`
//! rebuilding networks from result files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cvxcnn"))
        .args(args)
        .output()
        .expect("run cvxcnn")
}

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("problems/data")
        .join(name)
        .display()
        .to_string()
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn write(dir: &Path, name: &str, value: &serde_json::Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(value).expect("json")).expect("write");
    p
}

fn read(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).expect("file written")).expect("JSON")
}

/// Three digit classes, 45 training samples, the shipped held-out digits as test data.
fn three_classes() -> serde_json::Value {
    serde_json::json!({
        "inputs": "IN", "targets": "TG",
        "task": "one_vs_rest",
        "max_samples": 45,
        "test_inputs": data("digits_test_images.npy"),
        "test_targets": data("digits_test_labels.npy"),
        "architecture": {"kind": "two_layer", "kernel": [3, 3], "stride": [2, 2], "pooling": "sum"},
        "beta": 0.2,
        "arrangements": {"mode": "sample", "count": 12, "seed": 3}
    })
}

/// Inputs and labels of the digits whose label is < 3 (so the task has three classes).
fn three_class_data(dir: &Path) -> (String, String) {
    use ndarray_npy::{ReadNpyExt, WriteNpyExt};
    let x =
        ndarray::Array4::<f64>::read_npy(std::fs::File::open(data("images.npy")).unwrap()).unwrap();
    let y =
        ndarray::Array1::<i64>::read_npy(std::fs::File::open(data("labels.npy")).unwrap()).unwrap();
    let keep: Vec<usize> = (0..y.len()).filter(|&t| y[t] < 3).collect();
    let (xp, yp) = (dir.join("x3.npy"), dir.join("y3.npy"));
    x.select(ndarray::Axis(0), &keep)
        .write_npy(std::fs::File::create(&xp).unwrap())
        .unwrap();
    y.select(ndarray::Axis(0), &keep)
        .write_npy(std::fs::File::create(&yp).unwrap())
        .unwrap();
    (xp.display().to_string(), yp.display().to_string())
}

fn problem_with(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let (x, y) = three_class_data(dir);
    let mut v = three_classes();
    v["inputs"] = x.into();
    v["targets"] = y.into();
    edit(&mut v);
    write(dir, "problem.json", &v)
}

fn labels(path: &str) -> Vec<i64> {
    use ndarray_npy::ReadNpyExt;
    ndarray::Array1::<i64>::read_npy(std::fs::File::open(path).unwrap())
        .unwrap()
        .to_vec()
}

#[test]
fn one_vs_rest_trains_one_certified_network_per_class_and_predict_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let p = problem_with(dir.path(), |_| {});
    let out = dir.path().join("r.json");
    let o = run(&["solve", p.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    ok(&o);
    let r = read(&out);
    assert_eq!(r["task"], "one_vs_rest");
    assert_eq!(r["status"], "optimal");
    assert_eq!(r["classes"], serde_json::json!([0, 1, 2]));
    assert_eq!(r["certified"], true);
    let models = r["models"].as_array().unwrap();
    assert_eq!(models.len(), 3);
    let mut total = 0.0;
    for (m, c) in models.iter().zip(0..) {
        assert_eq!(m["class"], c);
        assert_eq!(m["certificate"]["certified"], true);
        let (obj, net) = (
            m["objective"].as_f64().unwrap(),
            m["network_objective"].as_f64().unwrap(),
        );
        assert!((obj - net).abs() <= 1e-6 * obj.max(1.0), "{obj} vs {net}");
        total += obj;
    }
    assert!((r["objective"].as_f64().unwrap() - total).abs() <= 1e-12 * total);

    // `predict` on the held-out inputs gives labels whose accuracy is the reported one, exactly.
    let preds = dir.path().join("pred.txt");
    let o = run(&[
        "predict",
        out.to_str().unwrap(),
        "--inputs",
        &data("digits_test_images.npy"),
        "--out",
        preds.to_str().unwrap(),
    ]);
    ok(&o);
    let predicted: Vec<i64> = std::fs::read_to_string(&preds)
        .unwrap()
        .lines()
        .map(|l| l.parse().expect("a label per line"))
        .collect();
    let truth = labels(&data("digits_test_labels.npy"));
    assert_eq!(predicted.len(), truth.len());
    assert!(predicted.iter().all(|l| [0, 1, 2].contains(l)));
    let acc =
        predicted.iter().zip(&truth).filter(|(p, t)| p == t).count() as f64 / truth.len() as f64;
    assert_eq!(r["test_accuracy"].as_f64().unwrap(), acc);
    assert_eq!(r["test_samples"], truth.len());
    // Three of the ten test digits' classes can be right at most (the rest are other digits).
    let possible = truth.iter().filter(|&&t| t < 3).count() as f64 / truth.len() as f64;
    assert!(
        acc <= possible + 1e-12 && acc > 0.5 * possible,
        "{acc} of {possible}"
    );
    assert!(r["train_accuracy"].as_f64().unwrap() > 0.9);
}

#[test]
fn each_class_is_the_binary_problem_of_that_class_against_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let p = problem_with(dir.path(), |v| {
        v.as_object_mut().unwrap().remove("test_inputs");
        v.as_object_mut().unwrap().remove("test_targets");
    });
    let o = run(&["solve", p.to_str().unwrap(), "--quiet"]);
    ok(&o);
    let ovr: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(ovr.get("test_accuracy").is_none());
    for c in 0..3 {
        let mut v = read(&p);
        v.as_object_mut().unwrap().remove("task");
        v["binary"] = serde_json::json!({"positive": [c], "negative": "rest"});
        let pb = write(dir.path(), "binary.json", &v);
        let o = run(&["solve", pb.to_str().unwrap(), "--quiet"]);
        ok(&o);
        let b: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let m = &ovr["models"][c as usize];
        // Same data, same targets, same gates: the same program, so the same numbers.
        assert_eq!(m["objective"], b["objective"], "class {c}");
        assert_eq!(m["filters"], b["filters"], "class {c}");
        assert_eq!(m["train_accuracy"], b["train_accuracy"], "class {c}");
    }
}

#[test]
fn predict_reproduces_the_scalar_networks_loss() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "p.json",
        &serde_json::json!({
            "inputs": data("images.npy"), "targets": data("labels.npy"),
            "binary": {"positive": [3], "negative": [8]},
            "max_samples": 30,
            "test_inputs": data("digits_test_images.npy"),
            "test_targets": data("digits_test_labels.npy"),
            "architecture": {"kind": "two_layer", "kernel": [3, 3], "stride": [1, 1],
                             "padding": [1, 1], "pooling": "average"},
            "beta": 0.05,
            "arrangements": {"mode": "sample", "count": 15, "seed": 1}
        }),
    );
    let out = dir.path().join("r.json");
    ok(&run(&[
        "solve",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]));
    let r = read(&out);
    // Training inputs of the result, rebuilt from the same filtering as the problem file.
    use ndarray_npy::{ReadNpyExt, WriteNpyExt};
    let x =
        ndarray::Array4::<f64>::read_npy(std::fs::File::open(data("images.npy")).unwrap()).unwrap();
    let y = labels(&data("labels.npy"));
    let keep: Vec<usize> = (0..y.len())
        .filter(|&t| y[t] == 3 || y[t] == 8)
        .take(30)
        .collect();
    let xp = dir.path().join("train.npy");
    x.select(ndarray::Axis(0), &keep)
        .write_npy(std::fs::File::create(&xp).unwrap())
        .unwrap();
    let o = run(&[
        "predict",
        out.to_str().unwrap(),
        "--inputs",
        xp.to_str().unwrap(),
    ]);
    ok(&o);
    let f: Vec<f64> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let loss: f64 = f
        .iter()
        .zip(&keep)
        .map(|(f, &t)| 0.5 * (f - if y[t] == 3 { 1.0 } else { -1.0 }).powi(2))
        .sum();
    let reported = r["loss"].as_f64().unwrap();
    assert!(
        (loss - reported).abs() <= 1e-12 * reported.max(1.0),
        "{loss} vs {reported}"
    );
    let right = f
        .iter()
        .zip(&keep)
        .filter(|(f, t)| (**f >= 0.0) == (y[**t] == 3))
        .count();
    assert_eq!(r["train_accuracy"].as_f64().unwrap(), right as f64 / 30.0);
    // Held-out: only the 3s and 8s of the test split.
    let t = labels(&data("digits_test_labels.npy"));
    let n38 = t.iter().filter(|&&l| l == 3 || l == 8).count();
    assert_eq!(r["test_samples"], n38);
    assert!(r["test_accuracy"].as_f64().unwrap() > 0.7);
    assert!(r["test_loss"].as_f64().unwrap() > 0.0);
}

fn refuses(args: &[&str], needle: &str) {
    let o = run(args);
    assert!(!o.status.success(), "should fail: {args:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(needle), "stderr {err:?} lacks {needle:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
}

#[test]
fn bad_task_inputs_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let solve = |p: &Path, needle: &str| {
        let out = dir.path().join("never.json");
        refuses(
            &["solve", p.to_str().unwrap(), "--out", out.to_str().unwrap()],
            needle,
        );
        assert!(!out.exists(), "no output on failure");
    };
    // One class only: a single training sample.
    let p = problem_with(dir.path(), |v| v["max_samples"] = 1.into());
    solve(&p, "needs at least two classes");
    let p = problem_with(dir.path(), |v| {
        v["binary"] = serde_json::json!({"positive": [0], "negative": [1]})
    });
    solve(&p, "exclude each other");
    let p = problem_with(dir.path(), |v| {
        v.as_object_mut().unwrap().remove("test_targets");
    });
    solve(&p, "go together");
    let p = problem_with(dir.path(), |v| {
        v["test_inputs"] = data("signal_x.npy").into()
    });
    solve(&p, "per-sample shape");
    let p = problem_with(dir.path(), |v| {
        v["inputs"] = data("signal_x.npy").into();
        v["targets"] = data("signal_y.npy").into();
        v["architecture"]["kernel"] = serde_json::json!([2]);
        v["architecture"]["stride"] = serde_json::json!([1]);
        v.as_object_mut().unwrap().remove("test_inputs");
        v.as_object_mut().unwrap().remove("test_targets");
    });
    solve(&p, "integer class labels");
    let p = problem_with(dir.path(), |v| v["task"] = "many".into());
    solve(&p, "unknown variant");

    // predict: a file that is not a result, and inputs of another shape.
    let bogus = write(
        dir.path(),
        "bogus.json",
        &serde_json::json!({"status": "optimal"}),
    );
    refuses(
        &[
            "predict",
            bogus.to_str().unwrap(),
            "--inputs",
            &data("images.npy"),
        ],
        "bogus.json",
    );
    let p = write(
        dir.path(),
        "s.json",
        &serde_json::json!({
            "inputs": data("signal_x.npy"), "targets": data("signal_y.npy"),
            "architecture": {"kind": "two_layer", "kernel": [2], "pooling": "sum"},
            "beta": 0.1, "arrangements": {"mode": "sample", "count": 5, "seed": 0}
        }),
    );
    let out = dir.path().join("s_r.json");
    ok(&run(&[
        "solve",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]));
    refuses(
        &[
            "predict",
            out.to_str().unwrap(),
            "--inputs",
            &data("images.npy"),
        ],
        "per-sample shape",
    );
}

#[test]
fn three_layer_one_vs_rest_certifies_every_class_and_predict_agrees() {
    // Digits 0, 1, 2 with a 4×4 stride-4 kernel (K = 4 positions, h = 16) and few patterns, so the
    // three three-layer programs are small.
    let dir = tempfile::tempdir().unwrap();
    let p = problem_with(dir.path(), |v| {
        v["max_samples"] = 24.into();
        v["architecture"] = serde_json::json!({
            "kind": "three_layer", "kernel": [4, 4], "stride": [4, 4], "inner_filters": 2,
            "outer_patterns": {"mode": "sample", "count": 12, "seed": 1}
        });
        v["beta"] = 0.5.into();
        v["arrangements"] = serde_json::json!({"mode": "sample", "count": 6, "seed": 2});
    });
    let out = dir.path().join("r.json");
    ok(&run(&[
        "solve",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]));
    let r = read(&out);
    assert_eq!(r["task"], "one_vs_rest");
    assert_eq!(r["status"], "optimal");
    assert_eq!(r["classes"], serde_json::json!([0, 1, 2]));
    assert_eq!(r["certified"], true);
    let models = r["models"].as_array().unwrap();
    assert_eq!(models.len(), 3);
    let mut total = 0.0;
    for (m, c) in models.iter().zip(0..) {
        assert_eq!(m["class"], c);
        assert_eq!(m["network"]["kind"], "three_layer");
        assert!(m["subnetworks"].as_u64().unwrap() > 0, "class {c}");
        // Certified in its scope: the sampled sub-model (sampled inner and outer patterns).
        assert_eq!(m["certificate"]["certified"], true, "class {c}");
        assert_eq!(m["certificate"]["scope"], "sampled_patterns", "class {c}");
        let (obj, net) = (
            m["objective"].as_f64().unwrap(),
            m["network_objective"].as_f64().unwrap(),
        );
        assert!((obj - net).abs() <= 1e-6 * obj.max(1.0), "{obj} vs {net}");
        assert!(
            m["train_accuracy"].as_f64().is_some(),
            "±1 targets per class"
        );
        total += obj;
    }
    assert!((r["objective"].as_f64().unwrap() - total).abs() <= 1e-12 * total);

    // `predict` on the held-out inputs gives labels whose accuracy is the reported one, exactly.
    let o = run(&[
        "predict",
        out.to_str().unwrap(),
        "--inputs",
        &data("digits_test_images.npy"),
    ]);
    ok(&o);
    let predicted: Vec<i64> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().expect("a label per line"))
        .collect();
    let truth = labels(&data("digits_test_labels.npy"));
    assert_eq!(predicted.len(), truth.len());
    assert!(predicted.iter().all(|l| [0, 1, 2].contains(l)));
    let acc =
        predicted.iter().zip(&truth).filter(|(p, t)| p == t).count() as f64 / truth.len() as f64;
    assert_eq!(r["test_accuracy"].as_f64().unwrap(), acc);
    assert_eq!(r["test_samples"], truth.len());
    // The training accuracy is predict's too.
    let (x3, y3) = (dir.path().join("x3.npy"), dir.path().join("y3.npy"));
    let train = dir.path().join("train.npy");
    {
        use ndarray_npy::{ReadNpyExt, WriteNpyExt};
        let x = ndarray::Array4::<f64>::read_npy(std::fs::File::open(&x3).unwrap()).unwrap();
        x.slice(ndarray::s![..24, .., .., ..])
            .to_owned()
            .write_npy(std::fs::File::create(&train).unwrap())
            .unwrap();
    }
    let o = run(&[
        "predict",
        out.to_str().unwrap(),
        "--inputs",
        train.to_str().unwrap(),
    ]);
    ok(&o);
    let truth = labels(y3.to_str().unwrap());
    let right = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .zip(&truth)
        .filter(|(l, t)| l.parse::<i64>().unwrap() == **t)
        .count();
    assert_eq!(r["train_accuracy"].as_f64().unwrap(), right as f64 / 24.0);

    // `certify` writes one three-layer certificate per class and exits 0.
    let o = run(&["certify", p.to_str().unwrap(), "--quiet"]);
    ok(&o);
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(c["task"], "one_vs_rest");
    for (k, class) in c["classes"].as_array().unwrap().iter().enumerate() {
        assert_eq!(class["class"], k as i64);
        assert_eq!(class["certificate"]["certified"], true);
        assert!(class["certificate"]["outer_patterns"].as_u64().unwrap() > 0);
    }
}
