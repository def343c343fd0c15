//! The node panel (the page's right column): for the selected node, its actions, the link to
//! its master, `INFO replication` as redis-cli prints it and a redis-cli console; the
//! cluster's actions at the foot.

use leptos::prelude::*;
use replscope_engine::Frame as Reply;
use replscope_view::frame::NodeState;

use super::{ClusterActions, LinkControls, NodeActions, NodeConsole};
use crate::sim_ctl::SimCtl;

/// The node the panel shows, as narrow memos (the frame changes every animation frame; these
/// change only when the node does).
#[derive(Clone, Copy)]
pub struct Selected {
    /// Empty when the cluster has no node at all.
    pub name: Memo<String>,
    /// None when there is no such node.
    pub state: Memo<Option<NodeState>>,
    /// "master", "replica", or empty while down.
    pub role: Memo<String>,
    /// The node it replicates from (kept while it is down).
    pub master: Memo<Option<String>>,
    pub persistence: Memo<bool>,
}

impl Selected {
    pub fn new(ctl: SimCtl) -> Selected {
        let names = Memo::new(move |_| ctl.shape.with(|ns| ns.iter().map(|n| n.name.clone()).collect::<Vec<_>>()));
        let name = Memo::new(move |_| effective_node(ctl.selected.get().as_deref(), &names.get()).unwrap_or_default());
        Selected {
            name,
            state: Memo::new(move |_| name.with(|nm| ctl.shape.with(|ns| ns.iter().find(|n| &n.name == nm).map(|n| n.state)))),
            role: Memo::new(move |_| name.with(|nm| ctl.shape.with(|ns| ns.iter().find(|n| &n.name == nm).map(|n| n.role.clone()).unwrap_or_default()))),
            master: Memo::new(move |_| name.with(|nm| ctl.shape.with(|ns| ns.iter().find(|n| &n.name == nm).and_then(|n| n.master.clone())))),
            persistence: Memo::new(move |_| name.with(|nm| ctl.shape.with(|ns| ns.iter().find(|n| &n.name == nm).is_some_and(|n| n.persistence)))),
        }
    }

    /// A replica (or a crashed node that was one): it has a master to promote away from.
    pub fn is_replica(&self) -> bool {
        self.role.get() == "replica" || (self.role.get().is_empty() && self.master.get().is_some())
    }
}

/// The node the panel shows: the selection if it still exists, else "master", else the first.
pub fn effective_node(selected: Option<&str>, names: &[String]) -> Option<String> {
    if let Some(s) = selected.filter(|s| names.iter().any(|n| n == s)) {
        return Some(s.to_string());
    }
    names.iter().find(|n| *n == "master").or(names.first()).cloned()
}

/// Virtual ms between two refreshes of INFO while playing: about one a second of wall time.
/// Each one copies the world (12 nodes under load: ~20 ms, a dropped frame), so it is not
/// done more often; paused, every move of time refreshes it.
pub fn info_refresh_ms(speed: f64) -> u64 {
    let wall = if speed.is_finite() && speed > 0.0 { speed * 1_000.0 } else { 0.0 };
    (wall as u64).max(100)
}

/// A reply to INFO as redis-cli shows it (raw, lines without `\r`).
pub fn info_text(reply: &Reply) -> String {
    match reply {
        Reply::Bulk(b) => String::from_utf8_lossy(b).replace("\r\n", "\n").trim_end_matches('\n').to_string(),
        other => replscope_console::format_reply(other).trim_end_matches('\n').to_string(),
    }
}

fn state_class(s: Option<NodeState>) -> &'static str {
    match s {
        None => "none",
        Some(NodeState::Up) => "up",
        Some(NodeState::Paused) => "paused",
        Some(NodeState::Down) => "down",
    }
}

fn state_word(s: Option<NodeState>, role: &str) -> String {
    match s {
        None => String::new(),
        Some(NodeState::Down) => "down".into(),
        Some(NodeState::Paused) => format!("{role} · paused"),
        Some(NodeState::Up) => role.to_string(),
    }
}

#[component]
pub fn NodePanel() -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let sel = Selected::new(ctl);
    // The panel is never empty: an absent or removed selection falls back to a node.
    Effect::new(move |_| {
        let name = sel.name.get();
        if !name.is_empty() && ctl.selected.get_untracked().as_deref() != Some(name.as_str()) {
            ctl.selected.set(Some(name));
        }
    });
    let title = move || {
        let n = sel.name.get();
        if n.is_empty() { "No node".to_string() } else { n }
    };
    view! {
        <aside class="node-panel" aria-label="Selected node" data-testid="node-panel">
            <section class="panel np-node" aria-labelledby="np-title">
                <div class="panel-bar">
                    <h2 id="np-title">"Node "<span class="np-name" data-testid="panel-node">{title}</span></h2>
                    <span class="np-state" data-state=move || state_class(sel.state.get())>
                        {move || state_word(sel.state.get(), &sel.role.get())}
                    </span>
                </div>
                <Show when=move || ctl.error.with(|e| e.is_some())>
                    <p class="np-error" role="alert" data-testid="panel-error">
                        <span>{move || ctl.error.get().unwrap_or_default()}</span>
                        <button type="button" class="ghost" aria-label="Dismiss the error" data-testid="panel-error-dismiss"
                            on:click=move |_| ctl.error.set(None)>"×"</button>
                    </p>
                </Show>
                <NodeActions sel=sel/>
                <LinkControls sel=sel/>
            </section>
            <InfoReplication sel=sel/>
            <NodeConsole sel=sel/>
            <ClusterActions sel=sel/>
        </aside>
    }
}

#[component]
fn InfoReplication(sel: Selected) -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    // (node, revision, time) of the last refresh: it moves on a new node, an intervention,
    // any move of time while paused, or enough virtual time while playing (either way: a
    // seek back counts too).
    let tick = super::chart::coarse_tick(ctl, super::chart::TickPhase::NodesAndClock);
    let at = Memo::new(move |prev: Option<&(String, u64, u64)>| {
        let name = sel.name.get();
        let rev = ctl.revision.get();
        // Woken by the coarse tick (every change while paused), not by every frame.
        tick.track();
        let t = ctl.time.get_untracked();
        let every = if ctl.playing.get() { info_refresh_ms(ctl.speed.get()) } else { 1 };
        match prev {
            Some((n, r, pt)) if *n == name && *r == rev && t.abs_diff(*pt) < every => (n.clone(), *r, *pt),
            _ => (name, rev, t),
        }
    });
    let info = Memo::new(move |_| {
        let (name, _, _) = at.get();
        if name.is_empty() {
            return None;
        }
        // Read in place (no copy of the world); a node in DEBUG SLEEP would not answer.
        if sel.state.get_untracked() == Some(NodeState::Paused) {
            return None;
        }
        ctl.with_run(|r| r.info(&name, "replication")).flatten().map(|t| t.replace("\r\n", "\n").trim_end_matches('\n').to_string())
    });
    let body = move || match (sel.state.get(), info.get()) {
        (None, _) => "Select a node in the topology.".to_string(),
        (Some(NodeState::Down), _) => format!("{} is down: INFO needs a running server. Restart it to see its replication state.", sel.name.get()),
        (_, Some(text)) => text,
        (Some(NodeState::Paused), None) => format!("{} is in DEBUG SLEEP: no reply yet.", sel.name.get()),
        (Some(NodeState::Up), None) => "No reply.".to_string(),
    };
    view! {
        <section class="panel np-info" aria-labelledby="np-info-title">
            <div class="panel-bar">
                <h2 id="np-info-title">"INFO replication"</h2>
                <span class="np-hint">{move || format!("{}:6379", sel.name.get())}</span>
            </div>
            <pre class="np-info-text" tabindex="0" data-testid="info-replication"
                aria-label=move || format!("INFO replication of {}", sel.name.get())>{body}</pre>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn falls_back_to_master_then_the_first_node() {
        let n = names(&["a", "master", "r1"]);
        assert_eq!(effective_node(Some("r1"), &n).as_deref(), Some("r1"));
        assert_eq!(effective_node(None, &n).as_deref(), Some("master"));
        assert_eq!(effective_node(Some("gone"), &n).as_deref(), Some("master"));
        assert_eq!(effective_node(None, &names(&["x", "y"])).as_deref(), Some("x"));
        assert_eq!(effective_node(Some("x"), &[]), None);
    }

    #[test]
    fn info_refreshes_about_once_a_wall_second_while_playing() {
        assert_eq!(info_refresh_ms(0.1), 100);
        assert_eq!(info_refresh_ms(1.0), 1_000);
        assert_eq!(info_refresh_ms(100.0), 100_000);
        assert_eq!(info_refresh_ms(f64::NAN), 100);
    }

    #[test]
    fn info_is_shown_without_carriage_returns() {
        let r = Reply::Bulk(b"# Replication\r\nrole:master\r\nconnected_slaves:0\r\n".to_vec());
        assert_eq!(info_text(&r), "# Replication\nrole:master\nconnected_slaves:0");
        assert_eq!(info_text(&Reply::Error("ERR x".into())), "(error) ERR x");
    }
}
