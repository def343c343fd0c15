//! Each node's replication backlog as a strip: its capacity, the window of history it holds
//! (in proportion), the replicas' acknowledged offsets, and the last PSYNC request drawn
//! against the window with the master's decision spelled out.

use leptos::prelude::*;
use replscope_view::fmt::{bytes, offset_range, thousands};
use replscope_view::frame::{BacklogView, Decision};
use replscope_view::strip::{asked_offset, group_markers, sent_bytes, Marker, StripScale};

use crate::sim_ctl::SimCtl;

/// A decision stays drawn on the strip this long (virtual ms).
const RECENT_MS: u64 = 10_000;
/// Markers closer than this (percent of the strip) share a label.
const MARKER_GAP: f64 = 7.0;

/// What one strip shows, computed from the backlog and its latest decision: a thin capacity
/// bar (how much of repl-backlog-size the history fills) over the window itself, scaled to
/// the strip, with the earlier history on its left, the acks, the request and a partial
/// resync's slice.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct StripModel {
    pub node: String,
    /// Percent of the capacity the held history fills (at most 100).
    pub fill: f64,
    /// Percent width of the history before the window, and whether it is not to scale.
    pub before: f64,
    pub broken: bool,
    /// (left, width) of the held window, in percent.
    pub held: (f64, f64),
    pub full: bool,
    pub window_text: String,
    pub capacity_text: String,
    pub first: String,
    pub last: String,
    pub acks: Vec<Marker>,
    /// The request: where (None for PSYNC ? -1: no offset to draw), whether served from the
    /// backlog, the label, the sentence.
    pub request: Option<(Option<f64>, bool, String, String)>,
    /// A partial resync's slice sent from the backlog: (left, width) in percent.
    pub sent: Option<(f64, f64)>,
    pub summary: String,
}

pub fn strip_model(b: &BacklogView, decision: Option<&Decision>) -> StripModel {
    let asked = decision.and_then(|d| asked_offset(&d.text));
    let mut extra: Vec<i64> = b.acks.iter().map(|(_, a)| a + 1).collect();
    extra.extend(asked);
    // The window fills the strip (its capacity is drawn by the bar above it).
    let window = BacklogView { size: b.histlen.max(1) as usize, ..b.clone() };
    let scale = StripScale::new(&window, &extra);
    let empty = b.histlen <= 0;
    let held_l = scale.pos(b.first_byte_offset);
    let held_r = if empty { held_l } else { scale.pos(b.last_offset + 1) };
    let full = b.histlen >= b.size as i64 && b.size > 0;
    let fill = if b.size == 0 { 0.0 } else { (b.histlen.max(0) as f64 / b.size as f64 * 100.0).min(100.0) };
    let window_text = if empty { "empty (nothing written yet)".to_string() } else { format!("holds {}", offset_range(b.first_byte_offset, b.last_offset)) };
    let capacity_text = if full {
        format!("{} held, repl-backlog-size {} · full, sliding", bytes(b.histlen as u64), bytes(b.size as u64))
    } else {
        format!("{} of {}", bytes(b.histlen.max(0) as u64), bytes(b.size as u64))
    };
    let named: Vec<(String, f64)> = b.acks.iter().map(|(n, a)| (n.clone(), scale.pos(a + 1))).collect();
    let request = decision.map(|d| {
        let label = asked.map(|a| format!("{} asked for {}", d.replica, thousands(a))).unwrap_or_default();
        (asked.map(|a| scale.pos(a)), d.partial, label, d.text.clone())
    });
    let sent = match (decision, asked) {
        (Some(d), Some(a)) if d.partial => sent_bytes(&d.text).map(|n| {
            let (l, r) = (scale.pos(a), scale.pos(a + n));
            (l, r - l)
        }),
        _ => None,
    };
    let acks_text = if b.acks.is_empty() {
        "no replica acknowledgements".to_string()
    } else {
        b.acks.iter().map(|(n, a)| format!("{n} acknowledged {}", thousands(*a))).collect::<Vec<_>>().join(", ")
    };
    let summary = format!("{}'s backlog {window_text}, {capacity_text}; {acks_text}", b.node);
    StripModel {
        node: b.node.clone(),
        fill,
        before: scale.before_pct,
        broken: scale.broken,
        held: (held_l, (held_r - held_l).max(0.0)),
        full,
        window_text,
        capacity_text,
        first: thousands(b.first_byte_offset),
        last: thousands(b.last_offset),
        acks: group_markers(&named, MARKER_GAP),
        request,
        sent,
        summary,
    }
}

/// How a label at `pos` percent is anchored so it stays inside the strip.
pub fn anchor(pos: f64) -> &'static str {
    if pos < 12.0 {
        "start"
    } else if pos > 88.0 {
        "end"
    } else {
        "middle"
    }
}

/// The latest decision by `master` no older than RECENT_MS at `now`.
pub fn latest_for<'a>(decisions: &'a [Decision], master: &str, now: u64) -> Option<&'a Decision> {
    decisions.iter().rev().find(|d| d.master == master).filter(|d| now.saturating_sub(d.at) <= RECENT_MS)
}

#[component]
pub fn Backlogs() -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let names = Memo::new(move |_| ctl.backlogs.with(|bs| bs.iter().map(|b| b.node.clone()).collect::<Vec<_>>()));
    // One clock for all the strips (a memo each would all re-run on every frame's time).
    let tick = super::chart::coarse_tick_when_drawn(ctl, super::chart::TickPhase::Backlogs);
    view! {
        <section class="panel backlogs" aria-labelledby="backlog-title">
            <div class="panel-bar"><h2 id="backlog-title">"Replication backlog"</h2></div>
            <div class="insight-body">
                <Show when=move || names.with(|n| !n.is_empty())
                    fallback=|| view! { <p class="sub empty">"No backlog yet: a master creates one when its first replica attaches."</p> }>
                    <For each=move || names.get() key=|n| n.clone() let:name>
                        <BacklogStrip name=name tick=tick/>
                    </For>
                    <p class="strip-key sub" aria-hidden="true">
                        <span class="k-held"></span>"held window "
                        <span class="k-ack">"▲"</span>" replica's ack "
                        <span class="k-req"></span>" PSYNC request "
                        <span class="k-sent"></span>" slice sent"
                    </p>
                </Show>
            </div>
        </section>
    }
}

#[component]
fn BacklogStrip(name: String, tick: Memo<(u64, u64)>) -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let key = name.clone();
    let model = Memo::new(move |_| {
        let _ = tick.get();
        ctl.frame.with_untracked(|f| f.backlogs.iter().find(|b| b.node == key).map(|b| strip_model(b, latest_for(&f.decisions, &key, f.time_ms))).unwrap_or_default())
    });
    // The parts whose shape changes get their own memos, so the strip's DOM is rebuilt only
    // when they change; offsets and widths moving every frame only update attributes and text.
    let before = Memo::new(move |_| model.with(|m| (m.before, m.broken)));
    let request = Memo::new(move |_| model.with(|m| m.request.clone()));
    let acks = Memo::new(move |_| model.with(|m| m.acks.clone()));
    let sent = Memo::new(move |_| model.with(|m| m.sent));
    let band = Memo::new(move |_| model.with(|m| m.held.1 >= 30.0));
    let pct = |l: f64, w: f64| format!("left:{l:.2}%;width:{w:.2}%");
    let drawn_request = move || request.get().and_then(|(pos, partial, label, _)| Some((pos?, partial, label)));
    view! {
        <div class="strip" class:has-request=move || drawn_request().is_some() data-testid=format!("backlog-{name}") role="group"
            aria-label=move || model.with(|m| m.summary.clone())>
            <div class="strip-head">
                <strong>{name.clone()}</strong>
                <span class="mono" data-testid=format!("backlog-window-{name}")>{move || model.with(|m| m.window_text.clone())}</span>
                <span class="sub cap">{move || model.with(|m| m.capacity_text.clone())}</span>
            </div>
            <div class="capacity" aria-hidden="true" title="how much of repl-backlog-size the history fills">
                <div class="used" class:full=move || model.with(|m| m.full) style=move || model.with(|m| format!("width:{:.2}%", m.fill))></div>
            </div>
            <div class="strip-bar" aria-hidden="true">
                {move || drawn_request().map(|(pos, partial, label)| {
                    let cls = if partial { "partial" } else { "full" };
                    view! {
                        <div class=format!("req-tick {cls}") style=format!("left:{pos:.2}%")></div>
                        <span class=format!("req-label {cls} anchor-{}", anchor(pos)) style=format!("left:{pos:.2}%")>{label}</span>
                    }
                })}
                <div class="track">
                    {move || {
                        let (w, broken) = before.get();
                        (w > 0.0).then(|| view! {
                            <div class="seg before" class:broken=broken style=pct(0.0, w)
                                title=if broken { "earlier offsets (not to scale): no longer, or never, in this backlog" } else { "earlier offsets: no longer, or never, in this backlog" }>
                                <span>"earlier"</span>
                            </div>
                        })
                    }}
                    <div class="seg held" class:full=move || model.with(|m| m.full) style=move || model.with(|m| pct(m.held.0, m.held.1))>
                        // Built when the window gets wide enough for its two offsets; their text
                        // then changes in place, every coarse tick.
                        <Show when=move || band.get()>
                            <span class="band-first">{move || model.with(|m| m.first.clone())}</span>
                            <span class="band-last">{move || model.with(|m| m.last.clone())}</span>
                        </Show>
                    </div>
                    {move || sent.get().map(|(l, w)| view! { <div class="seg sent" style=pct(l, w.max(0.8)) title="the slice sent from the backlog"></div> })}
                    // Keyed by position in the list: a tick moving along updates its style in
                    // place instead of being rebuilt every coarse tick.
                    <For each=move || 0..acks.with(Vec::len) key=|i| *i let:i>
                        <div class="ack-tick" style=move || acks.with(|a| a.get(i).map(|a| format!("left:{:.2}%", a.pos)).unwrap_or_default())></div>
                    </For>
                </div>
                <div class="ack-labels" class:two-rows=move || acks.with(|a| a.iter().any(|a| a.row > 0)) class:none=move || acks.with(|a| a.is_empty())>
                    <For each=move || 0..acks.with(Vec::len) key=|i| *i let:i>
                        {
                            let ack = Memo::new(move |_| acks.with(|a| a.get(i).cloned().unwrap_or_default()));
                            view! {
                                <span class=move || ack.with(|a| format!("ack-label row-{} anchor-{}", a.row, anchor(a.pos)))
                                    style=move || ack.with(|a| format!("left:{:.2}%", a.pos))>{move || ack.with(|a| a.label.clone())}</span>
                            }
                        }
                    </For>
                </div>
            </div>
            {move || request.get().map(|(_, partial, _, text)| view! {
                <p class="strip-decision" class:partial=partial class:full=!partial>
                    <span class="badge-verdict">{if partial { "PARTIAL" } else { "FULL" }}</span>
                    {text}
                </p>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(size: usize, first: i64, histlen: i64, acks: &[(&str, i64)]) -> BacklogView {
        BacklogView {
            node: "m".into(),
            size,
            first_byte_offset: first,
            last_offset: first + histlen - 1,
            histlen,
            acks: acks.iter().map(|(n, a)| (n.to_string(), *a)).collect(),
        }
    }

    fn d(at: u64, partial: bool, text: &str) -> Decision {
        Decision { at, master: "m".into(), replica: "r1".into(), partial, text: text.into() }
    }

    #[test]
    fn a_full_backlog_reads_as_a_sliding_window_with_its_offsets() {
        let m = strip_model(&b(16_384, 16_384, 16_384, &[("r1", 32_767)]), None);
        assert_eq!(m.window_text, "holds 16,384–32,767");
        assert_eq!(m.capacity_text, "16 KB held, repl-backlog-size 16 KB · full, sliding");
        assert!(m.full);
        assert_eq!(m.fill, 100.0);
        assert_eq!(m.acks[0].pos, 100.0);
        assert!((m.held.0 + m.held.1 - 100.0).abs() < 1e-9);
        assert!(m.request.is_none());
    }

    #[test]
    fn a_young_backlog_fills_its_capacity_in_proportion_and_its_window_the_strip() {
        let m = strip_model(&b(1 << 20, 1, 1 << 18, &[]), None);
        assert_eq!(m.fill, 25.0);
        assert_eq!(m.before, 0.0);
        assert_eq!(m.held, (0.0, 100.0));
        assert_eq!(m.capacity_text, "256 KB of 1.0 MB");
    }

    #[test]
    fn a_partial_resync_shows_the_slice_sent() {
        let dec = d(5, true, "r1 asked for 56, the backlog holds 1–119: partial resync, 64 bytes from the backlog");
        let m = strip_model(&b(1 << 20, 1, 119, &[("r1", 119)]), Some(&dec));
        let (l, w) = m.sent.unwrap();
        assert!((l - 55.0 / 119.0 * 100.0).abs() < 1e-9);
        assert!((l + w - 100.0).abs() < 1e-9, "the slice runs to the end of the window");
        assert_eq!(m.request.unwrap().0, Some(l));
    }

    #[test]
    fn a_request_outside_the_window_is_drawn_left_of_it() {
        let dec = d(5, false, "r1 asked for 10,240, the backlog holds 16,384–32,767: full resync");
        let m = strip_model(&b(16_384, 16_384, 16_384, &[]), Some(&dec));
        let (pos, partial, label, text) = m.request.unwrap();
        assert!(!partial);
        assert!(pos.unwrap() < m.held.0);
        assert_eq!(label, "r1 asked for 10,240");
        assert!(text.ends_with("full resync"));
    }

    #[test]
    fn a_request_without_an_offset_draws_no_tick() {
        let dec = d(5, false, "r1 has no history to continue (PSYNC ? -1): full resync");
        let m = strip_model(&b(1024, 1, 10, &[]), Some(&dec));
        assert_eq!(m.request.unwrap().0, None);
    }

    #[test]
    fn an_empty_backlog_says_so() {
        let m = strip_model(&b(1024, 1, 0, &[]), None);
        assert_eq!(m.window_text, "empty (nothing written yet)");
        assert_eq!(m.held.1, 0.0);
    }

    #[test]
    fn only_recent_decisions_of_this_master_are_drawn() {
        let mut ds = vec![d(1_000, true, "a"), d(2_000, false, "b")];
        ds.push(Decision { master: "other".into(), ..d(3_000, true, "c") });
        assert_eq!(latest_for(&ds, "m", 5_000).map(|d| d.text.as_str()), Some("b"));
        assert!(latest_for(&ds, "m", 12_001).is_none());
        assert!(latest_for(&ds, "nobody", 0).is_none());
    }

    #[test]
    fn labels_stay_inside_the_strip() {
        assert_eq!(anchor(0.0), "start");
        assert_eq!(anchor(50.0), "middle");
        assert_eq!(anchor(100.0), "end");
    }
}
