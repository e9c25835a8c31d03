//! Replays every event file of a folder through the function's handler.

use std::path::{Path, PathBuf};

use lambda_http::Body;
use serde_json::Value;
use wazzup_testkit::events::{event_files, read_event};
use wazzup_user_sync::handler::App;

use crate::lane::Lane;

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
            Some(lane) if !lane.queue.is_empty() => {
                let counts = lane.drain().await;
                Some(format!(
                    "applied {}, refused {}, stale {}, to retry {}",
                    counts.applied, counts.refused, counts.stale, counts.retried
                ))
            }
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
