//! Fuzz target: Prometheus exposition text (a remote `/metrics` body) → parsed samples.
//! The body comes from a service under load, so any text must parse or be ignored, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let scrape = loadgate::sample::prometheus::parse(text);
    // Touch every parsed value the way the sampler does, so lazy work is exercised too.
    for sample in &scrape.samples {
        let _ = sample.labels.get("instance");
        let _ = std::hint::black_box(&sample.value);
    }
});
