//! `domofeed healthcheck`: the container probe. It asks the server on `DOMOFEED_BIND` for
//! `/readyz` with a plain HTTP/1.1 request over a TCP socket, so that the image needs no curl.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{Error, Result};

/// How long the whole probe may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Ok when `/readyz` answers 200; the error says what was wrong.
pub async fn run(bind: SocketAddr) -> Result<()> {
    let address = reachable(bind);
    let status = tokio::time::timeout(TIMEOUT, probe(address))
        .await
        .map_err(|_| {
            Error::Unavailable(format!(
                "healthcheck: no answer from {address} in {TIMEOUT:?}"
            ))
        })?
        .map_err(|e| Error::io(format!("healthcheck: GET http://{address}/readyz"), e))?;
    if status == 200 {
        eprintln!("ready");
        Ok(())
    } else {
        Err(Error::Unavailable(format!(
            "healthcheck: http://{address}/readyz answered {status}: not ready"
        )))
    }
}

/// A server bound to every interface (`0.0.0.0`, `::`) is asked on the loopback one.
fn reachable(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// The status code of `GET /readyz`.
async fn probe(address: SocketAddr) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(address).await?;
    let request = format!(
        "GET /readyz HTTP/1.1\r\nHost: {address}\r\nUser-Agent: domofeed-healthcheck\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    // The status line is all we need: `HTTP/1.1 200 OK`.
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    parse_status(&head).ok_or_else(|| std::io::Error::other("not an HTTP answer"))
}

fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status(b"HTTP/1.1 200 OK\r\ncontent-type: x"),
            Some(200)
        );
        assert_eq!(
            parse_status(b"HTTP/1.1 503 Service Unavailable\r\n"),
            Some(503)
        );
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }

    #[test]
    fn wildcard_binds_are_probed_on_loopback() {
        assert_eq!(
            reachable("0.0.0.0:8080".parse().unwrap()),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            reachable("[::]:8080".parse().unwrap()),
            "[::1]:8080".parse().unwrap()
        );
        assert_eq!(
            reachable("10.0.0.5:80".parse().unwrap()),
            "10.0.0.5:80".parse().unwrap()
        );
    }
}
