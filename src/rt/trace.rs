//! Trace mode: a recording of what the loop did, for learning and debugging.
//!
//! A runtime made with [`Runtime::with_trace`](super::Runtime::with_trace)
//! records every step of its life into a bounded ring: spawns, polls (with
//! their duration), wakes (local or remote, and from which task), I/O
//! readiness, timers, the stages of a cancel, and task ends. The loop's
//! files each have one-line hooks (`core.trace.record(|| ...)`); everything
//! else lives here. With tracing off (the default) a hook is one branch on
//! a field that never changes, and the closure that builds the event is
//! never called: measured with callgrind, +3.2% instructions on a workload
//! made of nothing but spawns, polls and wakes, about 6 instructions a hook
//! (`benches/README.md`, section 3).
//!
//! [`Runtime::trace`](super::Runtime::trace) returns a [`TraceLog`]: a text
//! timeline a learner can read top to bottom, and Chrome trace-event JSON
//! that Perfetto (<https://ui.perfetto.dev>) and `chrome://tracing` open:
//! one track per task (plus one for the loop itself), polls as slices, wakes
//! as flow arrows from the waker to the poll they cause.
//!
//! The JSON is written by hand rather than through `serde_json`: the trace
//! is part of `rt`, which must build without the optional `json` feature,
//! and the output is a flat list of small objects whose only free text
//! (task names) goes through [`json_string`].

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt::{self, Write as _};
use std::task::Poll;
use std::time::{Duration, Instant};

use super::runtime::Runtime;
use super::task::{TaskId, TaskState};

/// The environment variable naming where a traced runtime writes its
/// Chrome JSON when it is dropped.
pub const TRACE_OUT_ENV: &str = "SANIO_TRACE_OUT";

impl Runtime {
    /// Turns trace mode on: from now on the loop records what it does into
    /// a ring of the newest `capacity` events (so a long run cannot eat
    /// memory; a few hundred bytes per event). Read it with
    /// [`trace`](Self::trace). When the runtime is dropped and the
    /// `SANIO_TRACE_OUT` environment variable names a file, the Chrome
    /// JSON is written there.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap().with_trace(100_000);
    /// rt.block_on(async { sanio::spawn(async {}).await.unwrap() });
    /// print!("{}", rt.trace().unwrap().to_text());
    /// ```
    pub fn with_trace(self, capacity: usize) -> Self {
        self.core().trace.start(capacity);
        self
    }

    /// What trace mode recorded so far (a copy; recording goes on), or
    /// `None` when it is off.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::Runtime::new().unwrap().trace().is_none());
    /// ```
    pub fn trace(&self) -> Option<TraceLog> {
        self.core().trace.snapshot()
    }
}

/// Writes the Chrome JSON of a traced loop to `$SANIO_TRACE_OUT`, if both
/// are there: the runtime's last act.
pub(crate) fn dump_at_exit(trace: &Trace) {
    let Some(path) = std::env::var_os(TRACE_OUT_ENV) else {
        return;
    };
    if let Some(log) = trace.snapshot() {
        if let Err(err) = std::fs::write(&path, log.to_chrome_json()) {
            log::error!("writing the trace to {}: {err}", path.to_string_lossy());
        }
    }
}

/// What happened, without its timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum What {
    /// A task was spawned (and named, if it has a name).
    Spawn(TaskId, Option<String>),
    /// A poll of a task began.
    PollStart(TaskId),
    /// A poll of a task ended: `true` if the task returned.
    PollEnd(TaskId, bool),
    /// A task was woken: by the task being polled (`from`), by the loop
    /// (I/O or a timer: `from` is `None`), or from another thread.
    Wake {
        /// The task woken.
        task: TaskId,
        /// The task that woke it, if a task did.
        from: Option<TaskId>,
        /// Whether the wake came from another thread.
        remote: bool,
    },
    /// The loop began waiting for I/O.
    WaitStart,
    /// The wait ended with this many events.
    WaitEnd(usize),
    /// A registered socket became ready.
    Io {
        /// The registration's token (slab key).
        token: usize,
        /// Ready to read.
        read: bool,
        /// Ready to write.
        write: bool,
    },
    /// A timer was inserted, due after this long.
    TimerInsert(Duration),
    /// A timer fired.
    TimerFire,
    /// A timer was removed before it fired.
    TimerRemove,
    /// A cancel was asked for.
    CancelRequested(TaskId),
    /// The task saw its cancel (a cancellation-aware await returned).
    CancelObserved(TaskId),
    /// The task's grace period ran out.
    GraceOver(TaskId),
    /// The task's future was dropped by a cancel.
    Dropped(TaskId),
    /// The task ended.
    End(TaskId, TaskState),
}

impl What {
    /// A wake on the loop's thread, by the task `from` (or the loop).
    pub(crate) fn wake(task: TaskId, from: Option<TaskId>) -> Self {
        What::Wake {
            task,
            from,
            remote: false,
        }
    }

    /// A wake from another thread.
    pub(crate) fn remote_wake(task: TaskId) -> Self {
        What::Wake {
            task,
            from: None,
            remote: true,
        }
    }

    /// The end of a poll whose result (caught panics included) is `polled`.
    pub(crate) fn poll_end<T, E>(id: TaskId, polled: &Result<Poll<T>, E>) -> Self {
        What::PollEnd(id, !matches!(polled, Ok(Poll::Pending)))
    }
}

/// One recorded event.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// When, on the real clock.
    at: Instant,
    /// What.
    what: What,
}

/// The recorder of one loop: off (`None`) unless the runtime asked for it.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    /// The ring, once tracing is on.
    ring: OnceCell<RefCell<Ring>>,
}

/// A bounded buffer: the newest `capacity` events.
#[derive(Debug)]
struct Ring {
    /// When recording began (time zero of the outputs).
    start: Instant,
    /// The events, oldest first.
    events: VecDeque<Event>,
    /// The most events kept.
    capacity: usize,
    /// Events pushed out by newer ones.
    dropped: u64,
}

impl Trace {
    /// Tracing off: every hook is one untaken branch.
    pub(crate) fn off() -> Self {
        Self {
            ring: OnceCell::new(),
        }
    }

    /// Starts recording into a ring of `capacity` events (at least one).
    /// Once on, tracing stays on; a second call changes nothing.
    pub(crate) fn start(&self, capacity: usize) {
        let _ = self.ring.set(RefCell::new(Ring {
            start: Instant::now(),
            events: VecDeque::with_capacity(capacity.clamp(1, 4096)),
            capacity: capacity.max(1),
            dropped: 0,
        }));
    }

    /// Records the event `what()` builds, if tracing is on. The hooks call
    /// this; `what` is not called when it is off.
    #[inline]
    pub(crate) fn record(&self, what: impl FnOnce() -> What) {
        if let Some(ring) = self.ring.get() {
            ring.borrow_mut().push(what());
        }
    }

    /// A copy of what was recorded, if tracing is on.
    pub(crate) fn snapshot(&self) -> Option<TraceLog> {
        let ring = self.ring.get()?.borrow();
        Some(TraceLog {
            start: ring.start,
            events: ring.events.iter().cloned().collect(),
            dropped: ring.dropped,
        })
    }
}

impl Ring {
    /// Appends an event, pushing out the oldest when full.
    fn push(&mut self, what: What) {
        if self.events.len() == self.capacity {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(Event {
            at: Instant::now(),
            what,
        });
    }
}

/// What a traced runtime recorded, from
/// [`Runtime::trace`](super::Runtime::trace): a text timeline or Chrome
/// trace-event JSON.
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap().with_trace(10_000);
/// rt.block_on(async {
///     sanio::rt::spawn_named("hello", async {}).await.unwrap();
/// });
/// let log = rt.trace().expect("tracing is on");
/// assert!(log.to_text().contains("spawn"));
/// assert!(log.to_chrome_json().starts_with("{\"traceEvents\":["));
/// ```
#[derive(Debug, Clone)]
pub struct TraceLog {
    /// Time zero.
    start: Instant,
    /// The events, oldest first.
    events: Vec<Event>,
    /// How many older events the ring pushed out.
    dropped: u64,
}

impl TraceLog {
    /// How many events it holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap().with_trace(3);
    /// rt.block_on(async { for _ in 0..10 { sanio::spawn(async {}); } });
    /// assert_eq!(rt.trace().unwrap().len(), 3); // the ring keeps the newest
    /// ```
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether it holds no event.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap().with_trace(100);
    /// assert!(rt.trace().unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// How many older events the ring pushed out to stay within its
    /// capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap().with_trace(3);
    /// rt.block_on(async { for _ in 0..10 { sanio::spawn(async {}); } });
    /// assert!(rt.trace().unwrap().dropped() > 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Task names, from the spawn events still in the ring; the future of
    /// `block_on` is "main".
    fn names(&self) -> HashMap<TaskId, String> {
        let spawned = self.events.iter().filter_map(|event| match &event.what {
            What::Spawn(id, Some(name)) => Some((*id, name.clone())),
            _ => None,
        });
        std::iter::once((TaskId::MAIN, "main".to_owned()))
            .chain(spawned)
            .collect()
    }

    /// Microseconds since time zero.
    fn micros(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.start).as_secs_f64() * 1e6
    }

    /// The human timeline: one line per event, top to bottom, with the time
    /// since tracing began, the task (and its name) and what happened.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap().with_trace(1000);
    /// rt.block_on(async { sanio::rt::spawn_named("greeter", async {}).await.unwrap() });
    /// let text = rt.trace().unwrap().to_text();
    /// assert!(text.contains("task 0.0 \"greeter\""));
    /// ```
    pub fn to_text(&self) -> String {
        let names = self.names();
        let task = |id: &TaskId| match names.get(id) {
            _ if *id == TaskId::MAIN => "main".to_owned(),
            Some(name) => format!("task {id} {}", json_string(name)),
            None => format!("task {id}"),
        };
        let mut out = String::new();
        if self.dropped > 0 {
            let _ = writeln!(out, "({} older events were dropped)", self.dropped);
        }
        let mut poll_began: HashMap<TaskId, Instant> = HashMap::new();
        for event in &self.events {
            let line = match &event.what {
                What::Spawn(id, _) => format!("spawn          {}", task(id)),
                What::PollStart(id) => {
                    poll_began.insert(*id, event.at);
                    format!("poll           {}", task(id))
                }
                What::PollEnd(id, ready) => {
                    let took = poll_began
                        .remove(id)
                        .map(|began| event.at.saturating_duration_since(began))
                        .unwrap_or_default();
                    let how = if *ready { "ready" } else { "pending" };
                    format!("  -> {how:<9}  {} ({took:?})", task(id))
                }
                What::Wake {
                    task: id,
                    from,
                    remote,
                } => {
                    let by = match (from, remote) {
                        (_, true) => "another thread".to_owned(),
                        (Some(from), false) => task(from),
                        (None, false) => "the loop".to_owned(),
                    };
                    format!("wake           {} (by {by})", task(id))
                }
                What::WaitStart => "wait for I/O".to_owned(),
                What::WaitEnd(n) => format!("  -> {n} event(s)"),
                What::Io { token, read, write } => {
                    let dirs = match (read, write) {
                        (true, true) => "readable+writable",
                        (true, false) => "readable",
                        _ => "writable",
                    };
                    format!("io             socket {token} {dirs}")
                }
                What::TimerInsert(after) => format!("timer insert   due in {after:?}"),
                What::TimerFire => "timer fire".to_owned(),
                What::TimerRemove => "timer remove".to_owned(),
                What::CancelRequested(id) => format!("cancel         {} requested", task(id)),
                What::CancelObserved(id) => format!("cancel seen    {}", task(id)),
                What::GraceOver(id) => format!("grace over     {}", task(id)),
                What::Dropped(id) => format!("dropped        {}", task(id)),
                What::End(id, state) => format!("end            {} ({state})", task(id)),
            };
            let _ = writeln!(out, "{:>10.3} ms  {line}", self.micros(event.at) / 1000.0);
        }
        out
    }

    /// Chrome trace-event JSON (the "JSON object format"), for Perfetto or
    /// `chrome://tracing`: track 0 is the loop (waits for I/O, I/O and
    /// timer events), every task has its own track named after it, polls
    /// are slices, cancel stages are instants, and each wake is a flow
    /// arrow from where it happened to the poll it caused.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap().with_trace(1000);
    /// rt.block_on(async { sanio::spawn(async {}).await.unwrap() });
    /// let json = rt.trace().unwrap().to_chrome_json();
    /// assert!(json.contains("\"ph\":\"X\"")); // a poll slice
    /// ```
    pub fn to_chrome_json(&self) -> String {
        let names = self.names();
        let mut chrome = Chrome::default();
        chrome.thread_name(0, "loop");
        let mut tracks = HashMap::new();
        let mut track = |chrome: &mut Chrome, id: TaskId| -> u64 {
            let next = tracks.len() as u64 + 1;
            *tracks.entry(id).or_insert_with(|| {
                let name = match names.get(&id) {
                    _ if id == TaskId::MAIN => "main (block_on)".to_owned(),
                    Some(name) => format!("task {id} {name}"),
                    None => format!("task {id}"),
                };
                chrome.thread_name(next, &name);
                next
            })
        };
        let mut open: HashMap<u64, f64> = HashMap::new();
        let mut current: Option<u64> = None;
        let mut flow = 0u64;
        for event in &self.events {
            let ts = self.micros(event.at);
            match &event.what {
                What::Spawn(id, _) => {
                    let tid = track(&mut chrome, *id);
                    chrome.instant(tid, ts, "spawn");
                }
                What::PollStart(id) => {
                    let tid = track(&mut chrome, *id);
                    open.insert(tid, ts);
                    current = Some(tid);
                }
                What::PollEnd(id, ready) => {
                    let tid = track(&mut chrome, *id);
                    let began = open.remove(&tid).unwrap_or(ts);
                    let name = if *ready { "poll (ready)" } else { "poll" };
                    chrome.slice(tid, began, ts - began, name);
                    current = None;
                }
                What::Wake {
                    task: id, remote, ..
                } => {
                    let to = track(&mut chrome, *id);
                    let from = if *remote { 0 } else { current.unwrap_or(0) };
                    flow += 1;
                    chrome.flow(from, to, ts, flow);
                }
                What::WaitStart => {
                    open.insert(0, ts);
                }
                What::WaitEnd(_) => {
                    let began = open.remove(&0).unwrap_or(ts);
                    chrome.slice(0, began, ts - began, "wait for I/O");
                }
                What::Io { token, .. } => chrome.instant(0, ts, &format!("io socket {token}")),
                What::TimerInsert(_) => chrome.instant(current.unwrap_or(0), ts, "timer insert"),
                What::TimerFire => chrome.instant(0, ts, "timer fire"),
                What::TimerRemove => chrome.instant(current.unwrap_or(0), ts, "timer remove"),
                What::CancelRequested(id) => {
                    let tid = track(&mut chrome, *id);
                    chrome.instant(tid, ts, "cancel requested");
                }
                What::CancelObserved(id) => {
                    let tid = track(&mut chrome, *id);
                    chrome.instant(tid, ts, "cancel observed");
                }
                What::GraceOver(id) => {
                    let tid = track(&mut chrome, *id);
                    chrome.instant(tid, ts, "grace over");
                }
                What::Dropped(id) => {
                    let tid = track(&mut chrome, *id);
                    chrome.instant(tid, ts, "dropped");
                }
                What::End(id, state) => {
                    let tid = track(&mut chrome, *id);
                    chrome.instant(tid, ts, &format!("end ({state})"));
                }
            }
        }
        chrome.finish()
    }
}

impl fmt::Display for TraceLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A writer of trace-event objects into one JSON document.
#[derive(Default)]
struct Chrome {
    /// `{"traceEvents":[` ... so far.
    out: String,
}

impl Chrome {
    /// Appends one event object (its fields, without braces).
    fn event(&mut self, fields: fmt::Arguments<'_>) {
        self.out.push_str(if self.out.is_empty() {
            "{\"traceEvents\":[\n{"
        } else {
            ",\n{"
        });
        let _ = self.out.write_fmt(fields);
        self.out.push('}');
    }

    /// Names track `tid`.
    fn thread_name(&mut self, tid: u64, name: &str) {
        let name = json_string(name);
        self.event(format_args!(
            "\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":{tid},\"args\":{{\"name\":{name}}}"
        ));
    }

    /// A complete slice.
    fn slice(&mut self, tid: u64, ts: f64, dur: f64, name: &str) {
        let name = json_string(name);
        self.event(format_args!(
            "\"ph\":\"X\",\"name\":{name},\"pid\":1,\"tid\":{tid},\"ts\":{ts:.3},\"dur\":{dur:.3}"
        ));
    }

    /// A thread-scoped instant.
    fn instant(&mut self, tid: u64, ts: f64, name: &str) {
        let name = json_string(name);
        self.event(format_args!(
            "\"ph\":\"i\",\"s\":\"t\",\"name\":{name},\"pid\":1,\"tid\":{tid},\"ts\":{ts:.3}"
        ));
    }

    /// A flow arrow from the slice enclosing `ts` on `from` to the next
    /// slice on `to` (the poll the wake causes).
    fn flow(&mut self, from: u64, to: u64, ts: f64, id: u64) {
        self.event(format_args!(
            "\"ph\":\"s\",\"name\":\"wake\",\"cat\":\"wake\",\"id\":{id},\"pid\":1,\"tid\":{from},\"ts\":{ts:.3}"
        ));
        self.event(format_args!(
            "\"ph\":\"f\",\"name\":\"wake\",\"cat\":\"wake\",\"id\":{id},\"pid\":1,\"tid\":{to},\"ts\":{ts:.3}"
        ));
    }

    /// Closes the document.
    fn finish(mut self) -> String {
        if self.out.is_empty() {
            self.out.push_str("{\"traceEvents\":[");
        }
        self.out.push_str("\n],\"displayTimeUnit\":\"ms\"}\n");
        self.out
    }
}

/// `s` as a JSON string literal, quotes included.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_what_json_requires() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }

    #[test]
    fn the_ring_keeps_the_newest_events() {
        let trace = Trace::off();
        trace.record(|| unreachable!("off: the event is never built"));
        trace.start(2);
        for _ in 0..5 {
            trace.record(|| What::TimerFire);
        }
        let log = trace.snapshot().unwrap();
        assert_eq!((log.len(), log.dropped()), (2, 3));
    }
}
