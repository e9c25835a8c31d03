//! The scheduled full sync as a deployment with the template's defaults runs it (deletions reach
//! the users it owns, an in-process state store, the 10 % deletion-share fence), reading a
//! source's users API from its loopback fake; and users in the shapes those APIs list them.

use std::sync::Arc;

use serde_json::{Value, json};
use wazzup_testkit::fake::WazzupFake;
use wazzup_user_sync::adapters::memory::MemoryStateStore;
use wazzup_user_sync::config::SyncSettings;
use wazzup_user_sync::credentials::StaticCredentials;
use wazzup_user_sync::domain::SeatPolicy;
use wazzup_user_sync::scheduled::{ScheduledFunction, ScheduledSync};
use wazzup_user_sync::service::{ServiceSettings, SyncService};

use super::{API_KEY, client, credentials_with, fast_retry};

/// The scheduled function with `secret`'s fields (the source's) and the seat rules `seats`
/// (`SEAT_RULES`' JSON, `""` for none).
pub fn scheduled(wazzup: &WazzupFake, secret: Value, seats: &str) -> ScheduledFunction {
    let settings = ServiceSettings {
        phone_region: Default::default(),
        sync: SyncSettings::default(),
        adopt_on_conflict: true,
        message_days: 7,
    };
    let service = SyncService::new(
        client(&wazzup.url(), fast_retry()),
        Arc::new(StaticCredentials::new(credentials_with(API_KEY, secret))),
        settings,
    )
    .with_state(Arc::new(MemoryStateStore::default()));
    let policy = if seats.is_empty() {
        SeatPolicy::default()
    } else {
        SeatPolicy::parse(seats).expect("the seat rules parse")
    };
    ScheduledFunction::new(Arc::new(service))
        .expect("the scheduled function")
        .with_seats(policy)
}

/// Why a scheduled run applying `crm`'s list with `secret` and `rules` failed, as its text.
pub async fn run_error(wazzup: &WazzupFake, secret: Value, rules: &str, crm: &str) -> String {
    scheduled(wazzup, secret, rules)
        .run(&sync(crm, false), None)
        .await
        .expect_err("the run fails")
        .to_string()
}

/// The scheduled run's input: apply (or only plan) the source's list.
pub fn sync(crm: &str, dry_run: bool) -> ScheduledSync {
    ScheduledSync {
        crm: crm.into(),
        dry_run,
        force_deletes: false,
        resend: false,
        adopt: false,
    }
}

/// How many requests changed Wazzup (anything but a read).
pub fn wazzup_writes(wazzup: &WazzupFake) -> usize {
    wazzup
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .count()
}

/// The plan's list `field` of a report, sorted.
pub fn planned(report: &Value, field: &str) -> Vec<String> {
    let mut ids: Vec<String> = report["plan"][field]
        .as_array()
        .unwrap_or_else(|| panic!("no plan.{field} in {report}"))
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

/// A Google Workspace user as `users.list` shows it (full projection), without a phone.
pub fn google_user(id: &str, name: &str, org_unit: &str) -> Value {
    json!({
        "kind": "admin#directory#user",
        "id": id,
        "primaryEmail": format!("{id}@example.com"),
        "name": {"givenName": name, "familyName": "Test", "fullName": format!("{name} Test")},
        "isAdmin": false,
        "suspended": false,
        "archived": false,
        "orgUnitPath": org_unit,
        "organizations": [{"title": "Manager", "department": "Sales", "primary": true}]
    })
}

/// The recipe docs/sources.md gives under the heading `### {heading}` (its first JSON block),
/// pointed at `base` instead of the vendor's host: the tests read what a customer copies.
pub fn documented_recipe(heading: &str, base: &str) -> Value {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/sources.md"))
        .expect("read docs/sources.md");
    let section = docs
        .split(&format!("\n### {heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("docs/sources.md has no \"### {heading}\""));
    let block = section
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .unwrap_or_else(|| panic!("no JSON block under \"### {heading}\""));
    let mut recipe: Value = serde_json::from_str(block)
        .unwrap_or_else(|e| panic!("the {heading} recipe is not JSON ({e}): {block}"));
    let url = url::Url::parse(recipe["url"].as_str().expect("the recipe has a url")).unwrap();
    recipe["url"] = json!(format!("{base}{}", url.path()));
    recipe
}
