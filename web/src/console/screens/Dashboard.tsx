import { useEffect, useRef, useState } from "preact/hooks";
import { api, must, type Schemas } from "../../api/client";
import type { Chart } from "../charts";
import {
  countInPeriods,
  deskLoad,
  handlingByCategory,
  perPeriod,
  sinceFor,
  type Counted,
  type Desk,
  type Period,
  type Series,
} from "../dashboard";
import { Choice } from "../Choice";
import { labelOf, t } from "../i18n";
import { refusal } from "../said";

const PERIODS: Period[] = ["day", "week", "month"];
const DESKS: Desk[] = ["cases", "identities", "applications", "appeals"];
const DECISIONS: Counted[] = ["approved", "removed", "marked_false", "upheld"];
const SANCTIONS: Counted[] = [
  "sanctions_warning",
  "sanctions_limit_publication",
  "sanctions_suspend_updates",
  "sanctions_suspend_posting",
  "sanctions_close",
  "sanctions_blacklist_identity",
  "sanctions_close_group",
  "sanctions_remove_rights",
];
const MOST_ESCALATIONS = 2_000; // pages of the authority's list read for one chart

interface Figures {
  stats: Schemas["Stats"];
  queues: Schemas["Queues"];
  escalations: string[];
}

/** Charts of what the statistics count: each review desk's queue and what ran late, handling
 * times by category, decisions and sanctions by kind, reports and their outcomes, reach
 * escalations. For the authority and administrators: counts and timings only, no content and no
 * one's identity. */
export function Dashboard() {
  const [period, setPeriod] = useState<Period>("day");
  const [figures, setFigures] = useState<Figures | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setFigures(null);
    load(period).then(setFigures, (refused) => setError(refusal(refused)));
  }, [period]);

  const handling = figures ? handlingByCategory(figures.stats.rows) : null;
  const counts = (fields: Counted[]) => perPeriod(figures?.stats.rows ?? [], fields);
  const decisions = counts(DECISIONS);
  const periods = decisions.periods; // the escalations are counted in the statistics' periods
  return (
    <section aria-labelledby="dashboard-title">
      <h2 id="dashboard-title">{t("nav.dashboard")}</h2>
      <Choice label={t("dashboard.period")} name="period" value={period} options={PERIODS} words={(n) => t(`dashboard.period.${n}`)} onChange={setPeriod} />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {figures && (
        <div class="charts" key={period}>
          {DESKS.map((desk) => (
            <BarsOverTime
              key={desk}
              title={t("dashboard.queue", { desk: t(`nav.${desk}`) })}
              series={deskLoad(figures.queues.rows, desk)}
              stacked
              lines={["overdue"]}
            />
          ))}
          <BarsOverTime title={t("dashboard.decisions")} series={decisions} stacked />
          <BarsOverTime title={t("dashboard.sanctions")} series={counts(SANCTIONS)} stacked />
          <BarsOverTime
            title={t("dashboard.reports")}
            series={counts(["reports", "reports_unfounded", "appeals", "reversals"])}
          />
          <BarsOverTime
            title={t("dashboard.escalations")}
            series={{ periods, values: { escalations: countInPeriods(periods, figures.escalations) } }}
          />
          {handling && (
            <ChartBox
              title={t("dashboard.handling", { period: handling.period ?? "—" })}
              option={{
                xAxis: { type: "category", data: handling.categories.map((c) => labelOf("category", c)) },
                yAxis: { type: "value", name: t("dashboard.hours") },
                series: [
                  { type: "bar", name: t("dashboard.median"), data: handling.medianHours },
                  { type: "bar", name: t("dashboard.p90"), data: handling.p90Hours },
                ],
              }}
            />
          )}
        </div>
      )}
    </section>
  );
}

async function load(period: Period): Promise<Figures> {
  const since = sinceFor(period);
  const query = { params: { query: { period, since } } };
  const [stats, queues] = await Promise.all([
    api.GET("/api/v1/audit/stats", query).then(must),
    api.GET("/api/v1/audit/queues", query).then(must),
  ]);
  const escalations: string[] = [];
  let cursor: string | null = null;
  do {
    const query = { since, limit: 500, ...(cursor ? { cursor } : {}) };
    const page: Schemas["AuditEscalationPage"] = must(
      await api.GET("/api/v1/audit/escalations", { params: { query } }),
    );
    escalations.push(...page.escalations.map((e) => e.created_at));
    cursor = page.next_cursor;
  } while (cursor && escalations.length < MOST_ESCALATIONS);
  return { stats, queues, escalations };
}

/** Bars per period, stacked if asked, but for the fields named in `lines`: lines on their own. */
function BarsOverTime(props: { title: string; series: Series; stacked?: boolean; lines?: readonly string[] }) {
  const { periods, values } = props.series;
  return (
    <ChartBox
      title={props.title}
      option={{
        xAxis: { type: "category", data: periods },
        yAxis: { type: "value", minInterval: 1 },
        series: Object.entries(values).map(([field, data]) => {
          const line = props.lines?.includes(field) ?? false;
          return {
            type: line ? "line" : "bar",
            name: t(`figure.${field}`),
            data,
            ...(props.stacked && !line ? { stack: "all" } : {}),
          };
        }),
      }}
    />
  );
}

const FRAME = { tooltip: { trigger: "axis" }, legend: { bottom: 0 }, grid: { bottom: 60 } };

/** One chart, drawn once ECharts has loaded (a new period draws new charts); its title is the
 * figure's heading. */
function ChartBox(props: { title: string; option: Record<string, unknown> }) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let chart: Chart | null = null;
    let gone = false;
    void import("../charts").then(({ chartIn }) => {
      if (gone || !box.current) return;
      chart = chartIn(box.current);
      chart.draw({ ...FRAME, ...props.option });
    });
    return () => {
      gone = true;
      chart?.dispose();
    };
  }, []);

  return (
    <figure class="chart card">
      <figcaption>{props.title}</figcaption>
      <div ref={box} class="chart-canvas" role="img" aria-label={props.title} />
    </figure>
  );
}
