//! The commands, each in its own file, and which one runs.

mod dlq;
mod sync;
mod users;

use clap::ArgMatches;

use crate::args::{Cli, Command};
use crate::failure::Failure;
use crate::output::Output;

/// Runs the command the command line names and returns its exit code.
pub async fn run(cli: &Cli, matches: &ArgMatches, out: Output) -> Result<u8, Failure> {
    match &cli.command {
        Command::Plan(args) => sync::run_sync(cli, matches, out, args, "plan", false).await,
        Command::Apply { sync, dry_run } => {
            sync::run_sync(cli, matches, out, sync, "apply", !dry_run).await
        }
        Command::List => users::run_list(cli, matches, out).await,
        Command::Get { id } => users::run_get(cli, matches, out, id).await,
        Command::Dlq(command) => dlq::run(out, command).await,
    }
}
