import { useEffect, useState } from "preact/hooks";
import { api, must, policy, type Schemas } from "../api/client";
import { explain } from "../errors";
import { formatTime, labelOf, localLabel, t } from "../i18n";
import { filesOf } from "../media";
import { AttachButton, AttachmentTray, useAttachments } from "./Media";
import { guarded } from "../outcome";

type Account = Schemas["PublicAccount"];
type Rules = Schemas["PublicAccountPolicy"];


/** The public accounts the user runs, each with its review's state, and a form to apply. */
export function MyAccounts() {
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [rules, setRules] = useState<Rules | null>(null);
  const [applying, setApplying] = useState(false);

  async function refresh(): Promise<void> {
    setAccounts(must(await api.GET("/api/v1/me/public-accounts", { params: { query: { limit: 100 } } })).public_accounts);
  }

  useEffect(() => {
    void refresh();
    void policy().then((found) => setRules(found.public_accounts));
  }, []);

  return (
    <section aria-labelledby="my-accounts-title">
      <h3 id="my-accounts-title">{t("mine.title")}</h3>
      {accounts.length === 0 && <p>{t("mine.none")}</p>}
      {accounts.map((account) => (
        <OwnAccount key={account.id} account={account} rules={rules} />
      ))}
      {applying && rules ? (
        <ApplyForm
          rules={rules}
          onDone={() => {
            setApplying(false);
            void refresh();
          }}
        />
      ) : (
        <button type="button" class="quiet" onClick={() => setApplying(true)}>
          {t("mine.apply")}
        </button>
      )}
    </section>
  );
}

function OwnAccount({ account, rules }: { account: Account; rules: Rules | null }) {
  const [writing, setWriting] = useState(false);
  return (
    <div class="own-account" data-account-id={account.id}>
      <p>
        <strong>{account.name}</strong> <span class={`badge status-${account.status}`}>{labelOf("account.status", account.status)}</span>
        {account.news_entitlement !== "none" && (
          <span class="badge news">{t(`accounts.news.${account.news_entitlement}`)}</span>
        )}
        <br />
        <small>
          {localLabel(account.category_label)}
          {account.applied_at && ` · ${t("mine.applied", { at: formatTime(account.applied_at) })}`}
        </small>
      </p>
      {account.status_reason && (
        <p>
          {t("standing.why")} {account.status_reason}
        </p>
      )}
      {account.status === "approved" &&
        rules &&
        (writing ? (
          <Compose account={account} rules={rules} onDone={() => setWriting(false)} />
        ) : (
          <button type="button" onClick={() => setWriting(true)}>
            {t("mine.write")}
          </button>
        ))}
    </div>
  );
}

/** The content classes the account may post under: current-affairs news only with the
 * entitlement to originate it, or to re-post it when re-posting (the server holds the same). */
function classesFor(account: Account, rules: Rules, reposting: boolean): string[] {
  const entitled = account.news_entitlement === "originate" || (reposting && account.news_entitlement === "repost");
  return rules.content_classes.filter((name) => entitled || !rules.news_content_classes.includes(name));
}

/** A new post of the account, or a re-post of `source` when given; with images and files
 * attached as a chat's message has them (then the text may be empty). */
export function Compose(props: { account: Account; rules: Rules; source?: Schemas["ReadPost"]; onDone(): void }) {
  const { source } = props;
  const [title, setTitle] = useState(source?.title ?? "");
  const [body, setBody] = useState(source?.body ?? "");
  const classes = classesFor(props.account, props.rules, source !== undefined);
  const [contentClass, setContentClass] = useState(source?.content_class ?? classes[0] ?? "");
  const [said, setSaid] = useState<string | null>(null);
  const composing = useAttachments();
  const { attachments } = composing;

  async function publish(event: Event): Promise<void> {
    event.preventDefault();
    if (attachments.uploading) return;
    setSaid(null);
    const media = attachments.ready;
    try {
      const post = must(
        await api.POST("/api/v1/public-accounts/{public_account_id}/posts", {
          params: { path: { public_account_id: props.account.id } },
          body: {
            title,
            body,
            content_class: contentClass,
            ...(source ? { source_post_id: source.id } : {}),
            ...(media.length ? { media_ids: media.map((item) => item.id) } : {}),
          },
        }),
      );
      setSaid(post.moderation === "held" ? t("mine.held") : t("mine.published"));
      setTitle("");
      setBody("");
      composing.take();
    } catch (refused) {
      setSaid(explain(refused));
    }
  }

  return (
    <form
      class="compose"
      onSubmit={guarded(publish)}
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        const files = filesOf(e.dataTransfer);
        if (files.length === 0) return;
        e.preventDefault();
        composing.add(files);
      }}
    >
      <label>
        {t("mine.post_title")}
        <input name="title" required value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <label>
        {t("mine.post_body")}
        <textarea
          name="body"
          rows={4}
          required={attachments.ready.length === 0}
          value={body}
          onInput={(e) => setBody(e.currentTarget.value)}
          onPaste={(e) => {
            const files = filesOf(e.clipboardData);
            if (files.length === 0) return; // text: pasted as usual
            e.preventDefault();
            composing.add(files);
          }}
        />
      </label>
      <AttachmentTray composing={composing} />
      <p class="attach-row">
        <AttachButton onFiles={composing.add} />
      </p>
      <label>
        {t("mine.content_class")}
        <select name="content_class" value={contentClass} onChange={(e) => setContentClass(e.currentTarget.value)}>
          {classes.map((name) => (
            <option key={name} value={name}>
              {labelOf("content_class", name)}
            </option>
          ))}
        </select>
      </label>
      {said && <p role="status">{said}</p>}
      <button type="submit" disabled={attachments.uploading}>
        {source ? t("mine.repost") : t("mine.publish")}
      </button>
      <button type="button" class="quiet" onClick={props.onDone}>
        {t("group.cancel")}
      </button>
    </form>
  );
}

/** The application: the pack's categories and account types; an organisation's papers when the
 * chosen category is one; a news licence where the category may hold one. */
function ApplyForm(props: { rules: Rules; onDone(): void }) {
  const { rules } = props;
  const categories = Object.entries(rules.categories);
  const accountTypes = Object.keys(rules.broadcast_quota);
  const [fields, setFields] = useState({
    name: "",
    category: "",
    account_type: accountTypes[0] ?? "",
    description: "",
    entity_name: "",
    registration_number: "",
    news_licence: "",
  });
  const [said, setSaid] = useState<string | null>(null);
  const organisation = rules.categories[fields.category]?.entity === "organisation";
  const set = (name: keyof typeof fields) => (event: Event) =>
    setFields({ ...fields, [name]: (event.currentTarget as HTMLInputElement).value });

  async function apply(event: Event): Promise<void> {
    event.preventDefault();
    setSaid(null);
    const papers = organisation
      ? {
          entity_name: fields.entity_name,
          registration_number_type: rules.registration_number_types[0] ?? null,
          registration_number: fields.registration_number,
        }
      : {};
    try {
      must(
        await api.POST("/api/v1/public-accounts", {
          body: {
            name: fields.name,
            category: fields.category,
            account_type: fields.account_type,
            description: fields.description,
            ...papers,
            ...(fields.news_licence.trim() ? { news_licence: fields.news_licence } : {}),
          },
        }),
      );
      props.onDone();
    } catch (refused) {
      setSaid(explain(refused));
    }
  }

  return (
    <form class="apply" onSubmit={guarded(apply)}>
      <label>
        {t("mine.name")}
        <input name="name" required value={fields.name} onInput={set("name")} />
      </label>
      <label>
        {t("mine.category")}
        <select name="category" required value={fields.category} onChange={set("category")}>
          <option value="" disabled>
            {t("mine.choose_category")}
          </option>
          {categories.map(([name, category]) => (
            <option key={name} value={name}>
              {localLabel(category.label)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("mine.account_type")}
        <select name="account_type" value={fields.account_type} onChange={set("account_type")}>
          {accountTypes.map((name) => (
            <option key={name} value={name}>
              {labelOf("account_type", name)}{" "}
              {t("mine.quota", { posts: rules.broadcast_quota[name]!.posts, hours: rules.broadcast_quota[name]!.period_hours })}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("mine.description")}
        <textarea name="description" rows={2} value={fields.description} onInput={set("description")} />
      </label>
      {organisation && (
        <>
          <label>
            {t("mine.entity_name")}
            <input name="entity_name" required value={fields.entity_name} onInput={set("entity_name")} />
          </label>
          <label>
            {t("mine.registration_number")}
            <input name="registration_number" required value={fields.registration_number} onInput={set("registration_number")} />
          </label>
          <label>
            {t("mine.news_licence")}
            <input name="news_licence" value={fields.news_licence} onInput={set("news_licence")} />
          </label>
        </>
      )}
      {said && (
        <p class="error" role="alert">
          {said}
        </p>
      )}
      <button type="submit">{t("mine.submit")}</button>
      <button type="button" class="quiet" onClick={props.onDone}>
        {t("group.cancel")}
      </button>
    </form>
  );
}
