//! `plan` and `apply`: the full sync of an employee list. The list is read and checked whole,
//! the service plans against the account within the fences (ownership and scope, deletion
//! share, user limit), and `apply` applies it with a progress bar (with `--adopt`, after taking
//! the matched users over); this file only words the outcome.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use clap::ArgMatches;
use serde_json::{Value, json};
use wazzup_user_sync::domain::Summary;
use wazzup_user_sync::service::FullSyncRequest;

use super::plan_view::{make_plan, plan_json, plan_text, prepare, scope_json};
use crate::args::{Cli, SyncArgs};
use crate::failure::{Failure, apply_failure, exit};
use crate::output::{Output, truncated};

/// What a run of `plan` or `apply` does.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    command: &'static str,
    apply: bool,
    adopt: bool,
}

impl Run {
    /// Plans only.
    pub fn plan(command: &'static str) -> Self {
        Self {
            command,
            apply: false,
            adopt: false,
        }
    }

    /// Applies, taking over the matched users first when `adopt`.
    pub fn apply(adopt: bool) -> Self {
        Self {
            command: "apply",
            apply: true,
            adopt,
        }
    }
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

/// `plan` and `apply`: the full sync of the list, through the service.
pub async fn run_sync(
    cli: &Cli,
    matches: &ArgMatches,
    out: Output,
    args: &SyncArgs,
    run: Run,
) -> Result<u8, Failure> {
    let Run {
        command,
        apply,
        adopt,
    } = run;
    let prepared = prepare(cli, matches, out, args).await?;
    if adopt && !prepared.state_table {
        return Err(Failure::usage(
            "--adopt records the takeovers in the deployment's state table: name it with \
             --state-table (or STATE_TABLE)",
        ));
    }
    let as_of = prepared.as_of;
    let request = FullSyncRequest {
        dry_run: !apply,
        force_deletes: args.force_deletes,
        resend: args.resend,
        adopt,
        as_of: Some(as_of),
    };
    let mut session = prepared.remote.session().await?;
    let (mut plan, current, unread) =
        make_plan(&prepared, &mut session, request, args.max_delete_share).await?;
    let employees = prepared.roster.users().len();

    // The plan's fields at the top, with what the run was.
    let mut report = plan_json(&plan);
    if let Value::Object(map) = &mut report {
        for (key, value) in [
            ("command", json!(command)),
            ("dryRun", json!(!apply)),
            ("file", json!(prepared.source)),
            ("scope", scope_json(&prepared.scope)),
            ("employees", json!(employees)),
            ("phonesUnread", json!(unread)),
            ("warnings", json!(prepared.warnings)),
        ] {
            map.insert(key.into(), value);
        }
    }
    let mut text = plan_text(&plan, &current, &prepared, unread);
    let service = &prepared.remote.service;
    let mut adopted = Vec::new();
    if apply && adopt && !plan.matches.is_empty() {
        let (taken, refused) = service
            .take_over(&mut session, &plan)
            .await
            .map_err(|e| Failure::new(exit::REMOTE, "STATE_UNAVAILABLE", e.to_string()))?;
        for rejection in &refused {
            out.note(&format!(
                "not taken over: {}: {}",
                rejection.id.as_deref().unwrap_or("?"),
                rejection.message
            ));
        }
        adopted = taken.iter().map(|u| u.id.to_string()).collect::<Vec<_>>();
        let _ = writeln!(text, "\nTook over {} existing users.", adopted.len());
        plan.update.extend(taken);
    }
    if let Value::Object(map) = &mut report {
        map.insert("adopted".into(), json!(adopted));
    }

    if plan.is_noop() {
        text.push_str("\nNothing to change: Wazzup already matches the file.\n");
    } else if !apply {
        text.push_str(
            "\nDry run: nothing was changed. `wazzup-sync apply` with the same options applies \
             this plan (with --adopt, the matches too).\n",
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
    let result = service
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
