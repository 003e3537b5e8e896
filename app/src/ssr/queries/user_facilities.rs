//! The `user_facilities` table: the facilities a user works at, when they do not work at all of
//! them (`users.all_facilities`).

use super::super::entities::user_facilities::{self, Entity as UserFacilities};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

/// The license numbers the user works at, sorted.
pub async fn for_user(db: &impl ConnectionTrait, user_id: i32) -> Result<Vec<String>, DbErr> {
    UserFacilities::find()
        .select_only()
        .column(user_facilities::Column::LicenseNumber)
        .filter(user_facilities::Column::UserId.eq(user_id))
        .order_by_asc(user_facilities::Column::LicenseNumber)
        .into_tuple()
        .all(db)
        .await
}

/// Makes `licenses` the user's facilities (none: the user works at all of them, or nowhere).
pub async fn replace_for_user(
    db: &impl ConnectionTrait,
    user_id: i32,
    licenses: &[String],
) -> Result<(), DbErr> {
    UserFacilities::delete_many()
        .filter(user_facilities::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    if licenses.is_empty() {
        return Ok(());
    }
    UserFacilities::insert_many(licenses.iter().map(|license| user_facilities::ActiveModel {
        user_id: Set(user_id),
        license_number: Set(license.clone()),
        ..Default::default()
    }))
    .exec_without_returning(db)
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;

    #[tokio::test]
    async fn facilities_are_replaced_as_a_whole() {
        let db = test_db::fresh().await;
        let user = test_db::add_employee(&db, "fay@example.test", "Fay", false).await;
        assert!(user.all_facilities, "new users work everywhere by default");
        replace_for_user(&db, user.id, &["B-2".into(), "A-1".into()])
            .await
            .unwrap();
        assert_eq!(for_user(&db, user.id).await.unwrap(), vec!["A-1", "B-2"]);
        replace_for_user(&db, user.id, &["C-3".into()])
            .await
            .unwrap();
        assert_eq!(for_user(&db, user.id).await.unwrap(), vec!["C-3"]);
        replace_for_user(&db, user.id, &[]).await.unwrap();
        assert!(for_user(&db, user.id).await.unwrap().is_empty());
    }
}
