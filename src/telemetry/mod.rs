//! Logging set-up: `tracing` to stdout, JSON in Lambda, readable text locally.
//!
//! The format follows Lambda's advanced logging controls: `AWS_LAMBDA_LOG_FORMAT=JSON|Text`;
//! without it, JSON when running in Lambda and text elsewhere. The level comes from
//! `AWS_LAMBDA_LOG_LEVEL`, then `RUST_LOG` (full `EnvFilter` syntax), then `info`. The phone
//! library's own logging is always off: it writes whole phone numbers. The JSON lines are
//! written by [`json`].

mod json;

use tracing_subscriber::EnvFilter;

use json::{JsonFields, JsonLine};

/// Installs the global subscriber, logging to stdout at `info` unless told otherwise. Call
/// once, first thing in `main`.
pub fn init() {
    init_with(std::io::stdout, "info");
}

/// Installs the global subscriber with another writer and default level (the local runner
/// logs to stderr at `warn`, keeping stdout for its report).
pub fn init_with<W>(writer: W, default_level: &str)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let json = match std::env::var("AWS_LAMBDA_LOG_FORMAT") {
        Ok(format) => format.eq_ignore_ascii_case("json"),
        Err(_) => in_lambda,
    };
    install(writer, default_level, json);
}

/// Installs the global subscriber writing JSON lines, as in Lambda, whatever the environment.
pub fn init_json_with<W>(writer: W, default_level: &str)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    install(writer, default_level, true);
}

fn install<W>(writer: W, default_level: &str, json: bool)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|level| level.to_ascii_lowercase())
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(default_level));
    // The phone library logs whole numbers at TRACE: never, whatever the level.
    let filter = match "rlibphonenumber=off".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_env_filter(filter)
        .with_target(false);
    // Lambda adds its own timestamp to every line; the JSON lines carry none.
    let result = if json {
        builder
            .fmt_fields(JsonFields)
            .event_format(JsonLine)
            .try_init()
    } else {
        builder.try_init()
    };
    if let Err(error) = result {
        eprintln!("logging was already set up: {error}");
    }
}
