//! Stage 6b — act on the verdict: rollback hook, sticky PR comment, CI outputs (job summary,
//! `$GITHUB_OUTPUT`, JUnit XML) and chat/webhook notifications.
//!
//! Consumes the [`Verdict`](crate::verdict::Verdict) and the rendered reports through an
//! [`ActionContext`]; produces one [`ActionOutcome`] per action. It never recomputes the verdict and
//! never changes the exit code: an action that fails is reported, and the build passes or fails on
//! what was measured. Each action runs independently under its own time limit, so one that hangs or
//! fails never hides another.
//!
//! Order: [`prepare`] runs in preflight, before any load, and turns flags and the environment into a
//! [`Plan`] (a missing token, a hook that is not executable, a bad webhook URL stop the gate there
//! with exit 2). [`Plan::run`] runs after the verdict.

pub mod ci;
pub mod comment;
pub mod context;
pub mod env;
pub mod github;
pub mod notify;
pub mod outcome;
pub mod pull_request;
pub mod rollback;
pub mod tail;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::fsutil::WriteError;
use crate::secret::Secrets;
use crate::verdict::Outcome;
pub use context::{ActionContext, Worst};
pub use env::Env;
pub use outcome::{summarize, to_json, ActionOutcome, Status};

/// A boxed future: the [`Action`] trait is used as `dyn Action`, which rules out `async fn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One thing done with a verdict.
pub trait Action: Send + Sync {
    /// Short name for the summary, e.g. "rollback hook ./rollback.sh".
    fn name(&self) -> String;
    /// Why this action does not run for `outcome`, or `None` when it runs.
    fn skip(&self, outcome: Outcome) -> Option<String>;
    /// The longest this action may take; past it, it is abandoned and reported as failed.
    fn budget(&self) -> Duration;
    /// Does it. `Ok` holds what was done, in a few words.
    fn run<'a>(&'a self, ctx: &'a ActionContext) -> BoxFuture<'a, Result<Done, ActionError>>;
}

/// What an action did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Done {
    /// What was done, in a few words.
    pub detail: String,
    /// Output worth showing (the last lines of a hook's output).
    pub output: Vec<String>,
    /// The action found, once running, that it must not act (`detail` says why).
    pub skipped: bool,
}

impl Done {
    /// The action looked and decided not to act, for `why`.
    pub fn skipped(why: String) -> Self {
        Self {
            detail: why,
            output: Vec::new(),
            skipped: true,
        }
    }
}

impl From<String> for Done {
    fn from(detail: String) -> Self {
        Self {
            detail,
            ..Self::default()
        }
    }
}

/// When the rollback hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RollbackOn {
    /// On a warning or a critical verdict.
    Warn,
    /// On a critical verdict only.
    Critical,
    /// On a critical or an incomplete verdict: fail safe, for a deploy that must be shown healthy
    /// to stay (an incomplete watch rolls back too).
    Incomplete,
}

/// When notifications are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NotifyOn {
    /// After every gate, a pass too (a nightly job's "all good").
    Always,
    /// On a warning, an incomplete or a critical verdict.
    Warn,
    /// On a critical verdict only.
    Critical,
}

/// Whether `$GITHUB_STEP_SUMMARY` and `$GITHUB_OUTPUT` are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiOutputs {
    /// When running in GitHub Actions (`GITHUB_ACTIONS=true`).
    Auto,
    /// Always; an error in preflight when neither variable is set.
    On,
    /// Never.
    Off,
}

/// The actions asked for, validated from flags (durations parsed, enums chosen); what still depends
/// on the environment is checked by [`prepare`].
#[derive(Debug, Clone)]
pub struct Requested {
    /// Rollback hook.
    pub rollback: Option<rollback::Hook>,
    /// Sticky PR comment.
    pub github: Option<pull_request::CommentTarget>,
    /// Job summary and step outputs.
    pub ci_outputs: CiOutputs,
    /// JUnit XML file.
    pub junit: Option<PathBuf>,
    /// Webhooks to notify.
    pub webhooks: Vec<notify::Webhook>,
    /// When to notify.
    pub notify_on: NotifyOn,
    /// Secrets beyond those of the environment and the flags (the scenario's `${env:NAME}`).
    pub secrets: Secrets,
}

/// Why an action cannot be prepared or did not do its job. Each message ends with the fix.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Rollback hook problems.
    #[error(transparent)]
    Hook(#[from] rollback::HookError),
    /// PR comment problems.
    #[error(transparent)]
    GitHub(#[from] github::GitHubError),
    /// Where to comment could not be worked out.
    #[error(transparent)]
    PullRequest(#[from] pull_request::PullRequestError),
    /// Notification problems.
    #[error(transparent)]
    Notify(#[from] notify::NotifyError),
    /// CI output problems.
    #[error(transparent)]
    Ci(#[from] ci::CiError),
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl ActionError {
    /// Output worth showing with the error (a failed hook's last lines).
    pub fn output(&self) -> &[String] {
        match self {
            ActionError::Hook(h) => h.output(),
            _ => &[],
        }
    }
}

/// The actions of one gate, ready to run.
pub struct Plan {
    actions: Vec<Arc<dyn Action>>,
    /// Masked in every outcome: what an action reports may echo a hook's `env` or a server's body.
    secrets: Secrets,
}

/// Checks everything the actions need that can be checked before any load, and builds them in the
/// order they are reported: CI outputs, JUnit, PR comment, notifications, rollback hook.
pub fn prepare(settings: Requested, env: &Env) -> Result<Plan, ActionError> {
    let Requested {
        rollback,
        github,
        ci_outputs,
        junit,
        webhooks,
        notify_on,
        secrets: mut known,
    } = settings;
    known.extend(&Secrets::of_env(|k| std::env::var(k).ok()));
    if let Some(token) = env.get("GITHUB_TOKEN") {
        known.add_value(token);
    }
    for w in &webhooks {
        known.add_value(&w.url);
    }
    let mut actions: Vec<Arc<dyn Action>> = Vec::new();
    for a in ci::prepare(ci_outputs, env)? {
        actions.push(Arc::new(a));
    }
    if let Some(path) = junit {
        actions.push(Arc::new(ci::JunitFile::prepare(path)?));
    }
    if let Some(s) = github {
        let target = pull_request::resolve(&s, env)?;
        actions.push(Arc::new(github::PrComment::prepare(
            target, env, s.timeout,
        )?));
    }
    for w in webhooks {
        actions.push(Arc::new(notify::Notifier::prepare(w, notify_on)?));
    }
    if let Some(s) = rollback {
        actions.push(Arc::new(rollback::RollbackHook::prepare(
            s,
            env,
            known.clone(),
        )?));
    }
    Ok(Plan {
        actions,
        secrets: known,
    })
}

impl Plan {
    /// No action was asked for.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Runs every action concurrently, each under its own [`Action::budget`], and returns their
    /// outcomes in plan order. Never fails: a failure is an outcome.
    pub async fn run(&self, ctx: ActionContext) -> Vec<ActionOutcome> {
        let ctx = Arc::new(ctx);
        let mut tasks = tokio::task::JoinSet::new();
        for (i, action) in self.actions.iter().enumerate() {
            let (action, ctx) = (Arc::clone(action), Arc::clone(&ctx));
            tasks.spawn(async move { (i, run_one(action.as_ref(), &ctx).await) });
        }
        let mut outcomes: Vec<Option<ActionOutcome>> = vec![None; self.actions.len()];
        while let Some(joined) = tasks.join_next().await {
            // A task only fails to join when it panicked; its slot stays empty and is reported below.
            if let Ok((i, outcome)) = joined {
                outcomes[i] = Some(outcome);
            }
        }
        outcomes
            .into_iter()
            .zip(&self.actions)
            .map(|(o, a)| {
                o.unwrap_or_else(|| ActionOutcome {
                    name: a.name(),
                    status: Status::Failed,
                    detail: "the action crashed; this is a bug in loadgate, please report it"
                        .to_string(),
                    output: Vec::new(),
                })
            })
            .map(|o| self.redacted(o))
            .collect()
    }

    fn redacted(&self, o: ActionOutcome) -> ActionOutcome {
        let r = |t: &str| self.secrets.redact(t);
        ActionOutcome {
            name: r(&o.name),
            status: o.status,
            detail: r(&o.detail),
            output: o.output.iter().map(|l| r(l)).collect(),
        }
    }
}

async fn run_one(action: &dyn Action, ctx: &ActionContext) -> ActionOutcome {
    let name = action.name();
    if let Some(why) = action.skip(ctx.outcome) {
        return ActionOutcome {
            name,
            status: Status::Skipped,
            detail: why,
            output: Vec::new(),
        };
    }
    let budget = action.budget();
    match tokio::time::timeout(budget, action.run(ctx)).await {
        Ok(Ok(done)) => ActionOutcome {
            name,
            status: match done.skipped {
                true => Status::Skipped,
                false => Status::Ok,
            },
            detail: done.detail,
            output: done.output,
        },
        Ok(Err(e)) => ActionOutcome {
            name,
            status: Status::Failed,
            output: e.output().to_vec(),
            detail: e.to_string(),
        },
        Err(_) => ActionOutcome {
            name,
            status: Status::Failed,
            detail: format!(
                "no result within {}; abandoned (the verdict and exit code are unchanged)",
                seconds(budget)
            ),
            output: Vec::new(),
        },
    }
}

/// A duration for messages: "1s", "1.5s", "250ms".
pub fn seconds(d: Duration) -> String {
    if d.as_millis() % 1000 == 0 {
        format!("{}s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        name: &'static str,
        sleep: Duration,
        fail: bool,
    }

    impl Action for Fake {
        fn name(&self) -> String {
            self.name.to_string()
        }
        fn skip(&self, outcome: Outcome) -> Option<String> {
            (outcome == Outcome::Pass).then(|| "pass".to_string())
        }
        fn budget(&self) -> Duration {
            Duration::from_millis(200)
        }
        fn run<'a>(&'a self, _: &'a ActionContext) -> BoxFuture<'a, Result<Done, ActionError>> {
            Box::pin(async move {
                tokio::time::sleep(self.sleep).await;
                if self.fail {
                    Err(ci::CiError::NoCiFiles.into())
                } else {
                    Ok(Done::from(format!("{} done", self.name)))
                }
            })
        }
    }

    fn plan(fakes: Vec<Fake>) -> Plan {
        Plan {
            actions: fakes
                .into_iter()
                .map(|f| Arc::new(f) as Arc<dyn Action>)
                .collect(),
            secrets: Secrets::default(),
        }
    }

    #[tokio::test]
    async fn one_failing_or_hanging_action_never_hides_the_others() {
        let p = plan(vec![
            Fake {
                name: "hangs",
                sleep: Duration::from_secs(30),
                fail: false,
            },
            Fake {
                name: "fails",
                sleep: Duration::ZERO,
                fail: true,
            },
            Fake {
                name: "works",
                sleep: Duration::ZERO,
                fail: false,
            },
        ]);
        let outcomes = p.run(context::tests::context(Outcome::Critical)).await;
        let got: Vec<(&str, Status)> = outcomes
            .iter()
            .map(|o| (o.name.as_str(), o.status))
            .collect();
        assert_eq!(
            got,
            [
                ("hangs", Status::Failed),
                ("fails", Status::Failed),
                ("works", Status::Ok)
            ]
        );
        assert!(outcomes[0].detail.contains("no result within 200ms"));
        let mut text = Vec::new();
        summarize(&outcomes, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("2 action(s) failed"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&to_json(&outcomes)).unwrap();
        assert_eq!(json["actions"][2]["status"], "ok");
    }

    #[tokio::test]
    async fn an_action_the_verdict_does_not_call_for_is_skipped() {
        let p = plan(vec![Fake {
            name: "x",
            sleep: Duration::ZERO,
            fail: false,
        }]);
        let outcomes = p.run(context::tests::context(Outcome::Pass)).await;
        assert_eq!(outcomes[0].status, Status::Skipped);
    }

    #[tokio::test]
    async fn a_known_secret_never_leaves_in_an_outcome() {
        let mut p = plan(vec![Fake {
            name: "s3cr3t-value",
            sleep: Duration::ZERO,
            fail: false,
        }]);
        p.secrets.add_value("s3cr3t-value");
        let outcomes = p.run(context::tests::context(Outcome::Critical)).await;
        assert_eq!(outcomes[0].name, "***");
        assert_eq!(outcomes[0].detail, "*** done");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(seconds(Duration::from_secs(60)), "60s");
        assert_eq!(seconds(Duration::from_millis(250)), "250ms");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
    }
}
