//! What the client's test files share.

use std::time::Duration;

use metrc::{Client, ClientConfig, RetryPolicy};
use secrecy::SecretString;
use url::Url;

/// A client for `url` with 3 attempts and millisecond backoffs (tests must not take long), and
/// the given request timeout.
pub fn quick_client(url: Url, vendor_key: &str, timeout: Duration) -> Client {
    quick_client_with(url, vendor_key, timeout, |_| {})
}

/// [`quick_client`] with further changes to the configuration.
pub fn quick_client_with(
    url: Url,
    vendor_key: &str,
    timeout: Duration,
    tweak: impl FnOnce(&mut ClientConfig),
) -> Client {
    let mut cfg = ClientConfig::new(url, SecretString::from(vendor_key));
    cfg.timeout = timeout;
    cfg.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        rate_limited_delay: Duration::from_millis(10),
    };
    tweak(&mut cfg);
    Client::new(cfg).expect("a valid test configuration")
}
