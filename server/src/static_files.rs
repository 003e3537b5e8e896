//! The client's files under `/pkg` (WASM, JavaScript, CSS): sent precompressed, brotli or gzip as
//! the browser accepts (the release build writes a `.br` and a `.gz` beside each file:
//! `cargo leptos build --release --precompress`), and, when their names carry a hash of their
//! content (`hash-files` in `Cargo.toml`), cached by the browser for good: a new build has new
//! names, so a second visit downloads no WASM. Pages and server functions are never cached
//! (`security_headers`). Why: docs/decisions.md, "Tablets on weak Wi-Fi".

use axum::Router;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use std::path::Path;
use tower_http::services::ServeDir;

/// `Cache-Control` of a file whose name changes with its content: a year, never revalidated.
pub const HASHED: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of a file whose name stays the same from build to build (a development
/// build): the browser asks again each time (a 304 when it has not changed).
pub const UNHASHED: &str = "no-cache";

/// Serves the files of `dir` (the site's `pkg` directory), `hashed` when their names carry a
/// hash of their content. A file missing from `dir` is a 404 that no browser keeps.
pub fn pkg(dir: &Path, hashed: bool) -> Router {
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let cache = HeaderValue::from_static(if hashed { HASHED } else { UNHASHED });
    Router::new()
        .fallback_service(files)
        .layer(axum::middleware::map_response(
            move |mut response: Response| {
                let cache = cache.clone();
                async move {
                    if response.status().is_success()
                        || response.status() == StatusCode::NOT_MODIFIED
                    {
                        response.headers_mut().insert(CACHE_CONTROL, cache);
                    }
                    response
                }
            },
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use axum::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
    use tower::ServiceExt;

    /// A `pkg` directory with `app.wasm` and its two compressed copies (each with its own
    /// content, so that the test sees which one was sent).
    fn pkg_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.wasm"), b"plain").unwrap();
        std::fs::write(dir.path().join("app.wasm.br"), b"brotli").unwrap();
        std::fs::write(dir.path().join("app.wasm.gz"), b"gzip").unwrap();
        dir
    }

    /// `GET path` with `accept` as `Accept-Encoding`: the status, `Content-Encoding`,
    /// `Cache-Control` and the body.
    async fn get(
        router: Router,
        path: &str,
        accept: Option<&str>,
    ) -> (StatusCode, Option<String>, Option<String>, Vec<u8>) {
        let mut request = Request::get(path);
        if let Some(accept) = accept {
            request = request.header(ACCEPT_ENCODING, accept);
        }
        let response = router
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &HeaderValue| v.to_str().unwrap().to_owned())
        };
        let (encoding, cache) = (header(CONTENT_ENCODING), header(CACHE_CONTROL));
        let status = response.status();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, encoding, cache, body.to_vec())
    }

    #[tokio::test]
    async fn the_browser_gets_the_smallest_copy_it_accepts_cached_for_good_when_hashed() {
        let dir = pkg_dir();
        let cases = [
            (Some("gzip, deflate, br"), Some("br"), "brotli"),
            (Some("gzip"), Some("gzip"), "gzip"),
            (None, None, "plain"),
        ];
        for (accept, encoding, body) in cases {
            let answer = get(pkg(dir.path(), true), "/app.wasm", accept).await;
            assert_eq!(answer.0, StatusCode::OK, "{accept:?}");
            assert_eq!(answer.1.as_deref(), encoding, "{accept:?}");
            assert_eq!(answer.2.as_deref(), Some(HASHED), "{accept:?}");
            assert_eq!(answer.3, body.as_bytes(), "{accept:?}");
        }
    }

    #[tokio::test]
    async fn unhashed_files_are_revalidated_and_a_missing_file_is_not_kept() {
        let dir = pkg_dir();
        let unhashed = get(pkg(dir.path(), false), "/app.wasm", Some("br")).await;
        assert_eq!(unhashed.2.as_deref(), Some(UNHASHED));
        let missing = get(pkg(dir.path(), true), "/other.wasm", Some("br")).await;
        assert_eq!(missing.0, StatusCode::NOT_FOUND);
        assert_eq!(missing.2, None);
    }
}
