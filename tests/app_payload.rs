//! Typed event payloads, on one worker and across two.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sanio::{App, Config};

/// A payload that is neither a string nor JSON.
#[derive(Debug, PartialEq)]
struct Order {
    /// Its id.
    id: u32,
    /// Its lines.
    items: Vec<&'static str>,
}

#[test]
fn a_typed_payload_reaches_waiters_on_both_workers() {
    let app = App::new("payload");
    let seen: Arc<Mutex<Vec<(usize, u32, usize)>>> = Arc::default();
    let record = Arc::clone(&seen);
    app.add_task(move |app: App| {
        let record = Arc::clone(&record);
        async move {
            loop {
                let Ok(event) = app.event("shop.order.placed").await else {
                    break;
                };
                let order = event.payload::<Order>().expect("an Order");
                assert_eq!(event.payload::<String>(), None);
                record
                    .lock()
                    .unwrap()
                    .push((app.worker().unwrap(), order.id, order.items.len()));
            }
        }
    })
    .unwrap();
    let server = app.serve(Config::default().port(0).workers(2)).unwrap();
    let mut workers = BTreeSet::new();
    for _ in 0..1000 {
        let order = Order {
            id: 7,
            items: vec!["tea", "cake"],
        };
        app.dispatch_all_payload("shop.order.placed", None, order)
            .unwrap();
        std::thread::sleep(Duration::from_millis(5));
        workers = seen.lock().unwrap().iter().map(|(w, _, _)| *w).collect();
        if workers.len() == 2 {
            break;
        }
    }
    assert_eq!(workers, BTreeSet::from([0, 1]));
    assert!(seen
        .lock()
        .unwrap()
        .iter()
        .all(|(_, id, items)| (*id, *items) == (7, 2)));
    server.stop();
    server.join().unwrap();
}
