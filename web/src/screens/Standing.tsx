import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { explain } from "../errors";
import { formatTime, hasMessage, labelOf, t } from "../i18n";
import type { ChatStore } from "../store";
import { guarded } from "../outcome";

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
 * and until when, and a way to appeal it. */
export function Standing({ store }: { store: ChatStore }) {
  const { sanctions } = store.me;
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
        <form onSubmit={guarded(appeal)}>
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
export function SanctionTerms({ code, store }: { code: string; store: ChatStore }) {
  const kind = SANCTION_BY_REFUSAL[code];
  const sanction = store.me.sanctions.find((s) => s.kind === kind);
  if (!kind || !sanction) return null;
  const ends = sanction.statement.ends_at;
  return (
    <small class="sanction-terms">
      {t("standing.until", { until: ends ? formatTime(ends) : t("notices.no_end") })} {withholds(kind)}
    </small>
  );
}
