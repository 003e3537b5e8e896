//! Users' own Metrc keys: on a user's page (admins) and on /profile (the user). `user_id: None`
//! means the signed-in user. These functions only ever set a user's key, never a facility's
//! (docs/design.md §5); the key travels in request bodies only and no response holds it.

use crate::api::encoding::TextJson;
use crate::error::AppError;
use crate::types::keys::{KeyStatus, MetrcState, StateKeys};
use crate::types::secret::Secret;
use crate::types::user_keys::{SetUserKeyInput, UserKeyView};
use leptos::prelude::*;
use leptos::server_fn::codec::{StreamingText, TextStream};

/// The user a call is about: the signed-in user for `None` or their own id; anyone else only for
/// admins. Returns the caller and the target's id. `st` is read by the server function before
/// its first `.await` (see `state::state`).
#[cfg(feature = "ssr")]
async fn target(
    st: &crate::ssr::state::AppState,
    user_id: Option<i32>,
) -> Result<(crate::ssr::caller::Caller, i32), AppError> {
    let me = crate::ssr::caller::caller(st).await?;
    match user_id {
        None => {
            let id = me.user.id;
            Ok((me, id))
        }
        Some(id) if id == me.user.id || me.user.is_admin() => Ok((me, id)),
        Some(_) => Err(AppError::Forbidden),
    }
}

/// Validates a key for a user live: one `ValidationUpdate` per line (JSON), ending with `Done`
/// or `Failed`. The first update says whether the key is already held (another user's, or a
/// facility key). `state`: the state whose Metrc the key is validated with (`None` with one).
#[server(endpoint = "validate_user_key_live", output = StreamingText)]
pub async fn validate_user_key_live(
    user_id: Option<i32>,
    key: Secret,
    #[server(default)] state: Option<String>,
) -> Result<TextStream<AppError>, AppError> {
    use crate::ssr::{state::state as shared_state, user_keys};
    use futures::StreamExt;

    let key = key.into_secret();
    let st = shared_state()?;
    let (me, target) = target(&st, user_id).await?;
    let updates = user_keys::validate_live(
        &st,
        me.user.id,
        target,
        me.user.is_admin(),
        key,
        state.as_deref(),
    )
    .await?;
    Ok(TextStream::new(updates.map(|update| {
        serde_json::to_string(&update)
            .map(|line| line + "\n")
            .map_err(|_| AppError::Internal)
    })))
}

/// Sets a user's own key ("Update"), validated first. The body is JSON:
/// `{"input": {"user_id": 3, "key": "...", "confirm_facility_key": false}}`.
#[server(endpoint = "set_user_key", input = leptos::server_fn::codec::Json, output = TextJson)]
pub async fn set_user_key(input: SetUserKeyInput) -> Result<UserKeyView, AppError> {
    use crate::ssr::{state::state as shared_state, user_keys};

    let SetUserKeyInput {
        user_id,
        key,
        confirm_facility_key,
        state: picked,
    } = input;
    let key = key.into_secret();
    let st = shared_state()?;
    let (me, target) = target(&st, user_id).await?;
    Ok(user_keys::set(
        &st,
        me.actor(),
        target,
        key,
        confirm_facility_key,
        picked.as_deref(),
    )
    .await?)
}

/// A user's key for `state`, masked, with what it reaches and their Metrc permissions. `None`:
/// the one state's, or with several the state their key section opens on (the first they work
/// in whose key is missing or refused, else the first: `types::keys::first_state`).
#[server(endpoint = "user_key", output = TextJson)]
pub async fn user_key(
    user_id: Option<i32>,
    #[server(default)] state: Option<String>,
) -> Result<UserKeyView, AppError> {
    use crate::ssr::{state::state as shared_state, user_keys};

    let st = shared_state()?;
    let (_, target) = target(&st, user_id).await?;
    Ok(user_keys::view(&st, target, state.as_deref()).await?)
}

/// The states served and a user's key status in each state they work in, without asking Metrc
/// ("Missing in MI"): one call, so a key section loads without waiting on another.
#[server(endpoint = "user_key_states", output = TextJson)]
pub async fn user_key_states(user_id: Option<i32>) -> Result<StateKeys, AppError> {
    use crate::ssr::{state::state as shared_state, user_keys};

    let st = shared_state()?;
    let (_, target) = target(&st, user_id).await?;
    let served = st.metrc.served();
    let keys = if st.metrc.several() {
        match user_keys::statuses(&st, target).await {
            Ok(keys) => keys,
            // A deactivated user works nowhere any more (and has no key).
            Err(user_keys::UserKeyError::UnknownUser) => Vec::new(),
            Err(err) => return Err(err.into()),
        }
    } else {
        Vec::new()
    };
    Ok(StateKeys { served, keys })
}

/// The states this deployment serves, for the screens' state pickers (any signed-in user). One
/// state: the screens show no choice.
#[server(endpoint = "metrc_states", output = TextJson)]
pub async fn metrc_states() -> Result<Vec<MetrcState>, AppError> {
    use crate::ssr::{caller, state::state};

    let st = state()?;
    caller::caller(&st).await?;
    Ok(st.metrc.served())
}

/// The signed-in user's key status (the notice after sign-in), without asking Metrc.
#[server(endpoint = "my_key_status", output = TextJson)]
pub async fn my_key_status() -> Result<KeyStatus, AppError> {
    use crate::ssr::{caller, state::state, user_keys};

    let st = state()?;
    let me = caller::caller(&st).await?;
    Ok(user_keys::status(&st, me.user.id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_argument_holding_a_user_key_hides_it_from_debug() {
        let key = || Secret::from("hunter2-user-key");
        let shown = [
            format!(
                "{:?}",
                ValidateUserKeyLive {
                    user_id: Some(3),
                    key: key(),
                    state: None,
                }
            ),
            format!(
                "{:?}",
                SetUserKey {
                    input: SetUserKeyInput {
                        user_id: Some(3),
                        key: key(),
                        confirm_facility_key: false,
                        state: None,
                    },
                }
            ),
        ];
        for shown in shown {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("[REDACTED]"), "{shown}");
        }
    }
}
