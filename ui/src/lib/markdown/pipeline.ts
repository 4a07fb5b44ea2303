// The Markdown pipeline of the chat: lex → commit finished blocks → sanitize → render the tail.
//
// A streaming reply is a growing string. Each time it is rendered (at most once per animation
// frame), only the part after the last committed block is lexed again. Every top-level block
// before the last one is finished: it is rendered, highlighted and sanitized once and never
// touched again. The last block (the tail) is closed with remend (unterminated emphasis, code,
// links) and rendered fresh each time. When the run ends, the tail is committed too.
//
// The contract, tested over random splits of a rich corpus: whatever the split of the stream, the
// committed blocks are always a prefix of the full render's blocks, and the final HTML equals
// `renderFull(text)` exactly.

import { Marked, type Token, type Tokens } from 'marked';
import remend from 'remend';
import { highlight } from './highlight';
import { isSafeImage, isSafeLink, sanitize } from './sanitize';

export interface PipelineOptions {
  /** Run the DOMPurify stage (tests turn it off only to prove the XSS corpus is live). */
  sanitize?: boolean;
  /** Show raw HTML in the text as text (tests turn it off for the same reason). */
  escapeRawHtml?: boolean;
}

export interface Pipeline {
  /** Top-level tokens of `src` (reference definitions are not recognized: they stay text). */
  lex(src: string): Token[];
  /** The sanitized HTML of one finished top-level block. */
  renderBlock(token: Token): string;
  /** The sanitized HTML of an unfinished tail: unterminated syntax closed, no highlighting. */
  renderTail(src: string): string;
  /** The whole text rendered at once, block by block: what the incremental renderer must equal. */
  renderFull(src: string): string;
  /** The HTML of each top-level block of `src`, as `renderFull` joins them. */
  renderBlocks(src: string): string[];
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Normalizes line ends the way the lexer does, so raw lengths add up to the buffer. */
export function normalize(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

export function createPipeline(options: PipelineOptions = {}): Pipeline {
  const doSanitize = options.sanitize ?? true;
  const escapeRaw = options.escapeRawHtml ?? true;
  let inTail = false;

  const md = new Marked({
    gfm: true,
    breaks: true,
    async: false,
    tokenizer: {
      // Link reference definitions would let a later block change an earlier one: off.
      def() {
        return undefined;
      },
    },
    renderer: {
      html({ text }: Tokens.HTML | Tokens.Tag): string {
        if (!escapeRaw) return text;
        return escapeHtml(text);
      },
      code({ text, lang }: Tokens.Code): string {
        const language = (lang ?? '').trim().split(/\s+/)[0] ?? '';
        const body = text.replace(/\n$/, '');
        const lit = inTail ? undefined : highlight(body, language);
        const langAttr = language ? ` data-lang="${escapeHtml(language)}"` : '';
        const codeClass =
          lit === undefined ? '' : ` class="hljs language-${escapeHtml(language.toLowerCase())}"`;
        return (
          `<div class="md-code"${langAttr}><div class="md-code-head"><span class="md-code-lang">` +
          `${escapeHtml(language)}</span><button type="button" class="md-copy" data-md-copy=""></button></div>` +
          `<pre><code${codeClass}>${lit ?? escapeHtml(body)}</code></pre></div>\n`
        );
      },
      image({ href, text, title }: Tokens.Image): string {
        if (!escapeRaw) return `<img src="${href}" alt="${text}">`;
        if (isSafeImage(href)) return `<img src="${escapeHtml(href)}" alt="${escapeHtml(text)}">`;
        const label = escapeHtml(text || title || href);
        // No remote images: show where the image is, as a link the system browser may open.
        if (isSafeLink(href)) return `<a class="md-image-link" href="${escapeHtml(href)}">${label}</a>`;
        return `<span class="md-image-link">${label}</span>`;
      },
    },
  });

  const finish = (html: string): string => (doSanitize ? sanitize(html) : html);

  const lex = (src: string): Token[] => md.lexer(src);

  function renderTokens(tokens: Token[]): string {
    try {
      return finish(md.parser(tokens));
    } catch {
      const raw = tokens.map((t) => t.raw).join('');
      return `<pre class="md-fallback">${escapeHtml(raw)}</pre>`;
    }
  }

  // A block's HTML depends on its source alone (no reference definitions), so finished blocks
  // are cached by source: switching sessions or reloading history renders nothing twice.
  const blockCache = new Map<string, string>();
  const BLOCK_CACHE_MAX = 2000;

  function renderBlock(token: Token): string {
    if (token.type === 'space') return '';
    const hit = blockCache.get(token.raw);
    if (hit !== undefined) return hit;
    const html = renderTokens([token]);
    if (blockCache.size >= BLOCK_CACHE_MAX) {
      const oldest = blockCache.keys().next().value;
      if (oldest !== undefined) blockCache.delete(oldest);
    }
    blockCache.set(token.raw, html);
    return html;
  }

  function renderTail(src: string): string {
    inTail = true;
    try {
      return renderTokens(lex(remend(src, { linkMode: 'protocol' })));
    } finally {
      inTail = false;
    }
  }

  function renderBlocks(src: string): string[] {
    return lex(normalize(src))
      .filter((t) => t.type !== 'space')
      .map(renderBlock);
  }

  return {
    lex,
    renderBlock,
    renderTail,
    renderBlocks,
    renderFull: (src) => renderBlocks(src).join(''),
  };
}

/** One finished block: rendered once, keyed for a keyed `{#each}`. */
export interface Block {
  id: number;
  html: string;
}

let nextBlockId = 1;

/**
 * The incremental renderer of one growing text. `update` is called at most once per frame with
 * the whole text so far; it lexes only what follows the committed blocks.
 */
export class StreamRenderer {
  /** Finished blocks, oldest first; only ever appended to (until a rewrite resets them). */
  blocks: Block[] = [];
  /** The text of the unfinished tail ('' once done). */
  tailSource = '';
  #tailHtml: string | undefined = '';
  #pipeline: Pipeline;
  #text = '';
  #committed = 0;
  #done = false;

  constructor(pipeline: Pipeline) {
    this.#pipeline = pipeline;
  }

  get done(): boolean {
    return this.#done;
  }

  /** Characters of the text committed as finished blocks. */
  get committedLength(): number {
    return this.#committed;
  }

  /**
   * Brings the render up to `text`. Returns whether anything visible changed and whether the
   * committed blocks were rebuilt (`reset`: the text was rewritten, not extended).
   */
  update(rawText: string, done: boolean): { changed: boolean; reset: boolean } {
    const text = normalize(rawText);
    if (text === this.#text && done === this.#done) return { changed: false, reset: false };
    let reset = false;
    if (!text.startsWith(this.#text.slice(0, this.#committed)) || (this.#done && text !== this.#text)) {
      this.blocks = [];
      this.#committed = 0;
      reset = true;
    }
    this.#text = text;
    this.#done = done;
    const rest = text.slice(this.#committed);
    const tokens = this.#pipeline.lex(rest);
    const total = tokens.reduce((n, t) => n + t.raw.length, 0);

    let cut = tokens.length;
    if (!done) cut = holdBack(tokens);
    if (total !== rest.length) cut = 0; // the lexer did not account for every character: commit nothing

    const fresh: Block[] = [];
    let consumed = 0;
    for (let i = 0; i < cut; i++) {
      const token = tokens[i] as Token;
      consumed += token.raw.length;
      if (token.type === 'space') continue;
      fresh.push({ id: nextBlockId++, html: this.#pipeline.renderBlock(token) });
    }
    if (fresh.length > 0 || reset) this.blocks = [...this.blocks, ...fresh];
    this.#committed += consumed;
    this.tailSource = done ? '' : rest.slice(consumed);
    this.#tailHtml = undefined;
    return { changed: true, reset };
  }

  /** The HTML of the unfinished tail, rendered when first asked for after an update. */
  get tail(): string {
    if (this.#tailHtml === undefined) {
      this.#tailHtml = this.tailSource.trim() === '' ? '' : this.#pipeline.renderTail(this.tailSource);
    }
    return this.#tailHtml;
  }

  /** The HTML of everything so far (blocks then tail). */
  html(): string {
    return this.blocks.map((b) => b.html).join('') + this.tail;
  }
}

/**
 * How many leading tokens are finished. The last non-space token may still grow, and a list
 * before it may still take it in as another item (`1. a` + blank + `2` becomes `2. b`), so a
 * list directly before the last block is held back with it.
 */
function holdBack(tokens: Token[]): number {
  let last = tokens.length - 1;
  while (last >= 0 && tokens[last]?.type === 'space') last--;
  if (last < 0) return 0;
  let prev = last - 1;
  while (prev >= 0 && tokens[prev]?.type === 'space') prev--;
  if (prev >= 0 && tokens[prev]?.type === 'list') return prev;
  return last;
}

/** The pipeline the app renders with. */
export const pipeline = createPipeline();
