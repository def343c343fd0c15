use leptos::prelude::*;

#[component]
pub fn SiteFooter() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <p>
                "Nothing leaves your browser: the node is a sans-IO state machine compiled to WebAssembly, "
                "fed your keystrokes and the clock. "
                <kbd>"↑"</kbd>" "<kbd>"↓"</kbd>" recall commands; "<code>"clear"</code>" clears the screen."
            </p>
        </footer>
    }
}
