import { describe, expect, it } from "vitest";
import { e164, mobileLooksValid, ricChecks } from "./validate";

describe("resident identity card numbers", () => {
  it("accepts a number whose check character matches", () => {
    expect(ricChecks("11010519491231002X")).toBe(true);
    expect(ricChecks("11010519491231002x")).toBe(true);
  });
  it("refuses a wrong check character, a short number and letters", () => {
    expect(ricChecks("110105194912310021")).toBe(false);
    expect(ricChecks("1101051949123100")).toBe(false);
    expect(ricChecks("11010519491231002Y")).toBe(false);
  });
});

describe("mobile numbers", () => {
  it("takes mainland numbers with or without +86 and writes them as E.164", () => {
    expect(mobileLooksValid("138 0013 8000")).toBe(true);
    expect(mobileLooksValid("+8613800138000")).toBe(true);
    expect(mobileLooksValid("2380013800")).toBe(false);
    expect(e164("138-0013-8000")).toBe("+8613800138000");
  });
});
