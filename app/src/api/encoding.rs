//! How server functions' answers travel: JSON, read on the client as text.
//!
//! Leptos reads the resources a page was rendered with from JSON text in the page
//! (`serde_json::from_str`), and `server_fn`'s own `Json` output reads answers from bytes
//! (`serde_json::from_slice`). The two are separate instantiations of every answer type's
//! deserializer, so the client carried each of them twice. [`TextJson`] reads answers as text
//! too, which leaves one (docs/benchmarks.md, "A first visit on a tablet"). Errors
//! ([`crate::error::AppError`]) travel the same way.

use leptos::server_fn::codec::{JsonEncoding, Post};
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{Serialize, de::DeserializeOwned};

/// The output encoding of every server function that answers with one value:
/// `#[server(endpoint = "…", output = TextJson)]`. A `POST` answer of `application/json`,
/// exactly what `server_fn`'s `Json` sends; only the client's reading of it differs.
pub type TextJson = Post<JsonAsText>;

/// JSON with [`serde_json`]: written as `server_fn`'s [`JsonEncoding`] writes it, decoded
/// through `&str`. Errors: [`DecodeError`].
pub struct JsonAsText;

impl ContentType for JsonAsText {
    const CONTENT_TYPE: &'static str = JsonEncoding::CONTENT_TYPE;
}

impl FormatType for JsonAsText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonAsText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        <JsonEncoding as Encodes<T>>::encode(output)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonAsText {
    type Error = DecodeError;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes)?;
        Ok(serde_json::from_str(text)?)
    }
}

/// Why an answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body is not UTF-8, so it is not JSON.
    #[error("the answer is not UTF-8 text: {0}")]
    NotText(#[from] std::str::Utf8Error),
    /// The text is not JSON of the expected shape.
    #[error("the answer is not the JSON expected: {0}")]
    Json(#[from] serde_json::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Answer {
        label: String,
        quantity: f64,
    }

    #[test]
    fn an_answer_reads_back_as_it_was_sent_and_bad_bodies_say_why() {
        let sent = Answer {
            label: "1A4FF0100000022000000001".into(),
            quantity: 2.5,
        };
        let bytes = <JsonAsText as Encodes<Answer>>::encode(&sent).unwrap();
        let read: Answer = <JsonAsText as Decodes<Answer>>::decode(bytes).unwrap();
        assert_eq!(read, sent);

        let not_text = Bytes::from_static(b"{\"label\":\"\xff\"}");
        let err = <JsonAsText as Decodes<Answer>>::decode(not_text).unwrap_err();
        assert!(matches!(err, DecodeError::NotText(_)), "{err}");

        let wrong_shape = Bytes::from_static(b"{\"label\":1}");
        let err = <JsonAsText as Decodes<Answer>>::decode(wrong_shape).unwrap_err();
        assert!(matches!(err, DecodeError::Json(_)), "{err}");
    }
}
