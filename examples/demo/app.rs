//! The demo's app: background tasks, routes, listeners, middleware, the
//! `/admin` blueprint and the static page. Shared by `main.rs` and the
//! end-to-end tests (`tests/demo.rs`, `tests/demo_browser.rs`).

use std::time::{Duration, Instant};

use sanio::{
    App, Backoff, Blueprint, Error, HttpError, Request, RequestInfo, Response, Restart, Singleton,
    StatusCode, WebSocket,
};
use serde_json::json;

/// The page, its script and its styles, served at `/static/`.
const STATIC_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo/static");

/// The demo app, ready to run; `/admin` takes the bearer token in
/// `SANIO_ADMIN_TOKEN` (open when unset).
pub fn build() -> Result<App, Error> {
    build_with(std::env::var("SANIO_ADMIN_TOKEN").ok())
}

/// The demo app with `admin_token` guarding `/admin` (`None`: open).
pub fn build_with(admin_token: Option<String>) -> Result<App, Error> {
    let app = App::new("demo");
    background_tasks(&app)?;
    #[cfg(feature = "redis")]
    cluster_singleton(&app)?;
    routes(&app)?;
    middleware(&app)?;
    app.blueprint(admin(admin_token))?;
    app.listener(sanio::Lifecycle::BeforeServerStop, |app: App| async move {
        log::info!("worker {:?}: before_server_stop", app.worker());
    })?;
    app.listener(sanio::Lifecycle::AfterServerStop, |app: App| async move {
        log::info!("worker {:?}: after_server_stop", app.worker());
    })?;
    app.listener(sanio::Lifecycle::MainProcessStop, |_app: App| async {
        log::info!("main_process_stop: bye");
    })?;
    Ok(app)
}

/// The seed's examples: tasks added before `run`.
fn background_tasks(app: &App) -> Result<(), Error> {
    // A plain future: runs once, on worker 0.
    app.add_task(async {
        sanio::sleep(Duration::from_secs(5)).await;
        println!("Server successfully started!");
    })?;
    // A factory taking the app (auto-inject): runs on every worker.
    app.add_task(|app: App| async move {
        println!("{} (worker {:?})", app.name(), app.worker());
    })?;
    // A factory of no arguments.
    app.add_task(|| async { log::info!("a factory task ran") })?;
    // A named factory: each worker has its own `heartbeat`.
    app.add_named_task("heartbeat", heartbeat)?;
    // A singleton: exactly one worker of the process runs `ticker`,
    // restarted with backoff if it fails.
    app.task("ticker")
        .singleton(Singleton::Process)
        .restart(Restart::OnFailure)
        .add_task(ticker)?;
    Ok(())
}

/// Ticks every 5 seconds on the one worker that runs it.
async fn ticker(app: App) {
    let mut ticks = sanio::interval(Duration::from_secs(5));
    loop {
        ticks.tick().await;
        log::info!("ticker on worker {:?}", app.worker());
    }
}

/// Ticks every second on each worker until cancelled.
async fn heartbeat(app: App) {
    let mut ticks = sanio::interval(Duration::from_secs(1));
    let mut beats: u64 = 0;
    loop {
        ticks.tick().await;
        beats += 1;
        log::debug!("worker {:?} heartbeat {beats}", app.worker());
    }
}

/// With `SANIO_REDIS_URL` set: one task in the whole cluster, on worker 0
/// of the instance holding its lease, that announces itself every 30 s.
#[cfg(feature = "redis")]
fn cluster_singleton(app: &App) -> Result<(), Error> {
    app.add_cluster_singleton("demo-announcer", |app: App| async move {
        let mut ticks = sanio::interval(Duration::from_secs(30));
        loop {
            ticks.tick().await;
            let who = format!("singleton on {}", app.instance_id());
            if let Err(err) = app.dispatch_cluster("my.custom.event", Some(&who)) {
                log::warn!("announcer: {err}");
            }
        }
    })
}

/// Every route of the demo.
fn routes(app: &App) -> Result<(), Error> {
    app.get("/", |_req: Request| async { "Hello, World!" })?;
    app.static_files("/static", STATIC_DIR)?;
    // The page used to live here.
    app.get("/app", |_req: Request| async {
        Response::redirect("/static/")
    })?;
    app.post("/upload", upload)?;
    app.get("/tasks", list_tasks)?;
    app.post("/tasks/purge", |req: Request| async move {
        Response::json(&json!({ "purged": req.app().purge_tasks_everywhere().await }))
    })?;
    app.post("/tasks/<name:str>", start_task)?;
    app.delete("/tasks/<name:str>", cancel_task)?;
    app.post("/notify", notify)?;
    app.add_health_routes("/healthz", "/readyz")?;
    app.get("/events", events)?;
    app.websocket("/feed", feed)?;
    app.websocket("/echo", |_req: Request, ws: WebSocket| async move {
        while let Some(message) = ws.recv().await {
            ws.send(message).await?;
        }
        Ok::<(), sanio::WsError>(())
    })?;
    app.error_handler(|err: &HttpError| {
        Response::json(&json!({ "error": err.message })).with_status(err.status)
    })?;
    Ok(())
}

/// When the request arrived, kept in its ctx for `Server-Timing`.
struct Arrived(Instant);

/// Every response gets `X-Request-ID` (the one sent, or a fresh one) and
/// `Server-Timing` (time in the app, middleware included).
fn middleware(app: &App) -> Result<(), Error> {
    app.on_request_with_priority(100, |req: Request| async move {
        req.ctx().insert(std::rc::Rc::new(Arrived(Instant::now())));
        req
    })?;
    app.on_response_with_priority(100, |info: RequestInfo, res: Response| async move {
        let took = info
            .ctx()
            .with(|arrived: &std::rc::Rc<Arrived>| arrived.0.elapsed())
            .unwrap_or_default();
        res.with_header("x-request-id", info.id()).with_header(
            "server-timing",
            &format!("app;dur={:.3}", took.as_secs_f64() * 1000.0),
        )
    })
}

/// `/admin`: routes for operators, behind a bearer token when one is set.
fn admin(token: Option<String>) -> Blueprint {
    let mut admin = Blueprint::new("admin").url_prefix("/admin");
    admin.on_request(move |req: Request| {
        let allowed = match &token {
            None => true,
            Some(token) => req
                .header("authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|given| given == token),
        };
        async move {
            if allowed {
                Ok(req)
            } else {
                Err(HttpError::new(
                    StatusCode::UNAUTHORIZED,
                    "a bearer token is required (Authorization: Bearer $SANIO_ADMIN_TOKEN)",
                ))
            }
        }
    });
    admin.get("/tasks", admin_tasks);
    admin.get("/stats", loop_stats);
    admin
}

/// `GET /admin/stats`: what this worker's loop holds (live tasks, timers,
/// registered sockets, ...); the soak compares it with its baseline.
async fn loop_stats(req: Request) -> Result<Response, HttpError> {
    let stats = sanio::rt::stats().map_err(|err| HttpError::internal(err.to_string()))?;
    Ok(Response::json(&json!({
        "worker": req.app().worker(),
        "live_tasks": stats.live_tasks,
        "task_slots": stats.task_slots,
        "scheduled_tasks": stats.scheduled_tasks,
        "timers": stats.timers,
        "io_registrations": stats.io_registrations,
        "remote_queue": stats.remote_queue,
    })))
}

/// `POST /upload`: a multipart or urlencoded form, answered with what was
/// parsed: `{"fields": {name: value}, "files": [{field, filename,
/// content_type, size}]}`.
async fn upload(req: Request) -> Result<Response, HttpError> {
    let form = req.form()?;
    let fields: serde_json::Map<String, serde_json::Value> = form
        .fields()
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    let files: Vec<_> = form
        .files()
        .iter()
        .map(|file| {
            json!({
                "field": file.field,
                "filename": file.filename,
                "content_type": file.content_type,
                "size": file.data.len(),
            })
        })
        .collect();
    Ok(Response::json(&json!({ "fields": fields, "files": files })))
}

/// `GET /tasks`: the named tasks of every worker and their states.
async fn list_tasks(req: Request) -> Response {
    let app = req.app();
    let tasks: Vec<_> = app
        .tasks_everywhere()
        .await
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "worker": t.worker,
                "state": t.state.as_str(),
                "restarts": t.restarts,
            })
        })
        .collect();
    #[cfg(feature = "redis")]
    let cluster = json!({
        "instance": app.instance_id(),
        "connected": app.cluster_connected(),
        "singletons_here": app.cluster_singletons_held(),
    });
    #[cfg(not(feature = "redis"))]
    let cluster = serde_json::Value::Null;
    Response::json(&json!({ "worker": app.worker(), "tasks": tasks, "cluster": cluster }))
}

/// `POST /tasks/<name>?seconds=S&fail=1&restart=on-failure`: a named task
/// that sleeps S seconds (an hour by default), then finishes, or fails with
/// `fail=1`; with `restart=on-failure` (or `always`) it is supervised and
/// restarted with backoff from 100 ms. A name live on any worker is a 409.
async fn start_task(req: Request) -> Result<Response, HttpError> {
    let name: String = req.param("name")?;
    let seconds: u64 = match req.query("seconds") {
        Some(s) => s
            .parse()
            .map_err(|_| HttpError::bad_request("seconds must be a whole number"))?,
        None => 3600,
    };
    let fail = req.query("fail").is_some_and(|f| f == "1" || f == "true");
    let restart = match req.query("restart") {
        None | Some("never") => Restart::Never,
        Some("on-failure") => Restart::OnFailure,
        Some("always") => Restart::Always,
        Some(_) => {
            return Err(HttpError::bad_request(
                "restart must be never, on-failure or always",
            ))
        }
    };
    let app = req.app();
    // One name across the workers: a live task of this name on any worker
    // is a conflict, not a second task.
    if let Some(found) = app.locate_task(&name).await {
        if !found.state.is_finished() {
            return Err(HttpError::new(
                StatusCode::CONFLICT,
                format!("a live task named {name:?} runs on worker {}", found.worker),
            ));
        }
    }
    let work = move || async move {
        sanio::sleep(Duration::from_secs(seconds)).await;
        if fail {
            Err(format!("failed after {seconds} s"))
        } else {
            Ok(())
        }
    };
    let started = app
        .task(name.clone())
        .restart(restart)
        .backoff(Backoff::new(
            Duration::from_millis(100),
            Duration::from_secs(10),
        ))
        .add_task(work);
    match started {
        Ok(_) => Ok(Response::json(&json!({ "name": name, "state": "running" }))
            .with_status(StatusCode::CREATED)),
        Err(Error::TaskNameTaken(_)) => Err(HttpError::new(
            StatusCode::CONFLICT,
            format!("a live task named {name:?} exists"),
        )),
        Err(err) => Err(HttpError::internal(err.to_string())),
    }
}

/// `GET /admin/tasks` (behind the admin token): every worker's tasks as
/// JSON; `?format=text` gives the text tree.
async fn admin_tasks(req: Request) -> Response {
    let dump = req.app().task_dump().await;
    if req.query("format") == Some("text") {
        return Response::text(dump.text());
    }
    let workers: Vec<_> = dump
        .workers
        .iter()
        .map(|worker| {
            let tasks: Vec<_> = worker
                .tasks
                .iter()
                .map(|t| {
                    let seen = t.dump.as_ref();
                    json!({
                        "id": t.id,
                        "name": t.name,
                        "parent": t.parent,
                        "state": seen.map_or("finished", |d| d.state.as_str()),
                        "polls": seen.map_or(0, |d| d.polls),
                        "busy_us": seen.map_or(0, |d| d.busy.as_micros()),
                        "age_ms": seen.map_or(0, |d| d.age.as_millis()),
                        "spawned_at": seen.map(|d| d.spawned_at.to_string()),
                        "restarts": t.restarts,
                        "cancel": seen.and_then(|d| d.cancel.clone()),
                        "task_state": t.state.as_str(),
                        "last_failure": t.last_failure,
                        "last_failure_ms_ago": t
                            .last_failure_at
                            .map(|at| sanio::rt::now().saturating_duration_since(at).as_millis()),
                        "last_poll_ms_ago": seen
                            .and_then(|d| d.since_last_poll)
                            .map(|d| d.as_millis()),
                        "slow_polls": seen.map_or(0, |d| d.slow_polls),
                    })
                })
                .collect();
            json!({ "worker": worker.worker, "tasks": tasks })
        })
        .collect();
    Response::json(&json!({ "workers": workers }))
}

/// `DELETE /tasks/<name>`: cancel on whichever worker runs it, wait,
/// answer with what the cancel did and the final state.
async fn cancel_task(req: Request) -> Result<Response, HttpError> {
    let name: String = req.param("name")?;
    match req.app().cancel_task_anywhere(&name).await {
        Ok(outcomes) => {
            let (worker, outcome) = outcomes[0];
            Ok(Response::json(&json!({
                "name": name,
                "worker": worker,
                "outcome": outcome.as_str(),
                "state": outcome.state().as_str(),
            })))
        }
        Err(err) => Err(HttpError::not_found(err.to_string())),
    }
}

/// `POST /notify`: the body becomes `my.custom.event`'s message on every
/// worker; with `?scope=cluster`, on every worker of every instance
/// (feature `redis`, `SANIO_REDIS_URL` set).
async fn notify(req: Request) -> Result<Response, HttpError> {
    let message = req.text()?.to_owned();
    if req.query("scope") == Some("cluster") {
        #[cfg(feature = "redis")]
        {
            req.app()
                .dispatch_cluster("my.custom.event", Some(&message))
                .map_err(|err| HttpError::new(StatusCode::SERVICE_UNAVAILABLE, err.to_string()))?;
            return Ok(Response::json(&json!({ "delivered": "cluster" }))
                .with_status(StatusCode::ACCEPTED));
        }
        #[cfg(not(feature = "redis"))]
        return Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "scope=cluster needs the demo built with --features redis",
        ));
    }
    req.app()
        .dispatch_all("my.custom.event", Some(&message))
        .map_err(|err| HttpError::internal(err.to_string()))?;
    Ok(Response::json(&json!({ "delivered": true })).with_status(StatusCode::ACCEPTED))
}

/// `GET /events`: server-sent events, one per `my.custom.event`, and a
/// comment every 15 s so proxies keep the stream open.
async fn events(req: Request) -> Response {
    let app = req.app();
    let (response, mut body) = Response::stream("text/event-stream");
    let feeder = app.clone();
    let started = app.add_task(async move {
        loop {
            let next = feeder
                .event("my.custom.event")
                .timeout(Duration::from_secs(15))
                .await;
            let sent = match next {
                Ok(event) => {
                    body.send_event(event.message().unwrap_or("A message"))
                        .await
                }
                Err(Error::EventTimeout(_)) => body.comment("keep-alive").await,
                Err(_) => break, // cancelled: the server is stopping
            };
            if sent.is_err() {
                break; // the client went away
            }
        }
    });
    if let Err(err) = started {
        log::error!("cannot start the event stream: {err}");
    }
    response
}

/// `GET /feed`: Sanic's receiver-task pattern, with a subscription so that
/// no notification is lost while the handler is busy sending the last one
/// (up to 256 queued; beyond that the oldest are dropped and counted). The
/// receiver is scoped to the handler: it is cancelled when the handler
/// ends, however it ends, with no `cancel_task` to remember.
async fn feed(req: Request, ws: WebSocket) -> Result<(), Error> {
    let app = req.app();
    let mut events = app.subscribe("my.custom.event", 256)?;
    let reader = ws.clone();
    req.add_named_task(format!("receiver:{}", req.id()), async move {
        while let Some(message) = reader.recv().await {
            log::info!("received: {:?}", message.as_text().unwrap_or("<binary>"));
        }
    })?;
    // Until the client goes away: then `recv` ends with `Cancelled`.
    while let Ok(event) = events.recv().await {
        if ws
            .send(event.message().unwrap_or("A message"))
            .await
            .is_err()
        {
            break;
        }
    }
    Ok(())
}
