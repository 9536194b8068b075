import { describe, expect, it, vi } from "vitest";
import { joinTokenOf, joinUrl } from "./joinLinks";

describe("join links", () => {
  it("carries the token after #, where no request line takes it", () => {
    vi.stubGlobal("location", new URL("https://townhall.example/app/"));
    const url = new URL(joinUrl("abc_DEF-123"));
    vi.unstubAllGlobals();
    expect(url.pathname).toBe("/app/join");
    expect(joinTokenOf(url.pathname, url.hash)).toBe("abc_DEF-123");
  });

  it("reads the token of the address the app was opened at, in either form", () => {
    expect(joinTokenOf("/app/join", "#abc_DEF-123")).toBe("abc_DEF-123");
    expect(joinTokenOf("/app/join/abc_DEF-123")).toBe("abc_DEF-123");
    expect(joinTokenOf("/app/join/a%2Fb")).toBe("a/b");
  });

  it("finds none elsewhere", () => {
    expect(joinTokenOf("/app/")).toBeNull();
    expect(joinTokenOf("/app/", "#abc")).toBeNull();
    expect(joinTokenOf("/app/join/")).toBeNull();
    expect(joinTokenOf("/app/join", "#")).toBeNull();
    expect(joinTokenOf("/join/abc")).toBeNull();
    expect(joinTokenOf("/app/join/%E0%A4%A")).toBeNull();
  });
});
