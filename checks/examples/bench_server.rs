//! Benchmark servers: `count` listeners on loopback (layout in
//! bench_common/layout.rs). A connection that sends an HTTP request gets a small
//! 200 response; one that closes at once (TCP_CHECK) is just dropped.
//!
//! Usage: bench_server COUNT

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark tool: fail loudly

#[path = "bench_common/layout.rs"]
mod bench_layout;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(mut stream: TcpStream) {
    let mut buf = [0u8; 1024];
    let mut seen = Vec::new();
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        if seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let _ = stream
                .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
                .await;
            return;
        }
    }
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .map(|c| c.parse().expect("COUNT"))
        .unwrap_or(10_000);
    for i in 0..count {
        let listener = TcpListener::bind(bench_layout::target(i))
            .await
            .expect("bind");
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(serve(stream));
                    }
                    // Out of descriptors (EMFILE) or an aborted connection:
                    // keep listening, or every later check would be refused
                    // and the benchmark would measure the server.
                    Err(error) => {
                        eprintln!("bench_server: accept: {error}");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                }
            }
        });
    }
    println!("ready {count}");
    std::future::pending::<()>().await;
}
