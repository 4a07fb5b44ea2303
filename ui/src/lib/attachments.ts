// Attachment limits, checked in the page before anything is sent (Rust checks them again).

import type { Limits, OutgoingAttachment } from '../api';

export interface Candidate {
  name: string;
  size: number;
  type: string;
}

export type Problem =
  | { kind: 'tooMany'; name: string; max: number }
  | { kind: 'tooLarge'; name: string; total: number; max: number }
  | { kind: 'imageTooLarge'; name: string; size: number; max: number }
  | { kind: 'badName'; name: string };

const encoder = new TextEncoder();

export function isImage(type: string): boolean {
  return type.startsWith('image/');
}

/** Whether the gateway takes this file name: at most 255 bytes, no `/`, no NUL. */
export function validName(name: string): boolean {
  return (
    name.length > 0 && encoder.encode(name).length <= 255 && !name.includes('/') && !name.includes('\u0000')
  );
}

/**
 * Which of `added` may join `existing` on one message, and why the others may not. Files are
 * taken in order; one that breaks a limit is refused and the next ones are still considered.
 */
export function checkAttachments(
  existing: readonly Candidate[],
  added: readonly Candidate[],
  limits: Limits,
): { accepted: Candidate[]; problems: Problem[] } {
  const accepted: Candidate[] = [];
  const problems: Problem[] = [];
  let count = existing.length;
  let total = existing.reduce((n, f) => n + f.size, 0);
  for (const file of added) {
    if (!validName(file.name)) {
      problems.push({ kind: 'badName', name: file.name });
    } else if (count >= limits.maxAttachments) {
      problems.push({ kind: 'tooMany', name: file.name, max: limits.maxAttachments });
    } else if (isImage(file.type) && file.size > limits.maxImageBytes) {
      problems.push({ kind: 'imageTooLarge', name: file.name, size: file.size, max: limits.maxImageBytes });
    } else if (total + file.size > limits.maxAttachmentBytes) {
      problems.push({
        kind: 'tooLarge',
        name: file.name,
        total: total + file.size,
        max: limits.maxAttachmentBytes,
      });
    } else {
      accepted.push(file);
      count++;
      total += file.size;
    }
  }
  return { accepted, problems };
}

/** A pasted image has no useful name: give it one the gateway takes. */
export function pastedName(type: string, n: number): string {
  const ext = type.split('/')[1]?.replace(/[^a-z0-9]/gi, '') || 'png';
  return `pasted-image-${n}.${ext}`;
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** Reads a file into what `chat_send` takes. */
export async function encode(file: Blob, name: string): Promise<OutgoingAttachment> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  return { name, mimeType: file.type || 'application/octet-stream', contentBase64: base64(bytes) };
}
