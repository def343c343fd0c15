//! The app: the simulator driver in context, and the page's regions.

use leptos::prelude::*;
use replscope_view::share;

use crate::browser;
use crate::components::{Controls, HelpOverlay, NodePanel, Notices, SiteFooter, SiteHeader, Topology};
use crate::components::{Backlogs, Inspector, Narration, OffsetChart, SyncLog};
use crate::keys::{is_typing_target, next_speed, shortcut, Shortcut};
use crate::sim_ctl::SPEEDS;
use crate::sim_ctl::SimCtl;

#[component]
pub fn App() -> impl IntoView {
    // What the URL asks for: a preset or an inline run, a moment, embed options.
    let (search, hash) = browser::location();
    let req = share::parse(&search, &hash);
    let ctl = SimCtl::new(req.scenario());
    provide_context(ctl);
    if let Some(s) = req.speed {
        ctl.speed.set(s);
    }
    if let Some(t) = req.time_ms {
        ctl.open_at(t);
    }
    // With reduced motion asked for, nothing moves until the visitor presses play (a link
    // that says autoplay=1 still plays).
    ctl.playing.set(req.plays() && (req.autoplay == Some(true) || !prefers_reduced_motion()));
    ctl.start();
    let help = RwSignal::new(false);
    let problems = RwSignal::new(req.problems.clone());
    listen_for_shortcuts(ctl, help);
    let embed = req.embed;
    let full_view = format!("{}{}", browser::base_url(), share::without_embed(&search, &hash));
    let shows = |p: &str| req.shows(p);
    let (controls, narration, node, backlog, sync, chart) = (shows("controls"), shows("narration"), shows("node"), shows("backlog"), shows("sync"), shows("chart"));
    let topology = shows("topology");
    // Whether the browser draws the details section (it skips it while far off screen).
    let insight_drawn = RwSignal::new(true);
    provide_context(InsightDrawn(insight_drawn));
    view! {
        <div class="page" class:embed=embed>
            {(!embed).then(|| view! { <SiteHeader/> })}
            <Notices problems=problems/>
            {controls.then(|| view! { <Controls/> })}
            {narration.then(|| view! { <Narration/> })}
            <main class="viz" class:single=!(topology && node)>
                {topology.then(|| view! { <Topology/> })}
                {node.then(|| view! { <NodePanel/> })}
            </main>
            {(backlog || sync || chart).then(|| view! {
                <section class="insight" aria-label="Replication details"
                    on:contentvisibilityautostatechange=move |ev: web_sys::Event| insight_drawn.set(!skipped(&ev))>
                    {backlog.then(|| view! { <Backlogs/> })}
                    {sync.then(|| view! { <SyncLog/> })}
                    {chart.then(|| view! { <OffsetChart/> })}
                </section>
            })}
            <Inspector/>
            {(!embed).then(|| view! { <SiteFooter/> })}
            {embed.then(|| view! { <a class="open-full" href=full_view.clone() target="_blank" rel="noopener" data-testid="open-full">"Open full view ↗"</a> })}
            <HelpOverlay open=help/>
        </div>
    }
}

/// Whether the browser draws the backlog, resync and chart panels: while it skips them (far
/// off screen) they hold still, and their share of each coarse tick costs nothing.
#[derive(Clone, Copy)]
pub struct InsightDrawn(pub RwSignal<bool>);

/// A `contentvisibilityautostatechange` event's `skipped`.
fn skipped(ev: &web_sys::Event) -> bool {
    js_sys::Reflect::get(ev, &"skipped".into()).ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

fn prefers_reduced_motion() -> bool {
    window().match_media("(prefers-reduced-motion: reduce)").ok().flatten().is_some_and(|m| m.matches())
}

/// Page-wide keys (not while typing in a field; Space on a focused button is the button's).
fn listen_for_shortcuts(ctl: SimCtl, help: RwSignal<bool>) {
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        let target = ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok());
        let (tag, kind) = target
            .as_ref()
            .map(|e| (e.tag_name(), e.get_attribute("type").unwrap_or_default()))
            .unwrap_or_default();
        let Some(action) = shortcut(&ev.key(), ev.shift_key()) else { return };
        if action != Shortcut::Close && is_typing_target(&tag, &kind) {
            return;
        }
        let on_control = matches!(tag.to_ascii_uppercase().as_str(), "BUTTON" | "A") || target.as_ref().is_some_and(|e| e.get_attribute("role").as_deref() == Some("button"));
        if action == Shortcut::PlayPause && on_control {
            return;
        }
        ev.prevent_default();
        match action {
            Shortcut::PlayPause => ctl.toggle_play(),
            Shortcut::Step => ctl.step(),
            Shortcut::Back => ctl.nudge(-1_000),
            Shortcut::BackFar => ctl.nudge(-10_000),
            Shortcut::ForwardFar => ctl.nudge(10_000),
            Shortcut::Faster => ctl.speed.update(|s| *s = next_speed(SPEEDS, *s, true)),
            Shortcut::Slower => ctl.speed.update(|s| *s = next_speed(SPEEDS, *s, false)),
            Shortcut::Help => help.update(|h| *h = !*h),
            Shortcut::Close => {
                help.set(false);
                ctl.inspected.set(None);
            }
        }
    });
    // The listener lives as long as the page.
    std::mem::forget(handle);
}
