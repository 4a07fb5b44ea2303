// Realistic data for the fake backend: sessions with tool calls, statuses for every headline, a
// governor holding restarts, providers, a journal, and logs in three languages.

import type {
  AppInfo,
  AppSettings,
  Diagnostics,
  GatewayStatus,
  Governor,
  Headline,
  HistoryMessage,
  JournalEntry,
  LogLine,
  ModelSettings,
  SessionSummary,
  StatusView,
} from '../api';

export const MIN = 60_000;
export const HOUR = 60 * MIN;

export function appInfoFixture(over: Partial<AppInfo> = {}): AppInfo {
  return {
    version: '0.9.0',
    osLocale: 'en-US',
    trayAvailable: true,
    closeToTray: true,
    renderer: {
      webkitVersion: '2.50.6',
      sessionType: 'x11',
      dmabufDisabled: false,
      relaunchedAfterBlank: false,
    },
    limits: {
      maxMessageChars: 32_000,
      maxAttachments: 8,
      maxAttachmentBytes: 19_464_192,
      maxImageBytes: 6_291_456,
    },
    stateDir: '/home/mei/.local/state/tether',
    logDir: '/home/mei/.local/state/tether/logs',
    ...over,
  };
}

export function settingsFixture(over: Partial<AppSettings> = {}): AppSettings {
  return {
    gatewaySource: { kind: 'bundled' },
    reload: 'hybrid',
    closeToTray: null,
    autostart: false,
    language: 'auto',
    theme: 'system',
    notifications: true,
    ...over,
  };
}

export function governorFixture(now: number, open = false): Governor {
  return open
    ? {
        state: 'open',
        reason: '5 restarts in 60 s; the gateway exited with code 1 each time',
        restartsInWindow: 5,
        windowMs: 60_000,
        maxRestarts: 5,
        openUntilMs: now + 94_000,
        trips: 1,
        executedTotal: 7,
        suppressedTotal: 2,
        overrideAvailable: true,
      }
    : {
        state: 'closed',
        reason: '',
        restartsInWindow: 0,
        windowMs: 60_000,
        maxRestarts: 5,
        trips: 0,
        executedTotal: 2,
        suppressedTotal: 0,
        overrideAvailable: false,
      };
}

const SERVER = {
  version: '2026.9.6',
  protocol: 4,
  tickIntervalMs: 15_000,
  restartRpc: true,
  mainSessionKey: 'agent:main:main',
};

/** A status for each headline the tray and the window show. */
export function statusFixture(headline: Headline, now: number): StatusView {
  const base: GatewayStatus = {
    phase: 'running',
    headline,
    generation: 3,
    reason: 'hello-ok from tether-gateway',
    owned: true,
    gateway: 'tether',
    sinceMs: now - 42 * MIN,
  };
  let status: GatewayStatus;
  let open = false;
  switch (headline) {
    case 'running':
      status = { ...base, pid: 48213, server: SERVER };
      break;
    case 'starting':
      status = {
        ...base,
        phase: 'starting',
        reason: 'spawned tether-gateway, waiting for hello-ok',
        pid: 48213,
        sinceMs: now - 3_200,
      };
      break;
    case 'restarting':
      status = {
        ...base,
        phase: 'backoff',
        reason: 'the gateway exited with code 1',
        retryAtMs: now + 4_000,
        attempt: 2,
        lastExit: { code: 1 },
        sinceMs: now - 1_000,
      };
      break;
    case 'reconnecting':
      status = {
        ...base,
        phase: 'reconnecting',
        reason: 'no tick for 30 s',
        pid: 48213,
        retryAtMs: now + 2_000,
        attempt: 1,
        sinceMs: now - 5_000,
      };
      break;
    case 'stopping':
      status = {
        ...base,
        phase: 'stopping',
        reason: 'stop requested from the window',
        pid: 48213,
        sinceMs: now - 800,
      };
      break;
    case 'stopped':
      status = {
        ...base,
        phase: 'stopped',
        reason: 'stopped from the window',
        lastExit: { code: 0 },
        sinceMs: now - 10 * MIN,
      };
      break;
    case 'paused':
      status = {
        ...base,
        phase: 'paused',
        reason: 'the gateway refused the token (AUTH_TOKEN_MISMATCH)',
        problem: 'auth',
        sinceMs: now - 2 * MIN,
      };
      break;
    case 'failed':
      status = {
        ...base,
        phase: 'failed',
        reason: 'crash loop: exited with code 1 five times in 60 s',
        problem: 'breaker_open',
        lastExit: { code: 1 },
        sinceMs: now - 30_000,
      };
      open = true;
      break;
  }
  return { status, governor: governorFixture(now, open) };
}

function msg(
  id: string,
  role: 'user' | 'assistant',
  atMs: number,
  parts: HistoryMessage['parts'],
  extra: Partial<HistoryMessage> = {},
): HistoryMessage {
  return { id, role, atMs, parts, ...extra };
}

const LS_OUTPUT = `Cargo.toml
README.md
docs/
src/
src/main.rs
src/lib.rs
tests/
tests/cli.rs`;

const README_HEAD = `# tether-demo

A small Rust workspace used to try Tether's tools.

## Build

cargo build --release`;

export interface SessionFixture {
  summary: SessionSummary;
  messages: HistoryMessage[];
}

export function sessionsFixture(now: number): SessionFixture[] {
  const tour: HistoryMessage[] = [
    msg('m1', 'user', now - 26 * MIN, [{ kind: 'text', text: 'What files are in my workspace?' }]),
    msg(
      'm2',
      'assistant',
      now - 26 * MIN + 4_000,
      [
        { kind: 'text', text: 'Let me look at the workspace.\n\n' },
        {
          kind: 'tools',
          tools: [
            {
              toolCallId: 'call_ls_1',
              name: 'ls',
              status: 'completed',
              args: '{\n  "path": ".",\n  "recursive": true\n}',
              output: LS_OUTPUT,
              durationMs: 38,
            },
            {
              toolCallId: 'call_read_1',
              name: 'read',
              status: 'completed',
              args: '{\n  "path": "README.md"\n}',
              output: README_HEAD,
              durationMs: 12,
            },
          ],
        },
        {
          kind: 'text',
          text: 'Your workspace is a small **Rust** project:\n\n| path | what it is |\n|---|---|\n| `Cargo.toml` | the manifest |\n| `src/main.rs` | the binary |\n| `src/lib.rs` | the library |\n| `tests/cli.rs` | an integration test |\n\nBuild it with:\n\n```bash\ncargo build --release\n```\n\nThe README is short; see [the Rust book](https://doc.rust-lang.org/book/) if the layout is new to you.',
        },
      ],
      { runId: 'run-tour-1', state: 'final' },
    ),
    msg('m3', 'user', now - 12 * MIN, [{ kind: 'text', text: 'Run the tests, please.' }]),
    msg(
      'm4',
      'assistant',
      now - 12 * MIN + 3_000,
      [
        {
          kind: 'tools',
          tools: [
            {
              toolCallId: 'call_exec_1',
              name: 'exec',
              status: 'error',
              args: '{\n  "command": "cargo test",\n  "cwd": "/home/mei/tether-demo"\n}',
              error: 'exit status 101: test cli::prints_help ... FAILED',
              output:
                'running 3 tests\ntest lib::adds ... ok\ntest lib::parses ... ok\ntest cli::prints_help ... FAILED\n\nfailures:\n    cli::prints_help',
              durationMs: 8_412,
            },
          ],
        },
        {
          kind: 'text',
          text: 'Two tests pass and `cli::prints_help` fails: the help text changed but the expected output in `tests/cli.rs` did not.',
        },
      ],
      { runId: 'run-tour-2', state: 'final' },
    ),
    msg('m5', 'user', now - 6 * MIN, [{ kind: 'text', text: 'Fix it and run them again.' }]),
    msg(
      'm6',
      'assistant',
      now - 6 * MIN + 2_000,
      [
        {
          kind: 'text',
          text: 'I updated the expected help text in `tests/cli.rs` and started the test run again, then',
        },
      ],
      { runId: 'run-tour-3', state: 'interrupted', errorMessage: 'the gateway restarted during the run' },
    ),
  ];

  const zh: HistoryMessage[] = [
    msg('z1', 'user', now - 3 * HOUR, [{ kind: 'text', text: '把 README 的第一段翻译成中文。' }], {
      attachments: [{ name: 'README.md', mimeType: 'text/markdown' }],
    }),
    msg(
      'z2',
      'assistant',
      now - 3 * HOUR + 5_000,
      [
        {
          kind: 'text',
          text: '好的，这是第一段的译文：\n\n> **tether-demo** 是一个小型 Rust 工作区，用来试用 Tether 的各种工具。\n\n需要的话，我也可以把“构建”一节一起翻译。',
        },
      ],
      { runId: 'run-zh-1', state: 'final' },
    ),
  ];

  const th: HistoryMessage[] = [
    msg('t1', 'user', now - 26 * HOUR, [{ kind: 'text', text: 'ช่วยสรุปบันทึกการประชุมเมื่อวานให้หน่อย' }]),
    msg(
      't2',
      'assistant',
      now - 26 * HOUR + 6_000,
      [
        {
          kind: 'tools',
          tools: [
            {
              toolCallId: 'call_th_read',
              name: 'read',
              status: 'completed',
              args: '{\n  "path": "notes/meeting.md"\n}',
              output: '# ประชุมทีม 12 ก.ย.\n- ออกรุ่น 0.9 วันศุกร์\n- แก้บั๊กหน้าต่างว่างบน Wayland',
              durationMs: 9,
            },
          ],
        },
        {
          kind: 'text',
          text: 'สรุปประชุมเมื่อวาน:\n\n1. จะออกรุ่น **0.9** ในวันศุกร์\n2. ต้องแก้บั๊กหน้าต่างว่างบน Wayland ก่อนออกรุ่น',
        },
      ],
      { runId: 'run-th-1', state: 'final' },
    ),
  ];

  const long: HistoryMessage[] = [];
  for (let i = 0; i < 60; i++) {
    const at = now - 5 * 24 * HOUR + i * 4 * MIN;
    long.push(msg(`l${i}u`, 'user', at, [{ kind: 'text', text: `Checklist item ${i + 1}: is it done?` }]));
    long.push(
      msg(
        `l${i}a`,
        'assistant',
        at + 2_000,
        [
          {
            kind: 'text',
            text: `Item ${i + 1} is **done**. ${i % 3 === 0 ? 'I checked the changelog entry too.' : ''}`,
          },
        ],
        {
          runId: `run-long-${i}`,
          state: 'final',
        },
      ),
    );
  }

  const summary = (key: string, title: string, messages: HistoryMessage[]): SessionSummary => {
    const last = messages[messages.length - 1];
    const text = last?.parts.map((p) => (p.kind === 'text' ? p.text : '')).join('') ?? '';
    return {
      key,
      title,
      updatedAtMs: last?.atMs,
      preview: text
        .replace(/[*`#>|]/g, '')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 80),
      active: false,
    };
  };

  return [
    { summary: summary('agent:main:desktop-4f1c2a9b7d10', 'Workspace tour', tour), messages: tour },
    { summary: summary('agent:main:desktop-9a0b1c2d3e4f', '翻译 README', zh), messages: zh },
    { summary: summary('agent:main:desktop-5e6f7a8b9c0d', 'สรุปบันทึกการประชุม', th), messages: th },
    { summary: summary('agent:main:desktop-0d1e2f3a4b5c', 'Release checklist', long), messages: long },
  ];
}

export function modelsFixture(): ModelSettings {
  return {
    providers: [
      {
        id: 'anthropic',
        kind: 'anthropic',
        baseUrl: 'https://api.anthropic.com',
        apiKeySet: true,
        models: [{ id: 'claude-sonnet-4-5', name: 'Claude Sonnet 4.5', image: true }],
      },
      {
        id: 'openai',
        kind: 'openai',
        baseUrl: 'https://api.openai.com/v1',
        apiKeySet: true,
        models: [
          { id: 'gpt-4.1', name: 'GPT-4.1', image: true },
          { id: 'gpt-4.1-mini', image: true },
        ],
      },
      {
        id: 'local',
        kind: 'ollama',
        baseUrl: 'http://127.0.0.1:11434',
        apiKeySet: false,
        models: [
          { id: 'qwen2.5-coder:7b', image: false },
          { id: 'llama3.2-vision', image: true },
        ],
      },
    ],
    defaultModel: 'anthropic/claude-sonnet-4-5',
    available: [
      {
        ref: 'anthropic/claude-sonnet-4-5',
        provider: 'anthropic',
        id: 'claude-sonnet-4-5',
        name: 'Claude Sonnet 4.5',
      },
      { ref: 'openai/gpt-4.1', provider: 'openai', id: 'gpt-4.1', name: 'GPT-4.1' },
      { ref: 'openai/gpt-4.1-mini', provider: 'openai', id: 'gpt-4.1-mini' },
      { ref: 'local/qwen2.5-coder:7b', provider: 'local', id: 'qwen2.5-coder:7b' },
      { ref: 'local/llama3.2-vision', provider: 'local', id: 'llama3.2-vision' },
    ],
  };
}

export function journalFixture(now: number): JournalEntry[] {
  const at = (minAgo: number): number => now - minAgo * MIN;
  const st = (phase: GatewayStatus['phase'], reason: string, extra: object = {}) => ({
    type: 'status' as const,
    phase,
    generation: 1,
    reason,
    owned: true,
    gateway: 'tether' as const,
    ...extra,
  });
  return [
    { atMs: at(58), event: st('probing', 'looking for a gateway on the state directory') },
    { atMs: at(58) + 300, event: st('starting', 'spawned tether-gateway', { pid: 47110 }) },
    { atMs: at(58) + 1_400, event: st('running', 'hello-ok (protocol 4)', { pid: 47110 }) },
    {
      atMs: at(44),
      event: st('reconnecting', 'no tick for 30 s', { pid: 47110, retryInMs: 1_000, attempt: 1 }),
    },
    { atMs: at(44) + 1_200, event: st('running', 'reconnected', { pid: 47110 }) },
    {
      atMs: at(43),
      event: st('backoff', 'the gateway exited with code 1', {
        retryInMs: 2_000,
        attempt: 1,
        lastExit: { code: 1 },
      }),
    },
    { atMs: at(43) + 2_100, event: st('starting', 'spawned tether-gateway', { pid: 48213, generation: 2 }) },
    {
      atMs: at(43) + 2_200,
      event: {
        type: 'governor',
        state: 'open',
        reason: '5 restarts in 60 s',
        restartsInWindow: 5,
        windowMs: 60_000,
        maxRestarts: 5,
        trips: 1,
        executedTotal: 6,
        suppressedTotal: 1,
        overrideAvailable: true,
        openForMs: 120_000,
      },
    },
    { atMs: at(42) + 3_000, event: st('running', 'hello-ok (protocol 4)', { pid: 48213, generation: 3 }) },
    {
      atMs: at(30),
      event: {
        type: 'diagnostic',
        code: 'config.reload',
        message: 'models.providers.local changed: applied without a restart',
      },
    },
    {
      atMs: at(12),
      event: {
        type: 'diagnostic',
        code: 'approval.requested',
        message: 'exec approval for "cargo test" in /home/mei/tether-demo',
      },
    },
  ];
}

export function logsFixture(now: number): { app: LogLine[]; gateway: LogLine[] } {
  const t = (secAgo: number): number => now - secAgo * 1000;
  return {
    app: [
      {
        source: 'app',
        atMs: t(3500),
        level: 'info',
        text: 'tether-desktop 0.9.0 starting; WebKitGTK 2.50.6 on x11',
      },
      { source: 'app', atMs: t(3499), level: 'debug', text: 'state dir /home/mei/.local/state/tether' },
      { source: 'app', atMs: t(3498), level: 'info', text: 'first frame painted after 412 ms' },
      {
        source: 'app',
        atMs: t(2640),
        level: 'warn',
        text: 'tray: no StatusNotifier host yet; retrying when one appears',
      },
      { source: 'app', atMs: t(2580), level: 'info', text: 'supervisor: generation 2 started (pid 48213)' },
      {
        source: 'app',
        atMs: t(2579),
        level: 'error',
        text: 'supervisor: gateway exited with code 1 (restart 5 of 5 in 60 s)',
      },
      { source: 'app', atMs: t(900), level: 'info', text: 'chat stream: resync after reconnect' },
    ],
    gateway: [
      {
        source: 'gateway',
        atMs: t(3498),
        level: 'info',
        text: 'listening on 127.0.0.1 and [::1] (loopback only)',
      },
      {
        source: 'gateway',
        atMs: t(3400),
        level: 'info',
        text: 'agent: session agent:main:desktop-4f1c2a9b7d10 loaded (6 messages)',
      },
      {
        source: 'gateway',
        atMs: t(3300),
        level: 'debug',
        text: 'tool ls {"path":".","recursive":true} finished in 38 ms',
      },
      {
        source: 'gateway',
        atMs: t(3000),
        level: 'info',
        text: '会话 agent:main:desktop-9a0b1c2d3e4f 已加载（2 条消息）',
      },
      {
        source: 'gateway',
        atMs: t(2900),
        level: 'info',
        text: 'โหลดเซสชัน agent:main:desktop-5e6f7a8b9c0d แล้ว (2 ข้อความ)',
      },
      {
        source: 'gateway',
        atMs: t(2600),
        level: 'warn',
        text: 'provider local: connect ECONNREFUSED 127.0.0.1:11434, retrying in 2 s',
      },
      {
        source: 'gateway',
        atMs: t(2581),
        level: 'error',
        text: 'config: models.providers.local.baseUrl: invalid URL at openclaw.json:14:18',
      },
      {
        source: 'gateway',
        atMs: t(700),
        level: 'info',
        text: 'exec approval requested: cargo test (cwd /home/mei/tether-demo)',
      },
      { source: 'gateway', atMs: t(640), level: 'info', text: '工具 exec 运行结束，用时 8.4 秒' },
      { source: 'gateway', atMs: t(600), level: 'info', text: 'เครื่องมือ exec ทำงานเสร็จใน 8.4 วินาที' },
    ],
  };
}

export function diagnosticsFixture(
  now: number,
  status: StatusView,
  journal: JournalEntry[],
  lastOutput: LogLine[],
): Diagnostics {
  return {
    capturedAtMs: now,
    journal,
    status,
    counters: {
      restarts_total: 7,
      reconnects_total: 3,
      restarts_suppressed: 2,
      envelopes_sent: 18_240,
      resyncs: 1,
      rpc_calls: 1_932,
    },
    lastOutput,
  };
}
