//! The scheduled full sync: an EventBridge Scheduler rule invokes the function (in its
//! scheduled mode, `WAZZUP_FUNCTION_MODE=scheduled`) with `{"crm": "pipedrive"|"bitrix24",
//! "dryRun": false, "forceDeletes": false, "resend": false}`; the function reads the CRM's active users and
//! reconciles Wazzup with them, fenced like `POST /sync` (scope, deletion share, user limit).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::crm::{CrmError, CrmKind, fetch_employees, http_client};
use crate::handler::App;
use crate::reconcile::{FullSyncError, Policy, parse_employees, run_full_sync};
use crate::sync::Applier;

/// The scheduler's input.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledSync {
    pub crm: CrmKind,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub force_deletes: bool,
    /// Re-send unchanged employees too (a changed phone alone is not seen otherwise).
    #[serde(default)]
    pub resend: bool,
}

/// Why a scheduled run failed (the invocation fails, so that CloudWatch alarms on errors and
/// the scheduler's retry policy apply).
#[derive(Debug, thiserror::Error)]
pub enum ScheduledError {
    #[error("the full sync is off: set SYNC_ID_PREFIX or SYNC_MANAGE_ALL=true")]
    NotEnabled,
    #[error("the credentials cannot be read: {0}")]
    Secret(#[from] crate::secrets::SecretError),
    #[error("reading the CRM's users failed: {0}")]
    Crm(#[from] CrmError),
    #[error("the CRM's list has invalid employees ({0}); nothing was applied")]
    InvalidEmployees(String),
    #[error(transparent)]
    Sync(#[from] FullSyncError),
}

impl App {
    /// Runs one scheduled full sync and returns its report.
    pub async fn scheduled_sync(
        &self,
        input: &ScheduledSync,
        deadline: Option<Instant>,
    ) -> Result<Value, ScheduledError> {
        let sync = self
            .settings
            .sync
            .as_ref()
            .ok_or(ScheduledError::NotEnabled)?;
        let credentials = self.provider.current().await?;
        let http = http_client()?;
        let rows = fetch_employees(input.crm, &credentials.crm, &http).await?;
        let fetched = rows.len();
        let (employees, warnings) =
            parse_employees(rows, self.settings.phone_region).map_err(|rejected| {
                ScheduledError::InvalidEmployees(
                    rejected
                        .iter()
                        .map(|r| format!("{}: {}", r.id.as_deref().unwrap_or("?"), r.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
        let mut policy = Policy::new(sync.scope.clone());
        policy.max_delete_share = sync.max_delete_share;
        policy.force_deletes = input.force_deletes;
        policy.force_resend = input.resend;
        let mut applier = Applier::new(&self.wazzup, self.provider.as_ref(), credentials, deadline);
        let outcome = run_full_sync(&mut applier, &employees, &policy, input.dry_run).await?;
        let report = json!({
            "crm": input.crm,
            "dryRun": outcome.dry_run,
            "fetched": fetched,
            "plan": {
                "create": outcome.plan.create.iter().map(|u| u.id.to_string()).collect::<Vec<_>>(),
                "update": outcome.plan.update.iter().map(|u| u.id.to_string()).collect::<Vec<_>>(),
                "delete": outcome.plan.delete.iter().map(|id| id.to_string()).collect::<Vec<_>>(),
                "unchanged": outcome.plan.unchanged.len(),
                "unmanaged": outcome.plan.unmanaged,
            },
            "applied": outcome.summary,
            "warnings": warnings,
        });
        tracing::info!(crm = ?input.crm, fetched, dry_run = outcome.dry_run, "scheduled full sync finished");
        Ok(report)
    }
}
