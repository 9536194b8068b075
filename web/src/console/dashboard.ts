// The dashboards' figures, from the statistics the API computes: GET /api/v1/audit/stats (one
// row per period and category, summed here per period) and GET /api/v1/audit/queues (one row per
// period, with each review desk's queue).
import type { Schemas } from "../api/client";

export type StatsRow = Schemas["StatsRow"];
export type QueueRow = Schemas["QueueRow"];
export type Desk = Exclude<keyof QueueRow, "period_start">;
export type Counted = {
  [K in keyof StatsRow]: StatsRow[K] extends number ? K : never;
}[keyof StatsRow];
export type Period = "day" | "week" | "month";

export interface Series {
  periods: string[];
  values: Record<string, number[]>;
}

/** Each field summed over the categories, period by period, oldest first. */
export function perPeriod<F extends Counted>(rows: readonly StatsRow[], fields: readonly F[]): Series {
  const periods = [...new Set(rows.map((row) => row.period_start))].sort();
  const at = new Map(periods.map((period, index) => [period, index]));
  const values = Object.fromEntries(fields.map((field) => [field, periods.map(() => 0)]));
  for (const row of rows) {
    const index = at.get(row.period_start)!;
    for (const field of fields) values[field]![index]! += row[field];
  }
  return { periods, values };
}

/** One desk's queue period by period, as the API orders its rows (oldest first): of what entered
 * the queue in each period, how much has been decided and how much still waits, and — on a desk
 * whose entries fall due — how much ran late. */
export function deskLoad(rows: readonly QueueRow[], desk: Desk): Series {
  const loads = rows.map((row) => row[desk]);
  const values: Record<string, number[]> = {
    decided: loads.map((load) => load.decided),
    waiting: loads.map((load) => load.waiting),
  };
  if (loads.some((load) => load.overdue !== null)) values.overdue = loads.map((load) => load.overdue ?? 0);
  return { periods: rows.map((row) => row.period_start), values };
}

export interface Handling {
  period: string | null;
  categories: string[];
  medianHours: number[];
  p90Hours: number[];
}

/** Median and p90 handling time by category, in hours, in the latest period that decided any:
 * the API's own figures, which a sum over periods could not give. */
export function handlingByCategory(rows: readonly StatsRow[]): Handling {
  const timed = rows.filter((row) => row.handling_ms_median !== null);
  const period = timed.map((row) => row.period_start).sort().at(-1) ?? null;
  const latest = timed.filter((row) => row.period_start === period).sort((a, b) => a.category.localeCompare(b.category));
  const hours = (ms: number | null) => Math.round(((ms ?? 0) / 3_600_000) * 100) / 100;
  return {
    period,
    categories: latest.map((row) => row.category),
    medianHours: latest.map((row) => hours(row.handling_ms_median)),
    p90Hours: latest.map((row) => hours(row.handling_ms_p90)),
  };
}

/** How many of `times` fall in each period: a time belongs to the latest period begun by then. */
export function countInPeriods(periods: readonly string[], times: readonly string[]): number[] {
  const counts = periods.map(() => 0);
  for (const time of times) {
    const day = time.slice(0, 10);
    let index = -1;
    periods.forEach((start, i) => {
      if (start <= day) index = i;
    });
    if (index >= 0) counts[index]! += 1;
  }
  return counts;
}

const SPAN_DAYS: Record<Period, number> = { day: 30, week: 7 * 12, month: 365 };

/** The first day the dashboards show for a period: 30 days, 12 weeks or a year back. */
export function sinceFor(period: Period, today: Date = new Date()): string {
  const since = new Date(today.getTime() - SPAN_DAYS[period] * 86_400_000);
  return since.toISOString().slice(0, 10);
}
