//! Driving the loop from a host: `Runtime::turn`, `next_deadline`, and the
//! reactor's descriptor watched by a foreign `poll(2)`.

mod support;

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::time::Duration;

use sanio::rt::LoopBusy;
use sanio::Runtime;

/// Whether `fd` is readable now, asked of `poll(2)` without waiting.
fn readable_now(fd: BorrowedFd<'_>) -> bool {
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    let n = poll(&mut fds, PollTimeout::ZERO).expect("poll");
    n == 1
        && fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN))
}

#[test]
fn turn_reports_what_it_did() {
    let rt = Runtime::new().unwrap().with_paused_clock();
    let idle = rt.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(idle.tasks_polled, 0);
    assert!(!idle.more_work);

    let sleeper = rt.spawn(async {
        sanio::sleep(Duration::from_secs(2)).await;
        sanio::rt::yield_now().await;
    });
    let first = rt.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(first.tasks_polled, 1);
    assert_eq!(rt.next_deadline(), Some(rt.now() + Duration::from_secs(2)));
    // Auto-advance jumps to the timer: it fires, the task runs, yields, and
    // runs again in the same turn (a yield goes to the back of the queue).
    let fired = rt.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(fired.timers_fired, 1);
    assert_eq!(fired.tasks_polled, 2);
    assert!(!fired.more_work);
    assert!(sleeper.is_finished());
    assert_eq!(rt.next_deadline(), None);
}

#[test]
fn turn_polls_at_most_the_budget_and_says_more_work_remains() {
    let rt = Runtime::new().unwrap();
    let handles: Vec<_> = (0..300).map(|_| rt.spawn(async {})).collect();
    let first = rt.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(first.tasks_polled, 256);
    assert!(first.more_work);
    let second = rt.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(second.tasks_polled, 44);
    assert!(!second.more_work);
    assert!(handles.iter().all(|h| h.is_finished()));
}

#[test]
fn turn_inside_a_running_loop_is_an_error_value() {
    let rt = Runtime::new().unwrap();
    let other = Runtime::new().unwrap();
    let err = rt.block_on(async { other.turn(None) }).unwrap_err();
    assert_eq!(err, LoopBusy);
}

#[test]
fn the_descriptor_is_readable_for_remote_work_and_io_not_for_timers() {
    let rt = Runtime::new().unwrap();
    assert!(rt.as_raw_fd() >= 0);
    let fd = rt.as_fd();
    assert!(!readable_now(fd));

    // Remote work makes it readable; the turn that takes it clears it.
    rt.handle().spawn(async {}).unwrap();
    assert!(readable_now(fd));
    let turn = rt.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(turn.remote_items, 1);
    assert!(!readable_now(fd));

    // I/O on a registered socket makes it readable.
    let listener = rt.block_on(async { sanio::net::TcpListener::bind("127.0.0.1:0") });
    let listener = listener.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = rt.spawn(async move { listener.accept().await.map(|_| ()) });
    rt.turn(Some(Duration::ZERO)).unwrap();
    assert!(!readable_now(fd));
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    client.write_all(b"x").unwrap();
    let deadline = std::time::Instant::now() + support::rt::HANG_GUARD;
    while !readable_now(fd) {
        assert!(std::time::Instant::now() < deadline, "never readable");
        std::thread::yield_now();
    }
    while !accept.is_finished() {
        rt.turn(Some(Duration::from_millis(100))).unwrap();
    }

    // A timer alone does not: the host asks `next_deadline` instead.
    let _sleeper = rt.spawn(async { sanio::sleep(Duration::from_millis(1)).await });
    rt.turn(Some(Duration::ZERO)).unwrap();
    let due = rt.next_deadline().expect("the sleep's timer");
    std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
    assert!(!readable_now(fd));
    assert_eq!(rt.turn(Some(Duration::ZERO)).unwrap().timers_fired, 1);
}
