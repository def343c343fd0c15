//! A redis-cli console on the selected node. Reads run on a copy of the world (looking never
//! forks the run); anything else is an intervention now. One transcript per node, one history
//! for all of them (redis-cli keeps a single history file too).

use std::collections::BTreeMap;

use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::html;
use leptos::prelude::*;
use replscope_console::{format_reply, format_reply_raw, parse_line, repr, take_repeat};
use replscope_engine::Frame as Reply;
use replscope_sim::scenario::Action;
use replscope_view::frame::NodeState;
use replscope_view::plan::is_read_only;

use super::node_panel::Selected;
use crate::history::History;
use crate::sim_ctl::SimCtl;
use crate::transcript::{line_class, EntryKind, Transcript};

/// Repeats (`5 INCR n`) run at most this many times here: each write is an intervention.
pub const MAX_REPEAT_HERE: u64 = 100;

/// What a typed line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Blank,
    Clear,
    /// Printed as is (redis-cli's own complaints).
    Fail(String),
    /// Run `line` `times` times; `read`: on a copy of the world.
    Run { line: String, times: u64, read: bool },
}

pub fn route(typed: &str) -> Route {
    let args = match parse_line(typed) {
        Ok(a) => a,
        Err(e) => return Route::Fail(e),
    };
    if args.is_empty() {
        return Route::Blank;
    }
    if args.len() == 1 && args[0].eq_ignore_ascii_case(b"clear") {
        return Route::Clear;
    }
    let t = match take_repeat(args) {
        Ok(t) => t,
        Err(e) => return Route::Fail(e),
    };
    let line = if t.repeat == 1 { typed.trim().to_string() } else { t.args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ") };
    let read = is_read_only(&line);
    Route::Run { line, times: t.repeat, read }
}

/// An argument as it can be typed back: bare if plain, else quoted with escapes.
fn quote(arg: &[u8]) -> String {
    let plain = !arg.is_empty() && arg.iter().all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'\\'));
    if plain { String::from_utf8_lossy(arg).into_owned() } else { repr(arg) }
}

/// Commands redis-cli prints raw even on a terminal (cliSendCommand).
fn prints_raw(line: &str) -> bool {
    let words: Vec<String> = parse_line(line).unwrap_or_default().iter().take(2).map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    matches!(w(0), "info" | "lolwut")
        || matches!((w(0), w(1)), ("client", "list" | "info") | ("memory", "doctor" | "malloc-stats") | ("latency", "doctor" | "graph") | ("cluster", "nodes" | "info") | ("debug", "htstats" | "htstats-key"))
}

/// A reply as redis-cli prints it after `line`.
pub fn show(line: &str, reply: &Reply) -> String {
    if prints_raw(line) {
        // cliFormatReply(verbatim): no delimiter added after a raw reply.
        String::from_utf8_lossy(&format_reply_raw(reply)).into_owned()
    } else {
        format_reply(reply)
    }
}

pub fn prompt(node: &str, down: bool) -> String {
    if down { "not connected> ".to_string() } else { format!("{node}:6379> ") }
}

#[component]
pub fn NodeConsole(sel: Selected) -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let transcripts = RwSignal::new(BTreeMap::<String, Transcript>::new());
    let history = StoredValue::new(History::new());
    let input = RwSignal::new(String::new());
    let output_ref = NodeRef::<html::Div>::new();
    let input_ref = NodeRef::<html::Input>::new();
    let down = move || sel.state.get() == Some(NodeState::Down);
    let the_prompt = move || prompt(&sel.name.get(), down());
    // A new scenario: the old transcripts are about other nodes.
    Effect::new(move |first: Option<()>| {
        ctl.preset.track();
        if first.is_some() {
            transcripts.set(BTreeMap::new());
        }
    });
    let write = move |node: &str, f: &dyn Fn(&mut Transcript)| transcripts.update(|m| f(m.entry(node.to_string()).or_default()));

    let submit = move |typed: String| {
        let node = sel.name.get_untracked();
        if node.is_empty() {
            return;
        }
        history.update_value(|h| h.push(&typed));
        input.set(String::new());
        let shown_prompt = prompt(&node, sel.state.get_untracked() == Some(NodeState::Down));
        write(&node, &|t| t.push_command(&shown_prompt, &typed));
        let (line, times, read) = match route(&typed) {
            Route::Blank => return,
            Route::Clear => return write(&node, &|t| t.clear()),
            Route::Fail(e) => return write(&node, &|t| t.push_output(&format!("{e}\n"))),
            Route::Run { line, times, read } => (line, times, read),
        };
        let state = sel.state.get_untracked();
        if state == Some(NodeState::Down) {
            return write(&node, &|t| t.push_output(&format!("Could not connect to Redis at {node}:6379: Connection refused\n")));
        }
        if times > MAX_REPEAT_HERE {
            write(&node, &|t| t.push_note(&format!("Repeated {MAX_REPEAT_HERE} times here, not {times}: each run is an intervention.")));
        }
        for _ in 0..times.min(MAX_REPEAT_HERE) {
            let out = if read {
                ctl.peek(&node, &line).map(|r| show(&line, &r)).ok_or(())
            } else {
                match ctl.act(Action::Command { node: node.clone(), line: line.clone(), track: None }) {
                    Ok(Some(r)) => Ok(show(&line, &r)),
                    Ok(None) => Err(()),
                    Err(msg) => {
                        // Printed here; the panel's banner would say it twice.
                        ctl.error.set(None);
                        Ok(format!("(error) {msg}\n"))
                    }
                }
            };
            match out {
                Ok(text) => write(&node, &|t| t.push_output(&text)),
                Err(()) => {
                    let why = if state == Some(NodeState::Paused) { " (it is in DEBUG SLEEP)" } else { "" };
                    write(&node, &|t| t.push_note(&format!("No reply from {node} within 2 s of virtual time{why}.")));
                    break;
                }
            }
        }
    };

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        submit(input.get_untracked());
    };
    let on_keydown = move |ev: KeyboardEvent| {
        let recalled = match ev.key().as_str() {
            "ArrowUp" => history.try_update_value(|h| h.up(&input.get_untracked())).flatten(),
            "ArrowDown" => history.try_update_value(|h| h.down()).flatten(),
            "l" if ev.ctrl_key() => {
                ev.prevent_default();
                write(&sel.name.get_untracked(), &|t| t.clear());
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        if let Some(line) = recalled {
            input.set(line);
        }
    };
    // Keep the newest output in view.
    Effect::new(move |_| {
        transcripts.track();
        sel.name.track();
        if let Some(el) = output_ref.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    let entries = move || {
        let node = sel.name.get();
        transcripts.with(|m| m.get(&node).map(|t| t.entries().iter().map(|e| (node.clone(), e.clone())).collect::<Vec<_>>()).unwrap_or_default())
    };
    let empty = move || transcripts.with(|m| m.get(&sel.name.get()).is_none_or(|t| t.entries().is_empty()));

    view! {
        <section class="panel np-console" aria-labelledby="np-console-title">
            <div class="panel-bar">
                <h2 id="np-console-title">{move || format!("redis-cli · {}", sel.name.get())}</h2>
                <button type="button" class="ghost" aria-label="Clear this node's console" data-testid="console-clear"
                    on:click=move |_| {
                        write(&sel.name.get_untracked(), &|t| t.clear());
                        if let Some(el) = input_ref.get_untracked() { let _ = el.focus(); }
                    }>"Clear"</button>
            </div>
            <div class="transcript" node_ref=output_ref role="log" aria-live="polite" tabindex="0"
                aria-label=move || format!("Console output of {}", sel.name.get()) data-testid="console-output">
                <Show when=empty>
                    <p class="hint">"Reads (GET, INFO, ROLE…) look at a copy of the node; writes and other commands act on the run now."</p>
                </Show>
                <For each=entries key=|(n, e)| (n.clone(), e.id) let:item>
                    {match item.1.kind {
                        EntryKind::Command { prompt, line } => view! {
                            <div class="cmd"><span class="prompt">{prompt}</span><span class="typed">{line}</span></div>
                        }.into_any(),
                        EntryKind::Output { lines } => view! {
                            <pre class="reply">{lines.into_iter().map(|l| { let c = line_class(&l); view! { <span class=c>{l}</span>"\n" } }).collect_view()}</pre>
                        }.into_any(),
                        EntryKind::Note { text } => view! { <p class="note">{text}</p> }.into_any(),
                    }}
                </For>
            </div>
            <form class="input-row" on:submit=on_submit>
                <label class="prompt" for="np-console-input">{move || the_prompt().trim_end().to_string()}</label>
                <input id="np-console-input" node_ref=input_ref type="text" autocomplete="off" autocapitalize="off" spellcheck="false"
                    enterkeyhint="send" placeholder="GET key" data-testid="console-input"
                    aria-label=move || format!("Command for {}", sel.name.get())
                    prop:value=input on:input:target=move |ev| input.set(ev.target().value()) on:keydown=on_keydown/>
                <button type="submit" class="primary" data-testid="console-submit">"Run"</button>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_routed_like_redis_cli() {
        assert_eq!(route("   "), Route::Blank);
        assert_eq!(route("clear"), Route::Clear);
        assert_eq!(route("CLEAR"), Route::Clear);
        assert_eq!(route("SET \"a"), Route::Fail("Invalid argument(s)".into()));
        assert_eq!(route("0 PING"), Route::Fail("Invalid redis-cli repeat command option value.".into()));
        assert_eq!(route(" GET a "), Route::Run { line: "GET a".into(), times: 1, read: true });
        assert_eq!(route("SET a 1"), Route::Run { line: "SET a 1".into(), times: 1, read: false });
        assert_eq!(route("3 INCR n"), Route::Run { line: "INCR n".into(), times: 3, read: false });
        assert_eq!(route("2 SET k \"a b\""), Route::Run { line: "SET k \"a b\"".into(), times: 2, read: false });
        assert_eq!(route("2 info replication"), Route::Run { line: "info replication".into(), times: 2, read: true });
    }

    #[test]
    fn odd_input_never_panics() {
        for l in ["\"", "'", "\\", "\"\\x\"", "ü ß 日本", "99999999999999999999 GET a", "-1 GET a", "1 ", "\0", "2 \"\\xff\"", "clear me", "  CLEAR  "] {
            let _ = route(l);
            let _ = prints_raw(l);
        }
        assert_eq!(route("99999999999999999999 GET a"), Route::Fail("Invalid redis-cli repeat command option value.".into()));
        assert_eq!(route("  CLEAR  "), Route::Clear);
    }

    #[test]
    fn repeated_arguments_survive_requoting() {
        let Route::Run { line, .. } = route("2 SET \"k\\x00\" 'it s' \"\"") else { panic!() };
        assert_eq!(parse_line(&line).unwrap(), vec![b"SET".to_vec(), b"k\x00".to_vec(), b"it s".to_vec(), b"".to_vec()]);
    }

    #[test]
    fn replies_are_printed_as_redis_cli_does() {
        assert_eq!(show("GET a", &Reply::Bulk(b"hi".to_vec())), "\"hi\"\n");
        assert_eq!(show("GET a", &Reply::Null), "(nil)\n");
        assert_eq!(show("info replication", &Reply::Bulk(b"# Replication\r\nrole:master\r\n".to_vec())), "# Replication\r\nrole:master\r\n");
        assert_eq!(show("CLIENT LIST", &Reply::Bulk(b"id=1\n".to_vec())), "id=1\n");
        assert_eq!(show("SET a", &Reply::Error("ERR wrong".into())), "(error) ERR wrong\n");
        assert_eq!(prompt("r1", false), "r1:6379> ");
        assert_eq!(prompt("r1", true), "not connected> ");
    }
}
