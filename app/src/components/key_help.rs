//! "Where do I find my Metrc API key?": the steps in Metrc and the warnings (docs/design.md §3),
//! on both key screens.

use leptos::prelude::*;

#[component]
pub fn KeyHelp() -> impl IntoView {
    view! {
        <details class="key-help">
            <summary>"Where do I find my Metrc API key?"</summary>
            <ol>
                <li>"Sign in to Metrc and open your profile (your name, top right)."</li>
                <li>
                    "Open " <strong>"API Keys"</strong> " and press " <strong>"Generate"</strong>
                    " if there is no current key."
                </li>
                <li>"Copy the whole " <strong>"Current API Key"</strong> " and paste it here."</li>
            </ol>
            <p>
                "A facility key must come from the License Owner, whose employee record in Metrc needs Manage access to all features. Each employee's own key goes on their user page."
            </p>
            <p class="warning">
                "Share a key with no one but a validated integrator. Generating a new key in Metrc invalidates the one in use: update it here straight away."
            </p>
        </details>
    }
}
