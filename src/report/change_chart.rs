//! The change chart of the HTML report: each gated metric's relative change as a point with its 95%
//! interval, against the ±10% and ±20% lines (loadgate's default warn and critical thresholds),
//! coloured by the row's status. The picture a gate most needs: how far each metric moved, and how
//! sure that is. Hand-written inline SVG (a few rectangles, lines and texts need no plotting crate),
//! well-formed XML, every label escaped.

use crate::compare::{Row, Status};
use crate::report::markup::escape;
use crate::report::{change, decides, interval};

const WIDTH: f64 = 760.0;
const LABEL_W: f64 = 190.0;
const RIGHT_PAD: f64 = 24.0;
const TOP: f64 = 46.0;
const ROW_H: f64 = 22.0;
const BOTTOM: f64 = 12.0;
/// The reference lines: the default warn and critical thresholds.
const LINES: [f64; 2] = [0.10, 0.20];
/// The axis never spans less than this either side (so ±20% is always visible) nor more.
const MIN_SPAN: f64 = 0.25;
const MAX_SPAN: f64 = 2.0;
/// The width of one character of a 12 px sans-serif label, generously: for labels that must not
/// overlap.
const CHAR_W: f64 = 7.0;

fn colour(s: Status) -> &'static str {
    match s {
        Status::Critical => "#c62828",
        Status::Warn => "#ef6c00",
        Status::Incomplete => "#6a1b9a",
        Status::Improved => "#1565c0",
        Status::Pass => "#2e7d32",
        Status::Info => "#757575",
    }
}

/// The rows drawn: those that decide the verdict and have a finite relative change, in the
/// comparison's order (aggregate first).
fn drawn(rows: &[Row]) -> Vec<&Row> {
    rows.iter()
        .filter(|r| decides(r) && r.change.is_some_and(f64::is_finite))
        .collect()
}

/// The half-width of the axis: the largest |change| or interval bound, rounded up to 5%, within
/// [`MIN_SPAN`, `MAX_SPAN`]; points beyond it are drawn at the edge.
fn span(rows: &[&Row]) -> f64 {
    let far = rows
        .iter()
        .flat_map(|r| {
            let (a, b) = r.interval.unwrap_or((0.0, 0.0));
            [r.change.unwrap_or(0.0), a, b]
        })
        .filter(|v| v.is_finite())
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    ((far * 20.0).ceil() / 20.0).clamp(MIN_SPAN, MAX_SPAN)
}

/// The chart as an `<svg>`, or `None` when no gated row has a relative change to draw.
pub fn svg(rows: &[Row]) -> Option<String> {
    let rows = drawn(rows);
    if rows.is_empty() {
        return None;
    }
    let span = span(&rows);
    let (x0, x1) = (LABEL_W, WIDTH - RIGHT_PAD);
    let x = |v: f64| x0 + (v.clamp(-span, span) + span) / (2.0 * span) * (x1 - x0);
    let height = TOP + ROW_H * rows.len() as f64 + BOTTOM;
    let bottom = height - BOTTOM;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\" role=\"img\">\
         <title>Relative change of each gated metric, with its 95% interval</title>\
         <rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{height}\" fill=\"#fff\"/>"
    );
    // Reference lines, labelled above the plot, and the axis's ends labelled too: with a wide axis
    // (a +600% change) the lines crowd together near zero, and a label that would overlap one
    // already placed is left out, the most telling first (0, ±20%, the ends, then ±10%).
    let mut vline = |v: f64, stroke: &str, dash: &str| {
        out.push_str(&format!(
            "<line x1=\"{0:.1}\" y1=\"{TOP}\" x2=\"{0:.1}\" y2=\"{bottom:.1}\" stroke=\"{stroke}\" stroke-width=\"1\"{dash}/>",
            x(v),
        ));
    };
    vline(0.0, "#999", "");
    for (l, stroke) in LINES.iter().zip(["#ef6c00", "#c62828"]) {
        for sign in [-1.0, 1.0] {
            vline(sign * l, stroke, " stroke-dasharray=\"4 3\"");
        }
    }
    // Two rows of labels: a label that would overlap one already placed goes to the upper row, and
    // is left out only when both are taken.
    let mut placed: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
    let candidates = [0.0, -LINES[1], LINES[1], -span, span, -LINES[0], LINES[0]];
    for v in candidates {
        let label = if v == 0.0 {
            "0".to_string()
        } else {
            change(Some(v))
        };
        let w = label.chars().count() as f64 * CHAR_W;
        // The axis's ends are labelled inward, so they stay inside the picture.
        let (centre, anchor) = match v {
            v if v == span => (x(v) - w / 2.0, "end"),
            v if v == -span => (x(v) + w / 2.0, "start"),
            v => (x(v), "middle"),
        };
        let free = |row: &Vec<(f64, f64)>| {
            row.iter()
                .all(|(p, pw)| (p - centre).abs() >= (w + pw) / 2.0 + 4.0)
        };
        let Some(row) = (0..2).find(|&r| free(&placed[r])) else {
            continue;
        };
        placed[row].push((centre, w));
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"#555\">{}</text>",
            x(v),
            TOP - 8.0 - 14.0 * row as f64,
            escape(&label)
        ));
    }
    for (i, r) in rows.iter().enumerate() {
        let y = TOP + ROW_H * (i as f64 + 0.5);
        let c = colour(r.status);
        let label = format!("{} {}", r.request.as_deref().unwrap_or("all"), r.metric);
        let shown: String = label.chars().take(28).collect();
        let v = r.change.unwrap_or(0.0);
        out.push_str(&format!(
            "<g><title>{}: {} (95% interval {}), {}</title>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#222\">{}</text>",
            escape(&label),
            escape(&change(r.change)),
            escape(&interval(r.interval)),
            r.status.name(),
            LABEL_W - 20.0,
            y + 4.0,
            escape(&shown)
        ));
        if let Some((a, b)) = r.interval.filter(|(a, b)| a.is_finite() && b.is_finite()) {
            out.push_str(&format!(
                "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{c}\" stroke-width=\"3\" stroke-linecap=\"round\" opacity=\"0.55\"/>",
                x(a),
                x(b)
            ));
        }
        out.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"{c}\"/>",
            x(v)
        ));
        // Beyond the axis: an arrow outside its end says the point is further than drawn.
        if v.abs() > span {
            let (edge, dir) = if v > 0.0 { (x1, 1.0) } else { (x0, -1.0) };
            out.push_str(&format!(
                "<polygon points=\"{:.1},{:.1} {:.1},{y:.1} {:.1},{:.1}\" fill=\"{c}\"/>",
                edge + dir * 8.0,
                y - 5.0,
                edge + dir * 15.0,
                edge + dir * 8.0,
                y + 5.0
            ));
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gated_row_with_a_change_is_a_point_with_its_interval_coloured_by_status() {
        let (_, _, c, _) = crate::report::fixture::judged();
        let svg = svg(&c.rows).unwrap();
        roxmltree::Document::parse(&svg).unwrap();
        // 7 gated rows (the informational mean is not drawn), each a point and an interval.
        assert_eq!(svg.matches("<circle").count(), 7, "{svg}");
        assert_eq!(svg.matches("stroke-width=\"3\"").count(), 7);
        assert_eq!(
            svg.matches("fill=\"#c62828\"").count(),
            2,
            "two critical points"
        );
        assert_eq!(svg.matches("fill=\"#ef6c00\"").count(), 1, "one warn point");
        // search p95 reaches +70%: the axis spans ±70%, with the ±10% and ±20% lines on it.
        for label in ["+10.0%", "-10.0%", "+20.0%", "-20.0%"] {
            assert!(svg.contains(&format!(">{label}</text>")), "{label}");
        }
        assert!(svg.contains("search p95: +60.0% (95% interval +50.0%..+70.0%), critical"));
        assert!(!svg.contains(">all mean<"));
    }

    #[test]
    fn the_axis_keeps_the_reference_lines_and_clamps_far_points() {
        use crate::report::fixture::row;
        use crate::result::metric::Metric;
        let small = [row(
            None,
            Metric::P50,
            (10.0, 10.1),
            0.01,
            Status::Pass,
            true,
        )];
        assert_eq!(span(&small.iter().collect::<Vec<_>>()), MIN_SPAN);
        let huge = [row(
            None,
            Metric::P50,
            (10.0, 1000.0),
            1.0,
            Status::Critical,
            true,
        )];
        assert_eq!(span(&huge.iter().collect::<Vec<_>>()), MAX_SPAN);
        let svg = svg(&huge).unwrap();
        assert!(
            svg.contains(&format!("cx=\"{:.1}\"", WIDTH - RIGHT_PAD)),
            "{svg}"
        );
        // On the wide axis the ±20% lines sit close to zero: their labels take the upper row
        // rather than overlap, the ends are labelled, and the far point has its arrow.
        for label in [
            ">0</text>",
            ">+20.0%</text>",
            ">-20.0%</text>",
            ">+200.0%</text>",
        ] {
            assert!(svg.contains(label), "{label} in {svg}");
        }
        assert_eq!(svg.matches("<polygon").count(), 1, "{svg}");
        let mut none = small.to_vec();
        none[0].change = None;
        assert!(super::svg(&none).is_none());
    }

    #[test]
    fn labels_are_escaped() {
        use crate::report::fixture::row;
        use crate::result::metric::Metric;
        let rows = [row(
            Some("<script>&"),
            Metric::P95,
            (10.0, 12.0),
            0.05,
            Status::Warn,
            true,
        )];
        let svg = svg(&rows).unwrap();
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;&amp;"));
        roxmltree::Document::parse(&svg).unwrap();
    }
}
