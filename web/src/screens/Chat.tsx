import { useEffect, useRef, useState } from "preact/hooks";
import type { Message } from "../api/client";
import type { ChatStore, Pending } from "../store";
import { useVirtualList } from "../virtual";
import { stepOf, takeStep, useSteps } from "../navigation";
import type { Session } from "../App";
import { explain } from "../errors";
import { useStore } from "../hooks";
import { formatTime, t } from "../i18n";
import { filesOf, type Media } from "../media";
import { titleOf } from "./Chats";
import { GroupInfo } from "./GroupInfo";
import { AttachButton, AttachmentTray, MediaList, mediaWords, useAttachments, useViewer } from "./Media";
import { ReportForm } from "./Report";
import { sanctionRefusal } from "./Standing";

const END_FRAMES = 30; // about half a second

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
  // A group's page opened is a step of its own: Back closes it (navigation.ts).
  const infoStep = () => stepOf(history.state)?.info === props.conversationId;
  useSteps((step) => setShowInfo(step?.info === props.conversationId));
  const toggleInfo = () => {
    if (!showInfo) takeStep({ ...stepOf(history.state), info: props.conversationId }, true);
    if (showInfo && infoStep()) history.back();
    else setShowInfo(!showInfo);
  };
  // Left from its page: back past the page and the chat, to the list.
  const left = () => (infoStep() ? history.go(-2) : props.onBack());
  const [dragging, setDragging] = useState(false);
  const scroller = useRef<HTMLDivElement>(null);
  const composing = useAttachments();
  const [viewer, view] = useViewer(() => scroller.current);
  const conversation = store.conversations.get(props.conversationId);
  const thread = store.thread(props.conversationId);
  const pending = [...store.pending.values()].filter((p) => p.conversationId === props.conversationId);
  const rows: Row[] = [...thread, ...pending];
  const newest = thread.at(-1)?.id;
  const readUpTo = conversation?.partner_read_seq ?? 0;
  const lastRead = thread.findLast((m) => m.sender_id === store.me.id && m.seq <= readUpTo)?.id;
  const list = useVirtualList({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 76,
    getItemKey: (index) => rowKey(rows[index]!),
    overscan: 6,
    anchorTo: "end", // older pages added above keep the reader where they were
    followOnAppend: true, // at the bottom, a new message scrolls into view
  });
  const hasOlder = Boolean(store.olderCursor.get(props.conversationId));
  const loadingOlder = useRef(false);

  useEffect(() => {
    if (!store.messages.has(props.conversationId)) void store.loadOlder(props.conversationId);
    // Names as they now stand: the server sends no event when someone renames themselves.
    const members = store.conversations.get(props.conversationId)?.members ?? [];
    void store.refreshNames(members.map((m) => m.user_id)).catch(() => undefined);
  }, [props.conversationId]);

  // The newest message in view when the chat opens and after one's own send. Rows not drawn yet
  // have estimated heights, so one scroll can stop short of the end once they are measured: it
  // scrolls again each frame until the end is in view (a busy machine measures late), for half
  // a second at most.
  useEffect(() => {
    if (rows.length === 0) return;
    let frames = 0;
    let frame = 0;
    const toEnd = () => {
      list.scrollToIndex(rows.length - 1, { align: "end" });
      const shown = scroller.current;
      const below = shown ? shown.scrollHeight - shown.scrollTop - shown.clientHeight : 0;
      if (below > 1 && ++frames < END_FRAMES) frame = requestAnimationFrame(toEnd);
    };
    toEnd();
    return () => cancelAnimationFrame(frame);
  }, [thread.length > 0, pending.length]);

  useEffect(() => {
    void store.markRead(props.conversationId);
  }, [newest]);

  // Scrolled near the top: the next page of history, one page at a time.
  const firstDrawn = list.getVirtualItems()[0]?.index ?? 0;
  useEffect(() => {
    if (firstDrawn > 3 || !hasOlder || loadingOlder.current || thread.length === 0) return;
    loadingOlder.current = true;
    void store.loadOlder(props.conversationId).finally(() => (loadingOlder.current = false));
  }, [firstDrawn, hasOlder]);

  function send(event: Event): void {
    event.preventDefault();
    const text = draft.trim();
    // With images or files the text may be empty; a message waits for its uploads.
    if (composing.attachments.uploading) return;
    if (!text && composing.attachments.ready.length === 0) return;
    setDraft("");
    // Only those still named in the text are mentioned.
    const named = mentions.filter((id) => text.includes(`@${nameOf(id)}`));
    const media = composing.take();
    const frame = store.beginSend(props.conversationId, text, { replyTo: replyTo?.id, mentions: named, media });
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

  // Files dragged from the desktop and dropped anywhere on the chat are attached.
  function dragOver(event: DragEvent): void {
    if (!event.dataTransfer?.types.includes("Files")) return;
    event.preventDefault();
    setDragging(true);
  }

  function drop(event: DragEvent): void {
    event.preventDefault();
    setDragging(false);
    composing.add(filesOf(event.dataTransfer));
  }

  return (
    <section
      class={`chat ${dragging ? "dropping" : ""}`}
      aria-label={conversation ? titleOf(store, conversation) : ""}
      onDragOver={dragOver}
      onDragLeave={(event) => event.currentTarget === event.target && setDragging(false)}
      onDrop={drop}
    >
      <header>
        <button type="button" class="quiet back" onClick={props.onBack}>
          ‹ {t("chat.back")}
        </button>
        <h2>{conversation ? titleOf(store, conversation) : ""}</h2>
        {conversation?.kind === "group" && (
          <button type="button" class="quiet" aria-expanded={showInfo} onClick={toggleInfo}>
            {t("groupinfo.title")}
          </button>
        )}
      </header>
      {showInfo && conversation && <GroupInfo store={store} conversation={conversation} onLeft={left} />}
      {hasOlder && (
        <button type="button" class="link older" onClick={() => void store.loadOlder(props.conversationId)}>
          {t("chat.older")}
        </button>
      )}
      <div class="messages" ref={scroller} tabIndex={0} aria-label={t("chat.history")}>
        {rows.length === 0 && <p class="empty">{t("chat.empty")}</p>}
        <ol style={{ height: `${list.getTotalSize()}px` }}>
          {list.getVirtualItems().map((item) => {
            const row = rows[item.index]!;
            return (
              <li
                key={item.key}
                class="row"
                data-index={item.index}
                ref={list.measureElement}
                style={{ transform: `translateY(${item.start}px)` }}
              >
                {"clientId" in row ? (
                  <PendingItem waiting={row} store={store} />
                ) : (
                  <MessageItem
                    message={row}
                    mine={row.sender_id === store.me.id}
                    read={row.id === lastRead}
                    mentionsMe={row.mentions?.user_ids.includes(store.me.id) ?? false}
                    sender={nameOf(row.sender_id)}
                    quoted={row.reply_to ? store.message(props.conversationId, row.reply_to) : undefined}
                    quotedSender={(id) => nameOf(id)}
                    onReply={() => setReplyTo(row)}
                    onRecall={() => void recall(row)}
                    onReadPost={props.onReadPost}
                    postRemoved={row.attachment ? store.removedPosts.has(row.attachment.post_id) : false}
                    removedMedia={store.removedMedia}
                    onOpen={view}
                  />
                )}
              </li>
            );
          })}
        </ol>
      </div>
      <LatestSaid message={thread.at(-1)} mine={store.me.id} nameOf={nameOf} />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {replyTo && (
        <p class="replying">
          {t("chat.replying", { name: nameOf(replyTo.sender_id), text: gist(replyTo) })}{" "}
          <button type="button" class="link" onClick={() => setReplyTo(null)}>
            {t("chat.cancel_reply")}
          </button>
        </p>
      )}
      <AttachmentTray composing={composing} />
      <form class="composer" onSubmit={send}>
        <AttachButton onFiles={composing.add} />
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
          onPaste={(e) => {
            const files = filesOf(e.clipboardData);
            if (files.length === 0) return; // text: pasted as usual
            e.preventDefault();
            composing.add(files);
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) send(e);
          }}
        />
        <button type="submit" disabled={composing.attachments.uploading}>
          {t("chat.send")}
        </button>
      </form>
      {viewer}
    </section>
  );
}

/** What a message says in a line (a quote, a reply, the live region): its text, or what
 * images and files it carries when it has none. */
function gist(message: Message): string {
  return message.text || mediaWords(message.media);
}

/** A row of the list: a stored message, or one of the user's sends waiting for its ack. */
type Row = Message | Pending;

function rowKey(row: Row): string {
  return "clientId" in row ? `pending-${row.clientId}` : `message-${row.id}`;
}

function PendingItem(props: { waiting: Pending; store: ChatStore }) {
  const { waiting } = props;
  return (
    <div class={`message mine pending ${waiting.error ? "failed" : ""}`}>
      {waiting.text && <p class="text">{waiting.text}</p>}
      {waiting.media.length > 0 && <p class="status">{t("media.count", { count: waiting.media.length })}</p>}
      {waiting.error ? (
        <p class="error" role="alert">
          {sanctionRefusal(waiting.error.code, props.store) ?? explain(waiting.error)}{" "}
          <button type="button" class="link" aria-label={t("chat.dismiss")} onClick={() => props.store.dismiss(waiting.clientId)}>
            ✕
          </button>
        </p>
      ) : (
        <span class="status">{t("chat.sending")}</span>
      )}
    </div>
  );
}

/** What others said last, read out by screen readers (the list itself is drawn as it scrolls,
 * so it cannot be the live region). */
function LatestSaid(props: { message: Message | undefined; mine: number; nameOf(id: number): string }) {
  const { message } = props;
  const said = message && message.sender_id !== props.mine && !message.recalled && !message.moderation;
  return (
    <p class="visually-hidden" role="status">
      {said ? `${props.nameOf(message.sender_id)}: ${gist(message)}` : ""}
    </p>
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
  removedMedia: ReadonlySet<number>;
  onOpen(media: Media, opener: HTMLElement): void;
}) {
  const { message, quoted } = props;
  const [reporting, setReporting] = useState(false);
  const attachment = message.attachment;
  const gone = message.recalled || message.moderation === "removed";
  const text = message.recalled ? t("chat.recalled") : message.moderation === "removed" ? t("chat.removed") : message.text;
  const classes = ["message", props.mine ? "mine" : "", props.mentionsMe ? "mentions-me" : ""];
  return (
    <div class={classes.join(" ")} data-message-id={message.id}>
      <span class="sender">
        {props.sender}
        {props.mentionsMe && <strong> · {t("chat.mentions_you")}</strong>}
      </span>
      {message.reply_to && (
        <blockquote class="quote">
          {quoted && !quoted.recalled && !quoted.moderation
            ? `${props.quotedSender(quoted.sender_id)}: ${gist(quoted)}`
            : t("chat.quote_gone")}
        </blockquote>
      )}
      {(text || !message.media?.length) && <p class={`text ${gone ? "gone" : ""}`}>{text}</p>}
      {!gone && message.media && message.media.length > 0 && (
        <MediaList media={message.media} removed={props.removedMedia} onOpen={props.onOpen} />
      )}
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
    </div>
  );
}
