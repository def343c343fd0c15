//! A `Run` over real presets: what the frame says matches what the simulator did.

use replscope_sim::presets;
use replscope_sim::scenario::Action;
use replscope_sim::Payload;
use replscope_view::frame::NodeState;
use replscope_view::Run;

fn run(name: &str) -> Run {
    Run::new(presets::get(name).expect("preset"))
}

#[test]
fn the_default_scenario_draws_a_master_above_two_streaming_replicas() {
    let mut r = run("default");
    r.advance(5_000);
    let f = r.frame(0);
    assert_eq!(f.time_ms, 5_000);
    let m = f.node("master").unwrap();
    assert_eq!(m.role, "master");
    for name in ["r1", "r2"] {
        let n = f.node(name).unwrap();
        assert_eq!((n.role.as_str(), n.link_state.as_str(), n.master.as_deref()), ("replica", "connected", Some("master")));
        assert!(n.y > m.y, "replicas are drawn below their master");
        assert_eq!(n.replid, m.replid);
        assert!(n.slave_repl_offset.unwrap() <= m.master_repl_offset);
    }
    assert_eq!(f.edges.len(), 2);
    assert!(f.edges.iter().all(|e| e.up && !e.cut && e.latency_ms == 50));
    let b = &f.backlogs[0];
    assert_eq!((b.node.as_str(), b.first_byte_offset, b.last_offset), ("master", 1, m.master_repl_offset));
    assert_eq!(b.acks.len(), 2);
    // Under load with 50 ms links, something is always on the wire.
    r.advance(37);
    let f = r.frame(0);
    assert!(f.messages.iter().any(|x| x.payload == Payload::Stream && x.from == "master"), "{:?}", f.messages);
    assert!(f.messages.iter().all(|x| x.progress >= 0.0 && x.progress < 1.0));
    // The two first syncs were full, and said so.
    assert_eq!(f.decisions.len(), 2);
    assert!(f.decisions.iter().all(|d| !d.partial && d.text.ends_with("full resync")), "{:?}", f.decisions);
    assert_eq!(f.narration.current, Some(1));
}

#[test]
fn a_reconnect_within_the_backlog_is_explained_as_partial() {
    let mut r = run("partial-resync");
    r.advance(20_000);
    let f = r.frame(0);
    let partial: Vec<_> = f.decisions.iter().filter(|d| d.partial).collect();
    assert!(!partial.is_empty(), "{:?}", f.decisions);
    assert!(partial[0].text.contains("partial resync"), "{}", partial[0].text);
    assert!(partial[0].text.contains("the backlog holds 1–"), "{}", partial[0].text);
}

#[test]
fn an_overrun_backlog_is_explained_as_full() {
    let mut r = run("backlog-overrun");
    r.advance(60_000);
    let f = r.frame(0);
    assert!(
        f.decisions.iter().any(|d| !d.partial && d.text.contains("asked for") && d.text.contains("the backlog holds")),
        "{:?}",
        f.decisions
    );
}

#[test]
fn jumping_back_shows_what_was_shown_then() {
    let mut r = run("default");
    r.advance(3_000);
    let then = r.frame(100);
    r.advance(4_000);
    assert_ne!(r.frame(100).nodes, then.nodes);
    r.seek(3_000);
    let again = r.frame(100);
    assert_eq!(again.nodes, then.nodes);
    assert_eq!(again.messages, then.messages);
    assert_eq!(again.decisions, then.decisions);
    assert_eq!(again.frontier_ms, 7_000);
    // The chart keeps the whole history but draws only the past of the moment shown.
    assert_eq!(r.history().until(3_000).last().unwrap().at, 3_000);
    assert_eq!(r.history().last_time(), Some(7_000));
}

#[test]
fn an_intervention_in_the_past_forks_the_run() {
    let mut r = run("default");
    r.advance(6_000);
    r.seek(4_000);
    r.act(Action::Crash { node: "r2".into() }).unwrap();
    assert_eq!(r.frontier(), 4_000);
    assert_eq!(r.history().last_time(), Some(4_000));
    let f = r.frame(0);
    assert_eq!(f.node("r2").unwrap().state, NodeState::Down);
    assert_eq!(f.node("r2").unwrap().master.as_deref(), Some("master"), "a crashed replica stays under its master");
    assert_eq!(r.history().faults().last().unwrap().label, "r2 crashed");
    r.advance(2_000);
    let f = r.frame(0);
    assert_eq!(f.node("master").unwrap().replicas.len(), 1);
    assert!(r.act(Action::Crash { node: "nope".into() }).is_err());
}

#[test]
fn a_console_command_is_an_intervention_and_a_peek_is_not() {
    let mut r = run("default");
    r.advance(3_000);
    let before = r.world().trace_hash();
    let reply = r.peek("r1", "ROLE");
    assert!(matches!(reply, Some(replscope_engine::Frame::Array(_))));
    assert_eq!(r.world().trace_hash(), before, "peeking leaves the run alone");
    let reply = r.act(Action::Command { node: "master".into(), line: "SET hello world".into(), track: None }).unwrap();
    assert_eq!(reply, Some(replscope_engine::Frame::Simple("OK".into())));
    r.advance(500);
    assert_eq!(r.peek("r2", "GET hello"), Some(replscope_engine::Frame::Bulk(b"world".to_vec())));
}

#[test]
fn stepping_stops_at_the_next_event() {
    let mut r = run("default");
    r.advance(2_000);
    let len = r.world().trace().len();
    let t = r.step_event(10_000);
    assert!(t > 2_000 && t < 2_200, "{t}");
    assert!(r.world().trace().len() > len);
}

#[test]
fn a_forked_run_replays_exactly_from_its_replayable_scenario() {
    let mut r = run("default");
    r.advance(3_037);
    r.act(Action::Crash { node: "r2".into() }).unwrap();
    r.advance(1_911);
    r.act(Action::Command { node: "master".into(), line: "SET shared link".into(), track: None }).unwrap();
    r.advance(2_222);
    r.seek(5_000);
    r.act(Action::Restart { node: "r2".into(), empty: false }).unwrap();
    r.advance(3_333);
    let s = r.replayable();
    let json = s.to_json();
    let back = replscope_sim::Scenario::parse(&json).unwrap();
    let mut again = Run::new(back);
    again.advance(r.time());
    assert_eq!(again.time(), r.time());
    assert_eq!(again.world().trace_hash(), r.world().trace_hash());
    assert_eq!(again.frame(0).nodes, r.frame(0).nodes);
}

#[test]
fn a_long_run_forgets_its_beginning_and_stays_exact() {
    let mut r = run("default");
    r.set_trace_budget(1_000);
    let mut straight = run("default");
    for _ in 0..20 {
        r.advance(1_000);
        assert!(r.world().trace().len() <= 1_000 + 1_000, "{}", r.world().trace().len());
    }
    assert!(r.earliest() > 0, "the beginning was forgotten");
    straight.advance(20_000);
    assert_eq!(r.frame(0).nodes, straight.frame(0).nodes);
    // The chart and the timeline start at the window; a jump before it lands on it.
    assert!(r.history().samples()[0].at >= r.earliest());
    r.seek(0);
    assert_eq!(r.time(), r.earliest());
    let f = r.frame(0);
    assert_eq!(f.node("r1").unwrap().master.as_deref(), Some("master"), "who replicates from whom survives forgetting");
    // A share link still replays the whole run: the steps are all kept.
    assert_eq!(r.replayable(), straight.replayable());
}

#[test]
fn info_read_in_place_equals_the_reply_to_info_replication() {
    let mut r = run("default");
    r.advance(4_000);
    for node in ["master", "r1", "r2"] {
        let Some(replscope_engine::Frame::Bulk(reply)) = r.peek(node, "INFO replication") else { panic!("no INFO reply") };
        assert_eq!(r.info(node, "replication").unwrap(), String::from_utf8(reply).unwrap());
    }
    r.act(Action::Crash { node: "r2".into() }).unwrap();
    assert_eq!(r.info("r2", "replication"), None);
}

#[test]
fn messages_in_flight_survive_forgetting_the_beginning() {
    let mut r = run("default");
    r.set_trace_budget(1_000);
    let mut straight = run("default");
    for _ in 0..24 {
        r.advance(1_000);
        straight.advance(1_000);
        // Message ids are entry numbers of the run: the same whether or not the beginning of
        // the trace was forgotten.
        assert_eq!(r.frame_spaced(200, 0).messages, straight.frame_spaced(200, 0).messages, "at {}", r.time());
    }
    assert!(r.earliest() > 0, "the beginning was forgotten");
}
