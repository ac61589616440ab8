//! Local process sampling with sysinfo: by pid, or a command loadgate starts, watches and stops.

use std::future::Future;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::sample::{Reading, SampleError, Sampler};

/// Samples one local process.
pub struct ProcessSampler {
    pid: u32,
    system: System,
    /// Set when loadgate started the process: its exit is reported with the stderr tail.
    service: Option<Arc<Mutex<Service>>>,
}

impl ProcessSampler {
    /// Samples `pid`.
    pub fn new(pid: u32) -> Self {
        Self {
            pid,
            system: System::new(),
            service: None,
        }
    }

    /// Samples a service loadgate started.
    pub fn of(service: &Arc<Mutex<Service>>) -> Self {
        let pid = service.lock().map(|s| s.child.id()).unwrap_or(0);
        Self {
            pid,
            system: System::new(),
            service: Some(service.clone()),
        }
    }
}

impl Sampler for ProcessSampler {
    fn source(&self) -> String {
        match &self.service {
            Some(s) => format!(
                "pid {} ({})",
                self.pid,
                s.lock().map(|s| s.program.clone()).unwrap_or_default()
            ),
            None => format!("pid {}", self.pid),
        }
    }

    fn read(&mut self) -> Pin<Box<dyn Future<Output = Result<Reading, SampleError>> + Send + '_>> {
        let pid = Pid::from_u32(self.pid);
        // A service we started that has exited is a zombie until reaped: ask it first, so its death
        // is reported with its status and stderr, not read as a process with no memory.
        if let Some(why) = self
            .service
            .as_ref()
            .and_then(|s| s.lock().ok().and_then(|mut s| s.exited()))
        {
            let source = self.source();
            return Box::pin(async move {
                Err(SampleError::Scrape {
                    url: source,
                    problem: why,
                })
            });
        }
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            true,
            ProcessRefreshKind::nothing().with_memory().with_cpu(),
        );
        let reading = match self.system.process(pid) {
            Some(p) => Ok(Reading {
                rss_bytes: Some(p.memory()),
                cpu_seconds: Some(p.accumulated_cpu_time() as f64 / 1000.0),
            }),
            None => Err(
                match self
                    .service
                    .as_ref()
                    .and_then(|s| s.lock().ok().and_then(|mut s| s.exited()))
                {
                    Some(why) => SampleError::Scrape {
                        url: self.source(),
                        problem: why,
                    },
                    None => SampleError::NoProcess { pid: self.pid },
                },
            ),
        };
        Box::pin(async move { reading })
    }
}

/// A service loadgate started from `[monitor] command`.
pub struct Service {
    child: Child,
    program: String,
    stderr_tail: Arc<Mutex<Vec<String>>>,
}

/// Lines of the service's stderr kept for the report.
const STDERR_TAIL_LINES: usize = 20;

impl Service {
    /// Starts `argv` (no shell), capturing its stderr tail.
    pub fn start(argv: &[String]) -> Result<Arc<Mutex<Service>>, SampleError> {
        let program = argv.first().cloned().unwrap_or_default();
        let fail = |problem: String| SampleError::Scrape {
            url: format!("command `{program}`"),
            problem,
        };
        let mut child = Command::new(&program)
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot start it: {e}; check `[monitor] command` (the first element is the program, then its arguments)")))?;
        let tail = Arc::new(Mutex::new(Vec::new()));
        if let Some(stderr) = child.stderr.take() {
            let tail = tail.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(stderr)
                    .lines()
                    .map_while(Result::ok)
                {
                    if let Ok(mut t) = tail.lock() {
                        t.push(line);
                        if t.len() > STDERR_TAIL_LINES {
                            t.remove(0);
                        }
                    }
                }
            });
        }
        Ok(Arc::new(Mutex::new(Service {
            child,
            program,
            stderr_tail: tail,
        })))
    }

    /// If the service has exited: its status and stderr tail, as a sentence.
    pub fn exited(&mut self) -> Option<String> {
        let status = self.child.try_wait().ok().flatten()?;
        let tail = self
            .stderr_tail
            .lock()
            .map(|t| t.join("\n    "))
            .unwrap_or_default();
        Some(format!(
            "the service `{}` exited ({status}); its last stderr lines:\n    {tail}",
            self.program
        ))
    }

    /// Stops the service: SIGTERM-like kill after a grace period. Returns its exit description.
    pub fn stop(&mut self, grace: Duration) -> String {
        if let Some(why) = self.exited() {
            return why;
        }
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            let deadline = std::time::Instant::now() + grace;
            while std::time::Instant::now() < deadline {
                if self.child.try_wait().ok().flatten().is_some() {
                    return format!("stopped `{}`", self.program);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        format!(
            "killed `{}` (it did not stop within {grace:?})",
            self.program
        )
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // Never leave a started service behind, whatever path ended the run.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_this_process() {
        let mut s = ProcessSampler::new(std::process::id());
        let r = s.read().await.unwrap();
        assert!(r.rss_bytes.unwrap() > 1_000_000);
        assert!(r.cpu_seconds.is_some());
    }

    #[tokio::test]
    async fn an_unknown_pid_is_a_clear_error() {
        let mut s = ProcessSampler::new(u32::MAX - 7);
        assert!(matches!(s.read().await, Err(SampleError::NoProcess { .. })));
    }

    #[test]
    fn a_command_that_cannot_start_says_so() {
        let e = Service::start(&["/nonexistent/svc".to_string()])
            .err()
            .unwrap();
        assert!(e.to_string().contains("cannot start it"), "{e}");
    }

    #[test]
    fn an_exited_command_reports_its_status_and_stderr() {
        let s =
            Service::start(&["sh".into(), "-c".into(), "echo boom >&2; exit 3".into()]).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let why = s.lock().unwrap().exited().unwrap();
        assert!(
            why.contains("exit status: 3") && why.contains("boom"),
            "{why}"
        );
    }
}
