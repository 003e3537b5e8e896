//! The document shell (server only), and the app: auth context, header, routes.

use crate::components::auth::provide_auth;
use crate::components::header::Header;
use crate::pages::{
    facilities::FacilitiesPage, home::HomePage, integrations::IntegrationsPage, login::LoginPage,
    not_found::NotFound, packages::PackagesPage, plants::PlantsPage, profile::ProfilePage,
    submission::SubmissionPage, submissions::SubmissionsPage, user::UserPage,
    user_new::NewUserPage, users::UsersPage,
};
use leptos::prelude::*;
use leptos_meta::{Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// The HTML document around the app, and its Content-Security-Policy header.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos_meta::HashedStylesheet;
    // The page's Content-Security-Policy, with the nonce `HydrationScripts` puts on its scripts.
    crate::ssr::csp::set_for_page();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.ico" />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <leptos_meta::MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_auth();
    // Each page marks itself interactive once its content is hydrated (`HydratedMarker`).

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() {
                "Tracekeeper".to_owned()
            } else {
                format!("{page} · Tracekeeper")
            }
        } />
        <Router>
            <a class="skip-link" href="#main">
                "Skip to content"
            </a>
            <Header />
            <main id="main" tabindex="-1">
                // Async: the whole page (and its sign-in check) is ready before the first byte,
                // so a redirect to /login is a real 302 and "not allowed" a real 403.
                <Routes fallback=|| view! { <NotFound /> }>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/facilities") view=FacilitiesPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/admin/integrations")
                        view=IntegrationsPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/admin/users") view=UsersPage ssr=SsrMode::Async />
                    // Before "/admin/users/:id": the first matching route wins.
                    <Route path=path!("/admin/users/new") view=NewUserPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/users/:id") view=UserPage ssr=SsrMode::Async />
                    <Route path=path!("/profile") view=ProfilePage ssr=SsrMode::Async />
                    <Route path=path!("/inventory/packages") view=PackagesPage ssr=SsrMode::Async />
                    <Route path=path!("/inventory/plants") view=PlantsPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/admin/metrc-submissions/detail/:id")
                        view=SubmissionPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/admin/metrc-submissions/:tab")
                        view=SubmissionsPage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </main>
        </Router>
    }
}
