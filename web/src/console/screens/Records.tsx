import { useEffect, useState } from "preact/hooks";
import { api, must } from "../../api/client";
import { formatTime } from "../../i18n/core";
import { Choice } from "../Choice";
import { labelOf, t } from "../i18n";
import { refusal, useSaid } from "../said";

type Kind = "filings" | "cases" | "sanctions" | "reports";
const KINDS: Kind[] = ["filings", "cases", "sanctions", "reports"];
type Row = Record<string, unknown>;
const MOST_ROWS = 10_000; // what one download gathers, a page at a time

// The columns each record shows and downloads: ids, kinds, states and times, no content.
const COLUMNS: Record<Kind, string[]> = {
  filings: ["public_account_id", "name", "category", "account_type", "status", "news_entitlement", "entity_kind", "entity_name", "registration_number", "news_licence", "approved_at"],
  cases: ["id", "target_type", "sources", "categories", "state", "decision", "opened_at", "decided_at", "handling_ms", "decided_in_time", "appeal_state"],
  sanctions: ["id", "subject_type", "subject_id", "kind", "category", "points", "ground", "applied_by", "starts_at", "ends_at", "state", "appeal_state"],
  reports: ["id", "case_id", "target_type", "reason", "created_at", "decided_at", "handling_ms", "outcome"],
};

/** The API's records as rows of named cells: the columns above pick what is shown. */
function rowsOf(items: readonly object[]): Row[] {
  return items as Row[];
}

interface Page {
  rows: Row[];
  next: string | null;
}

async function page(kind: Kind, since: string, cursor: string | null): Promise<Page> {
  const paging = { limit: 500, ...(cursor ? { cursor } : {}) };
  const period = { ...paging, ...(since ? { since } : {}) };
  switch (kind) {
    case "filings": {
      const found = must(await api.GET("/api/v1/audit/filings", { params: { query: paging } }));
      return { rows: rowsOf(found.filings), next: found.next_cursor };
    }
    case "cases": {
      const found = must(await api.GET("/api/v1/audit/cases", { params: { query: period } }));
      return { rows: rowsOf(found.cases), next: found.next_cursor };
    }
    case "sanctions": {
      const found = must(await api.GET("/api/v1/audit/sanctions", { params: { query: period } }));
      return { rows: rowsOf(found.sanctions), next: found.next_cursor };
    }
    case "reports": {
      const found = must(await api.GET("/api/v1/audit/reports", { params: { query: period } }));
      return { rows: rowsOf(found.reports), next: found.next_cursor };
    }
  }
}

function shown(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.join(" ");
  if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) return formatTime(value);
  return String(value);
}

/** A CSV file of the rows (RFC 4180: every field quoted), named after the record and the day. */
export function csvOf(columns: readonly string[], rows: readonly Row[]): string {
  const quoted = (value: unknown) => `"${(Array.isArray(value) ? value.join(" ") : String(value ?? "")).replace(/"/g, '""')}"`;
  return [columns.map(quoted), ...rows.map((row) => columns.map((c) => quoted(row[c])))].map((line) => line.join(",")).join("\r\n") + "\r\n";
}

/** The records the authority reads: public-account filings, and the cases, sanctions and reports
 * of a period, as tables to page through and to download whole as CSV. */
export function Records() {
  const [kind, setKind] = useState<Kind>("filings");
  const [since, setSince] = useState("");
  const [rows, setRows] = useState<Row[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function load(cursor: string | null): Promise<void> {
    setError(null);
    try {
      const found = await page(kind, since, cursor);
      setRows((before) => (cursor ? [...before, ...found.rows] : found.rows));
      setNext(found.next);
    } catch (refused) {
      setError(refusal(refused));
    }
  }

  async function download(): Promise<void> {
    const all: Row[] = [];
    let cursor: string | null = null;
    do {
      const found: Page = await page(kind, since, cursor);
      all.push(...found.rows);
      cursor = found.next;
    } while (cursor && all.length < MOST_ROWS);
    save(new Blob([csvOf(COLUMNS[kind], all)], { type: "text/csv" }), `townhall-${kind}-${new Date().toISOString().slice(0, 10)}.csv`);
  }

  useEffect(() => void load(null), [kind, since]);
  const columns = COLUMNS[kind];
  return (
    <section aria-labelledby="records-title">
      <h2 id="records-title">{t("nav.records")}</h2>
      <div class="filters">
        <Choice label={t("records.kind")} name="kind" value={kind} options={KINDS} words={(k) => t(`records.${k}`)} onChange={setKind} />
        {kind !== "filings" && (
          <label>
            {t("records.since")}
            <input name="since" type="date" value={since} onChange={(e) => setSince(e.currentTarget.value)} />
          </label>
        )}
        <button type="button" onClick={() => void download().catch((refused) => setError(refusal(refused)))}>
          {t("records.download")}
        </button>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="wide-table" tabIndex={0} aria-label={t(`records.${kind}`)}>
        <table class="records">
          <thead>
            <tr>
              {columns.map((column) => (
                <th key={column}>{labelOf("column", column)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <tr key={i}>
                {columns.map((column) => (
                  <td key={column}>{shown(row[column])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length === 0 && <p>{t("records.empty")}</p>}
      {next && (
        <button type="button" class="quiet" onClick={() => void load(next)}>
          {t("more")}
        </button>
      )}
      <DsaStatements />
    </section>
  );
}

function save(blob: Blob, name: string): void {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  URL.revokeObjectURL(link.href);
}

/** The DSA statements of reasons of a period, as the server writes them for the EU's
 * transparency database; a pack that files none says so. */
function DsaStatements() {
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [said, attempt] = useSaid();

  function download(): void {
    void attempt(async () => {
      const query = { ...(since ? { since } : {}), ...(until ? { until } : {}) };
      const file = must(await api.GET("/api/v1/audit/dsa-statements", { params: { query }, parseAs: "blob" }));
      const count = (JSON.parse(await file.text()) as { statements: unknown[] }).statements.length;
      save(file, `townhall-dsa-statements-${new Date().toISOString().slice(0, 10)}.json`);
      return t("records.dsa_done", { count });
    });
  }

  return (
    <section class="card" aria-labelledby="dsa-title">
      <h3 id="dsa-title">{t("records.dsa")}</h3>
      <p class="hint">{t("records.dsa_hint")}</p>
      <div class="filters">
        <label>
          {t("records.since")}
          <input name="dsa-since" type="date" value={since} onChange={(e) => setSince(e.currentTarget.value)} />
        </label>
        <label>
          {t("records.until")}
          <input name="dsa-until" type="date" value={until} onChange={(e) => setUntil(e.currentTarget.value)} />
        </label>
        <button type="button" onClick={download}>
          {t("records.dsa_download")}
        </button>
      </div>
      {said && (
        <p role="status" data-testid="dsa-said">
          {said}
        </p>
      )}
    </section>
  );
}
