//! The app: owns the session (node + console), the timer that drives the node, and the
//! signals the components render.

use std::time::Duration;

use leptos::prelude::*;
use replscope_console::Submitted;
use replscope_engine::Millis;

use crate::components::{ConsolePanel, NodeFacts, ServerLog, SiteFooter, SiteHeader};
use crate::session::{Facts, LogLine, Session};
use crate::transcript::Transcript;

/// Log lines kept in the side panel.
const MAX_LOG_LINES: usize = 200;
/// Even with no timer due sooner, wake up this often so the uptime keeps moving.
const MAX_SLEEP_MS: u64 = 1000;

/// Wall-clock time for the engine, which never reads a clock itself.
pub fn wall_clock() -> Millis {
    Millis(js_sys::Date::now().max(0.0) as u64)
}

fn random_seed() -> u64 {
    (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64
}

/// Everything the components need, `Copy` so closures can capture it freely.
#[derive(Clone, Copy)]
pub struct Ui {
    session: StoredValue<Session, LocalStorage>,
    timer: StoredValue<Option<TimeoutHandle>>,
    pub transcript: RwSignal<Transcript>,
    pub prompt: RwSignal<String>,
    /// The command still running (DEBUG SLEEP, SYNC), if any.
    pub pending: RwSignal<Option<String>>,
    /// redis-cli is in replica output mode (after SYNC).
    pub replica_mode: RwSignal<bool>,
    pub facts: RwSignal<Facts>,
    pub logs: RwSignal<Vec<LogLine>>,
    /// The time of the last tick, in whole seconds (for the uptime).
    pub now_secs: RwSignal<u64>,
}

impl Ui {
    fn new() -> Ui {
        let now = wall_clock();
        let session = Session::new(now, random_seed());
        let ui = Ui {
            prompt: RwSignal::new(session.prompt()),
            facts: RwSignal::new(session.facts()),
            session: StoredValue::new_local(session),
            timer: StoredValue::new(None),
            transcript: RwSignal::new(Transcript::new()),
            pending: RwSignal::new(None),
            replica_mode: RwSignal::new(false),
            logs: RwSignal::new(Vec::new()),
            now_secs: RwSignal::new(now.0 / 1000),
        };
        ui.refresh(now, true);
        ui.schedule();
        ui
    }

    /// Types a line into the console, as pressing Enter in redis-cli.
    pub fn submit(&self, line: &str) {
        if self.pending.get_untracked().is_some() {
            return;
        }
        let now = wall_clock();
        let Some((prompt, result)) = self.session.try_update_value(|s| (s.prompt(), s.submit(now, line))) else {
            return;
        };
        match result {
            Submitted::Busy => return,
            Submitted::Clear => self.transcript.update(|t| t.clear()),
            Submitted::Done(text) => self.transcript.update(|t| {
                t.push_command(&prompt, line);
                t.push_output(&text);
            }),
            Submitted::Pending(text) => {
                self.transcript.update(|t| {
                    t.push_command(&prompt, line);
                    t.push_output(&text);
                });
                self.pending.set(Some(line.to_string()));
            }
        }
        self.refresh(now, true);
        self.schedule();
    }

    /// Ctrl-C while a command runs: redis-cli stops; the next command starts a new session.
    pub fn interrupt(&self) {
        let now = wall_clock();
        if self.session.try_update_value(|s| s.interrupt(now)) == Some(true) {
            self.transcript.update(|t| t.push_note("^C: redis-cli stopped. The next command starts a new session."));
        }
        self.pending.set(None);
        self.refresh(now, true);
        self.schedule();
    }

    /// A new node in place of the current one (after SHUTDOWN).
    pub fn restart(&self) {
        let now = wall_clock();
        self.session.update_value(|s| s.restart(now, random_seed()));
        self.transcript.update(|t| t.push_note("Started a new node."));
        self.pending.set(None);
        self.refresh(now, true);
        self.schedule();
    }

    pub fn clear(&self) {
        self.transcript.update(|t| t.clear());
    }

    /// The timer fired: run the node's due timers and show what finished.
    fn tick(&self) {
        let now = wall_clock();
        let before = self.facts.with_untracked(|f| f.keys_total);
        let Some((printed, running, keys)) =
            self.session.try_update_value(|s| (s.tick(now), s.is_pending(), s.keys_total()))
        else {
            return;
        };
        let finished = !running && self.pending.get_untracked().is_some();
        if let Some(text) = printed {
            self.transcript.update(|t| t.push_output(&text));
        }
        if finished {
            self.pending.set(None);
        }
        // The digest and keyspace are worth recomputing only when something changed.
        self.refresh(now, finished || keys != before);
    }

    fn refresh(&self, now: Millis, facts: bool) {
        let Some((prompt, logs, new_facts, replica)) = self
            .session
            .try_update_value(|s| (s.prompt(), s.take_logs_at(now), facts.then(|| s.facts()), s.in_replica_mode()))
        else {
            return;
        };
        if self.replica_mode.get_untracked() != replica {
            self.replica_mode.set(replica);
        }
        if self.prompt.get_untracked() != prompt {
            self.prompt.set(prompt);
        }
        if !logs.is_empty() {
            self.logs.update(|l| {
                l.extend(logs);
                if l.len() > MAX_LOG_LINES {
                    let extra = l.len() - MAX_LOG_LINES;
                    l.drain(..extra);
                }
            });
        }
        if let Some(f) = new_facts {
            if self.facts.get_untracked() != f {
                self.facts.set(f);
            }
        }
        let secs = now.0 / 1000;
        if self.now_secs.get_untracked() != secs {
            self.now_secs.set(secs);
        }
    }

    /// Arms one timer for the node's next `poll_timeout()` and cancels the previous one.
    fn schedule(&self) {
        let now = wall_clock();
        let due = self.session.try_with_value(|s| s.next_timeout()).flatten();
        let delay = match due {
            Some(t) => t.saturating_sub(now).min(MAX_SLEEP_MS),
            None => MAX_SLEEP_MS,
        };
        let ui = *self;
        let handle = set_timeout_with_handle(
            move || {
                ui.tick();
                ui.schedule();
            },
            Duration::from_millis(delay),
        )
        .ok();
        if let Some(old) = self.timer.try_update_value(|t| std::mem::replace(t, handle)).flatten() {
            // Harmless if it already fired (it is usually the one running right now).
            old.clear();
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    let ui = Ui::new();
    provide_context(ui);
    view! {
        <div class="page">
            <SiteHeader/>
            <main class="layout">
                <ConsolePanel/>
                <aside class="side" aria-label="About this node">
                    <NodeFacts/>
                    <ServerLog/>
                </aside>
            </main>
            <SiteFooter/>
        </div>
    }
}
