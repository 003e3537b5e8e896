//! Which Metrc the server talks to, decided from the settings alone (no I/O): real Metrc per
//! state, one Metrc named by `METRC_BASE_URL`, or the embedded sandbox per state
//! (docs/design.md §12). `embedded_metrc` carries the decision out.

use crate::cli::MetrcArgs;
use crate::error::StartError;
use app::ssr::metrc_states::state_of_host;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// One state's Metrc host and Tracekeeper's vendor key there.
#[derive(Debug)]
pub struct StateHost {
    /// Two upper-case letters; `""` for a `METRC_BASE_URL` whose host names no state.
    pub code: String,
    pub base_url: Url,
    pub vendor_key: SecretString,
}

/// What the settings ask for.
#[derive(Debug)]
pub enum MetrcPlan {
    /// Metrc hosts, one per state, in the configured order (never empty).
    Hosts(Vec<StateHost>),
    /// The embedded sandbox, one per state (never empty), each accepting `vendor_key` when set
    /// (`METRC_VENDOR_KEY`), else a random key of its own.
    Embedded {
        states: Vec<String>,
        vendor_key: Option<SecretString>,
    },
}

/// The listed states, in order ([`metrc::states::parse_state_list`]); none listed: empty.
fn state_codes(codes: &[String], var: &'static str) -> Result<Vec<String>, StartError> {
    let list = codes.join(",");
    if list.trim().is_empty() {
        return Ok(Vec::new());
    }
    metrc::states::parse_state_list(&list).map_err(|reason| StartError::StateList { var, reason })
}

impl MetrcArgs {
    /// The plan these settings ask for; `env` reads the per-state variables (`METRC_XX_*`).
    ///
    /// # Errors
    /// One line that says what to set: a state without its vendor key, an unknown state code, a
    /// bad per-state URL, `METRC_BASE_URL` without `METRC_VENDOR_KEY`, or both ways of naming
    /// Metrc at once.
    pub fn plan(&self, env: impl Fn(&str) -> Option<String>) -> Result<MetrcPlan, StartError> {
        let vendor_key = self
            .metrc_vendor_key
            .clone()
            .filter(|k| !k.expose_secret().trim().is_empty());
        let states = state_codes(&self.metrc_states, "METRC_STATES")?;
        match (&self.metrc_base_url, states.is_empty()) {
            (Some(_), false) => Err(StartError::BothMetrcSettings),
            (Some(base_url), true) => Ok(MetrcPlan::Hosts(vec![StateHost {
                code: state_of_host(base_url.host_str().unwrap_or_default()),
                base_url: base_url.clone(),
                vendor_key: vendor_key.ok_or(StartError::MissingVendorKey)?,
            }])),
            (None, false) => states
                .into_iter()
                .map(|code| state_host(code, &env))
                .collect::<Result<_, _>>()
                .map(MetrcPlan::Hosts),
            (None, true) => {
                let mut states = state_codes(&self.sandbox_states, "TRACEKEEPER_SANDBOX_STATES")?;
                if states.is_empty() {
                    states.push("CA".into());
                }
                Ok(MetrcPlan::Embedded { states, vendor_key })
            }
        }
    }
}

/// State `code`'s host (`METRC_XX_BASE_URL`, else Metrc's production host) and vendor key
/// (`METRC_XX_VENDOR_KEY`, required).
fn state_host(
    code: String,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<StateHost, StartError> {
    let url_var = format!("METRC_{code}_BASE_URL");
    let key_var = format!("METRC_{code}_VENDOR_KEY");
    let base_url = match env(&url_var).filter(|v| !v.trim().is_empty()) {
        Some(value) => Url::parse(value.trim()).map_err(|_| StartError::StateBaseUrl {
            var: url_var,
            value,
        })?,
        None => metrc::state_base_url(&code, false).ok_or_else(|| StartError::StateList {
            var: "METRC_STATES",
            reason: metrc::states::StateListError::Unknown(code.clone()),
        })?,
    };
    let vendor_key = env(&key_var)
        .filter(|k| !k.trim().is_empty())
        .map(|k| SecretString::from(k.trim().to_owned()))
        .ok_or_else(|| StartError::MissingStateVendorKey {
            name: metrc::states::state_name(&code)
                .unwrap_or_default()
                .to_owned(),
            code: code.clone(),
            var: key_var,
        })?;
    Ok(StateHost {
        code,
        base_url,
        vendor_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn args(base: Option<&str>, states: &[&str], sandbox: &[&str]) -> MetrcArgs {
        MetrcArgs {
            metrc_base_url: base.map(|b| b.parse().unwrap()),
            metrc_vendor_key: Some(SecretString::from("legacy-vendor")),
            metrc_states: states.iter().map(|s| (*s).to_owned()).collect(),
            sandbox_states: sandbox.iter().map(|s| (*s).to_owned()).collect(),
            sandbox_addr: "127.0.0.1:0".parse().unwrap(),
        }
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn each_state_gets_metrcs_host_unless_its_own_is_set() {
        let plan = args(None, &["ca", "CO"], &[])
            .plan(env(&[
                ("METRC_CA_VENDOR_KEY", "vendor-ca"),
                ("METRC_CO_VENDOR_KEY", "vendor-co"),
                ("METRC_CO_BASE_URL", "https://sandbox-api-co.metrc.com"),
            ]))
            .unwrap();
        let MetrcPlan::Hosts(hosts) = plan else {
            panic!("hosts expected: {plan:?}");
        };
        let shown: Vec<(&str, &str, &str)> = hosts
            .iter()
            .map(|h| {
                (
                    h.code.as_str(),
                    h.base_url.as_str(),
                    h.vendor_key.expose_secret(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("CA", "https://api-ca.metrc.com/", "vendor-ca"),
                ("CO", "https://sandbox-api-co.metrc.com/", "vendor-co"),
            ]
        );
    }

    #[test]
    fn a_state_without_its_vendor_key_refuses_the_start_in_one_line() {
        let err = args(None, &["CA", "CO"], &[])
            .plan(env(&[("METRC_CA_VENDOR_KEY", "vendor-ca")]))
            .unwrap_err();
        let line = err.to_string();
        assert!(
            matches!(err, StartError::MissingStateVendorKey { .. }),
            "{line}"
        );
        assert!(
            line.contains("METRC_CO_VENDOR_KEY") && line.contains("Colorado"),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
    }

    #[test]
    fn the_one_state_settings_keep_working() {
        let plan = args(Some("https://api-ca.metrc.com"), &[], &["CA", "CO"])
            .plan(env(&[]))
            .unwrap();
        let MetrcPlan::Hosts(hosts) = plan else {
            panic!("hosts expected: {plan:?}");
        };
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].code, "CA");
        assert_eq!(hosts[0].vendor_key.expose_secret(), "legacy-vendor");
        let mut no_key = args(Some("https://api-ca.metrc.com"), &[], &[]);
        no_key.metrc_vendor_key = None;
        assert!(matches!(
            no_key.plan(env(&[])),
            Err(StartError::MissingVendorKey)
        ));
    }

    #[test]
    fn unknown_codes_and_both_settings_are_refused() {
        let err = args(None, &["XX"], &[]).plan(env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("METRC_STATES") && err.to_string().contains("XX"),
            "{err}"
        );
        assert!(matches!(
            args(None, &[], &["CA", "Cal"]).plan(env(&[])),
            Err(StartError::StateList { .. })
        ));
        assert!(matches!(
            args(Some("https://api-ca.metrc.com"), &["CA"], &[]).plan(env(&[])),
            Err(StartError::BothMetrcSettings)
        ));
        assert!(matches!(
            args(None, &["CO"], &[]).plan(env(&[
                ("METRC_CO_VENDOR_KEY", "v"),
                ("METRC_CO_BASE_URL", "not a url"),
            ])),
            Err(StartError::StateBaseUrl { .. })
        ));
    }

    #[test]
    fn without_metrc_the_sandbox_serves_the_sandbox_states() {
        let plan = args(None, &[], &["ca", "co"]).plan(env(&[])).unwrap();
        let MetrcPlan::Embedded { states, .. } = plan else {
            panic!("embedded expected: {plan:?}");
        };
        assert_eq!(states, ["CA", "CO"]);
    }
}
