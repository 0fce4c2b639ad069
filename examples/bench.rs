//! Times every phase of `solve` on the shipped problems (and, with `--large`, on all 1,797 digits)
//! and prints a Markdown table. Speed is measured here, not in tests.
//!
//! `cargo run --release --example bench [-- --large]`

use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::problem::Problem;
use std::path::Path;

fn main() {
    let large = std::env::args().any(|a| a == "--large");
    let mut names = vec![
        "signal_exact",
        "exact3_channels",
        "channels_stride",
        "digits_stride_padding",
        "digits",
        "digits_max",
        "circular_exact",
        "circular",
        "circular_bias",
        "digits_local_average",
    ];
    if large {
        names.push("digits_all");
    }
    println!(
        "| problem | n | K | h | patterns | cone rows full → written | status | objective | neurons | \
         certified gap | arrangements s | reduction s | build s | solve s (iters) | decode s | certify s | total s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for name in names {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("problems")
            .join(format!("{name}.json"));
        let problem = match Problem::load(&path) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{name}: {e}");
                continue;
            }
        };
        let r = match pipeline::solve(&problem, &SolveOptions::default(), &|_, _, _| {}) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{name}: {e}");
                continue;
            }
        };
        let t = &r.timings;
        println!(
            "| {name} | {} | {} | {} | {} | {} → {} | {} | {:.8} | {} | {:.1e} | {:.3} | {:.3} | {:.3} | {:.3} ({}) | {:.3} | {:.3} | {:.3} |",
            r.data.n,
            r.data.patches,
            r.data.filter_len,
            r.arrangements,
            r.program.cone_rows_full,
            r.program.cone_rows_written,
            r.status.name(),
            r.objective,
            r.neurons,
            r.certificate.relative_gap,
            t.arrangements_s,
            t.reduction_s,
            t.build_s,
            t.solve_s,
            r.solver.total_iterations,
            t.decode_s,
            t.certify_s,
            t.total_s
        );
    }
}
