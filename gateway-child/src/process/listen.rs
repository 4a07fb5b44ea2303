//! The gateway's listening sockets: one address, and for loopback also its IPv6 twin.
//!
//! Like upstream, `bind: loopback` listens on 127.0.0.1 **and** on `[::1]` at the same port, so a
//! client that resolves `localhost` to `::1` first still reaches the gateway. The IPv4 socket is
//! the gateway's address (the readiness line, the lock file, `status`); the `::1` alias is best
//! effort: if IPv6 is off or something else holds `[::1]:PORT`, the gateway runs on IPv4 alone and
//! says so in its log. `bind: lan` listens on 0.0.0.0 only. Both sockets feed one accept loop.

use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info};

/// The listening sockets of one gateway address.
#[derive(Debug)]
pub struct Listeners {
    primary: TcpListener,
    alias: Option<TcpListener>,
}

impl Listeners {
    /// Binds `addr` (port 0 picks a free port), then the `::1` alias at the same port when
    /// `addr` is IPv4 loopback. Fails only if `addr` itself cannot be bound.
    pub async fn bind(addr: SocketAddr) -> io::Result<Listeners> {
        let primary = TcpListener::bind(addr).await?;
        Ok(Listeners::with_alias(primary).await)
    }

    /// `primary` plus the `::1` alias when `primary` is IPv4 loopback.
    async fn with_alias(primary: TcpListener) -> Listeners {
        let alias = match primary.local_addr() {
            Ok(SocketAddr::V4(v4)) if v4.ip().is_loopback() => {
                let twin = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), v4.port());
                match TcpListener::bind(twin).await {
                    Ok(l) => {
                        debug!(addr = %twin, "also listening on the IPv6 loopback");
                        Some(l)
                    }
                    Err(e) => {
                        info!(addr = %twin, error = %e, "IPv6 loopback not available; listening on IPv4 only");
                        None
                    }
                }
            }
            _ => None,
        };
        Listeners { primary, alias }
    }

    /// The gateway's address (the primary socket's).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.primary.local_addr()
    }

    /// The `::1` alias's address, if it is listening.
    pub fn alias_addr(&self) -> Option<SocketAddr> {
        self.alias.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The next connection on either socket. Cancel-safe, like `TcpListener::accept`.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        match &self.alias {
            None => self.primary.accept().await,
            Some(alias) => tokio::select! {
                r = self.primary.accept() => r,
                r = alias.accept() => r,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn ipv6_loopback_works() -> bool {
        TcpListener::bind("[::1]:0").await.is_ok()
    }

    #[tokio::test]
    async fn loopback_listens_on_both_stacks_at_one_port() {
        if !ipv6_loopback_works().await {
            eprintln!("skipped: this machine has no IPv6 loopback");
            return;
        }
        let l = Listeners::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let port = l.local_addr().unwrap().port();
        assert_eq!(
            l.alias_addr(),
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port))
        );
        for target in [format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
            let mut c = TcpStream::connect(&target).await.unwrap();
            c.write_all(b"x").await.unwrap();
            let (_, peer) = l.accept().await.unwrap();
            assert_eq!(peer.is_ipv6(), target.starts_with('['), "{target} → {peer}");
        }
    }

    #[tokio::test]
    async fn a_taken_ipv6_port_leaves_ipv4_running() {
        if !ipv6_loopback_works().await {
            eprintln!("skipped: this machine has no IPv6 loopback");
            return;
        }
        // Find a port free on both stacks, then hold its IPv6 side.
        let probe = Listeners::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let squatter = TcpListener::bind(("::1", port)).await.unwrap();
        let l = Listeners::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .unwrap();
        assert_eq!(l.alias_addr(), None);
        let _c = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        l.accept().await.unwrap();
        drop(squatter);
    }

    #[tokio::test]
    async fn lan_and_ipv6_addresses_get_no_alias() {
        let l = Listeners::bind("0.0.0.0:0".parse().unwrap()).await.unwrap();
        assert_eq!(l.alias_addr(), None);
        if ipv6_loopback_works().await {
            let l = Listeners::bind("[::1]:0".parse().unwrap()).await.unwrap();
            assert_eq!(l.alias_addr(), None);
        }
    }
}
