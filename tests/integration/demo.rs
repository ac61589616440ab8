//! `loadgate demo`: the standalone demo service prints its URL first, answers on loopback, stops on
//! Ctrl-C, and refuses to listen on anything but loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use crate::support::{interrupt, wait_at_most, Reaped, Test};

/// `GET path` over a fresh HTTP/1.1 connection; returns the whole response text.
fn get(addr: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    // Bounded, so a demo that never answers fails the test instead of hanging it.
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    Ok(text)
}

#[test]
fn demo_prints_its_url_first_and_serves_health() {
    let t = Test::new();
    let mut child = Reaped(
        t.command()
            .args(["demo", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn loadgate demo"),
    );
    let mut first = String::new();
    let read = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first);
    let url = first.trim_end().to_string();
    let addr = url
        .strip_prefix("http://127.0.0.1:")
        .map(|port| format!("127.0.0.1:{port}"))
        .unwrap_or_else(|| panic!("first stdout line is not a loopback URL: {first:?} ({read:?})"));
    let health = get(&addr, "/health").expect("GET /health");
    let fast = get(&addr, "/fast").expect("GET /fast");
    // Ctrl-C stops it cleanly.
    interrupt(child.id());
    let status = wait_at_most(&mut child, Duration::from_secs(10));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");

    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with("ok"), "{health}");
    assert!(fast.starts_with("HTTP/1.1 200"), "{fast}");
    assert!(fast.contains(r#""status":"ok""#), "{fast}");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&format!("serving {url}")), "{stderr}");
    assert!(
        stderr.contains("/products"),
        "endpoints are listed\n{stderr}"
    );
    assert!(stderr.contains("loadgate demo: stopped"), "{stderr}");
}

#[test]
fn demo_refuses_to_bind_beyond_loopback() {
    Test::new()
        .run(&["demo", "--bind", "0.0.0.0", "--port", "0"])
        .code(2)
        .stderr_has(&[
            "refusing to bind the demo service to 0.0.0.0:0",
            "use 127.0.0.1 or ::1",
        ]);
}

#[test]
fn demo_rejects_an_out_of_range_knob() {
    Test::new()
        .run(&["demo", "--port", "0", "--error-rate", "1.5"])
        .code(2)
        .stderr_has(&["--error-rate", "got 1.5", "between 0 and 1"]);
}
