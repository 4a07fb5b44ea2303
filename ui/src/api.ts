// The only door between the webview and Rust. Every `invoke`, `listen` and `Channel` of the app
// lives here, fully typed, mirroring src-tauri/IPC.md (keep the two in step: a change to one is a
// change to both). Components and stores import these functions and types; they never import
// `@tauri-apps/api` themselves.
//
// Nothing that crosses this door carries a secret: no gateway URL, port, token, device key or
// provider API key ever reaches the page (provider keys are write-only: `ProviderInput.apiKey`).
// Every command rejects with an `IpcError` (`{code, message}`), never with a bare string.

import { Channel, invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

// ---------------------------------------------------------------------------------------------
// Errors

export type ErrorCode =
  /** The input failed validation in Rust (length, enum, id, size). */
  | 'invalid_input'
  /** No connection to the gateway right now. */
  | 'not_connected'
  /** The gateway did not answer in time. */
  | 'timeout'
  /** The connection dropped while the call was pending. */
  | 'disconnected'
  /** The link's send queue is full; retry. */
  | 'busy'
  /** The gateway refused; `gatewayCode` holds its code (e.g. `INVALID_REQUEST`). */
  | 'gateway'
  /** The gateway answered, but its answer could not be read. */
  | 'bad_response'
  /** The restart governor's breaker is open; `gateway_restart` with `force` overrides it. */
  | 'breaker_open'
  /** Reload is turned off by the reload policy. */
  | 'reload_off'
  /** Tether did not start this gateway and cannot restart it. */
  | 'not_owned'
  /** Another refusal by the supervisor; the message says why. */
  | 'refused'
  /** A local file could not be read or written (settings, logs, export). */
  | 'io'
  /** The supervisor has stopped (the app is quitting). */
  | 'gone'
  /** A bug: the message says where. */
  | 'internal';

export interface IpcError {
  code: ErrorCode;
  message: string;
  /** `code === 'gateway'`: the gateway's own error code. */
  gatewayCode?: string;
}

/** Narrows an unknown rejection to an `IpcError` (anything else becomes `internal`). */
export function asIpcError(e: unknown): IpcError {
  if (typeof e === 'object' && e !== null && 'code' in e && 'message' in e) {
    const { code, message, gatewayCode } = e as { code: unknown; message: unknown; gatewayCode?: unknown };
    if (typeof code === 'string' && typeof message === 'string') {
      return {
        code: code as ErrorCode,
        message,
        ...(typeof gatewayCode === 'string' ? { gatewayCode } : {}),
      };
    }
  }
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asIpcError(e);
  }
}

// ---------------------------------------------------------------------------------------------
// App

export type SessionType = 'x11' | 'wayland' | 'unknown';

export interface Limits {
  /** Longest message, in UTF-16 code units as the textarea counts them. */
  maxMessageChars: number;
  /** Most files on one message. */
  maxAttachments: number;
  /** Most bytes of all files on one message (decoded). */
  maxAttachmentBytes: number;
  /** Most bytes of one image sent to a model. */
  maxImageBytes: number;
}

export interface RendererInfo {
  /** WebKitGTK version, e.g. `2.50.6`. */
  webkitVersion: string;
  sessionType: SessionType;
  /** Whether the DMA-BUF renderer is off (by the user's environment or by the fallback). */
  dmabufDisabled: boolean;
  /** The app relaunched itself because the first window did not paint: say so. */
  relaunchedAfterBlank: boolean;
}

export interface AppInfo {
  version: string;
  /** The OS locale as a BCP 47 tag (`en-US`, `zh-CN`, `th-TH`). */
  osLocale: string;
  /** Whether a tray icon is shown (a tray host exists and the tray library loaded). */
  trayAvailable: boolean;
  /** Whether closing the window hides it to the tray now (the setting, or its automatic default). */
  closeToTray: boolean;
  renderer: RendererInfo;
  limits: Limits;
  /** The supervisor's state directory (not a secret; shown in diagnostics). */
  stateDir: string;
  /** Where the app's log files are. */
  logDir: string;
}

export function appInfo(): Promise<AppInfo> {
  return call('app_info');
}

/** Tells Rust the page painted its first frame (after mount, inside requestAnimationFrame). */
export function uiReady(): Promise<void> {
  return call('ui_ready');
}

/** Opens an http(s) or mailto URL in the system browser; anything else is refused. */
export function openExternal(url: string): Promise<void> {
  return call('open_external', { url });
}

/** Stops the gateway gracefully and quits the app. */
export function quitApp(): Promise<void> {
  return call('quit_app');
}

// ---------------------------------------------------------------------------------------------
// Gateway status

export type Phase =
  | 'stopped'
  | 'probing'
  | 'starting'
  | 'running'
  | 'reconnecting'
  | 'backoff'
  | 'stopping'
  | 'paused'
  | 'failed';

/** What to call the state in one word; computed in Rust so the tray and the window agree. */
export type Headline =
  | 'running'
  | 'starting'
  | 'restarting'
  | 'reconnecting'
  | 'stopping'
  | 'stopped'
  | 'paused'
  | 'failed';

export type Problem =
  | 'config_error'
  | 'port_in_use'
  | 'already_running'
  | 'auth'
  | 'breaker_open'
  | 'spawn_failed'
  | 'not_ready';

export type GatewayKind = 'tether' | 'openclaw' | 'custom';

export interface ServerInfo {
  version: string;
  protocol: number;
  bootId?: string;
  tickIntervalMs: number;
  mainSessionKey?: string;
  restartRpc: boolean;
}

export interface ExitInfo {
  code?: number;
  signal?: number;
}

export interface GatewayStatus {
  phase: Phase;
  headline: Headline;
  /** Bumped on every spawn or attach. */
  generation: number;
  /** Why the phase changed, in plain words (redacted). */
  reason: string;
  pid?: number;
  /** Whether Tether started (and may stop) the gateway process. */
  owned: boolean;
  gateway: GatewayKind;
  server?: ServerInfo;
  /** Epoch ms of the next attempt, in backoff or reconnecting (for a countdown). */
  retryAtMs?: number;
  attempt?: number;
  lastExit?: ExitInfo;
  problem?: Problem;
  /** Epoch ms when this phase began: uptime when running, elapsed time when starting. */
  sinceMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface Governor {
  state: BreakerState;
  reason: string;
  restartsInWindow: number;
  windowMs: number;
  maxRestarts: number;
  /** Epoch ms when an open breaker will allow a restart again. */
  openUntilMs?: number;
  trips: number;
  executedTotal: number;
  suppressedTotal: number;
  /** Whether "Restart anyway" would do something now. */
  overrideAvailable: boolean;
}

export interface StatusView {
  status: GatewayStatus;
  governor: Governor;
}

export function getStatus(): Promise<StatusView> {
  return call('status_get');
}

/** Every status or governor change, as it happens (event `status`). */
export function onStatus(cb: (s: StatusView) => void): Promise<UnlistenFn> {
  return listen<StatusView>('status', (e) => cb(e.payload));
}

/** Starts the gateway (also resumes after a pause and retries after a failure; closes the breaker). */
export function startGateway(): Promise<{ message: string }> {
  return call('gateway_start');
}

/** Stops the gateway; resolves once it has stopped. */
export function stopGateway(): Promise<{ message: string }> {
  return call('gateway_stop');
}

/** Restarts the gateway; `force` is "Restart anyway" past an open breaker. */
export function restartGateway(force = false): Promise<{ message: string }> {
  return call('gateway_restart', { force });
}

// ---------------------------------------------------------------------------------------------
// The chat stream: one Channel, one envelope per ~16 ms flush with everything that happened in it

export type RunState = 'status' | 'delta' | 'final' | 'aborted' | 'error' | 'interrupted';
export type ToolStatus = 'running' | 'completed' | 'error';

export interface ToolUpdate {
  runId: string;
  toolCallId: string;
  name: string;
  /** Only moves forward: running → completed | error. */
  status: ToolStatus;
  sessionKey?: string;
  /** Epoch ms when the call started (for elapsed time while running). */
  startedAtMs?: number;
  /** Once finished. */
  durationMs?: number;
  /** First two non-empty output lines, joined by " / ", at most 160 chars. */
  summary?: string;
  /** The arguments, pretty JSON, at most 16 KiB (sent once, with the first update that has them). */
  args?: string;
  /** The result text, at most 64 KiB (sent once the call finished). */
  output?: string;
  /** `output` was cut at the cap. */
  outputTruncated?: boolean;
  /** `status === 'error'`: the message. */
  error?: string;
}

/** What happened to one run during one flush. */
export interface RunBatch {
  kind: 'run';
  runId: string;
  sessionKey: string;
  /** The run's state after this batch. */
  state: RunState;
  /** Text to append to the run's text (may be empty). */
  append: string;
  /** When present, the run's whole text was rewritten: use this instead (then `append`). */
  replace?: string;
  /** `state === 'status'`: the preparation phase (e.g. `thinking`). */
  phase?: string;
  stopReason?: string;
  /** `error` / `interrupted`: what went wrong. */
  errorMessage?: string;
  /** `error`: the gateway's kind of failure (`auth`, `rate_limit`, …). */
  errorKind?: string;
  /** Tool updates in order; several for one call are possible. */
  tools: ToolUpdate[];
  /** On a terminal state: the run's whole text, to check against (replaces what was assembled). */
  text?: string;
}

export type ApprovalDecision = 'allow-once' | 'allow-always' | 'deny';

export interface ApprovalMessage {
  kind: 'approval';
  state: 'requested' | 'resolved';
  /** Approval id for `resolveApproval`. */
  id: string;
  command?: string;
  cwd?: string;
  sessionKey?: string;
  runId?: string;
  decision?: string;
  /** Epoch ms after which the request expires. */
  expiresAtMs?: number;
  /** The decisions the gateway offers; absent: all three. No `allow-always` when every command asks. */
  allowedDecisions?: string[];
}

/** The UI may have missed events: reload the history of the sessions it shows. */
export interface ResyncMessage {
  kind: 'resync';
  /** `lagged`: the stream fell behind; `reconnected`: the gateway came back after a gap. */
  reason: 'lagged' | 'reconnected';
}

export type StreamMessage = RunBatch | ApprovalMessage | ResyncMessage;

export interface StreamEnvelope {
  /** Increments by one per envelope on this channel. */
  seq: number;
  messages: StreamMessage[];
}

/**
 * Opens the chat stream. One per page: opening again replaces the previous channel. The first
 * envelope after opening may be a `resync` if the app already had runs in flight.
 */
export async function openStream(onEnvelope: (e: StreamEnvelope) => void): Promise<void> {
  const channel = new Channel<StreamEnvelope>();
  channel.onmessage = onEnvelope;
  await call<void>('chat_stream', { channel });
}

// ---------------------------------------------------------------------------------------------
// Sessions and history

export interface SessionSummary {
  key: string;
  /** A title: the gateway's label, else the first user message, else the key. */
  title: string;
  /** Epoch ms of the last activity. */
  updatedAtMs?: number;
  /** The last message, shortened. */
  preview?: string;
  /** A run is in flight. */
  active: boolean;
}

export interface AttachmentInfo {
  name: string;
  mimeType?: string;
}

export interface HistoryTool {
  toolCallId: string;
  name: string;
  status: ToolStatus;
  args?: string;
  output?: string;
  outputTruncated?: boolean;
  error?: string;
  durationMs?: number;
}

export type HistoryPart = { kind: 'text'; text: string } | { kind: 'tools'; tools: HistoryTool[] };

export interface HistoryMessage {
  /** Stable within a session. */
  id: string;
  role: 'user' | 'assistant';
  /** Epoch ms. */
  atMs?: number;
  /** Assistant: the run that produced it. */
  runId?: string;
  /** Text and tool groups in the order they happened (a user message has one text part). */
  parts: HistoryPart[];
  attachments?: AttachmentInfo[];
  /** Assistant: how the run ended, when not plainly `final`. */
  state?: 'final' | 'aborted' | 'error' | 'interrupted';
  errorMessage?: string;
}

export interface History {
  sessionKey: string;
  /** Oldest first; the last `limit` messages. */
  messages: HistoryMessage[];
  /** Older messages exist ("load earlier" asks again with a larger limit). */
  hasMore: boolean;
  /** Runs in flight in this session right now. */
  activeRunIds: string[];
}

export function listSessions(): Promise<SessionSummary[]> {
  return call('sessions_list');
}

export function loadHistory(sessionKey: string, limit: number): Promise<History> {
  return call('session_history', { sessionKey, limit });
}

/** A fresh session key; the session exists once its first message is sent. */
export function newSession(): Promise<{ sessionKey: string }> {
  return call('session_new');
}

export function deleteSession(sessionKey: string): Promise<void> {
  return call('session_delete', { sessionKey });
}

// ---------------------------------------------------------------------------------------------
// Runs and approvals

export interface OutgoingAttachment {
  name: string;
  mimeType: string;
  /** The file's bytes, base64 (no `data:` prefix). */
  contentBase64: string;
}

export interface SendRequest {
  sessionKey: string;
  message: string;
  attachments: OutgoingAttachment[];
  /** A fresh UUID per message; reuse it to retry the same message safely. */
  idempotencyKey: string;
}

export interface SendResult {
  runId: string;
  /** `started`, or `in_flight` / `ok` for a retried idempotency key. */
  status: string;
}

export function sendMessage(req: SendRequest): Promise<SendResult> {
  return call('chat_send', { request: req });
}

/** Asks the gateway to stop a run (or every run of the session). Rejects when the gateway is gone. */
export function abortRun(sessionKey: string, runId?: string): Promise<{ aborted: boolean }> {
  return call('chat_abort', { sessionKey, runId: runId ?? null });
}

export function resolveApproval(id: string, decision: ApprovalDecision): Promise<void> {
  return call('approval_resolve', { id, decision });
}

/** Approvals waiting right now (on load; later ones arrive on the stream). */
export function pendingApprovals(): Promise<ApprovalMessage[]> {
  return call('approvals_pending');
}

// ---------------------------------------------------------------------------------------------
// Settings

export type GatewaySource =
  | { kind: 'bundled' }
  /** `path`: an `openclaw` executable or its entry file; absent: found on PATH. */
  | { kind: 'openclaw'; path?: string }
  | { kind: 'custom'; path: string };

export type ReloadPolicy = 'off' | 'hot' | 'restart' | 'hybrid';
export type Language = 'auto' | 'en' | 'zh-CN' | 'th';
export type Theme = 'system' | 'light' | 'dark';

export interface AppSettings {
  gatewaySource: GatewaySource;
  reload: ReloadPolicy;
  /** `null`: automatic (on when a tray is shown). */
  closeToTray: boolean | null;
  /** Start Tether at login (writes or removes the XDG autostart entry). */
  autostart: boolean;
  language: Language;
  theme: Theme;
  /** Desktop notifications when the gateway crashes, pauses or the breaker opens while hidden. */
  notifications: boolean;
}

export function getSettings(): Promise<AppSettings> {
  return call('settings_get');
}

/** Validates and saves; a changed gateway source or reload policy takes effect at once. */
export function saveSettings(settings: AppSettings): Promise<AppSettings> {
  return call('settings_set', { settings });
}

// ---------------------------------------------------------------------------------------------
// Model providers (written through the gateway's config.patch: an invalid edit is refused with
// the gateway's located error and the last good config keeps running)

export type ProviderKind = 'openai' | 'anthropic' | 'ollama' | 'llamacpp';

export interface ProviderModel {
  id: string;
  name?: string;
  /** The model takes images. */
  image: boolean;
}

export interface ProviderView {
  id: string;
  kind: ProviderKind;
  baseUrl: string;
  /** Whether an API key is configured (its value never leaves Rust). */
  apiKeySet: boolean;
  models: ProviderModel[];
}

export interface AvailableModel {
  /** `provider/model`, as `defaultModel` takes it. */
  ref: string;
  provider: string;
  id: string;
  name?: string;
}

export interface ModelSettings {
  providers: ProviderView[];
  /** `provider/model`. */
  defaultModel?: string;
  /** What the gateway can run now (`models.list`). */
  available: AvailableModel[];
}

export interface ProviderInput {
  id: string;
  kind: ProviderKind;
  baseUrl: string;
  /** Write-only. Absent: keep the current key; empty string: remove it. */
  apiKey?: string;
  models: ProviderModel[];
}

export interface ProviderTestResult {
  ok: boolean;
  latencyMs: number;
  /** What happened, in plain words (the reply's first words, or the error). */
  message: string;
  errorKind?: string;
}

export function getModelSettings(): Promise<ModelSettings> {
  return call('models_get');
}

export function saveProvider(provider: ProviderInput): Promise<ModelSettings> {
  return call('provider_save', { provider });
}

export function deleteProvider(id: string): Promise<ModelSettings> {
  return call('provider_delete', { id });
}

export function setDefaultModel(model: string): Promise<ModelSettings> {
  return call('default_model_set', { model });
}

/** A real request through the gateway to the provider's model (the first, or `model`). */
export function testProvider(id: string, model?: string): Promise<ProviderTestResult> {
  return call('provider_test', { id, model: model ?? null });
}

// ---------------------------------------------------------------------------------------------
// Diagnostics and logs

export type JournalEvent =
  | ({ type: 'status' } & Omit<GatewayStatus, 'headline' | 'sinceMs' | 'retryAtMs'> & {
        retryInMs?: number;
      })
  | ({ type: 'governor' } & Omit<Governor, 'openUntilMs'> & { openForMs: number })
  | { type: 'diagnostic'; code: string; message: string };

export interface JournalEntry {
  atMs: number;
  event: JournalEvent;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogSource = 'app' | 'gateway';

export interface LogLine {
  source: LogSource;
  /** Epoch ms, when the line carries a time. */
  atMs?: number;
  level: LogLevel;
  /** Redacted. */
  text: string;
}

export interface Diagnostics {
  capturedAtMs: number;
  /** The supervisor's transitions, oldest first. */
  journal: JournalEntry[];
  status: StatusView;
  counters: Record<string, number>;
  /** The gateway's last output lines (redacted). */
  lastOutput: LogLine[];
}

export function getDiagnostics(): Promise<Diagnostics> {
  return call('diagnostics_get');
}

/** Writes a redacted bundle (diagnostics, settings, logs) and returns where. */
export function exportDiagnostics(): Promise<{ path: string }> {
  return call('diagnostics_export');
}

/** Shows a file in the system file manager (only paths the app wrote). */
export function revealPath(path: string): Promise<void> {
  return call('reveal_path', { path });
}

export interface LatencySummary {
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  count: number;
}

export interface MetricsSample {
  atMs: number;
  /** The gateway process's resident memory, when one runs. */
  gatewayRssBytes?: number;
  /** The gateway process's CPU since the previous sample, in % of one core. */
  gatewayCpuPercent?: number;
  restartsTotal: number;
  reconnectsTotal: number;
  /** Gateway calls answered since the previous sample. */
  rpcLatency?: LatencySummary;
}

/** One sample; call it only while the diagnostics page is shown (the UI's shared clock). */
export function sampleMetrics(): Promise<MetricsSample> {
  return call('metrics_sample');
}

export interface LogQuery {
  source: LogSource;
  /** Most lines returned (the newest), 1–5000. */
  limit: number;
  /** Only lines containing this text (case-insensitive). */
  contains?: string;
  /** Only lines at this level or above. */
  minLevel?: LogLevel;
}

export function readLogs(query: LogQuery): Promise<LogLine[]> {
  return call('logs_read', { query });
}
