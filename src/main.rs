//! The Lambda entry point: set-up only. Configuration, the Wazzup client and the credential
//! provider are built once per container, outside the handler, and shared by every request.

use std::process::ExitCode;
use std::sync::Arc;

use std::time::SystemTime;

use lambda_http::{Request, service_fn};
use lambda_runtime::LambdaEvent;
use wazzup_user_sync::config::Config;
use wazzup_user_sync::handler::App;
use wazzup_user_sync::handler::deadline_instant;
use wazzup_user_sync::scheduled::ScheduledSync;
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
    let scheduled = std::env::var("WAZZUP_FUNCTION_MODE").is_ok_and(|mode| mode == "scheduled");
    let app = if scheduled {
        App::build(&config).await
    } else {
        App::from_config(&config).await
    };
    let app = match app {
        Ok(app) => Arc::new(app),
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    // One binary, two functions: the HTTP endpoints (Function URL / API Gateway), and the
    // scheduled full sync that EventBridge Scheduler invokes with a JSON input.
    let result = if scheduled {
        lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduledSync>| {
            let app = Arc::clone(&app);
            async move {
                let deadline = deadline_instant(event.context.deadline, SystemTime::now());
                app.scheduled_sync(&event.payload, deadline)
                    .await
                    .map_err(|error| {
                        tracing::error!(%error, "scheduled full sync failed");
                        lambda_runtime::Error::from(error)
                    })
            }
        }))
        .await
    } else {
        lambda_http::run(service_fn(move |request: Request| {
            let app = Arc::clone(&app);
            async move { Ok::<_, std::convert::Infallible>(app.handle(request).await) }
        }))
        .await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
