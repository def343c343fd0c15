//! Problems with what the page was asked to show (a bad link or file), in words, dismissable.
//! The page keeps running whatever they say.

use leptos::prelude::*;

#[component]
pub fn Notices(problems: RwSignal<Vec<String>>) -> impl IntoView {
    view! {
        <Show when=move || problems.with(|p| !p.is_empty())>
            <div class="notices" role="alert" data-testid="notices">
                <ul>
                    {move || problems.get().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
                </ul>
                <button class="ghost" data-testid="notices-close" aria-label="Dismiss these messages" on:click=move |_| problems.set(Vec::new())>"Dismiss"</button>
            </div>
        </Show>
    }
}
