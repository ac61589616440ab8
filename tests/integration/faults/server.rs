//! [`FaultServer`]: a loopback HTTP/1.1 server that misbehaves on cue — dies, hangs, fails or
//! trickles its body — for the fault tests. Plain std threads and sockets, so that each fault is
//! exactly what the bytes on the wire say.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a server thread looks at its flags while it waits.
const POLL: Duration = Duration::from_millis(5);
/// Body of every answer: a small JSON object, like the demo's `/fast`.
const BODY: &[u8] = br#"{"id":1,"name":"fault-server","items":[1,2,3,4,5,6,7,8]}"#;

/// What [`FaultServer`] does to the measured paths (every path but `/health`, which answers 200
/// while the server listens). Requests are numbered from 0 in arrival order, from the moment the
/// fault is set.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// None: a healthy service, to record a baseline against.
    None,
    /// From request `after` on: closes every connection and stops listening, like a crashed process.
    Dies { after: u64 },
    /// From request `after` on: reads each request and never answers; the connection stays open.
    Hangs { after: u64 },
    /// Requests `from..to` are answered 500.
    Fails { from: u64, to: u64 },
    /// Every answer: the headers at once, then the body in `chunks` pieces, each after `gap`.
    Trickles { chunks: usize, gap: Duration },
    /// Every answer: `302 Found` to the same path on `localhost:port`, another host name for a
    /// server on this machine.
    Redirects { port: u16 },
    /// Every answer: a chunked body (no declared length) whose first chunk of `sent` bytes comes at
    /// once, and whose rest never comes; the connection stays open until the client closes it.
    Endless { sent: usize },
}

#[derive(Debug)]
struct State {
    fault: Mutex<Fault>,
    next: AtomicU64,
    /// 500s sent.
    failed: AtomicU64,
    dead: AtomicBool,
    stop: AtomicBool,
}

impl State {
    fn fault(&self) -> Fault {
        *self.fault.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.dead.load(Ordering::SeqCst)
    }
}

/// A plain HTTP/1.1 server on `127.0.0.1:0` (std threads, one per connection, keep-alive) that
/// serves `/fast` in 2 ms and `/products` in 5 ms like the demo service until its [`Fault`] strikes.
/// Stops on drop.
pub struct FaultServer {
    url: String,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl FaultServer {
    pub fn start(fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("the listening address")
        );
        let state = Arc::new(State {
            fault: Mutex::new(fault),
            next: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dead: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let connections = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (state, connections) = (state.clone(), connections.clone());
            std::thread::spawn(move || accept_loop(&listener, &state, &connections))
        };
        Self {
            url,
            state,
            accept: Some(accept),
            connections,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sets the fault from now on, numbering requests from 0 again.
    pub fn set(&self, fault: Fault) {
        *self
            .state
            .fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = fault;
        self.state.next.store(0, Ordering::SeqCst);
    }

    /// Measured requests received since the fault was set.
    pub fn received(&self) -> u64 {
        self.state.next.load(Ordering::SeqCst)
    }

    /// 500s sent so far.
    pub fn failed(&self) -> u64 {
        self.state.failed.load(Ordering::SeqCst)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
        let threads = std::mem::take(
            &mut *self
                .connections
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for t in threads {
            let _ = t.join();
        }
    }
}

/// Accepts until the server stops or dies; returning drops the listener, so that from then on
/// connections are refused.
fn accept_loop(listener: &TcpListener, state: &Arc<State>, threads: &Mutex<Vec<JoinHandle<()>>>) {
    while !state.stopping() {
        match listener.accept() {
            Ok((stream, _)) => {
                let state = state.clone();
                let handle = std::thread::spawn(move || serve(stream, &state));
                threads
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(handle);
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Serves one keep-alive connection until the client closes it or the server stops, dies or hangs.
fn serve(mut stream: TcpStream, state: &State) {
    // Blocking reads with a short timeout, so that the flags are seen while the client is idle.
    if stream.set_nonblocking(false).is_err()
        || stream.set_read_timeout(Some(POLL * 10)).is_err()
        || stream.set_nodelay(true).is_err()
    {
        return;
    }
    let mut pending = Vec::new();
    let mut chunk = [0_u8; 4096];
    while !state.stopping() {
        let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
            match stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => pending.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
            continue;
        };
        // The template sends GETs only: a request is its head.
        let head = String::from_utf8_lossy(&pending[..end]).into_owned();
        pending.drain(..end + 4);
        let path = head.split_whitespace().nth(1).unwrap_or("/");
        if respond(&mut stream, state, path).is_err() {
            return;
        }
    }
}

/// Answers one request, or returns an error to close the connection.
fn respond(stream: &mut TcpStream, state: &State, path: &str) -> std::io::Result<()> {
    if path == "/health" {
        return answer(stream, "200 OK", b"ok");
    }
    let n = state.next.fetch_add(1, Ordering::SeqCst);
    let closed = || std::io::Error::other("the fault closes the connection");
    match state.fault() {
        Fault::Dies { after } if n >= after => {
            state.dead.store(true, Ordering::SeqCst);
            Err(closed())
        }
        Fault::Hangs { after } if n >= after => {
            while !state.stopping() {
                std::thread::sleep(POLL);
            }
            Err(closed())
        }
        Fault::Fails { from, to } if (from..to).contains(&n) => {
            service_time(path);
            state.failed.fetch_add(1, Ordering::SeqCst);
            answer(
                stream,
                "500 Internal Server Error",
                br#"{"error":"injected"}"#,
            )
        }
        Fault::Trickles { chunks, gap } => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                BODY.len()
            )?;
            stream.flush()?;
            for piece in BODY.chunks(BODY.len().div_ceil(chunks.max(1))) {
                std::thread::sleep(gap);
                stream.write_all(piece)?;
                stream.flush()?;
            }
            Ok(())
        }
        Fault::Endless { sent } => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{sent:x}\r\n"
            )?;
            stream.write_all(&vec![b' '; sent])?;
            stream.write_all(b"\r\n")?;
            stream.flush()?;
            let mut sink = [0_u8; 4096];
            while !state.stopping() {
                match stream.read(&mut sink) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => break,
                }
            }
            Err(closed())
        }
        Fault::Redirects { port } => write!(
            stream,
            "HTTP/1.1 302 Found\r\nlocation: http://localhost:{port}{path}\r\ncontent-length: 0\r\n\r\n"
        )
        .and_then(|()| stream.flush()),
        _ => {
            service_time(path);
            answer(stream, "200 OK", BODY)
        }
    }
}

/// The demo's base service times, so that a run matches the shared baseline until the fault.
fn service_time(path: &str) {
    let ms = if path.starts_with("/products") { 5 } else { 2 };
    std::thread::sleep(Duration::from_millis(ms));
}

fn answer(stream: &mut TcpStream, status: &str, body: &[u8]) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}
