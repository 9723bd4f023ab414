import { defineConfig } from 'vite';

// The bundle is embedded in the Go binary (web.go) and served from "/".
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
  },
});
