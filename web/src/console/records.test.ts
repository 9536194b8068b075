import { describe, expect, it } from "vitest";
import { csvOf } from "./screens/Records";

describe("a record downloaded as CSV", () => {
  it("quotes every field, doubles quotes, joins lists and leaves nulls empty", () => {
    const rows = [{ id: 7, sources: ["flag", "report"], reason: 'said "no"', decided_at: null }];
    expect(csvOf(["id", "sources", "reason", "decided_at"], rows)).toBe(
      '"id","sources","reason","decided_at"\r\n"7","flag report","said ""no""",""\r\n',
    );
  });
});
