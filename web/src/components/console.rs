use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::html;
use leptos::prelude::*;

use crate::app::Ui;
use crate::history::History;
use crate::transcript::{line_class, EntryKind};

/// Commands offered as one-click examples.
const EXAMPLES: &[&str] = &[
    "SET greeting hello",
    "GET greeting",
    "INCR visits",
    "RPUSH queue a b c",
    "LRANGE queue 0 -1",
    "SET session token EX 5",
    "DEBUG SLEEP 2",
    "INFO keyspace",
    "SYNC",
];

#[component]
pub fn ConsolePanel() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let input = RwSignal::new(String::new());
    let history = StoredValue::new(History::new());
    let input_ref = NodeRef::<html::Input>::new();
    let output_ref = NodeRef::<html::Div>::new();

    let run = move |line: String| {
        if ui.pending.get_untracked().is_some() {
            return;
        }
        history.update_value(|h| h.push(&line));
        input.set(String::new());
        ui.submit(&line);
    };

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        run(input.get_untracked());
    };

    let on_keydown = move |ev: KeyboardEvent| {
        let recalled = match ev.key().as_str() {
            "ArrowUp" => history.try_update_value(|h| h.up(&input.get_untracked())).flatten(),
            "ArrowDown" => history.try_update_value(|h| h.down()).flatten(),
            "l" if ev.ctrl_key() => {
                // Ctrl-L clears the screen, as in redis-cli.
                ev.prevent_default();
                ui.clear();
                return;
            }
            "c" if ev.ctrl_key() && ui.pending.get_untracked().is_some() => {
                // Ctrl-C stops a running command (only then: otherwise it copies).
                ev.prevent_default();
                ui.interrupt();
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
        ui.transcript.track();
        ui.pending.track();
        if let Some(el) = output_ref.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });

    // Start with the cursor in the input.
    Effect::new(move |_| {
        if let Some(el) = input_ref.get() {
            let _ = el.focus();
        }
    });

    let connected = move || ui.facts.with(|f| f.connected);
    let entries = move || ui.transcript.with(|t| t.entries().to_vec());

    view! {
        <section class="panel console" aria-labelledby="console-title">
            <div class="panel-bar">
                <h2 id="console-title">"redis-cli"</h2>
                <span class="conn" class:off=move || !connected() data-testid="console-connection">
                    <span class="dot" aria-hidden="true"></span>
                    {move || if connected() { "connected" } else { "not connected" }}
                </span>
                <button
                    type="button"
                    class="ghost"
                    aria-label="Clear the console screen"
                    data-testid="console-clear"
                    on:click=move |_| {
                        ui.clear();
                        if let Some(el) = input_ref.get_untracked() {
                            let _ = el.focus();
                        }
                    }
                >
                    "Clear"
                </button>
            </div>
            <div
                class="transcript"
                node_ref=output_ref
                role="log"
                aria-live="polite"
                aria-label="Console output"
                tabindex="0"
                data-testid="console-output"
            >
                <Show when=move || ui.transcript.with(|t| t.entries().is_empty())>
                    <p class="hint">
                        "Type a command below and press Enter, or pick an example. "
                        "The server answers exactly as redis-server 7.0 would."
                    </p>
                </Show>
                <For each=entries key=|e| e.id let:entry>
                    {match entry.kind {
                        EntryKind::Command { prompt, line } => view! {
                            <div class="cmd" data-testid="console-command">
                                <span class="prompt">{prompt}</span>
                                <span class="typed">{line}</span>
                            </div>
                        }
                        .into_any(),
                        EntryKind::Output { lines } => view! {
                            <pre class="reply" data-testid="console-reply">
                                {lines
                                    .into_iter()
                                    .map(|l| {
                                        let class = line_class(&l);
                                        view! { <span class=class>{l}</span> "\n" }
                                    })
                                    .collect_view()}
                            </pre>
                        }
                        .into_any(),
                        EntryKind::Note { text } => view! { <p class="note">{text}</p> }.into_any(),
                    }}
                </For>
                <Show when=move || ui.pending.with(|p| p.is_some())>
                    <div class="waiting" data-testid="pending-indicator" role="status">
                        <span class="spinner" aria-hidden="true"></span>
                        <span class="waiting-text">
                            {move || if ui.replica_mode.get() {
                                "Replica output mode: the master's stream appears as it comes."
                            } else {
                                "Waiting for the reply…"
                            }}
                        </span>
                        <button
                            type="button"
                            class="ghost"
                            aria-label="Stop redis-cli (Ctrl-C)"
                            title="Ctrl-C"
                            data-testid="interrupt"
                            on:click=move |_| {
                                ui.interrupt();
                                if let Some(el) = input_ref.get_untracked() {
                                    let _ = el.focus();
                                }
                            }
                        >
                            "Stop"
                        </button>
                    </div>
                </Show>
            </div>
            <form class="input-row" on:submit=on_submit>
                <label class="prompt" for="console-input" data-testid="console-prompt">
                    {move || ui.prompt.get().trim_end().to_string()}
                </label>
                <input
                    id="console-input"
                    node_ref=input_ref
                    type="text"
                    autocomplete="off"
                    autocapitalize="off"
                    spellcheck="false"
                    enterkeyhint="send"
                    aria-label="Command"
                    placeholder="SET greeting hello"
                    data-testid="console-input"
                    prop:value=input
                    on:input:target=move |ev| input.set(ev.target().value())
                    on:keydown=on_keydown
                />
                <button type="submit" class="primary" data-testid="console-submit" disabled=move || ui.pending.with(|p| p.is_some())>
                    "Run"
                </button>
            </form>
            <nav class="examples" aria-label="Example commands">
                <span class="examples-label">"Try"</span>
                {EXAMPLES
                    .iter()
                    .map(|&cmd| {
                        view! {
                            <button
                                type="button"
                                class="chip"
                                title=format!("Run {cmd}")
                                disabled=move || ui.pending.with(|p| p.is_some())
                                on:click=move |_| {
                                    run(cmd.to_string());
                                    if let Some(el) = input_ref.get_untracked() {
                                        let _ = el.focus();
                                    }
                                }
                            >
                                {cmd}
                            </button>
                        }
                    })
                    .collect_view()}
            </nav>
        </section>
    }
}
