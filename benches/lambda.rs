//! The built function as Lambda runs it, printed as figures (`cargo bench --bench lambda`; on
//! demand, not in CI; needs moto_server from `requirements-dev.txt`). Each run starts the
//! release binary under a minimal Lambda Runtime API on loopback (HTTP/1.1 keep-alive), with
//! its secret in Secrets Manager (moto_server) and the Wazzup fake, for the HTTP function (one
//! webhook with a phone, in direct mode and in queued mode, its change sent to an SQS FIFO queue
//! in moto) and the queue worker (one SQS record, with the state table in DynamoDB in moto), and
//! prints the medians over the runs of:
//!
//! - init: process start to its first `next` poll (the secret read, the clients built);
//! - first: the first invocation, from event handed to answer;
//! - cold: process start to the first answer;
//! - warm p50 / p99 and CPU per invocation (from /proc: the scheduler's time on a CPU, with the
//!   coarser tick counts' split into user and system) over the warm runs, and with more than one
//!   binary, each one's CPU against the first's, run by run;
//! - peak RSS (VmHWM) after them, and log lines written per invocation;
//! - the binary's size, and zipped as Lambda takes it (`bootstrap`, deflate).
//!
//! Options after `--`: `--runs N` (cold starts per mode, 15), `--warm N` (invocations in each
//! warm run, 1,000), `--warm-runs N` (3), `--mode http|queued|worker` (all three), and
//! `--binary PATH`, given more than once to compare builds run for run (interleaved, so that
//! drift in the machine touches each alike). The default binary is this build's own.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Value, json};
use wazzup_testkit::fake::WazzupFake;
use wazzup_testkit::moto::Moto;
use wazzup_testkit::proc_cpu::{Cpu, cpu_time};
use wazzup_testkit::runtime_api::RuntimeApi;

const SECRET_ID: &str = "bench/wazzup";
const STATE_TABLE: &str = "bench-state";
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Http,
    Queued,
    Worker,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Http => "http (direct)",
            Mode::Queued => "http (queued)",
            Mode::Worker => "worker (state table)",
        }
    }
}

struct Options {
    runs: usize,
    warm: usize,
    warm_runs: usize,
    modes: Vec<Mode>,
    binaries: Vec<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        runs: 15,
        warm: 1000,
        warm_runs: 3,
        modes: vec![Mode::Http, Mode::Queued, Mode::Worker],
        binaries: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--runs" => options.runs = number(&value("--runs")?)?,
            "--warm" => options.warm = number(&value("--warm")?)?,
            "--warm-runs" => options.warm_runs = number(&value("--warm-runs")?)?,
            "--binary" => options.binaries.push(PathBuf::from(value("--binary")?)),
            "--mode" => {
                options.modes = match value("--mode")?.as_str() {
                    "http" => vec![Mode::Http],
                    "queued" => vec![Mode::Queued],
                    "worker" => vec![Mode::Worker],
                    other => {
                        return Err(format!("unknown mode {other:?}: http, queued or worker"));
                    }
                }
            }
            // cargo bench passes `--bench`; a filter word is ignored.
            _ => {}
        }
    }
    if options.binaries.is_empty() {
        options
            .binaries
            .push(PathBuf::from(env!("CARGO_BIN_EXE_wazzup-user-sync")));
    }
    options.runs = options.runs.max(1);
    options.warm_runs = options.warm_runs.min(options.runs);
    Ok(options)
}

fn number(text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a whole number"))
}

/// What one process start measured.
#[derive(Default)]
struct Run {
    init: Duration,
    first: Duration,
    cold: Duration,
    warm: Vec<Duration>,
    cpu_per_invocation: Option<Cpu>,
    peak_rss_kib: Option<u64>,
    /// Resident memory at the end: heap and stacks (RssAnon), the binary's pages (RssFile).
    rss_anon_file_kib: Option<(u64, u64)>,
    log_lines_per_invocation: Option<f64>,
}

/// The fixtures every run shares: moto (the secret, the state table) and the Wazzup fake.
struct Bench {
    moto: Moto,
    fake: WazzupFake,
    webhook: Bytes,
    /// Queues made so far: each queued-mode run sends to a new one, as moto slows down with
    /// every message a queue holds.
    queues: AtomicU64,
    /// Source times of the worker's changes, growing over the whole bench so that no change is
    /// older than one the state table already holds.
    clock: AtomicU64,
}

impl Bench {
    async fn start() -> Result<Self, String> {
        let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
        let secret = std::fs::read_to_string(events.join("local/secret.json"))
            .map_err(|e| format!("events/local/secret.json: {e}"))?;
        let api_key = serde_json::from_str::<Value>(&secret)
            .ok()
            .and_then(|v| v["apiKey"].as_str().map(str::to_owned))
            .ok_or("events/local/secret.json has no apiKey")?;
        let moto = Moto::start();
        moto.client()
            .create_secret()
            .name(SECRET_ID)
            .secret_string(secret)
            .send()
            .await
            .map_err(|e| format!("create the secret in moto: {e}"))?;
        moto.state_table(STATE_TABLE).await;

        let fake = WazzupFake::start(&[api_key.as_str()])
            .await
            .map_err(|e| format!("start the Wazzup fake: {e}"))?;
        // One employee created, with a phone: the webhook most calls carry.
        let webhook = std::fs::read(events.join("employee-created.json"))
            .map_err(|e| format!("events/employee-created.json: {e}"))?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Ok(Self {
            moto,
            fake,
            webhook: Bytes::from(webhook),
            queues: AtomicU64::new(0),
            clock: AtomicU64::new(now_ms - 3_600_000),
        })
    }

    fn event(&self, mode: Mode) -> Bytes {
        match mode {
            Mode::Http | Mode::Queued => self.webhook.clone(),
            Mode::Worker => {
                let at = self.clock.fetch_add(1, Ordering::Relaxed);
                let body = json!({
                    "event": {"upsert": {"id": "6001", "name": "Queued Worker", "phone": "79265550301"}},
                    "at": at,
                    "key": format!("k{at}"),
                });
                let record = json!({
                    "messageId": format!("m-{at}"),
                    "receiptHandle": format!("AQEB{at}"),
                    "body": body.to_string(),
                    "attributes": {
                        "ApproximateReceiveCount": "1",
                        "SentTimestamp": at.to_string(),
                        "SequenceNumber": "18849496460467696128",
                        "MessageGroupId": "g-6001",
                        "SenderId": "AIDAEXAMPLE",
                        "MessageDeduplicationId": format!("k{at}"),
                        "ApproximateFirstReceiveTimestamp": at.to_string(),
                    },
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:wazzup-user-sync-changes.fifo",
                    "awsRegion": "eu-central-1",
                });
                Bytes::from(json!({ "Records": [record] }).to_string())
            }
        }
    }

    fn command(
        &self,
        binary: &Path,
        mode: Mode,
        runtime_api: &str,
        queue_url: Option<&str>,
    ) -> Command {
        let mut command = Command::new(binary);
        // Only what Lambda would set and the function's own settings: no stray AWS_* variable
        // or profile of the machine running the bench.
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_REGION", "eu-central-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", self.moto.url())
            .env("RUST_LOG", "info")
            .env("WAZZUP_SECRET_ID", SECRET_ID)
            .env("WAZZUP_API_URL", self.fake.url())
            .env("SYNC_MANAGE_ALL", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(queue_url) = queue_url {
            command.env("QUEUE_URL", queue_url);
        }
        if mode == Mode::Worker {
            command
                .env("WAZZUP_FUNCTION_MODE", "worker")
                .env("STATE_TABLE", STATE_TABLE);
        }
        command
    }

    async fn run(&self, binary: &Path, mode: Mode, warm: usize) -> Result<Run, String> {
        let api = RuntimeApi::start()
            .await
            .map_err(|e| format!("start the Runtime API emulator: {e}"))?;
        let queue_url = if mode == Mode::Queued {
            let number = self.queues.fetch_add(1, Ordering::Relaxed);
            Some(self.moto.fifo_queue(&format!("bench-{number}"), 30).await.0)
        } else {
            None
        };
        // The binary is read once before it starts, so that init measures the function rather
        // than this machine's disk: here the page cache gives a binary back between runs, and
        // reading it again would add milliseconds that vary from run to run.
        std::fs::read(binary).map_err(|e| format!("read {}: {e}", binary.display()))?;
        let started = Instant::now();
        let mut child = self
            .command(binary, mode, &api.address(), queue_url.as_deref())
            .spawn()
            .map_err(|e| format!("start {}: {e}", binary.display()))?;
        let lines = Arc::new(AtomicU64::new(0));
        drain(&mut child, &lines);
        let result = self
            .measure(&api, &mut child, started, mode, warm, &lines)
            .await;
        stop(&mut child);
        result
    }

    async fn measure(
        &self,
        api: &RuntimeApi,
        child: &mut Child,
        started: Instant,
        mode: Mode,
        warm: usize,
        lines: &AtomicU64,
    ) -> Result<Run, String> {
        let polled = api.first_poll(TIMEOUT).await?;
        let first = api.invoke(self.event(mode), TIMEOUT).await?;
        check(mode, &first.body, first.error)?;
        let mut run = Run {
            init: polled - started,
            first: first.latency(),
            cold: first.answered - started,
            ..Run::default()
        };
        if warm == 0 {
            return Ok(run);
        }
        let pid = child.id();
        let cpu_before = cpu_time(pid)?;
        let lines_before = lines.load(Ordering::Relaxed);
        for _ in 0..warm {
            let invocation = api.invoke(self.event(mode), TIMEOUT).await?;
            check(mode, &invocation.body, invocation.error)?;
            run.warm.push(invocation.latency());
        }
        run.cpu_per_invocation = Some(cpu_time(pid)?.since(cpu_before).per(warm));
        run.peak_rss_kib = Some(status_kib(pid, "VmHWM")?);
        run.rss_anon_file_kib = Some((status_kib(pid, "RssAnon")?, status_kib(pid, "RssFile")?));
        // The last lines may still be in the pipe: give the reader a moment.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let written = lines.load(Ordering::Relaxed) - lines_before;
        run.log_lines_per_invocation = Some(written as f64 / warm as f64);
        self.fake.clear_requests();
        Ok(run)
    }
}

/// Ends the function as Lambda ends a container: SIGTERM, then SIGKILL if it lingers (so that a
/// profiler wrapped around the binary, `--binary` a script, can write its data).
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Counts the function's log lines (stdout and stderr), as Lambda's log capture would read
/// them, so that a full pipe never stalls the function.
fn drain(child: &mut Child, lines: &Arc<AtomicU64>) {
    let out = child
        .stdout
        .take()
        .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
    let err = child
        .stderr
        .take()
        .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
    for stream in [out, err].into_iter().flatten() {
        let lines = Arc::clone(lines);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                lines.fetch_add(1, Ordering::Relaxed);
                line.clear();
            }
        });
    }
}

/// Fails on an answer that is not the success the bench expects, so that a broken build never
/// passes for a fast one.
fn check(mode: Mode, body: &[u8], error: bool) -> Result<(), String> {
    let text = String::from_utf8_lossy(body);
    if error {
        return Err(format!("the function reported an error: {text}"));
    }
    let answer: Value = serde_json::from_slice(body).map_err(|e| format!("{e}: {text}"))?;
    let ok = match mode {
        Mode::Http => answer["statusCode"].as_u64() == Some(200),
        Mode::Queued => answer["statusCode"].as_u64() == Some(202),
        Mode::Worker => answer["batchItemFailures"]
            .as_array()
            .is_some_and(|failures| failures.is_empty()),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected answer: {text}"))
    }
}

/// One memory figure of a process's /proc status (`VmHWM`: its peak resident memory), in KiB.
fn status_kib(pid: u32, field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/{pid}/status"))
}

/// The binary zipped as Lambda takes it: one file named `bootstrap`, deflated.
fn zipped_size(binary: &Path) -> Result<u64, String> {
    let dir = std::env::temp_dir().join(format!("lambda-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let zip = dir.join("bootstrap.zip");
    let script = "import sys, zipfile\n\
        with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z:\n\
        \x20   z.write(sys.argv[1], 'bootstrap')\n";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(binary)
        .arg(&zip)
        .status()
        .map_err(|e| format!("python3 (to zip the binary): {e}"))?;
    if !status.success() {
        return Err("python3 could not zip the binary".to_owned());
    }
    let size = std::fs::metadata(&zip).map_err(|e| e.to_string())?.len();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(size)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn percentile(values: &[Duration], share: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    let index = ((sorted.len() as f64 - 1.0) * share).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn report(binary: &Path, mode: Mode, runs: &[Run]) {
    let warm: Vec<Duration> = runs.iter().flat_map(|r| r.warm.iter().copied()).collect();
    let cpu: Vec<Cpu> = runs.iter().filter_map(|r| r.cpu_per_invocation).collect();
    let cpu_user = median(cpu.iter().map(|c| c.user).collect());
    let cpu_system = median(cpu.iter().map(|c| c.system).collect());
    let rss = runs
        .iter()
        .filter_map(|r| r.peak_rss_kib)
        .max()
        .unwrap_or(0);
    let lines: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.log_lines_per_invocation)
        .collect();
    let lines = lines.iter().sum::<f64>() / lines.len().max(1) as f64;
    println!(
        "  {} ({} cold starts, {} warm invocations)",
        mode.name(),
        runs.len(),
        warm.len()
    );
    println!(
        "    init {:>10}   first invocation {:>10}   cold total {:>10}",
        ms(median(runs.iter().map(|r| r.init).collect())),
        ms(median(runs.iter().map(|r| r.first).collect())),
        ms(median(runs.iter().map(|r| r.cold).collect())),
    );
    println!(
        "    warm p50 {:>10}   warm p99 {:>10}   CPU per invocation {:>10} (in ticks: user {}, system {})",
        ms(percentile(&warm, 0.5)),
        ms(percentile(&warm, 0.99)),
        format!(
            "{:.3} ms",
            median(cpu.iter().map(|c| c.total()).collect()).as_secs_f64() * 1000.0
        ),
        ms(cpu_user),
        ms(cpu_system),
    );
    let (anon, file) = runs
        .iter()
        .filter_map(|r| r.rss_anon_file_kib)
        .max()
        .unwrap_or_default();
    println!(
        "    peak RSS {:.1} MiB (at the end: heap and stacks {:.1}, binary {:.1})   log lines per invocation {lines:.2}",
        rss as f64 / 1024.0,
        anon as f64 / 1024.0,
        file as f64 / 1024.0,
    );
    println!("    ({})", binary.display());
}

#[tokio::main]
async fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(2);
        }
    };
    let bench = match Bench::start().await {
        Ok(bench) => bench,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    };
    println!("The function under a Lambda Runtime API emulator on loopback (medians over runs):");
    for binary in &options.binaries {
        let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
        match zipped_size(binary) {
            Ok(zipped) => println!(
                "  {}: {size} bytes ({:.2} MiB), zipped {zipped} bytes ({:.2} MiB)",
                binary.display(),
                size as f64 / 1048576.0,
                zipped as f64 / 1048576.0
            ),
            Err(error) => println!("  {}: {size} bytes; zip: {error}", binary.display()),
        }
    }
    for &mode in &options.modes {
        let mut results: Vec<Vec<Run>> = options.binaries.iter().map(|_| Vec::new()).collect();
        for index in 0..options.runs {
            let warm = if index < options.warm_runs {
                options.warm
            } else {
                0
            };
            for (binary, runs) in options.binaries.iter().zip(results.iter_mut()) {
                match bench.run(binary, mode, warm).await {
                    Ok(run) => runs.push(run),
                    Err(error) => {
                        eprintln!("error: {} {}: {error}", binary.display(), mode.name());
                        std::process::exit(1);
                    }
                }
            }
        }
        for (binary, runs) in options.binaries.iter().zip(&results) {
            report(binary, mode, runs);
        }
        compare_cpu(&options.binaries, &results);
    }
}

/// With more than one binary: each one's CPU per warm invocation against the first's, run by
/// run (the runs of the binaries alternate, so each pair met the same state of the machine),
/// as the median and range of the per-run changes.
fn compare_cpu(binaries: &[PathBuf], results: &[Vec<Run>]) {
    let Some((first, others)) = results.split_first() else {
        return;
    };
    for (binary, runs) in binaries.iter().skip(1).zip(others) {
        let mut changes: Vec<f64> = first
            .iter()
            .zip(runs)
            .filter_map(|(a, b)| Some((a.cpu_per_invocation?, b.cpu_per_invocation?)))
            .map(|(a, b)| (b.total().as_secs_f64() / a.total().as_secs_f64() - 1.0) * 100.0)
            .collect();
        if changes.is_empty() {
            continue;
        }
        changes.sort_by(f64::total_cmp);
        let median = changes[changes.len() / 2];
        println!(
            "    CPU per invocation, {} against {}: {median:+.1} % (runs: {:+.1} to {:+.1} %)",
            binary.display(),
            binaries[0].display(),
            changes[0],
            changes[changes.len() - 1],
        );
    }
}
