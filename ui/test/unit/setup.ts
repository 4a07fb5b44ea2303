import { cleanup } from '@testing-library/svelte';
import { afterEach } from 'vitest';

afterEach(() => {
  cleanup();
});

// jsdom has no object URLs; the composer makes them for image previews.
if (typeof URL.createObjectURL !== 'function') {
  let n = 0;
  URL.createObjectURL = () => `blob:jsdom/${++n}`;
  URL.revokeObjectURL = () => undefined;
}
