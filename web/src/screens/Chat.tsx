import { useEffect, useRef, useState } from "preact/hooks";
import type { Message } from "../api/client";
import type { Session } from "../App";
import { explain } from "../errors";
import { useStore } from "../hooks";
import { formatTime, t } from "../i18n";
import { titleOf } from "./Chats";

export function Chat(props: { session: Session; conversationId: number; onBack(): void }) {
  const { store, live } = props.session;
  useStore(store);
  const [draft, setDraft] = useState("");
  const bottom = useRef<HTMLLIElement>(null);
  const conversation = store.conversations.get(props.conversationId);
  const thread = store.thread(props.conversationId);
  const pending = [...store.pending.values()].filter((p) => p.conversationId === props.conversationId);
  const newest = thread.at(-1)?.id;

  useEffect(() => {
    if (!store.messages.has(props.conversationId)) void store.loadOlder(props.conversationId);
  }, [props.conversationId]);

  useEffect(() => {
    bottom.current?.scrollIntoView({ block: "end" });
    void store.markRead(props.conversationId);
  }, [newest, pending.length]);

  function send(event: Event): void {
    event.preventDefault();
    const text = draft.trim();
    if (!text) return;
    setDraft("");
    const frame = store.beginSend(props.conversationId, text);
    if (!live.send(frame)) void store.sendOverHttp(frame);
  }

  return (
    <section class="chat" aria-label={conversation ? titleOf(store, conversation) : ""}>
      <header>
        <button type="button" class="quiet back" onClick={props.onBack}>
          ‹ {t("chat.back")}
        </button>
        <h2>{conversation ? titleOf(store, conversation) : ""}</h2>
      </header>
      <ol class="messages" aria-live="polite">
        {store.olderCursor.get(props.conversationId) && (
          <li class="older">
            <button type="button" class="link" onClick={() => void store.loadOlder(props.conversationId)}>
              {t("chat.older")}
            </button>
          </li>
        )}
        {thread.length === 0 && pending.length === 0 && <li class="empty">{t("chat.empty")}</li>}
        {thread.map((message) => (
          <MessageItem key={message.id} message={message} mine={message.sender_id === store.me.id} sender={store.nameOf(message.sender_id) ?? t("chat.someone", { id: message.sender_id })} />
        ))}
        {pending.map((waiting) => (
          <li key={waiting.clientId} class="message mine pending">
            <p class="text">{waiting.text}</p>
            {waiting.error ? (
              <p class="error" role="alert">
                {explain(waiting.error)}{" "}
                <button type="button" class="link" onClick={() => store.dismiss(waiting.clientId)}>
                  ✕
                </button>
              </p>
            ) : (
              <span class="status">{t("chat.sending")}</span>
            )}
          </li>
        ))}
        <li ref={bottom} aria-hidden="true" />
      </ol>
      <form class="composer" onSubmit={send}>
        <label class="visually-hidden" for="composer-text">
          {t("chat.placeholder")}
        </label>
        <textarea
          id="composer-text"
          name="text"
          rows={2}
          placeholder={t("chat.placeholder")}
          value={draft}
          onInput={(e) => setDraft(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) send(e);
          }}
        />
        <button type="submit">{t("chat.send")}</button>
      </form>
    </section>
  );
}

function MessageItem(props: { message: Message; mine: boolean; sender: string }) {
  const { message } = props;
  const text = message.recalled
    ? t("chat.recalled")
    : message.moderation === "removed"
      ? t("chat.removed")
      : message.text;
  return (
    <li class={`message ${props.mine ? "mine" : ""}`} data-message-id={message.id}>
      <span class="sender">{props.sender}</span>
      <p class={`text ${message.recalled || message.moderation ? "gone" : ""}`}>{text}</p>
      <time dateTime={message.created_at}>{formatTime(message.created_at)}</time>
    </li>
  );
}
