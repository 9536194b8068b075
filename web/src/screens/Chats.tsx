import type { ConversationSummary } from "../api/client";
import { formatTime, t } from "../i18n";
import type { ChatStore } from "../store";

export function titleOf(store: ChatStore, conversation: ConversationSummary): string {
  if (conversation.title) return conversation.title;
  const other = store.otherOf(conversation);
  return other === null ? "" : (store.nameOf(other) ?? t("chat.someone", { id: other }));
}

export function Chats(props: { store: ChatStore; open: number | null; onOpen(id: number): void }) {
  const conversations = props.store.ordered();
  if (conversations.length === 0) return <p class="empty">{t("chats.empty")}</p>;
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
                  <span class="preview">{last.recalled ? t("chat.recalled") : last.text}</span>
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
