import { useEffect, useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import type { Staff } from "./Console";

export type Card = Schemas["StaffCard"];

/** What a staff member typed to name a user: an id (digits) or a handle (a letter first, an
 * optional leading "@"); null for anything else. */
export function parseWho(typed: string): { id: number } | { handle: string } | null {
  const text = typed.trim().replace(/^@/, "");
  if (/^[0-9]+$/.test(text)) return Number(text) >= 1 ? { id: Number(text) } : null;
  return /^[A-Za-z][A-Za-z0-9_.-]{2,31}$/.test(text) ? { handle: text } : null;
}

/** "@handle (Display Name)", or "#id" while the account is not known. */
export function nameOf(card: Card | undefined, id: number): string {
  return card ? `@${card.handle} (${card.display_name})` : `#${id}`;
}

const known = new Map<number, Card>();

/** The accounts with these ids, by id: asked of the desks' route once each, then kept. */
export async function cardsOf(staff: Staff, ids: readonly number[]): Promise<Map<number, Card>> {
  const missing = [...new Set(ids)].filter((id) => !known.has(id));
  if (missing.length > 0 && staff.access.may("GET /api/v1/admin/users")) {
    const found = must(await api.GET("/api/v1/admin/users", { params: { query: { id: missing } } }));
    for (const card of found.users) known.set(card.id, card);
  }
  return new Map(ids.flatMap((id) => (known.has(id) ? [[id, known.get(id)!] as const] : [])));
}

/** The account named by id or handle, if there is one. */
export async function findAccount(staff: Staff, who: { id: number } | { handle: string }): Promise<Card | null> {
  if ("id" in who) return (await cardsOf(staff, [who.id])).get(who.id) ?? null;
  if (!staff.access.may("GET /api/v1/admin/users")) return null;
  const found = must(await api.GET("/api/v1/admin/users", { params: { query: { handle: who.handle } } }));
  for (const card of found.users) known.set(card.id, card);
  return found.users[0] ?? null;
}

/** An account's handle and display name, "#id" until (or unless) they are known. */
export function Person({ staff, id }: { staff: Staff; id: number }) {
  const [card, setCard] = useState<Card | undefined>(known.get(id));
  useEffect(() => {
    let live = true;
    cardsOf(staff, [id])
      .then((cards) => live && setCard(cards.get(id)))
      .catch(() => undefined); // the id stays shown
    return () => {
      live = false;
    };
  }, [id]);
  return (
    <span class="person" data-person={id}>
      {nameOf(card, id)}
    </span>
  );
}
