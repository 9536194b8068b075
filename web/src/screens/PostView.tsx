import { useEffect, useRef, useState } from "preact/hooks";
import { api, must, policy, type Schemas } from "../api/client";
import { explain } from "../errors";
import { formatTime, t } from "../i18n";
import type { ChatStore } from "../store";
import { titleOf } from "./Chats";
import { MediaList, useViewer } from "./Media";
import { Compose } from "./MyAccounts";
import { ReportButton, reasonLabel } from "./Report";
import { guarded } from "../outcome";

type Post = Schemas["ReadPost"];

/** A post, read (which counts as a view), to forward into a chat or report. */
export function PostView(props: { store: ChatStore; postId: number; onBack(): void; backTo: string }) {
  const { store } = props;
  const [post, setPost] = useState<Post | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [chatId, setChatId] = useState<number | null>(null);
  const [forwarded, setForwarded] = useState(false);
  const body = useRef<HTMLDivElement>(null);
  const [viewer, view] = useViewer(() => body.current);

  useEffect(() => {
    api
      .GET("/api/v1/posts/{post_id}", { params: { path: { post_id: props.postId } } })
      .then((answer) => setPost(must(answer)))
      .catch((refused) => setError(explain(refused)));
  }, [props.postId]);

  async function forward(event: Event): Promise<void> {
    event.preventDefault();
    if (chatId === null) return;
    try {
      must(
        await api.POST("/api/v1/posts/{post_id}/forwards", {
          params: { path: { post_id: props.postId } },
          body: { conversation_id: chatId, client_id: crypto.randomUUID() },
        }),
      );
      setForwarded(true);
    } catch (refused) {
      setError(explain(refused));
    }
  }

  const removed = store.removedPosts.has(props.postId);
  const corrections = store.correctionsOf(props.postId);
  const chats = store.ordered();

  return (
    <section class="chat post-view" aria-label={post?.title ?? ""}>
      <header>
        <button type="button" class="quiet back" onClick={props.onBack}>
          ‹ {props.backTo}
        </button>
        <h2>{removed ? t("post.removed", { account: post?.account_name ?? "" }) : post?.title}</h2>
      </header>
      <div class="post-body" ref={body} tabIndex={-1}>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {corrections.map((correction) => (
          <aside class="correction" key={correction.decided_at} role="note">
            <strong>{t("post.corrected", { category: reasonLabel(correction.category) })}</strong>
            <p>{correction.statement}</p>
          </aside>
        ))}
        {post && !removed && (
          <article>
            <p class="meta">
              {post.account_name} · <time dateTime={post.created_at}>{formatTime(post.created_at)}</time>
            </p>
            {post.body && <div class="text">{post.body}</div>}
            {post.media && post.media.length > 0 && (
              <MediaList media={post.media} removed={store.removedMedia} onOpen={view} />
            )}
          </article>
        )}
        {post && !removed && (
          <>
            <form class="forward" onSubmit={guarded(forward)}>
              <label>
                {t("post.forward_to")}
                <select name="chat" value={chatId ?? ""} onChange={(e) => setChatId(Number(e.currentTarget.value) || null)}>
                  <option value="">—</option>
                  {chats.map((chat) => (
                    <option value={chat.id} key={chat.id}>
                      {titleOf(store, chat)}
                    </option>
                  ))}
                </select>
              </label>
              <button type="submit" disabled={chatId === null}>
                {t("post.forward")}
              </button>
              {forwarded && <span role="status"> {t("post.forwarded")}</span>}
            </form>
            <Repost post={post} />
            <ReportButton target="post" id={props.postId} label={t("report.open")} />
          </>
        )}
      </div>
      {viewer}
    </section>
  );
}

/** Re-posting into an account the user runs: only approved accounts, and for current-affairs
 * news only those entitled to re-post it (the server holds the same rule). */
function Repost({ post }: { post: Post }) {
  const [accounts, setAccounts] = useState<Schemas["PublicAccount"][]>([]);
  const [rules, setRules] = useState<Schemas["PublicAccountPolicy"] | null>(null);
  const [into, setInto] = useState<Schemas["PublicAccount"] | null>(null);

  useEffect(() => {
    void Promise.all([
      api.GET("/api/v1/me/public-accounts", { params: { query: { limit: 100 } } }).then(must),
      policy(),
    ]).then(([mine, policy]) => {
      const news = policy.public_accounts.news_content_classes.includes(post.content_class);
      setRules(policy.public_accounts);
      setAccounts(
        mine.public_accounts.filter(
          (account) => account.status === "approved" && (!news || account.news_entitlement !== "none"),
        ),
      );
    });
  }, [post.id]);

  if (!rules || accounts.length === 0) return null;
  if (into) return <Compose account={into} rules={rules} source={post} onDone={() => setInto(null)} />;
  return (
    <p class="repost">
      {accounts.map((account) => (
        <button type="button" class="quiet" key={account.id} onClick={() => setInto(account)}>
          {t("post.repost_as", { account: account.name })}
        </button>
      ))}
    </p>
  );
}
