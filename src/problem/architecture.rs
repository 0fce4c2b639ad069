//! The architecture entry of a problem file checked against the inputs: kernel, stride and
//! padding against the input size, pooling windows against the grid of patch positions, and what
//! each architecture accepts.

use super::*;

/// The architecture entry checked against the inputs (`inputs_path` holds `n` samples; `x` are
/// those kept).
pub(super) fn architecture(
    file: &ProblemFile,
    source: &Path,
    inputs_path: &Path,
    n: usize,
    x: &Array4<f64>,
    one_d: bool,
) -> Result<Architecture> {
    let bad = |m: String| Error::input(source, m);
    Ok(match &file.architecture {
        ArchitectureFile::TwoLayer {
            kernel,
            stride,
            padding,
            pooling,
            pool_size,
            activation,
            bias,
        } => {
            let geometry = geometry(
                source,
                one_d,
                kernel,
                stride.as_deref(),
                padding.as_deref(),
                (x.dim().2, x.dim().3),
            )?;
            let pooling = pooling_of(
                source,
                one_d,
                *pooling,
                pool_size.as_deref(),
                &geometry,
                (x.dim().2, x.dim().3),
            )?;
            let activation = activation.unwrap_or_default();
            if pooling == Pooling::Max && activation == Activation::Linear {
                return Err(bad(
                    "\"activation\": \"linear\" with \"pooling\": \"max\" is not supported \
                     (the maximum of linear responses is not a linear model, so the group-lasso \
                     program does not apply); use \"relu\", or sum/average pooling"
                        .into(),
                ));
            }
            Architecture::TwoLayer {
                geometry,
                pooling,
                activation,
                bias: bias.unwrap_or(false),
            }
        }
        ArchitectureFile::Circular { bias, layers } => {
            let (_, c, hh, ww) = x.dim();
            if !one_d || c != 1 {
                let shape = if one_d {
                    format!("[{n}, {c}, {ww}]")
                } else {
                    format!("[{n}, {c}, {hh}, {ww}]")
                };
                return Err(bad(format!(
                    "architecture \"circular\" takes 1-D signals of one channel, shaped \
                     [n, 1, d], but {} holds {shape}; flatten each sample to one signal \
                     (e.g. x.reshape(n, 1, -1) in NumPy) or use \"kind\": \"two_layer\"",
                    inputs_path.display()
                )));
            }
            if file.filter_norm.is_some_and(|f| f != FilterNorm::L2) {
                return Err(bad(
                    "\"filter_norm\" does not apply to \"circular\" (its convex regularizer is \
                     the spectral ℓ1 norm of docs/math.md §8); drop the key"
                        .into(),
                ));
            }
            let layers = layers.unwrap_or(3);
            if !(3..=MAX_CIRCULAR_LAYERS).contains(&layers) {
                return Err(bad(format!(
                    "architecture.layers = {layers}; a circular CNN has 3 to {MAX_CIRCULAR_LAYERS} \
                     layers (the three-layer CNN is \"layers\": 3, the default)"
                )));
            }
            Architecture::Circular {
                bias: bias.unwrap_or(false),
                layers,
            }
        }
        ArchitectureFile::ThreeLayer {
            kernel,
            stride,
            padding,
            inner_filters,
            outer_patterns,
            bias,
        } => {
            let geometry = geometry(
                source,
                one_d,
                kernel,
                stride.as_deref(),
                padding.as_deref(),
                (x.dim().2, x.dim().3),
            )?;
            if *inner_filters == 0 {
                return Err(bad(
                    "architecture.inner_filters = 0; every sub-network needs at least one \
                     inner filter: use inner_filters ≥ 1 (e.g. 2)"
                        .into(),
                ));
            }
            let outer = match outer_patterns {
                None => OuterSpec::Sample {
                    count: DEFAULT_OUTER_COUNT,
                    seed: 0,
                },
                Some(OuterPatternsFile::Sample { count: 0, .. }) => {
                    return Err(bad(
                        "architecture.outer_patterns.count = 0; sample at least one outer \
                         pattern (e.g. 30)"
                            .into(),
                    ));
                }
                Some(OuterPatternsFile::Sample { count, seed }) => OuterSpec::Sample {
                    count: *count,
                    seed: *seed,
                },
                Some(OuterPatternsFile::All) => {
                    let n = x.dim().0;
                    if n > MAX_ALL_OUTER_SAMPLES {
                        return Err(bad(format!(
                            "architecture.outer_patterns = {{\"mode\": \"all\"}} with n = {n} \
                             samples would write 2^{n} − 1 outer patterns; \"all\" is for \
                             n ≤ {MAX_ALL_OUTER_SAMPLES}: use {{\"mode\": \"sample\", \
                             \"count\": 30, \"seed\": 0}} or fewer samples (max_samples)"
                        )));
                    }
                    OuterSpec::All
                }
            };
            if file.filter_norm == Some(FilterNorm::L1) {
                return Err(bad(
                    "\"filter_norm\": \"l1\" is derived for two_layer only; drop it (the \
                     three_layer program uses the Frobenius constraint ‖U_j‖_F ≤ 1)"
                        .into(),
                ));
            }
            Architecture::ThreeLayer {
                geometry,
                inner_filters: *inner_filters,
                outer,
                bias: bias.unwrap_or(false),
            }
        }
    })
}

fn geometry(
    source: &Path,
    one_d: bool,
    kernel: &[usize],
    stride: Option<&[usize]>,
    padding: Option<&[usize]>,
    (hh, ww): (usize, usize),
) -> Result<ConvGeometry> {
    let dims = if one_d { 1 } else { 2 };
    let what = if one_d {
        "1-D signals [n, C, L]"
    } else {
        "images [n, C, H, W]"
    };
    let expand = |name: &str, v: Option<&[usize]>, default: usize| -> Result<[usize; 2]> {
        match v {
            None => Ok(if one_d {
                [1, default]
            } else {
                [default, default]
            }),
            Some(v) if v.len() == dims => Ok(if one_d { [1, v[0]] } else { [v[0], v[1]] }),
            Some(v) => Err(Error::input(
                source,
                format!(
                    "architecture.{name} = {v:?} has {} entries but the inputs are {what}; give {dims}",
                    v.len()
                ),
            )),
        }
    };
    let kernel = expand("kernel", Some(kernel), 1)?;
    let stride = expand("stride", stride, 1)?;
    let padding = expand("padding", padding, 0)?;
    let padding = if one_d { [0, padding[1]] } else { padding };
    if padding.iter().any(|&p| p > MAX_PADDING) {
        let given = if one_d {
            vec![padding[1]]
        } else {
            padding.to_vec()
        };
        return Err(Error::input(
            source,
            format!(
                "architecture.padding = {given:?} is far beyond any input (at most {MAX_PADDING}); \
                 give the zero padding on each side in pixels, usually less than the kernel"
            ),
        ));
    }
    if kernel.contains(&0) {
        let given = if one_d {
            vec![kernel[1]]
        } else {
            kernel.to_vec()
        };
        return Err(Error::input(
            source,
            format!("architecture.kernel has a zero entry ({given:?}); kernels need size ≥ 1"),
        ));
    }
    if stride.contains(&0) {
        return Err(Error::input(
            source,
            "architecture.stride has a zero entry; strides must be ≥ 1".to_string(),
        ));
    }
    let g = ConvGeometry {
        kernel,
        stride,
        padding,
    };
    if g.grid(hh, ww).is_none() {
        let (k, size) = if one_d {
            (
                format!("{}", kernel[1]),
                format!("{ww} (+ padding {})", padding[1]),
            )
        } else {
            (
                format!("{}×{}", kernel[0], kernel[1]),
                format!("{hh}×{ww} (+ padding {:?})", padding),
            )
        };
        return Err(Error::input(
            source,
            format!(
                "kernel {k} is larger than the input {size}; use a smaller kernel or pad the input"
            ),
        ));
    }
    Ok(g)
}

/// The validated pooling: `pool_size` only with `"local_average"`, which needs it, with one entry
/// per spatial dimension, each ≥ 1 and dividing the grid of patch positions (windows never
/// overlap and never hang over the edge; docs/math.md §5).
fn pooling_of(
    source: &Path,
    one_d: bool,
    pooling: PoolingFile,
    pool_size: Option<&[usize]>,
    geometry: &ConvGeometry,
    (hh, ww): (usize, usize),
) -> Result<Pooling> {
    let bad = |m: String| Error::input(source, m);
    let size = match (pooling, pool_size) {
        (PoolingFile::Sum, None) => return Ok(Pooling::Sum),
        (PoolingFile::Average, None) => return Ok(Pooling::Average),
        (PoolingFile::Max, None) => return Ok(Pooling::Max),
        (PoolingFile::Sum | PoolingFile::Average | PoolingFile::Max, Some(v)) => {
            let name = match pooling {
                PoolingFile::Sum => "sum",
                PoolingFile::Average => "average",
                _ => "max",
            };
            return Err(bad(format!(
                "architecture.pool_size = {v:?} is given with \"pooling\": \"{name}\", which is \
                 global; pool_size is only for \"pooling\": \"local_average\" — drop it or switch \
                 the pooling"
            )));
        }
        (PoolingFile::LocalAverage, None) => {
            return Err(bad(format!(
                "\"pooling\": \"local_average\" needs architecture.pool_size, the window in patch \
                 positions ({})",
                if one_d { "[p]" } else { "[ph, pw]" }
            )));
        }
        (PoolingFile::LocalAverage, Some(v)) => v,
    };
    let dims = if one_d { 1 } else { 2 };
    if size.len() != dims {
        return Err(bad(format!(
            "architecture.pool_size = {size:?} has {} entries but the inputs are {}; give {dims}",
            size.len(),
            if one_d {
                "1-D signals [n, C, L]"
            } else {
                "images [n, C, H, W]"
            }
        )));
    }
    if size.contains(&0) {
        return Err(bad(format!(
            "architecture.pool_size = {size:?} has a zero entry; windows need size ≥ 1"
        )));
    }
    let size = if one_d {
        [1, size[0]]
    } else {
        [size[0], size[1]]
    };
    // The kernel fits (checked by `geometry`), so the grid exists.
    let (gr, gc) = geometry.grid(hh, ww).unwrap_or((0, 0));
    if !gr.is_multiple_of(size[0]) || !gc.is_multiple_of(size[1]) {
        let divisors =
            |g: usize| -> Vec<usize> { (1..=g).filter(|d| g.is_multiple_of(*d)).collect() };
        let msg = if one_d {
            format!(
                "pool size {} does not divide the grid of {gc} patch positions (signal length {ww}, \
                 kernel {}, stride {}, padding {}); windows must tile the grid: use a pool size \
                 in {:?}, or change the kernel, stride or padding",
                size[1],
                geometry.kernel[1],
                geometry.stride[1],
                geometry.padding[1],
                divisors(gc)
            )
        } else {
            format!(
                "pool size {}×{} does not divide the {gr}×{gc} grid of patch positions (input \
                 {hh}×{ww}, kernel {}×{}, stride {:?}, padding {:?}); windows must tile the grid: \
                 use rows in {:?} and columns in {:?}, or change the kernel, stride or padding",
                size[0],
                size[1],
                geometry.kernel[0],
                geometry.kernel[1],
                geometry.stride,
                geometry.padding,
                divisors(gr),
                divisors(gc)
            )
        };
        return Err(bad(msg));
    }
    Ok(Pooling::LocalAverage { size })
}
