//! US states by their two-letter postal codes: [`state_name`] names one, [`parse_state_list`]
//! reads a list such as `"CA,CO"`. Metrc is a separate system per state
//! (`https://api-co.metrc.com`, ...; [`crate::state_base_url`]), so a state code says which Metrc
//! a key, a license or a sandbox belongs to.

/// Every US state, the District of Columbia, and the two territories with a Metrc deployment
/// (Guam, the US Virgin Islands; docs/metrc.md §2): postal code and name, by code.
pub const US_STATES: [(&str, &str); 53] = [
    ("AK", "Alaska"),
    ("AL", "Alabama"),
    ("AR", "Arkansas"),
    ("AZ", "Arizona"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DC", "District of Columbia"),
    ("DE", "Delaware"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("GU", "Guam"),
    ("HI", "Hawaii"),
    ("IA", "Iowa"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("MA", "Massachusetts"),
    ("MD", "Maryland"),
    ("ME", "Maine"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MO", "Missouri"),
    ("MS", "Mississippi"),
    ("MT", "Montana"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("NE", "Nebraska"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NV", "Nevada"),
    ("NY", "New York"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VA", "Virginia"),
    ("VI", "U.S. Virgin Islands"),
    ("VT", "Vermont"),
    ("WA", "Washington"),
    ("WI", "Wisconsin"),
    ("WV", "West Virginia"),
    ("WY", "Wyoming"),
];

/// The name of the state with this two-letter code, any case, surrounding spaces ignored
/// (`"co"` → `"Colorado"`): every US state, `"DC"`, and Guam (`"GU"`) and the US Virgin Islands
/// (`"VI"`), where Metrc also runs. `None` for anything else.
pub fn state_name(code: &str) -> Option<&'static str> {
    let code = code.trim();
    US_STATES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, name)| *name)
}

/// Why a list of state codes was refused ([`parse_state_list`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateListError {
    /// No code at all.
    #[error("name at least one state, e.g. CA or CA,CO")]
    Empty,
    /// An entry that is not the two-letter code of a US state ([`state_name`]).
    #[error("\"{0}\" is not the two-letter code of a US state (e.g. CA, CO, MI)")]
    Unknown(String),
    /// A code named twice.
    #[error("{0} is named twice")]
    Duplicate(String),
}

/// Reads comma-separated state codes (`"CA,co, MI"`) into upper-case codes in the given order
/// (`["CA", "CO", "MI"]`). Every entry must be a code [`state_name`] knows; none may repeat.
pub fn parse_state_list(list: &str) -> Result<Vec<String>, StateListError> {
    let mut codes: Vec<String> = Vec::new();
    for entry in list.split(',').map(str::trim) {
        if state_name(entry).is_none() {
            return Err(if entry.is_empty() && list.trim().is_empty() {
                StateListError::Empty
            } else {
                StateListError::Unknown(entry.to_string())
            });
        }
        let code = entry.to_ascii_uppercase();
        if codes.contains(&code) {
            return Err(StateListError::Duplicate(code));
        }
        codes.push(code);
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_state_and_dc_in_any_case() {
        assert_eq!(state_name("CO"), Some("Colorado"));
        assert_eq!(state_name("co"), Some("Colorado"));
        assert_eq!(state_name(" mi "), Some("Michigan"));
        assert_eq!(state_name("Ca"), Some("California"));
        assert_eq!(state_name("DC"), Some("District of Columbia"));
        assert_eq!(state_name("TX"), Some("Texas"));
        assert_eq!(state_name("IL"), Some("Illinois"));
        for missing in ["", "C", "CAL", "ZZ", "XX", "PR", "1A", "California"] {
            assert_eq!(state_name(missing), None, "{missing}");
        }
        // 50 states, DC, Guam and the US Virgin Islands; sorted by code, none twice.
        assert_eq!(US_STATES.len(), 53);
        assert!(US_STATES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            US_STATES
                .iter()
                .all(|(c, _)| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    #[test]
    fn every_metrc_deployment_has_a_name() {
        for st in crate::types::STATE_TIME_ZONES.iter().map(|(st, _)| st) {
            assert!(state_name(st).is_some(), "{st}");
        }
        // Metrc's states as of 2026.
        for st in [
            "AK", "AL", "CA", "CO", "DC", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS",
            "MT", "NJ", "NV", "NY", "OH", "OK", "OR", "SD", "VA", "WV",
        ] {
            assert!(state_name(st).is_some(), "{st}");
        }
    }

    #[test]
    fn reads_a_list_of_codes() {
        let codes = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        assert_eq!(parse_state_list("CA"), Ok(codes(&["CA"])));
        assert_eq!(
            parse_state_list("CA,co, MI "),
            Ok(codes(&["CA", "CO", "MI"]))
        );
        assert_eq!(parse_state_list(""), Err(StateListError::Empty));
        assert_eq!(parse_state_list("  "), Err(StateListError::Empty));
        assert_eq!(
            parse_state_list("CA,"),
            Err(StateListError::Unknown(String::new()))
        );
        assert_eq!(
            parse_state_list("CA,ZZ"),
            Err(StateListError::Unknown("ZZ".into()))
        );
        assert_eq!(
            parse_state_list("Colorado"),
            Err(StateListError::Unknown("Colorado".into()))
        );
        assert_eq!(
            parse_state_list("CA,ca"),
            Err(StateListError::Duplicate("CA".into()))
        );
        assert_eq!(
            StateListError::Unknown("ZZ".into()).to_string(),
            "\"ZZ\" is not the two-letter code of a US state (e.g. CA, CO, MI)"
        );
    }
}
