import { describe, expect, it } from "vitest";
import { en } from "./i18n/en";
import { zhCN } from "./i18n/zh-CN";

// The console's `t` takes any string (a key built at run time falls back to itself), so the type
// checker cannot hold its calls to the catalogs: this test reads the sources and does.
const sources = import.meta.glob(["./**/*.tsx", "./**/*.ts", "!./**/*.test.ts"], {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

const calls = Object.entries(sources).flatMap(([file, text]) =>
  [...text.matchAll(/\bt\(\s*(["'`])((?:(?!\1).)*)\1/g)].map((m) => ({ file, quote: m[1], key: m[2] ?? "" })),
);

describe("the console's keys", () => {
  it("are found in the sources", () => {
    expect(calls.length).toBeGreaterThan(50);
  });

  it("named in full are in every catalog", () => {
    for (const { file, quote, key } of calls) {
      if (quote === "`" && key.includes("${")) continue;
      expect(key in en, `${file}: ${key}`).toBe(true);
      expect(key in zhCN, `${file}: ${key}`).toBe(true);
    }
  });

  it("built at run time only end with the value, never glue a word to it", () => {
    for (const { file, key } of calls.filter((call) => call.quote === "`" && call.key.includes("${"))) {
      // `appeals.${verdict}d` made "appeals.upholdd": a key per value, looked up in a map, is checked.
      expect(key, file).toMatch(/^[\w.]+\$\{[^}]+\}$/);
      const prefix = key.slice(0, key.indexOf("${"));
      expect(Object.keys(en).some((known) => known.startsWith(prefix)), `${file}: ${key}`).toBe(true);
    }
  });
});
