import { describe, expect, it } from "vitest";
import { countInPeriods, deskLoad, handlingByCategory, perPeriod, sinceFor, type QueueRow, type StatsRow } from "./dashboard";

function row(period_start: string, category: string, figures: Partial<StatsRow> = {}): StatsRow {
  const zero = {
    cases_opened: 0, approved: 0, removed: 0, marked_false: 0, upheld: 0, pending: 0, overdue: 0,
    handling_ms_median: null, handling_ms_p90: null, reports: 0, reports_unfounded: 0,
    sanctions: 0, sanctions_warning: 0, sanctions_limit_publication: 0, sanctions_suspend_updates: 0,
    sanctions_close: 0, sanctions_blacklist_identity: 0, sanctions_suspend_posting: 0,
    sanctions_close_group: 0, sanctions_remove_rights: 0, appeals: 0, reversals: 0,
  };
  return { period_start, category, ...zero, ...figures };
}

describe("the dashboards' figures", () => {
  const rows = [
    row("2026-11-02", "fraud", { cases_opened: 3, removed: 2, handling_ms_median: 3_600_000, handling_ms_p90: 7_200_000 }),
    row("2026-11-02", "gambling", { cases_opened: 1, overdue: 1 }),
    row("2026-10-26", "fraud", { cases_opened: 5, removed: 1, handling_ms_median: 60_000, handling_ms_p90: 60_000 }),
  ];

  it("sum the categories of each period, oldest first", () => {
    expect(perPeriod(rows, ["cases_opened", "overdue"])).toEqual({
      periods: ["2026-10-26", "2026-11-02"],
      values: { cases_opened: [5, 4], overdue: [0, 1] },
    });
  });

  it("take handling times from the latest period that decided any", () => {
    expect(handlingByCategory(rows)).toEqual({
      period: "2026-11-02",
      categories: ["fraud"],
      medianHours: [1],
      p90Hours: [2],
    });
    expect(handlingByCategory([row("2026-11-02", "fraud")]).period).toBeNull();
  });

  it("put each escalation in the period it happened in", () => {
    const periods = ["2026-10-26", "2026-11-02"];
    const times = ["2026-10-25T23:00:00Z", "2026-10-27T08:00:00Z", "2026-11-03T01:00:00Z", "2026-11-09T00:00:00Z"];
    expect(countInPeriods(periods, times)).toEqual([1, 2]);
  });

  it("follow each desk's queue period by period, and what ran late only where entries fall due", () => {
    const idle = { entered: 0, decided: 0, waiting: 0, overdue: null };
    const queues: QueueRow[] = [
      {
        period_start: "2026-10-26",
        cases: { entered: 5, decided: 4, waiting: 1, overdue: 2 },
        identities: { entered: 3, decided: 1, waiting: 2, overdue: null },
        applications: idle,
        appeals: idle,
      },
      {
        period_start: "2026-11-02",
        cases: { entered: 2, decided: 0, waiting: 2, overdue: 0 },
        identities: idle,
        applications: { entered: 1, decided: 0, waiting: 0, overdue: null },
        appeals: idle,
      },
    ];
    expect(deskLoad(queues, "cases")).toEqual({
      periods: ["2026-10-26", "2026-11-02"],
      values: { decided: [4, 0], waiting: [1, 2], overdue: [2, 0] },
    });
    expect(deskLoad(queues, "identities").values).toEqual({ decided: [1, 0], waiting: [2, 0] });
    expect(deskLoad([], "cases")).toEqual({ periods: [], values: { decided: [], waiting: [] } });
  });

  it("look back a month of days, twelve weeks or a year of months", () => {
    const today = new Date("2026-12-03T10:00:00Z");
    expect(sinceFor("day", today)).toBe("2026-11-03");
    expect(sinceFor("week", today)).toBe("2026-09-10");
    expect(sinceFor("month", today)).toBe("2025-12-03");
  });
});
