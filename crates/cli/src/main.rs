//! `wazzup-sync`: the operators' command-line tool.
//!
//! ```text
//! wazzup-sync [--key KEY | --secret-id ID] [--api-url URL] [--timeout S] [--region R]
//!             [--json] [-q] <command>
//!
//!   plan  (--file F [--format csv|json] | --crm NAME [--crm-secret-id ID])
//!         (--state-table T | --prefix P | --all)
//!         [--max-delete-share 0.10] [--force-deletes] [--resend]
//!   apply (same options as plan)  [--dry-run] [--adopt]
//!   adopt (same options as plan)  [--apply]
//!   list
//!   get ID
//!   dlq list    --dlq-url URL            (or DLQ_URL)
//!   dlq redrive --dlq-url URL --queue-url URL   (or QUEUE_URL)
//! ```
//!
//! `plan` and `apply` run the function's own full sync ([`wazzup_user_sync::service`]): the file is the
//! complete list of employees (CSV with a header `id,name,phone` and optionally `wazzupId`, or
//! JSON: an array of `{"id", "name", "phone", "wazzupId"}` or `{"employees": [...]}`; `-` reads
//! standard input and then needs `--format`), or `--crm` reads a source's users API. The whole
//! list is validated before Wazzup is called, and one invalid row refuses the whole list,
//! because an employee left out of a full sync would be deleted. Deletions are fenced: only
//! users the deployment owns (its state table, `--state-table` / `STATE_TABLE`) or that a scope
//! reaches (`--prefix` / `SYNC_ID_PREFIX`, or `--all` / `SYNC_MANAGE_ALL=true` said explicitly)
//! are ever deleted (one of them is required), and a plan deleting more than
//! `--max-delete-share` of the managed users is refused unless `--force-deletes` is given.
//! `apply` sends the deletions first, then the upserts, 100 to a request, with a progress bar on
//! a terminal; with `--adopt` it takes over the existing users the plan matches first. `adopt`
//! prints the takeover's table (matches, ambiguities, employees without a user, users without an
//! employee) and with `--apply` takes the matches over.
//!
//! `dlq list` shows the changes the queued mode's worker gave up on (left in place); `dlq
//! redrive` moves them back to the queue once the cause is fixed. They need no Wazzup key, only
//! the queues, through the standard AWS configuration.
//!
//! The key comes from `--key` (or `WAZZUP_API_KEY`), or from AWS Secrets Manager with
//! `--secret-id` (or `WAZZUP_SECRET_ID`), read through the standard AWS configuration chain.
//! A value given on the command line wins over one from the environment; when both come from
//! the same place, the key wins.
//!
//! Exit codes, for scripts:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success, including a plan with nothing to change |
//! | 1 | unexpected or I/O error (e.g. the file cannot be read) |
//! | 2 | usage or configuration error (bad option, no key, no scope) |
//! | 3 | refused by a safety rule or invalid input: invalid rows, too many deletions, the user limit, ids outside the scope; nothing was applied |
//! | 4 | Wazzup or Secrets Manager failed or refused the key; for `apply`, what was applied is printed, and running the same command again is safe |
//! | 5 | `get` of an id Wazzup does not have |
//! | 6 | `apply` finished, but Wazzup refused some employees (e.g. `DUPLICATE_PHONE_NUMBER`); they are listed, the rest was applied |

mod args;
mod commands;
mod failure;
mod input;
mod output;
mod remote;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::args::Cli;
use crate::output::Output;

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    // The library logs through `tracing`; this tool reports for itself, so only errors (or
    // what RUST_LOG asks for) reach stderr.
    wazzup_user_sync::telemetry::init_with(std::io::stderr, "error");
    let out = Output {
        json: cli.json,
        quiet: cli.quiet,
    };
    let code = match commands::run(&cli, &matches, out).await {
        Ok(code) => code,
        Err(failure) => {
            out.failure(&failure);
            failure.exit
        }
    };
    ExitCode::from(code)
}
