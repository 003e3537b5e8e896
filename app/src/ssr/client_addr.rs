//! Who is asking: the client's address behind trusted reverse proxies (for throttling and the
//! audit log), and whether a state-changing request comes from our own pages (docs/design.md §6).

use super::config::Config;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, header};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The client's address for the request a server function is serving ([`client_address`] with
/// the configured trusted proxies); `None` outside a request.
pub async fn of_request(config: &Config) -> Option<IpAddr> {
    let ConnectInfo(peer) = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .ok()?;
    let headers = leptos_axum::extract::<HeaderMap>().await.ok()?;
    Some(client_address(peer.ip(), &headers, &config.trusted_proxies))
}

/// The client's address. `peer` is the address the connection comes from; only when it is in
/// `trusted` (the reverse proxies of `TRACEKEEPER_TRUSTED_PROXIES`) is `X-Forwarded-For`
/// believed, read from the right: each trusted proxy appended the address it saw, so the first
/// address from the right that is not a trusted proxy is the client. A malformed entry stops the
/// walk at the last address that was believed; when every entry is a trusted proxy, the
/// leftmost one is the client.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim);
    let mut client = peer;
    for hop in hops.rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// Why a state-changing request was refused as cross-site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CrossSite {
    #[error("cross-site request refused: its Origin is not this site's")]
    OtherOrigin,
    #[error("cross-site request refused: Sec-Fetch-Site is not same-origin")]
    OtherSite,
    #[error("request refused: it has neither an Origin nor a Sec-Fetch-Site header")]
    Unmarked,
}

/// Whether a request may change state. GET, HEAD and OPTIONS may; anything else needs an
/// `Origin` equal to `public_origin` (`TRACEKEEPER_PUBLIC_ORIGIN`, as `scheme://host[:port]`,
/// the default port left out), or, with no public origin set, an `Origin` whose host and port
/// are the `Host` header's. Without an `Origin`, `Sec-Fetch-Site: same-origin` is required;
/// with neither header the request is refused (browsers send one or the other on every POST).
pub fn same_origin(
    method: &Method,
    headers: &HeaderMap,
    public_origin: Option<&str>,
) -> Result<(), CrossSite> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(origin) = text(header::ORIGIN.as_str()) {
        let matches = if let Some(public) = public_origin {
            origin.eq_ignore_ascii_case(public)
        } else {
            let host = origin.split_once("://").map(|(_, rest)| rest);
            host.is_some() && host == text(header::HOST.as_str())
        };
        return if matches {
            Ok(())
        } else {
            Err(CrossSite::OtherOrigin)
        };
    }
    match text("sec-fetch-site") {
        Some("same-origin") => Ok(()),
        Some(_) => Err(CrossSite::OtherSite),
        None => Err(CrossSite::Unmarked),
    }
}

/// `TRACEKEEPER_PUBLIC_ORIGIN` as browsers write an `Origin`: `scheme://host[:port]`, lower
/// case, the scheme's default port left out. `None` for anything but an http(s) URL with a host
/// and no path beyond `/`.
pub fn parse_public_origin(value: &str) -> Option<String> {
    let url = url::Url::parse(value.trim()).ok()?;
    let plain = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    let origin = url.origin();
    (plain && matches!(url.scheme(), "http" | "https") && origin.is_tuple())
        .then(|| origin.ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_are_ignored_unless_the_peer_is_a_trusted_proxy() {
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            client_address(ip("198.51.100.7"), &forwarded, &[]),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(ip("198.51.100.7"), &forwarded, &nets(&["10.0.0.0/8"])),
            ip("198.51.100.7"),
            "a client cannot claim an address by sending the header itself"
        );
        assert_eq!(
            client_address(ip("10.1.2.3"), &forwarded, &nets(&["10.0.0.0/8"])),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_client_is_the_first_untrusted_address_from_the_right() {
        let trusted = nets(&["10.0.0.0/8", "2001:db8::/32"]);
        // The client forged the first entry; our two proxies appended the rest.
        let forwarded = headers(&[
            ("x-forwarded-for", "1.2.3.4, 203.0.113.9"),
            ("x-forwarded-for", "10.0.0.5"),
        ]);
        assert_eq!(
            client_address(ip("2001:db8::1"), &forwarded, &trusted),
            ip("203.0.113.9")
        );
        // Every hop a proxy: the leftmost.
        let inside = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.5")]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &inside, &trusted),
            ip("10.9.9.9")
        );
        // A malformed entry ends the walk at the last believed address.
        let junk = headers(&[("x-forwarded-for", "203.0.113.9, not-an-ip, 10.0.0.5")]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &junk, &trusted),
            ip("10.0.0.5")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_address(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn safe_methods_pass_and_a_post_needs_a_same_origin_mark() {
        let none = HeaderMap::new();
        assert_eq!(same_origin(&Method::GET, &none, None), Ok(()));
        assert_eq!(
            same_origin(&Method::POST, &none, None),
            Err(CrossSite::Unmarked)
        );
        let fetch = |site| headers(&[("sec-fetch-site", site)]);
        assert_eq!(
            same_origin(&Method::POST, &fetch("same-origin"), None),
            Ok(())
        );
        assert_eq!(
            same_origin(&Method::POST, &fetch("same-site"), None),
            Err(CrossSite::OtherSite)
        );
        assert_eq!(
            same_origin(&Method::POST, &fetch("cross-site"), None),
            Err(CrossSite::OtherSite)
        );
    }

    #[test]
    fn without_a_public_origin_the_origin_must_name_the_host() {
        let post = |origin, host| {
            same_origin(
                &Method::POST,
                &headers(&[("origin", origin), ("host", host)]),
                None,
            )
        };
        assert_eq!(post("http://tk.local:3000", "tk.local:3000"), Ok(()));
        assert_eq!(
            post("http://evil.example", "tk.local:3000"),
            Err(CrossSite::OtherOrigin)
        );
        assert_eq!(post("null", "tk.local:3000"), Err(CrossSite::OtherOrigin));
    }

    #[test]
    fn a_public_origin_is_matched_exactly_scheme_host_and_port() {
        let public = parse_public_origin("https://TK.example.com/").unwrap();
        assert_eq!(public, "https://tk.example.com");
        let post = |origin| {
            same_origin(
                &Method::POST,
                &headers(&[("origin", origin), ("host", "tk.example.com")]),
                Some(&public),
            )
        };
        assert_eq!(post("https://tk.example.com"), Ok(()));
        for other in [
            "http://tk.example.com",
            "https://tk.example.com:8443",
            "https://tk.example.com.evil.example",
            "https://evil.example",
        ] {
            assert_eq!(post(other), Err(CrossSite::OtherOrigin), "{other}");
        }
        assert_eq!(
            parse_public_origin("https://tk.example.com:443").as_deref(),
            Some("https://tk.example.com")
        );
        assert_eq!(
            parse_public_origin("http://tk.example.com:8080").as_deref(),
            Some("http://tk.example.com:8080")
        );
        assert_eq!(parse_public_origin("tk.example.com"), None);
        assert_eq!(parse_public_origin("https://tk.example.com/app"), None);
        assert_eq!(parse_public_origin("ftp://tk.example.com"), None);
    }
}
