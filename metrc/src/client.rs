//! The HTTP core: one [`Client`] per vendor key, Basic auth, rate-limited and retried GETs, and
//! unretried writes. The typed calls live in `reads`, `paging`, `writes` and `validation`.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::config::ClientConfig;
use crate::error::{Error, Scope, classify, excerpt};
use crate::limits::Limiter;
use crate::retry::backoff;
use crate::window::WindowMemory;

/// A Metrc API client for one vendor key. Cheap to clone (an `Arc` inside); clones share the
/// connection pool and the rate limiter (which is also shared with every other client of the
/// process for the same host and vendor key). The user key is passed to each call.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: ClientConfig,
    http: reqwest::Client,
    limiter: Arc<Limiter>,
    windows: Arc<WindowMemory>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.cfg.base_url.as_str())
            .field("vendor_key", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `cfg` (checked: see [`ClientConfig`]).
    pub fn new(cfg: ClientConfig) -> Result<Client, Error> {
        cfg.check()?;
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            // A redirect would carry the keys, or a write, somewhere Metrc did not say.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tracekeeper-metrc/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let limiter = Limiter::shared(&cfg.base_url, &cfg.vendor_key, cfg.limits);
        let windows = WindowMemory::shared(&cfg.base_url);
        Ok(Client {
            inner: Arc::new(Inner {
                cfg,
                http,
                limiter,
                windows,
            }),
        })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    /// The `lastModified` window width walks ask for now: [`ClientConfig::window`], or the
    /// narrower width Metrc accepted at this base URL after refusing a wider one.
    pub fn window_width(&self) -> chrono::Duration {
        self.inner.windows.width(self.inner.cfg.window)
    }

    /// Takes `1/servers` of each of Metrc's GET limits (docs/metrc.md §9: 150/s and 30 at once
    /// per vendor key, 50/s and 10 at once per license), each rounded down and at least 1, for
    /// this client and every other of the process sharing its limiter: `servers` servers spend
    /// one vendor key's budget (docs/design.md §11). Returns once the new share holds: the rates
    /// change at once, and a smaller share waits for the GETs in flight above it to end (new
    /// GETs queue behind). Calls are serialized; the change completes even if this future is
    /// dropped.
    pub async fn set_share(&self, servers: std::num::NonZeroU32) {
        self.inner.limiter.set_share(servers).await;
    }

    /// Opens (`true`, the default) or closes the gate every GET waits at before it takes its
    /// rate-limit slots: closed while this server may not spend the shared budget
    /// (docs/design.md §11). GETs in flight go on; writes never wait.
    pub fn set_open(&self, open: bool) {
        self.inner.limiter.set_open(open);
    }

    /// Whether the gate of [`Client::set_open`] is open.
    pub fn is_open(&self) -> bool {
        self.inner.limiter.is_open()
    }

    /// The share of the GET limits in force: the `n` of `1/n` (1 = the whole limits), as last
    /// set by [`Client::set_share`] once it held.
    pub fn share(&self) -> u32 {
        self.inner.limiter.share()
    }

    /// How many GETs of this client, and of every other client sharing its rate limiter (the
    /// same host and vendor key in this process), are in flight now: holding their concurrency
    /// slots.
    pub fn gets_in_flight(&self) -> u32 {
        self.inner.limiter.in_flight()
    }

    /// Remembers, for this base URL, that Metrc refused windows wider than `width`.
    pub(crate) fn narrow_windows(&self, width: chrono::Duration) {
        self.inner.windows.narrow(width);
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, Error> {
        let base = self.inner.cfg.base_url.as_str().trim_end_matches('/');
        let mut url = Url::parse(&format!("{base}{path}"))
            .map_err(|e| Error::Config(format!("bad URL for {path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    fn request(&self, method: Method, url: Url, key: &SecretString) -> reqwest::RequestBuilder {
        self.inner.http.request(method, url).basic_auth(
            self.inner.cfg.vendor_key.expose_secret(),
            Some(key.expose_secret()),
        )
    }

    /// The keys to blank out of anything kept from a response.
    fn secrets<'a>(&'a self, key: &'a SecretString) -> [&'a str; 2] {
        [
            key.expose_secret(),
            self.inner.cfg.vendor_key.expose_secret(),
        ]
    }

    fn transport(&self, key: &SecretString, e: &reqwest::Error) -> String {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        excerpt(text.as_bytes(), &self.secrets(key))
    }

    /// A read that got no answer: timed out, or failed in transport.
    fn read_failure(&self, key: &SecretString, e: &reqwest::Error) -> Error {
        if e.is_timeout() {
            Error::Timeout
        } else {
            Error::Transport(self.transport(key, e))
        }
    }

    /// A GET within the rate limits, retried per [`crate::RetryPolicy`] on 429, 5xx, timeouts
    /// and transport errors. `scope` decides what 401/403 mean and which license's limits apply.
    pub(crate) async fn get(
        &self,
        key: &SecretString,
        scope: Scope<'_>,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, Error> {
        let url = self.url(path, query)?;
        let license = scope.license();
        let mut attempt = 1;
        loop {
            let result = {
                let _permit = self.inner.limiter.acquire(license).await;
                self.get_once(key, scope, url.clone(), attempt).await
            };
            match result {
                Ok(json) => return Ok(json),
                Err(error) => match backoff(&self.inner.cfg.retry, attempt, &error) {
                    Some(delay) => {
                        tracing::debug!(path, license, attempt, ?delay, %error, "Metrc GET will be retried");
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                    }
                    None => return Err(error),
                },
            }
        }
    }

    async fn get_once(
        &self,
        key: &SecretString,
        scope: Scope<'_>,
        url: Url,
        attempt: u32,
    ) -> Result<Value, Error> {
        let path = url.path().to_string();
        let license = scope.license();
        let started = Instant::now();
        let sent = self.request(Method::GET, url, key).send().await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                let elapsed_ms = elapsed_ms(started);
                tracing::warn!(
                    method = "GET",
                    path,
                    license,
                    attempt,
                    elapsed_ms,
                    timeout = e.is_timeout(),
                    "Metrc GET failed"
                );
                return Err(self.read_failure(key, &e));
            }
        };
        let status = response.status().as_u16();
        let retry_after = header(&response, reqwest::header::RETRY_AFTER);
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return Err(self.read_failure(key, &e)),
        };
        let elapsed_ms = elapsed_ms(started);
        tracing::debug!(
            method = "GET",
            path,
            license,
            status,
            attempt,
            elapsed_ms,
            "Metrc GET"
        );
        if !(200..300).contains(&status) {
            return Err(classify(
                status,
                retry_after.as_deref(),
                &body,
                scope,
                &self.secrets(key),
            ));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|_| Error::Decode {
            excerpt: excerpt(&body, &self.secrets(key)),
        })
    }

    /// Sends one write once (never retried, not rate-limited: writes are not limited,
    /// docs/metrc.md §9). See [`crate::Client::adjust_packages`] for what each outcome means.
    pub(crate) async fn send_write<B: Serialize + ?Sized>(
        &self,
        key: &SecretString,
        license: &str,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<Value, Error> {
        let url = self.url(path, &[("licenseNumber", license)])?;
        let started = Instant::now();
        let sent = self
            .request(method.clone(), url, key)
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                let elapsed_ms = elapsed_ms(started);
                tracing::warn!(%method, path, license, elapsed_ms, connect = e.is_connect(), "Metrc write failed");
                // Only a failed connect proves nothing reached Metrc.
                return Err(if e.is_connect() {
                    Error::Transport(self.transport(key, &e))
                } else {
                    Error::OutcomeUnknown(self.transport(key, &e))
                });
            }
        };
        let status = response.status().as_u16();
        let retry_after = header(&response, reqwest::header::RETRY_AFTER);
        // Once a status is in, the outcome is known even if the body is lost.
        let body = response.bytes().await.unwrap_or_default();
        let elapsed_ms = elapsed_ms(started);
        tracing::info!(%method, path, license, status, elapsed_ms, rows_bytes = body.len(), "Metrc write");
        if !(200..300).contains(&status) {
            return Err(classify(
                status,
                retry_after.as_deref(),
                &body,
                Scope::License(license),
                &self.secrets(key),
            ));
        }
        Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Milliseconds since `started`, for the logs.
fn elapsed_ms(started: std::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_client_hides_vendor_key_and_urls_join() {
        let cfg = ClientConfig::new(
            Url::parse("http://127.0.0.1:9/prefix/").unwrap(),
            SecretString::from("vendor-secret-xyz"),
        );
        let client = Client::new(cfg).unwrap();
        let text = format!("{client:?}");
        assert!(!text.contains("vendor-secret-xyz"), "{text}");
        let url = client
            .url(
                "/packages/v2/active",
                &[
                    ("licenseNumber", "A B+1"),
                    ("lastModifiedStart", "2026-01-17T06:30:00+00:00"),
                ],
            )
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/prefix/packages/v2/active?licenseNumber=A+B%2B1&lastModifiedStart=2026-01-17T06%3A30%3A00%2B00%3A00"
        );
    }
}
