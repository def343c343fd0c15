//! Geometry of the offsets chart: one polyline per node (offset over time), the lag of each
//! replica behind the largest offset, and where the faults go, in a plain SVG box.

use std::collections::BTreeMap;

use crate::fmt::push_tenths;
use crate::history::{Fault, Sample};

/// The chart's drawable parts, in SVG user units of a `width` × `height` box.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChartGeometry {
    /// Per node, in name order: the `points` attribute of its polyline (gaps while down split
    /// it into several).
    pub lines: Vec<(String, Vec<String>)>,
    /// (x, label) of each fault in the window.
    pub faults: Vec<(f64, String)>,
    /// The window shown, in virtual ms, and the largest offset (the top of the y axis).
    pub t0: u64,
    pub t1: u64,
    pub max_offset: i64,
    /// The smallest offset in the window (the bottom of the y axis), so a replica a few bytes
    /// behind is not drawn on top of its master when offsets are in the millions.
    pub min_offset: i64,
    /// Each node's lag behind the largest offset at the last sample, in bytes.
    pub lags: Vec<(String, i64)>,
}

/// Lays out `samples` (in time order) for the last `window_ms` before `now`.
pub fn geometry(samples: &[Sample], faults: &[Fault], now: u64, window_ms: u64, width: f64, height: f64) -> ChartGeometry {
    let t1 = now.max(1);
    let t0 = t1.saturating_sub(window_ms);
    let start = samples.partition_point(|s| s.at < t0).saturating_sub(1);
    let end = samples.partition_point(|s| s.at <= t1);
    let shown = &samples[start..end];
    let all = || shown.iter().flat_map(|s| s.offsets.iter().filter_map(|(_, o)| *o));
    let max_offset = all().max().unwrap_or(0).max(1);
    let min_offset = all().min().unwrap_or(0).clamp(0, max_offset - 1);
    let x = |t: u64| ((t.max(t0) - t0) as f64 / (t1 - t0).max(1) as f64) * width;
    let y = |o: i64| height - ((o.max(min_offset) - min_offset) as f64 / (max_offset - min_offset) as f64) * height;
    // Names borrowed from the samples, coordinates written without the formatting machinery:
    // the chart is laid out several times a second from thousands of points.
    let mut lines: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut current: BTreeMap<&str, String> = BTreeMap::new();
    for s in shown {
        let sx = x(s.at);
        for (name, off) in &s.offsets {
            match off {
                Some(o) => {
                    let pts = current.entry(name.as_str()).or_default();
                    if !pts.is_empty() {
                        pts.push(' ');
                    }
                    push_tenths(pts, sx);
                    pts.push(',');
                    push_tenths(pts, y(*o));
                }
                None => {
                    if let Some(p) = current.remove(name.as_str()) {
                        lines.entry(name.as_str()).or_default().push(p);
                    }
                }
            }
        }
    }
    for (name, p) in current {
        lines.entry(name).or_default().push(p);
    }
    let lags = match shown.last() {
        Some(last) => {
            let top = last.offsets.iter().filter_map(|(_, o)| *o).max().unwrap_or(0);
            last.offsets.iter().filter_map(|(n, o)| o.map(|o| (n.clone(), top - o))).collect()
        }
        None => Vec::new(),
    };
    ChartGeometry {
        lines: lines.into_iter().map(|(n, p)| (n.to_string(), p)).collect(),
        faults: faults.iter().filter(|f| f.at >= t0 && f.at <= t1).map(|f| (x(f.at), f.label.clone())).collect(),
        t0,
        t1,
        max_offset,
        min_offset,
        lags,
    }
}

/// Rows for labels at `xs` (ascending) so that two labels on one row are at least `min_gap`
/// apart: each goes on the first row free far enough to its left, or else on the row whose
/// last label is furthest left.
pub fn stagger(xs: &[f64], min_gap: f64, rows: usize) -> Vec<usize> {
    let rows = rows.max(1);
    let mut last: Vec<Option<f64>> = vec![None; rows];
    xs.iter()
        .map(|&x| {
            let row = last.iter().position(|l| l.is_none_or(|l| x - l >= min_gap)).unwrap_or_else(|| {
                (0..rows).min_by(|&a, &b| last[a].unwrap_or(f64::MIN).total_cmp(&last[b].unwrap_or(f64::MIN))).unwrap_or(0)
            });
            last[row] = Some(x);
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: u64, m: Option<i64>, r: Option<i64>) -> Sample {
        Sample { at, offsets: vec![("m".into(), m), ("r".into(), r)] }
    }

    #[test]
    fn lines_span_the_box_and_faults_sit_at_their_time() {
        let samples = vec![sample(0, Some(0), Some(0)), sample(500, Some(50), Some(25)), sample(1_000, Some(100), Some(100))];
        let faults = vec![Fault { at: 500, label: "r crashed".into() }];
        let g = geometry(&samples, &faults, 1_000, 1_000, 200.0, 100.0);
        assert_eq!(g.lines[0], ("m".to_string(), vec!["0.0,100.0 100.0,50.0 200.0,0.0".to_string()]));
        assert_eq!(g.lines[1].1, vec!["0.0,100.0 100.0,75.0 200.0,0.0".to_string()]);
        assert_eq!(g.faults, vec![(100.0, "r crashed".to_string())]);
        assert_eq!(g.max_offset, 100);
        assert_eq!(g.lags, vec![("m".to_string(), 0), ("r".to_string(), 0)]);
    }

    #[test]
    fn a_node_down_splits_its_line_and_lag_is_measured_from_the_top() {
        let samples = vec![sample(0, Some(10), Some(10)), sample(1, Some(20), None), sample(2, Some(40), Some(15))];
        let g = geometry(&samples, &[], 2, 2, 2.0, 40.0);
        assert_eq!(g.lines[1].1.len(), 2, "r's line is broken while it is down");
        assert_eq!(g.lags, vec![("m".to_string(), 0), ("r".to_string(), 25)]);
    }

    #[test]
    fn the_y_axis_starts_at_the_smallest_offset_shown() {
        let samples = vec![sample(0, Some(1_000_000), Some(999_990)), sample(10, Some(1_000_100), Some(1_000_000))];
        let g = geometry(&samples, &[], 10, 10, 10.0, 100.0);
        assert_eq!((g.min_offset, g.max_offset), (999_990, 1_000_100));
        // r starts at the bottom, m ends at the top.
        assert!(g.lines[1].1[0].starts_with("0.0,100.0"));
        assert!(g.lines[0].1[0].ends_with("10.0,0.0"));
        // A flat history (one offset) still has a non-empty range.
        let flat = geometry(&[sample(0, Some(5), Some(5))], &[], 10, 10, 10.0, 100.0);
        assert!(flat.min_offset < flat.max_offset);
    }

    #[test]
    fn labels_too_close_go_on_other_rows() {
        assert_eq!(stagger(&[0.0, 5.0, 8.0, 30.0, 31.0], 10.0, 3), [0, 1, 2, 0, 1]);
        // Out of rows: the one whose label is furthest left is reused.
        assert_eq!(stagger(&[0.0, 1.0, 2.0], 10.0, 2), [0, 1, 0]);
        assert_eq!(stagger(&[1.0], 10.0, 0), [0]);
        assert!(stagger(&[], 10.0, 2).is_empty());
    }

    #[test]
    fn only_the_window_is_drawn() {
        let samples: Vec<_> = (0..100).map(|t| sample(t * 100, Some(t as i64), Some(t as i64))).collect();
        let g = geometry(&samples, &[], 9_900, 1_000, 100.0, 10.0);
        assert_eq!((g.t0, g.t1), (8_900, 9_900));
        // One sample before the window keeps the line starting at the left edge.
        assert_eq!(g.lines[0].1[0].split(' ').count(), 12);
        assert!(geometry(&[], &[], 0, 1_000, 10.0, 10.0).lines.is_empty());
    }
}
