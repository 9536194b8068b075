// The console's message catalogs; the language is the web app's (i18n/core.ts), one choice.
import { currentLanguage, translator } from "../../i18n/core";
import { en, type ConsoleKey } from "./en";
import { zhCN } from "./zh-CN";

const catalogs = { "zh-CN": zhCN, en: en as Record<ConsoleKey, string> };
const { t: translate, labelOf, hasMessage } = translator<ConsoleKey>(catalogs);
export { labelOf };

/** Whether the console's catalogs have a message for `key`. */
export function hasConsoleMessage(key: string): boolean {
  return hasMessage(key);
}

/** The plural form of `key` for `count` (`key.one`, `key.other`), by the language's rules;
 * `{count}` in the message is the count. */
export function plural(key: string, count: number, values: Record<string, string | number> = {}): string {
  const form = new Intl.PluralRules(currentLanguage()).select(count);
  const chosen = `${key}.${form}`;
  return t(chosen in en ? chosen : `${key}.other`, { count, ...values });
}

/** The console's string for `key`; a key built at run time (`nav.${screen}`) is checked by tsc
 * only as a string, so it falls back to the key itself. */
export function t(key: ConsoleKey | string, values?: Record<string, string | number>): string {
  return key in en ? translate(key as ConsoleKey, values) : key;
}
