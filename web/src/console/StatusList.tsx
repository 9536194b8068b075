import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Choice } from "./Choice";
import { labelOf, t } from "./i18n";
import { Outcome, refusal } from "./said";

export interface Page<T> {
  items: T[];
  next: string | null;
}

/** The paging part of a list's query: a page of 50, after the cursor if there is one. */
export interface Paging {
  limit: number;
  cursor?: string;
}

/** A desk that lists what is in one status, a page at a time, newest action's outcome above:
 * the identities, the public accounts and the appeals desks. A row that acts tells the list,
 * which shows what it said and loads again (the row may have left the status). */
export function StatusList<S extends string, T>(props: {
  id: string;
  title: string;
  statusLabel: string;
  statuses: readonly S[];
  labelPrefix: string;
  empty: string;
  fetch(status: S, paging: Paging): Promise<Page<T>>;
  row(item: T, changed: (said: string) => void): ComponentChildren;
}) {
  const [status, setStatus] = useState<S>(props.statuses[0]!);
  const [rows, setRows] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  async function load(cursor: string | null): Promise<void> {
    setError(null);
    try {
      const page = await props.fetch(status, { limit: 50, ...(cursor ? { cursor } : {}) });
      setRows((shown) => (cursor ? [...shown, ...page.items] : page.items));
      setNext(page.next);
    } catch (refused) {
      setError(refusal(refused));
    }
  }

  useEffect(() => void load(null), [status]);

  function changed(said: string): void {
    setNotice(said);
    void load(null);
  }

  return (
    <section aria-labelledby={`${props.id}-title`}>
      <h2 id={`${props.id}-title`}>{props.title}</h2>
      <Choice label={props.statusLabel} name="status" value={status} options={props.statuses} words={(n) => labelOf(props.labelPrefix, n)} onChange={setStatus} />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <Outcome said={notice} />
      <ul class="rows">{rows.map((item) => props.row(item, changed))}</ul>
      {rows.length === 0 && <p>{props.empty}</p>}
      {next && (
        <button type="button" class="quiet" onClick={() => void load(next)}>
          {t("more")}
        </button>
      )}
    </section>
  );
}
