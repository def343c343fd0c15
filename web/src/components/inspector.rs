//! A message's details and its first RESP bytes, shown when its dot is clicked in the
//! topology. Closed by its button or Escape (the page's shortcut). Text only.

use leptos::html;
use leptos::prelude::*;
use replscope_view::fmt::{seconds, thousands};
use replscope_view::frame::MessageView;

use crate::components::topology::payload_class;
use crate::sim_ctl::SimCtl;

/// Bytes the trace keeps of each message.
pub const PREVIEW_BYTES: usize = 60;

/// The escaped preview split after each `\r\n` (shown, not interpreted), so a RESP array
/// reads one element per line.
pub fn resp_lines(preview: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = preview;
    while let Some(i) = rest.find("\\r\\n") {
        out.push(rest[..i + 4].to_string());
        rest = &rest[i + 4..];
    }
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

/// "all 14 bytes" or "first 60 of 1,234 bytes".
pub fn shown_note(bytes: usize) -> String {
    if bytes > PREVIEW_BYTES {
        format!("first {PREVIEW_BYTES} of {} bytes", thousands(bytes as i64))
    } else {
        format!("all {bytes} bytes")
    }
}

#[component]
pub fn Inspector() -> impl IntoView {
    let ctl = expect_context::<SimCtl>();
    // Follow the message while it travels (delivered bytes grow); keep the last view once it
    // has landed and gone.
    let live = Memo::new(move |_| {
        let m = ctl.inspected.get()?;
        Some(ctl.messages.with(|ms| ms.iter().find(|x| x.id == m.id).cloned()).unwrap_or(m))
    });
    let open = Memo::new(move |_| ctl.inspected.with(|m| m.as_ref().map(|m| m.id)));
    // Focus goes to the panel itself (announced by screen readers), not its Close button:
    // Space then still plays/pauses instead of closing it.
    let panel = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        if open.get().is_some() {
            if let Some(p) = panel.get() {
                let _ = p.focus();
            }
        }
    });
    let close = move |_| ctl.inspected.set(None);
    view! {
        <Show when=move || open.get().is_some()>
            <div class="inspector" role="dialog" aria-labelledby="inspector-title" data-testid="inspector" tabindex="-1" node_ref=panel>
                {move || live.get().map(|m| details(&m))}
                <button class="primary" data-testid="inspector-close" on:click=close>"Close"</button>
            </div>
        </Show>
    }
}

fn details(m: &MessageView) -> impl IntoView {
    let (cls, kind) = payload_class(&m.payload);
    let state = if m.held {
        "held by a cut link".to_string()
    } else if m.delivered >= m.bytes {
        "delivered".to_string()
    } else {
        format!("{} of {} bytes delivered", thousands(m.delivered as i64), thousands(m.bytes as i64))
    };
    view! {
        <h2 id="inspector-title"><span class=format!("swatch {cls}")></span>{kind}</h2>
        <dl class="fact-list">
            <div><dt>"From → to"</dt><dd>{format!("{} → {}", m.from, m.to)}</dd></div>
            <div><dt>"Size"</dt><dd class="mono">{format!("{} bytes", thousands(m.bytes as i64))}</dd></div>
            <div><dt>"State"</dt><dd>{state}</dd></div>
            <div><dt>"Sent at"</dt><dd class="mono">{seconds(m.sent_at)}</dd></div>
        </dl>
        <p class="sub">{format!("RESP bytes ({}), \\r\\n shown as written:", shown_note(m.bytes))}</p>
        <pre class="resp" data-testid="inspector-bytes" tabindex="0" aria-label="RESP bytes">
            {resp_lines(&m.preview).into_iter().map(|l| view! { <span class="resp-line">{l}</span> }).collect_view()}
        </pre>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp_reads_one_element_per_line() {
        assert_eq!(resp_lines("*1\\r\\n$4\\r\\nPING\\r\\n"), ["*1\\r\\n", "$4\\r\\n", "PING\\r\\n"]);
        assert_eq!(resp_lines("$5\\r\\nhel…"), ["$5\\r\\n", "hel…"]);
        assert!(resp_lines("").is_empty());
        assert_eq!(resp_lines("\\n"), ["\\n"]);
    }

    #[test]
    fn truncation_is_stated() {
        assert_eq!(shown_note(14), "all 14 bytes");
        assert_eq!(shown_note(60), "all 60 bytes");
        assert_eq!(shown_note(1_234), "first 60 of 1,234 bytes");
    }
}
