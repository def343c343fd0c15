//! The topology as a standalone SVG document for slides: the same layout and geometry as the
//! page, with colours written in (no stylesheet needed) and every text escaped.

use crate::fmt::{seconds, thousands};
use crate::frame::{Frame, NodeState};
use crate::geometry::{along, canvas, centre, lane, BOX_H, BOX_W};
use replscope_sim::Payload;

/// Colours for one theme.
pub struct Palette {
    pub background: &'static str,
    pub surface: &'static str,
    pub text: &'static str,
    pub muted: &'static str,
    pub master: &'static str,
    pub replica: &'static str,
    pub edge: &'static str,
    pub cut: &'static str,
}

pub const LIGHT: Palette = Palette {
    background: "#f4f5f7",
    surface: "#ffffff",
    text: "#17191d",
    muted: "#555e6b",
    master: "#b3261e",
    replica: "#1b5fc1",
    edge: "#8a94a3",
    cut: "#b3261e",
};

pub const DARK: Palette = Palette {
    background: "#0f1216",
    surface: "#171b21",
    text: "#e7eaef",
    muted: "#a0a9b6",
    master: "#ff7a66",
    replica: "#7fb0ff",
    edge: "#6b7686",
    cut: "#ff7a66",
};

fn payload_colour(p: &Payload) -> &'static str {
    match p {
        Payload::Stream => "#1b5fc1",
        Payload::RdbChunk => "#7a3ec8",
        Payload::Ping | Payload::Keepalive => "#6b7480",
        Payload::Ack => "#1d7a3d",
        Payload::GetAck => "#0f7c80",
        Payload::Handshake => "#b15c00",
        Payload::SyncReply => "#b3261e",
        Payload::Client => "#6b7480",
    }
}

/// XML-escapes text (node names come from files and URLs).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// The SVG document for `frame`, titled `title`.
pub fn render(frame: &Frame, title: &str, p: &Palette) -> String {
    let w = frame.nodes.iter().map(|n| n.x).fold(0.0, f64::max) + 0.5;
    let d = frame.nodes.iter().map(|n| n.y).fold(0.0, f64::max) + 0.5;
    let (cw, ch) = canvas(w, d);
    let (width, height) = (cw, ch + 40.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" font-family=\"system-ui, sans-serif\">\n"
    );
    s += &format!("<title>{}</title>\n", escape(title));
    s += &format!("<rect width=\"100%\" height=\"100%\" fill=\"{}\"/>\n", p.background);
    s += &format!(
        "<text x=\"12\" y=\"{:.0}\" font-size=\"13\" fill=\"{}\">{} · t = {}</text>\n",
        height - 14.0,
        p.muted,
        escape(title),
        seconds(frame.time_ms)
    );
    let place = |name: &str| frame.node(name).map(|n| centre(n.x, n.y));
    for e in &frame.edges {
        let (Some(a), Some(b)) = (place(&e.replica), place(&e.master)) else { continue };
        let (colour, dash) = if e.cut { (p.cut, " stroke-dasharray=\"3 7\"") } else if e.up { (p.edge, "") } else { (p.edge, " stroke-dasharray=\"6 6\"") };
        s += &format!("<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2.5\"{dash}/>\n", a.0, a.1, b.0, b.1);
        let label = if e.cut { "cut".to_string() } else { format!("{} ms", e.latency_ms) };
        s += &format!("<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"{}\">{}</text>\n", (a.0 + b.0) / 2.0 + 12.0, (a.1 + b.1) / 2.0, p.muted, escape(&label));
    }
    for n in &frame.nodes {
        let (cx, cy) = centre(n.x, n.y);
        let (x, y) = (cx - BOX_W / 2.0, cy - BOX_H / 2.0);
        let stroke = if n.role == "master" { p.master } else { p.replica };
        let dash = if n.state == NodeState::Down { " stroke-dasharray=\"5 4\"" } else { "" };
        s += &format!("<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"10\" fill=\"{}\" stroke=\"{stroke}\" stroke-width=\"2.5\"{dash}/>\n", p.surface);
        s += &format!("<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"15\" font-weight=\"700\" fill=\"{}\">{}</text>\n", x + 10.0, y + 20.0, p.text, escape(&n.name));
        let role = if n.state == NodeState::Down { "down".to_string() } else { n.role.to_ascii_uppercase() };
        s += &format!("<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"{stroke}\">{}</text>\n", x + BOX_W - 10.0, y + 20.0, escape(&role));
        let lines = if n.state == NodeState::Down {
            vec!["crashed".to_string()]
        } else {
            vec![
                format!("replid {}…", n.replid_short),
                match n.slave_repl_offset {
                    Some(o) => format!("slave_repl_offset {}", thousands(o)),
                    None => format!("master_repl_offset {}", thousands(n.master_repl_offset)),
                },
                format!("{} keys", n.keys),
            ]
        };
        for (i, l) in lines.iter().enumerate() {
            s += &format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11.5\" font-family=\"ui-monospace, monospace\" fill=\"{}\">{}</text>\n",
                x + 10.0,
                y + 42.0 + 18.0 * i as f64,
                p.text,
                escape(l)
            );
        }
    }
    for m in &frame.messages {
        let (Some(a), Some(b)) = (place(&m.from), place(&m.to)) else { continue };
        let (x, y) = along(lane(a, b), m.progress);
        s += &format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"6\" fill=\"{}\" stroke=\"{}\" stroke-width=\"1.5\"/>\n", payload_colour(&m.payload), p.surface);
    }
    s += "</svg>\n";
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{EdgeView, NodeView};

    fn node(name: &str, x: f64, y: f64, role: &str) -> NodeView {
        NodeView {
            name: name.into(),
            state: NodeState::Up,
            role: role.into(),
            master: None,
            link_state: String::new(),
            link_up: true,
            replid_short: "abcdef12".into(),
            replid: String::new(),
            replid2: String::new(),
            master_repl_offset: 12_345,
            slave_repl_offset: (role == "replica").then_some(12_000),
            keys: 3,
            persistence: true,
            sync: None,
            replicas: vec![],
            x,
            y,
        }
    }

    #[test]
    fn renders_nodes_edges_and_escapes_every_name() {
        let frame = Frame {
            time_ms: 1_500,
            nodes: vec![node("m", 0.5, 0.5, "master"), node("<img src=x onerror=alert(1)>", 0.5, 1.5, "replica")],
            edges: vec![EdgeView { replica: "<img src=x onerror=alert(1)>".into(), master: "m".into(), up: true, cut: false, latency_ms: 50, bytes_per_ms: 1 }],
            ..Frame::default()
        };
        let svg = render(&frame, "A & B", &LIGHT);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<title>A &amp; B</title>"));
        assert!(svg.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!svg.contains("<img"));
        assert!(svg.contains("master_repl_offset 12,345"));
        assert!(svg.contains("slave_repl_offset 12,000"));
        assert!(svg.contains("50 ms"));
        assert!(svg.contains("t = 1.500 s"));
        assert_eq!(svg.matches("<rect").count(), 3, "background and two boxes");
    }

    #[test]
    fn escape_handles_quotes_and_control_characters() {
        assert_eq!(escape("a\"b'c\u{1}d"), "a&quot;b&apos;cd");
    }
}
