// The language, shared by the web app and the staff console: the user's choice, else the
// browser's, else zh-CN; and the formatting of what each one's catalogs say.

export type Language = "zh-CN" | "en";
export const LANGUAGES: readonly Language[] = ["zh-CN", "en"];
const CHOICE_KEY = "townhall.language"; // a preference, not a secret: localStorage is fine

/** The first of the browser's languages we have, zh-CN when none. */
export function pickLanguage(choice: string | null, browser: readonly string[]): Language {
  if (choice === "en" || choice === "zh-CN") return choice;
  for (const tag of browser) {
    const lower = tag.toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "zh-CN";
}

function stored(): string | null {
  try {
    return globalThis.localStorage?.getItem(CHOICE_KEY) ?? null;
  } catch {
    return null;
  }
}

let language: Language = pickLanguage(stored(), globalThis.navigator?.languages ?? []);

export function currentLanguage(): Language {
  return language;
}

export function chooseLanguage(chosen: Language): void {
  language = chosen;
  globalThis.localStorage?.setItem(CHOICE_KEY, chosen);
  if (globalThis.document) document.documentElement.lang = chosen;
}

export function format(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in values ? formatValue(values[name]!) : whole,
  );
}

function formatValue(value: string | number): string {
  return typeof value === "number" ? new Intl.NumberFormat(language).format(value) : value;
}

// Han characters and the CJK punctuation written among them.
const HAN = "\\u3000-\\u303f\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff\\uff00-\\uffef";
const BILINGUAL = new RegExp(`^([${HAN}]+)\\s+([^${HAN}]*[A-Za-z][^${HAN}]*)$`, "u");

/** Words the server sends as the operator wrote them (a policy pack's label), in the current
 * language: a label given in both, Chinese then English ("新闻单位 News organisation"), shows
 * only the current language's part; any other shows as it is. */
export function localLabel(label: string): string {
  const both = BILINGUAL.exec(label.trim());
  if (both === null) return label;
  return language === "zh-CN" ? both[1]! : both[2]!.trim();
}

export function formatTime(iso: string): string {
  return new Intl.DateTimeFormat(language, { dateStyle: "short", timeStyle: "short" }).format(
    new Date(iso),
  );
}

export interface Translator<K extends string> {
  /** The string for `key` in the current language, `{name}` filled from `values`. */
  t(key: K, values?: Record<string, string | number>): string;
  hasMessage(key: string): key is K;
  /** The catalog's words for a name the server sends (`{prefix}.{name}`), else the name. */
  labelOf(prefix: string, name: string): string;
}

/** `t` and its helpers over one catalog per language (English's keys are every catalog's). */
export function translator<K extends string>(
  catalogs: Record<Language, Record<K, string>>,
): Translator<K> {
  const hasMessage = (key: string): key is K => key in catalogs.en;
  const t = (key: K, values: Record<string, string | number> = {}): string =>
    format(catalogs[language][key], values);
  return {
    t,
    hasMessage,
    labelOf: (prefix, name) => {
      const key = `${prefix}.${name}`;
      return hasMessage(key) ? t(key) : name;
    },
  };
}
