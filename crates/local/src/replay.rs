//! Replays every event file of a folder through the function's handler.

use std::path::{Path, PathBuf};

use lambda_http::Body;
use serde_json::Value;
use wazzup_testkit::events::{event_files, read_event};
use wazzup_user_sync::handler::App;

/// One replayed event and what the handler answered.
pub struct Replayed {
    pub file: PathBuf,
    pub status: u16,
    pub body: Value,
}

/// Replays every `*.json` file of `dir`, in name order, through the handler.
pub async fn replay_dir(app: &App, dir: &Path) -> Result<Vec<Replayed>, String> {
    let mut replayed = Vec::new();
    for file in event_files(dir)? {
        let request = read_event(&file)?;
        let response = app.handle(request).await;
        let status = response.status().as_u16();
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::String(text.clone())),
            Body::Binary(bytes) => serde_json::from_slice(bytes).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        replayed.push(Replayed { file, status, body });
    }
    Ok(replayed)
}
