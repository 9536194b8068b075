import { useEffect, useState } from "preact/hooks";
import { api, must, type Schemas } from "../../api/client";
import { formatTime, localLabel } from "../../i18n/core";
import { Choice } from "../Choice";
import type { Staff } from "../Console";
import { labelOf, t } from "../i18n";
import type { ConsoleKey } from "../i18n/en";
import { StatusList } from "../StatusList";
import { useSaid } from "../said";

type Application = Schemas["PublicAccountInReview"];
type Status = Application["status"];
type Entitlement = Application["news_entitlement"];
/** What the console says once a decision is recorded, one key per decision. */
const DONE = { approve: "applications.approved", reject: "applications.rejected" } as const satisfies Record<"approve" | "reject", ConsoleKey>;
const STATUSES: Status[] = ["pending_review", "approved", "rejected", "suspended", "closed"];
const ENTITLEMENTS: Entitlement[] = ["none", "repost", "originate"];

/** The public-account desk: each application with its operator's qualifications, what the
 * naming rules find in its name, and the news entitlement to grant with an approval. */
export function Applications({ staff }: { staff: Staff }) {
  return (
    <StatusList
      id="applications"
      title={t("nav.applications")}
      statusLabel={t("applications.status")}
      statuses={STATUSES}
      labelPrefix="account_status"
      empty={t("applications.empty")}
      fetch={async (status, paging) => {
        const query = { status, ...paging };
        const page = must(await api.GET("/api/v1/admin/public-accounts", { params: { query } }));
        return { items: page.public_accounts, next: page.next_cursor };
      }}
      row={(row, changed) => <ApplicationRow key={row.id} staff={staff} row={row} onChanged={changed} />}
    />
  );
}

function ApplicationRow(props: { staff: Staff; row: Application; onChanged(said: string): void }) {
  const { staff, row } = props;
  const [entitlement, setEntitlement] = useState<Entitlement>(row.news_licence ? "originate" : "none");
  const [reason, setReason] = useState("");
  const [findings, setFindings] = useState<Schemas["ModerationReason"][] | null>(null);
  const [said, attempt] = useSaid();
  const { operator } = row;

  useEffect(() => {
    if (!staff.access.may("POST /api/v1/admin/lexicon/check")) return;
    void api
      .POST("/api/v1/admin/lexicon/check", { body: { text: `${row.name}\n${row.description}`, surface: "name" } })
      .then((answer) => setFindings(must(answer).reasons), () => setFindings(null));
  }, [row.id]);

  function decide(decision: "approve" | "reject") {
    return attempt(async () => {
      const body = { decision, reason: reason.trim() || null, news_entitlement: decision === "approve" ? entitlement : "none" };
      must(
        await api.POST("/api/v1/admin/public-accounts/{public_account_id}/decision", {
          params: { path: { public_account_id: row.id } },
          body,
        }),
      );
      props.onChanged(t(DONE[decision]));
    });
  }

  return (
    <li class="card" data-account={row.id}>
      <h3>{row.name}</h3>
      <p>
        {localLabel(row.category_label)} · {labelOf("account_type", row.account_type)} ·{" "}
        {t("applications.operator", { handle: row.operator_handle ?? "", id: row.operator_id ?? "" })}
        {row.applied_at && ` · ${t("applications.applied", { at: formatTime(row.applied_at) })}`}
      </p>
      <p>{row.description}</p>
      <dl class="facts">
        <dt>{t("applications.qualifications")}</dt>
        <dd>
          {labelOf("operator_kind", operator.kind)}
          {operator.entity_name && ` · ${operator.entity_name}`}
          {operator.registration_number && ` · ${operator.registration_number_type ?? ""} ${operator.registration_number}`}
        </dd>
        <dt>{t("applications.news_licence")}</dt>
        <dd>{row.news_licence ?? t("applications.none")}</dd>
        <dt>{t("applications.naming")}</dt>
        <dd data-testid="naming-findings">
          {findings === null
            ? "—"
            : findings.length === 0
              ? t("applications.naming_clear")
              : findings.map((f) => `${labelOf("category", f.category)}: ${f.excerpt}`).join("; ")}
        </dd>
      </dl>
      {row.status === "pending_review" && staff.access.may("POST /api/v1/admin/public-accounts/{public_account_id}/decision") && (
        <form onSubmit={(e) => e.preventDefault()}>
          <Choice label={t("applications.entitlement")} value={entitlement} options={ENTITLEMENTS} words={(n) => labelOf("entitlement", n)} onChange={setEntitlement} />
          <label>
            {t("cases.reason")}
            <input value={reason} maxLength={4096} onInput={(e) => setReason(e.currentTarget.value)} />
          </label>
          <div class="actions">
            <button type="button" onClick={() => void decide("approve")}>
              {t("applications.approve")}
            </button>
            <button type="button" class="danger" onClick={() => void decide("reject")}>
              {t("applications.reject")}
            </button>
          </div>
        </form>
      )}
      {row.status_reason && <p class="muted">{row.status_reason}</p>}
      {said && <p role="status">{said}</p>}
    </li>
  );
}
