//! Single records by label: what the outbox reads to tell whether a write whose answer was lost
//! was recorded (a finished or moved package shows it). Read with the one decoder every Metrc
//! read uses (`types::tolerant`): any key case, the record kept as sent (field case-06).

use secrecy::SecretString;

use crate::client::Client;
use crate::error::{Error, Scope, excerpt};
use crate::types::Package;
use crate::types::tolerant::decode;

/// A label as one path segment: Metrc labels are letters and digits; anything else is
/// percent-encoded so it cannot change the path.
fn segment(label: &str) -> String {
    label
        .trim()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Client {
    /// `GET /packages/v2/{label}?licenseNumber=`: the package, finished or not, or `None` when
    /// Metrc knows no package with that label (404 with Metrc's `{"Message": ...}` body). A 404
    /// without Metrc's body (empty, a gateway's page) says nothing about the package: it stays
    /// [`Error::UnexpectedStatus`]. Needs View Packages. A package of another license answers 401
    /// ([`Error::NoAccess`]), as Metrc documents.
    pub async fn package_by_label(
        &self,
        key: &SecretString,
        license: &str,
        label: &str,
    ) -> Result<Option<Package>, Error> {
        let path = format!("/packages/v2/{}", segment(label));
        let query = [("licenseNumber", license)];
        match self.get(key, Scope::License(license), &path, &query).await {
            Ok(json) => {
                let text = json.to_string();
                decode(json).map(Some).map_err(|_| Error::Decode {
                    excerpt: excerpt(text.as_bytes(), &[]),
                })
            }
            Err(Error::UnexpectedStatus {
                status: 404,
                excerpt,
            }) if is_metrc_message(&excerpt) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

/// Whether an error body is Metrc's own `{"Message": "..."}` (any key case).
fn is_metrc_message(body: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(obj)) => {
            crate::types::tolerant::field(&obj, "Message").is_some_and(serde_json::Value::is_string)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{is_metrc_message, segment};

    #[test]
    fn only_metrcs_own_404_body_says_no_such_package() {
        assert!(is_metrc_message(
            r#"{"Message": "No HTTP resource was found."}"#
        ));
        assert!(is_metrc_message(r#"{"message": "Not Found"}"#));
        for other in [
            "",
            "<html><body>404 Not Found</body></html>",
            "\"Not Found\"",
            "{}",
        ] {
            assert!(!is_metrc_message(other), "{other}");
        }
    }

    #[test]
    fn labels_stay_one_segment() {
        assert_eq!(
            segment(" 1A4000000000000000000123 "),
            "1A4000000000000000000123"
        );
        assert_eq!(segment("a/b?c"), "a%2Fb%3Fc");
    }
}
