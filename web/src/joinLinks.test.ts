import { describe, expect, it } from "vitest";
import { joinTokenOf } from "./joinLinks";

describe("join links", () => {
  it("reads the token of the address the app was opened at", () => {
    expect(joinTokenOf("/app/join/abc_DEF-123")).toBe("abc_DEF-123");
    expect(joinTokenOf("/app/join/a%2Fb")).toBe("a/b");
  });

  it("finds none elsewhere", () => {
    expect(joinTokenOf("/app/")).toBeNull();
    expect(joinTokenOf("/app/join/")).toBeNull();
    expect(joinTokenOf("/join/abc")).toBeNull();
    expect(joinTokenOf("/app/join/%E0%A4%A")).toBeNull();
  });
});
