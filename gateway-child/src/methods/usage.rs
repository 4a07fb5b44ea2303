//! `sessions.usage`: tokens and activity per session over a range of days, in upstream's shape,
//! from what the transcripts record.
//!
//! Every session whose newest activity falls in the range is a row (most recently updated
//! first, at most `limit`); its accounting counts only what happened in the range: user and
//! assistant messages (as `chat.history` shows them), tool calls and results, runs that ended
//! in an error, an abort or a timeout, and the tokens each run's provider reported, by model and
//! by day. Tether prices nothing, so every cost is 0 and each run that reported tokens is a
//! `missingCostEntries`. It does not record who created a session, so every session's creator
//! is upstream's unknown creator (`["unknown"]`), and it has no messaging channels.
//!
//! Days are read in UTC unless `mode: "specific"` names a UTC offset (`utcOffset`, or a
//! `timeZone` of UTC); the gateway has no time zone database, so another IANA zone without a
//! `utcOffset` is refused, and `mode: "gateway"` counts days in UTC, the gateway's clock.
//! Read-only; the transcripts are read on the blocking pool.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tether_protocol::consts::DEFAULT_AGENT_ID;
use tether_protocol::methods::names;
use tether_protocol::session_key::SessionKey;
use tether_protocol::usage::{
    AgentUsage, CreatorUsage, DailyActivity, DailyLatency, DailyMessageCounts, DailyModelUsage,
    DailyTotals, DailyUsage, LatencyStats, MessageCounts, ModelUsage, QuarterHourMessageCounts,
    QuarterHourTokens, SessionActivity as ActiveDays, SessionCostSummary, SessionUsageRow,
    SessionsUsage, SessionsUsageParams, ToolCount, ToolUsage, UsageAggregates, UsageCreator,
    UsageTotals,
};
use tether_protocol::{ErrorShape, Map};

use super::{encode, params_for};
use crate::agent::usage::{Activity, SessionActivity};
use crate::agent::Engine;
use crate::process::clock::now_ms;

/// Upstream's key for "the gateway does not know who created this session".
pub const UNKNOWN_CREATOR: &str = "[\"unknown\"]";
/// Default number of session rows.
pub const DEFAULT_LIMIT: u64 = 50;
/// Most days a `days` or `range` window spans (upstream's bound).
const MAX_DAYS: i64 = 36_600;
/// Replies slower than this are not latency samples (upstream's bound: 12 hours).
const MAX_LATENCY_MS: u64 = 12 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// `sessions.usage {startDate?, endDate?, mode?, timeZone?, utcOffset?, range?, days?, key?,
/// agentId?, agentScope?, creatorKey?, groupBy?, limit?}`.
pub async fn sessions_usage(engine: &Engine, params: Value) -> Result<Value, ErrorShape> {
    let p: SessionsUsageParams = params_for(names::SESSIONS_USAGE, params)?;
    let now = now_ms();
    let q = Query::new(&p, now)?;
    let activity = engine
        .sessions_activity(q.agent.clone(), q.key.clone())
        .await;
    encode(&summarize(&q, activity, now))
}

/// What to count, decided from the params.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// First millisecond counted.
    pub start_ms: i64,
    /// Last millisecond counted.
    pub end_ms: i64,
    /// Minutes east of UTC that days are read in.
    pub offset_minutes: i64,
    /// Only this agent's sessions (`None`: every agent).
    pub agent: Option<String>,
    /// Only this session.
    pub key: Option<SessionKey>,
    /// Only sessions of this creator.
    pub creator: Option<String>,
    /// Most rows.
    pub limit: usize,
}

fn invalid(msg: impl Into<String>) -> ErrorShape {
    ErrorShape::invalid_request(msg.into())
}

impl Query {
    /// Validates `p` the way upstream does and resolves the range against `now`.
    pub fn new(p: &SessionsUsageParams, now: u64) -> Result<Query, ErrorShape> {
        let all = match p.agent_scope.as_deref() {
            None => false,
            Some("all") => true,
            Some(other) => return Err(invalid(format!("invalid agentScope {other:?} (all)"))),
        };
        if all && (p.agent_id.is_some() || p.key.is_some()) {
            return Err(invalid(
                "agentScope=all cannot be combined with key or agentId",
            ));
        }
        if let Some(g) = p
            .group_by
            .as_deref()
            .filter(|g| !matches!(*g, "instance" | "family"))
        {
            return Err(invalid(format!(
                "invalid groupBy {g:?} (instance or family)"
            )));
        }
        if p.limit == Some(0) {
            return Err(invalid("invalid limit: must be at least 1"));
        }
        let key = p
            .key
            .as_deref()
            .map(|k| SessionKey::parse(k).map_err(|e| invalid(format!("Invalid session key: {e}"))))
            .transpose()?;
        let agent = match (&key, &p.agent_id) {
            (_, _) if all => None,
            (Some(k), _) => Some(k.agent_id().to_owned()),
            (None, Some(a)) => Some(a.trim().to_ascii_lowercase()),
            (None, None) => Some(DEFAULT_AGENT_ID.to_owned()),
        };
        let offset_minutes = offset_minutes(p)?;
        let (start_ms, end_ms) = range(p, now, offset_minutes)?;
        Ok(Query {
            start_ms,
            end_ms,
            offset_minutes,
            agent,
            key,
            creator: p.creator_key.clone(),
            limit: p
                .limit
                .unwrap_or(DEFAULT_LIMIT)
                .clamp(1, 10_000)
                .try_into()
                .unwrap_or(10_000),
        })
    }

    fn contains(&self, ts: u64) -> bool {
        let ts = i64::try_from(ts).unwrap_or(i64::MAX);
        (self.start_ms..=self.end_ms).contains(&ts)
    }

    /// The day `ts` falls on, as `YYYY-MM-DD`.
    fn day(&self, ts: u64) -> String {
        let ms = i64::try_from(ts).unwrap_or(i64::MAX) + self.offset_minutes * 60_000;
        format_day(ms.div_euclid(DAY_MS))
    }
}

/// The UTC offset days are read in (see the module docs).
fn offset_minutes(p: &SessionsUsageParams) -> Result<i64, ErrorShape> {
    let offset = p.utc_offset.as_deref().map(parse_utc_offset);
    match p.mode.as_deref() {
        None | Some("utc") | Some("gateway") => Ok(0),
        Some("specific") => match (p.time_zone.as_deref().map(str::trim), offset) {
            (Some(tz), _) if is_utc_zone(tz) => Ok(0),
            (Some(_), Some(Some(m))) => Ok(m),
            (Some(tz), _) => Err(invalid(format!(
                "invalid timeZone: Tether's gateway has no time zone database and reads only UTC; pass utcOffset (UTC-12:00 through UTC+14:00) for {tz:?}"
            ))),
            (None, Some(Some(m))) => Ok(m),
            (None, Some(None)) => Err(invalid(
                "invalid utcOffset: expected UTC-12:00 through UTC+14:00",
            )),
            (None, None) => Ok(0),
        },
        Some(other) => Err(invalid(format!(
            "invalid mode {other:?} (utc, gateway or specific)"
        ))),
    }
}

fn is_utc_zone(tz: &str) -> bool {
    matches!(
        tz.to_ascii_uppercase().as_str(),
        "UTC" | "ETC/UTC" | "GMT" | "ETC/GMT" | "Z" | "UCT" | "ETC/UCT" | "ZULU" | "ETC/ZULU"
    )
}

/// `UTC+H`, `UTC-HH`, `UTC+H:MM`: minutes east of UTC, within -12:00..=+14:00.
fn parse_utc_offset(raw: &str) -> Option<i64> {
    let rest = raw.trim().strip_prefix("UTC")?;
    let (sign, rest) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let digits = |s: &str, max_len: usize| {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let hours = digits(h, 2)?;
    let minutes = if rest.contains(':') {
        (m.len() == 2).then(|| digits(m, 2)).flatten()?
    } else {
        0
    };
    if minutes > 59 {
        return None;
    }
    let total = sign * (hours * 60 + minutes);
    (-720..=840).contains(&total).then_some(total)
}

/// `[start, end]` in epoch ms (see upstream's `resolveDateRange`).
fn range(p: &SessionsUsageParams, now: u64, offset: i64) -> Result<(i64, i64), ErrorShape> {
    let blank = |d: &Option<String>| d.as_deref().is_none_or(|s| s.trim().is_empty());
    let parse = |name: &str, d: &Option<String>| -> Result<Option<i64>, ErrorShape> {
        if blank(d) {
            return Ok(None);
        }
        parse_day(d.as_deref().unwrap_or_default())
            .map(Some)
            .ok_or_else(|| {
                invalid(format!(
                    "invalid {name}: expected a valid YYYY-MM-DD calendar date"
                ))
            })
    };
    let start = parse("startDate", &p.start_date)?;
    let end = parse("endDate", &p.end_date)?;
    let day_start = |day: i64| day * DAY_MS - offset * 60_000;
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let today = (now + offset * 60_000).div_euclid(DAY_MS);
    match (start, end) {
        (Some(s), Some(e)) if s > e => Err(invalid("startDate must not be after endDate")),
        (Some(s), Some(e)) => Ok((day_start(s), day_start(e + 1) - 1)),
        (Some(_), None) | (None, Some(_)) => {
            Err(invalid("startDate and endDate must be provided together"))
        }
        (None, None) => {
            let days = match p.range.as_deref() {
                Some("all") => return Ok((0, day_start(today + 1) - 1)),
                Some("7d") => Some(7),
                Some("30d") => Some(30),
                Some("90d") => Some(90),
                Some("1y") => Some(365),
                Some(other) => {
                    return Err(invalid(format!(
                        "invalid range {other:?} (7d, 30d, 90d, 1y or all)"
                    )))
                }
                None => legacy_days(p.days.as_ref()),
            };
            let days = days.unwrap_or(30).clamp(1, MAX_DAYS);
            Ok((day_start(today - (days - 1)), day_start(today + 1) - 1))
        }
    }
}

/// The legacy `days` param: a number or a numeric string.
fn legacy_days(v: Option<&Value>) -> Option<i64> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    n.is_finite().then(|| n.floor().min(MAX_DAYS as f64) as i64)
}

/// `YYYY-MM-DD` → days since 1970-01-01, if it is a real calendar day.
fn parse_day(raw: &str) -> Option<i64> {
    let b = raw.trim().as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r.clone()]
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(&b[r]).ok()?.parse::<i64>().ok())
            .flatten()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of a day number (the inverse of [`days_from_civil`]).
fn format_day(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC day and quarter hour of `ts`.
fn utc_quarter(ts: u64) -> (String, u32) {
    let ms = i64::try_from(ts).unwrap_or(i64::MAX);
    let quarter = ms.rem_euclid(DAY_MS) / 900_000;
    (format_day(ms.div_euclid(DAY_MS)), quarter as u32)
}

fn tokens(usage: [u64; 2]) -> UsageTotals {
    let [input, output] = usage;
    UsageTotals {
        input,
        output,
        total_tokens: input + output,
        missing_cost_entries: 1,
        ..UsageTotals::default()
    }
}

/// Exact statistics of latency samples.
fn latency(samples: &[u64]) -> Option<LatencyStats> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let p95 = sorted[(n * 95).div_ceil(100).clamp(1, n) - 1];
    Some(LatencyStats {
        count: n as u64,
        avg_ms: sorted.iter().sum::<u64>() as f64 / n as f64,
        p95_ms: p95,
        min_ms: sorted[0],
        max_ms: sorted[n - 1],
    })
}

/// A model's identity in the breakdowns.
type ModelKey = (Option<String>, Option<String>);

/// One session's accounting over the range, with its raw latency samples (for exact
/// aggregates).
fn summarize_session(q: &Query, s: &SessionActivity) -> (SessionCostSummary, Vec<(String, u64)>) {
    let mut sum = SessionCostSummary {
        session_id: s.session_id.clone(),
        ..SessionCostSummary::default()
    };
    let mut days: BTreeSet<String> = BTreeSet::new();
    let mut day_counts: BTreeMap<String, MessageCounts> = BTreeMap::new();
    let mut quarter_counts: BTreeMap<(String, u32), MessageCounts> = BTreeMap::new();
    let mut day_tokens: BTreeMap<String, UsageTotals> = BTreeMap::new();
    let mut quarter_tokens: BTreeMap<(String, u32), UsageTotals> = BTreeMap::new();
    let mut day_models: BTreeMap<(String, ModelKey), (u64, u64)> = BTreeMap::new();
    let mut models: Vec<ModelUsage> = Vec::new();
    let mut tools: BTreeMap<String, u64> = BTreeMap::new();
    let mut samples: Vec<(String, u64)> = Vec::new();
    for a in s.activity.iter().filter(|a| q.contains(a.ts())) {
        let ts = a.ts();
        let day = q.day(ts);
        sum.first_activity = Some(sum.first_activity.map_or(ts, |f| f.min(ts)));
        sum.last_activity = Some(sum.last_activity.map_or(ts, |l| l.max(ts)));
        days.insert(day.clone());
        let mut counted = MessageCounts::default();
        match a {
            Activity::User { .. } => {
                counted.user = 1;
                counted.total = 1;
            }
            Activity::Assistant { .. } => {
                counted.assistant = 1;
                counted.total = 1;
            }
            Activity::ToolCall { name, .. } => {
                counted.tool_calls = 1;
                *tools.entry(name.clone()).or_default() += 1;
            }
            Activity::ToolResult { is_error, .. } => {
                counted.tool_results = 1;
                counted.errors = u64::from(*is_error);
            }
            Activity::RunEnd {
                model,
                usage,
                failed,
                replied_to,
                ..
            } => {
                counted.errors = u64::from(*failed);
                if let Some(latency) = replied_to.map(|u| ts.saturating_sub(u)) {
                    if latency <= MAX_LATENCY_MS {
                        samples.push((day.clone(), latency));
                    }
                }
                if let Some(u) = usage {
                    let t = tokens(*u);
                    sum.totals.add(&t);
                    day_tokens.entry(day.clone()).or_default().add(&t);
                    quarter_tokens.entry(utc_quarter(ts)).or_default().add(&t);
                    let (provider, id) = match model {
                        Some((p, m)) => (Some(p.clone()), Some(m.clone())),
                        None => (None, None),
                    };
                    match models
                        .iter_mut()
                        .find(|m| m.provider == provider && m.model == id)
                    {
                        Some(m) => {
                            m.count += 1;
                            m.totals.add(&t);
                        }
                        None => models.push(ModelUsage {
                            provider: provider.clone(),
                            model: id.clone(),
                            count: 1,
                            totals: t,
                        }),
                    }
                    let e = day_models.entry((day.clone(), (provider, id))).or_default();
                    e.0 += t.total_tokens;
                    e.1 += 1;
                }
            }
        }
        sum.message_counts.add(&counted);
        day_counts.entry(day).or_default().add(&counted);
        quarter_counts
            .entry(utc_quarter(ts))
            .or_default()
            .add(&counted);
    }
    sum.duration_ms = sum
        .first_activity
        .zip(sum.last_activity)
        .map(|(f, l)| l - f);
    sum.activity_dates = days.into_iter().collect();
    if !tools.is_empty() {
        sum.tool_usage = Some(tool_usage(tools));
    }
    if !models.is_empty() {
        models.sort_by_key(|m| std::cmp::Reverse(m.totals.total_tokens));
        sum.model_usage = Some(models);
    }
    let values: Vec<u64> = samples.iter().map(|(_, v)| *v).collect();
    sum.latency = latency(&values);
    sum.daily_latency = by_day(&samples)
        .into_iter()
        .filter_map(|(date, v)| latency(&v).map(|stats| DailyLatency { date, stats }))
        .collect();
    sum.daily_breakdown = day_tokens
        .into_iter()
        .map(|(date, totals)| DailyUsage {
            date,
            tokens: totals.total_tokens,
            cost: totals.total_cost,
            totals,
        })
        .collect();
    sum.daily_message_counts = day_counts
        .into_iter()
        .map(|(date, counts)| DailyMessageCounts { date, counts })
        .collect();
    sum.utc_quarter_hour_message_counts = quarter_counts
        .into_iter()
        .map(|((date, quarter_index), counts)| QuarterHourMessageCounts {
            date,
            quarter_index,
            counts,
        })
        .collect();
    sum.utc_quarter_hour_token_usage = quarter_tokens
        .into_iter()
        .map(|((date, quarter_index), t)| QuarterHourTokens {
            date,
            quarter_index,
            input: t.input,
            output: t.output,
            cache_read: t.cache_read,
            cache_write: t.cache_write,
            total_tokens: t.total_tokens,
            total_cost: t.total_cost,
        })
        .collect();
    sum.daily_model_usage = day_models
        .into_iter()
        .map(
            |((date, (provider, model)), (tokens, count))| DailyModelUsage {
                date,
                provider,
                model,
                tokens,
                cost: 0.0,
                count,
            },
        )
        .collect();
    (sum, samples)
}

fn by_day(samples: &[(String, u64)]) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (day, v) in samples {
        out.entry(day.clone()).or_default().push(*v);
    }
    out
}

fn tool_usage(tools: BTreeMap<String, u64>) -> ToolUsage {
    let mut list: Vec<ToolCount> = tools
        .into_iter()
        .map(|(name, count)| ToolCount { name, count })
        .collect();
    list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    ToolUsage {
        total_calls: list.iter().map(|t| t.count).sum(),
        unique_tools: list.len() as u64,
        tools: list,
    }
}

/// The whole answer: the sessions in the range, their rows and the aggregates.
pub fn summarize(q: &Query, activity: Vec<SessionActivity>, now: u64) -> SessionsUsage {
    let mut sessions: Vec<SessionActivity> = activity
        .into_iter()
        .filter(|s| s.updated_at.is_some_and(|u| q.contains(u)))
        .collect();
    sessions.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| a.key.cmp(&b.key))
    });
    let creator_options = if sessions.is_empty() {
        Vec::new()
    } else {
        vec![UsageCreator {
            key: UNKNOWN_CREATOR.into(),
            actor: None,
        }]
    };
    if q.creator.as_deref().is_some_and(|c| c != UNKNOWN_CREATOR) {
        sessions.clear();
    }
    let mut totals = UsageTotals::default();
    let mut agg = UsageAggregates::default();
    let mut tools: BTreeMap<String, u64> = BTreeMap::new();
    let mut models: BTreeMap<ModelKey, ModelUsage> = BTreeMap::new();
    let mut providers: BTreeMap<Option<String>, ModelUsage> = BTreeMap::new();
    let mut agents: BTreeMap<String, UsageTotals> = BTreeMap::new();
    let mut cost_days: BTreeMap<String, UsageTotals> = BTreeMap::new();
    let mut days: BTreeMap<String, DailyActivity> = BTreeMap::new();
    let mut day_models: BTreeMap<(String, ModelKey), DailyModelUsage> = BTreeMap::new();
    let mut samples: Vec<(String, u64)> = Vec::new();
    let mut creator = CreatorUsage {
        key: UNKNOWN_CREATOR.into(),
        ..CreatorUsage::default()
    };
    let mut creator_activity: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    let mut rows = Vec::new();
    for s in &sessions {
        let (usage, session_samples) = summarize_session(q, s);
        samples.extend(session_samples);
        totals.add(&usage.totals);
        creator.totals.add(&usage.totals);
        agents
            .entry(s.key.agent_id().to_owned())
            .or_default()
            .add(&usage.totals);
        if let Some(d) = usage.duration_ms.filter(|d| *d > 0) {
            agg.longest_session_duration_ms =
                Some(agg.longest_session_duration_ms.map_or(d, |l| l.max(d)));
        }
        if usage.first_activity.is_some() || usage.message_counts.total > 0 {
            agg.session_count += 1;
            creator.session_count += 1;
            *creator_activity
                .entry(usage.activity_dates.clone())
                .or_default() += 1;
        }
        agg.messages.add(&usage.message_counts);
        for t in usage.tool_usage.iter().flat_map(|t| &t.tools) {
            *tools.entry(t.name.clone()).or_default() += t.count;
        }
        for m in usage.model_usage.iter().flatten() {
            let e = models
                .entry((m.provider.clone(), m.model.clone()))
                .or_insert_with(|| ModelUsage {
                    provider: m.provider.clone(),
                    model: m.model.clone(),
                    ..ModelUsage::default()
                });
            e.count += m.count;
            e.totals.add(&m.totals);
            let p = providers
                .entry(m.provider.clone())
                .or_insert_with(|| ModelUsage {
                    provider: m.provider.clone(),
                    ..ModelUsage::default()
                });
            p.count += m.count;
            p.totals.add(&m.totals);
        }
        for d in &usage.daily_breakdown {
            cost_days.entry(d.date.clone()).or_default().add(&d.totals);
            let day = days.entry(d.date.clone()).or_default();
            day.tokens += d.tokens;
            day.cost += d.cost;
        }
        for d in &usage.daily_message_counts {
            let day = days.entry(d.date.clone()).or_default();
            day.messages += d.counts.total;
            day.tool_calls += d.counts.tool_calls;
            day.errors += d.counts.errors;
        }
        for d in &usage.daily_model_usage {
            let e = day_models
                .entry((d.date.clone(), (d.provider.clone(), d.model.clone())))
                .or_insert_with(|| DailyModelUsage {
                    date: d.date.clone(),
                    provider: d.provider.clone(),
                    model: d.model.clone(),
                    ..DailyModelUsage::default()
                });
            e.tokens += d.tokens;
            e.cost += d.cost;
            e.count += d.count;
        }
        if rows.len() < q.limit {
            rows.push(SessionUsageRow {
                key: s.key.to_string(),
                label: None,
                session_id: s.session_id.clone(),
                scope: "instance".into(),
                updated_at: s.updated_at.unwrap_or(0),
                agent_id: s.key.agent_id().to_owned(),
                creator_key: UNKNOWN_CREATOR.into(),
                chat_type: Some("direct".into()),
                model_provider: s.last_model.as_ref().map(|(p, _)| p.clone()),
                model: s.last_model.as_ref().map(|(_, m)| m.clone()),
                usage: Some(usage),
                has_context_weight: false,
                extra: Map::new(),
            });
        }
    }
    let most_tokens = |a: &ModelUsage, b: &ModelUsage| {
        b.totals
            .total_cost
            .total_cmp(&a.totals.total_cost)
            .then_with(|| b.totals.total_tokens.cmp(&a.totals.total_tokens))
    };
    agg.tools = tool_usage(tools);
    agg.by_model = models.into_values().collect();
    agg.by_model.sort_by(most_tokens);
    agg.by_provider = providers.into_values().collect();
    agg.by_provider.sort_by(most_tokens);
    agg.by_agent = agents
        .into_iter()
        .map(|(agent_id, totals)| AgentUsage { agent_id, totals })
        .collect();
    agg.by_agent
        .sort_by_key(|a| std::cmp::Reverse(a.totals.total_tokens));
    agg.cost_daily = cost_days
        .iter()
        .map(|(date, totals)| DailyTotals {
            date: date.clone(),
            totals: *totals,
        })
        .collect();
    if !sessions.is_empty() {
        creator.daily = agg.cost_daily.clone();
        creator.session_activity = creator_activity
            .into_iter()
            .map(|(dates, session_count)| ActiveDays {
                dates,
                session_count,
            })
            .collect();
        agg.by_creator = vec![creator];
    }
    let values: Vec<u64> = samples.iter().map(|(_, v)| *v).collect();
    agg.latency = latency(&values);
    agg.daily_latency = by_day(&samples)
        .into_iter()
        .filter_map(|(date, v)| latency(&v).map(|stats| DailyLatency { date, stats }))
        .collect();
    agg.model_daily = day_models.into_values().collect();
    agg.daily = days
        .into_iter()
        .map(|(date, d)| DailyActivity { date, ..d })
        .collect();
    SessionsUsage {
        updated_at: now,
        start_date: format_day((q.start_ms + q.offset_minutes * 60_000).div_euclid(DAY_MS)),
        end_date: format_day((q.end_ms + q.offset_minutes * 60_000).div_euclid(DAY_MS)),
        sessions: rows,
        totals,
        aggregates: agg,
        creator_options,
        extra: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2026-12-04T12:00:00Z.
    const NOW: u64 = 1_796_385_600_000;
    const DAY: u64 = 86_400_000;

    fn params(v: Value) -> SessionsUsageParams {
        serde_json::from_value(v).expect("params")
    }

    fn query(v: Value) -> Result<Query, ErrorShape> {
        Query::new(&params(v), NOW)
    }

    fn session(name: &str, activity: Vec<Activity>) -> SessionActivity {
        SessionActivity {
            key: SessionKey::parse(name).expect("key"),
            session_id: format!("id-{name}"),
            updated_at: activity.iter().map(Activity::ts).max(),
            last_model: Some(("mock".into(), "m1".into())),
            activity,
        }
    }

    fn turn(at: u64, usage: Option<[u64; 2]>) -> Vec<Activity> {
        vec![
            Activity::User { ts: at },
            Activity::Assistant { ts: at + 10 },
            Activity::RunEnd {
                ts: at + 1_000,
                model: Some(("mock".into(), "m1".into())),
                usage,
                failed: false,
                replied_to: Some(at),
            },
        ]
    }

    #[test]
    fn days_round_trip_and_bad_dates_are_refused() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(format_day(parse_day("2026-12-04").unwrap()), "2026-12-04");
        assert_eq!(format_day(parse_day("2024-02-29").unwrap()), "2024-02-29");
        assert_eq!(format_day(-1), "1969-12-31");
        for bad in [
            "2026-02-30",
            "2025-02-29",
            "2026-13-01",
            "26-12-04",
            "2026/12/04",
            "x",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        let e = query(json!({"startDate": "2026-02-30", "endDate": "2026-03-01"})).unwrap_err();
        assert_eq!(e.code, tether_protocol::ErrorCode::InvalidRequest);
        assert_eq!(
            e.message,
            "invalid startDate: expected a valid YYYY-MM-DD calendar date"
        );
        let e = query(json!({"startDate": "2026-03-02", "endDate": "2026-03-01"})).unwrap_err();
        assert_eq!(e.message, "startDate must not be after endDate");
        let e = query(json!({"startDate": "2026-03-02"})).unwrap_err();
        assert_eq!(e.message, "startDate and endDate must be provided together");
        assert!(query(json!({"mode": "weekly"})).is_err());
        assert!(query(json!({"agentScope": "all", "agentId": "main"})).is_err());
    }

    #[test]
    fn the_default_window_is_the_last_30_utc_days() {
        let q = query(json!({})).unwrap();
        let s = summarize(&q, Vec::new(), NOW);
        assert_eq!(s.start_date, "2026-11-05");
        assert_eq!(s.end_date, "2026-12-04");
        assert_eq!(q.agent.as_deref(), Some("main"));
        assert_eq!(q.end_ms, 1_796_428_799_999);
        let all = query(json!({"agentScope": "all", "range": "7d"})).unwrap();
        assert_eq!(all.agent, None);
        assert_eq!(summarize(&all, Vec::new(), NOW).start_date, "2026-11-28");
    }

    #[test]
    fn offsets_shift_the_days() {
        assert_eq!(parse_utc_offset("UTC+5:30"), Some(330));
        assert_eq!(parse_utc_offset("UTC-4"), Some(-240));
        assert_eq!(parse_utc_offset("UTC+15"), None);
        assert_eq!(parse_utc_offset("GMT+1"), None);
        let q = query(
            json!({"mode": "specific", "timeZone": "UTC", "utcOffset": "UTC+0",
            "startDate": "2026-12-04", "endDate": "2026-12-04"}),
        )
        .unwrap();
        assert_eq!(q.offset_minutes, 0);
        let q = query(json!({"mode": "specific", "timeZone": "Asia/Kolkata",
            "utcOffset": "UTC+5:30", "startDate": "2026-12-04", "endDate": "2026-12-04"}))
        .unwrap();
        assert_eq!(
            q.start_ms,
            1_796_385_600_000 - 12 * 3_600_000 - 330 * 60_000
        );
        let e = query(json!({"mode": "specific", "timeZone": "Asia/Kolkata"})).unwrap_err();
        assert!(e.message.starts_with("invalid timeZone"), "{}", e.message);
    }

    #[test]
    fn sessions_in_the_range_are_counted_with_their_tokens_and_messages() {
        let q = query(json!({"startDate": "2026-12-03", "endDate": "2026-12-04"})).unwrap();
        let mut tool_turn = turn(NOW - DAY, Some([10, 3]));
        tool_turn.insert(
            2,
            Activity::ToolCall {
                ts: NOW - DAY + 20,
                name: "exec".into(),
            },
        );
        tool_turn.insert(
            3,
            Activity::ToolResult {
                ts: NOW - DAY + 30,
                is_error: true,
            },
        );
        let mut both = tool_turn;
        both.extend(turn(NOW, Some([5, 2])));
        let sessions = vec![
            session("main", both),
            // Before the range: neither a row nor counted.
            session("old", turn(NOW - 10 * DAY, Some([100, 100]))),
            // A run that reported no tokens.
            session("quiet", turn(NOW - 5_000, None)),
        ];
        let s = summarize(&q, sessions, NOW);
        let keys: Vec<&str> = s.sessions.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["agent:main:main", "agent:main:quiet"]);
        assert_eq!(s.totals.input, 15);
        assert_eq!(s.totals.output, 5);
        assert_eq!(s.totals.total_tokens, 20);
        assert_eq!(s.totals.total_cost, 0.0);
        assert_eq!(s.totals.missing_cost_entries, 2);
        let main = s.sessions[0].usage.as_ref().unwrap();
        assert_eq!(main.message_counts.user, 2);
        assert_eq!(main.message_counts.assistant, 2);
        assert_eq!(main.message_counts.total, 4);
        assert_eq!(main.message_counts.tool_calls, 1);
        assert_eq!(main.message_counts.errors, 1);
        assert_eq!(main.activity_dates, ["2026-12-03", "2026-12-04"]);
        assert_eq!(main.daily_breakdown.len(), 2);
        assert_eq!(main.daily_breakdown[1].tokens, 7);
        assert_eq!(main.latency.unwrap().count, 2);
        assert_eq!(main.latency.unwrap().max_ms, 1_000);
        assert_eq!(main.tool_usage.as_ref().unwrap().tools[0].name, "exec");
        let a = &s.aggregates;
        assert_eq!(a.session_count, 2);
        assert_eq!(a.messages.total, 6);
        assert_eq!(a.by_model.len(), 1);
        assert_eq!(a.by_model[0].count, 2);
        assert_eq!(a.by_model[0].totals.total_tokens, 20);
        assert_eq!(a.by_provider[0].provider.as_deref(), Some("mock"));
        assert_eq!(a.by_provider[0].model, None);
        assert_eq!(a.by_agent[0].agent_id, "main");
        assert_eq!(a.by_creator[0].key, UNKNOWN_CREATOR);
        assert_eq!(a.by_creator[0].session_count, 2);
        assert_eq!(a.daily.len(), 2);
        assert_eq!(a.tools.total_calls, 1);
        assert_eq!(s.creator_options[0].key, UNKNOWN_CREATOR);

        // The row limit keeps the totals whole.
        let one = Query {
            limit: 1,
            ..q.clone()
        };
        let s1 = summarize(
            &one,
            vec![
                session("main", turn(NOW, Some([5, 2]))),
                session("b", turn(NOW - 1, Some([1, 1]))),
            ],
            NOW,
        );
        assert_eq!(s1.sessions.len(), 1);
        assert_eq!(s1.totals.total_tokens, 9);
        // Another creator has no sessions here.
        let other = Query {
            creator: Some("[\"profile\",\"x\"]".into()),
            ..q
        };
        let s2 = summarize(&other, vec![session("main", turn(NOW, Some([5, 2])))], NOW);
        assert!(s2.sessions.is_empty());
        assert_eq!(s2.totals.total_tokens, 0);
    }
}
