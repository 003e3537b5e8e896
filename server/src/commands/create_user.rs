//! `tracekeeper create-user`.

use crate::cli::CreateUserArgs;
use crate::error::StartError;
use crate::startup::connect;
use app::ssr::config::Config;
use secrecy::SecretString;

/// `tracekeeper create-user`: the password comes from the first line of standard input, so it
/// appears neither in the process list nor in the shell history. The user is created as User
/// Management creates one (the same checks, audited as `user.created` by the operator), working
/// at every facility.
pub async fn create_user(config: &Config, args: CreateUserArgs) -> Result<(), StartError> {
    use app::ssr::actor::Actor;
    use app::ssr::user_admin::{self, NewUserInput, UserEdit};

    let mut password = String::new();
    std::io::stdin().read_line(&mut password).map_err(|e| {
        StartError::CreateUser(format!("cannot read the password from standard input: {e}"))
    })?;
    let password = SecretString::from(password.trim_end_matches(['\r', '\n']).to_owned());
    let db = connect(config).await?;
    let input = NewUserInput {
        profile: UserEdit {
            name: args.name,
            email: args.email,
            role: args.role.into(),
            all_facilities: true,
            facilities: Vec::new(),
            can_submit: args.can_submit,
            requires_review: false,
        },
        password,
        must_change_password: false,
    };
    let user = user_admin::create_user(&db, Actor::Operator, input)
        .await
        .map_err(|e| StartError::CreateUser(app::error::AppError::from(e).to_string()))?;
    tracing::info!(user_id = user.id, email = %user.email, "user created");
    Ok(())
}
