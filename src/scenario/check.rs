//! What a response must hold (checks) and what to take from it (captures), validated from
//! `[[request.check]]` and `[[request.capture]]`, and evaluated by the load stage on each response.
//!
//! Evaluation is pure (status, headers, body in; verdict or value out) so it is tested here without
//! a server. The `regex` crate is fenced in this module.

use serde_json::Value;

/// A compiled regular expression; equal when written the same.
#[derive(Debug, Clone)]
pub struct Pattern(regex::Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Pattern {
    /// Compiles `text`; the error is the regex crate's explanation.
    pub fn new(text: &str) -> Result<Self, String> {
        regex::RegexBuilder::new(text)
            .size_limit(1 << 20)
            .build()
            .map(Pattern)
            .map_err(|e| e.to_string())
    }

    /// The first capture group of the first match, or the whole match when there is no group.
    pub fn extract<'t>(&self, text: &'t str) -> Option<&'t str> {
        let caps = self.0.captures(text)?;
        caps.get(1).or_else(|| caps.get(0)).map(|m| m.as_str())
    }
}

/// A response as the checks see it.
pub struct Response<'a> {
    /// HTTP status.
    pub status: u16,
    /// Header lookup by lower-case name (first value).
    pub header: &'a dyn Fn(&str) -> Option<String>,
    /// The body's first bytes, as far as they were kept (`load::body`).
    pub body: &'a [u8],
    /// The body's length as counted: more than `body.len()` when the body was cut.
    pub len: u64,
}

impl Response<'_> {
    /// Whether `body` is the whole body.
    fn complete(&self) -> bool {
        self.len <= self.body.len() as u64
    }
}

/// The body parsed as JSON, at most once per response and only when a check or capture needs it.
#[derive(Default)]
pub struct LazyJson(Option<Option<Value>>);

impl LazyJson {
    /// A cut body is not a JSON document.
    fn get(&mut self, r: &Response<'_>) -> Option<&Value> {
        self.0
            .get_or_insert_with(|| {
                r.complete()
                    .then(|| serde_json::from_slice(r.body).ok())
                    .flatten()
            })
            .as_ref()
    }
}

/// One check. A response failing any check is an error of kind `check` named after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Shown in reports: the `name` key, or one made from the check itself.
    pub name: String,
    /// What is checked.
    pub kind: CheckKind,
}

/// The kinds of check.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckKind {
    /// The status is one of these.
    Status(Vec<u16>),
    /// The header (lower-case name) is present; equals / contains when set.
    Header {
        /// Lower-case header name.
        name: String,
        /// Exact value.
        equals: Option<String>,
        /// Substring of the value.
        contains: Option<String>,
    },
    /// The body holds this text.
    BodyContains(String),
    /// The body does not hold this text.
    BodyNotContains(String),
    /// The JSON body has a value at this pointer (RFC 6901), equal to `equals` when set.
    Json {
        /// JSON pointer, e.g. `/items/0/id`.
        pointer: String,
        /// Expected value.
        equals: Option<Value>,
    },
    /// The body is at most this many bytes.
    MaxBodyBytes(u64),
}

impl Check {
    /// Whether the response passes.
    pub fn passes(&self, r: &Response<'_>, json: &mut LazyJson) -> bool {
        match &self.kind {
            CheckKind::Status(codes) => codes.contains(&r.status),
            CheckKind::Header {
                name,
                equals,
                contains,
            } => match (r.header)(name) {
                None => false,
                Some(v) => {
                    equals.as_ref().is_none_or(|e| &v == e)
                        && contains.as_ref().is_none_or(|c| v.contains(c.as_str()))
                }
            },
            CheckKind::BodyContains(s) => contains(r.body, s.as_bytes()),
            // Absence is proven by the whole body only.
            CheckKind::BodyNotContains(s) => r.complete() && !contains(r.body, s.as_bytes()),
            CheckKind::Json { pointer, equals } => match json.get(r) {
                None => false,
                Some(doc) => match (doc.pointer(pointer), equals) {
                    (None, _) => false,
                    (Some(_), None) => true,
                    (Some(v), Some(e)) => json_equal(v, e),
                },
            },
            CheckKind::MaxBodyBytes(n) => r.len <= *n,
        }
    }
}

/// Numbers compare by value so `1` from TOML equals `1.0` in JSON.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// One capture: a value taken from a response into a per-user variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    /// Slot of the variable (index into `Scenario::captures`).
    pub slot: usize,
    /// Where the value comes from.
    pub from: CaptureFrom,
}

/// Sources of a captured value.
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureFrom {
    /// A JSON pointer into the body; strings are taken as they are, other values as JSON text.
    Json(String),
    /// A header (lower-case name), optionally narrowed by a pattern.
    Header(String, Option<Pattern>),
    /// A pattern over the body (first group, or the whole match).
    Body(Pattern),
}

impl Capture {
    /// The captured value, if the response holds one.
    pub fn extract(&self, r: &Response<'_>, json: &mut LazyJson) -> Option<String> {
        match &self.from {
            CaptureFrom::Json(pointer) => match json.get(r)?.pointer(pointer)? {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                v => Some(v.to_string()),
            },
            CaptureFrom::Header(name, pattern) => {
                let v = (r.header)(name)?;
                match pattern {
                    None => Some(v),
                    Some(p) => p.extract(&v).map(str::to_string),
                }
            }
            CaptureFrom::Body(p) => {
                let text = std::str::from_utf8(r.body).ok()?;
                p.extract(text).map(str::to_string)
            }
        }
    }
}

/// Checks a JSON pointer's syntax (RFC 6901): empty, or `/`-separated with `~` only as `~0`/`~1`.
pub fn valid_pointer(p: &str) -> bool {
    if p.is_empty() {
        return true;
    }
    if !p.starts_with('/') {
        return false;
    }
    let b = p.as_bytes();
    b.iter()
        .enumerate()
        .all(|(i, c)| *c != b'~' || matches!(b.get(i + 1), Some(b'0' | b'1')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response<'a>(
        status: u16,
        body: &'a [u8],
        header: &'a dyn Fn(&str) -> Option<String>,
    ) -> Response<'a> {
        Response {
            status,
            header,
            body,
            len: body.len() as u64,
        }
    }

    fn check(kind: CheckKind) -> Check {
        Check {
            name: "c".into(),
            kind,
        }
    }

    #[test]
    fn checks_status_headers_body_and_json() {
        let h =
            |n: &str| (n == "content-type").then(|| "application/json; charset=utf-8".to_string());
        let body = br#"{"items":[{"id":7,"sku":"A-1"}],"ok":true}"#;
        let r = response(200, body, &h);
        let mut j = LazyJson::default();
        let pass = |k: CheckKind, j: &mut LazyJson| check(k).passes(&r, j);
        assert!(pass(CheckKind::Status(vec![200, 201]), &mut j));
        assert!(!pass(CheckKind::Status(vec![201]), &mut j));
        assert!(pass(
            CheckKind::Header {
                name: "content-type".into(),
                equals: None,
                contains: Some("json".into())
            },
            &mut j
        ));
        assert!(!pass(
            CheckKind::Header {
                name: "content-type".into(),
                equals: Some("text/html".into()),
                contains: None
            },
            &mut j
        ));
        assert!(!pass(
            CheckKind::Header {
                name: "x-missing".into(),
                equals: None,
                contains: None
            },
            &mut j
        ));
        assert!(pass(CheckKind::BodyContains("\"sku\"".into()), &mut j));
        assert!(pass(CheckKind::BodyNotContains("error".into()), &mut j));
        assert!(!pass(CheckKind::BodyNotContains("items".into()), &mut j));
        assert!(pass(
            CheckKind::Json {
                pointer: "/items/0/id".into(),
                equals: Some(serde_json::json!(7.0))
            },
            &mut j
        ));
        assert!(pass(
            CheckKind::Json {
                pointer: "/ok".into(),
                equals: None
            },
            &mut j
        ));
        assert!(!pass(
            CheckKind::Json {
                pointer: "/items/1".into(),
                equals: None
            },
            &mut j
        ));
        assert!(!pass(
            CheckKind::Json {
                pointer: "/items/0/sku".into(),
                equals: Some(serde_json::json!("B"))
            },
            &mut j
        ));
        assert!(pass(CheckKind::MaxBodyBytes(body.len() as u64), &mut j));
        assert!(!pass(CheckKind::MaxBodyBytes(10), &mut j));
    }

    #[test]
    fn json_checks_fail_on_a_body_that_is_not_json() {
        let h = |_: &str| None;
        let r = response(200, b"<html>error</html>", &h);
        let c = check(CheckKind::Json {
            pointer: "".into(),
            equals: None,
        });
        assert!(!c.passes(&r, &mut LazyJson::default()));
    }

    #[test]
    fn captures_from_json_headers_and_body() {
        let h = |n: &str| (n == "set-cookie").then(|| "sid=abc123; Path=/".to_string());
        let body = br#"{"token":"t-1","n":5,"nil":null}"#;
        let r = response(200, body, &h);
        let mut j = LazyJson::default();
        let cap = |from| Capture { slot: 0, from };
        assert_eq!(
            cap(CaptureFrom::Json("/token".into()))
                .extract(&r, &mut j)
                .as_deref(),
            Some("t-1")
        );
        assert_eq!(
            cap(CaptureFrom::Json("/n".into()))
                .extract(&r, &mut j)
                .as_deref(),
            Some("5")
        );
        assert_eq!(
            cap(CaptureFrom::Json("/nil".into())).extract(&r, &mut j),
            None
        );
        assert_eq!(
            cap(CaptureFrom::Json("/none".into())).extract(&r, &mut j),
            None
        );
        let sid = Pattern::new("sid=([^;]+)").unwrap();
        assert_eq!(
            cap(CaptureFrom::Header("set-cookie".into(), Some(sid)))
                .extract(&r, &mut j)
                .as_deref(),
            Some("abc123")
        );
        assert_eq!(
            cap(CaptureFrom::Header("set-cookie".into(), None))
                .extract(&r, &mut j)
                .as_deref(),
            Some("sid=abc123; Path=/")
        );
        let whole = Pattern::new(r"t-\d").unwrap();
        assert_eq!(
            cap(CaptureFrom::Body(whole)).extract(&r, &mut j).as_deref(),
            Some("t-1")
        );
        let nothing = Pattern::new("zzz(.)").unwrap();
        assert_eq!(cap(CaptureFrom::Body(nothing)).extract(&r, &mut j), None);
    }

    #[test]
    fn pointer_syntax() {
        for ok in ["", "/", "/a/0", "/a~1b", "/m~0n"] {
            assert!(valid_pointer(ok), "{ok}");
        }
        for bad in ["a", "items/0", "/a~2", "/a~"] {
            assert!(!valid_pointer(bad), "{bad}");
        }
        assert!(Pattern::new("(unclosed").is_err());
    }

    #[test]
    fn a_cut_body_proves_presence_but_not_absence_nor_json() {
        let header = |_: &str| None;
        let r = Response {
            status: 200,
            header: &header,
            body: br#"{"id": 1, "na"#,
            len: 5_000_000,
        };
        let passes = |kind| check(kind).passes(&r, &mut LazyJson::default());
        assert!(passes(CheckKind::BodyContains("\"id\"".into())));
        assert!(!passes(CheckKind::BodyNotContains("error".into())));
        assert!(!passes(CheckKind::Json {
            pointer: "/id".into(),
            equals: None
        }));
        assert!(!passes(CheckKind::MaxBodyBytes(1_000_000)));
        assert!(passes(CheckKind::MaxBodyBytes(5_000_000)));
    }
}
