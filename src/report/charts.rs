//! Line charts as inline SVG for the HTML report: the only module that knows plotters.
//!
//! Consumes plain [`Chart`] specs (built from a `RunResult` in `report::series`) and produces SVG text.
//! It decides nothing and reads no files. Text is laid out with plotters' built-in size estimate (no
//! `ttf` / `ab_glyph` feature): the SVG carries `<text>` elements that the browser sets in its own
//! sans-serif font, so the build needs no font file and no system font lookup.

use std::ops::Range;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::element::DashedPathElement;
use plotters::prelude::*;

/// The colours a line can take; one per role, so a run and its baseline share a colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// p50, throughput, RSS: the main series.
    Blue,
    /// p95, errors.
    Orange,
    /// p99, change points.
    Red,
    /// CPU.
    Green,
    /// Neutral series.
    Grey,
}

impl Colour {
    fn rgb(self) -> RGBColor {
        match self {
            Colour::Blue => RGBColor(31, 119, 180),
            Colour::Orange => RGBColor(255, 127, 14),
            Colour::Red => RGBColor(214, 39, 40),
            Colour::Green => RGBColor(44, 160, 44),
            Colour::Grey => RGBColor(110, 110, 110),
        }
    }
}

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend text.
    pub name: String,
    /// `(x, y)` in the chart's units; non-finite points are dropped.
    pub points: Vec<(f64, f64)>,
    /// Colour.
    pub colour: Colour,
    /// Dashed (the baseline) or solid (the run).
    pub dashed: bool,
}

/// How the x axis reads.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    /// Plain numbers (e.g. seconds into the measured window).
    Linear,
    /// `x = log10(1 / (1 − p))`, labelled as percentiles: 0 → 0%, 1 → 90%, 2 → 99%, ...
    Percentile,
    /// `x` is an index into these labels (e.g. dates of a history).
    Categories(Vec<String>),
}

/// A whole chart: what to draw and how to label it.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Caption above the plot.
    pub title: String,
    /// X axis description.
    pub x_desc: String,
    /// Y axis description (with its unit).
    pub y_desc: String,
    /// X axis kind.
    pub x_axis: XAxis,
    /// Lines, drawn in order.
    pub lines: Vec<Line>,
    /// Vertical markers (e.g. change points) at these x values.
    pub markers: Vec<f64>,
    /// Legend text of the markers.
    pub marker_name: String,
}

/// Width and height of every chart in px: two fit side by side on a laptop screen.
pub const SIZE: (u32, u32) = (620, 340);
/// Ticks on the x axis at most: labels of ~10 characters at 13 px stay apart at [`SIZE`].
const MAX_X_TICKS: usize = 8;

/// Renders `chart` as an `<svg>` element. Never fails: a chart plotters cannot draw becomes an SVG
/// that says why, so the page still shows where the chart should be.
pub fn svg(chart: &Chart) -> String {
    let mut buf = String::new();
    let drawn = draw(chart, &mut buf);
    match drawn {
        Ok(()) => buf,
        Err(e) => failed(&chart.title, &e),
    }
}

fn failed(title: &str, why: &str) -> String {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, SIZE).into_drawing_area();
        let style = ("sans-serif", 14).into_font().color(&BLACK);
        let _ = root.fill(&WHITE);
        let _ = root.draw_text(
            &format!("{title}: chart not drawn ({why})"),
            &style,
            (10, 20),
        );
        let _ = root.present();
    }
    buf
}

/// Data range of the finite points: `((x0, x1), (y0, y1))`, widened so no range is empty, with the
/// y axis starting at zero (a latency or a rate read against zero is not exaggerated).
fn ranges(chart: &Chart) -> ((f64, f64), (f64, f64)) {
    let pts = || {
        chart
            .lines
            .iter()
            .flat_map(|l| l.points.iter().copied())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, 0.0f64, f64::MIN);
    for (x, y) in pts() {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if let XAxis::Categories(labels) = &chart.x_axis {
        (x0, x1) = (-0.5, labels.len().max(1) as f64 - 0.5);
    }
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if x1 - x0 < 1e-9 {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    // Headroom above the highest point, so the legend (upper left, ~16 px a line in a plot ~260 px
    // high) does not cover the data.
    let entries = chart.lines.iter().filter(|l| !l.name.is_empty()).count()
        + usize::from(!chart.markers.is_empty());
    let legend = ((entries * 16 + 16) as f64 / 260.0).clamp(0.1, 0.6);
    ((x0, x1), (y0, y0 + (y1 - y0) / (1.0 - legend)))
}

/// At most `n` "nice" ticks (1, 2, 5 × 10^k apart) inside `[lo, hi]`.
fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) || n == 0 {
        return vec![lo];
    }
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= n as f64)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// An f64 axis with ticks exactly where we put them (plotters' `WithKeyPoints` over an f64 range
/// cannot take a label formatter in plotters 0.3.7: it lacks `ValueFormatter`).
struct Ticked {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        if span <= 0.0 {
            return (limit.0 + limit.1) / 2;
        }
        let f = (v - self.range.start) / span;
        limit.0 + (f * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Bold grid lines and labels at our ticks; no light lines in between.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

impl ValueFormatter<f64> for Ticked {
    fn format(v: &f64) -> String {
        format!("{v}")
    }
}

/// Tick positions on the x axis.
fn x_ticks(chart: &Chart, (x0, x1): (f64, f64)) -> Vec<f64> {
    match &chart.x_axis {
        XAxis::Linear => nice_ticks(x0, x1, MAX_X_TICKS),
        XAxis::Percentile => {
            // 0%, 50%, 90%, 99%, 99.9%, ... (the classic HdrHistogram plot's ticks).
            let mut t = vec![0.0, 2f64.log10()];
            t.extend((1..=x1.floor() as i64).map(|k| k as f64));
            t.retain(|v| *v >= x0 && *v <= x1);
            t
        }
        XAxis::Categories(labels) => {
            let n = labels.len();
            let step = n.div_ceil(MAX_X_TICKS).max(1);
            (0..n).step_by(step).map(|i| i as f64).collect()
        }
    }
}

fn x_label(axis: &XAxis, x: f64) -> String {
    match axis {
        XAxis::Linear => {
            if (x - x.round()).abs() < 1e-9 {
                format!("{x:.0}")
            } else {
                format!("{x}")
            }
        }
        XAxis::Percentile => {
            let p = 100.0 * (1.0 - 10f64.powf(-x));
            // Enough decimals to tell 99.9% from 99.99%, none for 50%.
            let decimals = (x.round().max(2.0) - 2.0) as usize;
            format!("{p:.decimals$}%")
        }
        XAxis::Categories(labels) => {
            let i = x.round();
            if i >= 0.0 && (x - i).abs() < 1e-6 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        }
    }
}

fn y_label(y: f64) -> String {
    let a = y.abs();
    if (y - y.round()).abs() < 1e-9 || a >= 100.0 {
        format!("{y:.0}")
    } else if a >= 10.0 {
        format!("{y:.1}")
    } else {
        format!("{y:.2}")
    }
}

fn draw(chart: &Chart, buf: &mut String) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let ((x0, x1), (y0, y1)) = ranges(chart);
    let ticks = x_ticks(chart, (x0, x1));
    let root = SVGBackend::with_string(buf, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut ctx = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 16))
        .margin(12)
        // Room for the last x label ("99.99%"), centred on the plot's right edge.
        .margin_right(30)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(
            Ticked {
                range: x0..x1,
                ticks,
            },
            y0..y1,
        )
        .map_err(|x| e(&x))?;
    let axis = chart.x_axis.clone();
    let fmt_x = move |x: &f64| x_label(&axis, *x);
    let fmt_y = |y: &f64| y_label(*y);
    ctx.configure_mesh()
        .x_desc(chart.x_desc.as_str())
        .y_desc(chart.y_desc.as_str())
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .y_labels(6)
        .max_light_lines(1)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(|x| e(&x))?;
    let mut labelled = false;
    for line in &chart.lines {
        let pts: Vec<(f64, f64)> = line
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let style = line.colour.rgb().stroke_width(2);
        if pts.len() == 1 {
            // A single point has no segment to show: mark it.
            ctx.draw_series(pts.iter().map(|p| Circle::new(*p, 3, style.filled())))
                .map_err(|x| e(&x))?;
        }
        let anno = if line.dashed {
            ctx.draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
                .map_err(|x| e(&x))?
        } else {
            ctx.draw_series(LineSeries::new(pts.clone(), style))
                .map_err(|x| e(&x))?
        };
        if line.name.is_empty() {
            continue;
        }
        labelled = true;
        let dashed = line.dashed;
        anno.label(line.name.as_str()).legend(move |(x, y)| {
            let seg = vec![(x, y), (x + 22, y)];
            if dashed {
                DashedPathElement::new(seg, 5, 3, style).into_dyn()
            } else {
                PathElement::new(seg, style).into_dyn()
            }
        });
    }
    let marker_style = Colour::Red.rgb().mix(0.7).stroke_width(1);
    for (i, m) in chart
        .markers
        .iter()
        .filter(|m| m.is_finite() && **m >= x0 && **m <= x1)
        .enumerate()
    {
        let anno = ctx
            .draw_series(DashedLineSeries::new(
                vec![(*m, y0), (*m, y1)],
                4,
                4,
                marker_style,
            ))
            .map_err(|x| e(&x))?;
        if i == 0 && !chart.marker_name.is_empty() {
            labelled = true;
            anno.label(chart.marker_name.as_str())
                .legend(move |(x, y)| {
                    DashedPathElement::new(
                        vec![(x + 11, y - 6), (x + 11, y + 6)],
                        3,
                        2,
                        marker_style,
                    )
                });
        }
    }
    if chart.lines.iter().all(|l| l.points.is_empty()) {
        let style = ("sans-serif", 14)
            .into_font()
            .color(&RGBColor(110, 110, 110));
        root.draw_text(
            "no data",
            &style,
            (SIZE.0 as i32 / 2 - 25, SIZE.1 as i32 / 2),
        )
        .map_err(|x| e(&x))?;
    }
    if labelled {
        ctx.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(|x| e(&x))?;
    }
    root.present().map_err(|x| e(&x))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(axis: XAxis, lines: Vec<Line>) -> Chart {
        Chart {
            title: "t".into(),
            x_desc: "x".into(),
            y_desc: "y".into(),
            x_axis: axis,
            lines,
            markers: vec![1.0],
            marker_name: "change point".into(),
        }
    }

    fn line(points: Vec<(f64, f64)>, dashed: bool) -> Line {
        Line {
            name: "run p95".into(),
            points,
            colour: Colour::Blue,
            dashed,
        }
    }

    #[test]
    fn percentile_labels_are_the_classic_ones() {
        let got: Vec<String> = [0.0, 2f64.log10(), 1.0, 2.0, 3.0, 4.0]
            .iter()
            .map(|x| x_label(&XAxis::Percentile, *x))
            .collect();
        assert_eq!(got, ["0%", "50%", "90%", "99%", "99.9%", "99.99%"]);
    }

    #[test]
    fn nice_ticks_stay_in_range_and_few() {
        for (lo, hi) in [(0.0, 3.0), (0.0, 3600.0), (-2.0, 7.5), (0.25, 0.5)] {
            let t = nice_ticks(lo, hi, MAX_X_TICKS);
            assert!(
                !t.is_empty() && t.len() <= MAX_X_TICKS + 1,
                "{lo}..{hi}: {t:?}"
            );
            assert!(t.iter().all(|v| *v >= lo - 1e-9 && *v <= hi + 1e-9));
        }
    }

    #[test]
    fn draws_empty_single_and_non_finite_data() {
        for pts in [
            vec![],
            vec![(1.0, 2.0)],
            vec![(0.0, f64::NAN), (1.0, f64::INFINITY), (2.0, 3.0)],
            vec![(0.0, 0.0), (1.0, 0.0)],
        ] {
            let s = svg(&chart(XAxis::Linear, vec![line(pts, true)]));
            assert!(
                s.starts_with("<svg") && s.trim_end().ends_with("</svg>"),
                "{s}"
            );
            assert!(!s.contains("not drawn"), "{s}");
            roxmltree::Document::parse(&s).unwrap();
        }
    }

    #[test]
    fn legend_and_markers_are_drawn_and_escaped() {
        let mut c = chart(
            XAxis::Categories(vec!["a<b".into(), "c".into()]),
            vec![line(vec![(0.0, 1.0), (1.0, 2.0)], false)],
        );
        c.lines[0].name = "<script>".into();
        let s = svg(&c);
        assert!(
            s.contains("&lt;script&gt;") && !s.contains("<script>"),
            "{s}"
        );
        assert!(s.contains("change point") && s.contains("a&lt;b"), "{s}");
        roxmltree::Document::parse(&s).unwrap();
    }
}
