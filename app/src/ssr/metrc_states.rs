//! The Metrc of each state the deployment serves (docs/design.md §12). Metrc is a separate
//! system per state, with its own host, vendor key, rate limits and accounts: one
//! [`metrc::Client`] per state, each with its own rate limiter, and every call for a facility
//! goes to the client of the facility's state.

use crate::error::AppError;
use crate::types::keys::MetrcState;
use sea_orm::{DatabaseConnection, DbErr};
use std::sync::Arc;

/// Why no Metrc could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The deployment serves several states and none was picked.
    #[error("no state was picked")]
    NotPicked,
    /// The state is not one this deployment serves (two letters, upper case).
    #[error("Tracekeeper is not set up for {0:?}'s Metrc")]
    NotServed(String),
}

impl From<StateError> for AppError {
    /// A state that was not picked, or is not served, as the screens say it.
    fn from(err: StateError) -> Self {
        match err {
            StateError::NotPicked => {
                AppError::BadInput("Pick the state whose Metrc the key was generated in.".into())
            }
            StateError::NotServed(code) => AppError::BadInput(format!(
                "Tracekeeper is not set up for {}'s Metrc.",
                state_label(&code)
            )),
        }
    }
}

/// One state's Metrc.
#[derive(Clone)]
struct StateMetrc {
    /// Two upper-case letters, or `""` for the one Metrc of a deployment configured by
    /// `METRC_BASE_URL` whose host does not name its state.
    code: String,
    client: metrc::Client,
}

/// The Metrc clients of the deployment, one per state, in the configured order. Never empty.
#[derive(Clone)]
pub struct MetrcStates {
    states: Arc<[StateMetrc]>,
}

impl MetrcStates {
    /// The given states in this order. `first` is required, so the set is never empty; codes are
    /// upper-cased, and a repeated code keeps its first client.
    pub fn new(
        first: (String, metrc::Client),
        rest: impl IntoIterator<Item = (String, metrc::Client)>,
    ) -> Self {
        let mut states: Vec<StateMetrc> = Vec::new();
        for (code, client) in std::iter::once(first).chain(rest) {
            let code = code.trim().to_ascii_uppercase();
            if !states.iter().any(|s| s.code == code) {
                states.push(StateMetrc { code, client });
            }
        }
        MetrcStates {
            states: states.into(),
        }
    }

    /// One Metrc, its state read from its host (`api-ca.metrc.com` is California's; a local
    /// sandbox names none: [`state_of_host`]).
    pub fn single(client: metrc::Client) -> Self {
        let code = state_of_host(client.config().base_url.host_str().unwrap_or_default());
        MetrcStates::new((code, client), [])
    }

    /// The state codes served, in the configured order.
    pub fn codes(&self) -> Vec<String> {
        self.states.iter().map(|s| s.code.clone()).collect()
    }

    /// The states served, as the screens' pickers name them, in the configured order.
    pub fn served(&self) -> Vec<MetrcState> {
        self.states
            .iter()
            .map(|s| MetrcState {
                name: state_label(&s.code),
                code: s.code.clone(),
            })
            .collect()
    }

    /// Whether the deployment serves more than one state (then keys are set per state).
    pub fn several(&self) -> bool {
        self.states.len() > 1
    }

    /// The client of the state `code` (any case). With one state, a facility or key stored
    /// before states were recorded (`""`) is that state's.
    pub fn get(&self, code: &str) -> Result<&metrc::Client, StateError> {
        let code = code.trim();
        self.states
            .iter()
            .find(|s| s.code.eq_ignore_ascii_case(code))
            .or_else(|| match &*self.states {
                [only] if code.is_empty() => Some(only),
                _ => None,
            })
            .map(|s| &s.client)
            .ok_or_else(|| StateError::NotServed(code.to_ascii_uppercase()))
    }

    /// The state a screen picked (`None`: no choice was shown), and its client: with one
    /// state, that state whatever was sent; with several, the picked one, which must be served.
    pub fn pick(&self, picked: Option<&str>) -> Result<(&str, &metrc::Client), StateError> {
        match (
            &*self.states,
            picked.map(str::trim).filter(|p| !p.is_empty()),
        ) {
            ([only], _) => Ok((&only.code, &only.client)),
            (_, None) => Err(StateError::NotPicked),
            (states, Some(code)) => states
                .iter()
                .find(|s| s.code.eq_ignore_ascii_case(code))
                .map(|s| (s.code.as_str(), &s.client))
                .ok_or_else(|| StateError::NotServed(code.to_ascii_uppercase())),
        }
    }

    /// Every state but `code`, with its client, in the configured order.
    pub fn others<'a>(
        &'a self,
        code: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a metrc::Client)> + 'a {
        self.states
            .iter()
            .filter(move |s| !s.code.eq_ignore_ascii_case(code))
            .map(|s| (s.code.as_str(), &s.client))
    }

    /// Every client, in the configured order.
    pub fn clients(&self) -> impl Iterator<Item = &metrc::Client> {
        self.states.iter().map(|s| &s.client)
    }

    /// The first state's client: for what is the same in every state (the client settings).
    pub fn first(&self) -> &metrc::Client {
        // `new` takes a first state: never empty.
        &self.states[0].client
    }

    /// This server's share of each state's rate limits (docs/design.md §11): the same in all.
    pub fn share(&self) -> u32 {
        self.first().share()
    }

    /// Sets this server's share of every state's rate limits.
    pub async fn set_share(&self, servers: std::num::NonZeroU32) {
        for client in self.clients() {
            client.set_share(servers).await;
        }
    }

    /// Opens or closes every state's client to new calls.
    pub fn set_open(&self, open: bool) {
        for client in self.clients() {
            client.set_open(open);
        }
    }

    /// Whether the clients take new calls.
    pub fn is_open(&self) -> bool {
        self.first().is_open()
    }
}

impl From<metrc::Client> for MetrcStates {
    fn from(client: metrc::Client) -> Self {
        MetrcStates::single(client)
    }
}

/// Gives the facilities and user keys stored before states were recorded (`""`) a state: the
/// deployment's one state, or with several the first configured one (logged: an admin checks
/// them; a wrong guess shows as a key Metrc refuses). Run at every start, before serving.
///
/// # Errors
/// The database's.
pub async fn adopt_unrecorded(db: &DatabaseConnection, states: &MetrcStates) -> Result<(), DbErr> {
    let code = &states.states[0].code;
    if code.is_empty() {
        return Ok(());
    }
    let facilities = super::queries::facilities::adopt_state(db, code).await?;
    let keys = super::queries::user_metrc_keys::adopt_state(db, code).await?;
    if facilities + keys > 0 {
        if states.several() {
            tracing::warn!(state = %code, facilities, user_keys = keys, "facilities and user keys stored before states were recorded are taken to be the first configured state's: check them on Facility Management and User Management");
        } else {
            tracing::info!(state = %code, facilities, user_keys = keys, "recorded the state of facilities and user keys stored before states were");
        }
    }
    Ok(())
}

/// The two-letter state of a Metrc host (`api-ca.metrc.com`, `sandbox-api-ca.metrc.com`: `CA`),
/// or `""` for any other host (a sandbox on a local address).
pub fn state_of_host(host: &str) -> String {
    let first = host.split('.').next().unwrap_or_default();
    let st = first
        .strip_prefix("sandbox-api-")
        .or_else(|| first.strip_prefix("api-"))
        .unwrap_or_default();
    if st.len() == 2 && st.chars().all(|c| c.is_ascii_alphabetic()) && host.ends_with(".metrc.com")
    {
        st.to_ascii_uppercase()
    } else {
        String::new()
    }
}

/// How a state is named on screens: `"Colorado"` for `"CO"`, the code itself for a code without
/// a known name, `""` for none.
pub fn state_label(code: &str) -> String {
    metrc::states::state_name(code).map_or_else(|| code.to_owned(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> metrc::Client {
        metrc::Client::new(metrc::ClientConfig::new(
            url::Url::parse(url).unwrap(),
            secrecy::SecretString::from("vendor"),
        ))
        .unwrap()
    }

    fn two() -> MetrcStates {
        MetrcStates::new(
            ("ca".into(), client("http://127.0.0.1:1/")),
            [("CO".into(), client("http://127.0.0.1:2/"))],
        )
    }

    fn port(c: &metrc::Client) -> Option<u16> {
        c.config().base_url.port()
    }

    #[test]
    fn hosts_name_their_state() {
        assert_eq!(state_of_host("api-ca.metrc.com"), "CA");
        assert_eq!(state_of_host("sandbox-api-co.metrc.com"), "CO");
        assert_eq!(state_of_host("127.0.0.1"), "");
        assert_eq!(state_of_host("api-ca.example.com"), "");
        assert_eq!(state_of_host("api-cal.metrc.com"), "");
    }

    #[test]
    fn each_state_has_its_own_client() {
        let states = two();
        assert_eq!(states.codes(), ["CA", "CO"]);
        assert!(states.several());
        assert_eq!(port(states.get("co").unwrap()), Some(2));
        assert_eq!(port(states.get("CA").unwrap()), Some(1));
        assert_eq!(
            states.get("MI").err(),
            Some(StateError::NotServed("MI".into()))
        );
        // With several states a row without one matches none of them.
        assert!(states.get("").is_err());
        let others: Vec<&str> = states.others("ca").map(|(c, _)| c).collect();
        assert_eq!(others, ["CO"]);
    }

    #[test]
    fn a_screen_must_pick_a_state_only_when_there_are_several() {
        let states = two();
        assert_eq!(states.pick(None).err(), Some(StateError::NotPicked));
        assert_eq!(states.pick(Some(" ")).err(), Some(StateError::NotPicked));
        assert_eq!(states.pick(Some("co")).map(|(c, _)| c), Ok("CO"));
        assert_eq!(
            states.pick(Some("NY")).err(),
            Some(StateError::NotServed("NY".into()))
        );
        let one = MetrcStates::single(client("https://api-ca.metrc.com/"));
        assert_eq!(one.codes(), ["CA"]);
        assert!(!one.several());
        assert_eq!(one.pick(None).map(|(c, _)| c), Ok("CA"));
        assert_eq!(one.pick(Some("CO")).map(|(c, _)| c), Ok("CA"));
        // Rows stored before states were: the one state's.
        assert!(one.get("").is_ok());
        assert!(one.get("CO").is_err());
    }

    #[test]
    fn a_local_metrc_names_no_state_and_serves_rows_without_one() {
        let one = MetrcStates::single(client("http://127.0.0.1:9/"));
        assert_eq!(one.codes(), [""]);
        assert!(one.get("").is_ok());
    }

    #[test]
    fn a_repeated_state_keeps_its_first_client() {
        let states = MetrcStates::new(
            ("CA".into(), client("http://127.0.0.1:1/")),
            [("ca".into(), client("http://127.0.0.1:2/"))],
        );
        assert_eq!(states.codes(), ["CA"]);
        assert_eq!(port(states.get("CA").unwrap()), Some(1));
    }

    #[test]
    fn an_unpicked_or_unserved_state_says_what_to_do() {
        let unpicked = AppError::from(StateError::NotPicked).to_string();
        assert!(unpicked.starts_with("Pick the state"), "{unpicked}");
        let unserved = AppError::from(StateError::NotServed("MI".into())).to_string();
        assert_eq!(unserved, "Tracekeeper is not set up for Michigan's Metrc.");
    }

    #[test]
    fn states_are_named_for_people() {
        assert_eq!(state_label("CO"), "Colorado");
        assert_eq!(state_label(""), "");
    }
}
