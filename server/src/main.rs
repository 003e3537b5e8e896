//! `tracekeeper`: serves the app (the default), or runs one maintenance command.

use server::cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::try_parse_args(std::env::args_os()).unwrap_or_else(|err| err.exit());
    server::telemetry::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let config = cli.config.into_config()?;
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => server::startup::serve(config, cli.metrc).await,
            Command::Migrate => server::commands::migrate(&config).await,
            Command::CreateUser(args) => server::commands::create_user(&config, args).await,
            Command::RotateIdentity => server::commands::rotate_identity(&config).await,
            Command::NewSecrets(args) => server::commands::new_secrets(&config, &args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
