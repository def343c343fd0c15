//! Share, embed, export and import: a link that reproduces this run at this moment, the
//! iframe snippet, the scenario and trace as files, the topology as SVG/PNG, and loading a
//! scenario file.

use leptos::prelude::*;
use leptos::task::spawn_local;
use replscope_sim::Scenario;
use replscope_view::share::{link_for, PANELS};
use replscope_view::svg_export::{render, DARK, LIGHT};
use wasm_bindgen::JsCast;

use crate::browser;
use crate::focus::focus_when_open;
use crate::sim_ctl::SimCtl;

/// The iframe snippet for a link (`link` is `?…` or `#…` relative to `base`).
pub fn embed_snippet(base: &str, link: &str, autoplay: bool, panels: &[&str]) -> String {
    let mut url = format!("{base}{link}");
    let sep = if link.starts_with('#') { '&' } else { '&' };
    url.push(sep);
    url.push_str("embed=1");
    if !autoplay {
        url.push_str("&autoplay=0");
    }
    if !panels.is_empty() && panels.len() < PANELS.len() {
        url.push_str("&panels=");
        url.push_str(&panels.join(","));
    }
    let url = url.replace('&', "&amp;").replace('"', "&quot;");
    format!("<iframe src=\"{url}\" title=\"ReplScope: Redis replication\" width=\"100%\" height=\"560\" style=\"border:0\" loading=\"lazy\"></iframe>")
}

fn is_dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
}

#[component]
pub fn ShareBar() -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let status = RwSignal::new(String::new());
    let embed_open = RwSignal::new(false);
    let say = move |r: Result<String, String>| match r {
        Ok(m) => status.set(m),
        Err(e) => status.set(format!("⚠ {e}")),
    };
    let link = move || ctl.with_run(|r| link_for(&r.replayable(), r.time())).unwrap_or_default();
    let copy_link = move |_| {
        let url = format!("{}{}", browser::base_url(), link());
        spawn_local(async move {
            let r = browser::copy(&url).await.map(|_| "Link copied: it opens this run at this moment.".to_string());
            say(r.map_err(|e| format!("{e}. The link: {url}")));
        });
    };
    let export_scenario = move |ev: leptos::ev::MouseEvent| {
        close_menu(&ev);
        let r = ctl.with_run(|r| (r.replayable().name.clone(), r.replayable().to_json())).unwrap_or_default();
        say(browser::download(&format!("{}.json", r.0), "application/json", r.1.as_bytes()).map(|_| "Scenario saved (every step, your changes included).".into()));
    };
    let export_trace = move |ev: leptos::ev::MouseEvent| {
        close_menu(&ev);
        let json = ctl.with_run(|r| serde_json::to_string(r.world().trace()).unwrap_or_default()).unwrap_or_default();
        say(browser::download("replscope-trace.json", "application/json", json.as_bytes()).map(|_| "Trace saved.".into()));
    };
    let svg_now = move || {
        let title = ctl.with_run(|r| r.scenario().title.clone()).unwrap_or_default();
        let palette = if is_dark() { &DARK } else { &LIGHT };
        ctl.frame.with_untracked(|f| render(f, &title, palette))
    };
    let export_svg = move |ev: leptos::ev::MouseEvent| {
        close_menu(&ev);
        say(browser::download("replscope-topology.svg", "image/svg+xml", svg_now().as_bytes()).map(|_| "Topology saved as SVG.".into()));
    };
    let export_png = move |ev: leptos::ev::MouseEvent| {
        close_menu(&ev);
        let svg = svg_now();
        let (w, h) = svg_size(&svg);
        spawn_local(async move {
            say(browser::download_png("replscope-topology.png", &svg, w, h, 2.0).await.map(|_| "Topology saved as PNG.".into()));
        });
    };
    let import = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        input.set_value("");
        spawn_local(async move {
            let result = match browser::read_file(file, replscope_sim::scenario::MAX_SCENARIO_BYTES).await {
                Ok(text) => Scenario::parse(&text).map_err(|e| e.0),
                Err(e) => Err(e),
            };
            match result {
                Ok(s) => {
                    let name = s.name.clone();
                    ctl.load(s);
                    say(Ok(format!("Loaded scenario \"{name}\".")));
                }
                Err(e) => say(Err(format!("That file is not a scenario ReplScope can load: {e}. Nothing changed."))),
            }
        });
    };
    view! {
        <div class="share-bar" role="group" aria-label="Share and export">
            <button class="ghost" data-testid="copy-link" on:click=copy_link>"Copy link"</button>
            <button class="ghost" data-testid="embed" on:click=move |_| embed_open.set(true)>"Embed"</button>
            <details class="menu">
                <summary class="ghost" data-testid="export">"Export"</summary>
                <div class="menu-items">
                    <button class="ghost" data-testid="export-scenario" on:click=export_scenario>"Scenario (JSON)"</button>
                    <button class="ghost" data-testid="export-trace" on:click=export_trace>"Trace (JSON)"</button>
                    <button class="ghost" data-testid="export-svg" on:click=export_svg>"Topology (SVG)"</button>
                    <button class="ghost" data-testid="export-png" on:click=export_png>"Topology (PNG)"</button>
                </div>
            </details>
            <label class="ghost file-pick">
                "Import…"
                <input type="file" accept=".json,.toml,application/json,text/plain" data-testid="import" aria-label="Import a scenario file" on:change=import/>
            </label>
            <p class="share-status" role="status" data-testid="share-status">{move || status.get()}</p>
            <EmbedDialog open=embed_open link=Signal::derive(link)/>
        </div>
    }
}

/// A chosen menu item closes its menu (the next click on "Export" opens it again).
fn close_menu(ev: &leptos::ev::MouseEvent) {
    let details = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).and_then(|e| e.closest("details").ok().flatten());
    if let Some(d) = details {
        let _ = d.remove_attribute("open");
    }
}

/// Width and height from the SVG's own `width="…" height="…"`.
pub fn svg_size(svg: &str) -> (f64, f64) {
    let attr = |name: &str| {
        svg.split_once(&format!(" {name}=\"")).and_then(|(_, rest)| rest.split_once('"')).and_then(|(v, _)| v.parse::<f64>().ok()).unwrap_or(400.0)
    };
    (attr("width"), attr("height"))
}

#[component]
fn EmbedDialog(open: RwSignal<bool>, link: Signal<String>) -> impl IntoView {
    let autoplay = RwSignal::new(true);
    let snippet_ref = NodeRef::<leptos::html::Textarea>::new();
    focus_when_open(open, snippet_ref);
    let chosen = RwSignal::new(vec!["topology", "controls", "narration", "backlog"]);
    let snippet = move || {
        let panels = chosen.get();
        let ordered: Vec<&str> = PANELS.iter().copied().filter(|p| panels.contains(p)).collect();
        embed_snippet(&browser::base_url(), &link.get(), autoplay.get(), &ordered)
    };
    view! {
        <Show when=move || open.get()>
            <div class="overlay" on:click=move |_| open.set(false)>
                <div class="help-dialog embed-dialog" role="dialog" aria-modal="true" aria-labelledby="embed-title" data-testid="embed-dialog"
                    on:click=|ev| ev.stop_propagation()>
                    <h2 id="embed-title">"Embed this run"</h2>
                    <fieldset class="panel-choice">
                        <legend>"Panels"</legend>
                        {PANELS.iter().map(|p| {
                            let p: &'static str = p;
                            view! {
                                <label>
                                    <input type="checkbox" prop:checked=move || chosen.with(|c| c.contains(&p))
                                        on:change=move |ev| {
                                            let on = event_target::<web_sys::HtmlInputElement>(&ev).checked();
                                            chosen.update(|c| { c.retain(|x| *x != p); if on { c.push(p); } });
                                        }/>
                                    {p}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                    <label class="inline">
                        <input type="checkbox" prop:checked=move || autoplay.get() on:change=move |ev| autoplay.set(event_target::<web_sys::HtmlInputElement>(&ev).checked())/>
                        "Autoplay"
                    </label>
                    <textarea readonly rows="4" node_ref=snippet_ref data-testid="embed-snippet" aria-label="Iframe snippet"
                        on:focus=|ev| { if let Some(t) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlTextAreaElement>().ok()) { t.select(); } }
                        prop:value=snippet></textarea>
                    <button class="primary" data-testid="embed-close" on:click=move |_| open.set(false)>"Done"</button>
                </div>
            </div>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippet_escapes_its_url_and_lists_chosen_panels() {
        let s = embed_snippet("https://x.test/docs/", "?scenario=cascade&t=5", false, &["topology", "chart"]);
        assert_eq!(
            s,
            "<iframe src=\"https://x.test/docs/?scenario=cascade&amp;t=5&amp;embed=1&amp;autoplay=0&amp;panels=topology,chart\" title=\"ReplScope: Redis replication\" width=\"100%\" height=\"560\" style=\"border:0\" loading=\"lazy\"></iframe>"
        );
        let all: Vec<&str> = PANELS.to_vec();
        assert!(!embed_snippet("b/", "#run=x", true, &all).contains("panels="));
    }

    #[test]
    fn reads_the_svg_size() {
        assert_eq!(svg_size("<svg xmlns=\"x\" viewBox=\"0 0 5 6\" width=\"430\" height=\"380\">"), (430.0, 380.0));
        assert_eq!(svg_size("<svg>"), (400.0, 400.0));
    }
}
