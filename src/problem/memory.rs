//! Memory before allocation: what a problem's data structures need at the least, against what the
//! machine (or the process's limit) can give, so that a problem that cannot fit is refused up front
//! with the estimate and the fix instead of running for a minute and aborting.
//!
//! The estimate counts what every solve allocates for certain — patches, gates, patterns, the
//! pattern matrices `A_i` and the nonzeros of the conic program (twice: the IR's triplets and the
//! solver's compressed copy) — and nothing the solver adds on top (its factorization), so it is a
//! lower bound: a problem refused here could never have been solved on this machine.

use super::{Architecture, ArrangementSpec, OuterSpec, Problem, Task};
use crate::error::{Error, Result};

/// Bytes per nonzero of the program: the IR's `(row, col, value)` triplet and the solver's
/// compressed-column copy (index and value).
const BYTES_PER_NONZERO: f64 = 24.0 + 16.0;

/// A lower bound on the memory a problem needs, by part.
#[derive(Debug, Clone)]
pub struct Estimate {
    /// `(what, bytes)`, in the order they are allocated.
    pub parts: Vec<(&'static str, f64)>,
    /// The sizes the parts grow with.
    pub sizes: Sizes,
}

/// What the memory of a problem grows with.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Samples `n`.
    pub samples: f64,
    /// Patch positions `K` per sample.
    pub positions: f64,
    /// Filter length `h`.
    pub filter_len: f64,
    /// Gates (0 in exact mode, whose pattern count is capped by `max_patterns`).
    pub gates: f64,
}

impl Estimate {
    /// The sum of the parts, in bytes.
    pub fn total(&self) -> f64 {
        self.parts.iter().map(|(_, b)| b).sum()
    }

    /// The largest part.
    pub fn largest(&self) -> &'static str {
        self.parts
            .iter()
            .fold(("", 0.0), |a, &(w, b)| if b > a.1 { (w, b) } else { a })
            .0
    }
}

/// `bytes` for people: `1.5 GB`, `320 MB`, `2.0e6 TB`.
pub fn human(bytes: f64) -> String {
    let units = ["bytes", "KB", "MB", "GB", "TB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if v >= 1e4 {
        format!("{v:.1e} {}", units[u])
    } else if u == 0 {
        format!("{v:.0} {}", units[u])
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// The estimate of `problem` (computed in floating point: sizes far past `usize` stay finite).
/// A generation (`"mode": "generate"`) is counted with its initial gates, what it certainly
/// allocates; it checks each round's growth itself ([`room_for_gates`]).
pub fn estimate(problem: &Problem) -> Estimate {
    let gates = match &problem.arrangements {
        ArrangementSpec::Sample { count, .. } => *count as f64,
        ArrangementSpec::Gates { gates, .. } | ArrangementSpec::Generated { gates, .. } => {
            gates.nrows() as f64
        }
        ArrangementSpec::Generate(g) => g.count as f64,
        ArrangementSpec::Exact { .. } => 0.0,
    };
    estimate_with_gates(problem, gates)
}

/// Whether `problem` solved over `gates` gates fits in what is [`available`] (true where that
/// cannot be read): pattern generation asks it before a round adds its patterns.
pub fn room_for_gates(problem: &Problem, gates: usize) -> bool {
    available().is_none_or(|(free, _)| estimate_with_gates(problem, gates as f64).total() <= free)
}

fn estimate_with_gates(problem: &Problem, gates: f64) -> Estimate {
    let (n, c, hh, ww) = problem.x.dim();
    let n = n as f64;
    let (k, h) = match problem.architecture {
        Architecture::Circular { bias, .. } => (1.0, (ww + usize::from(bias)) as f64),
        arch => {
            let g = arch.geometry(ww);
            // The grid in floating point: a padding of 10⁶ must not overflow before it is refused.
            let dim = |size: usize, i: usize| {
                let padded = size as f64 + 2.0 * g.padding[i] as f64;
                ((padded - g.kernel[i] as f64) / g.stride[i] as f64).floor() + 1.0
            };
            let k = dim(hh, 0).max(0.0) * dim(ww, 1).max(0.0);
            (k, arch.gate_len(c, ww) as f64)
        }
    };
    // Classes of a one-vs-rest problem are solved two at a time (both cores).
    let parallel = match &problem.task {
        Task::Scalar => 1.0,
        Task::OneVsRest { classes, .. } => (classes.len().min(2)) as f64,
    };
    let program_copies = match problem.architecture {
        // Every group (outer pattern × sign) holds its own copy of the inner blocks.
        Architecture::ThreeLayer {
            outer: OuterSpec::Sample { count, .. },
            ..
        } => 2.0 * count as f64,
        Architecture::ThreeLayer { .. } => 2.0 * n,
        _ => 1.0,
    };
    let mut parts = vec![("patches", k * n * h * 8.0)];
    let sizes = Sizes {
        samples: n,
        positions: k,
        filter_len: h,
        gates,
    };
    if gates > 0.0 {
        let columns = gates * h;
        // Direct coupling writes A twice; the compressed one a triangle of hP columns.
        let loss_nonzeros = (2.0 * n * columns).min(n * columns + columns * columns / 2.0);
        parts.extend([
            ("gates", gates * h * 8.0),
            ("sign patterns", gates * (n * k + h * 8.0)),
            ("pattern matrices A_i", parallel * gates * n * h * 8.0),
            (
                "conic program",
                parallel * program_copies * loss_nonzeros * BYTES_PER_NONZERO,
            ),
        ]);
    }
    Estimate { parts, sizes }
}

/// Bytes this process may still allocate: the smaller of the machine's available memory and what
/// is left under the process's address-space limit (`ulimit -v`). `None` where neither can be read
/// (not Linux).
pub fn available() -> Option<(f64, &'static str)> {
    let kb_field = |text: &str, key: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.starts_with(key))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024.0)
    };
    let machine = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| kb_field(&t, "MemAvailable:"))
        .map(|b| (b, "the machine's available memory"));
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("Max address space"))?;
            line.split_whitespace().nth(3)?.parse::<f64>().ok()
        })
        .map(|limit| {
            let used = std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|t| kb_field(&t, "VmSize:"))
                .unwrap_or(0.0);
            (
                (limit - used).max(0.0),
                "the process's address-space limit (ulimit -v)",
            )
        });
    match (machine, limit) {
        (Some(m), Some(l)) => Some(if l.0 < m.0 { l } else { m }),
        (m, l) => m.or(l),
    }
}

/// Refuses `problem` when its [`estimate`] exceeds what is [`available`], naming the estimate, its
/// largest part and the fix.
pub fn check(problem: &Problem) -> Result<()> {
    let est = estimate(problem);
    let Some((free, which)) = available() else {
        return Ok(());
    };
    let total = est.total();
    if total <= free {
        return Ok(());
    }
    let parts: Vec<String> = est
        .parts
        .iter()
        .filter(|(_, b)| *b > 0.0)
        .map(|(w, b)| format!("{w} {}", human(*b)))
        .collect();
    let z = est.sizes;
    // The knob that makes it large: thousands of positions per sample point at the padding or
    // stride, otherwise the gates and samples.
    let fix = if z.positions > 1e4 {
        "reduce the patch positions per sample (less padding, a larger stride or kernel)"
    } else {
        "use fewer gates (arrangements.count) or fewer samples (max_samples)"
    };
    Err(Error::input(
        &problem.source,
        format!(
            "this problem needs at least {} of memory ({}; n = {}, K = {} patch positions, h = {}, \
             {} gates), but {which} leaves {}; {fix}",
            human(total),
            parts.join(", "),
            z.samples,
            z.positions,
            z.filter_len,
            z.gates,
            human(free)
        ),
    ))
}
