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
    /// Metrc knows no package with that label (404). Needs View Packages. A package of another
    /// license answers 401 ([`Error::NoAccess`]), as Metrc documents.
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
            Err(Error::UnexpectedStatus { status: 404, .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn labels_stay_one_segment() {
        assert_eq!(
            segment(" 1A4000000000000000000123 "),
            "1A4000000000000000000123"
        );
        assert_eq!(segment("a/b?c"), "a%2Fb%3Fc");
    }
}
