//! The Content-Security-Policy (docs/decisions.md, "Content-Security-Policy"): the one place its
//! text is decided. A page may run only our own scripts (`/pkg/…`) and the inline scripts Leptos
//! writes into it, which carry the response's nonce; it may instantiate our WASM, load our own
//! styles, images and fonts, talk only to its own origin, and never be framed. Everything that
//! is not a page gets [`NOT_A_PAGE`], under which nothing may load or run.

use axum::http::HeaderValue;
use axum::http::header::CONTENT_SECURITY_POLICY;

/// The policy of a response that is not a page (server function answers, files, refusals).
pub const NOT_A_PAGE: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The policy of a page whose inline scripts carry `nonce` (fresh for each response: Leptos
/// makes one per render, `leptos::nonce::use_nonce`). `'wasm-unsafe-eval'` lets the page
/// instantiate the app's WASM; no `'unsafe-inline'` and no `'unsafe-eval'`: an injected script
/// or `style` attribute does not run or apply.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Sets the page's policy on the response being rendered, with the render's nonce. Called by
/// the document shell; a render without a nonce keeps [`NOT_A_PAGE`] (the router's default),
/// under which its inline scripts do not run rather than the policy being loosened.
pub fn set_for_page() {
    // Either missing is a bug: the page would go out under NOT_A_PAGE and not run at all.
    let Some(nonce) = leptos::nonce::use_nonce() else {
        tracing::error!("a page rendered without a CSP nonce");
        return;
    };
    let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() else {
        tracing::error!("a page rendered without its response options: no CSP for it");
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&page_policy(&nonce)) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    } else {
        tracing::error!("the CSP nonce is not a valid header value");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The directive `name`'s sources in `policy`.
    fn sources<'a>(policy: &'a str, name: &str) -> Vec<&'a str> {
        policy
            .split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
            .map(|rest| rest.split_whitespace().collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_page_runs_only_its_own_and_nonced_scripts_and_is_never_framed() {
        let policy = page_policy("abc123");
        assert_eq!(
            sources(&policy, "script-src"),
            ["'self'", "'nonce-abc123'", "'wasm-unsafe-eval'"]
        );
        assert_eq!(sources(&policy, "style-src"), ["'self'"]);
        assert_eq!(sources(&policy, "default-src"), ["'self'"]);
        assert_eq!(sources(&policy, "object-src"), ["'none'"]);
        assert_eq!(sources(&policy, "base-uri"), ["'none'"]);
        assert_eq!(sources(&policy, "frame-ancestors"), ["'none'"]);
        assert!(!policy.contains("unsafe-inline") && !policy.contains("'unsafe-eval'"));
        assert!(HeaderValue::from_str(&policy).is_ok());

        assert_eq!(sources(NOT_A_PAGE, "default-src"), ["'none'"]);
        assert_eq!(sources(NOT_A_PAGE, "frame-ancestors"), ["'none'"]);
    }
}
