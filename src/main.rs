//! The Lambda entry point: set-up only. Configuration, the Wazzup client and the credential
//! provider are built once per container, outside the handler, and shared by every request.

use std::process::ExitCode;
use std::sync::Arc;

use lambda_http::{Request, service_fn};
use wazzup_user_sync::config::Config;
use wazzup_user_sync::handler::App;
use wazzup_user_sync::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "invalid configuration; refusing to start");
            return ExitCode::FAILURE;
        }
    };
    let app = match App::from_config(&config).await {
        Ok(app) => Arc::new(app),
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let result = lambda_http::run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, std::convert::Infallible>(app.handle(request).await) }
    }))
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
