// What the signed-in staff member may do: the permissions GET /api/v1/me names, weighed against
// the permission each route declares in /openapi.json (routes.ts is generated from it). A screen
// or a button is shown only when the route it calls would not refuse the caller.
import type { Schemas } from "../api/client";
import { ROUTE_PERMISSIONS, type Route } from "../api/routes";

export class Access {
  private readonly held: ReadonlySet<string>;

  constructor(permissions: readonly string[]) {
    this.held = new Set(permissions);
  }

  may(route: Route): boolean {
    return this.held.has(ROUTE_PERMISSIONS[route]);
  }

  /** For what a route's own permission does not say: an escalated case, a closing sanction. */
  holds(permission: Schemas["Permission"]): boolean {
    return this.held.has(permission);
  }
}

export type Screen =
  | "cases"
  | "identities"
  | "applications"
  | "sanctions"
  | "appeals"
  | "lexicon"
  | "detection"
  | "audit"
  | "dashboard"
  | "records";

/** Each screen and the route that lists what it shows: no right to the list, no screen. */
export const SCREENS: readonly [Screen, Route][] = [
  ["cases", "GET /api/v1/admin/review/cases"],
  ["identities", "GET /api/v1/admin/identities"],
  ["applications", "GET /api/v1/admin/public-accounts"],
  ["sanctions", "GET /api/v1/admin/sanctions"],
  ["appeals", "GET /api/v1/admin/appeals"],
  ["lexicon", "GET /api/v1/admin/lexicon"],
  ["detection", "GET /api/v1/admin/moderation/hash-bank"],
  ["audit", "GET /api/v1/audit/log"],
  ["dashboard", "GET /api/v1/audit/stats"],
  ["records", "GET /api/v1/audit/filings"],
];

export function screensFor(access: Access): Screen[] {
  return SCREENS.filter(([, route]) => access.may(route)).map(([screen]) => screen);
}

/** The screen a /console/<screen> path names, if the caller may see it; else their first. */
export function screenAt(path: string, allowed: readonly Screen[]): Screen | null {
  const named = path.replace(/^\/console\/?/, "").split("/")[0];
  return allowed.find((screen) => screen === named) ?? allowed[0] ?? null;
}
