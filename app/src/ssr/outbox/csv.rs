//! "Export CSV" of Metrc Submissions: the filtered rows (every page), served by
//! `GET /admin/metrc-submissions/export.csv?<the filter's query pairs>` to admins only.
//!
//! RFC 4180, written by the `csv` crate: comma-separated, CRLF line ends, a field quoted when it
//! holds a comma, a quote or a line break, quotes doubled. A field starting with `=`, `+`, `-`, `@`, tab or CR gets a leading
//! `'`, so a spreadsheet shows it as text instead of running it as a formula.

use super::admin::all_rows;
use crate::ssr::session;
use crate::ssr::state::AppState;
use crate::types::submissions::{SubmissionFilter, SubmissionRow};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;
use tower_sessions::Session;

/// Where the export is served.
pub const EXPORT_PATH: &str = "/admin/metrc-submissions/export.csv";
/// Most rows in one export.
pub const MAX_ROWS: u64 = 100_000;

const HEADER: [&str; 10] = [
    "Time (UTC)",
    "ID",
    "User",
    "Facility",
    "Action",
    "Subject",
    "Key used",
    "Compliance",
    "Status",
    "Metrc's answer",
];

/// A cell as the export writes it: a value a spreadsheet would run as a formula (starting with
/// `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`, so it shows as text.
fn guarded(value: &str) -> Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// A CSV writer in RFC 4180's dialect (the `csv` crate: CRLF line ends, a field quoted only
/// when it must be, quotes doubled).
fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

fn line(out: &mut csv::Writer<Vec<u8>>, fields: &[&str]) {
    out.write_record(fields.iter().map(|f| guarded(f).into_owned()))
        .expect("writing CSV to memory cannot fail");
}

fn finish(out: csv::Writer<Vec<u8>>) -> String {
    let bytes = out
        .into_inner()
        .expect("flushing CSV to memory cannot fail");
    String::from_utf8(bytes).expect("CSV of UTF-8 text is UTF-8")
}

/// One CSV field as [`render`] writes it (guarded, then quoted when it must be).
pub fn field(value: &str) -> String {
    let mut out = writer();
    line(&mut out, &[value]);
    let mut text = finish(out);
    text.truncate(text.len() - "\r\n".len());
    text
}

/// The rows as a CSV document, with a header line.
pub fn render(rows: &[SubmissionRow]) -> String {
    let mut out = writer();
    line(&mut out, &HEADER);
    for row in rows {
        line(
            &mut out,
            &[
                &row.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                &row.id.to_string(),
                &row.user_name,
                &row.license_number,
                row.action.label(),
                &row.subject,
                &row.key_used.label(),
                if row.compliant {
                    "Compliant"
                } else {
                    "Not compliant"
                },
                row.status.label(),
                row.metrc_answer.as_deref().unwrap_or_default(),
            ],
        );
    }
    finish(out)
}

/// `GET /admin/metrc-submissions/export.csv`: the session is checked as for server functions
/// (signed in: else 401; an admin with no password change pending: else 403).
pub async fn export(
    State(state): State<AppState>,
    session: Session,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let user = match session::user_in(&session, &state.db).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return (StatusCode::UNAUTHORIZED, "Please sign in to continue.\n").into_response();
        }
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let user = match session::admit(user) {
        Ok(user) if user.is_admin() => user,
        Ok(_) => {
            return (StatusCode::FORBIDDEN, "You are not allowed to do that.\n").into_response();
        }
        Err(refused) => {
            let status = StatusCode::from_u16(refused.status()).unwrap_or(StatusCode::FORBIDDEN);
            return (status, format!("{refused}\n")).into_response();
        }
    };
    let filter = SubmissionFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let rows = match all_rows(&state, &filter, MAX_ROWS).await {
        Ok(rows) => rows,
        Err(error) => {
            tracing::error!(%error, "CSV export failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    tracing::info!(
        actor_user_id = user.id,
        rows = rows.len(),
        "submissions exported"
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"metrc-submissions.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        render(&rows),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_when_they_must_be() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=1+2"), "'=1+2");
        assert_eq!(field("-2, Grams"), "\"'-2, Grams\"");
    }
}
