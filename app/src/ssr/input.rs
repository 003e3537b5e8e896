//! Every bound on what a request may carry, in one place, and the pure checks that apply them.
//! Services call these first, before any other work (hashing, a database query, a Metrc call);
//! a refusal is an [`InputError`] that names the field and the limit. Why each limit is what it
//! is: docs/decisions.md, "Input bounds".

use crate::types::submissions::SUBMIT_TOKEN_CHARS;
use chrono::NaiveDate;
use std::collections::HashSet;
use std::hash::Hash;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The largest request body the router reads, in bytes (64 KiB). The largest legitimate body,
/// a plant waste record of [`MAX_PLANTS`] labels, is about 8 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The longest email, in bytes (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// The longest password, in characters (argon2 hashes whatever it is given).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// The shortest Metrc API key, in characters.
pub const MIN_METRC_KEY_CHARS: usize = 16;
/// The longest Metrc API key, in characters.
pub const MAX_METRC_KEY_CHARS: usize = 128;
/// The longest short text: a name, a search or filter text, a license number, a choice from a
/// list (unit, reason, location), in characters.
pub const MAX_TEXT_CHARS: usize = 100;
/// The longest free text: a note sent to Metrc, an admin's reason for a denial, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// The longest Metrc label (package or plant tag), in characters.
pub const MAX_LABEL_CHARS: usize = 64;
/// The most plants in one waste record, counted as sent (before duplicates are dropped).
pub const MAX_PLANTS: usize = 100;
/// The most licenses in one list (a user's facilities, the facilities a key is assigned to).
pub const MAX_LICENSES: usize = 500;

/// The earliest date accepted for a Metrc record: 2015-01-01, the first Metrc year (the same
/// as the default start of a first sync, `config::DEFAULT_SYNC_HISTORY_START`).
pub fn earliest_date() -> NaiveDate {
    super::config::default_history_start()
}

/// Why an input was refused. Every variant names the field (as the user knows it) and the limit;
/// none holds the refused value, which may be a key or a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("Enter the {field}.")]
    Missing { field: &'static str },
    #[error("The {field} is too long: {max} {unit} at most.")]
    TooLong {
        field: &'static str,
        max: usize,
        unit: &'static str,
    },
    #[error("Too many {field}: {max} at most.")]
    TooMany { field: &'static str, max: usize },
    #[error(
        "That is not a Metrc API key: a key is {MIN_METRC_KEY_CHARS} to {MAX_METRC_KEY_CHARS} letters and digits. Copy it again from Metrc."
    )]
    NotAMetrcKey,
    #[error(
        "The {field} contains an invisible or control character (such as a line break or a text-direction mark): retype it."
    )]
    InvisibleCharacter { field: &'static str },
    #[error("The {field} is too early: Metrc takes dates from {min} on.")]
    TooEarly { field: &'static str, min: NaiveDate },
    /// The work form's submission token is missing or not one the form makes.
    #[error(
        "This form sent no valid submission token ({SUBMIT_TOKEN_CHARS} lowercase hex digits): reload the page and submit again."
    )]
    NotASubmitToken,
}

impl From<InputError> for crate::error::AppError {
    fn from(err: InputError) -> Self {
        crate::error::AppError::BadInput(err.to_string())
    }
}

/// `value` has at most `max` characters.
pub fn max_chars(value: &str, field: &'static str, max: usize) -> Result<(), InputError> {
    // Counting stops one past the limit, so an oversized value costs no more than a valid one.
    if value.chars().nth(max).is_some() {
        return Err(InputError::TooLong {
            field,
            max,
            unit: "characters",
        });
    }
    Ok(())
}

/// A sign-in or new email: at most [`MAX_EMAIL_BYTES`] bytes.
pub fn email(value: &str) -> Result<(), InputError> {
    if value.len() > MAX_EMAIL_BYTES {
        return Err(InputError::TooLong {
            field: "email",
            max: MAX_EMAIL_BYTES,
            unit: "bytes",
        });
    }
    Ok(())
}

/// A password as typed: at most [`MAX_PASSWORD_CHARS`] characters (before it is hashed).
pub fn password(value: &str) -> Result<(), InputError> {
    max_chars(value, "password", MAX_PASSWORD_CHARS)
}

/// A Metrc API key, surrounding whitespace removed: [`MIN_METRC_KEY_CHARS`] to
/// [`MAX_METRC_KEY_CHARS`] ASCII letters and digits. Returns the trimmed key; the error never
/// holds it.
pub fn metrc_key(value: &str) -> Result<&str, InputError> {
    let key = value.trim();
    if key.is_empty() {
        return Err(InputError::Missing {
            field: "Metrc API key",
        });
    }
    if !(MIN_METRC_KEY_CHARS..=MAX_METRC_KEY_CHARS).contains(&key.len())
        || !key.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(InputError::NotAMetrcKey);
    }
    Ok(key)
}

/// A work form's submission token ([`crate::types::submissions::NewSubmission::submit_token`]):
/// exactly [`SUBMIT_TOKEN_CHARS`] lowercase hex digits, else [`InputError::NotASubmitToken`]
/// (the length is checked first, so a long value costs nothing).
pub fn submit_token(value: &str) -> Result<&str, InputError> {
    if value.len() != SUBMIT_TOKEN_CHARS
        || !value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(InputError::NotASubmitToken);
    }
    Ok(value)
}

/// A character no one types in a name: controls, format characters (zero-width and
/// text-direction marks among them), line and paragraph separators, private use.
fn invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
            | GeneralCategory::Unassigned
    )
}

/// Short text shown to other people (a user's name, a license number, a filter, a choice from
/// a list): at most [`MAX_TEXT_CHARS`] characters, none of them [invisible](invisible).
pub fn text(value: &str, field: &'static str) -> Result<(), InputError> {
    max_chars(value, field, MAX_TEXT_CHARS)?;
    if value.chars().any(invisible) {
        return Err(InputError::InvisibleCharacter { field });
    }
    Ok(())
}

/// An optional filter or search text: [`text`] when present.
pub fn filter(value: Option<&str>, field: &'static str) -> Result<(), InputError> {
    value.map_or(Ok(()), |v| text(v, field))
}

/// Free text (a note, a reason): at most [`MAX_NOTE_CHARS`] characters; line breaks and tabs
/// are allowed, other controls and format characters are not.
pub fn note(value: &str, field: &'static str) -> Result<(), InputError> {
    max_chars(value, field, MAX_NOTE_CHARS)?;
    if value
        .chars()
        .any(|c| !matches!(c, '\n' | '\r' | '\t') && invisible(c))
    {
        return Err(InputError::InvisibleCharacter { field });
    }
    Ok(())
}

/// A list of at most `max` entries, counted as sent.
pub fn count<T>(items: &[T], field: &'static str, max: usize) -> Result<(), InputError> {
    if items.len() > max {
        return Err(InputError::TooMany { field, max });
    }
    Ok(())
}

/// `items` without repeats, first occurrence first, in one pass (a hash set of what was seen).
pub fn dedup<T: Eq + Hash + Clone>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

/// A date of a Metrc record: on or after [`earliest_date`]. (The upper bound, today, is the
/// caller's: it depends on the clock.)
pub fn date(value: NaiveDate, field: &'static str) -> Result<(), InputError> {
    let min = earliest_date();
    if value < min {
        return Err(InputError::TooEarly { field, min });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn too_long(field: &'static str, max: usize, unit: &'static str) -> Result<(), InputError> {
        Err(InputError::TooLong { field, max, unit })
    }

    #[test]
    fn an_email_at_its_limit_passes_and_one_byte_more_is_refused_by_name() {
        let at = format!("{}@x.io", "a".repeat(MAX_EMAIL_BYTES - 5));
        assert_eq!(at.len(), MAX_EMAIL_BYTES);
        assert_eq!(email(&at), Ok(()));
        let past = format!("a{at}");
        assert_eq!(email(&past), too_long("email", MAX_EMAIL_BYTES, "bytes"));
        assert_eq!(
            email(&past).unwrap_err().to_string(),
            "The email is too long: 254 bytes at most."
        );
    }

    #[test]
    fn a_password_at_its_limit_passes_and_one_more_character_is_refused() {
        let at = "é".repeat(MAX_PASSWORD_CHARS);
        assert_eq!(password(&at), Ok(()));
        assert_eq!(
            password(&format!("{at}x")),
            too_long("password", MAX_PASSWORD_CHARS, "characters")
        );
    }

    #[test]
    fn metrc_keys_are_letters_and_digits_of_a_bounded_length() {
        let min = "k".repeat(MIN_METRC_KEY_CHARS);
        let max = "K9".repeat(MAX_METRC_KEY_CHARS / 2);
        assert_eq!(metrc_key(&format!("  {min}\n")), Ok(min.as_str()));
        assert_eq!(metrc_key(&max), Ok(max.as_str()));
        assert_eq!(
            metrc_key(&min[1..]),
            Err(InputError::NotAMetrcKey),
            "one short"
        );
        assert_eq!(
            metrc_key(&format!("{max}7")),
            Err(InputError::NotAMetrcKey),
            "one past"
        );
        for bad in [
            "not-a-metrc-key-0000",
            "abcdefgh ijklmnopq",
            "abcdefghijklmnopé",
            "abcdefghijklmnop\u{202e}",
        ] {
            assert_eq!(metrc_key(bad), Err(InputError::NotAMetrcKey), "{bad:?}");
        }
        assert_eq!(
            metrc_key(" \n"),
            Err(InputError::Missing {
                field: "Metrc API key"
            })
        );
        let message = metrc_key("secret-ish-value!").unwrap_err().to_string();
        assert!(!message.contains("secret"), "{message}");
        assert!(message.contains("16 to 128"), "{message}");
    }

    #[test]
    fn submit_tokens_are_exactly_32_lowercase_hex_digits() {
        let token = "0123456789abcdef0123456789abcdef";
        assert_eq!(submit_token(token), Ok(token));
        for bad in [
            "",
            &token[1..],
            &format!("{token}0"),
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcdeg",
            " 123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdé",
        ] {
            assert_eq!(
                submit_token(bad),
                Err(InputError::NotASubmitToken),
                "{bad:?}"
            );
        }
        let message = InputError::NotASubmitToken.to_string();
        assert!(message.contains("reload the page"), "{message}");
    }

    #[test]
    fn names_are_bounded_and_refuse_controls_format_and_direction_characters() {
        let at = "ß".repeat(MAX_TEXT_CHARS);
        assert_eq!(text(&at, "name"), Ok(()));
        assert_eq!(
            text(&format!("{at}ß"), "name"),
            too_long("name", MAX_TEXT_CHARS, "characters")
        );
        assert_eq!(text("Zoë O'Brien-Núñez 李", "name"), Ok(()));
        for bad in [
            "Eve\u{202e}nimda", // right-to-left override
            "Eve\u{2066}x",     // left-to-right isolate
            "Eve\u{200f}",      // right-to-left mark
            "Eve\u{200b}Smith", // zero-width space
            "Eve\u{feff}",      // byte-order mark
            "Eve\nSmith",       // line break
            "Eve\u{7}",         // bell
            "Eve\u{2028}Smith", // line separator
            "Eve\u{e000}",      // private use
        ] {
            assert_eq!(
                text(bad, "name"),
                Err(InputError::InvisibleCharacter { field: "name" }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn filters_are_optional_text() {
        assert_eq!(filter(None, "label"), Ok(()));
        assert_eq!(filter(Some(&"1".repeat(MAX_TEXT_CHARS)), "label"), Ok(()));
        assert_eq!(
            filter(Some(&"1".repeat(MAX_TEXT_CHARS + 1)), "label"),
            too_long("label", MAX_TEXT_CHARS, "characters")
        );
    }

    #[test]
    fn notes_allow_line_breaks_but_not_direction_marks() {
        assert_eq!(note("two\nlines\tand a tab", "note"), Ok(()));
        assert_eq!(note(&"n".repeat(MAX_NOTE_CHARS), "note"), Ok(()));
        assert_eq!(
            note(&"n".repeat(MAX_NOTE_CHARS + 1), "note"),
            too_long("note", MAX_NOTE_CHARS, "characters")
        );
        assert_eq!(
            note("a\u{202e}b", "note"),
            Err(InputError::InvisibleCharacter { field: "note" })
        );
    }

    #[test]
    fn lists_are_counted_as_sent_and_deduplicated_in_order() {
        let at = vec!["A"; MAX_PLANTS];
        assert_eq!(count(&at, "plants", MAX_PLANTS), Ok(()));
        // One past, every entry the same: refused although it is one plant once deduplicated.
        let past = vec!["A"; MAX_PLANTS + 1];
        assert_eq!(
            count(&past, "plants", MAX_PLANTS),
            Err(InputError::TooMany {
                field: "plants",
                max: MAX_PLANTS
            })
        );
        assert_eq!(dedup(["b", "a", "b", "c", "a"]), vec!["b", "a", "c"]);
    }

    #[test]
    fn dedup_is_linear() {
        // 200,000 distinct entries: a quadratic pass (Vec::contains) would take minutes.
        let many: Vec<u32> = (0..200_000).collect();
        let started = std::time::Instant::now();
        assert_eq!(
            dedup(many.iter().copied().chain(many.iter().copied())).len(),
            200_000
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn dates_start_at_the_first_metrc_year() {
        let min = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap();
        assert_eq!(date(min, "waste date"), Ok(()));
        assert_eq!(
            date(min.pred_opt().unwrap(), "waste date"),
            Err(InputError::TooEarly {
                field: "waste date",
                min
            })
        );
        let year_one = NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
        assert_eq!(
            date(year_one, "waste date").unwrap_err().to_string(),
            "The waste date is too early: Metrc takes dates from 2015-01-01 on."
        );
    }
}
