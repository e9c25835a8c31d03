//! The employee file: CSV (a header `id,name,phone`, and `wazzupId` for an operator's pairings;
//! `,`, `;` or tab) or JSON (an array of `{"id", "name", "phone", "wazzupId"}` or
//! `{"employees": [...]}`), from a path or standard input, read row by row with where each row
//! is (or a source's users API's rows); then checked whole by the service as a roster.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wazzup_user_sync::domain::{EmployeeRow, Roster, Warning, text_or_integer};
use wazzup_user_sync::service::{FullSyncError, SyncService};

use crate::args::{Format, SyncArgs};
use crate::failure::{Failure, exit};
use crate::output::truncated;

/// Where a row is in the file.
#[derive(Debug, Clone, Copy)]
pub struct Location {
    /// The row's position among the data rows (0 for the first employee).
    pub index: usize,
    /// The CSV line the row starts on.
    pub line: Option<u64>,
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
pub struct RowNote {
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

    pub fn describe(&self) -> String {
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
pub struct Input {
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
    /// An operator's pairing with an existing Wazzup user (`adopt`); headers are read in
    /// lower case.
    #[serde(default, rename = "wazzupid")]
    wazzup_id: Option<String>,
}

fn invalid_file(source: &str, message: impl std::fmt::Display) -> Failure {
    Failure::new(
        exit::REFUSED,
        "INVALID_FILE",
        format!("{source}: {message}; nothing was changed"),
    )
}

fn format_of(args: &SyncArgs, file: &Path) -> Result<Format, Failure> {
    if let Some(format) = args.format {
        return Ok(format);
    }
    if file == Path::new("-") {
        return Err(Failure::usage(
            "reading the employees from standard input needs --format csv or --format json",
        ));
    }
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("csv") => Ok(Format::Csv),
        Some("json") => Ok(Format::Json),
        _ => Err(Failure::usage(format!(
            "cannot tell the format of {} from its extension; name it .csv or .json, or pass --format",
            file.display()
        ))),
    }
}

/// Where the employees come from, as messages name it.
pub fn source_name(args: &SyncArgs) -> String {
    match (&args.file, &args.crm) {
        (Some(file), _) if file == Path::new("-") => "standard input".into(),
        (Some(file), _) => file.display().to_string(),
        (None, Some(crm)) => format!("{crm}'s users API"),
        (None, None) => "the employee list".into(),
    }
}

impl Input {
    /// Rows a source's users API gave, each at its place.
    pub fn from_rows(rows: Vec<EmployeeRow>) -> Self {
        Self {
            total: rows.len(),
            rows: (rows.into_iter().enumerate())
                .map(|(index, row)| (Location { index, line: None }, row))
                .collect(),
            problems: Vec::new(),
        }
    }
}

/// The employee file `--file` names.
pub fn read_input(args: &SyncArgs) -> Result<Input, Failure> {
    let Some(file) = &args.file else {
        return Err(Failure::usage(
            "name the employee list with --file, or --crm",
        ));
    };
    let format = format_of(args, file)?;
    let source = source_name(args);
    let mut bytes = Vec::new();
    let read = if file == Path::new("-") {
        std::io::stdin().lock().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(file).map(|b| bytes = b)
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
                "the header (first line) must name the columns id and name, and may name phone and \
                 wazzupId; \
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
                    wazzup_id: row.wazzup_id.filter(|w| !w.trim().is_empty()),
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
        Some(value) => text_or_integer(value)
            .map(Some)
            .ok_or_else(|| format!("{field} must be text or a whole number")),
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
    let wazzup_id = json_text(row, "wazzupId").map_err(|e| (Some(id.clone()), e))?;
    Ok(EmployeeRow {
        id,
        name,
        phone,
        wazzup_id,
    })
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

/// The file's employees as a roster (every row valid, in the scope, no id or phone twice), or
/// every problem found, each with its line; plus the warnings (phones left out).
pub fn roster(
    input: Input,
    service: &SyncService,
    source: &str,
) -> Result<(Roster, Vec<RowNote>), Failure> {
    let Input {
        rows,
        mut problems,
        total,
    } = input;
    let locations: HashMap<usize, Location> = rows.iter().map(|(at, _)| (at.index, *at)).collect();
    let at = |index: usize| {
        locations
            .get(&index)
            .copied()
            .unwrap_or(Location { index, line: None })
    };
    let note = |warning: &Warning| {
        let index = warning.index.unwrap_or_default();
        RowNote::new(
            at(index),
            warning.id.as_deref(),
            &warning.code,
            warning.message.clone(),
        )
    };
    let result = service.roster(rows.into_iter().map(|(at, row)| (at.index, row)));
    let warnings = match &result {
        Ok(roster) => roster.warnings().iter().map(note).collect(),
        Err(FullSyncError::InvalidEmployees(invalid)) => {
            invalid.warnings.iter().map(note).collect()
        }
        Err(_) => Vec::new(),
    };
    match result {
        Ok(roster) if problems.is_empty() => return Ok((roster, warnings)),
        Ok(_) => {}
        Err(FullSyncError::InvalidEmployees(invalid)) => {
            problems.extend(invalid.problems.iter().map(|p| {
                RowNote::new(
                    at(p.index),
                    p.id.as_deref(),
                    p.code(),
                    p.message(&|i| at(i).to_string()),
                )
            }));
        }
        Err(error) => return Err(Failure::new(exit::USAGE, "NO_SCOPE", error.to_string())),
    }
    problems.sort_by_key(|p| p.index);
    let bad: HashSet<usize> = problems.iter().map(|p| p.index).collect();
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
