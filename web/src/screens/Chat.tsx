import { useEffect, useRef, useState } from "preact/hooks";
import type { Message } from "../api/client";
import type { Session } from "../App";
import { explain } from "../errors";
import { useStore } from "../hooks";
import { formatTime, t } from "../i18n";
import { titleOf } from "./Chats";
import { GroupInfo } from "./GroupInfo";
import { ReportForm } from "./Report";

export function Chat(props: {
  session: Session;
  conversationId: number;
  onBack(): void;
  onReadPost(postId: number): void;
}) {
  const { store, live } = props.session;
  useStore(store);
  const [draft, setDraft] = useState("");
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [mentions, setMentions] = useState<number[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [showInfo, setShowInfo] = useState(false);
  const bottom = useRef<HTMLLIElement>(null);
  const conversation = store.conversations.get(props.conversationId);
  const thread = store.thread(props.conversationId);
  const pending = [...store.pending.values()].filter((p) => p.conversationId === props.conversationId);
  const newest = thread.at(-1)?.id;
  const readUpTo = conversation?.partner_read_seq ?? 0;
  const lastRead = thread.findLast((m) => m.sender_id === store.me.id && m.seq <= readUpTo)?.id;

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
    // Only those still named in the text are mentioned.
    const named = mentions.filter((id) => text.includes(`@${nameOf(id)}`));
    const frame = store.beginSend(props.conversationId, text, { replyTo: replyTo?.id, mentions: named });
    setReplyTo(null);
    setMentions([]);
    if (!live.send(frame)) void store.sendOverHttp(frame);
  }

  const nameOf = (userId: number) => store.nameOf(userId) ?? t("chat.someone", { id: userId });

  function mention(userId: number): void {
    setMentions([...new Set([...mentions, userId])]);
    setDraft(`${draft}@${nameOf(userId)} `);
  }

  async function recall(message: Message): Promise<void> {
    setError(null);
    try {
      await store.recall(props.conversationId, message.id);
    } catch (refused) {
      setError(explain(refused));
    }
  }

  const others = (conversation?.members ?? []).map((m) => m.user_id).filter((id) => id !== store.me.id);

  return (
    <section class="chat" aria-label={conversation ? titleOf(store, conversation) : ""}>
      <header>
        <button type="button" class="quiet back" onClick={props.onBack}>
          ‹ {t("chat.back")}
        </button>
        <h2>{conversation ? titleOf(store, conversation) : ""}</h2>
        {conversation?.kind === "group" && (
          <button type="button" class="quiet" aria-expanded={showInfo} onClick={() => setShowInfo(!showInfo)}>
            {t("groupinfo.title")}
          </button>
        )}
      </header>
      {showInfo && conversation && <GroupInfo store={store} conversation={conversation} onLeft={props.onBack} />}
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
          <MessageItem
            key={message.id}
            message={message}
            mine={message.sender_id === store.me.id}
            read={message.id === lastRead}
            mentionsMe={message.mentions?.user_ids.includes(store.me.id) ?? false}
            sender={nameOf(message.sender_id)}
            quoted={message.reply_to ? store.message(props.conversationId, message.reply_to) : undefined}
            quotedSender={(id) => nameOf(id)}
            onReply={() => setReplyTo(message)}
            onRecall={() => void recall(message)}
            onReadPost={props.onReadPost}
            postRemoved={message.attachment ? store.removedPosts.has(message.attachment.post_id) : false}
          />
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
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {replyTo && (
        <p class="replying">
          {t("chat.replying", { name: nameOf(replyTo.sender_id), text: replyTo.text })}{" "}
          <button type="button" class="link" onClick={() => setReplyTo(null)}>
            {t("chat.cancel_reply")}
          </button>
        </p>
      )}
      <form class="composer" onSubmit={send}>
        {conversation?.kind === "group" && (
          <label class="mention">
            <span class="visually-hidden">{t("chat.mention_pick")}</span>
            <select
              name="mention"
              value=""
              onChange={(e) => {
                const id = Number(e.currentTarget.value);
                if (id) mention(id);
                e.currentTarget.value = "";
              }}
            >
              <option value="">@</option>
              {others.map((id) => (
                <option value={id} key={id}>
                  {nameOf(id)}
                </option>
              ))}
            </select>
          </label>
        )}
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

function MessageItem(props: {
  message: Message;
  mine: boolean;
  read: boolean;
  mentionsMe: boolean;
  sender: string;
  quoted: Message | undefined;
  quotedSender(userId: number): string;
  onReply(): void;
  onRecall(): void;
  onReadPost(postId: number): void;
  postRemoved: boolean;
}) {
  const { message, quoted } = props;
  const [reporting, setReporting] = useState(false);
  const attachment = message.attachment;
  const gone = message.recalled || message.moderation === "removed";
  const text = message.recalled ? t("chat.recalled") : message.moderation === "removed" ? t("chat.removed") : message.text;
  const classes = ["message", props.mine ? "mine" : "", props.mentionsMe ? "mentions-me" : ""];
  return (
    <li class={classes.join(" ")} data-message-id={message.id}>
      <span class="sender">
        {props.sender}
        {props.mentionsMe && <strong> · {t("chat.mentions_you")}</strong>}
      </span>
      {message.reply_to && (
        <blockquote class="quote">
          {quoted && !quoted.recalled && !quoted.moderation
            ? `${props.quotedSender(quoted.sender_id)}: ${quoted.text}`
            : t("chat.quote_gone")}
        </blockquote>
      )}
      <p class={`text ${gone ? "gone" : ""}`}>{text}</p>
      {attachment &&
        (props.postRemoved ? (
          <p class="attachment gone">{t("post.removed", { account: attachment.account_name })}</p>
        ) : (
          <button type="button" class="attachment" onClick={() => props.onReadPost(attachment.post_id)}>
            <small>{attachment.account_name}</small>
            <span>{attachment.title}</span>
          </button>
        ))}
      <time dateTime={message.created_at}>{formatTime(message.created_at)}</time>
      {props.read && <span class="receipt">{t("chat.read")}</span>}
      {!gone && (
        <span class="actions">
          <button type="button" class="link" onClick={props.onReply}>
            {t("chat.reply")}
          </button>
          {props.mine ? (
            <button type="button" class="link" onClick={props.onRecall}>
              {t("chat.recall")}
            </button>
          ) : (
            <button type="button" class="link" onClick={() => setReporting(!reporting)}>
              {t("report.open")}
            </button>
          )}
        </span>
      )}
      {reporting && <ReportForm target="message" id={message.id} onDone={() => setReporting(false)} />}
    </li>
  );
}
