// The console's message catalogs; the language is the web app's (i18n/core.ts), one choice.
import { translator } from "../../i18n/core";
import { en, type ConsoleKey } from "./en";
import { zhCN } from "./zh-CN";

const catalogs = { "zh-CN": zhCN, en: en as Record<ConsoleKey, string> };
const { t: translate, labelOf } = translator<ConsoleKey>(catalogs);
export { labelOf };

/** The console's string for `key`; a key built at run time (`nav.${screen}`) is checked by tsc
 * only as a string, so it falls back to the key itself. */
export function t(key: ConsoleKey | string, values?: Record<string, string | number>): string {
  return key in en ? translate(key as ConsoleKey, values) : key;
}
