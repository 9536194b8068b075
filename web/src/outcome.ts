import { useRef, useState } from "preact/hooks";

/** The forms and buttons whose action is in flight. */
const inFlight = new WeakSet<Element>();

/** Runs `action` for the form or button `owner` unless an action of its is still in flight: a
 * double click or a second Enter then does nothing, instead of sending the request twice. While
 * it runs the owner is marked `aria-busy` (styles.css shows its buttons as disabled). Resolves to
 * false when it did not run. */
export async function once(owner: Element | null, action: () => Promise<void>): Promise<boolean> {
  if (owner !== null && inFlight.has(owner)) return false;
  if (owner !== null) {
    inFlight.add(owner);
    owner.setAttribute("aria-busy", "true");
  }
  try {
    await action();
  } finally {
    if (owner !== null) {
      inFlight.delete(owner);
      owner.removeAttribute("aria-busy");
    }
  }
  return true;
}

/** A form's submit handler that sends at most once at a time: the default submission is
 * stopped, and a submit while the last one is in flight is ignored (see `once`). */
export function guarded(action: (event: SubmitEvent) => Promise<void>): (event: Event) => void {
  return (event) => {
    event.preventDefault();
    void once(event.currentTarget as Element | null, () => action(event as SubmitEvent));
  };
}

/** The form or button an action was started from, taken from the focus: a click focuses its
 * button, Enter leaves the focus in the form. */
function startedFrom(): Element | null {
  const focused = typeof document === "undefined" ? null : document.activeElement;
  return focused?.closest("form") ?? focused?.closest("button") ?? null;
}

/** Runs a form's or a button's action and keeps what to say of it: the message the action
 * returns when it succeeds (none when it returns nothing), or the refusal as `explain` words it.
 * One action at a time: one started while another is in flight is ignored, `busy` says so, and
 * the form or button it came from is marked busy meanwhile (see `once`). */
export function useAttempt(
  explain: (refused: unknown) => string,
): [string | null, (action: () => Promise<string | void>) => Promise<void>, boolean] {
  const [said, setSaid] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const running = useRef(false);
  async function attempt(action: () => Promise<string | void>): Promise<void> {
    if (running.current) return;
    running.current = true;
    setBusy(true);
    setSaid(null);
    const from = startedFrom();
    from?.setAttribute("aria-busy", "true");
    try {
      setSaid((await action()) || null);
    } catch (refused) {
      setSaid(explain(refused));
    } finally {
      from?.removeAttribute("aria-busy");
      running.current = false;
      setBusy(false);
    }
  }
  return [said, attempt, busy];
}
