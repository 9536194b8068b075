import { useEffect, useState } from "preact/hooks";
import { api, must, type Schemas } from "../../api/client";
import { formatTime } from "../../i18n/core";
import type { Staff } from "../Console";
import { labelOf, t } from "../i18n";
import type { ConsoleKey } from "../i18n/en";
import { StatusList } from "../StatusList";
import { STAFF_REASON, refusal, useSaid } from "../said";

type Appeal = Schemas["StaffAppeal"];
type AppealState = Schemas["AppealState"];
const STATES: AppealState[] = ["pending", "upheld", "reversed"];
/** What the console says once a verdict is recorded, one key per verdict. */
const DONE = { reverse: "appeals.reversed", uphold: "appeals.upheld" } as const satisfies Record<Schemas["AppealVerdict"], ConsoleKey>;

/** Appeals, each beside the decision it appeals; decided by someone other than whoever decided
 * first (the server holds that rule; the console does not offer what it would refuse). */
export function Appeals({ staff }: { staff: Staff }) {
  return (
    <StatusList
      id="appeals"
      title={t("nav.appeals")}
      statusLabel={t("appeals.state")}
      statuses={STATES}
      labelPrefix="appeal_state"
      empty={t("appeals.empty")}
      fetch={async (state, paging) => {
        const query = { state, ...paging };
        const page = must(await api.GET("/api/v1/admin/appeals", { params: { query } }));
        return { items: page.appeals, next: page.next_cursor };
      }}
      row={(appeal, changed) => <AppealRow key={appeal.id} staff={staff} appeal={appeal} onChanged={changed} />}
    />
  );
}

function AppealRow(props: { staff: Staff; appeal: Appeal; onChanged(said: string): void }) {
  const { staff, appeal } = props;
  const [original, setOriginal] = useState<Schemas["Case"] | Schemas["Sanction"] | null>(null);
  const [reason, setReason] = useState("");
  const [said, attempt] = useSaid();

  useEffect(() => {
    const load = async () => {
      if (appeal.case_id !== null && staff.access.may("GET /api/v1/admin/review/cases/{case_id}")) {
        setOriginal(must(await api.GET("/api/v1/admin/review/cases/{case_id}", { params: { path: { case_id: appeal.case_id } } })));
      } else if (appeal.sanction_id !== null && staff.access.may("GET /api/v1/admin/sanctions/{sanction_id}")) {
        setOriginal(must(await api.GET("/api/v1/admin/sanctions/{sanction_id}", { params: { path: { sanction_id: appeal.sanction_id } } })));
      }
    };
    load().catch((refused) => void attempt(async () => refusal(refused)));
  }, [appeal.id]);

  // The server names whose decision the appeal questions (who applied the sanction, who decided
  // its case): none of them may decide it.
  const decidedByMe = appeal.original_deciders.includes(staff.me.id);
  const mayDecide =
    appeal.state === "pending" && !decidedByMe && staff.access.may("POST /api/v1/admin/appeals/{appeal_id}/decision");

  function decide(verdict: Schemas["AppealVerdict"]) {
    return attempt(async () => {
      must(
        await api.POST("/api/v1/admin/appeals/{appeal_id}/decision", {
          params: { path: { appeal_id: appeal.id } },
          body: { verdict, reason: reason.trim() },
        }),
      );
      props.onChanged(t(DONE[verdict]));
    });
  }

  return (
    <li class="card appeal" data-appeal={appeal.id}>
      <div class="side-by-side">
        <div>
          <h3>{t("appeals.appeal", { id: appeal.id, user: appeal.appellant_id })}</h3>
          <p class="muted">{formatTime(appeal.created_at)}</p>
          <blockquote>{appeal.statement}</blockquote>
        </div>
        <div>
          <h3>{t("appeals.original")}</h3>
          {original === null ? (
            <p>—</p>
          ) : "kind" in original ? (
            <p>
              {labelOf("sanction", original.kind)} · {labelOf("target", original.subject.type)} #{original.subject.id}
              <br />
              {original.statement.facts}
            </p>
          ) : (
            <p>
              {t("cases.case", { id: original.id })} ·{" "}
              {original.decision ? labelOf("verdict", original.decision) : labelOf("state", original.state)}
              {original.reason && ` · ${original.reason}`}
              <br />
              {"text" in original.content && <q>{original.content.text}</q>}
            </p>
          )}
        </div>
      </div>
      {decidedByMe && appeal.state === "pending" && <p class="notice">{t("appeals.not_yours")}</p>}
      {mayDecide && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void decide((e.submitter as HTMLButtonElement).value as Schemas["AppealVerdict"]);
          }}
        >
          <label>
            {t("cases.reason")}
            <input name="reason" required {...STAFF_REASON} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </label>
          <div class="actions">
            <button type="submit" value="reverse">
              {t("appeals.reverse")}
            </button>
            <button type="submit" class="quiet" value="uphold">
              {t("appeals.uphold")}
            </button>
          </div>
        </form>
      )}
      {appeal.state !== "pending" && (
        <p>
          {labelOf("appeal_state", appeal.state)}
          {appeal.reason && ` · ${appeal.reason}`}
        </p>
      )}
      {said && <p role="status">{said}</p>}
    </li>
  );
}
