//! What `plan`, `apply` and `adopt` share: the employee list read and checked, the service
//! connected (with the state table when named), the plan made; and the plan as a table or JSON,
//! with what the public API cannot do said where it matters.

use std::collections::HashMap;
use std::fmt::Write as _;

use clap::ArgMatches;
use serde_json::{Value, json};
use wazzup_user_sync::config::SyncSettings;
use wazzup_user_sync::domain::{Roster, Scope, SourceTime, User};
use wazzup_user_sync::plan::{FullPlan, PlanError};
use wazzup_user_sync::service::{FullSyncError, FullSyncRequest, Session};
use wazzup_user_sync::wazzup::{ListedUser, USER_LIMIT};

use crate::args::{Cli, SyncArgs};
use crate::failure::{Failure, apply_failure, exit};
use crate::input::{Input, RowNote, read_input, roster, source_name};
use crate::output::{Output, SHOWN, table, truncated};
use crate::remote::{Remote, key_source};

/// What the public API cannot do, said wherever users are created or taken over.
pub const ROLES_NOTE: &str = "Roles: Wazzup sets roles (supervisor, manager, quality control) \
per channel in its own interface, and the API cannot set them. A user created here sees no \
chats until an administrator gives it a role there, once; a user taken over keeps its role.";

/// The employee list, checked, and the service to plan it with.
pub struct Prepared {
    pub remote: Remote,
    pub roster: Roster,
    pub warnings: Vec<RowNote>,
    pub scope: Scope,
    pub source: String,
    /// When the list was read.
    pub as_of: SourceTime,
    pub state_table: bool,
}

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
        (None, false) if args.state_table.is_some() => Ok(Scope::Owned),
        (None, false) => Err(Failure::new(
            exit::USAGE,
            "NO_SCOPE",
            "a full sync deletes the users missing from the list, and deletions must be fenced: \
             name the deployment's state table with --state-table (or STATE_TABLE), which \
             records the users it created or took over, or give a scope: --prefix P (or \
             SYNC_ID_PREFIX) manages the users whose id starts with P, --all (or \
             SYNC_MANAGE_ALL=true) every Wazzup user (users added by hand included)",
        )),
    }
}

/// Reads and checks the list, and connects: the start of `plan`, `apply` and `adopt`.
pub async fn prepare(
    cli: &Cli,
    matches: &ArgMatches,
    out: Output,
    args: &SyncArgs,
) -> Result<Prepared, Failure> {
    let scope = scope_of(args)?;
    let key = key_source(cli, matches)?;
    let source = source_name(args);
    let sync = SyncSettings {
        scope: scope.clone(),
        max_delete_share: args.max_delete_share,
    };
    let remote = Remote::connect(cli, key, sync, args.state_table.as_deref()).await?;
    // The list is the employees as of when it was exported, else when it is read.
    let as_of = args.as_of.unwrap_or_else(SourceTime::now);
    let input = match &args.crm {
        Some(name) => {
            let seated = remote.crm_rows(args).await?;
            if !out.json {
                out.note(&format!(
                    "{name}: {} active people with a seat, {} inactive, {} outside the seat rules",
                    seated.rows.len(),
                    seated.inactive,
                    seated.unseated
                ));
            }
            Input::from_rows(seated.rows)
        }
        None => read_input(args)?,
    };
    let (roster, warnings) = roster(input, &remote.service, &source)?;
    if !out.json {
        for warning in &warnings {
            out.note(&format!("warning: {}", warning.describe()));
        }
    }
    Ok(Prepared {
        remote,
        roster,
        warnings,
        scope,
        source,
        as_of,
        state_table: args.state_table.is_some(),
    })
}

/// The plan of `prepared`'s list, as `request` asks, with the users it was made against and
/// the phones left unread.
pub async fn make_plan(
    prepared: &Prepared,
    session: &mut Session<'_>,
    request: FullSyncRequest,
    max_delete_share: f64,
) -> Result<(FullPlan, Vec<ListedUser>, usize), Failure> {
    prepared
        .remote
        .service
        .plan_full_sync(session, &prepared.roster, request)
        .await
        .map_err(|e| plan_failure(e, max_delete_share))
}

pub fn plan_failure(error: FullSyncError, max_delete_share: f64) -> Failure {
    let error = match error {
        FullSyncError::Plan(error) => error,
        FullSyncError::List(error) => return apply_failure(&error),
        other => return Failure::new(exit::ERROR, "INTERNAL", other.to_string()),
    };
    let message = error.to_string();
    match error {
        PlanError::TooManyDeletions {
            deletes,
            managed,
            would_delete,
            ..
        } => {
            let would_delete: Vec<String> = would_delete.iter().map(ToString::to_string).collect();
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
            .detail("maxDeleteShare", json!(max_delete_share))
            .detail("wouldDelete", json!(would_delete))
            .line(format!("would delete ({}):", would_delete.len()));
            for line in truncated(would_delete) {
                failure = failure.line(format!("  {line}"));
            }
            failure
        }
        PlanError::UserLimit {
            total,
            limit,
            seats_left,
        } => Failure::new(
            exit::REFUSED,
            "USER_LIMIT",
            format!(
                "{message}: Wazzup accepts at most {limit} users per account; remove employees from \
                 the list, or users who left from Wazzup, or ask Wazzup for a larger limit"
            ),
        )
        .detail("total", json!(total))
        .detail("limit", json!(limit))
        .detail("seatsLeft", json!(seats_left)),
    }
}

pub fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::Owned => "the users this deployment created or took over (its state table)".into(),
        Scope::Prefix(prefix) => format!("ids starting with \"{prefix}\""),
        Scope::All => "every Wazzup user (--all)".into(),
    }
}

pub fn scope_json(scope: &Scope) -> Value {
    match scope {
        Scope::Owned => json!({"owned": true}),
        Scope::Prefix(prefix) => json!({"prefix": prefix}),
        Scope::All => json!({"all": true}),
    }
}

/// The plan as JSON (the same fields as `POST /sync`'s `plan`, with names).
pub fn plan_json(plan: &FullPlan) -> Value {
    let user = |u: &ListedUser| json!({"id": u.id, "name": u.name});
    json!({
        "counts": {
            "create": plan.create.len(),
            "update": plan.update.len(),
            "delete": plan.delete.len(),
            "unchanged": plan.unchanged.len(),
            "unmanaged": plan.unowned.len(),
            "matches": plan.matches.len(),
            "ambiguous": plan.ambiguous.len(),
            "conflicts": plan.conflicts.len(),
        },
        "create": plan.create.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        "update": plan.update.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        "delete": plan.delete.iter().map(|id| id.as_str()).collect::<Vec<_>>(),
        "matches": plan.matches.iter().map(|m| json!({
            "employee": m.employee.id.as_str(), "name": m.employee.name.as_str(),
            "wazzupId": m.user.id, "wazzupName": m.user.name, "by": m.by.as_str(),
        })).collect::<Vec<_>>(),
        "ambiguous": plan.ambiguous.iter().map(|a| json!({
            "employee": a.employee.id.as_str(), "name": a.employee.name.as_str(),
            "candidates": a.candidates.iter().map(user).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "conflicts": plan.conflicts.iter().map(|c| json!({
            "employee": c.employee.id.as_str(), "reason": c.reason, "message": c.message,
        })).collect::<Vec<_>>(),
        "unowned": plan.unowned.iter().map(user).collect::<Vec<_>>(),
        "seatsLeft": plan.seats_left,
    })
}

/// Rows of a table, with a title and "... and N more" past [`SHOWN`].
pub fn section(text: &mut String, title: &str, rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(text, "\n{title} ({}):", rows.len());
    let total = rows.len();
    let shown: Vec<Vec<String>> = rows
        .into_iter()
        .take(SHOWN)
        .map(|mut row| {
            if let Some(first) = row.first_mut() {
                first.insert_str(0, "  ");
            }
            row
        })
        .collect();
    text.push_str(&table(&shown));
    if total > SHOWN {
        let _ = writeln!(
            text,
            "  ... and {} more (--json lists them all)",
            total - SHOWN
        );
    }
}

/// The matches and what no match settles: `adopt`'s table, and part of every plan.
pub fn matches_text(plan: &FullPlan, text: &mut String) {
    let matches = (plan.matches.iter())
        .map(|m| {
            vec![
                m.employee.id.to_string(),
                m.employee.name.as_str().to_owned(),
                format!("-> {}", m.user.id),
                m.user.name.clone(),
                format!("by {}", m.by.as_str()),
            ]
        })
        .collect();
    section(
        text,
        "Existing Wazzup users these employees are (taken over with adopt)",
        matches,
    );
    let ambiguous = (plan.ambiguous.iter())
        .map(|a| {
            let candidates: Vec<String> = (a.candidates.iter())
                .map(|c| format!("{} \"{}\"", c.id, c.name))
                .collect();
            vec![
                a.employee.id.to_string(),
                a.employee.name.as_str().to_owned(),
                format!("could be: {}", candidates.join(", ")),
            ]
        })
        .collect();
    section(
        text,
        "Ambiguous: left alone (pair them with a wazzupId column)",
        ambiguous,
    );
    let conflicts = (plan.conflicts.iter())
        .map(|c| vec![c.employee.id.to_string(), c.message.clone()])
        .collect();
    section(text, "Conflicts: left alone", conflicts);
    let unowned = (plan.unowned.iter())
        .map(|u| vec![u.id.clone(), u.name.clone()])
        .collect();
    section(
        text,
        "Wazzup users without an employee (never deleted)",
        unowned,
    );
}

/// The plan as a table, from the first line to the seats left.
pub fn plan_text(
    plan: &FullPlan,
    current: &[ListedUser],
    prepared: &Prepared,
    phones_unread: usize,
) -> String {
    let mut text = format!(
        "Plan for {} ({} employees), deletions reach: {}\n",
        prepared.source,
        prepared.roster.users().len(),
        scope_text(&prepared.scope)
    );
    let counts = [
        ("create", plan.create.len(), ""),
        ("update", plan.update.len(), ""),
        ("delete", plan.delete.len(), ""),
        ("unchanged", plan.unchanged.len(), ""),
        (
            "matched",
            plan.matches.len(),
            "existing users nobody owns that employees are: neither created nor deleted",
        ),
        (
            "unmanaged",
            plan.unowned.len(),
            "Wazzup users no employee is, never changed",
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
    let users = |users: &[User]| -> Vec<Vec<String>> {
        users
            .iter()
            .map(|u| {
                let name = match names.get(u.id.as_str()) {
                    Some(old) if *old != u.name.as_str() => format!("{old} -> {}", u.name.as_str()),
                    _ => u.name.as_str().to_owned(),
                };
                vec![u.id.to_string(), name]
            })
            .collect()
    };
    section(&mut text, "To create", users(&plan.create));
    section(&mut text, "To update", users(&plan.update));
    let deletes = (plan.delete.iter())
        .map(|id| vec![id.to_string()])
        .collect();
    section(&mut text, "To delete", deletes);
    matches_text(plan, &mut text);
    if phones_unread > 0 {
        let _ = writeln!(
            text,
            "\n{phones_unread} users' phones were not read in time: a match by phone among them is not shown"
        );
    }
    let _ = writeln!(
        text,
        "\nSeats: {} of {USER_LIMIT} left once this plan is applied.",
        plan.seats_left
    );
    if !plan.create.is_empty() || !plan.matches.is_empty() {
        let _ = writeln!(text, "{ROLES_NOTE}");
    }
    text
}
