import { useEffect } from "preact/hooks";

/** Steps into the app (a chat, a post, a group's page) are entries of the browser's history,
 * so that its Back (a phone's back gesture) returns to where the step was taken from instead of
 * leaving the app. The address stays as it is: only the entry's state says what is open. */
export type Step = Record<string, unknown>;

const KEY = "townhall";

/** The app's state in a history entry: null in an entry the app did not make. */
export function stepOf(state: unknown): Step | null {
  const step = (state as Record<string, unknown> | null)?.[KEY];
  return typeof step === "object" && step !== null ? (step as Step) : null;
}

/** A new entry above the current one (Back returns to it), or the current one replaced. */
export function takeStep(step: Step, push: boolean): void {
  const entry = { [KEY]: step };
  if (push) history.pushState(entry, "", location.href);
  else history.replaceState(entry, "", location.href);
}

/** Whether the current entry is a step of the app's, which Back undoes. */
export function inStep(): boolean {
  return stepOf(history.state) !== null;
}

/** Calls `restore` with the step of each entry the browser goes back or forward to. */
export function useSteps(restore: (step: Step | null) => void): void {
  useEffect(() => {
    const popped = (event: PopStateEvent) => restore(stepOf(event.state));
    addEventListener("popstate", popped);
    return () => removeEventListener("popstate", popped);
  }, []);
}
