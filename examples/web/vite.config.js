import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The backend (server.mjs) serves dist/; `npm run build` writes it.
export default defineConfig({ plugins: [vue()], build: { outDir: 'dist', emptyOutDir: true } });
