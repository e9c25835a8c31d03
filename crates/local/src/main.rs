//! `wazzup-user-sync-local`: the function's main job on a laptop, with no AWS account and no
//! internet. It starts a local Wazzup fake (unless `WAZZUP_API_URL` points elsewhere) holding
//! the staff a company made by hand before deploying (`events/local/wazzup-users.json`), builds
//! the real handler with the template's defaults and credentials from the environment, else
//! from the local secret `events/local/secret.json` (the one the event files are made with),
//! replays every event in `events/`, prints what happened, and then serves the handler on
//! `http://127.0.0.1:9000/` for curl until Ctrl-C.
//!
//! It runs the queued path, as the template deploys it: webhooks are answered 202 and their
//! changes wait in an in-process queue (standing in for SQS FIFO) until the real worker applies
//! them, in order, checked against an in-process state store (standing in for DynamoDB).
//!
//! Options: `--replay-only` (exit after the replay), `--no-replay`, `--direct` (apply at
//! once, without the queue), `--blank` (a Wazzup account without existing users), `--port N`,
//! `--events DIR`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

mod lane;
mod replay;

use wazzup_testkit::fake::{FakeUser, WazzupFake};
use wazzup_testkit::serve::{local_addr, serve};
use wazzup_user_sync::adapters::memory::{MemoryQueue, MemoryStateStore};
use wazzup_user_sync::config::Config;
use wazzup_user_sync::credentials::env_name;
use wazzup_user_sync::domain::mask_phone;
use wazzup_user_sync::handler::{App, Settings, service_settings};
use wazzup_user_sync::service::{ChangeQueue, StateStore, SyncService};
use wazzup_user_sync::wiring;
use wazzup_user_sync::worker::Worker;
use wazzup_user_sync::{metrics, telemetry};

/// The local secret, in `events/`: the credentials the event files are made with.
const LOCAL_SECRET: &str = "local/secret.json";

/// The users the local Wazzup holds before anything is synced, in `events/`.
const LOCAL_ACCOUNT: &str = "local/wazzup-users.json";

/// The project's `events/` folder, beside this crate's folder.
fn default_events_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events"));
    dir.canonicalize().unwrap_or(dir)
}

struct Options {
    replay: bool,
    direct: bool,
    /// Start the local Wazzup without the existing users.
    blank: bool,
    serve: bool,
    port: u16,
    events: PathBuf,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        replay: true,
        direct: false,
        blank: false,
        serve: true,
        port: std::env::var("LOCAL_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(9000),
        events: default_events_dir(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--replay-only" => options.serve = false,
            "--no-replay" => options.replay = false,
            "--direct" => options.direct = true,
            "--blank" => options.blank = true,
            "--port" => {
                options.port = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or("--port needs a port number")?;
            }
            "--events" => options.events = args.next().ok_or("--events needs a folder")?.into(),
            "-h" | "--help" => {
                return Err("usage: wazzup-user-sync-local [--replay-only | --no-replay] [--direct] [--blank] [--port N] [--events DIR]".into());
            }
            other => return Err(format!("unknown option {other}; try --help")),
        }
    }
    Ok(options)
}

/// The HTTP function and, in queued mode, the lane its accepted changes wait in.
async fn build(
    config: &Config,
    direct: bool,
) -> Result<(App, Option<lane::Lane>), wiring::StartupError> {
    let settings = Settings::from(config);
    let state = Arc::new(MemoryStateStore::default());
    let service = || async {
        let service = SyncService::new(
            wiring::wazzup_client(config)?,
            wiring::credentials(config).await?,
            service_settings(&settings),
        )
        .with_state(Arc::clone(&state) as Arc<dyn StateStore>);
        Ok::<_, wiring::StartupError>(service)
    };
    if direct {
        let app = App::with_service(settings.clone(), service().await?);
        app.preflight().await?;
        return Ok((app, None));
    }
    let queue = Arc::new(MemoryQueue::default());
    let app = App::with_service(
        settings.clone(),
        service()
            .await?
            .with_queue(Arc::clone(&queue) as Arc<dyn ChangeQueue>),
    );
    app.preflight().await?;
    let worker = Worker::new(Arc::new(service().await?), config.max_receive_count);
    Ok((app, Some(lane::Lane { queue, worker })))
}

fn print_users(fake: &WazzupFake) {
    for user in fake.users() {
        let phone = user
            .phone
            .as_deref()
            .map(mask_phone)
            .unwrap_or_else(|| "-".into());
        println!("  {:<38} {:<28} {}", user.id, user.name, phone);
    }
}

/// The fields of the local secret document, as the text of their environment variables.
fn local_secret(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let document: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(document
        .into_iter()
        .filter_map(|(field, value)| Some((field, value.as_str()?.to_owned())))
        .collect())
}

/// The users a company made in Wazzup by hand before deploying, as the local account holds them.
fn local_account(path: &Path) -> Result<Vec<FakeUser>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init_with(std::io::stderr, "warn");
    // The metrics are CloudWatch's (a JSON line each on stdout, in Lambda); this screen is a
    // person's.
    metrics::silence();
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };

    // The environment wins; the local secret fills the gaps. Secrets Manager is never used.
    let mut vars: HashMap<String, String> = std::env::vars().collect();
    vars.remove("WAZZUP_SECRET_ID");
    // The template's defaults: deletions reach the users this run created or took over.
    match local_secret(&options.events.join(LOCAL_SECRET)) {
        Ok(fields) => {
            for (field, value) in fields {
                vars.entry(env_name(&field)).or_insert(value);
            }
        }
        Err(message) => {
            eprintln!("cannot read the local secret: {message}");
            return ExitCode::FAILURE;
        }
    }
    let api_key = vars.get("WAZZUP_API_KEY").cloned().unwrap_or_default();
    let fake = if vars.contains_key("WAZZUP_API_URL") {
        None
    } else {
        match WazzupFake::start(&[api_key.as_str()]).await {
            Ok(fake) => {
                vars.insert("WAZZUP_API_URL".into(), fake.url());
                if !options.blank {
                    match local_account(&options.events.join(LOCAL_ACCOUNT)) {
                        Ok(users) => fake.insert_users(users),
                        Err(message) => {
                            eprintln!("cannot read the local account: {message}");
                            return ExitCode::FAILURE;
                        }
                    }
                }
                Some(fake)
            }
            Err(error) => {
                eprintln!("cannot start the local Wazzup fake: {error}");
                return ExitCode::FAILURE;
            }
        }
    };
    let config = match Config::from_vars(|name| vars.get(name).cloned(), &wiring::secret_fields()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("invalid configuration: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (app, lane) = match build(&config, options.direct).await {
        Ok(built) => built,
        Err(error) => {
            eprintln!("cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let app = Arc::new(app);
    let lane = lane.map(Arc::new);
    println!("Wazzup API: {}", config.wazzup_api_url);
    if let Some(fake) = fake.as_ref().filter(|fake| !fake.users().is_empty()) {
        println!(
            "The local Wazzup account already holds {} users made by hand ({}):",
            fake.users().len(),
            LOCAL_ACCOUNT
        );
        print_users(fake);
    }
    println!(
        "Delivery: {}",
        if lane.is_some() {
            "queued (in-process queue and state store, the real worker)"
        } else {
            "direct (each request applied at once)"
        }
    );

    if options.replay {
        match replay::replay_dir(&app, lane.as_deref(), &options.events).await {
            Ok(replayed) => {
                println!(
                    "\nReplayed {} events from {}:",
                    replayed.len(),
                    options.events.display()
                );
                for r in &replayed {
                    let name = r
                        .file
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    match replay::plan_lines(&r.body) {
                        Some(lines) => {
                            println!("  {name:<36} -> {} a full sync's plan:", r.status);
                            for line in lines {
                                println!("  {:<36}    {line}", "");
                            }
                        }
                        None => println!("  {name:<36} -> {} {}", r.status, r.body),
                    }
                    if let Some(worked) = &r.worker {
                        println!("  {:<36}    worker: {worked}", "");
                    }
                }
            }
            Err(error) => {
                eprintln!("cannot replay events: {error}");
                return ExitCode::FAILURE;
            }
        }
        if let Some(fake) = &fake {
            println!(
                "\nUsers now in the local Wazzup fake ({}):",
                fake.users().len()
            );
            print_users(fake);
        }
    }

    if !options.serve {
        return ExitCode::SUCCESS;
    }
    let addr = local_addr(options.port);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {addr}: {error} (choose another with --port)");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "\nServing the handler on http://{addr}/ (Ctrl-C to stop). Try:\n  curl -s -X POST http://{addr}/ \\\n    -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n    -d '{{\"event\":\"employee.created\",\"employee\":{{\"id\":\"emp-42\",\"name\":\"Alex Salesman\",\"phone\":\"+7 926 333-45-67\"}}}}'",
        token = vars
            .get("WEBHOOK_TOKEN")
            .map(String::as_str)
            .unwrap_or("<your WEBHOOK_TOKEN>")
    );
    // The worker, as the event source mapping would run it: whenever changes wait.
    if let Some(lane) = lane.clone() {
        tokio::spawn(async move {
            loop {
                if !lane.queue.is_empty() {
                    let counts = lane.drain().await;
                    eprintln!("worker: {}", lane::describe(&counts));
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        });
    }
    tokio::select! {
        result = serve(
            move |request| {
                let app = Arc::clone(&app);
                async move { app.handle(request).await }
            },
            listener,
            config.max_body_bytes,
        ) => {
            if let Err(error) = result {
                eprintln!("server stopped: {error}");
                return ExitCode::FAILURE;
            }
        }
        _ = tokio::signal::ctrl_c() => println!("\nstopped"),
    }
    ExitCode::SUCCESS
}
