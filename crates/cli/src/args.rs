//! The command line: global options, the commands, and the parsers of their values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use url::Url;
use wazzup_user_sync::config::DEFAULT_API_URL;
use wazzup_user_sync::domain::{SeatPolicy, SourceTime};
use wazzup_user_sync::sources::registry;

/// This tool's calls to Wazzup per 5 s by default: what the deployment's functions leave of the
/// account's 500 (the template's worker 2 x 150, HTTP function 10 x 10, scheduled run 40;
/// tests/template_check.py reads this line).
pub const OPERATOR_RATE_LIMIT: u64 = 50;
use wazzup_user_sync::domain::PhoneRegion;

const LONG_ABOUT: &str = "\
Operators' tool for the Wazzup user sync: plan and apply a full sync of Wazzup's users from a \
file of employees, and list or show Wazzup's users.

The file (CSV with a header id,name,phone and optionally wazzupId; or JSON: an array of \
{\"id\",\"name\",\"phone\"} or {\"employees\": [...]}) is the complete list of employees; \
--crm NAME reads a source's users API instead: its active users that --seat-rules (SEAT_RULES, \
the functions' seat rules) admit. Every row is validated first; one invalid row \
refuses the whole list. Only users this deployment owns are ever deleted: those it created or \
took over, recorded in its state table (--state-table / STATE_TABLE); --prefix P or \
SYNC_ID_PREFIX (ids starting with P), or --all or SYNC_MANAGE_ALL=true (every user, said \
explicitly) widen that; without a state table one of them is required. A plan deleting more than \
--max-delete-share (default 10 %) of the managed users is refused unless --force-deletes is \
given. A plan that would leave more than 1,000 users in Wazzup is refused before any call. \
`plan` (or `apply --dry-run`) prints the plan and changes nothing.

An account that already has its staff: `adopt` matches the employees to the Wazzup users \
nobody owns (by id, then phone, then a name only one user and one employee have; an \
operator's wazzupId column decides the rest), prints the matches, the ambiguities, the \
employees without a user and the users without an employee, and with --apply takes the \
matched users over: their ids, roles and chats stay, and each employee's changes go to its \
user from then on. Wazzup's roles (supervisor, manager, quality control) are set per channel \
in Wazzup's own interface; the API cannot set them, so a user this tool creates sees no chats \
until an administrator gives it a role, and a user taken over keeps its role.

The key: --key / WAZZUP_API_KEY, or --secret-id / WAZZUP_SECRET_ID to read it from AWS Secrets \
Manager (region and credentials from the standard AWS configuration). Prefer the environment \
variable to --key: command lines are visible to other users of the machine.

The queued mode's dead-letter queue: `dlq list` shows the changes the worker gave up on, \
`dlq redrive --queue-url URL` moves them back to be applied once the cause is fixed (DLQ_URL, \
QUEUE_URL; AWS region and credentials from the standard configuration).

Exit codes:
  0  success, including a plan with nothing to change
  1  unexpected or I/O error (e.g. the file cannot be read)
  2  usage or configuration error (bad option, no key, no scope)
  3  refused by a safety rule or invalid input (invalid rows, too many deletions, the user
     limit, ids outside the scope); nothing was applied
  4  Wazzup, Secrets Manager or SQS failed, or Wazzup refused the key; for apply, what was applied is
     printed, and running the same command again is safe
  5  get: Wazzup has no user with this id
  6  apply finished, but Wazzup refused some employees (listed); the rest was applied";

#[derive(Parser, Debug)]
#[command(
    name = "wazzup-sync",
    version,
    about = "Plan and apply a full sync of Wazzup users from a file; list and show Wazzup users",
    long_about = LONG_ABOUT
)]
pub struct Cli {
    /// Wazzup API key [wins over --secret-id]
    #[arg(
        long,
        env = "WAZZUP_API_KEY",
        hide_env_values = true,
        global = true,
        value_name = "KEY"
    )]
    pub key: Option<String>,

    /// Read the API key from this AWS Secrets Manager secret (name or ARN)
    #[arg(long, env = "WAZZUP_SECRET_ID", global = true, value_name = "ID")]
    pub secret_id: Option<String>,

    /// Where Wazzup is
    #[arg(
        long,
        env = "WAZZUP_API_URL",
        default_value = DEFAULT_API_URL,
        value_parser = parse_api_url,
        global = true,
        value_name = "URL"
    )]
    pub api_url: Url,

    /// Timeout of one call to Wazzup, in seconds
    #[arg(
        long,
        env = "WAZZUP_TIMEOUT_SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=300),
        global = true,
        value_name = "SECONDS"
    )]
    pub timeout: u64,

    /// Calls to Wazzup per 5 s: the deployment's functions use 440 of the account's 500, so
    /// this tool keeps to the rest (alone with an account, up to 500 is yours)
    #[arg(
        long,
        env = "WAZZUP_RATE_LIMIT",
        default_value_t = OPERATOR_RATE_LIMIT,
        value_parser = clap::value_parser!(u64).range(1..=500),
        global = true,
        value_name = "CALLS"
    )]
    pub rate_limit: u64,

    /// Region for phone numbers written without a country code (ISO 3166-1, e.g. RU, US)
    #[arg(
        long,
        env = "DEFAULT_PHONE_REGION",
        default_value = "RU",
        value_parser = parse_region,
        global = true,
        value_name = "REGION"
    )]
    pub region: PhoneRegion,

    /// Machine-readable output: one JSON document on stdout
    #[arg(long, global = true)]
    pub json: bool,

    /// No progress bar and no warnings on stderr (errors are still printed)
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show what a full sync from a file would change; change nothing
    Plan(SyncArgs),
    /// Match the employees to the Wazzup users the account already has; take them over with --apply
    Adopt {
        #[command(flatten)]
        sync: SyncArgs,
        /// Take the matched users over (record them as their employees', write their names and
        /// phones); without it, only the table is printed
        #[arg(long)]
        apply: bool,
    },
    /// Make Wazzup's users in the scope exactly the employees of a file
    Apply {
        #[command(flatten)]
        sync: SyncArgs,
        /// Print the plan and change nothing (the same as `plan`)
        #[arg(long)]
        dry_run: bool,
        /// Take over the existing users the plan matches to employees, then apply
        #[arg(long)]
        adopt: bool,
    },
    /// List Wazzup's users (id and name)
    List,
    /// Show one Wazzup user, phone included
    Get {
        /// The user's id
        id: String,
    },
    /// Look at the queued mode's dead-letter queue, or move its messages back to be applied
    #[command(subcommand)]
    Dlq(DlqCommand),
}

/// The dead-letter queue: changes the worker could not apply after every retry.
#[derive(Subcommand, Debug)]
pub enum DlqCommand {
    /// List the changes waiting there (left in place)
    List {
        #[command(flatten)]
        queues: DlqArgs,
    },
    /// Move them back to the queue, for the worker to apply (after fixing the cause)
    Redrive {
        #[command(flatten)]
        queues: DlqArgs,
        /// The queue they came from
        #[arg(long, env = "QUEUE_URL", value_name = "URL")]
        queue_url: String,
    },
}

#[derive(Args, Debug)]
pub struct DlqArgs {
    /// The dead-letter queue (the stack's DeadLetterQueueUrl output)
    #[arg(long, env = "DLQ_URL", value_name = "URL")]
    pub dlq_url: String,
    /// At most this many messages
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max: u64,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// The employees: a .csv or .json file, or - for standard input (with --format)
    #[arg(
        short,
        long,
        value_name = "FILE",
        required_unless_present = "crm",
        conflicts_with = "crm"
    )]
    pub file: Option<PathBuf>,

    /// Read the employees from this source's users API instead (pipedrive, bitrix24, google,
    /// keycloak, custom), with the credentials of the key's secret (or --crm-secret-id's)
    #[arg(long, value_name = "NAME")]
    pub crm: Option<String>,

    /// Who gets a seat, per source, as the functions' SEAT_RULES: the --crm source's active
    /// users these rules admit are the list
    #[arg(long, env = "SEAT_RULES", value_parser = parse_seats, value_name = "JSON", requires = "crm")]
    pub seat_rules: Option<SeatPolicy>,

    /// The secret holding the source's users-API credentials, when not the key's
    #[arg(long, env = "CRM_SECRET_ID", value_name = "ID", requires = "crm")]
    pub crm_secret_id: Option<String>,

    /// The deployment's state table (DynamoDB): which Wazzup users it owns, where takeovers
    /// are recorded, and the leases its functions respect
    #[arg(long, env = "STATE_TABLE", value_name = "TABLE")]
    pub state_table: Option<String>,

    /// The file's format [default: from the file's extension]
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Also manage (and so possibly delete) Wazzup users whose id starts with this prefix
    #[arg(long, env = "SYNC_ID_PREFIX", value_name = "PREFIX")]
    pub prefix: Option<String>,

    /// Manage every Wazzup user: users missing from the file that no employee matches are
    /// deleted, whoever added them
    #[arg(long, env = "SYNC_MANAGE_ALL")]
    pub all: bool,

    /// Largest share of the managed users one run may delete: 0.10 or 10%
    #[arg(
        long,
        env = "SYNC_MAX_DELETE_SHARE",
        default_value = "0.10",
        value_parser = parse_share,
        value_name = "SHARE"
    )]
    pub max_delete_share: f64,

    /// Delete beyond --max-delete-share all the same
    #[arg(long)]
    pub force_deletes: bool,

    /// When the list was exported (RFC 3339, e.g. 2026-12-06T09:00:00Z) [default: when it is
    /// read]: a change the functions applied after that is newer, and stays
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub as_of: Option<SourceTime>,

    /// Re-send unchanged employees too (Wazzup's list has no phones, so a changed phone alone
    /// is not seen)
    #[arg(long)]
    pub resend: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

fn parse_api_url(text: &str) -> Result<Url, String> {
    Url::parse(text.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| format!("\"{text}\" is not an http(s) URL"))
}

fn parse_seats(text: &str) -> Result<SeatPolicy, String> {
    let policy = SeatPolicy::parse(text)?;
    registry::check_seats(&policy)?;
    Ok(policy)
}

fn parse_time(text: &str) -> Result<SourceTime, String> {
    let time = SourceTime::parse_rfc3339(text.trim()).ok_or_else(|| {
        format!("\"{text}\" is not an RFC 3339 time such as 2026-12-06T09:00:00Z")
    })?;
    if time > SourceTime::now() {
        return Err(format!(
            "\"{text}\" is in the future: give when the list was exported"
        ));
    }
    Ok(time)
}

fn parse_region(text: &str) -> Result<PhoneRegion, String> {
    text.parse()
}

fn parse_share(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let (number, percent) = match trimmed.strip_suffix('%') {
        Some(number) => (number.trim(), true),
        None => (trimmed, false),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a share such as 0.10 or 10%"))?;
    let value = if percent { value / 100.0 } else { value };
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "\"{text}\" is not between 0 and 1 (write 0.10 or 10% for ten per cent)"
        ))
    }
}
