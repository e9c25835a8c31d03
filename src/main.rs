//! The Lambda entry point: set-up only. One binary, three functions, chosen by
//! `WAZZUP_FUNCTION_MODE`: the HTTP endpoints (Function URL / API Gateway; the default), the
//! queue worker (`worker`, on the SQS FIFO queue's event source mapping) and the scheduled full
//! sync (`scheduled`, invoked by EventBridge Scheduler with a JSON input). Everything is built
//! once per container, outside the handler, and shared by every invocation.

use std::process::ExitCode;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::SystemTime;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::LambdaEvent;
use lambda_runtime::service_fn;
use wazzup_user_sync::config::Config;
use wazzup_user_sync::credentials::SecretsManagerCredentials;
use wazzup_user_sync::deadline::deadline_instant;
use wazzup_user_sync::handler::{App, Settings, lambda, service_settings};
use wazzup_user_sync::scheduled::{ScheduledFunction, ScheduledSync};
use wazzup_user_sync::sources::registry;
use wazzup_user_sync::worker::Worker;
use wazzup_user_sync::{telemetry, wiring};

fn main() -> ExitCode {
    telemetry::init();
    let config = match Config::from_env(&wiring::secret_fields()) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "invalid configuration; refusing to start");
            return ExitCode::FAILURE;
        }
    };
    if let Some(stack) = &config.stack_name {
        wazzup_user_sync::metrics::set_stack(stack);
    }
    // The phone library's metadata loads on its own thread while the runtime reads the secret
    // and builds the clients; init ends when both are done, so the first request pays for
    // neither.
    let phones = config.phone_region;
    let warm_up = std::thread::spawn(move || phones.warm_up());
    // Lambda hands a container one invocation at a time: one thread runs it, with no
    // hand-offs between worker threads (measured: see docs/performance.md).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let mode = std::env::var("WAZZUP_FUNCTION_MODE").unwrap_or_default();
    let result = runtime.block_on(async {
        match mode.as_str() {
            "scheduled" => run_scheduled(&config, warm_up).await,
            "worker" => run_worker(&config, warm_up).await,
            _ => run_http(&config, warm_up).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the function stopped");
            ExitCode::FAILURE
        }
    }
}

/// Waits for the start-up work done beside the async set-up.
fn ready(warm_up: JoinHandle<()>) {
    if warm_up.join().is_err() {
        tracing::warn!("loading the phone metadata failed at start; the first phone will load it");
    }
}

async fn run_http(config: &Config, warm_up: JoinHandle<()>) -> Result<(), lambda_runtime::Error> {
    let app = Arc::new(App::from_config(config).await?);
    ready(warm_up);
    lambda::run(app).await
}

async fn run_worker(config: &Config, warm_up: JoinHandle<()>) -> Result<(), lambda_runtime::Error> {
    let settings = service_settings(&Settings::from(config));
    let (service, redelivery) = wiring::worker_parts(config, settings).await?;
    let service = Arc::new(service);
    // The secret is read at init, as the HTTP function's is, not inside the first batch.
    if let Err(error) = service.credentials().current().await {
        tracing::warn!(%error, "the secret could not be read at start; the first batch tries again");
    }
    ready(warm_up);
    let mut worker = Worker::new(service, config.max_receive_count);
    if let Some(redelivery) = redelivery {
        worker = worker.with_redelivery(redelivery);
    }
    let worker = Arc::new(worker);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let worker = Arc::clone(&worker);
        async move {
            let deadline = deadline_instant(event.context.deadline, SystemTime::now());
            Ok::<_, std::convert::Infallible>(worker.handle(event.payload, deadline).await)
        }
    }))
    .await
}

async fn run_scheduled(
    config: &Config,
    warm_up: JoinHandle<()>,
) -> Result<(), lambda_runtime::Error> {
    wiring::check_seats(config)?;
    let settings = service_settings(&Settings::from(config));
    let service = wiring::service(config, settings).await?;
    let mut function = ScheduledFunction::new(Arc::new(service))?.with_seats(config.seats.clone());
    if let Some(secret_id) = &config.crm_secret_id {
        let client = SecretsManagerCredentials::client_from_environment().await;
        function = function.with_crm_secrets(Arc::new(
            SecretsManagerCredentials::new(client, secret_id.clone(), config.secret_ttl())
                .with_check(registry::check_secrets),
        ));
    }
    let function = Arc::new(function);
    ready(warm_up);
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
