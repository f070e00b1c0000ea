//! Signals and events: `app.signal`, `app.dispatch`, `app.event`, and the
//! broadcast that reaches every worker.
//!
//! An event name has three dot-separated parts (`my.custom.event`); a part
//! may be a typed parameter (`user.<id:int>.login`) in a *handler's* name,
//! which then matches `user.42.login`. The `http` and `server` namespaces
//! belong to sanio's built-in events.
//!
//! `dispatch` runs on one worker: it wakes that worker's `event()` waiters
//! and queues the event in its subscriptions (`subscription.rs`), for
//! exactly that name (a sibling event never reaches them), and runs every
//! matching handler. `dispatch_all` sends the dispatch to every worker's
//! loop through its remote queue, from any thread.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use slab::Slab;

use super::error::Stopped;
use super::local::{local, try_local};
use super::task_types::LocalFuture;
use super::{App, Error, IntoResult};
use crate::rt::{self, Sleep};

/// The built-in events sanio dispatches itself.
pub(crate) const BUILT_IN: &[&str] = &[
    "server.init.before",
    "server.init.after",
    "server.shutdown.before",
    "server.shutdown.after",
    "http.lifecycle.request",
    "http.lifecycle.response",
    "server.exception.report",
];

/// What a dispatch carries to handlers and waiters.
///
/// # Examples
///
/// ```
/// let app = sanio::App::new("demo");
/// sanio::Runtime::new().unwrap().block_on(async {
///     let waiter = app.event("my.custom.event");
///     let app2 = app.clone();
///     sanio::spawn(async move {
///         sanio::rt::yield_now().await;
///         app2.dispatch_with("my.custom.event", "hello").await.unwrap();
///     });
///     let event = waiter.await.unwrap();
///     assert_eq!(event.name(), "my.custom.event");
///     assert_eq!(event.message(), Some("hello"));
/// });
/// ```
#[derive(Clone)]
pub struct Event {
    /// The concrete event name.
    name: Arc<str>,
    /// The optional message.
    message: Option<Arc<str>>,
    /// The instance a cluster event came from (feature `redis`).
    origin: Option<Arc<str>>,
    /// The optional typed payload, shared by every receiver.
    payload: Option<Arc<dyn Any + Send + Sync>>,
}

impl PartialEq for Event {
    /// Same name, message and origin, and the same payload (the same
    /// dispatch).
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.message == other.message
            && self.origin == other.origin
            && match (&self.payload, &other.payload) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl Eq for Event {}

impl Event {
    /// The typed payload given to
    /// [`dispatch_payload`](App::dispatch_payload) or
    /// [`dispatch_all_payload`](App::dispatch_all_payload), if it is a `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// #[derive(Debug, PartialEq)]
    /// struct Order { id: u32 }
    ///
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     let waiter = app.event("shop.order.placed");
    ///     let app2 = app.clone();
    ///     sanio::spawn(async move {
    ///         sanio::rt::yield_now().await;
    ///         app2.dispatch_payload("shop.order.placed", Order { id: 7 }).await.unwrap();
    ///     });
    ///     let event = waiter.await.unwrap();
    ///     assert_eq!(event.payload::<Order>(), Some(&Order { id: 7 }));
    ///     assert_eq!(event.payload::<String>(), None); // another type
    /// });
    /// ```
    pub fn payload<T: Any>(&self) -> Option<&T> {
        self.payload.as_deref()?.downcast_ref::<T>()
    }

    /// The event's name as dispatched.
    ///
    /// # Examples
    ///
    /// See [`Event`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The message given to `dispatch_with`, if any.
    ///
    /// # Examples
    ///
    /// See [`Event`].
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The instance id of the sender, for a cluster event
    /// (`dispatch_cluster`, feature `redis`); `None` for a local one.
    ///
    /// # Examples
    ///
    /// See [`Event`].
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// A cluster event from `origin`.
    #[cfg(feature = "redis")]
    pub(crate) fn cluster(
        name: &str,
        message: Option<String>,
        payload: Option<super::cluster::ClusterPayload>,
        origin: &str,
    ) -> Self {
        Self {
            name: name.into(),
            message: message.map(Arc::from),
            payload: payload.map(|p| Arc::new(p) as Arc<dyn Any + Send + Sync>),
            origin: Some(origin.into()),
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("name", &self.name)
            .field("message", &self.message)
            .field("origin", &self.origin)
            .finish()
    }
}

/// A signal handler: gets the app and the event.
pub(crate) type SignalHandler =
    Arc<dyn Fn(App, Event) -> LocalFuture<Result<(), Stopped>> + Send + Sync>;

/// `name:type` of a `<name:type>` part; `None` for a plain part.
fn parse_param(part: &str) -> Option<(&str, &str)> {
    let inner = part.strip_prefix('<')?.strip_suffix('>')?;
    Some(inner.split_once(':').unwrap_or((inner, "str")))
}

/// Checks an event name: three non-empty parts of letters, digits, `_` and
/// `-`, or typed parameters when `patterns` is allowed.
pub(crate) fn validate(name: &str, patterns: bool) -> Result<(), Error> {
    // Logged too: `while let Ok(ev) = app.event(..).await` would otherwise
    // end quietly on a bad name.
    let invalid = || {
        let err = Error::InvalidEvent(name.to_owned());
        log::warn!("{err}");
        err
    };
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() != 3 {
        return Err(invalid());
    }
    for part in parts {
        let plain = !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        let param = patterns
            && parse_param(part).is_some_and(|(n, t)| {
                !n.is_empty() && matches!(t, "str" | "int" | "float" | "alpha" | "slug")
            });
        if !plain && !param {
            return Err(invalid());
        }
    }
    Ok(())
}

/// Checks a name a user declares or dispatches: valid, and not a reserved
/// name unless it is one of the built-ins (which users may listen to).
pub(crate) fn validate_user(name: &str, patterns: bool) -> Result<(), Error> {
    validate(name, patterns)?;
    let namespace = name.split('.').next().unwrap_or_default();
    if matches!(namespace, "http" | "server") && !BUILT_IN.contains(&name) {
        return Err(Error::ReservedEvent(name.to_owned()));
    }
    Ok(())
}

/// Whether a handler pattern matches a concrete event name.
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let (mut p, mut n) = (pattern.split('.'), name.split('.'));
    loop {
        match (p.next(), n.next()) {
            (None, None) => return true,
            (Some(part), Some(value)) => {
                let ok = match parse_param(part) {
                    None => part == value,
                    Some((_, "int")) => value.parse::<i64>().is_ok(),
                    Some((_, "float")) => value.parse::<f64>().is_ok(),
                    Some((_, "alpha")) => value.bytes().all(|b| b.is_ascii_alphabetic()),
                    Some(_) => !value.is_empty(),
                };
                if !ok {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// One `event()` waiter.
struct Waiter {
    /// Its waker, once polled.
    waker: Option<Waker>,
    /// The event that woke it.
    event: Option<Event>,
}

/// The `event()` waiters of one worker, by exact event name.
#[derive(Default)]
pub(crate) struct EventWaiters {
    /// Waiters per event name.
    by_name: RefCell<HashMap<Arc<str>, Slab<Waiter>>>,
    /// How many waiters in all: lets `count` cost one load when nobody
    /// waits on any event.
    total: std::cell::Cell<usize>,
}

impl EventWaiters {
    /// Hands `event` to every waiter of its name; returns how many.
    fn wake(&self, event: &Event) -> usize {
        let wakers: Vec<Waker> = {
            let mut by_name = self.by_name.borrow_mut();
            let Some(waiters) = by_name.get_mut(event.name()) else {
                return 0;
            };
            waiters
                .iter_mut()
                .filter(|(_, w)| w.event.is_none())
                .filter_map(|(_, w)| {
                    w.event = Some(event.clone());
                    w.waker.take()
                })
                .collect()
        };
        let count = wakers.len();
        wakers.into_iter().for_each(Waker::wake);
        count
    }

    /// How many waiters wait on `name`.
    pub(crate) fn count(&self, name: &str) -> usize {
        if self.total.get() == 0 {
            return 0;
        }
        self.by_name.borrow().get(name).map_or(0, Slab::len)
    }

    /// Notes a waiter added (`+1`) or removed (`-1`).
    fn adjust(&self, added: bool) {
        let total = self.total.get();
        self.total.set(if added { total + 1 } else { total - 1 });
    }
}

impl App {
    /// Registers `handler` for the event `name` (which may contain typed
    /// parts, e.g. `user.<id:int>.login`). Every matching handler runs on
    /// each dispatch; one that fails is logged and reported through
    /// `server.exception.report`, and the others still run.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEvent`], [`Error::ReservedEvent`], or
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// app.signal("my.custom.event", |_app, event: sanio::Event| async move {
    ///     assert_eq!(event.name(), "my.custom.event");
    /// })
    /// .unwrap();
    /// let err = app.signal("server.custom.thing", |_app, _event| async {}).unwrap_err();
    /// assert_eq!(err.to_string(), "Cannot declare reserved signal event: server.custom.thing");
    /// ```
    pub fn signal<H, F>(&self, name: &str, handler: H) -> Result<(), Error>
    where
        H: Fn(App, Event) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoResult,
    {
        validate_user(name, true)?;
        let handler: SignalHandler =
            Arc::new(move |app, event| super::error::judged(handler(app, event)));
        self.add_signal_handler(name.to_owned(), handler)
    }

    /// Dispatches `name` on this worker: wakes its `event()` waiters and
    /// runs its handlers, then returns.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEvent`], [`Error::ReservedEvent`], or
    /// [`Error::NoLoop`] off a loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     app.dispatch("my.custom.event").await.unwrap();
    ///     assert!(app.dispatch("not-an-event").await.is_err());
    /// });
    /// ```
    pub async fn dispatch(&self, name: &str) -> Result<(), Error> {
        validate_user(name, false)?;
        self.dispatch_event(Event {
            name: name.into(),
            message: None,
            origin: None,
            payload: None,
        })
        .await
    }

    /// Like [`dispatch`](Self::dispatch), with a message for handlers and
    /// waiters.
    ///
    /// # Errors
    ///
    /// As [`dispatch`](Self::dispatch).
    ///
    /// # Examples
    ///
    /// See [`Event`].
    pub async fn dispatch_with(&self, name: &str, message: &str) -> Result<(), Error> {
        validate_user(name, false)?;
        self.dispatch_event(Event {
            name: name.into(),
            message: Some(message.into()),
            origin: None,
            payload: None,
        })
        .await
    }

    /// Like [`dispatch`](Self::dispatch), with a typed payload that
    /// handlers and waiters read back with [`Event::payload`].
    ///
    /// # Errors
    ///
    /// As [`dispatch`](Self::dispatch).
    ///
    /// # Examples
    ///
    /// See [`Event::payload`].
    pub async fn dispatch_payload<T: Any + Send + Sync>(
        &self,
        name: &str,
        payload: T,
    ) -> Result<(), Error> {
        validate_user(name, false)?;
        self.dispatch_event(Event {
            name: name.into(),
            message: None,
            payload: Some(Arc::new(payload)),
            origin: None,
        })
        .await
    }

    /// Like [`dispatch_all`](Self::dispatch_all), with a typed payload
    /// shared by every worker (one `Arc`, no copy).
    ///
    /// # Errors
    ///
    /// As [`dispatch_all`](Self::dispatch_all).
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// assert_eq!(app.dispatch_all_payload("my.custom.event", None, 42u64).unwrap(), 0);
    /// ```
    pub fn dispatch_all_payload<T: Any + Send + Sync>(
        &self,
        name: &str,
        message: Option<&str>,
        payload: T,
    ) -> Result<usize, Error> {
        validate_user(name, false)?;
        self.broadcast(Event {
            name: name.into(),
            message: message.map(Arc::from),
            payload: Some(Arc::new(payload)),
            origin: None,
        })
    }

    /// Dispatches `name` with `message` on **every** worker's loop, from
    /// any thread (a worker or not). Returns how many loops it reached.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEvent`] or [`Error::ReservedEvent`].
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// // No worker runs yet: nobody to reach.
    /// assert_eq!(app.dispatch_all("my.custom.event", Some("hi")).unwrap(), 0);
    /// ```
    pub fn dispatch_all(&self, name: &str, message: Option<&str>) -> Result<usize, Error> {
        validate_user(name, false)?;
        self.broadcast(Event {
            name: name.into(),
            message: message.map(Arc::from),
            payload: None,
            origin: None,
        })
    }

    /// Sends `event` to every worker's loop; returns how many it reached.
    pub(crate) fn broadcast(&self, event: Event) -> Result<usize, Error> {
        let mut reached = 0;
        for handle in self.loops() {
            let (app, event) = (self.clone(), event.clone());
            // The closure that crosses threads is `Send`; the dispatch it
            // starts on the target loop need not be.
            let sent = handle.spawn(async move {
                drop(rt::spawn(async move {
                    if let Err(err) = app.dispatch_event(event).await {
                        log::error!("broadcast dispatch failed: {err}");
                    }
                }));
            });
            reached += usize::from(sent.is_ok());
        }
        Ok(reached)
    }

    /// Waits for the next dispatch of exactly `name` on this worker and
    /// returns its [`Event`]. The wait starts at the first poll, removes
    /// itself when dropped, and is cancellation-aware: in a cancelled task it
    /// ends with [`Error::Cancelled`]. Add a limit with
    /// [`EventWait::timeout`].
    ///
    /// `name` follows Sanic's rule: three dot-separated parts of letters,
    /// digits, `_` or `-` (`my.custom.event`). Any other name (`job.done`)
    /// ends the wait at once with [`Error::InvalidEvent`], logged at warn, so
    /// a `while let Ok(event) = app.event(..).await` loop does not run.
    ///
    /// One-shot: the wait holds the first dispatch after it started and
    /// nothing more. A dispatch that comes while no wait is pending (the
    /// waiter is busy with the previous event) or a second one before the
    /// waiter ran is not seen by it, as in Sanic. To receive every
    /// dispatch, [`subscribe`](Self::subscribe) instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     let bad = app.event("job.done").await;
    ///     assert!(matches!(bad, Err(sanio::Error::InvalidEvent(_))));
    ///     let waited = app.event("my.custom.event").timeout(Duration::from_millis(5)).await;
    ///     assert!(matches!(waited, Err(sanio::Error::EventTimeout(_))));
    /// });
    /// ```
    pub fn event(&self, name: &str) -> EventWait {
        EventWait {
            app: self.clone(),
            name: name.into(),
            key: None,
            deadline: None,
            checked: validate(name, false).err(),
        }
    }

    /// How many `event(name)` waits are pending on this worker (0 off a
    /// loop). Handy to check that waits clean up after themselves.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     assert_eq!(app.event_waiters("my.custom.event"), 0);
    /// });
    /// ```
    pub fn event_waiters(&self, name: &str) -> usize {
        try_local(self).map_or(0, |local| local.events.count(name))
    }

    /// Wakes waiters, then runs handlers, on this worker.
    pub(crate) async fn dispatch_event(&self, event: Event) -> Result<(), Error> {
        let local = local(self, "dispatch")?;
        local.events.wake(&event);
        local.subscriptions.deliver(&event);
        for (pattern, handler) in self.signal_handlers(event.name()) {
            if let Err(message) = handler(self.clone(), event.clone()).await {
                log::error!("signal handler for {pattern} failed: {message}");
                if event.name() != "server.exception.report" {
                    self.report_exception(format!("signal {pattern} failed: {message}"));
                }
            }
        }
        Ok(())
    }

    /// Dispatches `server.exception.report` on this worker in the
    /// background, if anybody listens.
    pub(crate) fn report_exception(&self, message: String) {
        const REPORT: &str = "server.exception.report";
        let Some(local) = try_local(self) else {
            return;
        };
        if !local.listens(REPORT) && self.signal_handlers(REPORT).is_empty() {
            return;
        }
        let app = self.clone();
        rt::spawn(async move {
            let event = Event {
                name: REPORT.into(),
                message: Some(message.into()),
                origin: None,
                payload: None,
            };
            let _ = app.dispatch_event(event).await;
        });
    }

    /// Dispatches a built-in event if anyone listens; costs a lookup
    /// otherwise.
    pub(crate) async fn dispatch_built_in(&self, name: &'static str, message: Option<String>) {
        let listened = try_local(self).is_some_and(|l| l.listens(name))
            || !self.signal_handlers(name).is_empty();
        if listened {
            let event = Event {
                name: name.into(),
                message: message.map(Arc::from),
                origin: None,
                payload: None,
            };
            let _ = self.dispatch_event(event).await;
        }
    }
}

/// The future of [`App::event`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct EventWait {
    /// The app whose worker state holds the waiter.
    app: App,
    /// The exact event name.
    name: Arc<str>,
    /// The waiter's slot once registered.
    key: Option<usize>,
    /// The optional time limit.
    deadline: Option<Sleep>,
    /// A validation error to return at the first poll.
    checked: Option<Error>,
}

impl EventWait {
    /// Gives up with [`Error::EventTimeout`] after `limit`.
    ///
    /// # Examples
    ///
    /// See [`App::event`].
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.deadline = Some(rt::sleep(limit));
        self
    }

    /// Registers or polls the waiter.
    fn poll_waiter(&mut self, cx: &mut Context<'_>) -> Poll<Result<Event, Error>> {
        let local = local(&self.app, "event")?;
        let mut by_name = local.events.by_name.borrow_mut();
        let waiters = by_name.entry(Arc::clone(&self.name)).or_default();
        match self.key {
            Some(key) => {
                if let Some(event) = waiters[key].event.take() {
                    waiters.remove(key);
                    local.events.adjust(false);
                    self.key = None;
                    return Poll::Ready(Ok(event));
                }
                waiters[key].waker = Some(cx.waker().clone());
            }
            None => {
                self.key = Some(waiters.insert(Waiter {
                    waker: Some(cx.waker().clone()),
                    event: None,
                }));
                local.events.adjust(true);
            }
        }
        Poll::Pending
    }
}

impl Future for EventWait {
    type Output = Result<Event, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(err) = self.checked.take() {
            return Poll::Ready(Err(err));
        }
        if let Some(cancelled) = rt::take_cancel() {
            return Poll::Ready(Err(Error::Cancelled(cancelled)));
        }
        if let Poll::Ready(result) = self.poll_waiter(cx) {
            return Poll::Ready(result);
        }
        if let Some(deadline) = &mut self.deadline {
            if Pin::new(deadline).poll(cx).is_ready() {
                return Poll::Ready(Err(Error::EventTimeout(self.name.to_string())));
            }
        }
        Poll::Pending
    }
}

impl Drop for EventWait {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        if let Some(local) = try_local(&self.app) {
            let mut by_name = local.events.by_name.borrow_mut();
            if let Some(waiters) = by_name.get_mut(&self.name) {
                if waiters.try_remove(key).is_some() {
                    local.events.adjust(false);
                }
                if waiters.is_empty() {
                    by_name.remove(&self.name);
                }
            }
        }
    }
}

impl fmt::Debug for EventWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("name", &self.name)
            .field("registered", &self.key.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_three_parts() {
        for good in ["my.custom.event", "a.b.c", "x-y.z_1.w"] {
            assert!(validate(good, false).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "a..c",
            "a.b.",
            "a b.c.d",
            "a.<id:int>.c",
        ] {
            assert!(validate(bad, false).is_err(), "{bad}");
        }
        assert!(validate("user.<id:int>.login", true).is_ok());
        assert!(validate("user.<id:bogus>.login", true).is_err());
    }

    #[test]
    fn reserved_namespaces() {
        assert!(validate_user("server.exception.report", false).is_ok());
        assert!(matches!(
            validate_user("http.my.thing", false),
            Err(Error::ReservedEvent(_))
        ));
    }

    #[test]
    fn patterns_match_exact_parts() {
        assert!(matches("user.<id:int>.login", "user.42.login"));
        assert!(!matches("user.<id:int>.login", "user.bob.login"));
        assert!(matches("my.custom.event", "my.custom.event"));
        assert!(!matches("my.custom.event", "my.custom.other"));
    }
}
