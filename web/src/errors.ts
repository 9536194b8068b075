import { ApiError } from "./api/client";
import { hasMessage, t } from "./i18n";
import { pointsToVerification } from "./verification";

/** A refusal as the person needs to read it, in their language. */
export function explain(error: unknown): string {
  if (!(error instanceof ApiError)) {
    // fetch rejects with a TypeError when the server cannot be reached at all.
    if (error instanceof TypeError && /fetch|network|load failed/i.test(error.message)) return t("error.network");
    return t("error.generic", { message: String(error) });
  }
  if (error.retryAfter !== null && (error.status === 429 || error.status === 0)) {
    return t("error.retry_after", { seconds: error.retryAfter });
  }
  const key = `error.${error.code}`;
  let said: string;
  if (hasMessage(key)) said = t(key, { message: error.message });
  else if (unexpected(error)) said = t("error.generic", { message: error.message });
  // A refusal the catalog has no words for yet: the server's own sentence, not a failure.
  else said = t("error.refused", { message: sentence(error.message) });
  // A refusal for want of verification says where to get it, rather than leave them stuck.
  return pointsToVerification(error.code) ? `${said} ${t("error.see_verification")}` : said;
}

/** A failure rather than a refusal: the server broke (5xx) or answered no refusal of its own. */
function unexpected(error: ApiError): boolean {
  return error.status >= 500 || error.code.startsWith("http_") || !error.message;
}

/** The server's words as a sentence: a capital first letter and a full stop. */
function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?。！？]$/.test(capital) ? capital : `${capital}.`;
}
