//! Every node's replication offset over the last 30 s of virtual time, one line per node, with
//! faults and interventions marked, and each node's lag behind the furthest offset.

use leptos::prelude::*;
use replscope_view::chart::{stagger, ChartGeometry};
use replscope_view::fmt::{seconds, thousands};

use crate::sim_ctl::{SimCtl, CHART_H, CHART_W, CHART_WINDOW_MS};

/// Distinct line colours (CSS `--series-N`).
pub const SERIES: usize = 12;
/// Widest a fault label may be (percent of the plot; longer ones are cut with an ellipsis).
const LABEL_W: f64 = 29.0;
const LABEL_ROWS: usize = 3;

/// Fault labels at `xs` (percent): each label's left edge (starting at its line, or ending at
/// it near the right edge) and its row, so no two labels of one row overlap.
pub fn place_labels(xs: &[f64]) -> Vec<(f64, usize)> {
    let lefts: Vec<f64> = xs.iter().map(|x| if *x > 100.0 - LABEL_W { x - LABEL_W } else { *x }).collect();
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|a, b| lefts[*a].total_cmp(&lefts[*b]));
    let sorted: Vec<f64> = order.iter().map(|i| lefts[*i]).collect();
    let rows = stagger(&sorted, LABEL_W, LABEL_ROWS);
    let mut out = vec![(0.0, 0); xs.len()];
    for (k, i) in order.into_iter().enumerate() {
        out[i] = (lefts[i], rows[k]);
    }
    out
}

/// Stroke width of the `i`-th line: earlier lines are drawn wider, so lines that coincide (a
/// replica in step with its master) show as nested bands instead of hiding each other.
pub fn stroke_width(i: usize) -> f64 {
    (8.0 - 2.0 * i as f64).max(1.75)
}

/// Virtual ms a coarse tick spans at `speed` while playing: about a tenth of a second of wall
/// time (at least 1 ms, at most one chart sample).
pub fn tick_ms(speed: f64) -> u64 {
    (speed * 100.0).clamp(1.0, 100.0) as u64
}

/// Which sixth of a coarse tick a panel moves on: the panels that follow the tick take
/// different animation frames (six make a wall tenth of a second at 60 Hz) instead of all
/// landing on the frame of the servers' cron (sixth 0) or of the new message dots (sixth 1).
#[derive(Clone, Copy)]
pub enum TickPhase {
    NodesAndClock = 2,
    Backlogs = 3,
    Chart = 4,
}

impl TickPhase {
    pub const ALL: [TickPhase; 3] = [TickPhase::NodesAndClock, TickPhase::Backlogs, TickPhase::Chart];

    /// Its place in `ALL` (and in `SimCtl::ticks`).
    pub fn index(self) -> usize {
        self as usize - 2
    }
}

/// The coarse tick that virtual time `t` falls in, for a tick of `b` ms moving at `phase`.
pub fn tick_of(t: u64, b: u64, phase: TickPhase) -> u64 {
    (t + b - b * phase as u64 / 6) / b
}

/// A clock for panels that need not follow every animation frame: while playing it moves
/// about ten times a wall second; paused (stepping, seeking, acting) every change shows.
pub fn coarse_tick(ctl: SimCtl, phase: TickPhase) -> RwSignal<(u64, u64)> {
    ctl.ticks[phase.index()]
}

/// Coarse ticks a panel the browser does not draw lets pass before it moves: about once a
/// wall second instead of ten times.
const UNDRAWN_EVERY: u64 = 10;

/// The coarse tick for a panel of the details section. While the browser skips drawing the
/// section (far off screen) the panel moves about once a second while playing, instead of
/// ten times: its text stays current for whoever reads it without looking (a screen reader,
/// find-in-page), at a tenth of the cost. Drawn again, it catches up at once; interventions,
/// seeks and a paused clock always show.
pub fn coarse_tick_when_drawn(ctl: SimCtl, phase: TickPhase) -> Memo<(u64, u64)> {
    let tick = coarse_tick(ctl, phase);
    let drawn = use_context::<crate::app::InsightDrawn>().map(|d| d.0);
    Memo::new(move |prev: Option<&(u64, u64)>| {
        let now = tick.get();
        let undrawn = drawn.is_some_and(|d| !d.get());
        match prev {
            Some(p) if undrawn && ctl.playing.get_untracked() && held_back(*p, now) => *p,
            _ => now,
        }
    })
}

/// Whether an undrawn panel showing tick `shown` may skip tick `now`: same interventions,
/// forward, and fewer than `UNDRAWN_EVERY` ticks on.
fn held_back(shown: (u64, u64), now: (u64, u64)) -> bool {
    now.1 == shown.1 && now.0 >= shown.0 && now.0 < shown.0 + UNDRAWN_EVERY
}

/// The coarse tick of `phase` at virtual time `t` (with the interventions counted by `rev`).
pub fn tick_value(t: u64, rev: u64, playing: bool, speed: f64, phase: TickPhase) -> (u64, u64) {
    if playing {
        (tick_of(t, tick_ms(speed), phase), rev)
    } else {
        (t, rev)
    }
}

/// An SVG path from polyline segments ("x,y x,y …"): one element per node, gaps kept.
pub fn path_d(segments: &[String]) -> String {
    let mut d = String::new();
    for seg in segments {
        for (i, pt) in seg.split(' ').filter(|p| !p.is_empty()).enumerate() {
            if !d.is_empty() {
                d.push(' ');
            }
            d.push(if i == 0 { 'M' } else { 'L' });
            d.push_str(pt);
        }
    }
    d
}

/// Virtual ms where an x (in chart units) falls.
pub fn time_at(g: &ChartGeometry, x: f64) -> u64 {
    g.t0 + ((x / CHART_W).clamp(0.0, 1.0) * (g.t1 - g.t0) as f64).round() as u64
}

/// What a screen reader hears for the chart.
pub fn summary(g: &ChartGeometry, masters: &[String]) -> String {
    let mut s = format!("Replication offsets from {} to {}", seconds(g.t0), seconds(g.t1));
    if g.lags.is_empty() {
        s.push_str(": no samples yet.");
        return s;
    }
    s.push_str(": ");
    let parts: Vec<String> = g
        .lags
        .iter()
        .map(|(n, lag)| if masters.contains(n) { format!("{n} (master)") } else { format!("{n} {} bytes behind", thousands(*lag)) })
        .collect();
    s.push_str(&parts.join(", "));
    s.push('.');
    if !g.faults.is_empty() {
        let f: Vec<String> = g.faults.iter().map(|(x, l)| format!("{l} at {}", seconds(time_at(g, *x)))).collect();
        s.push_str(&format!(" Marked: {}.", f.join("; ")));
    }
    s
}

#[component]
pub fn OffsetChart() -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let chart = ctl.chart;
    // Redrawn on the coarse tick: the lines get a new point every 100 virtual ms anyway, and
    // repainting twelve paths every frame was the page's largest rendering cost.
    let tick = coarse_tick_when_drawn(ctl, TickPhase::Chart);
    let g_with = move |f: &dyn Fn(&ChartGeometry) -> String| {
        let _ = tick.get();
        chart.with_untracked(|g| f(g))
    };
    // Node names in the frame's order give each node a stable colour.
    let names = Memo::new(move |_| ctl.shape.with(|ns| ns.iter().map(|n| n.name.clone()).collect::<Vec<_>>()));
    let masters = Memo::new(move |_| ctl.shape.with(|ns| ns.iter().filter(|n| n.role == "master").map(|n| n.name.clone()).collect::<Vec<_>>()));
    let colour = move |name: &str| names.with(|ns| ns.iter().position(|n| n == name).unwrap_or(0) % SERIES);
    let faults = Memo::new(move |_| {
        let _ = tick.get();
        chart.with_untracked(|g| {
            let xs: Vec<f64> = g.faults.iter().map(|(x, _)| *x / CHART_W * 100.0).collect();
            let placed = place_labels(&xs);
            g.faults.iter().zip(xs).zip(placed).map(|(((x, l), pct), (left, row))| (*x, pct, left, row, l.clone())).collect::<Vec<_>>()
        })
    });
    let view_box = format!("0 0 {CHART_W} {CHART_H}");
    view! {
        <section class="panel chart-panel" aria-labelledby="chart-title">
            <div class="panel-bar">
                <h2 id="chart-title">"Offsets over time"</h2>
                <span class="sub">{format!("last {} s", CHART_WINDOW_MS / 1000)}</span>
            </div>
            <figure class="offset-chart" data-testid="offset-chart">
                <div class="plot">
                    <span class="y-label top mono">{move || g_with(&|g| thousands(g.max_offset))}</span>
                    <span class="y-label bottom mono">{move || g_with(&|g| thousands(g.min_offset))}</span>
                    <svg viewBox=view_box preserveAspectRatio="none" role="img"
                        aria-label=move || g_with(&|g| masters.with(|m| summary(g, m)))>
                        <g class="grid" aria-hidden="true">
                            {[0.25, 0.5, 0.75].iter().map(|f| view! {
                                <line x1="0" x2=CHART_W y1=CHART_H * f y2=CHART_H * f vector-effect="non-scaling-stroke"/>
                            }).collect_view()}
                        </g>
                        // Keyed by index: a marker sliding left as time passes moves in place
                        // instead of being rebuilt on every chart tick.
                        <For each=move || 0..faults.with(Vec::len) key=|i| *i let:i>
                            {
                                let f = Memo::new(move |_| faults.with(|fs| fs.get(i).cloned().unwrap_or_default()));
                                view! {
                                    <line class="fault-line" data-testid="chart-fault" x1=move || f.with(|f| f.0) x2=move || f.with(|f| f.0) y1="0" y2=CHART_H vector-effect="non-scaling-stroke">
                                        <title>{move || f.with(|f| f.4.clone())}</title>
                                    </line>
                                }
                            }
                        </For>
                        <For each=move || names.get() key=|n| n.clone() let:name>
                            {
                                let key = name.clone();
                                let d = move || g_with(&|g| g.lines.iter().find(|(n, _)| *n == key).map(|(_, segs)| path_d(segs)).unwrap_or_default());
                                let i = names.with_untracked(|ns| ns.iter().position(|n| *n == name).unwrap_or(0));
                                view! {
                                    <path class=format!("series s{}", i % SERIES) data-testid=format!("chart-line-{name}") d=d
                                        stroke-width=stroke_width(i) vector-effect="non-scaling-stroke"/>
                                }
                            }
                        </For>
                    </svg>
                    <div class="fault-labels" aria-hidden="true">
                        <For each=move || 0..faults.with(Vec::len) key=|i| *i let:i>
                            {
                                let f = Memo::new(move |_| faults.with(|fs| fs.get(i).cloned().unwrap_or_default()));
                                view! {
                                    <span class=move || f.with(|f| format!("fault-label row-{}", f.3)) class:ends=move || f.with(|f| f.2 < f.1)
                                        style=move || f.with(|f| format!("left:{:.2}%;max-width:{LABEL_W}%", f.2)) title=move || f.with(|f| f.4.clone())>
                                        {move || f.with(|f| f.4.clone())}
                                    </span>
                                }
                            }
                        </For>
                    </div>
                </div>
                <div class="x-axis mono" aria-hidden="true">
                    <span>{move || g_with(&|g| seconds(g.t0))}</span>
                    <span>{move || g_with(&|g| seconds(g.t1))}</span>
                </div>
                <figcaption>
                    <ul class="chart-legend" aria-label="Lag behind the furthest offset">
                        <For each=move || names.get() key=|n| n.clone() let:name>
                            {
                                let key = name.clone();
                                let lag = move || {
                                    let _ = tick.get();
                                    chart.with_untracked(|g| g.lags.iter().find(|(n, _)| *n == key).map(|(_, l)| *l))
                                };
                                let key2 = name.clone();
                                let is_master = move || masters.with(|m| m.contains(&key2));
                                view! {
                                    <li>
                                        <span class=format!("swatch-line s{}", colour(&name))></span>
                                        <strong>{name.clone()}</strong>
                                        <span class="lag mono">{move || match (lag(), is_master()) {
                                            (None, _) => "down".to_string(),
                                            (Some(_), true) => "master".to_string(),
                                            (Some(l), false) => format!("lag {} B", thousands(l)),
                                        }}</span>
                                    </li>
                                }
                            }
                        </For>
                    </ul>
                </figcaption>
            </figure>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_labels_never_overlap_on_a_row() {
        let xs = [10.0, 20.0, 45.0, 95.0, 96.0];
        let placed = place_labels(&xs);
        assert_eq!(placed[0], (10.0, 0));
        assert_eq!(placed[1].1, 1);
        assert!((placed[3].0 - (95.0 - LABEL_W)).abs() < 1e-9, "near the right edge a label ends at its line");
        for i in 0..xs.len() {
            for j in 0..xs.len() {
                if i != j && placed[i].1 == placed[j].1 && placed[i].0 <= placed[j].0 {
                    assert!(placed[j].0 - placed[i].0 >= LABEL_W, "labels {i} and {j} overlap on row {}", placed[i].1);
                }
            }
        }
        let two = place_labels(&[22.0, 53.0]);
        assert_eq!((two[0].1, two[1].1), (0, 0), "far enough apart share the top row");
        assert!(place_labels(&[]).is_empty());
    }

    #[test]
    fn coinciding_lines_nest() {
        assert!(stroke_width(0) > stroke_width(1));
        assert_eq!(stroke_width(40), 1.75);
    }

    #[test]
    fn the_coarse_tick_is_about_a_tenth_of_a_wall_second() {
        assert_eq!(tick_ms(1.0), 100);
        assert_eq!(tick_ms(0.1), 10);
        assert_eq!(tick_ms(100.0), 100);
        assert_eq!(tick_ms(0.001), 1);
    }

    #[test]
    fn panels_move_on_different_sixths_of_the_tick() {
        // At 1×: the nodes and the clock move 33 ms into each tenth, the backlogs at 50, the
        // chart at 66 (the cron runs at 0, new dots start at 16).
        let moves = |phase| (1..=100).filter(|t| tick_of(*t, 100, phase) != tick_of(t - 1, 100, phase)).collect::<Vec<u64>>();
        assert_eq!(moves(TickPhase::NodesAndClock), vec![33]);
        assert_eq!(moves(TickPhase::Backlogs), vec![50]);
        assert_eq!(moves(TickPhase::Chart), vec![66]);
        // Short ticks (slow motion) still move once per tick.
        assert_eq!((0..100).filter(|t| tick_of(t + 1, 10, TickPhase::Backlogs) != tick_of(*t, 10, TickPhase::Backlogs)).count(), 10);
    }

    #[test]
    fn an_undrawn_panel_moves_once_in_ten_ticks_but_never_misses_an_intervention_or_a_seek() {
        assert!(held_back((100, 3), (101, 3)));
        assert!(held_back((100, 3), (109, 3)));
        assert!(!held_back((100, 3), (110, 3)), "ten ticks on it moves");
        assert!(!held_back((100, 3), (101, 4)), "an intervention shows at once");
        assert!(!held_back((100, 3), (99, 3)), "so does going back");
    }

    #[test]
    fn segments_become_one_path_with_gaps() {
        assert_eq!(path_d(&["0.0,1.0 2.0,3.0".into(), "5.0,5.0".into()]), "M0.0,1.0 L2.0,3.0 M5.0,5.0");
        assert_eq!(path_d(&[]), "");
        assert_eq!(path_d(&["".into()]), "");
    }

    #[test]
    fn the_summary_names_lags_and_faults() {
        let g = ChartGeometry {
            lines: vec![],
            faults: vec![(CHART_W / 2.0, "r1 crashed".into())],
            t0: 0,
            t1: 30_000,
            max_offset: 100,
            min_offset: 0,
            lags: vec![("m".into(), 0), ("r1".into(), 1_200)],
        };
        assert_eq!(
            summary(&g, &["m".to_string()]),
            "Replication offsets from 0.000 s to 30.000 s: m (master), r1 1,200 bytes behind. Marked: r1 crashed at 15.000 s."
        );
        assert_eq!(time_at(&g, -5.0), 0);
        assert!(summary(&ChartGeometry::default(), &[]).ends_with("no samples yet."));
    }
}
