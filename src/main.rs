//! The Lambda entry point: set-up only. One binary, two functions, chosen by
//! `WAZZUP_FUNCTION_MODE`: the HTTP endpoints (Function URL / API Gateway; the default) and the
//! scheduled full sync (`scheduled`, invoked by EventBridge Scheduler with a JSON input). The
//! configuration, the Wazzup client and the credential provider are built once per container,
//! outside the handler, and shared by every invocation.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use lambda_http::{Request, service_fn};
use lambda_runtime::LambdaEvent;
use wazzup_user_sync::config::Config;
use wazzup_user_sync::credentials::SecretsManagerCredentials;
use wazzup_user_sync::deadline::deadline_instant;
use wazzup_user_sync::handler::{self, App, Settings, service_from_config};
use wazzup_user_sync::scheduled::{ScheduledFunction, ScheduledSync};
use wazzup_user_sync::service::ServiceSettings;
use wazzup_user_sync::sources::registry;
use wazzup_user_sync::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let config = match Config::from_env(&handler::secret_fields()) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "invalid configuration; refusing to start");
            return ExitCode::FAILURE;
        }
    };
    let scheduled = std::env::var("WAZZUP_FUNCTION_MODE").is_ok_and(|mode| mode == "scheduled");
    let result = if scheduled {
        run_scheduled(&config).await
    } else {
        run_http(&config).await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the function stopped");
            ExitCode::FAILURE
        }
    }
}

async fn run_http(config: &Config) -> Result<(), lambda_runtime::Error> {
    let app = Arc::new(App::from_config(config).await?);
    lambda_http::run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, std::convert::Infallible>(app.handle(request).await) }
    }))
    .await
}

async fn run_scheduled(config: &Config) -> Result<(), lambda_runtime::Error> {
    let settings = Settings::from(config);
    let service = service_from_config(
        config,
        ServiceSettings {
            phone_region: settings.phone_region,
            sync: settings.sync,
        },
    )
    .await?;
    let mut function = ScheduledFunction::new(Arc::new(service))?;
    if let Some(secret_id) = &config.crm_secret_id {
        let client = SecretsManagerCredentials::client_from_environment().await;
        function = function.with_crm_secrets(Arc::new(
            SecretsManagerCredentials::new(client, secret_id.clone(), config.secret_ttl())
                .with_check(registry::check_secrets),
        ));
    }
    let function = Arc::new(function);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduledSync>| {
        let function = Arc::clone(&function);
        async move {
            let deadline = deadline_instant(event.context.deadline, SystemTime::now());
            function
                .run(&event.payload, deadline)
                .await
                .map_err(|error| {
                    tracing::error!(%error, "scheduled full sync failed");
                    lambda_runtime::Error::from(error)
                })
        }
    }))
    .await
}
