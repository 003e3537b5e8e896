//! The `users` table.

use super::super::entities::users::{self, Entity as Users};
use crate::types::auth::{CurrentUser, Role};
use crate::types::users::UserSummary;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};

/// What is needed to create a user; the password is already hashed.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: String,
    pub role: Role,
    pub can_submit: bool,
}

/// Emails are compared and stored trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Users::find().count(db).await
}

pub async fn insert(db: &impl ConnectionTrait, new: NewUser<'_>) -> Result<users::Model, DbErr> {
    let now = Utc::now();
    users::ActiveModel {
        email: Set(normalize_email(new.email)),
        name: Set(new.name.trim().to_owned()),
        password_hash: Set(new.password_hash),
        role: Set(new.role.as_str().to_owned()),
        can_submit: Set(new.can_submit),
        requires_review: Set(false),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<users::Model>, DbErr> {
    Users::find()
        .filter(users::Column::Email.eq(normalize_email(email)))
        .one(db)
        .await
}

/// The active user with this id, as the pages see them. A deactivated user, or one whose stored
/// role is unknown, is nobody.
pub async fn find_current(
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<Option<CurrentUser>, DbErr> {
    Ok(Users::find_by_id(id)
        .filter(users::Column::Active.eq(true))
        .one(db)
        .await?
        .and_then(|m| to_current(&m)))
}

pub fn to_current(model: &users::Model) -> Option<CurrentUser> {
    Some(CurrentUser {
        id: model.id,
        name: model.name.clone(),
        email: model.email.clone(),
        role: Role::parse(&model.role)?,
    })
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<UserSummary>, DbErr> {
    let rows = Users::find()
        .order_by_asc(users::Column::Name)
        .order_by_asc(users::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|m| {
            Some(UserSummary {
                role: Role::parse(&m.role)?,
                id: m.id,
                name: m.name,
                email: m.email,
                can_submit: m.can_submit,
                active: m.active,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;

    fn new_user<'a>(email: &'a str, role: Role) -> NewUser<'a> {
        NewUser {
            email,
            name: "Dana Grower",
            password_hash: "hash".into(),
            role,
            can_submit: true,
        }
    }

    #[tokio::test]
    async fn emails_are_unique_regardless_of_case_and_spaces() {
        let db = test_db::fresh().await;
        insert(&db, new_user("Dana@Example.com ", Role::Employee))
            .await
            .unwrap();
        assert!(
            insert(&db, new_user("dana@example.com", Role::Admin))
                .await
                .is_err()
        );
        let found = find_by_email(&db, "  DANA@example.COM")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.email, "dana@example.com");
        assert_eq!(count(&db).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn deactivated_users_are_not_current() {
        let db = test_db::fresh().await;
        let user = insert(&db, new_user("a@b.c", Role::Admin)).await.unwrap();
        assert_eq!(
            find_current(&db, user.id).await.unwrap().unwrap().role,
            Role::Admin
        );
        let mut active: users::ActiveModel = user.clone().into();
        active.active = Set(false);
        active.update(&db).await.unwrap();
        assert!(find_current(&db, user.id).await.unwrap().is_none());
    }
}
