import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The client lives in client/; the server serves the built files from dist/client.
const root = fileURLToPath(new URL('.', import.meta.url));
const api = `http://127.0.0.1:${process.env.HR_API_PORT ?? 8080}`;

export default defineConfig({
  root,
  plugins: [svelte({ configFile: false })],
  build: {
    outDir: '../dist/client',
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/socket.io': { target: api, ws: true, changeOrigin: false },
      '/metrics': { target: api, changeOrigin: false },
    },
  },
});
