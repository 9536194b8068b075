import { useEffect, useState } from "preact/hooks";
import { api, must, type ConversationSummary, type Message } from "../api/client";
import { explain } from "../errors";
import { formatTime, t } from "../i18n";
import type { ChatStore } from "../store";
import { mediaWords } from "./Media";
import { guarded, once } from "../outcome";

export function titleOf(store: ChatStore, conversation: ConversationSummary): string {
  if (conversation.title) return conversation.title;
  const other = store.otherOf(conversation);
  return other === null ? "" : (store.nameOf(other) ?? t("chat.someone", { id: other }));
}

export function Chats(props: { store: ChatStore; open: number | null; onOpen(id: number): void }) {
  const [creating, setCreating] = useState(false);
  const conversations = props.store.ordered();
  return (
    <>
      <MessageSearch store={props.store} onOpen={props.onOpen} />
      <Invitations store={props.store} onOpen={props.onOpen} />
      {creating ? (
        <NewGroup
          store={props.store}
          onDone={(id) => {
            setCreating(false);
            if (id !== null) props.onOpen(id);
          }}
        />
      ) : (
        <button type="button" class="quiet new-group" onClick={() => setCreating(true)}>
          + {t("group.new")}
        </button>
      )}
      {conversations.length === 0 && <p class="empty">{t("chats.empty")}</p>}
      <ConversationList {...props} conversations={conversations} />
    </>
  );
}

function ConversationList(props: {
  store: ChatStore;
  conversations: ConversationSummary[];
  open: number | null;
  onOpen(id: number): void;
}) {
  const { conversations } = props;
  return (
    <ul class="conversations">
      {conversations.map((conversation) => {
        const last = conversation.last_message;
        return (
          <li key={conversation.id}>
            <button
              type="button"
              class="conversation"
              aria-current={props.open === conversation.id ? "true" : undefined}
              onClick={() => props.onOpen(conversation.id)}
            >
              <span class="title">{titleOf(props.store, conversation)}</span>
              {conversation.unread > 0 && (
                <span class="unread" aria-label={t("chats.unread", { count: conversation.unread })}>
                  {conversation.unread}
                </span>
              )}
              {last && (
                <>
                  <span class="preview">{last.recalled ? t("chat.recalled") : last.text || mediaWords(last.media)}</span>
                  <time dateTime={last.created_at}>{formatTime(last.created_at)}</time>
                </>
              )}
            </button>
          </li>
        );
      })}
    </ul>
  );
}

/** Search of the caller's own chats: the server finds only what they may still read. A page
 * may come back short with more to find (the server looks through so many matches a page):
 * "search older" goes on from there. Asked on submit, not as one types (searches_per_user). */
function MessageSearch(props: { store: ChatStore; onOpen(id: number): void }) {
  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<Message[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function search(cursor: string | null): Promise<void> {
    setError(null);
    setBusy(true);
    try {
      const q = query.trim();
      const page = must(
        await api.GET("/api/v1/search/messages", {
          params: { query: cursor === null ? { q } : { q, cursor } },
        }),
      );
      setHits(cursor === null ? page.messages : [...(hits ?? []), ...page.messages]);
      setNext(page.next_cursor);
    } catch (refused) {
      setError(explain(refused));
    } finally {
      setBusy(false);
    }
  }

  function clear(): void {
    setQuery("");
    setHits(null);
    setNext(null);
    setError(null);
  }

  return (
    <section class="message-search">
      <form
        class="search"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          void search(null);
        }}
      >
        <label>
          {t("search.label")}
          <input
            type="search"
            name="q"
            maxLength={100}
            placeholder={t("search.placeholder")}
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy || query.trim() === ""}>
          {t("search.submit")}
        </button>
        {hits !== null && (
          <button type="button" class="quiet" onClick={clear}>
            {t("search.clear")}
          </button>
        )}
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {hits !== null && hits.length === 0 && next === null && <p class="empty">{t("search.none")}</p>}
      {hits !== null && hits.length > 0 && (
        <ul class="conversations" aria-label={t("search.results")}>
          {hits.map((hit) => {
            const conversation = props.store.conversations.get(hit.conversation_id);
            return (
              <li key={hit.id}>
                <button type="button" class="conversation" onClick={() => props.onOpen(hit.conversation_id)}>
                  <span class="title">{conversation ? titleOf(props.store, conversation) : ""}</span>
                  <span class="preview">{hit.text}</span>
                  <time dateTime={hit.created_at}>{formatTime(hit.created_at)}</time>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {next !== null && (
        <button type="button" class="quiet" disabled={busy} onClick={() => void search(next)}>
          {t("search.more")}
        </button>
      )}
    </section>
  );
}

function Invitations(props: { store: ChatStore; onOpen(id: number): void }) {
  const [error, setError] = useState<string | null>(null);
  const invitations = [...props.store.invitations.values()];
  // A dissolved group's invitations are dropped without an event: read them afresh on opening.
  useEffect(() => {
    void props.store.loadInvitations().catch(() => undefined);
  }, []);
  if (invitations.length === 0 && error === null) return null;

  async function answer(conversationId: number, accept: boolean): Promise<void> {
    setError(null);
    try {
      await props.store.answerInvitation(conversationId, accept);
      if (accept) props.onOpen(conversationId);
    } catch (refused) {
      setError(explain(refused));
    }
  }

  return (
    <section class="invitations" aria-labelledby="invitations-title">
      <h3 id="invitations-title">{t("group.invitations")}</h3>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {invitations.map((invitation) => (
        <div class="person" key={invitation.conversation_id}>
          <span>
            {t("group.invited", {
              inviter: props.store.nameOf(invitation.inviter_id) ?? t("chat.someone", { id: invitation.inviter_id }),
              title: invitation.title,
            })}
          </span>
          <button type="button" onClick={(e) => void once(e.currentTarget, () => answer(invitation.conversation_id, true))}>
            {t("contacts.accept")}
          </button>
          <button type="button" class="quiet" onClick={(e) => void once(e.currentTarget, () => answer(invitation.conversation_id, false))}>
            {t("contacts.decline")}
          </button>
        </div>
      ))}
    </section>
  );
}

function NewGroup(props: { store: ChatStore; onDone(id: number | null): void }) {
  const [title, setTitle] = useState("");
  const [chosen, setChosen] = useState<Set<number>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const people = props.store.friends.flatMap((tie) => props.store.names.get(tie.user_id) ?? []);

  function toggle(id: number): void {
    const next = new Set(chosen);
    if (!next.delete(id)) next.add(id);
    setChosen(next);
  }

  async function create(event: Event): Promise<void> {
    event.preventDefault();
    setError(null);
    try {
      props.onDone(await props.store.createGroup(title.trim(), [...chosen]));
    } catch (refused) {
      setError(explain(refused));
    }
  }

  return (
    <form class="new-group-form" onSubmit={guarded(create)}>
      <label>
        {t("group.title")}
        <input name="title" required value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <fieldset>
        <legend>{t("group.members")}</legend>
        {people.length === 0 && <p>{t("contacts.no_friends")}</p>}
        {people.map((card) => (
          <label class="check" key={card.id}>
            <input type="checkbox" name="member" value={card.handle} checked={chosen.has(card.id)} onChange={() => toggle(card.id)} />
            {card.display_name} <small>@{card.handle}</small>
          </label>
        ))}
      </fieldset>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit">{t("group.create")}</button>{" "}
      <button type="button" class="quiet" onClick={() => props.onDone(null)}>
        {t("group.cancel")}
      </button>
    </form>
  );
}
