//! The SVG plot of `compare`: gap to the reference against time, one line per solver.

use super::{CompareReport, Row, rel_gap};

/// Smallest `|gap|` drawn; smaller ones (Clarabel against itself, exact hits) sit on this floor.
pub const PLOT_FLOOR: f64 = 1e-12;

/// An SVG plot of `|objective − reference| / |reference|` (log scale) against each solver's own
/// wall time, one line per traced solver. The reference is a vertical line at the time Clarabel
/// took; one-point traces (OSQP) are markers. The absolute value is plotted, solid where the
/// objective is above the reference and dashed where it is below (FISTA's gated optimum, an
/// infeasible AL iterate, a network using patterns outside a sample); signed gaps are in the table
/// and the JSON.
///
/// # Errors
/// When plotters fails to draw (the message says where).
pub fn plot_svg(report: &CompareReport) -> Result<String, String> {
    use plotters::prelude::*;

    let reference = report.reference.objective;
    // (seconds, |gap|, below the reference) per traced solver.
    type Points = Vec<(f64, f64, bool)>;
    let series: Vec<(&Row, Points)> = report
        .rows
        .iter()
        .filter(|r| r.solver != "clarabel" && r.objective.is_some())
        .map(|r| {
            let pts = r
                .trace
                .iter()
                .filter(|p| p.objective.is_finite())
                .map(|p| {
                    let g = rel_gap(p.objective, reference);
                    (p.seconds, g.abs().max(PLOT_FLOOR), g < 0.0)
                })
                .collect();
            (r, pts)
        })
        .collect();
    let clarabel_s = report.rows.first().and_then(|r| r.seconds).unwrap_or(0.0);
    let all = series.iter().flat_map(|(_, p)| p.iter());
    let t_max = all
        .clone()
        .map(|p| p.0)
        .fold(clarabel_s, f64::max)
        .max(1e-3)
        * 1.05;
    let g_min = all.clone().map(|p| p.1).fold(1.0_f64, f64::min) / 2.0;
    let g_max = all.map(|p| p.1).fold(1e-2_f64, f64::max) * 2.0;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| format!("plot: {e}");
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let title = format!(
            "{} — |objective − Clarabel's {:.6e}| / |reference| (dashed: below it)",
            report.problem, reference
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..t_max, (g_min..g_max).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("seconds (each solver from its own start)")
            .y_desc("|objective − reference| / |reference|")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .x_max_light_lines(1)
            .draw()
            .map_err(|e| err(&e))?;
        let colors = [
            RGBColor(31, 119, 180),
            RGBColor(214, 39, 40),
            RGBColor(44, 160, 44),
            RGBColor(148, 103, 189),
            RGBColor(255, 127, 14),
        ];
        let black = RGBColor(0, 0, 0);
        chart
            .draw_series(DashedLineSeries::new(
                [(clarabel_s, g_min), (clarabel_s, g_max)],
                6,
                4,
                black.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label(format!(
                "clarabel (reference, {}, {:.2} s)",
                report.reference.status.name(),
                clarabel_s
            ))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], black.stroke_width(2)));
        for (i, (row, pts)) in series.iter().enumerate() {
            let color = colors[i % colors.len()];
            let label = format!("{} ({}, {})", row.solver, row.program, row.status);
            if pts.len() == 1 {
                chart
                    .draw_series(
                        pts.iter()
                            .map(|&(t, g, _)| Circle::new((t, g), 5, color.filled())),
                    )
                    .map_err(|e| err(&e))?
                    .label(label)
                    .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
                continue;
            }
            // Runs of consecutive points on one side of the reference; each run starts at the
            // last point of the previous one so the curve stays connected.
            let mut runs: Vec<(bool, Vec<(f64, f64)>)> = Vec::new();
            for &(t, g, below) in pts {
                match runs.last_mut() {
                    Some((side, run)) if *side == below => run.push((t, g)),
                    last => {
                        let joint = last.and_then(|(_, run)| run.last().copied());
                        runs.push((below, joint.into_iter().chain([(t, g)]).collect()));
                    }
                }
            }
            for (k, (below, run)) in runs.into_iter().enumerate() {
                let style = color.stroke_width(2);
                let drawn = if below {
                    chart.draw_series(DashedLineSeries::new(run, 5, 4, style))
                } else {
                    chart.draw_series(LineSeries::new(run, style))
                }
                .map_err(|e| err(&e))?;
                if k == 0 {
                    drawn.label(label.clone()).legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                }
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(black)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
