import { defineConfig } from "vitest/config";

// The app is served by `townhall serve` itself under /app, from the package's static folder
// (src/townhall/web/pages.py): the wheel ships what this builds.
export default defineConfig({
  base: "/app/",
  build: {
    outDir: "../src/townhall/web/static/app",
    emptyOutDir: true,
    // No inline script or style: the page's Content-Security-Policy allows none.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
