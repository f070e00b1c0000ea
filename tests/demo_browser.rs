//! The demo page in a real browser: headless Chromium loads `/app` (which
//! redirects to the static page at `/static/`, with its script and styles
//! beside it), posts a notification through the page's form, and the page
//! shows it (it came back over the `/feed` websocket); then it uploads a
//! file through the page's upload form (a browser-made multipart body) and
//! the page shows what the server parsed; and its live task tree (from
//! `/admin/tasks`, once the admin token is typed) shows the singleton
//! ticker, a task added through the page's form, and that task cancelled
//! with its button.
//!
//! Chromium is driven over the DevTools protocol with the tungstenite
//! client. Without a Chromium binary the test says so loudly on stderr and
//! does nothing else; `.ci/run` installs Debian's `chromium` first.

#![cfg(all(feature = "ws", feature = "json"))]

#[path = "../examples/demo/app.rs"]
#[allow(dead_code)]
mod demo_app;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sanio::Config;
use serde_json::{json, Value};
use tungstenite::Message;

/// Where Chromium may be installed.
const CANDIDATES: &[&str] = &[
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
];

/// The browser binary, if one is installed.
fn chromium() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("SANIO_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    CANDIDATES.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Kills the browser when the test ends, however it ends.
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A DevTools protocol connection.
struct DevTools {
    /// The browser-level websocket.
    socket: tungstenite::WebSocket<TcpStream>,
    /// The id of the next command.
    next_id: u64,
}

impl DevTools {
    /// Sends a command and returns its result, skipping events.
    fn call(&mut self, method: &str, params: Value, session: Option<&str>) -> Value {
        self.next_id += 1;
        let mut command = json!({ "id": self.next_id, "method": method, "params": params });
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(command.to_string()))
            .expect("send to the browser");
        loop {
            let reply = self.socket.read().expect("read from the browser");
            let Message::Text(text) = reply else { continue };
            let value: Value = serde_json::from_str(text.as_str()).expect("JSON from the browser");
            if value["id"] == json!(self.next_id) {
                assert!(value.get("error").is_none(), "{method} failed: {value}");
                return value["result"].clone();
            }
        }
    }

    /// Evaluates `expression` in the page and returns its value.
    fn eval(&mut self, session: &str, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
            Some(session),
        );
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until it gives `true` (bounded by a hang guard).
    fn wait_until(&mut self, session: &str, expression: &str, what: &str) {
        for _ in 0..600 {
            if self.eval(session, expression) == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the page never showed {what}");
    }
}

/// Starts headless Chromium and connects to its DevTools endpoint.
fn launch(binary: &PathBuf) -> (Browser, DevTools) {
    let profile = std::env::temp_dir().join(format!("sanio-chromium-{}", std::process::id()));
    let mut child = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-port=0",
            "about:blank",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
    let browser = Browser(child);
    let url = stderr
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.split("DevTools listening on ")
                .nth(1)
                .map(str::to_owned)
        })
        .expect("chromium printed its DevTools address");
    let host = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .expect("host:port")
        .to_owned();
    let stream = TcpStream::connect(&host).expect("connect to DevTools");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let (socket, _) = tungstenite::client(url.as_str(), stream).expect("DevTools handshake");
    (browser, DevTools { socket, next_id: 0 })
}

#[test]
fn browser_posts_a_notification_and_the_page_shows_it() {
    let Some(binary) = chromium() else {
        let banner =
            "\n\n*** SKIPPED browser test: no Chromium found (install Debian's `chromium`) ***\n\n";
        let _ = std::io::stderr().write_all(banner.as_bytes());
        return;
    };
    let app = demo_app::build_with(Some("browser-s3cret".into())).unwrap();
    let server = app.serve(Config::default().port(0)).unwrap();
    let page = format!("http://{}/app", server.local_addr());

    let (_browser, mut devtools) = launch(&binary);
    let target = devtools.call("Target.createTarget", json!({ "url": page }), None);
    let attached = devtools.call(
        "Target.attachToTarget",
        json!({ "targetId": target["targetId"], "flatten": true }),
        None,
    );
    let session = attached["sessionId"]
        .as_str()
        .expect("a session")
        .to_owned();

    devtools.wait_until(
        &session,
        "document.getElementById('status')?.textContent === 'connected to /feed'",
        "the feed connected",
    );
    let submit = "document.getElementById('message').value = 'hello from the browser'; \
                  document.getElementById('notify').requestSubmit(); true";
    let shown =
        "document.getElementById('messages').textContent.includes('hello from the browser')";
    for _ in 0..100 {
        devtools.eval(&session, submit);
        std::thread::sleep(Duration::from_millis(50));
        if devtools.eval(&session, shown) == json!(true) {
            break;
        }
    }
    devtools.wait_until(&session, shown, "the notification");

    // The page came from /static/, styled by the stylesheet beside it.
    assert_eq!(
        devtools.eval(&session, "location.pathname"),
        json!("/static/")
    );
    assert_eq!(
        devtools.eval(
            &session,
            "getComputedStyle(document.getElementById('status')).color"
        ),
        json!("rgb(102, 102, 102)")
    );

    // A browser-made multipart upload through the page's form.
    let upload = "const form = document.getElementById('upload');                   form.note.value = 'from chromium';                   const files = new DataTransfer();                   files.items.add(new File(['twelve bytes'], 'hello.txt', { type: 'text/plain' }));                   form.file.files = files.files;                   form.requestSubmit(); true";
    assert_eq!(devtools.eval(&session, upload), json!(true));
    devtools.wait_until(
        &session,
        "(() => { const t = document.getElementById('uploaded').textContent;          if (!t) return false; const r = JSON.parse(t);          return r.fields.note === 'from chromium' && r.files.length === 1            && r.files[0].filename === 'hello.txt' && r.files[0].size === 12            && r.files[0].content_type === 'text/plain'; })()",
        "the parsed upload",
    );

    // The live task tree, from /admin/tasks behind the admin token: refused
    // until the token is typed, then the singleton ticker, then a task
    // added through the form, then cancelled with its button.
    devtools.wait_until(
        &session,
        "document.getElementById('tree').textContent.includes('needs the admin token')",
        "the tree asking for the token",
    );
    devtools.eval(
        &session,
        "(() => { const field = document.getElementById('admin-token'); \
         field.value = 'browser-s3cret'; field.dispatchEvent(new Event('change')); return true; })()",
    );
    devtools.wait_until(
        &session,
        "document.getElementById('tree').textContent.includes('ticker [')",
        "the ticker in the task tree",
    );
    devtools.eval(
        &session,
        "document.getElementById('task-name').value = 'browser-job'; \
         document.getElementById('task-seconds').value = '3600'; \
         document.getElementById('add-task').requestSubmit(); true",
    );
    devtools.wait_until(
        &session,
        "[...document.querySelectorAll('#tree .task')].some(r => r.dataset.name === 'browser-job' \
         && r.textContent.includes('[idle]'))",
        "the added task",
    );
    devtools.eval(
        &session,
        "[...document.querySelectorAll('#tree .task')].find(r => r.dataset.name === 'browser-job') \
         .querySelector('button').click(); true",
    );
    devtools.wait_until(
        &session,
        "[...document.querySelectorAll('#tree .task')].some(r => r.dataset.name === 'browser-job' \
         && r.textContent.includes('[finished]'))",
        "the cancelled task",
    );

    server.stop();
    server.join().unwrap();
}
