//! The gateway's rate limiters: the auth-failure limiter ([`AuthLimiter`]: 10 failed
//! shared-secret attempts within 60 s from one client address lock that address out for 5
//! minutes) and the control-plane write budget ([`WriteLimiter`]: 30 `config.patch`
//! / `config.apply` calls per 60 s per method and client key, the budget upstream 2026.9.6
//! enforces).
//!
//! Both are pure values: every decision takes the instant as an argument and nothing here reads a
//! clock or sleeps. Keys are budget keys ([`crate::socket::locality::budget_key`]): `::ffff:a.b.c.d`
//! and `a.b.c.d` share one bucket, every loopback address (127.0.0.0/8, `::1`) shares one, and
//! loopback is **not** exempt (a web page on the same machine is
//! a loopback client). Memory is bounded: at most [`MAX_TRACKED`] addresses are tracked; when full,
//! unlocked entries are pruned first and a locked entry is never evicted to make room.
//!
//! Because every loopback address shares one budget, any local process sending wrong tokens
//! (a stale tool retrying forever) would also lock out the owner. So the limiter also remembers
//! the devices that authenticated with the shared secret and a verified device proof (at most
//! [`MAX_TRUSTED_DEVICES`], the most recent ones); during a lockout such a device may still
//! present the right secret. Possessing that device's private key is the owner's proof; anyone
//! else stays locked out. The memory lives as long as the lockouts do (in-process restarts
//! included).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::socket::locality::budget_key;

/// Failures allowed inside one window.
pub const MAX_FAILURES: usize = 10;
/// The sliding window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);
/// How long an address stays locked out.
pub const LOCKOUT: Duration = Duration::from_secs(300);
/// Most addresses tracked at once.
pub const MAX_TRACKED: usize = 10_000;
/// Devices remembered as having authenticated (see the module docs).
pub const MAX_TRUSTED_DEVICES: usize = 64;
/// Control-plane writes allowed per method and client key in one window.
pub const WRITE_LIMIT: u32 = 30;
/// The fixed window the control-plane write budget is counted in.
pub const WRITE_WINDOW: Duration = Duration::from_secs(60);
/// The budget as upstream words it in `details.limit`.
pub const WRITE_LIMIT_LABEL: &str = "30 per 60s";

#[derive(Debug, Clone, Default)]
struct Entry {
    failures: Vec<Instant>,
    locked_until: Option<Instant>,
}

impl Entry {
    fn is_locked(&self, now: Instant) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }

    fn prune(&mut self, now: Instant) {
        self.failures
            .retain(|t| now.saturating_duration_since(*t) < WINDOW);
        if self.locked_until.is_some_and(|until| now >= until) {
            self.locked_until = None;
            self.failures.clear();
        }
    }

    fn is_empty(&self) -> bool {
        self.failures.is_empty() && self.locked_until.is_none()
    }
}

/// Per-address failure counts and lockouts, and the devices that may pass a lockout.
#[derive(Debug, Default)]
pub struct AuthLimiter {
    entries: HashMap<IpAddr, Entry>,
    /// Device ids that authenticated, least recent first.
    trusted: std::collections::VecDeque<String>,
}

impl AuthLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    /// `Err(retry_after)` when `ip` is locked out at `now`.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let ip = budget_key(ip);
        match self.entries.get(&ip) {
            Some(e) if e.is_locked(now) => Err(e
                .locked_until
                .map_or(Duration::ZERO, |u| u.saturating_duration_since(now))),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt. Returns `Err(retry_after)` if this failure locked the address.
    pub fn record_failure(&mut self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let ip = budget_key(ip);
        if !self.entries.contains_key(&ip) && self.entries.len() >= MAX_TRACKED {
            self.prune(now);
            if self.entries.len() >= MAX_TRACKED && !self.evict_one_unlocked(now) {
                // Every tracked address is locked out: this newcomer cannot be tracked, which only
                // means it starts unthrottled; the locked ones stay locked.
                return Ok(());
            }
        }
        let entry = self.entries.entry(ip).or_default();
        entry.prune(now);
        if entry.is_locked(now) {
            return Err(entry
                .locked_until
                .map_or(Duration::ZERO, |u| u.saturating_duration_since(now)));
        }
        entry.failures.push(now);
        if entry.failures.len() >= MAX_FAILURES {
            entry.locked_until = Some(now + LOCKOUT);
            entry.failures.clear();
            return Err(LOCKOUT);
        }
        Ok(())
    }

    /// Forgets an address's failures after a successful authentication. A lockout stays.
    pub fn record_success(&mut self, ip: IpAddr, now: Instant) {
        let ip = budget_key(ip);
        if let Some(e) = self.entries.get_mut(&ip) {
            if !e.is_locked(now) {
                self.entries.remove(&ip);
            }
        }
    }

    /// Remembers a device that authenticated with the shared secret and a verified proof.
    pub fn trust_device(&mut self, device_id: &str) {
        self.trusted.retain(|d| d != device_id);
        if self.trusted.len() >= MAX_TRUSTED_DEVICES {
            self.trusted.pop_front();
        }
        self.trusted.push_back(device_id.to_owned());
    }

    /// Whether a device may present the secret during its address's lockout.
    pub fn is_trusted(&self, device_id: &str) -> bool {
        self.trusted.iter().any(|d| d == device_id)
    }

    /// Drops entries with nothing left to remember.
    pub fn prune(&mut self, now: Instant) {
        self.entries.retain(|_, e| {
            e.prune(now);
            !e.is_empty()
        });
    }

    /// How many addresses are tracked.
    pub fn tracked(&self) -> usize {
        self.entries.len()
    }

    /// Evicts the least recently failing tenth of the unlocked entries (at least one), so a
    /// flood of new addresses costs amortized O(1) per address.
    fn evict_one_unlocked(&mut self, now: Instant) -> bool {
        let mut unlocked: Vec<(Option<Instant>, IpAddr)> = self
            .entries
            .iter()
            .filter(|(_, e)| !e.is_locked(now))
            .map(|(ip, e)| (e.failures.last().copied(), *ip))
            .collect();
        if unlocked.is_empty() {
            return false;
        }
        unlocked.sort_unstable_by_key(|(last, _)| *last);
        let n = (MAX_TRACKED / 10).clamp(1, unlocked.len());
        for (_, ip) in unlocked.into_iter().take(n) {
            self.entries.remove(&ip);
        }
        true
    }
}

/// The control-plane write budget: [`WRITE_LIMIT`] calls per [`WRITE_WINDOW`] (a fixed window
/// opened by the first call) per `method|client key`. The key is `deviceId|clientIp` as
/// upstream's (`unknown-device` for device-less clients), so every device-less client of one
/// address shares a bucket. At most [`MAX_TRACKED`] buckets: expired ones are pruned first, then
/// the oldest windows.
#[derive(Debug, Default)]
pub struct WriteLimiter {
    buckets: HashMap<String, (Instant, u32)>,
}

impl WriteLimiter {
    /// An empty budget.
    pub fn new() -> Self {
        Self::default()
    }

    /// The client key for a caller: `deviceId|clientIp`.
    pub fn key(device_id: Option<&str>, ip: IpAddr) -> String {
        format!(
            "{}|{}",
            device_id.unwrap_or("unknown-device"),
            budget_key(ip)
        )
    }

    /// Consumes one write for `method` by `key` at `now`; `Err(retry_after)` when the budget of
    /// the current window is spent.
    pub fn consume(&mut self, method: &str, key: &str, now: Instant) -> Result<(), Duration> {
        let bucket_key = format!("{method}|{key}");
        if let Some((start, count)) = self.buckets.get_mut(&bucket_key) {
            let elapsed = now.saturating_duration_since(*start);
            if elapsed < WRITE_WINDOW {
                if *count >= WRITE_LIMIT {
                    return Err(WRITE_WINDOW - elapsed);
                }
                *count += 1;
                return Ok(());
            }
            *start = now;
            *count = 1;
            return Ok(());
        }
        if self.buckets.len() >= MAX_TRACKED {
            self.buckets
                .retain(|_, (start, _)| now.saturating_duration_since(*start) < WRITE_WINDOW);
            if self.buckets.len() >= MAX_TRACKED {
                let mut starts: Vec<(Instant, String)> = self
                    .buckets
                    .iter()
                    .map(|(k, (start, _))| (*start, k.clone()))
                    .collect();
                starts.sort_unstable();
                for (_, k) in starts.into_iter().take(MAX_TRACKED / 10) {
                    self.buckets.remove(&k);
                }
            }
        }
        self.buckets.insert(bucket_key, (now, 1));
        Ok(())
    }

    /// How many buckets are tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_devices_are_bounded_and_most_recent() {
        let mut l = AuthLimiter::new();
        for i in 0..MAX_TRUSTED_DEVICES + 5 {
            l.trust_device(&format!("d{i}"));
        }
        assert!(!l.is_trusted("d0"));
        assert!(l.is_trusted(&format!("d{}", MAX_TRUSTED_DEVICES + 4)));
        l.trust_device("d5");
        l.trust_device("new");
        assert!(l.is_trusted("d5"), "a returning device is fresh again");
        assert!(!l.is_trusted("d6"));
    }
    use crate::socket::locality::canonical_ip;

    fn ip(s: &str) -> IpAddr {
        canonical_ip(s.parse().unwrap())
    }

    #[test]
    fn ten_failures_in_a_window_lock_out_and_the_lockout_lifts() {
        let t0 = Instant::now();
        let mut l = AuthLimiter::new();
        let a = ip("127.0.0.1");
        for i in 0..9 {
            assert_eq!(l.record_failure(a, t0 + Duration::from_secs(i)), Ok(()));
            assert_eq!(l.check(a, t0 + Duration::from_secs(i)), Ok(()));
        }
        assert_eq!(
            l.record_failure(a, t0 + Duration::from_secs(9)),
            Err(LOCKOUT)
        );
        // Locked even for a correct secret: the caller checks before comparing.
        assert_eq!(
            l.check(a, t0 + Duration::from_secs(10)),
            Err(LOCKOUT - Duration::from_secs(1))
        );
        // A success while locked does not unlock.
        l.record_success(a, t0 + Duration::from_secs(11));
        assert!(l.check(a, t0 + Duration::from_secs(11)).is_err());
        // The lockout lifts.
        let after = t0 + Duration::from_secs(9) + LOCKOUT;
        assert_eq!(l.check(a, after), Ok(()));
        assert_eq!(l.record_failure(a, after), Ok(()));
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let t0 = Instant::now();
        let mut l = AuthLimiter::new();
        let a = ip("10.0.0.1");
        for i in 0..9 {
            l.record_failure(a, t0 + Duration::from_secs(i)).unwrap();
        }
        // 61 s later the first failures have aged out.
        assert_eq!(l.record_failure(a, t0 + Duration::from_secs(61)), Ok(()));
        assert_eq!(l.check(a, t0 + Duration::from_secs(61)), Ok(()));
    }

    #[test]
    fn mapped_and_plain_ipv4_share_a_bucket() {
        let t0 = Instant::now();
        let mut l = AuthLimiter::new();
        let forms = ["::ffff:127.0.0.5", "127.0.0.5", "0:0:0:0:0:ffff:7f00:5"];
        assert_eq!(ip(forms[0]), ip(forms[1]));
        assert_eq!(ip(forms[2]), ip(forms[1]));
        let mut last = Ok(());
        for i in 0..10 {
            last = l.record_failure(ip(forms[i % 3]), t0);
        }
        assert_eq!(last, Err(LOCKOUT));
        for f in forms {
            assert!(l.check(ip(f), t0).is_err(), "{f}");
        }
    }

    #[test]
    fn loopback_is_not_exempt_and_success_resets() {
        let t0 = Instant::now();
        let mut l = AuthLimiter::new();
        let a = ip("::1");
        for _ in 0..9 {
            l.record_failure(a, t0).unwrap();
        }
        l.record_success(a, t0);
        assert_eq!(l.tracked(), 0);
        for _ in 0..9 {
            l.record_failure(a, t0).unwrap();
        }
        assert!(l.record_failure(a, t0).is_err());
    }

    #[test]
    fn memory_is_bounded_and_locked_entries_survive_a_flood() {
        let t0 = Instant::now();
        let mut l = AuthLimiter::new();
        let victim = ip("192.0.2.1");
        for _ in 0..10 {
            let _ = l.record_failure(victim, t0);
        }
        assert!(l.check(victim, t0).is_err());
        for n in 0..20_000u32 {
            let addr = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            let _ = l.record_failure(addr, t0 + Duration::from_millis(u64::from(n)));
        }
        assert!(l.tracked() <= MAX_TRACKED);
        assert!(l.check(victim, t0 + Duration::from_secs(20)).is_err());
    }

    #[test]
    fn control_plane_writes_are_budgeted_per_window_method_and_key() {
        let t0 = Instant::now();
        let mut w = WriteLimiter::new();
        let local = WriteLimiter::key(None, ip("127.0.0.1"));
        assert_eq!(local, "unknown-device|127.0.0.1");
        for i in 0..WRITE_LIMIT {
            assert_eq!(
                w.consume(
                    "config.patch",
                    &local,
                    t0 + Duration::from_secs(u64::from(i))
                ),
                Ok(())
            );
        }
        // One more in the window is refused until the window that opened at t0 ends.
        assert_eq!(
            w.consume("config.patch", &local, t0 + Duration::from_secs(40)),
            Err(Duration::from_secs(20))
        );
        assert_eq!(
            w.consume("config.patch", &local, t0 + Duration::from_secs(59)),
            Err(Duration::from_secs(1))
        );
        // Another method, another device, another address: their own budgets.
        assert_eq!(w.consume("config.apply", &local, t0), Ok(()));
        let device = WriteLimiter::key(Some("dev-1"), ip("127.0.0.1"));
        assert_eq!(w.consume("config.patch", &device, t0), Ok(()));
        assert_eq!(
            WriteLimiter::key(None, ip("::1")),
            local,
            "one budget per machine"
        );
        let other = WriteLimiter::key(None, ip("::ffff:10.0.0.2"));
        assert_eq!(other, "unknown-device|10.0.0.2");
        assert_eq!(w.consume("config.patch", &other, t0), Ok(()));
        // A new window opens a fresh budget.
        let later = t0 + WRITE_WINDOW;
        for _ in 0..WRITE_LIMIT {
            assert_eq!(w.consume("config.patch", &local, later), Ok(()));
        }
        assert!(w.consume("config.patch", &local, later).is_err());
    }

    #[test]
    fn other_loopback_addresses_do_not_buy_more_attempts() {
        let mut l = AuthLimiter::new();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES - 1 {
            let ip: IpAddr = format!("127.0.0.{}", i + 1).parse().unwrap();
            assert!(l.record_failure(ip, t0).is_ok());
        }
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(l.record_failure(v6, t0), Err(LOCKOUT));
        let one: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(
            l.check(one, t0).is_err(),
            "the lockout covers every loopback address"
        );
        let lan: IpAddr = "192.168.1.5".parse().unwrap();
        assert!(l.check(lan, t0).is_ok());
    }

    #[test]
    fn control_plane_buckets_are_bounded() {
        let t0 = Instant::now();
        let mut w = WriteLimiter::new();
        let victim = WriteLimiter::key(Some("victim"), ip("127.0.0.1"));
        for _ in 0..WRITE_LIMIT {
            w.consume("config.apply", &victim, t0).unwrap();
        }
        for n in 0..(MAX_TRACKED as u32 + 500) {
            let addr = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            let key = WriteLimiter::key(None, addr);
            let _ = w.consume(
                "config.apply",
                &key,
                t0 + Duration::from_millis(u64::from(n)),
            );
        }
        assert!(w.tracked() <= MAX_TRACKED);
    }
}
