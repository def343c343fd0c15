//! Bytes in flight, read from the trace: each `Sent` is a message that travels until the
//! `Delivered` entries for its connection and direction have covered its bytes (TCP keeps them
//! in order, so deliveries consume sends first in, first out).

use std::collections::{BTreeMap, VecDeque};

use replscope_sim::{LinkConfig, Payload, TraceEntry, TraceKind};

use crate::frame::MessageView;

/// How far back a rebuild looks for sends still travelling (a cut link can hold bytes longer;
/// those reappear when their delivery shows up... or not: a rebuild is only after a jump).
pub const REBUILD_WINDOW_MS: u64 = 60_000;

#[derive(Clone, Debug)]
struct Flight {
    id: usize,
    conn: u64,
    from: String,
    to: String,
    payload: Payload,
    bytes: usize,
    delivered: usize,
    sent_at: u64,
    /// When the last of it arrived.
    done_at: Option<u64>,
    preview: String,
    /// For a thinned kind (see `thinned`): when the previous one on the same connection and
    /// direction was sent (None for the first seen).
    prev_sent_at: Option<u64>,
}

/// Kinds that come in floods under load (the replication stream, a client's commands): drawn
/// one per `spacing_ms` per link at most. Everything else (handshakes, acks, pings, RDB
/// chunks) is always drawn.
fn thinned(p: &Payload) -> bool {
    matches!(p, Payload::Stream | Payload::Client)
}

/// The thinning window a send at `at` falls in. Windows start a sixth of the way into each
/// `spacing_ms` (a sixth of a wall tenth of a second is one animation frame): the servers'
/// cron runs on whole tenths of a second, and a frame that also created a dot on every link
/// was the slowest in six. The panels that follow the coarse tick take other sixths.
pub fn window_of(at: u64, spacing_ms: u64) -> u64 {
    (at + spacing_ms - spacing_ms / 6) / spacing_ms
}

/// Follows the trace incrementally and knows what travels at the current time.
///
/// Positions in the trace are entry numbers of the run (`World::trace_base() + i` for
/// `trace()[i]`), so forgetting the trace's beginning moves nothing here: a message keeps its
/// id (the UI's key) and the follower its place.
#[derive(Clone, Debug, Default)]
pub struct Flights {
    /// Trace entries consumed so far (an entry number of the run).
    cursor: usize,
    /// Sends not yet fully delivered, per (connection, receiver), oldest first.
    open: BTreeMap<(u64, String), VecDeque<Flight>>,
    /// Fully delivered recently, for a short fade at the receiver.
    landed: VecDeque<Flight>,
    /// The last thinned-kind send per (connection, receiver): when it was sent.
    last_thinned: BTreeMap<(u64, String), u64>,
}

impl Flights {
    /// Starts following at trace index `from` (0 for a whole run).
    pub fn starting_at(from: usize) -> Flights {
        Flights { cursor: from, ..Flights::default() }
    }

    /// Rebuilds for a trace seen from scratch (after a jump): only the last minute matters.
    /// `base`: the entry number of `trace[0]`.
    pub fn rebuild(trace: &[TraceEntry], base: usize, now: u64) -> Flights {
        let start = trace.partition_point(|e| e.at + REBUILD_WINDOW_MS < now);
        let mut f = Flights::starting_at(base + start);
        f.follow(trace, base, now);
        f
    }

    /// Where this follower stands in the trace (a shorter trace means the history changed).
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Consumes new trace entries; `base` is the entry number of `trace[0]`. `now` bounds how
    /// long landed messages are remembered.
    pub fn follow(&mut self, trace: &[TraceEntry], base: usize, now: u64) {
        for (i, e) in trace.iter().enumerate().skip(self.cursor.saturating_sub(base)) {
            let i = base + i;
            match &e.kind {
                TraceKind::Sent { conn, from, to, bytes, payload, preview } => {
                    let prev_sent_at = if thinned(payload) { self.last_thinned.insert((*conn, to.clone()), e.at) } else { None };
                    let f = Flight {
                        id: i,
                        conn: *conn,
                        from: from.clone(),
                        to: to.clone(),
                        payload: payload.clone(),
                        bytes: *bytes,
                        delivered: 0,
                        sent_at: e.at,
                        done_at: None,
                        preview: preview.clone(),
                        prev_sent_at,
                    };
                    self.open.entry((*conn, to.clone())).or_default().push_back(f);
                }
                TraceKind::Delivered { conn, to, bytes } => self.deliver(*conn, to, *bytes, e.at),
                // A reset loses what was on the wire; a close is followed by nothing new.
                TraceKind::Closed { conn, .. } => {
                    self.open.retain(|(c, _), _| c != conn);
                    self.last_thinned.retain(|(c, _), _| c != conn);
                }
                TraceKind::NodeCrashed { node } => self.open.retain(|_, q| q.front().is_none_or(|f| &f.from != node && &f.to != node)),
                _ => {}
            }
        }
        self.cursor = self.cursor.max(base + trace.len());
        // Landed messages are kept 10 s of virtual time at most (the UI fades them far sooner).
        while self.landed.front().is_some_and(|f| f.done_at.unwrap_or(0) + 10_000 < now) {
            self.landed.pop_front();
        }
        self.open.retain(|_, q| !q.is_empty());
    }

    fn deliver(&mut self, conn: u64, to: &str, mut bytes: usize, at: u64) {
        let Some(q) = self.open.get_mut(&(conn, to.to_string())) else { return };
        while bytes > 0 {
            let Some(head) = q.front_mut() else { return };
            let take = bytes.min(head.bytes - head.delivered);
            head.delivered += take;
            bytes -= take;
            if head.delivered == head.bytes {
                let Some(mut done) = q.pop_front() else { return };
                done.done_at = Some(at);
                self.landed.push_back(done);
                if self.landed.len() > 2_000 {
                    self.landed.pop_front();
                }
            }
        }
    }

    /// The messages to draw at `now`: those travelling, and those landed less than `linger_ms`
    /// ago (progress 1.0). `link` gives the settings between two nodes (latency, bandwidth,
    /// cut), which tell how far the head of a message has got. At most `max` are returned,
    /// the most recent ones. `spacing_ms` thins floods: of the stream (or client) sends on one
    /// connection and direction, only the first in each `spacing_ms` window of send time is
    /// drawn (0 draws them all). The choice depends only on send times, so a drawn message
    /// stays drawn for its whole flight whatever else comes and goes.
    pub fn at(&self, now: u64, linger_ms: u64, max: usize, spacing_ms: u64, link: &dyn Fn(&str, &str) -> LinkConfig) -> Vec<MessageView> {
        let shown = |f: &Flight| {
            f.sent_at <= now
                && (spacing_ms <= 1 || !thinned(&f.payload) || f.prev_sent_at.is_none_or(|p| window_of(p, spacing_ms) != window_of(f.sent_at, spacing_ms)))
        };
        // Chosen first, copied last: under load thousands travel and only `max` are drawn.
        let mut out: Vec<(&Flight, f64, bool)> = Vec::new();
        for f in self.landed.iter().filter(|f| f.done_at.unwrap_or(0) + linger_ms > now && shown(f)) {
            out.push((f, 1.0, false));
        }
        for q in self.open.values() {
            let mut cfg: Option<LinkConfig> = None;
            for f in q.iter().filter(|f| shown(f)) {
                // One connection and receiver: one sender, one link.
                let cfg = cfg.get_or_insert_with(|| link(&f.from, &f.to));
                let progress = head_progress(f.sent_at, now, cfg.latency_ms);
                out.push((f, if cfg.cut { progress.min(0.5) } else { progress }, cfg.cut));
            }
        }
        out.sort_unstable_by_key(|(f, _, _)| f.id);
        if out.len() > max {
            out.drain(..out.len() - max);
        }
        out.into_iter().map(|(f, progress, held)| view(f, progress, held)).collect()
    }
}

/// How far the first byte has travelled: it arrives after the link's latency. Capped just
/// short of the receiver while bytes are still owed (queued behind a big transfer).
pub fn head_progress(sent_at: u64, now: u64, latency_ms: u64) -> f64 {
    let elapsed = now.saturating_sub(sent_at) as f64;
    (elapsed / latency_ms.max(1) as f64).min(0.97)
}

fn view(f: &Flight, progress: f64, held: bool) -> MessageView {
    MessageView {
        id: f.id,
        conn: f.conn,
        from: f.from.clone(),
        to: f.to.clone(),
        payload: f.payload.clone(),
        bytes: f.bytes,
        delivered: f.delivered,
        progress,
        held,
        sent_at: f.sent_at,
        preview: f.preview.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(at: u64, conn: u64, bytes: usize, payload: Payload) -> TraceEntry {
        TraceEntry { at, kind: TraceKind::Sent { conn, from: "m".into(), to: "r".into(), bytes, payload, preview: "x".into() } }
    }

    fn delivered(at: u64, conn: u64, bytes: usize) -> TraceEntry {
        TraceEntry { at, kind: TraceKind::Delivered { conn, to: "r".into(), bytes } }
    }

    fn lat(ms: u64) -> impl Fn(&str, &str) -> LinkConfig {
        move |_, _| LinkConfig { latency_ms: ms, ..LinkConfig::default() }
    }

    #[test]
    fn a_message_travels_then_lands_and_lingers() {
        let trace = vec![sent(100, 1, 40, Payload::Stream)];
        let mut f = Flights::default();
        f.follow(&trace, 0, 100);
        let m = f.at(150, 0, 100, 0, &lat(100));
        assert_eq!(m.len(), 1);
        assert!((m[0].progress - 0.5).abs() < 1e-9);
        assert_eq!(m[0].delivered, 0);
        let trace = vec![sent(100, 1, 40, Payload::Stream), delivered(200, 1, 40)];
        f.follow(&trace, 0, 200);
        assert_eq!(f.at(250, 100, 100, 0, &lat(100))[0].progress, 1.0);
        assert!(f.at(301, 100, 100, 0, &lat(100)).is_empty(), "gone after lingering");
    }

    #[test]
    fn deliveries_consume_sends_in_order_and_count_partial_progress() {
        let trace = vec![sent(0, 1, 100, Payload::RdbChunk), sent(1, 1, 10, Payload::Stream), delivered(5, 1, 60), delivered(6, 1, 45)];
        let mut f = Flights::default();
        f.follow(&trace, 0, 6);
        let m = f.at(6, 0, 100, 0, &lat(5));
        assert_eq!(m.len(), 1, "the RDB chunk landed; the stream bytes are half there");
        assert_eq!((m[0].payload.clone(), m[0].delivered, m[0].bytes), (Payload::Stream, 5, 10));
    }

    #[test]
    fn a_reset_drops_what_was_on_the_wire_and_a_cut_holds_it() {
        let mut trace = vec![sent(0, 1, 10, Payload::Stream), sent(0, 2, 10, Payload::Ack)];
        let mut f = Flights::default();
        f.follow(&trace, 0, 0);
        let cut = |_: &str, _: &str| LinkConfig { cut: true, latency_ms: 10, ..LinkConfig::default() };
        let m = f.at(100, 0, 100, 0, &cut);
        assert!(m.iter().all(|m| m.held && m.progress <= 0.5));
        trace.push(TraceEntry { at: 1, kind: TraceKind::Closed { conn: 1, by: "reset".into() } });
        f.follow(&trace, 0, 1);
        assert_eq!(f.at(1, 0, 100, 0, &lat(1)).iter().map(|m| m.conn).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn a_rebuild_after_a_jump_sees_the_same_messages() {
        let trace = vec![sent(0, 1, 10, Payload::Stream), delivered(1, 1, 10), sent(70_000, 1, 5, Payload::Ping)];
        let mut straight = Flights::default();
        straight.follow(&trace, 0, 70_000);
        let rebuilt = Flights::rebuild(&trace, 0, 70_000);
        assert_eq!(straight.at(70_000, 0, 10, 0, &lat(1)), rebuilt.at(70_000, 0, 10, 0, &lat(1)));
        assert_eq!(rebuilt.cursor(), 3);
    }

    #[test]
    fn only_the_most_recent_messages_are_kept() {
        let trace: Vec<_> = (0..10).map(|i| sent(i, 1, 1, Payload::Stream)).collect();
        let mut f = Flights::default();
        f.follow(&trace, 0, 10);
        let m = f.at(10, 0, 3, 0, &lat(100));
        assert_eq!(m.iter().map(|m| m.id).collect::<Vec<_>>(), vec![7, 8, 9]);
    }

    #[test]
    fn a_flood_of_stream_sends_is_thinned_to_one_per_window_and_the_choice_holds() {
        // A command every ms on one link, an ack and a ping among them.
        let mut trace: Vec<_> = (0..40).map(|i| sent(i, 1, 10, Payload::Stream)).collect();
        trace.push(sent(15, 1, 10, Payload::Ping));
        trace.push(sent(16, 2, 10, Payload::Stream));
        let mut f = Flights::default();
        f.follow(&trace, 0, 40);
        let ids = |m: &[MessageView]| m.iter().map(|m| m.id).collect::<Vec<_>>();
        let m = f.at(40, 0, 100, 10, &lat(100));
        // Windows of 10 ms start at 1, 11, 21, 31: the first send (at 0) and the sends at 1,
        // 11, 21 and 31 lead them; the ping and the other connection's first send are always
        // drawn.
        assert_eq!(ids(&m), vec![0, 1, 11, 21, 31, 40, 41]);
        // Later sends and deliveries do not change which ones are drawn.
        trace.extend((40..60).map(|i| sent(i, 1, 10, Payload::Stream)));
        trace.push(delivered(60, 1, 10 * 5));
        f.follow(&trace, 0, 60);
        let m = f.at(60, 100, 100, 10, &lat(100));
        // The sends at 41 and 51 are entries 43 and 53.
        assert_eq!(ids(&m), vec![0, 1, 11, 21, 31, 40, 41, 43, 53]);
        assert_eq!(m[0].progress, 1.0, "the first send landed and lingers");
        // Spacing 0 draws them all.
        assert_eq!(f.at(60, 100, 1_000, 0, &lat(100)).len(), 62);
    }

    #[test]
    fn thinning_windows_start_a_sixth_into_each_tenth_of_a_second() {
        assert_eq!(window_of(15, 100), 0);
        assert_eq!(window_of(16, 100), window_of(115, 100));
        assert_ne!(window_of(115, 100), window_of(116, 100));
        assert_eq!(window_of(0, 100), window_of(15, 100), "a whole tenth (the servers' cron) is inside a window");
        assert_ne!(window_of(4, 5), window_of(5, 5), "short windows still advance");
    }

    #[test]
    fn forgetting_the_trace_beginning_keeps_ids_and_flights() {
        let trace = vec![sent(0, 1, 10, Payload::Stream), sent(1, 1, 10, Payload::Ack), sent(2, 1, 10, Payload::Ping), delivered(3, 1, 10)];
        let mut f = Flights::default();
        f.follow(&trace, 0, 3);
        let before = f.at(3, 100, 100, 0, &lat(100));
        // The first two entries are forgotten: the slice now starts at entry 2.
        let mut kept = trace[2..].to_vec();
        f.follow(&kept, 2, 3);
        assert_eq!(f.at(3, 100, 100, 0, &lat(100)), before, "nothing moved");
        kept.push(sent(4, 1, 10, Payload::Stream));
        f.follow(&kept, 2, 4);
        let m = f.at(4, 100, 100, 0, &lat(100));
        assert_eq!(m.iter().map(|m| m.id).collect::<Vec<_>>(), vec![0, 1, 2, 4], "a new send is named by its entry number");
        assert_eq!(f.cursor(), 5);
        assert_eq!(Flights::rebuild(&kept, 2, 4).cursor(), 5);
    }
}
