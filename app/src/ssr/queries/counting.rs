//! How many rows a list matches, for its pager, without reading every one of them: counting
//! stops [`LOOKAHEAD`] rows past the page asked for, so the first page of 100,000 synced packages
//! costs what the first page of 10,000 does (docs/benchmarks.md, "Pages under load"); and not at
//! all when the page itself ended the list ([`total`]).

use crate::types::inventory::Total;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QuerySelect, QueryTrait, Select};

/// How many rows past the start of the page asked for are counted: 10,000 (200 pages of 50).
pub const LOOKAHEAD: u64 = 10_000;

/// The rows `select` matches, counted up to `offset + LOOKAHEAD` (`offset`: the first row of the
/// page shown). One `SELECT COUNT(*) FROM (… LIMIT n + 1)`; `Total::more` when it found more.
pub async fn count_from<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    offset: u64,
) -> Result<Total, DbErr> {
    let bound = offset.saturating_add(LOOKAHEAD);
    let rows = select
        .select_only()
        .expr(Expr::cust("1"))
        .limit(bound.saturating_add(1))
        .into_query();
    let count = Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from_subquery(rows, "bounded")
        .to_owned();
    let found = match db.query_one(&count).await? {
        Some(row) => u64::try_from(row.try_get_by_index::<i64>(0)?).unwrap_or(0),
        None => 0,
    };
    Ok(Total::counted(found, bound))
}

/// What a page's own rows say about the total: a page that came back short (`shown` rows of
/// `limit` asked for from the `offset`th) ended the list, so `offset + shown` match in all,
/// exactly; `None` when only a count can say (a full page, or an empty one past the start).
pub fn total_from_page(offset: u64, shown: u64, limit: u64) -> Option<Total> {
    (shown < limit && (shown > 0 || offset == 0)).then(|| Total::exact(offset + shown))
}

/// How many rows `select` matches, for the page of `shown` rows of `limit` from the `offset`th
/// it gave: read off the page when it ended the list ([`total_from_page`]; a search finding a
/// few rows reads them once, not twice), else counted ([`count_from`]).
pub async fn total<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    offset: u64,
    shown: usize,
    limit: u64,
) -> Result<Total, DbErr> {
    let shown = u64::try_from(shown).unwrap_or(u64::MAX);
    match total_from_page(offset, shown, limit) {
        Some(total) => Ok(total),
        None => count_from(db, select, offset).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::entities::synced_records::{Column, Entity as SyncedRecords};
    use crate::ssr::queries::synced_records::{NewRecord, upsert_chunk};
    use crate::ssr::queries::test_db;
    use sea_orm::{ColumnTrait, QueryFilter};

    #[tokio::test]
    async fn counting_stops_a_lookahead_past_the_page() {
        let db = test_db::fresh().await;
        let rows = LOOKAHEAD + 6;
        let ids: Vec<i64> = (1..=i64::try_from(rows).unwrap()).collect();
        for chunk in ids.chunks(500) {
            let records = chunk
                .iter()
                .map(|&id| NewRecord {
                    metrc_id: id,
                    label: Some(format!("1A4{id:021}")),
                    data: "{}".into(),
                    ..Default::default()
                })
                .collect();
            upsert_chunk(&db, "A-1", "PackagesActive", records, chrono::Utc::now())
                .await
                .unwrap();
        }
        let all = || SyncedRecords::find();
        // From the first page: 10,000 counted, and more.
        assert_eq!(
            count_from(&db, all(), 0).await.unwrap(),
            Total {
                rows: LOOKAHEAD,
                more: true
            }
        );
        // From the 50th row on, counting reaches every row.
        assert_eq!(
            count_from(&db, all(), 50).await.unwrap(),
            Total::exact(rows)
        );
        // A filter counts only what it matches.
        let even = all().filter(Column::Label.like("%0"));
        assert_eq!(
            count_from(&db, even, 0).await.unwrap(),
            Total::exact(rows / 10)
        );
    }

    #[test]
    fn a_short_page_ends_the_list_and_a_full_or_empty_one_needs_a_count() {
        assert_eq!(total_from_page(0, 7, 50), Some(Total::exact(7)));
        assert_eq!(total_from_page(0, 0, 50), Some(Total::exact(0)));
        assert_eq!(total_from_page(100, 3, 50), Some(Total::exact(103)));
        // A full page may have more after it; an empty one past the start says nothing of
        // how many came before the end.
        assert_eq!(total_from_page(0, 50, 50), None);
        assert_eq!(total_from_page(100, 0, 50), None);
    }
}
