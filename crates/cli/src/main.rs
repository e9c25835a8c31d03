//! `wazzup-sync`: the operators' command-line tool.
//!
//! ```text
//! wazzup-sync [--key KEY | --secret-id ID] [--api-url URL] [--timeout S] [--region R]
//!             [--json] [-q] <command>
//!
//!   plan  --file F [--format csv|json] (--prefix P | --all)
//!         [--max-delete-share 0.10] [--force-deletes] [--resend]
//!   apply --file F  (same options as plan)  [--dry-run]
//!   list
//!   get ID
//! ```
//!
//! `plan` and `apply` run the full sync of [`wazzup_user_sync::reconcile`]: the file is the
//! complete list of employees (CSV with a header `id,name,phone`, or JSON: an array of
//! `{"id", "name", "phone"}` or `{"employees": [...]}`; `-` reads standard input and then needs
//! `--format`). The whole file is validated before Wazzup is called, and one invalid row refuses
//! the whole file, because an employee left out of a full sync would be deleted. Deletions are
//! fenced: only users in the scope (`--prefix` / `SYNC_ID_PREFIX`, or `--all` /
//! `SYNC_MANAGE_ALL=true` said explicitly; one is required) are ever deleted,
//! and a plan deleting more than `--max-delete-share` of the managed users is refused unless
//! `--force-deletes` is given. `apply` sends the deletions first, then the upserts, 100 to a
//! request, with a progress bar on a terminal.
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

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use url::Url;
use wazzup_user_sync::domain::{PhoneRegion, User};
use wazzup_user_sync::outcome::Summary;
use wazzup_user_sync::plan::{MAX_PER_REQUEST, Plan};
use wazzup_user_sync::reconcile::{
    EmployeeRow, FullPlan, PlanError, Policy, Scope, parse_employees, plan_full_sync,
};
use wazzup_user_sync::secrets::{
    CredentialProvider, SecretError, SecretsManagerCredentials, StaticCredentials,
    parse_secret_value,
};
use wazzup_user_sync::sync::{Applier, ApplyError};
use wazzup_user_sync::wazzup::{ClientConfig, DEFAULT_API_URL, ListedUser, WazzupClient};

/// Exit codes; see the module documentation.
mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const REFUSED: u8 = 3;
    pub const REMOTE: u8 = 4;
    pub const NOT_FOUND: u8 = 5;
    pub const PARTIAL: u8 = 6;
}

/// How many ids a list shows in table mode before "... and N more".
const SHOWN: usize = 20;
/// How long a secret read from Secrets Manager is trusted within one run.
const SECRET_TTL: Duration = Duration::from_secs(300);

const LONG_ABOUT: &str = "\
Operators' tool for the Wazzup user sync: plan and apply a full sync of Wazzup's users from a \
file of employees, and list or show Wazzup's users.

The file (CSV with a header id,name,phone; or JSON: an array of {\"id\",\"name\",\"phone\"} or \
{\"employees\": [...]}) is the complete list of employees. Every row is validated first; one \
invalid row refuses the whole file. Only users in the scope are ever deleted: --prefix P or \
SYNC_ID_PREFIX (ids starting with P), or --all or SYNC_MANAGE_ALL=true (every user, said \
explicitly); one of them is required. A plan deleting more than \
--max-delete-share (default 10 %) of the managed users is refused unless --force-deletes is \
given. A plan that would leave more than 1,000 users in Wazzup is refused before any call. \
`plan` (or `apply --dry-run`) prints the plan and changes nothing.

The key: --key / WAZZUP_API_KEY, or --secret-id / WAZZUP_SECRET_ID to read it from AWS Secrets \
Manager (region and credentials from the standard AWS configuration). Prefer the environment \
variable to --key: command lines are visible to other users of the machine.

Exit codes:
  0  success, including a plan with nothing to change
  1  unexpected or I/O error (e.g. the file cannot be read)
  2  usage or configuration error (bad option, no key, no scope)
  3  refused by a safety rule or invalid input (invalid rows, too many deletions, the user
     limit, ids outside the scope); nothing was applied
  4  Wazzup or Secrets Manager failed or refused the key; for apply, what was applied is
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
struct Cli {
    /// Wazzup API key [wins over --secret-id]
    #[arg(
        long,
        env = "WAZZUP_API_KEY",
        hide_env_values = true,
        global = true,
        value_name = "KEY"
    )]
    key: Option<String>,

    /// Read the API key from this AWS Secrets Manager secret (name or ARN)
    #[arg(long, env = "WAZZUP_SECRET_ID", global = true, value_name = "ID")]
    secret_id: Option<String>,

    /// Where Wazzup is
    #[arg(
        long,
        env = "WAZZUP_API_URL",
        default_value = DEFAULT_API_URL,
        value_parser = parse_api_url,
        global = true,
        value_name = "URL"
    )]
    api_url: Url,

    /// Timeout of one call to Wazzup, in seconds
    #[arg(
        long,
        env = "WAZZUP_TIMEOUT_SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=300),
        global = true,
        value_name = "SECONDS"
    )]
    timeout: u64,

    /// Region for phone numbers written without a country code (ISO 3166-1, e.g. RU, US)
    #[arg(
        long,
        env = "DEFAULT_PHONE_REGION",
        default_value = "RU",
        value_parser = parse_region,
        global = true,
        value_name = "REGION"
    )]
    region: PhoneRegion,

    /// Machine-readable output: one JSON document on stdout
    #[arg(long, global = true)]
    json: bool,

    /// No progress bar and no warnings on stderr (errors are still printed)
    #[arg(short, long, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show what a full sync from a file would change; change nothing
    Plan(SyncArgs),
    /// Make Wazzup's users in the scope exactly the employees of a file
    Apply {
        #[command(flatten)]
        sync: SyncArgs,
        /// Print the plan and change nothing (the same as `plan`)
        #[arg(long)]
        dry_run: bool,
    },
    /// List Wazzup's users (id and name)
    List,
    /// Show one Wazzup user, phone included
    Get {
        /// The user's id
        id: String,
    },
}

#[derive(Args, Debug)]
struct SyncArgs {
    /// The employees: a .csv or .json file, or - for standard input (with --format)
    #[arg(short, long, value_name = "FILE")]
    file: PathBuf,

    /// The file's format [default: from the file's extension]
    #[arg(long, value_enum)]
    format: Option<Format>,

    /// Manage (and so possibly delete) only Wazzup users whose id starts with this prefix
    #[arg(long, env = "SYNC_ID_PREFIX", value_name = "PREFIX")]
    prefix: Option<String>,

    /// Manage every Wazzup user: users missing from the file are deleted, whoever added them
    #[arg(long, env = "SYNC_MANAGE_ALL")]
    all: bool,

    /// Largest share of the managed users one run may delete: 0.10 or 10%
    #[arg(
        long,
        env = "SYNC_MAX_DELETE_SHARE",
        default_value = "0.10",
        value_parser = parse_share,
        value_name = "SHARE"
    )]
    max_delete_share: f64,

    /// Delete beyond --max-delete-share all the same
    #[arg(long)]
    force_deletes: bool,

    /// Re-send unchanged employees too (Wazzup's list has no phones, so a changed phone alone
    /// is not seen)
    #[arg(long)]
    resend: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Csv,
    Json,
}

fn parse_api_url(text: &str) -> Result<Url, String> {
    Url::parse(text.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| format!("\"{text}\" is not an http(s) URL"))
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

// ---------------------------------------------------------------------------------------------
// Failures and output.

/// Why a command stopped: the exit code, a stable code word, a message, and details.
#[derive(Debug)]
struct Failure {
    exit: u8,
    code: String,
    message: String,
    /// Extra fields of the JSON error object.
    details: Map<String, Value>,
    /// Extra lines under the message in table mode.
    lines: Vec<String>,
}

impl Failure {
    fn new(exit: u8, code: &str, message: impl Into<String>) -> Self {
        Self {
            exit,
            code: code.to_owned(),
            message: message.into(),
            details: Map::new(),
            lines: Vec::new(),
        }
    }

    fn usage(message: impl Into<String>) -> Self {
        Self::new(exit::USAGE, "USAGE", message)
    }

    fn detail(mut self, key: &str, value: Value) -> Self {
        self.details.insert(key.to_owned(), value);
        self
    }

    fn line(mut self, line: impl Into<String>) -> Self {
        self.lines.push(line.into());
        self
    }

    fn json(&self) -> Value {
        let mut body = Map::new();
        body.insert("error".into(), Value::String(self.code.clone()));
        body.insert("message".into(), Value::String(self.message.clone()));
        for (key, value) in &self.details {
            body.entry(key.clone()).or_insert_with(|| value.clone());
        }
        Value::Object(body)
    }
}

fn secret_failure(error: &SecretError) -> Failure {
    let code = match error {
        SecretError::Unavailable(_) => "SECRETS_UNAVAILABLE",
        SecretError::Refused(_) => "SECRETS_REFUSED",
        SecretError::Invalid(_) => "SECRET_INVALID",
    };
    Failure::new(exit::REMOTE, code, error.to_string())
}

fn apply_failure(error: &ApplyError) -> Failure {
    match error {
        ApplyError::Wazzup(e) => Failure::new(exit::REMOTE, e.code(), e.to_string()),
        ApplyError::Secret(e) => secret_failure(e),
    }
}

/// Where output goes: stdout for results, stderr for notes and errors.
#[derive(Clone, Copy)]
struct Output {
    json: bool,
    quiet: bool,
}

impl Output {
    fn stdout(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) is not worth a panic.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    fn json_doc(&self, value: &Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into());
        self.stdout(&format!("{text}\n"));
    }

    fn note(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }

    fn failure(&self, failure: &Failure) {
        if self.json {
            self.json_doc(&failure.json());
        }
        let mut text = format!("error: {}\n", failure.message);
        if !self.json {
            for line in &failure.lines {
                let _ = writeln!(text, "  {line}");
            }
        }
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    fn progress(&self, requests: usize) -> ProgressBar {
        if self.json || self.quiet || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(requests as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:40}] {pos}/{len} requests {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    }
}

/// Aligned columns, widths counted in characters.
fn table(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let chars = cell.chars().count();
            match widths.get_mut(i) {
                Some(width) => *width = (*width).max(chars),
                None => widths.push(chars),
            }
        }
    }
    let mut text = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            // Names come from Wazzup: never let them drive the terminal.
            let cell: String = cell
                .chars()
                .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
                .collect();
            let cell = cell.as_str();
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// At most [`SHOWN`] lines of `items`, then how many more there are.
fn truncated(mut lines: Vec<String>) -> Vec<String> {
    let total = lines.len();
    lines.truncate(SHOWN);
    if total > SHOWN {
        lines.push(format!(
            "... and {} more (--json lists them all)",
            total - SHOWN
        ));
    }
    lines
}

// ---------------------------------------------------------------------------------------------
// Reading the employee file.

/// Where a row is in the file.
#[derive(Debug, Clone, Copy)]
struct Location {
    /// The row's position among the data rows (0 for the first employee).
    index: usize,
    /// The CSV line the row starts on.
    line: Option<u64>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}"),
            None => write!(f, "employees[{}]", self.index),
        }
    }
}

/// A problem or a warning about one row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct RowNote {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    code: String,
    message: String,
}

impl RowNote {
    fn new(at: Location, id: Option<&str>, code: &str, message: impl Into<String>) -> Self {
        Self {
            index: at.index,
            line: at.line,
            id: id.map(str::to_owned),
            code: code.to_owned(),
            message: message.into(),
        }
    }

    fn describe(&self) -> String {
        let at = Location {
            index: self.index,
            line: self.line,
        };
        match &self.id {
            Some(id) => format!("{at} (id {id}): {} [{}]", self.message, self.code),
            None => format!("{at}: {} [{}]", self.message, self.code),
        }
    }
}

/// The rows of a file, where each is, and the rows that could not even be read as a row.
#[derive(Default)]
struct Input {
    rows: Vec<(Location, EmployeeRow)>,
    problems: Vec<RowNote>,
    /// Rows in the file, readable or not.
    total: usize,
}

/// A CSV row. Every field is read as text: an id such as `00042` stays `00042`.
#[derive(Deserialize)]
struct CsvRow {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: Option<String>,
}

fn invalid_file(source: &str, message: impl std::fmt::Display) -> Failure {
    Failure::new(
        exit::REFUSED,
        "INVALID_FILE",
        format!("{source}: {message}; nothing was changed"),
    )
}

fn format_of(args: &SyncArgs) -> Result<Format, Failure> {
    if let Some(format) = args.format {
        return Ok(format);
    }
    if args.file == Path::new("-") {
        return Err(Failure::usage(
            "reading the employees from standard input needs --format csv or --format json",
        ));
    }
    let extension = args
        .file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("csv") => Ok(Format::Csv),
        Some("json") => Ok(Format::Json),
        _ => Err(Failure::usage(format!(
            "cannot tell the format of {} from its extension; name it .csv or .json, or pass --format",
            args.file.display()
        ))),
    }
}

fn source_name(args: &SyncArgs) -> String {
    if args.file == Path::new("-") {
        "standard input".into()
    } else {
        args.file.display().to_string()
    }
}

fn read_input(args: &SyncArgs) -> Result<Input, Failure> {
    let format = format_of(args)?;
    let source = source_name(args);
    let mut bytes = Vec::new();
    let read = if args.file == Path::new("-") {
        std::io::stdin().lock().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(&args.file).map(|b| bytes = b)
    };
    read.map_err(|e| {
        Failure::new(
            exit::ERROR,
            "IO_ERROR",
            format!("cannot read {source}: {e}"),
        )
    })?;
    // Spreadsheets like to start their exports with a byte order mark.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    match format {
        Format::Csv => read_csv(text, &source),
        Format::Json => read_json(text, &source),
    }
}

/// The delimiter of the header line: `,`, or `;` (spreadsheets in many locales), or a tab.
fn sniff_delimiter(text: &[u8]) -> u8 {
    let header = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |d: u8| header.iter().filter(|b| **b == d).count();
    [b';', b'\t']
        .into_iter()
        .filter(|d| count(*d) > count(b','))
        .max_by_key(|d| count(*d))
        .unwrap_or(b',')
}

fn read_csv(text: &[u8], source: &str) -> Result<Input, Failure> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(text))
        .trim(csv::Trim::All)
        .from_reader(text);
    let headers: csv::StringRecord = reader
        .headers()
        .map_err(|e| invalid_file(source, e))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let missing: Vec<&str> = ["id", "name"]
        .into_iter()
        .filter(|column| !headers.iter().any(|h| h == *column))
        .collect();
    if !missing.is_empty() {
        return Err(invalid_file(
            source,
            format!(
                "the header (first line) must name the columns id and name, and may name phone; \
                 it has no {} (found: {})",
                missing.join(" and "),
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    reader.set_headers(headers.clone());
    let mut input = Input::default();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => return Err(invalid_file(source, error)),
        }
        let at = Location {
            index: input.total,
            line: record.position().map(csv::Position::line),
        };
        input.total += 1;
        match record.deserialize::<CsvRow>(Some(&headers)) {
            Ok(row) => input.rows.push((
                at,
                EmployeeRow {
                    id: row.id,
                    name: Some(row.name),
                    phone: row.phone,
                },
            )),
            Err(error) => input.problems.push(RowNote::new(
                at,
                record.get(0),
                "INVALID_ROW",
                error.to_string(),
            )),
        }
    }
    Ok(input)
}

/// A JSON field as text: strings as they are, integers in decimal (ids and phones are often
/// numbers in exports), null or absent as `None`.
fn json_text(row: &Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match row.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        Some(_) => Err(format!("{field} must be text or a whole number")),
    }
}

fn json_row(item: &Value) -> Result<EmployeeRow, (Option<String>, String)> {
    let Value::Object(row) = item else {
        return Err((None, "an employee must be a JSON object".into()));
    };
    let id = json_text(row, "id").map_err(|e| (None, e))?;
    let id = id.ok_or((None, "id is missing".to_owned()))?;
    let name = match row.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err((Some(id), "name must be text".into())),
    };
    let phone = json_text(row, "phone").map_err(|e| (Some(id.clone()), e))?;
    Ok(EmployeeRow { id, name, phone })
}

fn read_json(text: &[u8], source: &str) -> Result<Input, Failure> {
    let value: Value = serde_json::from_slice(text)
        .map_err(|e| invalid_file(source, format!("not valid JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut object) => match object.remove("employees") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(invalid_file(
                    source,
                    "expected an array of employees or an object {\"employees\": [...]}",
                ));
            }
        },
        _ => {
            return Err(invalid_file(
                source,
                "expected an array of employees or an object {\"employees\": [...]}",
            ));
        }
    };
    let mut input = Input {
        total: items.len(),
        ..Input::default()
    };
    for (index, item) in items.iter().enumerate() {
        let at = Location { index, line: None };
        match json_row(item) {
            Ok(row) => input.rows.push((at, row)),
            Err((id, message)) => {
                input
                    .problems
                    .push(RowNote::new(at, id.as_deref(), "INVALID_ROW", message))
            }
        }
    }
    Ok(input)
}

/// The valid employees of a file, or every problem found in it. Beyond the fields themselves:
/// every id in the scope, no id twice, no phone twice (Wazzup allows a phone on one user only).
fn validate(
    input: Input,
    scope: &Scope,
    region: PhoneRegion,
    source: &str,
) -> Result<(Vec<User>, Vec<RowNote>), Failure> {
    let total = input.total;
    let mut problems = input.problems;
    let mut warnings = Vec::new();
    let mut users: Vec<(Location, User)> = Vec::new();
    for (at, row) in input.rows {
        match parse_employees(std::iter::once(row), region) {
            Ok((parsed, row_warnings)) => {
                warnings.extend(
                    row_warnings
                        .into_iter()
                        .map(|w| RowNote::new(at, w.id.as_deref(), &w.code, w.message)),
                );
                users.extend(parsed.into_iter().map(|u| (at, u)));
            }
            Err(rejections) => problems.extend(
                rejections
                    .into_iter()
                    .map(|r| RowNote::new(at, r.id.as_deref(), &r.reason, r.message)),
            ),
        }
    }

    let mut ids: HashMap<&str, Location> = HashMap::new();
    let mut phones: HashMap<&str, (Location, &str)> = HashMap::new();
    for (at, user) in &users {
        let id = user.id.as_str();
        if !scope.manages(id) {
            let prefix = match scope {
                Scope::Prefix(prefix) => prefix.as_str(),
                Scope::All => "",
            };
            problems.push(RowNote::new(
                *at,
                Some(id),
                "OUT_OF_SCOPE",
                format!(
                    "the id does not start with the prefix \"{prefix}\", so the sync could never \
                     delete this user later"
                ),
            ));
        }
        if let Some(first) = ids.get(id) {
            problems.push(RowNote::new(
                *at,
                Some(id),
                "DUPLICATE_ID",
                format!("the same id is already on {first}"),
            ));
            continue;
        }
        ids.insert(id, *at);
        if let Some(phone) = &user.phone {
            match phones.get(phone.as_str()) {
                Some((first, other)) => problems.push(RowNote::new(
                    *at,
                    Some(id),
                    "DUPLICATE_PHONE_NUMBER",
                    format!(
                        "the phone {} is already {other}'s ({first}); Wazzup allows a phone on one \
                         user only",
                        phone.masked()
                    ),
                )),
                None => {
                    phones.insert(phone.as_str(), (*at, id));
                }
            }
        }
    }

    if problems.is_empty() {
        return Ok((users.into_iter().map(|(_, u)| u).collect(), warnings));
    }
    problems.sort_by_key(|p| p.index);
    let bad: std::collections::HashSet<usize> = problems.iter().map(|p| p.index).collect();
    let mut failure = Failure::new(
        exit::REFUSED,
        "INVALID_ROWS",
        format!(
            "{source}: {} of {total} employees invalid; the file is used whole or not at all \
             (an employee left out would be deleted), so nothing was changed",
            bad.len()
        ),
    )
    .detail(
        "rejected",
        serde_json::to_value(&problems).unwrap_or_default(),
    )
    .detail(
        "warnings",
        serde_json::to_value(&warnings).unwrap_or_default(),
    );
    for line in truncated(problems.iter().map(RowNote::describe).collect()) {
        failure = failure.line(line);
    }
    for line in truncated(warnings.iter().map(RowNote::describe).collect()) {
        failure = failure.line(format!("warning: {line}"));
    }
    Err(failure)
}

// ---------------------------------------------------------------------------------------------
// Wazzup and the key.

/// Where the key comes from.
enum KeySource {
    Key(String),
    Secret(String),
}

fn from_command_line(matches: &ArgMatches, id: &str) -> bool {
    let on_line = |m: &ArgMatches| m.value_source(id) == Some(ValueSource::CommandLine);
    on_line(matches) || matches.subcommand().is_some_and(|(_, sub)| on_line(sub))
}

fn key_source(cli: &Cli, matches: &ArgMatches) -> Result<KeySource, Failure> {
    let key = cli.key.as_deref().map(str::trim).filter(|k| !k.is_empty());
    let secret = cli
        .secret_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match (key, secret) {
        (Some(key), Some(secret)) => {
            if from_command_line(matches, "secret_id") && !from_command_line(matches, "key") {
                Ok(KeySource::Secret(secret.to_owned()))
            } else {
                Ok(KeySource::Key(key.to_owned()))
            }
        }
        (Some(key), None) => Ok(KeySource::Key(key.to_owned())),
        (None, Some(secret)) => Ok(KeySource::Secret(secret.to_owned())),
        (None, None) => Err(Failure::new(
            exit::USAGE,
            "NO_API_KEY",
            "no Wazzup API key: set WAZZUP_API_KEY (or pass --key), or name the AWS Secrets \
             Manager secret holding it with WAZZUP_SECRET_ID (or --secret-id)",
        )),
    }
}

/// The Wazzup client and where its key comes from.
struct Remote {
    client: WazzupClient,
    provider: Box<dyn CredentialProvider>,
}

impl Remote {
    async fn connect(cli: &Cli, source: KeySource) -> Result<Self, Failure> {
        let mut config = ClientConfig::new(cli.api_url.clone());
        config.request_timeout = Duration::from_secs(cli.timeout);
        let client = WazzupClient::new(config)
            .map_err(|e| Failure::new(exit::ERROR, "INTERNAL", e.to_string()))?;
        let provider: Box<dyn CredentialProvider> = match source {
            KeySource::Key(key) => {
                let credentials = parse_secret_value(&key).map_err(|e| {
                    Failure::new(
                        exit::USAGE,
                        "INVALID_API_KEY",
                        format!("--key / WAZZUP_API_KEY: {e}"),
                    )
                })?;
                Box::new(StaticCredentials::new(credentials))
            }
            KeySource::Secret(id) => {
                let sdk = SecretsManagerCredentials::client_from_environment().await;
                Box::new(SecretsManagerCredentials::new(sdk, id, SECRET_TTL))
            }
        };
        Ok(Self { client, provider })
    }

    async fn applier(&self) -> Result<Applier<'_>, Failure> {
        let credentials = self
            .provider
            .current()
            .await
            .map_err(|e| secret_failure(&e))?;
        Ok(Applier::new(
            &self.client,
            self.provider.as_ref(),
            credentials,
            None,
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// plan and apply.

fn scope_of(args: &SyncArgs) -> Result<Scope, Failure> {
    let prefix = args.prefix.as_deref().map(str::trim);
    match (prefix, args.all) {
        (Some(_), true) => Err(Failure::usage(
            "--all (or SYNC_MANAGE_ALL) and --prefix (or SYNC_ID_PREFIX) name different scopes; \
             give only one",
        )),
        (Some(""), false) => Err(Failure::usage(
            "the id prefix is empty, which would manage every Wazzup user; say --all if that is meant",
        )),
        (Some(prefix), false) => Ok(Scope::Prefix(prefix.to_owned())),
        (None, true) => Ok(Scope::All),
        (None, false) => Err(Failure::new(
            exit::USAGE,
            "NO_SCOPE",
            "plan and apply need a scope, because a full sync deletes the users missing from the \
             file and deletions must be fenced: --prefix P (or SYNC_ID_PREFIX) manages only the \
             users whose id starts with P, --all (or SYNC_MANAGE_ALL=true) manages every Wazzup \
             user (users added by hand included)",
        )),
    }
}

fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::Prefix(prefix) => format!("ids starting with \"{prefix}\""),
        Scope::All => "every Wazzup user (--all)".into(),
    }
}

fn scope_json(scope: &Scope) -> Value {
    match scope {
        Scope::Prefix(prefix) => json!({"prefix": prefix}),
        Scope::All => json!({"all": true}),
    }
}

fn plan_failure(
    error: PlanError,
    desired: &[User],
    current: &[ListedUser],
    policy: &Policy,
) -> Failure {
    let message = error.to_string();
    match error {
        PlanError::DuplicateId(id) => {
            Failure::new(exit::REFUSED, "DUPLICATE_ID", message).detail("id", json!(id))
        }
        PlanError::OutOfScope(id) => {
            Failure::new(exit::REFUSED, "OUT_OF_SCOPE", message).detail("id", json!(id))
        }
        PlanError::TooManyDeletions {
            deletes, managed, ..
        } => {
            let forced = Policy {
                force_deletes: true,
                ..policy.clone()
            };
            let mut would_delete: Vec<String> = plan_full_sync(desired, current, &forced)
                .map(|p| p.delete.iter().map(ToString::to_string).collect())
                .unwrap_or_default();
            would_delete.sort();
            let mut failure = Failure::new(
                exit::REFUSED,
                "TOO_MANY_DELETIONS",
                format!(
                    "{message}. Nothing was changed. If these employees really left, run again \
                     with --force-deletes (or raise --max-delete-share)"
                ),
            )
            .detail("deletes", json!(deletes))
            .detail("managed", json!(managed))
            .detail("maxDeleteShare", json!(policy.max_delete_share))
            .detail("wouldDelete", json!(would_delete))
            .line(format!("would delete ({}):", would_delete.len()));
            for line in truncated(would_delete) {
                failure = failure.line(format!("  {line}"));
            }
            failure
        }
        PlanError::UserLimit { total, limit } => Failure::new(
            exit::REFUSED,
            "USER_LIMIT",
            format!(
                "{message}: Wazzup accepts at most {limit} users per account; remove employees from \
                 the file, or users outside the scope in Wazzup"
            ),
        )
        .detail("total", json!(total))
        .detail("limit", json!(limit)),
    }
}

/// The plan split into the calls to make, one sub-plan per request: deletions (one `DELETE` or
/// `bulk_delete`s of up to 100 ids), then upserts of up to 100 users.
fn requests_of(plan: &Plan) -> Vec<Plan> {
    let mut requests = Vec::new();
    for chunk in plan.deletes.chunks(MAX_PER_REQUEST) {
        requests.push(Plan {
            deletes: chunk.to_vec(),
            ..Plan::default()
        });
    }
    for chunk in plan.upserts.chunks(MAX_PER_REQUEST) {
        requests.push(Plan {
            upserts: chunk.to_vec(),
            ..Plan::default()
        });
    }
    requests
}

fn request_ids(request: &Plan) -> impl Iterator<Item = String> + '_ {
    request
        .deletes
        .iter()
        .map(ToString::to_string)
        .chain(request.upserts.iter().map(|u| u.id.to_string()))
}

/// Applies the requests in order, advancing `bar` after each. On an error, every id of the
/// failed request and of the later ones that was not applied is in `summary.not_applied`.
async fn execute(
    applier: &mut Applier<'_>,
    requests: &[Plan],
    bar: &ProgressBar,
    summary: &mut Summary,
) -> Result<(), ApplyError> {
    for (position, request) in requests.iter().enumerate() {
        bar.set_message(if request.deletes.is_empty() {
            format!("upserting {}", request.upserts.len())
        } else {
            format!("deleting {}", request.deletes.len())
        });
        if let Err(error) = applier.apply(request, summary).await {
            summary
                .not_applied
                .extend(requests[position + 1..].iter().flat_map(request_ids));
            bar.abandon();
            return Err(error);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Counts {
    create: usize,
    update: usize,
    delete: usize,
    unchanged: usize,
    unmanaged: usize,
}

fn plan_text(
    plan: &FullPlan,
    current: &[ListedUser],
    source: &str,
    employees: usize,
    scope: &Scope,
) -> String {
    let mut text = format!(
        "Plan for {source} ({employees} employees), scope: {}\n",
        scope_text(scope)
    );
    let counts = [
        ("create", plan.create.len(), ""),
        ("update", plan.update.len(), ""),
        ("delete", plan.delete.len(), ""),
        ("unchanged", plan.unchanged.len(), ""),
        (
            "unmanaged",
            plan.unmanaged,
            "Wazzup users outside the scope, never changed",
        ),
    ];
    let rows: Vec<Vec<String>> = counts
        .iter()
        .map(|(what, n, note)| vec![format!("  {what}"), format!("{n:>5}"), (*note).to_owned()])
        .collect();
    text.push_str(&table(&rows));
    let names: HashMap<&str, &str> = current
        .iter()
        .map(|u| (u.id.as_str(), u.name.as_str()))
        .collect();
    let users = |title: &str, users: &[User], text: &mut String| {
        if users.is_empty() {
            return;
        }
        let _ = writeln!(text, "\n{title} ({}):", users.len());
        let rows: Vec<Vec<String>> = users
            .iter()
            .take(SHOWN)
            .map(|u| {
                let name = match names.get(u.id.as_str()) {
                    Some(old) if *old != u.name.as_str() => format!("{old} -> {}", u.name.as_str()),
                    _ => u.name.as_str().to_owned(),
                };
                vec![format!("  {}", u.id), name]
            })
            .collect();
        text.push_str(&table(&rows));
        if users.len() > SHOWN {
            let _ = writeln!(
                text,
                "  ... and {} more (--json lists them all)",
                users.len() - SHOWN
            );
        }
    };
    users("To create", &plan.create, &mut text);
    users("To update", &plan.update, &mut text);
    if !plan.delete.is_empty() {
        let _ = writeln!(text, "\nTo delete ({}):", plan.delete.len());
        for line in truncated(plan.delete.iter().map(ToString::to_string).collect()) {
            let _ = writeln!(text, "  {line}");
        }
    }
    text
}

fn summary_text(summary: &Summary, requests: usize, elapsed: Duration) -> String {
    let mut text = format!(
        "\nApplied in {:.1} s ({requests} requests planned): {} upserted, {} deleted, {} already absent",
        elapsed.as_secs_f64(),
        summary.upserted.len(),
        summary.deleted.len(),
        summary.already_absent.len()
    );
    if !summary.rejected.is_empty() {
        let _ = write!(text, ", {} refused by Wazzup", summary.rejected.len());
    }
    text.push('\n');
    if !summary.rejected.is_empty() {
        let _ = writeln!(text, "\nRefused by Wazzup ({}):", summary.rejected.len());
        let lines = summary.rejected.iter().map(|r| {
            format!(
                "{}: {} [{}]",
                r.id.as_deref().unwrap_or("?"),
                r.message,
                r.reason
            )
        });
        for line in truncated(lines.collect()) {
            let _ = writeln!(text, "  {line}");
        }
    }
    if !summary.not_applied.is_empty() {
        let _ = writeln!(text, "\nNot applied ({}):", summary.not_applied.len());
        for line in truncated(summary.not_applied.clone()) {
            let _ = writeln!(text, "  {line}");
        }
    }
    text
}

async fn run_sync(
    cli: &Cli,
    matches: &ArgMatches,
    out: Output,
    args: &SyncArgs,
    command: &'static str,
    apply: bool,
) -> Result<u8, Failure> {
    let scope = scope_of(args)?;
    let key = key_source(cli, matches)?;
    let source = source_name(args);
    let input = read_input(args)?;
    let (desired, warnings) = validate(input, &scope, cli.region, &source)?;
    if !out.json {
        for warning in &warnings {
            out.note(&format!("warning: {}", warning.describe()));
        }
    }
    let mut policy = Policy::new(scope.clone());
    policy.max_delete_share = args.max_delete_share;
    policy.force_deletes = args.force_deletes;
    policy.force_resend = args.resend;

    let remote = Remote::connect(cli, key).await?;
    let mut applier = remote.applier().await?;
    let current = applier.list_users().await.map_err(|e| apply_failure(&e))?;
    let mut plan = plan_full_sync(&desired, &current, &policy)
        .map_err(|e| plan_failure(e, &desired, &current, &policy))?;
    // Wazzup lists its users by name; ids in order read (and diff) better.
    plan.delete.sort();

    let mut report = json!({
        "command": command,
        "dryRun": !apply,
        "file": source,
        "scope": scope_json(&scope),
        "employees": desired.len(),
        "counts": Counts {
            create: plan.create.len(),
            update: plan.update.len(),
            delete: plan.delete.len(),
            unchanged: plan.unchanged.len(),
            unmanaged: plan.unmanaged,
        },
        "create": plan.create.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        "update": plan.update.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        "delete": plan.delete.iter().map(|id| id.as_str()).collect::<Vec<_>>(),
        "warnings": warnings,
    });
    let mut text = plan_text(&plan, &current, &source, desired.len(), &scope);

    if plan.is_noop() {
        text.push_str("\nNothing to change: Wazzup already matches the file.\n");
    } else if !apply {
        text.push_str(
            "\nDry run: nothing was changed. `wazzup-sync apply` with the same options applies \
             this plan.\n",
        );
    }
    if !apply {
        if out.json {
            out.json_doc(&report);
        } else {
            out.stdout(&text);
        }
        return Ok(exit::OK);
    }
    if !out.json {
        out.stdout(&text);
    }
    let requests = requests_of(&plan.to_plan());
    let bar = out.progress(requests.len());
    let started = Instant::now();
    let mut summary = Summary::default();
    let result = execute(&mut applier, &requests, &bar, &mut summary).await;
    let elapsed = started.elapsed();

    let (code, failure) = match &result {
        Ok(()) if summary.rejected.is_empty() => (exit::OK, None),
        Ok(()) => {
            let failure = Failure::new(
                exit::PARTIAL,
                "REFUSED_BY_WAZZUP",
                format!(
                    "Wazzup refused {} employees (listed); everything else was applied. Fix \
                     them in the file and run again",
                    summary.rejected.len()
                ),
            );
            (exit::PARTIAL, Some(failure))
        }
        Err(error) => {
            let mut failure = apply_failure(error);
            failure.message = format!(
                "{}. The sync stopped: what was applied is listed; running the same command \
                 again is safe",
                failure.message
            );
            (failure.exit, Some(failure))
        }
    };
    if let Value::Object(map) = &mut report {
        map.insert(
            "result".into(),
            serde_json::to_value(&summary).unwrap_or_default(),
        );
        map.insert("requests".into(), json!(requests.len()));
        map.insert("elapsedSeconds".into(), json!(elapsed.as_secs_f64()));
        if let Some(failure) = &failure {
            map.insert("error".into(), failure.json());
        }
    }
    if out.json {
        out.json_doc(&report);
    } else if !requests.is_empty() {
        out.stdout(&summary_text(&summary, requests.len(), elapsed));
    }
    if let Some(failure) = failure {
        let _ = writeln!(std::io::stderr().lock(), "error: {}", failure.message);
    }
    Ok(code)
}

// ---------------------------------------------------------------------------------------------
// list and get.

async fn run_list(cli: &Cli, matches: &ArgMatches, out: Output) -> Result<u8, Failure> {
    let remote = Remote::connect(cli, key_source(cli, matches)?).await?;
    let mut applier = remote.applier().await?;
    let users = applier.list_users().await.map_err(|e| apply_failure(&e))?;
    if out.json {
        out.json_doc(&serde_json::to_value(&users).unwrap_or_default());
        return Ok(exit::OK);
    }
    let mut rows = vec![vec!["ID".to_owned(), "NAME".to_owned()]];
    rows.extend(users.iter().map(|u| vec![u.id.clone(), u.name.clone()]));
    let mut text = table(&rows);
    let _ = writeln!(
        text,
        "({} user{})",
        users.len(),
        if users.len() == 1 { "" } else { "s" }
    );
    out.stdout(&text);
    Ok(exit::OK)
}

async fn run_get(cli: &Cli, matches: &ArgMatches, out: Output, id: &str) -> Result<u8, Failure> {
    let remote = Remote::connect(cli, key_source(cli, matches)?).await?;
    let mut applier = remote.applier().await?;
    let user = applier.get_user(id).await.map_err(|e| apply_failure(&e))?;
    let Some(user) = user else {
        return Err(Failure::new(
            exit::NOT_FOUND,
            "NOT_FOUND",
            format!("Wazzup has no user with the id \"{id}\""),
        )
        .detail("id", json!(id)));
    };
    if out.json {
        out.json_doc(&json!({"id": user.id, "name": user.name, "phone": user.phone}));
        return Ok(exit::OK);
    }
    let rows = vec![
        vec!["id".to_owned(), user.id.clone()],
        vec!["name".to_owned(), user.name.clone()],
        vec![
            "phone".to_owned(),
            user.phone.clone().unwrap_or_else(|| "-".into()),
        ],
    ];
    out.stdout(&table(&rows));
    Ok(exit::OK)
}

async fn run(cli: &Cli, matches: &ArgMatches, out: Output) -> Result<u8, Failure> {
    match &cli.command {
        Command::Plan(args) => run_sync(cli, matches, out, args, "plan", false).await,
        Command::Apply { sync, dry_run } => {
            run_sync(cli, matches, out, sync, "apply", !dry_run).await
        }
        Command::List => run_list(cli, matches, out).await,
        Command::Get { id } => run_get(cli, matches, out, id).await,
    }
}

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
    let code = match run(&cli, &matches, out).await {
        Ok(code) => code,
        Err(failure) => {
            out.failure(&failure);
            failure.exit
        }
    };
    ExitCode::from(code)
}
