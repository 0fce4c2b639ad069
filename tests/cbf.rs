//! CBF export and import through the public API: known optima survive write → parse, the writer's
//! output is pinned by a golden file, and the reader never panics on garbage.

mod common;

use cvxcnn::backend::Status;
use cvxcnn::backend::clarabel::{ClarabelSettings, solve};
use cvxcnn::export::cbf;
use cvxcnn::ir::{ConeKind, ConicProgram};
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::path::PathBuf;

/// Solves with Clarabel's defaults, insisting on an optimal status.
fn optimum(p: &ConicProgram) -> f64 {
    let sol = solve(p, &ClarabelSettings::default()).expect("Clarabel accepts the program");
    assert_eq!(sol.status, Status::Optimal);
    sol.primal_objective
}

/// Solves `p` directly and after write → parse; both must equal `known` to 1e-7.
fn check_known_optimum(name: &str, p: &ConicProgram, known: f64) {
    p.check().unwrap();
    let direct = optimum(p);
    let text = cbf::write(p);
    let back = cbf::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
    let via_cbf = optimum(&back);
    assert!(
        (direct - known).abs() < 1e-7,
        "{name}: direct {direct} vs known {known}"
    );
    assert!(
        (via_cbf - known).abs() < 1e-7,
        "{name}: via CBF {via_cbf} vs known {known}\n{text}"
    );
}

/// Every problem of the shared standard library (`tests/common`).
#[test]
fn known_optima_survive_write_and_parse() {
    for s in common::problems() {
        check_known_optimum(s.name, &s.program, s.optimum);
    }
}

#[test]
fn quadratic_lift_adds_one_variable_and_one_rotated_cone() {
    let back = cbf::parse(&cbf::write(&common::qp_inequality_program())).unwrap();
    assert_eq!(back.n_vars(), 3);
    assert!(back.p_diag.iter().all(|&p| p == 0.0));
    assert_eq!(back.q, [-2.0, -8.0, 1.0]);
    let last = back.row_blocks.last().unwrap();
    assert_eq!((last.cone, last.len), (ConeKind::RotatedSecondOrder, 4));
    // No lift without a quadratic term.
    assert_eq!(
        cbf::parse(&cbf::write(&common::lp().program))
            .unwrap()
            .n_vars(),
        2
    );
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/cbf_tiny.cbf")
}

/// Set `CVXCNN_BLESS_CBF=1` to rewrite the golden file from the writer (then check it by eye).
#[test]
fn golden_tiny_file() {
    let text = cbf::write(&common::golden_cbf_program());
    assert_eq!(
        cbf::write(&common::golden_cbf_program()),
        text,
        "writing twice gives the same bytes"
    );
    let path = golden_path();
    if std::env::var_os("CVXCNN_BLESS_CBF").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let golden = std::fs::read_to_string(&path).expect("tests/golden/cbf_tiny.cbf");
    assert_eq!(text, golden, "the writer's output changed");
}

/// Words that make up CBF files, plus garbage.
const VOCAB: &[&str] = &[
    "VER",
    "OBJSENSE",
    "MIN",
    "MAX",
    "VAR",
    "CON",
    "OBJACOORD",
    "OBJBCOORD",
    "ACOORD",
    "BCOORD",
    "INT",
    "PSDCON",
    "F",
    "L+",
    "L-",
    "L=",
    "Q",
    "QR",
    "EXP",
    "0",
    "1",
    "2",
    "3",
    "-1",
    "0.5",
    "1e400",
    "NaN",
    "#",
    "x",
    "99999999999",
    "",
];

/// Token replacements for the mutations: garbage, huge and negative numbers. Every number is either
/// small or far above the reader's size limit, so no mutation makes it allocate much.
const GARBAGE: &[&str] = &[
    "abc",
    "-1",
    "-3.5",
    "0",
    "1",
    "7",
    "1e400",
    "-1e400",
    "NaN",
    "inf",
    "1e-300",
    "99999999999",
    "18446744073709551615",
    "18446744073709551616",
    "-0",
    "",
    "VER",
    "Q",
    "QR",
    "PSDVAR",
    "\u{fffd}\u{0}",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Replace(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(l, t, g)| Mutation::Replace(l, t, g)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for m in mutations {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match *m {
            Mutation::Delete(i) => {
                lines.remove(i % n);
            }
            Mutation::Duplicate(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Mutation::Swap(i, j) => lines.swap(i % n, j % n),
            Mutation::Replace(i, t, g) => {
                let mut toks: Vec<String> =
                    lines[i % n].split_whitespace().map(String::from).collect();
                let garbage = GARBAGE[g % GARBAGE.len()].to_string();
                if toks.is_empty() {
                    toks.push(garbage);
                } else {
                    let k = t % toks.len();
                    toks[k] = garbage;
                }
                lines[i % n] = toks.join(" ");
            }
        }
    }
    lines.join("\n")
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(100))]

    #[test]
    fn parse_never_panics_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = cbf::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn parse_never_panics_on_random_cbf_words(
        words in prop::collection::vec(
            (prop::sample::select(VOCAB), prop::sample::select(&[" ", "\n", "\n\n"][..])),
            0..80,
        )
    ) {
        let mut text = String::from("VER\n3\nOBJSENSE\nMIN\n");
        for (w, sep) in words {
            text.push_str(w);
            text.push_str(sep);
        }
        let _ = cbf::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_mutated_golden_file(
        mutations in prop::collection::vec(mutation(), 1..6)
    ) {
        let golden = std::fs::read_to_string(golden_path()).expect("golden file");
        let text = mutate(&golden, &mutations);
        if let Ok(p) = cbf::parse(&text) {
            prop_assert!(p.check().is_ok());
        }
    }
}
