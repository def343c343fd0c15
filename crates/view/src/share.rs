//! Share links: what a URL asks the page to show, and the URL for what the page shows.
//!
//! * `?scenario=NAME` names a preset; `#run=…` carries a whole scenario (topology, config, seed
//!   and every step, the user's interventions included) as base64url JSON, so a forked run
//!   replays exactly.
//! * `t=MS` (query or fragment) is the virtual time to open at.
//! * `embed=1`, `autoplay=0|1`, `panels=a,b`, `speed=X` shape an embedded view.
//!
//! Anything wrong in a URL is reported in words and the rest still applies: a bad scenario
//! falls back to the default one, a bad option keeps its default.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use replscope_sim::presets;
use replscope_sim::scenario::{Scenario, MAX_SCENARIO_BYTES};

/// Longest URL part read (a pasted link can be anything).
pub const MAX_URL_CHARS: usize = MAX_SCENARIO_BYTES * 4 / 3 + 4_096;

/// Panels an embed can show.
pub const PANELS: &[&str] = &["topology", "controls", "narration", "node", "backlog", "sync", "chart"];

#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Nothing asked: the default preset.
    Default,
    Preset(String),
    Inline(Box<Scenario>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub source: Source,
    pub time_ms: Option<u64>,
    pub embed: bool,
    /// Play on open? Unset: play, unless the link names a moment (then it opens paused there).
    pub autoplay: Option<bool>,
    /// None: all panels.
    pub panels: Option<Vec<String>>,
    pub speed: Option<f64>,
    /// What was wrong with the URL, in words (each shown to the user).
    pub problems: Vec<String>,
}

impl Default for Request {
    fn default() -> Request {
        Request { source: Source::Default, time_ms: None, embed: false, autoplay: None, panels: None, speed: None, problems: Vec::new() }
    }
}

impl Request {
    /// Shows panel `name`?
    pub fn shows(&self, name: &str) -> bool {
        self.panels.as_ref().is_none_or(|p| p.iter().any(|x| x == name))
    }

    /// Whether the run plays once opened.
    pub fn plays(&self) -> bool {
        self.autoplay.unwrap_or(self.time_ms.is_none())
    }

    /// The scenario to load (the default one if the URL's is unusable).
    pub fn scenario(&self) -> Scenario {
        match &self.source {
            Source::Inline(s) => (**s).clone(),
            Source::Preset(n) => presets::get(n).unwrap_or_else(default_scenario),
            Source::Default => default_scenario(),
        }
    }
}

pub fn default_scenario() -> Scenario {
    presets::get("default").expect("the default preset is built in and parses")
}

/// Reads `location.search` and `location.hash` (with or without their leading `?` / `#`).
pub fn parse(search: &str, hash: &str) -> Request {
    let mut r = Request::default();
    if search.len() + hash.len() > MAX_URL_CHARS {
        r.problems.push(format!("The link is too long ({} characters, at most {MAX_URL_CHARS}): showing the default scenario.", search.len() + hash.len()));
        return r;
    }
    let pairs: Vec<(String, String)> = params(search.trim_start_matches('?')).chain(params(hash.trim_start_matches('#'))).collect();
    for (k, v) in &pairs {
        match k.as_str() {
            "scenario" => match presets::get(v) {
                Some(_) => r.source = Source::Preset(v.clone()),
                None => r.problems.push(format!("There is no preset scenario named \"{}\": showing the default scenario.", clip(v))),
            },
            "run" => match decode_scenario(v) {
                Ok(s) => r.source = Source::Inline(Box::new(s)),
                Err(e) => r.problems.push(format!("The link's scenario could not be read ({e}): showing the default scenario.")),
            },
            "t" => match v.parse::<u64>() {
                Ok(t) if t <= 24 * 3600 * 1000 => r.time_ms = Some(t),
                _ => r.problems.push(format!("The time in the link (t={}) is not a number of milliseconds up to 24 h: starting at 0.", clip(v))),
            },
            "embed" => r.embed = flag(v),
            "autoplay" => r.autoplay = Some(flag(v)),
            "speed" => match v.parse::<f64>() {
                Ok(s) if (0.1..=100.0).contains(&s) => r.speed = Some(s),
                _ => r.problems.push(format!("The speed in the link ({}) must be between 0.1 and 100.", clip(v))),
            },
            "panels" => {
                let (known, unknown): (Vec<String>, Vec<String>) = v.split(',').map(|p| p.trim().to_ascii_lowercase()).filter(|p| !p.is_empty()).partition(|p| PANELS.contains(&p.as_str()));
                if !unknown.is_empty() {
                    r.problems.push(format!("Unknown panel(s) in the link: {} (known: {}).", clip(&unknown.join(", ")), PANELS.join(", ")));
                }
                r.panels = Some(known);
            }
            _ => {}
        }
    }
    r
}

/// The query and fragment for a run: a preset by name when its steps are untouched, else the
/// whole scenario inline.
pub fn link_for(scenario: &Scenario, time_ms: u64) -> String {
    match presets::get(&scenario.name) {
        Some(p) if &p == scenario => format!("?scenario={}&t={time_ms}", scenario.name),
        _ => format!("#run={}&t={time_ms}", encode_scenario(scenario)),
    }
}

/// The same link without its embed options (an embed's "open full view").
pub fn without_embed(search: &str, hash: &str) -> String {
    let keep = |part: &str| -> String {
        part.split('&').filter(|p| !p.is_empty()).filter(|p| !["embed", "panels", "autoplay"].contains(&p.split('=').next().unwrap_or(""))).collect::<Vec<_>>().join("&")
    };
    let (q, h) = (keep(search.trim_start_matches('?')), keep(hash.trim_start_matches('#')));
    let mut out = String::new();
    if !q.is_empty() {
        out = format!("?{q}");
    }
    if !h.is_empty() {
        out.push('#');
        out.push_str(&h);
    }
    out
}

pub fn encode_scenario(s: &Scenario) -> String {
    let json = serde_json::to_string(s).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json.as_bytes())
}

pub fn decode_scenario(text: &str) -> Result<Scenario, String> {
    let text = text.trim().trim_end_matches('=');
    let bytes = URL_SAFE_NO_PAD.decode(text.as_bytes()).map_err(|e| format!("not base64url: {e}"))?;
    if bytes.len() > MAX_SCENARIO_BYTES {
        return Err(format!("{} bytes, at most {MAX_SCENARIO_BYTES}", bytes.len()));
    }
    let json = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    if !json.trim_start().starts_with('{') {
        return Err("not a JSON scenario".into());
    }
    Scenario::parse(&json).map_err(|e| e.0)
}

fn flag(v: &str) -> bool {
    matches!(v, "1" | "true" | "yes" | "on" | "")
}

/// `a=1&b=2` pairs, percent-decoded (bad escapes are kept as typed).
fn params(s: &str) -> impl Iterator<Item = (String, String)> + '_ {
    s.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (percent_decode(k), percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// At most 60 characters of something the user typed, for a message.
fn clip(s: &str) -> String {
    let mut c: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        c.push('…');
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use replscope_sim::scenario::{Action, Step};

    #[test]
    fn nothing_asked_is_the_default_scenario_playing() {
        let r = parse("", "");
        assert_eq!(r, Request::default());
        assert_eq!(r.scenario().name, "default");
        assert!(r.shows("chart"));
    }

    #[test]
    fn a_preset_with_a_time_and_embed_options() {
        let r = parse("?scenario=failover&t=12000&embed=1&autoplay=0&panels=topology,chart&speed=2", "");
        assert_eq!(r.source, Source::Preset("failover".into()));
        assert_eq!((r.time_ms, r.embed, r.autoplay, r.speed), (Some(12_000), true, Some(false), Some(2.0)));
        assert!(!r.plays());
        assert!(!parse("?t=5", "").plays(), "a moment opens paused");
        assert!(parse("?t=5&autoplay=1", "").plays());
        assert!(parse("", "").plays());
        assert!(r.shows("chart") && !r.shows("node"));
        assert!(r.problems.is_empty());
    }

    #[test]
    fn an_untouched_preset_links_by_name_and_a_forked_run_inline() {
        let s = presets::get("cascade").unwrap();
        assert_eq!(link_for(&s, 5_000), "?scenario=cascade&t=5000");
        let mut forked = s.clone();
        forked.steps.push(Step { at: 7_000, say: None, action: Action::Crash { node: "r1".into() } });
        let link = link_for(&forked, 8_000);
        assert!(link.starts_with("#run="));
        let (search, hash) = ("", link.as_str());
        let r = parse(search, hash);
        assert_eq!(r.source, Source::Inline(Box::new(forked)));
        assert_eq!(r.time_ms, Some(8_000));
    }

    #[test]
    fn bad_links_say_what_is_wrong_and_fall_back() {
        let r = parse("?scenario=%3Cimg%20src%3Dx%3E&t=soon&speed=1000&panels=topology,evil", "");
        assert_eq!(r.source, Source::Default);
        assert_eq!(r.time_ms, None);
        assert_eq!(r.problems.len(), 4, "{:?}", r.problems);
        assert!(r.problems[0].contains("no preset scenario named \"<img src=x>\""));
        assert_eq!(r.panels, Some(vec!["topology".to_string()]));
        let r = parse("", "#run=!!!notbase64");
        assert!(r.problems[0].starts_with("The link's scenario could not be read (not base64url"), "{:?}", r.problems);
        let truncated = &encode_scenario(&presets::get("cascade").unwrap())[..100];
        let r = parse("", &format!("#run={truncated}"));
        assert_eq!(r.source, Source::Default);
        assert!(r.problems[0].contains("could not be read"), "{:?}", r.problems);
        let huge = "a".repeat(MAX_URL_CHARS + 1);
        assert!(parse(&huge, "").problems[0].starts_with("The link is too long"));
        let not_json = URL_SAFE_NO_PAD.encode(b"name = 'x'");
        assert!(parse("", &format!("#run={not_json}")).problems[0].contains("not a JSON scenario"));
    }

    #[test]
    fn the_full_view_drops_only_embed_options() {
        assert_eq!(without_embed("?scenario=cascade&embed=1&panels=topology&t=5", ""), "?scenario=cascade&t=5");
        assert_eq!(without_embed("?embed=1", "#run=abc&autoplay=0"), "#run=abc");
        assert_eq!(without_embed("", ""), "");
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%e2%9c%93"), "✓");
    }
}
