import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../../api/client";
import { formatTime } from "../../i18n/core";
import type { Staff } from "../Console";
import { Person } from "../people";
import { labelOf, t } from "../i18n";
import type { ConsoleKey } from "../i18n/en";
import { StatusList } from "../StatusList";
import { STAFF_REASON, useSaid } from "../said";

type Identity = Schemas["IdentityInReview"];
type Status = Identity["status"];
/** What the console says once a decision is recorded, one key per decision. */
const DONE = { approve: "identities.approved", reject: "identities.rejected" } as const satisfies Record<"approve" | "reject", ConsoleKey>;
// Where the work is first: a new registrant's identity is format-checked until a reviewer (or the
// provider) verifies it; "pending review" holds only those sent to a reviewer explicitly.
const STATUSES: Status[] = ["format_checked", "pending_review", "provider_verified", "staff_verified", "rejected"];

/** The identity desk: registrants' identities, masked, to verify; a full identity only through
 * the reveal dialog, which asks why and says the look is recorded. */
export function Identities({ staff }: { staff: Staff }) {
  const [revealing, setRevealing] = useState<Identity | null>(null);
  return (
    <>
      <StatusList
        id="identities"
        title={t("nav.identities")}
        statusLabel={t("identities.status")}
        statuses={STATUSES}
        labelPrefix="identity_status"
        empty={t("identities.empty")}
        fetch={async (status, paging) => {
          const query = { status, ...paging };
          const page = must(await api.GET("/api/v1/admin/identities", { params: { query } }));
          return { items: page.identities, next: page.next_cursor };
        }}
        row={(row, changed) => (
          <IdentityRow key={row.user_id} staff={staff} row={row} onReveal={() => setRevealing(row)} onChanged={changed} />
        )}
      />
      {revealing && <RevealDialog row={revealing} onClose={() => setRevealing(null)} />}
    </>
  );
}

function IdentityRow(props: { staff: Staff; row: Identity; onReveal(): void; onChanged(said: string): void }) {
  const { staff, row } = props;
  const [reason, setReason] = useState("");
  const [said, attempt] = useSaid();
  const path = { params: { path: { user_id: row.user_id } } };
  const open = !["staff_verified", "rejected"].includes(row.status);

  function decide(decision: "approve" | "reject") {
    return attempt(async () => {
      must(await api.POST("/api/v1/admin/identities/{user_id}/decision", { ...path, body: { decision, reason: reason.trim() || null } }));
      props.onChanged(t(DONE[decision]));
    });
  }

  return (
    <li class="card" data-user={row.user_id}>
      <p>
        <strong>@{row.handle}</strong> · {labelOf("id_type", row.id_type)} {row.id_number} · {row.legal_name} · {row.phone}
      </p>
      <p class="muted">
        {labelOf("identity_status", row.status)} · {t("identities.submitted", { at: formatTime(row.submitted_at) })}
        {row.provider_result && ` · ${t("identities.provider", { result: row.provider_result })}`}
        {row.claimed_by !== null && (
          <>
            {" · "}
            {t("cases.claimed_by_label")} <Person staff={staff} id={row.claimed_by} />
          </>
        )}
      </p>
      <div class="actions">
        {open && row.claimed_by === null && staff.access.may("POST /api/v1/admin/identities/{user_id}/claim") && (
          <button
            type="button"
            onClick={() =>
              void attempt(async () => {
                must(await api.POST("/api/v1/admin/identities/{user_id}/claim", path));
                props.onChanged(t("cases.claimed"));
              })
            }
          >
            {t("cases.claim")}
          </button>
        )}
        {staff.access.may("POST /api/v1/admin/identities/{user_id}/reveal") && (
          <button type="button" class="quiet" onClick={props.onReveal}>
            {t("reveal.open")}
          </button>
        )}
      </div>
      {open && row.claimed_by === staff.me.id && (
        <form onSubmit={(e) => e.preventDefault()}>
          <label>
            {t("cases.reason")}
            <input value={reason} maxLength={4096} onInput={(e) => setReason(e.currentTarget.value)} />
          </label>
          <div class="actions">
            <button type="button" onClick={() => void decide("approve")}>
              {t("identities.approve")}
            </button>
            <button type="button" class="danger" onClick={() => void decide("reject")}>
              {t("identities.reject")}
            </button>
          </div>
        </form>
      )}
      {said && <p role="status">{said}</p>}
    </li>
  );
}

/** A plaintext identity, only with a reason and what the look is for; the reader is told before
 * and after that the look is recorded, and under which record. */
function RevealDialog(props: { row: Identity; onClose(): void }) {
  const [reason, setReason] = useState("");
  const [reference, setReference] = useState("");
  const [shown, setShown] = useState<Schemas["Reveal"] | null>(null);
  const [said, attempt] = useSaid();

  return (
    <div class="dialog-backdrop">
      <div role="dialog" aria-modal="true" aria-labelledby="reveal-title" class="dialog card">
        <h3 id="reveal-title">{t("reveal.title", { handle: props.row.handle })}</h3>
        <p class="notice" role="note">
          {t("reveal.recorded")}
        </p>
        {shown ? (
          <>
            <dl class="revealed" data-testid="revealed-identity">
              <dt>{t("reveal.legal_name")}</dt>
              <dd>{shown.identity.legal_name}</dd>
              <dt>{t("reveal.id")}</dt>
              <dd>
                {labelOf("id_type", shown.identity.id_type)} {shown.identity.id_number}
              </dd>
              <dt>{t("reveal.phone")}</dt>
              <dd>{shown.identity.phone}</dd>
            </dl>
            <p role="status">{t("reveal.record", { id: shown.access_record_id })}</p>
          </>
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void attempt(async () => {
                const body = { reason: reason.trim(), reference: reference.trim() };
                setShown(
                  must(await api.POST("/api/v1/admin/identities/{user_id}/reveal", { params: { path: { user_id: props.row.user_id } }, body })),
                );
              });
            }}
          >
            <label>
              {t("reveal.reason")}
              <textarea name="reason" required {...STAFF_REASON} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
            </label>
            <label>
              {t("reveal.reference")}
              <input name="reference" required maxLength={80} placeholder="case:118" value={reference} onInput={(e) => setReference(e.currentTarget.value)} />
            </label>
            <button type="submit" disabled={reason.trim().length < STAFF_REASON.minLength || !reference.trim()}>
              {t("reveal.submit")}
            </button>
          </form>
        )}
        {said && (
          <p class="error" role="alert">
            {said}
          </p>
        )}
        <button type="button" class="quiet" onClick={props.onClose}>
          {t("close")}
        </button>
      </div>
    </div>
  );
}
