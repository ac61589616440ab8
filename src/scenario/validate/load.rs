//! `[load]` and `[profile.NAME]`: users, rate, stages, the measured time and its bounds; a profile
//! and the command-line flags are laid over `[load]` before it is validated.

use std::time::Duration;

use super::context::{validate_name, Ctx};
use super::defaults::{
    DEFAULT_DURATION, DEFAULT_MAX_REQUESTS, DEFAULT_RAMP_UP, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_USERS, DEFAULT_WINDOW,
};
use crate::scenario::file::{LoadFile, ScenarioFile, StageFile};
use crate::scenario::{LoadOverrides, LoadSpec, ScenarioError, Stage, StageTarget};

/// The `[load]` that runs: `[profile.NAME]` over the file's, then the flags over both.
pub(super) fn effective(
    cx: &Ctx<'_>,
    file: &ScenarioFile,
    profile: Option<&str>,
    overrides: &LoadOverrides,
) -> Result<LoadFile, ScenarioError> {
    let mut load = file.load.clone();
    if let Some(name) = profile {
        // The effective load is what runs and what the hash describes, so a profile's baseline
        // never matches the default one.
        load = load.overridden_by(profile_table(cx, file, name)?);
    }
    if *overrides != LoadOverrides::default() {
        load = load.overridden_by(&LoadFile {
            users: overrides.users,
            rate: overrides.rate,
            duration: overrides.duration.clone(),
            ..LoadFile::default()
        });
    }
    Ok(load)
}

/// `[profile.NAME]` for `--profile NAME`, with a name fit for a baseline file.
fn profile_table<'f>(
    cx: &Ctx<'_>,
    file: &'f ScenarioFile,
    name: &str,
) -> Result<&'f LoadFile, ScenarioError> {
    let Some(p) = file.profile.get(name) else {
        let defined: Vec<&str> = file.profile.keys().map(String::as_str).collect();
        let fix = if defined.is_empty() {
            "the scenario defines no `[profile.NAME]` tables; add one or drop `--profile`"
                .to_string()
        } else {
            format!("use one of: {}", defined.join(", "))
        };
        return Err(cx.invalid(
            format!("profile.{name}"),
            format!("no profile `{name}` (--profile)"),
            fix,
        ));
    };
    validate_name(cx, name).map_err(|_| {
        cx.invalid(
            format!("profile.{name}"),
            "a profile name becomes part of the baseline file name",
            "use letters, digits, `-` and `_`",
        )
    })?;
    Ok(p)
}

/// Names `profile.NAME.key` instead of `load.key` when the bad value came from the profile.
pub(super) fn in_profile(
    e: ScenarioError,
    profile: Option<&str>,
    base: &LoadFile,
    effective: &LoadFile,
) -> ScenarioError {
    let (
        Some(name),
        ScenarioError::Invalid {
            path,
            key,
            problem,
            fix,
        },
    ) = (profile, &e)
    else {
        return e;
    };
    let field = key
        .strip_prefix("load.")
        .and_then(|k| k.split(['[', '.']).next())
        .unwrap_or_default();
    let value = |l: &LoadFile| {
        serde_json::to_value(l)
            .ok()
            .and_then(|v| v.get(field).cloned())
    };
    if field.is_empty() || value(base) == value(effective) {
        return e;
    }
    ScenarioError::Invalid {
        path: path.clone(),
        key: format!("profile.{name}.{}", &key["load.".len()..]),
        problem: problem.clone(),
        fix: fix.clone(),
    }
}

pub(super) fn load(cx: &Ctx<'_>, l: &LoadFile) -> Result<LoadSpec, ScenarioError> {
    let users = l.users.unwrap_or(DEFAULT_USERS);
    if !(1..=10_000).contains(&users) {
        return Err(cx.invalid(
            "load.users",
            format!("{users} users is out of range"),
            "use 1 to 10000",
        ));
    }
    if l.rate == Some(0) {
        return Err(cx.invalid(
            "load.rate",
            "a rate of 0 sends nothing",
            "set a rate ≥ 1, or remove `rate` for a closed model (users send as fast as the service answers)",
        ));
    }
    let stages = stages(cx, l)?;
    let duration = match stages.is_empty() {
        true => cx.duration("load.duration", l.duration.as_ref(), DEFAULT_DURATION)?,
        false => stages.iter().map(|s| s.duration).sum(),
    };
    let users = users_for_stages(cx, l, &stages, users)?;
    if duration < Duration::from_secs(1) {
        return Err(cx.invalid(
            "load.duration",
            "shorter than 1s",
            "measure for at least \"1s\" (30s or more to gate)",
        ));
    }
    let max_requests = l.max_requests.unwrap_or(DEFAULT_MAX_REQUESTS);
    if max_requests == 0 {
        return Err(cx.invalid("load.max_requests", "0 sends nothing", "set a bound ≥ 1"));
    }
    let request_timeout = request_timeout(cx, l)?;
    let window = window(cx, l, duration)?;
    Ok(LoadSpec {
        window,
        stages,
        users,
        rate: l.rate,
        ramp_up: cx.duration("load.ramp_up", l.ramp_up.as_ref(), DEFAULT_RAMP_UP)?,
        duration,
        max_requests,
        request_timeout,
    })
}

/// The user count: with users stages (closed model), the most any stage asks for, which an explicit
/// `users` must not undercut.
fn users_for_stages(
    cx: &Ctx<'_>,
    l: &LoadFile,
    stages: &[Stage],
    users: u32,
) -> Result<u32, ScenarioError> {
    let Some(StageTarget::Users(_)) = stages.first().map(|s| s.target) else {
        return Ok(users);
    };
    let most = stages
        .iter()
        .filter_map(|s| match s.target {
            StageTarget::Users(u) => Some(u),
            StageTarget::Rate(_) => None,
        })
        .max()
        .unwrap_or(users);
    if l.users.is_some_and(|u| u < most) {
        return Err(cx.invalid(
            "load.users",
            format!("{users} users is fewer than the {most} a stage asks for"),
            "remove `users` (users stages set it) or raise it",
        ));
    }
    Ok(most)
}

fn request_timeout(cx: &Ctx<'_>, l: &LoadFile) -> Result<Duration, ScenarioError> {
    let request_timeout = cx.duration(
        "load.request_timeout",
        l.request_timeout.as_ref(),
        DEFAULT_REQUEST_TIMEOUT,
    )?;
    if request_timeout < Duration::from_millis(1) {
        return Err(cx.invalid(
            "load.request_timeout",
            "shorter than 1ms",
            "e.g. `request_timeout = \"5s\"`",
        ));
    }
    Ok(request_timeout)
}

fn window(cx: &Ctx<'_>, l: &LoadFile, duration: Duration) -> Result<Duration, ScenarioError> {
    let window = cx.duration("load.window", l.window.as_ref(), DEFAULT_WINDOW)?;
    if window < Duration::from_millis(100) || window > Duration::from_secs(60) || window > duration
    {
        return Err(cx.invalid(
            "load.window",
            "must be between 100ms and 60s, and no longer than `load.duration`",
            "keep the default \"1s\" unless runs are very short (tests) or very long (soaks)",
        ));
    }
    Ok(window)
}

/// `[load] stages`: all rate stages (open model) or all users stages (closed model), each with a
/// positive duration; never together with `duration`.
fn stages(cx: &Ctx<'_>, l: &LoadFile) -> Result<Vec<Stage>, ScenarioError> {
    let Some(list) = &l.stages else {
        return Ok(Vec::new());
    };
    if list.is_empty() {
        return Err(cx.invalid(
            "load.stages",
            "an empty list of stages runs nothing",
            "list at least one stage, e.g. `stages = [{ duration = \"30s\", rate = 100 }]`, or remove `stages`",
        ));
    }
    if l.duration.is_some() {
        return Err(cx.invalid(
            "load.duration",
            "`duration` and `stages` both set the measured time",
            "remove `duration`: the measured time is the sum of the stages",
        ));
    }
    let mut out: Vec<Stage> = Vec::with_capacity(list.len());
    for (i, st) in list.iter().enumerate() {
        let key = format!("load.stages[{i}]");
        let target = stage_target(cx, &key, st)?;
        if let Some(first) = out.first().map(|s| s.target) {
            if std::mem::discriminant(&first) != std::mem::discriminant(&target) {
                return Err(cx.invalid(
                    &key,
                    "mixes `rate` and `users` stages",
                    "use rate stages (open model; `users` is the pool of concurrent users) or users stages (closed model), not both",
                ));
            }
        }
        let duration = stage_duration(cx, &key, st)?;
        out.push(Stage { duration, target });
    }
    if matches!(out[0].target, StageTarget::Users(_)) && l.rate.is_some() {
        return Err(cx.invalid(
            "load.rate",
            "`rate` with users stages mixes the open and the closed model",
            "remove `rate`, or write rate stages (`{ duration = \"30s\", rate = 200 }`)",
        ));
    }
    if out.iter().all(|s| s.target == StageTarget::Rate(0)) && l.rate.unwrap_or(0) == 0 {
        return Err(cx.invalid(
            "load.stages",
            "every stage has a rate of 0: nothing would be sent",
            "give a stage a rate ≥ 1",
        ));
    }
    Ok(out)
}

/// What one stage ramps to: a rate or a user count, never both.
fn stage_target(cx: &Ctx<'_>, key: &str, st: &StageFile) -> Result<StageTarget, ScenarioError> {
    match (st.rate, st.users) {
        (Some(r), None) => Ok(StageTarget::Rate(r)),
        (None, Some(u)) if (1..=10_000).contains(&u) => Ok(StageTarget::Users(u)),
        (None, Some(u)) => Err(cx.invalid(
            format!("{key}.users"),
            format!("{u} users is out of range"),
            "use 1 to 10000",
        )),
        _ => Err(cx.invalid(
            key,
            "a stage sets exactly one of `rate` (open model, req/s) or `users` (closed model)",
            "write e.g. `{ duration = \"30s\", rate = 200 }` or `{ duration = \"30s\", users = 20 }`",
        )),
    }
}

fn stage_duration(cx: &Ctx<'_>, key: &str, st: &StageFile) -> Result<Duration, ScenarioError> {
    let duration = cx.duration(
        &format!("{key}.duration"),
        Some(&st.duration),
        Duration::ZERO,
    )?;
    if duration.is_zero() {
        return Err(cx.invalid(
            format!("{key}.duration"),
            "a stage of zero length",
            "give every stage a duration above zero, e.g. \"10s\" (a spike is a short stage, e.g. \"2s\")",
        ));
    }
    Ok(duration)
}
