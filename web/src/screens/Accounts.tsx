import { useEffect, useRef, useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { explain } from "../errors";
import { formatTime, localLabel, t } from "../i18n";
import type { ChatStore } from "../store";
import { MediaList, useViewer } from "./Media";
import { ReportButton } from "./Report";
import { once } from "../outcome";

type Account = Schemas["PublicAccount"];
type TimelineItem = Schemas["Timeline"]["posts"][number];

/** The public-account directory with its badges, and the timeline of those one follows. */
export function Accounts(props: { store: ChatStore; onRead(postId: number): void }) {
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [timeline, setTimeline] = useState<TimelineItem[]>([]);
  const [error, setError] = useState<string | null>(null);
  const timelineList = useRef<HTMLUListElement>(null);
  const [viewer, view] = useViewer(() => timelineList.current);

  async function refresh(): Promise<void> {
    const [directory, posts] = await Promise.all([
      api.GET("/api/v1/public-accounts", { params: { query: { limit: 100 } } }).then(must),
      api.GET("/api/v1/timeline", { params: { query: { limit: 50 } } }).then(must),
    ]);
    setAccounts(directory.public_accounts);
    setTimeline(posts.posts);
  }

  useEffect(() => {
    void refresh().catch((refused) => setError(explain(refused)));
  }, []);

  async function follow(account: Account): Promise<void> {
    setError(null);
    try {
      const path = "/api/v1/public-accounts/{public_account_id}/subscription";
      const params = { params: { path: { public_account_id: account.id } } };
      must(await (account.subscribed ? api.DELETE(path, params) : api.PUT(path, params)));
      await refresh();
    } catch (refused) {
      setError(explain(refused));
    }
  }

  // Posts pushed live while the tab is open come first, once each.
  const loaded = new Set(timeline.map((post) => post.id));
  const shown = [...props.store.livePosts.filter((post) => !loaded.has(post.id)), ...timeline];

  return (
    <div class="accounts">
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <section aria-labelledby="timeline-title">
        <h3 id="timeline-title">{t("accounts.timeline")}</h3>
        {shown.length === 0 && <p>{t("accounts.no_posts")}</p>}
        <ul class="posts" ref={timelineList} tabIndex={-1}>
          {shown.map((post) => (
            <li key={post.id}>
              {"title" in post && !props.store.removedPosts.has(post.id) ? (
                <>
                  <button type="button" class="post-link" onClick={() => props.onRead(post.id)}>
                    <span class="title">{post.title}</span>
                    <small>
                      {post.account_name} · <time dateTime={post.created_at}>{formatTime(post.created_at)}</time>
                    </small>
                  </button>
                  {post.media && post.media.length > 0 && (
                    <MediaList media={post.media} removed={props.store.removedMedia} onOpen={view} />
                  )}
                </>
              ) : (
                <p class="gone">{t("post.removed", { account: post.account_name })}</p>
              )}
            </li>
          ))}
        </ul>
      </section>
      {viewer}
      <section aria-labelledby="directory-title">
        <h3 id="directory-title">{t("accounts.directory")}</h3>
        {accounts.map((account) => (
          <div class="person account" key={account.id}>
            <span>
              <strong>{account.name}</strong> <span class="badge">{localLabel(account.category_label)}</span>
              {account.news_entitlement !== "none" && (
                <span class="badge news">{t(`accounts.news.${account.news_entitlement}`)}</span>
              )}
              <br />
              <small>{t("accounts.subscribers", { count: account.subscriber_count })}</small>
            </span>
            <button type="button" class={account.subscribed ? "quiet" : ""} onClick={(e) => void once(e.currentTarget, () => follow(account))}>
              {account.subscribed ? t("accounts.unsubscribe") : t("accounts.subscribe")}
            </button>
            <ReportButton target="public_account" id={account.id} label={t("report.named", { name: account.name })} />
          </div>
        ))}
      </section>
    </div>
  );
}
