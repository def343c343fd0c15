//! The cluster as a whole: add a replica of the selected node, start and stop a write load.

use leptos::prelude::*;
use replscope_sim::scenario::{Action, NodeDef, Step};

use super::node_panel::Selected;
use crate::sim_ctl::SimCtl;

/// Write rates offered (writes per second).
pub const LOAD_RATES: &[u64] = &[1, 10, 100, 1_000];

/// `r1`, `r2`, …: the first name no node has.
pub fn next_replica_name(names: &[String]) -> String {
    (1..=names.len() + 1).map(|i| format!("r{i}")).find(|n| !names.contains(n)).unwrap_or_else(|| format!("r{}", names.len() + 1))
}

/// The link settings most of the scenario's links have now (latency, bytes/ms); ties go to
/// the slower link (it shows more). None when the scenario configures no link.
pub fn common_link(links: &[(u64, u64)]) -> Option<(u64, u64)> {
    let mut best: Option<((u64, u64), usize)> = None;
    for l in links {
        let n = links.iter().filter(|x| *x == l).count();
        if best.is_none_or(|(b, bn)| n > bn || (n == bn && l.0 > b.0)) {
            best = Some((*l, n));
        }
    }
    best.map(|(l, _)| l)
}

/// Where writes go: the top of `node`'s chain of masters (writes to a replica are refused).
pub fn load_target(masters: &[(String, Option<String>)], node: &str) -> String {
    let mut at = node.to_string();
    for _ in 0..=masters.len() {
        match masters.iter().find(|(n, _)| *n == at).and_then(|(_, m)| m.clone()) {
            Some(m) if masters.iter().any(|(n, _)| *n == m) => at = m,
            _ => break,
        }
    }
    at
}

/// The write loads running at `now`: (node, writes/s), from the steps played so far.
pub fn active_loads(steps: &[Step], now: u64) -> Vec<(String, u64)> {
    let mut loads = Vec::new();
    for s in steps.iter().filter(|s| s.at <= now) {
        match &s.action {
            Action::Load { node, per_second, .. } => loads.push((node.clone(), *per_second)),
            Action::StopLoad => loads.clear(),
            _ => {}
        }
    }
    loads
}

#[component]
pub fn ClusterActions(sel: Selected) -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let rate = RwSignal::new(LOAD_RATES[1]);
    let masters = Memo::new(move |_| ctl.shape.with(|ns| ns.iter().map(|n| (n.name.clone(), n.master.clone())).collect::<Vec<_>>()));
    let target = Memo::new(move |_| load_target(&masters.get(), &sel.name.get()));
    let new_name = Memo::new(move |_| masters.with(|m| next_replica_name(&m.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>())));
    let tick = super::chart::coarse_tick(ctl, super::chart::TickPhase::NodesAndClock);
    let loads = Memo::new(move |_| {
        // The coarse tick moves with interventions too.
        tick.track();
        let now = ctl.time.get_untracked();
        ctl.with_run(|r| active_loads(r.steps(), now)).unwrap_or_default()
    });
    let add_replica = move |_| {
        let of = sel.name.get_untracked();
        if of.is_empty() {
            return;
        }
        let name = new_name.get_untracked();
        // The new node's links are like the scenario's (50 ms in the default one), to every node.
        let (others, link) = ctl
            .with_run(|r| {
                let w = r.world();
                let links: Vec<(u64, u64)> = r.scenario().links.iter().map(|l| w.link(&l.a, &l.b)).map(|c| (c.latency_ms, c.bytes_per_ms)).collect();
                (w.node_names(), common_link(&links))
            })
            .unwrap_or_default();
        let def = NodeDef { name: name.clone(), args: vec![], replicaof: Some(of) };
        if ctl.act(Action::AddNode { node: def }).is_err() {
            return;
        }
        if let Some((latency, bw)) = link {
            for other in others {
                let _ = ctl.act(Action::Link { a: name.clone(), b: other, latency_ms: Some(latency), bytes_per_ms: Some(bw) });
            }
        }
        ctl.selected.set(Some(name));
    };
    let load_text = move || {
        loads.with(|l| {
            if l.is_empty() {
                "No write load.".to_string()
            } else {
                let parts: Vec<String> = l.iter().map(|(n, r)| format!("{r}/s on {n}")).collect();
                format!("Write load: {}.", parts.join(", "))
            }
        })
    };

    view! {
        <section class="panel np-cluster" aria-labelledby="np-cluster-title">
            <div class="panel-bar"><h2 id="np-cluster-title">"Cluster"</h2></div>
            <div class="np-body">
                <div class="np-row">
                    <button type="button" class="np-btn" data-testid="act-add-replica" disabled=move || sel.name.with(|n| n.is_empty())
                        title="Starts a new node with --replicaof <selected node> 6379"
                        on:click=add_replica>
                        {move || format!("Add replica {} of {}", new_name.get(), sel.name.get())}
                    </button>
                </div>
                <div class="np-row">
                    <span class="np-combo">
                        <button type="button" class="np-btn" data-testid="act-load" disabled=move || target.with(|t| t.is_empty())
                            aria-label=move || format!("Start a write load on {}", target.get())
                            title="SET of random keys among 1,000, to the top master of the selected node"
                            on:click=move |_| { let _ = ctl.act(Action::Load { node: target.get_untracked(), per_second: rate.get_untracked(), keys: 1_000, value_bytes: 0 }); }>
                            {move || format!("Load {} at", target.get())}
                        </button>
                        <select data-testid="load-rate" aria-label="Write load rate"
                            prop:value=move || rate.get().to_string()
                            on:change:target=move |ev| { if let Ok(v) = ev.target().value().parse::<u64>() { rate.set(v) } }>
                            {LOAD_RATES.iter().map(|r| view! { <option value=r.to_string()>{format!("{r} writes/s")}</option> }).collect_view()}
                        </select>
                    </span>
                    <button type="button" class="np-btn" data-testid="act-stop-load" disabled=move || loads.with(|l| l.is_empty())
                        on:click=move |_| { let _ = ctl.act(Action::StopLoad); }>"Stop load"</button>
                </div>
                <p class="np-muted" data-testid="load-state" aria-live="polite">{load_text}</p>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn replica_names_fill_the_first_gap() {
        assert_eq!(next_replica_name(&s(&["master"])), "r1");
        assert_eq!(next_replica_name(&s(&["master", "r1", "r2"])), "r3");
        assert_eq!(next_replica_name(&s(&["master", "r2"])), "r1");
        assert_eq!(next_replica_name(&s(&["r1", "r2", "r3"])), "r4");
        assert_eq!(next_replica_name(&[]), "r1");
    }

    #[test]
    fn links_copy_the_most_common_setting() {
        assert_eq!(common_link(&[]), None);
        assert_eq!(common_link(&[(50, 10_000), (50, 10_000), (5, 10_000)]), Some((50, 10_000)));
        assert_eq!(common_link(&[(5, 1), (50, 1)]), Some((50, 1)));
    }

    #[test]
    fn load_goes_to_the_top_master() {
        let m = |n: &str, of: Option<&str>| (n.to_string(), of.map(str::to_string));
        let tree = vec![m("master", None), m("r1", Some("master")), m("r2", Some("r1")), m("x", Some("gone"))];
        assert_eq!(load_target(&tree, "r2"), "master");
        assert_eq!(load_target(&tree, "master"), "master");
        assert_eq!(load_target(&tree, "x"), "x");
        let cycle = vec![m("a", Some("b")), m("b", Some("a"))];
        let t = load_target(&cycle, "a");
        assert!(t == "a" || t == "b");
    }

    #[test]
    fn loads_run_until_stopped() {
        let st = |at, action| Step { at, say: None, action };
        let steps = vec![
            st(10, Action::Load { node: "m".into(), per_second: 8, keys: 1, value_bytes: 0 }),
            st(20, Action::StopLoad),
            st(30, Action::Load { node: "m".into(), per_second: 100, keys: 1, value_bytes: 0 }),
        ];
        assert!(active_loads(&steps, 5).is_empty());
        assert_eq!(active_loads(&steps, 15), vec![("m".to_string(), 8)]);
        assert!(active_loads(&steps, 25).is_empty());
        assert_eq!(active_loads(&steps, 30), vec![("m".to_string(), 100)]);
    }
}
