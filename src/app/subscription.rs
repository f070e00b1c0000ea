//! Subscriptions: every dispatch of one event name, queued for one
//! receiver, so that none is lost between two waits.
//!
//! [`App::event`] is one-shot: a wait sees the first dispatch after it
//! started and nothing else. A dispatch that comes while nobody waits (the
//! receiver is busy sending the previous event, say), or a second one that
//! comes before the waiter ran, reaches nobody; Sanic and asyncio behave the
//! same. A [`Subscription`] is registered once, when
//! [`App::subscribe`] returns, and queues every dispatch of its name on
//! this worker until it is dropped.
//!
//! **Overflow policy.** The queue holds at most `capacity` events. When a
//! dispatch finds it full, the *oldest* queued event is dropped to make
//! room and counted in [`Subscription::missed`]: a slow receiver keeps the
//! most recent events, never blocks a dispatcher, never grows without
//! bound, and can tell how many events it lost (tokio's broadcast reports
//! the same loss as a `Lagged(n)` error; here it is a counter, so a plain
//! `while let Ok(event) = sub.recv().await` loop does not end on it).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};

use slab::Slab;

use super::local::{local, Local};
use super::signals::{validate, Event};
use super::{App, Error};
use crate::rt;

/// The queue of one subscription, shared by the worker's list (which fills
/// it) and the [`Subscription`] (which empties it).
struct Inbox {
    /// Events dispatched and not yet received, oldest first.
    /// INVARIANT: at most `capacity` long.
    queue: RefCell<VecDeque<Event>>,
    /// The most events kept.
    capacity: usize,
    /// Events dropped because the queue was full.
    missed: Cell<u64>,
    /// The receiver waiting in `recv`, if one is.
    waker: RefCell<Option<Waker>>,
}

impl Inbox {
    /// Queues `event`, dropping the oldest one if full; returns the waker
    /// to wake (outside any borrow).
    fn push(&self, event: Event) -> Option<Waker> {
        let mut queue = self.queue.borrow_mut();
        if queue.len() >= self.capacity {
            queue.pop_front();
            self.missed.set(self.missed.get() + 1);
        }
        queue.push_back(event);
        self.waker.borrow_mut().take()
    }
}

/// The subscriptions of one worker, by exact event name.
#[derive(Default)]
pub(crate) struct Subscribers {
    /// Inboxes per event name.
    by_name: RefCell<HashMap<Arc<str>, Slab<Rc<Inbox>>>>,
}

impl Subscribers {
    /// Queues `event` in every subscription to its name; returns how many.
    pub(crate) fn deliver(&self, event: &Event) -> usize {
        let wakers: Vec<Waker> = {
            let by_name = self.by_name.borrow();
            let Some(inboxes) = by_name.get(event.name()) else {
                return 0;
            };
            inboxes
                .iter()
                .filter_map(|(_, inbox)| inbox.push(event.clone()))
                .collect()
        };
        let count = wakers.len();
        wakers.into_iter().for_each(Waker::wake);
        count
    }

    /// How many subscriptions to `name` are open on this worker; one check
    /// of a length while none is.
    pub(crate) fn count(&self, name: &str) -> usize {
        let by_name = self.by_name.borrow();
        if by_name.is_empty() {
            return 0;
        }
        by_name.get(name).map_or(0, Slab::len)
    }

    /// Adds an inbox for `name`; returns its key.
    fn add(&self, name: &Arc<str>, inbox: Rc<Inbox>) -> usize {
        self.by_name
            .borrow_mut()
            .entry(Arc::clone(name))
            .or_default()
            .insert(inbox)
    }

    /// Removes the inbox `key` of `name`.
    fn remove(&self, name: &str, key: usize) {
        let mut by_name = self.by_name.borrow_mut();
        if let Some(inboxes) = by_name.get_mut(name) {
            drop(inboxes.try_remove(key));
            if inboxes.is_empty() {
                by_name.remove(name);
            }
        }
    }
}

impl App {
    /// Subscribes to every dispatch of exactly `name` on this worker, from
    /// now until the [`Subscription`] is dropped, keeping up to `capacity`
    /// events that were not received yet (a capacity of 0 is taken as 1).
    /// When the queue is full, the oldest event is dropped and counted in
    /// [`Subscription::missed`].
    ///
    /// Use it where every event matters (a feed that forwards each one);
    /// [`event`](Self::event) is the one-shot wait for "the next dispatch",
    /// which misses what comes while nobody waits.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEvent`] for a name that is not three parts, or
    /// [`Error::NoLoop`] off a loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     let mut feed = app.subscribe("my.custom.event", 16).unwrap();
    ///     // Two dispatches back to back: a one-shot `event()` would see one.
    ///     app.dispatch_with("my.custom.event", "one").await.unwrap();
    ///     app.dispatch_with("my.custom.event", "two").await.unwrap();
    ///     assert_eq!(feed.recv().await.unwrap().message(), Some("one"));
    ///     assert_eq!(feed.recv().await.unwrap().message(), Some("two"));
    ///     assert_eq!(feed.missed(), 0);
    /// });
    /// ```
    pub fn subscribe(&self, name: &str, capacity: usize) -> Result<Subscription, Error> {
        validate(name, false)?;
        let local = local(self, "subscribe")?;
        let name: Arc<str> = name.into();
        let inbox = Rc::new(Inbox {
            queue: RefCell::new(VecDeque::new()),
            capacity: capacity.max(1),
            missed: Cell::new(0),
            waker: RefCell::new(None),
        });
        let key = local.subscriptions.add(&name, Rc::clone(&inbox));
        Ok(Subscription {
            local,
            name,
            key,
            inbox,
        })
    }

    /// How many subscriptions to `name` are open on this worker (0 off a
    /// loop). Handy to check that subscriptions clean up after themselves.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     let feed = app.subscribe("my.custom.event", 8).unwrap();
    ///     assert_eq!(app.subscribers("my.custom.event"), 1);
    ///     drop(feed);
    ///     assert_eq!(app.subscribers("my.custom.event"), 0);
    /// });
    /// ```
    pub fn subscribers(&self, name: &str) -> usize {
        super::local::try_local(self).map_or(0, |local| local.subscriptions.count(name))
    }
}

/// Every dispatch of one event name on one worker, queued until received:
/// see [`App::subscribe`] and the overflow policy there.
///
/// It belongs to the worker's loop that made it (it is not `Send`).
/// Dropping it ends the subscription and drops the events still queued.
///
/// # Examples
///
/// The seed's feed, with no notification lost between two sends:
///
/// ```
/// async fn feed(app: sanio::App, ws: sanio::WebSocket) -> Result<(), sanio::Error> {
///     let mut events = app.subscribe("my.custom.event", 256)?;
///     // Ends with `Cancelled` when the client goes away.
///     while let Ok(event) = events.recv().await {
///         if ws.send(event.message().unwrap_or("A message")).await.is_err() {
///             break;
///         }
///     }
///     Ok(())
/// }
/// # let _ = feed;
/// ```
pub struct Subscription {
    /// The worker's state that fills the inbox.
    local: Rc<Local>,
    /// The exact event name.
    name: Arc<str>,
    /// The inbox's slot in the worker's list.
    key: usize,
    /// The queue.
    inbox: Rc<Inbox>,
}

impl Subscription {
    /// Waits for the next queued event, oldest first. Cancellation-aware:
    /// in a cancelled task it ends with [`Error::Cancelled`] (the events
    /// still queued stay there).
    ///
    /// # Errors
    ///
    /// [`Error::Cancelled`] when the calling task was cancelled.
    ///
    /// # Examples
    ///
    /// See [`App::subscribe`].
    pub async fn recv(&mut self) -> Result<Event, Error> {
        poll_fn(|cx| {
            if let Some(cancelled) = rt::take_cancel() {
                return Poll::Ready(Err(Error::Cancelled(cancelled)));
            }
            if let Some(event) = self.inbox.queue.borrow_mut().pop_front() {
                return Poll::Ready(Ok(event));
            }
            *self.inbox.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// The next queued event, if one is; never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     let mut feed = app.subscribe("my.custom.event", 1).unwrap();
    ///     assert!(feed.try_recv().is_none());
    ///     app.dispatch_with("my.custom.event", "old").await.unwrap();
    ///     app.dispatch_with("my.custom.event", "new").await.unwrap();
    ///     // Full at one event: the oldest went, and was counted.
    ///     assert_eq!(feed.try_recv().unwrap().message(), Some("new"));
    ///     assert_eq!(feed.missed(), 1);
    /// });
    /// ```
    pub fn try_recv(&mut self) -> Option<Event> {
        self.inbox.queue.borrow_mut().pop_front()
    }

    /// How many events were dropped, in all, because the queue was full.
    ///
    /// # Examples
    ///
    /// See [`try_recv`](Self::try_recv).
    pub fn missed(&self) -> u64 {
        self.inbox.missed.get()
    }

    /// The event name subscribed to.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     assert_eq!(app.subscribe("a.b.c", 4).unwrap().name(), "a.b.c");
    /// });
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.local.subscriptions.remove(&self.name, self.key);
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("name", &self.name)
            .field("queued", &self.inbox.queue.borrow().len())
            .field("capacity", &self.inbox.capacity)
            .field("missed", &self.missed())
            .finish()
    }
}
