//! The `user_metrc_keys` table: each user's own Metrc keys (at most one per state: a person's Metrc
//! account is per state), sealed by the vault.

use super::super::entities::user_metrc_keys::{self, Entity as UserMetrcKeys};
use super::super::vault::sealed::SealedKey;
use crate::types::keys::KeyStatus;
use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

/// Sets (or replaces) the user's key for `state`, not yet validated.
pub async fn set_for_user(
    db: &impl ConnectionTrait,
    user_id: i32,
    state: &str,
    key: &SealedKey,
) -> Result<(), DbErr> {
    let now = Utc::now();
    let row = user_metrc_keys::ActiveModel {
        user_id: Set(user_id),
        state: Set(state.to_owned()),
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
            OnConflict::columns([
                user_metrc_keys::Column::UserId,
                user_metrc_keys::Column::State,
            ])
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

/// The user's key for `state`, if any.
pub async fn find_for_user(
    db: &impl ConnectionTrait,
    user_id: i32,
    state: &str,
) -> Result<Option<user_metrc_keys::Model>, DbErr> {
    UserMetrcKeys::find()
        .filter(user_metrc_keys::Column::UserId.eq(user_id))
        .filter(user_metrc_keys::Column::State.eq(state))
        .one(db)
        .await
}

/// Every key of the user, by state.
pub async fn keys_of_user(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<user_metrc_keys::Model>, DbErr> {
    UserMetrcKeys::find()
        .filter(user_metrc_keys::Column::UserId.eq(user_id))
        .order_by_asc(user_metrc_keys::Column::State)
        .all(db)
        .await
}

/// Deletes `user_id`'s key with `fingerprint` if it is stored under a state other than `state`;
/// returns that state.
pub async fn remove_from_other_state(
    db: &impl ConnectionTrait,
    user_id: i32,
    fingerprint: &str,
    state: &str,
) -> Result<Option<String>, DbErr> {
    let Some(row) = find_by_fingerprint(db, fingerprint)
        .await?
        .filter(|row| row.user_id == user_id && row.state != state)
    else {
        return Ok(None);
    };
    UserMetrcKeys::delete_by_id(row.id).exec(db).await?;
    Ok(Some(row.state))
}

/// Gives the keys stored before keys had a state (`""`) the deployment's one `state`; returns how
/// many.
pub async fn adopt_state(db: &impl ConnectionTrait, state: &str) -> Result<u64, DbErr> {
    Ok(UserMetrcKeys::update_many()
        .col_expr(user_metrc_keys::Column::State, Expr::value(state))
        .filter(user_metrc_keys::Column::State.eq(""))
        .exec(db)
        .await?
        .rows_affected)
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

/// Records a full validation of the user's key for `state`: its status and what it reached (a
/// report with no key in it).
pub async fn record_validation(
    db: &impl ConnectionTrait,
    user_id: i32,
    state: &str,
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
        .filter(user_metrc_keys::Column::State.eq(state))
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
    use crate::ssr::vault::KeyVault;
    use secrecy::SecretString;

    #[tokio::test]
    async fn one_key_per_user_and_one_user_per_key() {
        let db = test_db::fresh().await;
        let vault = KeyVault::ephemeral();
        let uma = test_db::add_employee(&db, "uma@example.test", "Uma User", true)
            .await
            .id;
        let vic = test_db::add_employee(&db, "vic@example.test", "Vic User", true)
            .await
            .id;
        let first = vault.seal(&SecretString::from("user-key-one")).unwrap();
        let second = vault.seal(&SecretString::from("user-key-two")).unwrap();

        set_for_user(&db, uma, "CA", &first).await.unwrap();
        assert!(
            set_status(&db, uma, first.fingerprint(), KeyStatus::Valid)
                .await
                .unwrap()
        );
        set_for_user(&db, uma, "CA", &second).await.unwrap();
        let row = find_for_user(&db, uma, "CA").await.unwrap().unwrap();
        assert_eq!(row.fingerprint, second.fingerprint());
        assert_eq!(row.status, KeyStatus::Unvalidated);
        assert_eq!(ciphertexts(&db).await.unwrap().len(), 1);

        assert!(set_for_user(&db, vic, "CA", &second).await.is_err());
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
        let row = find_for_user(&db, uma, "CA").await.unwrap().unwrap();
        assert_eq!(row.ciphertext, resealed.ciphertext());

        delete_for_user(&db, uma).await.unwrap();
        assert!(find_for_user(&db, uma, "CA").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_validation_outcome_lands_only_on_the_key_it_validated() {
        let db = test_db::fresh().await;
        let vault = KeyVault::ephemeral();
        let uma = test_db::add_employee(&db, "uma@example.test", "Uma User", true)
            .await
            .id;
        let old = vault.seal(&SecretString::from("metrcuserkey0001")).unwrap();
        set_for_user(&db, uma, "CA", &old).await.unwrap();
        // A revalidation has read the old key; meanwhile the user sets a new one.
        let new = vault.seal(&SecretString::from("metrcuserkey0002")).unwrap();
        set_for_user(&db, uma, "CA", &new).await.unwrap();
        // Metrc refuses the old key: that verdict does not land on the new key.
        let written = set_status(&db, uma, old.fingerprint(), KeyStatus::Invalid)
            .await
            .unwrap();
        assert!(!written);
        let status =
            |db| async move { find_for_user(db, uma, "CA").await.unwrap().unwrap().status };
        assert_eq!(status(&db).await, KeyStatus::Unvalidated);
        let written = set_status(&db, uma, new.fingerprint(), KeyStatus::Invalid)
            .await
            .unwrap();
        assert!(written);
        assert_eq!(status(&db).await, KeyStatus::Invalid);
    }

    #[tokio::test]
    async fn a_user_holds_one_key_per_state() {
        let db = test_db::fresh().await;
        let vault = KeyVault::ephemeral();
        let uma = test_db::add_employee(&db, "uma@example.test", "Uma User", true)
            .await
            .id;
        let ca = vault.seal(&SecretString::from("metrcuserkeyca01")).unwrap();
        let co = vault.seal(&SecretString::from("metrcuserkeyco01")).unwrap();
        set_for_user(&db, uma, "CA", &ca).await.unwrap();
        set_for_user(&db, uma, "CO", &co).await.unwrap();
        let states: Vec<String> = keys_of_user(&db, uma)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.state)
            .collect();
        assert_eq!(states, ["CA", "CO"]);
        let row = find_for_user(&db, uma, "CO").await.unwrap().unwrap();
        assert_eq!(row.fingerprint, co.fingerprint());
        record_validation(&db, uma, "CO", KeyStatus::Valid, "{}")
            .await
            .unwrap();
        let status = |state| {
            let db = &db;
            async move { find_for_user(db, uma, state).await.unwrap().unwrap().status }
        };
        assert_eq!(status("CO").await, KeyStatus::Valid);
        assert_eq!(status("CA").await, KeyStatus::Unvalidated);
        // A key without a state (stored before keys had one) takes the deployment's one state.
        let vic = test_db::add_employee(&db, "vic@example.test", "Vic User", true)
            .await
            .id;
        let old = vault.seal(&SecretString::from("metrcuserkeyold1")).unwrap();
        set_for_user(&db, vic, "", &old).await.unwrap();
        assert_eq!(adopt_state(&db, "MI").await.unwrap(), 1);
        assert!(find_for_user(&db, vic, "MI").await.unwrap().is_some());
        delete_for_user(&db, uma).await.unwrap();
        assert!(keys_of_user(&db, uma).await.unwrap().is_empty());
    }
}
