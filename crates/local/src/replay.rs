//! Replays every event file of a folder through the function's handler.

use std::path::{Path, PathBuf};

use lambda_http::Body;
use serde_json::Value;
use wazzup_testkit::events::{event_files, read_event};
use wazzup_user_sync::handler::App;

use crate::lane::{Lane, describe};

/// One replayed event, what the handler answered, and what the worker then did.
pub struct Replayed {
    pub file: PathBuf,
    pub status: u16,
    pub body: Value,
    pub worker: Option<String>,
}

/// Replays every `*.json` file of `dir`, in name order, through the handler, and lets the
/// lane's worker apply what each accepted.
pub async fn replay_dir(
    app: &App,
    lane: Option<&Lane>,
    dir: &Path,
) -> Result<Vec<Replayed>, String> {
    let mut replayed = Vec::new();
    for file in event_files(dir)? {
        let request = read_event(&file)?;
        let response = app.handle(request).await;
        let worker = match lane {
            Some(lane) if !lane.queue.is_empty() => Some(describe(&lane.drain().await)),
            _ => None,
        };
        let status = response.status().as_u16();
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::String(text.clone())),
            Body::Binary(bytes) => serde_json::from_slice(bytes).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        replayed.push(Replayed {
            file,
            status,
            body,
            worker,
        });
    }
    Ok(replayed)
}

/// A full sync's answer (`POST /sync`) as lines a person reads: the counts, then each match,
/// ambiguity and user without an employee. `None` for any other answer.
pub fn plan_lines(body: &Value) -> Option<Vec<String>> {
    let plan = body.get("plan")?;
    let list = |key: &str| plan[key].as_array().cloned().unwrap_or_default();
    let ids = |key: &str| {
        let ids: Vec<String> = (list(key).iter())
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect();
        if ids.is_empty() {
            "-".to_owned()
        } else {
            ids.join(", ")
        }
    };
    let mut lines = vec![format!(
        "status {}: create {}; update {}; delete {}; {} seats left",
        body["status"].as_str().unwrap_or("?"),
        ids("create"),
        ids("update"),
        ids("delete"),
        plan["seatsLeft"]
    )];
    for found in list("matches") {
        lines.push(format!(
            "match     {} \"{}\" is {} \"{}\" (by {})",
            found["employee"].as_str().unwrap_or("?"),
            found["name"].as_str().unwrap_or("?"),
            found["wazzupId"].as_str().unwrap_or("?"),
            found["wazzupName"].as_str().unwrap_or("?"),
            found["by"].as_str().unwrap_or("?"),
        ));
    }
    for ambiguity in list("ambiguous") {
        let candidates: Vec<&str> = (ambiguity["candidates"].as_array().into_iter().flatten())
            .filter_map(|c| c["id"].as_str())
            .collect();
        lines.push(format!(
            "ambiguous {} could be {}",
            ambiguity["employee"].as_str().unwrap_or("?"),
            candidates.join(" or ")
        ));
    }
    for user in list("unowned") {
        lines.push(format!(
            "no employee: {} \"{}\" (never deleted)",
            user["id"].as_str().unwrap_or("?"),
            user["name"].as_str().unwrap_or("?")
        ));
    }
    Some(lines)
}
