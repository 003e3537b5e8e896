//! The signed-in user, shared by every page through context, and the guards that show a page
//! only to the right people. The server functions check roles again: these only shape the UI.

use crate::api::auth::{Login, Logout, signed_in_user};
use crate::components::hydration::HydratedMarker;
use crate::components::loading::Loading;
use crate::components::status_page::StatusPage;
use crate::error::AppError;
use crate::types::auth::{CurrentUser, Role};
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// Sign-in state for the whole app.
#[derive(Clone, Copy)]
pub struct Auth {
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
    /// Refetched whenever someone signs in or out.
    pub user: Resource<Result<Option<CurrentUser>, AppError>>,
}

pub fn provide_auth() {
    let login = ServerAction::<Login>::new();
    let logout = ServerAction::<Logout>::new();
    let user = Resource::new(
        move || (login.version().get(), logout.version().get()),
        |_| signed_in_user(),
    );
    provide_context(Auth {
        login,
        logout,
        user,
    });
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

/// Where a user who must change their password is sent ([`CurrentUser::must_change_password`]).
pub const PASSWORD_CHANGE_PAGE: &str = "/profile";

/// Shows `children` to signed-in users who have `role` (any role when `None`); sends everyone
/// else to /login, and tells signed-in users without the role that they are not allowed. A user
/// who must change their password is sent to [`PASSWORD_CHANGE_PAGE`] from every other page.
#[component]
pub fn RequireRole(
    /// The role the page needs; `None` for any signed-in user.
    #[prop(optional)]
    role: Option<Role>,
    /// This is the page where a pending password change is made.
    #[prop(optional)]
    changes_password: bool,
    /// The page, shown once the signed-in user may see it.
    children: ChildrenFn,
) -> impl IntoView {
    let auth = use_auth();
    let children = StoredValue::new(children);
    let page = move || {
        Suspend::new(async move {
            let page = match auth.user.await {
                Ok(Some(user)) if user.must_change_password && !changes_password => {
                    view! { <Redirect path=PASSWORD_CHANGE_PAGE /> }.into_any()
                }
                Ok(Some(user)) if role.is_none_or(|r| r == user.role) => {
                    // Untracked: what the page reads while it is built (its address, its
                    // resources' sources) must not make this check run again. On the server a
                    // second run would build the page again and number its resources
                    // differently from the browser, and hydration would fail.
                    untrack(|| children.read_value()()).into_any()
                }
                Ok(Some(_)) => view! { <NotAllowed /> }.into_any(),
                Ok(None) => view! { <Redirect path="/login" /> }.into_any(),
                Err(err) => view! { <crate::components::error_message::ErrorMessage error=err /> }
                    .into_any(),
            };
            view! {
                {page}
                <HydratedMarker />
            }
        })
    };
    view! { <Suspense fallback=|| view! { <Loading text="Loading…" /> }>{page}</Suspense> }
}

/// What a signed-in user sees on a page their role does not allow.
#[component]
pub fn NotAllowed() -> impl IntoView {
    view! {
        <StatusPage
            status=403
            title="Not allowed"
            message="Your account does not have access to this page. Ask an administrator if you need it."
        />
    }
}
