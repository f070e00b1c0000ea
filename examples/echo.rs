//! A TCP echo server on sanio's loop, with nothing but `sanio::net`.
//!
//! ```text
//! cargo run --release --example echo        # listens on 127.0.0.1:7000
//! SANIO_PORT=7001 cargo run --release --example echo
//! ```
//! Try it with `nc 127.0.0.1 7000`.

use sanio::net::{TcpListener, TcpStream};

/// Echoes everything a client sends until it closes.
async fn echo(stream: TcpStream) -> std::io::Result<()> {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

fn main() -> std::io::Result<()> {
    let host = std::env::var("SANIO_HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("SANIO_PORT").unwrap_or_else(|_| "7000".into());
    let rt = sanio::Runtime::new()?;
    rt.block_on(async {
        let listener = TcpListener::bind(format!("{host}:{port}"))?;
        println!("echo server listening on {}", listener.local_addr()?);
        loop {
            let (stream, peer) = listener.accept().await?;
            sanio::spawn(async move {
                if let Err(err) = echo(stream).await {
                    eprintln!("{peer}: {err}");
                }
            });
        }
    })
}
