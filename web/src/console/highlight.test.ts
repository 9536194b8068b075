import { describe, expect, it } from "vitest";
import { segments } from "./highlight";

describe("a case's matched words", () => {
  it("are cut out at the offsets the check gave", () => {
    expect(segments("buy guns here", [{ start: 4, end: 8, excerpt: "guns", label: "weapons" }])).toEqual([
      { text: "buy ", labels: [] },
      { text: "guns", labels: ["weapons"] },
      { text: " here", labels: [] },
    ]);
  });

  it("count offsets in code points, as the server does", () => {
    const text = "😀 卖枪 😀";
    const [, marked] = segments(text, [{ start: 2, end: 4, excerpt: "卖枪", label: "weapons" }]);
    expect(marked).toEqual({ text: "卖枪", labels: ["weapons"] });
  });

  it("fall back to the excerpt when offsets are missing or do not hold it", () => {
    const found = segments("abc 赌博 def", [{ excerpt: "赌博", label: "gambling" }]);
    expect(found.filter((s) => s.labels.length)).toEqual([{ text: "赌博", labels: ["gambling"] }]);
    const wrong = segments("abc 赌博", [{ start: 0, end: 2, excerpt: "赌博", label: "gambling" }]);
    expect(wrong.filter((s) => s.labels.length)).toEqual([{ text: "赌博", labels: ["gambling"] }]);
  });

  it("merge overlaps and leave the text whole", () => {
    const text = "abcdef";
    const pieces = segments(text, [
      { start: 1, end: 4, excerpt: "bcd", label: "x" },
      { start: 3, end: 5, excerpt: "de", label: "y" },
      { excerpt: "zzz", label: "nowhere" },
    ]);
    expect(pieces.map((p) => p.text).join("")).toBe(text);
    expect(pieces.find((p) => p.text === "d")?.labels).toEqual(["x", "y"]);
  });
});
