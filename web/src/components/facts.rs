use leptos::prelude::*;

use crate::app::Ui;
use crate::timefmt::uptime;

#[component]
pub fn NodeFacts() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let f = ui.facts;
    let running = move || f.with(|f| f.running);
    let up = move || {
        let started = f.with(|f| f.started.0);
        uptime((ui.now_secs.get() * 1000).saturating_sub(started))
    };
    let keyspace = move || {
        f.with(|f| {
            if f.keyspace.is_empty() {
                "empty".to_string()
            } else {
                f.keyspace.iter().map(|(db, n)| format!("db{db}:{n}")).collect::<Vec<_>>().join("  ")
            }
        })
    };

    view! {
        <section class="panel facts" aria-labelledby="facts-title">
            <div class="panel-bar">
                <h2 id="facts-title">"Node"</h2>
                <span class="status" class:stopped=move || !running() data-testid="fact-status">
                    {move || if running() { "running" } else { "stopped" }}
                </span>
            </div>
            <dl class="fact-list">
                <div class="wide">
                    <dt>"Role"</dt>
                    <dd data-testid="fact-role">{move || f.with(|f| f.role.clone())}</dd>
                </div>
                <div>
                    <dt>"Databases"</dt>
                    <dd data-testid="fact-databases">{move || f.with(|f| f.databases.clone())}</dd>
                </div>
                <div>
                    <dt>"Keys"</dt>
                    <dd data-testid="fact-keys">
                        <strong>{move || f.with(|f| f.keys_total)}</strong>
                        <span class="sub">{keyspace}</span>
                    </dd>
                </div>
                <div>
                    <dt>"Uptime"</dt>
                    <dd data-testid="fact-uptime">{up}</dd>
                </div>
                <div>
                    <dt>"Address"</dt>
                    <dd>
                        "127.0.0.1:"{move || f.with(|f| f.port.clone())}
                        <span class="sub">{move || f.with(|f| format!("hz {}", f.hz))}</span>
                    </dd>
                </div>
                <div>
                    <dt>"Console"</dt>
                    <dd data-testid="fact-client">
                        {move || f.with(|f| match (f.connected, f.client_id) {
                            (true, Some(id)) => format!("client id {id}"),
                            _ => "not connected".to_string(),
                        })}
                    </dd>
                </div>
                <div>
                    <dt>"Eviction"</dt>
                    <dd data-testid="fact-policy">{move || f.with(|f| f.maxmemory_policy.clone())}</dd>
                </div>
                <div class="wide">
                    <dt>
                        <abbr title="master_replid and master_repl_offset: the replication history this node is on, and how many bytes of it it has produced or applied">
                            "Replication"
                        </abbr>
                    </dt>
                    <dd class="mono hash" data-testid="fact-replication">
                        {move || f.with(|f| format!("{} @ {}", f.replid, f.repl_offset))}
                    </dd>
                </div>
                <div class="wide">
                    <dt>"Run ID"</dt>
                    <dd class="mono hash" data-testid="fact-runid">{move || f.with(|f| f.run_id.clone())}</dd>
                </div>
                <div class="wide">
                    <dt>
                        <abbr title="DEBUG DIGEST: a hash of the whole dataset; equal digests mean equal data">
                            "Digest"
                        </abbr>
                    </dt>
                    <dd class="mono hash" data-testid="fact-digest">{move || f.with(|f| f.digest.clone())}</dd>
                </div>
            </dl>
            <Show when=move || !running()>
                <div class="stopped-box">
                    <p>"The server has shut down. A new node starts empty: this page keeps no RDB file to load."</p>
                    <button type="button" class="primary" data-testid="restart-node" on:click=move |_| ui.restart()>
                        "Start a new node"
                    </button>
                </div>
            </Show>
        </section>
    }
}
