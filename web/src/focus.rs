//! Dialogs move keyboard focus inside when they open (`autofocus` is ignored for elements
//! inserted after the page loaded).

use leptos::html::ElementType;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Focuses `target` each time `open` turns true (and once the element exists).
pub fn focus_when_open<E>(open: RwSignal<bool>, target: NodeRef<E>)
where
    E: ElementType,
    E::Output: JsCast + Clone + 'static,
{
    Effect::new(move |_| {
        if open.get() {
            if let Some(el) = target.get() {
                let _ = el.unchecked_ref::<web_sys::HtmlElement>().focus();
            }
        }
    });
}
