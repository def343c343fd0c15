//! The selected replica's link to its master: cut, heal, reset its connections, and set its
//! latency and bandwidth (both directions).

use leptos::prelude::*;
use replscope_sim::scenario::Action;
use replscope_view::fmt::thousands;

use super::node_panel::Selected;
use crate::sim_ctl::SimCtl;

pub const MAX_LATENCY_MS: u64 = 60_000;
pub const MAX_BYTES_PER_MS: u64 = 100_000_000;

/// A whole number typed into a field, within `min..=max` (None for anything else).
pub fn parse_bounded(text: &str, min: u64, max: u64) -> Option<u64> {
    text.trim().parse::<u64>().ok().filter(|v| (min..=max).contains(v))
}

#[component]
pub fn LinkControls(sel: Selected) -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let edge = Memo::new(move |_| {
        let name = sel.name.get();
        ctl.edges.with(|es| es.iter().find(|e| e.replica == name).cloned())
    });
    let problem = RwSignal::new(None::<String>);
    // A new node: no complaint about the previous one's input.
    Effect::new(move |_| {
        sel.name.track();
        problem.set(None);
    });
    let ends = move || edge.with_untracked(|e| e.as_ref().map(|e| (e.replica.clone(), e.master.clone())));
    let act = move |f: &dyn Fn(String, String) -> Action| {
        if let Some((a, b)) = ends() {
            let _ = ctl.act(f(a, b));
        }
    };
    let set_latency = move |text: String| match parse_bounded(&text, 0, MAX_LATENCY_MS) {
        Some(v) => {
            problem.set(None);
            act(&|a, b| Action::Link { a, b, latency_ms: Some(v), bytes_per_ms: None });
        }
        None => problem.set(Some(format!("Latency: a whole number of ms from 0 to {}.", thousands(MAX_LATENCY_MS as i64)))),
    };
    let set_bandwidth = move |text: String| match parse_bounded(&text, 1, MAX_BYTES_PER_MS) {
        Some(v) => {
            problem.set(None);
            act(&|a, b| Action::Link { a, b, latency_ms: None, bytes_per_ms: Some(v) });
        }
        None => problem.set(Some(format!("Bandwidth: a whole number of bytes/ms from 1 to {}.", thousands(MAX_BYTES_PER_MS as i64)))),
    };
    let cut = move || edge.with(|e| e.as_ref().is_some_and(|e| e.cut));
    let summary = move || {
        edge.with(|e| match e {
            Some(e) => format!(
                "{} → {} · {} · {} ms · {} B/ms",
                e.replica,
                e.master,
                if e.cut { "cut" } else if e.up { "up" } else { "down" },
                e.latency_ms,
                thousands(e.bytes_per_ms as i64)
            ),
            None => String::new(),
        })
    };

    view! {
        <div class="np-link" role="group" aria-labelledby="np-link-title">
            <h3 id="np-link-title">"Link to its master"</h3>
            {move || match edge.with(|e| e.is_some()) {
                false => view! {
                    <p class="np-muted" data-testid="link-none">
                        {move || format!("{} is not a replica: no link to a master. Select a replica to cut or slow its link.", sel.name.get())}
                    </p>
                }.into_any(),
                true => view! {
                    <p class="np-link-state mono" data-testid="link-state" class:cut=cut>{summary}</p>
                    <div class="np-row">
                        <button type="button" class="np-btn danger" data-testid="link-cut" disabled=cut
                            title="Partition: nothing gets through either way; bytes wait as TCP retransmits"
                            on:click=move |_| act(&|a, b| Action::Cut { a, b, oneway: false })>"Cut"</button>
                        <button type="button" class="np-btn" data-testid="link-heal" disabled=move || !cut()
                            on:click=move |_| act(&|a, b| Action::Heal { a, b })>"Heal"</button>
                        <button type="button" class="np-btn" data-testid="link-reset"
                            title="Close the TCP connections between the two nodes (both see the connection drop)"
                            on:click=move |_| act(&|a, b| Action::Reset { a, b })>"Reset connections"</button>
                    </div>
                    <div class="np-row np-fields">
                        <label class="np-field">
                            <span>"Latency (ms)"</span>
                            <input type="number" inputmode="numeric" min="0" max=MAX_LATENCY_MS.to_string() step="1"
                                data-testid="link-latency"
                                prop:value=move || edge.with(|e| e.as_ref().map(|e| e.latency_ms.to_string()).unwrap_or_default())
                                on:change:target=move |ev| set_latency(ev.target().value())/>
                        </label>
                        <label class="np-field">
                            <span>"Bandwidth (bytes/ms)"</span>
                            <input type="number" inputmode="numeric" min="1" max=MAX_BYTES_PER_MS.to_string() step="1"
                                data-testid="link-bandwidth"
                                prop:value=move || edge.with(|e| e.as_ref().map(|e| e.bytes_per_ms.to_string()).unwrap_or_default())
                                on:change:target=move |ev| set_bandwidth(ev.target().value())/>
                        </label>
                    </div>
                    {move || problem.get().map(|p| view! { <p class="np-field-error" role="alert" data-testid="link-input-error">{p}</p> })}
                }.into_any(),
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::parse_bounded;

    #[test]
    fn numbers_are_whole_and_in_range() {
        assert_eq!(parse_bounded(" 50 ", 0, 100), Some(50));
        assert_eq!(parse_bounded("0", 0, 100), Some(0));
        assert_eq!(parse_bounded("0", 1, 100), None);
        assert_eq!(parse_bounded("101", 0, 100), None);
        for bad in ["", "-1", "1.5", "1e3", "abc", "99999999999999999999999", "NaN"] {
            assert_eq!(parse_bounded(bad, 0, u64::MAX), None, "{bad}");
        }
    }
}
