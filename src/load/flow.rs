//! A user's flow through a scenario: its variables (captured values, feeder rows, sequence), the
//! rendering of each request from its templates, and the judging of each response against its
//! checks and captures. Pure: goose calls in, nothing here knows goose.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::load::recorder::ErrorKind;
use crate::scenario::check::{LazyJson, Response};
use crate::scenario::{FeedOrder, FeederSpec, OnEnd, RequestSpec, Template, Var};

/// The feeders shared by every user of a run.
pub struct Feeds {
    feeds: Vec<Feed>,
    users: u64,
    exhausted: AtomicBool,
    exhausted_name: Mutex<Option<String>>,
}

struct Feed {
    spec: FeederSpec,
    cursor: AtomicU64,
}

impl Feeds {
    /// Feeders for a run with `users` users.
    pub fn new(specs: &[FeederSpec], users: u32) -> Self {
        Self {
            feeds: specs
                .iter()
                .map(|spec| Feed {
                    spec: spec.clone(),
                    cursor: AtomicU64::new(0),
                })
                .collect(),
            users: u64::from(users.max(1)),
            exhausted: AtomicBool::new(false),
            exhausted_name: Mutex::new(None),
        }
    }

    /// Number of feeders.
    pub fn len(&self) -> usize {
        self.feeds.len()
    }

    /// Whether there are no feeders.
    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty()
    }

    /// The name of a feeder with `on_end = "stop"` that ran out: the run must end.
    pub fn exhausted(&self) -> Option<String> {
        if !self.exhausted.load(Ordering::Relaxed) {
            return None;
        }
        self.exhausted_name
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The next row of feeder `f` for `user`, or `None` when a stopping feeder is used up.
    fn draw(&self, f: usize, user: &mut UserState) -> Option<usize> {
        let feed = self.feeds.get(f)?;
        let n = feed.spec.rows.len() as u64;
        if n == 0 {
            return None;
        }
        let k = user.draws[f];
        user.draws[f] += 1;
        let i = match feed.spec.order {
            FeedOrder::Sequential => feed.cursor.fetch_add(1, Ordering::Relaxed),
            FeedOrder::Random => return Some((user.next_random() % n) as usize),
            FeedOrder::Unique => user.id as u64 + k * self.users,
        };
        if i < n {
            return Some(i as usize);
        }
        match feed.spec.on_end {
            OnEnd::Recycle => Some((i % n) as usize),
            OnEnd::Stop => {
                if !self.exhausted.swap(true, Ordering::Relaxed) {
                    *self
                        .exhausted_name
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = Some(feed.spec.name.clone());
                }
                None
            }
        }
    }

    fn value(&self, f: usize, row: usize, column: usize) -> Option<&str> {
        self.feeds
            .get(f)?
            .spec
            .rows
            .get(row)?
            .get(column)
            .map(String::as_str)
    }
}

/// One user's variables, kept in goose's per-user session data.
#[derive(Debug, Clone)]
pub struct UserState {
    id: usize,
    seq: u64,
    /// Captured values by slot.
    vars: Vec<Option<String>>,
    /// Current row per feeder.
    rows: Vec<Option<usize>>,
    /// Rows drawn per feeder (for `unique`).
    draws: Vec<u64>,
    rng: u64,
    /// Whether the custom HTTP client is installed.
    pub client_ready: bool,
}

impl UserState {
    /// State of user `id` (0-based) in a scenario with `captures` variables and `feeders` feeders.
    pub fn new(id: usize, captures: usize, feeders: usize) -> Self {
        Self {
            id,
            seq: 0,
            vars: vec![None; captures],
            rows: vec![None; feeders],
            draws: vec![0; feeders],
            rng: 0x9E37_79B9_7F4A_7C15 ^ (id as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9),
            client_ready: false,
        }
    }

    /// SplitMix64: a cheap, seeded stream per user, so runs are repeatable.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A request ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Path and query.
    pub path: String,
    /// Headers whose values are per user (the static ones are prepared once).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Option<String>,
}

/// Why a request was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSent {
    /// A captured variable has no value yet (its capture matched nothing, or never ran).
    Missing(String),
    /// A feeder with `on_end = "stop"` ran out of rows.
    Exhausted,
}

/// Renders `spec` for `user`: draws the rows it feeds on, then fills every template.
/// `target_headers` are the target's per-user headers: one whose variable has no value yet is left
/// out (the login that fetches the token is sent without it). Everything of the request itself
/// must be filled, or the request is not sent.
pub fn render(
    spec: &RequestSpec,
    target_headers: &[(String, Template)],
    user: &mut UserState,
    feeds: &Feeds,
    capture_names: &[String],
) -> Result<Rendered, NotSent> {
    for &f in &spec.feed {
        let row = feeds.draw(f, user).ok_or(NotSent::Exhausted)?;
        user.rows[f] = Some(row);
    }
    // A feeder read without a `feed` here uses the user's current row; draw one on first use.
    let templates = std::iter::once(&spec.path)
        .chain(target_headers.iter().map(|(_, t)| t))
        .chain(spec.headers.iter().map(|(_, t)| t))
        .chain(spec.body.iter());
    for t in templates {
        for v in t.vars() {
            if let Var::Feeder { feeder, .. } = v {
                if user.rows.get(feeder).is_some_and(Option::is_none) {
                    let row = feeds.draw(feeder, user).ok_or(NotSent::Exhausted)?;
                    user.rows[feeder] = Some(row);
                }
            }
        }
    }
    let id = user.id.to_string();
    let seq = user.seq.to_string();
    let state: &UserState = user;
    let lookup = |v: Var| -> Option<&str> {
        match v {
            Var::Capture(slot) => state.vars.get(slot)?.as_deref(),
            Var::Feeder { feeder, column } => {
                feeds.value(feeder, (*state.rows.get(feeder)?)?, column)
            }
            Var::UserId => Some(id.as_str()),
            Var::UserSeq => Some(seq.as_str()),
        }
    };
    let missing = |v: Var| match v {
        Var::Capture(slot) => {
            NotSent::Missing(capture_names.get(slot).cloned().unwrap_or_default())
        }
        _ => NotSent::Exhausted,
    };
    let path = spec.path.render(lookup).map_err(missing)?;
    let mut headers = Vec::new();
    for (k, t) in target_headers {
        if let Ok(v) = t.render(lookup) {
            headers.push((k.clone(), v));
        }
    }
    for (k, t) in spec.headers.iter().filter(|(_, t)| t.as_static().is_none()) {
        headers.push((k.clone(), t.render(lookup).map_err(missing)?));
    }
    let body = spec
        .body
        .as_ref()
        .map(|b| b.render(lookup).map_err(missing))
        .transpose()?;
    user.seq += 1;
    Ok(Rendered {
        path,
        headers,
        body,
    })
}

/// The verdict on one response: the error kind (if any) and the failing check's index.
pub fn check_response(
    spec: &RequestSpec,
    response: &Response<'_>,
    user: Option<&mut UserState>,
) -> (Option<ErrorKind>, Option<u16>) {
    let mut json = LazyJson::default();
    if !spec.accepts(response.status) {
        return (Some(ErrorKind::Status), None);
    }
    if let Some(i) = spec
        .checks
        .iter()
        .position(|c| !c.passes(response, &mut json))
    {
        return (Some(ErrorKind::Check), u16::try_from(i).ok());
    }
    let Some(user) = user else {
        return (None, None);
    };
    let mut failed = false;
    for c in &spec.captures {
        match c.extract(response, &mut json) {
            Some(v) => {
                if let Some(slot) = user.vars.get_mut(c.slot) {
                    *slot = Some(v);
                }
            }
            None => failed = true,
        }
    }
    (failed.then_some(ErrorKind::Capture), None)
}

/// Whether anything in the scenario needs per-user state.
pub fn needs_state(requests: &[RequestSpec], target_headers: &[(String, Template)]) -> bool {
    requests.iter().any(RequestSpec::is_dynamic)
        || target_headers.iter().any(|(_, t)| t.as_static().is_none())
}

/// Feeds shared by reference from every transaction.
pub type SharedFeeds = Arc<Feeds>;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::scenario::template::{self, Names};
    use crate::scenario::{Capture, CaptureFrom, Check, CheckKind, Method, Phase};

    fn feeder(order: FeedOrder, on_end: OnEnd, rows: usize) -> FeederSpec {
        FeederSpec {
            name: "items".into(),
            path: PathBuf::from("items.csv"),
            columns: vec!["id".into()],
            rows: Arc::new((0..rows).map(|i| vec![format!("r{i}")]).collect()),
            order,
            on_end,
        }
    }

    fn request(path: &str, captures: &[String], feed: Vec<usize>) -> RequestSpec {
        let constants = Default::default();
        let feeders = [("items".to_string(), vec!["id".to_string()])];
        let names = Names {
            constants: &constants,
            captures,
            feeders: &feeders,
            env: &|_| None,
        };
        RequestSpec {
            name: "r".into(),
            method: Method::Get,
            path: template::parse(path, &names).unwrap(),
            headers: vec![],
            body: None,
            weight: 1,
            expect_status: vec![],
            checks: vec![],
            captures: vec![],
            phase: Phase::Main,
            feed,
        }
    }

    fn paths(spec: &RequestSpec, feeds: &Feeds, user: &mut UserState, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| match render(spec, &[], user, feeds, &[]) {
                Ok(r) => r.path,
                Err(e) => format!("{e:?}"),
            })
            .collect()
    }

    #[test]
    fn sequential_feeders_share_one_cursor_and_recycle_or_stop() {
        let spec = request("/i/${items.id}", &[], vec![0]);
        let feeds = Feeds::new(&[feeder(FeedOrder::Sequential, OnEnd::Recycle, 3)], 2);
        let (mut a, mut b) = (UserState::new(0, 0, 1), UserState::new(1, 0, 1));
        assert_eq!(paths(&spec, &feeds, &mut a, 2), ["/i/r0", "/i/r1"]);
        assert_eq!(paths(&spec, &feeds, &mut b, 2), ["/i/r2", "/i/r0"]);
        assert_eq!(feeds.exhausted(), None);
        let feeds = Feeds::new(&[feeder(FeedOrder::Sequential, OnEnd::Stop, 2)], 1);
        let mut a = UserState::new(0, 0, 1);
        assert_eq!(
            paths(&spec, &feeds, &mut a, 3),
            ["/i/r0", "/i/r1", "Exhausted"]
        );
        assert_eq!(feeds.exhausted().as_deref(), Some("items"));
    }

    #[test]
    fn unique_feeders_never_give_a_row_to_two_users() {
        let spec = request("/i/${items.id}", &[], vec![0]);
        let feeds = Feeds::new(&[feeder(FeedOrder::Unique, OnEnd::Stop, 5)], 2);
        let (mut a, mut b) = (UserState::new(0, 0, 1), UserState::new(1, 0, 1));
        assert_eq!(
            paths(&spec, &feeds, &mut a, 4),
            ["/i/r0", "/i/r2", "/i/r4", "Exhausted"]
        );
        let feeds = Feeds::new(&[feeder(FeedOrder::Unique, OnEnd::Stop, 5)], 2);
        assert_eq!(
            paths(&spec, &feeds, &mut b, 3),
            ["/i/r1", "/i/r3", "Exhausted"]
        );
    }

    #[test]
    fn random_feeders_are_repeatable_and_in_range() {
        let spec = request("/i/${items.id}", &[], vec![0]);
        let feeds = Feeds::new(&[feeder(FeedOrder::Random, OnEnd::Stop, 4)], 1);
        let one = paths(&spec, &feeds, &mut UserState::new(3, 0, 1), 50);
        let two = paths(&spec, &feeds, &mut UserState::new(3, 0, 1), 50);
        assert_eq!(one, two);
        assert!(one
            .iter()
            .all(|p| ["/i/r0", "/i/r1", "/i/r2", "/i/r3"].contains(&p.as_str())));
        assert!(one.iter().collect::<std::collections::BTreeSet<_>>().len() > 1);
    }

    #[test]
    fn a_feeder_without_feed_keeps_the_users_current_row() {
        let spec = request("/i/${items.id}", &[], vec![]);
        let feeds = Feeds::new(&[feeder(FeedOrder::Sequential, OnEnd::Recycle, 3)], 1);
        let mut a = UserState::new(0, 0, 1);
        assert_eq!(paths(&spec, &feeds, &mut a, 2), ["/i/r0", "/i/r0"]);
    }

    #[test]
    fn captured_values_flow_into_later_requests_and_missing_ones_stop_them() {
        let names = vec!["token".to_string()];
        let login = RequestSpec {
            captures: vec![Capture {
                slot: 0,
                from: CaptureFrom::Json("/token".into()),
            }],
            checks: vec![Check {
                name: "has token".into(),
                kind: CheckKind::Json {
                    pointer: "/token".into(),
                    equals: None,
                },
            }],
            ..request("/login", &names, vec![])
        };
        let use_it = request("/me?t=${token}&u=${user.id}&s=${user.seq}", &names, vec![]);
        let feeds = Feeds::new(&[], 1);
        let mut user = UserState::new(7, 1, 0);
        assert_eq!(
            render(&use_it, &[], &mut user, &feeds, &names),
            Err(NotSent::Missing("token".into()))
        );
        let header = |_: &str| None;
        let ok = Response {
            status: 200,
            header: &header,
            body: br#"{"token":"abc"}"#,
            len: 15,
        };
        assert_eq!(check_response(&login, &ok, Some(&mut user)), (None, None));
        assert_eq!(
            render(&use_it, &[], &mut user, &feeds, &names)
                .unwrap()
                .path,
            "/me?t=abc&u=7&s=0"
        );
        // A 200 with the wrong body fails the check (kind check), not the capture.
        let wrong = Response {
            status: 200,
            header: &header,
            body: b"<html>oops</html>",
            len: 17,
        };
        assert_eq!(
            check_response(&login, &wrong, Some(&mut user)),
            (Some(ErrorKind::Check), Some(0))
        );
        let bad_status = Response {
            status: 500,
            header: &header,
            body: b"",
            len: 0,
        };
        assert_eq!(
            check_response(&login, &bad_status, Some(&mut user)),
            (Some(ErrorKind::Status), None)
        );
        let no_capture = RequestSpec {
            checks: vec![],
            ..login.clone()
        };
        assert_eq!(
            check_response(&no_capture, &wrong, Some(&mut user)),
            (Some(ErrorKind::Capture), None)
        );
    }
}
