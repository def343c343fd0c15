//! Resyncs as they happen: each full sync in progress in its phases (the master's snapshot
//! while new writes are buffered for the replica, the transfer, the replica loading), and the
//! recent PSYNC decisions, newest first, spelled out.

use leptos::prelude::*;
use replscope_sim::{TraceEntry, TraceKind};
use replscope_view::fmt::{bytes, seconds, thousands};
use replscope_view::frame::{Decision, SyncPhase};

use crate::sim_ctl::SimCtl;

/// Decisions listed.
const SHOWN: usize = 8;
/// Trace entries read back at most to find where a full sync's snapshot was taken.
const SCAN_LIMIT: usize = 200_000;

/// A full sync in progress, as the panel draws it.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncRow {
    pub replica: String,
    pub master: String,
    pub phase: SyncPhase,
    /// The offset the master's snapshot stands for (from +FULLRESYNC), if known.
    pub snapshot: Option<i64>,
    /// Bytes the master has written since the snapshot (buffered for this replica).
    pub buffered: Option<i64>,
}

/// Step index (0: snapshot, 1: transfer, 2: load) and the sentence for a phase.
pub fn phase_text(row: &SyncRow) -> (usize, String) {
    let since = match (row.snapshot, row.buffered) {
        (Some(s), Some(b)) => format!(" Snapshot at offset {}; {} written since, buffered on {} for {}.", thousands(s), bytes(b.max(0) as u64), row.master, row.replica),
        _ => String::new(),
    };
    match &row.phase {
        SyncPhase::Waiting => (0, format!("{} takes its snapshot (RDB) while new writes are buffered for {}.{since}", row.master, row.replica)),
        SyncPhase::Transfer { read, total } if *total > 0 => {
            (1, format!("RDB arriving: {} of {} ({}%).{since}", bytes(*read as u64), bytes(*total as u64), read * 100 / total))
        }
        SyncPhase::Transfer { read, .. } => (1, format!("RDB streaming (diskless, size unknown): {} so far.{since}", bytes((*read).max(0) as u64))),
        SyncPhase::Loading => (2, format!("{} loads the RDB; the buffered writes follow.{since}", row.replica)),
    }
}

/// Transfer progress, 0–100, when the size is known.
pub fn progress(phase: &SyncPhase) -> Option<f64> {
    match phase {
        SyncPhase::Transfer { read, total } if *total > 0 => Some((*read as f64 / *total as f64 * 100.0).clamp(0.0, 100.0)),
        SyncPhase::Loading => Some(100.0),
        _ => None,
    }
}

/// The offset of `replica`'s latest "+FULLRESYNC <id> <offset>", reading back at most `limit`
/// entries.
pub fn snapshot_point(trace: &[TraceEntry], replica: &str, limit: usize) -> Option<i64> {
    trace.iter().rev().take(limit).find_map(|e| match &e.kind {
        TraceKind::Log { node, line } if node == replica => {
            line.strip_prefix("Full resync from master: ").and_then(|r| r.rsplit_once(':')).and_then(|(_, off)| off.parse().ok())
        }
        _ => None,
    })
}

#[component]
pub fn SyncLog() -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let recent = Memo::new(move |_| ctl.decisions.with(|ds| ds.iter().rev().take(SHOWN).cloned().collect::<Vec<Decision>>()));
    let syncing = Memo::new(move |_| {
        ctl.shape.with(|ns| ns.iter().filter(|n| n.syncing).map(|n| n.name.clone()).collect::<Vec<_>>())
    });
    // Read back through the trace only when a sync starts or ends (or the run forks).
    let snapshots = Memo::new(move |_| {
        ctl.revision.track();
        let names = syncing.get();
        ctl.with_run(|r| names.iter().map(|n| (n.clone(), snapshot_point(r.world().trace(), n, SCAN_LIMIT))).collect::<Vec<_>>()).unwrap_or_default()
    });
    let rows = Memo::new(move |_| {
        let snaps = snapshots.get();
        // Offsets are read (and tracked) only while a sync is on.
        if snaps.is_empty() {
            return Vec::new();
        }
        ctl.nodes.with(|nodes| {
            nodes
                .iter()
                .filter_map(|n| {
                    let phase = n.sync.clone()?;
                    let master = n.master.clone().unwrap_or_default();
                    let snapshot = snaps.iter().find(|(s, _)| *s == n.name).and_then(|(_, o)| *o);
                    let buffered = snapshot.and_then(|s| nodes.iter().find(|m| m.name == master).map(|m| m.master_repl_offset - s));
                    Some(SyncRow { replica: n.name.clone(), master, phase, snapshot, buffered })
                })
                .collect::<Vec<_>>()
        })
    });
    view! {
        <section class="panel sync-log" aria-labelledby="sync-title">
            <div class="panel-bar"><h2 id="sync-title">"Resyncs"</h2></div>
            <div class="insight-body">
                {move || rows.get().into_iter().map(|row| view! { <SyncPhaseRow row=row/> }).collect_view()}
                <Show when=move || recent.with(|r| !r.is_empty())
                    fallback=move || view! { <p class="sub empty">"No PSYNC yet: when a replica connects, its master's decision (full or partial resync) is spelled out here."</p> }>
                    <ol class="decisions" aria-label="PSYNC decisions, newest first">
                        <For each=move || recent.get() key=|d| (d.at, d.master.clone(), d.replica.clone(), d.text.clone()) let:d>
                            <li class="decision" class:partial=d.partial class:full=!d.partial data-testid="decision">
                                <span class="badge-verdict">{if d.partial { "PARTIAL" } else { "FULL" }}</span>
                                <span class="who"><time class="mono">{seconds(d.at)}</time>" "{d.master.clone()}" → "{d.replica.clone()}</span>
                                <span class="text">{d.text.clone()}</span>
                            </li>
                        </For>
                    </ol>
                </Show>
            </div>
        </section>
    }
}

#[component]
fn SyncPhaseRow(row: SyncRow) -> impl IntoView {
    let (step, text) = phase_text(&row);
    let bar = progress(&row.phase);
    let streaming = matches!(row.phase, SyncPhase::Transfer { total, .. } if total <= 0);
    let steps = ["Snapshot", "Transfer", "Load"];
    view! {
        <div class="sync-phase" data-testid=format!("sync-phase-{}", row.replica) role="group"
            aria-label=format!("Full resync of {} from {}", row.replica, row.master)>
            <div class="sync-head">
                <span class="badge-verdict full">"FULL RESYNC"</span>
                <strong>{format!("{} → {}", row.master, row.replica)}</strong>
            </div>
            <ol class="phases">
                {steps.iter().enumerate().map(|(i, s)| {
                    let state = if i < step { "done" } else if i == step { "now" } else { "todo" };
                    view! { <li class=state aria-current=(i == step).then_some("step")>{format!("{}. {s}", i + 1)}</li> }
                }).collect_view()}
            </ol>
            {bar.map(|p| view! {
                <div class="progress" role="progressbar" aria-label="RDB transfer" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{p:.0}")>
                    <div class="fill" style=format!("width:{p:.1}%")></div>
                </div>
            })}
            {streaming.then(|| view! { <div class="progress indeterminate" aria-hidden="true"><div class="fill"></div></div> })}
            <p class="phase-text">{text}</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(phase: SyncPhase, snapshot: Option<i64>) -> SyncRow {
        SyncRow { replica: "r1".into(), master: "m".into(), phase, snapshot, buffered: snapshot.map(|_| 2048) }
    }

    #[test]
    fn phases_are_spelled_out_in_order() {
        let (i, t) = phase_text(&row(SyncPhase::Waiting, Some(1_000)));
        assert_eq!(i, 0);
        assert_eq!(t, "m takes its snapshot (RDB) while new writes are buffered for r1. Snapshot at offset 1,000; 2.0 KB written since, buffered on m for r1.");
        let (i, t) = phase_text(&row(SyncPhase::Transfer { read: 512, total: 2048 }, None));
        assert_eq!((i, t.as_str()), (1, "RDB arriving: 512 B of 2.0 KB (25%)."));
        let (_, t) = phase_text(&row(SyncPhase::Transfer { read: 100, total: -1 }, None));
        assert!(t.contains("size unknown"));
        assert_eq!(phase_text(&row(SyncPhase::Loading, None)).0, 2);
    }

    #[test]
    fn progress_is_bounded() {
        assert_eq!(progress(&SyncPhase::Transfer { read: 50, total: 200 }), Some(25.0));
        assert_eq!(progress(&SyncPhase::Transfer { read: 500, total: 200 }), Some(100.0));
        assert_eq!(progress(&SyncPhase::Transfer { read: 5, total: -1 }), None);
        assert_eq!(progress(&SyncPhase::Waiting), None);
    }

    #[test]
    fn the_snapshot_point_is_the_latest_fullresync_of_that_replica() {
        let log = |node: &str, line: &str| TraceEntry { at: 1, kind: TraceKind::Log { node: node.into(), line: line.into() } };
        let trace = vec![
            log("r1", "Full resync from master: abc:100"),
            log("r2", "Full resync from master: abc:300"),
            log("r1", "Full resync from master: def:200"),
            log("r1", "MASTER <-> REPLICA sync: receiving 10 bytes"),
        ];
        assert_eq!(snapshot_point(&trace, "r1", 100), Some(200));
        assert_eq!(snapshot_point(&trace, "r2", 100), Some(300));
        assert_eq!(snapshot_point(&trace, "r1", 1), None, "the scan is bounded");
        assert_eq!(snapshot_point(&trace, "r3", 100), None);
    }
}
