//! The address of the client behind a request, for the allow-list and the access log.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The peer's address, unless the peer is a trusted proxy: then the rightmost address of
/// `X-Forwarded-For` that is not itself a trusted proxy (the leftmost entries are whatever the
/// client claimed and prove nothing).
pub fn client_addr(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.ip().to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(text) = value.to_str() else {
            return client;
        };
        for hop in text.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip.to_canonical();
                    if !is_trusted(&client) {
                        return client;
                    }
                }
                Err(_) => return client,
            }
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in xff {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    }

    #[test]
    fn untrusted_peers_are_the_client() {
        let peer: SocketAddr = "203.0.113.7:5000".parse().unwrap();
        assert_eq!(
            client_addr(peer, &headers(&["1.2.3.4"]), &[]).to_string(),
            "203.0.113.7"
        );
    }

    #[test]
    fn trusted_proxies_pass_the_rightmost_untrusted_hop() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let h = headers(&["6.6.6.6, 198.51.100.9, 10.0.0.5"]);
        assert_eq!(client_addr(peer, &h, &trusted).to_string(), "198.51.100.9");
        let h = headers(&["6.6.6.6", "198.51.100.9"]);
        assert_eq!(client_addr(peer, &h, &trusted).to_string(), "198.51.100.9");
        assert_eq!(
            client_addr(peer, &headers(&[]), &trusted).to_string(),
            "10.0.0.2"
        );
        assert_eq!(
            client_addr(peer, &headers(&["garbage"]), &trusted).to_string(),
            "10.0.0.2"
        );
        let v4_mapped: SocketAddr = "[::ffff:10.0.0.2]:5000".parse().unwrap();
        assert_eq!(
            client_addr(v4_mapped, &headers(&["198.51.100.9"]), &trusted).to_string(),
            "198.51.100.9"
        );
    }
}
