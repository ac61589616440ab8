//! `${...}` in a request's path, headers and body, parsed once at validation into literal text and
//! per-user variables, so the load stage renders without parsing and an unknown name is an error
//! before any load is sent.
//!
//! Resolved here, at validation: `${env:NAME}` (the environment; the scenario hash is taken before
//! expansion, so secrets never reach results) and scenario constants from `[vars]`. Left for the
//! load stage: captured values (`${token}`), feeder columns (`${products.id}`) and per-user
//! sequences (`${user.id}`, `${user.seq}`).

use std::fmt;

/// A value that differs per user or per request, filled in by the load stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// A value captured from an earlier response; the index into [`crate::scenario::Scenario::captures`].
    Capture(usize),
    /// A column of the user's current row of a feeder (indices into `feeders` and its `columns`).
    Feeder {
        /// Index of the feeder.
        feeder: usize,
        /// Index of the column.
        column: usize,
    },
    /// The user's number, from 0.
    UserId,
    /// How many requests this user has sent before this one, from 0.
    UserSeq,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text (constants and environment values already substituted).
    Text(String),
    /// A per-user value.
    Var(Var),
}

/// A string with `${...}` parsed. Its `Display` shows variables as `${#n}`-style placeholders and
/// literal text verbatim, which may hold expanded secrets: never print it outside tests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// A template of literal text only.
    pub fn text(s: impl Into<String>) -> Self {
        let s = s.into();
        Self {
            parts: if s.is_empty() {
                Vec::new()
            } else {
                vec![Part::Text(s)]
            },
        }
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The whole text when the template holds no variable (the common case: nothing to render).
    pub fn as_static(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Text(t)] => Some(t),
            _ => None,
        }
    }

    /// Variables used, in order.
    pub fn vars(&self) -> impl Iterator<Item = Var> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(*v),
            Part::Text(_) => None,
        })
    }

    /// Fills in the variables; `Err(var)` names the first one `lookup` has no value for.
    pub fn render<'a>(
        &'a self,
        mut lookup: impl FnMut(Var) -> Option<&'a str>,
    ) -> Result<String, Var>
    where
        Self: 'a,
    {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => out.push_str(lookup(*v).ok_or(*v)?),
            }
        }
        Ok(out)
    }

    fn push_text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(Part::Text(t)) = self.parts.last_mut() {
            t.push_str(s);
        } else {
            self.parts.push(Part::Text(s.to_string()));
        }
    }
}

impl PartialEq<&str> for Template {
    fn eq(&self, other: &&str) -> bool {
        self.as_static() == Some(*other)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.parts {
            match p {
                Part::Text(t) => f.write_str(t)?,
                Part::Var(v) => write!(f, "${{{v:?}}}")?,
            }
        }
        Ok(())
    }
}

/// What a `${name}` can refer to.
pub struct Names<'a> {
    /// `[vars]`, already expanded.
    pub constants: &'a std::collections::BTreeMap<String, String>,
    /// Names of captured variables (index = slot).
    pub captures: &'a [String],
    /// Feeders: name and column names.
    pub feeders: &'a [(String, Vec<String>)],
    /// Environment lookup.
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// Whether `name` is a variable name a shell can export: letters, digits and `_`, not starting
/// with a digit.
pub fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The problem and the fix for `${env:NAME}` with a `NAME` that is no variable name.
pub fn env_name_problem(name: &str) -> (String, String) {
    let problem = match name {
        "" => "`${env:}` names no environment variable".to_string(),
        _ => format!("`{name}` in `${{env:{name}}}` is not an environment variable name"),
    };
    (
        problem,
        "write the variable's name after `env:`, e.g. `${env:API_TOKEN}` (letters, digits and _)"
            .to_string(),
    )
}

/// Why a template is refused; the caller adds the file and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `${` with no `}`.
    Unclosed,
    /// `${env:NAME}` with `NAME` unset.
    EnvUnset(String),
    /// `${env:NAME}` with a `NAME` no shell can export (empty, spaces, ...).
    EnvName(String),
    /// A name that is no constant, capture, feeder or `user.*`.
    Unknown {
        /// The name as written.
        name: String,
        /// Every name it could have been.
        known: Vec<String>,
    },
    /// `${feeder.column}` with no such column.
    UnknownColumn {
        /// Feeder.
        feeder: String,
        /// Column as written.
        column: String,
        /// The file's columns.
        columns: Vec<String>,
    },
}

impl TemplateError {
    /// The problem and the fix, for [`crate::scenario::ScenarioError::Invalid`].
    pub fn explain(&self) -> (String, String) {
        match self {
            TemplateError::Unclosed => (
                "`${` without a closing `}`".into(),
                "write `${name}`, or remove the `${`".into(),
            ),
            TemplateError::EnvName(name) => env_name_problem(name),
            TemplateError::EnvUnset(name) => (
                format!("environment variable `{name}` is not set"),
                format!(
                    "export {name}=... before running loadgate (or remove it from the scenario)"
                ),
            ),
            TemplateError::Unknown { name, known } => (
                format!("unknown variable `${{{name}}}`"),
                if known.is_empty() {
                    "define it in `[vars]`, capture it with `[[request.capture]] var = \"...\"`, read it from a `[[feeder]]` as `${feeder.column}`, or use `${env:NAME}`, `${user.id}`, `${user.seq}`".into()
                } else {
                    format!(
                        "known here: {}; or define it in `[vars]`, a `[[request.capture]]` or a `[[feeder]]`; environment variables are written `${{env:NAME}}`",
                        known.iter().map(|k| format!("`${{{k}}}`")).collect::<Vec<_>>().join(", ")
                    )
                },
            ),
            TemplateError::UnknownColumn {
                feeder,
                column,
                columns,
            } => (
                format!("feeder `{feeder}` has no column `{column}`"),
                format!(
                    "its header row has: {}",
                    columns
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }
}

/// Parses `text`: `$${` is a literal `${`.
pub fn parse(text: &str, names: &Names<'_>) -> Result<Template, TemplateError> {
    let mut out = Template::default();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if rest[..start].ends_with('$') {
            // `$${`: an escaped, literal `${`.
            out.push_text(&rest[..start - 1]);
            out.push_text("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_text(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or(TemplateError::Unclosed)?;
        let inner = after[..end].trim();
        resolve(inner, names, &mut out)?;
        rest = &after[end + 1..];
    }
    out.push_text(rest);
    Ok(out)
}

fn resolve(inner: &str, names: &Names<'_>, out: &mut Template) -> Result<(), TemplateError> {
    if let Some(env) = inner.strip_prefix("env:") {
        if !is_env_name(env) {
            return Err(TemplateError::EnvName(env.to_string()));
        }
        let value = (names.env)(env).ok_or_else(|| TemplateError::EnvUnset(env.to_string()))?;
        out.push_text(&value);
        return Ok(());
    }
    if let Some(value) = names.constants.get(inner) {
        out.push_text(value);
        return Ok(());
    }
    if let Some(slot) = names.captures.iter().position(|c| c == inner) {
        out.parts.push(Part::Var(Var::Capture(slot)));
        return Ok(());
    }
    match inner {
        "user.id" => {
            out.parts.push(Part::Var(Var::UserId));
            return Ok(());
        }
        "user.seq" => {
            out.parts.push(Part::Var(Var::UserSeq));
            return Ok(());
        }
        _ => {}
    }
    if let Some((feeder, column)) = inner.split_once('.') {
        if let Some(f) = names.feeders.iter().position(|(n, _)| n == feeder) {
            let columns = &names.feeders[f].1;
            let c = columns.iter().position(|c| c == column).ok_or_else(|| {
                TemplateError::UnknownColumn {
                    feeder: feeder.to_string(),
                    column: column.to_string(),
                    columns: columns.clone(),
                }
            })?;
            out.parts.push(Part::Var(Var::Feeder {
                feeder: f,
                column: c,
            }));
            return Ok(());
        }
    }
    let mut known: Vec<String> = names.constants.keys().cloned().collect();
    known.extend(names.captures.iter().cloned());
    for (f, cols) in names.feeders {
        known.extend(cols.iter().map(|c| format!("{f}.{c}")));
    }
    known.extend(["user.id".to_string(), "user.seq".to_string()]);
    Err(TemplateError::Unknown {
        name: inner.to_string(),
        known,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn names<'a>(
        constants: &'a BTreeMap<String, String>,
        captures: &'a [String],
        feeders: &'a [(String, Vec<String>)],
    ) -> Names<'a> {
        Names {
            constants,
            captures,
            feeders,
            env: &|k| (k == "TOKEN").then(|| "t0k".to_string()),
        }
    }

    #[test]
    fn resolves_every_kind_of_name() {
        let constants = BTreeMap::from([("v".to_string(), "2".to_string())]);
        let captures = ["token".to_string()];
        let feeders = [(
            "items".to_string(),
            vec!["id".to_string(), "sku".to_string()],
        )];
        let n = names(&constants, &captures, &feeders);
        let t = parse(
            "/api/v${v}/items/${items.sku}?u=${user.id}&s=${user.seq}&k=${env:TOKEN}&t=${ token }",
            &n,
        )
        .unwrap();
        assert_eq!(
            t.vars().collect::<Vec<_>>(),
            vec![
                Var::Feeder {
                    feeder: 0,
                    column: 1
                },
                Var::UserId,
                Var::UserSeq,
                Var::Capture(0)
            ]
        );
        let rendered = t
            .render(|v| match v {
                Var::Feeder { .. } => Some("A-1"),
                Var::UserId => Some("3"),
                Var::UserSeq => Some("7"),
                Var::Capture(_) => Some("abc"),
            })
            .unwrap();
        assert_eq!(rendered, "/api/v2/items/A-1?u=3&s=7&k=t0k&t=abc");
        assert_eq!(
            t.render(|_| None),
            Err(Var::Feeder {
                feeder: 0,
                column: 1
            })
        );
    }

    #[test]
    fn static_text_stays_one_part() {
        let constants = BTreeMap::from([("v".to_string(), "2".to_string())]);
        let n = names(&constants, &[], &[]);
        let t = parse("/v${v}/x/${env:TOKEN}", &n).unwrap();
        assert_eq!(t.as_static(), Some("/v2/x/t0k"));
        assert_eq!(parse("", &n).unwrap().as_static(), Some(""));
        assert_eq!(
            parse("a $${literal}", &n).unwrap().as_static(),
            Some("a ${literal}")
        );
    }

    #[test]
    fn refuses_unknown_names_columns_and_unclosed() {
        let captures = ["token".to_string()];
        let feeders = [("items".to_string(), vec!["id".to_string()])];
        let constants = BTreeMap::new();
        let n = names(&constants, &captures, &feeders);
        match parse("/${tokn}", &n) {
            Err(TemplateError::Unknown { name, known }) => {
                assert_eq!(name, "tokn");
                assert!(
                    known.contains(&"token".to_string()) && known.contains(&"items.id".to_string())
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("/${items.sku}", &n),
            Err(TemplateError::UnknownColumn { .. })
        ));
        assert_eq!(parse("/${token", &n), Err(TemplateError::Unclosed));
        assert_eq!(
            parse("${env:NOPE}", &n),
            Err(TemplateError::EnvUnset("NOPE".into()))
        );
    }

    proptest::proptest! {
        /// Any text parses or is refused, never panics; text without `${` is kept byte for byte;
        /// rendering fills every variable it lists.
        #[test]
        fn parse_is_total_and_literal_text_survives(text in "\\PC{0,40}", plain in "[^$]{0,40}") {
            let constants = BTreeMap::from([("v".to_string(), "V".to_string())]);
            let captures = ["token".to_string()];
            let n = names(&constants, &captures, &[]);
            if let Ok(t) = parse(&text, &n) {
                let listed = t.vars().count();
                let mut asked = 0;
                let filled = t.render(|_| {
                    asked += 1;
                    Some("x")
                });
                proptest::prop_assert!(filled.is_ok());
                proptest::prop_assert_eq!(asked, listed);
            }
            let t = parse(&plain, &n).unwrap();
            proptest::prop_assert_eq!(t.as_static(), Some(plain.as_str()));
        }
    }
}
