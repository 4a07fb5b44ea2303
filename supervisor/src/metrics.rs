//! Metrics for a diagnostics view: gateway call latency and the gateway process's memory and CPU.
//!
//! It owns two small things. [`LatencyWindow`] collects the latency of every answered gateway
//! call between two samples (bounded) and summarizes them; the actor feeds it, the handle drains
//! it. [`ProcessSampler`] reads one process's resident memory and CPU time (through `sysinfo`,
//! i.e. `/proc`) when asked. Nothing here runs by itself: no timer, no thread. A caller samples
//! while somebody looks (the desktop app's diagnostics page) and never while idle, so an idle
//! supervisor costs nothing for it.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Most latencies kept between two drains (the oldest are dropped beyond it).
pub const LATENCY_SAMPLES: usize = 4096;

/// Latencies of the calls answered since the last drain.
#[derive(Debug, Default)]
pub struct LatencyWindow {
    micros: VecDeque<u64>,
    dropped: u64,
}

/// A summary of some latencies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencySummary {
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// How many calls (including any dropped beyond the cap).
    pub count: u64,
}

impl LatencyWindow {
    /// Records one answered call.
    pub fn record(&mut self, latency: Duration) {
        if self.micros.len() == LATENCY_SAMPLES {
            self.micros.pop_front();
            self.dropped += 1;
        }
        self.micros
            .push_back(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// The summary of everything recorded since the last drain, and a fresh window; `None` when
    /// no call was answered.
    pub fn drain(&mut self) -> Option<LatencySummary> {
        let mut v = Vec::from(std::mem::take(&mut self.micros));
        let dropped = std::mem::take(&mut self.dropped);
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let at = |q: f64| {
            // Nearest rank: the smallest value with at least q of the samples at or below it.
            let rank = (q * v.len() as f64).ceil() as usize;
            v[rank.clamp(1, v.len()) - 1]
        };
        let ms = |us: u64| us as f64 / 1000.0;
        Some(LatencySummary {
            p50_ms: ms(at(0.50)),
            p95_ms: ms(at(0.95)),
            max_ms: ms(v[v.len() - 1]),
            count: v.len() as u64 + dropped,
        })
    }
}

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessSample {
    /// Resident memory, bytes.
    pub rss_bytes: u64,
    /// CPU used since the previous sample of the same process, in % of one core; `None` on the
    /// first sample of a process.
    pub cpu_percent: Option<f32>,
}

/// Reads a process's memory and CPU on demand.
pub struct ProcessSampler {
    system: System,
    last_pid: Option<u32>,
}

impl std::fmt::Debug for ProcessSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessSampler")
            .field("last_pid", &self.last_pid)
            .finish_non_exhaustive()
    }
}

impl Default for ProcessSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessSampler {
    /// A sampler that has read nothing yet.
    pub fn new() -> Self {
        ProcessSampler {
            system: System::new(),
            last_pid: None,
        }
    }

    /// Reads `pid` now (a few `/proc` reads); `None` if it does not exist.
    pub fn sample(&mut self, pid: u32) -> Option<ProcessSample> {
        let p = Pid::from_u32(pid);
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[p]),
            true,
            ProcessRefreshKind::nothing().with_memory().with_cpu(),
        );
        let process = self.system.process(p)?;
        let first = self.last_pid != Some(pid);
        self.last_pid = Some(pid);
        Some(ProcessSample {
            rss_bytes: process.memory(),
            cpu_percent: (!first).then(|| process.cpu_usage()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_summary_uses_nearest_rank() {
        let mut w = LatencyWindow::default();
        assert_eq!(w.drain(), None);
        for ms in 1..=100 {
            w.record(Duration::from_millis(ms));
        }
        let s = w.drain().unwrap();
        assert_eq!(
            (s.p50_ms, s.p95_ms, s.max_ms, s.count),
            (50.0, 95.0, 100.0, 100)
        );
        assert_eq!(w.drain(), None, "a drain starts a fresh window");
        w.record(Duration::from_micros(1500));
        let one = w.drain().unwrap();
        assert_eq!((one.p50_ms, one.p95_ms, one.count), (1.5, 1.5, 1));
    }

    #[test]
    fn latency_window_is_bounded_and_counts_what_it_dropped() {
        let mut w = LatencyWindow::default();
        for _ in 0..LATENCY_SAMPLES + 10 {
            w.record(Duration::from_millis(1));
        }
        assert_eq!(w.micros.len(), LATENCY_SAMPLES);
        assert_eq!(w.drain().unwrap().count, LATENCY_SAMPLES as u64 + 10);
    }

    #[test]
    fn samples_this_process_and_not_a_missing_one() {
        let mut s = ProcessSampler::new();
        let me = std::process::id();
        let first = s.sample(me).expect("this process exists");
        assert!(first.rss_bytes > 0);
        assert_eq!(
            first.cpu_percent, None,
            "no CPU figure without a previous sample"
        );
        let second = s.sample(me).unwrap();
        assert!(second.cpu_percent.is_some());
        // No process has this pid: Linux's pid_max is at most 2^22.
        assert_eq!(s.sample(u32::MAX), None);
    }
}
