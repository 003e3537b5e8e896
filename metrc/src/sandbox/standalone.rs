//! The parts of the stand-alone `metrc-sandbox` binary worth testing: which port each state's
//! sandbox listens on, and the lines it prints (scripts and tests read them).
//!
//! `metrc-sandbox --states CA,CO --port P` runs one sandbox per state, as Metrc is one system per
//! state: the first state on port P, the next on P + 1, and so on (with `--port 0`, each on its
//! own free port). Per state it prints [`listening_line`] and then each employee
//! ([`employee_line`]); before them, once, [`legacy_listening_line`] with the first state's
//! address, the line the binary printed when it served California alone (the server's
//! `outbox_crash` test reads it).

use std::net::SocketAddr;

use super::EmployeeInfo;

/// The ports `count` sandboxes listen on when the first asks for `first`: `first`, `first + 1`,
/// ...; all 0 (each its own free port) when `first` is 0. An error when they would run past
/// port 65535.
pub fn ports(first: u16, count: usize) -> Result<Vec<u16>, String> {
    if first == 0 {
        return Ok(vec![0; count]);
    }
    (0..count)
        .map(|i| {
            u16::try_from(i)
                .ok()
                .and_then(|i| first.checked_add(i))
                .ok_or_else(|| {
                    format!(
                        "{count} sandboxes from port {first} would run past port 65535: \
                         choose a lower --port, or --port 0"
                    )
                })
        })
        .collect()
}

/// `Metrc sandbox for CO listening on http://127.0.0.1:3101`: where one state's sandbox listens.
pub fn listening_line(state: &str, addr: SocketAddr) -> String {
    format!("Metrc sandbox for {state} listening on http://{addr}")
}

/// `Metrc sandbox listening on http://127.0.0.1:3100`: the single-state line of old, printed once
/// with the first state's address for the scripts and tests that read it.
pub fn legacy_listening_line(addr: SocketAddr) -> String {
    format!("Metrc sandbox listening on http://{addr}")
}

/// `  employee 1 Dana Whitfield   key ...  licenses ...`: one employee, their key and licenses.
pub fn employee_line(e: &EmployeeInfo) -> String {
    format!(
        "  employee {} {:<16} key {}  licenses {}",
        e.id,
        e.name,
        e.api_key,
        e.licenses.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_take_consecutive_ports_or_free_ones() {
        assert_eq!(ports(3100, 1), Ok(vec![3100]));
        assert_eq!(ports(3100, 3), Ok(vec![3100, 3101, 3102]));
        assert_eq!(ports(0, 3), Ok(vec![0, 0, 0]));
        assert_eq!(ports(65_534, 2), Ok(vec![65_534, 65_535]));
        let past = ports(65_535, 2).unwrap_err();
        assert!(past.contains("past port 65535"), "{past}");
        assert_eq!(ports(3100, 0), Ok(vec![]));
    }

    #[test]
    fn lines_say_which_state_listens_where() {
        let addr: SocketAddr = "127.0.0.1:3101".parse().unwrap();
        assert_eq!(
            listening_line("CO", addr),
            "Metrc sandbox for CO listening on http://127.0.0.1:3101"
        );
        // server/tests/it/outbox_crash.rs strips exactly this prefix.
        assert_eq!(
            legacy_listening_line(addr).strip_prefix("Metrc sandbox listening on "),
            Some("http://127.0.0.1:3101")
        );
        let e = EmployeeInfo {
            id: 2,
            name: "Sam Ortiz".into(),
            employee_license_number: "EMP-104014".into(),
            api_key: "k".repeat(48),
            licenses: vec!["403R-00512".into(), "403R-01163".into()],
            owner_of: Vec::new(),
        };
        assert_eq!(
            employee_line(&e),
            format!(
                "  employee 2 Sam Ortiz        key {}  licenses 403R-00512, 403R-01163",
                "k".repeat(48)
            )
        );
    }
}
