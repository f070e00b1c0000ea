//! PURE: a route table over Sanic path patterns.
//!
//! A pattern is split at `/` into segments: a static segment (`user`) or a
//! parameter (`<id:int>`, `<name:str>`, `<name>`, `<x:float>`, `<s:slug>`,
//! `<u:uuid>`, and `<p:path>`, which takes the rest of the path and must come
//! last). Lookup rules, as in Sanic and tide:
//!
//! - static segments beat parameters, typed parameters beat `str`, and
//!   `path` comes last;
//! - a path that matches some route but not for this method is
//!   `MethodNotAllowed`, with the methods that would have matched;
//! - `HEAD` is served by a `GET` route unless a `HEAD` route exists;
//! - by default a trailing slash does not matter (`/a/` finds `/a`); with
//!   strict slashes it does.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use super::method::Method;

/// The kind of a path parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// `-?[0-9]+`
    Int,
    /// `-?[0-9]+(.[0-9]+)?`
    Float,
    /// 8-4-4-4-12 hex digits.
    Uuid,
    /// `[a-z0-9]+(-[a-z0-9]+)*`
    Slug,
    /// Any non-empty segment.
    Str,
    /// The rest of the path, slashes included.
    Path,
}

impl Kind {
    /// The kind named in a pattern.
    fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "int" => Kind::Int,
            "float" | "number" => Kind::Float,
            "uuid" => Kind::Uuid,
            "slug" => Kind::Slug,
            "str" | "string" => Kind::Str,
            "path" => Kind::Path,
            _ => return None,
        })
    }

    /// True if `value` (non-empty) has this kind's shape.
    fn accepts(self, value: &str) -> bool {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        fn unsigned(s: &str) -> &str {
            s.strip_prefix('-').unwrap_or(s)
        }
        match self {
            Kind::Int => digits(unsigned(value)),
            Kind::Float => match unsigned(value).split_once('.') {
                Some((int, frac)) => digits(int) && digits(frac),
                None => digits(unsigned(value)),
            },
            Kind::Uuid => {
                let parts: Vec<usize> = value.split('-').map(str::len).collect();
                parts == [8, 4, 4, 4, 12]
                    && value.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
            }
            Kind::Slug => value.split('-').all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            }),
            Kind::Str => !value.contains('/'),
            Kind::Path => true,
        }
    }
}

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Must equal this text.
    Static(String),
    /// A parameter of a kind.
    Param(Arc<str>, Kind),
}

impl Segment {
    /// Sort rank: lower is tried first.
    fn rank(&self) -> (u8, Option<Kind>) {
        match self {
            Segment::Static(_) => (0, None),
            Segment::Param(_, kind) => (1, Some(*kind)),
        }
    }
}

/// Why a route could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouteError {
    /// The pattern is not valid Sanic syntax; the text says why.
    BadPattern(String),
    /// The same method and pattern were added before.
    Duplicate(String),
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::BadPattern(why) => write!(f, "bad route pattern: {why}"),
            RouteError::Duplicate(route) => write!(f, "route already defined: {route}"),
        }
    }
}

impl std::error::Error for RouteError {}

/// Route parameters captured from the path, in pattern order. Values are
/// percent-decoded (routing runs on the decoded path).
///
/// # Examples
///
/// ```
/// let request = sanio::Request::new(sanio::Method::Get, "/");
/// assert!(request.params().is_empty());
/// assert_eq!(request.params().get("id"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    /// `(name, value)` pairs.
    pairs: Pairs,
}

/// The storage of [`Params`].
type Pairs = Vec<(Arc<str>, String)>;

impl Params {
    /// The value of the parameter `name`.
    ///
    /// # Examples
    ///
    /// See [`Params`].
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every `(name, value)` in pattern order.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Get, "/");
    /// assert_eq!(request.params().iter().count(), 0);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.pairs.iter().map(|(n, v)| (&**n, v.as_str()))
    }

    /// How many parameters there are.
    ///
    /// # Examples
    ///
    /// See [`Params`].
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True if there are none.
    ///
    /// # Examples
    ///
    /// See [`Params`].
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Adds a pair (used by the router and by tests).
    pub(crate) fn push(&mut self, name: Arc<str>, value: String) {
        if self.pairs.capacity() == 0 {
            if let Ok(Some(spare)) = SPARE_PAIRS.try_with(|s| s.borrow_mut().pop()) {
                self.pairs = spare;
            }
        }
        self.pairs.push((name, value));
    }

    /// Adds a pair whose value is copied into a pooled string.
    fn push_str(&mut self, name: &Arc<str>, value: &str) {
        let mut owned = super::buf::take_string();
        owned.push_str(value);
        self.push(Arc::clone(name), owned);
    }
}

/// Most spare pair lists a thread keeps.
const MAX_SPARE_PAIRS: usize = 256;

thread_local! {
    /// Empty pair lists (with capacity) of this thread's dropped `Params`.
    static SPARE_PAIRS: RefCell<Vec<Pairs>> = const { RefCell::new(Vec::new()) };
}

impl Drop for Params {
    /// Gives the values and the list back to this thread's pools, so a
    /// routed request with parameters allocates nothing on a warm loop.
    fn drop(&mut self) {
        if self.pairs.capacity() == 0 {
            return;
        }
        for (_, value) in self.pairs.drain(..) {
            super::buf::give_string(value);
        }
        let pairs = std::mem::take(&mut self.pairs);
        // Ignored while the thread's pools are being torn down.
        let _ = SPARE_PAIRS.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            if spare.len() < MAX_SPARE_PAIRS && pairs.capacity() <= 64 {
                spare.push(pairs);
            }
        });
    }
}

/// One pattern and the values for each method.
#[derive(Debug)]
struct Route<T> {
    /// The pattern as written.
    pattern: String,
    /// Its segments.
    segments: Vec<Segment>,
    /// The value per method, in the order added.
    methods: Vec<(Method, T)>,
}

/// The result of a lookup.
#[derive(Debug)]
pub(crate) enum Match<'a, T> {
    /// A route for this method and path, with its parameters.
    Found(&'a T, Params),
    /// Routes exist for this path, but for these methods only.
    MethodNotAllowed(Vec<Method>),
    /// No route has this path.
    NotFound,
}

/// Routes by method and path.
#[derive(Debug)]
pub(crate) struct Router<T> {
    /// Routes, best first (see the module doc).
    routes: Vec<Route<T>>,
    /// Whether `/a/` and `/a` are different paths.
    strict_slashes: bool,
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg_attr(not(test), allow(dead_code))] // strict slashes and `patterns`: only the tests use them
impl<T> Router<T> {
    /// An empty table with non-strict slashes.
    pub(crate) const fn new() -> Self {
        Self {
            routes: Vec::new(),
            strict_slashes: false,
        }
    }

    /// Makes a trailing slash significant (or not).
    pub(crate) fn set_strict_slashes(&mut self, strict: bool) {
        self.strict_slashes = strict;
    }

    /// Adds `value` for `method` on `pattern`.
    ///
    /// # Errors
    ///
    /// [`RouteError`] for a malformed pattern or a repeated method+pattern.
    pub(crate) fn add(
        &mut self,
        method: Method,
        pattern: &str,
        value: T,
    ) -> Result<(), RouteError> {
        let segments = parse_pattern(pattern)?;
        let taken = self.routes.iter().any(|r| {
            same_shape(&r.segments, &segments) && r.methods.iter().any(|(m, _)| *m == method)
        });
        if taken {
            return Err(RouteError::Duplicate(format!("{method} {pattern}")));
        }
        if let Some(route) = self.routes.iter_mut().find(|r| r.segments == segments) {
            route.methods.push((method, value));
            return Ok(());
        }
        let route = Route {
            pattern: pattern.to_owned(),
            segments,
            methods: vec![(method, value)],
        };
        let key = |r: &Route<T>| r.segments.iter().map(Segment::rank).collect::<Vec<_>>();
        let new_key = key(&route);
        let at = self.routes.partition_point(|r| key(r) <= new_key);
        self.routes.insert(at, route);
        Ok(())
    }

    /// The patterns, in lookup order (for listings and tests).
    pub(crate) fn patterns(&self) -> impl Iterator<Item = &str> + '_ {
        self.routes.iter().map(|r| r.pattern.as_str())
    }

    /// Looks up `method` on a (percent-decoded) `path`.
    pub(crate) fn at(&self, method: &Method, path: &str) -> Match<'_, T> {
        let path = match path.strip_prefix('/') {
            Some(rest) => rest,
            None => path,
        };
        let path = if self.strict_slashes {
            path
        } else {
            path.strip_suffix('/').unwrap_or(path)
        };
        let mut allow: Vec<Method> = Vec::new();
        for route in &self.routes {
            let Some(params) = match_segments(&route.segments, path) else {
                continue;
            };
            if let Some(value) = find_method(&route.methods, method) {
                return Match::Found(value, params);
            }
            for (m, _) in &route.methods {
                if !allow.contains(m) {
                    allow.push(m.clone());
                }
            }
        }
        if allow.is_empty() {
            return Match::NotFound;
        }
        if allow.contains(&Method::Get) && !allow.contains(&Method::Head) {
            allow.push(Method::Head);
        }
        Match::MethodNotAllowed(allow)
    }
}

/// The value for `method`, letting a GET route answer HEAD.
fn find_method<'a, T>(methods: &'a [(Method, T)], method: &Method) -> Option<&'a T> {
    let exact = methods.iter().find(|(m, _)| m == method);
    let fallback = || match method {
        Method::Head => methods.iter().find(|(m, _)| *m == Method::Get),
        _ => None,
    };
    exact.or_else(fallback).map(|(_, v)| v)
}

/// True when two patterns match the same paths (parameter names aside).
fn same_shape(a: &[Segment], b: &[Segment]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|pair| match pair {
            (Segment::Static(x), Segment::Static(y)) => x == y,
            (Segment::Param(_, x), Segment::Param(_, y)) => x == y,
            _ => false,
        })
}

/// Matches a path (leading slash removed) against segments.
fn match_segments(segments: &[Segment], path: &str) -> Option<Params> {
    let mut params = Params::default();
    let mut rest = Some(path);
    if segments.is_empty() {
        return path.is_empty().then_some(params);
    }
    for segment in segments {
        let current = rest?;
        if let Segment::Param(name, Kind::Path) = segment {
            if current.is_empty() {
                return None;
            }
            params.push_str(name, current);
            rest = None;
            continue;
        }
        let (piece, next) = match current.split_once('/') {
            Some((piece, next)) => (piece, Some(next)),
            None => (current, None),
        };
        match segment {
            Segment::Static(text) if text == piece => {}
            Segment::Param(name, kind) if !piece.is_empty() && kind.accepts(piece) => {
                params.push_str(name, piece);
            }
            _ => return None,
        }
        rest = next;
    }
    rest.is_none().then_some(params)
}

/// Parses a Sanic pattern into segments (leading and, for lookup purposes,
/// trailing slashes ignored).
fn parse_pattern(pattern: &str) -> Result<Vec<Segment>, RouteError> {
    let bad = |why: &str| RouteError::BadPattern(format!("{pattern:?}: {why}"));
    let body = pattern
        .strip_prefix('/')
        .ok_or_else(|| bad("must start with '/'"))?;
    let body = body.strip_suffix('/').unwrap_or(body);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let mut segments = Vec::new();
    for piece in body.split('/') {
        if matches!(segments.last(), Some(Segment::Param(_, Kind::Path))) {
            return Err(bad("<name:path> must be the last segment"));
        }
        segments.push(parse_segment(piece).map_err(&bad)?);
    }
    Ok(segments)
}

/// One segment of a pattern.
fn parse_segment(piece: &str) -> Result<Segment, &'static str> {
    if piece.is_empty() {
        return Err("empty segment");
    }
    let Some(inner) = piece.strip_prefix('<') else {
        if piece.contains(['<', '>']) {
            return Err("a parameter must be a whole segment");
        }
        return Ok(Segment::Static(piece.to_owned()));
    };
    let inner = inner.strip_suffix('>').ok_or("unclosed '<'")?;
    let (name, kind) = match inner.split_once(':') {
        Some((name, kind)) => (name, Kind::from_name(kind).ok_or("unknown parameter type")?),
        None => (inner, Kind::Str),
    };
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err("bad parameter name");
    }
    Ok(Segment::Param(Arc::from(name), kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A router with numbered routes.
    fn router(routes: &[(Method, &str)]) -> Router<usize> {
        let mut router = Router::new();
        for (i, (method, pattern)) in routes.iter().enumerate() {
            router.add(method.clone(), pattern, i).unwrap();
        }
        router
    }

    /// The route number found, with its params.
    fn found(
        router: &Router<usize>,
        method: Method,
        path: &str,
    ) -> Option<(usize, Vec<(String, String)>)> {
        match router.at(&method, path) {
            Match::Found(i, params) => Some((
                *i,
                params
                    .iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect(),
            )),
            _ => None,
        }
    }

    #[test]
    fn typed_params_table() {
        let r = router(&[
            (Method::Get, "/user/<id:int>"),
            (Method::Get, "/price/<x:float>"),
            (Method::Get, "/post/<s:slug>"),
            (Method::Get, "/obj/<u:uuid>"),
            (Method::Get, "/files/<p:path>"),
            (Method::Get, "/hello/<name>"),
            (Method::Get, "/"),
        ]);
        let table: &[(&str, Option<(usize, &str)>)] = &[
            ("/user/42", Some((0, "42"))),
            ("/user/-7", Some((0, "-7"))),
            ("/user/4x", None),
            ("/price/1.5", Some((1, "1.5"))),
            ("/price/3", Some((1, "3"))),
            ("/price/1.", None),
            ("/post/my-first-post", Some((2, "my-first-post"))),
            ("/post/Bad", None),
            ("/post/a--b", None),
            (
                "/obj/123e4567-e89b-12d3-a456-426614174000",
                Some((3, "123e4567-e89b-12d3-a456-426614174000")),
            ),
            ("/obj/123e4567", None),
            ("/files/a/b/c.txt", Some((4, "a/b/c.txt"))),
            ("/files/", None),
            ("/hello/world", Some((5, "world"))),
            ("/hello/a/b", None),
            ("/", Some((6, ""))),
            ("/nope", None),
        ];
        for (path, want) in table {
            let got = found(&r, Method::Get, path);
            let got = got.map(|(i, p)| (i, p.first().map(|(_, v)| v.clone()).unwrap_or_default()));
            assert_eq!(got, want.map(|(i, v)| (i, v.to_owned())), "{path}");
        }
    }

    #[test]
    fn static_beats_params_whatever_the_order() {
        let r = router(&[
            (Method::Get, "/<name>/x"),
            (Method::Get, "/u/<id:int>"),
            (Method::Get, "/u/me"),
            (Method::Get, "/u/<n:str>"),
        ]);
        assert_eq!(found(&r, Method::Get, "/u/me").unwrap().0, 2);
        assert_eq!(found(&r, Method::Get, "/u/5").unwrap().0, 1);
        assert_eq!(found(&r, Method::Get, "/u/bob").unwrap().0, 3);
        assert_eq!(
            found(&r, Method::Get, "/a/x").unwrap().1,
            [("name".to_owned(), "a".to_owned())]
        );
    }

    #[test]
    fn method_not_allowed_lists_methods_and_head_uses_get() {
        let r = router(&[
            (Method::Get, "/a"),
            (Method::Post, "/a"),
            (Method::Put, "/b"),
        ]);
        match r.at(&Method::Delete, "/a") {
            Match::MethodNotAllowed(allow) => {
                assert_eq!(allow, [Method::Get, Method::Post, Method::Head])
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(found(&r, Method::Head, "/a").unwrap().0, 0);
        assert!(matches!(
            r.at(&Method::Head, "/b"),
            Match::MethodNotAllowed(_)
        ));
        assert!(matches!(r.at(&Method::Get, "/c"), Match::NotFound));
    }

    #[test]
    fn trailing_slashes() {
        let mut r = router(&[(Method::Get, "/a"), (Method::Get, "/b/")]);
        assert!(found(&r, Method::Get, "/a/").is_some());
        assert!(found(&r, Method::Get, "/b").is_some());
        r.set_strict_slashes(true);
        assert!(found(&r, Method::Get, "/a").is_some());
        assert!(found(&r, Method::Get, "/a/").is_none());
    }

    #[test]
    fn bad_patterns_and_duplicates() {
        let mut r: Router<()> = Router::new();
        for bad in [
            "nope",
            "/a//b",
            "/<x:wat>",
            "/<>",
            "/<p:path>/x",
            "/a<b>",
            "/<x",
        ] {
            assert!(
                matches!(r.add(Method::Get, bad, ()), Err(RouteError::BadPattern(_))),
                "{bad}"
            );
        }
        r.add(Method::Get, "/x/<id:int>", ()).unwrap();
        assert!(matches!(
            r.add(Method::Get, "/x/<n:int>", ()),
            Err(RouteError::Duplicate(_))
        ));
        r.add(Method::Post, "/x/<id:int>", ()).unwrap();
        assert_eq!(r.patterns().collect::<Vec<_>>(), ["/x/<id:int>"]);
    }
}
