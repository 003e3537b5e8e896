//! The `submissions` table: the outbox. Every status change is one conditional `UPDATE` (the row
//! must still be in an expected status), so the worker and admins never overwrite each other's
//! decisions and SQLite never has to upgrade a read transaction to a write.

use super::super::entities::facilities::{self, Entity as Facilities};
use super::super::entities::submissions::{self, Entity as Submissions};
use super::super::entities::users::{self, Entity as Users};
use super::counting::total;
use super::leases::{self, Held};
use crate::ssr::outbox::KeyKind;
use crate::types::inventory::Total;
use crate::types::submissions::{SubmissionAction, SubmissionStatus};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

/// A submission as it is stored before anything is sent.
pub struct NewSubmissionRow<'a> {
    pub idempotency_key: &'a str,
    pub user_id: i32,
    /// The work form's token, unique per user (`None` only for rows made without a form).
    pub submit_token: Option<&'a str>,
    pub license_number: &'a str,
    pub action: SubmissionAction,
    /// The Metrc row (JSON text).
    pub request: String,
    pub key_kind: KeyKind,
    pub key_owner: &'a str,
    pub compliant: bool,
    pub status: SubmissionStatus,
    pub message: Option<String>,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewSubmissionRow<'_>,
) -> Result<submissions::Model, DbErr> {
    let now = Utc::now();
    submissions::ActiveModel {
        idempotency_key: Set(new.idempotency_key.to_owned()),
        user_id: Set(new.user_id),
        submit_token: Set(new.submit_token.map(str::to_owned)),
        license_number: Set(new.license_number.to_owned()),
        action: Set(new.action),
        request: Set(new.request),
        key_kind: Set(new.key_kind),
        key_owner: Set(new.key_owner.to_owned()),
        compliant: Set(new.compliant),
        status: Set(new.status),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        metrc_status: Set(None),
        metrc_response: Set(None),
        message: Set(new.message),
        decision: Set(None),
        decided_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<submissions::Model>, DbErr> {
    Submissions::find_by_id(id).one(db).await
}

/// The submission `user_id` stored with the work form's token `token`, if any (at most one: the
/// pair is unique).
pub async fn find_by_token(
    db: &impl ConnectionTrait,
    user_id: i32,
    token: &str,
) -> Result<Option<submissions::Model>, DbErr> {
    Submissions::find()
        .filter(submissions::Column::UserId.eq(user_id))
        .filter(submissions::Column::SubmitToken.eq(token))
        .one(db)
        .await
}

fn statuses(list: &[SubmissionStatus]) -> Vec<SubmissionStatus> {
    list.to_vec()
}

/// Which rows a listing or export shows (all conditions together).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub user_id: Option<i32>,
    pub license_number: Option<String>,
    /// Only the facilities of this state (two upper-case letters, as `facilities.state` holds
    /// them); `None`: every state.
    pub state: Option<String>,
    /// Any of these statuses; empty: any status.
    pub statuses: Vec<SubmissionStatus>,
    pub compliant: Option<bool>,
}

impl Selection {
    fn condition(&self) -> Condition {
        let mut all = Condition::all();
        if let Some(user) = self.user_id {
            all = all.add(submissions::Column::UserId.eq(user));
        }
        if let Some(license) = &self.license_number {
            all = all.add(submissions::Column::LicenseNumber.eq(license.trim()));
        }
        if let Some(state) = &self.state {
            all = all.add(in_state(state));
        }
        if !self.statuses.is_empty() {
            all = all.add(submissions::Column::Status.is_in(statuses(&self.statuses)));
        }
        if let Some(compliant) = self.compliant {
            all = all.add(submissions::Column::Compliant.eq(compliant));
        }
        all
    }
}

/// `license_number IN (SELECT license_number FROM facilities WHERE state = <state>)`: the rows
/// of the facilities of `state`.
fn in_state(state: &str) -> SimpleExpr {
    Expr::col((Submissions, submissions::Column::LicenseNumber)).in_subquery(
        Query::select()
            .column((Facilities, facilities::Column::LicenseNumber))
            .from(Facilities)
            .and_where(Expr::col((Facilities, facilities::Column::State)).eq(state))
            .to_owned(),
    )
}

/// One page of the selected rows, newest first, and how many there are in all (counted only so
/// far past the page, or not at all when the page ends the list: [`total`]).
pub async fn page(
    db: &impl ConnectionTrait,
    selection: &Selection,
    page: u64,
    page_size: u64,
) -> Result<(Vec<submissions::Model>, Total), DbErr> {
    let query = Submissions::find()
        .filter(selection.condition())
        .order_by_desc(submissions::Column::Id);
    let rows = query
        .clone()
        .offset(page * page_size)
        .limit(page_size)
        .all(db)
        .await?;
    let total = total(db, query, page * page_size, rows.len(), page_size).await?;
    Ok((rows, total))
}

/// Every selected row, newest first, at most `limit` (the CSV export).
pub async fn all(
    db: &impl ConnectionTrait,
    selection: &Selection,
    limit: u64,
) -> Result<Vec<submissions::Model>, DbErr> {
    Submissions::find()
        .filter(selection.condition())
        .order_by_desc(submissions::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// The names of these users, by id.
pub async fn user_names(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i32>,
) -> Result<HashMap<i32, String>, DbErr> {
    let mut ids: Vec<i32> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(Users::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::Name)
        .filter(users::Column::Id.is_in(ids))
        .into_tuple::<(i32, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The statuses of the send queue: waiting their turn at Metrc.
const IN_QUEUE: [SubmissionStatus; 2] = [SubmissionStatus::Queued, SubmissionStatus::Retrying];

/// The facilities whose queue has something, with the id of its oldest row (the head, which is
/// sent first: facilities are served in order).
pub async fn queue_heads(db: &impl ConnectionTrait) -> Result<Vec<(String, i64)>, DbErr> {
    Submissions::find()
        .select_only()
        .column(submissions::Column::LicenseNumber)
        .column_as(submissions::Column::Id.min(), "head")
        .filter(submissions::Column::Status.is_in(statuses(&IN_QUEUE)))
        .group_by(submissions::Column::LicenseNumber)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await
}

/// The rows with these ids.
pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<submissions::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Submissions::find()
        .filter(submissions::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(submissions::Column::Id)
        .all(db)
        .await
}

/// The first `limit` rows of the facility's queue, oldest first.
pub async fn queue(
    db: &impl ConnectionTrait,
    license_number: &str,
    limit: u64,
) -> Result<Vec<submissions::Model>, DbErr> {
    Submissions::find()
        .filter(submissions::Column::LicenseNumber.eq(license_number))
        .filter(submissions::Column::Status.is_in(statuses(&IN_QUEUE)))
        .order_by_asc(submissions::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Marks the rows `Sending` (one more attempt, sent now) under the facility's outbox lease
/// `claim` (its token stored in `claim_token`) if they are still in the queue and the lease is
/// still live at `now` (a fence: a server whose lease was taken over claims nothing); returns how
/// many were marked. Committed before Metrc is called: a crash from here on leaves them
/// `Sending`, which the next holder of the lease turns into `Unknown` once this one has expired,
/// never into a blind resend.
pub async fn mark_sending(
    db: &impl ConnectionTrait,
    ids: &[i64],
    now: DateTime<Utc>,
    claim: &Held,
) -> Result<u64, DbErr> {
    Ok(Submissions::update_many()
        .col_expr(
            submissions::Column::Status,
            Expr::value(SubmissionStatus::Sending),
        )
        .col_expr(
            submissions::Column::Attempts,
            Expr::col(submissions::Column::Attempts).add(1),
        )
        .col_expr(submissions::Column::SentAt, Expr::value(now))
        .col_expr(submissions::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            submissions::Column::ClaimToken,
            Expr::value(claim.token.clone()),
        )
        .filter(submissions::Column::Id.is_in(ids.iter().copied()))
        .filter(submissions::Column::Status.is_in(statuses(&IN_QUEUE)))
        .filter(leases::still_held(claim, now))
        .exec(db)
        .await?
        .rows_affected)
}

/// One more attempt for rows already `Sending` under `claim` (rows sent again at once, one by
/// one, after Metrc refused their call as a whole), fenced like [`mark_sending`]; returns how
/// many were counted.
pub async fn count_attempt(
    db: &impl ConnectionTrait,
    ids: &[i64],
    now: DateTime<Utc>,
    claim: &Held,
) -> Result<u64, DbErr> {
    Ok(Submissions::update_many()
        .col_expr(
            submissions::Column::Attempts,
            Expr::col(submissions::Column::Attempts).add(1),
        )
        .col_expr(submissions::Column::SentAt, Expr::value(now))
        .col_expr(submissions::Column::UpdatedAt, Expr::value(now))
        .filter(submissions::Column::Id.is_in(ids.iter().copied()))
        .filter(submissions::Column::Status.eq(SubmissionStatus::Sending))
        .filter(submissions::Column::ClaimToken.eq(claim.token.as_str()))
        .filter(leases::still_held(claim, now))
        .exec(db)
        .await?
        .rows_affected)
}

/// What becomes of a row after a status change.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub metrc_status: Option<Option<i32>>,
    pub metrc_response: Option<Option<String>>,
    pub message: Option<Option<String>>,
    pub next_attempt_at: Option<Option<DateTime<Utc>>>,
    pub decision: Option<Option<String>>,
    pub decided_by: Option<Option<i32>>,
}

/// Moves row `id` to `to` if it is in one of `from`, with the fields of `change`; returns whether
/// it was.
pub async fn transition(
    db: &impl ConnectionTrait,
    id: i64,
    from: &[SubmissionStatus],
    to: SubmissionStatus,
    change: Change,
) -> Result<bool, DbErr> {
    Ok(Submissions::update_many()
        .set(moved(to, change))
        .filter(submissions::Column::Id.eq(id))
        .filter(submissions::Column::Status.is_in(statuses(from)))
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// Moves row `id` from `Sending` to `to` with the fields of `change` only if it is still
/// `Sending` under the claim `token` (the answer to a call is stored on the call's own rows: a
/// row another server has meanwhile made `Unknown`, its lease having expired, stays so). Returns
/// whether it was moved.
pub async fn transition_claimed(
    db: &impl ConnectionTrait,
    id: i64,
    token: &str,
    to: SubmissionStatus,
    change: Change,
) -> Result<bool, DbErr> {
    Ok(Submissions::update_many()
        .set(moved(to, change))
        .filter(submissions::Column::Id.eq(id))
        .filter(submissions::Column::Status.eq(SubmissionStatus::Sending))
        .filter(submissions::Column::ClaimToken.eq(token))
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// Moves `row` to `to` with the fields of `change` only if it is still the very attempt that was
/// read: the same status, attempt count and send time (an automatic decision made from an older
/// read never lands on a later attempt; docs/decisions.md, "Conditional transitions"). Returns
/// whether it was moved.
pub async fn transition_examined(
    db: &impl ConnectionTrait,
    row: &submissions::Model,
    to: SubmissionStatus,
    change: Change,
) -> Result<bool, DbErr> {
    transition_examined_if(db, row, to, change, None).await
}

/// [`transition_examined`], and only while `fence` holds (a lease still live:
/// [`leases::still_held`]).
pub async fn transition_examined_fenced(
    db: &impl ConnectionTrait,
    row: &submissions::Model,
    to: SubmissionStatus,
    change: Change,
    fence: SimpleExpr,
) -> Result<bool, DbErr> {
    transition_examined_if(db, row, to, change, Some(fence)).await
}

async fn transition_examined_if(
    db: &impl ConnectionTrait,
    row: &submissions::Model,
    to: SubmissionStatus,
    change: Change,
    fence: Option<SimpleExpr>,
) -> Result<bool, DbErr> {
    let sent_at = match row.sent_at {
        Some(at) => submissions::Column::SentAt.eq(at),
        None => submissions::Column::SentAt.is_null(),
    };
    let mut update = Submissions::update_many()
        .set(moved(to, change))
        .filter(submissions::Column::Id.eq(row.id))
        .filter(submissions::Column::Status.eq(row.status))
        .filter(submissions::Column::Attempts.eq(row.attempts))
        .filter(sent_at);
    if let Some(fence) = fence {
        update = update.filter(fence);
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// The columns a move to `to` with `change` writes.
fn moved(to: SubmissionStatus, change: Change) -> submissions::ActiveModel {
    let mut row = submissions::ActiveModel {
        status: Set(to),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    if let Some(v) = change.metrc_status {
        row.metrc_status = Set(v);
    }
    if let Some(v) = change.metrc_response {
        row.metrc_response = Set(v);
    }
    if let Some(v) = change.message {
        row.message = Set(v);
    }
    if let Some(v) = change.next_attempt_at {
        row.next_attempt_at = Set(v);
    }
    if let Some(v) = change.decision {
        row.decision = Set(v);
    }
    if let Some(v) = change.decided_by {
        row.decided_by = Set(v);
    }
    row
}

/// Every row still `Sending` (of one facility, or of all), oldest first: calls under way, and
/// calls whose answer was never stored (their server stopped, or storing failed), which the
/// next holder of the facility's lease makes `Unknown`.
pub async fn sending(
    db: &impl ConnectionTrait,
    license_number: Option<&str>,
) -> Result<Vec<submissions::Model>, DbErr> {
    let mut query =
        Submissions::find().filter(submissions::Column::Status.eq(SubmissionStatus::Sending));
    if let Some(license) = license_number {
        query = query.filter(submissions::Column::LicenseNumber.eq(license));
    }
    query.order_by_asc(submissions::Column::Id).all(db).await
}

/// `Unknown` rows due for another look at Metrc's data, oldest first.
pub async fn unknown_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<submissions::Model>, DbErr> {
    Submissions::find()
        .filter(submissions::Column::Status.eq(SubmissionStatus::Unknown))
        .filter(
            Condition::any()
                .add(submissions::Column::NextAttemptAt.is_null())
                .add(submissions::Column::NextAttemptAt.lte(now)),
        )
        .order_by_asc(submissions::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Puts the user's queued and retrying rows on hold for an admin (`Pending approval`); returns
/// how many.
pub async fn hold_for_user(
    db: &impl ConnectionTrait,
    user_id: i32,
    message: &str,
) -> Result<u64, DbErr> {
    Ok(Submissions::update_many()
        .set(submissions::ActiveModel {
            status: Set(SubmissionStatus::PendingApproval),
            message: Set(Some(message.to_owned())),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .filter(submissions::Column::UserId.eq(user_id))
        .filter(submissions::Column::Status.is_in(statuses(&IN_QUEUE)))
        .exec(db)
        .await?
        .rows_affected)
}

/// How many rows have each status.
pub async fn count_by_status(db: &impl ConnectionTrait) -> Result<HashMap<String, u64>, DbErr> {
    Ok(Submissions::find()
        .select_only()
        .column(submissions::Column::Status)
        .column_as(submissions::Column::Id.count(), "n")
        .group_by(submissions::Column::Status)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(status, n)| (status, u64::try_from(n).unwrap_or_default()))
        .collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ssr::queries::test_db;
    use std::time::Duration;

    const TTL: Duration = Duration::from_secs(30);

    /// Sam, who sends the rows of these tests.
    pub(crate) async fn user(db: &impl ConnectionTrait) -> i32 {
        test_db::add_employee(db, "sam@example.test", "Sam Sender", true)
            .await
            .id
    }

    /// A queued, compliant "Finish package" under the user's own key (Sam's by name).
    pub(crate) fn new_row(key: &str, user_id: i32, license: &str) -> NewSubmissionRow<'static> {
        NewSubmissionRow {
            idempotency_key: Box::leak(key.to_owned().into_boxed_str()),
            user_id,
            submit_token: None,
            license_number: Box::leak(license.to_owned().into_boxed_str()),
            action: SubmissionAction::FinishPackage,
            request: r#"{"Label":"L1","ActualDate":"2026-01-02"}"#.into(),
            key_kind: KeyKind::User,
            key_owner: "Sam Sender",
            compliant: true,
            status: SubmissionStatus::Queued,
            message: None,
        }
    }

    #[tokio::test]
    async fn the_queue_is_served_in_order_and_only_queued_rows_are_marked_sending() {
        let db = test_db::fresh().await;
        let sam = user(&db).await;
        let a = insert(&db, new_row("k1", sam, "A-1")).await.unwrap();
        let b = insert(&db, new_row("k2", sam, "A-1")).await.unwrap();
        let c = insert(&db, new_row("k3", sam, "B-2")).await.unwrap();
        assert!(
            insert(&db, new_row("k1", sam, "A-1")).await.is_err(),
            "idempotency keys are unique"
        );

        let mut heads = queue_heads(&db).await.unwrap();
        heads.sort();
        assert_eq!(heads, vec![("A-1".into(), a.id), ("B-2".into(), c.id)]);
        let queued = queue(&db, "A-1", 10).await.unwrap();
        assert_eq!(
            queued.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![a.id, b.id]
        );

        assert!(
            transition(
                &db,
                b.id,
                &[SubmissionStatus::Queued],
                SubmissionStatus::Cancelled,
                Change::default()
            )
            .await
            .unwrap()
        );
        let now = Utc::now();
        let claim = leases::acquire(&db, "outbox:A-1", "me", TTL, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            mark_sending(&db, &[a.id, b.id], now, &claim).await.unwrap(),
            1
        );
        let sent = find(&db, a.id).await.unwrap().unwrap();
        assert_eq!(sent.status, SubmissionStatus::Sending);
        assert_eq!(sent.attempts, 1);
        assert!(sent.sent_at.is_some());
        assert_eq!(sent.claim_token, Some(claim.token.clone()));
        assert_eq!(sending(&db, None).await.unwrap().len(), 1);
        // Cancelling a row being sent is refused by the condition.
        assert!(
            !transition(
                &db,
                a.id,
                &[SubmissionStatus::Queued],
                SubmissionStatus::Cancelled,
                Change::default()
            )
            .await
            .unwrap()
        );

        assert_eq!(hold_for_user(&db, sam, "held").await.unwrap(), 1);
        assert_eq!(
            find(&db, c.id).await.unwrap().unwrap().status,
            SubmissionStatus::PendingApproval
        );
        let counts = count_by_status(&db).await.unwrap();
        assert_eq!(counts.get("sending"), Some(&1));
        assert_eq!(counts.get("cancelled"), Some(&1));

        let (rows, total) = page(
            &db,
            &Selection {
                license_number: Some("A-1".into()),
                ..Default::default()
            },
            0,
            1,
        )
        .await
        .unwrap();
        assert_eq!(total, Total::exact(2));
        assert_eq!(rows[0].id, b.id, "newest first");
        assert_eq!(
            user_names(&db, [sam, sam]).await.unwrap()[&sam],
            "Sam Sender"
        );
    }

    #[tokio::test]
    async fn a_state_selects_only_the_rows_of_its_facilities() {
        let db = test_db::fresh().await;
        let sam = user(&db).await;
        test_db::add_facility(&db, "CO-1", "CO").await;
        test_db::add_facility(&db, "MI-1", "MI").await;
        let co = insert(&db, new_row("k1", sam, "CO-1")).await.unwrap();
        let mi = insert(&db, new_row("k2", sam, "MI-1")).await.unwrap();
        let co_again = insert(&db, new_row("k3", sam, "CO-1")).await.unwrap();
        // A row of a license Tracekeeper has no facility for is in no state.
        let stray = insert(&db, new_row("k4", sam, "XX-1")).await.unwrap();

        let in_state = |state: &str| Selection {
            state: Some(state.into()),
            ..Default::default()
        };
        let ids = |rows: Vec<submissions::Model>| rows.iter().map(|r| r.id).collect::<Vec<_>>();
        let (rows, total) = page(&db, &in_state("CO"), 0, 10).await.unwrap();
        assert_eq!(total, Total::exact(2));
        assert_eq!(ids(rows), vec![co_again.id, co.id]);
        assert_eq!(
            ids(all(&db, &in_state("MI"), 10).await.unwrap()),
            vec![mi.id]
        );
        assert_eq!(
            page(&db, &in_state("CA"), 0, 10).await.unwrap().1,
            Total::exact(0)
        );
        // With the other filters, all together.
        let both = Selection {
            license_number: Some("MI-1".into()),
            ..in_state("CO")
        };
        assert!(all(&db, &both, 10).await.unwrap().is_empty());
        assert_eq!(
            ids(all(&db, &Selection::default(), 10).await.unwrap()),
            vec![stray.id, co_again.id, mi.id, co.id]
        );

        let states = super::super::facilities::states_by_license(
            &db,
            ["CO-1", "MI-1", "CO-1", "XX-1"].map(str::to_owned),
        )
        .await
        .unwrap();
        assert_eq!(
            states,
            HashMap::from([
                ("CO-1".to_owned(), "CO".to_owned()),
                ("MI-1".to_owned(), "MI".to_owned()),
            ])
        );
        assert!(
            super::super::facilities::states_by_license(&db, [])
                .await
                .unwrap()
                .is_empty()
        );
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[tokio::test]
    async fn a_holder_whose_lease_expired_or_was_taken_over_claims_and_stores_nothing() {
        let db = test_db::fresh().await;
        let sam = user(&db).await;
        let row = insert(&db, new_row("k1", sam, "A-1")).await.unwrap();
        let other = insert(&db, new_row("k2", sam, "B-2")).await.unwrap();
        let a = leases::acquire(&db, "outbox:A-1", "a", TTL, at(0))
            .await
            .unwrap()
            .unwrap();
        let c = leases::acquire(&db, "outbox:B-2", "c", TTL, at(0))
            .await
            .unwrap()
            .unwrap();

        // Expired (at 30), not yet taken over: claims nothing.
        assert_eq!(mark_sending(&db, &[other.id], at(30), &c).await.unwrap(), 0);

        // Taken over by b at 31: a's claim changes nothing, whatever its clock says.
        let b = leases::acquire(&db, "outbox:A-1", "b", TTL, at(31))
            .await
            .unwrap()
            .unwrap();
        for now in [at(1), at(32)] {
            assert_eq!(mark_sending(&db, &[row.id], now, &a).await.unwrap(), 0);
        }
        let untouched = find(&db, row.id).await.unwrap().unwrap();
        assert_eq!(
            (untouched.status, untouched.attempts, untouched.claim_token),
            (SubmissionStatus::Queued, 0, None)
        );

        // b's claim marks it; a can neither count another attempt on it nor store an answer.
        assert_eq!(mark_sending(&db, &[row.id], at(32), &b).await.unwrap(), 1);
        assert_eq!(count_attempt(&db, &[row.id], at(33), &a).await.unwrap(), 0);
        let accepted = || Change {
            message: Some(Some("Accepted".into())),
            ..Default::default()
        };
        let stored_by = |token: String| {
            let db = &db;
            async move {
                transition_claimed(db, row.id, &token, SubmissionStatus::Accepted, accepted())
                    .await
                    .unwrap()
            }
        };
        assert!(!stored_by(a.token.clone()).await);
        let claimed = find(&db, row.id).await.unwrap().unwrap();
        assert!(
            !transition_examined_fenced(
                &db,
                &claimed,
                SubmissionStatus::Unknown,
                Change::default(),
                leases::still_held(&a, at(33)),
            )
            .await
            .unwrap(),
            "a's takeover is fenced off too"
        );
        assert_eq!(count_attempt(&db, &[row.id], at(33), &b).await.unwrap(), 1);
        assert!(stored_by(b.token.clone()).await);
        let done = find(&db, row.id).await.unwrap().unwrap();
        assert_eq!(
            (done.status, done.attempts, done.claim_token),
            (SubmissionStatus::Accepted, 2, Some(b.token))
        );
    }
}
