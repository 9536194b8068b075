import { useState } from "preact/hooks";

/** Runs a form's or a button's action and keeps what to say of it: the message the action
 * returns when it succeeds (none when it returns nothing), or the refusal as `explain` words it. */
export function useAttempt(
  explain: (refused: unknown) => string,
): [string | null, (action: () => Promise<string | void>) => Promise<void>] {
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
