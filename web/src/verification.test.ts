import { describe, expect, it } from "vitest";
import { ApiError } from "./api/client";
import { explain } from "./errors";
import { chooseLanguage, t } from "./i18n";
import { identityAdvice, pointsToVerification } from "./verification";

describe("the identity's state", () => {
  it("is verified, with nothing left to do, once the provider or a reviewer confirmed it", () => {
    for (const status of ["provider_verified", "staff_verified"] as const) {
      const advice = identityAdvice({ status, provider_result: null });
      expect(advice).toEqual({ state: `me.verify.state.${status}`, next: null, canCheckAgain: false, verified: true });
    }
  });
  it("offers to ask the provider again only while it never answered a format-checked identity", () => {
    expect(identityAdvice({ status: "format_checked", provider_result: null })).toMatchObject({
      next: "me.verify.next.check_again",
      canCheckAgain: true,
      verified: false,
    });
    for (const provider_result of ["no_match", "unavailable", "match"] as const) {
      expect(identityAdvice({ status: "format_checked", provider_result })).toMatchObject({
        next: "me.verify.next.wait",
        canCheckAgain: false,
      });
    }
  });
  it("says to wait while under review, and what to do once rejected", () => {
    expect(identityAdvice({ status: "pending_review", provider_result: "match" }).next).toBe("me.verify.next.wait");
    expect(identityAdvice({ status: "rejected", provider_result: null })).toMatchObject({
      state: "me.verify.state.rejected",
      next: "me.verify.next.rejected",
      verified: false,
    });
  });
});

describe("a refusal for want of verification", () => {
  it("is the identity or phone codes only", () => {
    expect(pointsToVerification("identity_unverified")).toBe(true);
    expect(pointsToVerification("phone_unconfirmed")).toBe(true);
    expect(pointsToVerification("code_invalid")).toBe(false);
    expect(pointsToVerification("group_join_limit")).toBe(false);
  });
  it("points the user to Me → Verification, in either language", () => {
    for (const language of ["en", "zh-CN"] as const) {
      chooseLanguage(language);
      for (const code of ["identity_unverified", "phone_unconfirmed"]) {
        const said = explain(new ApiError(422, code, "server words"));
        expect(said).toContain(t(`error.${code}` as "error.identity_unverified"));
        expect(said).toContain(t("error.see_verification"));
      }
      expect(explain(new ApiError(422, "code_invalid", "x"))).not.toContain(t("error.see_verification"));
    }
  });
});
