//! A preset's story: its title, the step just played, and buttons to the previous and next
//! narrated steps (the next one may lie beyond what has been computed: it is played to).

use leptos::prelude::*;
use replscope_view::fmt::seconds;
use replscope_view::frame::Narration as Story;

use crate::sim_ctl::SimCtl;

/// The steps shown as one: the current step and any narrated at the same moment, its
/// position "i of n" counted in distinct moments, and the times to go back and forward to.
#[derive(Clone, Debug, PartialEq)]
pub struct Place {
    pub text: String,
    /// 1-based moment index (0 before the first), and the number of moments.
    pub index: usize,
    pub count: usize,
    pub prev: Option<u64>,
    pub next: Option<u64>,
}

/// Further than this past a step, "previous" replays it rather than going to the one before.
const REPLAY_MS: u64 = 1_500;

pub fn place(story: &Story, now: u64) -> Place {
    let mut moments: Vec<u64> = story.steps.iter().map(|(t, _)| *t).collect();
    moments.dedup();
    let current = story.current.map(|i| story.steps[i.min(story.steps.len().saturating_sub(1))].0);
    let index = current.and_then(|t| moments.iter().position(|m| *m == t)).map(|i| i + 1).unwrap_or(0);
    let text = match current {
        Some(t) => story.steps.iter().filter(|(at, _)| *at == t).map(|(_, s)| s.as_str()).collect::<Vec<_>>().join(" "),
        None => story.description.clone(),
    };
    // Back: to the start of the current step if well past it, else to the one before.
    let prev = match current {
        Some(t) if now > t + REPLAY_MS => Some(t),
        Some(_) if index >= 2 => Some(moments[index - 2]),
        Some(_) => Some(0).filter(|_| now > 0),
        None => None,
    };
    let next = moments.iter().copied().find(|m| *m > now);
    Place { text, index, count: moments.len(), prev, next }
}

#[component]
pub fn Narration() -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    let story = Memo::new(move |_| ctl.narration.with(|n| (n.steps.len(), n.current, n.title.clone())));
    // Follows the coarse tick, not every frame (the exact time when paused).
    let tick = super::chart::coarse_tick(ctl, super::chart::TickPhase::NodesAndClock);
    let at = Memo::new(move |_| {
        tick.track();
        ctl.narration.with(|n| place(n, ctl.time.get_untracked()))
    });
    let go = move |t: u64| {
        let (now, frontier) = ctl.frame.with_untracked(|f| (f.time_ms, f.frontier_ms));
        if t > frontier {
            ctl.nudge(t as i64 - now as i64);
        } else {
            ctl.seek(t);
        }
    };
    view! {
        <Show when=move || story.with(|s| s.0 > 0)>
            <section class="narration" data-testid="narration" aria-labelledby="narration-title">
                <div class="narration-head">
                    <h2 id="narration-title">{move || story.with(|s| s.2.clone())}</h2>
                    <span class="sub step-count">{move || at.with(|p| if p.index == 0 { format!("{} steps", p.count) } else { format!("step {} of {}", p.index, p.count) })}</span>
                </div>
                <p class="narration-text" data-testid="narration-text" aria-live="polite">{move || at.with(|p| p.text.clone())}</p>
                <div class="narration-nav">
                    <button class="ghost" data-testid="narration-prev" disabled=move || at.with(|p| p.prev.is_none())
                        aria-label=move || at.with(|p| p.prev.map(|t| format!("Previous step (to {})", seconds(t))).unwrap_or_else(|| "Previous step".into()))
                        on:click=move |_| if let Some(t) = at.with_untracked(|p| p.prev) { go(t) }>"← Previous"</button>
                    <button class="ghost" data-testid="narration-next" disabled=move || at.with(|p| p.next.is_none())
                        aria-label=move || at.with(|p| p.next.map(|t| format!("Next step (at {})", seconds(t))).unwrap_or_else(|| "Next step".into()))
                        on:click=move |_| if let Some(t) = at.with_untracked(|p| p.next) { go(t) }>"Next →"</button>
                </div>
            </section>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn story(current: Option<usize>) -> Story {
        Story {
            title: "t".into(),
            description: "d".into(),
            current,
            text: String::new(),
            steps: vec![(1_000, "a".into()), (1_500, "b".into()), (1_500, "c".into()), (4_000, "e".into())],
        }
    }

    #[test]
    fn before_the_first_step_the_description_shows_and_next_goes_to_it() {
        let p = place(&story(None), 0);
        assert_eq!((p.text.as_str(), p.index, p.count, p.prev, p.next), ("d", 0, 3, None, Some(1_000)));
    }

    #[test]
    fn steps_at_one_moment_read_as_one() {
        let p = place(&story(Some(2)), 1_500);
        assert_eq!((p.text.as_str(), p.index), ("b c", 2));
        assert_eq!((p.prev, p.next), (Some(1_000), Some(4_000)));
    }

    #[test]
    fn past_a_step_previous_replays_it_and_the_last_has_no_next() {
        let p = place(&story(Some(3)), 9_000);
        assert_eq!((p.index, p.prev, p.next), (3, Some(4_000), None));
        let p = place(&story(Some(3)), 4_500);
        assert_eq!(p.prev, Some(1_500), "just after a step, previous goes to the one before");
        let p = place(&story(Some(0)), 1_000);
        assert_eq!(p.prev, Some(0), "the first step goes back to the start");
    }
}
