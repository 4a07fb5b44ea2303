import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import Composer from '../../src/components/Composer.svelte';
import { checkAttachments } from '../../src/lib/attachments';
import { i18n } from '../../src/lib/i18n/index.svelte';

const limits = { maxMessageChars: 100, maxAttachments: 3, maxAttachmentBytes: 1000, maxImageBytes: 400 };

function setup() {
  const onsend = vi.fn();
  const onstop = vi.fn();
  render(Composer, { props: { limits, replying: false, onsend, onstop } });
  const box = screen.getByRole('textbox', { name: 'Message' }) as HTMLTextAreaElement;
  return { onsend, onstop, box };
}

async function type(box: HTMLTextAreaElement, text: string): Promise<void> {
  box.value = text;
  await fireEvent.input(box);
}

describe('Composer: Enter, Shift+Enter and IME composition', () => {
  let now = 1000;
  beforeEach(() => {
    i18n.locale = 'en';
    now = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
  });
  afterEach(() => vi.restoreAllMocks());

  it('sends on Enter and keeps Shift+Enter for a new line', async () => {
    const { onsend, box } = setup();
    await type(box, 'hello');
    await fireEvent.keyDown(box, { key: 'Enter', shiftKey: true });
    expect(onsend).not.toHaveBeenCalled();
    await fireEvent.keyDown(box, { key: 'Enter' });
    await vi.waitFor(() => expect(onsend).toHaveBeenCalledWith('hello', []));
    expect(box.value).toBe('');
  });

  it('never sends during a composition, nor with the Enter that commits it', async () => {
    const { onsend, box } = setup();
    await fireEvent.compositionStart(box);
    await type(box, 'ni');
    await fireEvent.keyDown(box, { key: 'Enter', isComposing: true });
    await fireEvent.keyDown(box, { key: 'Enter' }); // WebKit may report isComposing=false mid-composition
    expect(onsend).not.toHaveBeenCalled();
    await type(box, '你好');
    await fireEvent.compositionEnd(box);
    now += 5; // WebKit: compositionend, then the committing Enter keydown, in the same breath
    const committing = new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true });
    box.dispatchEvent(committing);
    expect(committing.defaultPrevented).toBe(true);
    expect(onsend).not.toHaveBeenCalled();
    now += 2000;
    await fireEvent.keyDown(box, { key: 'Enter' });
    await vi.waitFor(() => expect(onsend).toHaveBeenCalledWith('你好', []));
  });

  it('ignores keyCode 229 (an IME is processing the key)', async () => {
    const { onsend, box } = setup();
    await type(box, 'สวัสดี');
    await fireEvent.keyDown(box, { key: 'Enter', keyCode: 229 });
    expect(onsend).not.toHaveBeenCalled();
  });

  it('refuses a message over the limit and says so', async () => {
    const { onsend, box } = setup();
    await type(box, 'x'.repeat(101));
    await fireEvent.keyDown(box, { key: 'Enter' });
    expect(onsend).not.toHaveBeenCalled();
    expect(screen.getByRole('alert').textContent).toContain('101 characters long; the limit is 100');
    expect((screen.getByRole('button', { name: 'Send' }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('Composer: attachments', () => {
  beforeEach(() => {
    i18n.locale = 'en';
  });

  function pick(files: File[]): void {
    const input = document.querySelector('input[type=file]') as HTMLInputElement;
    Object.defineProperty(input, 'files', { value: files, configurable: true });
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }

  it('shows limit errors before sending and keeps what fits', async () => {
    const { onsend, box } = setup();
    pick([
      new File([new Uint8Array(500)], 'big.png', { type: 'image/png' }),
      new File([new Uint8Array(300)], 'notes.txt', { type: 'text/plain' }),
      new File([new Uint8Array(800)], 'data.csv', { type: 'text/csv' }),
    ]);
    await vi.waitFor(() => expect(screen.getByRole('alert')).toBeTruthy());
    const alert = screen.getByRole('alert').textContent ?? '';
    expect(alert).toContain('big.png is 500 bytes; an image can be at most 400 bytes');
    expect(alert).toContain('data.csv would bring the files to 1.1 kB');
    expect(screen.getByRole('button', { name: 'Remove notes.txt' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Remove big.png' })).toBeNull();

    await type(box, 'see attached');
    await fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    await vi.waitFor(() => expect(onsend).toHaveBeenCalledTimes(1));
    const [, sent] = onsend.mock.calls[0] as [string, { name: string; contentBase64: string }[]];
    expect(sent.map((a) => a.name)).toEqual(['notes.txt']);
    expect(atob(sent[0]?.contentBase64 ?? '').length).toBe(300);
  });

  it('refuses more files than a message takes', async () => {
    setup();
    pick(['a', 'b', 'c', 'd'].map((n) => new File(['x'], `${n}.txt`, { type: 'text/plain' })));
    await vi.waitFor(() => expect(screen.getByRole('alert').textContent).toContain('at most 3 files'));
  });

  it('checks names and totals as a pure function', () => {
    const r = checkAttachments(
      [{ name: 'a.txt', size: 900, type: 'text/plain' }],
      [
        { name: 'b/c.txt', size: 1, type: 'text/plain' },
        { name: 'd.txt', size: 100, type: 'text/plain' },
        { name: 'e.txt', size: 1, type: 'text/plain' },
      ],
      limits,
    );
    expect(r.accepted.map((f) => f.name)).toEqual(['d.txt']);
    expect(r.problems.map((p) => p.kind)).toEqual(['badName', 'tooLarge']);
  });
});
