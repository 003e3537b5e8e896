//! A bad configuration stops the start with one clear line on stderr, not a panic.

use std::process::Command;

fn start_with(envs: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tracekeeper"))
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("TRACEKEEPER_ADDR", "127.0.0.1:0")
        .env("TRACEKEEPER_SANDBOX_ADDR", "127.0.0.1:0")
        .env_remove("METRC_BASE_URL")
        .env_remove("METRC_STATES")
        .env("RUST_LOG", "off")
        .envs(envs.iter().copied())
        .output()
        .expect("run tracekeeper");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_clear_line(stderr: &str, mentions: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(mentions), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_unparseable_database_url() {
    let (ok, stderr) = start_with(&[("DATABASE_URL", "mysql://u:secret@h/db")]);
    assert!(!ok);
    assert_one_clear_line(&stderr, "DATABASE_URL");
    assert!(!stderr.contains("secret"));
}

#[test]
fn an_unwritable_data_directory() {
    let (ok, stderr) = start_with(&[("TRACEKEEPER_DATA_DIR", "/dev/null/data")]);
    assert!(!ok);
    assert_one_clear_line(&stderr, "TRACEKEEPER_DATA_DIR");
}

#[test]
fn an_unreachable_database() {
    let (ok, stderr) = start_with(&[("DATABASE_URL", "postgres://tk:pw-secret@127.0.0.1:1/tk")]);
    assert!(!ok);
    assert_one_clear_line(&stderr, "DATABASE_URL");
    assert!(!stderr.contains("pw-secret"));
}

#[test]
fn a_state_without_its_vendor_key() {
    let (ok, stderr) = start_with(&[
        ("METRC_STATES", "CA,CO"),
        ("METRC_CA_VENDOR_KEY", "vendor-key-of-california"),
        ("METRC_CO_VENDOR_KEY", " "),
    ]);
    assert!(!ok);
    assert_one_clear_line(&stderr, "METRC_CO_VENDOR_KEY");
    assert!(stderr.contains("Colorado"), "{stderr}");
    assert!(!stderr.contains("vendor-key-of-california"), "{stderr}");
}

#[test]
fn an_unknown_state() {
    let (ok, stderr) = start_with(&[("TRACEKEEPER_SANDBOX_STATES", "CA,ZZ")]);
    assert!(!ok);
    assert_one_clear_line(&stderr, "TRACEKEEPER_SANDBOX_STATES");
}

#[test]
fn help_lists_the_subcommands() {
    let out = Command::new(env!("CARGO_BIN_EXE_tracekeeper"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "serve",
        "migrate",
        "DATABASE_URL",
        "TRACEKEEPER_ADDR",
        "TRACEKEEPER_DATA_DIR",
    ] {
        assert!(text.contains(word), "--help lacks {word}: {text}");
    }
}
