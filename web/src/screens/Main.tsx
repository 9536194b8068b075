import { useEffect, useState } from "preact/hooks";
import type { Session } from "../App";
import { useStore } from "../hooks";
import { t } from "../i18n";
import type { MessageKey } from "../i18n/en";
import { Accounts } from "./Accounts";
import { Chat } from "./Chat";
import { Chats } from "./Chats";
import { Contacts } from "./Contacts";
import { joinTokenOf } from "../joinLinks";
import { JoinPrompt } from "./GroupInfo";
import { Me } from "./Me";
import { Notices } from "./Notices";
import { PostView } from "./PostView";
import { titleOf } from "./Chats";
import { inStep, takeStep, useSteps, type Step } from "../navigation";

type Tab = "chats" | "contacts" | "accounts" | "notices" | "me";
const TABS: [Tab, MessageKey][] = [
  ["chats", "chats.title"],
  ["contacts", "contacts.title"],
  ["accounts", "accounts.title"],
  ["notices", "notices.title"],
  ["me", "me.title"],
];

/** What the right-hand pane shows (the whole screen on a phone); a post, the chat it was opened
 * from (null: the public accounts), which its way back names. */
type Opened = { kind: "chat"; id: number } | { kind: "post"; id: number; from: number | null } | null;

function openedIn(step: Step | null): Opened {
  const opened = step?.open as Opened | undefined;
  return opened ?? null;
}

export function Main({ session, onSignedOut }: { session: Session; onSignedOut(): void }) {
  const { store } = session;
  useStore(store);
  const [tab, setTab] = useState<Tab>("chats");
  const [open, setOpen] = useState<Opened>(null);
  const [joinToken, setJoinToken] = useState(joinTokenOf(location.pathname, location.hash));
  // Each chat or post opened is a step Back undoes (navigation.ts); one chat opened in place of
  // another (the list beside it on a desktop) replaces the step, so Back still goes to the list.
  useEffect(() => {
    if (inStep()) history.replaceState(null, "", location.href); // a new sign-in starts at the list
  }, []);
  useSteps((step) => setOpen(openedIn(step)));
  const go = (next: Opened, push: boolean) => {
    takeStep({ open: next }, push);
    setOpen(next);
  };
  const openChat = (id: number) => {
    go({ kind: "chat", id }, open === null || open.kind === "post");
    setTab("chats");
  };
  const openPost = (id: number, from: number | null = null) =>
    go({ kind: "post", id, from }, open === null || open.kind === "chat");
  const back = () => (inStep() ? history.back() : setOpen(null));
  // A post's way back names where it goes: the chat it was opened from, or the public accounts.
  const backLabel = (from: number | null) => {
    const chat = from === null ? undefined : store.conversations.get(from);
    return chat ? titleOf(store, chat) : from === null ? t("accounts.title") : t("chat.back");
  };
  const joined = (conversationId: number | null) => {
    setJoinToken(null);
    history.replaceState(null, "", "/app/");
    if (conversationId !== null) openChat(conversationId);
  };

  return (
    <div class={`main ${open === null ? "" : "reading"} ${tab === "me" && open === null ? "wide" : ""}`}>
      <nav class="tabs" aria-label={t("app.name")}>
        {TABS.map(([name, label]) => (
          <button type="button" key={name} aria-pressed={tab === name} onClick={() => setTab(name)}>
            {t(label)}
            {name === "notices" && store.unseen > 0 && <span class="count"> {store.unseen}</span>}
          </button>
        ))}
      </nav>
      {joinToken && <JoinPrompt store={store} token={joinToken} onDone={joined} />}
      <section class="list">
        {tab === "chats" && (
          <Chats store={store} open={open?.kind === "chat" ? open.id : null} onOpen={openChat} />
        )}
        {tab === "contacts" && <Contacts store={store} onOpen={openChat} />}
        {tab === "accounts" && <Accounts store={store} onRead={openPost} />}
        {tab === "notices" && <Notices store={store} />}
        {tab === "me" && <Me store={store} onSignedOut={onSignedOut} />}
      </section>
      {open?.kind === "chat" && store.conversations.has(open.id) && (
        <Chat
          key={open.id}
          session={session}
          conversationId={open.id}
          onBack={back}
          onReadPost={(post) => openPost(post, open.id)}
        />
      )}
      {open?.kind === "post" && (
        <PostView key={open.id} store={store} postId={open.id} onBack={back} backTo={backLabel(open.from)} />
      )}
    </div>
  );
}
