// A fake of everything behind src-tauri/IPC.md: every command with its validation and typed
// errors, the `status` event, and the chat stream channel delivered the way Tauri delivers it.
// Unit tests, browser tests and screenshots all use this one; it never ships in dist.

import type {
  ApprovalDecision,
  ApprovalMessage,
  AppInfo,
  AppSettings,
  Headline,
  History,
  HistoryMessage,
  HistoryTool,
  IpcError,
  LogLine,
  LogQuery,
  MetricsSample,
  ModelSettings,
  ProviderInput,
  RunBatch,
  SendRequest,
  StatusView,
  StreamEnvelope,
  StreamMessage,
  ToolUpdate,
} from '../api';
import {
  appInfoFixture,
  diagnosticsFixture,
  journalFixture,
  logsFixture,
  modelsFixture,
  sessionsFixture,
  settingsFixture,
  statusFixture,
  type SessionFixture,
} from './fixtures';

export type Deliver = (channelId: number, index: number, envelope: StreamEnvelope) => void;
export type Emit = (event: string, payload: unknown) => void;

export interface FakeOptions {
  headline?: Headline;
  info?: Partial<AppInfo>;
  settings?: Partial<AppSettings>;
  /** Start with no sessions at all. */
  empty?: boolean;
  /** `chat_send` streams a scripted reply. */
  autoReply?: boolean;
  /** Time between the scripted reply's steps. */
  stepMs?: number;
}

export interface ToolScript {
  /** Index of the text chunk after which the call starts. */
  after: number;
  name: string;
  args: string;
  output?: string;
  error?: string;
  /** Steps the call runs for. */
  steps?: number;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const SESSION_KEY = /^[A-Za-z0-9._:@/+-]{1,256}$/;
const IDEMPOTENCY = /^[A-Za-z0-9._:-]{1,128}$/;
const PROVIDER_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function err(code: IpcError['code'], message: string, gatewayCode?: string): IpcError {
  return gatewayCode ? { code, message, gatewayCode } : { code, message };
}

function decodedSize(b64: string): number {
  const clean = b64.replace(/\s/g, '');
  const pad = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0;
  return Math.floor((clean.length * 3) / 4) - pad;
}

interface RunRecord {
  runId: string;
  sessionKey: string;
  text: string;
  tools: (HistoryTool & { anchor: number })[];
  state: RunBatch['state'];
  idempotencyKey: string;
}

export class FakeBackend {
  info: AppInfo;
  settings: AppSettings;
  status: StatusView;
  models: ModelSettings;
  sessions = new Map<string, SessionFixture>();
  approvals = new Map<string, ApprovalMessage>();
  logs: { app: LogLine[]; gateway: LogLine[] };
  runs = new Map<string, RunRecord>();
  /** Every command called, in order, with its arguments. */
  calls: { cmd: string; args: Record<string, unknown> }[] = [];
  /** URLs passed to `open_external`. */
  opened: string[] = [];
  /** Paths passed to `reveal_path`. */
  revealed: string[] = [];
  /** Session keys handed out by `session_new`, oldest first. */
  created: string[] = [];
  /** Envelopes delivered on the stream. */
  delivered = 0;
  /** Whether the gateway answers (chat calls fail with `not_connected` when it does not). */
  gatewayUp = true;
  autoReply: boolean;
  stepMs: number;
  deliver: Deliver = () => undefined;
  emit: Emit = () => undefined;

  #channel: number | undefined;
  #index = 0;
  #seq = 0;
  #nextRun = 1;
  #failures = new Map<string, IpcError[]>();
  #sample = 0;
  #exported: string[] = [];
  #journal;
  #now: () => number;

  constructor(options: FakeOptions = {}, now: () => number = Date.now) {
    this.#now = now;
    const t = now();
    this.info = appInfoFixture(options.info);
    this.settings = settingsFixture(options.settings);
    this.status = statusFixture(options.headline ?? 'running', t);
    this.gatewayUp = this.status.status.phase === 'running';
    this.models = modelsFixture();
    this.logs = logsFixture(t);
    this.#journal = journalFixture(t);
    this.autoReply = options.autoReply ?? true;
    this.stepMs = options.stepMs ?? 40;
    if (!options.empty) for (const s of sessionsFixture(t)) this.sessions.set(s.summary.key, s);
  }

  // ---- test controls ------------------------------------------------------------------------

  /** Makes the next call of `cmd` reject with `error`. */
  failNext(cmd: string, error: IpcError): void {
    const list = this.#failures.get(cmd) ?? [];
    list.push(error);
    this.#failures.set(cmd, list);
  }

  /** Sends one envelope with these messages down the stream. */
  push(...messages: StreamMessage[]): void {
    if (this.#channel === undefined) throw new Error('no stream is open');
    this.delivered++;
    this.deliver(this.#channel, this.#index++, { seq: ++this.#seq, messages });
  }

  get streamOpen(): boolean {
    return this.#channel !== undefined;
  }

  setStatus(view: StatusView): void {
    this.status = view;
    this.gatewayUp = view.status.phase === 'running';
    this.emit('status', view);
  }

  setHeadline(headline: Headline): void {
    this.setStatus(statusFixture(headline, this.#now()));
  }

  requestApproval(a: Partial<ApprovalMessage> = {}): ApprovalMessage {
    const message: ApprovalMessage = {
      kind: 'approval',
      state: 'requested',
      id: a.id ?? `appr-${this.approvals.size + 1}`,
      command: 'cargo test --workspace',
      cwd: '/home/mei/tether-demo',
      expiresAtMs: this.#now() + 120_000,
      ...a,
    };
    this.approvals.set(message.id, message);
    this.push(message);
    return message;
  }

  /** Starts a run in a session and returns its id (for scripted streams). */
  startRun(sessionKey: string, idempotencyKey = `run-${this.#nextRun}`): string {
    const runId = `run-${String(this.#nextRun++).padStart(4, '0')}`;
    this.runs.set(runId, { runId, sessionKey, text: '', tools: [], state: 'status', idempotencyKey });
    this.#summary(sessionKey).active = true;
    return runId;
  }

  /** One batch for a run, recorded so the history reflects it. */
  batch(runId: string, b: Partial<RunBatch>): RunBatch {
    const run = this.runs.get(runId);
    if (!run) throw new Error(`unknown run ${runId}`);
    if (b.replace !== undefined) run.text = b.replace;
    run.text += b.append ?? '';
    for (const tu of b.tools ?? []) {
      const existing = run.tools.find((x) => x.toolCallId === tu.toolCallId);
      if (existing) Object.assign(existing, this.#historyTool(tu), { anchor: existing.anchor });
      else run.tools.push({ ...this.#historyTool(tu), anchor: run.text.length });
    }
    const state = b.state ?? 'delta';
    run.state = state;
    const terminal = state === 'final' || state === 'aborted' || state === 'error' || state === 'interrupted';
    if (terminal) this.#finish(run, b);
    return {
      kind: 'run',
      runId,
      sessionKey: run.sessionKey,
      state,
      append: b.append ?? '',
      tools: b.tools ?? [],
      ...(b.replace !== undefined ? { replace: b.replace } : {}),
      ...(b.phase !== undefined ? { phase: b.phase } : {}),
      ...(b.errorMessage !== undefined ? { errorMessage: b.errorMessage } : {}),
      ...(terminal ? { text: b.text ?? run.text } : {}),
    };
  }

  /**
   * Streams a reply: text chunks one step apart, tool calls starting after the given chunk and
   * finishing a few steps later, then `final`. Resolves when the run has ended.
   */
  async script(
    sessionKey: string,
    chunks: string[],
    tools: ToolScript[] = [],
    runId = this.startRun(sessionKey),
  ): Promise<string> {
    const wait = (): Promise<void> => new Promise((r) => setTimeout(r, this.stepMs));
    const running = new Map<string, { script: ToolScript; left: number; startedAtMs: number }>();
    this.push(this.batch(runId, { state: 'status', phase: 'thinking' }));
    await wait();
    let callN = 0;
    for (let i = 0; i < chunks.length || running.size > 0; i++) {
      const run = this.runs.get(runId);
      if (!run || run.state === 'aborted') return runId;
      const updates: ToolUpdate[] = [];
      for (const [id, r] of running) {
        if (--r.left > 0) continue;
        running.delete(id);
        updates.push({
          runId,
          toolCallId: id,
          name: r.script.name,
          status: r.script.error ? 'error' : 'completed',
          durationMs: this.#now() - r.startedAtMs,
          ...(r.script.output !== undefined ? { output: r.script.output } : {}),
          ...(r.script.error !== undefined ? { error: r.script.error } : {}),
        });
      }
      const chunk = running.size > 0 && updates.length === 0 ? '' : (chunks[i] ?? '');
      if (running.size > 0 && updates.length === 0) i--;
      for (const s of tools.filter((x) => x.after === i && chunk !== '')) {
        const id = `call_${runId}_${++callN}`;
        const startedAtMs = this.#now();
        running.set(id, { script: s, left: s.steps ?? 3, startedAtMs });
        updates.push({ runId, toolCallId: id, name: s.name, status: 'running', startedAtMs, args: s.args });
      }
      this.push(this.batch(runId, { state: 'delta', append: chunk, tools: updates }));
      await wait();
    }
    const run = this.runs.get(runId);
    if (run && run.state !== 'aborted') this.push(this.batch(runId, { state: 'final' }));
    return runId;
  }

  // ---- the IPC surface ----------------------------------------------------------------------

  async handle(cmd: string, rawArgs: unknown): Promise<unknown> {
    const args = (rawArgs ?? {}) as Record<string, unknown>;
    this.calls.push({ cmd, args });
    const failure = this.#failures.get(cmd)?.shift();
    if (failure) throw failure;
    switch (cmd) {
      case 'app_info':
        return structuredClone(this.info);
      case 'ui_ready':
      case 'quit_app':
        return null;
      case 'open_external': {
        const url = String(args['url'] ?? '');
        if (!/^(https?:|mailto:)/i.test(url) || url.length > 4096)
          throw err('invalid_input', `refusing to open ${url.slice(0, 40)}`);
        this.opened.push(url);
        return null;
      }
      case 'status_get':
        return structuredClone(this.status);
      case 'gateway_start':
        this.setHeadline('starting');
        setTimeout(() => this.setHeadline('running'), this.stepMs * 5);
        return { message: 'starting the gateway' };
      case 'gateway_stop':
        if (!this.status.status.owned) throw err('not_owned', 'Tether did not start this gateway');
        this.setHeadline('stopped');
        return { message: 'stopped' };
      case 'gateway_restart': {
        const force = args['force'] === true;
        if (this.status.governor.state === 'open' && !force) {
          throw err('breaker_open', this.status.governor.reason);
        }
        this.setHeadline('restarting');
        setTimeout(() => this.setHeadline('running'), this.stepMs * 5);
        return { message: force ? 'restarting past the governor' : 'restarting' };
      }
      case 'chat_stream': {
        const channel = args['channel'] as { id?: number } | undefined;
        if (typeof channel?.id !== 'number') throw err('invalid_input', 'channel missing');
        this.#channel = channel.id;
        this.#index = 0;
        this.#seq = 0;
        return null;
      }
      case 'chat_send':
        return this.#send(args['request'] as SendRequest);
      case 'chat_abort':
        return this.#abort(String(args['sessionKey']), (args['runId'] as string | null) ?? undefined);
      case 'approval_resolve':
        return this.#resolve(String(args['id']), args['decision'] as ApprovalDecision);
      case 'approvals_pending':
        return [...this.approvals.values()];
      case 'sessions_list':
        this.#needGateway();
        return [...this.sessions.values()]
          .filter((s) => s.messages.length > 0)
          .map((s) => ({ ...s.summary }))
          .sort((a, b) => (b.updatedAtMs ?? 0) - (a.updatedAtMs ?? 0));
      case 'session_history':
        return this.#history(String(args['sessionKey']), Number(args['limit']));
      case 'session_new': {
        const hex = Array.from({ length: 12 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
        const sessionKey = `agent:main:desktop-${hex}`;
        this.created.push(sessionKey);
        return { sessionKey };
      }
      case 'session_delete': {
        this.#needGateway();
        const key = String(args['sessionKey']);
        if (!this.sessions.delete(key)) throw err('gateway', `session not found: ${key}`, 'NOT_FOUND');
        return null;
      }
      case 'settings_get':
        return structuredClone(this.settings);
      case 'settings_set': {
        const s = args['settings'] as AppSettings;
        if (s.gatewaySource.kind === 'custom' && !s.gatewaySource.path.startsWith('/')) {
          throw err(
            'invalid_input',
            `gatewaySource.path: must be an absolute path, got "${s.gatewaySource.path}"`,
          );
        }
        this.settings = structuredClone(s);
        return structuredClone(this.settings);
      }
      case 'models_get':
        this.#needGateway();
        return structuredClone(this.models);
      case 'provider_save':
        return this.#saveProvider(args['provider'] as ProviderInput);
      case 'provider_delete': {
        this.#needGateway();
        const id = String(args['id']);
        this.models.providers = this.models.providers.filter((p) => p.id !== id);
        this.models.available = this.models.available.filter((m) => m.provider !== id);
        return structuredClone(this.models);
      }
      case 'default_model_set': {
        this.#needGateway();
        const model = String(args['model']);
        if (!this.models.available.some((m) => m.ref === model)) {
          throw err('gateway', `agents.defaults.model: unknown model "${model}"`, 'INVALID_REQUEST');
        }
        this.models.defaultModel = model;
        return structuredClone(this.models);
      }
      case 'provider_test': {
        this.#needGateway();
        const id = String(args['id']);
        const p = this.models.providers.find((x) => x.id === id);
        if (!p) throw err('gateway', `unknown provider ${id}`, 'INVALID_REQUEST');
        if (p.kind === 'ollama') {
          return {
            ok: false,
            latencyMs: 3,
            message: 'connect ECONNREFUSED 127.0.0.1:11434',
            errorKind: 'network',
          };
        }
        return { ok: true, latencyMs: 612, message: 'Hello! How can I help you today?' };
      }
      case 'diagnostics_get': {
        const now = this.#now();
        return diagnosticsFixture(
          now,
          structuredClone(this.status),
          this.#journal,
          this.logs.gateway.slice(-5),
        );
      }
      case 'diagnostics_export': {
        const path = `${this.info.stateDir}/diagnostics/tether-diagnostics-20260914-101502.json`;
        this.#exported.push(path);
        return { path };
      }
      case 'reveal_path': {
        const path = String(args['path']);
        if (!this.#exported.includes(path))
          throw err('refused', 'only an exported diagnostics bundle can be shown');
        this.revealed.push(path);
        return null;
      }
      case 'metrics_sample':
        return this.#metrics();
      case 'logs_read':
        return this.#logs(args['query'] as LogQuery);
      default:
        throw err('internal', `unknown command ${cmd}`);
    }
  }

  // ---- behaviour behind the commands --------------------------------------------------------

  #needGateway(): void {
    if (!this.gatewayUp) throw err('not_connected', 'the gateway is not connected');
  }

  #summary(key: string) {
    let s = this.sessions.get(key);
    if (!s) {
      s = { summary: { key, title: key, active: false }, messages: [] };
      this.sessions.set(key, s);
    }
    return s.summary;
  }

  #historyTool(tu: ToolUpdate): HistoryTool {
    return {
      toolCallId: tu.toolCallId,
      name: tu.name,
      status: tu.status,
      ...(tu.args !== undefined ? { args: tu.args } : {}),
      ...(tu.output !== undefined ? { output: tu.output } : {}),
      ...(tu.outputTruncated !== undefined ? { outputTruncated: tu.outputTruncated } : {}),
      ...(tu.error !== undefined ? { error: tu.error } : {}),
      ...(tu.durationMs !== undefined ? { durationMs: tu.durationMs } : {}),
    };
  }

  #finish(run: RunRecord, b: Partial<RunBatch>): void {
    if (b.text !== undefined) run.text = b.text;
    const parts: HistoryMessage['parts'] = [];
    let at = 0;
    const sorted = [...run.tools].sort((x, y) => x.anchor - y.anchor);
    for (const tool of sorted) {
      const seg = run.text.slice(at, tool.anchor);
      if (seg) parts.push({ kind: 'text', text: seg });
      at = Math.max(at, tool.anchor);
      const last = parts[parts.length - 1];
      const { anchor: _anchor, ...plain } = tool;
      if (last?.kind === 'tools') last.tools.push(plain);
      else parts.push({ kind: 'tools', tools: [plain] });
    }
    if (run.text.slice(at)) parts.push({ kind: 'text', text: run.text.slice(at) });
    const session = this.sessions.get(run.sessionKey);
    if (!session) return;
    const state = run.state === 'delta' || run.state === 'status' ? 'final' : run.state;
    session.messages.push({
      id: `a-${run.runId}`,
      role: 'assistant',
      atMs: this.#now(),
      runId: run.runId,
      parts,
      state,
      ...(b.errorMessage ? { errorMessage: b.errorMessage } : {}),
    });
    session.summary.active = false;
    session.summary.updatedAtMs = this.#now();
  }

  #send(req: SendRequest): unknown {
    const limits = this.info.limits;
    if (!SESSION_KEY.test(req.sessionKey)) throw err('invalid_input', 'sessionKey: invalid');
    if (req.message.length < 1 || req.message.length > limits.maxMessageChars) {
      throw err(
        'invalid_input',
        `message: 1–${limits.maxMessageChars} characters, got ${req.message.length}`,
      );
    }
    if (!IDEMPOTENCY.test(req.idempotencyKey)) throw err('invalid_input', 'idempotencyKey: invalid');
    if (req.attachments.length > limits.maxAttachments) {
      throw err('invalid_input', `attachments: at most ${limits.maxAttachments} files`);
    }
    let total = 0;
    for (const a of req.attachments) {
      if (
        a.name.includes('/') ||
        a.name.includes('\u0000') ||
        new TextEncoder().encode(a.name).length > 255
      ) {
        throw err('invalid_input', `attachments: bad name ${a.name}`);
      }
      total += decodedSize(a.contentBase64);
    }
    if (total > limits.maxAttachmentBytes)
      throw err('invalid_input', `attachments: ${total} bytes, at most ${limits.maxAttachmentBytes}`);
    for (const r of this.runs.values()) {
      if (r.idempotencyKey === req.idempotencyKey) {
        return { runId: r.runId, status: r.state === 'final' ? 'ok' : 'in_flight' };
      }
    }
    this.#needGateway();
    const summary = this.#summary(req.sessionKey);
    const session = this.sessions.get(req.sessionKey) as SessionFixture;
    if (session.messages.length === 0)
      summary.title = req.message.split('\n')[0]?.slice(0, 60) ?? req.sessionKey;
    session.messages.push({
      id: `u-${req.idempotencyKey}`,
      role: 'user',
      atMs: this.#now(),
      parts: [{ kind: 'text', text: req.message }],
      ...(req.attachments.length
        ? { attachments: req.attachments.map((a) => ({ name: a.name, mimeType: a.mimeType })) }
        : {}),
    });
    summary.updatedAtMs = this.#now();
    summary.preview = req.message.slice(0, 80);
    const runId = this.startRun(req.sessionKey, req.idempotencyKey);
    if (this.autoReply) {
      setTimeout(() => void this.#reply(req.sessionKey, req.message, runId), 0);
    }
    return { runId, status: 'started' };
  }

  async #reply(sessionKey: string, message: string, runId: string): Promise<void> {
    if (/approv|exec|run /i.test(message)) {
      const approval = this.requestApproval({ sessionKey, runId });
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (!this.approvals.has(approval.id)) resolve();
          else setTimeout(check, this.stepMs);
        };
        check();
      });
      const allowed = this.#decisions.get(approval.id) !== 'deny';
      await this.script(
        sessionKey,
        allowed ? ['Running it now.\n\n', 'All **3 tests** passed.'] : ['Understood, ', 'I will not run it.'],
        allowed
          ? [
              {
                after: 0,
                name: 'exec',
                args: '{\n  "command": "cargo test --workspace"\n}',
                output: 'running 3 tests\ntest result: ok. 3 passed',
              },
            ]
          : [],
        runId,
      );
      return;
    }
    await this.script(
      sessionKey,
      [
        'Let me ',
        'look at ',
        'your workspace.\n\n',
        'It holds a **Rust** ',
        'project:\n\n',
        '- `Cargo.toml`\n',
        '- `src/main.rs`\n',
        '\nAnything else?',
      ],
      [
        {
          after: 2,
          name: 'ls',
          args: '{\n  "path": "."\n}',
          output: 'Cargo.toml\nREADME.md\nsrc/\nsrc/main.rs',
        },
      ],
      runId,
    );
  }

  #decisions = new Map<string, ApprovalDecision>();

  #resolve(id: string, decision: ApprovalDecision): null {
    const a = this.approvals.get(id);
    if (!a) throw err('gateway', `unknown approval id ${id}`, 'NOT_FOUND');
    if (!['allow-once', 'allow-always', 'deny'].includes(decision)) throw err('invalid_input', 'decision');
    this.#needGateway();
    this.approvals.delete(id);
    this.#decisions.set(id, decision);
    this.push({ ...a, state: 'resolved', decision });
    return null;
  }

  #abort(sessionKey: string, runId?: string): { aborted: boolean } {
    this.#needGateway();
    let aborted = false;
    for (const run of this.runs.values()) {
      if (run.sessionKey !== sessionKey || (runId && run.runId !== runId)) continue;
      if (
        run.state === 'final' ||
        run.state === 'aborted' ||
        run.state === 'error' ||
        run.state === 'interrupted'
      )
        continue;
      this.push(this.batch(run.runId, { state: 'aborted', stopReason: 'user' }));
      aborted = true;
    }
    return { aborted };
  }

  #history(key: string, limit: number): History {
    this.#needGateway();
    if (!SESSION_KEY.test(key)) throw err('invalid_input', 'sessionKey: invalid');
    if (!(limit >= 1 && limit <= 1000)) throw err('invalid_input', 'limit: 1–1000');
    const all = this.sessions.get(key)?.messages ?? [];
    const messages = all.slice(Math.max(0, all.length - limit));
    const activeRunIds = [...this.runs.values()]
      .filter((r) => r.sessionKey === key && !['final', 'aborted', 'error', 'interrupted'].includes(r.state))
      .map((r) => r.runId);
    return {
      sessionKey: key,
      messages: structuredClone(messages),
      hasMore: all.length > messages.length,
      activeRunIds,
    };
  }

  #saveProvider(p: ProviderInput): ModelSettings {
    this.#needGateway();
    if (!PROVIDER_ID.test(p.id))
      throw err('invalid_input', `provider id: must match [a-z0-9][a-z0-9_-]{0,63}, got "${p.id}"`);
    let url: URL | undefined;
    try {
      url = new URL(p.baseUrl);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol)) {
      throw err(
        'gateway',
        `config.patch refused: models.providers.${p.id}.baseUrl: expected an http(s) URL, got "${p.baseUrl}" (openclaw.json:14:18)`,
        'INVALID_REQUEST',
      );
    }
    const existing = this.models.providers.find((x) => x.id === p.id);
    const apiKeySet = p.apiKey === undefined ? (existing?.apiKeySet ?? false) : p.apiKey !== '';
    const view = { id: p.id, kind: p.kind, baseUrl: p.baseUrl, apiKeySet, models: p.models };
    this.models.providers = existing
      ? this.models.providers.map((x) => (x.id === p.id ? view : x))
      : [...this.models.providers, view];
    this.models.available = [
      ...this.models.available.filter((m) => m.provider !== p.id),
      ...p.models.map((m) => ({
        ref: `${p.id}/${m.id}`,
        provider: p.id,
        id: m.id,
        ...(m.name ? { name: m.name } : {}),
      })),
    ];
    return structuredClone(this.models);
  }

  #metrics(): MetricsSample {
    const n = this.#sample++;
    const running = this.status.status.phase === 'running';
    return {
      atMs: this.#now(),
      ...(running ? { gatewayRssBytes: (172 + 6 * Math.sin(n / 3) + n * 0.4) * 1048576 } : {}),
      ...(running ? { gatewayCpuPercent: 3 + 9 * Math.abs(Math.sin(n / 2)) } : {}),
      restartsTotal: 7 + Math.floor(n / 12),
      reconnectsTotal: 3 + Math.floor(n / 7),
      rpcLatency: {
        p50Ms: 2.4 + Math.sin(n) * 0.6,
        p95Ms: 11 + 4 * Math.abs(Math.cos(n / 2)),
        maxMs: 31,
        count: 14 + (n % 5),
      },
    };
  }

  #logs(q: LogQuery): LogLine[] {
    if (q.source !== 'app' && q.source !== 'gateway') throw err('invalid_input', 'source: app or gateway');
    if (!(q.limit >= 1 && q.limit <= 5000)) throw err('invalid_input', 'limit: 1–5000');
    const min = q.minLevel ? LEVELS.indexOf(q.minLevel) : 0;
    const needle = q.contains?.toLowerCase();
    return this.logs[q.source]
      .filter((l) => LEVELS.indexOf(l.level) >= min && (!needle || l.text.toLowerCase().includes(needle)))
      .slice(-q.limit);
  }
}
