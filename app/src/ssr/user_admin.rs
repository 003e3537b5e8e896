//! User Management: adding users with an initial password, editing their profile (role, the
//! facilities they work at, whether they may submit to Metrc), deactivating and reactivating them.
//! Every change is audited; no audit detail holds a password or a key.
//!
//! Deactivation is immediate and complete in one transaction: the user's sessions end, their
//! stored Metrc key is deleted (the audit log keeps that it happened) and their history stays.

use super::actor::Actor;
use super::entities::audit_events::AuditAction;
use super::input::{self, InputError, MAX_LICENSES};
use super::passwords::{self, PasswordError};
use super::queries::audit_events::{self, NewAuditEvent};
use super::queries::users::{self, Profile};
use super::queries::{facilities, sessions, user_facilities, user_metrc_keys};
use super::user_keys::{StoredKey, key_states, work_states_of};
use crate::error::AppError;
use crate::types::auth::Role;
use crate::types::keys::KeyStatus;
use crate::types::users::{UserDetail, UserSummary, worst_status};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, SqlErr};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Characters of a key fingerprint that may be audited.
const FINGERPRINT_SHOWN: usize = 8;

/// Why a User Management change did not happen. No variant holds a password.
#[derive(Debug, thiserror::Error)]
pub enum UserAdminError {
    #[error("a user with this email exists")]
    EmailTaken,
    #[error("invalid email")]
    InvalidEmail,
    #[error("empty name")]
    EmptyName,
    #[error("password too short")]
    PasswordTooShort,
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("unknown user")]
    UnknownUser,
    #[error("an admin cannot deactivate themselves")]
    CannotDeactivateSelf,
    #[error("an admin cannot remove their own admin role")]
    CannotRemoveOwnAdmin,
    #[error("the last active admin cannot stop being one")]
    LastAdmin,
    #[error("unknown facilities {0:?}")]
    UnknownFacility(Vec<String>),
    #[error("no facility chosen")]
    NoFacilities,
    #[error("password hashing: {0}")]
    Password(#[from] PasswordError),
    #[error("database: {0}")]
    Db(DbErr),
}

impl From<DbErr> for UserAdminError {
    fn from(err: DbErr) -> Self {
        // Two admins adding the same email at once: the unique index decides.
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => UserAdminError::EmailTaken,
            _ => UserAdminError::Db(err),
        }
    }
}

impl From<UserAdminError> for AppError {
    fn from(err: UserAdminError) -> Self {
        match err {
            UserAdminError::EmailTaken => {
                AppError::BadInput("A user with this email already exists.".into())
            }
            UserAdminError::InvalidEmail => {
                AppError::BadInput("Enter a valid email address, such as name@example.com.".into())
            }
            UserAdminError::EmptyName => AppError::BadInput("Enter the user's name.".into()),
            UserAdminError::PasswordTooShort => AppError::BadInput(format!(
                "The password must have at least {} characters.",
                passwords::MIN_LENGTH
            )),
            UserAdminError::Input(err) => err.into(),
            UserAdminError::UnknownUser => AppError::NotFound,
            UserAdminError::CannotDeactivateSelf => AppError::BadInput(
                "You cannot deactivate your own account. Another admin can.".into(),
            ),
            UserAdminError::CannotRemoveOwnAdmin => AppError::BadInput(
                "You cannot remove your own Admin role. Another admin can.".into(),
            ),
            UserAdminError::LastAdmin => AppError::BadInput(
                "This is the last active admin: make another user an admin first.".into(),
            ),
            UserAdminError::UnknownFacility(licenses) => AppError::BadInput(format!(
                "Unknown facility: {}. Reload the page and choose again.",
                licenses.join(", ")
            )),
            UserAdminError::NoFacilities => AppError::BadInput(
                "Choose at least one facility the user works at, or All facilities.".into(),
            ),
            UserAdminError::Password(err) => {
                tracing::error!(error = %err, "password hashing failed");
                AppError::Internal
            }
            UserAdminError::Db(err) => err.into(),
        }
    }
}

/// "Add user" (and `tracekeeper create-user`, and the first admin). The password is a
/// `SecretString`, which `Debug` prints redacted.
#[derive(Debug)]
pub struct NewUserInput {
    pub profile: UserEdit,
    /// The initial password.
    pub password: SecretString,
    /// They must change it at first sign-in (`users.must_change_password`): set for a first
    /// admin whose password Tracekeeper generated.
    pub must_change_password: bool,
}

/// A user's profile as the admin sets it.
#[derive(Debug, Clone)]
pub struct UserEdit {
    pub name: String,
    pub email: String,
    pub role: Role,
    /// Works at every facility, including ones added later.
    pub all_facilities: bool,
    /// License numbers, when not `all_facilities`.
    pub facilities: Vec<String>,
    pub can_submit: bool,
    pub requires_review: bool,
}

/// A plausible address: one `@` with something on each side, no spaces. (Whether it receives
/// mail is not our business; `admin@localhost` is fine.)
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && input::email(email).is_ok()
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// At least [`passwords::MIN_LENGTH`] characters, at most [`input::MAX_PASSWORD_CHARS`].
pub fn check_password_length(password: &str) -> Result<(), UserAdminError> {
    input::password(password)?;
    if password.chars().count() < passwords::MIN_LENGTH {
        Err(UserAdminError::PasswordTooShort)
    } else {
        Ok(())
    }
}

/// The edit, cleaned: name trimmed, email normalised, facilities deduplicated and known (none
/// kept when the user works at all of them).
struct Checked {
    name: String,
    email: String,
    facilities: Vec<String>,
}

/// The edit's sizes and characters ([`input`]), before anything else is done with it.
fn check_bounds(edit: &UserEdit) -> Result<(), InputError> {
    input::text(edit.name.trim(), "name")?;
    input::email(&edit.email)?;
    input::count(&edit.facilities, "facilities", MAX_LICENSES)?;
    for license in &edit.facilities {
        input::text(license.trim(), "license number")?;
    }
    Ok(())
}

async fn check(db: &impl ConnectionTrait, edit: &UserEdit) -> Result<Checked, UserAdminError> {
    let name = edit.name.trim().to_owned();
    if name.is_empty() {
        return Err(UserAdminError::EmptyName);
    }
    let email = users::normalize_email(&edit.email);
    if !valid_email(&email) {
        return Err(UserAdminError::InvalidEmail);
    }
    let facilities = if edit.all_facilities {
        Vec::new()
    } else {
        let chosen: BTreeSet<String> = edit
            .facilities
            .iter()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect();
        if chosen.is_empty() {
            return Err(UserAdminError::NoFacilities);
        }
        let known: BTreeSet<String> = facilities::list(db)
            .await?
            .into_iter()
            .map(|f| f.license_number)
            .collect();
        let unknown: Vec<String> = chosen.difference(&known).cloned().collect();
        if !unknown.is_empty() {
            return Err(UserAdminError::UnknownFacility(unknown));
        }
        chosen.into_iter().collect()
    };
    Ok(Checked {
        name,
        email,
        facilities,
    })
}

fn profile<'a>(edit: &UserEdit, checked: &'a Checked) -> Profile<'a> {
    Profile {
        email: &checked.email,
        name: &checked.name,
        role: edit.role,
        can_submit: edit.can_submit,
        requires_review: edit.requires_review,
        all_facilities: edit.all_facilities,
    }
}

/// Adds an active user who can sign in with the initial password at once: the one way a user is
/// created (User Management, `tracekeeper create-user` and the first admin, the last two as
/// [`Actor::Operator`]). Audited as `user.created` (without the password).
pub async fn create_user(
    db: &DatabaseConnection,
    actor: Actor<'_>,
    input: NewUserInput,
) -> Result<UserDetail, UserAdminError> {
    let NewUserInput {
        profile: edit,
        password,
        must_change_password,
    } = input;
    check_bounds(&edit)?;
    check_password_length(password.expose_secret())?;
    let checked = check(db, &edit).await?;
    if users::find_by_email(db, &checked.email).await?.is_some() {
        return Err(UserAdminError::EmailTaken);
    }
    let hash = passwords::hash(password.expose_secret().to_owned()).await?;
    drop(password);

    let txn = crate::ssr::db::begin_write(db).await?;
    let user = users::insert_profile(&txn, profile(&edit, &checked), hash).await?;
    if must_change_password {
        users::set_must_change_password(&txn, user.id, true).await?;
    }
    user_facilities::replace_for_user(&txn, user.id, &checked.facilities).await?;
    audit_events::record(
        &txn,
        NewAuditEvent {
            actor,
            action: AuditAction::UserCreated,
            subject: &user.email,
            detail: json!({
                "user_id": user.id,
                "name": user.name,
                "role": edit.role.as_str(),
                "all_facilities": edit.all_facilities,
                "facilities": checked.facilities,
                "can_submit": edit.can_submit,
                "requires_review": edit.requires_review,
                "must_change_password": must_change_password,
            }),
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(%actor, user_id = user.id, "user created");
    get_user(db, user.id).await
}

/// Records `from -> to` under `field` when they differ.
fn note_change(changes: &mut Map<String, Value>, field: &str, from: Value, to: Value) {
    if from != to {
        changes.insert(field.to_owned(), json!({ "from": from, "to": to }));
    }
}

/// Whether an active admin is left once `user` stops being one (demoted or deactivated), given
/// the active admins before the change.
fn leaves_an_admin(active_admins: &[i32], user: i32) -> bool {
    active_admins.iter().any(|&admin| admin != user)
}

/// Refuses, inside the write transaction `txn`, to take the last active admin away. The admins
/// are locked first, so two admins demoting or deactivating each other at once cannot both
/// succeed: the second sees the first's change and is refused.
async fn keep_an_admin(txn: &impl ConnectionTrait, user: i32) -> Result<(), UserAdminError> {
    let admins = users::lock_active_admins(txn).await?;
    if leaves_an_admin(&admins, user) {
        Ok(())
    } else {
        Err(UserAdminError::LastAdmin)
    }
}

/// Saves the user's profile. An admin cannot take their own Admin role away, and the last active
/// admin cannot be demoted (so there is always an admin left). Audited as `user.updated` with
/// what changed.
pub async fn update_user(
    db: &DatabaseConnection,
    actor: Actor<'_>,
    id: i32,
    edit: UserEdit,
) -> Result<UserDetail, UserAdminError> {
    check_bounds(&edit)?;
    let before = get_user(db, id).await?;
    if actor.user_id() == Some(id) && before.role == Role::Admin && edit.role != Role::Admin {
        return Err(UserAdminError::CannotRemoveOwnAdmin);
    }
    let checked = check(db, &edit).await?;
    if let Some(other) = users::find_by_email(db, &checked.email).await?
        && other.id != id
    {
        return Err(UserAdminError::EmailTaken);
    }

    let mut changes = Map::new();
    note_change(
        &mut changes,
        "name",
        json!(before.name),
        json!(checked.name),
    );
    note_change(
        &mut changes,
        "email",
        json!(before.email),
        json!(checked.email),
    );
    note_change(
        &mut changes,
        "role",
        json!(before.role.as_str()),
        json!(edit.role.as_str()),
    );
    note_change(
        &mut changes,
        "all_facilities",
        json!(before.all_facilities),
        json!(edit.all_facilities),
    );
    note_change(
        &mut changes,
        "facilities",
        json!(before.facilities),
        json!(checked.facilities),
    );
    note_change(
        &mut changes,
        "can_submit",
        json!(before.can_submit),
        json!(edit.can_submit),
    );
    note_change(
        &mut changes,
        "requires_review",
        json!(before.requires_review),
        json!(edit.requires_review),
    );
    if changes.is_empty() {
        return Ok(before);
    }

    let txn = crate::ssr::db::begin_write(db).await?;
    if before.role == Role::Admin && edit.role != Role::Admin {
        keep_an_admin(&txn, id).await?;
    }
    users::update_profile(&txn, id, profile(&edit, &checked)).await?;
    user_facilities::replace_for_user(&txn, id, &checked.facilities).await?;
    audit_events::record(
        &txn,
        NewAuditEvent {
            actor,
            action: AuditAction::UserUpdated,
            subject: &checked.email,
            detail: json!({ "user_id": id, "changes": changes }),
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(%actor, user_id = id, "user updated");
    get_user(db, id).await
}

/// Deactivates the user, in one transaction: they cannot sign in, every session of theirs ends
/// at once, their stored Metrc key is deleted, and their queued submissions wait as `Pending
/// approval` for an admin's decision. Their history stays. Audited as
/// `user.deactivated`, and `user_key.deleted` (with the key fingerprint's first characters only)
/// when they had a key. An admin cannot deactivate themselves, nor the last active admin.
pub async fn deactivate_user(
    db: &DatabaseConnection,
    actor: Actor<'_>,
    id: i32,
) -> Result<UserDetail, UserAdminError> {
    if actor.user_id() == Some(id) {
        return Err(UserAdminError::CannotDeactivateSelf);
    }
    let txn = crate::ssr::db::begin_write(db).await?;
    let user = users::find(&txn, id)
        .await?
        .ok_or(UserAdminError::UnknownUser)?;
    if user.active && user.role == Role::Admin {
        keep_an_admin(&txn, id).await?;
    }
    users::set_active(&txn, id, false).await?;
    let sessions_ended = sessions::delete_for_user(&txn, id).await?;
    let keys = user_metrc_keys::keys_of_user(&txn, id).await?;
    user_metrc_keys::delete_for_user(&txn, id).await?;
    // Their queued work waits for an admin's decision instead of going out without them.
    let submissions_held = crate::ssr::outbox::hold_for_user(&txn, id).await?;
    audit_events::record(
        &txn,
        NewAuditEvent {
            actor,
            action: AuditAction::UserDeactivated,
            subject: &user.email,
            detail: json!({
                "user_id": id,
                "was_active": user.active,
                "sessions_ended": sessions_ended,
                "key_deleted": !keys.is_empty(),
                "submissions_held": submissions_held,
            }),
        },
    )
    .await?;
    for key in &keys {
        let fingerprint: String = key.fingerprint.chars().take(FINGERPRINT_SHOWN).collect();
        audit_events::record(
            &txn,
            NewAuditEvent {
                actor,
                action: AuditAction::UserKeyDeleted,
                subject: &user.email,
                detail: json!({
                    "user_id": id,
                    "fingerprint": fingerprint,
                    "state": key.state,
                    "reason": "user deactivated",
                }),
            },
        )
        .await?;
    }
    txn.commit().await?;
    tracing::info!(
        %actor,
        user_id = id,
        sessions_ended,
        keys_deleted = keys.len(),
        submissions_held,
        "user deactivated"
    );
    get_user(db, id).await
}

/// Lets a deactivated user sign in again (with their old password; their key is gone, so they
/// need a new one). Audited as `user.reactivated`.
pub async fn reactivate_user(
    db: &DatabaseConnection,
    actor: Actor<'_>,
    id: i32,
) -> Result<UserDetail, UserAdminError> {
    let txn = crate::ssr::db::begin_write(db).await?;
    let user = users::find(&txn, id)
        .await?
        .ok_or(UserAdminError::UnknownUser)?;
    if !user.active {
        users::set_active(&txn, id, true).await?;
        audit_events::record(
            &txn,
            NewAuditEvent {
                actor,
                action: AuditAction::UserReactivated,
                subject: &user.email,
                detail: json!({ "user_id": id }),
            },
        )
        .await?;
    }
    txn.commit().await?;
    tracing::info!(%actor, user_id = id, "user reactivated");
    get_user(db, id).await
}

/// User Management's list: every user by name ([`users::list`]). When the deployment serves
/// several states (`served`: their codes, in the configured order), each user's key status in
/// every state they work in, as [`user_keys::statuses`] decides it, and as their key status the
/// one most needing attention ([`worst_status`]): a user missing a key in one of their states is
/// counted as submitting without their own key. A few queries for the whole list, none per user.
///
/// [`user_keys::statuses`]: super::user_keys::statuses
pub async fn list_users(
    db: &impl ConnectionTrait,
    served: &[String],
) -> Result<Vec<UserSummary>, UserAdminError> {
    use super::entities::{
        facilities as facility_rows, user_facilities as user_facility_rows,
        user_metrc_keys as key_rows, users as user_rows,
    };
    use sea_orm::{EntityTrait, QuerySelect};
    use std::collections::{BTreeMap, HashMap};

    let listed = users::list(db).await?;
    if served.len() < 2 {
        return Ok(listed);
    }
    let all_facilities: HashMap<i32, bool> = user_rows::Entity::find()
        .select_only()
        .column(user_rows::Column::Id)
        .column(user_rows::Column::AllFacilities)
        .into_tuple::<(i32, bool)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let facility_states: Vec<(String, String)> = facility_rows::Entity::find()
        .select_only()
        .column(facility_rows::Column::LicenseNumber)
        .column(facility_rows::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    let mut works_at: BTreeMap<i32, BTreeSet<String>> = BTreeMap::new();
    for (user_id, license) in user_facility_rows::Entity::find()
        .select_only()
        .column(user_facility_rows::Column::UserId)
        .column(user_facility_rows::Column::LicenseNumber)
        .into_tuple::<(i32, String)>()
        .all(db)
        .await?
    {
        works_at.entry(user_id).or_default().insert(license);
    }
    let mut keys: BTreeMap<i32, Vec<StoredKey>> = BTreeMap::new();
    for (user_id, state, status, validated_at) in key_rows::Entity::find()
        .select_only()
        .column(key_rows::Column::UserId)
        .column(key_rows::Column::State)
        .column(key_rows::Column::Status)
        .column(key_rows::Column::LastValidatedAt)
        .into_tuple::<(i32, String, KeyStatus, Option<DateTime<Utc>>)>()
        .all(db)
        .await?
    {
        keys.entry(user_id).or_default().push(StoredKey {
            state,
            status,
            validated_at,
        });
    }
    let no_facilities = BTreeSet::new();
    Ok(listed
        .into_iter()
        .map(|user| {
            let theirs = (!all_facilities.get(&user.id).copied().unwrap_or(false))
                .then(|| works_at.get(&user.id).unwrap_or(&no_facilities));
            let work = work_states_of(theirs, &facility_states, served);
            let stored = keys.get(&user.id).map_or(&[][..], Vec::as_slice);
            let key_states = key_states(&work, stored);
            UserSummary {
                key_status: worst_status(key_states.iter().map(|k| k.status)),
                key_last_validated_at: stored
                    .iter()
                    .filter(|k| work.iter().any(|w| w.eq_ignore_ascii_case(&k.state)))
                    .filter_map(|k| k.validated_at)
                    .max(),
                key_states,
                ..user
            }
        })
        .collect())
}

/// One user in full.
pub async fn get_user(db: &impl ConnectionTrait, id: i32) -> Result<UserDetail, UserAdminError> {
    let user = users::find(db, id)
        .await?
        .ok_or(UserAdminError::UnknownUser)?;
    let role = user.role;
    let facilities = if user.all_facilities {
        Vec::new()
    } else {
        user_facilities::for_user(db, id).await?
    };
    Ok(UserDetail {
        id: user.id,
        name: user.name,
        email: user.email,
        role,
        can_submit: user.can_submit,
        requires_review: user.requires_review,
        active: user.active,
        all_facilities: user.all_facilities,
        facilities,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;
    use crate::types::auth::CurrentUser;

    fn edit(email: &str) -> UserEdit {
        UserEdit {
            name: " Dana Grower ".into(),
            email: email.into(),
            role: Role::Employee,
            all_facilities: true,
            facilities: vec![],
            can_submit: true,
            requires_review: true,
        }
    }

    fn new_user(email: &str, password: &str) -> NewUserInput {
        NewUserInput {
            profile: edit(email),
            password: SecretString::from(password.to_owned()),
            must_change_password: false,
        }
    }

    fn stored(state: &str, status: KeyStatus) -> StoredKey {
        StoredKey {
            state: state.into(),
            status,
            validated_at: None,
        }
    }

    #[test]
    fn users_work_in_the_states_of_their_facilities_or_in_every_state() {
        let facilities = [
            ("CA-1".to_owned(), "CA".to_owned()),
            ("CO-1".to_owned(), "CO".to_owned()),
            ("CO-2".to_owned(), "CO".to_owned()),
        ];
        let served = ["CO".to_owned(), "CA".to_owned(), "MI".to_owned()];
        // All facilities: the states of every facility, sorted.
        assert_eq!(work_states_of(None, &facilities, &served), ["CA", "CO"]);
        let theirs: BTreeSet<String> = ["CO-2".to_owned()].into();
        assert_eq!(work_states_of(Some(&theirs), &facilities, &served), ["CO"]);
        // No facility known: every state served, in the configured order.
        assert_eq!(
            work_states_of(Some(&BTreeSet::new()), &facilities, &served),
            ["CO", "CA", "MI"]
        );
        assert_eq!(work_states_of(None, &[], &served), ["CO", "CA", "MI"]);
    }

    #[test]
    fn a_state_without_a_stored_key_is_missing() {
        let work = ["CO".to_owned(), "MI".to_owned()];
        let keys = [
            stored("co", KeyStatus::Valid),
            stored("CA", KeyStatus::Valid),
        ];
        let states = key_states(&work, &keys);
        let shown: Vec<(&str, KeyStatus)> = states
            .iter()
            .map(|k| (k.state.as_str(), k.status))
            .collect();
        assert_eq!(
            shown,
            [("CO", KeyStatus::Valid), ("MI", KeyStatus::Missing)]
        );
        // A key stored without a status counts as not validated yet.
        let unknown = key_states(&work[..1], &[stored("CO", KeyStatus::Missing)]);
        assert_eq!(unknown[0].status, KeyStatus::Unvalidated);
    }

    #[tokio::test]
    async fn with_several_states_the_list_has_each_users_key_status_per_state() {
        use crate::ssr::entities::user_metrc_keys as key_rows;
        use sea_orm::ActiveModelTrait;

        let db = test_db::fresh().await;
        for (license, state) in [("CA-1", "CA"), ("CO-1", "CO")] {
            test_db::add_facility(&db, license, state).await;
        }
        let everywhere = create_user(
            &db,
            Actor::Operator,
            new_user("ann@example.test", "a long enough password"),
        )
        .await
        .unwrap();
        let mut colorado = new_user("bo@example.test", "a long enough password");
        colorado.profile.all_facilities = false;
        colorado.profile.facilities = vec!["CO-1".into()];
        let colorado = create_user(&db, Actor::Operator, colorado).await.unwrap();
        for (user_id, state) in [(everywhere.id, "CA"), (colorado.id, "CO")] {
            let now = chrono::Utc::now();
            key_rows::ActiveModel {
                user_id: sea_orm::Set(user_id),
                state: sea_orm::Set(state.into()),
                ciphertext: sea_orm::Set("sealed".into()),
                fingerprint: sea_orm::Set(format!("fp-{user_id}")),
                masked_key: sea_orm::Set(Some("••••1234".into())),
                status: sea_orm::Set(KeyStatus::Valid),
                last_validated_at: sea_orm::Set(Some(now)),
                report: sea_orm::Set(None),
                created_at: sea_orm::Set(now),
                updated_at: sea_orm::Set(now),
                ..Default::default()
            }
            .insert(&db)
            .await
            .unwrap();
        }
        let row =
            |rows: &[UserSummary], id: i32| rows.iter().find(|r| r.id == id).cloned().unwrap();

        // One state: the list as before, no status per state.
        let one = list_users(&db, &["CA".into()]).await.unwrap();
        assert!(one.iter().all(|r| r.key_states.is_empty()));
        assert_eq!(row(&one, everywhere.id).key_status, KeyStatus::Valid);

        let two = list_users(&db, &["CA".into(), "CO".into()]).await.unwrap();
        let ann = row(&two, everywhere.id);
        let shown: Vec<(&str, KeyStatus)> = ann
            .key_states
            .iter()
            .map(|k| (k.state.as_str(), k.status))
            .collect();
        assert_eq!(
            shown,
            [("CA", KeyStatus::Valid), ("CO", KeyStatus::Missing)]
        );
        assert_eq!(ann.key_status, KeyStatus::Missing);
        assert!(ann.non_compliant(), "no key for Colorado, where she works");
        let bo = row(&two, colorado.id);
        assert_eq!(bo.key_states.len(), 1);
        assert_eq!(bo.key_status, KeyStatus::Valid);
        assert!(!bo.non_compliant());
    }

    #[test]
    fn an_admin_is_left_only_if_another_active_admin_exists() {
        assert!(leaves_an_admin(&[1, 2], 1));
        assert!(leaves_an_admin(&[1, 2], 3));
        assert!(!leaves_an_admin(&[1], 1));
        assert!(!leaves_an_admin(&[], 1));
    }

    #[test]
    fn emails_need_an_at_with_something_on_each_side() {
        for ok in ["a@b.c", "admin@localhost", "first.last+tag@example.co.uk"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "", "abc", "@b.c", "a@", "a@@b", "a b@c.d", "a@b@c", "a@.b", "a@b.",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn create_checks_its_input_and_audits_without_the_password() {
        let db = test_db::fresh().await;
        let created = create_user(
            &db,
            Actor::Operator,
            new_user(" Dana@Example.test", "a long enough password"),
        )
        .await
        .unwrap();
        assert_eq!(created.name, "Dana Grower");
        assert_eq!(created.email, "dana@example.test");
        assert!(created.active && created.all_facilities && created.requires_review);

        assert!(matches!(
            create_user(
                &db,
                Actor::Operator,
                new_user("dana@example.test", "another long one")
            )
            .await,
            Err(UserAdminError::EmailTaken)
        ));
        assert!(matches!(
            create_user(&db, Actor::Operator, new_user("eve@example.test", "short")).await,
            Err(UserAdminError::PasswordTooShort)
        ));
        assert!(matches!(
            create_user(
                &db,
                Actor::Operator,
                new_user("not-an-email", "a long enough password")
            )
            .await,
            Err(UserAdminError::InvalidEmail)
        ));
        let mut nowhere = new_user("fay@example.test", "a long enough password");
        nowhere.profile.all_facilities = false;
        assert!(matches!(
            create_user(&db, Actor::Operator, nowhere).await,
            Err(UserAdminError::NoFacilities)
        ));
        let mut unknown = new_user("fay@example.test", "a long enough password");
        unknown.profile.all_facilities = false;
        unknown.profile.facilities = vec!["NOPE-1".into()];
        assert!(matches!(
            create_user(&db, Actor::Operator, unknown).await,
            Err(UserAdminError::UnknownFacility(l)) if l == vec!["NOPE-1".to_owned()]
        ));

        let events = audit_events::recent(&db, 10).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, AuditAction::UserCreated);
        assert!(!events[0].detail.contains("a long enough password"));
    }

    #[tokio::test]
    async fn admins_keep_their_own_role_and_account() {
        let db = test_db::fresh().await;
        let mut admin = new_user("root@example.test", "a long enough password");
        admin.profile.role = Role::Admin;
        let admin = create_user(&db, Actor::Operator, admin).await.unwrap();
        let admin = CurrentUser {
            id: admin.id,
            name: admin.name,
            email: admin.email,
            role: admin.role,
            must_change_password: false,
        };
        let me = Actor::User {
            user: &admin,
            ip: None,
        };
        assert!(matches!(
            update_user(&db, me, admin.id, edit("root@example.test")).await,
            Err(UserAdminError::CannotRemoveOwnAdmin)
        ));
        assert!(matches!(
            deactivate_user(&db, me, admin.id).await,
            Err(UserAdminError::CannotDeactivateSelf)
        ));
        assert!(matches!(
            deactivate_user(&db, me, admin.id + 100).await,
            Err(UserAdminError::UnknownUser)
        ));
        let other = create_user(
            &db,
            me,
            new_user("o@example.test", "a long enough password"),
        )
        .await
        .unwrap();
        assert!(matches!(
            update_user(&db, me, other.id, edit("ROOT@example.test")).await,
            Err(UserAdminError::EmailTaken)
        ));
        let mut renamed = edit("o@example.test");
        renamed.name = "Olive".into();
        let saved = update_user(&db, me, other.id, renamed).await.unwrap();
        assert_eq!(saved.name, "Olive");
        let events = audit_events::recent(&db, 1).await.unwrap();
        assert_eq!(events[0].action, AuditAction::UserUpdated);
        assert!(events[0].detail.contains("Olive"), "{}", events[0].detail);
    }

    #[test]
    fn messages_are_for_people() {
        let msg = AppError::from(UserAdminError::PasswordTooShort).to_string();
        assert!(msg.contains("12 characters"), "{msg}");
        let msg = AppError::from(UserAdminError::EmailTaken).to_string();
        assert_eq!(msg, "A user with this email already exists.");
        assert_eq!(
            AppError::from(UserAdminError::UnknownUser),
            AppError::NotFound
        );
    }
}
