//! Play, pause, step, speed, the timeline scrubber and the clock.

use leptos::prelude::*;
use replscope_view::fmt::seconds;

use crate::sim_ctl::{SimCtl, SPEEDS};

/// "0.1×", "1×", "100×".
pub fn speed_label(s: f64) -> String {
    if s < 1.0 {
        format!("{s}×")
    } else {
        format!("{}×", s as u64)
    }
}

#[component]
pub fn Controls() -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    // While playing the clock and the scrubber follow the coarse tick (about ten times a wall
    // second), not every frame; paused, stepping or seeking they show every change at once.
    let tick = super::chart::coarse_tick(ctl, super::chart::TickPhase::NodesAndClock);
    let shown = Memo::new(move |_| {
        let _ = tick.get();
        (ctl.time.get_untracked(), ctl.frontier.get_untracked())
    });
    let time = move || shown.get().0;
    let frontier = move || shown.get().1;
    let on_speed = move |ev: leptos::ev::Event| {
        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
            ctl.speed.set(v);
        }
    };
    let on_scrub = move |ev: leptos::ev::Event| {
        if let Ok(t) = event_target_value(&ev).parse::<u64>() {
            ctl.seek(t);
        }
    };
    view! {
        <section class="controls" aria-label="Playback">
            <button class="primary play" data-testid="play" aria-keyshortcuts="Space"
                aria-label=move || if ctl.playing.get() { "Pause" } else { "Play" }
                on:click=move |_| ctl.toggle_play()>
                {move || if ctl.playing.get() { "❚❚ Pause" } else { "▶ Play" }}
            </button>
            <button class="ghost" data-testid="step" aria-label="Step to the next event" aria-keyshortcuts="ArrowRight"
                on:click=move |_| ctl.step()>"Step ›"</button>
            <label class="speed">
                <span>"Speed"</span>
                <select data-testid="speed" aria-label="Speed" on:change=on_speed
                    prop:value=move || ctl.speed.get().to_string()>
                    {SPEEDS.iter().map(|s| view! { <option value=s.to_string()>{speed_label(*s)}</option> }).collect_view()}
                </select>
            </label>
            <label class="scrubber">
                <span class="sr-only">"Time"</span>
                <input type="range" step="1"
                    prop:min=move || ctl.earliest.get().to_string() data-testid="timeline" aria-label="Timeline: virtual time"
                    prop:max=move || frontier().max(1).to_string()
                    prop:value=move || time().to_string()
                    aria-valuetext=move || seconds(time())
                    on:input=on_scrub/>
            </label>
            <output class="clock mono" data-testid="clock" aria-live="off">
                {move || seconds(time())}
                <span class="sub">{move || format!(" / {}", seconds(frontier()))}</span>
            </output>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::speed_label;

    #[test]
    fn speeds_read_naturally() {
        assert_eq!(speed_label(0.1), "0.1×");
        assert_eq!(speed_label(0.25), "0.25×");
        assert_eq!(speed_label(1.0), "1×");
        assert_eq!(speed_label(100.0), "100×");
    }
}
