//! The `loadgate watch` benchmark (benches/watch-bench.sh; results in docs/watch.md):
//!
//! 1. false rollbacks of an unchanged service over many windows, with its exact 95% upper bound:
//!    windows simulated poll by poll through the product's own decision code (`watch::State`),
//!    the service's true error rate exactly at the objective (the worst case) and at half of it;
//! 2. the smallest error-rate rise caught within the window at a given traffic: the true rate at
//!    which 90% of the windows end critical;
//! 3. the time from the start of a certain breach (30% errors) to the rollback hook starting:
//!    the real binary watching a `/metrics` page served here, repeated.
//!
//!   cargo run --release --example watch_bench -- [LOADGATE_BINARY] [--quick]

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "a benchmark: a failed setup must stop it loudly"
)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use loadgate::verdict::Outcome;
use loadgate::watch::series::Sample;
use loadgate::watch::state::{Snapshot, State, Step};
use loadgate::watch::stats::binomial_upper_tail;

/// xorshift64*: reproducible, no dependency.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn binomial(&mut self, n: u64, p: f64) -> u64 {
        (0..n).filter(|_| self.next_f64() < p).count() as u64
    }
}

fn spec(window_s: u64, poll_s: u64) -> loadgate::watch::WatchSpec {
    let text = format!(
        "name = \"bench\"\n[source]\nmetrics = \"http://127.0.0.1:1/metrics\"\ntimeout = \"1s\"\n[window]\nduration = \"{window_s}s\"\npoll = \"{poll_s}s\"\n[errors]\nrequests = \"r\"\nerrors = \"e\"\nmax_rate = \"1%\"\n"
    );
    loadgate::watch::file::parse(Path::new("bench.toml"), &text, &|_| None).expect("bench spec")
}

/// One simulated window: `per_poll` requests a poll at true error rate `p`; the verdict.
fn window(rng: &mut Rng, per_poll: u64, p: f64, polls: u64) -> Outcome {
    let mut state = State::new(spec(polls * 15, 15), None);
    let (mut n, mut k) = (0u64, 0u64);
    for i in 0..=polls {
        if i > 0 {
            n += per_poll;
            k += rng.binomial(per_poll, p);
        }
        let mut snap = Snapshot::new();
        snap.insert("errors.requests".into(), vec![Sample::new(&[], n as f64)]);
        snap.insert("errors.errors".into(), vec![Sample::new(&[], k as f64)]);
        if let Step::Stop(o) = state.observe(i as f64 * 15.0, Ok(snap)) {
            return o;
        }
    }
    state.finish(polls as f64 * 15.0)
}

/// Exact (Clopper–Pearson) one-sided 95% upper bound on a rate seen `k` times in `n`.
fn upper_95(k: u64, n: u64) -> f64 {
    let (mut lo, mut hi) = (k as f64 / n as f64, 1.0);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        // P(X ≤ k | n, mid) = 1 − P(X ≥ k+1)
        if 1.0 - binomial_upper_tail(n, k + 1, mid) > 0.05 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

fn false_rollbacks(windows: u64) {
    println!(
        "## False rollbacks of an unchanged service (objective 1%, 5 min window, poll 15 s)\n"
    );
    println!("| traffic | true error rate | windows | critical | rate | 95% upper bound |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for rps in [2u64, 20, 200] {
        for p in [0.01, 0.005] {
            let critical = (0..windows)
                .filter(|_| window(&mut rng, rps * 15, p, 20) == Outcome::Critical)
                .count() as u64;
            println!(
                "| {rps} req/s | {:.1}% | {windows} | {critical} | {:.2}% | {:.2}% |",
                p * 100.0,
                critical as f64 / windows as f64 * 100.0,
                upper_95(critical, windows) * 100.0
            );
        }
    }
    println!();
}

fn smallest_rise(windows: u64) {
    println!("## Smallest error rate caught in 90% of 5 min windows (objective 1%)\n");
    println!("| traffic | rate caught ≥ 90% | caught early (before the end) |");
    println!("| --- | --- | --- |");
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for rps in [2u64, 20, 200] {
        let mut found = None;
        for step in 0..60 {
            let p = 0.01 * (1.0 + 0.1 * f64::from(step));
            let mut caught = 0;
            let mut early = 0;
            for _ in 0..windows {
                let mut state = State::new(spec(300, 15), None);
                let (mut n, mut k) = (0u64, 0u64);
                let mut stopped = None;
                for i in 0..=20u64 {
                    if i > 0 {
                        n += rps * 15;
                        k += rng.binomial(rps * 15, p);
                    }
                    let mut snap = Snapshot::new();
                    snap.insert("errors.requests".into(), vec![Sample::new(&[], n as f64)]);
                    snap.insert("errors.errors".into(), vec![Sample::new(&[], k as f64)]);
                    if let Step::Stop(o) = state.observe(i as f64 * 15.0, Ok(snap)) {
                        stopped = Some((o, i));
                        break;
                    }
                }
                let o = match stopped {
                    Some((o, i)) => {
                        if o == Outcome::Critical && i < 20 {
                            early += 1;
                        }
                        o
                    }
                    None => state.finish(300.0),
                };
                if o == Outcome::Critical {
                    caught += 1;
                }
            }
            if caught * 10 >= windows * 9 {
                found = Some((p, early as f64 / windows as f64));
                break;
            }
        }
        match found {
            Some((p, early)) => println!(
                "| {rps} req/s | {:.1}% (+{:.0}% over the objective) | {:.0}% of windows |",
                p * 100.0,
                (p / 0.01 - 1.0) * 100.0,
                early * 100.0
            ),
            None => println!("| {rps} req/s | above 6.9% | - |"),
        }
    }
    println!();
}

/// A `/metrics` page of 200 req/s whose error fraction is switched by `errors`.
fn service(errors: Arc<Mutex<f64>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let counts = Arc::new(Mutex::new((0.0f64, 0.0f64)));
    let c = Arc::clone(&counts);
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(20));
        let f = *errors.lock().unwrap();
        let mut c = c.lock().unwrap();
        c.0 += 4.0;
        c.1 += 4.0 * f;
    });
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let (r, e) = *counts.lock().unwrap();
            let body = format!(
                "# TYPE reqs counter\nreqs {}\n# TYPE errs counter\nerrs {}\n",
                r.floor(),
                e.floor()
            );
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn time_to_hook(bin: &str, runs: u32, poll_s: f64) {
    println!("## Time from a certain breach (30% errors) to the rollback hook starting (poll {poll_s} s)\n");
    let dir = tempfile::tempdir().unwrap();
    let hook = dir.path().join("hook.sh");
    let out = dir.path().join("hook.out");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\ndate +%s%N > {}\n", out.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut delays = Vec::new();
    for _ in 0..runs {
        let errors = Arc::new(Mutex::new(0.0));
        let url = service(Arc::clone(&errors));
        let file = dir.path().join("w.toml");
        std::fs::write(
            &file,
            format!("name = \"bench\"\n[source]\nmetrics = \"{url}\"\ntimeout = \"{}ms\"\n[window]\nduration = \"60s\"\npoll = \"{}ms\"\n[errors]\nrequests = \"reqs\"\nerrors = \"errs\"\nmax_rate = \"1%\"\n", (poll_s * 800.0) as u64, (poll_s * 1000.0) as u64),
        )
        .unwrap();
        let _ = std::fs::remove_file(&out);
        let mut child = std::process::Command::new(bin)
            .arg("watch")
            .arg(&file)
            .arg("--rollback-hook")
            .arg(&hook)
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run loadgate");
        // Breach at a random phase of the poll cycle, a few polls in.
        let phase = f64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
                % 1000,
        ) / 1000.0;
        std::thread::sleep(Duration::from_secs_f64(poll_s * (3.0 + phase)));
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        *errors.lock().unwrap() = 0.3;
        let _ = child.wait();
        let ran: u128 = std::fs::read_to_string(&out)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .expect("the hook ran");
        delays.push((ran.saturating_sub(started)) as f64 / 1e9);
    }
    delays.sort_by(f64::total_cmp);
    let mean = delays.iter().sum::<f64>() / delays.len() as f64;
    println!(
        "{runs} runs: median {:.2} s, mean {mean:.2} s, worst {:.2} s = {:.2} poll intervals (target ≤ 2)\n",
        delays[delays.len() / 2],
        delays[delays.len() - 1],
        delays[delays.len() - 1] / poll_s
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let bin = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "target/release/loadgate".to_string());
    // The watch runs in a temporary folder: the binary's path must not be relative.
    let bin = std::fs::canonicalize(&bin)
        .unwrap_or_else(|e| panic!("no loadgate binary at {bin}: {e}; build it first"))
        .to_string_lossy()
        .into_owned();
    let windows = if quick { 200 } else { 2000 };
    false_rollbacks(windows);
    smallest_rise(if quick { 50 } else { 200 });
    time_to_hook(&bin, if quick { 3 } else { 10 }, 1.0);
}
