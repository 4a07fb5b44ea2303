// What a message looks like on screen, whichever way it came: a history message from the
// gateway, or a run streaming now. Both become text parts and groups of tool calls, in order.

import type { HistoryMessage, HistoryPart, ToolStatus } from '../api';
import { summarize, type ToolModel } from './stores/stream';

export interface ToolView {
  toolCallId: string;
  name: string;
  status: ToolStatus;
  args?: string;
  output?: string;
  outputTruncated?: boolean;
  error?: string;
  durationMs?: number;
  summary?: string;
  /** Epoch ms the call started (live calls). */
  startedAtMs?: number;
  /** Local ms the call finished, when it finished while on screen. */
  finishedAtMs?: number;
  cutShort?: boolean;
  /** Streamed now (may tick, may collapse); history cards start collapsed. */
  live: boolean;
}

export type PartView =
  | { kind: 'text'; key: string; text: string; streaming: boolean; settled?: boolean }
  | { kind: 'tools'; key: string; tools: ToolView[]; settled?: boolean };

// A published tool call keeps its object until it changes (the store copies only changed
// calls), so its view is cached by identity: an unchanged card gets the very same props.
const viewCache = new WeakMap<ToolModel, ToolView>();

export function toolFromModel(t: ToolModel): ToolView {
  const hit = viewCache.get(t);
  if (hit) return hit;
  const view: ToolView = {
    toolCallId: t.toolCallId,
    name: t.name,
    status: t.status,
    args: t.args,
    output: t.output,
    outputTruncated: t.outputTruncated,
    error: t.error,
    durationMs: t.durationMs,
    summary: t.summary ?? summarize(t.output),
    startedAtMs: t.startedAtMs ?? t.seenAtMs,
    finishedAtMs: t.finishedAtMs,
    cutShort: t.cutShort,
    live: true,
  };
  viewCache.set(t, view);
  return view;
}

/** The parts of a live run: its text cut where each tool call first appeared. */
export function liveParts(text: string, tools: readonly ToolModel[], streaming: boolean): PartView[] {
  const parts: PartView[] = [];
  const sorted = [...tools].sort((a, b) => a.anchor - b.anchor);
  let at = 0;
  let group: ToolModel[] = [];
  const flushGroup = (): void => {
    if (group.length === 0) return;
    parts.push({ kind: 'tools', key: `tools:${group[0]?.toolCallId}`, tools: group.map(toolFromModel) });
    group = [];
  };
  for (const tool of sorted) {
    const anchor = Math.min(tool.anchor, text.length);
    const segment = text.slice(at, anchor);
    if (segment.trim() !== '') {
      flushGroup();
      parts.push({ kind: 'text', key: `text:${at}`, text: segment, streaming: false });
    }
    at = Math.max(at, anchor);
    group.push(tool);
  }
  flushGroup();
  const rest = text.slice(at);
  if (rest.trim() !== '' || (streaming && parts.length === 0)) {
    parts.push({ kind: 'text', key: `text:${at}`, text: rest, streaming });
  }
  // Every part but the last that can no longer change is settled: it may skip layout and paint
  // while off screen. The flag does not flip for them when the run ends (that would touch every
  // part at once).
  parts.forEach((p, i) => {
    if (i < parts.length - 1) {
      p.settled = p.kind === 'text' ? true : p.tools.every((x) => x.status !== 'running');
    }
  });
  return parts;
}

/** The parts of a history message, as the gateway gave them. */
export function historyParts(parts: readonly HistoryPart[]): PartView[] {
  const out: PartView[] = [];
  let offset = 0;
  parts.forEach((part, i) => {
    if (part.kind === 'text') {
      if (part.text.trim() === '') return;
      out.push({ kind: 'text', key: `text:${offset}`, text: part.text, streaming: false });
      offset += part.text.length;
    } else if (part.tools.length > 0) {
      const previous = out[out.length - 1];
      const tools: ToolView[] = part.tools.map((h) => ({
        toolCallId: h.toolCallId,
        name: h.name,
        status: h.status,
        args: h.args,
        output: h.output,
        outputTruncated: h.outputTruncated,
        error: h.error,
        durationMs: h.durationMs,
        summary: summarize(h.output),
        live: false,
      }));
      // Consecutive tool groups (no text between them) are one group on screen.
      if (previous?.kind === 'tools') previous.tools.push(...tools);
      else out.push({ kind: 'tools', key: `tools:${part.tools[0]?.toolCallId ?? i}`, tools });
    }
  });
  return out;
}

/** The plain text of a user message. */
export function userText(message: HistoryMessage): string {
  return message.parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
}
