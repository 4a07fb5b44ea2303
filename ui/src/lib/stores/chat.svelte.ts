// What the chat shows: sessions, their histories, the runs in flight, sends waiting for an
// answer, approvals. Envelopes from Rust land in the plain stream model as they arrive and are
// published to the page at most once per animation frame.

import {
  abortRun,
  asIpcError,
  deleteSession,
  listSessions,
  loadHistory,
  newSession,
  openStream,
  pendingApprovals,
  resolveApproval,
  sendMessage,
  type ApprovalDecision,
  type ApprovalMessage,
  type AttachmentInfo,
  type HistoryMessage,
  type IpcError,
  type OutgoingAttachment,
  type RunState,
  type SessionSummary,
  type StreamEnvelope,
} from '../../api';
import { onNextFrame } from '../frame';
import {
  applyEnvelope,
  emptyModel,
  isTerminal,
  newRun,
  stopLocally,
  type RunModel,
  type StreamModel,
  type ToolModel,
} from './stream';

export const HISTORY_PAGE = 40;

/** The page's view of one run, refreshed once per frame from the plain model. */
export class LiveRun {
  readonly runId: string;
  readonly sessionKey: string;
  readonly model: RunModel;
  text = $state.raw('');
  state = $state<RunState>('status');
  phase = $state<string | undefined>(undefined);
  errorMessage = $state<string | undefined>(undefined);
  errorKind = $state<string | undefined>(undefined);
  tools = $state.raw<ToolModel[]>([]);
  lastActivityMs = $state(0);
  stoppedLocally = $state(false);
  /** Stop was pressed but the gateway could not be told. */
  stopUnconfirmed = $state(false);

  constructor(model: RunModel) {
    this.runId = model.runId;
    this.sessionKey = model.sessionKey;
    this.model = model;
    this.publish();
  }

  get active(): boolean {
    return !isTerminal(this.state);
  }

  publish(): void {
    const m = this.model;
    this.text = m.text;
    this.state = m.state;
    this.phase = m.phase;
    this.errorMessage = m.errorMessage;
    this.errorKind = m.errorKind;
    this.lastActivityMs = m.lastActivityMs;
    this.stoppedLocally = m.stoppedLocally;
    if (m.dirtyTools.size > 0 || m.tools.length !== this.tools.length) {
      const previous = new Map(this.tools.map((t) => [t.toolCallId, t]));
      // Unchanged calls keep their object, so their cards do not update at all.
      this.tools = m.tools.map((t) =>
        m.dirtyTools.has(t.toolCallId) ? { ...t } : (previous.get(t.toolCallId) ?? { ...t }),
      );
      m.dirtyTools.clear();
    }
  }
}

export interface SessionHistory {
  messages: HistoryMessage[];
  hasMore: boolean;
  limit: number;
  loading: boolean;
  loaded: boolean;
  error?: IpcError;
}

export interface PendingSend {
  /** The idempotency key: a retry sends the same one. */
  id: string;
  sessionKey: string;
  text: string;
  attachments: AttachmentInfo[];
  outgoing: OutgoingAttachment[];
  atMs: number;
  status: 'sending' | 'sent' | 'failed';
  runId?: string;
  error?: IpcError;
}

export type TimelineItem =
  | { kind: 'message'; key: string; message: HistoryMessage }
  | { kind: 'pending'; key: string; pending: PendingSend }
  | { kind: 'run'; key: string; run: LiveRun; message?: HistoryMessage };

function uuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class ChatStore {
  sessions = $state.raw<SessionSummary[]>([]);
  sessionsError = $state<IpcError | undefined>(undefined);
  currentKey = $state<string | undefined>(undefined);
  histories = $state.raw<Record<string, SessionHistory>>({});
  runs = $state.raw<ReadonlyMap<string, LiveRun>>(new Map());
  pending = $state.raw<PendingSend[]>([]);
  approvals = $state.raw<ApprovalMessage[]>([]);
  /** Sessions created here that the gateway does not list yet (no message sent). */
  drafts = $state.raw<string[]>([]);
  /** Envelopes received, for diagnostics and the bench. */
  envelopes = 0;

  readonly model: StreamModel = emptyModel();
  readonly #dirty = new Set<string>();
  #approvalsDirty = false;
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  // ---- the stream ---------------------------------------------------------------------------

  /** Opens the stream and loads what the first screen needs. */
  async start(): Promise<void> {
    await openStream((e) => this.ingest(e));
    this.model.lastSeq = undefined;
    const [approvals] = await Promise.all([pendingApprovals().catch(() => []), this.refreshSessions()]);
    for (const a of approvals) this.model.approvals.set(a.id, a);
    this.#approvalsDirty = true;
    this.#schedule();
    // Without a gateway there is nothing to list yet; the first resync once it runs picks.
    if (!this.sessionsError) await this.pickSession();
  }

  /** Shows the latest chat, or a new one when there is none. */
  async pickSession(): Promise<void> {
    const first = this.sessions[0]?.key;
    if (first) await this.select(first);
    else await this.newChat();
  }

  /** One envelope from Rust: applied to the plain model now, published on the next frame. */
  ingest(envelope: StreamEnvelope): void {
    this.envelopes++;
    const applied = applyEnvelope(this.model, envelope, this.#now());
    for (const runId of applied.runs) this.#dirty.add(runId);
    if (applied.approvals) this.#approvalsDirty = true;
    if (applied.resync) void this.resync();
    if (applied.finished.length > 0) void this.refreshSessions();
    this.#schedule();
  }

  readonly #publishJob = (): void => this.publish();

  #schedule(): void {
    onNextFrame(this.#publishJob);
  }

  /** Publishes everything that changed since the last frame. */
  publish(): void {
    if (this.#dirty.size > 0) {
      let added = false;
      const runs = new Map(this.runs);
      for (const runId of this.#dirty) {
        const model = this.model.runs.get(runId);
        if (!model) continue;
        const live = runs.get(runId);
        if (live) live.publish();
        else {
          runs.set(runId, new LiveRun(model));
          added = true;
        }
      }
      this.#dirty.clear();
      if (added) this.runs = runs;
    }
    if (this.#approvalsDirty) {
      this.#approvalsDirty = false;
      this.approvals = [...this.model.approvals.values()];
    }
  }

  /** The stream may have missed something: reload what is on screen. */
  async resync(): Promise<void> {
    await Promise.all([this.refreshSessions(), this.currentKey ? this.reload(this.currentKey) : undefined]);
    if (!this.currentKey && !this.sessionsError) await this.pickSession();
  }

  // ---- sessions -----------------------------------------------------------------------------

  async refreshSessions(): Promise<void> {
    try {
      this.sessions = await listSessions();
      this.sessionsError = undefined;
      const listed = new Set(this.sessions.map((s) => s.key));
      if (this.drafts.some((d) => listed.has(d))) this.drafts = this.drafts.filter((d) => !listed.has(d));
    } catch (e) {
      this.sessionsError = asIpcError(e);
    }
  }

  async select(key: string): Promise<void> {
    this.currentKey = key;
    const h = this.histories[key];
    if (!h || !h.loaded || h.error) await this.reload(key);
  }

  async newChat(): Promise<void> {
    const existing = this.drafts.find((d) => !this.#hasContent(d));
    if (existing) {
      this.currentKey = existing;
      return;
    }
    const { sessionKey } = await newSession();
    this.drafts = [sessionKey, ...this.drafts];
    this.#setHistory(sessionKey, {
      messages: [],
      hasMore: false,
      limit: HISTORY_PAGE,
      loading: false,
      loaded: true,
    });
    this.currentKey = sessionKey;
  }

  async remove(key: string): Promise<void> {
    if (!this.drafts.includes(key)) await deleteSession(key);
    this.drafts = this.drafts.filter((d) => d !== key);
    this.sessions = this.sessions.filter((s) => s.key !== key);
    const { [key]: _gone, ...rest } = this.histories;
    this.histories = rest;
    if (this.currentKey === key) {
      const next = this.sessions[0]?.key;
      if (next) await this.select(next);
      else await this.newChat();
    }
  }

  #hasContent(key: string): boolean {
    return (this.histories[key]?.messages.length ?? 0) > 0 || this.pending.some((p) => p.sessionKey === key);
  }

  // ---- history ------------------------------------------------------------------------------

  #setHistory(key: string, h: SessionHistory): void {
    this.histories = { ...this.histories, [key]: h };
  }

  /** Loads (or reloads) a session's last `limit` messages. */
  async reload(key: string, limit?: number): Promise<void> {
    const before = this.histories[key];
    const want = limit ?? before?.limit ?? HISTORY_PAGE;
    this.#setHistory(key, {
      messages: before?.messages ?? [],
      hasMore: before?.hasMore ?? false,
      limit: want,
      loading: true,
      loaded: before?.loaded ?? false,
    });
    const startedAt = this.#now();
    try {
      const history = await loadHistory(key, want);
      this.#setHistory(key, {
        messages: history.messages,
        hasMore: history.hasMore,
        limit: want,
        loading: false,
        loaded: true,
      });
      this.#settle(key, history.messages, startedAt);
    } catch (e) {
      this.#setHistory(key, {
        ...(this.histories[key] as SessionHistory),
        loading: false,
        error: asIpcError(e),
      });
    }
  }

  /** Loads one more page of older messages. */
  loadEarlier(key: string): Promise<void> {
    const h = this.histories[key];
    return this.reload(key, Math.min(1000, (h?.limit ?? HISTORY_PAGE) + HISTORY_PAGE));
  }

  /** What the history now holds no longer needs a local copy. */
  #settle(key: string, messages: HistoryMessage[], loadStartedAt: number): void {
    const inHistory = new Set(messages.flatMap((m) => (m.runId ? [m.runId] : [])));
    const keep = this.pending.filter(
      (p) => !(p.sessionKey === key && p.status === 'sent' && p.atMs <= loadStartedAt),
    );
    if (keep.length !== this.pending.length) this.pending = keep;
    let changed = false;
    const runs = new Map(this.runs);
    for (const [runId, run] of runs) {
      if (run.sessionKey === key && inHistory.has(runId) && !run.active) {
        runs.delete(runId);
        this.model.runs.delete(runId);
        changed = true;
      }
    }
    if (changed) this.runs = runs;
  }

  /** The items to show for a session, oldest first. */
  timeline(key: string): TimelineItem[] {
    const items: TimelineItem[] = [];
    const shown = new Set<string>();
    for (const message of this.histories[key]?.messages ?? []) {
      const run = message.runId ? this.runs.get(message.runId) : undefined;
      if (run && message.runId) {
        shown.add(message.runId);
        items.push({ kind: 'run', key: `run:${message.runId}`, run, message });
      } else if (message.runId) {
        items.push({ kind: 'message', key: `run:${message.runId}`, message });
      } else {
        items.push({ kind: 'message', key: `msg:${message.id}`, message });
      }
    }
    const followers = new Map<string, LiveRun>();
    for (const p of this.pending) {
      if (p.sessionKey !== key) continue;
      items.push({ kind: 'pending', key: `pending:${p.id}`, pending: p });
      const run = p.runId ? this.runs.get(p.runId) : undefined;
      if (run && !shown.has(run.runId)) {
        shown.add(run.runId);
        items.push({ kind: 'run', key: `run:${run.runId}`, run });
      }
    }
    for (const run of this.runs.values()) {
      if (run.sessionKey === key && !shown.has(run.runId)) followers.set(run.runId, run);
    }
    for (const run of [...followers.values()].sort((a, b) => a.model.startedAtMs - b.model.startedAtMs)) {
      items.push({ kind: 'run', key: `run:${run.runId}`, run });
    }
    return items;
  }

  /** Runs in flight in a session. */
  activeRuns(key: string | undefined): LiveRun[] {
    if (!key) return [];
    return [...this.runs.values()].filter((r) => r.sessionKey === key && r.active);
  }

  isReplying(key: string): boolean {
    return (
      this.activeRuns(key).length > 0 ||
      this.pending.some((p) => p.sessionKey === key && p.status === 'sending')
    );
  }

  // ---- runs ---------------------------------------------------------------------------------

  async send(text: string, outgoing: OutgoingAttachment[]): Promise<void> {
    const key = this.currentKey;
    if (!key) return;
    const p: PendingSend = {
      id: uuid(),
      sessionKey: key,
      text,
      attachments: outgoing.map((a) => ({ name: a.name, mimeType: a.mimeType })),
      outgoing,
      atMs: this.#now(),
      status: 'sending',
    };
    this.pending = [...this.pending, p];
    await this.#submit(p);
  }

  /** Sends a failed message again, with the same idempotency key. */
  async retry(id: string): Promise<void> {
    const p = this.pending.find((x) => x.id === id);
    if (!p || p.status !== 'failed') return;
    await this.#submit(p);
  }

  #update(id: string, patch: Partial<PendingSend>): PendingSend | undefined {
    let updated: PendingSend | undefined;
    this.pending = this.pending.map((p) => (p.id === id ? (updated = { ...p, ...patch }) : p));
    return updated;
  }

  async #submit(p: PendingSend): Promise<void> {
    this.#update(p.id, { status: 'sending', error: undefined });
    try {
      const result = await sendMessage({
        sessionKey: p.sessionKey,
        message: p.text,
        attachments: p.outgoing,
        idempotencyKey: p.id,
      });
      if (!this.model.runs.has(result.runId)) {
        this.model.runs.set(result.runId, newRun(result.runId, p.sessionKey, this.#now()));
        this.#dirty.add(result.runId);
      }
      this.#update(p.id, { status: 'sent', runId: result.runId, outgoing: [] });
      this.publish();
      void this.refreshSessions();
    } catch (e) {
      this.#update(p.id, { status: 'failed', error: asIpcError(e) });
    }
  }

  /** Stops the replies of a session: here at once, and at the gateway if it can be reached. */
  async stop(key: string): Promise<void> {
    const runs = this.activeRuns(key);
    const now = this.#now();
    for (const run of runs) {
      stopLocally(this.model, run.runId, now);
      run.publish();
    }
    try {
      if (runs.length === 1 && runs[0]) await abortRun(key, runs[0].runId);
      else await abortRun(key);
    } catch {
      for (const run of runs) run.stopUnconfirmed = true;
    }
  }

  // ---- approvals ----------------------------------------------------------------------------

  async answer(id: string, decision: ApprovalDecision): Promise<void> {
    await resolveApproval(id, decision);
    this.model.approvals.delete(id);
    this.approvals = this.approvals.filter((a) => a.id !== id);
  }

  /** Drops approvals whose time ran out. */
  expire(now: number): void {
    const live = this.approvals.filter((a) => a.expiresAtMs === undefined || a.expiresAtMs > now);
    if (live.length !== this.approvals.length) {
      for (const a of this.approvals) if (!live.includes(a)) this.model.approvals.delete(a.id);
      this.approvals = live;
    }
  }
}

export const chat = new ChatStore();
