import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The bundle is embedded in the Go binary (web.go) and served from "/".
// Three pages: index.html (GraphiQL, at "/"), room.html (the live room
// page, at "/rooms/{id}") and league.html (a league's standings, at
// "/leagues/{id}"); code they share (React) lands in shared chunks.
export default defineConfig({
  base: '/',
  // Monaco's web workers are ES modules; the default ("iife") fails the build.
  worker: { format: 'es' },
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // No source maps (they would double the embedded size); the chunks are
    // big because Monaco is.
    sourcemap: false,
    chunkSizeWarningLimit: 8000,
    rollupOptions: {
      input: {
        index: resolve(import.meta.dirname, 'index.html'),
        room: resolve(import.meta.dirname, 'room.html'),
        league: resolve(import.meta.dirname, 'league.html'),
      },
    },
  },
});
