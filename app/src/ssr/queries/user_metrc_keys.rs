//! The `user_metrc_keys` table: each user's own Metrc key (at most one), sealed by the vault.

use super::super::entities::user_metrc_keys::{self, Entity as UserMetrcKeys};
use super::super::vault::sealed::SealedKey;
use crate::types::keys::KeyStatus;
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

/// Sets (or replaces) the user's key, not yet validated.
pub async fn set_for_user(
    db: &impl ConnectionTrait,
    user_id: i32,
    key: &SealedKey,
) -> Result<(), DbErr> {
    let now = Utc::now();
    let row = user_metrc_keys::ActiveModel {
        user_id: Set(user_id),
        ciphertext: Set(key.ciphertext().to_owned()),
        fingerprint: Set(key.fingerprint().to_owned()),
        masked_key: Set(Some(key.masked().to_owned())),
        status: Set(KeyStatus::Unvalidated),
        last_validated_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    UserMetrcKeys::insert(row)
        .on_conflict(
            OnConflict::column(user_metrc_keys::Column::UserId)
                .update_columns([
                    user_metrc_keys::Column::Ciphertext,
                    user_metrc_keys::Column::Fingerprint,
                    user_metrc_keys::Column::MaskedKey,
                    user_metrc_keys::Column::Status,
                    user_metrc_keys::Column::LastValidatedAt,
                    user_metrc_keys::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn find_for_user(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Option<user_metrc_keys::Model>, DbErr> {
    UserMetrcKeys::find()
        .filter(user_metrc_keys::Column::UserId.eq(user_id))
        .one(db)
        .await
}

/// The user key with this fingerprint, if any (the Update Key guard, docs/design.md §5).
pub async fn find_by_fingerprint(
    db: &impl ConnectionTrait,
    fingerprint: &str,
) -> Result<Option<user_metrc_keys::Model>, DbErr> {
    UserMetrcKeys::find()
        .filter(user_metrc_keys::Column::Fingerprint.eq(fingerprint))
        .one(db)
        .await
}

/// Records the outcome of a (re)validation of the user's key, only while the user still holds
/// the key that was validated (`fingerprint`, as read before the Metrc call): a key set meanwhile
/// keeps its own status (docs/decisions.md, "Revalidation"). Returns whether the row was written.
pub async fn set_status(
    db: &impl ConnectionTrait,
    user_id: i32,
    fingerprint: &str,
    status: KeyStatus,
) -> Result<bool, DbErr> {
    let now = Utc::now();
    let written = UserMetrcKeys::update_many()
        .set(user_metrc_keys::ActiveModel {
            status: Set(status),
            last_validated_at: Set(Some(now)),
            updated_at: Set(now),
            ..Default::default()
        })
        .filter(user_metrc_keys::Column::UserId.eq(user_id))
        .filter(user_metrc_keys::Column::Fingerprint.eq(fingerprint))
        .exec(db)
        .await?;
    Ok(written.rows_affected == 1)
}

/// Records a full validation of the user's key: its status and what it reached (a report with
/// no key in it).
pub async fn record_validation(
    db: &impl ConnectionTrait,
    user_id: i32,
    status: KeyStatus,
    report: &str,
) -> Result<(), DbErr> {
    let now = Utc::now();
    UserMetrcKeys::update_many()
        .set(user_metrc_keys::ActiveModel {
            status: Set(status),
            last_validated_at: Set(Some(now)),
            report: Set(Some(report.to_owned())),
            updated_at: Set(now),
            ..Default::default()
        })
        .filter(user_metrc_keys::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .map(drop)
}

/// Every user key (the background revalidation).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<user_metrc_keys::Model>, DbErr> {
    UserMetrcKeys::find()
        .order_by_asc(user_metrc_keys::Column::UserId)
        .all(db)
        .await
}

pub async fn delete_for_user(db: &impl ConnectionTrait, user_id: i32) -> Result<(), DbErr> {
    UserMetrcKeys::delete_many()
        .filter(user_metrc_keys::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .map(drop)
}

/// `(id, ciphertext, mask)` of every user key.
pub async fn ciphertexts(
    db: &impl ConnectionTrait,
) -> Result<Vec<(i32, String, Option<String>)>, DbErr> {
    UserMetrcKeys::find()
        .select_only()
        .column(user_metrc_keys::Column::Id)
        .column(user_metrc_keys::Column::Ciphertext)
        .column(user_metrc_keys::Column::MaskedKey)
        .order_by_asc(user_metrc_keys::Column::Id)
        .into_tuple()
        .all(db)
        .await
}

/// The same key sealed anew (identity rotation): nothing else about the key changes.
pub async fn replace_ciphertext(
    db: &impl ConnectionTrait,
    id: i32,
    key: &SealedKey,
) -> Result<(), DbErr> {
    UserMetrcKeys::update_many()
        .set(user_metrc_keys::ActiveModel {
            ciphertext: Set(key.ciphertext().to_owned()),
            fingerprint: Set(key.fingerprint().to_owned()),
            masked_key: Set(Some(key.masked().to_owned())),
            ..Default::default()
        })
        .filter(user_metrc_keys::Column::Id.eq(id))
        .exec(db)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;
    use crate::ssr::queries::users::{self, NewUser};
    use crate::ssr::vault::KeyVault;
    use crate::types::auth::Role;
    use secrecy::SecretString;

    pub(crate) async fn add_user(db: &impl ConnectionTrait, email: &str) -> i32 {
        users::insert(
            db,
            NewUser {
                email,
                name: "Uma User",
                password_hash: "hash".into(),
                role: Role::Employee,
                can_submit: true,
            },
        )
        .await
        .unwrap()
        .id
    }

    #[tokio::test]
    async fn one_key_per_user_and_one_user_per_key() {
        let db = test_db::fresh().await;
        let vault = KeyVault::ephemeral();
        let uma = add_user(&db, "uma@example.test").await;
        let vic = add_user(&db, "vic@example.test").await;
        let first = vault.seal(&SecretString::from("user-key-one")).unwrap();
        let second = vault.seal(&SecretString::from("user-key-two")).unwrap();

        set_for_user(&db, uma, &first).await.unwrap();
        assert!(
            set_status(&db, uma, first.fingerprint(), KeyStatus::Valid)
                .await
                .unwrap()
        );
        set_for_user(&db, uma, &second).await.unwrap();
        let row = find_for_user(&db, uma).await.unwrap().unwrap();
        assert_eq!(row.fingerprint, second.fingerprint());
        assert_eq!(row.status, KeyStatus::Unvalidated);
        assert_eq!(ciphertexts(&db).await.unwrap().len(), 1);

        assert!(set_for_user(&db, vic, &second).await.is_err());
        assert_eq!(
            find_by_fingerprint(&db, second.fingerprint())
                .await
                .unwrap()
                .map(|r| r.user_id),
            Some(uma)
        );
        assert!(
            find_by_fingerprint(&db, first.fingerprint())
                .await
                .unwrap()
                .is_none()
        );

        let resealed = vault.seal(&SecretString::from("user-key-two")).unwrap();
        replace_ciphertext(&db, row.id, &resealed).await.unwrap();
        let row = find_for_user(&db, uma).await.unwrap().unwrap();
        assert_eq!(row.ciphertext, resealed.ciphertext());

        delete_for_user(&db, uma).await.unwrap();
        assert!(find_for_user(&db, uma).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_validation_outcome_lands_only_on_the_key_it_validated() {
        let db = test_db::fresh().await;
        let vault = KeyVault::ephemeral();
        let uma = add_user(&db, "uma@example.test").await;
        let old = vault.seal(&SecretString::from("metrcuserkey0001")).unwrap();
        set_for_user(&db, uma, &old).await.unwrap();
        // A revalidation has read the old key; meanwhile the user sets a new one.
        let new = vault.seal(&SecretString::from("metrcuserkey0002")).unwrap();
        set_for_user(&db, uma, &new).await.unwrap();
        // Metrc refuses the old key: that verdict does not land on the new key.
        let written = set_status(&db, uma, old.fingerprint(), KeyStatus::Invalid)
            .await
            .unwrap();
        assert!(!written);
        let status = |db| async move { find_for_user(db, uma).await.unwrap().unwrap().status };
        assert_eq!(status(&db).await, KeyStatus::Unvalidated);
        let written = set_status(&db, uma, new.fingerprint(), KeyStatus::Invalid)
            .await
            .unwrap();
        assert!(written);
        assert_eq!(status(&db).await, KeyStatus::Invalid);
    }
}
