//! Chart data for the HTML report: turns a run (and its baseline) into plain [`Chart`] specs.
//!
//! Reads `RequestStats.windows` (latency percentiles, throughput and errors per window), the full
//! histograms (the HDR percentile plot) and `RunResult.samples` (memory and CPU). Produces data only;
//! `report::charts` draws it. The run is solid, the baseline dashed in the same colour.

use crate::report::charts::{Chart, Colour, Line, XAxis};
use crate::result::{LatencyHistogram, RunResult, SamplePoint};

/// Points per line at most: a nightly soak has thousands of windows, and a chart 620 px wide shows
/// no more detail than this; the file stays small.
const MAX_POINTS: usize = 600;
/// Points of the percentile curve: fine enough that the knee of the tail is smooth.
const CURVE_POINTS: usize = 240;
/// The deepest percentile plotted: 99.999% (x = 5), past which no run of loadgate has data.
const MAX_NINES: f64 = 5.0;

/// Every chart of a report, in page order; memory and CPU only when the run was monitored.
pub fn all(run: &RunResult, baseline: Option<&RunResult>) -> Vec<Chart> {
    let mut charts = vec![
        latency_over_time(run, baseline),
        percentile_distribution(run, baseline),
        throughput_over_time(run, baseline),
        errors_over_time(run, baseline),
    ];
    charts.extend(samples_chart(run, baseline, Sampled::Rss));
    charts.extend(samples_chart(run, baseline, Sampled::Cpu));
    charts
}

fn seconds_desc() -> String {
    "seconds into the measured window".to_string()
}

/// Keeps at most `max` points: each kept point is the one with the largest y of its chunk, so a
/// spike stays visible after thinning.
pub fn thin(points: Vec<(f64, f64)>, max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max || max == 0 {
        return points;
    }
    let chunk = points.len().div_ceil(max);
    points
        .chunks(chunk)
        .filter_map(|c| {
            c.iter()
                .copied()
                .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
        })
        .collect()
}

/// `f(window)` for every window of `r`'s aggregate, at the window's midpoint in seconds.
fn per_window(
    r: &RunResult,
    f: impl Fn(&crate::result::Window, f64) -> Option<f64>,
) -> Vec<(f64, f64)> {
    per_window_of(r, None, f)
}

/// [`per_window`] for one request name (`None`: all requests together); no points when the run
/// has no such request.
fn per_window_of(
    r: &RunResult,
    request: Option<&str>,
    f: impl Fn(&crate::result::Window, f64) -> Option<f64>,
) -> Vec<(f64, f64)> {
    let w_s = r.meta.load.window_ms.max(1) as f64 / 1000.0;
    let Some(stats) = r.stats(request) else {
        return Vec::new();
    };
    let pts = stats
        .windows
        .iter()
        .enumerate()
        .filter_map(|(i, w)| f(w, w_s).map(|y| ((i as f64 + 0.5) * w_s, y)))
        .collect();
    thin(pts, MAX_POINTS)
}

fn line(name: String, points: Vec<(f64, f64)>, colour: Colour, dashed: bool) -> Line {
    Line {
        name,
        points,
        colour,
        dashed,
    }
}

/// Both sides of a series: the run solid, the baseline (when there is one) dashed.
fn both(
    run: &RunResult,
    baseline: Option<&RunResult>,
    what: &str,
    colour: Colour,
    f: impl Fn(&RunResult) -> Vec<(f64, f64)>,
) -> Vec<Line> {
    let mut lines = Vec::new();
    if let Some(b) = baseline {
        lines.push(line(format!("baseline {what}"), f(b), colour, true));
    }
    let name = if baseline.is_some() {
        format!("run {what}")
    } else {
        what.to_string()
    };
    lines.push(line(name, f(run), colour, false));
    lines
}

fn chart(title: &str, x_desc: String, y_desc: &str, x_axis: XAxis, lines: Vec<Line>) -> Chart {
    Chart {
        title: title.to_string(),
        x_desc,
        y_desc: y_desc.to_string(),
        x_axis,
        lines,
        markers: Vec::new(),
        marker_name: String::new(),
    }
}

/// p50, p95 and p99 of each window.
pub fn latency_over_time(run: &RunResult, baseline: Option<&RunResult>) -> Chart {
    let mut lines = Vec::new();
    for (name, q, colour) in [
        ("p50", 0.50, Colour::Blue),
        ("p95", 0.95, Colour::Orange),
        ("p99", 0.99, Colour::Red),
    ] {
        lines.extend(both(run, baseline, name, colour, |r| {
            per_window(r, |w, _| {
                w.histogram.quantile_us(q).map(|us| us as f64 / 1e3)
            })
        }));
    }
    chart(
        "Latency percentiles per window",
        seconds_desc(),
        "latency (ms)",
        XAxis::Linear,
        lines,
    )
}

/// p50, p95 and p99 of each window of one request name, for a request that warned or failed.
pub fn request_latency_over_time(
    run: &RunResult,
    baseline: Option<&RunResult>,
    request: &str,
) -> Chart {
    let mut lines = Vec::new();
    for (name, q, colour) in [
        ("p50", 0.50, Colour::Blue),
        ("p95", 0.95, Colour::Orange),
        ("p99", 0.99, Colour::Red),
    ] {
        lines.extend(both(run, baseline, name, colour, |r| {
            per_window_of(r, Some(request), |w, _| {
                w.histogram.quantile_us(q).map(|us| us as f64 / 1e3)
            })
        }));
    }
    chart(
        &format!("Latency of `{request}` per window"),
        seconds_desc(),
        "latency (ms)",
        XAxis::Linear,
        lines,
    )
}

/// The latency at each percentile, on the "1/(1−p)" log axis of HdrHistogram's plots.
pub fn percentile_distribution(run: &RunResult, baseline: Option<&RunResult>) -> Chart {
    let count = run
        .all
        .histogram
        .count()
        .max(baseline.map_or(0, |b| b.all.histogram.count()));
    // Past 1/count the curve is flat at the maximum: stop one decade after it.
    let nines = ((count.max(1) as f64).log10().ceil()).clamp(2.0, MAX_NINES);
    let curve = |r: &RunResult| percentile_curve(&r.all.histogram, nines);
    chart(
        "Latency by percentile (HDR)",
        "percentile".to_string(),
        "latency (ms)",
        XAxis::Percentile,
        both(run, baseline, "latency", Colour::Blue, curve),
    )
}

/// `(log10(1/(1−p)), latency ms)` for `CURVE_POINTS` evenly spaced x in `[0, nines]`.
pub fn percentile_curve(h: &LatencyHistogram, nines: f64) -> Vec<(f64, f64)> {
    if h.count() == 0 {
        return Vec::new();
    }
    (0..=CURVE_POINTS)
        .filter_map(|i| {
            let x = nines * i as f64 / CURVE_POINTS as f64;
            let p = 1.0 - 10f64.powf(-x);
            h.quantile_us(p).map(|us| (x, us as f64 / 1e3))
        })
        .collect()
}

/// Requests per second in each window.
pub fn throughput_over_time(run: &RunResult, baseline: Option<&RunResult>) -> Chart {
    let rate = |r: &RunResult| per_window(r, |w, s| Some(w.requests as f64 / s));
    chart(
        "Throughput per window",
        seconds_desc(),
        "requests/s",
        XAxis::Linear,
        both(run, baseline, "throughput", Colour::Blue, rate),
    )
}

/// Failed requests in each window.
pub fn errors_over_time(run: &RunResult, baseline: Option<&RunResult>) -> Chart {
    let errors = |r: &RunResult| per_window(r, |w, _| Some(w.errors as f64));
    chart(
        "Errors per window",
        seconds_desc(),
        "failed requests",
        XAxis::Linear,
        both(run, baseline, "errors", Colour::Orange, errors),
    )
}

#[derive(Clone, Copy)]
enum Sampled {
    Rss,
    Cpu,
}

/// Memory (MB) or CPU (% of a core) of the service; `None` when neither side was monitored.
fn samples_chart(run: &RunResult, baseline: Option<&RunResult>, what: Sampled) -> Option<Chart> {
    let value = move |p: &SamplePoint| match what {
        Sampled::Rss => p.rss_bytes.map(|b| b as f64 / 1e6),
        Sampled::Cpu => p.cpu_percent,
    };
    let series = move |r: &RunResult| -> Vec<(f64, f64)> {
        // The last pooled run's readings: the one the memory metrics of the report describe.
        let Some(s) = r.samples.last() else {
            return Vec::new();
        };
        let pts = s
            .points
            .iter()
            .filter_map(|p| value(p).map(|v| (p.t_ms as f64 / 1000.0, v)))
            .collect();
        thin(pts, MAX_POINTS)
    };
    let monitored = |r: &RunResult| !series(r).is_empty();
    if !monitored(run) && !baseline.is_some_and(monitored) {
        return None;
    }
    let (title, y, name, colour) = match what {
        Sampled::Rss => ("Service memory (RSS)", "RSS (MB)", "RSS", Colour::Blue),
        Sampled::Cpu => ("Service CPU", "CPU (% of a core)", "CPU", Colour::Green),
    };
    Some(chart(
        title,
        "seconds into the measured window (negative: ramp-up)".to_string(),
        y,
        XAxis::Linear,
        both(run, baseline, name, colour, series),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{testing, Samples, Window};

    fn run_with_windows(n: usize) -> RunResult {
        let mut r = testing::result();
        for i in 0..n {
            let mut w = Window::default();
            for k in 0..50u64 {
                w.histogram.record(1_000 + k * 10 + i as u64);
                r.all.histogram.record(1_000 + k * 10 + i as u64);
            }
            w.requests = 50;
            w.errors = (i % 3) as u64;
            r.all.windows.push(w);
        }
        r
    }

    #[test]
    fn a_run_alone_has_four_charts_and_no_baseline_lines() {
        let r = run_with_windows(4);
        let charts = all(&r, None);
        assert_eq!(charts.len(), 4);
        assert!(charts
            .iter()
            .flat_map(|c| &c.lines)
            .all(|l| !l.dashed && !l.name.contains("baseline")));
        // 1 s windows: midpoints 0.5, 1.5, ...; throughput = 50 req/s.
        assert_eq!(charts[2].lines[0].points[1], (1.5, 50.0));
    }

    #[test]
    fn a_baseline_adds_dashed_lines_and_samples_add_charts() {
        let mut r = run_with_windows(4);
        r.samples.push(Samples {
            source: "pid 1".into(),
            interval_ms: 500,
            points: vec![SamplePoint {
                t_ms: -500,
                rss_bytes: Some(20_000_000),
                cpu_percent: None,
            }],
            error: None,
        });
        let b = run_with_windows(3);
        let charts = all(&r, Some(&b));
        assert_eq!(charts.len(), 5, "RSS but no CPU readings");
        assert_eq!(charts[0].lines.len(), 6);
        assert_eq!(charts[4].lines[1].points, vec![(-0.5, 20.0)]);
    }

    #[test]
    fn percentile_curve_is_monotone_and_spans_the_axis() {
        let r = run_with_windows(10);
        let c = percentile_curve(&r.all.histogram, 3.0);
        assert_eq!(c.first().map(|p| p.0), Some(0.0));
        assert_eq!(c.last().map(|p| p.0), Some(3.0));
        assert!(c.windows(2).all(|w| w[0].1 <= w[1].1));
        assert!(percentile_curve(&LatencyHistogram::new(), 3.0).is_empty());
    }

    #[test]
    fn thinning_keeps_spikes() {
        let mut pts: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, 1.0)).collect();
        pts[7_777].1 = 99.0;
        let t = thin(pts, MAX_POINTS);
        assert!(t.len() <= MAX_POINTS);
        assert!(t.iter().any(|p| p.1 == 99.0));
    }
}
