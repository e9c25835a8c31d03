//! `plan` and `apply`: the full sync of an employee file. The file is read and checked whole,
//! the service plans against Wazzup's users within the fences (scope, deletion share, user
//! limit), and `apply` applies it with a progress bar; this file only words the outcome.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use clap::ArgMatches;
use serde::Serialize;
use serde_json::{Value, json};
use wazzup_user_sync::config::SyncSettings;
use wazzup_user_sync::domain::{Scope, SourceTime, Summary, User};
use wazzup_user_sync::plan::{FullPlan, PlanError};
use wazzup_user_sync::service::{FullSyncError, FullSyncRequest};
use wazzup_user_sync::wazzup::ListedUser;

use crate::args::{Cli, SyncArgs};
use crate::failure::{Failure, apply_failure, exit};
use crate::input::{read_input, roster, source_name};
use crate::output::{Output, SHOWN, table, truncated};
use crate::remote::{Remote, key_source};

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

fn plan_failure(error: FullSyncError, max_delete_share: f64) -> Failure {
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

/// `plan` and `apply`: the full sync of the file, through the service.
pub async fn run_sync(
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
    // The file is the employee list as of when it is read.
    let as_of = SourceTime::now();
    let input = read_input(args)?;
    let sync = SyncSettings {
        scope: scope.clone(),
        max_delete_share: args.max_delete_share,
    };
    let remote = Remote::connect(cli, key, Some(sync)).await?;
    let (roster, warnings) = roster(input, &remote.service, &source)?;
    if !out.json {
        for warning in &warnings {
            out.note(&format!("warning: {}", warning.describe()));
        }
    }
    let request = FullSyncRequest {
        dry_run: !apply,
        force_deletes: args.force_deletes,
        resend: args.resend,
        as_of: Some(as_of),
    };
    let mut session = remote.session().await?;
    let (plan, current) = remote
        .service
        .plan_full_sync(&mut session, &roster, request)
        .await
        .map_err(|e| plan_failure(e, args.max_delete_share))?;
    let employees = roster.users().len();

    let mut report = json!({
        "command": command,
        "dryRun": !apply,
        "file": source,
        "scope": scope_json(&scope),
        "employees": employees,
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
    let mut text = plan_text(&plan, &current, &source, employees, &scope);

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
    let requests = plan.to_plan().steps().len();
    let mut bar = out.progress(requests);
    let started = Instant::now();
    let result = remote
        .service
        .apply_full_plan(&mut session, &plan, as_of, &mut bar)
        .await;
    bar.end(result.is_ok());
    let elapsed = started.elapsed();
    let (summary, error) = match result {
        Ok(summary) => (summary, None),
        Err((summary, error)) => (summary, Some(error)),
    };

    let (code, failure) = match &error {
        None if summary.rejected.is_empty() => (exit::OK, None),
        None => {
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
        Some(error) => {
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
        map.insert("requests".into(), json!(requests));
        map.insert("elapsedSeconds".into(), json!(elapsed.as_secs_f64()));
        if let Some(failure) = &failure {
            map.insert("error".into(), failure.json());
        }
    }
    if out.json {
        out.json_doc(&report);
    } else if requests > 0 {
        out.stdout(&summary_text(&summary, requests, elapsed));
    }
    if let Some(failure) = failure {
        let _ = writeln!(std::io::stderr().lock(), "error: {}", failure.message);
    }
    Ok(code)
}
