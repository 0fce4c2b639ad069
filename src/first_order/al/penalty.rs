//! The classical method of multipliers ([`AlMethod::Penalty`]): the cone rows in the augmented
//! Lagrangian penalty, each subproblem solved by restarted FISTA with the group soft-threshold;
//! kept as the slow reference implementation beside the ADMM.

use super::*;

/// The penalty method on the constrained program (see [`super::solve`]).
pub(super) fn solve(
    a: ArrayView3<f64>,
    y: ArrayView1<f64>,
    beta: f64,
    cones: &[Array2<f64>],
    warm: Option<&AlResult>,
    options: &AlOptions,
) -> AlResult {
    let start = Instant::now();
    let (p, n, h) = a.dim();
    assert_eq!(y.len(), n, "y has {} entries for n = {n}", y.len());
    assert_eq!(cones.len(), p, "one cone matrix per pattern");
    let op = Operator::new(a);
    let parallel = rayon::current_num_threads() > 1
        && a.len() + cones.iter().map(|b| 2 * b.len()).sum::<usize>()
            >= crate::first_order::PARALLEL_WORK;
    let row_scale = cones
        .iter()
        .map(|b| max_row_norm(b.view()))
        .fold(0.0_f64, f64::max);
    let lip_a = op.norm_sq_estimate(20);
    let gscale = op
        .adjoint(y)
        .outer_iter()
        .map(|r| r.dot(&r).sqrt())
        .fold(beta, f64::max);

    let mut x = Array2::<f64>::zeros((2 * p, h));
    let mut lam: Vec<Array1<f64>> = (0..2 * p)
        .map(|j| Array1::zeros(cones[j % p].nrows()))
        .collect();
    let mut mu = options.mu0.unwrap_or_else(|| {
        let bmax = cones
            .iter()
            .map(|b| b.iter().map(|v| v * v).sum::<f64>())
            .fold(0.0_f64, f64::max);
        if bmax > 0.0 {
            (lip_a / bmax).max(1e-12)
        } else {
            1.0
        }
    });
    if let Some(w) = warm {
        x.slice_mut(s![..p, ..]).assign(&w.c);
        x.slice_mut(s![p.., ..]).assign(&w.c_prime);
        // Rows may have been added since (constraint generation): new rows start at 0.
        lam = w
            .multipliers
            .iter()
            .enumerate()
            .map(|(j, l)| {
                let mut v = l.to_vec();
                v.resize(cones[j % p].nrows(), 0.0);
                Array1::from(v)
            })
            .collect();
        mu = w.mu;
    }

    let violation_of = |x: &Array2<f64>, g: &[Array1<f64>]| {
        let scale = max_row_norm(x.view()) * row_scale;
        if scale == 0.0 {
            return 0.0;
        }
        g.iter()
            .flat_map(|gj| gj.iter())
            .fold(0.0_f64, |acc, v| acc.max(-v))
            / scale
    };

    let mut history = Vec::new();
    let mut trace = vec![TracePoint {
        seconds: secs(start),
        iterations: 0,
        objective: objective(a, y, beta, x.slice(s![..p, ..]), x.slice(s![p.., ..])),
        violation: violation_of(&x, &cone_values(cones, &x, parallel)),
    }];
    let mut inner_total = 0;
    let mut eps = if warm.is_some() {
        options.inner_tol_final
    } else {
        options.inner_tol0.max(options.inner_tol_final)
    };
    let mut prev_obj = f64::NAN;
    let mut prev_viol = f64::INFINITY;
    let mut lip = lip_a;
    let mut converged = false;
    let mut outer = 0;
    let mut violation = f64::INFINITY;
    let mut obj = f64::NAN;
    while outer < options.max_outer && secs(start) <= options.time_limit {
        outer += 1;
        let value_grad_impl = |x: &Array2<f64>, want_grad: bool| {
            let z = &x.slice(s![..p, ..]) - &x.slice(s![p.., ..]);
            let r = op.apply(z.view()) - y;
            let mut f = 0.5 * r.dot(&r);
            let g = cone_values(cones, x, parallel);
            let shifted: Vec<Array1<f64>> = g
                .iter()
                .zip(&lam)
                .map(|(gj, lj)| (lj - &(gj * mu)).mapv(|v| v.max(0.0)))
                .collect();
            for (sj, lj) in shifted.iter().zip(&lam) {
                f += (sj.dot(sj) - lj.dot(lj)) / (2.0 * mu);
            }
            if !want_grad {
                return (f, None);
            }
            let ga = op.adjoint(r.view());
            let mut grad = Array2::zeros((2 * p, h));
            grad.slice_mut(s![..p, ..]).assign(&ga);
            grad.slice_mut(s![p.., ..]).assign(&(-&ga));
            let apply_cone = |(j, mut gj): (usize, ndarray::ArrayViewMut1<f64>)| {
                general_mat_vec_mul(-1.0, &cones[j % p].t(), &shifted[j], 1.0, &mut gj);
            };
            if parallel {
                grad.axis_iter_mut(Axis(0))
                    .into_par_iter()
                    .enumerate()
                    .for_each(apply_cone);
            } else {
                grad.axis_iter_mut(Axis(0)).enumerate().for_each(apply_cone);
            }
            (f, Some(grad))
        };
        let value = |x: &Array2<f64>| value_grad_impl(x, false).0;
        let value_grad = |x: &Array2<f64>| {
            let (f, g) = value_grad_impl(x, true);
            (f, g.expect("gradient requested"))
        };
        let tol = eps * gscale;
        let mut inner_met = false;
        let mut recent: Vec<f64> = Vec::new();
        let window = options.window;
        let mut check = |_k: usize, _x: &Array2<f64>, f: f64, gm: f64| {
            recent.push(f);
            let len = recent.len();
            if gm <= tol
                || len > window
                    && recent[len - 1 - window] - f <= options.tol_change * f.abs().max(1e-300)
            {
                inner_met = true;
                return true;
            }
            secs(start) > options.time_limit
        };
        let out = minimize(
            x.clone(),
            &value,
            &value_grad,
            beta,
            lip,
            options.max_inner,
            &mut check,
        );
        lip = out.lipschitz;
        inner_total += out.iterations;
        x = out.x;

        let g = cone_values(cones, &x, parallel);
        violation = violation_of(&x, &g);
        obj = objective(a, y, beta, x.slice(s![..p, ..]), x.slice(s![p.., ..]));
        history.push(AlCheck {
            seconds: secs(start),
            objective: obj,
            violation,
            mu,
            inner_iterations: out.iterations,
        });
        trace.push(TracePoint {
            seconds: secs(start),
            iterations: inner_total,
            objective: obj,
            violation,
        });
        for (lj, gj) in lam.iter_mut().zip(&g) {
            *lj = (&*lj - &(gj * mu)).mapv(|v| v.max(0.0));
        }
        let settled = (obj - prev_obj).abs() <= options.tol_objective * obj.abs().max(1e-300);
        if inner_met
            && eps <= options.inner_tol_final
            && violation <= options.tol_violation
            && settled
        {
            converged = true;
            break;
        }
        if violation > options.tol_violation && violation > 0.25 * prev_viol {
            mu *= options.mu_factor;
        }
        prev_viol = violation;
        prev_obj = obj;
        eps = (eps * 0.1).max(options.inner_tol_final);
    }
    AlResult {
        c: x.slice(s![..p, ..]).to_owned(),
        c_prime: x.slice(s![p.., ..]).to_owned(),
        objective: obj,
        violation,
        multipliers: lam,
        mu,
        outer_iterations: outer,
        inner_iterations: inner_total,
        converged,
        stop: if converged {
            "converged"
        } else if secs(start) > options.time_limit {
            "max_time"
        } else {
            "max_iterations"
        },
        lower_bound: f64::NEG_INFINITY,
        history,
        trace,
        polish_rounds: 0,
    }
}
