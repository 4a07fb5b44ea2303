// The pure half of the chat stream: envelopes from Rust applied to plain objects. No Svelte, no
// DOM, no timers; the store (chat.svelte.ts) publishes the result to the page once per frame.

import type {
  ApprovalMessage,
  ResyncMessage,
  RunBatch,
  RunState,
  StreamEnvelope,
  ToolStatus,
  ToolUpdate,
} from '../../api';
import { normalize } from '../markdown/pipeline';

export const TERMINAL: ReadonlySet<RunState> = new Set(['final', 'aborted', 'error', 'interrupted']);

export function isTerminal(state: RunState): boolean {
  return TERMINAL.has(state);
}

export interface ToolModel {
  toolCallId: string;
  name: string;
  status: ToolStatus;
  startedAtMs?: number;
  durationMs?: number;
  summary?: string;
  args?: string;
  output?: string;
  outputTruncated?: boolean;
  error?: string;
  /** The run's text length when the call first appeared: where its card sits in the text. */
  anchor: number;
  /** Local time the call first appeared. */
  seenAtMs: number;
  /** Local time the call finished (completed or error), for the collapse a moment later. */
  finishedAtMs?: number;
  /** The run ended while the call was still running. */
  cutShort?: boolean;
}

export interface RunModel {
  runId: string;
  sessionKey: string;
  state: RunState;
  text: string;
  phase?: string;
  stopReason?: string;
  errorMessage?: string;
  errorKind?: string;
  tools: ToolModel[];
  /** Local time the run was first seen. */
  startedAtMs: number;
  /** Local time of the last batch that carried anything. */
  lastActivityMs: number;
  /** The user pressed Stop: the reply ends here whatever the gateway does. */
  stoppedLocally: boolean;
  /** Calls changed since the last publish. */
  dirtyTools: Set<string>;
}

export interface StreamModel {
  runs: Map<string, RunModel>;
  /** Approvals waiting for an answer, by id. */
  approvals: Map<string, ApprovalMessage>;
  lastSeq?: number;
}

export type ResyncReason = ResyncMessage['reason'] | 'gap';

export interface Applied {
  /** Runs that changed. */
  runs: Set<string>;
  /** Runs that reached a terminal state in this envelope. */
  finished: string[];
  approvals: boolean;
  /** The page may have missed something: reload the history on screen. */
  resync?: ResyncReason;
}

export function emptyModel(): StreamModel {
  return { runs: new Map(), approvals: new Map() };
}

export function newRun(runId: string, sessionKey: string, now: number, state: RunState = 'status'): RunModel {
  return {
    runId,
    sessionKey,
    state,
    text: '',
    tools: [],
    startedAtMs: now,
    lastActivityMs: now,
    stoppedLocally: false,
    dirtyTools: new Set(),
  };
}

function applyTool(run: RunModel, update: ToolUpdate, now: number): void {
  let tool = run.tools.find((t) => t.toolCallId === update.toolCallId);
  if (!tool) {
    tool = {
      toolCallId: update.toolCallId,
      name: update.name,
      status: 'running',
      anchor: run.text.length,
      seenAtMs: now,
    };
    run.tools.push(tool);
  }
  // Status only moves forward: running → completed | error, never back, never sideways.
  if (tool.status === 'running' && update.status !== 'running') {
    tool.status = update.status;
    tool.finishedAtMs = now;
  }
  if (update.name) tool.name = update.name;
  if (update.startedAtMs !== undefined) tool.startedAtMs = update.startedAtMs;
  if (update.durationMs !== undefined) tool.durationMs = update.durationMs;
  if (update.summary !== undefined) tool.summary = update.summary;
  if (update.args !== undefined) tool.args = update.args;
  if (update.output !== undefined) tool.output = update.output;
  if (update.outputTruncated !== undefined) tool.outputTruncated = update.outputTruncated;
  if (update.error !== undefined) tool.error = update.error;
  run.dirtyTools.add(tool.toolCallId);
}

function clampAnchors(run: RunModel): void {
  for (const tool of run.tools) {
    if (tool.anchor > run.text.length) {
      tool.anchor = run.text.length;
      run.dirtyTools.add(tool.toolCallId);
    }
  }
}

/** Ends what a finished run left running: those calls will not report again. */
function settleTools(run: RunModel, now: number): void {
  for (const tool of run.tools) {
    if (tool.status === 'running') {
      tool.status = 'error';
      tool.cutShort = true;
      tool.finishedAtMs = now;
      run.dirtyTools.add(tool.toolCallId);
    }
  }
}

export function applyRun(model: StreamModel, batch: RunBatch, now: number, out: Applied): void {
  let run = model.runs.get(batch.runId);
  if (!run) {
    run = newRun(batch.runId, batch.sessionKey, now);
    model.runs.set(batch.runId, run);
  }
  const wasTerminal = isTerminal(run.state);
  const terminal = isTerminal(batch.state);
  // A run the user stopped takes nothing more but its final word; a finished run takes nothing.
  if ((run.stoppedLocally && !terminal) || (wasTerminal && !run.stoppedLocally)) return;

  if (batch.replace !== undefined) {
    run.text = normalize(batch.replace);
    clampAnchors(run);
  }
  if (batch.append) run.text += normalize(batch.append);
  for (const update of batch.tools) applyTool(run, update, now);

  run.state = batch.state;
  if (batch.phase !== undefined) run.phase = batch.phase;
  if (batch.stopReason !== undefined) run.stopReason = batch.stopReason;
  if (batch.errorMessage !== undefined) run.errorMessage = batch.errorMessage;
  if (batch.errorKind !== undefined) run.errorKind = batch.errorKind;
  if (terminal) {
    // The whole text the gateway settled on wins over what was assembled from deltas.
    if (batch.text !== undefined) {
      run.text = normalize(batch.text);
      clampAnchors(run);
    }
    settleTools(run, now);
    out.finished.push(run.runId);
  }
  run.lastActivityMs = now;
  out.runs.add(run.runId);
}

export function applyApproval(model: StreamModel, message: ApprovalMessage): void {
  if (message.state === 'requested') model.approvals.set(message.id, message);
  else model.approvals.delete(message.id);
}

/** Applies one envelope in order. */
export function applyEnvelope(model: StreamModel, envelope: StreamEnvelope, now: number): Applied {
  const out: Applied = { runs: new Set(), finished: [], approvals: false };
  if (model.lastSeq !== undefined && envelope.seq !== model.lastSeq + 1) out.resync = 'gap';
  model.lastSeq = envelope.seq;
  for (const message of envelope.messages) {
    switch (message.kind) {
      case 'run':
        applyRun(model, message, now, out);
        break;
      case 'approval':
        applyApproval(model, message);
        out.approvals = true;
        break;
      case 'resync':
        out.resync = message.reason;
        break;
    }
  }
  return out;
}

/** Stops a run here and now, whether or not the gateway hears about it. */
export function stopLocally(model: StreamModel, runId: string, now: number): RunModel | undefined {
  const run = model.runs.get(runId);
  if (!run || isTerminal(run.state)) return run;
  run.stoppedLocally = true;
  run.state = 'aborted';
  run.lastActivityMs = now;
  settleTools(run, now);
  return run;
}

/** The first two non-empty lines of a tool's output, as the gateway summarizes live calls. */
export function summarize(output: string | undefined): string | undefined {
  if (!output) return undefined;
  const lines: string[] = [];
  for (const line of output.split('\n')) {
    const trimmed = line.trim();
    if (trimmed) lines.push(trimmed);
    if (lines.length === 2) break;
  }
  if (lines.length === 0) return undefined;
  const joined = lines.join(' / ');
  return joined.length > 160 ? `${joined.slice(0, 159)}…` : joined;
}
