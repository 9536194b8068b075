import { useState } from "preact/hooks";
import type { Session } from "../App";
import { useStore } from "../hooks";
import { t } from "../i18n";
import { Chat } from "./Chat";
import { Chats } from "./Chats";
import { Contacts } from "./Contacts";

export function Main({ session }: { session: Session }) {
  useStore(session.store);
  const [tab, setTab] = useState<"chats" | "contacts">("chats");
  const [open, setOpen] = useState<number | null>(null);

  function openChat(conversationId: number): void {
    setOpen(conversationId);
    setTab("chats");
  }

  return (
    <div class={`main ${open === null ? "" : "reading"}`}>
      <nav class="tabs" aria-label={t("app.name")}>
        <button type="button" aria-pressed={tab === "chats"} onClick={() => setTab("chats")}>
          {t("chats.title")}
        </button>
        <button type="button" aria-pressed={tab === "contacts"} onClick={() => setTab("contacts")}>
          {t("contacts.title")}
        </button>
      </nav>
      <section class="list">
        {tab === "chats" ? (
          <Chats store={session.store} open={open} onOpen={openChat} />
        ) : (
          <Contacts store={session.store} onOpen={openChat} />
        )}
      </section>
      {open !== null && (
        <Chat key={open} session={session} conversationId={open} onBack={() => setOpen(null)} />
      )}
    </div>
  );
}
