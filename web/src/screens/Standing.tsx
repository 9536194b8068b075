import { useEffect, useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { explain } from "../errors";
import { formatTime, hasMessage, labelOf, t } from "../i18n";

type Sanction = Schemas["Sanction"];

export function sanctionLabel(kind: string): string {
  return labelOf("sanction", kind);
}

/** What a sanction of this kind withholds, in words; empty when the catalog says nothing. */
export function withholds(kind: string): string {
  const key = `standing.withholds.${kind}`;
  return hasMessage(key) ? t(key) : "";
}

/** The sanctions in force on the user, each with its statement of reasons, what it withholds
 * and until when, and a way to appeal it. `version` changes when a sanction notice arrives. */
export function Standing(props: { version: number }) {
  const [sanctions, setSanctions] = useState<Sanction[]>([]);

  useEffect(() => {
    void api.GET("/api/v1/me").then((answer) => setSanctions(must(answer).sanctions));
  }, [props.version]);

  if (sanctions.length === 0) return null;
  return (
    <section class="standing" aria-labelledby="standing-title">
      <h3 id="standing-title">{t("standing.title")}</h3>
      {sanctions.map((sanction) => (
        <SanctionItem key={sanction.id} sanction={sanction} />
      ))}
    </section>
  );
}

function SanctionItem({ sanction }: { sanction: Sanction }) {
  const [appealing, setAppealing] = useState(false);
  const [statement, setStatement] = useState("");
  const [said, setSaid] = useState<string | null>(null);
  const { statement: reasons } = sanction;

  async function appeal(event: Event): Promise<void> {
    event.preventDefault();
    try {
      must(await api.POST("/api/v1/appeals", { body: { sanction_id: sanction.id, statement } }));
      setSaid(t("standing.appealed"));
      setAppealing(false);
    } catch (refused) {
      setSaid(explain(refused));
    }
  }

  return (
    <div class="sanction" data-sanction-id={sanction.id}>
      <p>
        <strong>{sanctionLabel(sanction.kind)}</strong>{" "}
        {t("standing.until", {
          until: reasons.ends_at ? formatTime(reasons.ends_at) : t("notices.no_end"),
        })}
      </p>
      {withholds(sanction.kind) && <p>{withholds(sanction.kind)}</p>}
      <p>
        {t("standing.why")} {reasons.facts} <small>({reasons.ground})</small>
      </p>
      {said && <p role="status">{said}</p>}
      {appealing ? (
        <form onSubmit={(e) => void appeal(e)}>
          <label>
            {t("standing.appeal_statement")}
            <textarea
              name="appeal"
              rows={3}
              required
              value={statement}
              onInput={(e) => setStatement(e.currentTarget.value)}
            />
          </label>
          <button type="submit">{t("standing.appeal_send")}</button>
        </form>
      ) : (
        sanction.appeal_until && (
          <button type="button" class="quiet" onClick={() => setAppealing(true)}>
            {t("standing.appeal")}
          </button>
        )
      )}
    </div>
  );
}

// The refusals a sanction on the user gives, by the kind of sanction.
const SANCTION_BY_REFUSAL: Record<string, string> = {
  updates_suspended: "suspend_updates",
  publication_limited: "limit_publication",
  account_closed: "close",
};

/** Under a refusal a sanction gave: what it withholds and until when (from the user's standing). */
export function SanctionTerms({ code }: { code: string }) {
  const kind = SANCTION_BY_REFUSAL[code];
  const [until, setUntil] = useState<string | null>(null);

  useEffect(() => {
    if (!kind) return;
    void api.GET("/api/v1/me").then((answer) => {
      const sanction = must(answer).sanctions.find((s) => s.kind === kind);
      const ends = sanction?.statement.ends_at;
      setUntil(ends ? formatTime(ends) : t("notices.no_end"));
    });
  }, [kind]);

  if (!kind || until === null) return null;
  return (
    <small class="sanction-terms">
      {t("standing.until", { until })} {withholds(kind)}
    </small>
  );
}
