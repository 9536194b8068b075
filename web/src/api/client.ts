// The API client, typed by the OpenAPI document the server serves (`townhall openapi` writes it,
// openapi-typescript turns it into schema.d.ts): an API change that breaks the app fails tsc.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { currentLanguage } from "../i18n/core";

export type Schemas = components["schemas"];
export type Message = Schemas["Message"];
export type ConversationSummary = Schemas["ConversationSummary"];
export type UserCard = Schemas["UserCard"];

// The session token lives in this module's memory only: never in localStorage, where any
// script on the origin could read it. A reload asks for the password again.
let token: string | null = null;

export function setToken(value: string | null): void {
  token = value;
}

export function sessionToken(): string | null {
  return token;
}

const headers: Middleware = {
  onRequest({ request }) {
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    request.headers.set("Accept-Language", currentLanguage());
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: "" });
api.use(headers);

/** A refusal as the API states it: its code names the case, `retryAfter` says when (429, 503). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's data, or the refusal thrown as an ApiError. */
export function must<T>(answer: Answer<T>): T {
  const { data, error, response } = answer;
  if (error === undefined && response.ok) return data as T;
  const body = (error ?? {}) as { error?: { code?: string; message?: string } };
  const wait = Number(response.headers.get("Retry-After"));
  throw new ApiError(
    response.status,
    body.error?.code ?? `http_${response.status}`,
    body.error?.message ?? response.statusText,
    Number.isFinite(wait) && wait > 0 ? wait : null,
  );
}

let policyAnswer: Promise<Schemas["Policy"]> | null = null;

/** The server's policy pack, public part: asked for once (it changes only with a restart). */
export function policy(): Promise<Schemas["Policy"]> {
  policyAnswer ??= api.GET("/api/v1/policy").then(must);
  return policyAnswer;
}
