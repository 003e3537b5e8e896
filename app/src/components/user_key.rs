//! A user's own Metrc key: the "Metrc API Key" field with "Update", used on the user's page
//! (admins) and on /profile (the user). Never an "Update Key": this only ever sets a user's key.

use leptos::prelude::*;

#[component]
pub fn UserKeySection(
    /// The user whose key this is; `None` for the signed-in user (/profile).
    user_id: Option<i32>,
) -> impl IntoView {
    let _ = user_id;
    view! { <section class="user-key" aria-labelledby="user-key-title"><h2 id="user-key-title">"Metrc API Key"</h2></section> }
}
