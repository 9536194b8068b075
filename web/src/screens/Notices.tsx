import { useEffect, useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { formatTime, labelOf, t } from "../i18n";
import type { ChatStore, Received } from "../store";
import { reasonLabel } from "./Report";
import { Standing, describeAppeal, sanctionLabel } from "./Standing";

/** What the user was told: sanctions with their reasons, removals, report outcomes, rumour
 * corrections. Newest first. */
export function Notices(props: { store: ChatStore }) {
  const { store } = props;
  useEffect(() => {
    void store.loadNotices();
  }, []);
  useEffect(() => store.seenNotices(), [store.unseen]);
  const received = [...store.received].reverse();
  return (
    <>
      <Standing store={store} />
      {received.length === 0 && <p class="empty">{t("notices.none")}</p>}
      <ul class="notices">
        {received.map((item) => (
          <li key={item.cursor} class="notice">
            {describe(item)}
          </li>
        ))}
      </ul>
      <Earlier version={received.length} />
    </>
  );
}

/** What was decided on the user's reports and appeals, also before this session began. */
function Earlier(props: { version: number }) {
  const [appeals, setAppeals] = useState<Schemas["Appeal"][]>([]);
  const [reports, setReports] = useState<Schemas["Report"][]>([]);

  useEffect(() => {
    void Promise.all([
      api.GET("/api/v1/appeals", { params: { query: { limit: 100 } } }).then(must),
      api.GET("/api/v1/reports", { params: { query: { limit: 100 } } }).then(must),
    ]).then(([appealPage, reportPage]) => {
      setAppeals([...appealPage.appeals].reverse());
      setReports(reportPage.reports);
    });
  }, [props.version]);

  return (
    <>
      {appeals.length > 0 && (
        <section aria-labelledby="appeals-title">
          <h3 id="appeals-title">{t("notices.appeals")}</h3>
          <ul class="notices">
            {appeals.map((appeal) => (
              <li key={appeal.id} class="notice" data-appeal-state={appeal.state}>
                {describeAppeal(appeal)}
              </li>
            ))}
          </ul>
        </section>
      )}
      {reports.length > 0 && (
        <section aria-labelledby="reports-title">
          <h3 id="reports-title">{t("notices.reports")}</h3>
          <ul class="notices">
            {reports.map((report) => (
              <li key={report.id} class="notice">
                {t(`notices.report_state.${report.outcome}`, {
                  reason: reasonLabel(report.reason),
                  at: formatTime(report.created_at),
                })}
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}

function describe(item: Received): string {
  if (item.correction) {
    const { correction } = item;
    const what = correction.target.type === "post" ? (correction.target.title ?? "") : t("notices.a_message");
    return t("notices.correction", { what, category: reasonLabel(correction.category), statement: correction.statement });
  }
  const notice = item.notice as Schemas["Notice"];
  switch (notice.kind) {
    case "content_removed":
    case "content_marked_false":
      return t(`notices.${notice.kind}`, {
        categories: notice.categories.map(reasonLabel).join(", "),
        reason: notice.reason,
      });
    case "report_outcome":
      return t(`notices.report.${notice.outcome}`);
    case "sanction_applied":
      return t("notices.sanction_applied", {
        kind: sanctionLabel(notice.sanction.kind),
        reason: notice.sanction.statement.facts,
        until: notice.sanction.statement.ends_at
          ? formatTime(notice.sanction.statement.ends_at)
          : t("notices.no_end"),
      });
    case "sanction_ended":
      return t("notices.sanction_ended", { kind: sanctionLabel(notice.sanction.kind) });
    case "appeal_decided":
      return describeAppeal(notice.appeal);
    case "public_account_status":
      return t("notices.account_status", {
        name: notice.name,
        status: labelOf("account.status", notice.status),
        reason: notice.reason ?? "",
      });
    default:
      return notice.kind;
  }
}
