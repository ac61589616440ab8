//! The secret values loadgate knows of (the GitHub token, webhook URLs, the values a scenario reads
//! through `${env:NAME}`) and the variables holding them. Whatever loadgate echoes from elsewhere (a
//! hook's output, an action's message) goes through [`Secrets::redact`], and the rollback hook's
//! environment goes without these variables unless asked for: a hook running `env` or `set -x` must
//! not put a token in a CI log.

use std::collections::BTreeSet;
use std::fmt;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "***";

/// Values shorter than this are not redacted: masking every `1` or `on` would garble the output
/// while hiding nothing a guess would not find.
pub const MIN_LEN: usize = 4;

/// Variables that hold credentials in CI or for loadgate's own actions (docs/guide.md, "Acting on the
/// verdict" lists them): secrets whatever their value.
pub const SECRET_VARS: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "LOADGATE_SLACK_WEBHOOK",
    "LOADGATE_DISCORD_WEBHOOK",
    "LOADGATE_WEBHOOK_URL",
];

/// Known secrets: variable names and values. Its `Debug` shows only how many there are.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    names: BTreeSet<String>,
    values: BTreeSet<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Secrets({} variables, {} values)",
            self.names.len(),
            self.values.len()
        )
    }
}

impl Secrets {
    /// The [`SECRET_VARS`] set in `lookup` (the process environment, or a test's).
    pub fn of_env(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut s = Self::default();
        for name in SECRET_VARS {
            s.names.insert((*name).to_string());
            if let Some(v) = lookup(name) {
                s.add_value(&v);
            }
        }
        s
    }

    /// A variable whose value is secret (read by a scenario's `${env:NAME}`).
    pub fn add_var(&mut self, name: &str, value: &str) {
        self.names.insert(name.to_string());
        self.add_value(value);
    }

    /// A secret value (a webhook URL given as a flag).
    pub fn add_value(&mut self, value: &str) {
        let value = value.trim();
        if value.len() >= MIN_LEN {
            self.values.insert(value.to_string());
        }
    }

    /// Everything `other` knows too.
    pub fn extend(&mut self, other: &Secrets) {
        self.names.extend(other.names.iter().cloned());
        self.values.extend(other.values.iter().cloned());
    }

    /// Whether the variable `name` holding `value` carries a secret: a known name, or a value that
    /// holds a known secret (a copy of the token under another name, a `Bearer …` header).
    pub fn holds(&self, name: &str, value: &str) -> bool {
        self.names.contains(name) || self.values.iter().any(|s| value.contains(s.as_str()))
    }

    /// `text` with every known secret value replaced by [`REDACTED`]; the longest first, so a URL
    /// holding a shorter secret is masked whole.
    pub fn redact(&self, text: &str) -> String {
        let mut values: Vec<&String> = self.values.iter().collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values
            .into_iter()
            .fold(text.to_string(), |t, v| t.replace(v.as_str(), REDACTED))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_value_is_masked_and_short_ones_are_left() {
        let env = |k: &str| (k == "GITHUB_TOKEN").then(|| "ghs_secret123".to_string());
        let mut s = Secrets::of_env(env);
        s.add_var("API_KEY", "k3y-v4lue");
        s.add_value("https://hooks.example/T0/B1/xyz");
        s.add_value("on");
        let text = "token ghs_secret123, key k3y-v4lue, url https://hooks.example/T0/B1/xyz, on";
        assert_eq!(s.redact(text), "token ***, key ***, url ***, on", "{s:?}");
        assert!(s.holds("GITHUB_TOKEN", ""));
        assert!(s.holds("COPY", "Bearer ghs_secret123"));
        assert!(s.holds("API_KEY", "anything"));
        assert!(!s.holds("HOME", "/root"));
        assert!(!format!("{s:?}").contains("ghs_"));
    }
}
