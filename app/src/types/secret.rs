//! A password or Metrc key on its way from the browser to the server: the one type every
//! server function argument that holds one uses (docs/decisions.md, "Secrets on the wire").

use serde::{Deserialize, Serialize};
use std::fmt;

/// A password or key typed in the browser. On the wire it is the plain string (serde
/// transparent: a form field or a JSON string, as before); in `Debug` it is `[REDACTED]`, so
/// the arguments struct a `#[server]` function generates (which derives `Debug`) never prints it.
/// The server turns it into a [`secrecy::SecretString`] at once ([`Secret::into_secret`]).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The text, for the form field that holds it in the browser.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The server's form of it: zeroed when dropped, still redacted in `Debug`.
    #[cfg(feature = "ssr")]
    pub fn into_secret(self) -> secrecy::SecretString {
        secrecy::SecretString::from(self.0)
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Secret(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Secret(text.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_the_wire_form_is_the_plain_string() {
        let secret = Secret::from("hunter2-hunter2");
        assert_eq!(format!("{secret:?}"), "[REDACTED]");
        assert_eq!(
            serde_json::to_string(&secret).unwrap(),
            "\"hunter2-hunter2\""
        );
        let back: Secret = serde_json::from_str("\"hunter2-hunter2\"").unwrap();
        assert_eq!(back.expose(), "hunter2-hunter2");
    }
}
