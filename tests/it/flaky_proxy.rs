//! A proxy for tests that breaks transfers as an unreliable network would: between a client and
//! a test server, it cuts some answers partway, ends some bodies early but cleanly, and answers
//! some requests with a 503 of its own.

use std::net::SocketAddr;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// What the proxy does with one connection (one request: the client keeps none alive).
#[derive(Debug, Clone, Copy)]
enum Fate {
    /// Passes both ways untouched.
    Pass,
    /// Lets this many bytes of the answer through, then closes: a broken transfer.
    Cut(usize),
    /// Asks the server over HTTP/1.0, whose body ends where the connection does, and closes
    /// after this many bytes: a body that ends cleanly, but short.
    EndEarly(usize),
    /// Answers 503 with `Retry-After: 1` itself.
    Busy,
}

/// A proxy in front of the server that breaks some transfers as a network would.
pub struct FaultProxy {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Serves `listener`, forwarding to `upstream`. The first connections meet each fault once,
    /// so that every path runs whatever the timing; after that a seeded draw cuts or ends early
    /// about one in six (a 503 costs the client a second: it comes once).
    pub fn start(listener: TcpListener, upstream: SocketAddr, seed: u64) -> FaultProxy {
        let task = tokio::spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let forced = [
                Fate::Pass,
                Fate::Cut(200),
                Fate::Pass,
                Fate::EndEarly(1500),
                Fate::Busy,
                Fate::Cut(1500),
            ];
            for n in 0.. {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let fate = match forced.get(n) {
                    Some(fate) => *fate,
                    None => match rng.gen_range(0..100) {
                        0..=9 => Fate::Cut(rng.gen_range(1..4000)),
                        10..=17 => Fate::EndEarly(rng.gen_range(1..4000)),
                        _ => Fate::Pass,
                    },
                };
                tokio::spawn(relay(client, upstream, fate));
            }
        });
        FaultProxy { task }
    }
}

async fn relay(mut client: TcpStream, upstream: SocketAddr, fate: Fate) {
    if let Fate::Pass = fate {
        if let Ok(mut server) = TcpStream::connect(upstream).await {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        }
        return;
    }
    let Some(mut head) = request_head(&mut client).await else {
        return;
    };
    let cut_after = match fate {
        Fate::Busy => {
            let body =
                r#"{"status":"error","parameter":null,"text":"the server is busy, retry later"}"#;
            let answer = format!(
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n\
                 Retry-After: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(answer.as_bytes()).await;
            let _ = client.shutdown().await;
            return;
        }
        Fate::EndEarly(n) => {
            let line_end = head.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
            if head[..line_end].ends_with(b" HTTP/1.1") {
                head[line_end - 1] = b'0';
            }
            n
        }
        Fate::Cut(n) => n,
        Fate::Pass => unreachable!(),
    };
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    if server.write_all(&head).await.is_err() {
        return;
    }
    let mut left = cut_after;
    let mut buf = vec![0u8; 8192];
    while left > 0 {
        match server.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let n = n.min(left);
                if client.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                left -= n;
            }
        }
    }
    // Dropping both ends closes them: the client sees the connection end here.
}

/// The request's head, up to its blank line (a GET has no body).
async fn request_head(client: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = client.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Some(head)
}
