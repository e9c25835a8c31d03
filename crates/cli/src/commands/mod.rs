//! The commands, each in its own file, and which one runs.

mod adopt;
mod dlq;
mod plan_view;
mod sync;
mod users;

use clap::ArgMatches;

use crate::args::{Cli, Command};
use crate::failure::Failure;
use crate::output::Output;

/// Runs the command the command line names and returns its exit code.
pub async fn run(cli: &Cli, matches: &ArgMatches, out: Output) -> Result<u8, Failure> {
    match &cli.command {
        Command::Plan(args) => {
            let run = sync::Run::plan("plan");
            sync::run_sync(cli, matches, out, args, run).await
        }
        Command::Apply {
            sync,
            dry_run,
            adopt,
        } => {
            let run = match dry_run {
                true => sync::Run::plan("apply"),
                false => sync::Run::apply(*adopt),
            };
            sync::run_sync(cli, matches, out, sync, run).await
        }
        Command::Adopt { sync, apply } => adopt::run_adopt(cli, matches, out, sync, *apply).await,
        Command::List => users::run_list(cli, matches, out).await,
        Command::Get { id } => users::run_get(cli, matches, out, id).await,
        Command::Dlq(command) => dlq::run(out, command).await,
    }
}
