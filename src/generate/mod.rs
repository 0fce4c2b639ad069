//! Pattern generation by pricing (`"arrangements": {"mode": "generate", …}`; docs/math.md §2,
//! "Pattern generation").
//!
//! A program over sampled patterns is the optimum of a sub-model: networks whose neurons use other
//! patterns can do better. The dual says which: at the optimum over every pattern the residual `v`
//! satisfies `|g_v(u)| ≤ β` for every unit filter `u` ([`price`]); a filter that violates it names a
//! pattern whose addition lowers the optimum. So, from `count` Gaussian gates:
//!
//! 1. solve the program over the current patterns (the ADMM augmented Lagrangian with its
//!    certifying polish, warm-started from the previous round);
//! 2. search for violating filters from the current neurons, from the neurons of a given network
//!    (`--network`: by the reverse map of §2 the optimum then ends ≤ that network's objective) and
//!    from seeded random starts ([`price::Pricing::ascend`]); when those ascents find nothing,
//!    walk from cell to cell from where they ended ([`price::Pricing::walk`], unless `walk` is off);
//! 3. add the patterns of the most violating ones (each with its filter as gate) and go to 1,
//!    until a round finds no violation, `rounds` rounds, `time_limit` seconds, or a round whose
//!    patterns would make the program outgrow memory (`memory_limit`, added nothing);
//! 4. with `branch_and_bound` set, a round whose local search finds nothing runs the branch and
//!    bound of [`crate::global`] on the same residual, stopping at the first filter above the
//!    threshold: its pattern is added (and the filter starts every later round) and the loop goes
//!    on; when the bound shows that no filter exceeds the threshold the generation stops `proven`.
//!    A search that its budget stops undecided runs again with twice the budget, until it decides
//!    or the generation's `time_limit` ends it (`max_time`). Once a search for the first violation
//!    takes longer than `largest_after`, later rounds look for the largest violation instead
//!    (ordered by bound, closed to [`LARGEST_TOL`]): late in a generation it costs about as much
//!    and moves the dual point far more.
//!
//! The result is a fixed list of gates — the initial sample and the generated ones — from which
//! `solve`, `certify`, `export` and `predict` rebuild the same patterns: the same seed gives the same
//! gates on the same machine and thread count (every parallel step here collects in order).
//! "Converged" means the search found no violation; only the branch and bound (`proven`, or
//! `cvxcnn certify --global` on the final solution) proves none exists.

/// The dual value `g_v` and its ascent; it lives with the branch and bound, which bounds the
/// same function over every filter.
pub use crate::global::price;

mod exact_pricing;
use exact_pricing::ExactPricing;
pub use exact_pricing::{LARGEST_TOL, regions};

use crate::arch::formulation::Prepared;
use crate::arch::options::{Progress, SolveOptions};
use crate::arch::report::Timings;
use crate::arch::two_layer;
use crate::arrangement::{self, Arrangement, Pattern, PatternKind, pattern_of};
use crate::clock::secs;
use crate::error::{Error, Result};
use crate::first_order::al::{self, AlOptions, AlResult};
use crate::first_order::dense::DenseLoss;
use crate::geometry::{Activation, FilterNorm, Pooling};
use crate::global;
use crate::problem::memory;
use crate::problem::{
    Architecture, ArrangementSpec, GenerateSpec, Generation, GenerationRound, Problem, RoundBound,
};
use crate::reduce;
use ndarray::{Array1, Array2, Array3, Axis, concatenate};
use price::{Found, Pricing};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::collections::HashSet;
use std::time::Instant;

/// Ascent steps per start.
const STEPS: usize = 60;

/// Most moves of a walk from cell to cell (measured on digits with 2×2 filters: 756 walks from
/// the ascents' end points took 4.1 s on one core and found 43 violations the ascents missed).
const WALK_MOVES: usize = 200;

/// Certified relative gap of each round's restricted solve.
const ROUND_TOL_GAP: f64 = 1e-5;

/// Refuses what generation does not handle, naming what to use instead.
pub fn check(problem: &Problem) -> Result<()> {
    let refuse = |what: &str| {
        Err(Error::input(
            &problem.source,
            format!(
                "\"mode\": \"generate\" prices the two-layer ReLU program with sum, average or \
                 local average pooling and the ℓ2 filter norm, not {what}; use \"mode\": \"sample\" \
                 (or \"exact\") for this problem"
            ),
        ))
    };
    match problem.architecture {
        Architecture::TwoLayer {
            activation: Activation::Linear,
            ..
        } => refuse("a linear network (it has no patterns)"),
        Architecture::TwoLayer {
            pooling: Pooling::Max,
            ..
        } => refuse("max pooling"),
        Architecture::TwoLayer { .. } if problem.filter_norm == FilterNorm::L1 => {
            refuse("the ℓ1 filter norm")
        }
        Architecture::TwoLayer { .. } => {
            if let ArrangementSpec::Generate(spec) = &problem.arrangements
                && spec.branch_and_bound.is_some()
                && let Some(h) = global::too_long(problem)
            {
                return Err(Error::input(
                    &problem.source,
                    format!(
                        "arrangements.branch_and_bound covers the sphere by 2^h orthant cones, and \
                         the filter length h = {h} (with the bias) is above {}; leave \
                         branch_and_bound out or use a smaller kernel",
                        global::MAX_FILTER_LEN
                    ),
                ));
            }
            Ok(())
        }
        Architecture::Circular { .. } => refuse("the circular CNN"),
        Architecture::ThreeLayer { .. } => refuse("the three-layer CNN"),
    }
}

/// `problem` with its `generate` spec replaced by the generated gates (unchanged for every other
/// mode). The neurons of `options.network`, when given, join the initial patterns and seed the
/// search.
pub fn resolve(problem: &Problem, options: &SolveOptions, progress: Progress) -> Result<Problem> {
    Ok(match resolve_with_state(problem, options, progress)? {
        Some(g) => g.problem,
        None => problem.clone(),
    })
}

/// A generated problem with the state its last round left: the prepared patterns (in the order the
/// resolved problem rebuilds them) and the last restricted solution, grown by the patterns added
/// after it — a warm start for the final first-order solve.
pub struct Resolved {
    /// The problem with its gates fixed.
    pub problem: Problem,
    /// Patches, patterns, `A_i` and irredundant rows of every generated pattern.
    pub prep: Prepared,
    /// The last round's solution, zeros for the patterns added after it.
    pub warm: AlResult,
}

/// [`resolve`] keeping the generation's state; `None` when the problem is not in generate mode.
pub fn resolve_with_state(
    problem: &Problem,
    options: &SolveOptions,
    progress: Progress,
) -> Result<Option<Resolved>> {
    let ArrangementSpec::Generate(spec) = &problem.arrangements else {
        return Ok(None);
    };
    check(problem)?;
    let seeds: Vec<Vec<f64>> = options.network.as_ref().map_or_else(Vec::new, |w| {
        w.filters
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let mut g = f.clone();
                if let Some(b) = &w.biases {
                    g.push(b[j]);
                }
                g
            })
            .collect()
    });
    let out = generate(problem, spec, &seeds, progress)?;
    Ok(Some(Resolved {
        problem: Problem {
            arrangements: ArrangementSpec::Generated {
                gates: out.gates,
                generation: Box::new(out.generation),
            },
            ..problem.clone()
        },
        prep: out.prep,
        warm: out.warm,
    }))
}

/// What [`generate`] returns.
pub struct Generated {
    /// The gates, `[G, h]`: initial ones (and a given network's neurons) first.
    pub gates: Array2<f64>,
    /// What the generation did.
    pub generation: Generation,
    /// The prepared patterns of every gate, in order.
    pub prep: Prepared,
    /// The last round's solution grown by the patterns added after it.
    pub warm: AlResult,
}

/// The patterns of the current round: the arrangement, `A_i` and the irredundant rows, extended
/// pattern by pattern as the search adds them.
struct Growing {
    prep: Prepared,
    alpha: Vec<f64>,
    seen: HashSet<Vec<bool>>,
}

impl Growing {
    fn add(&mut self, new: Vec<Pattern>) {
        let sub = Arrangement {
            patterns: new,
            candidates: 0,
            exact: false,
            kind: PatternKind::Relu,
        };
        let a = two_layer::pattern_matrices(&self.prep.patches, &sub, &self.alpha);
        let rows = reduce::irredundant(self.prep.patches.stacked(), &sub, &|_, _| {});
        self.prep.a =
            concatenate(Axis(0), &[self.prep.a.view(), a.view()]).expect("the same n and h");
        self.prep.rows.extend(rows);
        for p in &sub.patterns {
            self.seen.insert(p.on.clone());
        }
        self.prep.arrangement.patterns.extend(sub.patterns);
    }
}

/// Runs the generation (module docs). The `seeds` (a network's neurons, in gate space) join the
/// initial gates — so that by the reverse map the optimum ends at most that network's objective —
/// and start the search every round.
pub fn generate(
    problem: &Problem,
    spec: &GenerateSpec,
    seeds: &[Vec<f64>],
    progress: Progress,
) -> Result<Generated> {
    let start = Instant::now();
    let (patches, alpha) = two_layer::patches_of(problem)?;
    let (_, n, h) = patches.data.dim();
    let mut initial: Vec<Vec<f64>> = arrangement::gaussian_gates(spec.count, h, spec.seed);
    if let Some(bad) = seeds.iter().find(|s| s.len() != h) {
        return Err(Error::Invalid(format!(
            "a seed filter has {} entries but the gates have {h}",
            bad.len()
        )));
    }
    initial.extend(seeds.iter().cloned());
    let m = patches.stacked();
    let mut seen = HashSet::new();
    let mut patterns = Vec::new();
    for g in &initial {
        let on = pattern_of(m, g);
        if on.iter().any(|&b| b) && seen.insert(on.clone()) {
            patterns.push(Pattern {
                gate: g.clone(),
                on,
            });
        }
    }
    if patterns.is_empty() {
        return Err(Error::input(
            &problem.source,
            "no gate produced a nonzero sign pattern (are the inputs all zero?); check the data",
        ));
    }
    let initial_patterns = patterns.len();
    let mut grow = Growing {
        prep: Prepared {
            a: Array3::zeros((0, n, h)),
            rows: Vec::new(),
            arrangement: Arrangement {
                patterns: Vec::new(),
                candidates: spec.count,
                exact: false,
                kind: PatternKind::Relu,
            },
            patches,
            timings: Timings::default(),
        },
        alpha,
        seen: HashSet::new(),
    };
    grow.add(patterns);
    let mut gates: Vec<Vec<f64>> = initial;
    let y = problem.y.view();
    let beta = problem.beta;
    let threshold = beta * (1.0 + spec.tolerance);
    // The restricted programs only have to give the search a good dual point; the final solve
    // certifies to the user's tolerance.
    let options = AlOptions {
        tol_gap: ROUND_TOL_GAP,
        // Warm from the last round, the neurons are nearly optimal already: the polish certifies
        // from them after a short ADMM stretch.
        polish_after: 20,
        ..AlOptions::default()
    };
    let mut warm: Option<AlResult> = None;
    let mut last: Option<AlResult> = None;
    // The network's neurons, then every filter the branch and bound found: starts of every round.
    let mut seeds_and_found: Vec<Vec<f64>> = seeds.to_vec();
    let mut history = Vec::new();
    let mut starts_tried = 0;
    let mut stop = "max_rounds";
    let mut exact = ExactPricing::new(spec, start, threshold);
    // The round whose branch and bound gave the best global lower bound.
    let mut best_bound: Option<RoundBound> = None;
    for round in 0..spec.rounds {
        let p = grow.prep.arrangement.patterns.len();
        let t = Instant::now();
        let mut loss = DenseLoss::new(grow.prep.a.view(), y);
        // A round's solve stops at the generation's time limit too: late rounds on thousands of
        // patterns can take many minutes (measured on digits: one round ran 25 min past a
        // 20-minute limit).
        let round_options = AlOptions {
            time_limit: (spec.time_limit - secs(start)).max(0.0),
            ..options.clone()
        };
        let run = al::solve_prepared_with(
            &grow.prep,
            Some(&mut loss),
            y,
            beta,
            &round_options,
            5,
            warm.as_ref(),
        );
        let r = run.result;
        let solve_s = secs(t);
        // A solve cut by the time limit gives an inexact residual, and one that failed
        // (`numerical_error`: its best iterate) a residual of no optimum: the round prices
        // neither, adds nothing and ends the generation.
        let failed = r.stop == "numerical_error";
        let cut = failed || !r.converged && secs(start) >= spec.time_limit;
        let t = Instant::now();
        // The residual of the restricted optimum: the dual point to price with.
        let mut fitted = Array1::<f64>::zeros(n);
        for i in 0..p {
            let z = &r.c.row(i) - &r.c_prime.row(i);
            if z.iter().any(|&v| v != 0.0) {
                fitted += &grow.prep.a.index_axis(Axis(0), i).dot(&z);
            }
        }
        let v = &problem.y - &fitted;
        let pricing = Pricing::new(grow.prep.patches.stacked(), &grow.alpha, v.view());
        let starts = if cut {
            Vec::new()
        } else {
            starts(&r, &seeds_and_found, spec, round, h)
        };
        starts_tried += starts.len();
        let found: Vec<Option<Found>> = starts
            .par_iter()
            .map(|(u, sign)| pricing.ascend(u, *sign, STEPS))
            .collect();
        let ends: Vec<Found> = found.into_iter().flatten().collect();
        let mut max_value = ends.iter().map(|f| f.value).fold(0.0_f64, f64::max);
        let mut violated = new_violations(&grow, &ends, threshold);
        let search_s = secs(t);
        // The ascents found nothing: walk from cell to cell from where they ended.
        let t = Instant::now();
        let mut walks = 0;
        if spec.walk && violated.is_empty() && !cut {
            let walked: Vec<Found> = ends
                .par_iter()
                .filter_map(|f| pricing.walk(&f.u, f.sign, WALK_MOVES))
                .collect();
            walks = ends.len();
            max_value = walked.iter().map(|f| f.value).fold(max_value, f64::max);
            violated = new_violations(&grow, &walked, threshold);
        }
        let walk_s = secs(t);
        let mut count = violated.len();
        violated.truncate(spec.add);
        // The local search found nothing: the branch and bound prices over every filter.
        let mut bnb = None;
        let mut proven = false;
        // The branch and bound stopped undecided by the generation's own clock.
        let mut bnb_cut = false;
        if let Some(budget) = spec.branch_and_bound
            && violated.is_empty()
            && !cut
        {
            let neurons: Vec<Vec<f64>> = neurons(&r).map(|(u, _)| u).collect();
            let m = grow.prep.patches.stacked();
            let priced = exact.price(m, &grow.alpha, y, v.view(), neurons, budget, beta);
            if let (Some(round_search), Some(search)) = (&priced.round, priced.search)
                && best_bound
                    .as_ref()
                    .is_none_or(|b| round_search.global_lower_bound > b.lower_bound)
            {
                best_bound = Some(RoundBound {
                    round: history.len(),
                    lower_bound: round_search.global_lower_bound,
                    dual_point: v.to_vec(),
                    search,
                });
            }
            proven = priced.proven;
            bnb_cut = priced.cut;
            bnb = priced.round;
            // Every region's filter with a new pattern; the highest also starts later rounds.
            let found: Vec<Found> = priced
                .violations
                .into_iter()
                .map(|(u, value)| Found {
                    u,
                    sign: 1.0,
                    value,
                })
                .collect();
            violated = new_violations(&grow, &found, threshold);
            count = violated.len();
            violated.truncate(spec.add);
            if let Some((_, p)) = violated.first() {
                seeds_and_found.push(p.gate.clone());
            }
        }
        // The round's patterns are added only while the program over them still fits (the final
        // solve builds it): `"rounds"` times `"add"` may be far more than memory holds.
        let out_of_memory =
            !violated.is_empty() && !memory::room_for_gates(problem, gates.len() + violated.len());
        if out_of_memory {
            violated.clear();
        }
        let added = violated.len();
        let t = Instant::now();
        let new: Vec<Pattern> = violated.into_iter().map(|(_, p)| p).collect();
        gates.extend(new.iter().map(|p| p.gate.clone()));
        if added > 0 {
            grow.add(new);
        }
        history.push(GenerationRound {
            patterns: p,
            objective: r.objective,
            lower_bound: r.lower_bound,
            violations: count,
            added,
            max_dual_ratio: max_value / beta,
            iterations: r.inner_iterations,
            polish_rounds: r.polish_rounds,
            solve_stop: r.stop,
            solve_s,
            search_s,
            walks,
            walk_s,
            add_s: secs(t),
            seconds: secs(start),
            branch_and_bound: bnb,
        });
        progress("generate", round + 1, spec.rounds);
        let grown = al::extend_warm(r, added, h);
        if cut {
            stop = if failed {
                "numerical_error"
            } else {
                "max_time"
            };
            // A solve cut mid-stretch is no optimum, and a failed one returned its best iterate:
            // the previous round's solution is the better warm start for the final solve.
            last = Some(warm.take().unwrap_or(grown));
            break;
        }
        if added == 0 {
            stop = if out_of_memory {
                "memory_limit"
            } else if proven {
                "proven"
            } else if bnb_cut {
                "max_time"
            } else {
                "no_violation"
            };
            last = Some(grown);
            break;
        }
        warm = Some(grown.clone());
        last = Some(grown);
        if start.elapsed().as_secs_f64() >= spec.time_limit {
            stop = "max_time";
            break;
        }
    }
    let total = grow.prep.arrangement.patterns.len();
    // As the rebuilt arrangement counts them: every gate tried.
    grow.prep.arrangement.candidates = gates.len();
    let generation = Generation {
        initial_gates: spec.count,
        initial_patterns,
        generated_patterns: total - initial_patterns,
        rounds: history.len(),
        converged: stop == "no_violation" || stop == "proven",
        stop,
        starts_tried,
        network_seeds: seeds.len(),
        settings: spec.clone(),
        seconds: start.elapsed().as_secs_f64(),
        history,
        best_bound,
    };
    let gates =
        Array2::from_shape_vec((gates.len(), h), gates.concat()).expect("every gate has length h");
    Ok(Generated {
        gates,
        generation,
        prep: grow.prep,
        warm: last.expect("at least one round ran (rounds ≥ 1)"),
    })
}

/// The new patterns of the points above `threshold`, most violated first (ties in the points'
/// order), each once.
fn new_violations(grow: &Growing, points: &[Found], threshold: f64) -> Vec<(f64, Pattern)> {
    let mut violated: Vec<(f64, Pattern)> = Vec::new();
    let mut fresh = HashSet::new();
    for f in points.iter().filter(|f| f.value > threshold) {
        let on = pattern_of(grow.prep.patches.stacked(), &f.u);
        if on.iter().any(|&b| b) && !grow.seen.contains(&on) && fresh.insert(on.clone()) {
            violated.push((
                f.value,
                Pattern {
                    gate: f.u.clone(),
                    on,
                },
            ));
        }
    }
    violated.sort_by(|a, b| b.0.total_cmp(&a.0));
    violated
}

/// The nonzero filters of a solution, each with the sign of its block (`c`: +1, `c'`: −1).
fn neurons(r: &AlResult) -> impl Iterator<Item = (Vec<f64>, f64)> + '_ {
    [(&r.c, 1.0), (&r.c_prime, -1.0)]
        .into_iter()
        .flat_map(|(block, sign)| block.outer_iter().map(move |row| (row, sign)))
        .filter(|(row, _)| row.iter().any(|&v| v != 0.0))
        .map(|(row, sign)| (row.to_vec(), sign))
}

/// The starts of a round: every current neuron (with the sign of its block), every seed and
/// `spec.starts` seeded Gaussian filters (both signs each).
fn starts(
    r: &AlResult,
    seeds: &[Vec<f64>],
    spec: &GenerateSpec,
    round: usize,
    h: usize,
) -> Vec<(Vec<f64>, f64)> {
    let mut out: Vec<(Vec<f64>, f64)> = neurons(r).collect();
    for s in seeds {
        out.push((s.clone(), 1.0));
        out.push((s.clone(), -1.0));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ (0x5eed_0000 + round as u64));
    for _ in 0..spec.starts {
        let u: Vec<f64> = (0..h)
            .map(|_| Distribution::<f64>::sample(&StandardNormal, &mut rng))
            .collect();
        out.push((u.clone(), 1.0));
        out.push((u, -1.0));
    }
    out
}
