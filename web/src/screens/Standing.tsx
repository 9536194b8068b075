import { useEffect, useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { explain } from "../errors";
import { formatTime, hasMessage, labelOf, t } from "../i18n";
import type { MessageKey } from "../i18n/en";
import type { ChatStore } from "../store";
import { guarded } from "../outcome";

type Sanction = Schemas["Sanction"];
type Appeal = Schemas["Appeal"];

export function sanctionLabel(kind: string): string {
  return labelOf("sanction", kind);
}

/** What a sanction of this kind withholds, in words; empty when the catalog says nothing. */
export function withholds(kind: string): string {
  const key = `standing.withholds.${kind}`;
  return hasMessage(key) ? t(key) : "";
}

/** An appeal's state in words: waiting, or decided with the reviewer's reason. */
export function describeAppeal(appeal: Appeal): string {
  const values = { at: formatTime(appeal.created_at), reason: appeal.reason ?? "" };
  return t(`notices.appeal.${appeal.state}`, values);
}

/** The user's latest appeal of each sanction, by sanction id (all pages, oldest first). */
async function appealsBySanction(): Promise<Map<number, Appeal>> {
  const latest = new Map<number, Appeal>();
  let cursor: string | null = null;
  do {
    const query: { limit: number; cursor?: string } = cursor === null ? { limit: 500 } : { limit: 500, cursor };
    const page = must(await api.GET("/api/v1/appeals", { params: { query } }));
    for (const appeal of page.appeals) if (appeal.sanction_id !== null) latest.set(appeal.sanction_id, appeal);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return latest;
}

/** The sanctions in force on the user, each with its statement of reasons, what it withholds
 * and until when, and a way to appeal it, or the state of the appeal made. */
export function Standing({ store }: { store: ChatStore }) {
  const { sanctions } = store.me;
  const [appeals, setAppeals] = useState<ReadonlyMap<number, Appeal>>(new Map());
  // Asked again when a notice arrives: it may be an appeal's decision.
  const version = `${sanctions.map((s) => s.id).join(",")}/${store.received.length}`;
  useEffect(() => {
    if (sanctions.length === 0) return;
    let current = true;
    void appealsBySanction()
      .then((latest) => current && setAppeals(latest))
      .catch(() => undefined); // without them each sanction offers to appeal; a second is refused
    return () => {
      current = false;
    };
  }, [version]);
  if (sanctions.length === 0) return null;
  const appealed = (appeal: Appeal) => setAppeals((before) => new Map(before).set(appeal.sanction_id ?? 0, appeal));
  return (
    <section class="standing" aria-labelledby="standing-title">
      <h3 id="standing-title">{t("standing.title")}</h3>
      {sanctions.map((sanction) => (
        <SanctionItem key={sanction.id} sanction={sanction} appeal={appeals.get(sanction.id)} onAppealed={appealed} />
      ))}
    </section>
  );
}

function SanctionItem(props: { sanction: Sanction; appeal: Appeal | undefined; onAppealed(appeal: Appeal): void }) {
  const { sanction } = props;
  const [appealing, setAppealing] = useState(false);
  const [statement, setStatement] = useState("");
  const [said, setSaid] = useState<string | null>(null);
  const { statement: reasons } = sanction;

  async function appeal(event: Event): Promise<void> {
    event.preventDefault();
    try {
      props.onAppealed(must(await api.POST("/api/v1/appeals", { body: { sanction_id: sanction.id, statement } })));
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
      {props.appeal ? (
        <p class="appeal" data-appeal-state={props.appeal.state}>
          {describeAppeal(props.appeal)}
        </p>
      ) : appealing ? (
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

/** A refusal a sanction gave, said once from the user's standing: what is limited, until when
 * in local time, and what it withholds; null when the standing names no such sanction (the
 * refusal is then explained as any other). */
export function sanctionRefusal(code: string, store: ChatStore): string | null {
  const kind = SANCTION_BY_REFUSAL[code];
  const sanction = kind ? store.me.sanctions.find((s) => s.kind === kind) : undefined;
  if (!kind || !sanction) return null;
  const ends = sanction.statement.ends_at;
  const said = ends
    ? t(`standing.refused.${kind}` as MessageKey, { until: formatTime(ends) })
    : t(`standing.refused_open.${kind}` as MessageKey);
  const more = withholds(kind);
  return more ? `${said} ${more}` : said;
}
