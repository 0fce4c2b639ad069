use super::write::number;
use super::*;
use crate::backend::Status;
use crate::backend::clarabel::{ClarabelSettings, solve};
use crate::ir::{ConeKind, ConicProgram};

/// The line of the error `parse` gives for `text`, after checking its message holds `needle`.
fn error_at(text: &str, needle: &str) -> usize {
    let e = parse(text).expect_err("should be refused");
    assert!(
        e.message.contains(needle),
        "message `{}` lacks `{needle}`",
        e.message
    );
    e.line
}

const HEAD: &str = "VER\n3\nOBJSENSE\nMIN\n";

#[test]
fn numbers_round_trip_exactly() {
    let values = [
        1e-300,
        0.1,
        1.0 / 3.0,
        -0.0,
        0.0,
        1e300,
        -1e300,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        2f64.sqrt(),
        100.0,
        1e6,
        1e-7,
        -2.5,
        123456789.125,
        1e21,
        1e22,
    ];
    for v in values {
        let s = number(v);
        let back: f64 = s.parse().unwrap();
        assert_eq!(back.to_bits(), v.to_bits(), "{v:e} printed as {s}");
        assert!(s.len() <= 24, "{v:e} printed long: {s}");
    }
    assert_eq!(number(1e300), "1e300");
    assert_eq!(number(1e-300), "1e-300");
    assert_eq!(number(0.1), "0.1");
    assert_eq!(number(-0.0), "-0");
    assert_eq!(number(100.0), "100");
    assert_eq!(number(1.0), "1");
}

#[test]
fn awkward_values_survive_write_and_parse() {
    let vals = [1e-300, 0.1, 1.0 / 3.0, 1e300, -7.25];
    let mut p = ConicProgram::new();
    p.add_vars("x", vals.len());
    let r = p.add_rows("r", ConeKind::Nonnegative, vals.len());
    for (i, &v) in vals.iter().enumerate() {
        p.q[i] = v;
        p.b[r + i] = v;
        p.push(r + i, i, v);
    }
    p.constant = 1.0 / 3.0;
    let back = parse(&write(&p)).unwrap();
    assert_eq!(back.q, p.q);
    assert_eq!(back.b, p.b);
    assert_eq!(back.constant, p.constant);
    let mut e = back.entries.clone();
    e.sort_by_key(|&(r, c, _)| (r, c));
    assert_eq!(e, p.entries);
}

#[test]
fn writer_sums_duplicates_sorts_and_drops_zeros() {
    let mut p = ConicProgram::new();
    p.add_vars("x", 2);
    p.add_rows("z", ConeKind::Zero, 1);
    p.add_rows("z2", ConeKind::Zero, 1);
    p.add_rows("n", ConeKind::Nonnegative, 2);
    p.entries = vec![
        (3, 1, 2.0),
        (0, 1, 1.0),
        (0, 0, 1.5),
        (0, 1, 0.5),
        (2, 0, 1.0),
    ];
    p.entries.push((2, 0, -1.0)); // cancels to an exact zero
    let text = write(&p);
    assert!(text.contains("CON\n4 2\nL= 2\nL+ 2\n"), "{text}");
    assert!(
        text.contains("ACOORD\n3\n0 0 -1.5\n0 1 -1.5\n3 1 -2\n"),
        "{text}"
    );
    assert!(!text.contains("BCOORD"));
    assert!(!text.contains("OBJBCOORD"));
    assert_eq!(write(&p), text);
}

/// A file in the style of the CBF specification's examples, with `L-`, `L=`, `F`, `QR` variable
/// domains, `F`, `L+`, `L-`, `L=`, `Q`, `QR` rows and `OBJSENSE MAX`.
const HAND: &str = "\
# maximize x0 + 5 x1 + x2 + x3 - x4 + x6 + x7 + x8 + x9 - x10 + 10
VER
3

OBJSENSE
MAX

VAR
11 6
L- 1
L= 1
F 2
QR 3
F 3
L+ 1

CON
11 6
F 1
L+ 1
L- 1
L= 2
Q 3
QR 3

OBJACOORD
10
0 1
1 5
2 1
3 1
4 -1
6 1
7 1
8 1
9 1
10 -1

OBJBCOORD
10

ACOORD
9
0 2 -1
1 0 1
2 7 1
3 5 1
4 8 1
6 2 1
7 3 1
8 10 1
10 9 1

BCOORD
7
0 -100
1 3
2 -2
3 -1
4 -3
5 2
9 2
";

#[test]
fn reads_a_hand_written_file() {
    // Rows: 0 F (−x2 − 100, ignored: infeasible if it were enforced), 1 L+ (x0 + 3 ≥ 0),
    // 2 L- (x7 ≤ 2), 3-4 L= (x5 = 1, x8 = 3), 5-7 Q (‖(x2, x3)‖ ≤ 2), 8-10 QR
    // (2·x10·2 ≥ x9²). Domains: x0 ≤ 0, x1 = 0, (x4, x5, x6) ∈ QR, x10 ≥ 0.
    // Maximum: x0 = 0, x1 = 0, x2 + x3 = 2√2, max x6 − x6²/2 = ½ (x4 = x6²/2 as x5 = 1),
    // x7 = 2, x8 = 3, max x9 − x9²/4 = 1, + 10: 16.5 + 2√2. The IR minimizes the negative.
    let p = parse(HAND).unwrap();
    assert_eq!(p.n_vars(), 11);
    // 10 constrained CBF rows + 1 (L-) + 1 (L=) + 3 (QR) + 1 (L+) domain rows.
    assert_eq!(p.n_rows(), 16);
    assert_eq!(p.constant, -10.0);
    let kinds: Vec<ConeKind> = p.row_blocks.iter().map(|b| b.cone).collect();
    use ConeKind::*;
    assert_eq!(
        kinds,
        [
            Nonnegative,
            Nonnegative,
            Zero,
            SecondOrder,
            RotatedSecondOrder,
            Nonnegative,
            Zero,
            RotatedSecondOrder,
            Nonnegative
        ]
    );
    let sol = solve(&p, &ClarabelSettings::default()).unwrap();
    assert_eq!(sol.status, Status::Optimal);
    let expected = -(16.5 + 2.0 * 2f64.sqrt());
    assert!(
        (sol.primal_objective - expected).abs() < 1e-7,
        "{} vs {expected}",
        sol.primal_objective
    );
    let x = &sol.x;
    assert!(x[0].abs() < 1e-6 && x[1].abs() < 1e-6);
    assert!((x[7] - 2.0).abs() < 1e-6 && (x[8] - 3.0).abs() < 1e-6);
    assert!(p.max_violation(x) < 1e-7);
}

#[test]
fn comments_blank_lines_crlf_and_old_versions() {
    let text = "# c\r\n\r\nVER\r\n  # c\r\n1\r\nOBJSENSE\r\n\r\nMIN\r\nVAR\r\n1 1\r\nL+ 1\r\n\
                    OBJACOORD\r\n1\r\n  0   2.5e0  \r\n# end\r\n";
    let p = parse(text).unwrap();
    assert_eq!(p.q, [2.5]);
    assert_eq!(p.entries, [(0, 0, -1.0)]);
    assert_eq!(p.row_blocks[0].cone, ConeKind::Nonnegative);
    // A minimal file: no variables, no rows.
    let p = parse(HEAD).unwrap();
    assert_eq!((p.n_vars(), p.n_rows()), (0, 0));
}

#[test]
fn each_error_class_names_its_line() {
    // Order.
    assert_eq!(error_at("OBJSENSE\nMIN\nVER\n3\n", "starts with VER"), 1);
    assert_eq!(error_at("# c\n\nVAR\n0 0\n", "starts with VER"), 3);
    let late = format!("{HEAD}VAR\n1 1\nF 1\nOBJACOORD\n1\n0 1\nCON\n1 1\nL+ 1\n");
    assert_eq!(error_at(&late, "after the coordinates"), 11);
    assert_eq!(
        error_at("VER\n3\nACOORD\n0\n", "OBJSENSE must come before"),
        3
    );
    // Duplicates.
    assert_eq!(error_at(&format!("{HEAD}OBJSENSE\nMAX\n"), "twice"), 5);
    assert_eq!(error_at("VER\n3\nVER\n3\n", "twice"), 3);
    // Counts.
    let few = format!("{HEAD}VAR\n2 1\nF 2\nOBJACOORD\n3\n0 1\n1 1\nBCOORD\n0\n");
    assert_eq!(error_at(&few, "entry 3 of 3"), 12);
    let many = format!("{HEAD}VAR\n2 1\nF 2\nOBJACOORD\n1\n0 1\n1 1\n");
    assert_eq!(error_at(&many, "more lines than it announces"), 11);
    let over = format!("{HEAD}VAR\n2 2\nF 2\nL+ 1\n");
    assert_eq!(error_at(&over, "cover more than"), 8);
    let under = format!("{HEAD}VAR\n3 1\nF 2\n");
    assert_eq!(error_at(&under, "cones cover 2"), 6);
    let cones_short = format!("{HEAD}VAR\n3 2\nF 2\nOBJACOORD\n0\n");
    assert_eq!(error_at(&cones_short, "cone 2 of 2"), 8);
    assert_eq!(
        error_at(&format!("{HEAD}CON\n1 1\nQR 1\n"), "at least 2"),
        7
    );
    assert_eq!(error_at(&format!("{HEAD}CON\n0 1\nQ 0\n"), "at least 1"), 7);
    assert_eq!(
        error_at(&format!("{HEAD}VAR\n1 1 1\nF 1\n"), "number-of-variables"),
        6
    );
    // Indices.
    let base = format!("{HEAD}VAR\n2 1\nF 2\nCON\n1 1\nL+ 1\n");
    assert_eq!(
        error_at(&format!("{base}ACOORD\n1\n1 0 1\n"), "row 1 out of range"),
        13
    );
    assert_eq!(
        error_at(&format!("{base}ACOORD\n1\n0 2 1\n"), "variable 2 out"),
        13
    );
    assert_eq!(
        error_at(&format!("{base}BCOORD\n2\n0 1\n5 1\n"), "row 5"),
        14
    );
    assert_eq!(
        error_at(
            &format!("{base}OBJACOORD\n1\n-1 1\n"),
            "nonnegative integer"
        ),
        13
    );
    assert_eq!(
        error_at(&format!("{HEAD}OBJACOORD\n1\n0 1\n"), "declares 0"),
        7
    );
    // Numbers.
    assert_eq!(
        error_at(&format!("{base}BCOORD\n1\n0 abc\n"), "expected a number"),
        13
    );
    for bad in ["inf", "-inf", "NaN", "1e400"] {
        let text = format!("{base}BCOORD\n1\n0 {bad}\n");
        assert_eq!(error_at(&text, "not finite"), 13, "{bad}");
    }
    assert_eq!(
        error_at(&format!("{base}OBJBCOORD\nNaN\n"), "not finite"),
        12
    );
    assert_eq!(
        error_at(&format!("{HEAD}VAR\nx 1\n"), "nonnegative integer"),
        6
    );
    assert_eq!(error_at("VER\nthree\n", "format version"), 2);
    assert_eq!(error_at("VER\n4\n", "version 4"), 2);
    assert_eq!(error_at("VER\n3\nOBJSENSE\nMINIMIZE\n", "MIN or MAX"), 4);
    // Sizes a few bytes can announce.
    let huge = format!("{HEAD}VAR\n99999999999 1\nF 99999999999\n");
    assert_eq!(error_at(&huge, "more than cvxcnn reads"), 6);
    let overflow = format!("{HEAD}VAR\n18446744073709551616 1\n");
    assert_eq!(error_at(&overflow, "nonnegative integer"), 6);
    let wrap = format!("{HEAD}VAR\n2 2\nF 18446744073709551615\nF 3\n");
    assert_eq!(error_at(&wrap, "cover more than"), 7);
    let many_cones = format!("{HEAD}VAR\n0 18446744073709551615\n");
    assert_eq!(error_at(&many_cones, "ends inside VAR"), 7);
    // Truncation.
    assert_eq!(error_at("VER\n", "ends inside VER"), 2);
    assert_eq!(error_at("VER\n3\nOBJSENSE", "ends inside OBJSENSE"), 4);
    let cut = format!("{base}ACOORD\n2\n0 0 1\n");
    assert_eq!(error_at(&cut, "entry 2 of 2"), 14);
    assert_eq!(error_at("VER\n3\n", "no OBJSENSE"), 3);
    assert_eq!(error_at("", "no VER"), 1);
    assert_eq!(error_at("# only a comment\n\n", "no VER"), 3);
    // Unknown things.
    assert_eq!(error_at(&format!("{HEAD}FOO\n"), "unknown keyword"), 5);
    assert_eq!(
        error_at(&format!("{HEAD}CON\n1 1\nL* 1\n"), "unknown cone"),
        7
    );
}

#[test]
fn refuses_what_is_not_continuous_conic() {
    for kw in [
        "INT",
        "PSDVAR",
        "PSDCON",
        "HCOORD",
        "DCOORD",
        "FCOORD",
        "OBJFCOORD",
        "POWCONES",
        "POW*CONES",
        "CHANGE",
    ] {
        let text = format!("{HEAD}VAR\n1 1\nF 1\n{kw}\n1\n");
        assert_eq!(error_at(&text, "continuous conic problems only"), 8, "{kw}");
    }
    // EXP is read (an exponential cone); its dual EXP* is not.
    for cone in ["EXP*", "@0:POW", "@1:POW*", "SVECPSD"] {
        let text = format!("{HEAD}CON\n3 1\n{cone} 3\n");
        assert_eq!(
            error_at(&text, "continuous conic problems only"),
            7,
            "{cone}"
        );
        let text = format!("{HEAD}VAR\n3 1\n{cone} 3\n");
        assert_eq!(
            error_at(&text, "continuous conic problems only"),
            7,
            "{cone}"
        );
    }
    // An EXP cone has exactly three entries.
    let text = format!("{HEAD}CON\n6 1\nEXP 6\n");
    assert_eq!(error_at(&text, "exactly 3 entries"), 7);
}

#[test]
fn display_names_the_line() {
    let e = parse("VER\n9\n").unwrap_err();
    assert!(e.to_string().starts_with("line 2: "), "{e}");
}

#[test]
fn write_of_parse_of_write_is_a_fixpoint() {
    let mut p = ConicProgram::new();
    p.add_vars("x", 3);
    p.p_diag = vec![2.0, 0.0, 0.5];
    p.q = vec![1.0, -1.0, 0.0];
    p.constant = -0.25;
    let r = p.add_rows("z", ConeKind::Zero, 1);
    p.push(r, 0, 1.0);
    p.push(r, 1, 1.0);
    p.b[r] = 1.0;
    let r = p.add_rows("q", ConeKind::SecondOrder, 3);
    p.b[r] = 4.0;
    p.push(r + 1, 0, -1.0);
    p.push(r + 2, 2, -3.0);
    let r = p.add_rows("rq", ConeKind::RotatedSecondOrder, 3);
    p.b[r] = 1.0;
    p.b[r + 1] = 1.0;
    p.push(r + 2, 1, 1.0);
    let text = write(&p);
    let back = parse(&text).unwrap();
    assert_eq!(back.n_vars(), 4);
    assert_eq!(back.p_diag, [0.0; 4]);
    // The body (after the header comments) is reproduced byte for byte.
    let body = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&write(&back)), body(&text));
}
