// Wires a FakeBackend into Tauri's IPC mocks: commands through `mockIPC`, the `status` event
// through the mocked event plugin, and stream envelopes through the channel callback exactly as
// Tauri's runtime calls it (`runCallback(id, {index, message})`).

import { emit } from '@tauri-apps/api/event';
import { clearMocks, mockIPC, mockWindows } from '@tauri-apps/api/mocks';
import { FakeBackend, type FakeOptions } from './fake-backend';

interface Internals {
  runCallback: (id: number, data: unknown) => void;
}

export function installFake(options: FakeOptions = {}): FakeBackend {
  const fake = new FakeBackend(options);
  mockWindows('main');
  mockIPC((cmd, args) => fake.handle(cmd, args), { shouldMockEvents: true });
  const internals = (window as unknown as { __TAURI_INTERNALS__: Internals }).__TAURI_INTERNALS__;
  fake.deliver = (id, index, message) => internals.runCallback(id, { index, message });
  fake.emit = (event, payload) => void emit(event, payload);
  return fake;
}

export { clearMocks };
