//! The opt-in SIGUSR1 task tree: with it on, the signal is taken (and the
//! tree logged) instead of ending the process, SIGUSR1's default.

mod support;

use sanio::{App, Config, Request};
use support::client::get;

#[test]
fn sigusr1_is_taken_by_the_dump_instead_of_ending_the_process() {
    let app = App::new("usr1");
    app.get("/", |_req: Request| async { "alive" }).unwrap();
    let config = Config::default().port(0).dump_on_sigusr1(true);
    let server = app.serve(config).unwrap();
    let addr = server.local_addr();
    assert_eq!(get(addr, "/").text(), "alive");
    assert_eq!(unsafe_free_raise(), 0);
    // Still here, still serving.
    assert_eq!(get(addr, "/").text(), "alive");
    server.stop();
    server.join().unwrap();
}

/// Sends SIGUSR1 to this process through `kill(1)`, avoiding `unsafe`.
fn unsafe_free_raise() -> i32 {
    let status = std::process::Command::new("kill")
        .args(["-USR1", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    status.code().unwrap_or(-1)
}
