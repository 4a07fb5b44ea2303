import { describe, expect, it } from 'vitest';
import type { RunBatch, StreamEnvelope, ToolUpdate } from '../../src/api';
import { applyEnvelope, emptyModel, stopLocally } from '../../src/lib/stores/stream';
import { liveParts } from '../../src/lib/views';

const S = 'agent:main:desktop-abc';

function run(p: Partial<RunBatch> & { runId?: string }): RunBatch {
  return { kind: 'run', runId: p.runId ?? 'r1', sessionKey: S, state: 'delta', append: '', tools: [], ...p };
}
function env(seq: number, ...messages: StreamEnvelope['messages']): StreamEnvelope {
  return { seq, messages };
}
function tool(p: Partial<ToolUpdate>): ToolUpdate {
  return { runId: 'r1', toolCallId: 't1', name: 'ls', status: 'running', ...p };
}

describe('stream reducer', () => {
  it('appends text across envelopes', () => {
    const m = emptyModel();
    applyEnvelope(m, env(1, run({ append: 'Hello' })), 1);
    applyEnvelope(m, env(2, run({ append: ', world' })), 2);
    expect(m.runs.get('r1')?.text).toBe('Hello, world');
  });

  it('replaces the whole text, then appends', () => {
    const m = emptyModel();
    applyEnvelope(m, env(1, run({ append: 'draft text' })), 1);
    applyEnvelope(m, env(2, run({ replace: 'Rewritten', append: '!' })), 2);
    expect(m.runs.get('r1')?.text).toBe('Rewritten!');
  });

  it('lets the terminal text win over what was assembled', () => {
    const m = emptyModel();
    applyEnvelope(m, env(1, run({ append: 'partial and wro' })), 1);
    const out = applyEnvelope(
      m,
      env(2, run({ state: 'final', append: 'ng', text: 'The settled answer.' })),
      2,
    );
    expect(m.runs.get('r1')?.text).toBe('The settled answer.');
    expect(out.finished).toEqual(['r1']);
  });

  it('ignores everything for a run after its terminal state', () => {
    const m = emptyModel();
    applyEnvelope(m, env(1, run({ state: 'final', text: 'done' })), 1);
    applyEnvelope(m, env(2, run({ append: ' late' })), 2);
    expect(m.runs.get('r1')?.text).toBe('done');
    expect(m.runs.get('r1')?.state).toBe('final');
  });

  it('anchors a tool call at the text length when it first appears', () => {
    const m = emptyModel();
    applyEnvelope(m, env(1, run({ append: 'Let me look.\n\n', tools: [tool({})] })), 1);
    applyEnvelope(
      m,
      env(2, run({ append: 'Found it.', tools: [tool({ status: 'completed', output: 'a\nb' })] })),
      2,
    );
    const r = m.runs.get('r1');
    expect(r?.tools[0]?.anchor).toBe('Let me look.\n\n'.length);
    expect(r?.tools[0]?.status).toBe('completed');
    const parts = liveParts(r?.text ?? '', r?.tools ?? [], false);
    expect(parts.map((p) => p.kind)).toEqual(['text', 'tools', 'text']);
    expect(parts[0]).toMatchObject({ text: 'Let me look.\n\n' });
    expect(parts[2]).toMatchObject({ text: 'Found it.' });
  });

  it('groups consecutive calls and keeps status moving forward only', () => {
    const m = emptyModel();
    applyEnvelope(
      m,
      env(1, run({ append: 'x', tools: [tool({}), tool({ toolCallId: 't2', name: 'read' })] })),
      1,
    );
    applyEnvelope(
      m,
      env(2, run({ tools: [tool({ status: 'error', error: 'boom' }), tool({ status: 'running' })] })),
      2,
    );
    const r = m.runs.get('r1');
    expect(r?.tools.map((t) => t.status)).toEqual(['error', 'running']);
    const parts = liveParts(r?.text ?? '', r?.tools ?? [], true);
    expect(parts.filter((p) => p.kind === 'tools')).toHaveLength(1);
  });

  it('ends calls left running when the run ends', () => {
    const m = emptyModel();
    applyEnvelope(m, env(1, run({ tools: [tool({})] })), 1);
    applyEnvelope(m, env(2, run({ state: 'interrupted', errorMessage: 'gateway restarted' })), 2);
    const t = m.runs.get('r1')?.tools[0];
    expect(t?.status).toBe('error');
    expect(t?.cutShort).toBe(true);
  });

  it('clamps tool anchors when the text is rewritten shorter', () => {
    const m = emptyModel();
    applyEnvelope(m, env(1, run({ append: 'a long preamble', tools: [tool({})] })), 1);
    applyEnvelope(m, env(2, run({ replace: 'short' })), 2);
    expect(m.runs.get('r1')?.tools[0]?.anchor).toBe(5);
  });

  it('asks for a resync on a resync message and on a sequence gap', () => {
    const m = emptyModel();
    expect(applyEnvelope(m, env(1, { kind: 'resync', reason: 'lagged' }), 1).resync).toBe('lagged');
    expect(applyEnvelope(m, env(2, run({ append: 'a' })), 2).resync).toBeUndefined();
    expect(applyEnvelope(m, env(5, run({ append: 'b' })), 3).resync).toBe('gap');
  });

  it('tracks approvals requested and resolved', () => {
    const m = emptyModel();
    applyEnvelope(m, env(1, { kind: 'approval', state: 'requested', id: 'a1', command: 'ls' }), 1);
    expect(m.approvals.has('a1')).toBe(true);
    applyEnvelope(m, env(2, { kind: 'approval', state: 'resolved', id: 'a1', decision: 'deny' }), 2);
    expect(m.approvals.size).toBe(0);
  });

  it('stops a run locally and takes only its final word afterwards', () => {
    const m = emptyModel();
    applyEnvelope(m, env(1, run({ append: 'streaming' })), 1);
    stopLocally(m, 'r1', 2);
    applyEnvelope(m, env(2, run({ append: ' more' })), 3);
    expect(m.runs.get('r1')?.text).toBe('streaming');
    expect(m.runs.get('r1')?.state).toBe('aborted');
    applyEnvelope(m, env(3, run({ state: 'aborted', text: 'streaming (stopped)' })), 4);
    expect(m.runs.get('r1')?.text).toBe('streaming (stopped)');
  });

  it('keeps runs of different sessions apart and in order', () => {
    const m = emptyModel();
    applyEnvelope(
      m,
      env(1, run({ runId: 'a', append: '1' }), { ...run({ runId: 'b', append: 'x' }), sessionKey: 'other' }),
      1,
    );
    applyEnvelope(m, env(2, run({ runId: 'a', append: '2' })), 2);
    expect(m.runs.get('a')?.text).toBe('12');
    expect(m.runs.get('b')?.sessionKey).toBe('other');
  });
});
