//! Tests of `merge`: exactness (a run split into shards merges back to the same totals), order
//! independence, window alignment, and every refusal.

use std::path::PathBuf;

use proptest::prelude::*;

use super::*;
use crate::result::testing;

/// One request: (request name index, window, latency µs, failed).
type Event = (usize, usize, u64, bool);

const NAMES: [&str; 2] = ["a", "b"];
const WINDOW_MS: u64 = 250;

fn stats(events: &[&Event], windows: usize) -> RequestStats {
    let mut s = RequestStats {
        windows: vec![Window::default(); windows],
        ..RequestStats::default()
    };
    for &&(_, w, us, failed) in events {
        s.requests += 1;
        s.windows[w].requests += 1;
        if failed {
            s.errors.status += 1;
            s.windows[w].errors += 1;
            *s.status_codes.entry("500".into()).or_default() += 1;
        } else {
            *s.status_codes.entry("200".into()).or_default() += 1;
        }
        s.histogram.record(us);
        s.windows[w].histogram.record(us);
    }
    s.latency = LatencySummary::of(&s.histogram);
    s
}

/// A result of `events`, with `windows` windows, measuring from `start_ms`.
fn result(events: &[Event], windows: usize, start_ms: i64, shard: Option<Shard>) -> RunResult {
    let mut r = testing::result();
    let all: Vec<&Event> = events.iter().collect();
    r.all = stats(&all, windows);
    for (i, name) in NAMES.iter().enumerate() {
        let mine: Vec<&Event> = events.iter().filter(|e| e.0 == i).collect();
        r.requests.insert((*name).into(), stats(&mine, windows));
    }
    r.meta.load.window_ms = WINDOW_MS;
    r.meta.load.rate_rps = Some(100);
    r.meta.measured_duration_ms = windows as u64 * WINDOW_MS;
    r.meta.measure_start_unix_ms = Some(start_ms);
    r.meta.shard = shard;
    r
}

/// Splits `events` over `count` shards (by position), shard s starting `offsets[s]` windows late
/// (with a few ms of jitter) and running `windows - offsets[s]` windows.
fn shards(events: &[Event], windows: usize, offsets: &[usize]) -> Vec<(PathBuf, RunResult)> {
    let count = offsets.len() as u32;
    (0..offsets.len())
        .map(|s| {
            let mine: Vec<Event> = events
                .iter()
                .enumerate()
                .filter(|(i, e)| i % offsets.len() == s && e.1 >= offsets[s])
                .map(|(_, &(n, w, us, f))| (n, w - offsets[s], us, f))
                .collect();
            let start = 1_700_000_000_000 + (offsets[s] as i64) * WINDOW_MS as i64 + s as i64;
            let shard = Shard {
                index: s as u32 + 1,
                count,
            };
            let path = PathBuf::from(format!("shard-{}.json", s + 1));
            (
                path,
                result(&mine, windows - offsets[s], start, Some(shard)),
            )
        })
        .collect()
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(
        (0usize..2, 0usize..12, 1u64..2_000_000, any::<bool>()),
        1..300,
    )
}

proptest! {
    // Each case builds a few hundred histograms; 32 cases cover the shapes in a few seconds.
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn merging_the_shards_of_a_run_gives_back_the_run(
        events in events(),
        offsets in prop::collection::vec(0usize..4, 1..5),
        rotate in 0usize..5,
    ) {
        let mut offsets = offsets;
        offsets[0] = 0; // the earliest shard starts the run
        let kept: Vec<Event> = events
            .iter()
            .enumerate()
            .filter(|(i, e)| e.1 >= offsets[i % offsets.len()])
            .map(|(_, e)| *e)
            .collect();
        let whole = result(&kept, 12, 0, None);
        let mut parts = shards(&events, 12, &offsets);
        let n = parts.len();
        parts.rotate_left(rotate % n);
        let merged = merge(&parts, false).expect("the shards fit together");
        prop_assert_eq!(&merged.all, &whole.all);
        prop_assert_eq!(&merged.requests, &whole.requests);
        prop_assert_eq!(merged.all.latency.p99_us, whole.all.latency.p99_us);
        prop_assert_eq!(merged.meta.load.rate_rps, Some(100 * n as u32));
        prop_assert_eq!(merged.meta.measured_duration_ms, 12 * WINDOW_MS + (n as u64 - 1));
        prop_assert_eq!(merged.meta.shard, None);
        let info = merged.meta.merged.as_ref().expect("merge info");
        prop_assert_eq!(info.shards.len(), n);
        prop_assert!(info.missing.is_empty());
        // Order independence.
        parts.reverse();
        prop_assert_eq!(merge(&parts, false).expect("the shards fit together"), merged);
    }
}

fn two() -> Vec<(PathBuf, RunResult)> {
    let e: Vec<Event> = (0..40)
        .map(|i| (i % 2, i % 8, 1_000 + i as u64, false))
        .collect();
    shards(&e, 8, &[0, 0])
}

fn err(parts: &[(PathBuf, RunResult)]) -> String {
    merge(parts, false).expect_err("refused").to_string()
}

#[test]
fn refuses_shards_of_other_scenarios_windows_and_counts() {
    let mut p = two();
    p[1].1.meta.scenario_hash = "other".into();
    assert!(
        err(&p).contains("shard-2.json is a run of scenario `test`"),
        "{}",
        err(&p)
    );
    let mut p = two();
    p[1].1.meta.load.window_ms = 1_000;
    assert!(err(&p).contains("1000 ms windows"), "{}", err(&p));
    let mut p = two();
    p[1].1.meta.shard = Some(Shard { index: 2, count: 3 });
    assert!(
        err(&p).contains("shard-2.json is shard 2/3 but shard-1.json is shard 1/2"),
        "{}",
        err(&p)
    );
}

#[test]
fn refuses_duplicates_whole_runs_and_stale_shards() {
    let mut p = two();
    p[1].1.meta.shard = Some(Shard { index: 1, count: 2 });
    assert!(
        err(&p).contains("shard-1.json and shard-2.json are both shard 1/2"),
        "{}",
        err(&p)
    );
    let mut p = two();
    p[0].1.meta.shard = None;
    assert!(
        err(&p).contains("shard-1.json is not a shard"),
        "{}",
        err(&p)
    );
    let mut p = two();
    p[1].1.meta.measure_start_unix_ms = Some(1_700_000_000_000 + 86_400_000);
    assert!(
        err(&p).contains("shard-2.json started measuring 86400000 ms after shard-1.json had"),
        "{}",
        err(&p)
    );
    assert!(err(&[]).contains("nothing to merge"));
}

#[test]
fn a_missing_shard_is_named_and_allowed_only_on_request() {
    let mut p = two();
    for (_, r) in &mut p {
        r.meta.shard = r.meta.shard.map(|s| Shard { count: 4, ..s });
    }
    assert!(
        err(&p).contains("shard(s) 3, 4 of 4 missing"),
        "{}",
        err(&p)
    );
    let merged = merge(&p, true).expect("partial merge allowed");
    let info = merged.meta.merged.expect("merge info");
    assert_eq!(info.missing, vec![3, 4]);
    assert_eq!(merged.all.requests, 40);
}

#[test]
fn samples_are_kept_with_their_source_on_the_merged_clock() {
    let mut p = two();
    p[1].1.meta.measure_start_unix_ms = p[0].1.meta.measure_start_unix_ms.map(|t| t + 500);
    p[1].1.samples.push(Samples {
        source: "pid 7".into(),
        interval_ms: 100,
        points: vec![crate::result::SamplePoint {
            t_ms: 0,
            rss_bytes: Some(1),
            cpu_percent: None,
        }],
        error: None,
    });
    let merged = merge(&p, false).expect("fits");
    assert_eq!(merged.samples[0].source, "shard 2/2: pid 7");
    assert_eq!(merged.samples[0].points[0].t_ms, 500);
    let info = merged.meta.merged.expect("merge info");
    assert_eq!(
        info.shards[1].window_offset, 2,
        "500 ms late = 2 windows of 250 ms"
    );
    assert_eq!(merged.all.windows.len(), 10);
}
