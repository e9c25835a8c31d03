//! `adopt`: taking over an account that already has its staff. The employees (a file, or a
//! source's users API) are matched to the Wazzup users nobody owns: by id, then phone, then a
//! name that exactly one user and one employee have, and by the operator's `wazzupId` column.
//! The table shows the matches, the ambiguities and conflicts (left alone), the employees
//! without a user and the users without an employee. `--apply` takes the matched users over:
//! each is recorded as its employee's in the state table, keeps its id, roles and chats, and
//! gets the employee's name and phone. Nothing is created or deleted here: that is `apply`'s.

use std::fmt::Write as _;

use clap::ArgMatches;
use serde_json::{Value, json};
use wazzup_user_sync::plan::FullPlan;
use wazzup_user_sync::service::{FullSyncRequest, Quiet};
use wazzup_user_sync::wazzup::USER_LIMIT;

use super::plan_view::{
    ROLES_NOTE, make_plan, matches_text, plan_json, prepare, scope_json, section,
};
use crate::args::{Cli, SyncArgs};
use crate::failure::{Failure, apply_failure, exit};
use crate::output::{Output, truncated};

pub async fn run_adopt(
    cli: &Cli,
    matches: &ArgMatches,
    out: Output,
    args: &SyncArgs,
    apply: bool,
) -> Result<u8, Failure> {
    let prepared = prepare(cli, matches, out, args).await?;
    if apply && !prepared.state_table {
        return Err(Failure::usage(
            "adopt --apply records each takeover in the deployment's state table: name it with \
             --state-table (or STATE_TABLE)",
        ));
    }
    // The takeover's plan: deletions are neither made nor fenced here.
    let request = FullSyncRequest {
        dry_run: true,
        force_deletes: true,
        resend: false,
        adopt: apply,
        as_of: Some(prepared.as_of),
    };
    let mut session = prepared.remote.session().await?;
    let (plan, current, unread) = make_plan(&prepared, &mut session, request, 1.0).await?;

    let mut text = format!(
        "Takeover plan for {} ({} employees), against {} Wazzup users\n",
        prepared.source,
        prepared.roster.users().len(),
        current.len()
    );
    matches_text(&plan, &mut text);
    without_a_user(&plan, &mut text);
    if unread > 0 {
        let _ = writeln!(
            text,
            "\n{unread} users' phones could not be read: a match by phone among them is not shown"
        );
    }
    let _ = writeln!(
        text,
        "\nSeats: {} of {USER_LIMIT} left once `apply` creates the employees without a user.\n{ROLES_NOTE}",
        plan.seats_left
    );
    let mut report = plan_json(&plan);
    if let Value::Object(map) = &mut report {
        for (key, value) in [
            ("command", json!("adopt")),
            ("dryRun", json!(!apply)),
            ("file", json!(prepared.source)),
            ("scope", scope_json(&prepared.scope)),
            ("employees", json!(prepared.roster.users().len())),
            ("phonesUnread", json!(unread)),
            ("warnings", json!(prepared.warnings)),
        ] {
            map.insert(key.into(), value);
        }
    }
    if !apply {
        let _ = writeln!(
            text,
            "\nDry run: nothing was changed. `wazzup-sync adopt --apply` with the same options \
             takes the {} matched users over.",
            plan.matches.len()
        );
        emit(out, &report, &text);
        return Ok(exit::OK);
    }

    let service = &prepared.remote.service;
    let (taken, refused) = service
        .take_over(&mut session, &plan)
        .await
        .map_err(|e| Failure::new(exit::REMOTE, "STATE_UNAVAILABLE", e.to_string()))?;
    // Their names and phones, written to the users taken over.
    let writes = FullPlan {
        update: taken.clone(),
        ..FullPlan::default()
    };
    let result = service
        .apply_full_plan(&mut session, &writes, prepared.as_of, &mut Quiet)
        .await;
    let (mut summary, error) = match result {
        Ok(summary) => (summary, None),
        Err((summary, error)) => (summary, Some(error)),
    };
    summary.rejected.extend(refused);
    let _ = writeln!(
        text,
        "\nTook over {} users; {} written with their employee's name and phone.",
        taken.len(),
        summary.upserted.len()
    );
    if !summary.rejected.is_empty() {
        let lines = (summary.rejected.iter())
            .map(|r| {
                format!(
                    "{}: {} [{}]",
                    r.id.as_deref().unwrap_or("?"),
                    r.message,
                    r.reason
                )
            })
            .collect();
        let _ = writeln!(text, "\nNot taken over ({}):", summary.rejected.len());
        for line in truncated(lines) {
            let _ = writeln!(text, "  {line}");
        }
    }
    if let Value::Object(map) = &mut report {
        map.insert(
            "adopted".into(),
            json!(taken.iter().map(|u| u.id.as_str()).collect::<Vec<_>>()),
        );
        map.insert(
            "result".into(),
            serde_json::to_value(&summary).unwrap_or_default(),
        );
    }
    emit(out, &report, &text);
    match error {
        Some(error) => {
            let mut failure = apply_failure(&error);
            failure.message = format!(
                "{}. The takeovers are recorded; `wazzup-sync apply --resend` with the same list \
                 writes the employees' names and phones to their users",
                failure.message
            );
            Err(failure)
        }
        None if summary.rejected.is_empty() => Ok(exit::OK),
        None => Ok(exit::PARTIAL),
    }
}

/// The employees no user is: `apply` creates them.
fn without_a_user(plan: &FullPlan, text: &mut String) {
    let rows = (plan.create.iter())
        .map(|u| vec![u.id.to_string(), u.name.as_str().to_owned()])
        .collect();
    section(
        text,
        "Employees without a Wazzup user: `apply` creates them",
        rows,
    );
}

fn emit(out: Output, report: &Value, text: &str) {
    if out.json {
        out.json_doc(report);
    } else {
        out.stdout(text);
    }
}
