//! The cluster as a tree: node boxes (role, short replid, offsets, link state, keys), the
//! replication links, and the bytes travelling on them, each kind in its own colour.

use leptos::prelude::*;
use replscope_sim::Payload;
use replscope_view::fmt::thousands;
use replscope_view::frame::{NodeState, NodeView, SyncPhase};
use replscope_view::geometry::{canvas, centre, BOX_H, BOX_W};

use super::dot_layer::{message_at, DotLayer};
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

/// Where each node is drawn: changes only when the tree does (a node added, removed, moved).
type Places = Vec<(String, (f64, f64))>;

/// The nodes as the boxes show them (see `Topology`).
#[derive(Clone, Copy)]
struct ShownNodes(Memo<Vec<NodeView>>);

fn place_of(places: &Places, name: &str) -> Option<(f64, f64)> {
    places.iter().find(|(n, _)| n == name).map(|(_, c)| *c)
}

#[component]
pub fn Topology() -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    // Node centres, as a memo: offsets change every frame, positions almost never.
    let places = Memo::new(move |_| ctl.shape.with(|ns| ns.iter().map(|n| (n.name.clone(), centre(n.x, n.y))).collect::<Places>()));
    let size = Memo::new(move |_| {
        ctl.shape.with(|ns| {
            let w = ns.iter().map(|n| n.x).fold(0.0, f64::max) + 0.5;
            let d = ns.iter().map(|n| n.y).fold(0.0, f64::max) + 0.5;
            canvas(w, d)
        })
    });
    let view_box = move || {
        let (w, h) = size.get();
        format!("0 0 {w} {h}")
    };
    provide_context(places);
    // What the node boxes show: while playing, their offsets move every frame under load, so
    // the boxes follow the coarse tick (about ten times a wall second, on the same frames as
    // the chart and the backlog strips); paused, stepping, seeking or acting, every change
    // shows at once, and so does a node added or moved.
    let tick = super::chart::coarse_tick(ctl, super::chart::TickPhase::NodesAndClock);
    let shown = Memo::new(move |_| {
        let _ = tick.get();
        places.with(|_| ());
        ctl.nodes.get_untracked()
    });
    provide_context(ShownNodes(shown));

    // The message dots: one effect keeps them in step with the frame.
    let dots = NodeRef::<leptos::svg::G>::new();
    let layer = StoredValue::new_local(None::<DotLayer>);
    Effect::new(move |_| {
        let Some(root) = dots.get() else { return };
        places.with(|p| {
            ctl.messages.with(|ms| {
                layer.update_value(|l| {
                    if l.is_none() {
                        *l = DotLayer::new(root.into());
                    }
                    if let Some(l) = l {
                        l.sync(ms, |name| place_of(p, name));
                    }
                })
            })
        });
    });
    let inspect = move |id: Option<usize>| {
        let m = id.and_then(|id| ctl.messages.with_untracked(|ms| ms.iter().find(|m| m.id == id).cloned()));
        if m.is_some() {
            ctl.inspected.set(m);
        }
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
                    <For each=move || places.with(|p| ctl.edges.with(|es| es.iter().filter_map(|e| {
                            let a = place_of(p, &e.replica)?;
                            let b = place_of(p, &e.master)?;
                            Some((e.clone(), a, b))
                        }).collect::<Vec<_>>()))
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
                    <For each=move || places.with(|p| p.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()) key=|n| n.clone() let:name>
                        <NodeBox name=name/>
                    </For>
                </g>
                // Drawn by hand (see `DotLayer`); clicks and Enter land here from the dots.
                <g class="messages" node_ref=dots
                    on:click=move |ev| inspect(message_at(ev.target()))
                    on:keydown=move |ev| if ev.key() == "Enter" { inspect(message_at(ev.target())) }>
                </g>
            </svg>
            </div>
        </section>
    }
}

/// Everything a node box shows, so the box's elements stay and only changed text updates.
#[derive(Clone, Debug, PartialEq, Default)]
struct BoxText {
    class: String,
    label: String,
    x: f64,
    y: f64,
    role: String,
    lines: [String; 3],
    warn: bool,
}

fn box_text(n: &NodeView) -> BoxText {
    let (cx, cy) = centre(n.x, n.y);
    let state_cls = match n.state {
        NodeState::Up => "up",
        NodeState::Paused => "paused",
        NodeState::Down => "down",
    };
    BoxText {
        class: format!("node {} {state_cls}", if n.role == "master" { "master" } else { "replica" }),
        label: node_label(n),
        x: cx - BOX_W / 2.0,
        y: cy - BOX_H / 2.0,
        role: role_word(n),
        lines: body_lines(n),
        warn: n.sync.is_some() || (n.role == "replica" && !n.link_up),
    }
}

#[component]
fn NodeBox(name: String) -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let ShownNodes(nodes) = expect_context::<ShownNodes>();
    let key = name.clone();
    let t = Memo::new(move |_| nodes.with(|ns| ns.iter().find(|n| n.name == key).map(box_text).unwrap_or_default()));
    // Each part has its own memo, so the effects of the parts that did not change (most of
    // them, most frames: only the offset line moves under load) do not run.
    let part = move |f: fn(&BoxText) -> String| {
        let m = Memo::new(move |_| t.with(f));
        move || m.get()
    };
    let at = Memo::new(move |_| t.with(|t| (t.x, t.y)));
    let warn = Memo::new(move |_| t.with(|t| t.warn));
    let selected = {
        let name = name.clone();
        move || ctl.selected.with(|s| s.as_deref() == Some(name.as_str()))
    };
    let select = {
        let name = name.clone();
        move || ctl.selected.set(Some(name.clone()))
    };
    let select2 = select.clone();
    // The box's parts are placed inside it; one transform places the box.
    view! {
        <g class=part(|t| t.class.clone())
            class:selected=selected
            data-testid=format!("node-{name}")
            transform=move || at.with(|(x, y)| format!("translate({x} {y})"))
            tabindex="0" role="button" aria-label=part(|t| t.label.clone())
            on:click=move |_| select()
            on:keydown=move |ev| if ev.key() == "Enter" || ev.key() == " " { ev.prevent_default(); select2() }>
            <rect class="box" x=0.0 y=0.0 width=BOX_W height=BOX_H rx=10.0/>
            <text class="name" x=10.0 y=20.0>{name.clone()}</text>
            <text class="role" x=BOX_W - 10.0 y=20.0 text-anchor="end">{part(|t| t.role.clone())}</text>
            <text class="line mono" x=10.0 y=42.0>{part(|t| t.lines[0].clone())}</text>
            <text class="line mono" x=10.0 y=60.0>{part(|t| t.lines[1].clone())}</text>
            <text class="line" class:warn=move || warn.get() x=10.0 y=78.0>{part(|t| t.lines[2].clone())}</text>
        </g>
    }
}

fn role_word(n: &NodeView) -> String {
    match n.state {
        NodeState::Down => "down".into(),
        NodeState::Paused => format!("{} · paused", n.role),
        NodeState::Up => n.role.clone(),
    }
}

/// The three lines inside a node box.
fn body_lines(n: &NodeView) -> [String; 3] {
    if n.state == NodeState::Down {
        let why = if n.persistence { "crashed · disk kept" } else { "crashed · no persistence" };
        return [why.to_string(), String::new(), String::new()];
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
    [format!("replid {}…", n.replid_short), offset, status]
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
