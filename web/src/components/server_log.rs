use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::app::Ui;
use crate::timefmt::clock;

/// Local wall-clock time of a log line, as redis-server prints it.
fn local_clock(ms: u64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    clock(d.get_hours(), d.get_minutes(), d.get_seconds(), d.get_milliseconds())
}

#[component]
pub fn ServerLog() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let list_ref = NodeRef::<html::Ol>::new();

    Effect::new(move |_| {
        ui.logs.track();
        if let Some(el) = list_ref.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });

    view! {
        <section class="panel log" aria-labelledby="log-title">
            <div class="panel-bar">
                <h2 id="log-title">"Server log"</h2>
            </div>
            <ol class="log-lines" node_ref=list_ref tabindex="0" aria-label="Server log lines" data-testid="server-log">
                <For each=move || ui.logs.get() key=|l| l.id let:line>
                    <li class:warn=line.warning>
                        <time>{local_clock(line.at.0)}</time>
                        <span class="sym" aria-hidden="true">{line.symbol.to_string()}</span>
                        <span class="msg">{line.text}</span>
                    </li>
                </For>
            </ol>
        </section>
    }
}
