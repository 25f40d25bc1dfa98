/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev` proxies the API to a running `lamina up` (LAMINA_API_URL, default its usual port).
const api = process.env.LAMINA_API_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: { '/api': api, '/services': api, '/_local': api },
  },
  build: {
    // Hashed file names under assets/: `lamina up` and CloudFront cache them for a year.
    assetsDir: 'assets',
    // .vite/manifest.json: the entry chunk and its static imports, which bench/ui.py weighs (initial JS).
    manifest: true,
    // The lazily loaded CodeMirror chunk is ~630 kB minified (~210 kB gzipped); the initial one far less.
    chunkSizeWarningLimit: 700,
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    css: false,
  },
});
