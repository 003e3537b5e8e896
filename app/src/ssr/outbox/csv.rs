//! "Export CSV" of Metrc Submissions: the filtered rows (every page), served by
//! `GET /admin/metrc-submissions/export.csv?<the filter's query pairs>` to admins only. The
//! columns are the list's, then the facility's `State` (last, so the earlier ones keep their
//! places).
//!
//! RFC 4180, written by the `csv` crate: comma-separated, CRLF line ends, a field quoted when it
//! holds a comma, a quote or a line break, quotes doubled. A field starting with `=`, `+`, `-`, `@`, tab or CR gets a leading
//! `'`, so a spreadsheet shows it as text instead of running it as a formula.

use super::OutboxError;
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

const HEADER: [&str; 11] = [
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
    "State",
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
                &row.state,
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
        Err(OutboxError::BadInput(message)) => {
            return (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response();
        }
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
    use crate::types::submissions::tests::submission_row;

    #[test]
    fn fields_are_quoted_when_they_must_be() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=1+2"), "'=1+2");
        assert_eq!(field("-2, Grams"), "\"'-2, Grams\"");
    }

    #[test]
    fn each_row_carries_its_facilitys_state_last() {
        let rows = vec![
            SubmissionRow {
                state: "MI".into(),
                ..submission_row(2, "MI-1")
            },
            SubmissionRow {
                state: "CO".into(),
                ..submission_row(1, "CO-1")
            },
        ];
        let body = render(&rows);
        let lines: Vec<&str> = body.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines[0],
            "Time (UTC),ID,User,Facility,Action,Subject,Key used,Compliance,Status,Metrc's answer,State"
        );
        assert_eq!(
            lines[1],
            "2027-01-15 08:00:00,2,Sam,MI-1,Finish package,1A4,User key,Compliant,Queued,,MI"
        );
        assert!(lines[2].starts_with("2027-01-15 08:00:00,1,Sam,CO-1,"));
        assert!(lines[2].ends_with(",CO"), "{}", lines[2]);
    }

    #[tokio::test]
    async fn the_export_of_a_state_holds_its_rows_each_with_the_state() {
        use crate::ssr::queries::submissions::{self as stored, tests::new_row};
        use crate::ssr::queries::test_db;

        let db = test_db::fresh().await;
        let sam = stored::tests::user(&db).await;
        for (license, state) in [("CO-1", "CO"), ("MI-1", "MI")] {
            test_db::add_facility(&db, license, state).await;
        }
        let mut ids = Vec::new();
        for (i, license) in ["CO-1", "MI-1", "CO-1"].into_iter().enumerate() {
            let stored = stored::insert(&db, new_row(&format!("k{i}"), sam, license))
                .await
                .unwrap();
            ids.push(stored.id);
        }
        let export = |state: Option<&str>| {
            let filter = SubmissionFilter {
                state: state.map(str::to_owned),
                ..Default::default()
            };
            let db = &db;
            async move {
                render(
                    &super::super::admin::selected_rows(db, &filter, MAX_ROWS)
                        .await
                        .unwrap(),
                )
            }
        };
        let lines = |body: String| -> Vec<(i64, String)> {
            body.split("\r\n")
                .skip(1)
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let cells: Vec<&str> = l.split(',').collect();
                    (cells[1].parse().unwrap(), cells[cells.len() - 1].to_owned())
                })
                .collect()
        };
        assert_eq!(
            lines(export(Some("co")).await),
            vec![(ids[2], "CO".to_owned()), (ids[0], "CO".to_owned())]
        );
        assert_eq!(
            lines(export(Some("MI")).await),
            vec![(ids[1], "MI".to_owned())]
        );
        assert_eq!(
            lines(export(None).await)
                .into_iter()
                .map(|(_, state)| state)
                .collect::<Vec<_>>(),
            ["CO", "MI", "CO"]
        );
        let refused = super::super::admin::selected_rows(
            &db,
            &SubmissionFilter {
                state: Some("Colorado".into()),
                ..Default::default()
            },
            MAX_ROWS,
        )
        .await;
        assert!(
            matches!(refused, Err(OutboxError::BadInput(_))),
            "{refused:?}"
        );
    }
}
