import { useEffect, useState } from "preact/hooks";
import { explain } from "./errors";
import { useAttempt } from "./outcome";
import type { ChatStore } from "./store";

/** Re-render whenever the store changes. */
export function useStore(store: ChatStore): void {
  const [, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion((version) => version + 1)), [store]);
}

/** Runs an action and keeps what to say of it, a refusal explained in the app's words. */
export function useOutcome(): ReturnType<typeof useAttempt> {
  return useAttempt(explain);
}
