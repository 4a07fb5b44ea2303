import { fireEvent, render, screen } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApprovalDecision, ApprovalMessage } from '../../src/api';
import ApprovalDialog from '../../src/components/ApprovalDialog.svelte';
import { i18n } from '../../src/lib/i18n/index.svelte';

function request(p: Partial<ApprovalMessage> = {}): ApprovalMessage {
  return { kind: 'approval', state: 'requested', id: 'ap1', command: 'touch x', cwd: '/w', ...p };
}

describe('ApprovalDialog', () => {
  beforeEach(() => {
    i18n.locale = 'en';
  });

  it('offers all three answers when the gateway names none', async () => {
    const onanswer = vi.fn<(id: string, d: ApprovalDecision) => Promise<void>>(() => Promise.resolve());
    render(ApprovalDialog, { props: { approval: request(), more: 0, onanswer } });
    expect(screen.getByRole('button', { name: 'Deny' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Allow once' })).toBeTruthy();
    expect(screen.queryByText(/asks before every command/)).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Always allow' }));
    expect(onanswer).toHaveBeenCalledWith('ap1', 'allow-always');
  });

  it('does not offer "Always allow" when the gateway does not (every command asks)', () => {
    const onanswer = vi.fn<(id: string, d: ApprovalDecision) => Promise<void>>(() => Promise.resolve());
    render(ApprovalDialog, {
      props: { approval: request({ allowedDecisions: ['allow-once', 'deny'] }), more: 0, onanswer },
    });
    expect(screen.queryByRole('button', { name: 'Always allow' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Allow once' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Deny' })).toBeTruthy();
    expect(screen.getByText(/This gateway asks before every command\./)).toBeTruthy();
  });
});
