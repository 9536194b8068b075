import { currentLanguage } from "../i18n/core";
import { t } from "./i18n";

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
];

/** A case's service timer in words: "due in 3 hours", or "overdue by 20 minutes". */
export function dueIn(dueAt: string, now: number = Date.now()): string {
  const left = Date.parse(dueAt) - now;
  const [unit, size] = UNITS.find(([, ms]) => Math.abs(left) >= ms) ?? UNITS[UNITS.length - 1]!;
  const amount = Math.round(Math.abs(left) / size);
  const span = new Intl.NumberFormat(currentLanguage(), { style: "unit", unit, unitDisplay: "long" }).format(amount);
  return left >= 0 ? t("due.in", { span }) : t("due.overdue", { span });
}
