import type { Schemas } from "../api/client";

type SubjectType = Schemas["SubjectType"];
type Kind = Schemas["Kind"];

/** The sanctions each subject can be given, mildest first: the server's table
 * (domain/enforcement.py KINDS_BY_SUBJECT), which refuses any other kind.
 * tests/web/test_console_review.py checks the two agree. */
export const KINDS_BY_SUBJECT: Record<SubjectType, Kind[]> = {
  user: ["warning", "limit_publication", "suspend_updates", "close", "blacklist_identity"],
  public_account: ["warning", "limit_publication", "suspend_updates", "close"],
  group: ["warning", "suspend_posting", "close_group", "remove_rights"],
};

/** The longest a sanction may last, in days (api/schemas.py SanctionIn.days). */
export const MAX_DAYS = 3650;

/** The word for a sanction's state as the standing counts it: a warning takes effect once, so an
 * "active" one is on record, not in force (services/enforcement.py `_in_force_at`), and an active
 * sanction past its end has ended. */
export function shownState(sanction: { kind: string; state: string; statement: { ends_at: string | null } }, now = Date.now()): string {
  if (sanction.state !== "active") return sanction.state;
  if (sanction.kind === "warning") return "on_record";
  const ends = sanction.statement.ends_at;
  return ends !== null && Date.parse(ends) <= now ? "expired" : "active";
}
