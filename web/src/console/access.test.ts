import { describe, expect, it } from "vitest";
import { Access, SCREENS, screenAt, screensFor } from "./access";
import { ROUTE_PERMISSIONS } from "../api/routes";

describe("the console's access", () => {
  it("follows each route's declared permission", () => {
    const reviewer = new Access(["read_review_queue", "claim_case", "decide_case"]);
    expect(reviewer.may("GET /api/v1/admin/review/cases")).toBe(true);
    expect(reviewer.may("POST /api/v1/admin/review/cases/{case_id}/decision")).toBe(true);
    expect(reviewer.may("POST /api/v1/admin/lexicon/terms")).toBe(false);
    expect(reviewer.may("GET /api/v1/audit/log")).toBe(false);
  });

  it("shows a screen only to those who may list what it shows", () => {
    const auditor = new Access(["read_audit"]);
    expect(screensFor(auditor)).toEqual(["audit", "dashboard", "records"]);
    expect(screensFor(new Access([]))).toEqual([]);
    const everything = new Access(Object.values(ROUTE_PERMISSIONS));
    expect(screensFor(everything)).toEqual(SCREENS.map(([screen]) => screen));
  });

  it("opens the screen the path names, or the first allowed", () => {
    expect(screenAt("/console/audit", ["cases", "audit"])).toBe("audit");
    expect(screenAt("/console/lexicon", ["cases", "audit"])).toBe("cases");
    expect(screenAt("/console/", [])).toBeNull();
  });
});
