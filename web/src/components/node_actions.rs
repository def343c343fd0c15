//! What can be done to the selected node: crash and restart it, pause it (DEBUG SLEEP),
//! promote or re-point it, switch its RDB snapshots off or on, remove it.

use leptos::prelude::*;
use replscope_sim::scenario::Action;
use replscope_view::frame::NodeState;

use super::node_panel::Selected;
use crate::sim_ctl::SimCtl;

/// Pause lengths offered (ms of virtual time).
pub const PAUSES_MS: &[u64] = &[2_000, 5_000, 10_000];
/// redis.conf's default `save` points (Redis 7.0), set back when persistence is turned on.
pub const SAVE_POINTS: &str = "3600 1 300 100 60 10000";

/// The command that turns RDB snapshots on or off.
pub fn persistence_line(turn_on: bool) -> String {
    if turn_on {
        format!("CONFIG SET save \"{SAVE_POINTS}\"")
    } else {
        "CONFIG SET save \"\"".to_string()
    }
}

pub fn repoint_line(target: &str) -> String {
    format!("REPLICAOF {target} 6379")
}

/// The nodes `me` could replicate from, and which one the select shows (`wanted` if it is
/// still offered, else the first).
pub fn repoint_choices(names: &[String], me: &str, wanted: &str) -> (Vec<String>, Option<String>) {
    let others: Vec<String> = names.iter().filter(|n| *n != me).cloned().collect();
    let chosen = others.iter().find(|n| *n == wanted).or(others.first()).cloned();
    (others, chosen)
}

#[component]
pub fn NodeActions(sel: Selected) -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let pause_ms = RwSignal::new(PAUSES_MS[0]);
    let wanted = RwSignal::new(String::new());
    let names = Memo::new(move |_| ctl.shape.with(|ns| ns.iter().map(|n| n.name.clone()).collect::<Vec<_>>()));
    let choices = Memo::new(move |_| repoint_choices(&names.get(), &sel.name.get(), &wanted.get()));
    let exists = move || sel.state.get().is_some();
    let running = move || matches!(sel.state.get(), Some(NodeState::Up | NodeState::Paused));
    let up = move || sel.state.get() == Some(NodeState::Up);
    let down = move || sel.state.get() == Some(NodeState::Down);
    let node = move || sel.name.get_untracked();
    let act = move |a: Action| {
        let _ = ctl.act(a);
    };
    let command = move |line: String| act(Action::Command { node: node(), line, track: None });
    let persist_label = move || if sel.persistence.get() { "Persistence on · turn off" } else { "Persistence off · turn on" };
    let persist_title = "Runs CONFIG SET save. As in real Redis, CONFIG SET changes only the running server: \
        a restart reads the node's original configuration again.";

    view! {
        <div class="np-actions" role="group" aria-label="Node actions">
            <div class="np-row">
                <span class="np-label" aria-hidden="true">"Process"</span>
                <button type="button" class="np-btn danger" data-testid="act-crash" disabled=move || !running()
                    title="Kill the process: what is not on disk is lost"
                    on:click=move |_| act(Action::Crash { node: node() })>"Crash"</button>
                <button type="button" class="np-btn" data-testid="act-restart" disabled=move || !down()
                    title="Start it again from its RDB file (if it saved one)"
                    on:click=move |_| act(Action::Restart { node: node(), empty: false })>"Restart"</button>
                <button type="button" class="np-btn" data-testid="act-restart-empty" disabled=move || !down()
                    title="Start it again with its disk lost: no RDB file"
                    on:click=move |_| act(Action::Restart { node: node(), empty: true })>"Restart empty"</button>
            </div>
            <div class="np-row">
                <span class="np-label" aria-hidden="true">"Freeze"</span>
                <span class="np-combo">
                    <button type="button" class="np-btn" data-testid="act-pause" disabled=move || !up()
                        aria-label=move || format!("Pause for {} s (DEBUG SLEEP)", pause_ms.get() / 1000)
                        title="DEBUG SLEEP: the server stops answering anything, its replication link included"
                        on:click=move |_| act(Action::Pause { node: node(), ms: pause_ms.get_untracked() })>"Pause for"</button>
                    <select data-testid="pause-ms" aria-label="Pause length" disabled=move || !up()
                        prop:value=move || pause_ms.get().to_string()
                        on:change:target=move |ev| { if let Ok(v) = ev.target().value().parse::<u64>() { pause_ms.set(v) } }>
                        {PAUSES_MS.iter().map(|ms| view! { <option value=ms.to_string()>{format!("{} s", ms / 1000)}</option> }).collect_view()}
                    </select>
                </span>
            </div>
            <div class="np-row">
                <span class="np-label" aria-hidden="true">"Role"</span>
                <button type="button" class="np-btn" data-testid="act-promote" disabled=move || !(running() && sel.is_replica())
                    title="REPLICAOF NO ONE: the replica becomes a master, keeping its data and history"
                    on:click=move |_| command("REPLICAOF NO ONE".into())>"Promote"</button>
                <span class="np-combo">
                    <button type="button" class="np-btn" data-testid="act-repoint" disabled=move || !running() || choices.with(|c| c.1.is_none())
                        aria-label=move || format!("Re-point: replicate from {}", choices.with(|c| c.1.clone().unwrap_or_default()))
                        title="REPLICAOF <node> 6379"
                        on:click=move |_| { if let Some(t) = choices.with_untracked(|c| c.1.clone()) { command(repoint_line(&t)) } }>"Re-point to"</button>
                    <select data-testid="repoint-target" aria-label="Node to replicate from" disabled=move || !running() || choices.with(|c| c.0.is_empty())
                        prop:value=move || choices.with(|c| c.1.clone().unwrap_or_default())
                        on:change:target=move |ev| wanted.set(ev.target().value())>
                        {move || choices.with(|c| c.0.iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view())}
                    </select>
                </span>
            </div>
            <div class="np-row">
                <span class="np-label" aria-hidden="true">"Disk"</span>
                <button type="button" class="np-btn" class:on=move || sel.persistence.get() data-testid="act-persistence"
                    disabled=move || !running() title=persist_title aria-pressed=move || sel.persistence.get().to_string()
                    on:click=move |_| command(persistence_line(!sel.persistence.get_untracked()))>{persist_label}</button>
                <button type="button" class="np-btn danger" data-testid="act-remove" disabled=move || !exists()
                    title="Take the node out of the cluster for good"
                    on:click=move |_| act(Action::RemoveNode { node: node() })>"Remove node"</button>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replscope_sim::scenario::{NodeDef, Scenario, Step};
    use replscope_view::plan::persistence;

    #[test]
    fn persistence_lines_are_what_the_view_reads_back() {
        let s = Scenario {
            name: "t".into(),
            title: String::new(),
            description: String::new(),
            seed: 1,
            tail_ms: 0,
            nodes: vec![NodeDef { name: "m".into(), args: vec![], replicaof: None }],
            links: vec![],
            steps: vec![],
        };
        let cmd = |at, on| Step { at, say: None, action: Action::Command { node: "m".into(), line: persistence_line(on), track: None } };
        let steps = vec![cmd(10, false), cmd(20, true)];
        assert!(persistence(&s, &steps, "m", 5));
        assert!(!persistence(&s, &steps, "m", 10));
        assert!(persistence(&s, &steps, "m", 20));
        assert_eq!(persistence_line(false), "CONFIG SET save \"\"");
        assert_eq!(persistence_line(true), "CONFIG SET save \"3600 1 300 100 60 10000\"");
    }

    #[test]
    fn repoint_offers_the_other_nodes() {
        let names: Vec<String> = ["master", "r1", "r2"].iter().map(|s| s.to_string()).collect();
        assert_eq!(repoint_choices(&names, "r1", ""), (vec!["master".into(), "r2".into()], Some("master".into())));
        assert_eq!(repoint_choices(&names, "r1", "r2").1.as_deref(), Some("r2"));
        assert_eq!(repoint_choices(&names, "r1", "r1").1.as_deref(), Some("master"));
        assert_eq!(repoint_choices(&names[..1], "master", ""), (vec![], None));
        assert_eq!(repoint_line("r2"), "REPLICAOF r2 6379");
    }
}
