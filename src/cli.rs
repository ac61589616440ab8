//! Command-line flags (clap derive). Flags only: validation into settings happens in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::{Format, ReportFile};

/// Performance-regression gate: load a service, measure it, compare with a baseline, decide.
#[derive(Debug, Parser)]
#[command(name = "loadgate", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    /// More detail on stderr (-v: progress, -vv: every failed request).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress line on stderr (warnings and errors still show).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Colour the verdicts and statuses: auto (on a terminal, unless NO_COLOR is set;
    /// CLICOLOR_FORCE colours a pipe too), always or never.
    #[arg(
        long,
        value_name = "WHEN",
        global = true,
        value_enum,
        default_value = "auto"
    )]
    pub color: crate::terminal::ColorWhen,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str =
    "Exit codes: 0 pass (and warn, unless --fail-on warn), 1 critical regression or SLO breach, \
2 error (bad input, unreachable target, I/O), 3 incomplete (a gated metric could not be judged), \
130 interrupted (Ctrl-C or SIGTERM; nothing judged or stored).";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load the target and print the measurements (no baseline, no verdict).
    Run(RunArgs),
    /// Write a commented starter scenario for URL (and the baselines folder); never overwrites.
    Init(InitArgs),
    /// Run, sanity-check, then write the scenario's baseline atomically.
    Record(RecordArgs),
    /// Compare two stored results (no load, no actions).
    Compare(CompareArgs),
    /// Merge the results of a sharded run (`run --shard i/N`) into one result, exactly.
    Merge(MergeArgs),
    /// Turn another tool's output (criterion, hyperfine, k6, JMeter, Artillery) into a result
    /// that `compare`, baselines and the reports work on.
    Import(ImportArgs),
    /// Preflight, run, compare with the baseline, decide, report, exit with the verdict's code.
    Gate(GateArgs),
    /// Re-render a stored result, or its comparison with a baseline, in any format (no load).
    Report(ReportArgs),
    /// Measure this machine's run-to-run noise with A/A pairs, for the noise guard.
    Calibrate(CalibrateArgs),
    /// List or show stored baselines.
    #[command(subcommand)]
    Baselines(BaselinesCommand),
    /// Serve the built-in demo service on loopback (with knobs to inject regressions).
    Demo(DemoArgs),
    /// Show the run history's trends and change points (runs appended with `--history DIR`).
    History(HistoryArgs),
    /// Nightly: search the highest sustainable rate, gate it against the stored capacity, soak for leaks.
    Stress(StressArgs),
    /// Print a shell completion script (bash, elvish, fish, powershell, zsh).
    ///
    /// e.g. `loadgate completions bash > ~/.local/share/bash-completion/completions/loadgate`
    Completions(CompletionsArgs),
    /// Print the man pages (roff) of loadgate and its subcommands.
    ///
    /// e.g. `loadgate man > loadgate.1 && man ./loadgate.1`
    Man,
    /// After the deploy: watch live counts (Prometheus, a /metrics page or a command) for a window,
    /// judge them against objectives and the time before, and roll back on a certain breach.
    Watch(WatchArgs),
}

/// `loadgate init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The service's URL, with its scheme, e.g. http://localhost:8080/health.
    pub url: String,
    /// Scenario name (the file is `SCENARIOS/<name>.toml`, its baseline `<name>.json`)
    /// [default: from the URL's host].
    #[arg(long)]
    pub name: Option<String>,
    /// Folder of the scenario file.
    #[arg(long, value_name = "DIR", default_value = "scenarios")]
    pub scenarios: PathBuf,
    /// Folder of baselines (made if missing).
    #[arg(long, value_name = "DIR", default_value = crate::baseline::DEFAULT_DIR)]
    pub baselines: PathBuf,
}

/// `loadgate completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `loadgate watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Watch file (TOML; docs/watch.md, schemas/watch.schema.json).
    pub file: PathBuf,
    /// Length of the watch, overriding the file's `window.duration` (e.g. 5m, 20s).
    #[arg(long, value_name = "DURATION")]
    pub window: Option<String>,
    /// Time between polls, overriding the file's `window.poll` (e.g. 15s, 1s).
    #[arg(long, value_name = "DURATION")]
    pub poll: Option<String>,
    /// Write the JSON report (each signal's time series and the verdict) to this file atomically
    /// instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Which verdict exits 1.
    #[arg(long, value_enum, default_value = "critical")]
    pub fail_on: FailOn,
    /// What to do with the verdict.
    #[command(flatten)]
    pub actions: Box<ActionArgs>,
}

/// `loadgate stress`.
#[derive(Debug, Args)]
pub struct StressArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Target selection.
    #[command(flatten)]
    pub target: TargetArgs,
    /// First rate tried, req/s [default: the scenario's `rate`, else 50].
    #[arg(long, value_name = "RPS")]
    pub start_rate: Option<u32>,
    /// Growth of the rate between steps until one breaks.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.5)]
    pub step_factor: f64,
    /// Measured length of each step (after a short warm-up at the step's rate).
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub step_duration: String,
    /// Warm-up before each step, excluded from its measurements.
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub step_warmup: String,
    /// Highest rate tried, req/s.
    #[arg(long, value_name = "RPS", default_value_t = 10_000)]
    pub max_rate: u32,
    /// Bisection steps between the last good and the first bad rate.
    #[arg(long, value_name = "K", default_value_t = 3)]
    pub refine: u32,
    /// Hard bound on measured steps.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_steps: u32,
    /// A step breaks when its error rate exceeds this, e.g. 1%.
    #[arg(long, value_name = "PERCENT", default_value = "1%")]
    pub max_error_rate: String,
    /// Store the capacity found as `BASELINES/<name>[.<profile>].capacity.json` instead of gating it.
    #[arg(long)]
    pub record: bool,
    /// Folder of baselines.
    #[arg(long, value_name = "DIR", default_value = crate::baseline::DEFAULT_DIR)]
    pub baselines: PathBuf,
    /// Then hold a load this long with memory sampling, and give the leak verdict.
    #[arg(long, value_name = "DURATION")]
    pub soak: Option<String>,
    /// Rate of the soak, req/s [default: --soak-fraction of the capacity found].
    #[arg(
        long,
        value_name = "RPS",
        requires = "soak",
        conflicts_with = "soak_fraction"
    )]
    pub soak_rate: Option<u32>,
    /// Share of the capacity the soak holds.
    #[arg(long, value_name = "FRACTION", requires = "soak")]
    pub soak_fraction: Option<f64>,
    /// Time between memory readings during the soak [default: `[monitor] interval`, else 1s].
    #[arg(long, value_name = "DURATION", requires = "soak")]
    pub sample_interval: Option<String>,
    /// Skip the capacity search (only with --soak and --soak-rate).
    #[arg(long, requires = "soak_rate")]
    pub no_search: bool,
    /// Append the run at the capacity found (as `<name>.capacity`) and the soak (as `<name>.soak`)
    /// to this history folder, for `loadgate history` trends.
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
    /// Report output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--rate`: a whole number of requests per second, at least 1.
fn rate(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(0) => {
            Err("a rate of 0 sends nothing; give at least 1 request/s, e.g. --rate 100".into())
        }
        Ok(r) => Ok(r),
        Err(_) => Err(format!(
            "`{text}` is not a whole number of requests per second; e.g. --rate 100"
        )),
    }
}

/// `--users`: a whole number, at least 1.
fn users(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(0) => Err("0 users send nothing; give at least 1, e.g. --users 10".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "`{text}` is not a whole number of users; e.g. --users 10"
        )),
    }
}

/// `--duration`: a duration with its unit, longer than zero (kept as written: the scenario's
/// validation reads it like the file's `duration`).
fn duration(text: &str) -> Result<String, String> {
    match crate::scenario::units::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("a duration of 0 measures nothing; e.g. --duration 10s".into()),
        Ok(_) => Ok(text.trim().to_string()),
        // A bare number (`--duration 10`) most likely meant seconds: show it with its unit.
        Err(e) => Err(match text.trim().parse::<f64>() {
            Ok(n) if n > 0.0 => format!("{e}; for {n} seconds write --duration {n}s"),
            _ => format!("{e}; e.g. --duration 10s"),
        }),
    }
}

/// Where the load goes.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Base URL of the service under test; overrides the scenario's `target.base_url`.
    #[arg(long, value_name = "URL", conflicts_with = "demo")]
    pub target: Option<String>,
    /// Start the built-in demo service on 127.0.0.1 (a free port) and load it.
    #[arg(long)]
    pub demo: bool,
    /// Do not verify the target's TLS certificate. Dangerous: only for a staging service with a
    /// self-signed certificate you cannot give as `[target] ca_file`.
    #[arg(long, conflicts_with = "demo")]
    pub danger_accept_invalid_certs: bool,
    /// Sample this local process's memory and CPU during the run (overrides `[monitor]`).
    #[arg(long, value_name = "PID")]
    pub monitor_pid: Option<u32>,
    /// Apply the scenario's `[profile.NAME]` over its `[load]`; its baseline is
    /// `<name>.<profile>.json`.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Concurrent users; overrides `[load] users` (and the profile's).
    #[arg(long, value_name = "N", value_parser = users)]
    pub users: Option<u32>,
    /// Target arrival rate in requests/s (open model); overrides `[load] rate` (and the profile's).
    #[arg(long, value_name = "RPS", value_parser = rate)]
    pub rate: Option<u32>,
    /// Measured time, e.g. 30s or 2m; overrides `[load] duration` and `stages` (and the profile's).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub duration: Option<String>,
    /// Demo knobs (with --demo).
    #[command(flatten)]
    pub knobs: KnobArgs,
}

/// The help heading of the demo knobs: apart from the options that matter on a real service.
const KNOBS: &str = "Demo service knobs (with --demo)";

/// Knobs of the built-in demo service: regressions to inject, for trying the gate out.
#[derive(Debug, Args, Clone)]
pub struct KnobArgs {
    /// Multiply every endpoint's service time (1.5 = +50% latency).
    #[arg(help_heading = KNOBS, long, value_name = "FACTOR", default_value_t = 1.0)]
    pub slowdown: f64,
    /// Extra latency on every request, e.g. 5ms.
    #[arg(help_heading = KNOBS, long, value_name = "DURATION", default_value = "0ms")]
    pub delay: String,
    /// Fraction of requests (0-1) that get --spike-delay extra.
    #[arg(help_heading = KNOBS, long, value_name = "FRACTION", default_value_t = 0.0)]
    pub spike_fraction: f64,
    /// Extra latency of the spiked requests, e.g. 100ms.
    #[arg(help_heading = KNOBS, long, value_name = "DURATION", default_value = "0ms")]
    pub spike_delay: String,
    /// Fraction of requests (0-1) answered with 500.
    #[arg(help_heading = KNOBS, long, value_name = "FRACTION", default_value_t = 0.0)]
    pub error_rate: f64,
    /// Bytes leaked per request (memory growth).
    #[arg(help_heading = KNOBS, long, value_name = "BYTES", default_value_t = 0)]
    pub leak_bytes: u64,
    /// Serve at most this many requests per second; beyond it requests queue (latency climbs) and,
    /// past one second of queue, get 503.
    #[arg(help_heading = KNOBS, long, value_name = "RPS")]
    pub capacity: Option<u32>,
}

/// Report output.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the report to this file (atomically) instead of stdout; the table still goes to stdout.
    /// Several reports at once: `--report FORMAT=FILE`.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Report files beside the one of `--format`/`--output` (for `run`, `merge`, `compare`, `report`,
/// `gate`).
#[derive(Debug, Args, Default)]
pub struct ReportsArgs {
    /// Also write a report in FORMAT to FILE, atomically; repeat for several, e.g.
    /// `--report markdown=perf.md --report html=perf.html --report junit=junit.xml`.
    /// FORMAT: table, json, markdown, html, junit.
    #[arg(long = "report", value_name = "FORMAT=FILE")]
    pub files: Vec<ReportFile>,
    /// Where the HTML report will be published (an http(s) URL): the Markdown report (PR comment,
    /// job summary) links to it.
    #[arg(long, value_name = "URL", env = "LOADGATE_REPORT_URL")]
    pub report_url: Option<String>,
}

/// `loadgate run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario file (TOML), or a URL to try at once: `loadgate run http://localhost:8080/health
    /// --rate 50 --duration 10s` (one GET at 10 req/s for 10 s unless the flags say otherwise).
    #[arg(value_name = "SCENARIO|URL")]
    pub scenario: PathBuf,
    /// Target selection.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Write the full result (lossless histograms, windows, provenance) as JSON.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// After a complete run, append the result to this history folder
    /// (`DIR/<scenario>/<time>-<commit>.json`; never overwrites).
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
    /// Run as worker INDEX of COUNT (1-based): this worker sends rate/COUNT and users/COUNT, and starts
    /// on a wall-clock window boundary; combine the workers' `--out` files with `loadgate merge`. From
    /// a Kubernetes Indexed Job: `--shard $((JOB_COMPLETION_INDEX+1))/COUNT`.
    #[arg(long, value_name = "INDEX/COUNT")]
    pub shard: Option<String>,
    /// Report output.
    #[command(flatten)]
    pub output: OutputArgs,
    /// More report files.
    #[command(flatten)]
    pub reports: ReportsArgs,
}

/// `loadgate merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Result files of the shards of one run (`run --shard i/N --out FILE`), in any order.
    #[arg(value_name = "RESULT", required = true)]
    pub results: Vec<PathBuf>,
    /// Write the merged result here (atomically): a RunResult usable by `compare` and as a baseline.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Merge even when some shards are missing (the merged result lists them).
    #[arg(long)]
    pub allow_partial: bool,
    /// Report output.
    #[command(flatten)]
    pub output: OutputArgs,
    /// More report files.
    #[command(flatten)]
    pub reports: ReportsArgs,
}

/// `loadgate import`.
#[derive(Debug, Args)]
#[command(after_help = "Formats:\n  \
    criterion  target/criterion (or a benchmark's `new` folder): one row per benchmark, time per iteration; each criterion sample is a window\n  \
    hyperfine  `hyperfine --export-json FILE`: one row per command, every run kept\n  \
    k6         `k6 run --out json=FILE`: http_req_duration points in per-second windows, rows from the `name` tag, errors from http_req_failed\n  \
    jmeter     a JTL in CSV with its header (timeStamp in ms, elapsed, label, success)\n  \
    artillery  `artillery run --output FILE` (Artillery 2): per-period summaries only, so its latency rows are judged on thresholds alone, without a noise guard\n\n\
See docs/import.md.")]
pub struct ImportArgs {
    /// Format of the files: criterion, hyperfine, k6, jmeter or artillery.
    #[arg(id = "import_format", value_name = "FORMAT", value_parser = parse_format)]
    pub format: crate::result::imported::Format,
    /// The tool's output files (for criterion, `target/criterion` or a benchmark's folder).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Write the result here (atomically); never one of the inputs.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Name of the result (a baseline of it is `baselines/<name>.json`); defaults to the format.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Report output.
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_format(s: &str) -> Result<crate::result::imported::Format, String> {
    s.parse()
}

/// `loadgate record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Scenario file (TOML), or a `[suite]` file whose command runs a benchmark suite (docs/import.md).
    pub scenario: PathBuf,
    /// Target selection.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Folder of baselines.
    #[arg(long, value_name = "DIR", default_value = crate::baseline::DEFAULT_DIR)]
    pub baselines: PathBuf,
    /// Record this many runs and keep them all in the baseline: one lucky run cannot fail every
    /// later gate, and their spread teaches the gate this service's run-to-run noise (one run
    /// teaches nothing and leaves the gate to a prior).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub runs: u32,
    /// Refused: a shard's result alone is not a baseline (accepted only to say so).
    #[arg(long, value_name = "INDEX/COUNT", hide = true)]
    pub shard: Option<String>,
}

/// `loadgate calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Target selection.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Instead of running pairs, pair up these stored results of one unchanged build (from
    /// `run --out`, e.g. nightly re-recordings), in order: 1st with 2nd, 3rd with 4th, ...
    #[arg(long = "from", value_name = "RESULT", num_args = 2.., conflicts_with_all = ["target", "demo"])]
    pub from: Vec<PathBuf>,
    /// A/A pairs to run (each pair is two runs of the same build); 30 or more for a trustworthy τ.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u32).range(3..=500))]
    pub pairs: u32,
    /// Folder of baselines (the calibration is written beside the baseline).
    #[arg(long, value_name = "DIR", default_value = crate::baseline::DEFAULT_DIR)]
    pub baselines: PathBuf,
}

/// `loadgate compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Baseline file (a RunResult JSON).
    pub baseline: PathBuf,
    /// Result file to judge (from `run --out` or `gate --out`).
    pub result: PathBuf,
    /// Take thresholds, gated metrics and SLOs from this scenario (default: loadgate's defaults).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Run-to-run noise measured by `loadgate calibrate` (default: uncalibrated defaults).
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    /// Exit 1 on a warning too.
    #[arg(long, value_enum, default_value = "critical")]
    pub fail_on: FailOn,
    /// Report output.
    #[command(flatten)]
    pub output: OutputArgs,
    /// More report files.
    #[command(flatten)]
    pub reports: ReportsArgs,
}

/// `loadgate report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Result file to render (from `run --out`, `gate --out`, or a baseline).
    pub result: PathBuf,
    /// Compare with this baseline exactly as `loadgate compare` does (no actions; exit 0 whatever
    /// the verdict: use `compare` to gate).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// With --baseline: thresholds, gated metrics and SLOs from this scenario.
    #[arg(long, value_name = "FILE", requires = "baseline")]
    pub scenario: Option<PathBuf>,
    /// With --baseline: run-to-run noise measured by `loadgate calibrate`.
    #[arg(long, value_name = "FILE", requires = "baseline")]
    pub calibration: Option<PathBuf>,
    /// Report output.
    #[command(flatten)]
    pub output: OutputArgs,
    /// More report files.
    #[command(flatten)]
    pub reports: ReportsArgs,
}

/// `loadgate gate`.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// Scenario file (TOML), or a `[suite]` file whose command runs a benchmark suite (docs/import.md).
    pub scenario: PathBuf,
    /// Target selection.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Baseline file (default: `BASELINES/<scenario name>.json`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Folder of baselines.
    #[arg(long, value_name = "DIR", default_value = crate::baseline::DEFAULT_DIR)]
    pub baselines: PathBuf,
    /// Judge this stored result instead of loading the target: a `run --out` file, or the
    /// `merge --out` of a sharded run. The same verdict, reports and actions as a live gate, minus
    /// the load (so no confirmation re-run for a suspect regression).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["paired", "target", "demo", "monitor_pid", "danger_accept_invalid_certs"]
    )]
    pub result: Option<PathBuf>,
    /// Also write the full run result as JSON.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// After a complete run, append the result (the one `--out` writes) to this history folder
    /// (`DIR/<scenario>/<time>-<commit>.json`; never overwrites), whatever the verdict.
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
    /// Confirmation run: a suspect (not gross) critical regression is re-measured once and must fail
    /// again on the pooled runs before the gate fails (the two-stage rule of the noise guard). 0 disables.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=1))]
    pub confirm: u32,
    /// Run-to-run noise from `loadgate calibrate` (default: `BASELINES/<scenario name>.calibration.json` if present).
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    /// Paired mode: load the baseline build at this URL and the candidate in alternating segments
    /// (A B B A ...) on this machine, and judge from the pairs; no stored baseline is used.
    #[arg(long, value_name = "BASE_URL", conflicts_with_all = ["baseline", "calibration"])]
    pub paired: Option<String>,
    /// Paired mode: segments per build (the scenario's duration is split between them).
    #[arg(long, value_name = "N", default_value_t = 4, requires = "paired", value_parser = clap::value_parser!(u32).range(2..=20))]
    pub segments: u32,
    /// Lowest verdict that fails the build.
    #[arg(long, value_enum, default_value = "critical")]
    pub fail_on: FailOn,
    /// Report output.
    #[command(flatten)]
    pub output: OutputArgs,
    /// More report files.
    #[command(flatten)]
    pub reports: ReportsArgs,
    /// What to do with the verdict: rollback hook, PR comment, CI outputs, notifications (boxed: the
    /// flags are many, and `Command` should stay small).
    #[command(flatten)]
    pub actions: Box<ActionArgs>,
}

/// Which verdict exits non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Exit 1 on critical only.
    Critical,
    /// Exit 1 on warn or critical.
    Warn,
}

/// `loadgate baselines`.
#[derive(Debug, Subcommand)]
pub enum BaselinesCommand {
    /// List baselines with their provenance.
    List {
        /// Folder of baselines.
        #[arg(long, value_name = "DIR", default_value = crate::baseline::DEFAULT_DIR)]
        dir: PathBuf,
    },
    /// Show one baseline: provenance and statistics.
    Show {
        /// Scenario name (or a path to a baseline file).
        name: String,
        /// Folder of baselines.
        #[arg(long, value_name = "DIR", default_value = crate::baseline::DEFAULT_DIR)]
        dir: PathBuf,
    },
}

/// `loadgate history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Scenarios to show (default: every scenario with a folder in the history).
    #[arg(value_name = "SCENARIO_NAME")]
    pub scenarios: Vec<String>,
    /// The history folder.
    #[arg(long, value_name = "DIR", default_value = crate::history::DEFAULT_DIR)]
    pub dir: PathBuf,
    /// A metric to trend (repeat for several) [default: p50, p95, p99, mean, throughput,
    /// error_rate, peak_rss, rss_growth].
    #[arg(long = "metric", value_name = "METRIC")]
    pub metrics: Vec<crate::result::metric::Metric>,
    /// Only the most recent N runs (trends and change points over them).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub last: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: HistoryFormat,
    /// Prune first: delete all but the N most recent runs of each scenario shown (unreadable
    /// files are never deleted).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: Option<u32>,
    /// Prune first: delete the runs of each scenario shown that started longer ago than this
    /// (e.g. 90d, 2w, 12h).
    #[arg(long, value_name = "AGE")]
    pub max_age: Option<String>,
}

/// `loadgate demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Port on 127.0.0.1 (0 picks a free one and prints it).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Loopback address to bind (the demo is never exposed to the network).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Demo knobs.
    #[command(flatten)]
    pub knobs: KnobArgs,
}

/// What `gate` does with its verdict (docs/guide.md, "Acting on the verdict"). An action that fails is
/// reported and never changes the exit code; what it needs is checked before any load.
#[derive(Debug, Args)]
#[command(next_help_heading = "Acting on the verdict")]
pub struct ActionArgs {
    /// Run this program when the verdict calls for a rollback (a path, or a name on PATH; no shell).
    /// It gets LOADGATE_VERDICT, LOADGATE_SCENARIO, LOADGATE_REPORT_JSON, LOADGATE_RESULT_JSON,
    /// LOADGATE_WORST and LOADGATE_EXIT_CODE.
    #[arg(long, value_name = "PROGRAM")]
    pub rollback_hook: Option<String>,
    /// An argument for the rollback hook, passed as is (repeat for several).
    #[arg(
        long = "rollback-hook-arg",
        value_name = "ARG",
        requires = "rollback_hook",
        allow_hyphen_values = true
    )]
    pub rollback_hook_args: Vec<String>,
    /// Lowest verdict that runs the rollback hook (an incomplete verdict only with `incomplete`).
    #[arg(long, value_enum, value_name = "VERDICT", default_value = "critical")]
    pub rollback_on: crate::action::RollbackOn,
    /// Kill the rollback hook, with its process group, after this long.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub hook_timeout: String,
    /// Hand this secret variable to the rollback hook after all (repeat for several). By default
    /// the hook's environment goes without GITHUB_TOKEN, the webhook variables and every variable
    /// the scenario reads through ${env:NAME}.
    #[arg(long, value_name = "NAME", requires = "rollback_hook")]
    pub hook_env: Vec<String>,
    /// Create or update this scenario's sticky comment on the pull request (token from GITHUB_TOKEN;
    /// API from GITHUB_API_URL).
    #[arg(long)]
    pub github_comment: bool,
    /// Repository of the pull request (default: GITHUB_REPOSITORY).
    #[arg(long, value_name = "OWNER/NAME", requires = "github_comment")]
    pub github_repo: Option<String>,
    /// Pull request number (default: `pull_request.number` of the event at GITHUB_EVENT_PATH).
    #[arg(long, value_name = "N", requires = "github_comment")]
    pub github_pr: Option<u64>,
    /// Comment on a pull request from a fork too (refused by default).
    #[arg(long, requires = "github_comment")]
    pub github_allow_fork: bool,
    /// Give up on the PR comment after this long.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub github_timeout: String,
    /// Append the Markdown report to $GITHUB_STEP_SUMMARY and the verdict and counts to $GITHUB_OUTPUT
    /// [default: on when GITHUB_ACTIONS=true].
    #[arg(long, conflicts_with = "no_ci_outputs")]
    pub ci_outputs: bool,
    /// Do not write $GITHUB_STEP_SUMMARY and $GITHUB_OUTPUT, even in GitHub Actions.
    #[arg(long)]
    pub no_ci_outputs: bool,
    /// Write a JUnit XML report (one test case per gated metric) to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the actions' outcomes as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub actions_json: Option<PathBuf>,
    /// Post the verdict to this Slack incoming webhook.
    #[arg(
        long,
        value_name = "URL",
        env = "LOADGATE_SLACK_WEBHOOK",
        hide_env_values = true
    )]
    pub notify_slack: Option<String>,
    /// Post the verdict to this Discord webhook.
    #[arg(
        long,
        value_name = "URL",
        env = "LOADGATE_DISCORD_WEBHOOK",
        hide_env_values = true
    )]
    pub notify_discord: Option<String>,
    /// POST the verdict as JSON to this URL.
    #[arg(
        long,
        value_name = "URL",
        env = "LOADGATE_WEBHOOK_URL",
        hide_env_values = true
    )]
    pub notify_webhook: Option<String>,
    /// Lowest verdict that sends notifications.
    #[arg(long, value_enum, value_name = "VERDICT", default_value = "critical")]
    pub notify_on: crate::action::NotifyOn,
}

/// Formats of `loadgate history` (the report formats but JUnit: a history has no test cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    /// Human table.
    Table,
    /// Versioned JSON (schemas/history.schema.json).
    Json,
    /// Markdown, for CI job summaries.
    Markdown,
    /// One self-contained page: a chart per metric, change points marked.
    Html,
}

impl HistoryFormat {
    /// The report format it names.
    pub fn format(self) -> crate::report::Format {
        use crate::report::Format;
        match self {
            HistoryFormat::Table => Format::Table,
            HistoryFormat::Json => Format::Json,
            HistoryFormat::Markdown => Format::Markdown,
            HistoryFormat::Html => Format::Html,
        }
    }
}
