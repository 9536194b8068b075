// What the user's verification means for them: the identity's state in plain words, the next
// step, and which refusals send them to Me → Verification. Pure: the Me screen and explain() use it.
import type { Schemas } from "./api/client";
import type { MessageKey } from "./i18n/en";

type OwnIdentity = Schemas["OwnIdentity"];

export interface IdentityAdvice {
  /** What the state is, in the user's words. */
  state: MessageKey;
  /** What to do next, or null when nothing is left to do. */
  next: MessageKey | null;
  /** Whether the user may ask the identity provider again (POST /api/v1/me/identity/check):
   * only a format-checked identity the provider has not answered for (docs/identity.md). */
  canCheckAgain: boolean;
  /** Whether the state is enough for everything the default pack allows (groups, public accounts). */
  verified: boolean;
}

/** The identity's state as the Me screen states it (docs/identity.md, "Verification status"). */
export function identityAdvice(identity: Pick<OwnIdentity, "status" | "provider_result">): IdentityAdvice {
  switch (identity.status) {
    case "provider_verified":
    case "staff_verified":
      return { state: `me.verify.state.${identity.status}`, next: null, canCheckAgain: false, verified: true };
    case "pending_review":
      return { state: "me.verify.state.pending_review", next: "me.verify.next.wait", canCheckAgain: false, verified: false };
    case "rejected":
      return { state: "me.verify.state.rejected", next: "me.verify.next.rejected", canCheckAgain: false, verified: false };
    case "format_checked":
      if (identity.provider_result === null) {
        return { state: "me.verify.state.format_checked", next: "me.verify.next.check_again", canCheckAgain: true, verified: false };
      }
      // The provider answered (no_match, or it was unavailable and the owner already asked
      // again): a reviewer decides.
      return { state: "me.verify.state.format_checked", next: "me.verify.next.wait", canCheckAgain: false, verified: false };
  }
}

/** Error codes the server gives when an action needs more verification than the user has. */
const NEEDS_VERIFICATION = new Set(["identity_unverified", "phone_unconfirmed"]);

/** Whether a refusal with this code should point the user to Me → Verification. */
export function pointsToVerification(code: string): boolean {
  return NEEDS_VERIFICATION.has(code);
}
