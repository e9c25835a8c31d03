//! The Lambda events of `events/`, read from files as `cargo lambda invoke --data-file` and
//! `sam local invoke -e` would send them.

use std::path::{Path, PathBuf};

use lambda_http::Request;

/// Reads a Lambda HTTP event (API Gateway REST or HTTP API, Function URL, ALB) from a file.
pub fn read_event(path: &Path) -> Result<Request, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    lambda_http::request::from_str(&text)
        .map_err(|e| format!("{} is not a Lambda HTTP event: {e}", path.display()))
}

/// The `*.json` files of `dir`, in name order.
pub fn event_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    Ok(files)
}
