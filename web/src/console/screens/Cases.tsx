import { useEffect, useRef, useState } from "preact/hooks";
import { api, must, policy, type Schemas } from "../../api/client";
import { formatTime } from "../../i18n/core";
import { Choice } from "../Choice";
import type { Staff } from "../Console";
import { Person } from "../people";
import { MarkedText, findingsOf } from "../Marked";
import { labelOf, plural, t } from "../i18n";
import { dueIn } from "../time";
import { refusal, useSaid } from "../said";

type Case = Schemas["Case"];
type Detail = Schemas["CaseDetail"];
type QueueState = Schemas["QueueState"];
type Source = Schemas["Source"];
type Verdict = Schemas["Verdict"];

const STATES: QueueState[] = ["pending", "open", "escalated", "approved", "removed", "marked_false", "upheld"];
const SOURCES: Source[] = ["hold", "flag", "report", "escalation"];
const PAGE = 50;
// What each decision suits: a message or post is approved, removed or marked false; a report of
// a person, group or account is upheld or not; any case may go up to an administrator.
const VERDICTS: Record<Case["target"]["type"], Verdict[]> = {
  message: ["approve", "remove", "mark_false", "escalate"],
  post: ["approve", "remove", "mark_false", "escalate"],
  user: ["approve", "uphold", "escalate"],
  group: ["approve", "uphold", "escalate"],
  public_account: ["approve", "uphold", "escalate"],
};

export function Cases({ staff }: { staff: Staff }) {
  const [state, setState] = useState<QueueState>("pending");
  const [source, setSource] = useState<Source | "">("");
  const [overdue, setOverdue] = useState(false);
  const [cases, setCases] = useState<Case[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [summary, setSummary] = useState<Schemas["ReviewSummary"] | null>(null);
  const [current, setCurrent] = useState<number | null>(null);
  const [chosen, setChosen] = useState<ReadonlySet<number>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [bulkDone, setBulkDone] = useState<string | null>(null);
  // The filters of the rows shown, once they are loaded: while a new filter loads, the rows on
  // screen are the old filter's (aria-busy says so; the tests read it).
  const filters = `${state}/${source || "any"}/${overdue}`;
  const [shownFilters, setShownFilters] = useState<string | null>(null);

  async function load(cursor: string | null): Promise<void> {
    setError(null);
    setShownFilters(null);
    try {
      const query = { state, overdue, limit: PAGE, ...(source ? { source } : {}), ...(cursor ? { cursor } : {}) };
      const page = must(await api.GET("/api/v1/admin/review/cases", { params: { query } }));
      setCases((shown) => (cursor ? [...shown, ...page.cases] : page.cases));
      setNext(page.next_cursor);
      setShownFilters(filters);
      if (!cursor) setSummary(must(await api.GET("/api/v1/admin/review/summary")));
    } catch (refused) {
      setError(refusal(refused));
    }
  }

  function reload(): void {
    setChosen(new Set());
    void load(null);
  }

  useEffect(reload, [state, source, overdue]);
  useShortcuts(cases, current, setCurrent, setChosen);

  function toggle(id: number): void {
    setChosen((was) => {
      const now = new Set(was);
      if (!now.delete(id)) now.add(id);
      return now;
    });
  }

  return (
    <section class="cases" aria-labelledby="cases-title">
      <h2 id="cases-title">{t("nav.cases")}</h2>
      {summary && (
        <p class="summary" data-testid="queue-summary">
          {t("cases.summary", { open: summary.open, escalated: summary.escalated, overdue: summary.overdue })}
        </p>
      )}
      <div class="filters">
        <Choice label={t("cases.state")} name="state" value={state} options={STATES} words={(n) => labelOf("state", n)} onChange={setState} />
        <Choice label={t("cases.source")} name="source" value={source} options={SOURCES} words={(n) => labelOf("source", n)} none={t("cases.any_source")} onChange={setSource} />
        <label class="check">
          <input type="checkbox" checked={overdue} onChange={(e) => setOverdue(e.currentTarget.checked)} />
          {t("cases.overdue_only")}
        </label>
      </div>
      <p class="hint">{t("cases.shortcuts")}</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {bulkDone && (
        <p role="status" class="said" data-testid="bulk-done">
          {bulkDone}
        </p>
      )}
      {chosen.size > 0 && (
        <BulkDecision
          staff={staff}
          cases={cases.filter((c) => chosen.has(c.id))}
          onDone={(said) => {
            setBulkDone(said);
            reload();
          }}
        />
      )}
      <div class="split">
        <div class="queue">
          <table aria-busy={shownFilters !== filters} data-filters={shownFilters ?? ""}>
            <thead>
              <tr>
                <th>
                  <span class="visually-hidden">{t("cases.choose")}</span>
                </th>
                <th>#</th>
                <th>{t("cases.what")}</th>
                <th>{t("cases.due")}</th>
              </tr>
            </thead>
            <tbody>
              {cases.map((c) => (
                <tr
                  key={c.id}
                  data-case={c.id}
                  class={`${c.id === current ? "current" : ""} ${c.overdue ? "overdue" : ""}`}
                  onClick={() => setCurrent(c.id)}
                >
                  <td>
                    <input
                      type="checkbox"
                      aria-label={t("cases.choose_case", { id: c.id })}
                      checked={chosen.has(c.id)}
                      onClick={(e) => e.stopPropagation()}
                      onChange={() => toggle(c.id)}
                    />
                  </td>
                  <td>{c.id}</td>
                  <td>
                    <span class="badges">
                      {c.sources.map((s) => (
                        <span key={s} class={`badge ${s}`}>
                          {labelOf("source", s)}
                        </span>
                      ))}
                      {c.categories.map((category) => (
                        <span key={category} class="badge category">
                          {labelOf("category", category)}
                        </span>
                      ))}
                    </span>
                    <span class="excerpt">{excerptOf(c)}</span>
                  </td>
                  <td class={c.overdue ? "late" : ""}>{dueIn(c.due_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {cases.length === 0 && <p>{t("cases.empty")}</p>}
          {next && (
            <button type="button" class="quiet" disabled={shownFilters !== filters} onClick={() => void load(next)}>
              {t("more")}
            </button>
          )}
        </div>
        {current !== null && (
          <CaseView key={current} staff={staff} caseId={current} onChanged={reload} />
        )}
      </div>
    </section>
  );
}

function excerptOf(c: Case): string {
  const text = "text" in c.content ? c.content.text : t("cases.purged");
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** j and k move through the queue, x chooses the current case; the detail's own keys are in
 * CaseView. None while the reviewer types. */
function useShortcuts(
  cases: Case[],
  current: number | null,
  setCurrent: (id: number) => void,
  setChosen: (change: (was: ReadonlySet<number>) => ReadonlySet<number>) => void,
): void {
  useEffect(() => {
    function onKey(event: KeyboardEvent): void {
      if (typing(event)) return;
      const at = cases.findIndex((c) => c.id === current);
      if (event.key === "j" || event.key === "k") {
        const step = event.key === "j" ? 1 : -1;
        const to = cases[Math.min(cases.length - 1, Math.max(0, at + step))];
        if (to) setCurrent(to.id);
      } else if (event.key === "x" && current !== null) {
        setChosen((was) => {
          const now = new Set(was);
          if (!now.delete(current)) now.add(current);
          return now;
        });
      }
    }
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [cases, current]);
}

export function typing(event: KeyboardEvent): boolean {
  const target = event.target as HTMLElement | null;
  return (
    event.ctrlKey || event.metaKey || event.altKey ||
    (target !== null && ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))
  );
}

function CaseView(props: { staff: Staff; caseId: number; onChanged(): void }) {
  const { staff, caseId } = props;
  const [detail, setDetail] = useState<Detail | null>(null);
  const [normalized, setNormalized] = useState<string | null>(null);
  const [said, attempt] = useSaid();
  const decide = useRef<(verdict: Verdict) => void>(() => {});

  async function load(): Promise<void> {
    const found = must(
      await api.GET("/api/v1/admin/review/cases/{case_id}", { params: { path: { case_id: caseId } } }),
    );
    setDetail(found);
    if ("text" in found.content && staff.access.may("POST /api/v1/admin/lexicon/check")) {
      const surface = found.target.type === "post" ? "public_post" : found.target.type === "message" ? "group" : "name";
      const checked = must(
        await api.POST("/api/v1/admin/lexicon/check", { body: { text: found.content.text, surface } }),
      );
      setNormalized(checked.normalized);
    }
  }

  useEffect(() => void attempt(load), [caseId]);

  useEffect(() => {
    function onKey(event: KeyboardEvent): void {
      if (typing(event)) return;
      const verdict = ({ a: "approve", r: "remove", f: "mark_false", u: "uphold", e: "escalate" } as const)[
        event.key as "a"
      ];
      if (verdict) decide.current(verdict);
      else if (event.key === "c") void claim(true);
    }
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [detail]);

  async function claim(take: boolean): Promise<void> {
    if (!detail || !mayWork(staff, detail)) return;
    const path = { params: { path: { case_id: caseId } } };
    await attempt(async () => {
      must(
        take
          ? await api.PUT("/api/v1/admin/review/cases/{case_id}/claim", path)
          : await api.DELETE("/api/v1/admin/review/cases/{case_id}/claim", path),
      );
      await load();
      return take ? t("cases.claimed") : t("cases.given_back");
    });
  }

  if (!detail) return <div class="detail">{said ?? t("loading")}</div>;
  const pending = detail.state === "open" || detail.state === "escalated";
  const findings = findingsOf(detail.reasons);
  return (
    <article class="detail" aria-labelledby="case-title">
      <h3 id="case-title">
        {t("cases.case", { id: detail.id })} · {labelOf("target", detail.target.type)} #{detail.target.id}
      </h3>
      <p class={detail.overdue ? "late" : ""}>
        {labelOf("state", detail.state)} · {t("cases.opened", { at: formatTime(detail.opened_at) })} ·{" "}
        {dueIn(detail.due_at)}
        {detail.claimed_by !== null &&
          (detail.claimed_by === staff.me.id ? (
            ` · ${t("cases.claimed_by_you")}`
          ) : (
            <>
              {" · "}
              {t("cases.claimed_by_label")} <Person staff={staff} id={detail.claimed_by} />
            </>
          ))}
      </p>
      {detail.author_id !== null && (
        <p data-testid="case-author">
          {t("cases.author")} <Person staff={staff} id={detail.author_id} />
          {staff.open && staff.access.may("GET /api/v1/admin/sanctions/standing") && (
            <>
              {" "}
              <button type="button" class="quiet" onClick={() => staff.open?.("sanctions", `?user=${detail.author_id}&case=${detail.id}`)}>
                {t("cases.author_standing")}
              </button>
            </>
          )}
        </p>
      )}
      {"text" in detail.content ? (
        <MarkedText text={detail.content.text} findings={findings} testId="case-content" />
      ) : (
        <p>{t("cases.purged")}</p>
      )}
      {normalized !== null && (
        <p class="normalized">
          {t("cases.normalized")} <code>{normalized}</code>
        </p>
      )}
      {findings.length > 0 && (
        <table class="reasons">
          <caption>{t("cases.reasons")}</caption>
          <thead>
            <tr>
              <th>{t("cases.rule")}</th>
              <th>{t("cases.matched")}</th>
              <th>{t("cases.how")}</th>
              <th>{t("cases.category")}</th>
            </tr>
          </thead>
          <tbody>
            {findings.map((r, i) => (
              <tr key={i}>
                <td>{r.term || "—"}</td>
                <td>{r.excerpt}</td>
                <td>{labelOf("how", r.how)}</td>
                <td>
                  {labelOf("category", r.category)} ({r.severity})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Evidence detail={detail} />
      {pending && mayWork(staff, detail) && (
        <>
          <div class="actions">
            {detail.claimed_by === null ? (
              <button type="button" onClick={() => void claim(true)}>
                {t("cases.claim")}
              </button>
            ) : detail.claimed_by === staff.me.id ? (
              <button type="button" class="quiet" onClick={() => void claim(false)}>
                {t("cases.give_back")}
              </button>
            ) : null}
          </div>
          <DecisionForm
            verdicts={VERDICTS[detail.target.type]}
            bind={decide}
            onDecide={(body) =>
              attempt(async () => {
                must(
                  await api.POST("/api/v1/admin/review/cases/{case_id}/decision", {
                    params: { path: { case_id: caseId } },
                    body,
                  }),
                );
                await load();
                props.onChanged();
                return t("cases.decided");
              })
            }
          />
        </>
      )}
      {!pending && detail.decision && (
        <p>
          {t("cases.decision_was", {
            decision: labelOf("verdict", detail.decision),
            reason: detail.reason ?? "",
          })}
        </p>
      )}
      {said && (
        <p role="status" class="said">
          {said}
        </p>
      )}
    </article>
  );
}

/** May the staff member decide this case? Deciding needs its route's permission; an escalated
 * case needs an administrator's, a case another has claimed needs the right to take it over. */
function mayWork(staff: Staff, detail: Case): boolean {
  if (!staff.access.may("POST /api/v1/admin/review/cases/{case_id}/decision")) return false;
  if (detail.state === "escalated" && !staff.access.holds("decide_escalated_case")) return false;
  const theirs = detail.claimed_by !== null && detail.claimed_by !== staff.me.id;
  return !theirs || staff.access.holds("take_over_case");
}

function Evidence({ detail }: { detail: Detail }) {
  return (
    <>
      <p>
        {t("cases.reach", { views: detail.reach.views, forwards: detail.reach.forwards })} ·{" "}
        {plural("cases.reports", detail.report_count)}
      </p>
      {"totals" in detail.content && (
        <p>
          {t("cases.author_reach", {
            views: detail.content.totals.views,
            forwards: detail.content.totals.forwards,
            days: detail.content.window_days,
          })}
        </p>
      )}
      {detail.reports.length > 0 && (
        <ul class="reports">
          {detail.reports.map((report) => (
            <li key={report.id}>
              {t("cases.report_line", {
                reporter: report.reporter_id,
                reason: labelOf("report_reason", report.reason),
                at: formatTime(report.created_at),
              })}
              {report.detail && <q>{report.detail}</q>}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

interface DecisionBody {
  decision: Verdict;
  reason: string;
  category: string | null;
}

function DecisionForm(props: {
  verdicts: Verdict[];
  bind?: { current: (verdict: Verdict) => void };
  submitLabel?: string;
  onDecide(body: DecisionBody): Promise<void>;
}) {
  const [verdict, setVerdict] = useState<Verdict>(props.verdicts[0]!);
  const [reason, setReason] = useState("");
  const [category, setCategory] = useState("");
  const [categories, setCategories] = useState<string[]>([]);
  const reasonBox = useRef<HTMLTextAreaElement>(null);

  useEffect(() => void policy().then((p) => setCategories(p.moderation.categories)), []);
  if (props.bind)
    props.bind.current = (chosen) => {
      if (!props.verdicts.includes(chosen)) return;
      setVerdict(chosen);
      reasonBox.current?.focus();
    };

  return (
    <form
      class="decision"
      onSubmit={(e) => {
        e.preventDefault();
        void props.onDecide({ decision: verdict, reason: reason.trim(), category: category || null });
      }}
    >
      <fieldset>
        <legend>{t("cases.decide")}</legend>
        {props.verdicts.map((name) => (
          <label key={name} class="check">
            <input type="radio" name="verdict" checked={verdict === name} onChange={() => setVerdict(name)} />
            {labelOf("verdict", name)}
          </label>
        ))}
      </fieldset>
      <Choice label={t("cases.category")} value={category} options={categories} words={(n) => labelOf("category", n)} none={t("cases.no_category")} onChange={setCategory} />
      <label>
        {t("cases.reason")}
        <textarea ref={reasonBox} required maxLength={4096} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </label>
      <button type="submit">{props.submitLabel ?? t("cases.decide_submit")}</button>
    </form>
  );
}

/** Many cases decided at once: first a preview of what the decision will do to each, then the
 * decision, all or none. */
function BulkDecision(props: { staff: Staff; cases: Case[]; onDone(said: string): void }) {
  const [planned, setPlanned] = useState<DecisionBody | null>(null);
  const [said, attempt] = useSaid();
  const kinds = new Set(props.cases.map((c) => c.target.type));
  const verdicts = (["approve", "remove", "mark_false", "uphold", "escalate"] as Verdict[]).filter((v) =>
    [...kinds].every((kind) => VERDICTS[kind].includes(v)),
  );
  if (!props.staff.access.may("POST /api/v1/admin/review/decisions")) return null;

  return (
    <section class="bulk card" aria-labelledby="bulk-title">
      <h3 id="bulk-title">{t("bulk.title", { count: props.cases.length })}</h3>
      {planned === null ? (
        <DecisionForm verdicts={verdicts} submitLabel={t("bulk.preview")} onDecide={async (body) => setPlanned(body)} />
      ) : (
        <>
          <p data-testid="bulk-preview">
            {t(`bulk.effect.${planned.decision}`, { count: props.cases.length })}
          </p>
          <ul class="preview" tabIndex={0} aria-label={t("bulk.title", { count: props.cases.length })}>
            {props.cases.map((c) => (
              <li key={c.id}>
                #{c.id} · {labelOf("target", c.target.type)} #{c.target.id} · {excerptOf(c)}
              </li>
            ))}
          </ul>
          <p>{t("bulk.reason", { reason: planned.reason })}</p>
          <div class="actions">
            <button
              type="button"
              onClick={() =>
                void attempt(async () => {
                  const body = { ...planned, case_ids: props.cases.map((c) => c.id) };
                  const done = must(await api.POST("/api/v1/admin/review/decisions", { body }));
                  props.onDone(t("bulk.done", { count: done.cases.length }));
                })
              }
            >
              {t("bulk.confirm", { count: props.cases.length })}
            </button>
            <button type="button" class="quiet" onClick={() => setPlanned(null)}>
              {t("cancel")}
            </button>
          </div>
        </>
      )}
      {said && (
        <p role="status" class="said">
          {said}
        </p>
      )}
    </section>
  );
}
