import type { Schemas } from "../api/client";
import { formatTime, t } from "../i18n";
import type { ChatStore, Received } from "../store";
import { reasonLabel } from "./Report";
import { Standing, sanctionLabel } from "./Standing";

/** What the user was told: sanctions with their reasons, removals, report outcomes, rumour
 * corrections. Newest first. */
export function Notices(props: { store: ChatStore }) {
  const received = [...props.store.received].reverse();
  const sanctionNotices = received.filter((item) => item.notice?.kind.startsWith("sanction_")).length;
  return (
    <>
      <Standing version={sanctionNotices} />
      {received.length === 0 && <p class="empty">{t("notices.none")}</p>}
      <ul class="notices">
        {received.map((item) => (
          <li key={item.cursor} class="notice">
            {describe(item)}
          </li>
        ))}
      </ul>
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
    default:
      return notice.kind;
  }
}
