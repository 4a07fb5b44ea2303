//! The runtime's health, measured: how late the async runtime runs a timer, how busy its workers
//! are, and how much CPU the process and the host use — upstream's `eventLoop` block of `health`
//! and `status` (`GatewayEventLoopHealth`), with this process's real numbers.
//!
//! One sampler task ([`EventLoopMonitor::run`], owned by the run, stopped by its token) sleeps
//! until a deadline every [`RESOLUTION`] and records how late it woke up: the scheduling delay
//! every task on the runtime sees at that moment (a worker stuck in a long poll, a starved
//! runtime, an overloaded host). Every [`WINDOW`] it closes the window and publishes a snapshot:
//! - `delayMaxMs` / `delayP99Ms`: the largest and the 99th-percentile (nearest rank) lateness of
//!   the window's wake-ups, in ms to 0.1. Upstream records the whole interval between its 20 ms
//!   ticks; this records the lateness alone, so an idle runtime reads ~0–1 ms (the timer's own
//!   millisecond granularity), not ~20.
//! - `utilization`: the share of the window the runtime's workers spent busy (tokio's
//!   `worker_total_busy_duration`, summed over the workers, over workers × window; a worker's
//!   busy time is counted when it parks, so a long poll lands in the window it ends in, and the
//!   ratio is capped at 1). Upstream's is its one event-loop thread's.
//! - `cpuCoreRatio`: the process's CPU time (user + system, all threads, `getrusage`) over the
//!   window's wall time; above 1 means more than one core.
//! - `cpuBreakdown`: the host's utilization and CPU count (`/proc/stat`, the fields upstream
//!   reads: user, nice, system, idle, irq). Upstream's per-thread ratios (its main thread, its
//!   Node workers) have no counterpart here and are left out, as upstream leaves out what it
//!   cannot read.
//! - `degraded` / `reasons` / `degradedSinceMs`: upstream's classification with its thresholds.
//!
//! Until the first window closes, or when a required number cannot be read, there is no
//! snapshot, and the summaries carry no `eventLoop` (upstream's way of saying it is unknown).
//! Cost: 20 timer wake-ups a second while the runtime works, 2 while it is idle
//! ([`next_period`]); once a second one `getrusage` and one read of `/proc/stat`. Memory is
//! bounded: a window keeps at most [`MAX_SAMPLES`] delays.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// How often the sampler wakes up while the runtime works.
pub const RESOLUTION: Duration = Duration::from_millis(50);
/// How often it wakes up while the runtime is idle (see [`next_period`]).
pub const IDLE_RESOLUTION: Duration = Duration::from_millis(500);
/// Below this busy share (with no delay worth noting), a window counts as idle.
const IDLE_UTILIZATION: f64 = 0.01;
/// How long one window lasts; each snapshot describes the last complete window.
pub const WINDOW: Duration = Duration::from_secs(1);
/// Most delays one window keeps (it needs `WINDOW / RESOLUTION`, 20).
pub const MAX_SAMPLES: usize = 256;

/// Upstream's thresholds (`server-start`'s event-loop monitor).
const DELAY_WARN_MS: f64 = 1000.0;
const UTILIZATION_WARN: f64 = 0.95;
const CPU_CORE_RATIO_WARN: f64 = 0.9;
const LOAD_COEVIDENCE_MS: f64 = 25.0;
const SUSTAINED_MIN_INTERVAL_MS: f64 = 1000.0;

/// The host's CPU time (`/proc/stat`'s first line), in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostCpu {
    /// user + nice + system + irq.
    pub busy: u64,
    /// busy + idle.
    pub total: u64,
    /// Online CPUs (`cpuN` lines).
    pub cpus: u32,
}

impl HostCpu {
    /// Parses `/proc/stat`.
    pub fn parse(stat: &str) -> Option<HostCpu> {
        let mut lines = stat.lines();
        let first = lines.next()?;
        let mut fields = first.split_whitespace();
        if fields.next()? != "cpu" {
            return None;
        }
        let n: Vec<u64> = fields
            .take(6)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let [user, nice, system, idle, _iowait, irq] = n[..] else {
            return None;
        };
        let cpus = lines
            .filter(|l| {
                l.strip_prefix("cpu")
                    .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            })
            .count();
        let busy = user + nice + system + irq;
        Some(HostCpu {
            busy,
            total: busy + idle,
            cpus: u32::try_from(cpus).ok().filter(|c| *c > 0)?,
        })
    }

    fn read() -> Option<HostCpu> {
        HostCpu::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }
}

/// The counters read at a window's edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counters {
    /// When they were read.
    pub at: Instant,
    /// The process's CPU time (user + system).
    pub cpu: Option<Duration>,
    /// The runtime's workers' busy time, summed, and how many workers there are.
    pub busy: Option<(Duration, usize)>,
    /// The host's CPU time.
    pub host: Option<HostCpu>,
}

impl Counters {
    /// Reads them now (`at` is the sampler's clock).
    pub fn read(at: Instant) -> Counters {
        Counters {
            at,
            cpu: process_cpu(),
            busy: runtime_busy(),
            host: HostCpu::read(),
        }
    }
}

/// The process's CPU time, all threads.
fn process_cpu() -> Option<Duration> {
    use nix::sys::resource::{getrusage, UsageWho};
    use nix::sys::time::TimeValLike;
    let u = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let micros = u.user_time().num_microseconds() + u.system_time().num_microseconds();
    Some(Duration::from_micros(u64::try_from(micros).ok()?))
}

/// The current runtime's workers' busy time, summed, and their number.
fn runtime_busy() -> Option<(Duration, usize)> {
    let metrics = tokio::runtime::Handle::try_current().ok()?.metrics();
    let workers = metrics.num_workers();
    let busy = (0..workers)
        .map(|w| metrics.worker_total_busy_duration(w))
        .sum();
    (workers > 0).then_some((busy, workers))
}

/// `cpuBreakdown`: what could be read of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuBreakdown {
    /// The host's busy share over the window (0..1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_utilization: Option<f64>,
    /// The host's online CPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_cpu_count: Option<u32>,
}

/// Upstream's `GatewayEventLoopHealth`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventLoopHealth {
    /// Any reason below.
    pub degraded: bool,
    /// How long it has been degraded without a break, ms (`null` when it is not).
    pub degraded_since_ms: Option<u64>,
    /// `event_loop_delay`, `event_loop_utilization`, `cpu`.
    pub reasons: Vec<&'static str>,
    /// The window's length, ms.
    pub interval_ms: f64,
    /// The 99th-percentile wake-up lateness, ms.
    pub delay_p99_ms: f64,
    /// The largest wake-up lateness, ms.
    pub delay_max_ms: f64,
    /// The runtime's workers' busy share (0..1).
    pub utilization: f64,
    /// The process's CPU time over wall time.
    pub cpu_core_ratio: f64,
    /// The host's share.
    pub cpu_breakdown: CpuBreakdown,
}

fn round(value: f64, digits: i32) -> f64 {
    if !value.is_finite() {
        return 0.0;
    }
    let f = 10f64.powi(digits);
    (value * f).round() / f
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Upstream's classification of one window.
fn reasons(interval_ms: f64, p99: f64, max: f64, util: f64, cpu: f64) -> Vec<&'static str> {
    let mut out = Vec::new();
    if p99 >= DELAY_WARN_MS || max >= DELAY_WARN_MS {
        out.push("event_loop_delay");
    }
    if interval_ms < SUSTAINED_MIN_INTERVAL_MS
        || !(p99 >= LOAD_COEVIDENCE_MS || max >= LOAD_COEVIDENCE_MS)
    {
        return out;
    }
    if util >= UTILIZATION_WARN {
        out.push("event_loop_utilization");
    }
    if cpu >= CPU_CORE_RATIO_WARN {
        out.push("cpu");
    }
    out
}

/// The sampler's period for the next window, from the window that just closed: [`RESOLUTION`]
/// while the runtime works or was late, [`IDLE_RESOLUTION`] while it is idle (workers busy
/// under 1 %, no wake-up 25 ms late, not degraded). Lateness comes from busy workers or a
/// loaded host, so an idle runtime is sampled 2 times a second instead of 20 (idle cost, as
/// measured: 0.34 % of a core at 20 wake-ups a second on the 2-core machine); the first busy
/// window brings the fine period back, and a stall is still seen at the next coarse wake-up.
/// No snapshot (unknown) keeps the fine period.
pub fn next_period(last: Option<&EventLoopHealth>) -> Duration {
    match last {
        Some(h)
            if !h.degraded
                && h.utilization < IDLE_UTILIZATION
                && h.delay_max_ms < LOAD_COEVIDENCE_MS =>
        {
            IDLE_RESOLUTION
        }
        _ => RESOLUTION,
    }
}

/// One window being measured (pure: its counters are handed in).
#[derive(Debug)]
pub struct Window {
    start: Counters,
    delays: Vec<Duration>,
    degraded_since: Option<Instant>,
}

impl Window {
    /// A window starting at `start`.
    pub fn new(start: Counters) -> Window {
        Window {
            start,
            delays: Vec::with_capacity((WINDOW.as_millis() / RESOLUTION.as_millis()) as usize + 1),
            degraded_since: None,
        }
    }

    /// One wake-up, `late` after its deadline.
    pub fn record(&mut self, late: Duration) {
        if self.delays.len() < MAX_SAMPLES {
            self.delays.push(late);
        } else if let Some(min) = self.delays.iter_mut().min() {
            // Full (cannot happen at the sampler's rate): keep the largest delays.
            *min = (*min).max(late);
        }
    }

    /// Whether the window has lasted long enough at `now`.
    pub fn due(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.start.at) >= WINDOW
    }

    /// Closes the window at `end` and starts the next one there. `None` when nothing was
    /// recorded or a required counter could not be read at either edge.
    pub fn finish(&mut self, end: Counters) -> Option<EventLoopHealth> {
        let start = std::mem::replace(&mut self.start, end);
        let mut delays = std::mem::take(&mut self.delays);
        let interval = end.at.saturating_duration_since(start.at);
        let interval_ms = ms(interval);
        if delays.is_empty() || interval.is_zero() {
            return None;
        }
        delays.sort_unstable();
        let rank = ((delays.len() as f64) * 0.99).ceil() as usize;
        let p99 = round(ms(delays[rank.clamp(1, delays.len()) - 1]), 1);
        let max = round(ms(delays[delays.len() - 1]), 1);
        let cpu = ms(end.cpu?.checked_sub(start.cpu?)?) / interval_ms;
        let (busy_end, workers) = end.busy?;
        let (busy_start, workers_start) = start.busy?;
        if workers != workers_start {
            return None;
        }
        let busy = ms(busy_end.checked_sub(busy_start)?);
        let util = (busy / (interval_ms * workers as f64)).clamp(0.0, 1.0);
        let (util, cpu) = (round(util, 3), round(cpu, 3));
        let host_utilization = match (start.host, end.host) {
            (Some(a), Some(b)) if b.total > a.total && b.busy >= a.busy => Some(round(
                (b.busy - a.busy) as f64 / (b.total - a.total) as f64,
                3,
            )),
            _ => None,
        };
        let reasons = reasons(interval_ms, p99, max, util, cpu);
        let degraded = !reasons.is_empty();
        if degraded {
            self.degraded_since.get_or_insert(end.at);
        } else {
            self.degraded_since = None;
        }
        Some(EventLoopHealth {
            degraded,
            degraded_since_ms: self
                .degraded_since
                .map(|at| end.at.saturating_duration_since(at).as_millis() as u64),
            reasons,
            interval_ms: round(interval_ms, 3),
            delay_p99_ms: p99,
            delay_max_ms: max,
            utilization: util,
            cpu_core_ratio: cpu,
            cpu_breakdown: CpuBreakdown {
                host_utilization,
                host_cpu_count: end.host.map(|h| h.cpus),
            },
        })
    }
}

/// The latest snapshot, shared by the sampler and the summaries.
#[derive(Debug, Default)]
pub struct EventLoopMonitor {
    latest: Mutex<Option<EventLoopHealth>>,
}

impl EventLoopMonitor {
    /// A monitor with no snapshot yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The last complete window, if there is one.
    pub fn snapshot(&self) -> Option<EventLoopHealth> {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The sampler: runs until `stop` is cancelled.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut window = Window::new(Counters::read(tokio::time::Instant::now().into_std()));
        let mut period = RESOLUTION;
        let mut next = tokio::time::Instant::now() + period;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep_until(next) => {}
            }
            let now = tokio::time::Instant::now();
            window.record(now.saturating_duration_since(next));
            if window.due(now.into_std()) {
                let health = window.finish(Counters::read(now.into_std()));
                period = next_period(health.as_ref());
                *self.latest.lock().unwrap_or_else(PoisonError::into_inner) = health;
            }
            // A stall longer than the period is one late wake-up, not a burst of catch-ups.
            next += period;
            if next <= now {
                next = now + period;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(at: Instant, cpu_ms: u64, busy_ms: u64, host: Option<HostCpu>) -> Counters {
        Counters {
            at,
            cpu: Some(Duration::from_millis(cpu_ms)),
            busy: Some((Duration::from_millis(busy_ms), 2)),
            host,
        }
    }

    #[test]
    fn a_window_reports_delays_utilization_cpu_and_host_share() {
        let t0 = Instant::now();
        let host = |busy, total| {
            Some(HostCpu {
                busy,
                total,
                cpus: 2,
            })
        };
        let mut w = Window::new(counters(t0, 100, 40, host(1000, 5000)));
        assert!(!w.due(t0 + Duration::from_millis(999)));
        for ms in 0..100u64 {
            w.record(Duration::from_micros(ms * 100)); // 0.0 … 9.9 ms
        }
        let t1 = t0 + Duration::from_secs(1);
        assert!(w.due(t1));
        let h = w.finish(counters(t1, 150, 540, host(1100, 5400))).unwrap();
        assert_eq!(h.delay_max_ms, 9.9);
        assert_eq!(h.delay_p99_ms, 9.8);
        assert_eq!(h.interval_ms, 1000.0);
        assert_eq!(h.cpu_core_ratio, 0.05); // 50 ms of CPU in 1 s
        assert_eq!(h.utilization, 0.25); // 500 ms busy of 2 workers × 1 s
        assert_eq!(h.cpu_breakdown.host_utilization, Some(0.25));
        assert_eq!(h.cpu_breakdown.host_cpu_count, Some(2));
        assert!(!h.degraded);
        assert_eq!(h.degraded_since_ms, None);
        let v = serde_json::to_value(&h).unwrap();
        for key in [
            "degraded",
            "reasons",
            "intervalMs",
            "delayP99Ms",
            "delayMaxMs",
            "utilization",
            "cpuCoreRatio",
            "cpuBreakdown",
        ] {
            assert!(v.get(key).is_some(), "{key}: {v}");
        }
        assert!(v["degradedSinceMs"].is_null(), "{v}");
        // The next window starts where this one ended; with no wake-up it has nothing to say.
        assert_eq!(w.finish(counters(t1, 150, 540, None)), None);
    }

    #[test]
    fn an_idle_runtime_is_sampled_coarsely_and_a_busy_or_late_one_finely() {
        let t0 = Instant::now();
        let t1 = t0 + WINDOW;
        let mut w = Window::new(counters(t0, 0, 0, None));
        // Idle: workers busy 2 ms of 2 × 1 s, wake-ups on time.
        w.record(Duration::from_micros(300));
        let idle = w.finish(counters(t1, 1, 2, None)).unwrap();
        assert_eq!(next_period(Some(&idle)), IDLE_RESOLUTION);
        // Busy: 10 % of the workers' time.
        w.record(Duration::from_micros(300));
        let busy = w.finish(counters(t1 + WINDOW, 50, 202, None)).unwrap();
        assert_eq!(next_period(Some(&busy)), RESOLUTION);
        // Idle workers but a wake-up 30 ms late (a loaded host): fine again.
        w.record(Duration::from_millis(30));
        let late = w.finish(counters(t1 + WINDOW * 2, 51, 204, None)).unwrap();
        assert_eq!(next_period(Some(&late)), RESOLUTION);
        // Unknown: fine.
        assert_eq!(next_period(None), RESOLUTION);
    }

    #[test]
    fn a_stall_is_degraded_until_a_calm_window() {
        let t0 = Instant::now();
        let mut w = Window::new(counters(t0, 0, 0, None));
        w.record(Duration::from_millis(1200));
        let t1 = t0 + Duration::from_millis(1300);
        let h = w.finish(counters(t1, 1250, 2500, None)).unwrap();
        assert!(h.degraded);
        assert_eq!(
            h.reasons,
            ["event_loop_delay", "event_loop_utilization", "cpu"]
        );
        assert_eq!(h.degraded_since_ms, Some(0));
        assert_eq!(h.cpu_breakdown, CpuBreakdown::default());
        w.record(Duration::from_millis(1500));
        let t2 = t1 + Duration::from_millis(1600);
        let h = w.finish(counters(t2, 1300, 2600, None)).unwrap();
        assert_eq!(h.reasons, ["event_loop_delay"]);
        assert_eq!(h.degraded_since_ms, Some(1600));
        w.record(Duration::from_millis(1));
        let h = w.finish(counters(t2 + WINDOW, 1310, 2610, None)).unwrap();
        assert!(!h.degraded && h.reasons.is_empty() && h.degraded_since_ms.is_none());
    }

    #[test]
    fn a_counter_that_cannot_be_read_means_no_snapshot() {
        let t0 = Instant::now();
        let mut w = Window::new(counters(t0, 0, 0, None));
        w.record(Duration::from_millis(1));
        let mut end = counters(t0 + WINDOW, 10, 10, None);
        end.cpu = None;
        assert_eq!(w.finish(end), None);
        let mut w = Window::new(counters(t0, 0, 0, None));
        w.record(Duration::from_millis(1));
        let mut end = counters(t0 + WINDOW, 10, 10, None);
        end.busy = None;
        assert_eq!(w.finish(end), None);
    }

    #[test]
    fn a_window_holds_a_bounded_number_of_delays() {
        let mut w = Window::new(counters(Instant::now(), 0, 0, None));
        for i in 0..(MAX_SAMPLES as u64 * 4) {
            w.record(Duration::from_micros(i));
        }
        assert_eq!(w.delays.len(), MAX_SAMPLES);
        assert_eq!(
            w.delays.iter().max(),
            Some(&Duration::from_micros(MAX_SAMPLES as u64 * 4 - 1))
        );
    }

    #[test]
    fn proc_stat_parses_like_upstreams_cpu_times() {
        let stat = "cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\ncpu1 50 3 25 400 20 2 1 0 0 0\nintr 1 2\n";
        assert_eq!(
            HostCpu::parse(stat),
            Some(HostCpu {
                busy: 158,
                total: 958,
                cpus: 2
            })
        );
        assert_eq!(HostCpu::parse("intr 1\n"), None);
        assert_eq!(HostCpu::parse("cpu 1 2\n"), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sampler_measures_this_process() {
        let c = Counters::read(Instant::now());
        assert!(c.cpu.is_some() && c.busy.map(|b| b.1) == Some(2));
        let monitor = EventLoopMonitor::new();
        assert_eq!(monitor.snapshot(), None);
        let stop = CancellationToken::new();
        let task = tokio::spawn(Arc::clone(&monitor).run(stop.clone()));
        let deadline = Instant::now() + Duration::from_secs(20);
        let h = loop {
            if let Some(h) = monitor.snapshot() {
                break h;
            }
            assert!(Instant::now() < deadline, "no snapshot");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(h.interval_ms >= 1000.0, "{h:?}");
        assert!(
            h.delay_max_ms >= h.delay_p99_ms && h.delay_p99_ms >= 0.0,
            "{h:?}"
        );
        assert!((0.0..=1.0).contains(&h.utilization), "{h:?}");
        stop.cancel();
        task.await.unwrap();
    }
}
