use cvxcnn::*;
fn main() {
    let p =
        problem::Problem::load(std::path::Path::new(&std::env::args().nth(1).unwrap())).unwrap();
    let problem::Architecture::TwoLayer { geometry, pooling } = p.architecture;
    let patches = patches::Patches::extract(p.x.view(), &geometry).unwrap();
    let arr = arrangement::build(&patches, &p.arrangements).unwrap();
    let k = patches.k();
    let a = arch::two_layer::pattern_matrices(&patches, &arr, pooling.scale(k));
    let m = patches.stacked();
    let red = reduce::irredundant(m, &arr, &|_, _| {});
    let all = reduce::all_rows(m, &arr);
    let y = p.y.clone();
    let v1 = certify::dual_values(m, &arr, &a, &red, y.view());
    let v2 = certify::dual_values(m, &arr, &a, &all, y.view());
    let mut worst: f64 = 0.0;
    for i in 0..v1.len() {
        worst = worst.max((v1[i] - v2[i]).abs());
    }
    println!(
        "max |reduced - all| dual value at v=y: {worst:e}; max {} {}",
        v1.iter().cloned().fold(0. / 0., f64::max),
        v2.iter().cloned().fold(0. / 0., f64::max)
    );
    // check the kept rows describe the same cone: every row of all is a nonneg comb of kept rows
    let mut bad = 0;
    for (i, pat) in arr.patterns.iter().enumerate() {
        let kept = &red[i];
        let mut b = ndarray::Array2::<f64>::zeros((kept.len(), m.ncols()));
        for (q, &r) in kept.iter().enumerate() {
            let s = if pat.on[r] { 1.0 } else { -1.0 };
            b.row_mut(q).assign(&(&m.row(r) * s));
        }
        for r in 0..m.nrows() {
            let s = if pat.on[r] { 1.0 } else { -1.0 };
            let t: Vec<f64> = m.row(r).iter().map(|v| v * s).collect();
            let res = reduce::cone::nnls(b.view(), &t);
            let nr = t.iter().map(|v| v * v).sum::<f64>().sqrt();
            if res.norm > 1e-8 * nr.max(1e-300) {
                bad += 1;
                if bad < 5 {
                    println!("pattern {i} row {r} residual {:e} norm {nr:e}", res.norm);
                }
            }
        }
    }
    println!("rows not in cone of kept: {bad}");
}
