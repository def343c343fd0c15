use leptos::prelude::*;
use replscope_engine::REDIS_VERSION;

#[component]
pub fn SiteHeader() -> impl IntoView {
    view! {
        <header class="site-header">
            <div class="brand">
                <svg class="logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
                    <circle cx="16" cy="16" r="13" fill="none" stroke="currentColor" stroke-width="2.5"/>
                    <circle cx="16" cy="16" r="4.5" fill="currentColor"/>
                    <path d="M16 3v6M16 23v6M3 16h6M23 16h6" stroke="currentColor" stroke-width="2.5" stroke-linecap="round"/>
                </svg>
                <h1>"ReplScope"</h1>
                <span class="badge" title="The redis-server version the engine reproduces">
                    "redis " {REDIS_VERSION}
                </span>
            </div>
            <p class="tagline">
                "A Redis server reimplemented in Rust and running in this tab. Talk to it as you would with redis-cli."
            </p>
        </header>
    }
}
