import { ApiError } from "../api/client";
import { useAttempt } from "../outcome";
import { hasConsoleMessage, t } from "./i18n";

/** A refusal as staff read it: the server words it in the language the console asked for. */
export function refusal(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  // A few codes the console words itself: the server's sentence is too terse for the desk.
  const own = `error.${error.code}`;
  return hasConsoleMessage(own) ? t(own) : error.message;
}

export function useSaid(): ReturnType<typeof useAttempt> {
  return useAttempt(refusal);
}

/** The length a staff member's reason for an action must have (domain/accounts.py: a reason
 * that says something, 5 to 1,000 characters), checked by the form before the server. */
export const STAFF_REASON = { minLength: 5, maxLength: 1000 } as const;

/** What the last action on a list said, kept above the list: the row it was about may have left
 * the list with the action. */
export function Outcome({ said }: { said: string | null }) {
  return said ? (
    <p role="status" class="said" data-testid="outcome">
      {said}
    </p>
  ) : null;
}
