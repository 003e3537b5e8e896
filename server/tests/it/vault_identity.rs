//! The key vault's identity at start-up: created private on first start, refused with one clear
//! line when others may read it or when it is not an identity.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracekeeper"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("TRACEKEEPER_IDENTITY")
        .env_remove("TRACEKEEPER_IDENTITY_FILE")
        .env_remove("TRACEKEEPER_FINGERPRINT_SECRET")
        .env("TRACEKEEPER_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "off")
        .envs(envs.iter().copied())
        .output()
        .expect("run tracekeeper")
}

fn one_error_line(out: &Output) -> String {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// An identity file as the first start makes it, then its mode set to `mode`.
fn identity_with_mode(dir: &Path, mode: u32) -> std::path::PathBuf {
    let identity = dir.join("data/identity.txt");
    assert!(run(dir, &["rotate-identity"], &[]).status.success());
    std::fs::set_permissions(&identity, std::fs::Permissions::from_mode(mode)).unwrap();
    identity
}

#[test]
fn an_identity_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let identity = identity_with_mode(dir.path(), 0o644);
    let stderr = one_error_line(&run(dir.path(), &[], &[]));
    assert!(stderr.contains("identity.txt"), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
    let text = std::fs::read_to_string(&identity).unwrap();
    let secret = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    assert!(!stderr.contains(secret));
}

#[test]
fn an_identity_file_that_is_not_an_identity_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("identity.txt");
    std::fs::write(&file, "not an identity\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let stderr = one_error_line(&run(
        dir.path(),
        &[],
        &[("TRACEKEEPER_IDENTITY_FILE", file.to_str().unwrap())],
    ));
    assert!(stderr.contains("TRACEKEEPER_IDENTITY_FILE"), "{stderr}");
}

#[test]
fn rotation_replaces_a_private_identity_file_and_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let identity = identity_with_mode(dir.path(), 0o600);
    let before = std::fs::read_to_string(&identity).unwrap();
    let out = run(dir.path(), &["rotate-identity"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(std::fs::read_to_string(&identity).unwrap(), before);
    assert_eq!(mode(&identity), 0o600);
    let old = dir.path().join("data/identity.txt.old");
    assert_eq!(std::fs::read_to_string(&old).unwrap(), before);
    assert_eq!(mode(&old), 0o600);
    assert!(!dir.path().join("data/identity.txt.new").exists());
}
