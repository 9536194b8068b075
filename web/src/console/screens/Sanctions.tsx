import { useEffect, useState } from "preact/hooks";
import { api, must, type Schemas } from "../../api/client";
import { formatTime } from "../../i18n/core";
import { Choice } from "../Choice";
import type { Staff } from "../Console";
import { labelOf, plural, t } from "../i18n";
import { KINDS_BY_SUBJECT, MAX_DAYS, shownState } from "../kinds";
import { Person, findAccount, parseWho } from "../people";
import { Outcome, STAFF_REASON, refusal, useSaid } from "../said";

type Sanction = Schemas["Sanction"];
type SubjectType = Schemas["SubjectType"];
type Kind = Schemas["Kind"];
const SUBJECTS: SubjectType[] = ["user", "public_account", "group"];
const CLOSING: readonly Kind[] = ["close", "close_group", "blacklist_identity"];

/** A subject's standing (strikes, credit, history, the rung recommended next), sanctions applied
 * and lifted with an end time, and the sanctions in force across the service. */
export function Sanctions({ staff }: { staff: Staff }) {
  // Opened from a case (`?user=5&case=7`): that user's standing, the case cited.
  const asked = new URLSearchParams(location.search);
  const [subjectType, setSubjectType] = useState<SubjectType>("user");
  const [subjectId, setSubjectId] = useState(asked.get("user") ?? "");
  const [caseId] = useState(asked.get("case") ?? "");
  const [standing, setStanding] = useState<Schemas["Standing"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  async function look(): Promise<void> {
    setError(null);
    try {
      const who = parseWho(subjectId);
      let id = who !== null && "id" in who ? who.id : null;
      if (who !== null && "handle" in who && subjectType === "user") {
        id = (await findAccount(staff, who))?.id ?? null;
        if (id === null) throw new Error(t("sanctions.no_such_handle", { handle: who.handle }));
      }
      if (id === null) throw new Error(t("sanctions.bad_subject"));
      const query = { subject_type: subjectType, subject_id: id };
      setStanding(must(await api.GET("/api/v1/admin/sanctions/standing", { params: { query } })));
    } catch (refused) {
      setStanding(null);
      setError(refusal(refused));
    }
  }

  useEffect(() => {
    if (subjectId) void look();
  }, []);

  return (
    <section aria-labelledby="sanctions-title">
      <h2 id="sanctions-title">{t("nav.sanctions")}</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void look();
        }}
      >
        <Choice label={t("sanctions.subject_type")} value={subjectType} options={SUBJECTS} words={(n) => labelOf("target", n)} onChange={setSubjectType} />
        <label>
          {t("sanctions.subject_id")}
          <input name="subject_id" required value={subjectId} onInput={(e) => setSubjectId(e.currentTarget.value.trim())} />
        </label>
        <button type="submit">{t("sanctions.look")}</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <Outcome said={notice} />
      {standing && (
        <StandingView
          staff={staff}
          standing={standing}
          caseId={caseId}
          onChanged={(said) => {
            setNotice(said ?? null);
            void look();
          }}
        />
      )}
      <InForce staff={staff} onChanged={setNotice} />
    </section>
  );
}

function StandingView(props: { staff: Staff; standing: Schemas["Standing"]; caseId: string; onChanged(said?: string): void }) {
  const { staff, standing } = props;
  const { recommendation } = standing;
  return (
    <article class="card" data-testid="standing">
      <h3>
        {labelOf("target", standing.subject.type)} #{standing.subject.id}
        {standing.subject.type === "user" && (
          <>
            {" · "}
            <Person staff={staff} id={standing.subject.id} />
          </>
        )}
      </h3>
      <p>
        {plural("sanctions.points", standing.points, { points: standing.points })} ·{" "}
        {t("sanctions.credit", { score: standing.credit.score, band: labelOf("band", standing.credit.band) })}
      </p>
      <p class="notice">
        {recommendation.days === null
          ? t("sanctions.recommended_no_days", { kind: labelOf("sanction", recommendation.sanction), why: recommendation.why })
          : t("sanctions.recommended", {
              kind: labelOf("sanction", recommendation.sanction),
              days: recommendation.days,
              why: recommendation.why,
            })}
      </p>
      <h4>{t("sanctions.in_force")}</h4>
      <SanctionList staff={staff} sanctions={standing.in_force} onChanged={props.onChanged} />
      <h4>{t("sanctions.history")}</h4>
      <SanctionList staff={staff} sanctions={standing.history} onChanged={props.onChanged} />
      {staff.access.may("POST /api/v1/admin/sanctions") && (
        <ApplyForm staff={staff} subject={standing.subject} suggested={recommendation.sanction} days={recommendation.days} caseId={props.caseId} onDone={props.onChanged} />
      )}
    </article>
  );
}

function ApplyForm(props: {
  staff: Staff;
  subject: Schemas["SanctionSubject"];
  suggested: Kind;
  days: number | null;
  caseId: string;
  onDone(): void;
}) {
  const kinds = KINDS_BY_SUBJECT[props.subject.type].filter((kind) => !CLOSING.includes(kind) || props.staff.access.holds("apply_closing_sanction"));
  const [kind, setKind] = useState<Kind>(kinds.includes(props.suggested) ? props.suggested : kinds[0]!);
  const [days, setDays] = useState(props.days ? String(props.days) : "");
  const [endsAt, setEndsAt] = useState(""); // a moment picked instead of a number of days
  const [reason, setReason] = useState("");
  const [caseId, setCaseId] = useState(props.caseId);
  const [memberId, setMemberId] = useState("");
  const [said, attempt] = useSaid();

  return (
    <form
      class="apply"
      onSubmit={(e) => {
        e.preventDefault();
        void attempt(async () => {
          const body = {
            subject_type: props.subject.type,
            subject_id: props.subject.id,
            kind,
            reason: reason.trim(),
            ...(endsAt ? { ends_at: new Date(endsAt).toISOString() } : days ? { days: Number(days) } : {}),
            ...(caseId ? { case_id: Number(caseId) } : {}),
            ...(kind === "remove_rights" && memberId ? { member_id: Number(memberId) } : {}),
          };
          must(await api.POST("/api/v1/admin/sanctions", { body }));
          props.onDone();
          return t("sanctions.applied");
        });
      }}
    >
      <h4>{t("sanctions.apply")}</h4>
      <Choice label={t("sanctions.kind")} name="kind" value={kind} options={kinds} words={(n) => labelOf("sanction", n)} onChange={setKind} />
      <label>
        {t("sanctions.days")}
        <input
          name="days"
          type="number"
          min={1}
          max={MAX_DAYS}
          step={1}
          disabled={endsAt !== ""}
          value={days}
          onInput={(e) => {
            const input = e.currentTarget;
            setDays(input.value.trim());
            input.setCustomValidity(Number(input.value) > MAX_DAYS ? t("sanctions.days_max", { max: String(MAX_DAYS) }) : "");
          }}
        />
      </label>
      {Number(days) > MAX_DAYS && (
        <p class="error" role="alert">
          {t("sanctions.days_max", { max: String(MAX_DAYS) })}
        </p>
      )}
      {kind === "remove_rights" && (
        <label>
          {t("sanctions.member")}
          <input name="member_id" required inputMode="numeric" pattern="[0-9]+" value={memberId} onInput={(e) => setMemberId(e.currentTarget.value.trim())} />
        </label>
      )}
      <label>
        {t("sanctions.ends_at")}
        <input name="ends_at" type="datetime-local" value={endsAt} onInput={(e) => setEndsAt(e.currentTarget.value)} />
      </label>
      <label>
        {t("sanctions.case")}
        <input name="case_id" inputMode="numeric" pattern="[0-9]*" value={caseId} onInput={(e) => setCaseId(e.currentTarget.value.trim())} />
      </label>
      <label>
        {t("cases.reason")}
        <textarea name="reason" required {...STAFF_REASON} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </label>
      <button type="submit">{t("sanctions.apply_submit", { kind: labelOf("sanction", kind) })}</button>
      {said && <p role="status">{said}</p>}
    </form>
  );
}

function SanctionList(props: { staff: Staff; sanctions: Sanction[]; onChanged(said?: string): void }) {
  if (props.sanctions.length === 0) return <p class="muted">{t("sanctions.none")}</p>;
  return (
    <ul class="sanctions">
      {props.sanctions.map((s) => (
        <SanctionItem key={s.id} staff={props.staff} sanction={s} onChanged={props.onChanged} />
      ))}
    </ul>
  );
}

function SanctionItem(props: { staff: Staff; sanction: Sanction; onChanged(said?: string): void }) {
  const { staff, sanction } = props;
  const [reason, setReason] = useState("");
  const [said, attempt] = useSaid();
  const mayLift =
    sanction.state === "active" &&
    staff.access.may("POST /api/v1/admin/sanctions/{sanction_id}/lift") &&
    (!CLOSING.includes(sanction.kind as Kind) || staff.access.holds("apply_closing_sanction"));
  return (
    <li data-sanction={sanction.id}>
      <strong>{labelOf("sanction", sanction.kind)}</strong> · {labelOf("target", sanction.subject.type)} #
      {sanction.subject.id} · {labelOf("sanction_state", shownState(sanction))} ·{" "}
      {t("sanctions.from_to", {
        from: formatTime(sanction.statement.starts_at),
        to: sanction.statement.ends_at ? formatTime(sanction.statement.ends_at) : t("sanctions.open_ended"),
      })}
      <br />
      <span class="muted">{sanction.statement.facts}</span>
      {mayLift && (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            void attempt(async () => {
              must(
                await api.POST("/api/v1/admin/sanctions/{sanction_id}/lift", {
                  params: { path: { sanction_id: sanction.id } },
                  body: { reason: reason.trim() },
                }),
              );
              props.onChanged(t("sanctions.lifted"));
            });
          }}
        >
          <input aria-label={t("cases.reason")} placeholder={t("cases.reason")} required {...STAFF_REASON} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          <button type="submit" class="quiet">
            {t("sanctions.lift")}
          </button>
        </form>
      )}
      {said && <span role="status"> {said}</span>}
    </li>
  );
}

function InForce({ staff, onChanged }: { staff: Staff; onChanged(said: string | null): void }) {
  const [rows, setRows] = useState<Sanction[]>([]);
  const [next, setNext] = useState<string | null>(null);

  async function load(cursor: string | null): Promise<void> {
    const query = { state: "active" as const, limit: 50, ...(cursor ? { cursor } : {}) };
    const page = must(await api.GET("/api/v1/admin/sanctions", { params: { query } }));
    setRows((shown) => (cursor ? [...shown, ...page.sanctions] : page.sanctions));
    setNext(page.next_cursor);
  }

  useEffect(() => void load(null), []);
  return (
    <section aria-labelledby="in-force-title">
      <h3 id="in-force-title">{t("sanctions.all_in_force")}</h3>
      <SanctionList
        staff={staff}
        sanctions={rows}
        onChanged={(said) => {
          onChanged(said ?? null);
          void load(null);
        }}
      />
      {next && (
        <button type="button" class="quiet" onClick={() => void load(next)}>
          {t("more")}
        </button>
      )}
    </section>
  );
}
