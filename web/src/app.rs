//! The app: the simulator driver in context, and the page's regions.

use leptos::prelude::*;
use replscope_sim::presets;

use crate::components::{Controls, SiteFooter, SiteHeader, Topology};
use crate::sim_ctl::SimCtl;

#[component]
pub fn App() -> impl IntoView {
    let scenario = presets::get("default").expect("the default preset is built in and parses");
    let ctl = SimCtl::new(scenario);
    provide_context(ctl);
    ctl.start();
    view! {
        <div class="page">
            <SiteHeader/>
            <Controls/>
            <main class="viz">
                <Topology/>
            </main>
            <SiteFooter/>
        </div>
    }
}
