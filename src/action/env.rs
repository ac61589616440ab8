//! The environment variables the actions read (GitHub Actions' `GITHUB_*`, and `PATH` for the
//! hook), captured once in preflight so that every action sees the same values and unit tests can
//! pass their own. Nothing else in the environment is looked at.

use std::collections::BTreeMap;

/// The environment variables actions read, captured once so that tests can pass their own.
#[derive(Debug, Clone, Default)]
pub struct Env(BTreeMap<String, String>);

/// Variables [`Env::capture`] reads. Anything else in the environment is not looked at.
const ENV_NAMES: &[&str] = &[
    "GITHUB_ACTIONS",
    "GITHUB_API_URL",
    "GITHUB_EVENT_PATH",
    "GITHUB_OUTPUT",
    "GITHUB_REPOSITORY",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_TOKEN",
    "PATH",
];

impl Env {
    /// The variables of this process that actions use.
    pub fn capture() -> Self {
        Self(
            ENV_NAMES
                .iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
                .collect(),
        )
    }

    /// An environment made of `pairs` (for tests).
    pub fn of<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// A variable's value; an empty or blank one counts as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_variables_count_as_unset() {
        let env = Env::of([("GITHUB_TOKEN", " "), ("GITHUB_REPOSITORY", "o/r")]);
        assert_eq!(env.get("GITHUB_TOKEN"), None);
        assert_eq!(env.get("GITHUB_REPOSITORY"), Some("o/r"));
    }
}
