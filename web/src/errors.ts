import { ApiError } from "./api/client";
import { hasMessage, t } from "./i18n";
import { pointsToVerification } from "./verification";

/** A refusal as the person needs to read it, in their language. */
export function explain(error: unknown): string {
  if (!(error instanceof ApiError)) return t("error.generic", { message: String(error) });
  if (error.retryAfter !== null && (error.status === 429 || error.status === 0)) {
    return t("error.retry_after", { seconds: error.retryAfter });
  }
  const key = `error.${error.code}`;
  const said = hasMessage(key) ? t(key, { message: error.message }) : t("error.generic", { message: error.message });
  // A refusal for want of verification says where to get it, rather than leave them stuck.
  return pointsToVerification(error.code) ? `${said} ${t("error.see_verification")}` : said;
}
