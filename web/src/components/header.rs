use leptos::prelude::*;
use replscope_engine::REDIS_VERSION;
use replscope_sim::presets;

use crate::components::ShareBar;
use crate::sim_ctl::SimCtl;

#[component]
pub fn SiteHeader() -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let on_preset = move |ev: leptos::ev::Event| ctl.load_preset(&event_target_value(&ev));
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
            <label class="preset-pick">
                <span>"Scenario"</span>
                <select data-testid="preset" aria-label="Scenario" on:change=on_preset prop:value=move || ctl.preset.get()>
                    {presets::PRESETS.iter().map(|(name, _)| {
                        let title = presets::get(name).map(|s| s.title).unwrap_or_default();
                        view! { <option value=*name>{title}</option> }
                    }).collect_view()}
                </select>
            </label>
            <ShareBar/>
        </header>
    }
}
