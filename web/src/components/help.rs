//! The keyboard shortcuts, in an overlay opened with `?` and closed with Escape.

use leptos::html;
use leptos::prelude::*;

use crate::focus::focus_when_open;
use crate::keys::SHORTCUTS;

#[component]
pub fn HelpOverlay(open: RwSignal<bool>) -> impl IntoView {
    let close_ref = NodeRef::<html::Button>::new();
    focus_when_open(open, close_ref);
    view! {
        <Show when=move || open.get()>
            <div class="overlay" on:click=move |_| open.set(false)>
                <div class="help-dialog" role="dialog" aria-modal="true" aria-labelledby="help-title" data-testid="help"
                    on:click=|ev| ev.stop_propagation()>
                    <h2 id="help-title">"Keyboard shortcuts"</h2>
                    <dl class="keys">
                        {SHORTCUTS.iter().map(|(k, what)| view! { <dt><kbd>{*k}</kbd></dt><dd>{*what}</dd> }).collect_view()}
                    </dl>
                    <p class="sub">"Tab moves between controls; Enter on a node opens its panel. Changing anything in the past forks the run: the future after that moment is recomputed."</p>
                    <button class="primary" data-testid="help-close" node_ref=close_ref on:click=move |_| open.set(false)>"Close"</button>
                </div>
            </div>
        </Show>
    }
}
