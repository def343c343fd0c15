//! The cluster as a tree: node boxes (role, short replid, offsets, link state, keys), the
//! replication links, and the bytes travelling on them, each kind in its own colour.

use leptos::prelude::*;
use replscope_sim::Payload;
use replscope_view::fmt::thousands;
use replscope_view::frame::{MessageView, NodeState, NodeView, SyncPhase};
use replscope_view::geometry::{along, canvas, centre, lane, BOX_H, BOX_W};

use crate::sim_ctl::SimCtl;

/// CSS class and legend name of a payload kind.
pub fn payload_class(p: &Payload) -> (&'static str, &'static str) {
    match p {
        Payload::Stream => ("msg-stream", "command"),
        Payload::RdbChunk => ("msg-rdb", "RDB chunk"),
        Payload::Ping => ("msg-ping", "ping"),
        Payload::Keepalive => ("msg-keepalive", "keepalive \\n"),
        Payload::Ack => ("msg-ack", "REPLCONF ACK"),
        Payload::GetAck => ("msg-getack", "REPLCONF GETACK"),
        Payload::Handshake => ("msg-handshake", "handshake"),
        Payload::SyncReply => ("msg-sync", "+FULLRESYNC / +CONTINUE"),
        Payload::Client => ("msg-client", "client"),
    }
}

#[component]
pub fn Topology() -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let frame = ctl.frame;
    let size = Memo::new(move |_| {
        frame.with(|f| {
            let w = f.nodes.iter().map(|n| n.x).fold(0.0, f64::max) + 0.5;
            let d = f.nodes.iter().map(|n| n.y).fold(0.0, f64::max) + 0.5;
            canvas(w, d)
        })
    });
    let view_box = move || {
        let (w, h) = size.get();
        format!("0 0 {w} {h}")
    };

    view! {
        <section class="panel topology" aria-labelledby="topology-title">
            <div class="panel-bar">
                <h2 id="topology-title">"Topology"</h2>
                <Legend/>
            </div>
            <div class="topo-scroll">
            <svg class="topo" viewBox=view_box role="group" aria-label="Nodes and replication links" data-testid="topology"
                preserveAspectRatio="xMidYMin meet"
                style=move || { let (w, h) = size.get(); format!("min-width: {:.0}px; max-width: {:.0}px; max-height: {:.0}px", w * 0.62, w * 1.1, h * 1.1) }>
                <g class="edges">
                    // Positions are part of the key: a node moving (a replica added) redraws its edges.
                    <For each=move || frame.with(|f| f.edges.iter().filter_map(|e| {
                            let a = f.node(&e.replica).map(|n| centre(n.x, n.y))?;
                            let b = f.node(&e.master).map(|n| centre(n.x, n.y))?;
                            Some((e.clone(), a, b))
                        }).collect::<Vec<_>>())
                        key=|(e, a, b)| (e.replica.clone(), e.master.clone(), e.up, e.cut, e.latency_ms, a.0 as i64, a.1 as i64, b.0 as i64, b.1 as i64)
                        let:edge>
                        {
                            let (e, a, b) = edge;
                            let cls = if e.cut { "edge cut" } else if e.up { "edge up" } else { "edge down" };
                            let mid = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
                            let label = if e.cut { "✂ cut".to_string() } else { format!("{} ms", e.latency_ms) };
                            view! {
                                <g class=cls data-testid=format!("edge-{}", e.replica)>
                                    <line x1=a.0 y1=a.1 x2=b.0 y2=b.1/>
                                    <text class="edge-label" x=mid.0 + 12.0 y=mid.1>{label}</text>
                                </g>
                            }
                        }
                    </For>
                </g>
                <g class="nodes">
                    <For each=move || frame.with(|f| f.nodes.iter().map(|n| n.name.clone()).collect::<Vec<_>>()) key=|n| n.clone() let:name>
                        <NodeBox name=name/>
                    </For>
                </g>
                <g class="messages">
                    {move || {
                        frame.with(|f| {
                            f.messages
                                .iter()
                                .filter_map(|m| {
                                    let a = f.node(&m.from).map(|n| centre(n.x, n.y))?;
                                    let b = f.node(&m.to).map(|n| centre(n.x, n.y))?;
                                    Some(message_dot(ctl, m, a, b))
                                })
                                .collect_view()
                        })
                    }}
                </g>
            </svg>
            </div>
        </section>
    }
}

fn message_dot(ctl: SimCtl, m: &MessageView, a: (f64, f64), b: (f64, f64)) -> impl IntoView {
    let seg = lane(a, b);
    let (x, y) = along(seg, m.progress);
    let (cls, name) = payload_class(&m.payload);
    let landed = m.progress >= 1.0;
    let big = matches!(m.payload, Payload::RdbChunk) && m.bytes > 256;
    let r = if big { 9.0 } else { 6.0 };
    let label = format!("{name}, {} bytes, {} → {}: show its bytes", thousands(m.bytes as i64), m.from, m.to);
    let msg = m.clone();
    let bar = big.then(|| {
        let done = if m.bytes == 0 { 0.0 } else { m.delivered as f64 / m.bytes as f64 };
        view! {
            <g class="rdb-bar">
                <rect class="track" x=x - 24.0 y=y + 12.0 width=48.0 height=6.0 rx=3.0/>
                <rect class="fill" x=x - 24.0 y=y + 12.0 width=48.0 * done height=6.0 rx=3.0/>
            </g>
        }
    });
    view! {
        <g class=format!("msg {cls}") class:landed=landed class:held=m.held data-testid="message">
            <circle cx=x cy=y r=r tabindex="0" role="button" aria-label=label.clone()
                on:click=move |_| ctl.inspected.set(Some(msg.clone()))>
                <title>{label.clone()}</title>
            </circle>
            {bar}
        </g>
    }
}

#[component]
fn NodeBox(name: String) -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let key = name.clone();
    let node = Memo::new(move |_| ctl.frame.with(|f| f.node(&key).cloned()));
    let selected = {
        let name = name.clone();
        move || ctl.selected.with(|s| s.as_deref() == Some(name.as_str()))
    };
    let select = {
        let name = name.clone();
        move || ctl.selected.set(Some(name.clone()))
    };
    let select2 = select.clone();
    move || {
        let Some(n) = node.get() else { return ().into_any() };
        let (cx, cy) = centre(n.x, n.y);
        let (x, y) = (cx - BOX_W / 2.0, cy - BOX_H / 2.0);
        let state_cls = match n.state {
            NodeState::Up => "up",
            NodeState::Paused => "paused",
            NodeState::Down => "down",
        };
        let select = select.clone();
        let select2 = select2.clone();
        let label = node_label(&n);
        view! {
            <g class=format!("node {} {state_cls}", if n.role == "master" { "master" } else { "replica" })
                class:selected=selected.clone()
                data-testid=format!("node-{}", n.name)
                tabindex="0" role="button" aria-label=label
                on:click=move |_| select()
                on:keydown=move |ev| if ev.key() == "Enter" || ev.key() == " " { ev.prevent_default(); select2() }>
                <rect class="box" x=x y=y width=BOX_W height=BOX_H rx=10.0/>
                <text class="name" x=x + 10.0 y=y + 20.0>{n.name.clone()}</text>
                <text class="role" x=x + BOX_W - 10.0 y=y + 20.0 text-anchor="end">{role_word(&n)}</text>
                {body(&n, x, y)}
            </g>
        }
        .into_any()
    }
}

fn role_word(n: &NodeView) -> String {
    match n.state {
        NodeState::Down => "down".into(),
        NodeState::Paused => format!("{} · paused", n.role),
        NodeState::Up => n.role.clone(),
    }
}

/// The lines inside a node box.
fn body(n: &NodeView, x: f64, y: f64) -> impl IntoView {
    if n.state == NodeState::Down {
        return view! { <text class="line muted" x=x + 10.0 y=y + 44.0>{if n.persistence { "crashed · disk kept" } else { "crashed · no persistence" }}</text> }.into_any();
    }
    let offset = match n.slave_repl_offset {
        Some(o) => format!("slave_repl_offset {}", thousands(o)),
        None => format!("master_repl_offset {}", thousands(n.master_repl_offset)),
    };
    let status = match (&n.sync, n.role.as_str()) {
        (Some(SyncPhase::Waiting), _) => "full sync: waiting for RDB".to_string(),
        (Some(SyncPhase::Transfer { read, total }), _) if *total > 0 => format!("full sync: RDB {}%", read * 100 / total),
        (Some(SyncPhase::Transfer { read, .. }), _) => format!("full sync: RDB {} B", thousands(*read)),
        (Some(SyncPhase::Loading), _) => "full sync: loading RDB".to_string(),
        (None, "replica") => format!("link {} · {}", if n.link_up { "up" } else { n.link_state.as_str() }, plural(n.keys, "key")),
        _ => format!("{} · {}", plural(n.replicas.len(), "replica"), plural(n.keys, "key")),
    };
    view! {
        <text class="line mono" x=x + 10.0 y=y + 42.0>{format!("replid {}…", n.replid_short)}</text>
        <text class="line mono" x=x + 10.0 y=y + 60.0>{offset}</text>
        <text class="line" class:warn=n.sync.is_some() || (n.role == "replica" && !n.link_up) x=x + 10.0 y=y + 78.0>{status}</text>
    }
    .into_any()
}

/// "1 replica", "2 replicas", "0 keys".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

/// What a screen reader hears for a node box.
pub fn node_label(n: &NodeView) -> String {
    match n.state {
        NodeState::Down => format!("{}: down", n.name),
        _ => match n.slave_repl_offset {
            Some(o) => format!("{}: replica of {}, link {}, offset {o}, {} keys", n.name, n.master.clone().unwrap_or_default(), n.link_state, n.keys),
            None => format!("{}: master, offset {}, {} replicas, {} keys", n.name, n.master_repl_offset, n.replicas.len(), n.keys),
        },
    }
}

#[component]
fn Legend() -> impl IntoView {
    let kinds = [Payload::Stream, Payload::RdbChunk, Payload::Ping, Payload::Ack, Payload::Handshake, Payload::SyncReply];
    view! {
        <ul class="legend" aria-label="Message kinds">
            {kinds.iter().map(|k| {
                let (cls, name) = payload_class(k);
                view! { <li><span class=format!("swatch {cls}")></span>{name}</li> }
            }).collect_view()}
        </ul>
    }
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn counts_read_naturally() {
        assert_eq!(plural(1, "replica"), "1 replica");
        assert_eq!(plural(0, "key"), "0 keys");
        assert_eq!(plural(12, "key"), "12 keys");
    }
}
