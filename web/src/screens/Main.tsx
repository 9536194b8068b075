import { useState } from "preact/hooks";
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

type Tab = "chats" | "contacts" | "accounts" | "notices" | "me";
const TABS: [Tab, MessageKey][] = [
  ["chats", "chats.title"],
  ["contacts", "contacts.title"],
  ["accounts", "accounts.title"],
  ["notices", "notices.title"],
  ["me", "me.title"],
];

/** What the right-hand pane shows (the whole screen on a phone). */
type Opened = { kind: "chat"; id: number } | { kind: "post"; id: number } | null;

export function Main({ session, onSignedOut }: { session: Session; onSignedOut(): void }) {
  const { store } = session;
  useStore(store);
  const [tab, setTab] = useState<Tab>("chats");
  const [open, setOpen] = useState<Opened>(null);
  const [joinToken, setJoinToken] = useState(joinTokenOf(location.pathname));
  const openChat = (id: number) => {
    setOpen({ kind: "chat", id });
    setTab("chats");
  };
  const openPost = (id: number) => setOpen({ kind: "post", id });
  const back = () => setOpen(null);
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
      {open?.kind === "chat" && (
        <Chat key={open.id} session={session} conversationId={open.id} onBack={back} onReadPost={openPost} />
      )}
      {open?.kind === "post" && <PostView key={open.id} store={store} postId={open.id} onBack={back} />}
    </div>
  );
}
