//! The cooperative I/O budget: a task whose socket never runs dry yields
//! after 128 operations in one poll, counted, not timed.

mod support;

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;

use sanio::net::{TcpListener, TcpStream};
use support::rt::run;

#[test]
fn a_reader_whose_socket_stays_ready_yields_after_128_operations() {
    let reads = run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        // 1,000 bytes already waiting: every 1-byte read succeeds at once.
        client.write_all(&[7; 1000]).unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut buf = [0; 1];
        server.read_exact(&mut buf).await.unwrap(); // the data has arrived
        let reads = Rc::new(Cell::new(0usize));
        let reader = sanio::spawn({
            let reads = Rc::clone(&reads);
            async move {
                let server: TcpStream = server;
                let mut buf = [0; 1];
                for _ in 0..500 {
                    server.read_exact(&mut buf).await.unwrap();
                    reads.set(reads.get() + 1);
                }
            }
        });
        // Spawned after the reader: runs when the reader first yields.
        let seen = sanio::spawn({
            let reads = Rc::clone(&reads);
            async move { reads.get() }
        });
        let seen = seen.await.unwrap();
        reader.await.unwrap();
        seen
    });
    assert_eq!(reads, 128, "the reader yielded after its budget");
}
