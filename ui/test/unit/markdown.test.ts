import { describe, expect, it } from 'vitest';
import { RICH_MARKDOWN, XSS_MARKDOWN } from '../../src/testing/corpus';
import { createPipeline, StreamRenderer } from '../../src/lib/markdown/pipeline';

const pipeline = createPipeline();

/** A small seeded PRNG, so a failing split can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomSplit(text: string, seed: number): string[] {
  const r = rng(seed);
  const out: string[] = [];
  let i = 0;
  const maxPiece = 1 + Math.floor(r() * 40);
  while (i < text.length) {
    const n = 1 + Math.floor(r() * maxPiece);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

function streamThrough(pieces: string[], full: string[]): StreamRenderer {
  const renderer = new StreamRenderer(pipeline);
  let text = '';
  for (const piece of pieces) {
    text += piece;
    renderer.update(text, false);
    const committed = renderer.blocks.map((b) => b.html);
    // Committed blocks never change: they are always a prefix of the full render's blocks.
    expect(committed).toEqual(full.slice(0, committed.length));
  }
  renderer.update(text, true);
  return renderer;
}

describe('incremental renderer', () => {
  const corpus = RICH_MARKDOWN + '\n' + XSS_MARKDOWN;
  const full = pipeline.renderBlocks(corpus);

  it('renders the corpus to many blocks', () => {
    expect(full.length).toBeGreaterThan(30);
    expect(pipeline.renderFull(corpus)).toContain('<table>');
  });

  it('equals the full render after a split into single characters', () => {
    const renderer = streamThrough([...corpus], full);
    expect(renderer.html()).toBe(pipeline.renderFull(corpus));
  });

  // Property runs are CPU-bound; on a loaded 2-core machine they outlast vitest's 5 s default,
  // so they get a hang guard instead of a speed limit.
  it('equals the full render after 60 random splits', { timeout: 120_000 }, () => {
    const expected = pipeline.renderFull(corpus);
    for (let seed = 1; seed <= 60; seed++) {
      const renderer = streamThrough(randomSplit(corpus, seed), full);
      expect(renderer.html(), `seed ${seed}`).toBe(expected);
    }
  });

  it(
    'equals the full render for every prefix of the corpus treated as a finished text',
    { timeout: 120_000 },
    () => {
      const r = rng(7);
      for (let n = 0; n < 40; n++) {
        const cut = Math.floor(r() * corpus.length);
        const text = corpus.slice(0, cut);
        const renderer = streamThrough(randomSplit(text, n + 100), pipeline.renderBlocks(text));
        expect(renderer.html()).toBe(pipeline.renderFull(text));
      }
    },
  );

  it('holds a list back while the next block may still join it', () => {
    const renderer = new StreamRenderer(pipeline);
    renderer.update('1. a\n\n2', false);
    expect(renderer.blocks).toHaveLength(0);
    renderer.update('1. a\n\n2. b', true);
    expect(renderer.html()).toBe(pipeline.renderFull('1. a\n\n2. b'));
    expect(renderer.html().match(/<ol/g)).toHaveLength(1);
  });

  it('commits finished blocks once and re-renders only the tail', () => {
    const renderer = new StreamRenderer(pipeline);
    renderer.update('# Title\n\nfirst paragraph\n\nsecond **bo', false);
    expect(renderer.blocks.map((b) => b.html)).toEqual(['<h1>Title</h1>\n', '<p>first paragraph</p>\n']);
    const ids = renderer.blocks.map((b) => b.id);
    // remend closes the unterminated emphasis in the tail
    expect(renderer.tail).toBe('<p>second <strong>bo</strong></p>\n');
    renderer.update('# Title\n\nfirst paragraph\n\nsecond **bold** done', false);
    expect(renderer.blocks.map((b) => b.id)).toEqual(ids);
  });

  it('highlights a fence only once it is closed', () => {
    const renderer = new StreamRenderer(pipeline);
    renderer.update('```ts\nconst x = 1;\n', false);
    expect(renderer.tail).not.toContain('hljs');
    renderer.update('```ts\nconst x = 1;\n```\n\nafter', false);
    expect(renderer.blocks[0]?.html).toContain('class="hljs language-ts"');
    expect(renderer.blocks[0]?.html).toContain('data-md-copy');
  });

  it('starts over when the text is rewritten', () => {
    const renderer = new StreamRenderer(pipeline);
    renderer.update('alpha\n\nbeta\n\ngam', false);
    expect(renderer.blocks).toHaveLength(2);
    const result = renderer.update('something else entirely\n\nx', false);
    expect(result.reset).toBe(true);
    expect(renderer.blocks.map((b) => b.html)).toEqual(['<p>something else entirely</p>\n']);
  });

  it('shows raw HTML as text', () => {
    const html = pipeline.renderFull('a <b>bold</b> tag\n\n<div>block</div>');
    expect(html).toContain('&lt;b&gt;bold&lt;/b&gt;');
    expect(html).toContain('&lt;div&gt;block&lt;/div&gt;');
    expect(html).not.toContain('<b>');
  });

  it('keeps link reference definitions as text', () => {
    const html = pipeline.renderFull('[a][r]\n\n[r]: https://example.com');
    expect(html).toContain('<p>[a][r]</p>');
  });
});
