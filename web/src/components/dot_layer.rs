//! The message dots, kept by hand instead of one Leptos component per dot.
//!
//! Under load dozens of dots move every frame. As components, each had a memo and three
//! effects subscribed to the frame's message list, and Leptos's bookkeeping for them
//! (unsubscribing and resubscribing each one every frame, copying subscriber sets) cost more
//! than the DOM writes. Here one effect walks the frame's messages and the dots it drew,
//! both sorted by trace index, and touches an attribute only when its text changed.
//! Clicks and keys are handled once, on the layer (`message_at`).

use replscope_sim::Payload;
use replscope_view::fmt::{push_tenths, thousands};
use replscope_view::frame::MessageView;
use replscope_view::geometry::{along, lane};
use web_sys::{Document, Element};

use super::topology::payload_class;

const SVG_NS: Option<&str> = Some("http://www.w3.org/2000/svg");
/// Width of an RDB transfer's progress bar (SVG units).
const BAR_W: f64 = 48.0;
/// Where a dot goes when an end of its link is not drawn (a node removed mid-flight).
const OFF_CANVAS: (f64, f64) = (-100.0, -100.0);

/// The attribute carrying a dot's trace index, read back by `message_at`.
const ID_ATTR: &str = "data-msg";

/// One drawn dot and the attribute values it was last given.
struct Dot {
    id: usize,
    group: Element,
    fill: Option<Element>,
    class: String,
    transform: String,
    fill_width: String,
}

/// The dots inside one `<g class="messages">`, in trace order.
pub struct DotLayer {
    root: Element,
    doc: Document,
    dots: Vec<Dot>,
    /// Scratch for the next attribute value (no allocation per dot per frame).
    scratch: String,
}

impl DotLayer {
    pub fn new(root: Element) -> Option<DotLayer> {
        let doc = root.owner_document()?;
        Some(DotLayer { root, doc, dots: Vec::new(), scratch: String::new() })
    }

    /// Makes the layer show `messages` (sorted by id), placed between node centres by `place`.
    pub fn sync(&mut self, messages: &[MessageView], place: impl Fn(&str) -> Option<(f64, f64)>) {
        let old = std::mem::take(&mut self.dots);
        let mut kept = Vec::with_capacity(messages.len());
        let mut old = old.into_iter().peekable();
        for m in messages {
            // Dots whose message is gone (landed and faded, or a seek) leave.
            while old.peek().is_some_and(|d| d.id < m.id) {
                if let Some(d) = old.next() {
                    d.group.remove();
                }
            }
            let dot = match old.next_if(|d| d.id == m.id) {
                Some(d) => Some(d),
                None => {
                    // Before the next kept dot, so the layer stays in trace order.
                    let next = old.peek().map(|d| d.group.clone());
                    self.create(m, next.as_ref())
                }
            };
            if let Some(mut d) = dot {
                self.update(&mut d, m, &place);
                kept.push(d);
            }
        }
        for d in old {
            d.group.remove();
        }
        self.dots = kept;
    }

    /// A new dot's elements, inserted before `before` (or last). None if the DOM refused.
    fn create(&self, m: &MessageView, before: Option<&Element>) -> Option<Dot> {
        let el = |tag: &str| self.doc.create_element_ns(SVG_NS, tag).ok();
        let group = el("g")?;
        let circle = el("circle")?;
        let title = el("title")?;
        let (_, name) = payload_class(&m.payload);
        let big = matches!(m.payload, Payload::RdbChunk) && m.bytes > 256;
        let label = format!("{name}, {} bytes, {} → {}: show its bytes", thousands(m.bytes as i64), m.from, m.to);
        let id = m.id.to_string();
        let set = |e: &Element, k: &str, v: &str| {
            let _ = e.set_attribute(k, v);
        };
        set(&group, "data-testid", "message");
        set(&circle, "cx", "0");
        set(&circle, "cy", "0");
        set(&circle, "r", if big { "9" } else { "6" });
        set(&circle, "tabindex", "0");
        set(&circle, "role", "button");
        set(&circle, ID_ATTR, &id);
        set(&circle, "aria-label", &label);
        title.set_text_content(Some(&label));
        let _ = circle.append_child(&title);
        let _ = group.append_child(&circle);
        let fill = if big {
            let bar = el("g")?;
            set(&bar, "class", "rdb-bar");
            let track = el("rect")?;
            let fill = el("rect")?;
            for (r, cls) in [(&track, "track"), (&fill, "fill")] {
                set(r, "class", cls);
                set(r, "x", "-24");
                set(r, "y", "12");
                set(r, "height", "6");
                set(r, "rx", "3");
            }
            set(&track, "width", "48");
            let _ = bar.append_child(&track);
            let _ = bar.append_child(&fill);
            let _ = group.append_child(&bar);
            Some(fill)
        } else {
            None
        };
        let _ = self.root.insert_before(&group, before.map(|b| b.as_ref()));
        Some(Dot { id: m.id, group, fill, class: String::new(), transform: String::new(), fill_width: String::new() })
    }

    /// Moves a dot and sets its class and bar, writing only what changed.
    fn update(&mut self, d: &mut Dot, m: &MessageView, place: &impl Fn(&str) -> Option<(f64, f64)>) {
        let (x, y) = match (place(&m.from), place(&m.to)) {
            (Some(a), Some(b)) => along(lane(a, b), m.progress),
            _ => OFF_CANVAS,
        };
        let s = &mut self.scratch;
        s.clear();
        s.push_str("translate(");
        push_tenths(s, x);
        s.push(' ');
        push_tenths(s, y);
        s.push(')');
        write_if_changed(&d.group, "transform", &mut d.transform, s);

        s.clear();
        s.push_str("msg ");
        s.push_str(payload_class(&m.payload).0);
        if m.progress >= 1.0 {
            s.push_str(" landed");
        }
        if m.held {
            s.push_str(" held");
        }
        write_if_changed(&d.group, "class", &mut d.class, s);

        if let Some(fill) = &d.fill {
            let done = if m.bytes == 0 { 0.0 } else { m.delivered as f64 / m.bytes as f64 };
            s.clear();
            push_tenths(s, BAR_W * done.clamp(0.0, 1.0));
            write_if_changed(fill, "width", &mut d.fill_width, s);
        }
    }
}

fn write_if_changed(el: &Element, attr: &str, last: &mut String, now: &str) {
    if last != now {
        let _ = el.set_attribute(attr, now);
        last.clear();
        last.push_str(now);
    }
}

/// The trace index of the dot an event happened on (its circle, or anything inside it).
pub fn message_at(target: Option<web_sys::EventTarget>) -> Option<usize> {
    use wasm_bindgen::JsCast;
    let el = target?.dyn_into::<Element>().ok()?;
    let circle = el.closest(&format!("[{ID_ATTR}]")).ok()??;
    circle.get_attribute(ID_ATTR)?.parse().ok()
}
