import { defineConfig } from "vite";

// The staff console, served by `townhall serve` under /console from the package's static folder
// (src/townhall/web/pages.py). It shares the web app's API client and styles (src/).
export default defineConfig({
  root: "console",
  base: "/console/",
  publicDir: false,
  build: {
    outDir: "../../src/townhall/web/static/console",
    emptyOutDir: true,
    // No inline script or style: the page's Content-Security-Policy allows none.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
