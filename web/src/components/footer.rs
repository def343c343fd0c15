use leptos::prelude::*;

#[component]
pub fn SiteFooter() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <p>
                "Every node is a Redis 7.0 server reimplemented in Rust as a sans-IO state machine; a deterministic "
                "simulator connects them with virtual links and a virtual clock, all inside this tab. Press "<kbd>"?"</kbd>" for keyboard shortcuts."
            </p>
        </footer>
    }
}
