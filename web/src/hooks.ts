import { useEffect, useState } from "preact/hooks";
import { explain } from "./errors";
import type { ChatStore } from "./store";

/** Re-render whenever the store changes. */
export function useStore(store: ChatStore): void {
  const [, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion((version) => version + 1)), [store]);
}

/** Runs a form's or a button's action and keeps what to say of it: the message the action
 * returns when it succeeds (none when it returns nothing), or the refusal explained. */
export function useOutcome(): [string | null, (action: () => Promise<string | void>) => Promise<void>] {
  const [said, setSaid] = useState<string | null>(null);
  async function attempt(action: () => Promise<string | void>): Promise<void> {
    setSaid(null);
    try {
      setSaid((await action()) || null);
    } catch (refused) {
      setSaid(explain(refused));
    }
  }
  return [said, attempt];
}
