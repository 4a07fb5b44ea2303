import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [svelte()],
  base: './',
  build: {
    target: 'safari16',
    outDir: 'dist',
    emptyOutDir: true,
    // The page runs under a CSP without 'unsafe-inline': nothing may be inlined into index.html.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
  optimizeDeps: { include: ['@tauri-apps/api/core', '@tauri-apps/api/event', '@tauri-apps/api/mocks'] },
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  test: {
    environment: 'jsdom',
    include: ['test/unit/**/*.test.ts'],
    setupFiles: ['test/unit/setup.ts'],
    restoreMocks: true,
    // A hang guard, not a speed limit: CI shares 2 cores with cargo builds.
    testTimeout: 60_000,
  },
});
