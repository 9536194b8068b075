import { useEffect, useState } from "preact/hooks";
import type { ChatStore } from "./store";

/** Re-render whenever the store changes. */
export function useStore(store: ChatStore): void {
  const [, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion((version) => version + 1)), [store]);
}
