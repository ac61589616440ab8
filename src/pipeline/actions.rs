//! The actions' flags made into settings, shared by the commands that act on a verdict (`gate`,
//! `watch`): durations parsed, webhooks collected. What depends on the environment (a token, the
//! pull request, a hook on disk) is checked later by `action::prepare`.

use crate::action::{self, CiOutputs};
use crate::cli::ActionArgs;
use crate::error::Error;
use crate::scenario::units::parse_duration;

/// `ActionArgs` → validated action settings (durations parsed, webhooks collected). What depends on
/// the environment (token, PR, hook on disk) is checked by `action::prepare`.
pub fn settings(a: &ActionArgs) -> Result<action::Requested, Error> {
    let ActionArgs {
        rollback_hook,
        rollback_hook_args,
        rollback_on,
        hook_timeout,
        hook_env,
        github_comment,
        github_repo,
        github_pr,
        github_allow_fork,
        github_timeout,
        ci_outputs,
        no_ci_outputs,
        junit,
        actions_json: _,
        notify_slack,
        notify_discord,
        notify_webhook,
        notify_on,
    } = a;
    let duration = |flag: &'static str, v: &str| {
        parse_duration(v)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| Error::Flag {
                flag,
                problem: format!("`{v}` is not a positive duration; write e.g. 30s or 500ms"),
            })
    };
    use action::notify::{Kind, Webhook};
    let webhooks = [
        (Kind::Slack, "--notify-slack", notify_slack),
        (Kind::Discord, "--notify-discord", notify_discord),
        (Kind::Generic, "--notify-webhook", notify_webhook),
    ]
    .into_iter()
    .filter_map(|(kind, flag, url)| {
        url.as_ref()
            .filter(|u| !u.trim().is_empty())
            .map(|u| Webhook {
                kind,
                flag,
                url: u.clone(),
            })
    })
    .collect();
    Ok(action::Requested {
        rollback: match rollback_hook {
            Some(program) => Some(action::rollback::Hook {
                program: program.clone(),
                args: rollback_hook_args.clone(),
                on: *rollback_on,
                timeout: duration("--hook-timeout", hook_timeout)?,
                pass_env: hook_env.clone(),
            }),
            None => None,
        },
        github: match github_comment {
            true => Some(action::pull_request::CommentTarget {
                repo: github_repo.clone(),
                pr: *github_pr,
                allow_fork: *github_allow_fork,
                timeout: duration("--github-timeout", github_timeout)?,
            }),
            false => None,
        },
        ci_outputs: match (ci_outputs, no_ci_outputs) {
            (true, _) => CiOutputs::On,
            (_, true) => CiOutputs::Off,
            _ => CiOutputs::Auto,
        },
        junit: junit.clone(),
        webhooks,
        notify_on: *notify_on,
        secrets: crate::secret::Secrets::default(),
    })
}
